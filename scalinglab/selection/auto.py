"""`fit --law auto`: the learning-curve law chosen, fitted and calibrated by the auto rule.

1. Backtest every candidate at the horizon the user extrapolates to (`target`, else a third of
   the observed log range beyond the data; scalinglab.selection.backtest).
2. Weigh the candidates (scalinglab.selection.rule, `DEFAULT_RULE`, the configuration chosen
   leave-one-source-out on the development corpus: the Akaike weights of their fits on every
   point; other configurations weigh by the backtest scores; README, "How auto predicts").
3. Fit the winner on every point with its whole start grid and attach the calibration of its
   interval on the same backtests (scalinglab.fitting.calibration), which `predict_interval`
   applies at any x, wider the farther beyond the data.

A curve too short to backtest (fewer than MIN_BACKTEST_POINTS distinct x values: seeds of one
shard count once) is fitted with DEFAULT_LAW (a law with fewer parameters if the values are fewer
still), with a FitWarning saying that its interval is the uncalibrated parameter band.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from scalinglab.display import examples, num
from scalinglab.errors import FitWarning, ScalingLabError
from scalinglab.fitting.calibration import Calibration
from scalinglab.laws.averaged import AveragedLaw
from scalinglab.laws.base import ScalingLaw, get_law
from scalinglab.selection.backtest import (
    BACKTEST_START_BUDGET,
    FULL_START_BUDGET,
    MIN_TRAIN_POINTS,
    Candidate,
    CurveBacktests,
    backtest_curve,
    candidate,
    log_prediction,
    residual_scale,
)
from scalinglab.selection.rule import DEFAULT_RULE, RuleConfig, calibrate, weigh

DEFAULT_LAW = "power_const"  # Hestness 2017's learning curve: the fallback of too-short curves
MIN_BACKTEST_POINTS = MIN_TRAIN_POINTS + 1
# An interval calibrated on fewer held-out backtest points than this is flagged in the reason:
# on the seven tuning sources (benchmarks/interval_cases.py --seven; README, "How auto
# predicts") DEFAULT_RULE's 90% intervals covered 82.3% of the held-out points on average over
# the 504 problems with 2-3 such points, and 91.1% over the 658 with 4 or more (in-sample: the
# rule's scale was tuned on the same problems; the training curves of fresh sets 7 and 9 the
# seventh source). Past the backtests' reach they covered 92.2% of 2,129 points against 91.3%
# within it, so that case is no longer flagged (with scores in units of σ, the rule until
# 2026-12-07, 75.9% against 79.1%).
FEW_CALIBRATION_POINTS = 4
COVERED_FEW_POINTS = 82  # the percentage above as the warning states it (rounded down)
# A curve whose log-log slope still falls at its end has not reached its power-law region
# (Hestness et al. 2017's small-data region) or is driven by something else, such as a learning-
# rate schedule. On the same problems DEFAULT_RULE's 90% intervals covered 84.7% of the 1,206
# held-out points of the falling curves with end_steepening < STEEPENING_THRESHOLD, against
# 93.0% of the others' 5,986 (in-sample; training curves 81.0%, studies 75.4%; the statistic and
# threshold were picked on the corpus's tables; the rule before, in units of σ: 58.2% and
# 82.2%) (docs/auto-tuning-log.md).
END_POINTS = 3  # distinct x values in each of the two slopes end_steepening compares
FLAT_SLOPE = 1e-9  # a log-log slope smaller than this is a flat end (rounding), not a fall
STEEPENING_THRESHOLD = -0.05
COVERED_STEEPENING = 84  # the percentage above as the warning states it (rounded down)


@dataclass
class Selection:
    """What auto did: the law it kept, every candidate's backtest score and why."""

    chosen: str
    reason: str
    horizon: float  # ln(x_target / x_max) the backtests extrapolated to
    cuts: list[float] = field(default_factory=list)  # the last fitted x at each backtest cut
    scores: dict[str, float] = field(default_factory=dict)  # inf: not eligible
    weights: dict[str, float] = field(default_factory=dict)
    fallback: bool = False
    criterion: str = ""  # rule.CRITERIA: scores are ΔIC of the full fits; "": backtest scores
    target: float = math.nan  # the x auto was asked to predict at (NaN: none)
    # each candidate's fit on every point, predicted at `target` (`laws_at`): how far apart the
    # laws are where the user extrapolates to, which the weights alone do not show
    at_target: dict[str, float] = field(default_factory=dict)

    def at_target_text(self, x_name: str = "x") -> str:
        """ "each law fitted on every point, at m = 60,000: m1 0.08311, bnsl1 0.1014, ...",
        lowest first; "" without a target."""
        if not self.at_target:
            return ""
        laws = ", ".join(
            f"{label} {num(value)}"
            for label, value in sorted(self.at_target.items(), key=lambda t: t[1])
        )
        return f"each law fitted on every point, at {x_name} = {examples(self.target)}: {laws}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen,
            "reason": self.reason,
            "horizon": self.horizon,
            "cuts": list(self.cuts),
            "scores": {k: (v if math.isfinite(v) else None) for k, v in self.scores.items()},
            "weights": dict(self.weights),
            "fallback": self.fallback,
            "criterion": self.criterion,
            "target": self.target if math.isfinite(self.target) else None,
            "at_target": {k: (v if math.isfinite(v) else None) for k, v in self.at_target.items()},
        }


