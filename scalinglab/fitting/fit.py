"""fit_law: multi-start point fit, diagnostics and uncertainty for any FittableLaw.

1. Start grid: the law's grid (e.g. Hoffmann 2022's 4,500 points for Chinchilla), or a guess from
   a straight-line fit in log-log space (lmfit's convention), overridable per parameter, plus
   `n_random_starts` scrambled-Sobol points inside the bounds.
2. All starts solved together by the batched L-BFGS (scalinglab.fitting.solver), in two passes:
   - explore: every start in float32, to a loose tolerance, on at most EXPLORE_POINTS points (a
     seeded subsample of a large table), so the cost of the many starts does not grow with data;
     starts that overflow in float32 are explored again in float64; under `ls_linear`, a law
     that offers `linear_parameters()` explores only its other parameters, in float64, with the
     linear ones solved for (variable projection, scalinglab.fitting.projection);
   - polish: every distinct basin that survives the explore pass (within SURVIVE_FACTOR of its
     best objective), and the best start as given, solved in float64 on all points to the law's
     tolerance, preconditioned by the Gauss-Newton curvature at the start of each round
     (`precondition`), so that correlated or badly scaled parameters converge as fast as
     well-scaled ones. The best polished point wins.
3. Diagnostics: non-convergence (the solver's projected-gradient and decrease tests, on the
   law's own parameters) and parameters on a bound become warnings and flags.
4. Uncertainty: a seeded bootstrap over points (all resamples refitted as one batch from the
   optimum), else the Gauss-Newton covariance of the log residuals.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import TypedDict

import numpy as np
import torch

from scalinglab.errors import ScalingLabError
from scalinglab.fitting.model import FittableLaw
from scalinglab.fitting.objectives import (
    curvature_weights,
    make_objective,
    residual_jacobian,
    residuals,
)
from scalinglab.fitting.projection import LinearSplit, Projection, linear_split
from scalinglab.fitting.solver import GTOL, Objective, SolveResult, minimize_batched
from scalinglab.fitting.threads import torch_threads
from scalinglab.fitting.uncertainty import bootstrap, gauss_newton_covariance, wald_summary
from scalinglab.types import FloatArray

MAX_STARTS = 200_000  # a Cartesian start grid larger than this is a mistake in the options
EXPLORE_FTOL = 1e-5  # loose relative tolerance of the float32 first pass over all starts
EXPLORE_MAX_ITER = 100  # enough to rank basins; the polish below runs to law.max_iter
EXPLORE_HISTORY = 5  # short L-BFGS memory: cheaper per step, same basins
# The explore pass sees at most this many points (a seeded subsample): enough to rank basins of
# laws of a few parameters; its cost per start then stays that of a small table.
EXPLORE_POINTS = 256
MERGE_TOL = 1e-2  # starts closer than this (solver coordinates) follow one path
POLISH_STARTS = 8  # fit_subsets: best starts of the first pass solved to full tolerance
# A basin survives the explore pass when its objective there is within this factor of the best
# one's (the float32 pass stops loosely, so a winning basin can still look up to ~2x worse).
SURVIVE_FACTOR = 2.0
BEST_START_CHECKS = 16  # starts best on the explore subsample that are evaluated on all points
MAX_POLISH = 256  # at most this many survivors (the best ones) are polished in float64
POLISH_ROUNDS = 4  # polish restarts, each with the curvature at its start as preconditioner
# Levenberg-Marquardt steps that finish a row a polish round left unconverged (a correlated
# valley among bounded parameters, which keep their own axes in the rounds, is crawled by
# L-BFGS; a damped Gauss-Newton step crosses it).
FINISH_STEPS = 20
FLAT_RTOL = 1e-12  # objective changes below this (relative) are rounding, not progress
# Numbers (rows x points [x params]) per block of a Jacobian or of an objective evaluated at
# every start: bounds their memory on large tables.
JACOBIAN_CHUNK = 4_000_000


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
    """Start points in solver coordinates, one row per start: `grid` (natural units) if given,
    else the law's own grid for (x, y) with its `starts` option applied, then the law's
    `n_random_starts` Sobol points."""
    rows = _grid_points(law, x, y, free, grid)
    n_random = int(getattr(law, "n_random_starts", 0) or 0)
    if n_random and free:
        rows = np.concatenate([rows, random_starts(law, free, rows, n_random)])
    return rows


def random_starts(
    law: FittableLaw, free: tuple[str, ...], grid_rows: FloatArray, n: int
) -> FloatArray:
    """n scrambled-Sobol points (solver coordinates) in a box around the start grid: each
    parameter's bounds where they are finite; where one is not, the grid's span widened by itself
    (at least 2, a factor e^2 for a log-scale parameter) on that side."""
    lower, upper = solver_bounds(law, free)
    lo, hi = lower.numpy().copy(), upper.numpy().copy()
    if len(grid_rows):
        g_lo, g_hi = grid_rows.min(axis=0), grid_rows.max(axis=0)
    else:
        g_lo = g_hi = np.zeros(len(free))
    width = np.maximum(g_hi - g_lo, 2.0)
    lo = np.where(np.isfinite(lo), lo, g_lo - width)
    hi = np.where(np.isfinite(hi), hi, g_hi + width)
    seed = law.random_state if law.random_state is not None else 0
    engine = torch.quasirandom.SobolEngine(len(free), scramble=True, seed=int(seed))
    u = engine.draw(n, dtype=torch.float64).numpy()
    solver_rows = lo + u * (hi - lo)
    natural = np.column_stack(
        [[law.from_solver(name, v) for v in solver_rows[:, j]] for j, name in enumerate(free)]
    )
    return _to_solver(law, free, natural)


def _grid_points(
    law: FittableLaw,
    x: FloatArray,
    y: FloatArray,
    free: tuple[str, ...],
    grid: Mapping[str, Sequence[float]] | None,
) -> FloatArray:
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


Data = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # x (n, k), y (n,), weights (n,)


def explore_subsample(n: int, size: int = EXPLORE_POINTS) -> torch.Tensor:
    """Indices of the points the explore pass sees: all of them up to `size`, else a seeded
    random subsample (sorted), so that the same data always explore the same way."""
    if n <= size:
        return torch.arange(n)
    generator = torch.Generator().manual_seed(0)
    return torch.sort(torch.randperm(n, generator=generator)[:size]).values


def distinct_best(theta: torch.Tensor, fun: torch.Tensor, tol: float, limit: int) -> torch.Tensor:
    """Indices of the rows of lowest objective, best first, one per cell of side `tol` (rows in
    one cell are one basin), finite objectives only, at most `limit`."""
    order = torch.argsort(fun)
    order = order[torch.isfinite(fun[order])]
    if order.numel() == 0:
        return order
    keys = torch.round(theta[order].double() / tol)
    _, inverse = torch.unique(keys, dim=0, return_inverse=True)
    first = torch.full((int(inverse.max()) + 1,), order.numel(), dtype=torch.long)
    first.scatter_reduce_(0, inverse, torch.arange(order.numel()), reduce="amin")
    return order[torch.sort(first).values[:limit]]


def survivors(theta: torch.Tensor, fun: torch.Tensor) -> torch.Tensor:
    """Rows that survive an explore pass: one per distinct basin, with an objective within
    SURVIVE_FACTOR of the best (objectives are sums of losses, >= 0), best first."""
    finite = fun[torch.isfinite(fun)]
    if finite.numel() == 0:
        return torch.zeros(0, dtype=torch.long)
    cut = float(finite.min()) * SURVIVE_FACTOR
    rows = distinct_best(theta, fun, MERGE_TOL, MAX_POLISH)
    return rows[fun[rows] <= cut]


def evaluate_in_chunks(fun: Objective, theta: torch.Tensor, n_points: int) -> torch.Tensor:
    """fun at every row of theta (inf where not finite), JACOBIAN_CHUNK numbers at a time, so
    that thousands of starts on a large table do not hold (starts x points) values at once."""
    chunk = max(1, JACOBIAN_CHUNK // max(1, n_points))
    out = []
    with torch.no_grad():
        for start in range(0, theta.shape[0], chunk):
            rows = torch.arange(start, min(start + chunk, theta.shape[0]))
            out.append(fun(theta[rows], rows))
    values = torch.cat(out)
    return torch.where(torch.isfinite(values), values, torch.inf)


def multistart(
    law: FittableLaw,
    free: tuple[str, ...],
    theta0: torch.Tensor,
    data: Data,
    bounds: tuple[torch.Tensor, torch.Tensor],
) -> tuple[torch.Tensor, float, bool]:
    """Best point, objective and convergence flag over all starts (see the module docstring).

    Polishing every start to full tolerance would spend most of the time creeping along the kinks
    of the Huber loss in basins that cannot win; polishing only the best few can lose a good
    basin that float32 ranked behind a poor one. So every basin within SURVIVE_FACTOR of the best
    is polished.
    """
    x, y, w = data
    sub = explore_subsample(y.shape[0])
    xs, ys, ws = x[sub], y[sub], w[sub]
    objective_sub = make_objective(law, free, xs, ys, ws)
    at_starts_sub = evaluate_in_chunks(objective_sub, theta0, ys.shape[0])
    split = linear_split(law, free)
    theta_x: torch.Tensor | None
    if split is None:
        theta_x, candidates = explore(
            law, free, theta0, (xs, ys, ws), bounds, objective_sub, at_starts_sub
        )
    else:
        theta_x, candidates = explore_projected(law, split, theta0, (xs, ys, ws), bounds)
    # float32 rounding can rank basins wrongly or leave a start worse than where it began, so the
    # best start in float64 is polished too: the fit is never worse than its own best start.
    objective64 = make_objective(law, free, x, y, w)
    # On a subsample, the starts best there are the ones evaluated on all points (every start
    # on every point of a large table would cost more than the explore pass).
    ranked = torch.argsort(at_starts_sub)[:BEST_START_CHECKS]
    if sub.numel() == y.shape[0]:
        ranked = torch.arange(theta0.shape[0])
    at_starts = torch.full((theta0.shape[0],), torch.inf, dtype=theta0.dtype)
    at_starts[ranked] = evaluate_in_chunks(objective64, theta0[ranked], y.shape[0])
    k = int(torch.argmin(at_starts))
    best_start = theta0[k].unsqueeze(0)
    # Where that start's own explore got to is nearer its optimum: polish from there unless
    # float32 left it worse in float64.
    if theta_x is not None:
        with torch.no_grad():
            at_explored = float(objective64(theta_x[k][None], torch.zeros(1, dtype=torch.long)))
        if at_explored <= float(at_starts[k]):
            best_start = theta_x[k].unsqueeze(0)
    candidates = torch.cat([candidates, best_start])
    if sub.numel() < y.shape[0]:
        # A subsample explored: its survivors are polished on it first (cheap), and the distinct
        # optima among them that survive again are polished on all points.
        res = polish(law, free, candidates, (xs, ys, ws), bounds, law.max_iter)
        keep = survivors(res.theta, res.fun)
        candidates = torch.cat([res.theta[keep], best_start])
    res = polish(law, free, candidates, data, bounds, law.max_iter)
    best = int(torch.argmin(res.fun))
    objective = float(res.fun[best])
    return res.theta[best], objective, bool(res.converged[best]) and math.isfinite(objective)


def explore(
    law: FittableLaw,
    free: tuple[str, ...],
    theta0: torch.Tensor,
    data: Data,
    bounds: tuple[torch.Tensor, torch.Tensor],
    objective64: Objective,
    at_starts: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The explore pass: every start in float32 to a loose tolerance on `data` (the explore
    subsample; `objective64` the float64 objective there and `at_starts` its value at each
    start). Returns where each start got to and the survivors (one per basin, within
    SURVIVE_FACTOR of the best)."""
    x, y, w = data
    lower, upper = bounds
    f32 = torch.float32
    options = explore_options(law)
    explored = minimize_batched(
        make_objective(law, free, x.to(f32), y.to(f32), w.to(f32)),
        theta0.to(f32),
        lower.to(f32),
        upper.to(f32),
        **options,
    )
    theta_x, fun_x = explored.theta.double(), explored.fun.double()
    # Starts that overflow in float32 may be fine in float64: they explore again in float64.
    retry = torch.nonzero(~torch.isfinite(fun_x) & torch.isfinite(at_starts)).reshape(-1)
    if retry.numel():
        again = minimize_batched(objective64, theta0[retry], lower, upper, **options)
        theta_x[retry], fun_x[retry] = again.theta, again.fun
    return theta_x, theta_x[survivors(theta_x, fun_x)]


