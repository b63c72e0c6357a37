"""The `auto` rule: weigh candidate laws by their backtests at the asked horizon, predict with the
weighted mean of their log predictions, and calibrate the interval on the same backtests.

Every knob is a field of `RuleConfig`; `benchmarks/tune_auto.py` chooses them
leave-one-source-out on the development corpus (scalinglab.selection.corpus), and `DEFAULT_RULE`
holds the choice made on all sources (README, "How auto predicts").

1. **Score** (scalinglab.selection.backtest gives the backtests). At each cut a candidate's error
   is |log y − log ŷ| at the held-out point farthest within the horizon (`score="far"`: what a
   user extrapolates to is that far; the mean over its seeds when that shard has several), or
   the RMSE of log error over the held-out points within
   the horizon (`score="rmse"`, Alabdulmohsin et al. 2022's score). A candidate's score is the
   geometric mean over cuts; a candidate not fitted at every cut is not eligible.
2. **Weigh**. `combine="best"`: the lowest score takes all the weight; `"simplest"`: among the
   scores within 10% of the lowest, the fewest free parameters; `"average"`: weights
   w_i ∝ (s_best / s_i)^(1/temperature) (Bayesian model averaging with a pseudo-likelihood,
   cf. stacking; temperature → 0 is "best", large temperature an equal average); `"stack"`:
   the weights on the simplex whose weighted log prediction best fits the backtests' held-out
   points (stacking, Breiman 1996; see `stack_weights`), with a ridge toward `prior`: a fixed
   mixture of the laws learned on the development corpus (`mixture_prior`; empirical Bayes:
   the corpus says which laws usually predict well, the curve's backtests say how this one
   differs), or equal weights when `prior` is empty; `"ic"`: the information criterion of each
   candidate's fit on every point (`criterion`: AIC, Akaike 1974, its small-sample correction
   AICc, Hurvich & Tsai 1989, or BIC, Schwarz 1978, on the log residuals: n·ln(RSS/n) + 2k,
   + 2k + 2k(k+1)/(n−k−1) or + k·ln n), weights w_i ∝ exp(−ΔIC_i / (2·temperature))
   (Akaike weights, Burnham & Anderson 2002; temperature 0 keeps the lowest). The backtests
   then serve the interval only: at each cut the rule is applied to that cut's fits.
3. **Predict**: log ŷ(x) = Σ w_i log ŷ_i(x), each ŷ_i the candidate fitted on all points.
4. **Calibrate** (split conformal prediction, Vovk et al. 2005, with the cut as the unit). At
   each cut the weighted prediction's held-out errors within the horizon, divided by
   σ·g(d) — σ the weighted residual scale of that cut's fits, g(d) = (max(d, reach/4)/reach)^growth
   the expected growth of the error with the distance d beyond the last training point — are
   that cut's scores; q is the conformal quantile across cuts of each cut's `level`-quantile (the
   largest with fewer than 9 cuts), or their geometric mean (`pool="geomean"`), or the geometric
   mean of each cut's z·RMS (`pool="rms"`: the scores read as Gaussian errors). The interval is
   ŷ·exp(± scale·q·σ·g(d)), σ the full fits' weighted residual scale and d the query's distance
   beyond the data (`units="log"`: σ = 1 throughout, plain split conformal scores;
   `sigma_offset` τ: σ + τ in place of σ throughout). A stack's weights are fitted to the same
   held-out points its scores are read from, so the scores are optimistic for a weakly
   regularised stack; `crossfit=True` scores each cut with the weights stacked on the other cuts
   only (cross-fitting; with one cut, the prior's weights).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import nnls

from scalinglab.errors import ScalingLabError
from scalinglab.fitting.calibration import NOISE_FLOOR, UNITS, Calibration, growth_factor
from scalinglab.laws.base import FloatArray
from scalinglab.selection.backtest import EXTRA_POINTS, CurveBacktests

# The interval's σ is at most this multiple of the backtests' (`calibrate`). On the development
# corpus 90% of the full fits' σ are within 2.7x their cuts'; a cap of 3 leaves every source's
# coverage as it was and only narrows intervals of curves that broke after the last cut.
NOISE_RATIO_CAP = 3.0
NEAR_TIE = 0.1  # `simplest`: scores within this log distance (~10%) of the best are a tie
# A law's share of the weight at or below this is dropped (`normalised`) and the rest rescaled:
# such a law moves the log prediction by at most 0.5% of its distance from the others', and
# fitting it on its whole start grid was most of auto's time where one law dominates (a lang
# curve: 14.8 s -> 5.0 s). On the development corpus (in-sample) it moved the shipped rule's
# medians by at most 0.8% and no coverage (README, "How auto predicts"). It was 1e-6.
MIN_WEIGHT = 0.005
# The information criteria of combine "ic" (`information_criteria`), by name, as papers write them
CRITERIA = {"aic": "AIC", "aicc": "AICc", "bic": "BIC"}


@dataclass(frozen=True)
class RuleConfig:
    """The knobs of the auto rule (see the module doc)."""

    candidates: tuple[str, ...] = ("m1", "m2", "m3", "m4", "bnsl1", "bnsl2", "power_const")
    n_cuts: int = 3
    score: str = "far"  # "far" | "rmse"
    combine: str = "best"  # "best" | "simplest" | "average" | "stack" | "ic"
    temperature: float = 1.0
    criterion: str = "aic"  # "ic": one of CRITERIA
    ridge: float = 0.0  # "stack": pull of the weights toward the prior
    distance_power: float = 0.0  # "stack": held-out points weigh (d / horizon)^distance_power
    growth: float = 0.0
    scale: float = 1.0
    beyond: float = 0.0  # the interval's extra growth past the backtests' reach
    pool: str = "conformal"  # how the cuts' quantiles are pooled (fitting.calibration.POOLS)
    # "stack": the weights the ridge pulls toward, as (label, weight) pairs; renormalised over
    # the eligible candidates (equal weights when empty or when none of them has a weight).
    prior: tuple[tuple[str, float], ...] = ()
    # "stack": "ic" pulls toward the Akaike weights of the full fits (`criterion`,
    # `temperature`) instead of `prior` (see `stack_toward_ic`).
    toward: str = "prior"
    # "stack": calibrate each cut with the weights stacked on the other cuts only (cross-fitting),
    # so that no held-out point scores weights fitted to it
    crossfit: bool = False
    # The fits on every point whose residual scales the information criteria read: "batched",
    # each candidate from FULL_START_BUDGET starts in the backtests' batched solve; "whole", each
    # fitted on its whole start grid, the fit that predicts (costs a fit per candidate; BNSL's
    # good basin is often missed by the former: docs/auto-tuning-log.md, run E′).
    criteria_fits: str = "batched"
    # The start points of each backtest fit and of the batched full fits: None, the defaults
    # (backtest.BACKTEST_START_BUDGET and FULL_START_BUDGET, the law's grid thinned to 16 and
    # 64 points); a number, both from that many points of each law's grid (4096 or more: every
    # candidate's whole grid, the starts its prediction is fitted from; docs/auto-tuning-log.md).
    backtest_starts: int | None = None
    # The conformal scores' units (`calibrate`): "sigma", the held-out log errors divided by the
    # cut's residual σ and the quantile multiplied back by the full fits' σ; "log", the log errors
    # themselves (plain split conformal scores: the interval does not scale with the curve's noise)
    units: str = "sigma"
    # τ, a floor in log units added to σ in "sigma" units: scores |error| / (σ + τ), the interval
    # scale·q·(σ + τ); in σ units where σ ≫ τ (noisy curves), in log units where σ ≪ τ
    sigma_offset: float = 0.0
    # L, a floor under the interval's σ: at least L times the smallest σ of the cuts' fits (the
    # mirror of NOISE_RATIO_CAP). 0: none; 1: the interval never narrows below the cuts' own scale
    # because the full fit happens to match its points better than the cuts' fits did
    noise_floor_ratio: float = 0.0
    # k, the laws' disagreement in the interval (registered 2026-12-06, docs/auto-tuning-log.md;
    # benchmarks/tune_spread.py): the log half-width is √((scale·q·σ·g)² + (k·s(x))²), s(x) the
    # unweighted standard deviation of the candidates' log predictions at x, their fits kept in
    # the calibration (Draper 1995, model uncertainty). 0: none (the shipped rule)
    model_spread: float = 0.0
    # c, the laws' disagreement as a power that scales the interval (explored 2026-12-07, not
    # shipped: docs/auto-tuning-log.md; benchmarks/tune_spread_level.py): the log half-width is
    # scale·q·σ·g·(s(x)/s₀)^c (scalinglab.fitting.calibration.spread_factor). 0: none
    spread_power: float = 0.0
    # L, long curves (registered 2026-12-07 09:47 with L 11, long_scale 1.7463, and not shipped:
    # out of sample its median on training curves was 1.054x the shipped rule's;
    # docs/auto-tuning-log.md, benchmarks/tune_long_criteria.py): a curve with at least L
    # distinct x values reads its information criteria off the whole-grid fits (criteria_fits
    # "whole", where BNSL finds its basin) and calibrates at `long_scale` — conformal scores
    # taken per class of curve length (Mondrian conformal prediction; Vovk et al. 2005), since
    # the long curves' cut errors speak for a better-fitted prediction. 0: off
    long_curves: int = 0
    long_scale: float = 0.0
    # λ, partial pooling of the information criteria over a curve's group (the other curves of a
    # grouped fit, or a study's curves per model size): each candidate's criterion is its own
    # plus λ times its mean ΔIC over the other curves (`group_evidence`, each capped at
    # `pooling_cap`), so a law that fits the group's curves well gains weight on each of them.
    # 0: each curve on its own. λ = 1 with one other curve is the grouped criterion. Explored
    # leave one source out and not shipped (docs/auto-tuning-log.md, 2026-12-07 20:40;
    # benchmarks/tune_pooling.py): auto_fit never fills a curve's group.
    pooling: float = 0.0
    pooling_cap: float = 40.0
    # The interval's scale on curves of an error rate (top-1 error, word error rate), which the
    # caller knows and auto is told (`auto_fit(error_rate=True)`): conformal calibration per
    # category of curve (Mondrian; Vovk et al. 2005). On the tuning sources such curves need a
    # wider interval than loss curves (benchmarks/tune_error_scale.py). 0: `scale` for both
    error_scale: float = 0.0

    def with_(self, **changes: object) -> RuleConfig:
        return replace(self, **changes)  # type: ignore[arg-type]

    def for_error_rate(self) -> RuleConfig:
        """The knobs for a curve of an error rate: the interval at `error_scale`, when set."""
        return self.with_(scale=self.error_scale) if self.error_scale else self

    def for_curve(self, n_values: int) -> RuleConfig:
        """The knobs that apply to a curve of `n_values` distinct x values (`long_curves`)."""
        if not self.long_curves or n_values < self.long_curves:
            return self
        return self.with_(
            criteria_fits="whole", scale=self.long_scale, long_curves=0, long_scale=0.0
        )

    @property
    def criterion_name(self) -> str:
        """The information criterion as papers write it (CRITERIA): AIC, AICc or BIC."""
        return CRITERIA.get(self.criterion, self.criterion.upper())

    @property
    def uses_spread(self) -> bool:
        """Whether the interval reads the laws' spread (`model_spread` or `spread_power`), so
        that every candidate is fitted on all the points and kept in the calibration."""
        return self.model_spread > 0 or self.spread_power > 0

    @property
    def uses_full_fits(self) -> bool:
        """Whether the rule reads the information criteria of every candidate's full fit."""
        return self.combine == "ic" or (self.combine == "stack" and self.toward == "ic")

    @property
    def key(self) -> str:
        """A short name for tables."""
        t = f"T{self.temperature:g}" if self.combine == "average" else ""
        if self.combine == "ic":
            t = f"{self.criterion}T{self.temperature:g}"
        if self.combine == "stack":
            t = f"R{self.ridge:g}D{self.distance_power:g}" + ("P" if self.prior else "")
            if self.toward == "ic":
                t += f"{self.criterion}T{self.temperature:g}"
        return (
            f"{self.combine}{t}-{self.score}-k{self.n_cuts}-g{self.growth:g}"
            + (f"-b{self.beyond:g}" if self.beyond else "")
            + ("-x" if self.crossfit and self.combine == "stack" else "")
            + ("-w" if self.criteria_fits == "whole" and self.uses_full_fits else "")
            + (f"-st{self.backtest_starts}" if self.backtest_starts else "")
            + {"geomean": "-pg", "rms": "-pr"}.get(self.pool, "")
            + ("-ul" if self.units == "log" else "")
            + (f"-t{self.sigma_offset:g}" if self.sigma_offset and self.units == "sigma" else "")
            + (f"-L{self.noise_floor_ratio:.3g}" if self.noise_floor_ratio else "")
            + (f"-ms{self.model_spread:g}" if self.model_spread else "")
            + (f"-sp{self.spread_power:g}" if self.spread_power else "")
            + f"-s{self.scale:g}"
            + (f"-lc{self.long_curves}w{self.long_scale:g}" if self.long_curves else "")
            + (f"-gp{self.pooling:g}c{self.pooling_cap:g}" if self.pooling else "")
            + (f"-e{self.error_scale:g}" if self.error_scale else "")
            + f"-{'+'.join(self.candidates)}"
        )


