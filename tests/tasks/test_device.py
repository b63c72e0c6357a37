"""Devices and precision (issue 18): which device a trial gets, what autocast it trains under,
and the clear errors for a device or precision this machine cannot give. The CPU paths run
everywhere; the CUDA checks run only where a GPU is present and are skipped, saying so, here.
"""

from __future__ import annotations

import math

import pytest
import torch

from scalinglab.errors import ScalingLabError
from scalinglab.tasks.base import TrainConfig
from scalinglab.tasks.device import (
    Placement,
    check_device_name,
    check_precision,
    mps_available,
    placement,
    resolve_device,
)
from scalinglab.tasks.synthetic import SyntheticTask

HAS_CUDA = torch.cuda.is_available()
NO_GPU = "no CUDA GPU is present on this machine (torch.cuda.is_available() is False)"
needs_cuda = pytest.mark.skipif(not HAS_CUDA, reason=NO_GPU)
without_cuda = pytest.mark.skipif(HAS_CUDA, reason="a CUDA GPU is present: cuda resolves")


def tiny_config(**kwargs: object) -> TrainConfig:
    options: dict[str, object] = {
        "shard_size": 512,
        "model_size": 16,
        "hparams": {"lr": 1e-2},
        "max_epochs": 4,
    }
    options.update(kwargs)
    return TrainConfig(**options)  # type: ignore[arg-type]


@pytest.mark.skipif(HAS_CUDA or mps_available(), reason="a GPU is present: auto picks it")
def test_auto_picks_the_cpu_on_a_machine_without_a_gpu() -> None:
    assert resolve_device("auto") == "cpu" == resolve_device("cpu")
    where = placement("auto", "fp32")
    assert where.name == "cpu" and not where.cuda


@pytest.mark.parametrize("name", ["gpu", "cuda:", "cuda:-1", "CPU", "", "tpu"])
def test_an_unknown_device_name_is_one_line(name: str) -> None:
    with pytest.raises(ScalingLabError, match="is not one of 'auto', 'cpu'") as info:
        check_device_name(name)
    assert "\n" not in str(info.value)


@without_cuda
@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:1"])
def test_cuda_without_a_gpu_is_one_clear_line(name: str) -> None:
    with pytest.raises(ScalingLabError, match=f'device "{name}" needs a CUDA GPU') as info:
        resolve_device(name)
    assert "\n" not in str(info.value) and 'use device = "auto" or "cpu"' in str(info.value)


def test_fp16_needs_cuda_and_bf16_autocasts_on_the_cpu() -> None:
    for device in ("cpu", "mps"):
        with pytest.raises(ScalingLabError, match=r'"fp16" .* needs a CUDA device'):
            check_precision(device, "fp16")
    check_precision("cpu", "bf16")  # torch.autocast("cpu", torch.bfloat16)
    with pytest.raises(ScalingLabError, match="precision 'fp8' is not one of"):
        check_precision("cpu", "fp8")
    with pytest.raises(ScalingLabError, match="needs a CUDA device"):
        SyntheticTask(pool_size=1024).train(tiny_config(device="cpu", precision="fp16"))


def test_the_cpu_fp32_placement_does_nothing() -> None:
    """The CPU path is untouched: no autocast, no copies (the loops stay as fast as before)."""
    where = Placement(torch.device("cpu"))
    x = torch.randn(4, 3)
    assert where.put(x) is x and where.grad_scaler() is None
    with where.autocast():
        assert not torch.is_autocast_enabled("cpu")
    where.sync()
    with Placement(torch.device("cpu"), "bf16").autocast():
        assert torch.is_autocast_enabled("cpu")
        assert (x @ x.T).dtype == torch.bfloat16


def test_the_device_does_not_change_a_cpu_run() -> None:
    task = SyntheticTask(pool_size=1024)
    auto, cpu = task.train(tiny_config()), task.train(tiny_config(device="cpu"))
    assert auto.device == cpu.device == "cpu"
    assert auto.best_val_loss == cpu.best_val_loss and auto.curve == cpu.curve
    for key in ("examples_per_s", "flops_per_s", "train_seconds"):
        assert auto.extra[key] > 0  # throughput, measured on the CPU too
    assert auto.extra["flops_per_s"] == pytest.approx(
        auto.extra["examples_per_s"] * task.flops_per_example(16)
    )


def test_bf16_autocast_on_the_cpu_trains_the_synthetic_task() -> None:
    task = SyntheticTask(pool_size=1024)
    fp32 = task.train(tiny_config(device="cpu"))
    bf16 = task.train(tiny_config(device="cpu", precision="bf16"))
    assert bf16.device == "cpu" and math.isfinite(bf16.best_val_loss)
    assert bf16.best_val_loss < math.log(task.classes)  # it learned: below chance
    assert bf16.best_val_loss == pytest.approx(fp32.best_val_loss, rel=0.05)
    assert bf16.best_val_loss != fp32.best_val_loss  # bf16 really ran


# ---- CUDA only -------------------------------------------------------------------------------
@needs_cuda
def test_auto_picks_cuda_and_the_synthetic_task_trains_there() -> None:
    assert resolve_device("auto") == "cuda:0"
    task = SyntheticTask(pool_size=1024)
    result = task.train(tiny_config(device="cuda"))
    assert result.device == "cuda:0" and math.isfinite(result.best_val_loss)
    assert result.extra["examples_per_s"] > 0 and result.extra["flops_per_s"] > 0


@needs_cuda
@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_mixed_precision_on_cuda_trains(precision: str) -> None:
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bfloat16")
    task = SyntheticTask(pool_size=1024)
    result = task.train(tiny_config(device="cuda", precision=precision))
    assert math.isfinite(result.best_val_loss) and result.best_val_loss < math.log(task.classes)


@needs_cuda
def test_host_tensors_reach_cuda_through_pinned_memory() -> None:
    where = placement("cuda", "fp32")
    x = torch.randn(8, 4)
    on_gpu = where.put(x)
    where.sync()
    assert on_gpu.device.type == "cuda" and torch.equal(on_gpu.cpu(), x)
    assert where.put(on_gpu) is on_gpu
