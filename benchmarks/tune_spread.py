"""Leave one source out: the laws' disagreement in the interval (a registered run).

    .venv/bin/python benchmarks/tune_spread.py [--cache FITS]   (repo root)

Registered in docs/auto-tuning-log.md (2026-12-06, "the laws' disagreement in the interval").
`DEFAULT_RULE`'s point knobs stay as shipped, so its predictions and medians do not change; its
interval's log half-width at a held-out x becomes √((scale·q·σ·g)² + (k·s(x))²), s(x) the
standard deviation of the log predictions at x of every candidate fitted on all the training
points (the cache's single-law fits, each on its whole start grid), unweighted
(`RuleConfig.model_spread` k; k = 0 is the shipped rule). σ units, growth 1, no floor, k in
SPREADS × `FINE_SCALES`; each split chooses (k, scale) by `protocol.default_choice` on its four
tuning sources (the seven single laws are the reference) and is scored on the one left out.
The as-run fits (the default cache) decide; `--cache
benchmarks/data/tune_cache_as_run_whole_backtests.json.gz` gives the whole-grid table.
Printed: the table, each split's choice, and the choice on all five sources (in-sample).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tune_auto
from tune_auto import LABELS, Precomputed
from tune_candidates import configs_outcomes, print_loso
from tune_units import FINE_SCALES

from scalinglab.selection import protocol
from scalinglab.selection.corpus import Problem, load_corpus
from scalinglab.selection.rule import DEFAULT_RULE

SPREADS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)  # k, as registered


Build = Callable[[list[Problem], dict[str, Any]], tuple[list[protocol.Outcome], list[str], str]]


def loso_on_cache(description: str, build: Build) -> None:
    """Parse --cache, read the corpus and its cached fits, and print the leave-one-source-out
    table of the (outcomes, grid, heading) that `build` makes from them."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--cache", type=Path, default=tune_auto.AS_RUN_CACHE, help="the cached fits to read"
    )
    args = parser.parse_args()
    problems = load_corpus()
    fits = tune_auto.load_or_compute(problems, args.cache, 1, as_run=True)
    t0 = time.perf_counter()
    outcomes, grid, heading = build(problems, fits)
    scorer = Precomputed(outcomes)
    everything = protocol.summarise(outcomes, reference=LABELS)
    print_loso(problems, outcomes, grid, heading, scorer=scorer, everything=everything)
    print(f"\n({time.perf_counter() - t0:.0f} s)")


def spread_grid(
    problems: list[Problem], fits: dict[str, Any]
) -> tuple[list[protocol.Outcome], list[str], str]:
    bases = [DEFAULT_RULE.with_(model_spread=k, growth=1.0) for k in SPREADS]
    outcomes = configs_outcomes(problems, fits, bases, FINE_SCALES)
    grid = [base.with_(scale=s).key for base in bases for s in FINE_SCALES]
    return outcomes, grid, "DEFAULT_RULE with the laws' spread k, k and scale chosen"


if __name__ == "__main__":
    loso_on_cache(__doc__.splitlines()[0], spread_grid)