# Chosen on the first four sources of the development corpus by `benchmarks/tune_auto.py --sources
# lang,datablations,studies,synthetic --family all --small-ridges --crossfit --widening-only
# --choose nested --pool geomean` (README, "How auto predicts", gives its leave-one-source-out
# scores): Akaike weights of the candidates' fits on every point, the backtests calibrating the
# interval only, their two cuts' quantiles pooled by the geometric mean. Until 2026-12-05 the
# default stacked the laws on their backtests (ridge 0.1 toward equal weights, 2.8 times the
# conformal quantile): the same coverage band out of source, but 2.5 times the worst regret.
# Since 2026-12-07 the interval grows faster past the backtests' reach: its log half-width goes
# as (d/reach)² there, d/reach within it (beyond 1, scale 2.9868 instead of 3.2;
# `benchmarks/tune_beyond.py`, every left-out split's choice on six sources), registered and
# passed on a fresh study set and an image draw made unread for it: far past the reach, where
# datablations' misses were, linear growth had been too slow (docs/auto-tuning-log.md).
# Since 2026-12-07 (later) the conformal scores are the held-out log errors themselves (units
# "log"), not errors divided by the fits' σ, and the interval grows as (d/reach)^1.5 past the
# reach, at scale 2.1226: on training curves, smooth and misfit rather than noisy, σ units
# covered 61-68% of the held-out points. Chosen leave one source out on seven sources (the
# training curves of fresh set 7 the seventh; every left-out source in the band,
# benchmarks/tune_units_seven.py), registered and passed on fresh set 8's per-shard and training
# curves and a tenth image draw (docs/auto-tuning-log.md, 2026-12-07 07:27).
# Since 2026-12-07 (night) error-rate curves (top-1 error, word error rate) are calibrated at a
# scale of their own, 3.1361: at one scale they covered 77.7-85.1% of their held-out points on
# the tuning sources while loss curves covered 86-100%. Chosen leave one source out on their
# error-rate curves (benchmarks/tune_error_scale.py), registered and passed on fresh set 11's
# per-shard curves (93.9%) and a thirteenth image draw, whose measured error at 60,000 the
# one-scale interval missed (docs/auto-tuning-log.md, 2026-12-07 21:24).
DEFAULT_RULE = RuleConfig(
    candidates=("m1", "m2", "m3", "m4", "bnsl1", "bnsl2", "power_const"),
    n_cuts=2,
    score="far",
    combine="ic",
    criterion="aic",
    temperature=1.0,
    growth=1.0,
    scale=2.1226,
    beyond=0.5,
    pool="geomean",
    units="log",
    error_scale=3.1361,
)


