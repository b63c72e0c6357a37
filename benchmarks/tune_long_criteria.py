"""Leave one source out: the information criteria read off the whole-grid fits on long curves
only (issue 13; docs/auto-tuning-log.md, 2026-12-07, "criteria from the whole-grid fits on long
curves").

    .venv/bin/python benchmarks/tune_long_criteria.py [--lengths 0,9,11,13,99] [--beyonds 0,1] \
        [--pools geomean] [--base sigma|shipped] [--sources six|seven] [--own-scale]

auto reads its Akaike weights off each candidate's 64-start batched fit, which on long curves
often misses BNSL's good basin (run E′, docs/auto-evidence.md); reading them off the whole-grid
fit that predicts (`RuleConfig.criteria_fits = "whole"`) brought lang's and datablations'
medians to BNSL2's but cost 1.15× on the fresh study draws, whose curves are short. Here the
whole-grid criteria apply only to curves with at least L distinct training x values (L in
`--lengths`; 0: every curve, 99: none, the shipped rule), with the interval's growth past the
reach b in `--beyonds`, the cuts' pooling in `--pools` (`Calibration.pool`) and the scale in
`FINE_SCALES`, each split choosing (L, b, pooling, scale) by
`protocol.default_choice` on the other five of the six sources of tune_beyond.py. `--base
shipped` starts from `DEFAULT_RULE` (log-unit scores) instead of `SIGMA_RULE`, the rule of the
day when the σ-unit table was logged; `--sources seven` adds the training curves
(`fresh_cache.seven_sources`), each split then choosing on the six others; with `--own-scale`
the long curves' intervals take their own scale k_long (Mondrian conformal by curve length),
both scales chosen per split from `OWN_SCALES`.
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

from scalinglab.selection.rule import DEFAULT_RULE

OWN_SCALES = FINE_SCALES[10:28]  # 1.30 .. 2.99: every scale a split has chosen in log units


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="0,9,11,13,99", help="L values, comma-separated")
    parser.add_argument("--beyonds", default="0,1", help="b values, comma-separated")
    parser.add_argument("--pools", default="geomean", help="poolings, comma-separated")
    parser.add_argument("--base", choices=["sigma", "shipped"], default="sigma")
    parser.add_argument("--sources", choices=["six", "seven"], default="six")
    parser.add_argument(
        "--own-scale", action="store_true",
        help="curves of L or more x values take their own scale (both scales in OWN_SCALES)",
    )  # fmt: skip
    fresh_cache.add_fresh_sets_option(parser)
    args = parser.parse_args()
    base = SIGMA_RULE if args.base == "sigma" else DEFAULT_RULE
    lengths = [int(v) for v in args.lengths.split(",") if v.strip()]
    beyonds = [float(b) for b in args.beyonds.split(",") if b.strip()]
    sources = fresh_cache.six_sources if args.sources == "six" else fresh_cache.seven_sources
    problems, fits = sources(args.fresh_sets)
    t0 = time.perf_counter()
    pools = [v.strip() for v in args.pools.split(",") if v.strip()]
    batched_rules = [base.with_(beyond=b, pool=pool) for b in beyonds for pool in pools]
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
    long_scales = OWN_SCALES if args.own_scale else (None,)
    for b_rule, w_rule in zip(batched_rules, whole_rules, strict=True):
        for k in OWN_SCALES if args.own_scale else FINE_SCALES:
            b_key = b_rule.with_(scale=k).key
            for n in lengths:
                for k_long in long_scales if n < 99 else (None,):
                    w_key = w_rule.with_(scale=k_long or k).key
                    name = f"{b_key}-L{n}" + (f"-kl{k_long}" if k_long else "")
                    grid.append(name)
                    for p in problems:
                        key = w_key if length[p.id] >= n else b_key
                        outcomes.append(replace(by_key[(key, p.id)], rule=name))
    print_loso_of(
        problems, outcomes, grid,
        f"the {args.base} rule, criteria from the whole-grid fits on curves of L or more x values, "
        f"L in {lengths}, b in {beyonds}, pool in {pools}, (L, b, pool, scale) chosen",
    )  # fmt: skip
    print(f"\n({time.perf_counter() - t0:.0f} s after the fits)")


if __name__ == "__main__":
    main()
