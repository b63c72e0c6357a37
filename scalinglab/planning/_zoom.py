"""Row-wise solvers of the planners: one independent 1-D problem per row, all rows at once.

A "row" is one parameter draw of a fitted law (the point estimate is a batch of one row). Every
planner reduces to minimising a smooth function of one variable (log N at a fixed budget) or to
finding where a monotone function of one variable crosses a target (log C for a target loss, log x
for a target error). Both are solved by zooming grids: evaluate `points` values across each row's
bracket, keep the neighbourhood of the best point (or of the crossing), repeat. Each round shrinks
the bracket by (points − 1)/2 (minimum) or points − 1 (root), so ~10 rounds reach 1e-10 in log
space from a bracket 100 nats wide, with one vectorised evaluation per round.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from scalinglab.types import FloatArray

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