@dataclass
class Weighing:
    """What the rule made of the backtests: scores, weights and the calibration."""

    scores: dict[str, float]  # inf: not eligible
    weights: dict[str, float]  # eligible candidates with weight > 0, summing to 1
    reason: str


def _within_horizon(d: FloatArray, horizon: float) -> np.ndarray:
    """Held-out points within the horizon; at least the nearest one."""
    mask = d <= horizon * (1 + 1e-9)
    if not mask.any():
        mask = np.zeros(d.size, dtype=bool)
        mask[0] = True
    return mask


def candidate_scores(bt: CurveBacktests, config: RuleConfig) -> dict[str, float]:
    """Each candidate's backtest score (geometric mean over cuts); inf when not eligible."""
    cuts = range(min(config.n_cuts, len(bt.cuts)))
    out: dict[str, float] = {}
    for label in config.candidates:
        cb = bt.candidates[label]
        if not cb.eligible or not cuts:
            out[label] = math.inf
            continue
        errors = []
        for j in cuts:
            x_h, log_y, d = bt.held_out(j)
            mask = _within_horizon(d, bt.horizon)
            r = (log_y - cb.log_pred[j])[mask]
            if config.score == "far":  # the mean over the seeds of the farthest shard
                far = x_h[mask] == x_h[mask][-1]
                errors.append(float(np.mean(np.abs(r[far]))))
            else:
                errors.append(math.sqrt(float(np.mean(r * r))))
        values = np.maximum(np.asarray(errors, dtype=float), 1e-12)
        out[label] = float(np.exp(np.mean(np.log(values))))
    return out


