"""Leave one source out: extra growth of the interval past the backtests' reach (issue 13;
docs/auto-tuning-log.md, 2026-12-07, "extra growth past the backtests' reach, chosen per split"
and the registration of 03:27).

    .venv/bin/python benchmarks/tune_beyond.py [--beyonds 0,0.5,1] [--fresh-sets fresh,...]

`tune_auto.SIGMA_RULE`'s (`DEFAULT_RULE` when this ran) point knobs stay as shipped, so its
predictions and medians do not change; its interval's log half-width past the reach is
multiplied by (d/reach)^b (`RuleConfig.beyond`, `calibration.growth_factor`). b in `--beyonds` ×
`FINE_SCALES`, leave one source out on six sources (the corpus's five and fresh study sets 1–3
as `fresh`, the sources of tune_pool.py), each split choosing (b, scale) by
`protocol.default_choice` on the other five. With the default grid every split chooses b = 1
(scale 2.9868; lang's split 3.1361), the registered candidate; with b = 2 in the grid five
splits choose it, and its intervals at 60,000 images span factors up to 96 (`image_check.py
--draws --knobs '{"beyond": 2.0, "scale": 2.8445}'`)."""

from __future__ import annotations

import argparse
import time

import fresh_cache
from tune_auto import SIGMA_RULE
from tune_candidates import configs_outcomes, print_loso_of
from tune_units import FINE_SCALES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beyonds", default="0,0.5,1", help="b values, comma-separated")
    fresh_cache.add_fresh_sets_option(parser)
    args = parser.parse_args()
    beyonds = [float(b) for b in args.beyonds.split(",") if b.strip()]
    problems, fits = fresh_cache.six_sources(args.fresh_sets)
    t0 = time.perf_counter()
    rules = [SIGMA_RULE.with_(beyond=b) for b in beyonds]
    outcomes = configs_outcomes(problems, fits, rules, FINE_SCALES)
    grid = [rule.with_(scale=k).key for rule in rules for k in FINE_SCALES]
    print_loso_of(
        problems, outcomes, grid,
        f"the σ-unit rule with growth past the reach b in {beyonds}, b and scale chosen",
    )  # fmt: skip
    print(f"\n({time.perf_counter() - t0:.0f} s after the fits)")


if __name__ == "__main__":
    main()
