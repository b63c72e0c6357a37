"""Adaptive study vs the full grid (issue 16): does an adaptive study reach the full grid's
prediction at the target with a fraction of its training FLOPs?

    .venv/bin/python benchmarks/adaptive_study.py GRID.toml ADAPTIVE.toml \
        [--dir runs/adaptive-bench] [--workers 1] [--budget-fraction 0.333] [--json OUT] \
        [--task-option data_seed_base=7]

1. Runs (or resumes) GRID.toml, the full shards x model-sizes grid, in DIR/<name>.db.
2. Fits ADAPTIVE.toml's law to every cell of the grid and takes its prediction at the adaptive
   study's target with the same model-robust 90% interval the adaptive study stops on
   (scalinglab.study.adaptive.target_interval): the full grid's prediction and interval.
3. Runs (or resumes) ADAPTIVE.toml in DIR/<name>.db, with `[budget] total_flops` set to
   --budget-fraction of the grid's training FLOPs (0: the study file's own budget, if any).
4. Prints each round (spent FLOPs, share of the grid's, prediction, interval, the interval of a
   value measured at the target) and whether the adaptive prediction lies inside the full grid's
   90% interval, and with what share of its FLOPs; and whether the value the grid measured at
   the target lies inside the adaptive study's interval of a measurement.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from scalinglab.study import run_study
from scalinglab.study.adaptive import (
    cell_values,
    fit_law,
    read_plan,
    target_interval,
    target_model_size,
    y_column,
)
from scalinglab.study.config import load_config
from scalinglab.study.results import results_frame
from scalinglab.study.storage import open_storage
from scalinglab.tasks import get_task


def task_options(pairs: list[str]) -> dict[str, Any]:
    """--task-option KEY=VALUE pairs (VALUE as JSON)."""
    return {k: json.loads(v) for k, v in (o.split("=", 1) for o in pairs)}


def with_options(path: str, options: dict[str, Any]) -> dict[str, Any]:
    """A study file with task options set, its name suffixed -KEY-VALUE for each."""
    data = load_config(path).model_dump(mode="json")
    data["name"] += "".join(f"-{k}-{v}" for k, v in options.items())
    data["task"]["options"].update(options)
    return data


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("grid")
    ap.add_argument("adaptive")
    ap.add_argument("--dir", default="runs/adaptive-bench")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--budget-fraction", type=float, default=1 / 3)
    ap.add_argument("--json", dest="json_out")
    ap.add_argument(
        "--task-option", action="append", default=[], metavar="KEY=VALUE",
        help="set a task option in both studies (their names get -KEY-VALUE), e.g. "
        "data_seed_base=7 for another draw of the synthetic task",
    )  # fmt: skip
    args = ap.parse_args(argv)
    options = task_options(args.task_option)
    out = Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)

    grid_cfg = load_config(with_options(args.grid, options))
    grid_url = f"sqlite:///{out / grid_cfg.name}.db"
    grid_run = run_study(grid_cfg, storage=grid_url, workers=args.workers, progress=False)
    if not grid_run.finished:
        print(f"the grid study did not finish ({grid_run.status.state}); rerun to resume")
        return 1
    grid_df = results_frame(grid_cfg, open_storage(grid_url))
    grid_flops = float(grid_df["flops"].fillna(0).sum())

    ad_data = with_options(args.adaptive, options)
    if args.budget_fraction > 0:
        ad_data["budget"]["total_flops"] = args.budget_fraction * grid_flops
    ad_cfg = load_config(ad_data)
    task = get_task(ad_cfg.task.name, **ad_cfg.task.options)
    size = target_model_size(ad_cfg, task)
    assert ad_cfg.search.target is not None
    X_target = np.array([[float(ad_cfg.search.target.examples), float(task.n_params(size))]])
    grid_cells = cell_values(grid_df, y_column(ad_cfg))
    full, _ = target_interval(fit_law(ad_cfg.search.law, grid_cells), grid_cells, X_target)
    measured = grid_cells[
        (grid_cells["shard_size"] == ad_cfg.search.target.examples)
        & (grid_cells["model_size"] == size)
    ]["y"]

    ad_url = f"sqlite:///{out / ad_cfg.name}.db"
    ad_run = run_study(ad_cfg, storage=ad_url, workers=args.workers, progress=False)
    plan = read_plan(ad_cfg, open_storage(ad_url))
    assert plan is not None
    rounds = plan.table()
    rounds["share_of_grid"] = rounds["spent_flops"] / grid_flops
    rounds["inside_full_interval"] = (rounds["prediction"] >= full.lo) & (
        rounds["prediction"] <= full.hi
    )
    last = rounds.dropna(subset=["prediction"]).iloc[-1]
    report: dict[str, Any] = {
        "grid": {"name": grid_cfg.name, "cells": len(grid_cells), "flops": grid_flops,
                 "prediction": full.prediction, "lo": full.lo, "hi": full.hi,
                 "rel_width": full.rel_width,
                 "measured_at_target": float(measured.iloc[0]) if len(measured) else None},
        "adaptive": {"name": ad_cfg.name, "stopped": plan.stopped, "finished": ad_run.finished,
                     "flops": float(ad_run.status.flops), "budget": ad_cfg.budget.total_flops,
                     "share_of_grid": float(ad_run.status.flops) / grid_flops,
                     "prediction": float(last["prediction"]), "lo": float(last["lo"]),
                     "hi": float(last["hi"]), "rel_width": float(last["rel_width"]),
                     "measured_lo": float(last["measured_lo"]),
                     "measured_hi": float(last["measured_hi"]),
                     "inside_full_interval": bool(last["inside_full_interval"]),
                     "rounds": rounds.to_dict(orient="records")},
        "target": {"examples": ad_cfg.search.target.examples, "model_size": size,
                   "n_params": int(task.n_params(size))},
    }  # fmt: skip
    g, a = report["grid"], report["adaptive"]
    print(f"target: {report['target']}")
    print(
        f"full grid: {g['cells']} cells, {g['flops']:.4g} FLOPs; prediction {g['prediction']:.4g}"
        f" (90% {g['lo']:.4g} - {g['hi']:.4g}, {g['rel_width']:.1%} wide); measured there: "
        f"{g['measured_at_target']}"
    )
    print(rounds.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(
        f"adaptive: {a['flops']:.4g} FLOPs = {a['share_of_grid']:.1%} of the grid; prediction "
        f"{a['prediction']:.4g} (90% {a['lo']:.4g} - {a['hi']:.4g}); inside the full grid's "
        f"interval: {a['inside_full_interval']}; stopped: {a['stopped']}"
    )
    if g["measured_at_target"] is not None:
        inside = a["measured_lo"] <= g["measured_at_target"] <= a["measured_hi"]
        print(
            f"a value measured at the target: 90% {a['measured_lo']:.4g} - "
            f"{a['measured_hi']:.4g}; measured {g['measured_at_target']:.4g}, "
            f"{'inside' if inside else 'outside'}"
        )
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2, default=float) + "\n")
    ok = a["inside_full_interval"] and a["share_of_grid"] <= 1 / 3 + 1e-9
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
