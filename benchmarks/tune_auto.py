"""Tune the auto rule leave-one-source-out on the development corpus, and score it.

    .venv/bin/python benchmarks/tune_auto.py [--workers 2] [--as-run] [--cache FILE.json.gz]

1. Fits (slow, cached): for every problem of scalinglab.selection.corpus, each candidate law
   fitted on the training part and its backtests at the problem's horizon
   (scalinglab.selection.backtest): by default in 200 iterations from the best of 64 starts
   (the README's table); with `--as-run` as `auto_fit` fits them (`problem_fits`).
2. Rules (fast): every configuration of the knob grid below applied to the cached fits. The
   stacks pull toward a prior, the mixture of the laws that best predicted the tuning problems
   (`learn_priors`, rule.mixture_prior): a knob learned from outcomes, so it is learned again
   for each split on its tuning sources only (`--stack-toward learned`; the default `equal`:
   toward equal weights, the shipped DEFAULT_RULE; `both`: the two kinds of stack as rivals).
   `--family ic` puts the information-criterion rules (rule combine "ic": Akaike weights of
   the full fits) in the grid, `hybrid` the stacks toward those weights (rule toward "ic"),
   `all` every family; `--widening-only` keeps only intervals that widen with the distance;
   `--small-ridges` adds stacks with ridges below 0.1, `--crossfit` every stack calibrated
   with cross-fitted weights (RuleConfig.crossfit). `--fresh-source` adds the fresh study
   draws of benchmarks/fresh_cache.py as a source of their own, or with `--fresh-as studies`
   to the source they redraw. The outcomes are held column-wise (an OutcomeTable: the full
   grid on six sources has 19 million).
3. Leave one source out (scalinglab.selection.protocol, with `learn` for the priors): for each
   source, the configuration is chosen on the other sources and scored on it. Printed: that
   table next to the single laws, and the configuration chosen on all sources with the prior
   learned on all of them (in-sample: the one to ship as DEFAULT_RULE).
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import math
import re
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scalinglab.errors import FitWarning, ScalingLabError
from scalinglab.fitting.calibration import POOLS, Calibration, column_spread
from scalinglab.fitting.subsets import SubsetFit
from scalinglab.laws.base import ScalingLaw
from scalinglab.parallel import worker_pool
from scalinglab.selection import protocol
from scalinglab.selection.backtest import (
    BACKTEST_OPTIONS,
    BACKTEST_START_BUDGET,
    FULL_START_BUDGET,
    Candidate,
    CandidateBacktest,
    CurveBacktests,
    backtest_curve,
    candidate,
    residual_scale,
)
from scalinglab.selection.corpus import SOURCES, Problem, load_corpus
from scalinglab.selection.outcome_table import OutcomeTable, TableScorer
from scalinglab.selection.rule import (
    CRITERIA,
    DEFAULT_RULE,
    RuleConfig,
    calibrate,
    candidate_scores,
    candidate_weights,
    mixture_prior,
)
from scalinglab.tasks import ERROR_RATE_METRICS

LABELS = protocol.STANDARD
MAX_CUTS = 4
LEVEL = 0.9
# Every fit here stops after 200 iterations (the backtests' budget; the benchmark's single-law fits
# allowed 500 until 2026-12-05 and now the laws' default 1000): in one batch the slowest row sets
# the pace, and a few rows of M4 and BNSL creep along flat valleys to any limit. It moves the
# single laws' median RMSE by < 1%.
FIT_OPTIONS = {"max_iter": 200, "tol": 1e-10}
CACHE = Path("benchmarks/data/tune_cache.json.gz")
AS_RUN_CACHE = Path("benchmarks/data/tune_cache_as_run.json.gz")
# the fresh study sets that join the corpus (`--fresh-source`) by default: the sources of every
# leave-one-source-out table logged since 2026-12-06 17:49 (docs/auto-tuning-log.md)
FRESH_SETS = ["fresh", "fresh2", "fresh3"]
# the sets each spent by a registered check since (fresh4–fresh6), fitted into the same cache
# on 2026-12-07: `--fresh-sets` can add them to tuning; fresh7 is kept unread for the next check
SPENT_FRESH_SETS = ["fresh4", "fresh5", "fresh6"]
# The rule shipped on the morning of 2026-12-07: scores in units of the fits' σ, growth 1 past
# the backtests' reach, scale 2.9868 (`DEFAULT_RULE` until the log-unit rule replaced it). Its
# records on fresh sets 1-7 are study_<SET>_<SIGMA_RECORDS>_outcomes.jsonl; scripts that read
# them, or reproduce a table logged before that day's later change, start from it.
SIGMA_RULE = DEFAULT_RULE.with_(units="sigma", beyond=1.0, scale=2.9868)
SIGMA_RECORDS = "rule-2026-12-07-sigma"


# ------------------------------------------------------------------------------------------------
# 1. Fits
# ------------------------------------------------------------------------------------------------
def problem_fits(
    problem: Problem,
    as_run: bool = False,
    labels: Sequence[str] = LABELS,
    backtest_starts: int | None = None,
) -> dict[str, Any]:
    """Everything the rules need about one problem, as JSON-ready lists, for the candidate
    laws `labels` (each law's fits are one batched solve of its own, so a law's entries do not
    depend on which others are fitted with it).

    `as_run`: the fits `auto_fit` makes — backtests and the full fits that the information
    criteria read with its own options (BACKTEST_OPTIONS, FULL_START_BUDGET starts), and each
    candidate's prediction from the law fitted with its defaults (its whole start grid, as
    `fit --law X` and auto's final fit do). Otherwise the faster fits of the README's table
    (200 iterations; the predictions refitted from the best of FULL_START_BUDGET starts).

    `backtest_starts`: the backtests and the full fits the criteria read start from that many
    points of each law's grid instead, and the single-law fits (which do not depend on it) are
    left out (`singles` is empty)."""
    import torch

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    x, y = np.array(problem.x_train, dtype=float), np.array(problem.y_train, dtype=float)
    xt = np.array(problem.x_test, dtype=float)
    horizon = float(np.log(xt.max() / x.max()))
    singles: dict[str, Any] = {}
    cands = [candidate(c) for c in labels]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", FitWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        # Backtests and the fit on all training points in one batched solve per law; the latter
        # from FULL_START_BUDGET starts (64; the README's cached table).
        bt = backtest_curve(
            x, y, cands, horizon=horizon, n_cuts=MAX_CUTS,
            options=BACKTEST_OPTIONS if as_run else FIT_OPTIONS,
            start_budget=backtest_starts or BACKTEST_START_BUDGET,
            full_start_budget=backtest_starts or FULL_START_BUDGET,
        )  # fmt: skip
        for cand in cands if backtest_starts is None else ():
            law = _single_fit(cand, bt.full.get(cand.label), x, y, as_run)
            if isinstance(law, str):
                singles[cand.label] = {"error": law}
                continue
            pred = law.predict(xt[:, None])
            lo, hi = protocol._interval(law, xt, LEVEL)
            log_fit = np.log(law.predict(x[:, None]))
            singles[cand.label] = {
                "log_pred": np.log(pred).tolist(),
                "lo": lo.tolist(),
                "hi": hi.tolist(),
                "noise": residual_scale(log_fit, np.log(y), cand.n_free()),
            }
    return {
        "id": problem.id,
        "horizon": horizon,
        "singles": singles,
        "cuts": bt.cuts,
        "backtests": {
            k: {
                "log_pred": [p.tolist() for p in cb.log_pred],
                "noise": cb.noise,
                "n_free": cb.n_free,
            }
            for k, cb in bt.candidates.items()
        },
        # what the information criteria read: auto's are the batched full fits' residual scales
        "full_noise": bt.full_noise if as_run else None,
        "seconds": time.perf_counter() - t0,
        "as_run": as_run,
    }


def _single_fit(
    cand: Candidate, fit: SubsetFit | None, x: np.ndarray, y: np.ndarray, as_run: bool
) -> ScalingLaw | str:
    """The candidate fitted on the problem's training points (problem_fits says how), or why
    it could not be."""
    if as_run:  # ScalingLaw.fit refuses more parameters than points: caught below
        law = cand.make()
    elif fit is None:
        return "no finite fit"
    else:
        # Refit from the optimum (one start): the law's covariance for its parameter band.
        starts = {n: (fit.params[n],) for n in cand.make().free_params()}
        law = cand.make(**FIT_OPTIONS, starts=starts)
    try:
        return law.fit(x[:, None], y)
    except ScalingLabError as exc:
        return str(exc)


def split_sets(text: str) -> list[str]:
    """The fresh sets of a comma-separated `--fresh-sets`; only sets already read may be named,
    so that a set kept for a registered check is not fitted by a tuning run by mistake."""
    sets = [name.strip() for name in text.split(",") if name.strip()]
    if unread := [name for name in sets if name not in FRESH_SETS + SPENT_FRESH_SETS]:
        raise SystemExit(
            f"--fresh-sets: {', '.join(unread)} not among the sets read so far "
            f"({', '.join(FRESH_SETS + SPENT_FRESH_SETS)}); a set kept unread is for a "
            "registered check (benchmarks/fresh_draws.py), not for tuning"
        )
    return sets


def read_cache(cache: Path) -> dict[str, Any]:
    """The cached fits (JSON, gzipped when the name ends in .gz); empty when there is none."""
    if not cache.exists():
        return {}
    raw = cache.read_bytes()
    data: dict[str, Any] = json.loads(gzip.decompress(raw) if cache.suffix == ".gz" else raw)
    return data


def load_or_compute(
    problems: list[Problem],
    cache: Path,
    workers: int,
    as_run: bool = False,
    labels: Sequence[str] = LABELS,
    backtest_starts: int | None = None,
) -> dict[str, Any]:
    done = read_cache(cache)
    if any(bool(rec.get("as_run")) != as_run for rec in done.values()):
        raise SystemExit(f"{cache} holds fits of the other kind (--as-run): name another --cache")
    todo = [p for p in problems if p.id not in done]
    print(f"fits: {len(done)} cached, {len(todo)} to compute", flush=True)
    t0 = time.perf_counter()

    def save() -> None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(cache.name + ".tmp")
        text = json.dumps(done, allow_nan=True).encode()
        tmp.write_bytes(gzip.compress(text) if cache.suffix == ".gz" else text)
        tmp.replace(cache)

    with worker_pool(workers) as pool:
        fits = pool.map(
            problem_fits,
            todo,
            itertools.repeat(as_run),
            itertools.repeat(labels),
            itertools.repeat(backtest_starts),
            chunksize=1,
        )
        for i, rec in enumerate(fits):
            done[rec["id"]] = rec
            if i % 10 == 9 or i == len(todo) - 1:
                save()
                print(f"  {i + 1}/{len(todo)} ({time.perf_counter() - t0:.0f} s)", flush=True)
    return done


# ------------------------------------------------------------------------------------------------
# 2. Rules on cached fits
# ------------------------------------------------------------------------------------------------
def backtests_of(problem: Problem, rec: dict[str, Any], n_cuts: int) -> CurveBacktests:
    cands = {
        k: CandidateBacktest(
            k,
            int(v["n_free"]),
            [np.asarray(p, dtype=float) for p in v["log_pred"][:n_cuts]],
            [float(s) for s in v["noise"][:n_cuts]],
        )
        for k, v in rec["backtests"].items()
    }
    # the residual scales the information criteria read: the --as-run fits keep auto's own
    noise = rec.get("full_noise") or {
        k: s.get("noise", math.nan) for k, s in rec["singles"].items()
    }
    return CurveBacktests(
        np.asarray(problem.x_train, dtype=float),
        np.asarray(problem.y_train, dtype=float),
        float(rec["horizon"]),
        list(rec["cuts"])[:n_cuts],
        cands,
        full_noise={k: float(noise[k]) for k in cands},
        group=rec.get("group", []),
    )


N_CUTS = (2, 3, 4)
SCORES = ("far", "rmse")
# (combine, knobs) pairs; stacking ignores the score except to know who is eligible, so it runs
# with the "far" score only.
SCORED: tuple[dict[str, Any], ...] = (
    {"combine": "best"},
    {"combine": "simplest"},
    {"combine": "average", "temperature": 0.5},
    *({"combine": "ic", "criterion": c, "temperature": t} for c in CRITERIA for t in (0.0, 1.0)),
)
STACKS: tuple[dict[str, Any], ...] = tuple(
    {"combine": "stack", "ridge": r, "distance_power": p}
    for r in (0.1, 0.3, 1.0, 3.0)
    for p in (0.0, 1.0, 2.0)
)
# --small-ridges: weakly regularised stacks toward equal weights (README: sharper, but their
# coverage does not carry over to a left-out source).
SMALL_RIDGE_STACKS: tuple[dict[str, Any], ...] = tuple(
    {"combine": "stack", "ridge": r, "distance_power": p}
    for r in (0.0, 0.003, 0.01, 0.03)
    for p in (0.0, 1.0, 2.0)
)
# Stacks toward the Akaike (or BIC) weights of the full fits (rule.stack_toward_ic).
IC_STACKS: tuple[dict[str, Any], ...] = tuple(
    {**knobs, "toward": "ic", "criterion": c, "temperature": 1.0}
    for knobs in STACKS
    for c in CRITERIA
)
COMBINES = SCORED + STACKS + IC_STACKS


def family(knobs: dict[str, Any]) -> str:
    """The `--family` a way of weighing belongs to."""
    if knobs["combine"] == "ic":
        return "ic"
    return "hybrid" if knobs.get("toward") == "ic" else "backtest"


CANDIDATE_SETS: dict[str, tuple[str, ...]] = {
    "all": LABELS,
    "no-m1": tuple(c for c in LABELS if c != "m1"),
    "saturating": ("m2", "m3", "m4", "bnsl1"),
}
GROWTHS = (0.0, 0.5, 1.0)
BEYONDS = (0.0, 0.5, 1.0)  # --beyond: the interval's extra growth past the backtests' reach
# The interval knobs (growth, beyond, pool) of the grid without --beyond, --pool or
# --widening-only.
Interval = tuple[float, float, str]
INTERVALS: tuple[Interval, ...] = tuple((g, 0.0, "conformal") for g in GROWTHS)
SCALES = (0.8, 1.0, 1.25, 1.6, 2.0, 2.5, 2.8, 3.2, 3.6, 4.0, 4.5, 5.0)


Prior = tuple[tuple[str, float], ...]


def grid_bases(
    combines: tuple[dict[str, Any], ...],
) -> Iterator[tuple[str, dict[str, Any], RuleConfig]]:
    """The grid's configurations without their interval knobs, as (candidate-set name, way of
    weighing, configuration), grouped by (cuts, score): stacks and information criteria need no
    score of their own, so they run with the "far" score only."""
    for n_cuts, score in itertools.product(N_CUTS, SCORES):
        for (set_name, cset), knobs in itertools.product(CANDIDATE_SETS.items(), combines):
            if knobs["combine"] in ("stack", "ic") and score != "far":
                continue
            yield set_name, knobs, RuleConfig(candidates=cset, n_cuts=n_cuts, score=score, **knobs)


def with_interval(base: RuleConfig, interval: Interval, scale: float) -> RuleConfig:
    growth, beyond, pool = interval
    return base.with_(growth=growth, beyond=beyond, pool=pool, scale=scale)


def scored_backtests(
    problem: Problem, rec: dict[str, Any], n_cuts: int, score: str
) -> tuple[CurveBacktests, dict[str, float]]:
    """The problem's backtests at `n_cuts` cuts, from its cached fits, and every candidate's
    backtest score (none when no cut fits)."""
    bt = backtests_of(problem, rec, n_cuts)
    config = RuleConfig(candidates=tuple(rec["backtests"]), n_cuts=n_cuts, score=score)
    return bt, (candidate_scores(bt, config) if bt.cuts else {})


def combined(
    rec: dict[str, Any], bt: CurveBacktests, scores: dict[str, float], config: RuleConfig
) -> tuple[dict[str, float], np.ndarray, float] | None:
    """The configuration's weights over the cached single-law fits, the weighted log prediction
    at the held-out x and the weighted noise; None when too short to backtest."""
    singles = rec["singles"]
    usable = {k for k in scores if "error" not in singles[k]}
    try:
        w = candidate_weights(bt, {k: scores[k] for k in config.candidates if k in usable}, config)
    except ScalingLabError:
        return None
    if not w:
        return None
    log_pred = sum(wi * np.asarray(singles[k]["log_pred"], dtype=float) for k, wi in w.items())
    noise = float(sum(wi * singles[k]["noise"] for k, wi in w.items()))
    return w, np.asarray(log_pred), noise


def criteria_from_final(fits: dict[str, Any]) -> None:
    """Make the information criteria read each candidate's whole-grid fit, the fit that
    predicts (`RuleConfig.criteria_fits = "whole"`), in place of its batched 64-start fit:
    without the cached full fits' residual scales, `backtests_of` reads the singles'."""
    for rec in fits.values():
        rec["full_noise"] = None


def fallback_fit(rec: dict[str, Any]) -> dict[str, Any]:
    """The default law's cached fit, which a problem too short to backtest is predicted by
    (with its parameter band)."""
    singles = rec["singles"]
    usable = [c for c in LABELS if "error" not in singles[c]]
    return singles["power_const" if "power_const" in usable else usable[0]]


def rule_outcomes(
    problem: Problem,
    rec: dict[str, Any],
    combines: tuple[dict[str, Any], ...] = COMBINES,
    priors: dict[str, Prior] | None = None,
    intervals: tuple[Interval, ...] = INTERVALS,
) -> list[protocol.Outcome]:
    """Every configuration of the grid on one problem, from its cached fits; `intervals` are
    the (growth, beyond, pool) triples to calibrate with.

    `combines` are the ways of weighing to run; with `priors` (candidate-set name -> prior), the
    stacks pull toward the prior of their candidate set instead of equal weights.

    The grid is walked so that each expensive step runs once: scores per (cuts, score), weights
    per candidate set and combination, calibration per (growth, beyond); the pooling only reads
    the calibration's scores, and the scale only multiplies.
    """
    x_test = np.asarray(problem.x_test, dtype=float)
    y_test = np.asarray(problem.y_test, dtype=float)
    log_y = np.log(y_test)
    out = []
    backtests: dict[tuple[int, str], tuple[CurveBacktests, dict[str, float]]] = {}
    for set_name, knobs, base in grid_bases(combines):
        key = (base.n_cuts, base.score)
        if key not in backtests:
            backtests[key] = scored_backtests(problem, rec, base.n_cuts, base.score)
        bt, scores = backtests[key]
        if priors is not None and family(knobs) == "backtest" and knobs["combine"] == "stack":
            base = base.with_(prior=priors[set_name])
        weighed = combined(rec, bt, scores, base)
        if weighed is None:  # too short to backtest: the default law with its parameter band
            s = fallback_fit(rec)
            for interval, scale in itertools.product(intervals, SCALES):
                name = with_interval(base, interval, scale).key
                out.append(outcome(problem, name, np.exp(s["log_pred"]), s["lo"], s["hi"]))
            continue
        w, log_pred, noise = weighed
        rmse = protocol.rmse_log(np.exp(log_pred), y_test)
        calibrations: dict[tuple[float, float], Calibration] = {}
        for growth, beyond, pool in intervals:
            knobs_i = with_interval(base, (growth, beyond, pool), 1.0)
            if (growth, beyond) not in calibrations:
                calibrations[growth, beyond] = calibrate(bt, w, knobs_i, noise)
            cal = replace(calibrations[growth, beyond], pool=pool)
            half = cal.half_width(x_test, LEVEL)
            out += scaled(problem, knobs_i, rmse, np.abs(log_y - log_pred), half)
    return out


def scaled(
    problem: Problem,
    config: RuleConfig,
    rmse: float,
    log_error: np.ndarray,
    half: np.ndarray,
    scales: Sequence[float] = SCALES,
    spread: np.ndarray | None = None,
) -> list[protocol.Outcome]:
    """`config` at every scale of `scales` on one problem, from each held-out point's absolute
    log error and the interval's half-width at scale 1 (no interval where it is not finite);
    `spread`, the laws' spread term k·s(x) at each point, joins the half-width in quadrature
    (`RuleConfig.model_spread`)."""
    finite = np.isfinite(half)
    miss = log_error / half  # in half-widths at scale 1: one division for every scale
    rel = None if spread is None else np.asarray(spread, dtype=float) / half
    return [
        protocol.Outcome(
            source=problem.source,
            problem=problem.id,
            rule=config.with_(scale=scale).key,
            horizon=problem.horizon,
            rmse=rmse,
            hits=tuple(
                bool(h) if f else None
                for h, f in zip(
                    miss <= (scale if rel is None else np.hypot(scale, rel)), finite, strict=True
                )
            ),
        )
        for scale in scales
    ]


def laws_spread(rec: dict[str, Any], candidates: Sequence[str]) -> np.ndarray:
    """s(x) at the held-out x from the cached single-law fits (`laws.base.laws_spread` on the
    fits auto makes): the standard deviation of the candidates' log predictions."""
    preds = [
        np.asarray(rec["singles"][k]["log_pred"], dtype=float)
        for k in candidates
        if "error" not in rec["singles"][k]
    ]
    return column_spread(np.vstack(preds)) if preds else np.zeros(0)


