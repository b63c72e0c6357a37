"""Inverse queries: what it takes to reach a target loss or error.

- `compute_for_loss`: the smallest budget C whose compute-optimal model reaches a target loss L,
  with its N and D. For Chinchilla with C = k·N·D the optimal loss along the frontier is
  (Hoffmann et al. 2022, arXiv:2203.15556, eq. 4 substituted into the law)

      L*(C) = E + K·(C/k)^(−γ),  K = A·G^(−α) + B·G^β,  γ = αβ/(α+β),

  so C = k·((L − E)/K)^(−1/γ). For other laws of N and D, L*(C) is found numerically and
  inverted by bracketing in log C.
- `data_for_target`: for a one-variable learning curve (power_const, hestness, bnsl, m1–m4, …) the
  x (data, usually) at which it reaches a target error — "how much data for 5% error?"
  (Hestness et al. 2017, arXiv:1712.00409, Sec. 5). A law of several variables works too when all
  but one are given. A target at or below the fitted irreducible level is an error that says so.

Intervals come from the parameter draws; a draw that can never reach the target (its irreducible
level is above it) counts as needing infinite compute/data, and the fraction of such draws is
reported.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scalinglab.errors import ScalingLabError
from scalinglab.laws.base import FloatArray, ScalingLaw
from scalinglab.planning._checks import check_level
from scalinglab.planning._results import interval
from scalinglab.planning._zoom import zoom_root
from scalinglab.planning.allocation import chinchilla_rows, optimal_rows
from scalinglab.planning.flops import FlopModel, search_budgets
from scalinglab.planning.surface import LossSurface, evaluate_rows, law_draws, point_row
from scalinglab.types import JsonRecord

LOG_X_LO, LOG_X_HI = math.log(1e-30), math.log(1e60)  # search range of a curve's x
NUMERIC_MAX_DRAWS = 200  # nested numeric solves are costlier per draw


@dataclass
class LossTarget(JsonRecord):
    """The compute-optimal run that reaches `target_loss`."""

    target_loss: float
    compute: float
    n_opt: float
    d_opt: float
    tokens_per_param: float
    law: str
    flop_model: str
    method: str
    level: float = 0.9
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    unreachable_fraction: float = 0.0
    interval_source: str = "none"
    n_draws: int = 0


@dataclass
class CurveTarget(JsonRecord):
    """The value of `variable` at which a fitted curve reaches `target`."""

    variable: str
    target: float
    value: float
    law: str
    irreducible: float
    level: float = 0.9
    interval: tuple[float, float] = (math.nan, math.nan)
    unreachable_fraction: float = 0.0
    interval_source: str = "none"
    n_draws: int = 0


# ------------------------------------------------------------------------------------------------
# Target loss → compute, N, D
# ------------------------------------------------------------------------------------------------
def _closed_form_compute(
    surface: LossSurface, theta: FloatArray, target: float, k: float
) -> FloatArray:
    """C per row with L*(C) = target (Chinchilla, C = k·N·D); +inf where target ≤ E."""
    G, _, _ = chinchilla_rows(surface, theta)
    col = surface.column
    E, A, B = col(theta, "E")[:, 0], col(theta, "A")[:, 0], col(theta, "B")[:, 0]
    alpha, beta = col(theta, "alpha")[:, 0], col(theta, "beta")[:, 0]
    with np.errstate(all="ignore"):
        K = A * G**-alpha + B * G**beta
        gamma = alpha * beta / (alpha + beta)
        c = k * ((target - E) / K) ** (-1.0 / gamma)
    return np.where(target > E, c, np.inf)


def _frontier_loss(
    surface: LossSurface, theta: FloatArray, flops: FlopModel
) -> Any:  # returns a RowFunction
    """L*(C) per row at log C values (b, m): the optimal loss along each budget."""

    def f(logc: FloatArray) -> FloatArray:
        b, m = logc.shape
        rows = np.repeat(theta, m, axis=0)
        _, _, loss, ok = optimal_rows(surface, rows, np.exp(logc).reshape(-1), flops, xtol=1e-6)
        return np.where(ok, loss, np.nan).reshape(b, m)

    return f


def compute_for_loss(
    law: ScalingLaw,
    target_loss: float,
    flops: FlopModel | None = None,
    level: float = 0.9,
    known: Mapping[str, float] | None = None,
    draws: bool = True,
) -> LossTarget:
    """The budget, model size and tokens of the cheapest run predicted to reach `target_loss`."""
    flops = flops or FlopModel()
    check_level(level)
    target = float(target_loss)
    if not math.isfinite(target) or target <= 0:
        raise ScalingLabError(f"the target loss must be a positive number, got {target_loss}")
    surface = LossSurface(law, known)
    closed = surface.closed_form and flops.linear
    theta = point_row(law)
    log_lo, log_hi = (math.log(c) for c in search_budgets(flops))

    def solve(th: FloatArray, xtol: float = 1e-12) -> FloatArray:
        if closed:
            return _closed_form_compute(surface, th, target, flops.k)
        f = _frontier_loss(surface, th, flops)
        b = th.shape[0]
        logc = zoom_root(f, np.full(b, target), np.full(b, log_lo), np.full(b, log_hi), xtol=xtol)
        # A row without a crossing: the target is below what the largest budget reaches.
        ends = f(np.column_stack([np.full(b, log_lo), np.full(b, log_hi)]))
        too_low = np.isnan(logc) & (target <= ends[:, 1])
        return np.where(too_low, np.inf, np.exp(logc))

    c = solve(theta)
    if not np.isfinite(c[0]):
        _explain_unreachable_loss(law, surface, theta, target, flops, closed)
    n, d, _, ok = optimal_rows(surface, theta, c, flops)
    if not ok[0]:
        raise ScalingLabError(f"no compute-optimal model reaches loss {target:g} with this fit")
    out = LossTarget(
        target_loss=target,
        compute=float(c[0]),
        n_opt=float(n[0]),
        d_opt=float(d[0]),
        tokens_per_param=float(d[0] / n[0]),
        law=law.name,
        flop_model=flops.describe(),
        method="closed form" if closed else "numeric",
        level=level,
    )
    dr = law_draws(law, draws, None if closed else NUMERIC_MAX_DRAWS)
    if dr.theta is None:
        return out
    cd = solve(dr.theta, xtol=1e-7)  # intervals need far less precision than the point
    finite = np.isfinite(cd)
    nd = np.full(dr.n, np.inf)
    dd = np.full(dr.n, np.inf)
    if finite.any():
        nf, df, _, okf = optimal_rows(surface, dr.theta[finite], cd[finite], flops)
        nd[finite] = np.where(okf, nf, np.nan)
        dd[finite] = np.where(okf, df, np.nan)
    out.intervals = {
        "compute": interval(cd, level),
        "n_opt": interval(nd, level),
        "d_opt": interval(dd, level),
    }
    out.unreachable_fraction = float(np.mean(np.isinf(cd)))
    out.interval_source, out.n_draws = dr.source, dr.n
    return out


def _explain_unreachable_loss(
    law: ScalingLaw,
    surface: LossSurface,
    theta: FloatArray,
    target: float,
    flops: FlopModel,
    closed: bool,
) -> None:
    if "E" in law.params_ and target <= law.params_["E"]:
        raise ScalingLabError(
            f"target loss {target:g} is at or below the fitted irreducible loss "
            f"E = {law.params_['E']:.6g} of this {law.name} fit: no budget reaches it"
        )
    if closed:
        raise ScalingLabError(f"target loss {target:g} cannot be reached with this fit")
    f = _frontier_loss(surface, theta, flops)
    lo, hi = search_budgets(flops)
    ends = f(np.log([[lo, hi]]))[0]
    raise ScalingLabError(
        f"target loss {target:g} is out of reach of this {law.name} fit: its compute-optimal "
        f"loss goes from {ends[0]:.6g} at {lo:.3g} FLOPs to {ends[1]:.6g} at {hi:.3g} FLOPs"
    )


# ------------------------------------------------------------------------------------------------
# Target error → data (one-variable curves)
# ------------------------------------------------------------------------------------------------
def data_for_target(
    law: ScalingLaw,
    target: float,
    level: float = 0.9,
    known: Mapping[str, float] | None = None,
    draws: bool = True,
) -> CurveTarget:
    """The x (training-set size, tokens, compute — the law's one free variable) at which the
    fitted curve reaches `target`, with an interval over the parameter draws."""
    check_level(level)
    law.check_fitted()
    t = float(target)
    if not math.isfinite(t) or t <= 0:
        raise ScalingLabError(f"the target must be a positive number, got {target}")
    known = {k: float(v) for k, v in (known or {}).items()}
    free = [v for v in law.variables if v not in known]
    if len(free) != 1:
        raise ScalingLabError(
            f"data_for_target needs a one-variable learning curve (power_const, hestness, bnsl, "
            f"m1–m4, ...); the fit holds {law.name!r} with variables {list(law.variables)}"
            + ("; for a law of params and tokens use compute_for_loss" if len(free) > 1 else "")
        )
    (var,) = free
    for name, value in known.items():
        if name not in law.variables:
            raise ScalingLabError(f"law {law.name!r} has no variable {name!r}")
        if not math.isfinite(value) or value <= 0:
            raise ScalingLabError(f"{name} must be a positive number, got {value:g}")

    def curve(th: FloatArray) -> Any:
        def f(logx: FloatArray) -> FloatArray:
            cols = {v: np.full(logx.shape, known[v]) for v in known}
            cols[var] = np.exp(logx)
            return evaluate_rows(law, th, cols)

        return f

    theta = point_row(law)
    ends = curve(theta)(np.array([[LOG_X_LO, LOG_X_HI]]))[0]
    start, limit = float(ends[0]), float(ends[1])
    decreasing = limit < start
    floor, ceiling = min(start, limit), max(start, limit)
    if t <= floor:
        what = "irreducible error (its limit as x grows)" if decreasing else "starting level"
        raise ScalingLabError(
            f"target {t:g} is at or below the fitted {what} {floor:.6g} of this {law.name} fit: "
            f"no amount of {var} reaches it"
        )
    if t >= ceiling:
        raise ScalingLabError(
            f"target {t:g} is at or above the fitted curve's highest level {ceiling:.6g}: "
            f"any {var} already reaches it"
        )
    value = float(np.asarray(law.inverse(t, **known), dtype=float).reshape(-1)[0])
    out = CurveTarget(
        variable=var, target=t, value=value, law=law.name, irreducible=floor, level=level
    )
    dr = law_draws(law, draws)
    if dr.theta is None:
        return out
    f = curve(dr.theta)
    b = dr.n
    logx = zoom_root(f, np.full(b, t), np.full(b, LOG_X_LO), np.full(b, LOG_X_HI))
    ends_d = f(np.column_stack([np.full(b, LOG_X_LO), np.full(b, LOG_X_HI)]))
    never = np.isnan(logx) & (t <= np.minimum(ends_d[:, 0], ends_d[:, 1]))
    xd = np.where(never, np.inf, np.exp(logx))
    out.interval = interval(xd, level)
    out.unreachable_fraction = float(np.mean(never))
    out.interval_source, out.n_draws = dr.source, dr.n
    return out
