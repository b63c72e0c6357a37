"""Fashion-MNIST (Xiao et al. 2017) from the Debian package `dataset-fashion-mnist`.

60,000 training and 10,000 test images, 28x28 grey levels, 10 clothing classes. The training set
is the pool nested shards are drawn from; the official test set is the fixed validation set, so
validation never overlaps training. Cached as uint8 arrays in `<cache>/image-v1.npz`.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scalinglab.datasets._cache import (
    ProgressFn,
    cache_dir,
    is_valid,
    load_arrays,
    require_files,
    save_arrays,
)
from scalinglab.errors import ScalingLabError

DOMAIN = "image"
PACKAGES = ["dataset-fashion-mnist"]
SOURCE_DIR = Path("/usr/share/datasets/fashion-mnist")
FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_val": "t10k-images-idx3-ubyte.gz",
    "y_val": "t10k-labels-idx1-ubyte.gz",
}
KEYS = list(FILES)
CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip


def cache_path(cache: str | os.PathLike[str] | None = None) -> Path:
    return cache_dir(cache) / "image-v1.npz"


def read_idx(path: Path) -> np.ndarray:
    """Read a gzipped IDX file (LeCun's MNIST format): magic, dims, then big-endian data."""
    try:
        with gzip.open(path) as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise ScalingLabError(f"cannot read {path}: {exc}; reinstall {PACKAGES[0]}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ScalingLabError(f"{path} is not an unsigned-byte IDX file; reinstall the package")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ScalingLabError(f"{path} is truncated; reinstall dataset-fashion-mnist")
    return data.reshape(dims)


def prepare(
    cache: str | os.PathLike[str] | None = None,
    force: bool = False,
    progress: ProgressFn | None = None,
) -> Path:
    """Build the cache file from the package files (idempotent: a valid file is kept)."""
    out = cache_path(cache)
    if not force and is_valid(out, KEYS):
        if progress:
            progress(len(FILES), len(FILES), "image: cached")
        return out
    require_files(DOMAIN, PACKAGES, [SOURCE_DIR / f for f in FILES.values()])
    arrays: dict[str, np.ndarray] = {}
    for i, (key, fname) in enumerate(FILES.items()):
        arrays[key] = read_idx(SOURCE_DIR / fname)
        if progress:
            progress(i + 1, len(FILES), f"image: {fname}")
    save_arrays(out, **arrays)
    return out


@dataclass(frozen=True)
class FashionMNIST:
    x_train: np.ndarray  # (60000, 28, 28) uint8
    y_train: np.ndarray  # (60000,) uint8 class ids
    x_val: np.ndarray  # (10000, 28, 28) uint8
    y_val: np.ndarray  # (10000,) uint8


def load(cache: str | os.PathLike[str] | None = None) -> FashionMNIST:
    """Load the cached arrays, building the cache from the Debian package on first use."""
    path = cache_path(cache)
    if not path.exists():
        prepare(cache)
    a = load_arrays(path, KEYS, DOMAIN)
    ok = (
        a["x_train"].ndim == 3
        and a["x_train"].shape[1:] == (28, 28)
        and a["x_train"].shape[0] == a["y_train"].shape[0]
        and a["x_val"].shape[0] == a["y_val"].shape[0]
        and int(a["y_train"].max(initial=0)) < 10
    )
    if not ok:
        raise ScalingLabError(
            f"cache file {path} has unexpected contents; "
            f"rebuild it with: scalinglab data prepare {DOMAIN} --force"
        )
    return FashionMNIST(**a)