def weigh(bt: CurveBacktests, config: RuleConfig) -> Weighing:
    """Scores and weights of the candidates (see the module doc). Under `combine="ic"` the
    scores are ΔIC, each candidate's information criterion minus the lowest."""
    if config.combine == "ic":
        scores = ic_deltas(bt, config.candidates, config)
        weights = ic_weights(scores, config)
    else:
        scores = candidate_scores(bt, config)
        weights = candidate_weights(bt, scores, config)
    finite = {k: v for k, v in scores.items() if math.isfinite(v)}
    ranked = sorted(weights.items(), key=lambda kv: -kv[1])

    def evidence(k: str) -> str:  # a stack toward "ic" also weighs laws it could not backtest
        if k in finite:
            return f"score {finite[k]:.3g}"
        return f"too few points to backtest; its {config.criterion_name} weight"

    if config.combine == "ic":
        name = config.criterion_name
        reason = f"{name} of the fits on all {bt.x.size} points; weights " + ", ".join(
            f"{k} {w:.2f} (Δ{name} {finite[k]:.3g})" for k, w in ranked
        )
    else:
        reason = (
            f"backtests at {len(bt.cuts[: config.n_cuts])} cut(s) reaching ln-distance "
            f"{bt.reach:.3g} beyond each cut; weights "
            + ", ".join(f"{k} {w:.2f} ({evidence(k)})" for k, w in ranked)
        )
    if config.combine == "stack":
        toward = "the corpus prior" if config.prior else "equal weights"
        if config.toward == "ic":
            toward = f"the {config.criterion_name} weights of the fits on all points"
        reason += f"; stacked with a ridge of {config.ridge:g} toward {toward}"
    skipped = [k for k, v in scores.items() if not math.isfinite(v)]
    if skipped:
        reason += f"; not eligible: {', '.join(skipped)}"
    return Weighing(scores=scores, weights=dict(ranked), reason=reason)


