"""The test_time task (issue 17), small: data without overlap, exact counts, pass@k that rises
with k and with training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scalinglab.tasks import TrainConfig, get_task
from scalinglab.tasks._training import flushes_denormals
from scalinglab.tasks.test_time import AdditionSamplingTask, AdditionTransformer, pass_at_k


def test_pass_at_k_is_the_unbiased_estimator() -> None:
    assert pass_at_k(4, np.array([0, 4]), 1) == pytest.approx(0.5)
    assert pass_at_k(4, np.array([1]), 1) == pytest.approx(0.25)
    assert pass_at_k(4, np.array([1]), 2) == pytest.approx(0.5)  # 1 - C(3,2)/C(4,2)
    assert pass_at_k(4, np.array([1]), 4) == pytest.approx(1.0)


def test_problems_encode_the_sum_and_never_overlap_validation() -> None:
    task = AdditionSamplingTask(digits=2, pool_size=4096)
    row = task.encode(np.array([47]), np.array([85]))[0].tolist()
    assert row == [4, 7, 10, 8, 5, 11, 2, 3, 1]  # 47+85=132, answer least significant first
    a, b = task.train_pairs
    train = set((a * 100 + b).tolist())
    val = task.val_data
    va = val[:, 0] * 10 + val[:, 1]
    vb = val[:, 3] * 10 + val[:, 4]
    assert not train & set((va * 100 + vb).tolist())


def test_a_tiny_study_trial_measures_coverage_per_sample_count() -> None:
    task = get_task("test_time", digits=2, n_samples=8, pool_size=4096)
    assert isinstance(task, AdditionSamplingTask)
    torch.set_num_threads(2)  # the caller's: training uses one thread, then gives them back
    try:
        res = task.train(
            TrainConfig(shard_size=2048, model_size=32, hparams={"lr": 1e-2}, max_epochs=1)
        )
        assert torch.get_num_threads() == 2 and not flushes_denormals()
    finally:
        torch.set_num_threads(1)
    cover = [res.extra[f"pass_k{k}"] for k in (1, 2, 4, 8)]
    assert all(0 <= c <= 1 for c in cover)
    assert cover == sorted(cover) and cover[-1] > cover[0]  # more samples, more coverage
    assert res.best_val_error == pytest.approx(1 - cover[0])
    assert res.flops == pytest.approx(task.flops_per_example(32) * res.examples_seen)
    assert res.extra["test_flops_per_sample"] == pytest.approx(task.test_flops_per_sample(32))
    assert res.n_params == sum(p.numel() for p in task.build_model(32).parameters())


def test_cached_decoding_gives_the_full_forward_logits() -> None:
    # sample_correct draws with a KV cache: the prompt once, then one position per digit.
    task = AdditionSamplingTask(digits=2, pool_size=4096)
    torch.manual_seed(0)
    model = task.build_model(64).eval()
    assert isinstance(model, AdditionTransformer)
    rows = task.val_data[:20]
    with torch.inference_mode():
        full = model(rows)
        cache: list[tuple[torch.Tensor, torch.Tensor]] = []
        steps = [model.decode(rows[:, :4], 0, cache), model.decode(rows[:, 4:7], 4, cache)]
        steps += [model.decode(rows[:, j : j + 1], j, cache) for j in range(7, rows.shape[1])]
    for got, pos in zip(steps, [3, 6, *range(7, rows.shape[1])], strict=True):
        assert torch.allclose(got, full[:, pos], atol=1e-5)
