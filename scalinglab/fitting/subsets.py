"""One law fitted to several subsets of one data set in a single batched solve.

A backtest fits the same law to the first k points of a curve for several k, and then to the
whole curve. Fitted one at a time, each fit pays the solver's per-iteration overhead on its own;
here every (subset, start) pair is one row of one batch, a subset being a row of 0/1 point weights
(the way the bootstrap refits its resamples, scalinglab.fitting.uncertainty). The strategy per
subset is `multistart`'s: a float32 pass over all starts to a loose tolerance, then the best
`POLISH_STARTS` of that subset polished in float64 to the law's tolerance.

`thinned_grid` caps a law's start grid at a budget of points, so that a fit of a law with a large
grid (BNSL, M4) costs about what a small one does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from scalinglab.fitting.fit import (
    EXPLORE_FTOL,
    EXPLORE_HISTORY,
    EXPLORE_MAX_ITER,
    POLISH_STARTS,
    solver_bounds,
    start_points,
)
from scalinglab.fitting.model import FittableLaw
from scalinglab.fitting.objectives import make_objective
from scalinglab.fitting.solver import minimize_batched
from scalinglab.fitting.threads import torch_threads
from scalinglab.types import FloatArray


@dataclass(frozen=True)
class SubsetFit:
    """The best point found for one subset: natural-unit parameters, objective, convergence."""

    params: Mapping[str, float]
    objective: float
    converged: bool


def thinned_grid(
    law: FittableLaw, x: FloatArray, y: FloatArray, budget: int
) -> dict[str, tuple[float, ...]]:
    """The law's start grid for (x, y) over its free parameters, at most `budget` points.

    The parameter with the most start values loses one at a time, keeping its extremes and
    evenly spaced values between, until the Cartesian product fits the budget.
    """
    grid = {k: tuple(v) for k, v in law.start_grid(x, y).items()}
    for name, values in (law.starts or {}).items():
        grid[name] = tuple(float(v) for v in values)
    free = law.free_params()
    grid = {k: v for k, v in grid.items() if k in free}
    while math.prod(len(v) for v in grid.values()) > budget:
        name = max(grid, key=lambda k: len(grid[k]))
        values = grid[name]
        if len(values) <= 1:
            break
        keep = np.unique(np.round(np.linspace(0, len(values) - 1, len(values) - 1)).astype(int))
        grid[name] = tuple(values[i] for i in keep)
    return grid


def fit_subsets(
    law: FittableLaw,
    x: FloatArray,
    y: FloatArray,
    masks: Sequence[np.ndarray],
    start_budgets: Sequence[int],
) -> list[SubsetFit | None]:
    """Fit `law` (its options: objective, bounds, fixed, max_iter, tol) to each subset of (x, y)
    picked by a boolean mask, from at most `start_budgets[i]` starts of its grid on that subset.

    None for a subset on which no start gave a finite objective. `law` itself is not changed.
    """
    free = law.free_params()
    lower, upper = solver_bounds(law, free)
    rows: list[np.ndarray] = []
    group: list[int] = []
    for g, (mask, budget) in enumerate(zip(masks, start_budgets, strict=True)):
        xs, ys = x[mask], y[mask]
        starts = start_points(law, xs, ys, free, grid=thinned_grid(law, xs, ys, budget))
        rows.append(starts)
        group += [g] * len(starts)
    theta0 = torch.as_tensor(np.concatenate(rows))
    groups = torch.as_tensor(group)
    weights = torch.as_tensor(np.stack([np.asarray(m, dtype=float) for m in masks]))
    xt = torch.as_tensor(x, dtype=torch.float64)
    yt = torch.as_tensor(y, dtype=torch.float64)
    f32 = torch.float32
    with torch_threads(1):  # many tiny kernels: one thread is faster (see fitting.threads)
        explore = minimize_batched(
            make_objective(law, free, xt.to(f32), yt.to(f32), weights[groups].to(f32)),
            theta0.to(f32),
            lower.to(f32),
            upper.to(f32),
            max_iter=min(EXPLORE_MAX_ITER, law.max_iter),
            ftol=EXPLORE_FTOL,
            gtol=math.inf,  # a ranking pass: it stops on the objective decrease alone
            history=EXPLORE_HISTORY,
        )
        picked: list[torch.Tensor] = []
        for g in range(len(masks)):
            idx = torch.nonzero(groups == g).reshape(-1)
            lowest = idx[torch.argsort(explore.fun[idx])[:POLISH_STARTS]]
            finite = lowest[torch.isfinite(explore.fun[lowest])]
            # Starts infeasible in float32 (overflow) may still be fine in float64.
            picked.append(finite if finite.numel() else idx[:POLISH_STARTS])
        chosen = torch.cat(picked)
        polish_from = torch.where(
            torch.isfinite(explore.fun[chosen])[:, None], explore.theta[chosen].double(),
            theta0[chosen],
        )  # fmt: skip
        res = minimize_batched(
            make_objective(law, free, xt, yt, weights[groups[chosen]]),
            polish_from,
            lower,
            upper,
            max_iter=law.max_iter,
            ftol=law.tol,
        )
    out: list[SubsetFit | None] = []
    polished_group = groups[chosen]
    for g in range(len(masks)):
        idx = torch.nonzero(polished_group == g).reshape(-1)
        best = int(idx[torch.argmin(res.fun[idx])])
        objective = float(res.fun[best])
        if not math.isfinite(objective):
            out.append(None)
            continue
        theta = res.theta[best]
        params = {name: law.from_solver(name, float(theta[j])) for j, name in enumerate(free)}
        for name, value in (law.fixed or {}).items():
            params[name] = float(value)
        for name, other in (law.tied or {}).items():
            params[name] = params[other]
        out.append(
            SubsetFit(
                params={n: params[n] for n in law.param_names},
                objective=objective,
                converged=bool(res.converged[best]),
            )
        )
    return out