def candidate_weights(
    bt: CurveBacktests, scores: Mapping[str, float], config: RuleConfig
) -> dict[str, float]:
    """The candidates' weights: stacked on the backtests, from the information criteria of the
    full fits, or from their backtest scores. `scores` names the candidates to weigh (inf: not
    eligible)."""
    if config.combine == "ic":
        return ic_weights(ic_deltas(bt, list(scores), config), config)
    if config.combine == "stack":
        eligible = [k for k, v in scores.items() if math.isfinite(v)]
        if config.toward == "ic":
            return stack_toward_ic(bt, list(scores), eligible, config)
        if not eligible:
            raise ScalingLabError("no candidate law could be fitted at every backtest cut")
        return stack_weights(bt, eligible, config)
    n_free = {k: bt.candidates[k].n_free for k in scores}
    return weights_from_scores(scores, n_free, config)


def stack_weights(
    bt: CurveBacktests, labels: Sequence[str], config: RuleConfig
) -> dict[str, float]:
    """Stacking weights (Breiman 1996): the point of the simplex whose weighted log prediction
    best fits the held-out points of the backtests.

        w = argmin_{w ≥ 0, Σw = 1}  Σ_r v_r (log y_r − Σ_i w_i log ŷ_i,r)² / Σ_r v_r
                                    + ridge · s² · k · ‖w − p‖²

    over the held-out points r within the horizon at every cut, each weighing
    v_r = (d_r / horizon)^distance_power (d_r: its distance beyond its cut), s² the median over
    candidates of their own weighted mean squared error (so `ridge` is relative to the size of
    the errors), k the number of candidates and p the prior (`prior_weights`: config.prior
    over these candidates, or equal weights 1/k). Solved as non-negative least squares with the
    sum-to-one constraint as a heavily weighted row; ridge = inf is the prior itself.
    """
    rows, targets, row_weights = [], [], []
    reach = max(bt.horizon, 1e-12)
    for j in range(min(config.n_cuts, len(bt.cuts))):
        _, log_y, d = bt.held_out(j)
        mask = _within_horizon(d, bt.horizon)
        rows.append(np.stack([bt.candidates[k].log_pred[j][mask] for k in labels], axis=1))
        targets.append(log_y[mask])
        row_weights.append((np.maximum(d[mask], 1e-12) / reach) ** config.distance_power)
    k = len(labels)
    if k == 1:
        return {labels[0]: 1.0}
    prior = prior_weights(labels, config.prior)
    if math.isinf(config.ridge):
        return normalised(dict(zip(labels, prior.tolist(), strict=True)))
    v = np.concatenate(row_weights)
    v = v / v.sum()
    log_y = np.concatenate(targets)
    # Centre on the targets' mean: the sum-to-one row makes the fit invariant to a common shift,
    # and centred columns keep the NNLS solve well scaled.
    centre = float(np.sum(v * log_y))
    a = (np.concatenate(rows) - centre) * np.sqrt(v)[:, None]
    b = (log_y - centre) * np.sqrt(v)
    s2 = float(np.median(np.sum((a - b[:, None]) ** 2, axis=0)))
    penalty = math.sqrt(config.ridge * max(s2, 1e-12) * k)
    big = 1e3 * max(1.0, float(np.abs(a).max(initial=0.0)))
    a_aug = np.vstack([a, big * np.ones((1, k)), penalty * np.eye(k)])
    b_aug = np.concatenate([b, [big], penalty * prior])
    w, _ = nnls(a_aug, b_aug)
    if not (np.all(np.isfinite(w)) and w.sum() > 0):
        w = prior
    return normalised(dict(zip(labels, w.tolist(), strict=True)))


def stack_toward_ic(
    bt: CurveBacktests, labels: Sequence[str], eligible: Sequence[str], config: RuleConfig
) -> dict[str, float]:
    """Stacking whose ridge pulls toward the Akaike (or BIC) weights p of the full fits: the
    fits on every point say which laws describe the curve, the backtests how well each of those
    that could be backtested extrapolated (a Bayesian reading: p the prior, the backtests the
    evidence). The backtest-eligible laws E share p's mass on them, p(E), as `stack_weights`
    with prior p|E divides it; a law the cuts were too short for keeps its p (the backtests say
    nothing about it). Without any backtest-eligible law this is p; without a law with enough
    points for a criterion, the stack toward equal weights."""
    try:
        p = ic_weights(ic_deltas(bt, labels, config), config)
    except ScalingLabError as exc:
        if not eligible:
            raise ScalingLabError("no candidate law could be fitted at every backtest cut") from exc
        return stack_weights(bt, eligible, config.with_(prior=()))
    mass = sum(p.get(k, 0.0) for k in eligible)
    if not eligible or mass <= MIN_WEIGHT:
        return p
    stacked = stack_weights(bt, eligible, config.with_(prior=tuple(p.items())))
    out = {k: w for k, w in p.items() if k not in eligible}
    for k, w in stacked.items():
        out[k] = w * mass
    return _by_weight(normalised(out))


