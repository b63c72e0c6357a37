"""Tune the auto rule leave-one-source-out on the development corpus, and score it.

    .venv/bin/python benchmarks/tune_auto.py [--workers 2] [--cache runs/tune_cache.json]

1. Fits (slow, cached): for every problem of scalinglab.selection.corpus, each candidate law
   fitted on the training part (as the extrapolation benchmark fits it) and its backtests at the
   problem's horizon (scalinglab.selection.backtest).
2. Rules (fast): every configuration of the knob grid below applied to the cached fits.
3. Leave one source out (scalinglab.selection.protocol): for each source, the configuration is
   chosen on the other sources and scored on it. Printed: that table next to the single laws,
   and the configuration chosen on all sources (in-sample: the one to ship as DEFAULT_RULE).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scalinglab.errors import FitWarning, ScalingLabError
from scalinglab.fitting.extrapolation import FIT_START_BUDGET
from scalinglab.selection import protocol
from scalinglab.selection.backtest import (
    CandidateBacktest,
    CurveBacktests,
    backtest_curve,
    candidate,
)
from scalinglab.selection.corpus import Problem, load_corpus
from scalinglab.selection.rule import (
    RuleConfig,
    calibrate,
    weigh,
)

LABELS = protocol.STANDARD
MAX_CUTS = 4
LEVEL = 0.9
# Every fit here stops after 200 iterations (the backtests' budget; the benchmark's single-law fits
# allow 500): in one batch the slowest row sets the pace, and a few rows of M4 and BNSL creep
# along flat valleys to any limit. It moves the single laws' median RMSE by < 1%.
FIT_OPTIONS = {"max_iter": 200, "tol": 1e-10}


# ------------------------------------------------------------------------------------------------
# 1. Fits
# ------------------------------------------------------------------------------------------------
def problem_fits(problem: Problem) -> dict[str, Any]:
    """Everything the rules need about one problem, as JSON-ready lists."""
    import torch

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    x, y = np.array(problem.x_train, dtype=float), np.array(problem.y_train, dtype=float)
    xt = np.array(problem.x_test, dtype=float)
    horizon = float(np.log(xt.max() / x.max()))
    singles: dict[str, Any] = {}
    cands = [candidate(c) for c in LABELS]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", FitWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        # Backtests and the fit on all training points in one batched solve per law; the latter
        # from FIT_START_BUDGET starts as the extrapolation benchmark fits it.
        bt = backtest_curve(
            x, y, cands, horizon=horizon, n_cuts=MAX_CUTS, options=FIT_OPTIONS,
            full_start_budget=FIT_START_BUDGET,
        )  # fmt: skip
        for cand in cands:
            fit = bt.full.get(cand.label)
            if fit is None:
                singles[cand.label] = {"error": "no finite fit"}
                continue
            # Refit from the optimum (one start): the law's covariance for its parameter band.
            free = cand.make().free_params()
            law = cand.make(**FIT_OPTIONS, starts={n: (fit.params[n],) for n in free})
            law.fit(x[:, None], y)
            pred = law.predict(xt[:, None])
            lo, hi = protocol._interval(law, xt, LEVEL)
            r = np.log(y) - np.log(law.predict(x[:, None]))
            singles[cand.label] = {
                "log_pred": np.log(pred).tolist(),
                "lo": lo.tolist(),
                "hi": hi.tolist(),
                "noise": float(np.sqrt(np.sum(r * r) / max(r.size - len(free), 1))),
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
        "seconds": time.perf_counter() - t0,
    }


def load_or_compute(problems: list[Problem], cache: Path, workers: int) -> dict[str, Any]:
    done: dict[str, Any] = json.loads(cache.read_text()) if cache.exists() else {}
    todo = [p for p in problems if p.id not in done]
    print(f"fits: {len(done)} cached, {len(todo)} to compute", flush=True)
    t0 = time.perf_counter()

    def save() -> None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(json.dumps(done, allow_nan=True))
        tmp.replace(cache)

    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        for i, rec in enumerate(pool.map(problem_fits, todo, chunksize=1)):
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
    return CurveBacktests(
        np.asarray(problem.x_train, dtype=float),
        np.asarray(problem.y_train, dtype=float),
        float(rec["horizon"]),
        list(rec["cuts"])[:n_cuts],
        cands,
    )


def apply_rule(
    problem: Problem, rec: dict[str, Any], config: RuleConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, float]]:
    """(prediction, lower, upper, weights) of `config` on one problem from its cached fits."""
    singles = rec["singles"]
    usable = tuple(c for c in config.candidates if "error" not in singles[c])
    bt = backtests_of(problem, rec, config.n_cuts)
    try:
        if not bt.cuts:
            raise ScalingLabError("no backtest")
        w = weigh(bt, config.with_(candidates=usable)).weights
    except ScalingLabError:
        # Too short to backtest: the default law, uncalibrated (its parameter band).
        fallback = "power_const" if "error" not in singles["power_const"] else usable[0]
        s = singles[fallback]
        return np.exp(s["log_pred"]), np.asarray(s["lo"]), np.asarray(s["hi"]), {fallback: 1.0}
    log_pred = sum(wi * np.asarray(singles[k]["log_pred"]) for k, wi in w.items())
    noise = sum(wi * singles[k]["noise"] for k, wi in w.items())
    cal = calibrate(bt, w, config, noise)
    half = cal.half_width(np.asarray(problem.x_test, dtype=float), LEVEL)
    return np.exp(log_pred), np.exp(log_pred - half), np.exp(log_pred + half), w


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


def config_grid() -> dict[str, RuleConfig]:
    all7 = LABELS
    sets = {
        "all": all7,
        "no-m1": tuple(c for c in all7 if c != "m1"),
        "saturating": ("m2", "m3", "m4", "bnsl1"),
    }
    combines: list[tuple[str, float]] = [("best", 1.0), ("simplest", 1.0)] + [
        ("average", t) for t in (0.25, 0.5, 1.0, 2.0)
    ]
    grid = {}
    for (combine, t), score, n_cuts, growth, scale, cset in itertools.product(
        combines, ("far", "rmse"), (2, 3, 4), (0.0, 0.5, 1.0), (0.6, 0.8, 1.0, 1.25, 1.6, 2.0),
        sets.values(),
    ):  # fmt: skip
        cfg = RuleConfig(
            candidates=cset, n_cuts=n_cuts, score=score, combine=combine, temperature=t,
            growth=growth, scale=scale,
        )  # fmt: skip
        grid[cfg.key] = cfg
    return grid


class Precomputed(protocol.Scorer):
    """A Scorer whose outcomes were all computed up front."""

    def __init__(self, outcomes: list[protocol.Outcome]) -> None:
        super().__init__({})
        self._done = {(o.rule, o.problem): o for o in outcomes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=Path("runs/tune_cache.json"))
    parser.add_argument("--fits-only", action="store_true")
    args = parser.parse_args()
    problems = load_corpus()
    fits = load_or_compute(problems, args.cache, args.workers)
    if args.fits_only:
        return
    outcomes: list[protocol.Outcome] = []
    for p in problems:
        rec = fits[p.id]
        for label in LABELS:
            s = rec["singles"][label]
            if "error" in s:
                n = len(p.x_test)
                outcomes.append(outcome(p, label, [math.nan] * n, [math.nan] * n, [math.nan] * n))
            else:
                outcomes.append(outcome(p, label, np.exp(s["log_pred"]), s["lo"], s["hi"]))
    grid = config_grid()
    t0 = time.perf_counter()
    for name, cfg in grid.items():
        for p in problems:
            pred, lo, hi, _ = apply_rule(p, fits[p.id], cfg)
            outcomes.append(outcome(p, name, pred, lo, hi))
    seconds = time.perf_counter() - t0
    print(f"{len(grid)} configurations on {len(problems)} problems: {seconds:.0f} s")
    scorer = Precomputed(outcomes)
    loso = protocol.leave_one_source_out(problems, list(grid), reference=LABELS, scorer=scorer)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_colwidth", 120)
    print(loso.to_string())
    singles = protocol.summarise(outcomes, rules=list(LABELS))
    print(protocol.format_table(singles))
    everything = protocol.summarise(outcomes, rules=list(grid))
    chosen = protocol.default_choice(everything)
    print("chosen on all sources:", chosen)
    print(protocol.format_table(everything[everything["rule"] == chosen]))


if __name__ == "__main__":
    main()
