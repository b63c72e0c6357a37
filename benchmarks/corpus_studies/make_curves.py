"""Run the corpus studies and write their learning curves to benchmarks/data/study_curves.csv.

The `studies` source of the extrapolation corpus (scalinglab.selection.corpus, issue 13): one
small scaling study per built-in task (Hestness et al. 2017's four domains and the synthetic
task), every (shard, model size) trained for each seed. From each study's exported results:

- kind ``best``: per seed, the best-fit model's metric per shard (Hestness's learning curve);
- kind ``size``: per seed and model size, that size's best metric per shard (across learning
  rates), the learning curve of one fixed model.

The metric is the one the study selects by: top-1 / word error for image and speech
(`select_by = "error"`), validation loss otherwise.

    .venv/bin/python benchmarks/corpus_studies/make_curves.py [NAME ...] [--no-run]

Studies run one at a time with 1 worker into runs/corpus/<name>.db (rerunning resumes: finished
trials are kept), are exported to runs/corpus/<name>.csv, and the curve table is rewritten from
all exports found. --no-run only rebuilds the table from existing exports.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RUNS = REPO / "runs" / "corpus"
OUT = REPO / "benchmarks" / "data" / "study_curves.csv"
STUDIES = ("synthetic", "image", "speech", "lm", "translation")
SCALINGLAB = REPO / ".venv" / "bin" / "scalinglab"


def study_name(config: Path) -> str:
    with config.open("rb") as fh:
        return str(tomllib.load(fh)["name"])


def select_by(config: Path) -> str:
    with config.open("rb") as fh:
        return str(tomllib.load(fh).get("search", {}).get("select_by", "loss"))


def run_and_export(config: Path) -> Path:
    """Run (or resume) the study with one worker and export its trials; the export's path."""
    name = study_name(config)
    storage = f"sqlite:///{RUNS / (name + '.db')}"
    t0 = time.perf_counter()
    cmd = [str(SCALINGLAB), "study", "run", str(config), "--storage", storage, "--workers", "1"]
    subprocess.run([*cmd, "--no-progress"], check=True)
    print(f"{name}: {time.perf_counter() - t0:.0f} s wall", flush=True)
    out = RUNS / f"{name}.csv"
    subprocess.run(
        [str(SCALINGLAB), "study", "export", name, "--storage", storage, "--out", str(out)],
        check=True,
    )
    return out


def curves_of(results: pd.DataFrame, study: str, by: str) -> pd.DataFrame:
    """The best-per-shard and per-model-size curves of one study's results table."""
    done = results[results["state"] == "COMPLETE"].copy()
    column = "best_val_error" if by == "error" else "best_val_loss"
    metric = str(done["metric"].iloc[0]) if by == "error" else "val_loss"
    domain = str(done["task"].iloc[0])
    rows = []
    for seed, g in done.groupby("seed", sort=True):
        best = g.loc[g.groupby("shard_size")[column].idxmin()].sort_values("shard_size")
        for r in best.itertuples(index=False):
            rows.append(
                {
                    "source_study": study,
                    "domain": domain,
                    "metric": metric,
                    "kind": "best",
                    "seed": int(seed),
                    "model_size": 0,
                    "n_params": int(r.n_params),
                    "curve_id": f"{study}|best|s{seed}",
                    "x": int(r.shard_size),
                    "y": float(getattr(r, column)),
                }
            )
        for size, h in g.groupby("model_size", sort=True):
            per = h.loc[h.groupby("shard_size")[column].idxmin()].sort_values("shard_size")
            for r in per.itertuples(index=False):
                rows.append(
                    {
                        "source_study": study,
                        "domain": domain,
                        "metric": metric,
                        "kind": "size",
                        "seed": int(seed),
                        "model_size": int(size),
                        "n_params": int(r.n_params),
                        "curve_id": f"{study}|size{size}|s{seed}",
                        "x": int(r.shard_size),
                        "y": float(getattr(r, column)),
                    }
                )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(STUDIES), help="studies to run")
    parser.add_argument("--no-run", action="store_true", help="only rebuild the curve table")
    args = parser.parse_args(argv)
    RUNS.mkdir(parents=True, exist_ok=True)
    if not args.no_run:
        for name in args.names:
            run_and_export(HERE / f"{name}.toml")
    tables = []
    for name in STUDIES:
        config = HERE / f"{name}.toml"
        export = RUNS / f"{study_name(config)}.csv"
        if not export.exists():
            print(f"{export} missing: run {name} first", file=sys.stderr)
            continue
        results = pd.read_csv(export)
        hours = results["wall_time"].sum() / 3600
        print(f"{study_name(config)}: {len(results)} trials, {hours * 60:.1f} min of training")
        tables.append(curves_of(results, study_name(config), select_by(config)))
    if not tables:
        return 1
    table = pd.concat(tables, ignore_index=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUT, index=False)
    print(f"wrote {OUT}: {table['curve_id'].nunique()} curves, {len(table)} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
