"""Adaptive studies: a real tiny one on the synthetic task with SQLite stops, records its rounds,
spends less than the full grid, and resumes after an interruption."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from scalinglab.design.next_runs import within_shape_range
from scalinglab.study import run_study
from scalinglab.study.adaptive import (
    Round,
    fit_law,
    lay_out,
    read_plan,
    target_interval,
    write_plan,
)
from scalinglab.study.config import load_config
from scalinglab.study.status import study_status
from scalinglab.study.storage import open_storage
from scalinglab.tasks import get_task


def _toml(name: str, design: str, extra: str = "", budget: str = "") -> str:
    adaptive = (
        'design = "adaptive"\ntarget = { examples = 4096 }\ntarget_rel_width = 0.001\n'
        "seed_shards = 2\nruns_per_round = 1\n"
        if design == "adaptive"
        else ""
    )
    return f"""
name = "{name}"
[task]
name = "synthetic"
options = {{ pool_size = 4096 }}
[shards]
smallest = 256
largest = 4096
[search]
model_sizes = [4, 8, 16]
sampler = "grid"
pruner = "none"
hparams.lr = {{ choices = [1e-2] }}
{adaptive}{extra}
[train]
seeds = [0]
max_epochs = 10
patience = 2
{budget}
"""


def test_adaptive_study_stops_records_rounds_and_resumes(tmp_path: Path) -> None:
    grid_path = tmp_path / "grid.toml"
    grid_path.write_text(_toml("grid", "grid"))
    grid = run_study(grid_path, storage=f"sqlite:///{tmp_path}/grid.db", workers=1,
                     progress=False)  # fmt: skip
    assert grid.finished and grid.status.total == 15
    full = grid.status.flops

    # A FLOP budget of half the full grid; the width target is out of reach, so it ends on it.
    path = tmp_path / "adaptive.toml"
    budget = f"[budget]\ntotal_flops = {full / 2:.6g}\n"
    path.write_text(_toml("adapt", "adaptive", budget=budget + "wall_time = 0.01\n"))
    url = f"sqlite:///{tmp_path}/adapt.db"
    first = run_study(path, storage=url, workers=1, progress=False)
    # Interrupted by the wall time: the seed round (2 shards x 3 sizes) is laid out, not done.
    assert first.status.state != "finished" and first.status.waiting > 0
    assert first.status.total == 6

    path.write_text(_toml("adapt", "adaptive", budget=budget))  # the same study, resumed
    done = run_study(path, storage=url, workers=1, progress=False)
    status = done.status
    assert done.finished, status.to_dict()
    assert status.adaptive is not None and status.adaptive.stopped
    assert "budget" in status.adaptive.stopped or "no cell left" in status.adaptive.stopped
    table = status.adaptive.table()
    assert len(table) >= 2  # the seed round and at least one round the design chose
    evaluated = table.dropna(subset=["rel_width"])
    assert len(evaluated) >= 1
    # it stopped wide, and says how near it came to the width it was asked for
    narrowest = float(evaluated["rel_width"].min())
    assert f"over target_rel_width 0.001 (narrowest: {narrowest:.3g}, round " in (
        status.adaptive.stopped
    )
    assert np.all(np.diff(table["spent_flops"].dropna().to_numpy()) > 0)
    assert status.flops < full  # fewer FLOPs than the full grid
    assert status.total < 15 and status.failed == 0
    assert status.adaptive.target_examples == 4096 and status.adaptive.target_model_size == 16
    # Every cell the design chose lay within the range of shapes of the cells done before it
    # and the target (design.next_runs.within_shape_range), as `suggest` keeps it.
    config = load_config(path)
    task = get_task(config.task.name, **config.task.options)
    plan = read_plan(config, open_storage(url))
    assert plan is not None and plan.target_n_params > 0

    def xs(cells: list[tuple[int, int]]) -> np.ndarray:
        return np.array([[float(s), float(task.n_params(m))] for s, m in cells])

    target = np.array([[4096.0, float(plan.target_n_params)]])
    for i, chosen in enumerate(plan.rounds[1:], start=1):
        before = [c for r in plan.rounds[:i] for c in r.cells]
        assert within_shape_range(xs(before), xs(chosen.cells), target).all()
    # status reads it back the same way, and a third run has nothing left to do
    again = study_status("adapt", storage=url)
    assert again.state == "finished" and again.adaptive is not None
    assert again.adaptive.table().equals(table)
    assert run_study(path, storage=url, workers=1, progress=False).status.flops == status.flops


def test_a_round_planned_before_a_kill_is_queued_on_the_next_start(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text(_toml("killed", "adaptive"))
    config = load_config(path)
    url = f"sqlite:///{tmp_path}/k.db"
    from scalinglab.study.layout import prepare_study

    store = open_storage(url)
    prepare_study(config, store)
    plan = read_plan(config, store)
    assert plan is not None and len(plan.cells()) == 6
    # The coordinator wrote round 1 and died before queueing it.
    plan.rounds.append(Round(1, [(4096, 4)]))
    write_plan(config, store, plan)
    before = study_status("killed", storage=url)
    assert before.total == 7 and before.waiting == 7  # the lost cell counts as queued
    lay_out(config, store)  # what the next `study run` does first
    after = study_status("killed", storage=url)
    assert after.total == 7 and after.waiting == 7
    import optuna

    shard = optuna.load_study(study_name="killed/seed=0/shard=4096", storage=store)
    fixed = [t.system_attrs["fixed_params"]["model_size"] for t in shard.trials]
    assert fixed == [4]
    lay_out(config, store)  # idempotent
    assert len(optuna.load_study(study_name="killed/seed=0/shard=4096", storage=store).trials) == 1


@pytest.mark.parametrize("key", ["model_size", "compute"])
def test_target_model_size(tmp_path: Path, key: str) -> None:
    from scalinglab.study.adaptive import target_model_size
    from scalinglab.tasks import get_task

    value = "8" if key == "model_size" else "1e9"
    path = tmp_path / "t.toml"
    path.write_text(
        _toml("t", "adaptive").replace(
            "target = { examples = 4096 }", f"target = {{ examples = 4096, {key} = {value} }}"
        )
    )
    config = load_config(path)
    task = get_task("synthetic", pool_size=4096)
    size = target_model_size(config, task)
    if key == "model_size":
        assert size == 8
    else:
        gaps = {s: abs(np.log(task.flops_per_example(s) * 4096 / 1e9)) for s in (4, 8, 16)}
        assert size == min(gaps, key=lambda s: gaps[s])


def test_a_width_met_is_confirmed_by_one_cell_near_the_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With a width any fit meets, the study does not stop on the seed grid's fit: it runs one
    confirmation cell near the target, with the interval of a value measured there (the law's
    widened by the noise of one cell) recorded first, and stops only when a confirmation cell
    lands inside its interval."""
    path = tmp_path / "c.toml"
    path.write_text(_toml("confirm", "adaptive").replace("target_rel_width = 0.001",
                                                         "target_rel_width = 100"))  # fmt: skip
    url = f"sqlite:///{tmp_path}/c.db"
    done = run_study(path, storage=url, workers=1, progress=False)
    config = load_config(path)
    plan = read_plan(config, open_storage(url))
    assert done.finished and plan is not None and plan.stopped
    assert plan.rounds[0].confirms is None and plan.rounds[0].rel_width is not None
    checks = plan.rounds[1:]
    assert checks and all(r.confirms is not None and len(r.cells) == 1 for r in checks)
    from scalinglab.study.adaptive import cell_values
    from scalinglab.study.results import results_frame

    cells = cell_values(results_frame(config, open_storage(url)), "best_val_loss")
    task = get_task(config.task.name, **config.task.options)

    def xs(cs: list[tuple[int, int]]) -> np.ndarray:
        return np.array([[float(s), float(task.n_params(m))] for s, m in cs])

    for r in plan.rounds:  # every fitted round: the measured value's interval holds the law's
        assert r.measured_lo is not None and r.measured_hi is not None
        assert r.measured_lo < r.lo < r.prediction < r.hi < r.measured_hi  # type: ignore[operator]
    for i, r in enumerate(checks, start=1):
        # the interval recorded before the cell ran: a measured value's, from the cells before
        before = {c for earlier in plan.rounds[:i] for c in earlier.cells}
        ran = cells[[c in before for c in zip(cells.shard_size, cells.model_size, strict=True)]]
        again, _ = target_interval(fit_law(config.search.law, ran), ran, xs(r.cells))
        assert r.confirms is not None
        assert (r.confirms["lo"], r.confirms["hi"]) == pytest.approx(
            (again.measured_lo, again.measured_hi), rel=1e-9
        )
        assert again.measured_lo < again.lo and again.hi < again.measured_hi
    for r in checks:
        (shard, model), c = r.cells[0], r.confirms
        assert c is not None and (shard, model) != (4096, 16)  # never the target's own cell
        assert c["lo"] < c["prediction"] < c["hi"]
        value = float(cells[(cells.shard_size == shard) & (cells.model_size == model)]["y"].iloc[0])
        assert c["value"] == pytest.approx(value)
        assert r.confirmed == (c["lo"] <= value <= c["hi"])
        assert ("inside" if r.confirmed else "outside") in r.check()
    # It stopped on a confirmed width, or said why it could not confirm.
    if checks[-1].confirmed:
        assert "confirmed: cell" in plan.stopped and all(not r.confirmed for r in checks[:-1])
    else:
        assert "not confirmed" in plan.stopped
    # The first confirmation cell is the one nearest the target among those not run (within
    # the range of shapes), in the design's standardised log inputs.
    seed = plan.rounds[0].cells
    rest = [(s, m) for s in config.shard_sizes() for m in (4, 8, 16)
            if (s, m) not in seed and (s, m) != (4096, 16)]  # fmt: skip
    target = xs([(4096, 16)])
    rest = [c for c, ok in zip(rest, within_shape_range(xs(seed), xs(rest), target),
                               strict=True) if ok]  # fmt: skip
    from scalinglab.design.next_runs import standardised_inputs

    Z = standardised_inputs(np.vstack([xs(rest), target]), xs(seed))
    nearest = rest[int(np.argmin(np.linalg.norm(Z[:-1] - Z[-1], axis=1)))]
    assert checks[0].cells[0] == nearest
    # `study status` shows each confirmation's verdict
    from scalinglab.cli import run_app

    capsys.readouterr()
    assert run_app(["study", "status", "confirm", "--storage", url]) == 0
    out = capsys.readouterr().out
    shard, model = checks[0].cells[0]
    verdict = "inside" if checks[0].confirmed else "outside"
    assert (
        f"round 1 confirms at ({shard:,}, {model}): {checks[0].confirms['value']:.4g}, {verdict}"
        in out
    )
    last = plan.rounds[-1]
    measured = f"{last.measured_lo:.4g} – {last.measured_hi:.4g}"
    assert f"a run at the target would measure {measured}" in out


