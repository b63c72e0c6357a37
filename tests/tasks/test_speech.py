"""The synthetic spoken-command task: exact accounting, synthesis, a tiny end-to-end run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from scalinglab.datasets import speech as speech_data
from scalinglab.errors import ScalingLabError
from scalinglab.tasks.base import TrainConfig
from scalinglab.tasks.speech import SpeechTask


@pytest.mark.parametrize("width", [1, 4, 16])
def test_param_count_is_exact(width: int) -> None:
    task = SpeechTask()
    model = task.build_model(width)
    assert task.n_params(width) == sum(p.numel() for p in model.parameters())
    out = model(torch.zeros(2, 1, speech_data.N_MELS, speech_data.N_FRAMES))
    assert out.shape == (2, len(speech_data.WORDS))


def test_synthesis_is_deterministic_and_noisy(tiny_speech_cache: Path) -> None:
    variants = speech_data.voice_variants()
    a, la = speech_data.synth(7, variants)
    b, lb = speech_data.synth(7, variants)
    assert la == lb and np.array_equal(a, b) and a.shape == (speech_data.RATE,)
    assert float(np.abs(a).max()) > 0.01
    data = speech_data.load(tiny_speech_cache)
    assert data.features.shape == (200, speech_data.N_MELS, speech_data.N_FRAMES)
    assert data.n_val == 40 and np.isfinite(data.features.astype(np.float32)).all()


def test_trains_end_to_end_on_a_tiny_shard(tiny_speech_cache: Path) -> None:
    task = SpeechTask(cache_dir=tiny_speech_cache)
    res = task.train(TrainConfig(shard_size=128, model_size=4, max_epochs=4))
    assert task.train_pool_size() == 160
    assert 0.0 <= res.best_val_error <= 1.0 and np.isfinite(res.best_val_loss)
    assert res.examples_seen == 4 * 128 and res.n_params == task.n_params(4)
    assert res.flops == pytest.approx(res.examples_seen * task.flops_per_example(4))
    with pytest.raises(ScalingLabError, match="outside"):
        task.train(TrainConfig(shard_size=161, model_size=4))
