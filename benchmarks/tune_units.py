"""Leave one source out: conformal scores in log units beside the shipped ones in units of σ (a
registered run).

    .venv/bin/python benchmarks/tune_units.py [--offsets | --floors] [--cache FITS]   (repo root)

Registered in docs/auto-tuning-log.md (2026-12-05, night, "conformal scores in log units"; with
`--offsets`, the run registered after it, "scores in units of σ + τ"; with `--floors`, that of
2026-12-06, "a floor under the full fit's σ relative to the cuts'").
`DEFAULT_RULE`'s point knobs stay as shipped, so its predictions and medians do not change; on
the as-run fits (benchmarks/data/tune_cache_as_run.json.gz, the fits auto makes), its interval is
calibrated with the scores in units of σ (`units="sigma"`, shipped) or in log units
(`units="log"`), growth ½ or 1, at every scale of FINE_SCALES. Each split chooses (units, growth,
scale) by `protocol.default_choice` on its four tuning sources (the seven single laws are the
reference) and is scored on the one left out; beside it, the same grid with σ units only.
`--offsets` adds σ units with a floor τ ∈ OFFSETS (`sigma_offset`: units of σ + τ) to the grid,
and a third table with them; `--floors` replaces the grid by σ units with the interval's σ
floored at L ∈ FLOORS times the cuts' smallest (`noise_floor_ratio`; L = 0 is shipped), in one
table (`--growths 1`: at the shipped growth only, the run registered after it); `--cache`
reads other cached fits (run H: the whole-grid backtests of `tune_backtest_starts.py`).
Printed: the tables, each split's choice, and the choice on all five sources (in-sample).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import tune_auto
from tune_auto import LABELS, Precomputed
from tune_candidates import configs_outcomes, print_loso

from scalinglab.selection import protocol
from scalinglab.selection.corpus import load_corpus
from scalinglab.selection.rule import DEFAULT_RULE, UNITS, RuleConfig

GROWTHS = (0.5, 1.0)
# 5% steps from 0.8 to 4.85: the shipped grid (tune_auto.SCALES) has nothing between 2.0 and 2.5,
# where the five sources' in-sample ranges meet with log units (the registration's table)
FINE_SCALES = tuple(round(0.8 * 1.05**i, 4) for i in range(38))
OFFSETS = (0.003, 0.01, 0.03)  # τ in log units, fixed in the registration before any figure
FLOORS = (0.0, 1 / 3, 0.5, 2 / 3, 1.0)  # L, as registered (0: the shipped rule)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    grid_kind = parser.add_mutually_exclusive_group()
    grid_kind.add_argument("--offsets", action="store_true", help="add σ + τ units to the grid")
    grid_kind.add_argument("--floors", action="store_true", help="σ units with a floor under σ")
    parser.add_argument(
        "--cache", type=Path, default=tune_auto.AS_RUN_CACHE, help="the cached fits to read"
    )
    parser.add_argument(
        "--growths", default=",".join(f"{g:g}" for g in GROWTHS), help="the grid's growths"
    )
    args = parser.parse_args()
    growths = tuple(float(g) for g in args.growths.split(","))
    problems = load_corpus()
    fits = tune_auto.load_or_compute(problems, args.cache, 1, as_run=True)
    t0 = time.perf_counter()
    if args.floors:
        bases = [DEFAULT_RULE.with_(noise_floor_ratio=f, growth=g) for f in FLOORS for g in growths]
        grids = {"a floor under the full fit's σ": ("sigma",)}
    else:
        bases = [DEFAULT_RULE.with_(units=u, growth=g) for u in UNITS for g in growths]
        grids = {"scores in units of σ": ("sigma",), "either units": UNITS}
    if args.offsets:
        bases += [DEFAULT_RULE.with_(sigma_offset=t, growth=g) for t in OFFSETS for g in growths]
        grids["either units or σ + τ"] = (*UNITS, "offset")
    outcomes = configs_outcomes(problems, fits, bases, FINE_SCALES)
    scorer = Precomputed(outcomes)
    everything = protocol.summarise(outcomes, reference=LABELS)

    def kind(base: RuleConfig) -> str:
        return "offset" if base.sigma_offset else base.units

    for name, kinds in grids.items():
        grid = [
            base.with_(scale=k).key for base in bases if kind(base) in kinds for k in FINE_SCALES
        ]
        heading = f"DEFAULT_RULE with {name}, growth and scale chosen"
        print_loso(problems, outcomes, grid, heading, scorer=scorer, everything=everything)
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
