"""The budget protocol of `scalinglab benchmark design` on our own study grids (a registered run).

    .venv/bin/python benchmarks/design_study_grids.py [--export] [--workers 2]   (repo root)

Registered in docs/design-log.md (2026-12-06, "the budget protocol on our own study grids").
Each full grid becomes a pool: one row per cell — m (shard size), p (parameter count), y (the
cell's value as an adaptive study reads it, `adaptive.cell_values`: each seed's best
`select_by` value, averaged over seeds) and flops (the training FLOPs its trials spent) — with
the cells of the two largest shards as TEST and the rest as TRAIN. `--export` writes the pools
to benchmarks/data/design_grids/ from the grids' databases (runs/, not committed) and tables;
without it the committed pools are read. Then, per task, `scalinglab benchmark design TRAIN TEST
--formula FORMULA --y y --cost flops --json ...` (the adaptive study's law with its default
bounds; 1%, 5%, 10% budgets; 10 repeats), tasks run side by side on `--workers` processes, and
a table of mean R² per method and budget is printed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from scalinglab.io import read_table
from scalinglab.study import load_results
from scalinglab.study.adaptive import cell_values
from scalinglab.study.config import DEFAULT_ADAPTIVE_LAW

REPO = Path(__file__).resolve().parents[1]
POOLS = REPO / "benchmarks" / "data" / "design_grids"
TEST_SHARDS = 2  # the largest shards' cells are the test runs


def _grid(run_dir: str, name: str) -> str:
    """Where a full grid's trials are: its storage URL in runs/, with the study's name."""
    return f"sqlite:///runs/{run_dir}/{name}.db#{name}"


# task: (where its trials are: a storage URL with the study's name, or a trial table; the y
# column `adaptive.y_column` reads for its select_by)
TASKS = {
    "synthetic-1234": (
        _grid("adaptive-bench-v6", "adaptive-bench-synthetic-grid"),
        "best_val_loss",
    ),
    **{
        f"synthetic-{seed}": (
            _grid("adaptive-bench-v6", f"adaptive-bench-synthetic-grid-data_seed_base-{seed}"),
            "best_val_loss",
        )
        for seed in (7, 8)
    },
    "lm": (_grid("adaptive-bench", "adaptive-bench-lm-grid"), "best_val_loss"),
    "lm1000": (_grid("adaptive-bench", "adaptive-bench-lm1000-grid"), "best_val_loss"),
    "speech": (_grid("adaptive-bench", "adaptive-bench-speech-grid"), "best_val_error"),
    "translation": (_grid("adaptive-bench", "adaptive-bench-translation-grid"), "best_val_loss"),
    "image": ("benchmarks/data/image_draws/image-fashion-mnist-60k.csv.gz", "best_val_error"),
}
BUDGETS = "0.01,0.05,0.1"


def trials(where: str) -> pd.DataFrame:
    if "#" in where:
        storage, name = where.split("#")
        return load_results(name, storage)
    return read_table(REPO / where)


def pool(df: pd.DataFrame, y: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test): one row per cell (m, p, y, flops), the two largest shards' cells as test."""
    cells = cell_values(df, y)
    done = df[df["state"].astype(str) == "COMPLETE"]
    flops = done.groupby(["shard_size", "model_size"], as_index=False)["flops"].sum()
    cells = cells.merge(flops, on=["shard_size", "model_size"])
    table = pd.DataFrame(
        {"m": cells["shard_size"], "p": cells["n_params"], "y": cells["y"], "flops": cells["flops"]}
    )
    largest = sorted(table["m"].unique())[-TEST_SHARDS:]
    test = table["m"].isin(largest)
    return table[~test].reset_index(drop=True), table[test].reset_index(drop=True)


def export() -> None:
    POOLS.mkdir(parents=True, exist_ok=True)
    for task, (where, y) in TASKS.items():
        train, test = pool(trials(where), y)
        train.to_csv(POOLS / f"{task}_train.csv", index=False)
        test.to_csv(POOLS / f"{task}_test.csv", index=False)
        print(f"{task}: {len(train)} train cells, {len(test)} test cells", flush=True)


def run(task: str) -> dict:
    out = POOLS / f"{task}.json"
    if not out.exists():
        subprocess.run(
            [
                str(Path(sys.executable).parent / "scalinglab"), "benchmark", "design",
                str(POOLS / f"{task}_train.csv"), str(POOLS / f"{task}_test.csv"),
                "--formula", DEFAULT_ADAPTIVE_LAW, "--y", "y", "--cost", "flops",
                "--budgets", BUDGETS, "--repeats", "10", "--json", str(out),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
    return dict(json.loads(out.read_text()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", action="store_true", help="write the pools from the grids")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.export:
        export()
    with ThreadPoolExecutor(args.workers) as ex:
        results = dict(zip(TASKS, ex.map(run, TASKS), strict=True))
    budgets = BUDGETS.split(",")
    print("| task (all train cells) | method | " + " | ".join(f"{b}" for b in budgets) + " |")
    print("|---|---|" + "---:|" * len(budgets))
    tally = 0
    for task, res in results.items():
        methods = res["methods"]
        for i, (name, m) in enumerate(methods.items()):
            head = f"{task} ({res['all_data_r2']:.3f})" if i == 0 else ""
            cells = []
            for b in budgets:
                key = f"{float(b):g}"
                se = m["r2_se"][key]
                cells.append(f"{m['r2'][key]:.3f}" + (f" ± {se:.3f}" if se > 0 else ""))
            print(f"| {head} | {name} | " + " | ".join(cells) + " |")
        ours = methods["design"]["r2"]
        wins = all(
            ours[k] >= methods["random"]["r2"][k] and ours[k] >= methods["cheapest"]["r2"][k]
            for k in ours
        )
        tally += wins
        print(f"| | design ≥ random and ≥ cheapest at every budget: {'yes' if wins else 'no'} | |")
    print(f"\nthe criterion holds on {tally} of {len(results)} tasks")


if __name__ == "__main__":
    main()