def _n_free(bt: CurveBacktests) -> dict[str, int]:
    return {k: cb.n_free for k, cb in bt.candidates.items()}


def information_criteria(
    n: int, noise: Mapping[str, float], n_free: Mapping[str, int], config: RuleConfig
) -> dict[str, float]:
    """AIC, AICc or BIC of fits of n points with log residual scales `noise` (residual_scale:
    RSS over n − k degrees of freedom): n·ln(RSS/n) + 2k (AIC), + 2k + 2k(k+1)/(n−k−1) (AICc,
    Hurvich & Tsai 1989: AIC's bias correction for few points per parameter, which Burnham &
    Anderson 2002 advise whenever n/k < 40) or + k·ln n (BIC). Inf for a fit with fewer than
    k + EXTRA_POINTS points (AICc: k + 2) or no finite scale. The RSS is at least
    n·NOISE_FLOOR², so a law that threads every point does not win by an infinite margin."""
    if config.criterion not in CRITERIA:
        raise ScalingLabError(
            f"unknown information criterion {config.criterion!r}: one of {', '.join(CRITERIA)}"
        )
    out = {}
    for label, sigma in noise.items():
        k = n_free[label]
        fewest = k + max(EXTRA_POINTS, 2 if config.criterion == "aicc" else 0)
        if n < fewest or not math.isfinite(sigma):
            out[label] = math.inf
            continue
        rss = max(sigma * sigma * max(n - k, 1), n * NOISE_FLOOR**2)
        if config.criterion == "bic":
            penalty = k * math.log(n)
        else:
            penalty = 2.0 * k
            if config.criterion == "aicc":
                penalty += 2.0 * k * (k + 1) / (n - k - 1)
        out[label] = n * math.log(rss / n) + penalty
    return out


def ic_deltas(bt: CurveBacktests, labels: Sequence[str], config: RuleConfig) -> dict[str, float]:
    """ΔIC of each candidate's fit on every point: its information criterion minus the lowest
    (inf: no criterion; candidates the backtests do not hold are left out)."""
    noise = {k: bt.full_noise.get(k, math.nan) for k in labels if k in bt.candidates}
    ic = pooled(information_criteria(bt.x.size, noise, _n_free(bt), config), bt, config)
    low = min((v for v in ic.values() if math.isfinite(v)), default=math.inf)
    return {k: v - low if math.isfinite(v) else math.inf for k, v in ic.items()}


def group_evidence(others: Sequence[Mapping[str, float]], cap: float) -> dict[str, float]:
    """Each candidate's mean ΔIC over the group's other curves, each ΔIC capped at `cap` (a law
    with no criterion on a curve counts as the cap), so one curve's failed fit cannot outvote the
    rest. Empty when there are no other curves."""
    labels = {k for d in others for k in d}
    return {
        k: float(np.mean([min(d.get(k, math.inf), cap) for d in others])) for k in sorted(labels)
    }


def pooled(ic: Mapping[str, float], bt: CurveBacktests, config: RuleConfig) -> dict[str, float]:
    """The criteria with λ times the group's evidence added (`RuleConfig.pooling`); a law the
    group never scored gets the cap. Unchanged for a curve on its own."""
    if not (config.pooling and bt.group):
        return dict(ic)
    cap = config.pooling_cap
    evidence = group_evidence(bt.group, cap)
    return {k: v + config.pooling * evidence.get(k, cap) for k, v in ic.items()}


def ic_weights(ic: Mapping[str, float], config: RuleConfig) -> dict[str, float]:
    """Akaike weights exp(−ΔIC/(2·temperature)), normalised; temperature 0: the lowest IC."""
    finite = {k: v for k, v in ic.items() if math.isfinite(v)}
    if not finite:
        raise ScalingLabError("no candidate law has enough points for an information criterion")
    low = min(finite.values())
    if config.temperature <= 0:
        return {min(finite, key=lambda k: finite[k]): 1.0}
    raw = {k: math.exp(-(v - low) / (2.0 * config.temperature)) for k, v in finite.items()}
    return _by_weight(normalised(raw))


def normalised(raw: Mapping[str, float]) -> dict[str, float]:
    """Weights scaled to sum to 1, shares not above MIN_WEIGHT dropped and the rest rescaled,
    in `raw`'s order."""
    total = sum(raw.values())
    kept = {k: v / total for k, v in raw.items() if v / total > MIN_WEIGHT}
    kept_total = sum(kept.values())
    return {k: v / kept_total for k, v in kept.items()}


def _by_weight(weights: Mapping[str, float]) -> dict[str, float]:
    return dict(sorted(weights.items(), key=lambda kv: -kv[1]))


