"""Backtests of learning-curve laws at the extrapolation distance a user asks for.

A law is judged the way Alabdulmohsin, Neyshabur & Zhai (2022, arXiv:2209.06640, Sec. 4) judge
learning-curve estimators: fit it on the smaller part of a curve and score its prediction of the
larger part. Here the backtests extrapolate as far as the user does. With the target at
`horizon` = ln(x_target / x_max) beyond the largest observed x, the cuts are placed so that each
backtest's held-out part reaches `horizon` beyond its own last training point:

    cut_j = x_max · e^(−horizon − j·spacing),  j = 0, 1, ...,  spacing = horizon / 2,

each keeping at least MIN_TRAIN_POINTS distinct x values (when the curve is too short for that,
the cut keeps that many and the backtest reaches less far; `reach` records how far it did). Every
candidate with fewer free parameters than a cut's distinct x values is fitted at that cut, all in
one batched solve (scalinglab.fitting.subsets); replicates (seeds of one shard) count once, so a
law is never backtested where it could interpolate the shard means exactly. The log
prediction of every held-out point is kept, so scores and calibration can read the error at any
distance up to the horizon.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from scalinglab.errors import ScalingLabError
from scalinglab.fitting.subsets import SubsetFit, fit_subsets
from scalinglab.laws.base import FloatArray, ScalingLaw, get_law

MIN_TRAIN_POINTS = 4  # a backtest fits on at least this many distinct x values
EXTRA_POINTS = 1  # a law is fitted at a cut only with >= (its free parameters + this) x values
MAX_CUTS = 4  # backtests per curve
BACKTEST_START_BUDGET = 16  # start points of each backtest fit (the law's grid, thinned)
FULL_START_BUDGET = 64  # start points of a candidate's fit on every point (rule "ic" reads it)
BACKTEST_OPTIONS: Mapping[str, Any] = {"max_iter": 200, "tol": 1e-9}
DEFAULT_HORIZON_FRACTION = 1 / 3  # no target given: extrapolate a third of the observed log range


@dataclass(frozen=True)
class Candidate:
    """A law to consider: a label, the registered law name and its constructor options."""

    label: str
    law: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def make(self, **overrides: Any) -> ScalingLaw:
        return get_law(self.law)(**{**dict(self.options), **overrides})

    def n_free(self) -> int:
        return len(self.make().free_params())


def candidate(label: str) -> Candidate:
    """A candidate from a label: a law name, or "bnslK" for BNSL with K breaks."""
    if label.startswith("bnsl") and label[4:].isdigit():
        return Candidate(label, "bnsl", {"n_breaks": int(label[4:])})
    get_law(label)  # raises a ScalingLabError naming the known laws
    return Candidate(label, label)


def default_horizon(x: FloatArray) -> float:
    """ln-distance to extrapolate when the user names no target: a third of the log range."""
    lx = np.log(np.asarray(x, dtype=float))
    return float(DEFAULT_HORIZON_FRACTION * (lx.max() - lx.min()))


def cut_points(x: FloatArray, horizon: float, n_cuts: int = MAX_CUTS) -> list[int]:
    """Numbers of training points (x ascending) at each cut, distinct and decreasing.

    The first cut keeps the points with ln x ≤ ln x_max − horizon (so its backtest reaches the
    horizon), the next ones step back by horizon/2; every cut keeps at least MIN_TRAIN_POINTS
    distinct x values and holds out at least one. Tied x values (seeds of one shard) are never
    split between the two parts, and they count once: a replicate measures the noise, not the
    shape of the curve, so it adds no degree of freedom to an extrapolation.
    """
    xs = np.sort(np.asarray(x, dtype=float).reshape(-1))
    values, counts = np.unique(xs, return_counts=True)
    if values.size < MIN_TRAIN_POINTS + 1:
        return []
    if not (math.isfinite(horizon) and horizon > 0):
        raise ScalingLabError(f"the extrapolation horizon must be > 0, got {horizon}")
    lv = np.log(values)
    points_below = np.cumsum(counts)  # points with x <= values[m - 1], at index m - 1
    spacing = horizon / 2
    out: list[int] = []
    for j in range(n_cuts):
        edge = lv[-1] - horizon - j * spacing
        m = int(np.searchsorted(lv, edge + 1e-12 * max(1.0, abs(edge)), side="right"))
        m = min(max(m, MIN_TRAIN_POINTS), values.size - 1)  # distinct x values kept
        k = int(points_below[m - 1])
        if k not in out:
            out.append(k)
    return sorted(out, reverse=True)


@dataclass
class CandidateBacktest:
    """One candidate over the cuts of one curve: log predictions of each cut's held-out points
    (NaN where the candidate could not be fitted at that cut) and each cut fit's residual scale."""

    label: str
    n_free: int
    log_pred: list[FloatArray]
    noise: list[float]

    @property
    def eligible(self) -> bool:
        """Fitted at every cut, with finite predictions."""
        return bool(self.log_pred) and all(np.all(np.isfinite(p)) for p in self.log_pred)


