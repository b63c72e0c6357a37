"""fit_law: multi-start point fit, diagnostics and uncertainty for any FittableLaw.

1. Start grid: the law's grid (e.g. Hoffmann 2022's 4,500 points for Chinchilla), or a guess from
   a straight-line fit in log-log space (lmfit's convention), overridable per parameter.
2. All starts solved together by the batched L-BFGS (scalinglab.fitting.solver); the best wins.
3. Diagnostics: non-convergence and parameters on a bound become warnings and flags.
4. Uncertainty: a seeded bootstrap over points (all resamples refitted as one batch from the
   optimum), else the Gauss-Newton covariance of the log residuals.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from scalinglab.fitting.model import FittableLaw
from scalinglab.fitting.objectives import make_objective
from scalinglab.fitting.solver import minimize_batched
from scalinglab.fitting.threads import torch_threads
from scalinglab.fitting.uncertainty import bootstrap, gauss_newton_covariance, wald_summary
from scalinglab.types import FloatArray

MAX_STARTS = 200_000  # a Cartesian start grid larger than this is a mistake in the options
EXPLORE_FTOL = 1e-5  # loose relative tolerance of the float32 first pass over all starts
EXPLORE_MAX_ITER = 100  # enough to rank basins; the polish below runs to law.max_iter
EXPLORE_HISTORY = 5  # short L-BFGS memory: cheaper per step, same basins
MERGE_TOL = 1e-2  # starts closer than this (solver coordinates) follow one path
POLISH_STARTS = 8  # best starts of the first pass solved to full tolerance


def solver_bounds(law: FittableLaw, free: tuple[str, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """Bounds of the solver coordinates (log of the bounds for log-scale parameters)."""
    lo, hi = [], []
    for name in free:
        lower, upper = law.param_bounds(name)
        if law.param(name).log:
            lower = math.log(lower) if lower > 0 else -math.inf
            upper = math.log(upper) if math.isfinite(upper) else math.inf
        lo.append(lower)
        hi.append(upper)
    return torch.tensor(lo, dtype=torch.float64), torch.tensor(hi, dtype=torch.float64)


def product_grid(grid: Mapping[str, Sequence[float]], names: Sequence[str]) -> FloatArray:
    """Cartesian product of per-parameter start values, columns in the order of `names`."""
    return np.array(list(itertools.product(*(grid[n] for n in names))), dtype=float)


def start_points(
    law: FittableLaw,
    x: FloatArray,
    y: FloatArray,
    free: tuple[str, ...],
    grid: Mapping[str, Sequence[float]] | None = None,
) -> FloatArray:
    """Start grid in solver coordinates, one row per start: `grid` (natural units) if given,
    else the law's own grid for (x, y) with its `starts` option applied."""
    from scalinglab.errors import ScalingLabError

    if grid is not None:
        return _to_solver(law, free, product_grid(grid, free))
    grid = law.start_grid(x, y)
    for name, values in (law.starts or {}).items():
        law.param(name)
        vals = tuple(float(v) for v in values)
        if not vals:
            raise ScalingLabError(f"start values for {name} must not be empty")
        grid[name] = vals
    size = math.prod(len(grid[n]) for n in free)
    if size > MAX_STARTS:
        raise ScalingLabError(f"{size} start points is too many (at most {MAX_STARTS})")
    return _to_solver(law, free, product_grid(grid, free))


def _to_solver(law: FittableLaw, free: tuple[str, ...], natural: FloatArray) -> FloatArray:
    """Start rows (natural units) the law accepts, clipped to the bounds, in solver coordinates."""
    natural = law.filter_starts(free, natural)
    out = np.empty_like(natural)
    for j, name in enumerate(free):
        lower, upper = law.param_bounds(name)
        col = np.clip(natural[:, j], lower, upper)
        out[:, j] = [law.to_solver(name, v) for v in col]
    return out


