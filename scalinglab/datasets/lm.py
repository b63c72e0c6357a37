"""Character-level text: the GCIDE dictionary (Webster 1913 + additions), Debian `dict-gcide`.

/usr/share/dictd/gcide.dict.dz is gzip-compatible (dictzip). We decode it as UTF-8 with
errors='replace', drop the source tags that sit on their own line (`[1913 Webster]`, `[PJC]`),
unwrap cross-reference braces (`{Abuse}` -> `Abuse`), fold accents to ASCII (NFKD), collapse
runs of blanks, and keep 96 symbols (printable ASCII and newline). About 30M characters.

The cache `<cache>/lm-v1.npz` stores the cleaned text as one uint8 stream of symbol ids. The task
cuts it into non-overlapping windows; a seeded permutation of the windows gives the fixed
validation windows and, disjoint from them, the training pool (see `split_windows`).
"""

from __future__ import annotations

import gzip
import os
import re
import unicodedata
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

DOMAIN = "lm"
PACKAGES = ["dict-gcide"]
SOURCE = Path("/usr/share/dictd/gcide.dict.dz")
KEYS = ["tokens", "alphabet"]
ALPHABET = "\n" + "".join(chr(c) for c in range(32, 127))  # 96 symbols; id = position
SPLIT_SEED = 20171201  # fixed: the validation windows never change between studies

_TAG_LINE = re.compile(r"^[ \t]*\[[^\]\n]*\][ \t]*$", re.MULTILINE)  # [1913 Webster] etc.
_BRACES = re.compile(r"[{}]")
_BLANKS = re.compile(r"[ \t]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def cache_path(cache: str | os.PathLike[str] | None = None) -> Path:
    return cache_dir(cache) / "lm-v1.npz"


def clean(text: str) -> str:
    """GCIDE markup -> plain prose over ALPHABET (see the module docstring)."""
    text = _TAG_LINE.sub("", text)
    text = _BRACES.sub("", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = _BLANKS.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text)


def encode(text: str) -> np.ndarray:
    """Symbol ids (uint8); characters outside ALPHABET (control codes) are dropped."""
    raw = np.frombuffer(text.encode("ascii", "ignore"), dtype=np.uint8)
    lut = np.full(256, 255, dtype=np.uint8)
    for i, ch in enumerate(ALPHABET):
        lut[ord(ch)] = i
    ids = lut[raw]
    return ids[ids != 255]


def decode(ids: np.ndarray) -> str:
    return "".join(ALPHABET[int(i)] for i in ids)


def prepare(
    cache: str | os.PathLike[str] | None = None,
    force: bool = False,
    progress: ProgressFn | None = None,
) -> Path:
    """Build the cache file from the package file (idempotent: a valid file is kept)."""
    out = cache_path(cache)
    if not force and is_valid(out, KEYS):
        if progress:
            progress(3, 3, "lm: cached")
        return out
    require_files(DOMAIN, PACKAGES, [SOURCE])
    try:
        with gzip.open(SOURCE) as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise ScalingLabError(f"cannot read {SOURCE}: {exc}; reinstall dict-gcide") from None
    if progress:
        progress(1, 3, "lm: read gcide.dict.dz")
    text = clean(raw.decode("utf-8", errors="replace"))
    if progress:
        progress(2, 3, "lm: cleaned markup")
    alphabet = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)
    save_arrays(out, tokens=encode(text), alphabet=alphabet)
    if progress:
        progress(3, 3, "lm: saved")
    return out


@dataclass(frozen=True)
class CharCorpus:
    tokens: np.ndarray  # (n_chars,) uint8 symbol ids
    alphabet: str


def load(cache: str | os.PathLike[str] | None = None) -> CharCorpus:
    """Load the cached stream, building the cache from the Debian package on first use."""
    path = cache_path(cache)
    if not path.exists():
        prepare(cache)
    a = load_arrays(path, KEYS, DOMAIN)
    alphabet = a["alphabet"].tobytes().decode("ascii", "replace")
    tokens = a["tokens"]
    if alphabet != ALPHABET or tokens.dtype != np.uint8 or tokens.size < 100_000:
        raise ScalingLabError(
            f"cache file {path} has unexpected contents; "
            f"rebuild it with: scalinglab data prepare {DOMAIN} --force"
        )
    if int(tokens.max()) >= len(ALPHABET):
        raise ScalingLabError(
            f"cache file {path} is corrupt; rebuild it with: scalinglab data prepare lm --force"
        )
    return CharCorpus(tokens=tokens, alphabet=alphabet)


def split_windows(n_tokens: int, window: int, n_val: int) -> tuple[np.ndarray, np.ndarray]:
    """Start offsets of non-overlapping windows: (training pool, fixed validation windows).

    A permutation seeded with SPLIT_SEED assigns windows, so validation windows are spread over
    the whole alphabet of headwords (the dictionary is sorted) and never overlap training ones.
    """
    n_windows = n_tokens // window
    if n_windows <= n_val:
        raise ScalingLabError(f"text of {n_tokens} characters is too short for {n_val} windows")
    order = np.random.default_rng(SPLIT_SEED).permutation(n_windows)
    starts = order.astype(np.int64) * window
    return starts[n_val:], np.sort(starts[:n_val])
