"""Which built-in task data packages (Debian) are installed; tests skip a domain without them.

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