def grid_configs(
    combines: tuple[dict[str, Any], ...], intervals: tuple[Interval, ...] = INTERVALS
) -> dict[str, RuleConfig]:
    """Every configuration rule_outcomes scores, by key (stacks toward equal weights only)."""
    configs = (
        with_interval(base, interval, scale)
        for _, _, base in grid_bases(combines)
        for interval, scale in itertools.product(intervals, SCALES)
    )
    return {config.key: config for config in configs}


def is_error_rate(problem: Problem) -> bool:
    """Whether the problem's curve measures an error rate, as `study fit` tells auto: the image
    and speech studies' per-shard curves (their metric in tasks.ERROR_RATE_METRICS) and lang's
    BIG-bench tasks (domain BB, an error); every other source's curves are losses."""
    meta = problem.meta
    if problem.source == "lang":
        return meta.get("domain") == "BB"
    return str(meta.get("metric", "")) in ERROR_RATE_METRICS


def calibration_of(
    problem: Problem, rec: dict[str, Any], config: RuleConfig
) -> tuple[np.ndarray, Calibration] | None:
    """One configuration on one problem, from its cached fits: the log prediction at the held-
    out x and its calibration at the scale the curve gets; None when too short to backtest. A
    long curve (`RuleConfig.for_curve`) reads its criteria off the whole-grid fits
    (`criteria_from_final`) and is calibrated at long_scale; an error-rate curve
    (`is_error_rate`) at error_scale."""
    kind = config.for_error_rate() if is_error_rate(problem) else config
    own = kind.for_curve(len(set(problem.x_train)))
    if own is not kind:
        rec = {**rec, "full_noise": None}
    bt, scores = scored_backtests(problem, rec, own.n_cuts, own.score)
    weighed = combined(rec, bt, scores, own)
    if weighed is None:
        return None
    w, log_pred, noise = weighed
    return np.asarray(log_pred), calibrate(bt, w, own, noise)


