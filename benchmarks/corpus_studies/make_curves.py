"""Run the corpus studies and write their learning curves to benchmarks/data/study_curves.csv.

The `studies` source of the extrapolation corpus (scalinglab.selection.corpus, issue 13): one
small scaling study per built-in task (Hestness et al. 2017's four domains and the synthetic
task), every (shard, model size) trained for each seed. From each study's exported results:

- kind ``best``: per seed, the best-fit model's metric per shard (Hestness's learning curve);
- kind ``size``: per seed and model size, that size's best metric per shard (across learning
  rates), the learning curve of one fixed model.

The metric is the one the study selects by: top-1 / word error for image and speech
(`select_by = "error"`), validation loss otherwise.

    .venv/bin/python benchmarks/corpus_studies/make_curves.py [NAME ...] [--no-run] \
        [--suffix fresh2 --first-seed 6 [--factor 1.4142135623730951]] [--workers 1]

Studies run one at a time into runs/corpus/<name>.db (rerunning resumes: finished trials are
kept), are exported to runs/corpus/<name>.csv, and the curve table is rewritten from all exports
found. --no-run only rebuilds the table from existing exports. --suffix makes fresh draws kept
out of tuning (issue 13's out-of-sample checks): each study renamed <name>-<suffix>, its seeds
renumbered from --first-seed (a study's seed also draws its shards), written to
runs/corpus/<name>-<suffix>.toml, and the table to benchmarks/data/study_curves_<suffix>.csv.
"""

from __future__ import annotations

import argparse
import re
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


def fresh_config(config: Path, suffix: str, first_seed: int, factor: float | None = None) -> Path:
    """A fresh draw of a corpus study: renamed <name>-<suffix>, its seeds renumbered from
    first_seed (as many as it had), its shards `factor` apart when given (the same range, denser:
    longer curves), written beside the runs; the new file's path."""
    with config.open("rb") as fh:
        seeds = tomllib.load(fh)["train"]["seeds"]
    fresh = list(range(first_seed, first_seed + len(seeds)))
    text = config.read_text()
    text = re.sub(r'^name = "([^"]+)"', rf'name = "\1-{suffix}"', text, count=1, flags=re.M)
    text = re.sub(r"^seeds = \[[^\]]*\]", f"seeds = {fresh}", text, count=1, flags=re.M)
    if factor is not None:
        text = re.sub(r"^factor = \S+", f"factor = {factor!r}", text, count=1, flags=re.M)
    out = RUNS / f"{config.stem}-{suffix}.toml"
    out.write_text(text)
    with out.open("rb") as fh:  # the substitution must have taken
        read = tomllib.load(fh)
    assert read["train"]["seeds"] == fresh, out
    assert factor is None or read["shards"]["factor"] == factor, out
    return out


def run_and_export(config: Path, workers: int = 1) -> Path:
    """Run (or resume) the study and export its trials; the export's path."""
    name = study_name(config)
    storage = f"sqlite:///{RUNS / (name + '.db')}"
    t0 = time.perf_counter()
    cmd = [
        str(SCALINGLAB), "study", "run", str(config), "--storage", storage,
        "--workers", str(workers),
    ]  # fmt: skip
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
    parser.add_argument("--suffix", help="fresh draws: the studies' name suffix (e.g. fresh2)")
    parser.add_argument("--first-seed", type=int, help="fresh draws: their first seed")
    parser.add_argument(
        "--factor", type=float, help="fresh draws: the shards' factor (default: the study's, 2)"
    )
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    if (args.suffix is None) != (args.first_seed is None):
        parser.error("--suffix and --first-seed go together")
    RUNS.mkdir(parents=True, exist_ok=True)

    configs = {name: HERE / f"{name}.toml" for name in STUDIES}
    if args.suffix is not None:  # fresh draws: each study renamed and reseeded, once
        configs = {
            n: fresh_config(c, args.suffix, args.first_seed, args.factor)
            for n, c in configs.items()
        }
    if not args.no_run:
        for name in args.names:
            run_and_export(configs[name], args.workers)
    out_path = OUT if args.suffix is None else OUT.with_name(f"study_curves_{args.suffix}.csv")
    tables = []
    for name, config in configs.items():
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
    out_path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_path, index=False)
    print(f"wrote {out_path}: {table['curve_id'].nunique()} curves, {len(table)} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