def test_confirmation_cell_and_plan_round_trip() -> None:
    from scalinglab.study.adaptive import Plan, confirmation_cell

    done = np.array([[100.0, 10.0], [200.0, 10.0], [100.0, 40.0], [200.0, 40.0]])
    cands = np.array([[400.0, 40.0], [800.0, 40.0], [400.0, 10.0]])
    target = np.array([[1600.0, 40.0]])
    assert confirmation_cell(done, cands, target, np.array([True, True, True])) == 1
    assert confirmation_cell(done, cands, target, np.array([True, False, True])) == 0
    assert confirmation_cell(done, cands, target, np.array([False, False, False])) is None
    plan = Plan([Round(0, [(100, 4)]), Round(1, [(800, 16)], confirms={
        "prediction": 1.0, "lo": 0.9, "hi": 1.1, "value": 1.2}, confirmed=False)])  # fmt: skip
    again = Plan.from_json(plan.to_json())
    assert again == plan and again.rounds[1].check() == "confirmation: 1.2, outside 0.9 - 1.1"
    assert {"measured_lo", "measured_hi"} <= set(plan.table().columns)
    old = plan.to_json()
    for r in old["rounds"]:  # a plan written before confirmations existed
        r.pop("confirms"), r.pop("confirmed")
    assert Plan.from_json(old).rounds[1].confirms is None