def calibrated(
    problem: Problem, rec: dict[str, Any], config: RuleConfig
) -> tuple[np.ndarray, np.ndarray] | None:
    """`calibration_of`'s log prediction and its interval's log half-width at scale 1 — a long
    curve's times long_scale / scale, so that at the config's own scale its interval is at
    long_scale (scanned scales move both)."""
    band = calibration_of(problem, rec, config)
    if band is None:
        return None
    log_pred, cal = band
    half = cal.half_width(np.asarray(problem.x_test, dtype=float), LEVEL)
    return log_pred, half / config.scale


def log_band(
    problem: Problem, rec: dict[str, Any], config: RuleConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One configuration on one problem, from its cached fits, as rule_outcomes scores it: the
    log prediction at the held-out x and the log bounds of its 90% interval."""
    band = calibrated(problem, rec, config)
    if band is None:  # too short to backtest: the default law with its parameter band
        s = fallback_fit(rec)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (
                np.asarray(s["log_pred"], dtype=float),
                np.log(np.asarray(s["lo"], dtype=float)),
                np.log(np.asarray(s["hi"], dtype=float)),
            )
    log_pred, half = band
    half = half * config.scale
    return log_pred, log_pred - half, log_pred + half


def single_outcomes(problems: Sequence[Problem], fits: dict[str, Any]) -> list[protocol.Outcome]:
    """Each single law's cached prediction and parameter band on every problem (NaN where the
    law could not be fitted): the yardstick of the choices."""
    out = []
    for p in problems:
        for label in LABELS:
            s = fits[p.id]["singles"][label]
            if "error" in s:
                nan = [math.nan] * len(p.x_test)
                out.append(outcome(p, label, nan, nan, nan))
            else:
                out.append(outcome(p, label, np.exp(s["log_pred"]), s["lo"], s["hi"]))
    return out


def ensemble_outcome(
    problem: Problem, rec: dict[str, Any], configs: Sequence[RuleConfig], name: str
) -> protocol.Outcome:
    """The configurations averaged: the mean of their log predictions, and of their log
    interval bounds."""
    bands = np.array([log_band(problem, rec, c) for c in configs])  # (configs, 3, points)
    log_pred, lo, hi = bands.mean(axis=0)
    return outcome(problem, name, np.exp(log_pred), np.exp(lo), np.exp(hi))


def ensemble_loso(
    problems: list[Problem],
    fits: dict[str, Any],
    outcomes: OutcomeTable,
    configs: dict[str, RuleConfig],
    k: int,
) -> tuple[list[protocol.Outcome], pd.DataFrame]:
    """Leave one source out with the chooser ensemble: per split, the k configurations first in
    protocol.default_ranking on the tuning sources' outcomes, averaged (ensemble_outcome) on the
    left-out source's problems. Returns the ensembles' outcomes and a (left_out, chosen) frame."""
    sources = list(dict.fromkeys(p.source for p in problems))
    scored: list[protocol.Outcome] = []
    rows = []
    for held in sources:
        tuning_ids = [p.id for p in problems if p.source != held]
        tuning = outcomes.summary(None, LABELS, tuning_ids)
        top = [configs[name] for name in protocol.default_ranking(tuning)[:k]]
        name = f"ensemble{k}-without-{held}"
        # log_band must score a configuration as rule_outcomes did: check it on one problem
        first = next(p for p in problems if p.source == held)
        alone = ensemble_outcome(first, fits[first.id], top[:1], top[0].key)
        (grid,) = outcomes.outcomes([top[0].key], [first.id])
        assert math.isclose(alone.rmse, grid.rmse, rel_tol=1e-9) and alone.hits == grid.hits
        scored += [ensemble_outcome(p, fits[p.id], top, name) for p in problems if p.source == held]
        rows.append({"left_out": held, "chosen": name, "members": [c.key for c in top]})
    return scored, pd.DataFrame(rows)


def _rule_outcomes(
    args: tuple[
        Problem,
        dict[str, Any],
        tuple[dict[str, Any], ...],
        dict[str, Prior] | None,
        tuple[Interval, ...],
    ],
) -> OutcomeTable:
    table = OutcomeTable()
    table.add(rule_outcomes(*args))
    return table


def grid_outcomes(
    problems: list[Problem],
    fits: dict[str, Any],
    combines: tuple[dict[str, Any], ...],
    priors: dict[str, Prior] | None,
    workers: int,
    intervals: tuple[Interval, ...] = INTERVALS,
    into: OutcomeTable | None = None,
) -> OutcomeTable:
    """rule_outcomes on every problem, in `workers` processes, added to `into` (default: a new
    table). Column-wise: the six-source grid has 19 million outcomes."""
    table = OutcomeTable() if into is None else into
    tasks = [(p, fits[p.id], combines, priors, intervals) for p in problems]
    with worker_pool(workers) as pool:
        for result in pool.map(_rule_outcomes, tasks, chunksize=8):
            table.merge(result)
    return table


def learn_priors(tuning: list[Problem], fits: dict[str, Any]) -> dict[str, Prior]:
    """Per candidate set, the fixed mixture of its laws that best predicted the held-out points
    of the `tuning` problems (rule.mixture_prior): the prior the stacks pull toward. Reads the
    cached single-law predictions and y_test of those problems only."""
    priors = {}
    for name, cset in CANDIDATE_SETS.items():
        rows = []
        for p in tuning:
            singles = fits[p.id]["singles"]
            cols = [
                np.asarray(singles[c]["log_pred"], dtype=float)
                if "error" not in singles[c]
                else np.full(len(p.x_test), np.nan)
                for c in cset
            ]
            rows.append((p.source, np.stack(cols, axis=1), np.log(np.asarray(p.y_test))))
        priors[name] = mixture_prior(rows, cset)
    return priors


def outcome(problem: Problem, rule: str, pred: Any, lo: Any, hi: Any) -> protocol.Outcome:
    y = np.asarray(problem.y_test, dtype=float)
    hits = tuple(
        None if not (math.isfinite(a) and math.isfinite(b)) else bool(a <= v <= b)
        for a, b, v in zip(lo, hi, y, strict=True)
    )
    return protocol.Outcome(
        source=problem.source,
        problem=problem.id,
        rule=rule,
        horizon=problem.horizon,
        rmse=protocol.rmse_log(np.asarray(pred, dtype=float), y),
        hits=hits,
    )


def point_knobs(key: str) -> str:
    """A configuration's key without its interval knobs (growth, beyond, cross-fitting, pooling,
    scale): what it predicts. The criteria's fits (-w) weigh the laws, so they stay."""
    return re.sub(r"-g[^-]+(-b[^-]+)?(-x)?(-w)?(-pg)?-s[^-]+", lambda m: m.group(3) or "", key)


