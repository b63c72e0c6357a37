"""Leave one source out: the information criteria read off the whole-grid fits on long curves
only (issue 13; docs/auto-tuning-log.md, 2026-12-07, "criteria from the whole-grid fits on long
curves").

    .venv/bin/python benchmarks/tune_long_criteria.py [--lengths 0,9,11,13,99] [--beyonds 0,1] \
        [--pools geomean]

auto reads its Akaike weights off each candidate's 64-start batched fit, which on long curves
often misses BNSL's good basin (run E′, docs/auto-evidence.md); reading them off the whole-grid
fit that predicts (`RuleConfig.criteria_fits = "whole"`) brought lang's and datablations'
medians to BNSL2's but cost 1.15× on the fresh study draws, whose curves are short. Here the
whole-grid criteria apply only to curves with at least L distinct training x values (L in
`--lengths`; 0: every curve, 99: none, the shipped rule), with the interval's growth past the
reach b in `--beyonds`, the cuts' pooling in `--pools` (`Calibration.pool`) and the scale in
`FINE_SCALES`, each split choosing (L, b, pooling, scale) by
`protocol.default_choice` on the other five of the six sources of tune_beyond.py.
"""

from __future__ import annotations

import argparse
import copy
import time
from dataclasses import replace

import fresh_cache
import tune_auto
from tune_auto import SIGMA_RULE
from tune_candidates import configs_outcomes, print_loso_of
from tune_units import FINE_SCALES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="0,9,11,13,99", help="L values, comma-separated")
    parser.add_argument("--beyonds", default="0,1", help="b values, comma-separated")
    parser.add_argument("--pools", default="geomean", help="poolings, comma-separated")
    fresh_cache.add_fresh_sets_option(parser)
    args = parser.parse_args()
    lengths = [int(v) for v in args.lengths.split(",") if v.strip()]
    beyonds = [float(b) for b in args.beyonds.split(",") if b.strip()]
    problems, fits = fresh_cache.six_sources(args.fresh_sets)
    t0 = time.perf_counter()
    pools = [v.strip() for v in args.pools.split(",") if v.strip()]
    batched_rules = [SIGMA_RULE.with_(beyond=b, pool=pool) for b in beyonds for pool in pools]
    whole_rules = [rule.with_(criteria_fits="whole") for rule in batched_rules]
    batched = configs_outcomes(problems, fits, batched_rules, FINE_SCALES)
    whole_fits = copy.deepcopy(fits)
    tune_auto.criteria_from_final(whole_fits)
    whole = configs_outcomes(problems, whole_fits, whole_rules, FINE_SCALES)
    singles = [o for o in batched if o.rule in tune_auto.LABELS]
    by_key = {(o.rule, o.problem): o for o in [*batched, *whole]}
    length = {p.id: len(set(p.x_train)) for p in problems}
    outcomes = list(singles)
    grid = []
    for b_rule, w_rule in zip(batched_rules, whole_rules, strict=True):
        for k in FINE_SCALES:
            b_key, w_key = b_rule.with_(scale=k).key, w_rule.with_(scale=k).key
            for n in lengths:
                name = f"{b_key}-L{n}"
                grid.append(name)
                for p in problems:
                    key = w_key if length[p.id] >= n else b_key
                    outcomes.append(replace(by_key[(key, p.id)], rule=name))
    print_loso_of(
        problems, outcomes, grid,
        f"the σ-unit rule, criteria from the whole-grid fits on curves of L or more x values, "
        f"L in {lengths}, b in {beyonds}, pool in {pools}, (L, b, pool, scale) chosen",
    )  # fmt: skip
    print(f"\n({time.perf_counter() - t0:.0f} s after the fits)")


if __name__ == "__main__":
    main()
