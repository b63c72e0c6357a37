"""The Spanish->English verse translation task: exact accounting, a tiny end-to-end run, BLEU."""

from __future__ import annotations

import math

import pytest

from scalinglab.datasets import translation as tr_data
from scalinglab.errors import ScalingLabError
from scalinglab.tasks.base import TrainConfig
from scalinglab.tasks.translation import TranslationTask, count_params


@pytest.mark.parametrize("n_layer", [1, 2])
@pytest.mark.parametrize("width", [16, 32, 64, 96])
def test_param_count_is_exact(n_layer: int, width: int) -> None:
    task = TranslationTask(n_layer=n_layer)
    model = task.build_model(width)
    n = count_params(width, n_layer, tr_data.VOCAB_ES, tr_data.VOCAB_EN)
    assert n == sum(p.numel() for p in model.parameters())


def test_trains_end_to_end_on_a_tiny_shard(translation_task: TranslationTask) -> None:
    task = translation_task
    cfg = TrainConfig(shard_size=128, model_size=32, max_steps=6, hparams={"bleu": 0})
    res = task.train(cfg, report=lambda n, loss: None)
    assert task.train_pool_size() > 29000
    assert res.steps == 6 and res.examples_seen == 6 * 64
    assert math.isfinite(res.best_val_loss) and res.best_val_loss < math.log(tr_data.VOCAB_EN) + 1
    assert res.best_val_error == res.best_val_loss  # metric: per-token cross-entropy
    assert res.flops == pytest.approx(res.examples_seen * task.flops_per_example(32))
    assert res.n_params == task.n_params(32) and "bleu" not in res.extra


def test_bleu_and_greedy_decoding(translation_task: TranslationTask) -> None:
    task = translation_task
    model = task.build_model(16)
    score = task.bleu(model, n=10)  # an untrained model: valid score, near zero
    assert 0.0 <= score < 5.0
    src, _ = task.val_batches[0]
    out = task.translate(model, src[:3], max_len=4)
    assert len(out) == 3 and all(len(r) <= 4 for r in out)


def test_validation_never_overlaps_training(translation_task: TranslationTask) -> None:
    pool, val = translation_task.splits
    assert len(val) == 1000 and not set(pool.tolist()) & set(val.tolist())


def test_user_errors(translation_task: TranslationTask) -> None:
    with pytest.raises(ScalingLabError, match="outside"):
        translation_task.train(TrainConfig(shard_size=10**6, model_size=32))
    with pytest.raises(ScalingLabError, match="multiple of 32"):
        translation_task.n_params(65)
