"""Issue 13's image check with a variant of the auto rule: `study fit NAME --fit-up-to 7500`
with `DEFAULT_RULE`'s growth, scale, units, noise floor or backtest starts replaced.

    .venv/bin/python benchmarks/image_check.py --growth 2 --scale 2.5 \\
        image-fashion-mnist-60k=sqlite:///runs/image-fashion-mnist-60k.db \\
        image-fashion-mnist-60k-s23=benchmarks/data/image_draws/image-fashion-mnist-60k-s23.csv.gz

Each study is examples/image-60k.toml run (draws 2 to 5 with `seeds = [2, 3]`, `[4, 5]`,
`[6, 7]` and `[8, 9]` and the name suffixed -s23, -s45, -s67, -s89), given by its storage URL
or by its trial table as `study export` writes it (.csv or .csv.gz): the draws' tables are
committed in benchmarks/data/image_draws/, so every image check reruns from a clean clone
(`--draws` checks all of them). Printed per held-out shard: measured error, prediction, 90%
interval, inside.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import pandas as pd
from rule_variant import add_rule_options, rule_from

from scalinglab.io import read_table
from scalinglab.study import fit_study, load_results

FIT_UP_TO = 7500
DRAWS = Path(__file__).resolve().parent / "data" / "image_draws"


def trial_table(name: str, storage: str) -> pd.DataFrame:
    """A study's trial table: from its storage URL (or the default storage when empty), else
    from the table `study export` wrote (CSV, gzipped CSV or Parquet)."""
    if not storage or "://" in storage:
        return load_results(name, storage or None)
    return read_table(storage)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("studies", nargs="*", help="NAME=STORAGE (or =TABLE.csv.gz) to check")
    parser.add_argument("--draws", action="store_true", help="every table in " + str(DRAWS))
    add_rule_options(parser)
    args = parser.parse_args()
    config = rule_from(args)
    print(config.key)
    studies = list(args.studies)
    if args.draws:
        studies += [f"{p.name.removesuffix('.csv.gz')}={p}" for p in sorted(DRAWS.glob("*.csv.gz"))]
    for spec in studies:
        name, _, storage = spec.partition("=")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fit_study(trial_table(name, storage), fit_up_to=FIT_UP_TO, rule=config)
        print(name)
        for h in result.holdout:
            inside = h.lo <= h.measured <= h.hi
            print(
                f"  {h.shard_size:>6}: measured {h.measured:.4f}, predicted {h.predicted:.4f} "
                f"({h.lo:.4f}, {h.hi:.4f}), {'inside' if inside else 'outside'}"
            )


if __name__ == "__main__":
    main()
