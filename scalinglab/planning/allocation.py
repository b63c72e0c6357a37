"""Compute-optimal allocation: the model size and token count that minimise loss for a budget.

Hoffmann et al. (2022, "Training Compute-Optimal Large Language Models", arXiv:2203.15556,
eq. 4 and Appendix D.2): minimise L(N, D) subject to C = FLOPs(N, D). For the Chinchilla law
L = E + A/N^α + B/D^β with C = k·N·D (k = 6 by default) the optimum is in closed form:

    N_opt(C) = G·(C/k)^a,   D_opt(C) = G⁻¹·(C/k)^b,
    G = (αA / (βB))^(1/(α+β)),   a = β/(α+β),   b = α/(α+β).

For any other law of N and D (kaplan_nd, data_constrained with U held fixed, a user's law) or a
non-linear FLOP model, the optimum is found numerically: loss along the budget's curve
D = D(C, N) is minimised over log N, for the point estimate and for every parameter draw at once.

Intervals: N_opt, D_opt and tokens per parameter are quantiles of each draw's own optimum (from the
fit's bootstrap draws, else samples from its covariance); the loss interval is the spread of the
predicted loss at the planned (N_opt, D_opt), i.e. what training that model may actually give.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from scalinglab.errors import ScalingLabError
from scalinglab.laws.base import FloatArray, ScalingLaw
from scalinglab.planning._checks import check_level
from scalinglab.planning._results import interval, row_intervals, spread
from scalinglab.planning._zoom import zoom_minimize
from scalinglab.planning.flops import FlopModel, check_budget
from scalinglab.planning.surface import LossSurface, law_draws, point_row
from scalinglab.types import JsonRecord

NUMERIC_MAX_DRAWS = 1000  # draws used by the numeric (non-closed-form) path


@dataclass
class Allocation(JsonRecord):
    """The compute-optimal plan for one budget, with intervals from the parameter draws."""

    compute: float
    n_opt: float
    d_opt: float
    tokens_per_param: float
    loss: float
    law: str
    flop_model: str
    method: str  # "closed form" or "numeric"
    level: float = 0.9
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    interval_source: str = "none"
    n_draws: int = 0


@dataclass
class AllocationExponents(JsonRecord):
    """N_opt ∝ C^a and D_opt ∝ C^b, with their spread over the parameter draws.

    `n_coef`, `d_coef`: N_opt ≈ n_coef·C^a and D_opt ≈ d_coef·C^b (C in FLOPs). For the
    closed form these hold at every budget; numerically they are the local tangent at `compute`.
    """

    a: float
    b: float
    n_coef: float
    d_coef: float
    law: str
    method: str
    compute: float | None = None
    level: float = 0.9
    a_stderr: float = math.nan
    b_stderr: float = math.nan
    a_interval: tuple[float, float] = (math.nan, math.nan)
    b_interval: tuple[float, float] = (math.nan, math.nan)
    interval_source: str = "none"
    n_draws: int = 0


# ------------------------------------------------------------------------------------------------
# Row-wise optimum (shared with inverse, projection, data-constrained planning)
# ------------------------------------------------------------------------------------------------
def chinchilla_rows(
    surface: LossSurface, theta: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per row: (G, a, b) of the closed form N_opt = G·(C/k)^a, D_opt = (C/k)^b / G."""
    alpha = surface.column(theta, "alpha")[:, 0]
    beta = surface.column(theta, "beta")[:, 0]
    A = surface.column(theta, "A")[:, 0]
    B = surface.column(theta, "B")[:, 0]
    with np.errstate(all="ignore"):
        G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
        return G, beta / (alpha + beta), alpha / (alpha + beta)


