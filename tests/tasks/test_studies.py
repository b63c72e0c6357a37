"""Slow: a small Hestness (2017) study per domain through the study engine.

Each runs >= 5 nested shards x a few model sizes, takes the best model per shard, and checks that
validation error falls as the shard grows and that the fitted learning-curve exponent of
eps(m) = a m^b + c is negative with a bootstrap confidence interval that excludes 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from scalinglab.laws import get_law
from scalinglab.study import best_per_shard, load_results, run_study


def small_study(
    tmp_path: Path, name: str, task: dict[str, Any], sizes: list[int], models: list[int],
    lr: float, max_epochs: int, patience: int = 2, max_steps: int | None = None,
    extra_hparams: dict[str, Any] | None = None,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    config = {
        "name": name,
        "task": task,
        "shards": {"sizes": sizes},
        "search": {
            "model_sizes": models,
            "sampler": "grid",
            "pruner": "none",
            "hparams": {"lr": {"choices": [lr]}, **(extra_hparams or {})},
        },
        "train": {
            "seeds": [0],
            "max_epochs": max_epochs,
            "patience": patience,
            "max_steps": max_steps,
        },
        "resources": {"cpus_per_trial": 1},
    }
    storage = f"sqlite:///{tmp_path / (name + '.db')}"
    result = run_study(config, storage=storage, workers=1, progress=False)
    assert result.finished and not result.errors
    best = best_per_shard(load_results(name, storage))
    m = best["shard_size"].to_numpy(dtype=float)
    eps = best["best_val_error"].to_numpy(dtype=float)
    print(f"\n{name}: " + ", ".join(f"{int(a)}: {b:.4f}" for a, b in zip(m, eps, strict=True)))
    return m, eps


def assert_power_law(m: np.ndarray, eps: np.ndarray) -> float:
    assert list(m) == sorted(m) and len(m) >= 5
    assert eps[-1] < eps[0]
    assert (np.diff(eps) < 0.01 * eps[:-1]).all(), "error must fall (up to 1% noise) as data grows"
    law = get_law("power_const")(n_bootstrap=500, random_state=0).fit(m.reshape(-1, 1), eps)
    b, (lo, hi) = law.params_["b"], law.ci_["b"]
    print(f"beta_g = {b:.3f}  95% CI ({lo:.3f}, {hi:.3f})")
    assert b < 0 and hi < 0
    return float(b)


@pytest.mark.slow
def test_image_small_study(tmp_path: Path, need) -> None:  # type: ignore[no-untyped-def]
    need("image")
    m, eps = small_study(
        tmp_path, "image-small", {"name": "image"}, [128, 256, 512, 1024, 2048], [4, 8],
        lr=3e-3, max_epochs=30,
    )  # fmt: skip
    assert_power_law(m, eps)


@pytest.mark.slow
def test_lm_small_study(tmp_path: Path, need) -> None:  # type: ignore[no-untyped-def]
    need("lm")
    m, eps = small_study(
        tmp_path, "lm-small", {"name": "lm", "options": {"arch": "lstm"}},
        [8, 16, 32, 64, 128], [32], lr=2e-3, max_epochs=1000, max_steps=600,
    )  # fmt: skip
    assert_power_law(m, eps)


@pytest.mark.slow
def test_translation_small_study(tmp_path: Path, need) -> None:  # type: ignore[no-untyped-def]
    need("translation")
    m, eps = small_study(
        tmp_path, "translation-small", {"name": "translation"},
        [16, 32, 64, 128, 256], [32], lr=2e-3, max_epochs=1000, max_steps=140,
        extra_hparams={"bleu": {"choices": [0]}},
    )  # fmt: skip
    assert_power_law(m, eps)


@pytest.mark.slow
def test_speech_small_study(tmp_path: Path, need) -> None:  # type: ignore[no-untyped-def]
    need("speech")
    from scalinglab.datasets import speech

    cache = tmp_path / "cache"
    speech.prepare(cache, n_train=1024, n_val=256)  # a small synthetic corpus, ~1 minute
    m, eps = small_study(
        tmp_path, "speech-small", {"name": "speech", "options": {"cache_dir": str(cache)}},
        [64, 128, 256, 512, 1024], [4, 8], lr=3e-3, max_epochs=60,
    )  # fmt: skip
    assert_power_law(m, eps)
