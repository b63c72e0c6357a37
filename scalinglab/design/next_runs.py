"""Design the next runs: the candidate runs that most reduce the expected error of the law's
prediction at the target per unit of cost.

Laws are never exact, so the criterion is a model-robust one (Box & Draper 1959, "A basis for
the selection of a response surface design": bias and variance together). Around the fit θ̂ the
law is linear in its solver coordinates (log of a positive scale parameter, the value itself
otherwise): f(x; θ) ≈ f(x; θ̂) + j(x)ᵀ(θ − θ̂), f on the objective's scale (log ŷ for the log
objectives, ŷ for ls_linear). The outcome of a run is y = f(x; θ*) + δ(x) + ε: δ the law's misfit,
a Gaussian process (variance τ², length ℓ in standardised log inputs; Kennedy & O'Hagan 2001),
ε noise of variance σ², both chosen by the marginal likelihood of the fit's residuals. The law
refitted (least squares with a weak ridge prior Λ) on a set S of runs predicts a target t with
weights h = J_S A⁻¹ g_t, A = J_SᵀJ_S + σ²Λ, so its expected squared error is

    MSE_t(S) = hᵀ (K_SS + σ²I) h − 2 hᵀ K_St + K_tt,

variance and misfit bias together: far-off runs pin the parameters but carry misfit that does not
hold at the target; runs near the target share its misfit, and the refitted law absorbs it.
Adding a candidate c changes A, J_SᵀK̃J_S and J_SᵀK_St by rank-one terms, so MSE(S ∪ {c}) is
computed for every candidate at once. Runs are chosen greedily by the drop of the mean MSE over
the target rows per unit cost; as Krause & Guestrin (2005) do for budgeted choice, the same
greedy without the division by cost runs too and the better end point is kept. Without the runs
done (a fit file alone), the fit's covariance stands for A and there is no misfit term.

With the runs done, candidates are kept to the region of interest (Box & Draper's remedy for a
misfitting model: design inside the region one predicts, not beyond it; `within_shape_range`): a
run whose shape is more extreme than every target's and every run done's — farther from the line
that scales the runs done up to the targets, e.g. a large model trained on a few tokens when
nothing done or wanted is that undertrained — extrapolates the law sideways. The linearised
criterion rates such runs highly (they pin the parameters cheaply), but the misfit model cannot
know the law fails there until runs there are done.

Li et al. (2026, "Spend Less, Fit Better") show that choosing scaling-law runs aimed at the
prediction at the target gets close to a full grid's accuracy with a fraction of its cost.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
import pandas as pd
import torch

from scalinglab.errors import ScalingLabError
from scalinglab.fitting.objectives import LOG_OBJECTIVES, residual_jacobian, residuals
from scalinglab.laws.base import ScalingLaw
from scalinglab.types import FloatArray, JsonRecord

# s² never below this: a fit through every point (s ≈ 0) would call each new run worthless.
MIN_RESIDUAL_SD = 1e-3


@dataclass(frozen=True)
class DesignStep:
    """One chosen run: its row in the candidate table and what it is expected to do."""

    row: int  # position in the candidate table
    cost: float
    cumulative_cost: float
    # the target's expected `level` interval width after this run: relative (log objectives) or
    # in units of y (ls_linear), mean over the target rows
    width_after: float
    error_cut: float  # share of the target's expected squared error the runs so far remove
    informs: str  # the parameter whose variance this run shrinks most (relatively)


@dataclass(frozen=True)
class Design(JsonRecord):
    """The chosen runs in order, and the target's expected interval before any of them."""

    steps: list[DesignStep]
    width_before: float
    level: float
    residual_sd: float
    parameters: list[str] = field(default_factory=list)

    def table(self, candidates: pd.DataFrame) -> pd.DataFrame:
        """The chosen rows of `candidates`, in order, with the design's columns added."""
        rows = candidates.iloc[[s.row for s in self.steps]].reset_index(drop=True).copy()
        rows.insert(0, "rank", np.arange(1, len(self.steps) + 1))
        rows["cost"] = [s.cost for s in self.steps]
        rows["cumulative_cost"] = [s.cumulative_cost for s in self.steps]
        rows["target_width_after"] = [s.width_after for s in self.steps]
        rows["error_cut"] = [s.error_cut for s in self.steps]
        rows["informs"] = [s.informs for s in self.steps]
        return rows


