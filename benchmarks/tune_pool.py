"""Leave one source out over how the backtests' scores are pooled into the interval (a
registered run; docs/auto-tuning-log.md, 2026-12-06, "the cuts' scores read as Gaussian").

    .venv/bin/python benchmarks/tune_pool.py [--pools geomean,rms] [--criteria-from final] \
        [--fresh-sets fresh,fresh2,fresh3]

For each pooling (`Calibration.pool`), `DEFAULT_RULE` with that pooling at every scale of
`tune_auto.SCALES`, leave one source out on the six sources of the registration of
2026-12-06 17:49 (the corpus's five and the fresh study draws of sets 1–3 as `fresh`; their
as-run fits from tune_auto's and fresh_cache's caches): each split chooses the scale by
`protocol.default_choice` on its tuning sources, the seven single laws the reference. Only the
interval differs between the poolings, so their point predictions, medians and win rates are
the same; the table to read is the coverage. Printed per pooling: the table, each left-out
source's coverage with its curve bootstrap interval, and the scale chosen on all six
(in-sample). `--criteria-from final` reads the information criteria off each candidate's
whole-grid fit, the fit that predicts (`RuleConfig.criteria_fits = "whole"`; tune_auto's option
of that name), instead of its 64-start fit.
"""

from __future__ import annotations

import argparse
import time

import fresh_cache
import tune_auto
from tune_auto import SCALES
from tune_candidates import configs_outcomes, print_loso_of

from scalinglab.fitting.calibration import POOLS
from scalinglab.selection.rule import DEFAULT_RULE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", default="geomean,rms", help="poolings, comma-separated")
    parser.add_argument(
        "--criteria-from", choices=("batched", "final"), default="batched",
        help="the fits the information criteria read: the 64-start fits (batched, as shipped) "
        "or the whole-grid fits that predict (final)",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=2)
    fresh_cache.add_fresh_sets_option(parser)
    args = parser.parse_args()
    pools = [p.strip() for p in args.pools.split(",") if p.strip()]
    if unknown := set(pools) - set(POOLS):
        parser.error(f"unknown pooling {sorted(unknown)}; choose from {', '.join(POOLS)}")
    problems, fits = fresh_cache.six_sources(args.fresh_sets, args.workers)
    criteria_fits = "batched"
    if args.criteria_from == "final":
        criteria_fits = "whole"
        tune_auto.criteria_from_final(fits)
    t0 = time.perf_counter()
    for pool in pools:
        rule = DEFAULT_RULE.with_(pool=pool, criteria_fits=criteria_fits)
        grid = [rule.with_(scale=k).key for k in SCALES]
        outcomes = configs_outcomes(problems, fits, [rule])
        print_loso_of(
            problems, outcomes, grid,
            f"DEFAULT_RULE with pool={pool!r}, criteria from the {args.criteria_from} fits, "
            "its scale chosen",
        )  # fmt: skip
    print(f"\n({time.perf_counter() - t0:.0f} s after the fits)")


if __name__ == "__main__":
    main()