def optimal_rows(
    surface: LossSurface,
    theta: FloatArray,
    compute: FloatArray,
    flops: FlopModel,
    xtol: float = 1e-10,
) -> tuple[FloatArray, FloatArray, FloatArray, np.ndarray]:
    """Row i's optimum for budget compute[i]: (N_opt, D_opt, loss, interior).

    `xtol` is the numeric path's tolerance on log N (the loss is flat at the optimum, so 1e-6
    already gives the optimal loss to ~1e-12).
    """
    c = np.asarray(compute, dtype=float)
    if surface.closed_form and flops.linear:
        G, a, _ = chinchilla_rows(surface, theta)
        with np.errstate(all="ignore"):
            cc = c / flops.k
            n = G * cc**a
            d = cc / n
        loss = surface.loss(theta, n[:, None], d[:, None])[:, 0]
        ok = np.isfinite(n) & np.isfinite(d) & (n > 0) & (d > 0) & np.isfinite(loss)
        return n, d, loss, ok
    # Numeric: minimise loss over u = log N on [log 1, log N(D = 1 token)].
    hi = np.log(flops.params(c, np.ones_like(c)))
    lo = np.zeros_like(hi)
    if np.any(hi <= lo):
        raise ScalingLabError(
            f"a budget of {float(c[hi <= lo][0]):g} FLOPs cannot train even one parameter on one "
            f"token under {flops.describe()}"
        )

    def along_budget(u: FloatArray) -> FloatArray:
        n = np.exp(u)
        d = flops.tokens(np.broadcast_to(c[:, None], u.shape), n)
        return surface.loss(theta, n, d)

    u, loss, interior = zoom_minimize(along_budget, lo, hi, xtol=xtol)
    n = np.exp(u)
    d = flops.tokens(c, n)
    return n, d, loss, interior


def _no_optimum(law: ScalingLaw, compute: float) -> ScalingLabError:
    return ScalingLabError(
        f"this {law.name} fit has no compute-optimal model size at {compute:g} FLOPs: its loss "
        "keeps falling toward the edge of the search (1 parameter or 1 token); check the fitted "
        "exponents"
    )


# ------------------------------------------------------------------------------------------------
# Public API
# ------------------------------------------------------------------------------------------------
def compute_optimal(
    law: ScalingLaw,
    compute: float,
    flops: FlopModel | None = None,
    level: float = 0.9,
    known: Mapping[str, float] | None = None,
    draws: bool = True,
) -> Allocation:
    """N_opt, D_opt, tokens per parameter and loss for a budget of `compute` FLOPs.

    `known` holds other variables of the law fixed (e.g. {"unique_tokens": U}). `draws=False`
    skips the intervals.
    """
    flops = flops or FlopModel()
    check_level(level)
    c = float(check_budget(compute)[0])
    surface = LossSurface(law, known)
    closed = surface.closed_form and flops.linear
    n, d, loss, ok = optimal_rows(surface, point_row(law), np.array([c]), flops)
    if not ok[0]:
        raise _no_optimum(law, c)
    alloc = Allocation(
        compute=c,
        n_opt=float(n[0]),
        d_opt=float(d[0]),
        tokens_per_param=float(d[0] / n[0]),
        loss=float(loss[0]),
        law=law.name,
        flop_model=flops.describe(),
        method="closed form" if closed else "numeric",
        level=level,
    )
    dr = law_draws(law, draws, None if closed else NUMERIC_MAX_DRAWS)
    if dr.theta is None:
        return alloc
    nd, dd, _, okd = optimal_rows(surface, dr.theta, np.full(dr.n, c), flops)
    nd, dd = np.where(okd, nd, np.nan), np.where(okd, dd, np.nan)
    at_plan = surface.loss(dr.theta, np.full((dr.n, 1), n[0]), np.full((dr.n, 1), d[0]))[:, 0]
    alloc.intervals = {
        "n_opt": interval(nd, level),
        "d_opt": interval(dd, level),
        "tokens_per_param": interval(dd / nd, level),
        "loss": interval(at_plan, level),
    }
    alloc.interval_source = dr.source
    alloc.n_draws = dr.n
    return alloc


