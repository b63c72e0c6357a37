"""How far an answer lies outside the data a fit saw.

`fit --json` stores the fitted range of each input column (`x_range`); `plan` and `predict` say
how many decades beyond it their N, D or x lie: every answer past the data is an extrapolation,
and its error grows with the distance (the reason `auto` backtests at the asked distance). Fit
files written before `x_range` existed give no notes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from scalinglab.display import BEYOND_DATA, beyond
from scalinglab.io import to_numbers
from scalinglab.laws.base import FloatArray

PREFIX = BEYOND_DATA  # how a note starts (`suggest`: beyond the runs done)


def x_range(variables: Sequence[str], X: FloatArray) -> dict[str, list[float]]:
    """{variable: [smallest, largest]} of the fitted inputs, for the fit file; a variable with
    no finite value (a formula fit's group column, read as numbers) has none."""
    out = {}
    for j, v in enumerate(variables):
        finite = X[:, j][np.isfinite(X[:, j])]
        if finite.size:
            out[v] = [float(finite.min()), float(finite.max())]
    return out


def frame_range(df: pd.DataFrame, variables: Sequence[str]) -> dict[str, list[float]]:
    """x_range of a table's columns (a group column, not numeric, has none)."""
    inputs = df[list(variables)].apply(to_numbers)
    return x_range(variables, inputs.to_numpy(dtype=float))


def finite_number(value: Any) -> float | None:
    """A number read from a JSON file as a finite float, else None (text, null, a boolean, NaN,
    inf, or an integer of hundreds of digits): a hand-edited file may hold anything."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except OverflowError:
        return None
    return out if math.isfinite(out) else None


def _bounds(doc: Mapping[str, Any], name: str) -> tuple[float, float] | None:
    """The fit file's [smallest, largest] of a column, when it holds two positive numbers (a
    range is only read on a log scale)."""
    ranges = doc.get("x_range")
    bounds = ranges.get(name) if isinstance(ranges, dict) else None
    if not (isinstance(bounds, list) and len(bounds) == 2):
        return None
    lo, hi = finite_number(bounds[0]), finite_number(bounds[1])
    if lo is None or hi is None:
        return None
    return (lo, hi) if 0 < lo <= hi else None


def range_note(
    doc: Mapping[str, Any],
    values: Mapping[str, float],
    labels: Mapping[str, str] | None = None,
    prefix: str = PREFIX,
) -> str | None:
    """How far the values lie outside the fit's range, e.g. "beyond the fitted data: N_opt =
    9.72e+10 is 0.78 decades above the largest params (1.62e+10)", or None when every value lies
    within it (`labels` names a value: params -> "N_opt"). Columns the fit file has no range
    for are skipped."""
    parts = []
    for name, value in values.items():
        bounds = _bounds(doc, name)
        part = beyond((labels or {}).get(name, name), value, name, *bounds) if bounds else None
        if part is not None:
            parts.append(part)
    return f"{prefix}: " + "; ".join(parts) if parts else None


def law_note(
    doc: Mapping[str, Any],
    variables: Sequence[str],
    values: Mapping[str, float],
    labels: Mapping[str, str] | None = None,
) -> str | None:
    """`range_note` for values keyed by a law's variables (params, tokens): the fit file's `x`
    names the columns the law was fitted on, which key its x_range (a law of params fitted on a
    column "N" has the range of "N")."""
    columns = doc.get("x")
    columns = [columns] if isinstance(columns, str) else columns  # as io.fit_variables reads it
    if isinstance(columns, list) and len(columns) == len(variables):
        column = dict(zip(variables, map(str, columns), strict=True))
        values = {column.get(k, k): v for k, v in values.items()}
        labels = {column.get(k, k): v for k, v in (labels or {}).items()}
    return range_note(doc, values, labels)


def points_note(
    doc: Mapping[str, Any], names: Sequence[str], X: FloatArray, prefix: str = PREFIX
) -> str | None:
    """`range_note` for the rows of X (columns `names`): per column, the value lying farthest
    outside the fit's range, in decades."""
    values = {}
    for j, name in enumerate(names):
        bounds = _bounds(doc, name)
        column = X[:, j][np.isfinite(X[:, j]) & (X[:, j] > 0)]
        if bounds is None or not column.size:
            continue
        top, bottom = float(column.max()), float(column.min())
        above = math.log(top) - math.log(bounds[1])
        below = math.log(bounds[0]) - math.log(bottom)
        values[name] = top if above >= below else bottom
    return range_note(doc, values, prefix=prefix)
