"""Backtested law selection and calibrated prediction intervals for learning curves.

The point of a scaling law is to predict beyond the data, so a law is judged here the way
Alabdulmohsin, Neyshabur & Zhai (2022, "Revisiting Neural Scaling Laws in Language and Vision",
arXiv:2209.06640, Sec. 4) judge learning-curve estimators: fit it on the smaller part of a curve
and score the prediction of the larger, held-out part by the RMSE of log(predicted) − log(actual).

1. **Backtest** (`backtest`). The curve is cut at several points placed along log x (by default
   at 60%, 70% and 80% of the log range of x, so each backtest extrapolates as far as a user
   would: a few tenths of the observed range). At each cut every candidate law is fitted on the
   points at or below it and scored on the points above it.
2. **Select** (`select_law`). A law's score is the geometric mean over the cuts of its
   |log error| at the farthest held-out point (the far end is what a user extrapolates to; the
   geometric mean keeps one hard cut from outweighing the others); a law that cannot be fitted
   at every cut (too many parameters for the points left) is not eligible. The lowest score
   wins, except that laws within NEAR_TIE (log distance, ~10%) of it count as tied and the tie
   goes to the one with the fewest free parameters. `Selection.weights` also gives softmax
   weights exp(−score / best score) for users who would rather average laws than pick one.
3. **Calibrate** (`calibrate`). Parameter draws alone (bootstrap or Gauss-Newton) give bands
   that are too narrow when extrapolating (they ignore that the law's form is only approximately
   right), and for weakly identified laws (M4, BNSL) absurdly wide. Instead the error scale is
   σ = s, the root mean square of the fit's log residuals, and each held-out point of the
   winner's backtests gives a score z = |log y − log ŷ| / σ (σ from that backtest's own fit).
   The backtests extrapolate about as far as a user does, so the growth of the error with
   distance is in the scores (a σ growing with ln(x / largest fitted x) covered less on the
   benchmark). The points beyond one cut are not exchangeable (they share one fit's error), so
   the cut is the unit: q_L is the finite-sample conformal quantile (split conformal
   prediction, Vovk et al. 2005), across cuts, of each cut's own L-quantile of z — with fewer
   than 9 cuts, the largest of them. The calibrated interval at level L is ŷ·exp(± q_L·σ).
   Scores, s and the fitted x range are stored on the law as `interval_widening_`, which
   `ScalingLaw.predict_interval` applies and `to_dict` saves.
4. **Fall back** (`auto_fit`). A curve with fewer than `MIN_BACKTEST_POINTS` points cannot be
   backtested: it is fitted with `DEFAULT_LAW` (fewer parameters if the points are fewer still)
   and a `FitWarning` says so; the intervals are then the uncalibrated parameter bands.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from scalinglab.errors import FitWarning, ScalingLabError
from scalinglab.fitting.scores import rmse_log
from scalinglab.laws.base import FloatArray, ScalingLaw, get_law

MIN_BACKTEST_POINTS = 5  # fewer points than this: no backtest, fit DEFAULT_LAW instead
DEFAULT_LAW = "power_const"  # Hestness 2017's learning curve: the default of `scalinglab fit`
DEFAULT_CUT_FRACTIONS = (0.6, 0.7, 0.8)  # cut points, as fractions of the log range of x
MIN_TRAIN_POINTS = 3  # a backtest cut keeps at least this many points to fit on
EXTRA_POINTS = 1  # a candidate is fitted at a cut only with >= (its free parameters + this) points
NEAR_TIE = 0.1  # backtest scores within this log distance (~10%) of the best count as a tie
TIE_RTOL = 1e-6  # relative difference of RMSEs counted as a tie (same fit to solver precision)
# A backtest fits every candidate at every cut: each fit starts from at most this many points of
# the law's own start grid and stops after BACKTEST_MAX_ITER iterations (a tenth of the defaults'
# cost; the backtest ranks laws, it does not report their parameters).
BACKTEST_START_BUDGET = 16
BACKTEST_OPTIONS: Mapping[str, Any] = {"max_iter": 200, "tol": 1e-9}


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


DEFAULT_CANDIDATES: tuple[Candidate, ...] = (
    Candidate("m1", "m1"),
    Candidate("m2", "m2"),
    Candidate("m3", "m3"),
    Candidate("m4", "m4"),
    Candidate("bnsl1", "bnsl", {"n_breaks": 1}),
    Candidate("bnsl2", "bnsl", {"n_breaks": 2}),
    Candidate("power_const", "power_const"),
)


def candidate(label: str) -> Candidate:
    """A candidate from a label: a law name, or "bnslK" for BNSL with K breaks."""
    for cand in DEFAULT_CANDIDATES:
        if cand.label == label:
            return cand
    if label.startswith("bnsl") and label[4:].isdigit():
        return Candidate(label, "bnsl", {"n_breaks": int(label[4:])})
    get_law(label)  # raises a ScalingLabError naming the known laws
    return Candidate(label, label)


def thinned_starts(
    law: ScalingLaw, X: FloatArray, y: FloatArray, budget: int
) -> dict[str, tuple[float, ...]]:
    """The law's start grid for (X, y), thinned to at most `budget` points.

    The parameter with the most start values loses one at a time, keeping its extremes and
    evenly spaced values between, until the Cartesian product fits the budget.
    """
    grid = {k: tuple(v) for k, v in law.start_grid(X, y).items()}
    for name, values in (law.starts or {}).items():
        grid[name] = tuple(float(v) for v in values)
    free = law.free_params()
    grid = {k: v for k, v in grid.items() if k in free}
    while math.prod(len(v) for v in grid.values()) > budget:
        name = max(grid, key=lambda k: len(grid[k]))
        values = grid[name]
        if len(values) <= 1:
            break
        keep = np.unique(np.round(np.linspace(0, len(values) - 1, len(values) - 1)).astype(int))
        grid[name] = tuple(values[i] for i in keep)
    return grid


# ------------------------------------------------------------------------------------------------
# Backtests
# ------------------------------------------------------------------------------------------------
def cut_points(x: ArrayLike, fractions: Sequence[float] = DEFAULT_CUT_FRACTIONS) -> list[int]:
    """Numbers of training points (x sorted ascending) at each cut, distinct and increasing.

    A cut at fraction f keeps the points with log x ≤ log x_min + f·(log x_max − log x_min),
    at least MIN_TRAIN_POINTS of them and at least one point held out.
    """
    xs = np.sort(np.asarray(x, dtype=float).reshape(-1))
    n = xs.size
    if n < MIN_TRAIN_POINTS + 1:
        return []
    lx = np.log(xs)
    out: set[int] = set()
    for f in fractions:
        if not 0 < f < 1:
            raise ScalingLabError(f"cut fractions must be between 0 and 1, got {f}")
        edge = lx[0] + f * (lx[-1] - lx[0])
        k = int(np.searchsorted(lx, edge * (1 + 1e-12) if edge > 0 else edge, side="right"))
        # Never split tied x values between the two parts.
        while 0 < k < n and xs[k] == xs[k - 1]:
            k += 1
        k = max(k, MIN_TRAIN_POINTS)
        if k < n:
            out.add(k)
    return sorted(out)


@dataclass
class LawBacktest:
    """Backtest of one candidate law over the cuts of one curve."""

    label: str
    cut_rmse: list[float]  # per cut; NaN where the law could not be fitted
    cut_far: list[float]  # per cut: |log error| at the last (farthest) held-out point
    residuals: FloatArray  # log(actual) − log(predicted), held-out points of every cut, pooled
    cut_of: FloatArray  # index of the cut each residual belongs to
    sigma: FloatArray  # the matching σ of each point (log units; see the module doc)
    note: str = ""  # why the law is not eligible, if it is not

    @property
    def eligible(self) -> bool:
        return bool(self.cut_rmse) and all(math.isfinite(v) for v in self.cut_rmse)

    @property
    def score(self) -> float:
        """Geometric mean over the cuts of the |log error| at the farthest held-out point.

        What a user extrapolates to is the far end, so that is what is scored (the RMSE over a
        held-out segment mixes in its nearer, easier points); the geometric mean (the mean of
        the logs) keeps one hard cut from outweighing the others. inf when not eligible.
        """
        if not self.eligible or not all(math.isfinite(v) for v in self.cut_far):
            return math.inf
        values = np.maximum(np.asarray(self.cut_far, dtype=float), 1e-12)
        return float(np.exp(np.mean(np.log(values))))

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "score": _json_float(self.score),
            "cut_rmse": [_json_float(v) for v in self.cut_rmse],
            "cut_far": [_json_float(v) for v in self.cut_far],
            "eligible": self.eligible,
            "note": self.note,
        }


def _json_float(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def error_scale(X: ArrayLike, noise: float, x_min: float, x_max: float) -> FloatArray:
    """σ(x) = noise: the scale of the log error at X, the fit's residual scale.

    The backtests already extrapolate about as far as a user does (the last 20–40% of the log
    range), so the growth of the error with distance is carried by their conformal scores; a
    σ that also grew with ln(x/x_max) covered less on the benchmark (78.7% against 88.6%).
    `x_min` and `x_max` are kept for the stored calibrations' format.
    """
    x = np.asarray(X, dtype=float).reshape(-1)
    del x_min, x_max
    return np.full(x.shape, float(noise))


def residual_scale(law: ScalingLaw, X: ArrayLike, y: ArrayLike) -> float:
    """Root mean square of the fit's log residuals, with n − p degrees of freedom."""
    r = np.log(np.asarray(y, dtype=float)) - np.log(law.predict(X))
    dof = max(r.size - len(law.free_params()), 1)
    return float(np.sqrt(np.sum(r * r) / dof))


