"""The fast synthetic task and the task registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from scalinglab.errors import ScalingLabError
from scalinglab.tasks import get_task, nested_shard
from scalinglab.tasks.base import Task, TrainConfig
from scalinglab.tasks.synthetic import SyntheticTask


def test_registry_builtin_and_import_path() -> None:
    task = get_task("synthetic", pool_size=1024)
    assert isinstance(task, Task) and task.train_pool_size() == 1024
    same = get_task("scalinglab.tasks.synthetic:SyntheticTask", pool_size=512)
    assert same.train_pool_size() == 512
    dotted = get_task("scalinglab.tasks.synthetic.SyntheticTask")
    assert dotted.name == "synthetic"


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("nosuchtask", {}, "unknown task 'nosuchtask'; built-in tasks: synthetic"),
        ("nosuch.module:Task", {}, "cannot import module 'nosuch.module'"),
        ("scalinglab.tasks.synthetic:Nope", {}, "has no 'Nope'"),
        ("synthetic", {"colour": "red"}, "bad \\[task.options\\]"),
        ("synthetic", {"classes": 1}, "classes=1 is too small"),
        # once 22 GB of teacher probabilities, then the OOM killer, in every trial
        ("synthetic", {"pool_size": 1024, "classes": 10**8}, "classes=100000000 would generate"),
        ("synthetic", {"classes": 10**8}, "lower pool_size, dim or classes"),
        ("scalinglab.errors:FitWarning", {}, "does not follow the Task protocol"),
        # a study file is data: no standard-library module is imported, nothing else is called
        ("os:system", {"command": "true"}, "'os' is a module of Python's standard library"),
        ("subprocess:Popen", {"args": "true"}, "'subprocess' is a module of Python's standard"),
        ("numpy:ndarray", {"shape": 3}, "missing train_pool_size, n_params"),
    ],
)
def test_registry_errors_are_one_line(name: str, options: dict[str, object], message: str) -> None:
    with pytest.raises(ScalingLabError, match=message) as info:
        get_task(name, **options)
    assert "\n" not in str(info.value)


def test_nested_shards_are_prefixes_of_one_permutation() -> None:
    small, large = nested_shard(1000, 100, 7), nested_shard(1000, 400, 7)
    assert set(small) <= set(large) and len(set(large)) == 400
    assert not np.array_equal(nested_shard(1000, 100, 8), small)  # another seed, another draw
    with pytest.raises(ScalingLabError, match=r"outside 1\.\.1000"):
        nested_shard(1000, 1001, 0)


def test_validation_never_overlaps_training() -> None:
    task = SyntheticTask(pool_size=2048, val_size=512)
    x_train, _ = task.train_data
    x_val, _ = task.val_data
    train_rows = {tuple(r) for r in x_train.numpy().round(6).tolist()}
    assert not any(tuple(r) in train_rows for r in x_val.numpy().round(6).tolist())


def test_train_is_deterministic_reports_and_learns() -> None:
    torch.set_num_threads(1)
    task = SyntheticTask(pool_size=2048)
    reports: list[tuple[int, float]] = []
    config = TrainConfig(shard_size=1024, model_size=16, hparams={"lr": 1e-2}, max_epochs=10)
    a = task.train(config, report=lambda e, v: reports.append((e, v)))
    b = task.train(config)
    assert a.best_val_loss == b.best_val_loss and a.curve == b.curve == reports
    assert a.n_params == sum(p.numel() for p in task.build_model(16).parameters())
    assert a.flops == pytest.approx(task.flops_per_example(16) * a.examples_seen)
    assert task.irreducible_loss < a.best_val_loss < np.log(task.classes)  # learned something
    assert 0.0 < a.best_val_error < 0.75
    assert a.wall_time > 0  # recorded, not bounded: a bound flakes on a loaded machine


def test_flop_budget_and_max_steps_cap_training() -> None:
    task = SyntheticTask(pool_size=2048)
    capped = task.train(
        TrainConfig(shard_size=2048, model_size=8, hparams={"lr": 1e-2}, max_steps=5)
    )
    assert capped.steps == 5
    budget = task.flops_per_example(8) * 64 * 3  # three batches of 64
    small = task.train(TrainConfig(shard_size=2048, model_size=8, flop_budget=budget))
    assert small.steps == 3 and small.flops <= budget


def test_an_import_path_is_checked_before_anything_is_called_or_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "ran"
    (tmp_path / "user_tasks.py").write_text(
        "from pathlib import Path\n"
        f"def make(**options):\n    Path({str(marker)!r}).write_text('called')\n"
        "class Half:\n"
        "    def __init__(self, **options):\n"
        f"        Path({str(marker)!r}).write_text('built')\n"
        "    def train(self, config, report=None): ...\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ScalingLabError, match="does not follow the Task protocol: missing"):
        get_task("user_tasks:make", x=1)
    with pytest.raises(ScalingLabError, match="missing train_pool_size, n_params, flops_per_"):
        get_task("user_tasks:Half")
    assert not marker.exists(), "a function or a class without the protocol was called"
    with pytest.raises(ScalingLabError, match="standard library"):
        get_task("this:Anything")  # importing `this` prints the Zen of Python
    assert capsys.readouterr().out == ""
