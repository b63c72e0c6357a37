"""Issue 13's image check with a variant of the auto rule: `study fit NAME --fit-up-to 7500`
with `DEFAULT_RULE`'s growth, scale, units, noise floor or backtest starts replaced.

    .venv/bin/python benchmarks/image_check.py --growth 2 --scale 2.5 \\
        image-fashion-mnist-60k=sqlite:///runs/image-fashion-mnist-60k.db \\
        image-fashion-mnist-60k-s23=sqlite:///runs/image-fashion-mnist-60k-s23.db

Each study is examples/image-60k.toml run (the second with `seeds = [2, 3]` and the name
suffixed -s23). Printed per held-out shard: measured error, prediction, 90% interval, inside.
"""

from __future__ import annotations

import argparse
import warnings

from scalinglab.selection.rule import DEFAULT_RULE, UNITS
from scalinglab.study import fit_study, load_results

FIT_UP_TO = 7500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("studies", nargs="+", help="NAME=STORAGE of each study to check")
    parser.add_argument("--growth", type=float, default=DEFAULT_RULE.growth)
    parser.add_argument("--scale", type=float, default=DEFAULT_RULE.scale)
    parser.add_argument("--units", choices=UNITS, default=DEFAULT_RULE.units)
    parser.add_argument(
        "--noise-floor-ratio", type=float, default=DEFAULT_RULE.noise_floor_ratio, metavar="L"
    )
    parser.add_argument("--backtest-starts", type=int, default=DEFAULT_RULE.backtest_starts)
    args = parser.parse_args()
    config = DEFAULT_RULE.with_(
        growth=args.growth,
        scale=args.scale,
        units=args.units,
        backtest_starts=args.backtest_starts,
        noise_floor_ratio=args.noise_floor_ratio,
    )
    print(config.key)
    for spec in args.studies:
        name, _, storage = spec.partition("=")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fit_study(
                load_results(name, storage or None), fit_up_to=FIT_UP_TO, rule=config
            )
        print(name)
        for h in result.holdout:
            inside = h.lo <= h.measured <= h.hi
            print(
                f"  {h.shard_size:>6}: measured {h.measured:.4f}, predicted {h.predicted:.4f} "
                f"({h.lo:.4f}, {h.hi:.4f}), {'inside' if inside else 'outside'}"
            )


if __name__ == "__main__":
    main()