def explore_projected(
    law: FittableLaw,
    split: LinearSplit,
    theta0: torch.Tensor,
    data: Data,
    bounds: tuple[torch.Tensor, torch.Tensor],
) -> tuple[None, torch.Tensor]:
    """The explore pass under variable projection (scalinglab.fitting.projection): the
    distinct starts of the nonlinear parameters, in float64 (a least-squares solve in float32
    loses the digits the residual lives in), on the reduced objective; the survivors come back
    as full rows with their projected coefficients inside the bounds."""
    x, y, w = data
    lower, upper = bounds
    nonlinear = list(split.nonlinear)
    projection = Projection(law, split, x, y, w)
    if not nonlinear:  # linear in every free parameter: one solve
        return None, projection.full_theta(theta0.new_zeros(1, 0))
    starts = torch.unique(theta0[:, nonlinear], dim=0)
    explored = minimize_batched(
        projection.objective, starts, lower[nonlinear], upper[nonlinear], **explore_options(law)
    )
    keep = survivors(explored.theta, explored.fun)
    return None, projection.full_theta(explored.theta[keep])


class ExploreOptions(TypedDict):
    max_iter: int
    ftol: float
    gtol: float
    merge_tol: float
    history: int


def explore_options(law: FittableLaw) -> ExploreOptions:
    """The solver options of an explore pass: loose, short memory, merging starts that meet."""
    return {
        "max_iter": min(EXPLORE_MAX_ITER, law.max_iter),
        "ftol": EXPLORE_FTOL,
        "gtol": math.inf,
        "merge_tol": MERGE_TOL,
        "history": EXPLORE_HISTORY,
    }


