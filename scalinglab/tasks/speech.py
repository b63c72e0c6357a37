"""Spoken-command recognition on a SYNTHETIC corpus (stand-in for Hestness 2017, Sec. 4.4).

Data: 1-second clips of 20 command words ("zero".."nine", "yes", "no", "up", "down", ...) made by
text-to-speech (`espeak-ng`, `flite`), resampled by `sox`, with random voice, accent, speed,
pitch, placement and 5-40 dB noise (scalinglab.datasets.speech). The corpus is synthetic: it is
not human speech, and its learning curves are those of this easier, synthetic task. Features are
40 log-mel bands x 101 frames (25 ms windows every 10 ms). The first clips (their own random
draws) are the fixed validation set; the rest is the pool nested shards are drawn from.

Model family, one size knob `w` (width): conv 5x5 stride 2, 1->w (40x101 -> 20x51), ReLU,
conv 3x3 stride 2, w->2w (-> 10x26), ReLU, linear 520w -> 20 (the image CNN, on spectrograms).

Metrics: word error rate on the validation clips (best_val_error, early stopping monitors it)
and cross-entropy in nats (best_val_loss).
"""

from __future__ import annotations

import os
import time
from functools import cached_property

import numpy as np
import torch
from torch import nn

from scalinglab.datasets import speech as speech_data
from scalinglab.errors import ScalingLabError
from scalinglab.tasks._classifier import classifier_metrics, train_classifier
from scalinglab.tasks._training import hparam, place, trains_under_cpu_settings
from scalinglab.tasks.base import ReportFn, TrainConfig, TrainResult, nested_shard

N_CLASSES = len(speech_data.WORDS)
H1, W1 = 20, 51  # after conv 1 (stride 2, padding 2) on 40 x 101
H2, W2 = 10, 26  # after conv 2 (stride 2, padding 1)
DEFAULTS = {"lr": 3e-3, "batch_size": 64}
EVAL_MIN_EXAMPLES = 2048
EVAL_MAX_EXAMPLES = 8192
VAL_BATCH = 512


def build_model(w: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, w, 5, stride=2, padding=2),
        nn.ReLU(),
        nn.Conv2d(w, 2 * w, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(2 * w * H2 * W2, N_CLASSES),
    )


def count_params(w: int) -> int:
    return (25 * w + w) + (9 * w * 2 * w + 2 * w) + (2 * w * H2 * W2 * N_CLASSES + N_CLASSES)


def forward_macs(w: int) -> int:
    return H1 * W1 * w * 25 + H2 * W2 * 2 * w * 9 * w + 2 * w * H2 * W2 * N_CLASSES


class SpeechTask:
    """Synthetic spoken-command recognition with a small CNN on log-mel spectrograms."""

    name = "speech"
    metric = "word_error_rate"
    curve_y = "best_val_error"  # Hestness 2017 plot speech error rates (Sec. 4.4)
    batch_size = int(DEFAULTS["batch_size"])  # examples per step unless a trial sets it

    def __init__(
        self, cache_dir: str | os.PathLike[str] | None = None, num_threads: int | None = None
    ) -> None:
        self.cache_dir = cache_dir
        self.num_threads = num_threads

    # ---- data ------------------------------------------------------------------------------
    @cached_property
    def data(self) -> speech_data.SpeechCommands:
        return speech_data.load(self.cache_dir)

    @cached_property
    def norm(self) -> tuple[float, float]:
        """Mean and std of the log-mel features over the training pool (one scalar each)."""
        pool = self.data.features[self.data.n_val :].astype(np.float32)
        return float(pool.mean()), float(pool.std() + 1e-6)

    def _to_tensors(self, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        mean, std = self.norm
        x = torch.from_numpy(self.data.features[rows].astype(np.float32))
        x = x.sub_(mean).div_(std).unsqueeze_(1)  # (n, 1, 40, 101)
        return x, torch.from_numpy(self.data.labels[rows].astype(np.int64))

    @cached_property
    def val_tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self._to_tensors(np.arange(self.data.n_val))

    def train_pool_size(self) -> int:
        return int(self.data.labels.shape[0] - self.data.n_val)

    # ---- model family ----------------------------------------------------------------------
    def _check_size(self, model_size: int) -> int:
        if int(model_size) < 1:
            raise ScalingLabError(f"speech model_size (width) must be >= 1, got {model_size}")
        return int(model_size)

    def n_params(self, model_size: int) -> int:
        return count_params(self._check_size(model_size))

    def flops_per_example(self, model_size: int) -> float:
        return 3.0 * 2.0 * forward_macs(self._check_size(model_size))  # 2 FLOPs/MAC, bwd = 2 fwd

    def build_model(self, model_size: int) -> nn.Module:
        return build_model(self._check_size(model_size))

    # ---- training --------------------------------------------------------------------------
    def evaluate(self, model: nn.Module) -> tuple[float, float]:
        """Cross-entropy (nats) and top-1 error on the whole fixed validation set, batched (a
        model on the CPU; training evaluates on its own device)."""
        return classifier_metrics(model, *self.val_tensors, VAL_BATCH)

    @trains_under_cpu_settings
    def train(self, config: TrainConfig, report: ReportFn | None = None) -> TrainResult:
        t0 = time.perf_counter()
        where = place(config)  # device and precision ([resources] of the study)
        w = self._check_size(config.model_size)
        lr = hparam(config, "lr", DEFAULTS["lr"])

        idx = nested_shard(self.train_pool_size(), config.shard_size, config.data_seed)
        x, y = self._to_tensors(idx + self.data.n_val)
        x_val, y_val = (where.put(t) for t in self.val_tensors)  # once per trial; no-op on CPU
        return train_classifier(
            config,
            report,
            x,
            y,
            build=lambda: build_model(w),
            n_params=count_params(w),
            flops_per_example=self.flops_per_example(w),
            evaluate=lambda model: classifier_metrics(model, x_val, y_val, VAL_BATCH, where),
            lr=lr,
            batch_size=int(hparam(config, "batch_size", self.batch_size)),
            eval_examples=(EVAL_MIN_EXAMPLES, EVAL_MAX_EXAMPLES),
            started=t0,
            where=where,
        )


def synthetic_batch(bs: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A random batch shaped like the task's (benchmarks/train_throughput.py)."""
    x = torch.randn(bs, 1, speech_data.N_MELS, speech_data.N_FRAMES)
    return x, torch.randint(0, N_CLASSES, (bs,))