def _fit_quietly(law: ScalingLaw, X: FloatArray, y: FloatArray) -> ScalingLaw:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return law.fit(X, y)


def backtest(
    cand: Candidate,
    X: ArrayLike,
    y: ArrayLike,
    cuts: Sequence[int],
    *,
    options: Mapping[str, Any] | None = None,
    start_budget: int | None = BACKTEST_START_BUDGET,
) -> LawBacktest:
    """Fit `cand` on the first k points (x ascending) for each k in `cuts`; score the rest.

    `options` go to the law's constructor (default BACKTEST_OPTIONS); `start_budget` caps the
    start points of each fit (None: the law's whole grid).
    """
    x_arr = np.asarray(X, dtype=float)
    x_arr = x_arr[:, None] if x_arr.ndim == 1 else x_arr
    y_arr = np.asarray(y, dtype=float).reshape(-1)
    order = np.argsort(x_arr[:, 0], kind="stable")
    x_arr, y_arr = x_arr[order], y_arr[order]
    n_free = cand.n_free()
    rmses: list[float] = []
    fars: list[float] = []
    residuals: list[FloatArray] = []
    sigmas: list[FloatArray] = []
    cut_of: list[FloatArray] = []
    notes: list[str] = []
    for k in cuts:
        if k < n_free + EXTRA_POINTS:
            rmses.append(math.nan)
            fars.append(math.nan)
            notes.append(f"{k} points at a cut, {n_free} free parameters")
            continue
        opts = dict(BACKTEST_OPTIONS if options is None else options)
        law = cand.make(**opts)
        xt, yt, xh, yh = x_arr[:k], y_arr[:k], x_arr[k:], y_arr[k:]
        try:
            if start_budget is not None:
                starts = thinned_starts(law, xt, yt, start_budget)
                law = cand.make(**{**opts, "starts": starts})
            _fit_quietly(law, xt, yt)
            pred = law.predict(xh)
        except ScalingLabError as exc:
            rmses.append(math.nan)
            fars.append(math.nan)
            notes.append(str(exc))
            continue
        score = rmse_log(pred, yh)
        rmses.append(score)
        if not math.isfinite(score):
            fars.append(math.inf)
            notes.append("non-finite prediction beyond a cut")
            continue
        resid = np.log(yh) - np.log(pred)
        fars.append(float(abs(resid[-1])))
        residuals.append(resid)
        cut_of.append(np.full(len(yh), float(len(rmses) - 1)))
        noise = residual_scale(law, xt, yt)
        sigmas.append(error_scale(xh, noise, float(xt[:, 0].min()), float(xt[:, 0].max())))
    return LawBacktest(
        label=cand.label,
        cut_rmse=rmses,
        cut_far=fars,
        residuals=np.concatenate(residuals) if residuals else np.zeros(0),
        cut_of=np.concatenate(cut_of) if cut_of else np.zeros(0),
        sigma=np.concatenate(sigmas) if sigmas else np.zeros(0),
        note="; ".join(dict.fromkeys(notes)),
    )


