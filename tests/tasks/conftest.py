"""Fixtures of the built-in task tests: skip a domain whose Debian package is not installed.

The tasks build their cache on first use (in $SCALINGLAB_CACHE or ~/.cache/scalinglab), so the
first test of a domain may take a few seconds longer; later runs reuse the cache.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SOURCES = {
    "image": ["/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"],
    "lm": ["/usr/share/dictd/gcide.dict.dz"],
    "translation": ["diatheke"],
    "speech": ["espeak-ng", "flite", "sox"],
}


def installed(domain: str) -> bool:
    return all(
        Path(s).exists() if s.startswith("/") else shutil.which(s) is not None
        for s in SOURCES[domain]
    )


def require(domain: str) -> None:
    if not installed(domain):
        pytest.skip(f"{domain} data package not installed (run scripts/install-system.sh)")


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


@pytest.fixture
def need():  # type: ignore[no-untyped-def]
    """need("image") skips the test when that domain's Debian package is missing."""
    return require


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
