"""The real corpora the built-in tasks train on, loaded from Debian packages and cached once.

| domain      | Debian packages                         | cache file              |
|-------------|-----------------------------------------|-------------------------|
| image       | dataset-fashion-mnist                   | image-v1.npz            |
| lm          | dict-gcide                              | lm-v1.npz               |
| translation | sword-text-sparv sword-text-web diatheke| translation-v2.npz      |
| speech      | espeak-ng flite sox (synthetic corpus)  | speech-v1.npz           |

The cache lives in ~/.cache/scalinglab unless $SCALINGLAB_CACHE or an explicit directory says
otherwise. Nothing is ever downloaded: `scalinglab data prepare DOMAIN|all` builds the files.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

from scalinglab.datasets._cache import CACHE_ENV, ProgressFn, cache_dir, install_packages
from scalinglab.errors import ScalingLabError

DOMAINS = ("image", "lm", "translation", "speech")


def domain_module(domain: str) -> ModuleType:
    """The scalinglab.datasets.<domain> module (with PACKAGES, prepare, cache_path, load)."""
    if domain not in DOMAINS:
        raise ScalingLabError(f"unknown data domain {domain!r}; choose from {', '.join(DOMAINS)}")
    return importlib.import_module(f"scalinglab.datasets.{domain}")


def packages(domain: str) -> list[str]:
    """The Debian packages a domain's data comes from."""
    return list(domain_module(domain).PACKAGES)


def prepare(
    domain: str,
    cache: str | os.PathLike[str] | None = None,
    force: bool = False,
    install: bool = False,
    progress: ProgressFn | None = None,
) -> Path:
    """Build (or check) one domain's cache file and return its path. Idempotent."""
    mod = domain_module(domain)
    if install:
        install_packages(list(mod.PACKAGES))
    path: Path = mod.prepare(cache, force=force, progress=progress)
    return path


__all__ = ["CACHE_ENV", "DOMAINS", "cache_dir", "domain_module", "packages", "prepare"]