def _trials_seen(rows: list[tuple[int, int, int]]) -> pd.DataFrame:
    """Finished trials as (shard_size, examples_seen, n_evals)."""
    return pd.DataFrame(
        [{"shard_size": s, "model_size": 4, "examples_seen": e, "n_evals": n, "flops": 1.0}
         for s, e, n in rows]
    )  # fmt: skip


def _config(tmp_path: Path, train: str) -> Any:
    path = tmp_path / "cost.toml"
    path.write_text(_toml("cost", "adaptive").replace("max_epochs = 10\npatience = 2", train))
    return load_config(path)


def test_a_cells_cost_is_capped_by_max_steps_batches(tmp_path: Path) -> None:
    """lm-like: examples grow steeply on the seed shards, but no trial takes more than
    max_steps batches; without the cap the regression priced the large cells at up to 70x."""
    from scalinglab.study.adaptive import cell_costs

    task = get_task("synthetic", pool_size=4096)  # batch_size 64
    seen = _trials_seen([(8, 1000, 30), (16, 4000, 60), (32, 16000, 120)])  # ∝ shard²
    capped = _config(tmp_path, "max_epochs = 1000\nmax_steps = 50\npatience = 2")
    free = _config(tmp_path, "max_epochs = 1000\npatience = 2")
    fpe = task.flops_per_example(16)
    cost = cell_costs(capped, task, seen, [(4096, 16), (16, 16)])
    assert cost[0] == pytest.approx(fpe * 50 * 64)  # 50 steps of 64
    assert cost[1] < fpe * 50 * 16 * 1.0001  # a batch holds at most the shard: 16
    assert cell_costs(free, task, seen, [(4096, 16)])[0] > 100 * cost[0]