def solver_point(law: ScalingLaw) -> tuple[tuple[str, ...], torch.Tensor]:
    """The fitted law's free parameters and their values in solver coordinates (float64)."""
    law.check_fitted()
    free = law.free_params()
    values = [law.to_solver(n, law.params_[n]) for n in free]
    if not all(math.isfinite(v) for v in values):
        raise ScalingLabError(
            f"the fit of {law.name!r} has a non-finite or zero parameter; refit before designing"
        )
    return free, torch.tensor(values, dtype=torch.float64)


def prediction_jacobian(
    law: ScalingLaw,
    X: FloatArray,
    free: tuple[str, ...],
    theta: torch.Tensor,
    source: str = "the given runs",
) -> tuple[FloatArray, FloatArray]:
    """(f (n,), J (n, p)): the prediction on the objective's scale and its gradient in solver
    coordinates at theta, at each row of X (the data rows of `source`, which errors name)."""
    x = torch.tensor(law.check_X(X), dtype=torch.float64)
    # With y = 1 (log y = 0) the residual is the prediction itself, on the objective's scale.
    ones = torch.ones(x.shape[0], dtype=torch.float64)
    f, J = residual_jacobian(residuals(law, free, x, ones), theta[None, :])
    f_np, J_np = f[0].numpy().astype(float), J[0].numpy().astype(float)
    if not (np.all(np.isfinite(f_np)) and np.all(np.isfinite(J_np))):
        bad = int(np.flatnonzero(~np.isfinite(f_np) | ~np.isfinite(J_np).all(axis=1))[0])
        raise ScalingLabError(
            f"the law's prediction (or its gradient) is not finite at data row {bad + 1} of "
            f"{source}; check that its inputs lie where the law is defined"
        )
    return f_np, J_np


def check_defined(law: ScalingLaw, X: FloatArray, source: str) -> None:
    """Fail, naming the data row (1-based) of `source`, where the fitted law's prediction or
    its gradient is not finite. For callers that go on to use only some of the rows: the
    design's own check counts rows of what it is given."""
    free, theta = solver_point(law)
    prediction_jacobian(law, X, free, theta, source)


def check_outcomes(
    objective: str, y: FloatArray, column: str = "y", source: str = "the runs done"
) -> FloatArray:
    """The runs done's outcomes as floats: finite, and > 0 under a log objective (the design
    takes their log); else one line naming the column and the data row (1-based)."""
    arr = np.asarray(y, dtype=float).reshape(-1)
    finite = np.isfinite(arr)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise ScalingLabError(
            f"column {column!r} of {source} holds {arr[row]:g} at data row {row + 1}; every run "
            "done needs a finite value: drop or fix that run"
        )
    if objective in LOG_OBJECTIVES and np.any(arr <= 0):
        row = int(np.flatnonzero(arr <= 0)[0])
        raise ScalingLabError(
            f"column {column!r} of {source} must be > 0: objective {objective!r} fits log(y) "
            f"(objective 'ls_linear' fits y itself, of any sign), but data row {row + 1} holds "
            f"{arr[row]:g}; drop or fix that run"
        )
    return arr


def prior_precision(law: ScalingLaw, free: tuple[str, ...], theta: torch.Tensor) -> FloatArray:
    """Λ: a weak independent prior per solver coordinate — sd max(1, |θ|) (a factor e for a
    log-scale parameter), no wider than half its bounds' span."""
    sd = []
    for j, name in enumerate(free):
        lo, hi = law.param_bounds(name)
        if law.param(name).log:
            lo = math.log(lo) if lo > 0 else -math.inf
            hi = math.log(hi) if math.isfinite(hi) else math.inf
        s = max(1.0, abs(float(theta[j])))
        if math.isfinite(lo) and math.isfinite(hi):
            s = min(s, max((hi - lo) / 2, 1e-6))
        sd.append(s)
    return np.diag(1.0 / np.square(sd))


@dataclass(frozen=True)
class Discrepancy:
    """The law's misfit as a smooth function of the inputs: a Gaussian process with variance
    tau2 and length scale ell (in standardised log inputs), plus independent noise noise2
    (Kennedy & O'Hagan 2001). Chosen by the marginal likelihood of the fit's residuals."""

    tau2: float
    ell: float
    noise2: float


