"""In-sample coverage of the auto rule's 90% intervals in the three cases its warnings name
(README, "How auto predicts", step 3; `selection.auto.interval_warnings`).

    .venv/bin/python benchmarks/interval_cases.py [--sources lang,...] [--knobs JSON]
    .venv/bin/python benchmarks/interval_cases.py --seven [--knobs JSON]

The rule (`DEFAULT_RULE` with the knobs of `rule_variant.add_rule_options`) is run on the cached
as-run fits of the development corpus (the cache of `tune_auto.py --as-run`), as tune_auto
scores it. Printed, with the case each warning names beside the rest:
- few calibration points: fewer than `auto.FEW_CALIBRATION_POINTS` distinct held-out backtest
  x values; the mean over problems of each problem's coverage;
- past the backtests' reach: held-out points farther beyond the data than the backtests
  extrapolated (d > reach), pooled over points;
- a curve that still steepens at its end (`auto.end_steepening` below
  `auto.STEEPENING_THRESHOLD`), pooled over points.
In-sample: the rule's knobs were chosen on these problems. `--seven`: on the seven sources of
`fresh_cache.seven_sources` (the corpus's five, fresh sets 1–3, the training curves of fresh set
7), each case also per source.
"""

from __future__ import annotations

import argparse

import numpy as np
import tune_auto
from fresh_cache import seven_sources
from rule_variant import add_rule_options, rule_from

from scalinglab.selection.auto import (
    FEW_CALIBRATION_POINTS,
    STEEPENING_THRESHOLD,
    end_steepening,
)
from scalinglab.selection.corpus import load_corpus


def share(hits: list[np.ndarray]) -> str:
    """Pooled coverage of boolean arrays, with the number of points."""
    n = sum(h.size for h in hits)
    return f"{100 * sum(int(h.sum()) for h in hits) / n:.1f}% of {n} points" if n else "-"


def mean_share(hits: list[np.ndarray]) -> str:
    """Mean over problems of each problem's coverage, with the number of problems."""
    per = [h.mean() for h in hits if h.size]
    return f"{100 * np.mean(per):.1f}% over {len(per)} problems" if per else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", default="lang,datablations,studies,synthetic")
    parser.add_argument("--seven", action="store_true", help="the seven tuning sources")
    add_rule_options(parser)
    args = parser.parse_args()
    config = rule_from(args)
    print(f"rule: {config.key}")
    if args.seven:
        problems, cache = seven_sources(",".join(tune_auto.FRESH_SETS))
    else:
        problems = load_corpus(args.sources.split(","))
        cache = tune_auto.read_cache(tune_auto.AS_RUN_CACHE)
    few: dict[bool, list[np.ndarray]] = {True: [], False: []}
    past: dict[bool, list[np.ndarray]] = {True: [], False: []}
    steep: dict[bool, list[np.ndarray]] = {True: [], False: []}
    by_source: dict[tuple[str, str], list[np.ndarray]] = {}
    for problem in problems:
        rec = cache[problem.id]
        band = tune_auto.calibration_of(problem, rec, config)
        if band is None:  # too short to backtest: no calibrated interval, no warning
            continue
        log_pred, cal = band
        x = np.asarray(problem.x_test, dtype=float)
        half = cal.half_width(x, tune_auto.LEVEL)
        ok = np.isfinite(half)
        inside = (np.abs(np.log(np.asarray(problem.y_test, dtype=float)) - log_pred) <= half)[ok]
        d = np.log(x / cal.x_max)[ok]
        few[cal.values is not None and cal.values < FEW_CALIBRATION_POINTS].append(inside)
        past[True].append(inside[d > cal.reach * (1 + 1e-9)])
        past[False].append(inside[d <= cal.reach * (1 + 1e-9)])
        slope_fall = end_steepening(
            np.asarray(problem.x_train, float), np.asarray(problem.y_train, float)
        )
        steep[bool(slope_fall < STEEPENING_THRESHOLD)].append(inside)
        if slope_fall < STEEPENING_THRESHOLD:
            by_source.setdefault((problem.source, "steepening"), []).append(inside)
        by_source.setdefault((problem.source, "past the reach"), []).append(
            inside[d > cal.reach * (1 + 1e-9)]
        )
    print(f"few calibration points (< {FEW_CALIBRATION_POINTS}): {mean_share(few[True])}")
    print(f"  the others: {mean_share(few[False])}")
    print(f"past the backtests' reach: {share(past[True])}")
    print(f"  within it: {share(past[False])}")
    print(f"a curve that still steepens at its end: {share(steep[True])}")
    print(f"  the others: {share(steep[False])}")
    if args.seven:
        for (source, case), hits in sorted(by_source.items()):
            print(f"  {source}, {case}: {share(hits)}")


if __name__ == "__main__":
    main()
