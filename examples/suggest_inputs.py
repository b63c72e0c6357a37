"""Write the three tables of the README's `suggest` example from the Chinchilla task of
../shared/data/scalebench_dev: done.csv (the 40 cheapest training runs by 6·N·D, with their loss),
pool.csv (the other training runs, without their loss: the runs one could train next) and
target.csv (the test runs' N and D: where the prediction is wanted).

    .venv/bin/python examples/suggest_inputs.py [--data ../shared/data/scalebench_dev] [--out .]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

DONE = 40  # the runs already trained: the cheapest ones, as a study grows from small runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/scalebench_dev"))
    parser.add_argument("--out", type=Path, default=Path("."))
    args = parser.parse_args()
    train = pd.read_csv(args.data / "chinchilla_train.csv")
    test = pd.read_csv(args.data / "chinchilla_test.csv")
    train = train.iloc[(6 * train.N * train.D).argsort(kind="stable")]
    args.out.mkdir(parents=True, exist_ok=True)
    train.iloc[:DONE].to_csv(args.out / "done.csv", index=False)
    train.iloc[DONE:].drop(columns="loss").to_csv(args.out / "pool.csv", index=False)
    test[["N", "D"]].to_csv(args.out / "target.csv", index=False)
    print(f"wrote done.csv ({DONE} runs), pool.csv ({len(train) - DONE}), target.csv ({len(test)})")


if __name__ == "__main__":
    main()
