"""The Fashion-MNIST task: exact model accounting, a tiny end-to-end run, errors a user can fix."""

from __future__ import annotations

import math

import pytest
import torch

from scalinglab.errors import ScalingLabError
from scalinglab.tasks import get_task
from scalinglab.tasks.base import Task, TrainConfig
from scalinglab.tasks.image import ImageTask


@pytest.mark.parametrize("arch", ["cnn", "mlp"])
@pytest.mark.parametrize("width", [1, 3, 8, 32])
def test_param_count_is_exact(arch: str, width: int) -> None:
    task = ImageTask(arch=arch)
    model = task.build_model(width)
    assert task.n_params(width) == sum(p.numel() for p in model.parameters())
    assert task.flops_per_example(width) > 0


def test_flops_match_a_counted_forward_pass() -> None:
    # Count conv/linear MACs from the actual layer shapes of one forward pass.
    task = ImageTask()
    model = task.build_model(8)
    macs = 0

    def hook(mod: torch.nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal macs
        if isinstance(mod, torch.nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels
            macs += out[0].numel() * k
        elif isinstance(mod, torch.nn.Linear):
            macs += mod.in_features * mod.out_features

    for m in model.modules():
        m.register_forward_hook(hook)
    model(torch.zeros(1, 1, 28, 28))
    assert task.flops_per_example(8) == pytest.approx(6.0 * macs)


def test_registry_builds_the_image_task() -> None:
    task = get_task("image", arch="mlp")
    assert isinstance(task, ImageTask) and isinstance(task, Task)
    assert task.name == "image" and task.metric == "top1_error"


def test_trains_end_to_end_on_a_tiny_shard(image_task: ImageTask) -> None:
    seen: list[tuple[int, float]] = []
    cfg = TrainConfig(shard_size=256, model_size=4, hparams={"lr": 3e-3}, max_epochs=16)
    res = image_task.train(cfg, report=lambda n, loss: seen.append((n, loss)))
    assert image_task.train_pool_size() == 60000
    assert 0.0 < res.best_val_error < 0.5  # 10 classes: chance is 0.9
    assert math.isfinite(res.best_val_loss) and res.best_val_loss > 0
    assert res.n_params == image_task.n_params(4)
    assert res.examples_seen == res.steps * 128 and res.examples_seen <= 16 * 256
    assert res.flops == pytest.approx(res.examples_seen * image_task.flops_per_example(4))
    assert res.curve == seen and len(seen) >= 1
    # Timing is recorded, not bounded (a bound flakes under load): steps alone take part of it.
    assert 0 < res.extra["train_seconds"] <= res.wall_time
    assert res.extra["best_examples_seen"] <= res.examples_seen


def test_same_seed_same_result_and_report_can_stop(image_task: ImageTask) -> None:
    cfg = TrainConfig(shard_size=128, model_size=2, max_steps=40, seed=3)
    a, b = image_task.train(cfg), image_task.train(cfg)
    assert a.best_val_loss == b.best_val_loss and a.curve == b.curve

    class Pruned(Exception):
        pass

    def prune(n: int, loss: float) -> None:
        raise Pruned

    with pytest.raises(Pruned):
        image_task.train(cfg, report=prune)


def test_budgets_cap_the_run(image_task: ImageTask) -> None:
    cfg = TrainConfig(shard_size=512, model_size=2, max_steps=3)
    assert image_task.train(cfg).steps == 3
    per_step = image_task.flops_per_example(2) * 128
    res = image_task.train(TrainConfig(shard_size=512, model_size=2, flop_budget=5.5 * per_step))
    assert res.steps == 5 and res.flops <= 5.5 * per_step


def test_user_errors_are_one_clear_line(image_task: ImageTask) -> None:
    with pytest.raises(ScalingLabError, match=r"outside 1\.\.60000"):
        image_task.train(TrainConfig(shard_size=60001, model_size=4))
    with pytest.raises(ScalingLabError, match="width"):
        image_task.n_params(0)
    with pytest.raises(ScalingLabError, match="lr"):
        image_task.train(TrainConfig(shard_size=128, model_size=4, hparams={"lr": -1.0}))
    with pytest.raises(ScalingLabError, match="arch"):
        ImageTask(arch="resnet")