def prior_weights(labels: Sequence[str], prior: Sequence[tuple[str, float]]) -> FloatArray:
    """The prior's weights of `labels`, renormalised to sum to 1; equal weights when the prior
    is empty or gives none of them a weight."""
    given = dict(prior)
    p = np.array([max(float(given.get(label, 0.0)), 0.0) for label in labels], dtype=float)
    if not (np.all(np.isfinite(p)) and p.sum() > 0):
        return np.full(len(labels), 1.0 / len(labels))
    return p / p.sum()


def mixture_prior(
    problems: Sequence[tuple[str, FloatArray, FloatArray]], labels: Sequence[str]
) -> tuple[tuple[str, float], ...]:
    """The fixed mixture of the laws that predicts a set of problems best: a prior for stacking.

    `problems` are (source, log_pred, log_y): per problem, each law's log prediction of its
    held-out points (T × K, the columns in the order of `labels`; a column with a NaN is a law
    that failed there) and the log of what was measured (T). The prior is the point w of the
    simplex whose weighted log prediction Σ_i w_i log ŷ_i (renormalised over the laws that did
    not fail) has the lowest mean log RMSE per problem, averaged over sources so that every
    source weighs the same. Fitted with Nelder-Mead on softmax coordinates from equal weights
    and from each law dominant; the best of those starts is kept.
    """
    from scipy.optimize import minimize

    k = len(labels)
    if k == 0 or not problems:
        raise ScalingLabError("a mixture prior needs laws and problems")
    t_max = max(lp.shape[0] for _, lp, _ in problems)
    n = len(problems)
    preds, ys, used = np.zeros((n, t_max, k)), np.zeros((n, t_max)), np.zeros((n, t_max))
    ok = np.zeros((n, k))
    for i, (_, lp, ly) in enumerate(problems):
        lp = np.asarray(lp, dtype=float).reshape(-1, k)
        t = lp.shape[0]
        ok[i] = np.all(np.isfinite(lp), axis=0)
        preds[i, :t] = np.where(np.isfinite(lp), lp, 0.0)
        ys[i, :t], used[i, :t] = np.asarray(ly, dtype=float), 1.0
    keep = [bool(row.any()) for row in ok]  # a problem no law predicted says nothing about w
    preds, ys, used, ok = preds[keep], ys[keep], used[keep], ok[keep]
    sources = np.array([s for (s, _, _), kept in zip(problems, keep, strict=True) if kept])
    groups = [sources == s for s in dict.fromkeys(sources)]

    def weights(z: FloatArray) -> FloatArray:
        e = np.exp(np.concatenate([[0.0], z]) - max(0.0, float(np.max(z, initial=0.0))))
        return e / e.sum()

    def objective(z: FloatArray) -> float:
        w = ok * weights(z)[None, :]
        w = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-300)
        r = np.einsum("ptk,pk->pt", preds, w) - ys
        log_rmse = 0.5 * np.log(np.maximum((r * r * used).sum(axis=1) / used.sum(axis=1), 1e-24))
        return float(np.mean([log_rmse[g].mean() for g in groups]))

    if k == 1:
        return ((labels[0], 1.0),)
    starts = [np.zeros(k - 1)]
    for i in range(k):
        z = np.zeros(k)
        z[i] = 2.0
        starts.append(z[1:] - z[0])
    best_z, best_f = starts[0], math.inf
    for z0 in starts:
        simplex = np.vstack([z0, z0 + np.eye(k - 1)])
        res = minimize(
            objective,
            z0,
            method="Nelder-Mead",
            options={"maxiter": 3000, "xatol": 1e-3, "fatol": 1e-7, "initial_simplex": simplex},
        )
        if res.fun < best_f:
            best_f, best_z = float(res.fun), res.x
    w = weights(best_z)
    return tuple((label, round(float(wi), 4)) for label, wi in zip(labels, w, strict=True))


def weights_from_scores(
    scores: Mapping[str, float], n_free: Mapping[str, int], config: RuleConfig
) -> dict[str, float]:
    """The candidates' weights from their backtest scores (inf: not eligible)."""
    finite = {k: v for k, v in scores.items() if math.isfinite(v)}
    if not finite:
        raise ScalingLabError("no candidate law could be fitted at every backtest cut")
    best = min(finite, key=lambda k: finite[k])
    if config.combine == "best":
        return {best: 1.0}
    if config.combine == "simplest":
        near = [k for k, v in finite.items() if v <= finite[best] * math.exp(NEAR_TIE)]
        return {min(near, key=lambda k: (n_free[k], finite[k])): 1.0}
    if config.combine != "average":
        raise ScalingLabError(f"unknown combine {config.combine!r}: best, simplest or average")
    raw = {k: (finite[best] / v) ** (1.0 / config.temperature) for k, v in finite.items()}
    return normalised(raw)


