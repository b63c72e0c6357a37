"""A SYNTHETIC spoken-command corpus: 20 English words spoken by text-to-speech voices.

This is not recorded human speech. Each clip is one word from WORDS, synthesized by `espeak-ng`
(8 English accents x ~100 voice variants, random speed, pitch and volume) or `flite` (5 voices),
resampled to 16 kHz by `sox`, placed at a random offset in a 1-second clip, and mixed with white,
pink or brown noise at a random SNR between 5 and 40 dB. It stands in for Hestness 2017's speech
domain (Sec. 4.4) on machines without a speech corpus; the learning curves it gives are real
learning curves of a real classifier, but of an easier, synthetic task.

Every clip is determined by (SEED, clip index), so `prepare` is reproducible. Validation clips use
their own indices (never shared with training clips). The cache `<cache>/speech-v1.npz` holds
log-mel features (float16, N_MELS x N_FRAMES per clip) and labels.
"""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from scalinglab.datasets._cache import (
    ProgressFn,
    cache_dir,
    is_valid,
    load_arrays,
    require_files,
    save_arrays,
)
from scalinglab.errors import ScalingLabError

DOMAIN = "speech"
PACKAGES = ["espeak-ng", "flite", "sox"]
WORDS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go",
]  # fmt: skip
ACCENTS = [
    "en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
    "en-029", "en-gb",
]  # fmt: skip
FLITE_VOICES = ["kal", "kal16", "awb", "rms", "slt"]
VARIANT_DIRS = [Path("/usr/lib/x86_64-linux-gnu/espeak-ng-data/voices/!v"),
                Path("/usr/share/espeak-ng-data/voices/!v")]  # fmt: skip
N_TRAIN, N_VAL = 8192, 1024  # ~10k clips: 2-10 minutes to synthesize on 2 cores
SEED = 1712  # arXiv:1712.00409
RATE = 16000
N_FFT, HOP, N_MELS = 400, 160, 40  # 25 ms windows every 10 ms (the usual speech front end)
N_FRAMES = RATE // HOP + 1  # 101
KEYS = ["features", "labels"]


def cache_path(cache: str | os.PathLike[str] | None = None) -> Path:
    return cache_dir(cache) / "speech-v1.npz"


def voice_variants() -> list[str]:
    for d in VARIANT_DIRS:
        if d.is_dir():
            return sorted(p.name for p in d.iterdir() if p.is_file())
    return []


def synth(index: int, variants: list[str]) -> tuple[np.ndarray, int]:
    """Clip `index`: (16,000 float32 samples, word id). Deterministic in (SEED, index)."""
    rng = np.random.default_rng([SEED, index])
    label = int(rng.integers(len(WORDS)))
    word = WORDS[label]
    if rng.random() < 0.8 or not variants:  # espeak-ng: accent x variant x speed x pitch
        voice = str(rng.choice(ACCENTS))
        if variants:
            voice += "+" + str(rng.choice(variants))
        speed, pitch = int(rng.integers(110, 230)), int(rng.integers(15, 85))
        volume = int(rng.integers(60, 180))
        cmd = ["espeak-ng", "--stdout", "-v", voice, "-s", str(speed), "-p", str(pitch),
               "-a", str(volume), word]  # fmt: skip
    else:  # flite
        cmd = ["flite", "-voice", str(rng.choice(FLITE_VOICES)), "-t", word, "-o", "/dev/stdout"]
    tts = subprocess.run(cmd, capture_output=True, check=False, timeout=60)
    sox = subprocess.run(
        ["sox", "-t", "wav", "-", "-r", str(RATE), "-c", "1", "-e", "floating-point", "-b", "32",
         "-t", "raw", "-"],
        input=tts.stdout, capture_output=True, check=False, timeout=60,
    )  # fmt: skip
    if tts.returncode != 0 or sox.returncode != 0 or len(sox.stdout) < 400:
        raise ScalingLabError(
            f"synthesizing {word!r} with {cmd[0]} failed; reinstall the packages: "
            f"sudo apt-get install -y --reinstall {' '.join(PACKAGES)}"
        )
    audio = np.frombuffer(sox.stdout, dtype=np.float32)
    nz = np.flatnonzero(np.abs(audio) > 1e-3)  # trim leading/trailing silence
    audio = audio[nz[0] : nz[-1] + 1] if nz.size else audio
    if audio.size > RATE:
        start = (audio.size - RATE) // 2
        audio = audio[start : start + RATE]
    clip = np.zeros(RATE, dtype=np.float32)
    offset = int(rng.integers(0, RATE - audio.size + 1))
    clip[offset : offset + audio.size] = audio
    # Noise at a random SNR (5-40 dB) relative to the speech's power.
    colour = int(rng.integers(3))
    noise = rng.standard_normal(RATE).astype(np.float32)
    if colour == 1:  # pink-ish: white noise through a one-pole low-pass
        noise = np.asarray(np.cumsum(noise) * 0.02 + noise * 0.5, dtype=np.float32)
        noise -= np.convolve(noise, np.ones(64) / 64, mode="same").astype(np.float32)
    elif colour == 2:  # brown: integrated white noise, de-trended
        noise = np.cumsum(noise).astype(np.float32)
        noise -= np.convolve(noise, np.ones(256) / 256, mode="same").astype(np.float32)
    p_signal = float(np.mean(audio.astype(np.float64) ** 2)) + 1e-12
    p_noise = float(np.mean(noise.astype(np.float64) ** 2)) + 1e-12
    snr_db = rng.uniform(5.0, 40.0)
    clip += noise * np.float32(np.sqrt(p_signal / p_noise / 10 ** (snr_db / 10)))
    return clip, label


