"""Reading what users bring: result tables (CSV/Parquet) and fit files (JSON).

Every failure a user can fix — a missing file, an unknown column, a malformed query, NaN in a
column — becomes a ScalingLabError that names the problem and what to do.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scalinglab.errors import ScalingLabError
from scalinglab.laws.base import FloatArray, ScalingLaw

TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")


def read_table(path: str | Path, where: str | None = None) -> pd.DataFrame:
    """A CSV/TSV/Parquet file as a DataFrame, optionally filtered by a pandas query."""
    p = Path(path)
    if not p.exists():
        raise ScalingLabError(f"no such file: {p}")
    if p.is_dir():
        raise ScalingLabError(f"{p} is a directory, not a CSV or Parquet file")
    suffix = p.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            df = pd.read_parquet(p)
        elif suffix == ".tsv":
            df = pd.read_csv(p, sep="\t")
        else:
            df = pd.read_csv(p)
    except pd.errors.EmptyDataError:
        raise ScalingLabError(f"{p} is empty: it needs a header row and data rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ScalingLabError(f"cannot read {p} as a table: {first}") from None
    if df.empty:
        raise ScalingLabError(f"{p} has no data rows")
    if where:
        try:
            df = df.query(where)
        except Exception as exc:  # pandas raises many types for a bad expression
            raise ScalingLabError(
                f"cannot apply --where {where!r}: {type(exc).__name__}: {exc}".splitlines()[0]
            ) from None
        if df.empty:
            raise ScalingLabError(f"no rows of {p} match --where {where!r}")
    return df


def numeric_columns(
    df: pd.DataFrame, columns: Sequence[str], source: str = "the table"
) -> FloatArray:
    """The named columns as a float (n, k) array; unknown, non-numeric or missing values fail."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        known = ", ".join(map(str, df.columns))
        raise ScalingLabError(f"{source} has no column {missing[0]!r}; its columns are: {known}")
    out = np.empty((len(df), len(columns)))
    for j, col in enumerate(columns):
        values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ScalingLabError(
                f"column {col!r} has {int(bad.sum())} missing, non-numeric, NaN or inf value(s) "
                f"(first at data row {row + 1}); drop them or filter with --where"
            )
        out[:, j] = values
    return out


def load_fit(path: str | Path) -> tuple[ScalingLaw, dict[str, Any]]:
    """A fit file (JSON written by `scalinglab fit --json`, or hand-written with "law" and
    "params"): the fitted law and the whole JSON document (with "x" and "y" column names)."""
    p = Path(path)
    if not p.exists():
        raise ScalingLabError(f"no such fit file: {p}")
    try:
        data = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ScalingLabError(f"{p} is not a valid JSON fit file: {exc}") from None
    if not isinstance(data, dict):
        raise ScalingLabError(f"{p} must hold a JSON object with 'law' and 'params'")
    if "params" not in data:
        raise ScalingLabError(f"{p} has no 'params': it is not a fit result")
    law = ScalingLaw.from_dict(data)
    return law, data


def fit_variables(law: ScalingLaw, doc: dict[str, Any]) -> list[str]:
    """Column names of the fit's X (the "x" field), defaulting to the law's variable names."""
    x = doc.get("x")
    if x is None:
        return list(law.variables)
    names = [x] if isinstance(x, str) else list(x)
    if len(names) != len(law.variables):
        raise ScalingLabError(
            f"fit file lists {len(names)} x column(s) but law {law.name!r} takes "
            f"{len(law.variables)}: {list(law.variables)}"
        )
    return [str(n) for n in names]