def gauss_newton_curvature(
    law: FittableLaw, free: tuple[str, ...], theta: torch.Tensor, data: Data
) -> torch.Tensor:
    """(b, p, p) Gauss-Newton curvature JᵀΩJ of the objective at each row of theta, J the
    Jacobian of the residuals (one backward pass per parameter; rows in chunks so that J
    stays within JACOBIAN_CHUNK numbers) and Ω the loss's curvature weights times the sample
    weights."""
    x, y, w = data
    resid = residuals(law, free, x, y)
    b, p = theta.shape
    n = y.shape[0]
    out = torch.zeros(b, p, p, dtype=theta.dtype)
    chunk = max(1, JACOBIAN_CHUNK // max(1, n * p))
    for start in range(0, b, chunk):
        r, J = residual_jacobian(resid, theta[start : start + chunk])  # (c, n), (c, n, p)
        w_chunk = w[start : start + chunk] if w.ndim == 2 else w
        omega = curvature_weights(law.objective, r, law.delta) * w_chunk
        J = torch.nan_to_num(J, nan=0.0, posinf=0.0, neginf=0.0)
        omega = torch.nan_to_num(omega, nan=0.0, posinf=0.0, neginf=0.0)
        out[start : start + chunk] = torch.einsum("cnp,cn,cnq->cpq", J, omega, J)
    return out


def precondition(curvature: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
    """(b, p, p) matrices M: the solver searches z with theta = centre + M z, in which the
    Gauss-Newton curvature is close to the identity — the generic form of centring and scaling
    correlated inputs (for a law linear in its parameters, exactly that).

    Every parameter is first scaled by its curvature (Jacobi); the parameters without a bound
    are then whitened together (Cholesky of their scaled curvature), while a bounded parameter
    keeps its own axis, so that its bounds stay a box for the solver.
    """
    diag = torch.diagonal(curvature, dim1=-2, dim2=-1)
    # A parameter the data barely see gets a scale from the others, not an infinite one.
    floor = 1e-12 * diag.amax(-1, keepdim=True).clamp_min(1e-300)
    d = 1.0 / torch.sqrt(torch.maximum(diag, floor))
    d = torch.where(torch.isfinite(d), d, torch.ones_like(d))
    M = torch.diag_embed(d)
    free = torch.nonzero(torch.isinf(lower) & torch.isinf(upper)).reshape(-1)
    if free.numel() >= 2:
        scaled = curvature * d[:, :, None] * d[:, None, :]
        block = scaled[:, free][:, :, free]
        eye = torch.eye(free.numel(), dtype=curvature.dtype)
        chol, info = torch.linalg.cholesky_ex(block + 1e-10 * eye)
        ok = info == 0
        if ok.any():
            # theta_U = centre_U + D_U L^-T z_U: curvature in z is L^-1 (D H D) L^-T = I.
            inv_lt = torch.linalg.solve_triangular(
                chol[ok].transpose(-1, -2), eye.expand(int(ok.sum()), -1, -1), upper=True
            )
            sub = M[ok]
            sub[:, free[:, None], free[None, :]] = d[ok][:, free, None] * inv_lt
            M[ok] = sub
    return M


def projected_gradient(
    objective: Objective,
    theta: torch.Tensor,
    rows: torch.Tensor,
    lower: torch.Tensor,
    upper: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(f (b,), projected gradient (b, p)) of the objective at theta in solver coordinates:
    the gradient with the coordinates pinned at a bound by an outward pull zeroed (a NaN
    gradient, where the formula is not differentiable, reads as infinite)."""
    th = theta.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        f = objective(th, rows)
        finite = torch.isfinite(f)
        total = torch.where(finite, f, torch.zeros_like(f)).sum()
        (g,) = torch.autograd.grad(total, th) if total.requires_grad else (torch.zeros_like(th),)
    g = torch.nan_to_num(g, nan=math.inf)
    pinned = ((theta <= lower) & (g > 0)) | ((theta >= upper) & (g < 0))
    f = torch.where(finite, f.detach(), torch.full_like(f, math.inf))
    return f, torch.where(pinned, torch.zeros_like(g), g)


def marquardt(
    law: FittableLaw,
    free: tuple[str, ...],
    objective: Objective,
    theta: torch.Tensor,
    fun: torch.Tensor,
    rows: torch.Tensor,
    data: Data,
    bounds: tuple[torch.Tensor, torch.Tensor],
    steps: int = FINISH_STEPS,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Levenberg-Marquardt steps (Marquardt 1963: the Gauss-Newton curvature H plus λ·diag(H),
    λ ÷10 after a step that lowers the objective, ×10 after one that does not) from each row of
    theta, over the parameters not pinned at a bound, clipped to the bounds; a step is kept only
    where it lowers the objective (or, within FLAT_RTOL of it, the gradient). Returns theta,
    objective, converged (projected gradient small and finite) and the projected gradient.
    `rows` index the rows in the objective's batch; the weights in `data` are (n,) or one row
    per row of theta."""
    x, y, w = data
    lower, upper = bounds
    theta, fun = theta.clone(), fun.clone()
    b, p = theta.shape
    lam = torch.full((b,), 1e-3, dtype=theta.dtype)
    done = torch.zeros(b, dtype=torch.bool)
    pg = torch.full_like(theta, math.inf)
    eye = torch.eye(p, dtype=theta.dtype)
    for _ in range(steps + 1):
        live = torch.nonzero(~done).reshape(-1)
        if live.numel() == 0:
            break
        f, g = projected_gradient(objective, theta[live], rows[live], lower, upper)
        pg[live] = g
        ok = torch.isfinite(g).all(-1) & torch.isfinite(f)
        small = ok & (g.abs().amax(-1) <= GTOL * f.abs().clamp_min(1.0))
        done[live[small]] = True
        live = live[ok & ~small]
        if live.numel() == 0 or _ == steps:
            break
        g = pg[live]
        w_live = w[live] if w.ndim == 2 else w
        H = gauss_newton_curvature(law, free, theta[live], (x, y, w_live))
        # Pinned coordinates (zero projected gradient on a bound) take no step.
        pinned = (g == 0) & ((theta[live] <= lower) | (theta[live] >= upper))
        keep = ~pinned
        pair = keep[:, :, None] & keep[:, None, :]
        diag = torch.diagonal(H, dim1=-2, dim2=-1)
        floor = 1e-12 * diag.amax(-1, keepdim=True).clamp_min(1e-300)
        damped = H + torch.diag_embed(lam[live, None] * torch.maximum(diag, floor) + floor)
        A = torch.where(pair, damped, eye.expand_as(damped))
        A = torch.nan_to_num(A, nan=0.0, posinf=0.0, neginf=0.0)
        step, info = torch.linalg.solve_ex(A, -g.unsqueeze(-1))
        step = torch.where(keep, step.squeeze(-1), torch.zeros_like(g))
        trial = torch.minimum(torch.maximum(theta[live] + step, lower), upper)
        f_trial, g_trial = projected_gradient(objective, trial, rows[live], lower, upper)
        # Within rounding of the optimum the objective (a sum over points) cannot tell two
        # points apart: there a step is kept when it shrinks the gradient.
        level = fun[live] + FLAT_RTOL * fun[live].abs()
        flatter = (f_trial <= level) & (g_trial.abs().amax(-1) < g.abs().amax(-1))
        better = (info == 0) & torch.isfinite(f_trial) & ((f_trial < fun[live]) | flatter)
        theta[live[better]] = trial[better]
        fun[live[better]] = f_trial[better]
        lam[live] = torch.where(better, lam[live] / 10, lam[live] * 10).clamp(1e-12, 1e12)
    return theta, fun, done, pg


def polish(
    law: FittableLaw,
    free: tuple[str, ...],
    starts: torch.Tensor,
    data: Data,
    bounds: tuple[torch.Tensor, torch.Tensor],
    max_iter: int,
    ftol: float | None = None,
) -> SolveResult:
    """Solve from every start in float64 to `ftol` (default the law's tolerance),
    preconditioned: in rounds of at most max_iter / POLISH_ROUNDS iterations (at least 50),
    each with the Gauss-Newton curvature at its start, until every row has converged or
    max_iter iterations are spent. Convergence is tested on the gradient of the law's own solver
    coordinates. The weights in `data` are (n,), or (starts, n) one row per start (bootstrap)."""
    x, y, w = data
    lower, upper = bounds
    objective = make_objective(law, free, x, y, w)
    theta = starts.clone()
    b = theta.shape[0]
    with torch.no_grad():
        fun = objective(theta, torch.arange(b))
    converged = torch.zeros(b, dtype=torch.bool)
    n_iter = torch.zeros(b, dtype=torch.long)
    grad = torch.zeros_like(theta)
    per_round = max(50, -(-max_iter // POLISH_ROUNDS))
    todo = torch.nonzero(torch.isfinite(fun)).reshape(-1)
    while todo.numel() and int(n_iter[todo].max()) < max_iter:
        centre = theta[todo]
        w_todo = w[todo] if w.ndim == 2 else w
        curvature = gauss_newton_curvature(law, free, centre, (x, y, w_todo))
        M = precondition(curvature, lower, upper)
        inv_t = torch.linalg.inv(M).transpose(-1, -2)
        diag = torch.diagonal(M, dim1=-2, dim2=-1)
        bounded = torch.isfinite(lower) | torch.isfinite(upper)
        # A bounded parameter keeps its own (scaled) axis: its bounds in z, row by row.
        z_lo = torch.where(bounded, (lower - centre) / diag, -math.inf)
        z_hi = torch.where(bounded, (upper - centre) / diag, math.inf)

        def fun_z(
            z: torch.Tensor, rows: torch.Tensor, centre: torch.Tensor = centre,
            M: torch.Tensor = M, todo: torch.Tensor = todo,
        ) -> torch.Tensor:  # fmt: skip
            th = centre[rows] + (M[rows] @ z.unsqueeze(-1)).squeeze(-1)
            return objective(th, todo[rows])

        def grad_map(
            g: torch.Tensor, rows: torch.Tensor, inv_t: torch.Tensor = inv_t
        ) -> torch.Tensor:
            return (inv_t[rows] @ g.unsqueeze(-1)).squeeze(-1)

        # In whitened coordinates a Newton step is about sqrt(2 (f - f*)) <= sqrt(2 f) long.
        cap = 2.0 + 2.0 * torch.sqrt(2.0 * fun[todo].abs())
        budget = min(per_round, max_iter - int(n_iter[todo].max()))
        res = minimize_batched(
            fun_z,
            torch.zeros_like(centre),
            z_lo,
            z_hi,
            max_iter=budget,
            ftol=law.tol if ftol is None else ftol,
            grad_map=grad_map,
            max_move=cap,
        )
        moved = centre + (M @ res.theta.unsqueeze(-1)).squeeze(-1)
        # Clip to the bounds: M z can round a hair beyond a bound the solver held.
        theta[todo] = torch.minimum(torch.maximum(moved, lower), upper)
        fun[todo] = res.fun
        converged[todo] = res.converged
        n_iter[todo] += res.n_iter.clamp_min(1)
        grad[todo] = res.grad
        # A row the round left unconverged may be crawling along a valley its preconditioner
        # leaves narrow (correlated bounded parameters keep their own axes): Levenberg-Marquardt
        # steps try to finish it, and are kept only where they reach convergence (elsewhere the
        # row goes on from where the round left it).
        stopped = todo[~res.converged & torch.isfinite(res.fun)]
        steps = min(FINISH_STEPS, max_iter - int(n_iter[stopped].max())) if stopped.numel() else 0
        if steps > 0:
            w_rows = w[stopped] if w.ndim == 2 else w
            th, fv, ok, pg = marquardt(
                law, free, objective, theta[stopped], fun[stopped], stopped,
                (x, y, w_rows), bounds, steps,
            )  # fmt: skip
            done = stopped[ok]
            theta[done], fun[done], grad[done] = th[ok], fv[ok], pg[ok]
            converged[done] = True
            n_iter[done] += steps
        todo = todo[~converged[todo]]
    return SolveResult(theta=theta, fun=fun, converged=converged, n_iter=n_iter, grad=grad)


def residual_sd(
    law: FittableLaw,
    free: tuple[str, ...],
    theta: torch.Tensor,
    x: torch.Tensor,
    y: torch.Tensor,
    w: torch.Tensor,
) -> float:
    """sqrt(Σ w r² / (Σ w − p)): the residuals' sd on the objective's scale (log for the log
    objectives), with the fitted parameters' degrees of freedom taken off (NaN without any)."""
    with torch.no_grad():
        r = residuals(law, free, x, y)(theta[None, :])[0]
    dof = float(w.sum()) - len(free)
    return math.sqrt(float((w * r * r).sum()) / dof) if dof > 0 else math.nan


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
        raise ScalingLabError(
            f"law {law.name!r}: no start point gave a finite objective on this data; check that "
            "the data fit this law's form or pass start values"
        )
    params = {}
    for j, name in enumerate(free):
        try:
            params[name] = law.from_solver(name, float(theta[j]))
        except OverflowError:
            raise ScalingLabError(
                f"law {law.name!r}: the fit diverged ({name} ran off to infinity); the data may "
                "not fit this law's form: check the data, or pass bounds or start values"
            ) from None
    for name, value in (law.fixed or {}).items():
        params[name] = float(value)
    for name, other in (law.tied or {}).items():
        params[name] = params[other]
    law.params_ = {n: params[n] for n in law.param_names}
    law.objective_ = objective
    law.n_points_ = len(y)
    law.residual_sd_ = residual_sd(law, free, theta, xt, yt, wt)
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
        draws, n_failed = bootstrap(law, free, theta, xt, yt, wt, lower, upper, polish)
        law.bootstrap_params_ = draws
        if n_failed:
            warnings.append(
                f"{law.name}: {n_failed} of {law.n_bootstrap} bootstrap refits stopped before "
                "converging (resamples with few distinct points can leave a parameter loose)"
            )
        # A loose parameter's draws can pass 1e154 (a BNSL break far past the data), whose
        # square overflows: its spread is then inf, said so, without numpy's warning.
        with np.errstate(over="ignore", invalid="ignore"):
            law.stderr_ = {
                n: float(np.nanstd(draws[:, j], ddof=1)) for j, n in enumerate(law.param_names)
            }
            law.covariance_ = np.cov(draws.T)
        tail = (1 - law.ci_level) / 2
        law.ci_ = {
            n: (
                float(np.nanquantile(draws[:, j], tail)),
                float(np.nanquantile(draws[:, j], 1 - tail)),
            )
            for j, n in enumerate(law.param_names)
        }
    else:
        law.stderr_, law.ci_ = wald_summary(law, law.covariance_, law.ci_level)
    law.ci_level_ = float(law.ci_level)
    law.warnings_ = warnings
