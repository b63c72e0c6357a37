"""Parameter uncertainty: the point bootstrap and the Gauss-Newton covariance.

Bootstrap (Efron 1979; as Besiroglu et al. 2024 do for Chinchilla with 4,000 resamples): resample
the points with replacement, refit, and read standard errors, percentile intervals and covariance
off the draws. Every resample is one row of a single batched solve, its resampling counts acting
as per-row weights, started from the point optimum. A law whose rows come in units
(`resampling_units`: a joint law's outputs of one run) has whole units drawn, so the rows of a run
stay together (the cluster bootstrap).

Without a bootstrap, the covariance comes from the Gauss-Newton approximation on the objective's
residuals (log residuals; residuals of y itself under ls_linear):
Cov(θ) ≈ s² (JᵀWJ)⁻¹ with s² = Σ w r² / (n − p), mapped to natural units by the delta method.
Its (Wald) intervals and draws live on the scale the solver searches: log(value) for a log-scale
parameter, mapped back with exp, so that a positive parameter's interval stays positive (and is
asymmetric, as its likelihood is) instead of a symmetric one reaching below zero; every interval
is clipped to the parameter's bounds.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from statistics import NormalDist

import numpy as np
import torch
from numpy.typing import NDArray

from scalinglab.errors import ScalingLabError
from scalinglab.fitting.model import FittableLaw
from scalinglab.fitting.objectives import make_objective, residual_jacobian, residuals
from scalinglab.fitting.solver import SolveResult, minimize_batched
from scalinglab.types import FloatArray

Tensor = torch.Tensor
# fit.polish's signature: (law, free, starts, (x, y, weights), (lower, upper), max_iter, ftol)
Refit = Callable[..., SolveResult]
BOOTSTRAP_MAX_ITER = 200
# Five times the 4,000 resamples of Besiroglu et al. (2024). Every resample is a row of one batched
# solve, so memory grows with resamples x points (10,000 x 400 points: 1.2 GB); a typo's 10^9
# would exhaust the machine.
MAX_BOOTSTRAP = 20_000
Z95 = NormalDist().inv_cdf(0.975)  # 1.96: the two-sided 95% interval's normal quantile
# Level of the parameter intervals `ci_` by default: that of the prediction intervals and of every
# interval the command line prints (--level), so that one fit reports one level.
DEFAULT_CI_LEVEL = 0.9


def check_bootstrap(n_bootstrap: int, random_state: int | None) -> None:
    """Fail in one line on a resample count or a seed that the bootstrap cannot use."""
    if not (isinstance(n_bootstrap, int | np.integer) and 0 <= n_bootstrap <= MAX_BOOTSTRAP):
        raise ScalingLabError(
            f"the number of bootstrap resamples must be an integer from 0 to {MAX_BOOTSTRAP:,}, "
            f"got {n_bootstrap}"
        )
    if random_state is not None and not (
        isinstance(random_state, int | np.integer) and random_state >= 0
    ):
        raise ScalingLabError(f"the seed must be an integer >= 0, got {random_state}")


def _full_from_free(law: FittableLaw, free: Sequence[str], theta: Tensor) -> FloatArray:
    """Natural-unit draws of every parameter (b, len(param_names)) from free solver coords."""
    with torch.no_grad():
        p = law.expand(theta, free)
    return np.column_stack([p[n].reshape(-1).numpy() for n in law.param_names]).astype(float)


def bootstrap(
    law: FittableLaw,
    free: Sequence[str],
    theta: Tensor,
    x: Tensor,
    y: Tensor,
    w: Tensor,
    lower: Tensor,
    upper: Tensor,
    refit: Refit | None = None,
) -> tuple[FloatArray, int]:
    """(draws (n_bootstrap, len(param_names)), number of refits that did not converge).

    `refit` solves the resamples (fit.polish, the preconditioned solver, passed in because
    fit.py imports this module); without it, the plain batched L-BFGS."""
    rng = np.random.default_rng(law.random_state)
    units = law.resampling_units(x.numpy())
    if units is None:
        units = np.arange(y.shape[0])
    n = int(units.max()) + 1
    counts = np.stack(
        [np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(law.n_bootstrap)]
    )[:, units]
    weights = torch.as_tensor(counts, dtype=torch.float64) * w[None, :]
    theta0 = theta[None, :].repeat(law.n_bootstrap, 1)
    # Resamples start at the optimum and need a few dozen steps; the cap stops a rare straggler
    # from costing more than all the others together (it is counted as not converged).
    max_iter = min(law.max_iter, BOOTSTRAP_MAX_ITER)
    ftol = max(law.tol, 1e-8)
    if refit is not None:
        res = refit(law, tuple(free), theta0, (x, y, weights), (lower, upper), max_iter, ftol)
    else:
        fun = make_objective(law, free, x, y, weights)
        res = minimize_batched(fun, theta0, lower, upper, max_iter=max_iter, ftol=ftol)
    draws = _full_from_free(law, free, res.theta)
    draws[~torch.isfinite(res.fun).numpy()] = np.nan
    return draws, int((~res.converged).sum())


def gauss_newton_covariance(
    law: FittableLaw, free: Sequence[str], theta: Tensor, x: Tensor, y: Tensor, w: Tensor
) -> FloatArray | None:
    """Covariance (natural units, all parameters) from the Jacobian of the objective's residuals
    (log residuals; y itself under ls_linear)."""
    p_free = len(free)
    n = y.shape[0]
    if p_free == 0 or n <= p_free:
        return None
    r_rows, J_rows = residual_jacobian(residuals(law, free, x, y), theta[None, :])
    r, J = r_rows[0], J_rows[0]
    JtWJ = (J.T * w) @ J
    s2 = float((w * r * r).sum()) / (float(w.sum()) - p_free)
    try:
        cov_free = torch.linalg.inv(JtWJ).numpy() * s2
    except RuntimeError:
        return None
    if not np.all(np.isfinite(cov_free)):
        return None
    # Delta method to natural units: d value / d theta = value for log-scale parameters.
    scale = np.array(
        [math.exp(float(theta[j])) if law.param(nm).log else 1.0 for j, nm in enumerate(free)]
    )
    cov_free = cov_free * np.outer(scale, scale)
    names = law.param_names
    index = {nm: j for j, nm in enumerate(free)}
    tied = dict(law.tied or {})
    cov = np.zeros((len(names), len(names)))
    for a, na in enumerate(names):
        ia = index.get(tied.get(na, na))
        for b, nb in enumerate(names):
            ib = index.get(tied.get(nb, nb))
            if ia is not None and ib is not None:
                cov[a, b] = cov_free[ia, ib]
    return cov


def _on_log_scale(law: FittableLaw) -> NDArray[np.bool_]:
    """Per parameter: searched as log(value) by the solver (and positive, so it has a log)."""
    return np.array([law.param(n).log and law.params_[n] > 0 for n in law.param_names])


def wald_summary(
    law: FittableLaw, cov: FloatArray | None, level: float = DEFAULT_CI_LEVEL
) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """Standard errors (natural units) and `level` Wald intervals from a covariance (NaN when
    there is none). A log-scale parameter's interval is value·exp(±z·se/value): z·se_log either
    side of log(value), where se_log = se/value is the delta method undone."""
    z = NormalDist().inv_cdf((1 + level) / 2)
    log = _on_log_scale(law)
    stderr, ci = {}, {}
    for j, name in enumerate(law.param_names):
        se = math.sqrt(cov[j, j]) if cov is not None and cov[j, j] >= 0 else math.nan
        value = law.params_[name]
        stderr[name] = se
        if log[j]:
            log_value, half = math.log(value), z * se / value
            lo, hi = _exp(log_value - half), _exp(log_value + half)
        else:
            lo, hi = value - z * se, value + z * se
        lower, upper = law.param_bounds(name)
        if lower <= value <= upper:  # a value fixed outside the bounds keeps its own interval
            lo, hi = max(lo, lower), min(hi, upper)
        ci[name] = (lo, hi) if math.isfinite(se) else (math.nan, math.nan)
    return stderr, ci


def draw_quantile(draws: FloatArray, q: float) -> FloatArray:
    """The q-quantile of the draws (draws, n) at each of the n points, NaN draws left out. Where
    it falls between two infinite draws, the draw itself (±inf), not the NaN that interpolating
    inf − inf gives: a band that is unbounded says so; NaN where every draw is NaN."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "All-NaN slice": the NaN says it
        out = np.asarray(np.nanquantile(draws, q, axis=0), dtype=float)
        if np.any(np.isnan(out)):
            nearest = np.nanquantile(draws, q, axis=0, method="nearest")
            out = np.where(np.isnan(out), nearest, out)
    return out