def multistart(
    law: FittableLaw,
    free: tuple[str, ...],
    theta0: torch.Tensor,
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    bounds: tuple[torch.Tensor, torch.Tensor],
) -> tuple[torch.Tensor, float, bool]:
    """Best point, objective and convergence flag over all starts.

    Every start is first solved in float32 to a loose tolerance — enough to settle in its basin,
    at a quarter of the cost — then the best POLISH_STARTS are solved in float64 to the law's
    tolerance. Polishing all of them would spend most of the time creeping along the kinks of the
    Huber loss in basins that cannot win.
    """
    x, y, w = data
    lower, upper = bounds
    f32 = torch.float32
    explore = minimize_batched(
        make_objective(law, free, x.to(f32), y.to(f32), w.to(f32)),
        theta0.to(f32),
        lower.to(f32),
        upper.to(f32),
        max_iter=min(EXPLORE_MAX_ITER, law.max_iter),
        ftol=EXPLORE_FTOL,
        merge_tol=MERGE_TOL,
        history=EXPLORE_HISTORY,
    )
    order = torch.argsort(explore.fun)[:POLISH_STARTS]
    order = order[torch.isfinite(explore.fun[order])]
    # Starts infeasible in float32 (overflow) may still be fine in float64: polish them too.
    starts = explore.theta[order].double() if order.numel() else theta0[:POLISH_STARTS]
    # float32 rounding can rank basins wrongly or leave a start worse than where it began, so the
    # best start in float64 is polished too: the fit is never worse than its own best start.
    objective64 = make_objective(law, free, x, y, w)
    with torch.no_grad():
        at_starts = objective64(theta0, torch.arange(theta0.shape[0]))
    at_starts = torch.where(torch.isfinite(at_starts), at_starts, torch.inf)
    starts = torch.cat([starts, theta0[int(torch.argmin(at_starts))].unsqueeze(0)])
    res = minimize_batched(
        objective64,
        starts,
        lower,
        upper,
        max_iter=law.max_iter,
        ftol=law.tol,
    )
    best = int(torch.argmin(res.fun))
    objective = float(res.fun[best])
    return res.theta[best], objective, bool(res.converged[best]) and math.isfinite(objective)


def fit_law(
    law: FittableLaw, x: FloatArray, y: FloatArray, sample_weight: FloatArray | None
) -> None:
    """Fit `law` in place (sets params_, stderr_, ci_, ... on it), on one torch thread."""
    with torch_threads(1):
        _fit_law(law, x, y, sample_weight)


def _fit_law(
    law: FittableLaw, x: FloatArray, y: FloatArray, sample_weight: FloatArray | None
) -> None:
    free = law.free_params()
    xt = torch.tensor(x, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)
    w = np.ones_like(y) if sample_weight is None else sample_weight
    wt = torch.tensor(w, dtype=torch.float64)
    lower, upper = solver_bounds(law, free)
    warnings: list[str] = []

    if free:
        theta0 = torch.as_tensor(start_points(law, x, y, free))
        theta, objective, converged = multistart(law, free, theta0, (xt, yt, wt), (lower, upper))
    else:
        theta = torch.zeros(0, dtype=torch.float64)
        fun = make_objective(law, free, xt, yt, wt)
        objective = float(fun(theta[None, :], torch.zeros(1, dtype=torch.long))[0])
        converged = math.isfinite(objective)

    if not math.isfinite(objective):
        from scalinglab.errors import ScalingLabError

        raise ScalingLabError(
            f"law {law.name!r}: no start point gave a finite objective on this data; check that "
            "the data fit this law's form or pass start values"
        )
    params = {name: law.from_solver(name, float(theta[j])) for j, name in enumerate(free)}
    for name, value in (law.fixed or {}).items():
        params[name] = float(value)
    for name, other in (law.tied or {}).items():
        params[name] = params[other]
    law.params_ = {n: params[n] for n in law.param_names}
    law.objective_ = objective
    law.n_points_ = len(y)
    law.converged_ = converged
    if not converged:
        warnings.append(
            f"{law.name}: the solver did not converge within max_iter={law.max_iter}; "
            "the parameters may be inaccurate (raise max_iter or check the data)"
        )
    at_bounds = []
    for j, name in enumerate(free):
        lo, hi = float(lower[j]), float(upper[j])
        t = float(theta[j])
        tol = 1e-7 * max(1.0, abs(t))
        if (math.isfinite(lo) and t - lo <= tol) or (math.isfinite(hi) and hi - t <= tol):
            at_bounds.append(name)
    law.at_bounds_ = at_bounds
    if at_bounds:
        warnings.append(
            f"{law.name}: optimum sits on a bound for {', '.join(at_bounds)}; the law may not "
            "suit this data, or the bounds are too tight"
        )

    law.covariance_ = gauss_newton_covariance(law, free, theta, xt, yt, wt)
    law.bootstrap_params_ = None
    if law.n_bootstrap > 0 and free:
        draws, n_failed = bootstrap(law, free, theta, xt, yt, wt, lower, upper)
        law.bootstrap_params_ = draws
        if n_failed:
            warnings.append(
                f"{law.name}: {n_failed} of {law.n_bootstrap} bootstrap refits stopped before "
                "converging (resamples with few distinct points can leave a parameter loose)"
            )
        law.stderr_ = {
            n: float(np.nanstd(draws[:, j], ddof=1)) for j, n in enumerate(law.param_names)
        }
        tail = (1 - law.ci_level) / 2
        law.ci_ = {
            n: (
                float(np.nanquantile(draws[:, j], tail)),
                float(np.nanquantile(draws[:, j], 1 - tail)),
            )
            for j, n in enumerate(law.param_names)
        }
        law.covariance_ = np.cov(draws.T)
    else:
        law.stderr_, law.ci_ = wald_summary(law, law.covariance_, law.ci_level)
    law.ci_level_ = float(law.ci_level)
    law.warnings_ = warnings