DISCREPANCY_ELLS = (0.25, 0.5, 1.0, 2.0, 4.0)
DISCREPANCY_SHARES = (0.0, 0.25, 0.5, 0.75, 0.9)


def standardised_inputs(X: FloatArray, reference: FloatArray) -> FloatArray:
    """Inputs as log (where every reference value is positive), centred and scaled by the
    reference rows' spread: the space the discrepancy's distances are measured in."""
    positive = np.all(reference > 0, axis=0)

    def transform(a: FloatArray) -> FloatArray:
        return np.where(positive, np.log(np.where(a > 0, a, 1.0)), a)

    ref = transform(reference)
    scale = np.where(ref.std(axis=0) > 0, ref.std(axis=0), 1.0)
    return (transform(X) - ref.mean(axis=0)) / scale


def _sq_dist(a: FloatArray, b: FloatArray) -> FloatArray:
    return np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1)


def fit_discrepancy(residual: FloatArray, Z: FloatArray, n_free: int) -> Discrepancy:
    """The (share, ell) of the grid with the largest Gaussian marginal likelihood of the
    residuals, their variance (n − p degrees of freedom) split between the smooth misfit and
    noise; noise never below MIN_RESIDUAL_SD²."""
    n = len(residual)
    total = max(float(residual @ residual) / max(n - n_free, 1), MIN_RESIDUAL_SD**2)
    d2 = _sq_dist(Z, Z)
    best, best_ll = Discrepancy(0.0, 1.0, total), -math.inf
    for share in DISCREPANCY_SHARES:
        for ell in DISCREPANCY_ELLS if share > 0 else (1.0,):
            tau2, noise2 = share * total, max((1 - share) * total, MIN_RESIDUAL_SD**2)
            K = tau2 * np.exp(-d2 / (2 * ell**2)) + noise2 * np.eye(n)
            try:
                L = np.linalg.cholesky(K)
            except np.linalg.LinAlgError:
                continue
            alpha = np.linalg.solve(L, residual)
            ll = -0.5 * float(alpha @ alpha) - float(np.log(np.diag(L)).sum())
            if ll > best_ll:
                best, best_ll = Discrepancy(tau2, ell, noise2), ll
    return best


LOCAL_NOISE_BANDWIDTH = 0.5  # standardised log-input units
LOCAL_NOISE_PRIOR_WEIGHT = 1.0  # the overall noise counts as this many runs


def local_noise(
    residual: FloatArray, Z_done: FloatArray, Z: FloatArray, noise2: float
) -> FloatArray:
    """Noise variance at each row of Z: the squared residuals of the runs done nearby
    (Gaussian kernel weights, bandwidth LOCAL_NOISE_BANDWIDTH), shrunk towards the overall noise
    variance, which counts as LOCAL_NOISE_PRIOR_WEIGHT runs. Where the law misfits badly (a
    region of runs it does not describe: e.g. Chinchilla's law on models trained on fewer
    tokens than parameters), a new run there tells little, and the design looks elsewhere."""
    w = np.exp(-_sq_dist(Z, Z_done) / (2 * LOCAL_NOISE_BANDWIDTH**2))
    local = (w @ (residual**2) + LOCAL_NOISE_PRIOR_WEIGHT * noise2) / (
        w.sum(axis=1) + LOCAL_NOISE_PRIOR_WEIGHT
    )
    return np.maximum(local, noise2)


def ladder(
    Z_from: FloatArray, Z_to: FloatArray
) -> Callable[[FloatArray], tuple[FloatArray, FloatArray]]:
    """Coordinates of points (standardised units) against the line through the centroids of
    Z_from (e.g. the runs done) and Z_to (the targets): (along the line, distance from it). The
    distance is how far a run's shape is from the scaled-down target's."""
    start, end = Z_from.mean(axis=0), Z_to.mean(axis=0)
    direction = (end - start) / max(float(np.linalg.norm(end - start)), 1e-12)

    def coordinates(Z: FloatArray) -> tuple[FloatArray, FloatArray]:
        along = (Z - start) @ direction
        across = np.linalg.norm(Z - start - along[:, None] * direction, axis=1)
        return along, across

    return coordinates


