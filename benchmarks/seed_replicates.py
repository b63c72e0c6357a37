"""auto on curves with several seeds per shard (tied x), as `study fit` gives it (issue 13).

The development corpus has no tied x, so its tables cannot show how the auto rule treats seeds.
Two checks that can:

1. Pooled seeds: every curve of benchmarks/data/study_curves.csv measured at >= 2 seeds, its
   seeds pooled into one curve (each shard once per seed), cut at 1-3 held-out shards as the
   corpus cuts study curves; auto (DEFAULT_RULE, target: the largest held-out shard) is scored by
   RMSE of ln y on the held-out points and the coverage of its 90% intervals, per domain.
2. A known truth: 12 draws of the clean study of tests/study/test_fit.py (eps = 2·m^-0.35 +
   0.05 at 2 seeds × 10 shards, 1% multiplicative noise), `fit_study(..., fit_up_to=8192)`: the
   error of the prediction 8× beyond the data against the true curve, and whether the 90%
   interval holds it.

    .venv/bin/python benchmarks/seed_replicates.py [--draws 12] [--skip-pooled]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from scalinglab.selection import corpus, protocol
from scalinglab.study.fit import fit_study

STUDY_CURVES = Path(__file__).resolve().parent / "data" / "study_curves.csv"
A, B, C = 2.0, -0.35, 0.05  # tests/study/test_fit.py's true curve
SHARDS = [2**k for k in range(7, 17)]


def pooled_problems() -> list[corpus.Problem]:
    df = pd.read_csv(STUDY_CURVES)
    df = df[(df["x"] > 0) & (df["y"] > 0)]
    out: list[corpus.Problem] = []
    for key, g in df.groupby(["source_study", "kind", "model_size"]):
        if g["seed"].nunique() >= 2:
            meta = {"domain": str(g["domain"].iloc[0])}
            name = "|".join(map(str, key))
            out += corpus.cut_curve("pooled", name, g["x"], g["y"], corpus.STUDY_HORIZONS, meta)
    return out


def clean_study(draw: int, noise: float = 0.01) -> pd.DataFrame:
    """tests/study/test_fit.py's `trials` with its random draw as a parameter."""
    rng = np.random.default_rng(draw)
    rows = []
    for seed in (0, 1):
        for m in SHARDS:
            eps = (A * m**B + C) * np.exp(noise * rng.standard_normal())
            for width, worse in ((8, 1.3), (32, 1.0)):
                rows.append(
                    {"task": "synthetic", "seed": seed, "shard_size": m, "model_size": width,
                     "n_params": 100 * width, "state": "COMPLETE",
                     "best_val_loss": 2 * eps * worse, "best_val_error": eps * worse}
                )  # fmt: skip
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=12)
    parser.add_argument("--skip-pooled", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if not args.skip_pooled:
        problems = pooled_problems()
        by_domain = {p.id: str(p.meta["domain"]) for p in problems}
        outcomes = protocol.score(problems, {"auto": protocol.AutoRule()})
        print(f"1. pooled seeds: {len(problems)} problems")
        print(protocol.format_table(protocol.summarise(outcomes)))
        for domain in sorted(set(by_domain.values())):
            rmse = [o.rmse for o in outcomes if by_domain[o.problem] == domain]
            print(f"   {domain:12s} {len(rmse):3d} problems, median RMSE {np.median(rmse):.4f}")
    errors, covered, widths = [], 0, []
    for draw in range(args.draws):
        fit = fit_study(clean_study(draw), y="best_val_error", fit_up_to=8192, n_bootstrap=0)
        far = fit.holdout[-1]
        truth = A * far.shard_size**B + C
        errors.append(abs(far.predicted / truth - 1))
        covered += bool(far.lo < truth < far.hi)
        widths.append((far.hi - far.lo) / far.predicted)
    print(
        f"2. clean study, {args.draws} draws, 8x beyond the data: median |error| "
        f"{np.median(errors):.1%}, within 3% on {sum(e < 0.03 for e in errors)}, truth inside "
        f"the 90% interval on {covered}, median interval width {np.median(widths):.2f} of the "
        "prediction"
    )


if __name__ == "__main__":
    main()
