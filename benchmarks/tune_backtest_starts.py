"""Leave one source out with auto's backtests fitted from the starts its prediction uses (a
registered run).

    .venv/bin/python benchmarks/tune_backtest_starts.py [--workers 2]

Registered in docs/auto-tuning-log.md (2026-12-05, "backtests from the same starts as the
prediction"). auto fits its backtests from 16 points of each law's start grid and the fits its
information criteria read from 64, but predicts with each law fitted on its whole grid.
1. Every corpus problem's backtests and criteria fits refitted from the whole grid (WHOLE_GRID
   starts; every candidate's grid is smaller), cached in
   benchmarks/data/tune_cache_as_run_whole_backtests_only.json.gz, then merged with the as-run
   cache's single-law fits (which do not depend on it) into WHOLE_CACHE, which run (a) reads:
   `tune_auto.py --as-run --cache benchmarks/data/tune_cache_as_run_whole_backtests.json.gz ...`.
2. Run (b): `DEFAULT_RULE` at every scale of `tune_auto.SCALES`, leave one source out (each
   split choosing the scale by `protocol.default_choice` on its tuning sources, the seven single
   laws as the reference), on the current as-run fits and on the whole-grid ones; and the scale
   chosen on all sources (in-sample).
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import tune_auto
from tune_auto import SCALES, Precomputed
from tune_candidates import configs_outcomes, merged, print_loso

from scalinglab.selection import protocol
from scalinglab.selection.corpus import load_corpus
from scalinglab.selection.rule import DEFAULT_RULE

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data"
WHOLE_GRID = 4096  # start points: more than any candidate's grid has (bnsl2: 2,400)
ONLY_CACHE = DATA / "tune_cache_as_run_whole_backtests_only.json.gz"
WHOLE_CACHE = DATA / "tune_cache_as_run_whole_backtests.json.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    problems = load_corpus()
    base = tune_auto.load_or_compute(problems, tune_auto.AS_RUN_CACHE, args.workers, True)
    only = tune_auto.load_or_compute(
        problems, ONLY_CACHE, args.workers, True, backtest_starts=WHOLE_GRID
    )
    whole = merged(base, only)
    WHOLE_CACHE.write_bytes(gzip.compress(json.dumps(whole, allow_nan=True).encode()))
    t0 = time.perf_counter()
    grid = [DEFAULT_RULE.with_(scale=k).key for k in SCALES]
    for name, fits in (("as-run fits (16/64 starts)", base), ("whole-grid backtests", whole)):
        outcomes = configs_outcomes(problems, fits, [DEFAULT_RULE])
        print_loso(
            problems, outcomes, grid, f"DEFAULT_RULE with its scale chosen, {name}",
            scorer=Precomputed(outcomes),
            everything=protocol.summarise(outcomes, reference=tune_auto.LABELS),
            chosen_label="chosen on all sources (in-sample)",
        )  # fmt: skip
    print(f"\n({time.perf_counter() - t0:.0f} s after the fits)")


if __name__ == "__main__":
    main()