def within_shape_range(
    X_done: FloatArray, X_candidates: FloatArray, X_target: FloatArray
) -> np.ndarray:
    """(k,) bool: the candidates no farther from the done→target line (`ladder`, standardised
    log inputs) than the farthest target or run done: inside the range of shapes the study has
    or wants (see the module doc)."""
    Z = standardised_inputs(np.vstack([X_done, X_candidates, X_target]), X_done)
    n_d, k = len(X_done), len(X_candidates)
    Z_d, Z_c, Z_t = Z[:n_d], Z[n_d : n_d + k], Z[n_d + k :]
    on_ladder = ladder(Z_d, Z_t)
    limit = max(float(on_ladder(Z_d)[1].max()), float(on_ladder(Z_t)[1].max()))
    return on_ladder(Z_c)[1] <= limit * (1 + 1e-9) + 1e-12


@dataclass
class DesignState:
    """What a greedy design tracks (p parameters, k candidates, m targets), all on the
    objective's scale: A = J_SᵀJ_S + σ²Λ, M = J_Sᵀ(K_SS + σ²I)J_S, V = J_SᵀK_St, U = J_SᵀK_SC;
    the candidates' and targets' gradients; and the misfit kernel among candidates and targets."""

    A: FloatArray  # (p, p)
    M: FloatArray  # (p, p)
    V: FloatArray  # (p, m)
    U: FloatArray  # (p, k)
    J_c: FloatArray  # (k, p)
    G: FloatArray  # (p, m)
    K_cc: FloatArray  # (k, k) misfit covariance among candidates
    K_ct: FloatArray  # (k, m)
    K_tt: FloatArray  # (m,) misfit variance at each target
    noise_c: FloatArray  # (k,) noise variance of each candidate's outcome
    noise2: float  # the residuals' overall noise variance
    parameters: tuple[str, ...]
    # (m,) noise variance of a value measured at each target (None: noise2 at every target)
    noise_t: FloatArray | None = None

    def mse(self) -> float:
        """Mean expected squared error over the targets of the law fitted on the runs so far."""
        W = np.linalg.solve(self.A, self.G)
        per_t = np.einsum("pm,pq,qm->m", W, self.M, W) - 2 * np.einsum("pm,pm->m", W, self.V)
        return float(np.mean(per_t + self.K_tt))

    def measurement_noise(self) -> float:
        """Mean noise variance of one value measured at the targets."""
        return self.noise2 if self.noise_t is None else float(np.mean(self.noise_t))

    def measured_mse(self) -> float:
        """Mean expected squared error over the targets of the law's prediction against a
        value *measured* there: mse() plus the noise of one measurement (y = f + δ + ε, with ε
        independent of the runs done; Montgomery's confirmation-run interval)."""
        return self.mse() + self.measurement_noise()

    def mse_with_each(self) -> FloatArray:
        """(k,): the mean MSE after adding each candidate alone."""
        A_inv = np.linalg.inv(self.A)
        a = self.J_c @ A_inv  # (k, p): A⁻¹ j_c per candidate
        W = A_inv @ self.G  # (p, m)
        denom = 1 + np.einsum("kp,kp->k", a, self.J_c)
        beta = (a @ self.G) / denom[:, None]  # (k, m)
        W_c = W[None] - a[:, :, None] * beta[:, None, :]  # (k, p, m)
        kt = np.diag(self.K_cc) + self.noise_c  # (k,)
        u = self.U.T  # (k, p)
        jj = self.J_c
        M_c = (
            self.M[None] + u[:, :, None] * jj[:, None, :] + jj[:, :, None] * u[:, None, :]
            + kt[:, None, None] * jj[:, :, None] * jj[:, None, :]
        )  # fmt: skip
        V_c = self.V[None] + jj[:, :, None] * self.K_ct[:, None, :]  # (k, p, m)
        quad = np.einsum("kpm,kpq,kqm->km", W_c, M_c, W_c)
        cross = np.einsum("kpm,kpm->km", W_c, V_c)
        return np.mean(quad - 2 * cross + self.K_tt[None], axis=1)

    def parameter_variances(self) -> FloatArray:
        return np.diag(np.linalg.inv(self.A))

    def add(self, c: int) -> None:
        """Run candidate c: the rank-one updates of A, M, V and U."""
        j = self.J_c[c]
        u = self.U[:, c].copy()
        kt = self.K_cc[c, c] + self.noise_c[c]
        self.A = self.A + np.outer(j, j)
        self.M = self.M + np.outer(u, j) + np.outer(j, u) + kt * np.outer(j, j)
        self.V = self.V + np.outer(j, self.K_ct[c])
        self.U = self.U + np.outer(j, self.K_cc[c])