# ------------------------------------------------------------------------------------------------
# Selection
# ------------------------------------------------------------------------------------------------
@dataclass
class Selection:
    """What `select_law` found: the winner, why, and every candidate's backtest."""

    chosen: str
    reason: str
    cuts: list[float]  # the x of the last training point at each cut
    backtests: dict[str, LawBacktest]
    fallback: bool = False

    @property
    def scores(self) -> dict[str, float]:
        return {label: bt.score for label, bt in self.backtests.items()}

    @property
    def weights(self) -> dict[str, float]:
        """Softmax weights exp(−score/best) over eligible laws (a law as good as the best: e⁻¹)."""
        scores = {k: v for k, v in self.scores.items() if math.isfinite(v)}
        if not scores:
            return {}
        best = max(min(scores.values()), 1e-300)
        raw = {k: math.exp(-(v / best)) for k, v in scores.items()}
        total = sum(raw.values())
        return {k: v / total for k, v in raw.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen,
            "reason": self.reason,
            "fallback": self.fallback,
            "cuts": list(self.cuts),
            "backtests": {k: bt.to_dict() for k, bt in self.backtests.items()},
        }


def select_law(
    X: ArrayLike,
    y: ArrayLike,
    candidates: Sequence[Candidate] = DEFAULT_CANDIDATES,
    *,
    fractions: Sequence[float] = DEFAULT_CUT_FRACTIONS,
    options: Mapping[str, Any] | None = None,
    start_budget: int | None = BACKTEST_START_BUDGET,
) -> Selection:
    """Backtest every candidate over the cuts of the curve (X, y); the lowest score wins.

    `options` are passed to every candidate's constructor in the backtests (e.g. n_bootstrap,
    objective; default BACKTEST_OPTIONS), `start_budget` caps each backtest fit's start points.
    Raises ScalingLabError when the curve has too few points to backtest or no candidate could
    be scored; `auto_fit` turns that into a fallback.
    """
    x_arr = np.asarray(X, dtype=float)
    x_arr = x_arr[:, None] if x_arr.ndim == 1 else x_arr
    if x_arr.ndim != 2 or x_arr.shape[1] != 1:
        raise ScalingLabError("law selection takes learning curves: X must have one column")
    y_arr = np.asarray(y, dtype=float).reshape(-1)
    if x_arr.shape[0] < MIN_BACKTEST_POINTS:
        raise ScalingLabError(
            f"{x_arr.shape[0]} points are too few to backtest (need {MIN_BACKTEST_POINTS})"
        )
    if not candidates:
        raise ScalingLabError("give at least one candidate law")
    cuts = cut_points(x_arr[:, 0], fractions)
    if not cuts:
        raise ScalingLabError("no cut point leaves points on both sides; check x")
    xs = np.sort(x_arr[:, 0])
    results = {
        c.label: backtest(c, x_arr, y_arr, cuts, options=options, start_budget=start_budget)
        for c in candidates
    }
    eligible = {k: bt for k, bt in results.items() if bt.eligible}
    if not eligible:
        raise ScalingLabError("no candidate law could be fitted at every backtest cut")
    n_free = {c.label: c.n_free() for c in candidates}
    ranked = sorted(eligible, key=lambda k: eligible[k].score)
    top = ranked[0]
    # Near-ties go to the law with the fewest free parameters (then the lower score): scores
    # within NEAR_TIE (relative) of the best do not tell the laws apart, and the simpler law
    # extrapolates more safely.
    near = [k for k in ranked if eligible[k].score <= eligible[top].score * math.exp(NEAR_TIE)]
    best = min(near, key=lambda k: (n_free[k], eligible[k].score))
    where = (
        f"(at the farthest held-out point, geometric mean over {len(cuts)} cuts at x = "
        + ", ".join(f"{xs[k - 1]:.3g}" for k in cuts)
        + ")"
    )
    if best == top:
        reason = (
            f"{best} has the lowest backtest error of log prediction, "
            f"{eligible[best].score:.4g} {where}"
        )
    else:
        reason = (
            f"{best} has the fewest parameters among the laws within {NEAR_TIE:.0%} of the "
            f"lowest backtest error of log prediction ({top} {eligible[top].score:.4g}), "
            f"{eligible[best].score:.4g} {where}"
        )
    others = [k for k in ranked if k != best]
    if others:
        reason += f"; next best {others[0]} {eligible[others[0]].score:.4g}"
    skipped = [k for k, bt in results.items() if not bt.eligible]
    if skipped:
        reason += f"; not eligible: {', '.join(skipped)}"
    return Selection(
        chosen=best,
        reason=reason,
        cuts=[float(xs[k - 1]) for k in cuts],
        backtests=results,
    )


