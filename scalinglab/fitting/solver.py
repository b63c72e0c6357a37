"""A batched, box-constrained L-BFGS: many independent minimisations solved as one array problem.

Multi-start fitting (Hoffmann 2022 starts L-BFGS from a 4,500-point grid) and the bootstrap
(thousands of refits) are many small problems of the same shape. Solving them one scipy call at a
time spends nearly all the time in Python; here every start is a row of one (B, p) tensor, the
objective is evaluated for all rows at once, and each row keeps its own L-BFGS history, step size
and stopping state (Nocedal & Wright 2006, Alg. 7.4 two-loop recursion; projected steps on the box
as in L-BFGS-B's Cauchy-point free variables, simplified to the active-set rule). Rows that have
stopped are dropped from the batch, so the cost falls as starts converge.

The objective `fun(theta, rows)` takes theta (b, p) and the indices (b,) of those rows in the full
batch (so per-row data such as bootstrap weights can be gathered) and returns (b,) values. Rows are
independent, so the gradient of the summed objective is each row's own gradient.

Convergence is reported honestly: a row is `converged` only when both criteria hold at its final
point — the projected gradient is small, max_i |pg_i| <= gtol * max(1, |f|), and its last step
decreased the objective by at most ftol relative. A row stops, not converged, when it reaches
max_iter, when its objective has stalled (STALL_ITERS steps in a row each within ftol) without the
gradient test, or when no descent is left at machine precision; `SolveResult.grad` gives the
projected gradient so a caller can check.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

Tensor = torch.Tensor
Objective = Callable[[Tensor, Tensor], Tensor]
GradMap = Callable[[Tensor, Tensor], Tensor]

ARMIJO_C = 1e-4  # sufficient-decrease constant (Nocedal & Wright 2006, Sec. 3.1)
MAX_BACKTRACKS = 30  # step reductions (each x0.1..0.5) before a line search gives up
MAX_MOVE = 2.0  # largest change of any solver coordinate in one step (log-scale: a factor e^2)
MERGE_EVERY = 5  # iterations between merges of multi-start rows that met at one point
# Relative projected-gradient tolerance: max|pg| <= GTOL * max(1, |f|). Tight enough that the
# objective is within ~GTOL^2 / curvature of the optimum; far above float64 gradient noise.
GTOL = 1e-6
# Steps in a row whose decrease is within ftol before a row that fails the gradient test stops
# (not converged): a flat valley can still make progress one tiny step at a time, noise cannot.
STALL_ITERS = 10


@dataclass
class SolveResult:
    theta: Tensor  # (B, p) final points
    fun: Tensor  # (B,) final objective values (inf where a start was infeasible)
    converged: Tensor  # (B,) bool: small projected gradient and small last decrease (see above)
    n_iter: Tensor  # (B,) iterations taken
    grad: Tensor  # (B, p) projected gradient at the final point (in grad_map's coordinates)


def _value_and_grad(fun: Objective, theta: Tensor, rows: Tensor) -> tuple[Tensor, Tensor]:
    th = theta.detach().requires_grad_(True)
    with torch.enable_grad():
        f = fun(th, rows)
        finite = torch.isfinite(f)
        total = torch.where(finite, f, torch.zeros_like(f)).sum()
        (g,) = torch.autograd.grad(total, th) if total.requires_grad else (torch.zeros_like(th),)
    g = torch.nan_to_num(g, nan=0.0, posinf=0.0, neginf=0.0)
    f = torch.where(finite, f.detach(), torch.full_like(f, float("inf")))
    return f, g


def _value(fun: Objective, theta: Tensor, rows: Tensor) -> Tensor:
    with torch.no_grad():
        f = fun(theta, rows)
    return torch.where(torch.isfinite(f), f, torch.full_like(f, float("inf")))


def _shorter_step(t: Tensor, f0: Tensor, ft: Tensor, g: Tensor, d: Tensor) -> Tensor:
    """Next trial step after t failed: the minimiser of the quadratic through f(0), f'(0) = g·d
    and f(t), kept within [0.1 t, 0.5 t] (Nocedal & Wright 2006, Sec. 3.5); 0.5 t if f(t) = inf."""
    slope = (g * d).sum(-1)
    excess = (ft - f0 - slope * t).clamp_min(1e-300)
    t_quad = -slope * t * t / (2.0 * excess)
    t_next = torch.where(torch.isfinite(ft), t_quad, 0.5 * t)
    return torch.minimum(torch.maximum(t_next, 0.1 * t), 0.5 * t)


def _merge_duplicates(theta: Tensor, active: Tensor, tol: float) -> Tensor:
    """Active rows with duplicates (same point to within tol in every coordinate) removed."""
    keys = torch.round(theta[active] / tol)
    _, inverse = torch.unique(keys, dim=0, return_inverse=True)
    first = torch.full((int(inverse.max()) + 1,), active.numel(), dtype=torch.long)
    first.scatter_reduce_(0, inverse, torch.arange(active.numel()), reduce="amin")
    return active[torch.sort(first).values]


def _free_mask(theta: Tensor, g: Tensor, lower: Tensor, upper: Tensor) -> Tensor:
    """Coordinates not pinned at a bound by a gradient pushing outward (the active-set rule)."""
    at_lower = (theta <= lower) & (g > 0)
    at_upper = (theta >= upper) & (g < 0)
    return ~(at_lower | at_upper)


def _two_loop(g: Tensor, S: Tensor, Y: Tensor, valid: Tensor) -> Tensor:
    """-H g by the L-BFGS two-loop recursion, per row; history index 0 is the newest pair."""
    m = S.shape[1]
    sy = (S * Y).sum(-1)  # (b, m)
    rho = torch.where(valid, 1.0 / torch.where(valid, sy, torch.ones_like(sy)), 0.0)
    q = g.clone()
    alphas = []
    for i in range(m):
        a = rho[:, i] * (S[:, i] * q).sum(-1)
        q = q - a[:, None] * Y[:, i]
        alphas.append(a)
    yy = (Y[:, 0] * Y[:, 0]).sum(-1)
    gamma = torch.where(valid[:, 0] & (yy > 0), sy[:, 0] / torch.where(yy > 0, yy, 1.0), 1.0)
    r = gamma[:, None] * q
    for i in reversed(range(m)):
        beta = rho[:, i] * (Y[:, i] * r).sum(-1)
        r = r + S[:, i] * (alphas[i] - beta)[:, None]
    return -r


def _rows(bound: Tensor, idx: Tensor) -> Tensor:
    """The bounds of rows idx: bounds are (p,) shared by all rows or (B, p) one row each."""
    return bound[idx] if bound.ndim == 2 else bound


def minimize_batched(
    fun: Objective,
    theta0: Tensor,
    lower: Tensor,
    upper: Tensor,
    *,
    max_iter: int = 1000,
    ftol: float = 1e-12,
    gtol: float = GTOL,
    history: int = 10,
    merge_tol: float | None = None,
    grad_map: GradMap | None = None,
    max_move: float | Tensor = MAX_MOVE,
) -> SolveResult:
    """Minimise `fun` from every row of theta0 (B, p) within [lower, upper] independently.

    `lower`, `upper` are (p,) for all rows or (B, p) per row. `gtol=math.inf` drops the gradient
    test (a loose ranking pass stops on the objective decrease alone). `grad_map(g, rows)` maps a
    gradient in these coordinates to the caller's (a preconditioned problem reports and tests
    the gradient of the original parameters), the identity by default. `max_move` caps the
    change of any coordinate in one step, one number or (B,) per row.

    With `merge_tol`, rows of the same problem (multi-start) that have reached the same point
    (every coordinate within merge_tol) are merged: only one keeps iterating, since they would
    follow the same path. Rows retired this way keep the point and value they had.
    """
    theta0 = theta0.clone()
    lower = lower.to(theta0.dtype)
    upper = upper.to(theta0.dtype)
    B, p = theta0.shape
    all_rows = torch.arange(B)
    theta = torch.minimum(torch.maximum(theta0, _rows(lower, all_rows)), _rows(upper, all_rows))
    f, g = _value_and_grad(fun, theta, all_rows)
    S = torch.zeros(B, history, p, dtype=theta0.dtype)
    Y = torch.zeros_like(S)
    valid = torch.zeros(B, history, dtype=torch.bool)
    n_iter = torch.zeros(B, dtype=torch.long)
    stall = torch.zeros(B, dtype=torch.long)
    converged = torch.zeros(B, dtype=torch.bool)
    move_cap = torch.as_tensor(max_move, dtype=theta0.dtype).expand(B)

    def projected(th: Tensor, gr: Tensor, rows: Tensor) -> Tensor:
        pg = gr * _free_mask(th, gr, _rows(lower, rows), _rows(upper, rows))
        return pg if grad_map is None else grad_map(pg, rows)

    def small_gradient(th: Tensor, gr: Tensor, fv: Tensor, rows: Tensor) -> Tensor:
        if math.isinf(gtol):
            return torch.ones_like(fv, dtype=torch.bool)
        pg = projected(th, gr, rows).abs().amax(-1)
        return pg <= gtol * fv.abs().clamp_min(1.0)

    # Infeasible starts (non-finite objective) are dropped at once; they can never win.
    active = all_rows[torch.isfinite(f)]

    for it in range(max_iter):
        if active.numel() == 0:
            break
        if merge_tol is not None and it % MERGE_EVERY == MERGE_EVERY - 1:
            kept = _merge_duplicates(theta, active, merge_tol)
            # Merged rows count as settled where their twin is: they stop with its verdict.
            merged = active[~torch.isin(active, kept)]
            converged[merged] = small_gradient(theta[merged], g[merged], f[merged], merged)
            active = kept
        lo, hi = _rows(lower, active), _rows(upper, active)
        th, fa, ga = theta[active], f[active], g[active]
        free = _free_mask(th, ga, lo, hi)
        g_free = ga * free
        d = _two_loop(g_free, S[active], Y[active], valid[active]) * free
        not_descent = (d * g_free).sum(-1) >= 0
        d = torch.where(not_descent[:, None], -g_free, d)
        # First step of a row without history: scale so the step is at most ~1 (as L-BFGS-B).
        fresh = ~valid[active, 0]
        gnorm = g_free.norm(dim=-1).clamp_min(1e-300)
        step = torch.where(fresh | not_descent, torch.clamp(1.0 / gnorm, max=1.0), 1.0)
        # No coordinate moves more than max_move per step: in flat regions the curvature estimate
        # is tiny and the quasi-Newton step absurdly long, which only costs backtracking.
        step = torch.minimum(step, move_cap[active] / d.abs().amax(-1).clamp_min(1e-300))

        # Line search (backtracking Armijo). The full step is tried with its gradient, since most
        # rows take it; rows that do not backtrack on values alone, and get one gradient at the end.
        cand = torch.minimum(torch.maximum(th + step[:, None] * d, lo), hi)
        fc, gc = _value_and_grad(fun, cand, active)
        ok = fc <= fa + ARMIJO_C * (ga * (cand - th)).sum(-1)
        new_th, new_f, new_g = th.clone(), torch.full_like(fa, float("inf")), ga.clone()
        new_th[ok], new_f[ok], new_g[ok] = cand[ok], fc[ok], gc[ok]
        pending = torch.nonzero(~ok).reshape(-1)
        step[pending] = _shorter_step(
            step[pending], fa[pending], fc[pending], ga[pending], d[pending]
        )
        backtracked = []
        for _bt in range(MAX_BACKTRACKS):
            if pending.numel() == 0:
                break
            lo_p = lo if lo.ndim == 1 else lo[pending]
            hi_p = hi if hi.ndim == 1 else hi[pending]
            cand = torch.minimum(
                torch.maximum(th[pending] + step[pending, None] * d[pending], lo_p), hi_p
            )
            fc = _value(fun, cand, active[pending])
            ok = fc <= fa[pending] + ARMIJO_C * (ga[pending] * (cand - th[pending])).sum(-1)
            new_th[pending[ok]], new_f[pending[ok]] = cand[ok], fc[ok]
            backtracked.append(pending[ok])
            step[pending] = _shorter_step(step[pending], fa[pending], fc, ga[pending], d[pending])
            pending = pending[~ok]
        if backtracked:
            rows = torch.cat(backtracked)
            if rows.numel():
                new_f[rows], new_g[rows] = _value_and_grad(fun, new_th[rows], active[rows])

        # A row whose line search failed restarts from steepest descent; if that fails too, no
        # descent is left at machine precision: it stops, converged if its gradient is small.
        moved = torch.isfinite(new_f)
        stuck = active[~moved & fresh]
        converged[stuck] = small_gradient(theta[stuck], g[stuck], f[stuck], stuck)
        valid[active[~moved & ~fresh]] = False
        keep_going = active[~moved & ~fresh]
        act = active[moved]
        th_old, f_old, g_old = th[moved], fa[moved], ga[moved]
        th_new, f_new, g_new = new_th[moved], new_f[moved], new_g[moved]
        theta[act], f[act], g[act] = th_new, f_new, g_new
        n_iter[act] += 1

        s, yv = th_new - th_old, g_new - g_old
        sy = (s * yv).sum(-1)
        keep = sy > 1e-10 * (yv * yv).sum(-1).clamp_min(1e-300)
        upd = act[keep]
        S[upd] = torch.roll(S[upd], 1, dims=1)
        Y[upd] = torch.roll(Y[upd], 1, dims=1)
        valid[upd] = torch.roll(valid[upd], 1, dims=1)
        S[upd, 0], Y[upd, 0], valid[upd, 0] = s[keep], yv[keep], True

        rel_change = (f_old - f_new) / torch.maximum(
            torch.maximum(f_old.abs(), f_new.abs()), torch.full_like(f_new, 1e-300)
        )
        small_step = rel_change <= ftol
        stall[act] = torch.where(small_step, stall[act] + 1, 0)
        grad_ok = small_gradient(th_new, g_new, f_new, act)
        done = (small_step & grad_ok) | (stall[act] >= STALL_ITERS)
        converged[act[done]] = (small_step & grad_ok)[done]
        active = torch.cat([act[~done], keep_going])

    pg_final = projected(theta, g, all_rows)
    return SolveResult(theta=theta, fun=f, converged=converged, n_iter=n_iter, grad=pg_final)
