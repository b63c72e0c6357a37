"""The planners' results: intervals and spreads of parameter draws, and JSON-ready output
(`JsonRecord` for result dataclasses, `records` for tables).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from scalinglab.types import FloatArray


def interval(values: FloatArray, level: float) -> tuple[float, float]:
    """Central `level` interval of draws; +inf draws (targets a draw never reaches) count as
    the largest values, NaN draws (failed fits) are dropped."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return (float("nan"), float("nan"))
    lo = np.quantile(v, (1 - level) / 2, method="inverted_cdf")
    hi = np.quantile(v, (1 + level) / 2, method="inverted_cdf")
    return (float(lo), float(hi))


def row_intervals(draws: FloatArray, level: float) -> tuple[FloatArray, FloatArray]:
    """(lo, hi) per row of draws (rows, n_draws): the `interval` of each row's draws, e.g. for
    the `*_lo`, `*_hi` columns of a table with one row per budget or data size."""
    bounds = np.array([interval(row, level) for row in draws])
    return bounds[:, 0], bounds[:, 1]


def spread(values: FloatArray) -> float:
    """Standard deviation of the finite draws (NaN with fewer than two)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(np.std(v, ddof=1)) if v.size > 1 else float("nan")


class JsonRecord:
    """Mixin of the planners' result dataclasses: `to_dict()` is `dataclasses.asdict` with every
    tuple — an interval (lo, hi), alone or in a dict of intervals — as a list (JSON has none)."""

    # Set by @dataclass on each subclass; declared so that asdict(self) type-checks.
    __dataclass_fields__: ClassVar[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = _tuples_as_lists(asdict(self))
        return out


def _tuples_as_lists(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_tuples_as_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _tuples_as_lists(v) for k, v in value.items()}
    return value


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as JSON-ready dicts (numpy scalars to Python)."""
    out = []
    for rec in df.to_dict(orient="records"):
        out.append({str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in rec.items()})
    return out