# ------------------------------------------------------------------------------------------------
# Calibrated intervals
# ------------------------------------------------------------------------------------------------
def calibrate(law: ScalingLaw, bt: LawBacktest, X: ArrayLike, y: ArrayLike) -> ScalingLaw:
    """Store on the fitted `law` the conformal scores of its backtest `bt` (see module doc)."""
    ok = np.isfinite(bt.residuals) & np.isfinite(bt.sigma) & (bt.sigma > 0)
    if not ok.any():
        law.interval_widening_ = None
        return law
    z = np.abs(bt.residuals[ok]) / bt.sigma[ok]
    cuts = bt.cut_of[ok]
    scores = [sorted(float(v) for v in z[cuts == c]) for c in np.unique(cuts)]
    x = np.asarray(X, dtype=float).reshape(-1)
    law.interval_widening_ = {
        "method": "conformal-backtest",
        "noise": residual_scale(law, X, y),
        "x_min": float(x.min()),
        "x_max": float(x.max()),
        "scores": scores,
    }
    return law


def conformal_quantile(scores: Sequence[float], level: float) -> float:
    """The ⌈(n+1)·level⌉-th smallest score (split conformal); the largest when n is too small."""
    s = np.sort(np.asarray(scores, dtype=float))
    if s.size == 0:
        return math.nan
    k = math.ceil((s.size + 1) * level)
    return float(s[min(k, s.size) - 1])


