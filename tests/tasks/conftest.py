"""Fixtures of the built-in task tests: each skips a domain whose Debian package is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.data_packages import require


@pytest.fixture(scope="session")
def image_task():  # type: ignore[no-untyped-def]
    require("image")
    from scalinglab.tasks.image import ImageTask

    return ImageTask()


@pytest.fixture(scope="session")
def lm_task():  # type: ignore[no-untyped-def]
    require("lm")
    from scalinglab.tasks.lm import LMTask

    return LMTask()


@pytest.fixture(scope="session")
def translation_task():  # type: ignore[no-untyped-def]
    require("translation")
    from scalinglab.tasks.translation import TranslationTask

    return TranslationTask()


@pytest.fixture(scope="session")
def tiny_speech_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny synthetic speech corpus (160 + 40 clips, seconds to make) in a temporary cache."""
    require("speech")
    from scalinglab.datasets import speech

    cache = tmp_path_factory.mktemp("speech-cache")
    speech.prepare(cache, n_train=160, n_val=40, workers=2)
    return cache
