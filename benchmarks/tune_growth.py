"""Leave one source out: the interval's growth with distance, 1.5 and 2 beside ½ and 1 (a
registered run).

    .venv/bin/python benchmarks/tune_growth.py   (from the repository root)

Registered in docs/auto-tuning-log.md (2026-12-05, "the interval's growth with distance").
`DEFAULT_RULE`'s point knobs stay as shipped, so its predictions and medians do not change; on
the as-run fits (benchmarks/data/tune_cache_as_run.json.gz, the fits auto makes), its interval
is calibrated with growth g ∈ GROWTHS, g(d) = (max(d, reach/4)/reach)^g, at every scale of
`tune_auto.SCALES`. Each split chooses (growth, scale) by `protocol.default_choice` on its four
tuning sources (the seven single laws are the reference) and is scored on the one left out;
beside it, the same with the shipped grid's growths (½ and 1) only. Printed: both tables, each
split's choice, and the choice on all five sources (in-sample).
"""

from __future__ import annotations

import time

import pandas as pd
import tune_auto
from tune_auto import LABELS, SCALES, Precomputed
from tune_candidates import configs_outcomes, print_loso

from scalinglab.selection import protocol
from scalinglab.selection.corpus import load_corpus
from scalinglab.selection.rule import DEFAULT_RULE

GROWTHS = (0.5, 1.0, 1.5, 2.0)
SHIPPED_GRID_GROWTHS = (0.5, 1.0)


def margin_choice(summary: pd.DataFrame) -> str:
    """`protocol.default_choice` with its last tie-break replaced: among equal worst-source
    misses and regrets, the configuration whose coverage lies deepest inside COVERAGE_BAND on
    its worst tuning source."""
    return protocol.default_ranking(summary, tie_break="margin")[0]


def main() -> None:
    problems = load_corpus()
    fits = tune_auto.load_or_compute(problems, tune_auto.AS_RUN_CACHE, 1, as_run=True)
    t0 = time.perf_counter()
    outcomes = configs_outcomes(problems, fits, [DEFAULT_RULE.with_(growth=g) for g in GROWTHS])
    scorer = Precomputed(outcomes)
    everything = protocol.summarise(outcomes, reference=LABELS)
    for name, growths in (("growth ½ or 1", SHIPPED_GRID_GROWTHS), ("growth ½ to 2", GROWTHS)):
        grid = [DEFAULT_RULE.with_(growth=g, scale=k).key for g in growths for k in SCALES]
        heading = f"DEFAULT_RULE with {name} and its scale chosen"
        print_loso(problems, outcomes, grid, heading, scorer=scorer, everything=everything)
    grid = [DEFAULT_RULE.with_(growth=g, scale=k).key for g in GROWTHS for k in SCALES]
    print_loso(
        problems, outcomes, grid,
        "growth ½ to 2, the margin chooser (post hoc, not evidence)",
        scorer=scorer, everything=everything, choose=margin_choice,
        chosen_label="the margin chooser on all five sources",
    )  # fmt: skip
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