def allocation_exponents(
    law: ScalingLaw,
    compute: float | None = None,
    flops: FlopModel | None = None,
    level: float = 0.9,
    known: Mapping[str, float] | None = None,
    draws: bool = True,
) -> AllocationExponents:
    """a and b in N_opt ∝ C^a, D_opt ∝ C^b (Hoffmann 2022, Table 2).

    Chinchilla with C = k·N·D: a = β/(α+β), b = α/(α+β) exactly, for every budget. Otherwise the
    local exponents d log N_opt / d log C at `compute` (default 1e21 FLOPs), by central
    differences over a factor e^±0.25 of the budget.
    """
    flops = flops or FlopModel()
    check_level(level)
    surface = LossSurface(law, known)
    closed = surface.closed_form and flops.linear
    k = flops.k

    def rows(theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        if closed:
            G, a, b = chinchilla_rows(surface, theta)
            return a, b, G * k**-a, k**-b / G
        c0 = float(check_budget(1e21 if compute is None else compute)[0])
        h = 0.25
        m = theta.shape[0]
        cs = np.concatenate([np.full(m, c0 * math.exp(-h)), np.full(m, c0 * math.exp(h))])
        n, d, _, ok = optimal_rows(surface, np.vstack([theta, theta]), cs, flops)
        n, d = np.where(ok, n, np.nan), np.where(ok, d, np.nan)
        a = (np.log(n[m:]) - np.log(n[:m])) / (2 * h)
        b = (np.log(d[m:]) - np.log(d[:m])) / (2 * h)
        n0, d0 = np.sqrt(n[:m] * n[m:]), np.sqrt(d[:m] * d[m:])
        return a, b, n0 / c0**a, d0 / c0**b

    a, b, nc, dc = rows(point_row(law))
    if not (np.isfinite(a[0]) and np.isfinite(b[0])):
        raise _no_optimum(law, 1e21 if compute is None else compute)
    out = AllocationExponents(
        a=float(a[0]),
        b=float(b[0]),
        n_coef=float(nc[0]),
        d_coef=float(dc[0]),
        law=law.name,
        method="closed form" if closed else "numeric (local)",
        compute=None if closed else float(1e21 if compute is None else compute),
        level=level,
    )
    dr = law_draws(law, draws, None if closed else NUMERIC_MAX_DRAWS)
    if dr.theta is not None:
        ad, bd, _, _ = rows(dr.theta)
        out.a_stderr, out.b_stderr = spread(ad), spread(bd)
        out.a_interval, out.b_interval = interval(ad, level), interval(bd, level)
        out.interval_source, out.n_draws = dr.source, dr.n
    return out


def allocation_frontier(
    law: ScalingLaw,
    computes: ArrayLike | Sequence[float],
    flops: FlopModel | None = None,
    level: float = 0.9,
    known: Mapping[str, float] | None = None,
    draws: bool = True,
) -> pd.DataFrame:
    """Plot-ready N_opt(C), D_opt(C), loss(C) over many budgets, with interval columns
    (`*_lo`, `*_hi`) when the fit has draws."""
    flops = flops or FlopModel()
    check_level(level)
    cs = check_budget(computes)
    surface = LossSurface(law, known)
    closed = surface.closed_form and flops.linear
    theta = point_row(law)
    n, d, loss, ok = optimal_rows(surface, np.repeat(theta, cs.size, axis=0), cs, flops)
    frame = pd.DataFrame(
        {
            "compute": cs,
            "n_opt": np.where(ok, n, np.nan),
            "d_opt": np.where(ok, d, np.nan),
            "loss": np.where(ok, loss, np.nan),
        }
    )
    dr = law_draws(law, draws, None if closed else 200)
    if dr.theta is not None:
        m = dr.n
        th = np.tile(dr.theta, (cs.size, 1))
        nd, dd, ld, okd = optimal_rows(surface, th, np.repeat(cs, m), flops)
        for name, vals in (("n_opt", nd), ("d_opt", dd), ("loss", ld)):
            v = np.where(okd, vals, np.nan).reshape(cs.size, m)
            frame[f"{name}_lo"], frame[f"{name}_hi"] = row_intervals(v, level)
    return frame
