"""Leave one source out on seven sources: the interval's units and its growth past the reach
(issue 13; docs/auto-tuning-log.md, 2026-12-07, "the interval's units" and the registration of
07:27).

    .venv/bin/python benchmarks/tune_units_seven.py [--table FAMILY]   (repo root, ~1 min)

The seven sources are the corpus's five, fresh study sets 1–3 ("fresh") and the training curves
of fresh set 7's runs ("training"; `fresh_cache.seven_sources`). Each family below is a set of
`tune_auto.SIGMA_RULE` variants (the rule shipped when this ran) that differ only in their
interval (so every family has the shipped rule's medians); each split chooses a variant and a
scale of `FINE_SCALES` by `protocol.default_choice` on the six other sources and is scored on
the one left out. Printed per family: the left-out 90% coverage, each split's choice and the
choice on all seven sources (in-sample); with `--table FAMILY`, that family's full table (every
law, median, win rate, coverage, with bootstrap intervals), the form of the README's.
"""

from __future__ import annotations

import argparse
from typing import Any

import pandas as pd
import tune_auto
from fresh_cache import seven_sources
from tune_auto import LABELS, SIGMA_RULE, Precomputed
from tune_candidates import configs_outcomes, print_loso_of
from tune_units import FINE_SCALES

from scalinglab.selection import protocol
from scalinglab.selection.rule import RuleConfig

LOG: dict[str, Any] = {"units": "log"}
FAMILIES: dict[str, list[dict[str, Any]]] = {
    "sigma (SIGMA_RULE)": [{}],
    "log, b 1": [LOG],
    "log, b 0": [{**LOG, "beyond": 0.0}],
    "log, b 1/2": [{**LOG, "beyond": 0.5}],
    "log, b 0, 1/2, 1": [{**LOG, "beyond": 0.0}, {**LOG, "beyond": 0.5}, LOG],
    "sigma + tau": [{"sigma_offset": t} for t in (0.001, 0.003, 0.01, 0.03, 0.1)],
    "sigma floor": [{"noise_floor_ratio": r} for r in (0.5, 1.0)],
    "sigma or log, b 0 or 1": [{}, {"beyond": 0.0}, LOG, {**LOG, "beyond": 0.0}],
}


def short(key: str) -> str:
    """A rule key without the parts every variant shares."""
    return key.replace("icaicT1-far-k2-g1-", "").replace(f"-{'+'.join(SIGMA_RULE.candidates)}", "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", choices=list(FAMILIES), help="print this family's full table")
    args = parser.parse_args()
    problems, fits = seven_sources(",".join(tune_auto.FRESH_SETS))
    variants: dict[str, RuleConfig] = {}
    for knobs in (k for family in FAMILIES.values() for k in family):
        rule = SIGMA_RULE.with_(**knobs)
        variants[rule.key] = rule
    outcomes = configs_outcomes(problems, fits, list(variants.values()), FINE_SCALES)
    scorer = Precomputed(outcomes)
    summary = protocol.summarise(outcomes, reference=LABELS)
    coverage, chosen = {}, {}
    for name, family in FAMILIES.items():
        grid = [SIGMA_RULE.with_(**k, scale=s).key for k in family for s in FINE_SCALES]
        loso = protocol.leave_one_source_out(problems, grid, reference=LABELS, scorer=scorer)
        for r in loso.to_dict("records"):
            row = summary[(summary["source"] == r["left_out"]) & (summary["rule"] == r["chosen"])]
            coverage[(name, r["left_out"])] = round(100 * float(row["coverage90"].iloc[0]), 1)
            chosen[(name, r["left_out"])] = short(r["chosen"])
        everything = summary[summary["rule"].isin([*LABELS, *grid])]
        chosen[(name, "all seven (in-sample)")] = short(protocol.default_choice(everything))
    print("left-out 90% coverage (%):")
    print(pd.Series(coverage).unstack().to_string())
    print("\neach split's choice:")
    print(pd.Series(chosen).unstack().to_string())
    if args.table:
        grid = [
            SIGMA_RULE.with_(**k, scale=s).key for k in FAMILIES[args.table] for s in FINE_SCALES
        ]
        print_loso_of(
            problems, outcomes, grid, args.table, chosen_label="chosen on all seven (in-sample)"
        )


if __name__ == "__main__":
    main()