def covariance_draws(law: FittableLaw, n: int, seed: int = 0) -> FloatArray | None:
    """Parameter samples when there are no bootstrap draws: normal around the optimum on the
    solver's scale (log for log-scale parameters, mapped back with exp), from covariance_.
    None without a usable covariance: none, not finite on the solver's scale (a log-scale
    parameter ~1e-200 squares past float range), or one the SVD cannot factor."""
    if law.covariance_ is None:
        return None
    value = np.array([law.params_[k] for k in law.param_names])
    log = _on_log_scale(law)
    scale = np.where(log, value, 1.0)  # d value / d log(value) = value
    center = np.where(log, np.log(scale), value)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        cov = np.asarray(law.covariance_) / np.outer(scale, scale)
    if not np.all(np.isfinite(cov)):
        return None
    rng = np.random.default_rng(seed)
    try:
        draws = rng.multivariate_normal(center, cov, size=n, check_valid="ignore")
    except np.linalg.LinAlgError:
        return None
    with np.errstate(over="ignore"):  # a huge log-scale variance: inf, not a warning
        draws[:, log] = np.exp(draws[:, log])
    return draws


def _exp(value: float) -> float:
    """exp, inf beyond float range (a log-scale interval of a loosely determined parameter)."""
    return math.exp(value) if value < 709.0 else math.inf