def test_shards_that_all_stopped_at_the_evaluation_floor_are_left_out(tmp_path: Path) -> None:
    """translation-like: every trial of the two smallest shards stopped after patience + 1
    evaluations, on the same examples; they say nothing of the slope, so with one informative
    shard left the estimate is the cap, not a flat line."""
    from scalinglab.study.adaptive import cell_costs, examples_model

    task = get_task("synthetic", pool_size=4096)
    floor = [(4, 1536, 3), (4, 1536, 3), (8, 1536, 3), (8, 1536, 3)]
    seen = _trials_seen([*floor, (16, 2560, 5), (16, 1536, 3)])
    assert examples_model(seen, patience=2, max_epochs=1000) is None
    config = _config(tmp_path, "max_epochs = 1000\nmax_steps = 400\npatience = 2")
    cost = cell_costs(config, task, seen, [(2048, 16)])[0]
    assert cost == pytest.approx(task.flops_per_example(16) * 400 * 64)
    # A shard with some longer trials keeps all of them (its censored ones too)
    more = _trials_seen([*floor, (16, 2560, 5), (16, 1536, 3), (32, 4096, 8), (32, 3072, 6)])
    model = examples_model(more, patience=2, max_epochs=1000)
    assert model is not None
    coef, _ = model
    logs = np.log([2560, 1536, 4096, 3072])
    slope = (logs[2:].mean() - logs[:2].mean()) / np.log(2)
    assert coef[1] == pytest.approx(slope)
    # Few evaluations at the epoch cap (image-like: 50 passes of a tiny shard) are not the floor
    capped = _trials_seen([(128, 6400, 2), (256, 12800, 4)])
    model = examples_model(capped, patience=4, max_epochs=50)
    assert model is not None and model[0][1] == pytest.approx(1.0)
    assert examples_model(capped, patience=4, max_epochs=1000) is None


def test_a_task_without_a_batch_size_has_no_step_cap(tmp_path: Path) -> None:
    from scalinglab.study.adaptive import largest_batch

    config = _config(tmp_path, "max_epochs = 1000\nmax_steps = 400\npatience = 2")

    class NoBatch:
        pass

    assert largest_batch(config, NoBatch()) is None  # type: ignore[arg-type]
    assert largest_batch(config, get_task("synthetic", pool_size=4096)) == 64
    searched = _config(tmp_path, "max_epochs = 1000\nmax_steps = 400\npatience = 2")
    searched.search.hparams["batch_size"] = type(searched.search.hparams["lr"])(choices=[16, 128])
    assert largest_batch(searched, NoBatch()) == 128  # type: ignore[arg-type]


def test_a_target_far_beyond_the_grid_grows_the_data_instead_of_stopping(tmp_path: Path) -> None:
    """Target 65,536 examples from shards of 256 and 512: the design's linearised criterion
    finds no cell that narrows the 47%-wide interval (every refit it foresees carries more
    misfit than it removes); the study used to stop there, after the seed grid."""
    path = tmp_path / "far.toml"
    text = _toml("far", "adaptive").replace("target = { examples = 4096 }",
                                            "target = { examples = 65536 }")  # fmt: skip
    path.write_text(text.replace("target_rel_width = 0.001", "target_rel_width = 0.01"))
    url = f"sqlite:///{tmp_path}/far.db"
    done = run_study(path, storage=url, workers=1, progress=False)
    plan = read_plan(load_config(path), open_storage(url))
    assert done.finished and plan is not None and plan.stopped
    assert "narrows the interval" not in plan.stopped
    assert len(plan.rounds) > 1 and done.status.total > 6  # more than the seed grid ran
    # the rounds after the seed grid ran the next shard up (the design found nothing better)
    assert plan.rounds[1].cells and {s for s, _ in plan.rounds[1].cells} == {1024}