def fallback_law(n_values: int, options: Mapping[str, Any] | None = None) -> ScalingLaw:
    """DEFAULT_LAW, or a law with fewer parameters when the distinct x values are fewer still."""
    opts = dict(options or {})
    if n_values >= len(get_law(DEFAULT_LAW)().free_params()):
        return get_law(DEFAULT_LAW)(**opts)
    if n_values >= 2:
        return get_law("m1")(**opts)
    return get_law("m1")(**{**opts, "fixed": {"c": 0.0}})  # one point: a constant


def _quiet_fit(law: ScalingLaw, X: np.ndarray, y: np.ndarray) -> ScalingLaw:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return law.fit(X, y)


def auto_fit(
    X: ArrayLike,
    y: ArrayLike,
    *,
    target: float | None = None,
    config: RuleConfig = DEFAULT_RULE,
    candidates: Sequence[str] | None = None,
    options: Mapping[str, Any] | None = None,
    error_rate: bool = False,
) -> tuple[ScalingLaw, Selection]:
    """The auto rule on the learning curve (X, y): the fitted, calibrated law and its Selection.

    `target` is the x the user will predict at (the backtests extrapolate as far beyond their
    cuts as it lies beyond the data); `candidates` overrides the rule's candidate labels;
    `options` go to every law's constructor (objective, n_bootstrap, random_state, ...);
    `error_rate` says that y is an error rate (top-1 error, word error rate), whose interval the
    rule calibrates at its own scale (`RuleConfig.error_scale`).
    """
    x_arr = np.array(X, dtype=float)
    x_arr = x_arr[:, None] if x_arr.ndim == 1 else x_arr
    if x_arr.ndim != 2 or x_arr.shape[1] != 1:
        raise ScalingLabError("auto fits learning curves: X must have one column")
    n = x_arr.shape[0]
    if n == 0:
        raise ScalingLabError("the curve has no points")
    # The checks every law's fit makes (x finite and > 0, as every candidate takes log x; y's
    # length, NaN, y > 0 under a log objective), before the horizon or a start guess takes a log:
    # an x of 0 gave numpy's RuntimeWarning and an "extrapolation horizon ... inf" error instead.
    probe = get_law(DEFAULT_LAW)(**dict(options or {}))
    x_arr = probe.check_X(x_arr)
    y_arr = probe.check_y(y, n)
    labels = tuple(candidates) if candidates is not None else config.candidates
    if config.criteria_fits not in ("batched", "whole"):
        raise ScalingLabError(
            f"criteria_fits must be batched or whole, got {config.criteria_fits!r}"
        )
    cands: list[Candidate] = [candidate(label) for label in labels]
    x_max = float(x_arr[:, 0].max())
    horizon = math.nan
    if target is not None:
        if not (math.isfinite(target) and target > 0):
            raise ScalingLabError(f"the target x must be a positive number, got {target}")
        if target > x_max:
            horizon = math.log(target) - math.log(x_max)
    n_values = len(np.unique(x_arr[:, 0]))
    loss_scale = config.scale
    if error_rate:
        config = config.for_error_rate()
    config = config.for_curve(n_values)  # long curves: their own criteria fits and scale
    if n_values < MIN_BACKTEST_POINTS:
        why = f"{n} points" if n_values == n else f"{n} points at {n_values} distinct x values"
        return _fallback(x_arr, y_arr, options, f"{why} are too few to backtest")
    bt = backtest_curve(
        x_arr[:, 0],
        y_arr,
        cands,
        horizon=None if math.isnan(horizon) else horizon,
        n_cuts=config.n_cuts,
        start_budget=config.backtest_starts or BACKTEST_START_BUDGET,
        # The information criteria weigh each candidate's fit on every point.
        full_start_budget=(config.backtest_starts or FULL_START_BUDGET)
        if config.uses_full_fits
        else None,
    )
    whole_criteria = config.uses_full_fits and config.criteria_fits == "whole"
    # every candidate on its whole grid, for the criteria or the laws' spread (fitted once)
    whole = (
        whole_grid_fits(x_arr, y_arr, cands, options)
        if whole_criteria or config.uses_spread
        else {}
    )
    if whole_criteria:
        # The batched full fits above stay in the solve although only their residual scales
        # are replaced: the backtests' fits depend on what they are batched with (without them
        # a bnsl2 backtest prediction moved by 0.7 in log), and "whole" was scored with them.
        bt.full_noise = whole_grid_noise(x_arr, y_arr, cands, whole)
    try:
        weighing = weigh(bt, config.with_(candidates=labels))
    except ScalingLabError as exc:
        return _fallback(x_arr, y_arr, options, str(exc))
    weights = weighing.weights
    law = _weighted_law(cands, weights, options)
    law.fit(x_arr, y_arr)
    r = np.log(y_arr) - np.log(law.predict(x_arr))
    n_free = sum(w * next(c for c in cands if c.label == k).n_free() for k, w in weights.items())
    noise = float(np.sqrt(np.sum(r * r) / max(r.size - n_free, 1)))
    calibration = calibrate(bt, weights, config.with_(candidates=labels), noise)
    if any(len(s) for s in calibration.scores):
        calibration = replace(
            calibration,
            end_steepening=end_steepening(x_arr[:, 0], y_arr),
            spread=config.model_spread,
            spread_power=config.spread_power,
            spread_laws=tuple(spread_entry(fit) for fit in whole.values() if fit is not None)
            if config.uses_spread
            else (),
        )
        law.calibration_ = calibration
        notes = interval_warnings(calibration)
        if error_rate and config.scale != loss_scale:
            scales = f"{config.scale:g} (loss curves {loss_scale:g})"
            notes.insert(0, f"y is an error rate: the interval at its scale, {scales}")
        reason = "; ".join([weighing.reason, *notes])
    else:  # no cut could score the weighted prediction: nothing to calibrate on
        uncalibrated = (
            "no backtest cut held a fit of the laws carrying weight, so the intervals are the "
            "parameter band, not calibrated"
        )
        warnings.warn(f"auto: {uncalibrated}", FitWarning, stacklevel=2)
        reason = f"{weighing.reason}; {uncalibrated}"
    selection = Selection(
        chosen=(
            f"average of {law.describe_weights()}"
            if isinstance(law, AveragedLaw)
            else next(iter(weights))
        ),
        reason=reason,
        horizon=bt.horizon,
        cuts=[float(bt.x[k - 1]) for k in bt.cuts[: config.n_cuts]],
        scores=weighing.scores,
        weights=weighing.weights,
        criterion=config.criterion if config.combine == "ic" else "",
        target=math.nan if target is None else float(target),
        at_target={} if target is None else laws_at(float(target), law, weights, bt, cands),
    )
    return law, selection


