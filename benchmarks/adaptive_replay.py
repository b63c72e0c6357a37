"""Replay an adaptive study's confirmations from its trials with today's intervals (issue 16).

    .venv/bin/python benchmarks/adaptive_replay.py ADAPTIVE.toml DB [--grid GRID_DB] \
        [--task-option data_seed_base=7] [--measured VALUE]

For each confirmation round of the study in DB (an `adaptive_study.py` run), the law is fitted
to the cells done before it, as `adaptive.advance` fitted them, and the 90% interval of a value
measured at the confirmation cell (`adaptive.target_interval`) is set beside the one recorded
when the study ran and the value the cell measured. A verdict that differs means the study
would take another path today; the rounds before its first confirmation do not depend on the
interval. Then the law on every cell done gives the target's intervals (the law's, and a
measured value's), checked against the value measured at the target: the grid study's cell
there (--grid) or --measured.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np
from adaptive_study import task_options, with_options

from scalinglab.study import adaptive
from scalinglab.study.config import load_config
from scalinglab.study.results import results_frame
from scalinglab.study.storage import open_storage
from scalinglab.tasks import get_task


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("adaptive")
    ap.add_argument("db")
    ap.add_argument("--grid", help="the grid study's database: the value measured at the target")
    ap.add_argument("--grid-config", help="the grid study's file (with --grid)")
    ap.add_argument("--measured", type=float, help="the value measured at the target")
    ap.add_argument("--task-option", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args(argv)
    options = task_options(args.task_option)
    cfg = load_config(with_options(args.adaptive, options))
    storage = open_storage(f"sqlite:///{args.db}")
    plan = adaptive.read_plan(cfg, storage)
    assert plan is not None, f"no adaptive plan in {args.db}"
    df = results_frame(cfg, storage)
    y = adaptive.y_column(cfg)
    task = get_task(cfg.task.name, **cfg.task.options)
    size = adaptive.target_model_size(cfg, task)
    assert cfg.search.target is not None
    X_target = np.array([[float(cfg.search.target.examples), float(task.n_params(size))]])
    all_cells = adaptive.cell_values(df, y)

    def done_before(i: int) -> Any:
        before = {c for r in plan.rounds[:i] for c in r.cells}
        pairs = zip(all_cells.shard_size, all_cells.model_size, strict=True)
        keep = [pair in before for pair in pairs]
        return all_cells[np.array(keep, dtype=bool)].reset_index(drop=True)

    flips = 0
    for i, r in enumerate(plan.rounds):
        if r.confirms is None or "value" not in r.confirms:
            continue
        cells = done_before(i)
        (shard, model), value = r.cells[0], r.confirms["value"]
        X = np.array([[float(shard), float(task.n_params(model))]])
        new, _ = adaptive.target_interval(adaptive.fit_law(cfg.search.law, cells), cells, X)
        old_in = r.confirms["lo"] <= value <= r.confirms["hi"]
        new_in = new.measured_lo <= value <= new.measured_hi
        flips += old_in != new_in
        print(
            f"round {r.number} confirms ({shard}, {model}) on {len(cells)} cells: measured "
            f"{value:.4g}; recorded 90% {r.confirms['lo']:.4g} - {r.confirms['hi']:.4g} "
            f"({'inside' if old_in else 'outside'}); law's now {new.lo:.4g} - {new.hi:.4g}; "
            f"a measured value's {new.measured_lo:.4g} - {new.measured_hi:.4g} "
            f"({'inside' if new_in else 'outside'})"
        )
    law = adaptive.fit_law(cfg.search.law, all_cells)
    final, _ = adaptive.target_interval(law, all_cells, X_target)
    measured = args.measured
    if args.grid:
        grid_cfg = load_config(with_options(args.grid_config, options))
        grid_trials = results_frame(grid_cfg, open_storage(f"sqlite:///{args.grid}"))
        grid = adaptive.cell_values(grid_trials, y)
        at = grid[(grid.shard_size == cfg.search.target.examples) & (grid.model_size == size)]
        measured = float(at["y"].iloc[0]) if len(at) else None
    line = (
        f"target on all {len(all_cells)} cells: {final.prediction:.4g}, law's 90% "
        f"{final.lo:.4g} - {final.hi:.4g}, a measured value's {final.measured_lo:.4g} - "
        f"{final.measured_hi:.4g}"
    )
    if measured is not None:
        inside = final.measured_lo <= measured <= final.measured_hi
        line += f"; measured {measured:.4g}, {'inside' if inside else 'outside'}"
    print(line)
    print(f"verdicts that flip: {flips}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