def interval_multiplier(scores: Sequence[Sequence[float]], level: float) -> float:
    """q_L: the conformal quantile across cuts of each cut's `level`-quantile of its scores."""
    per_cut = [float(np.quantile(np.asarray(b), level, method="higher")) for b in scores if len(b)]
    return conformal_quantile(per_cut, level)


def calibrated_interval(
    law: ScalingLaw, X: ArrayLike, level: float
) -> tuple[FloatArray, FloatArray]:
    """ŷ·exp(± q_level·σ) with the conformal scores in `law.interval_widening_`."""
    widening = law.interval_widening_
    if not widening:
        raise ScalingLabError("this law has no calibration: fit it with select.auto_fit")
    q = interval_multiplier(widening["scores"], level)
    centre = np.log(law.predict(X))
    x = law.check_X(X)[:, 0]
    noise = float(widening["noise"])
    sigma = error_scale(x, noise, float(widening["x_min"]), float(widening["x_max"]))
    return np.exp(centre - q * sigma), np.exp(centre + q * sigma)


# ------------------------------------------------------------------------------------------------
# auto
# ------------------------------------------------------------------------------------------------
def fallback_law(n_points: int, options: Mapping[str, Any] | None = None) -> ScalingLaw:
    """DEFAULT_LAW, or a law with fewer parameters when the points are fewer still."""
    opts = dict(options or {})
    if n_points >= len(get_law(DEFAULT_LAW)().free_params()):
        return get_law(DEFAULT_LAW)(**opts)
    if n_points >= 2:
        return get_law("m1")(**opts)
    return get_law("m1")(**{**opts, "fixed": {"c": 0.0}})  # one point: a constant


def auto_fit(
    X: ArrayLike,
    y: ArrayLike,
    candidates: Sequence[Candidate] = DEFAULT_CANDIDATES,
    *,
    fractions: Sequence[float] = DEFAULT_CUT_FRACTIONS,
    options: Mapping[str, Any] | None = None,
    start_budget: int | None = BACKTEST_START_BUDGET,
) -> tuple[ScalingLaw, Selection]:
    """Select a law by backtests, fit it on the whole curve and calibrate its intervals.

    `options` go to the constructor of every law (e.g. objective, n_bootstrap, random_state);
    the backtests add BACKTEST_OPTIONS and `start_budget` unless `options` say otherwise, the
    final fit of the winner uses its whole start grid. A curve with fewer than
    MIN_BACKTEST_POINTS points is fitted with DEFAULT_LAW and a FitWarning, never an error.
    """
    x_arr = np.asarray(X, dtype=float)
    x_arr = x_arr[:, None] if x_arr.ndim == 1 else x_arr
    y_arr = np.asarray(y, dtype=float).reshape(-1)
    n = x_arr.shape[0]
    if n == 0:
        raise ScalingLabError("the curve has no points")
    if n < MIN_BACKTEST_POINTS:
        law = fallback_law(n, options)
        message = (
            f"auto: {n} points are too few to backtest (need {MIN_BACKTEST_POINTS}); "
            f"fitted the default law {law.name!r} without selection, and its intervals are "
            "not calibrated"
        )
        warnings.warn(message, FitWarning, stacklevel=2)
        _fit_quietly(law, x_arr, y_arr)
        law.interval_widening_ = None
        sel = Selection(chosen=law.name, reason=message, cuts=[], backtests={}, fallback=True)
        return law, sel
    sel = select_law(
        x_arr,
        y_arr,
        candidates,
        fractions=fractions,
        options={**BACKTEST_OPTIONS, **dict(options or {})},
        start_budget=start_budget,
    )
    chosen = next(c for c in candidates if c.label == sel.chosen)
    law = chosen.make(**dict(options or {}))
    law.fit(x_arr, y_arr)
    calibrate(law, sel.backtests[sel.chosen], x_arr, y_arr)
    return law, sel