def family_of_key(key: str) -> str:
    """The `--family` of a configuration, from its key (see `family`)."""
    head = key.split("-", 1)[0]
    if head.startswith("ic"):
        return "ic"
    return "hybrid" if re.search(f"({'|'.join(CRITERIA)})T", head) else "backtest"


CHOOSERS: dict[str, protocol.Chooser] = {
    "two-stage": lambda summary: protocol.two_stage_choice(summary, point_knobs),
    "coverage-first": protocol.default_choice,
    "nested": lambda summary: protocol.nested_choice(summary, family_of_key),
}


class Precomputed(protocol.Scorer):
    """A Scorer whose outcomes were all computed up front."""

    def __init__(self, outcomes: list[protocol.Outcome]) -> None:
        super().__init__({})
        self._done = {(o.rule, o.problem): o for o in outcomes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument(
        "--as-run",
        action="store_true",
        help="tune on the fits auto_fit makes (problem_fits; cached apart, by default in "
        f"{AS_RUN_CACHE}) instead of the faster ones of {CACHE}",
    )
    parser.add_argument(
        "--sources",
        default=",".join(SOURCES),
        help="the corpus sources to tune on (runs A to E' of docs/auto-tuning-log.md: "
        "lang,datablations,studies,synthetic)",
    )
    parser.add_argument("--fits-only", action="store_true", help="compute the fits, then stop")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument(
        "--cached-only", action="store_true", help="tune on the problems already in the cache"
    )
    parser.add_argument(
        "--choose",
        choices=sorted(CHOOSERS),
        default="coverage-first",
        help="two-stage: point knobs by median RMSE, then interval knobs by coverage; "
        "coverage-first: among configurations covering 85-95%% everywhere, the lowest "
        "worst-source regret against the best single law (protocol.default_choice); nested: "
        "the family (--family) whose coverage-first choices hold best leave one tuning source "
        "out, then coverage-first within it (protocol.nested_choice)",
    )
    parser.add_argument(
        "--stack-toward",
        choices=("learned", "equal", "both"),
        default="equal",
        help="what the stacks' ridge pulls toward: the mixture prior learned on each split's "
        "tuning sources (rule.mixture_prior), equal weights (the grid of 0.1.x), or both as "
        "rival configurations",
    )
    parser.add_argument(
        "--family",
        nargs="+",
        choices=("all", "backtest", "ic", "hybrid"),
        default=["backtest"],
        help="the ways of weighing in the grid: backtest scores and stacks (backtest), "
        "information criteria of the full fits (ic, combine ic), stacks toward the "
        "information criteria's weights (hybrid), or all of them",
    )
    parser.add_argument(
        "--beyond",
        action="store_true",
        help=f"add the interval's extra growth past the backtests' reach to the grid: {BEYONDS}",
    )
    parser.add_argument(
        "--pool",
        choices=(*POOLS, "both"),
        default="conformal",
        help="how the intervals in the grid pool the cuts' quantiles: the conformal quantile "
        "(their largest), their geometric mean, or both as rival configurations",
    )
    parser.add_argument(
        "--criteria-from",
        choices=("batched", "final"),
        default="batched",
        help="with --as-run: the residual scales the information criteria read, those of the "
        "64-start fits auto weighs with (batched) or of the whole-grid fits it predicts with "
        "(final; run E' of docs/auto-tuning-log.md)",
    )
    parser.add_argument(
        "--criteria",
        nargs="+",
        choices=CRITERIA,
        default=["aic", "bic"],
        help="the information criteria of the ic and hybrid families in the grid (aicc: "
        "tried 2026-12-05 and not shipped, docs/auto-tuning-log.md)",
    )
    parser.add_argument(
        "--small-ridges",
        action="store_true",
        help="add stacks with ridges 0, 0.003, 0.01 and 0.03 toward equal weights to the grid",
    )
    parser.add_argument(
        "--crossfit",
        action="store_true",
        help="add each stack calibrated with cross-fitted weights (RuleConfig.crossfit)",
    )
    parser.add_argument(
        "--widening-only",
        action="store_true",
        help="leave out the intervals of constant width (growth 0): only those that widen with "
        "the distance asked for",
    )
    parser.add_argument(
        "--ensemble",
        type=int,
        default=0,
        metavar="K",
        help="also score the chooser ensemble leave one source out: per split, the K "
        "configurations the coverage-first chooser ranks first on the tuning sources, "
        "averaged (their log predictions and log interval bounds)",
    )
    parser.add_argument(
        "--fresh-source",
        action="store_true",
        help="with --as-run: add the fresh study draws (of --fresh-sets) as a source of their "
        "own, 'fresh' (their fits: benchmarks/fresh_cache.py)",
    )
    parser.add_argument(
        "--fresh-sets",
        default=",".join(FRESH_SETS),
        help="with --fresh-source: the fresh sets, comma-separated (the spent ones: "
        f"{','.join(SPENT_FRESH_SETS)})",
    )
    parser.add_argument(
        "--fresh-as",
        default="fresh",
        choices=("fresh", "studies"),
        help="with --fresh-source: the source the fresh draws join, their own or 'studies', "
        "the source they are new draws of (then no split tunes on draws of the studies it "
        "leaves out)",
    )
    args = parser.parse_args()
    if args.cache is None:
        args.cache = AS_RUN_CACHE if args.as_run else CACHE
    if args.fresh_source and not args.as_run:
        parser.error("--fresh-source needs --as-run (the fresh sets' fits are as-run fits)")

    def cached_only(problems: list[Problem], cache: Path) -> list[Problem]:
        if not args.cached_only:
            return problems
        cached = read_cache(cache)
        return [p for p in problems if p.id in cached]

    problems = load_corpus([s.strip() for s in args.sources.split(",") if s.strip()])
    problems = cached_only(problems, args.cache)
    fits = load_or_compute(problems, args.cache, args.workers, args.as_run)
    if args.fresh_source:
        import fresh_cache

        fresh = fresh_cache.fresh_source(args.fresh_as, split_sets(args.fresh_sets))
        fresh = cached_only(fresh, fresh_cache.CACHE)
        fits.update(load_or_compute(fresh, fresh_cache.CACHE, args.workers, as_run=True))
        problems += fresh
    if args.criteria_from == "final":
        criteria_from_final(fits)
    if args.fits_only:
        return
    singles = single_outcomes(problems, fits)
    t0 = time.perf_counter()
    fixed = tuple(
        knobs
        for knobs in SCORED + (STACKS if args.stack_toward != "learned" else ()) + IC_STACKS
        if ("all" in args.family or family(knobs) in args.family)
        and knobs.get("criterion", "aic") in args.criteria
    ) + (SMALL_RIDGE_STACKS if args.small_ridges else ())
    if args.crossfit:
        fixed += tuple({**k, "crossfit": True} for k in fixed if k["combine"] == "stack")
    if args.criteria_from == "final":  # the keys then name the rule auto runs (-w)
        fixed = tuple({**k, "criteria_fits": "whole"} for k in fixed)
    intervals = tuple(
        itertools.product(
            [g for g in GROWTHS if g > 0 or not args.widening_only],
            BEYONDS if args.beyond else (0.0,),
            POOLS if args.pool == "both" else (args.pool,),
        )
    )
    # the nested chooser reads a configuration's family off its key: check that it reads right
    assert all(family_of_key(RuleConfig(**k).key) == family(k) for k in fixed)
    outcomes = OutcomeTable()
    outcomes.add(singles)
    grid_outcomes(problems, fits, fixed, None, args.workers, intervals, into=outcomes)
    print(f"{len(outcomes):,} outcomes: {time.perf_counter() - t0:.0f} s", flush=True)
    grid = [rule for rule in outcomes.rules if rule not in LABELS]
    scorer = TableScorer(outcomes)
    choose = CHOOSERS[args.choose]
    sources = list(dict.fromkeys(p.source for p in problems))
    fold_priors: dict[str, dict[str, Prior]] = {}

    def learn(tuning: Sequence[Problem]) -> tuple[list[str], protocol.Scorer]:
        """The stacks toward the prior learned on `tuning` (never a left-out problem), run on
        every problem: the tuning ones to choose, the left-out ones to score the choice."""
        (held,) = set(sources) - {p.source for p in tuning}
        fold_priors[held] = priors = learn_priors(list(tuning), fits)
        print(f"prior learned without {held}: {priors}", flush=True)
        learned = grid_outcomes(problems, fits, STACKS, priors, args.workers)
        return learned.rules, TableScorer(learned)

    use_learned = args.stack_toward != "equal"
    loso = protocol.leave_one_source_out(
        problems,
        grid,
        choose=choose,
        reference=LABELS,
        scorer=scorer,
        learn=learn if use_learned else None,
    )
    print(f"leave one source out: {time.perf_counter() - t0:.0f} s")
    # The learned choices' outcomes on their left-out source, with that split's prior.
    chosen_by_split = set(loso["chosen"])
    shown = list(singles) + outcomes.outcomes(sorted(chosen_by_split))
    for row in loso[loso["learned"]].to_dict("records"):
        mine = [p for p in problems if p.source == row["left_out"]]
        again = grid_outcomes(mine, fits, STACKS, fold_priors[row["left_out"]], args.workers)
        shown += again.outcomes([row["chosen"]])
    print(loso_table(shown, loso))
    if args.ensemble:
        members, ens = ensemble_loso(
            problems, fits, outcomes, grid_configs(fixed, intervals), args.ensemble
        )
        print(f"\nthe chooser ensemble of {args.ensemble}, leave one source out:")
        print(loso_table(singles + members, ens))
    all_priors: dict[str, Prior] = {}
    if use_learned:
        all_priors = learn_priors(problems, fits)
        grid_outcomes(problems, fits, STACKS, all_priors, args.workers, into=outcomes)
    names = [rule for rule in outcomes.rules if rule not in LABELS]
    everything = outcomes.summary([*names, *LABELS], LABELS)
    chosen = choose(everything)
    print(f"\nchosen on all sources (in-sample, the rule to ship): {chosen}")
    config = grid_configs(fixed, intervals).get(chosen)
    if config is not None:  # its knobs, for rule_variant's --knobs (stacks toward a prior: no)
        knobs = {k: v for k, v in asdict(config).items() if v != getattr(DEFAULT_RULE, k)}
        print(f"its knobs where they differ from DEFAULT_RULE: {json.dumps(knobs)}")
    prior = next(
        (
            all_priors.get(k, ())
            for k, c in CANDIDATE_SETS.items()
            if chosen.endswith("-" + "+".join(c))
        ),
        (),
    )
    if "P-" in chosen:
        print(f"its prior, learned on all sources: {prior}")
    table = outcomes.summary([*LABELS, chosen])  # win rate among the eight
    print(protocol.format_table(table[table["rule"] == chosen]))
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "loso": loso.to_dict("records"),
                    "priors_by_left_out_source": fold_priors,
                    "chosen_on_all": chosen,
                    "prior_on_all": prior if "P-" in chosen else None,
                },
                indent=2,
                default=str,
            )
        )


