"""The learning-curve extrapolation benchmark of Alabdulmohsin, Neyshabur & Zhai (2022).

Each evaluation (Domain, Task, Model) is one learning curve: fit on the rows with Training == 1,
predict the rows with Training == 0, and score by the RMSE of log(predicted) − log(actual)
(their Sec. 4). The estimators are the laws they compare (M1–M4), Broken Neural Scaling Laws
with one and two breaks (Caballero et al. 2022), Hestness's `power_const`, and `auto`
(scalinglab.selection.auto: backtests at each curve's own horizon choose among the others, with
intervals calibrated on the backtests). Every estimator also gives a 90% interval per held-out
point: the parameter band (Gauss-Newton covariance draws) for the single laws, the calibrated
band for `auto`.

`run_benchmark(table)` returns {"estimators": {NAME: {"median_rmse", "win_rate", "coverage90"}},
"evaluations": [{"domain", "task", "model", "rmse": {NAME: value}, ...}], "summary": str}.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scalinglab.errors import FitWarning, ScalingLabError
from scalinglab.fitting.scores import rmse_log
from scalinglab.fitting.threads import torch_threads
from scalinglab.laws.base import FloatArray, ScalingLaw
from scalinglab.parallel import worker_pool
from scalinglab.selection.auto import MIN_BACKTEST_POINTS, auto_fit
from scalinglab.selection.backtest import Candidate, candidate

COLUMNS = ("Domain", "Task", "Model", "Seen Examples", "Loss", "Training")
SINGLE_LAWS = ("m1", "m2", "m3", "m4", "bnsl1", "bnsl2", "power_const")
DEFAULT_CANDIDATES: tuple[Candidate, ...] = tuple(candidate(label) for label in SINGLE_LAWS)
ESTIMATORS = (*SINGLE_LAWS, "auto")
TIE_RTOL = 1e-6  # relative difference of RMSEs counted as a tie (same fit to solver precision)
LEVEL = 0.9
# Options of every fit the benchmark makes (the single laws and auto's): none, so each law is
# fitted as `fit --law X` and `fit --law auto` fit it — its default solver limits, on its whole
# start grid. A grid thinned to a few dozen starts misses BNSL's good basin, so scoring the laws
# that way would flatter auto against them (docs/auto-tuning-log.md, "the cached fits understate
# BNSL"), at no saving in time. (Until 2026-12-05: max_iter 500, where the laws' default is 1000.)
FIT_OPTIONS: dict[str, Any] = {}


@dataclass(frozen=True)
class Curve:
    """One evaluation: its key and the training / held-out points (x ascending)."""

    domain: str
    task: str
    model: str
    x_train: FloatArray
    y_train: FloatArray
    x_test: FloatArray
    y_test: FloatArray


def load_curves(table: pd.DataFrame, source: str = "table") -> list[Curve]:
    """The evaluations of a benchmark table, duplicate rows dropped (the LM curves repeat)."""
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ScalingLabError(
            f"{source} lacks column(s) {missing}; the benchmark needs {list(COLUMNS)}"
        )
    for col in ("Seen Examples", "Loss", "Training"):
        if not pd.api.types.is_numeric_dtype(table[col]):
            raise ScalingLabError(f"column {col!r} of {source} must be numeric")
    # The score is a log error and the laws take log x: an empty, infinite or non-positive value
    # would score as ∞ or NaN (an inf Seen Examples surfaced as "the extrapolation horizon must
    # be > 0, got inf"). Row numbers are the table's, counted before duplicates are dropped.
    for col in ("Seen Examples", "Loss"):
        values = table[col].to_numpy(dtype=float)
        bad = ~(np.isfinite(values) & (values > 0))  # NaN fails both tests
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            what = "is empty" if math.isnan(values[row]) else f"holds {values[row]:g}"
            raise ScalingLabError(
                f"column {col!r} of {source} {what} at data row {row + 1}; every 'Seen "
                "Examples' and 'Loss' must be a finite number > 0 (the benchmark scores log "
                "errors): fix or drop that row"
            )
    df = table[list(COLUMNS)].drop_duplicates()
    curves = []
    for (domain, task, model), g in df.groupby(["Domain", "Task", "Model"], sort=False):
        g = g.sort_values("Seen Examples", kind="stable")
        train, test = g[g["Training"] == 1], g[g["Training"] == 0]
        name = f"evaluation ({domain}, {task}, {model}) of {source}"
        if train.empty or test.empty:
            lacking = "1 (points to fit)" if train.empty else "0 (held-out points to score)"
            raise ScalingLabError(
                f"{name} has no rows with Training == {lacking}; it needs rows with "
                "Training == 1 and rows with Training == 0"
            )
        # auto selects by backtesting the training part, which takes MIN_BACKTEST_POINTS
        # distinct x values; with fewer it selects nothing (one default law) and the laws with
        # more parameters than points score ∞: the benchmark would measure nothing, exiting 0.
        n_values = train["Seen Examples"].nunique()
        if n_values < MIN_BACKTEST_POINTS:
            raise ScalingLabError(
                f"{name} has {n_values} distinct 'Seen Examples' value(s) with Training == 1; "
                f"the benchmark needs at least {MIN_BACKTEST_POINTS} (as many as auto "
                "backtests on): add training rows or drop that evaluation"
            )
        curves.append(
            Curve(
                str(domain),
                str(task),
                str(model),
                train[["Seen Examples"]].to_numpy(float, copy=True),
                train["Loss"].to_numpy(float, copy=True),
                test[["Seen Examples"]].to_numpy(float, copy=True),
                test["Loss"].to_numpy(float, copy=True),
            )
        )
    if not curves:
        raise ScalingLabError(f"{source} has no rows")
    return curves


def fit_single(cand: Candidate, x: FloatArray, y: FloatArray) -> ScalingLaw:
    """The candidate law fitted to (x, y) on its whole start grid, with FIT_OPTIONS."""
    law = cand.make(**FIT_OPTIONS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return law.fit(x, y)


def _interval_hits(law: ScalingLaw, x: FloatArray, y: FloatArray) -> list[bool | None]:
    """Per held-out point: is it inside the 90% interval (None: the law gives no interval)."""
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # draws that overflow are dropped
            lo, hi = law.predict_interval(x, LEVEL)
    except ScalingLabError:
        return [None] * len(y)
    return [
        None if not (math.isfinite(a) and math.isfinite(b)) else bool(a <= v <= b)
        for a, b, v in zip(lo, hi, y, strict=True)
    ]


def evaluate_curve(
    curve: Curve, candidates: Sequence[Candidate] = DEFAULT_CANDIDATES
) -> dict[str, Any]:
    """RMSE and interval hits of every candidate law and of `auto` on one evaluation."""
    with torch_threads(1):  # many tiny kernels: one thread is faster (see fitting.threads)
        return _evaluate_curve(curve, candidates)


def _evaluate_curve(curve: Curve, candidates: Sequence[Candidate]) -> dict[str, Any]:
    t0 = time.perf_counter()
    rmse: dict[str, float] = {}
    hits: dict[str, list[bool | None]] = {}
    fits: dict[str, ScalingLaw] = {}
    for cand in candidates:
        try:
            law = fit_single(cand, curve.x_train, curve.y_train)
        except ScalingLabError:
            rmse[cand.label] = math.inf
            hits[cand.label] = [None] * len(curve.y_test)
            continue
        fits[cand.label] = law
        rmse[cand.label] = rmse_log(law.predict(curve.x_test), curve.y_test)
        hits[cand.label] = _interval_hits(law, curve.x_test, curve.y_test)
    # auto: backtests at the curve's own horizon choose a law; it is refitted and calibrated.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        auto, sel = auto_fit(
            curve.x_train,
            curve.y_train,
            target=float(curve.x_test.max()),
            # The default candidates are the single laws compared; auto keeps its own (its rule's)
            # unless the user names others.
            candidates=None
            if tuple(candidates) == DEFAULT_CANDIDATES
            else [c.label for c in candidates],
            options=FIT_OPTIONS,
        )
    rmse["auto"] = rmse_log(auto.predict(curve.x_test), curve.y_test)
    hits["auto"] = _interval_hits(auto, curve.x_test, curve.y_test)
    return {
        "domain": curve.domain,
        "task": curve.task,
        "model": curve.model,
        "n_train": len(curve.y_train),
        "n_test": len(curve.y_test),
        "rmse": rmse,
        "hits": hits,
        "auto_choice": sel.chosen,
        "auto_reason": sel.reason,
        "seconds": time.perf_counter() - t0,
    }


def winners(rmse: dict[str, float]) -> list[str]:
    """Estimators with the lowest RMSE; equal to within TIE_RTOL they share the win."""
    finite = {k: v for k, v in rmse.items() if math.isfinite(v)}
    if not finite:
        return []
    best = min(finite.values())
    return [k for k, v in finite.items() if v <= best * (1 + TIE_RTOL) + 1e-15]


def summarise(evaluations: Sequence[dict[str, Any]], names: Sequence[str]) -> dict[str, Any]:
    """Median RMSE, win rate and 90% coverage per estimator, and a one-line summary."""
    n = len(evaluations)
    wins = {name: 0 for name in names}
    for ev in evaluations:
        for name in winners(ev["rmse"]):
            wins[name] += 1
    estimators: dict[str, dict[str, Any]] = {}
    for name in names:
        values = [ev["rmse"][name] for ev in evaluations]
        pooled = [h for ev in evaluations for h in ev["hits"][name] if h is not None]
        n_points = sum(len(ev["hits"][name]) for ev in evaluations)
        estimators[name] = {
            "median_rmse": float(np.median(values)),
            "win_rate": wins[name] / n if n else math.nan,
            "coverage90": float(np.mean(pooled)) if pooled else math.nan,
            "n_intervals": len(pooled),
            "n_points": n_points,
        }
    singles = [k for k in names if k != "auto"]
    best_single = min(singles, key=lambda k: estimators[k]["median_rmse"])
    auto = estimators["auto"]
    summary = (
        f"{n} evaluations: auto median RMSE {auto['median_rmse']:.4g} (best single law "
        f"{best_single} {estimators[best_single]['median_rmse']:.4g}), win rate "
        f"{auto['win_rate']:.0%} (best single law "
        f"{max(estimators[k]['win_rate'] for k in singles):.0%}), 90% intervals cover "
        f"{auto['coverage90']:.1%} of {auto['n_intervals']} held-out points"
    )
    return {"estimators": estimators, "summary": summary}


def run_benchmark(
    table: pd.DataFrame,
    *,
    source: str = "table",
    workers: int = 1,
    candidates: Sequence[Candidate] = DEFAULT_CANDIDATES,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run every evaluation of `table` (one process per worker) and summarise.

    The estimators are `candidates` (default: M1-M4, BNSL with 1 and 2 breaks, power_const)
    and `auto`, which selects among them.
    """
    curves = load_curves(table, source)
    names = [*(c.label for c in candidates), "auto"]
    if workers < 1:
        raise ScalingLabError("workers must be >= 1")
    evaluations: list[dict[str, Any]] = []
    if workers == 1:
        for curve in curves:
            evaluations.append(evaluate_curve(curve, candidates))
            if progress is not None:
                progress(evaluations[-1])
    else:
        with worker_pool(workers) as pool:
            for ev in pool.map(evaluate_curve, curves, [candidates] * len(curves)):
                evaluations.append(ev)
                if progress is not None:
                    progress(ev)
    out = summarise(evaluations, names)
    return {
        "estimators": out["estimators"],
        "evaluations": [
            {k: v for k, v in ev.items() if k != "hits"}
            | {
                "coverage90": {
                    name: (float(np.mean(h)) if (h := [x for x in hits if x is not None]) else None)
                    for name, hits in ev["hits"].items()
                }
            }
            for ev in evaluations
        ],
        "summary": out["summary"],
    }