def laws_at(
    x: float,
    law: ScalingLaw,
    weights: Mapping[str, float],
    bt: CurveBacktests,
    cands: Sequence[Candidate],
) -> dict[str, float]:
    """Each candidate's prediction at x from its fit on every point: the laws carrying weight
    as `law` (the average, or the one law) holds them, the others as the criterion weighed them
    (the backtests' batched fits on every point); a law with neither is left out. The weighted
    geometric mean of the weighted ones is auto's own prediction."""
    fitted = dict(zip(law.labels, law.laws, strict=True)) if isinstance(law, AveragedLaw) else {}
    if not fitted:
        fitted = {next(iter(weights)): law}
    X = np.array([[x]])
    out: dict[str, float] = {}
    for cand in cands:
        if cand.label in fitted:
            with np.errstate(all="ignore"):
                out[cand.label] = float(fitted[cand.label].predict(X)[0])
        elif (fit := bt.full.get(cand.label)) is not None:
            out[cand.label] = float(np.exp(log_prediction(cand.make(), fit, X))[0])
    return out


def whole_grid_fits(
    x: np.ndarray, y: np.ndarray, cands: Sequence[Candidate], options: Mapping[str, Any] | None
) -> dict[str, ScalingLaw | None]:
    """Each candidate fitted on every point over its whole start grid, as the final fit and
    `fit --law X` fit it (no bootstrap: only the optimum is read); None where it cannot be."""
    opts = {**dict(options or {}), "n_bootstrap": 0}
    fits: dict[str, ScalingLaw | None] = {}
    for cand in cands:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FitWarning)
                fits[cand.label] = cand.make(**opts).fit(x, y)
        except ScalingLabError:
            fits[cand.label] = None
    return fits


