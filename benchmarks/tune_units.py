"""Leave one source out: conformal scores in log units beside the shipped ones in units of σ (a
registered run).

    .venv/bin/python benchmarks/tune_units.py   (from the repository root)

Registered in docs/auto-tuning-log.md (2026-12-05, night, "conformal scores in log units").
`DEFAULT_RULE`'s point knobs stay as shipped, so its predictions and medians do not change; on
the as-run fits (benchmarks/data/tune_cache_as_run.json.gz, the fits auto makes), its interval is
calibrated with the scores in units of σ (`units="sigma"`, shipped) or in log units
(`units="log"`), growth ½ or 1, at every scale of FINE_SCALES. Each split chooses (units, growth,
scale) by `protocol.default_choice` on its four tuning sources (the seven single laws are the
reference) and is scored on the one left out; beside it, the same grid with σ units only.
Printed: both tables, each split's choice, and the choice on all five sources (in-sample).
"""

from __future__ import annotations

import time

import tune_auto
from tune_auto import LABELS, Precomputed
from tune_candidates import configs_outcomes

from scalinglab.selection import protocol
from scalinglab.selection.corpus import load_corpus
from scalinglab.selection.rule import DEFAULT_RULE, UNITS

GROWTHS = (0.5, 1.0)
# 5% steps from 0.8 to 4.85: the shipped grid (tune_auto.SCALES) has nothing between 2.0 and 2.5,
# where the five sources' in-sample ranges meet with log units (the registration's table)
FINE_SCALES = tuple(round(0.8 * 1.05**i, 4) for i in range(38))


def main() -> None:
    problems = load_corpus()
    fits = tune_auto.load_or_compute(problems, tune_auto.AS_RUN_CACHE, 1, as_run=True)
    t0 = time.perf_counter()
    bases = [DEFAULT_RULE.with_(units=u, growth=g) for u in UNITS for g in GROWTHS]
    outcomes = configs_outcomes(problems, fits, bases, FINE_SCALES)
    scorer = Precomputed(outcomes)
    everything = protocol.summarise(outcomes, reference=LABELS)
    for name, units in (("scores in units of σ", ("sigma",)), ("either units", UNITS)):
        grid = [
            base.with_(scale=k).key for base in bases if base.units in units for k in FINE_SCALES
        ]
        loso = protocol.leave_one_source_out(problems, grid, reference=LABELS, scorer=scorer)
        print(f"\nleave one source out, DEFAULT_RULE with {name}, growth and scale chosen:")
        print(tune_auto.loso_table(outcomes, loso))
        chosen = protocol.default_choice(everything[everything["rule"].isin([*LABELS, *grid])])
        print(f"chosen on all five sources (in-sample): {chosen}")
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
