"""Row-wise numerics shared by the planners: one independent 1-D problem per row, all rows at once.

A "row" is one parameter draw of a fitted law (the point estimate is a batch of one row). Every
planner reduces to minimising a smooth function of one variable (log N at a fixed budget) or to
finding where a monotone function of one variable crosses a target (log C for a target loss, log x
for a target error). Both are solved by zooming grids: evaluate `points` values across each row's
bracket, keep the neighbourhood of the best point (or of the crossing), repeat. Each round shrinks
the bracket by (points − 1)/2 (minimum) or points − 1 (root), so ~10 rounds reach 1e-10 in log
space from a bracket 100 nats wide, with one vectorised evaluation per round.

Also the small pieces every planner shares: intervals of draws, input checks, and JSON-ready
results (`JsonRecord`, `records`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from scalinglab.errors import ScalingLabError
from scalinglab.laws.base import FloatArray

RowFunction = Callable[[FloatArray], FloatArray]


def zoom_minimize(
    f: RowFunction,
    lo: FloatArray,
    hi: FloatArray,
    points: int = 33,
    xtol: float = 1e-10,
    max_rounds: int = 40,
) -> tuple[FloatArray, FloatArray, np.ndarray]:
    """Minimise f row-wise on [lo, hi]; f maps (b, m) to (b, m) and is unimodal in each row.

    Returns (x_min (b,), f_min (b,), interior (b,) bool). `interior` is False where the minimum
    sits on the bracket's edge (no optimum inside) or where f was not finite anywhere.
    NaN values of f count as +inf.
    """
    lo0 = np.asarray(lo, dtype=float).copy()
    hi0 = np.asarray(hi, dtype=float).copy()
    a, b = lo0.copy(), hi0.copy()
    rows = np.arange(a.shape[0])
    t = np.linspace(0.0, 1.0, points)
    for _ in range(max_rounds):
        grid = a[:, None] + (b - a)[:, None] * t[None, :]
        vals = np.asarray(f(grid), dtype=float)
        vals = np.where(np.isfinite(vals), vals, np.inf)
        j = np.argmin(vals, axis=1)
        a = grid[rows, np.maximum(j - 1, 0)]
        b = grid[rows, np.minimum(j + 1, points - 1)]
        if np.all(b - a < xtol):
            break
    x = 0.5 * (a + b)
    fx = np.asarray(f(x[:, None]), dtype=float)[:, 0]
    width = hi0 - lo0
    interior = np.isfinite(fx) & (x - lo0 > 1e-7 * width) & (hi0 - x > 1e-7 * width)
    return x, fx, interior


def zoom_root(
    f: RowFunction,
    target: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    points: int = 17,
    xtol: float = 1e-12,
    max_rounds: int = 40,
) -> FloatArray:
    """x with f(x) = target row-wise on [lo, hi], f monotone (either way) in each row.

    f maps (b, m) to (b, m). Rows whose bracket holds no crossing give NaN.
    """
    a = np.asarray(lo, dtype=float).copy()
    b = np.asarray(hi, dtype=float).copy()
    tgt = np.broadcast_to(np.asarray(target, dtype=float), a.shape).copy()
    rows = np.arange(a.shape[0])
    ok = np.ones(a.shape[0], dtype=bool)
    t = np.linspace(0.0, 1.0, points)
    for _ in range(max_rounds):
        grid = a[:, None] + (b - a)[:, None] * t[None, :]
        g = np.asarray(f(grid), dtype=float) - tgt[:, None]
        sign = np.sign(g)
        change = (sign[:, :-1] * sign[:, 1:] <= 0) & np.isfinite(g[:, :-1]) & np.isfinite(g[:, 1:])
        has = change.any(axis=1)
        ok &= has
        j = np.argmax(change, axis=1)
        ga, gb = g[rows, j], g[rows, j + 1]
        a, b = grid[rows, j], grid[rows, j + 1]
        if np.all(b - a < xtol):
            break
    # Final linear interpolation inside the last bracket.
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(gb != ga, ga / (ga - gb), 0.5)
    x = a + np.clip(frac, 0.0, 1.0) * (b - a)
    return np.where(ok, x, np.nan)


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


def check_level(level: float) -> None:
    """An interval level strictly between 0 and 1, else a ScalingLabError."""
    if not 0 < level < 1:
        raise ScalingLabError(f"the interval level must be between 0 and 1, got {level}")


def positive_array(name: str, values: ArrayLike, size: int | None = None) -> FloatArray:
    """Values as a flat float array, each finite and > 0 (`size` checks the length)."""
    arr = np.asarray(values, dtype=float).reshape(-1)
    if size is not None and arr.size != size:
        raise ScalingLabError(f"{name} must have one value per run ({size}), got {arr.size}")
    if arr.size == 0:
        raise ScalingLabError("no runs given")
    bad = ~np.isfinite(arr) | (arr <= 0)
    if bad.any():
        raise ScalingLabError(
            f"{name} must be positive and finite; run {int(np.flatnonzero(bad)[0]) + 1} has "
            f"{arr[bad][0]:g}"
        )
    return arr


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
