"""The GCIDE character-level LM task: exact model accounting and tiny end-to-end runs."""

from __future__ import annotations

import math

import pytest

from scalinglab.errors import ScalingLabError
from scalinglab.tasks import get_task
from scalinglab.tasks.base import TrainConfig
from scalinglab.tasks.lm import CONTEXT, LMTask


@pytest.mark.parametrize(
    "arch,n_layer", [("lstm", 1), ("lstm", 2), ("transformer", 1), ("transformer", 2)]
)
@pytest.mark.parametrize("width", [32, 64, 96])
def test_param_count_is_exact(arch: str, n_layer: int, width: int) -> None:
    task = LMTask(arch=arch, n_layer=n_layer)
    model = task.build_model(width)
    assert task.n_params(width) == sum(p.numel() for p in model.parameters())
    # Kaplan 2020: forward FLOPs per token ~ 2 N (+ attention); ours counts non-embedding matmuls.
    assert task.flops_per_example(width) / CONTEXT > 3 * 2 * (task.n_params(width) - 230 * width)


@pytest.mark.parametrize("arch", ["lstm", "transformer"])
def test_trains_end_to_end_on_a_tiny_shard(lm_task: LMTask, arch: str) -> None:
    task = LMTask(arch=arch)
    task.__dict__["corpus"] = lm_task.corpus  # share the loaded text between the two variants
    res = task.train(TrainConfig(shard_size=64, model_size=32, max_steps=12))
    assert task.train_pool_size() > 200_000
    assert res.steps == 12 and res.examples_seen == 12 * 32
    # Uniform over 96 symbols is log2(96) = 6.58 bits/char; a dozen steps must beat it.
    assert 1.0 < res.best_val_error < math.log2(96)
    assert res.extra["bits_per_char"] == pytest.approx(res.best_val_loss / math.log(2))
    assert res.flops == pytest.approx(res.examples_seen * task.flops_per_example(32))
    assert res.curve
    # Timing is recorded, not bounded (a bound flakes under load): steps alone take part of it.
    assert 0 < res.extra["train_seconds"] <= res.wall_time


def test_validation_windows_never_overlap_training(lm_task: LMTask) -> None:
    train, val = lm_task.splits
    assert len(set(train.tolist()) & set(val.tolist())) == 0
    assert (train % (CONTEXT + 1) == 0).all() and (val % (CONTEXT + 1) == 0).all()


def test_user_errors(lm_task: LMTask) -> None:
    with pytest.raises(ScalingLabError, match="outside"):
        lm_task.train(TrainConfig(shard_size=10**7, model_size=32))
    with pytest.raises(ScalingLabError, match="multiple of 32"):
        LMTask(arch="transformer").n_params(65)
    with pytest.raises(ScalingLabError, match="arch"):
        get_task("lm", arch="gru")
