"""Inference-aware planning (Sardana & Frankle 2023, "Beyond Chinchilla-Optimal: Accounting for
Inference in Language Model Scaling Laws", arXiv:2401.00448, Sec. 2).

A model that will serve D_inf tokens costs 2·N FLOPs per inference token on top of its training.
For a target loss ℓ, find the model size and training tokens that minimise lifetime compute:

    minimise  C_train(N, D_tr) + 2·N·D_inf   subject to  L(N, D_tr) = ℓ,

with C_train = 6·N·D_tr by default. For Chinchilla the constraint gives the training tokens in
closed form, D_tr(N) = (B / (ℓ − E − A·N^−α))^(1/β), defined for N > N_min = (A/(ℓ − E))^(1/α);
the lifetime cost is then minimised over log N. With D_inf = 0 this is the Chinchilla optimum for
loss ℓ; as D_inf grows the optimal model shrinks and trains on more tokens.

The target is either given (`target_loss`) or the loss of the Chinchilla-optimal run of a budget
(`compute`): "the quality of a 1e22-FLOP Chinchilla model, but cheaper to serve".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from scalinglab.errors import ScalingLabError
from scalinglab.laws.base import FloatArray, ScalingLaw
from scalinglab.planning._checks import check_level
from scalinglab.planning._results import interval
from scalinglab.planning._zoom import zoom_minimize, zoom_root
from scalinglab.planning.allocation import compute_optimal
from scalinglab.planning.flops import INFERENCE_FLOPS_PER_PARAM_TOKEN, FlopModel, check_budget
from scalinglab.planning.inverse import compute_for_loss
from scalinglab.planning.surface import LossSurface, law_draws, point_row
from scalinglab.types import JsonRecord

_LOG_D_LO, _LOG_D_HI = math.log(1.0), math.log(1e40)
_SPAN = 60.0  # search log N over (log N_min, log N_min + 60)


@dataclass
class InferencePlan(JsonRecord):
    """The lifetime-compute-optimal model for a target loss and an inference demand."""

    target_loss: float
    inference_tokens: float
    n_opt: float
    d_train: float
    tokens_per_param: float
    train_flops: float
    inference_flops: float
    total_flops: float
    n_chinchilla: float
    d_chinchilla: float
    total_flops_chinchilla: float
    savings: float  # 1 − total / total of the Chinchilla-optimal model for the same loss
    law: str
    flop_model: str
    level: float = 0.9
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    interval_source: str = "none"
    n_draws: int = 0


def _train_tokens(
    surface: LossSurface, theta: FloatArray, n: FloatArray, target: float
) -> FloatArray:
    """D_tr with L(N, D_tr) = target for each (row, N) in n (b, m); NaN where unreachable."""
    if surface.closed_form:
        col = surface.column
        E, A, B = col(theta, "E"), col(theta, "A"), col(theta, "B")
        alpha, beta = col(theta, "alpha"), col(theta, "beta")
        with np.errstate(all="ignore"):
            gap = target - E - A * n**-alpha
            d = (B / gap) ** (1.0 / beta)
        return np.where(gap > 0, d, np.nan)
    b, m = n.shape
    rows = np.repeat(theta, m, axis=0)
    flat_n = n.reshape(-1, 1)

    def f(logd: FloatArray) -> FloatArray:
        return surface.loss(rows, np.broadcast_to(flat_n, logd.shape), np.exp(logd))

    k = rows.shape[0]
    logd = zoom_root(f, np.full(k, target), np.full(k, _LOG_D_LO), np.full(k, _LOG_D_HI))
    return np.exp(logd).reshape(b, m)


def _min_params(surface: LossSurface, theta: FloatArray, target: float) -> FloatArray:
    """log N_min per row: below it no amount of training data reaches the target."""
    if surface.closed_form:
        col = surface.column
        E, A, alpha = col(theta, "E")[:, 0], col(theta, "A")[:, 0], col(theta, "alpha")[:, 0]
        with np.errstate(all="ignore"):
            return np.where(target > E, np.log(A / (target - E)) / alpha, np.nan)
    b = theta.shape[0]

    def f(logn: FloatArray) -> FloatArray:
        return surface.loss(theta, np.exp(logn), np.full(logn.shape, 1e40))

    return zoom_root(f, np.full(b, target), np.full(b, 0.0), np.full(b, math.log(1e40)))


def _plan_rows(
    surface: LossSurface,
    theta: FloatArray,
    target: float,
    inference_tokens: float,
    flops: FlopModel,
    k_inf: float,
) -> tuple[FloatArray, FloatArray]:
    """(N, D_train) per row minimising training + inference FLOPs at loss `target`."""
    lo = _min_params(surface, theta, target)
    ok = np.isfinite(lo)
    lo = np.where(ok, lo, 0.0)

    def log_total(u: FloatArray) -> FloatArray:
        n = np.exp(u)
        d = _train_tokens(surface, theta, n, target)
        with np.errstate(all="ignore"):
            return np.log(flops.compute(n, d) + k_inf * n * inference_tokens)

    # Start just above N_min (where D_train → ∞) and search 60 nats up.
    u, _, interior = zoom_minimize(log_total, lo + 1e-9, lo + _SPAN)
    n = np.exp(u)
    d = _train_tokens(surface, theta, n[:, None], target)[:, 0]
    good = ok & interior
    return np.where(good, n, np.nan), np.where(good, d, np.nan)


def inference_optimal(
    law: ScalingLaw,
    inference_tokens: float,
    target_loss: float | None = None,
    compute: float | None = None,
    flops: FlopModel | None = None,
    inference_flops_per_token: float = INFERENCE_FLOPS_PER_PARAM_TOKEN,
    level: float = 0.9,
    draws: bool = True,
) -> InferencePlan:
    """Model size and training tokens minimising training + inference compute at a target loss.

    Give `target_loss`, or `compute` to target the loss of that budget's Chinchilla-optimal run.
    """
    flops = flops or FlopModel()
    check_level(level)
    d_inf = float(inference_tokens)
    if not math.isfinite(d_inf) or d_inf < 0:
        raise ScalingLabError(f"inference tokens must be a number >= 0, got {inference_tokens}")
    if not inference_flops_per_token > 0:
        raise ScalingLabError("inference FLOPs per parameter per token must be > 0")
    if (target_loss is None) == (compute is None):
        raise ScalingLabError("give either a target loss or a compute budget (not both)")
    if compute is not None:
        target = compute_optimal(law, float(check_budget(compute)[0]), flops, draws=False).loss
    else:
        target = float(target_loss)  # type: ignore[arg-type]
    surface = LossSurface(law)
    # The Chinchilla-optimal model for this loss also validates the target (below E → error).
    ref = compute_for_loss(law, target, flops, draws=False)
    theta = point_row(law)
    n, d = _plan_rows(surface, theta, target, d_inf, flops, inference_flops_per_token)
    if not np.isfinite(n[0]):
        raise ScalingLabError(f"found no model size that reaches loss {target:g} with this fit")
    train = float(flops.compute(n[0], d[0]))
    inf = inference_flops_per_token * float(n[0]) * d_inf
    ref_total = ref.compute + inference_flops_per_token * ref.n_opt * d_inf
    out = InferencePlan(
        target_loss=target,
        inference_tokens=d_inf,
        n_opt=float(n[0]),
        d_train=float(d[0]),
        tokens_per_param=float(d[0] / n[0]),
        train_flops=train,
        inference_flops=inf,
        total_flops=train + inf,
        n_chinchilla=ref.n_opt,
        d_chinchilla=ref.d_opt,
        total_flops_chinchilla=ref_total,
        savings=1.0 - (train + inf) / ref_total,
        law=law.name,
        flop_model=flops.describe(),
        level=level,
    )
    dr = law_draws(law, draws and surface.closed_form)
    if dr.theta is not None:
        nd, dd = _plan_rows(surface, dr.theta, target, d_inf, flops, inference_flops_per_token)
        out.intervals = {
            "n_opt": interval(nd, level),
            "d_train": interval(dd, level),
            "total_flops": interval(
                flops.compute(nd, dd) + inference_flops_per_token * nd * d_inf, level
            ),
        }
        out.interval_source, out.n_draws = dr.source, dr.n
    return out