@dataclass
class CurveBacktests:
    """Every candidate's backtests on one curve (x ascending)."""

    x: FloatArray
    y: FloatArray
    horizon: float
    cuts: list[int]
    candidates: dict[str, CandidateBacktest]
    full: dict[str, SubsetFit | None] = field(default_factory=dict)  # fits on every point
    full_noise: dict[str, float] = field(default_factory=dict)  # their residual_scale
    # The curve's group (a study's curves per model size, the other curves of a grouped fit):
    # each other curve's candidates' ΔIC, which RuleConfig.pooling adds to this curve's criteria
    # (`rule.pooled`). Empty: a curve on its own.
    group: list[dict[str, float]] = field(default_factory=list)

    def held_out(self, j: int) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(x, log y, ln-distance beyond the cut) of the points held out at cut j."""
        k = self.cuts[j]
        x_h = self.x[k:]
        return x_h, np.log(self.y[k:]), np.log(x_h / self.x[k - 1])

    def only_cuts(self, keep: Sequence[int]) -> CurveBacktests:
        """The same backtests with only the cuts of index `keep` (in that order)."""
        return replace(
            self,
            cuts=[self.cuts[j] for j in keep],
            candidates={
                k: replace(
                    cb,
                    log_pred=[cb.log_pred[j] for j in keep],
                    noise=[cb.noise[j] for j in keep],
                )
                for k, cb in self.candidates.items()
            },
        )

    @property
    def reach(self) -> float:
        """How far the backtests extrapolate: the largest held-out distance used, ≤ horizon."""
        if not self.cuts:
            return math.nan
        d = max(float(self.held_out(j)[2].max()) for j in range(len(self.cuts)))
        return min(d, self.horizon)


def residual_scale(log_pred: FloatArray, log_y: FloatArray, n_free: int) -> float:
    """Root mean square of log residuals with n − p degrees of freedom."""
    r = log_y - log_pred
    return float(np.sqrt(np.sum(r * r) / max(r.size - n_free, 1)))


def log_prediction(law: ScalingLaw, fit: SubsetFit, X: FloatArray) -> FloatArray:
    """ln ŷ of `law` at a fit's parameters, at every row of X."""
    law.params_ = dict(fit.params)
    with np.errstate(all="ignore"):
        return np.asarray(np.log(law.predict(X)), dtype=float)


def backtest_curve(
    x: FloatArray,
    y: FloatArray,
    candidates: Sequence[Candidate],
    *,
    horizon: float | None = None,
    n_cuts: int = MAX_CUTS,
    options: Mapping[str, Any] = BACKTEST_OPTIONS,
    start_budget: int = BACKTEST_START_BUDGET,
    full_start_budget: int | None = None,
) -> CurveBacktests:
    """Fit every candidate at every cut of the curve (x, y) and predict the held-out points.

    With `full_start_budget`, each candidate is also fitted on every point in the same batched
    solve, from that many starts (`CurveBacktests.full`).
    """
    xs = np.asarray(x, dtype=float).reshape(-1)
    ys = np.asarray(y, dtype=float).reshape(-1)
    order = np.argsort(xs, kind="stable")
    xs, ys = xs[order], ys[order]
    h = default_horizon(xs) if horizon is None else float(horizon)
    cuts = cut_points(xs, h, n_cuts)
    # degrees of freedom come from distinct x values: with seeds at each shard, a cut of
    # 2 shards × 2 seeds would otherwise "fit" a three-parameter law it cannot identify
    distinct = {k: np.unique(xs[:k]).size for k in cuts}
    X = xs[:, None]
    results: dict[str, CandidateBacktest] = {}
    full: dict[str, SubsetFit | None] = {}
    full_noise: dict[str, float] = {}
    for cand in candidates:
        n_free = cand.n_free()
        usable = [k for k in cuts if distinct[k] >= n_free + EXTRA_POINTS]
        sizes = [*usable, xs.size] if full_start_budget is not None else usable
        budgets = [start_budget] * len(usable)
        if full_start_budget is not None:
            budgets.append(full_start_budget)
        fits = (
            fit_subsets(
                cand.make(**options),
                X,
                ys,
                [np.arange(xs.size) < k for k in sizes],
                budgets,
            )
            if sizes and xs.size >= n_free
            else [None] * len(sizes)
        )
        by_cut = dict(zip(usable, fits, strict=False))
        law = cand.make(**options)
        log_pred: list[FloatArray] = []
        noise: list[float] = []
        for k in cuts:
            fit = by_cut.get(k)
            if fit is None:
                log_pred.append(np.full(xs.size - k, np.nan))
                noise.append(math.nan)
                continue
            lp = log_prediction(law, fit, X)
            log_pred.append(lp[k:])
            noise.append(residual_scale(lp[:k], np.log(ys[:k]), n_free))
        results[cand.label] = CandidateBacktest(cand.label, n_free, log_pred, noise)
        if full_start_budget is not None:
            full[cand.label] = fit = fits[-1]
            full_noise[cand.label] = (
                math.nan
                if fit is None
                else residual_scale(log_prediction(law, fit, X), np.log(ys), n_free)
            )
    return CurveBacktests(xs, ys, h, cuts, results, full, full_noise)