def whole_grid_noise(
    x: np.ndarray, y: np.ndarray, cands: Sequence[Candidate], fits: Mapping[str, ScalingLaw | None]
) -> dict[str, float]:
    """Each candidate's residual scale in log y (backtest.residual_scale, n − p degrees of
    freedom) in its whole-grid fit (`whole_grid_fits`); NaN where it could not be fitted."""
    noise: dict[str, float] = {}
    for cand in cands:
        law = fits.get(cand.label)
        if law is None:
            noise[cand.label] = math.nan
            continue
        with np.errstate(all="ignore"):
            log_pred = np.log(law.predict(x))
        noise[cand.label] = residual_scale(log_pred, np.log(y), cand.n_free())
    return noise


def spread_entry(law: ScalingLaw) -> dict[str, Any]:
    """A fitted law as a calibration's spread law keeps it: name, options and parameters."""
    return {"law": law.name, "options": law.get_options(), "params": dict(law.params_)}


def end_steepening(x: np.ndarray, y: np.ndarray) -> float:
    """How much the curve's log-log slope fell at its end: d = β_last − β_before, the least-
    squares slopes of mean ln y (over seeds) on ln x across the last END_POINTS distinct x values
    and the END_POINTS before them. d < 0: a curve that still falls faster and faster. NaN with
    fewer than 2·END_POINTS distinct x values, or when the curve does not fall at its end (a
    rising curve's slope shrinking, or a flat end, is not this)."""
    xs, inverse = np.unique(np.asarray(x, dtype=float), return_inverse=True)
    if xs.size < 2 * END_POINTS:
        return math.nan
    mean_log_y = np.bincount(inverse, weights=np.log(y)) / np.bincount(inverse)
    t = np.log(xs)
    last, before = slice(-END_POINTS, None), slice(-2 * END_POINTS, -END_POINTS)
    slope_last = np.polyfit(t[last], mean_log_y[last], 1)[0]
    slope_before = np.polyfit(t[before], mean_log_y[before], 1)[0]
    falls = slope_last < -FLAT_SLOPE
    return float(slope_last - slope_before) if falls else math.nan


def interval_warnings(calibration: Calibration | None) -> list[str]:
    """Why a calibrated interval may be optimistic: it rests on fewer than
    FEW_CALIBRATION_POINTS held-out backtest points (distinct x values: seeds of one shard
    count once, as in the backtests), or the curve still steepens at its end (the comments at
    FEW_CALIBRATION_POINTS say what the tuning sources showed of each, and why a target past the
    backtests' reach is no longer one)."""
    if calibration is None:
        return []
    out = []
    n, n_values = sum(len(s) for s in calibration.scores), calibration.n_values
    if n_values < FEW_CALIBRATION_POINTS:
        at = "" if n_values == n else f" at {n_values} distinct x value(s)"
        out.append(
            f"the interval rests on only {n} held-out backtest point(s){at}"
            + _covered(COVERED_FEW_POINTS)
        )
    if calibration.end_steepening < STEEPENING_THRESHOLD:
        out.append(
            f"the curve still steepens at its end (its log-log slope fell by "
            f"{-calibration.end_steepening:.2g} over its last {2 * END_POINTS} x values: not yet "
            "in its power-law region (Hestness et al. 2017), or shaped by something else, such "
            "as a learning-rate decay)" + _covered(COVERED_STEEPENING)
        )
    return [f"{w}: read it as optimistic" for w in out]


def _covered(percent: int) -> str:
    return f", and on the tuning sources such 90% intervals covered about {percent}% of the points"


def _weighted_law(
    cands: Sequence[Candidate], weights: Mapping[str, float], options: Mapping[str, Any] | None
) -> ScalingLaw:
    """The one candidate that carries all the weight, or the weighted average of several."""
    by_label = {c.label: c for c in cands}
    if len(weights) == 1:
        return by_label[next(iter(weights))].make(**dict(options or {}))
    members = [
        {"label": k, "law": by_label[k].law, "options": dict(by_label[k].options)} for k in weights
    ]
    return AveragedLaw(members=members, weights=list(weights.values()), **dict(options or {}))


def _fallback(
    x: np.ndarray, y: np.ndarray, options: Mapping[str, Any] | None, why: str
) -> tuple[ScalingLaw, Selection]:
    law = fallback_law(len(np.unique(x[:, 0])), options)
    message = (
        f"auto: {why}; fitted the default law {law.name!r} without selection, and its "
        "intervals are the parameter band, not calibrated"
    )
    warnings.warn(message, FitWarning, stacklevel=3)
    _quiet_fit(law, x, y)
    law.calibration_ = None
    return law, Selection(chosen=law.name, reason=message, horizon=math.nan, fallback=True)