def mel_filterbank() -> torch.Tensor:
    """(N_MELS, N_FFT // 2 + 1) triangular filters equally spaced on the HTK mel scale."""

    def mel(f: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    freqs = np.linspace(0, RATE / 2, N_FFT // 2 + 1)
    edges = hz(np.linspace(mel(np.array(20.0)), mel(np.array(RATE / 2)), N_MELS + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    fb = np.maximum(0.0, np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)))
    return torch.from_numpy(fb.astype(np.float32))


def log_mel(audio: np.ndarray) -> np.ndarray:
    """(n, 16000) waveforms -> (n, N_MELS, N_FRAMES) log-mel energies, float16."""
    x = torch.from_numpy(audio)
    spec = torch.stft(x, N_FFT, HOP, window=torch.hann_window(N_FFT), return_complex=True)
    power = spec.abs().pow(2)  # (n, N_FFT // 2 + 1, N_FRAMES)
    mel = torch.einsum("mf,nft->nmt", mel_filterbank(), power)
    return torch.log(mel + 1e-6).numpy().astype(np.float16)


def prepare(
    cache: str | os.PathLike[str] | None = None,
    force: bool = False,
    progress: ProgressFn | None = None,
    n_train: int = N_TRAIN,
    n_val: int = N_VAL,
    workers: int = 4,
) -> Path:
    """Synthesize the clips (validation first) and cache their log-mel features. Idempotent."""
    out = cache_path(cache)
    total = n_train + n_val
    if not force and is_valid(out, KEYS):
        if progress:
            progress(total, total, "speech: cached")
        return out
    require_files(DOMAIN, PACKAGES, ["espeak-ng", "flite", "sox"])
    variants = voice_variants()
    features = np.zeros((total, N_MELS, N_FRAMES), dtype=np.float16)
    labels = np.zeros(total, dtype=np.uint8)
    chunk = 256
    done = 0
    # Threads suffice: the work happens in the espeak-ng/flite/sox child processes.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, total, chunk):
            idx = list(range(start, min(start + chunk, total)))
            clips = list(pool.map(lambda i: synth(i, variants), idx))
            audio = np.stack([c[0] for c in clips])
            features[idx[0] : idx[-1] + 1] = log_mel(audio)
            labels[idx[0] : idx[-1] + 1] = [c[1] for c in clips]
            done += len(idx)
            if progress:
                progress(done, total, "speech: synthesizing clips")
    save_arrays(out, features=features, labels=labels, n_val=np.array(n_val))
    return out


@dataclass(frozen=True)
class SpeechCommands:
    features: np.ndarray  # (n, N_MELS, N_FRAMES) float16 log-mel
    labels: np.ndarray  # (n,) uint8 word ids
    n_val: int  # the first n_val clips are the fixed validation set


def load(cache: str | os.PathLike[str] | None = None) -> SpeechCommands:
    """Load the cached features, synthesizing the corpus on first use (a few minutes)."""
    path = cache_path(cache)
    if not path.exists():
        prepare(cache)
    a = load_arrays(path, [*KEYS, "n_val"], DOMAIN)
    f, y, n_val = a["features"], a["labels"], int(a["n_val"])
    ok = (
        f.ndim == 3
        and f.shape[1:] == (N_MELS, N_FRAMES)
        and f.shape[0] == y.shape[0]
        and 0 < n_val < y.shape[0]
        and int(y.max()) < len(WORDS)
    )
    if not ok:
        raise ScalingLabError(
            f"cache file {path} has unexpected contents; "
            f"rebuild it with: scalinglab data prepare {DOMAIN} --force"
        )
    return SpeechCommands(features=f, labels=y, n_val=n_val)