def loso_table(outcomes: list[protocol.Outcome], loso: pd.DataFrame) -> str:
    """Per left-out source: the single laws and auto (configured on the other sources), with
    median RMSE, win rate among these eight and 90% coverage, as a Markdown table."""
    lines = [
        "| left-out source | estimator | problems | median RMSE | win rate | 90% coverage |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in loso.to_dict("records"):
        source, chosen = row["left_out"], row["chosen"]
        mine = [o for o in outcomes if o.source == source and o.rule in (*LABELS, chosen)]
        table = protocol.summarise(mine, rules=[*LABELS, chosen])
        for r in table.to_dict("records"):
            name = "**auto**" if r["rule"] == chosen else r["rule"]
            lines.append(
                f"| {source} | {name} | {r['problems']} | {r['median_rmse']:.4f} | "
                f"{r['win_rate']:.0%} | {r['coverage90']:.1%} |"
            )
    lines.append("")
    lines += [f"- {r['left_out']}: auto = `{r['chosen']}`" for r in loso.to_dict("records")]
    lines.append("")
    lines += [ratio_line(outcomes, r["left_out"], r["chosen"]) for r in loso.to_dict("records")]
    lines.append("")
    lines += [coverage_line(outcomes, r["left_out"], r["chosen"]) for r in loso.to_dict("records")]
    return "\n".join(lines)


def coverage_line(outcomes: list[protocol.Outcome], source: str, chosen: str) -> str:
    """auto's 90% coverage on a source, with its curve bootstrap interval (`coverage_text`)."""
    mine = [o for o in outcomes if o.source == source and o.rule == chosen]
    return f"- {source}: auto's {coverage_text(mine)}"


def coverage_text(outcomes: Sequence[protocol.Outcome]) -> str:
    """The 90% coverage of `outcomes` with its curve bootstrap 90% interval
    (protocol.coverage_interval): how far the band's edges are from what these curves can
    tell apart."""
    share, lo, hi = protocol.coverage_interval(outcomes)
    curves = len({protocol.curve_of(o.problem) for o in outcomes})
    return (
        f"90% coverage {share:.1%} (curve bootstrap 90% interval {lo:.1%}-{hi:.1%}, "
        f"{curves} curves)"
    )


def coverage_by(
    outcomes: Sequence[protocol.Outcome],
    rules: Sequence[str],
    group_of: Callable[[protocol.Outcome], str],
    name: str,
) -> str:
    """The 90% coverage of each of `rules` per group of held-out points (`group_of` an outcome's
    group, `name` the groups' heading), as a table, groups down and rules across."""
    hits = pd.DataFrame(
        [
            (o.rule, group_of(o), h)
            for o in outcomes
            if o.rule in rules
            for h in o.hits
            if h is not None
        ],
        columns=["rule", name, "hit"],
    )
    return hits.pivot_table(index=name, columns="rule", values="hit").round(3).to_string()


def ratio_line(outcomes: list[protocol.Outcome], source: str, chosen: str) -> str:
    """auto's median RMSE over the best single law's on a source, with a paired bootstrap 90%
    interval over its problems (protocol.median_ratio_interval). The law is the best in
    hindsight, so the ratio leans against auto."""
    rmse = rmse_by_rule([o for o in outcomes if o.source == source])
    laws = {k: float(np.median(list(v.values()))) for k, v in rmse.items() if k in LABELS}
    best = min((k for k, v in laws.items() if math.isfinite(v)), key=lambda k: laws[k])
    ratio, lo, hi = paired_ratio(rmse, chosen, best)
    return (
        f"- {source}: auto / {best} (best single law in hindsight), median RMSE ratio "
        f"{ratio:.2f} (90% bootstrap interval {lo:.2f}-{hi:.2f}, {len(rmse[chosen])} problems)"
    )


def rmse_by_rule(outcomes: Sequence[protocol.Outcome]) -> dict[str, dict[str, float]]:
    """Each rule's RMSE by problem."""
    rmse: dict[str, dict[str, float]] = {}
    for o in outcomes:
        rmse.setdefault(o.rule, {})[o.problem] = o.rmse
    return rmse


def paired_ratio(rmse: dict[str, dict[str, float]], a: str, b: str) -> tuple[float, float, float]:
    """Rule a's median RMSE over rule b's on the problems both scored, and its paired bootstrap
    90% interval (protocol.median_ratio_interval)."""
    problems = sorted(rmse[a])
    return protocol.median_ratio_interval(
        [rmse[a][p] for p in problems], [rmse[b].get(p, math.nan) for p in problems]
    )


if __name__ == "__main__":
    main()