def calibrate(
    bt: CurveBacktests,
    weights: Mapping[str, float],
    config: RuleConfig,
    full_noise: float,
) -> Calibration:
    """The conformal calibration of the weighted prediction on the backtests.

    The interval's σ is the full fit's, but at most NOISE_RATIO_CAP times the largest σ of the
    cuts' fits: the scores are errors in units of the cuts' σ, and a curve that breaks after
    its last cut (a full-fit σ thousands of times the cuts') would otherwise turn them into an
    interval of e^±100; and at least `noise_floor_ratio` times the smallest σ of the cuts' fits
    (0 by default: no floor). With `units="log"` the scores are the log errors themselves and σ
    is 1; `sigma_offset` τ adds a floor in log units to every σ, the cuts' and the full fits'.
    """
    if config.units not in UNITS:
        raise ScalingLabError(f"unknown units {config.units!r}; choose from {', '.join(UNITS)}")
    scores: list[list[float]] = []
    sigmas: list[float] = []
    values = 0
    reach = bt.reach
    for j in range(min(config.n_cuts, len(bt.cuts))):
        x_h, log_y, d = bt.held_out(j)
        mask = _within_horizon(d, bt.horizon)
        w_cut = _cut_weights(bt, weights, config, j)
        if not w_cut:
            continue
        pred = sum(w * bt.candidates[k].log_pred[j] for k, w in w_cut.items())
        sigma = sum(w * bt.candidates[k].noise[j] for k, w in w_cut.items())
        sigma = max(float(sigma), NOISE_FLOOR)
        sigmas.append(sigma)
        g = growth_factor(d[mask], reach, config.growth, config.beyond)
        z = np.abs(log_y[mask] - np.asarray(pred)[mask]) / (_score_unit(sigma, config) * g)
        scores.append(sorted(float(v) for v in z))
        values += len(np.unique(x_h[mask]))
    noise = max(float(full_noise), NOISE_FLOOR)
    if sigmas:
        noise = min(
            max(noise, config.noise_floor_ratio * min(sigmas)), NOISE_RATIO_CAP * max(sigmas)
        )
    return Calibration(
        scores=tuple(tuple(s) for s in scores),
        noise=_score_unit(noise, config),
        x_max=float(bt.x[-1]),
        reach=reach,
        growth=config.growth,
        scale=config.scale,
        beyond=config.beyond,
        values=values,
        pool=config.pool,
        units=config.units,
    )


def _score_unit(sigma: float, config: RuleConfig) -> float:
    """What the scores are measured in, for a residual scale σ: σ + τ (`sigma_offset`) in
    "sigma" units, 1 in "log" units. The cuts' scores are divided by it and the interval's
    quantile multiplied by it, so the two must agree."""
    return sigma + config.sigma_offset if config.units == "sigma" else 1.0


def _cut_weights(
    bt: CurveBacktests, weights: Mapping[str, float], config: RuleConfig, j: int
) -> dict[str, float]:
    """The weights the rule gives at cut j: under "ic" the rule applied to that cut's fits (its
    points and residual scales; candidates the full fit kept or not), otherwise the full fit's
    weights (under `crossfit`, those stacked on the other cuts) of the candidates fitted there,
    renormalised. A stack toward "ic" whose weight all sits on laws the cut was too short for
    falls back to the criteria at the cut, so its interval is still calibrated. Empty when no
    candidate was fitted there."""
    if config.combine != "ic":
        if config.combine == "stack" and config.crossfit:
            weights = _crossfit_weights(bt, config, j)
        fitted = {
            k: w for k, w in weights.items() if np.all(np.isfinite(bt.candidates[k].log_pred[j]))
        }
        if sum(fitted.values()) > 0:
            return normalised(fitted)
        if not (config.combine == "stack" and config.toward == "ic"):
            return {}
    return _cut_ic_weights(bt, config, j)


def _cut_ic_weights(bt: CurveBacktests, config: RuleConfig, j: int) -> dict[str, float]:
    """The information-criterion weights of the candidates fitted at cut j, from that cut's
    points and residual scales (empty when none has enough points for a criterion)."""
    fitted = {
        k: cb.noise[j]
        for k in config.candidates
        if (cb := bt.candidates.get(k)) is not None and np.all(np.isfinite(cb.log_pred[j]))
    }
    try:
        criteria = information_criteria(bt.cuts[j], fitted, _n_free(bt), config)
        return ic_weights(pooled(criteria, bt, config), config)
    except ScalingLabError:
        return {}


def _crossfit_weights(bt: CurveBacktests, config: RuleConfig, j: int) -> dict[str, float]:
    """The stack's weights fitted on the backtests of every cut but j (the prior's when j is
    the only cut): the weights cut j's scores are computed with under `crossfit`."""
    eligible = {  # as in candidate_scores: fitted at every cut
        k: 0.0 if cb.eligible else math.inf
        for k in config.candidates
        if (cb := bt.candidates.get(k)) is not None
    }
    others = bt.only_cuts([i for i in range(min(config.n_cuts, len(bt.cuts))) if i != j])
    try:
        return candidate_weights(
            others, eligible, config if others.cuts else config.with_(ridge=math.inf)
        )
    except ScalingLabError:
        return {}