def _kernel(disc: Discrepancy, Za: FloatArray, Zb: FloatArray) -> FloatArray:
    if disc.tau2 <= 0:
        return np.zeros((len(Za), len(Zb)))
    return disc.tau2 * np.exp(-_sq_dist(Za, Zb) / (2 * disc.ell**2))


def state_from_runs(
    law: ScalingLaw,
    X_done: FloatArray,
    y_done: FloatArray,
    X_candidates: FloatArray,
    X_target: FloatArray,
) -> tuple[DesignState, Discrepancy]:
    """The design state given the runs done, with the misfit fitted to their residuals."""
    free, theta = solver_point(law)
    y_done = check_outcomes(law.objective, y_done)
    f_d, J_d = prediction_jacobian(law, X_done, free, theta, "the runs done")
    _, J_c = prediction_jacobian(law, X_candidates, free, theta, "the candidates")
    _, J_t = prediction_jacobian(law, X_target, free, theta, "the targets")
    observed = np.log(y_done) if law.objective in LOG_OBJECTIVES else y_done
    Z = standardised_inputs(np.vstack([X_done, X_candidates, X_target]), X_done)
    n_d, k = len(X_done), len(X_candidates)
    Z_d, Z_c, Z_t = Z[:n_d], Z[n_d : n_d + k], Z[n_d + k :]
    residual = observed - f_d
    disc = fit_discrepancy(residual, Z_d, len(free))
    noise_d = local_noise(residual, Z_d, Z_d, disc.noise2)
    # The misfit's sd grows with the distance from the line that scales the runs done up to
    # the target: a law fitted along that line is least sure of runs of another shape.
    on_ladder = ladder(Z_d, Z_t)
    s_d, s_c, s_t = (np.sqrt(1 + on_ladder(Z)[1] ** 2) for Z in (Z_d, Z_c, Z_t))

    def kernel(a: FloatArray, sa: FloatArray, b: FloatArray, sb: FloatArray) -> FloatArray:
        return _kernel(disc, a, b) * np.outer(sa, sb)

    K_dd = kernel(Z_d, s_d, Z_d, s_d) + np.diag(noise_d)
    state = DesignState(
        A=J_d.T @ J_d + disc.noise2 * prior_precision(law, free, theta),
        M=J_d.T @ K_dd @ J_d,
        V=J_d.T @ kernel(Z_d, s_d, Z_t, s_t),
        U=J_d.T @ kernel(Z_d, s_d, Z_c, s_c),
        J_c=J_c, G=J_t.T,
        K_cc=kernel(Z_c, s_c, Z_c, s_c), K_ct=kernel(Z_c, s_c, Z_t, s_t),
        K_tt=disc.tau2 * s_t**2,
        noise_c=local_noise(residual, Z_d, Z_c, disc.noise2), noise2=disc.noise2,
        parameters=free, noise_t=local_noise(residual, Z_d, Z_t, disc.noise2),
    )  # fmt: skip
    return state, disc


def state_from_fit(law: ScalingLaw, X_candidates: FloatArray, X_target: FloatArray) -> DesignState:
    """From a fit file alone: A = σ²Σθ⁻¹ from the fit's covariance and residual sd; no misfit
    term (nothing says where the law misfits)."""
    free, theta = solver_point(law)
    cov = law.covariance_
    s = getattr(law, "residual_sd_", math.nan)
    if cov is None or not np.all(np.isfinite(cov)) or not math.isfinite(s):
        raise ScalingLabError(
            "this fit file has no covariance or residual sd to design from; pass the runs it "
            "was fitted on (--runs TABLE)"
        )
    noise2 = max(s, MIN_RESIDUAL_SD) ** 2
    index = [law.param_names.index(n) for n in free]
    # d θ_solver / d value = 1 / value for a log-scale parameter
    scale = np.array([1.0 / law.params_[n] if law.param(n).log else 1.0 for n in free])
    sigma_theta = np.asarray(cov, dtype=float)[np.ix_(index, index)] * np.outer(scale, scale)
    info = _symmetric_inverse(sigma_theta) * noise2  # JᵀJ of the runs the fit saw
    _, J_c = prediction_jacobian(law, X_candidates, free, theta, "the candidates")
    _, J_t = prediction_jacobian(law, X_target, free, theta, "the targets")
    k, m, p = len(X_candidates), len(X_target), len(free)
    return DesignState(
        A=info + noise2 * prior_precision(law, free, theta), M=noise2 * info,
        V=np.zeros((p, m)), U=np.zeros((p, k)), J_c=J_c, G=J_t.T,
        K_cc=np.zeros((k, k)), K_ct=np.zeros((k, m)), K_tt=np.zeros(m),
        noise_c=np.full(k, noise2), noise2=noise2, parameters=free,
    )  # fmt: skip


