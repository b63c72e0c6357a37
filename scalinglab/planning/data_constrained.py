"""Data-constrained planning (Muennighoff et al. 2023, "Scaling Data-Constrained Language
Models", arXiv:2305.16264, Sec. 3, eqs. 5–7).

With only U unique tokens, training on D > U tokens repeats data for D/U epochs, and repeated
tokens are worth less than fresh ones. The effective data and parameters are

    D′ = U + U·R*_D·(1 − e^(−R_D/R*_D)),   R_D = D/U − 1   (epochs beyond the first)
    N′ = U_N + U_N·R*_N·(1 − e^(−R_N/R*_N)), R_N = N/U_N − 1, U_N = min(N, N_opt(U)),

and the loss is the Chinchilla law on (N′, D′). Muennighoff's fit: R*_D = 15.39, R*_N = 5.31, so
four epochs (R_D = 3) are worth 3.73·U fresh tokens, and returns vanish after ~R*_D epochs.

`data_constrained_optimal` minimises that loss over N along the budget C = k·N·D with U fixed,
and compares with the unconstrained (all-fresh-data) Chinchilla optimum at the same budget: the
difference is the loss lost to repetition. It takes a `data_constrained` fit, or a `chinchilla`
fit plus R*_D, R*_N (by default Muennighoff's published values).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from scalinglab.errors import ScalingLabError
from scalinglab.laws.base import FloatArray, ScalingLaw
from scalinglab.laws.data_constrained import R_D_STAR, R_N_STAR
from scalinglab.planning.allocation import compute_optimal
from scalinglab.planning.flops import FlopModel, check_budget
from scalinglab.planning.surface import law_draws
from scalinglab.types import JsonRecord

CHINCHILLA_PARAMS = ("E", "A", "B", "alpha", "beta")


def effective_tokens(
    tokens: ArrayLike, unique_tokens: ArrayLike, r_star: float = R_D_STAR
) -> FloatArray:
    """D′ = U + U·R*_D·(1 − e^(−R_D/R*_D)) with R_D = max(D/U − 1, 0) (Muennighoff 2023, eq. 5).

    effective_tokens(4·U, U) = 3.73·U with R*_D = 15.39.
    """
    d = np.asarray(tokens, dtype=float)
    u = np.minimum(np.asarray(unique_tokens, dtype=float), d)
    repeats = d / u - 1.0
    return np.asarray(u + u * r_star * (1.0 - np.exp(-repeats / r_star)), dtype=float)


def effective_params(
    params: ArrayLike, unique_params: ArrayLike, r_star: float = R_N_STAR
) -> FloatArray:
    """N′ = U_N + U_N·R*_N·(1 − e^(−R_N/R*_N)), R_N = N/U_N − 1, U_N = min(N, unique_params)
    (Muennighoff 2023, eq. 6): parameters beyond what the unique data supports are discounted."""
    n = np.asarray(params, dtype=float)
    u = np.minimum(np.asarray(unique_params, dtype=float), n)
    repeats = n / u - 1.0
    return np.asarray(u + u * r_star * (1.0 - np.exp(-repeats / r_star)), dtype=float)


@dataclass
class DataConstrainedPlan(JsonRecord):
    """The best model size and epoch count for a budget with U unique tokens."""

    compute: float
    unique_tokens: float
    n_opt: float
    d_opt: float
    epochs: float
    effective_tokens: float
    effective_params: float
    loss: float
    n_opt_unconstrained: float
    d_opt_unconstrained: float
    loss_unconstrained: float
    loss_lost_to_repetition: float
    r_d_star: float
    r_n_star: float
    r_source: str
    law: str
    note: str = ""
    level: float = 0.9
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    interval_source: str = "none"
    n_draws: int = 0


def _as_data_constrained(
    law: ScalingLaw, r_d_star: float | None, r_n_star: float | None
) -> tuple[ScalingLaw, ScalingLaw, str]:
    """(data_constrained law, its Chinchilla base, where R* came from)."""
    law.check_fitted()
    if law.name == "data_constrained":
        if r_d_star is not None or r_n_star is not None:
            raise ScalingLabError(
                "this data_constrained fit has its own R*_D and R*_N; do not pass them again"
            )
        params = dict(law.params_)
        source = "fit"
        draws = law_draws(law).theta
    elif law.name == "chinchilla":
        rd = R_D_STAR if r_d_star is None else float(r_d_star)
        rn = R_N_STAR if r_n_star is None else float(r_n_star)
        for name, value in (("R*_D", rd), ("R*_N", rn)):
            if not math.isfinite(value) or value <= 0:
                raise ScalingLabError(f"{name} must be a positive number, got {value:g}")
        params = {**law.params_, "R_D_star": rd, "R_N_star": rn}
        given = r_d_star is not None or r_n_star is not None
        source = "given" if given else "Muennighoff 2023 (R*_D = 15.39, R*_N = 5.31)"
        boot = law_draws(law).theta
        draws = (
            None
            if boot is None
            else np.column_stack([boot, np.full(len(boot), rd), np.full(len(boot), rn)])
        )
    else:
        raise ScalingLabError(
            f"data-constrained planning (unique_tokens) needs a chinchilla or data_constrained "
            f"fit; the fit holds {law.name!r}"
        )
    # The fit's draws (bootstrap, else covariance samples) travel as the plan law's draws.
    dc = ScalingLaw.from_dict({"law": "data_constrained", "params": params})
    dc.bootstrap_params_ = draws
    base = ScalingLaw.from_dict(
        {"law": "chinchilla", "params": {k: params[k] for k in CHINCHILLA_PARAMS}}
    )
    base.bootstrap_params_ = None if draws is None else np.asarray(draws)[:, :5]
    return dc, base, source


def data_constrained_optimal(
    law: ScalingLaw,
    compute: float,
    unique_tokens: float,
    flops: FlopModel | None = None,
    level: float = 0.9,
    r_d_star: float | None = None,
    r_n_star: float | None = None,
    draws: bool = True,
) -> DataConstrainedPlan:
    """Optimal N, tokens and epochs for `compute` FLOPs with `unique_tokens` of unique data."""
    flops = flops or FlopModel()
    c = float(check_budget(compute)[0])
    u = float(unique_tokens)
    if not (math.isfinite(u) and u > 0):
        raise ScalingLabError(f"the number of unique tokens must be > 0, got {u:g}")
    dc, base, source = _as_data_constrained(law, r_d_star, r_n_star)
    plan = compute_optimal(dc, c, flops, level, known={"unique_tokens": u}, draws=draws)
    free = compute_optimal(base, c, flops, level, draws=False)
    p = dc.params_
    # U_N: the compute-optimal size for U tokens (αA·N^−α = βB·U^−β), as in the law.
    # in logs: U far beyond the fit's range (1e308 tokens) overflows to inf, not an error
    log_n_for_u = (
        math.log(p["alpha"] * p["A"] / (p["beta"] * p["B"])) + p["beta"] * math.log(u)
    ) / p["alpha"]
    with np.errstate(over="ignore"):
        n_for_u = float(np.exp(log_n_for_u))
    out = DataConstrainedPlan(
        compute=c,
        unique_tokens=u,
        n_opt=plan.n_opt,
        d_opt=plan.d_opt,
        epochs=plan.d_opt / u,
        effective_tokens=float(effective_tokens(plan.d_opt, u, p["R_D_star"])),
        effective_params=float(effective_params(plan.n_opt, n_for_u, p["R_N_star"])),
        loss=plan.loss,
        n_opt_unconstrained=free.n_opt,
        d_opt_unconstrained=free.d_opt,
        loss_unconstrained=free.loss,
        loss_lost_to_repetition=plan.loss - free.loss,
        r_d_star=p["R_D_star"],
        r_n_star=p["R_N_star"],
        r_source=source,
        law=law.name,
        level=level,
    )
    if out.epochs - 1 > out.r_d_star:
        out.note = (
            f"{out.epochs:.3g} epochs is past R*_D = {out.r_d_star:.3g} repeats, where repeated "
            "tokens are worth almost nothing: this budget exceeds what the unique data supports; "
            "more unique data or a smaller budget is the better plan"
        )
    if plan.intervals:
        out.intervals = dict(plan.intervals)
        lo, hi = plan.intervals["d_opt"]
        out.intervals["epochs"] = (lo / u, hi / u)
        out.interval_source, out.n_draws = law_draws(law).source, plan.n_draws
    return out
