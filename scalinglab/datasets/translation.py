"""Spanish->English verse pairs: Reina-Valera 1909 and World English Bible, aligned by reference.

Source: the SWORD modules of the Debian packages `sword-text-sparv` (spaRV1909eb) and
`sword-text-web` (engWEB2015eb), exported with
`diatheke -b MODULE -f plain -o f -k "Genesis 1:1 - Revelation 22:21"`. Each verse starts with
its reference ("Genesis 1:1: ..."); we keep the text up to the next reference or blank line
(which drops the WEB's repeated psalm headings and glossary), strip footnotes `[1:1 ...]`,
Strong's numbers `<H1234>`, markup and pilcrows, and pair verses present in both (~31,000).

Tokens: lowercased words and punctuation marks; the VOCAB_ES / VOCAB_EN most frequent of each
language (93% / 96% of running tokens), the rest <unk>. Pairs longer than MAX_LEN tokens on either
side are dropped (<1%). Cached in `<cache>/translation-v2.npz`: padded id matrices, the
vocabularies, and the reference English text (lowercased, tokenized) for BLEU.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
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

DOMAIN = "translation"
PACKAGES = ["sword-text-sparv", "sword-text-web", "diatheke"]
MODULES = {"es": "spaRV1909eb", "en": "engWEB2015eb"}
MODULE_FILES = [
    Path("/usr/share/sword/modules/texts/ztext/spaRV1909eb"),
    Path("/usr/share/sword/modules/texts/ztext/engWEB2015eb"),
]
RANGE = "Genesis 1:1 - Revelation 22:21"
KEYS = ["src", "tgt", "vocab_es", "vocab_en", "ref_en"]
PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]
VOCAB_ES, VOCAB_EN = 4000, 2000  # the output softmax dominates the cost of small models
MAX_LEN = 80  # tokens per side, before BOS/EOS
SPLIT_SEED = 20171201

_REF = re.compile(r"^[^\S\n]*(?:<[^>]*>[^\S\n]*)*(\S[^\n:]*?) (\d+):(\d+): ", re.MULTILINE)
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")
_FOOTNOTE = re.compile(r"\[\d+:\d+[^\]]*\]|\[\]")
_MARKUP = re.compile(r"<[^>]*>")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_MODULE_LINE = re.compile(r"^\(\w+\)[^\S\n]*$", re.MULTILINE)  # diatheke's closing "(spaRV1909eb)"


def cache_path(cache: str | os.PathLike[str] | None = None) -> Path:
    return cache_dir(cache) / "translation-v2.npz"


def export(module: str) -> str:
    """The whole Protestant canon of one SWORD module as plain text, via diatheke."""
    cmd = ["diatheke", "-b", module, "-f", "plain", "-o", "f", "-k", RANGE]
    try:
        out = subprocess.run(cmd, capture_output=True, check=False, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ScalingLabError(f"diatheke failed for {module}: {exc}") from None
    text = out.stdout.decode("utf-8", errors="replace")
    if out.returncode != 0 or "1:1: " not in text:
        raise ScalingLabError(
            f"diatheke could not export module {module} (exit {out.returncode}); "
            f"reinstall it with: sudo apt-get install -y --reinstall {' '.join(PACKAGES)}"
        )
    return text


def parse_verses(text: str) -> dict[tuple[str, int, int], str]:
    """(book, chapter, verse) -> cleaned verse text."""
    text = _MODULE_LINE.sub("", text)
    matches = list(_REF.finditer(text))
    verses: dict[tuple[str, int, int], str] = {}
    for m, nxt in zip(matches, [*matches[1:], None], strict=True):
        body = text[m.end() : nxt.start() if nxt is not None else len(text)]
        body = _BLANK_LINE.split(body, maxsplit=1)[0]
        body = _MARKUP.sub("", _FOOTNOTE.sub("", body)).replace("¶", "")
        body = " ".join(body.split())
        if body:
            verses[(m.group(1), int(m.group(2)), int(m.group(3)))] = body
    return verses


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def build_vocab(sentences: list[list[str]], size: int) -> list[str]:
    counts = collections.Counter(w for s in sentences for w in s)
    return SPECIALS + [w for w, _ in counts.most_common(size - len(SPECIALS))]


def encode(sentences: list[list[str]], vocab: list[str], bos: bool) -> np.ndarray:
    """Padded int16 id matrix: [<s>] w1 .. wn </s> <pad> ..."""
    index = {w: i for i, w in enumerate(vocab)}
    width = MAX_LEN + (2 if bos else 1)
    out = np.zeros((len(sentences), width), dtype=np.int16)
    for r, s in enumerate(sentences):
        ids = ([BOS] if bos else []) + [index.get(w, UNK) for w in s] + [EOS]
        out[r, : len(ids)] = ids
    return out


def prepare(
    cache: str | os.PathLike[str] | None = None,
    force: bool = False,
    progress: ProgressFn | None = None,
) -> Path:
    """Export, align, tokenize and cache the verse pairs (idempotent: a valid file is kept)."""
    out = cache_path(cache)
    steps = 4
    if not force and is_valid(out, KEYS):
        if progress:
            progress(steps, steps, "translation: cached")
        return out
    require_files(DOMAIN, PACKAGES, ["diatheke", *MODULE_FILES])
    if shutil.which("diatheke") is None:  # pragma: no cover - require_files checked it
        raise ScalingLabError("diatheke not found")
    es = parse_verses(export(MODULES["es"]))
    if progress:
        progress(1, steps, "translation: exported Spanish")
    en = parse_verses(export(MODULES["en"]))
    if progress:
        progress(2, steps, "translation: exported English")
    pairs = [(tokenize(es[k]), tokenize(en[k])) for k in es if k in en]
    pairs = [(s, t) for s, t in pairs if 0 < len(s) <= MAX_LEN and 0 < len(t) <= MAX_LEN]
    if len(pairs) < 20000:
        raise ScalingLabError(
            f"only {len(pairs)} aligned verses found; the SWORD modules look incomplete: "
            f"sudo apt-get install -y --reinstall {' '.join(PACKAGES)}"
        )
    src_sents, tgt_sents = [p[0] for p in pairs], [p[1] for p in pairs]
    vocab_es, vocab_en = build_vocab(src_sents, VOCAB_ES), build_vocab(tgt_sents, VOCAB_EN)
    if progress:
        progress(3, steps, "translation: tokenized")
    save_arrays(
        out,
        src=encode(src_sents, vocab_es, bos=False),
        tgt=encode(tgt_sents, vocab_en, bos=True),
        vocab_es=np.array(vocab_es),
        vocab_en=np.array(vocab_en),
        ref_en=np.array([" ".join(t) for t in tgt_sents]),
    )
    if progress:
        progress(4, steps, "translation: saved")
    return out


@dataclass(frozen=True)
class VersePairs:
    src: np.ndarray  # (n, MAX_LEN + 1) int16 Spanish ids, </s>-terminated, 0-padded
    tgt: np.ndarray  # (n, MAX_LEN + 2) int16 English ids, <s> ... </s>, 0-padded
    vocab_es: list[str]
    vocab_en: list[str]
    ref_en: np.ndarray  # (n,) str: the full reference, lowercased and tokenized (for BLEU)


def load(cache: str | os.PathLike[str] | None = None) -> VersePairs:
    """Load the cached pairs, building the cache from the Debian packages on first use."""
    path = cache_path(cache)
    if not path.exists():
        prepare(cache)
    a = load_arrays(path, KEYS, DOMAIN)
    n = a["src"].shape[0]
    ok = (
        a["tgt"].shape[0] == n
        and a["ref_en"].shape[0] == n
        and a["src"].shape[1] == MAX_LEN + 1
        and a["tgt"].shape[1] == MAX_LEN + 2
        and int(a["src"].max()) < len(a["vocab_es"])
        and int(a["tgt"].max()) < len(a["vocab_en"])
    )
    if not ok:
        raise ScalingLabError(
            f"cache file {path} has unexpected contents; "
            f"rebuild it with: scalinglab data prepare {DOMAIN} --force"
        )
    return VersePairs(
        src=a["src"],
        tgt=a["tgt"],
        vocab_es=[str(w) for w in a["vocab_es"]],
        vocab_en=[str(w) for w in a["vocab_en"]],
        ref_en=a["ref_en"],
    )


def split(n: int, n_val: int) -> tuple[np.ndarray, np.ndarray]:
    """(training pool, fixed validation) row indices from a permutation seeded with SPLIT_SEED."""
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    return order[n_val:], np.sort(order[:n_val])
