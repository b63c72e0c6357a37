"""The planners' results: intervals and spreads of parameter draws, and JSON-ready tables
(`records`; result dataclasses are `types.JsonRecord`).
"""

from __future__ import annotations

from typing import Any

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


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as JSON-ready dicts (numpy scalars to Python)."""
    out = []
    for rec in df.to_dict(orient="records"):
        out.append({str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in rec.items()})
    return out