def _symmetric_inverse(a: FloatArray) -> FloatArray:
    out = np.linalg.pinv(0.5 * (a + a.T), hermitian=True)
    return 0.5 * (out + out.T)


def _greedy(
    state: DesignState, cost: FloatArray, n: int, budget: float, per_cost: bool
) -> tuple[list[int], list[float], list[int]]:
    """(rows chosen, mean target MSE after each, the parameter each pins most)."""
    state = copy.deepcopy(state)
    before = state.mse()
    chosen: list[int] = []
    after: list[float] = []
    informs: list[int] = []
    spent = 0.0
    free = np.ones(len(cost), dtype=bool)
    while len(chosen) < n:
        affordable = free & (spent + cost <= budget * (1 + 1e-9))
        if not affordable.any():
            break
        drop = before - state.mse_with_each()
        if not np.any(affordable & (drop > 0)):
            break  # every run left would make the fitted law's prediction worse
        score = drop / cost if per_cost else drop
        c = int(np.argmax(np.where(affordable & (drop > 0), score, -np.inf)))
        var_before = state.parameter_variances()
        state.add(c)
        informs.append(int(np.argmax(1 - state.parameter_variances() / var_before)))
        before = state.mse()
        chosen.append(c)
        after.append(before)
        free[c] = False
        spent += float(cost[c])
    return chosen, after, informs


def greedy_design(
    law: ScalingLaw,
    state: DesignState,
    cost: FloatArray,
    *,
    n: int | None = None,
    budget: float | None = None,
    level: float = 0.9,
    per_cost_only: bool = False,
) -> Design:
    """Choose up to `n` candidate runs (as many as fit in `budget` when n is None), one at a
    time, each the largest drop of the targets' expected squared error per unit cost given those
    chosen before it (with a budget, also without the division by cost, and the better is kept,
    unless `per_cost_only`)."""
    cost = np.asarray(cost, dtype=float)
    if len(cost) != len(state.J_c):
        raise ScalingLabError("give one cost per candidate run")
    if not np.all(np.isfinite(cost)) or np.any(cost <= 0):
        raise ScalingLabError("every candidate's cost must be a finite number > 0")
    if n is None and budget is None:
        raise ScalingLabError("give a number of runs, a budget, or both")
    limit = len(cost) if n is None else min(n, len(cost))
    cap = math.inf if budget is None else budget
    passes = [_greedy(state, cost, limit, cap, per_cost) for per_cost in (True, False)]
    if budget is None or per_cost_only:  # cost enters through the ratio only
        passes = passes[:1]
    chosen, after, informs = min(passes, key=lambda p: p[1][-1] if p[1] else math.inf)
    z = NormalDist().inv_cdf((1 + level) / 2)
    log_scale = law.objective in LOG_OBJECTIVES

    def width(mse: float) -> float:
        sd = math.sqrt(max(mse, 0.0))
        return math.exp(z * sd) - math.exp(-z * sd) if log_scale else 2 * z * sd

    before = state.mse()
    steps, spent = [], 0.0
    for c, mse_after, j in zip(chosen, after, informs, strict=True):
        spent += float(cost[c])
        steps.append(
            DesignStep(
                row=c, cost=float(cost[c]), cumulative_cost=spent, width_after=width(mse_after),
                error_cut=1 - mse_after / before if before > 0 else 0.0,
                informs=state.parameters[j],
            )
        )  # fmt: skip
    return Design(
        steps=steps, width_before=width(before), level=level,
        residual_sd=math.sqrt(state.noise2), parameters=list(state.parameters),
    )  # fmt: skip
