"""Image classification on Fashion-MNIST: the ImageNet stand-in of Hestness 2017 (Sec. 4.3).

Data: 60,000 training images (the pool nested shards are drawn from) and the 10,000 official test
images as the fixed validation set, from the Debian package `dataset-fashion-mnist`.

Model family, one size knob `w` (width):
  cnn (default): conv 5x5 stride 2, 1->w channels (28x28 -> 14x14), ReLU,
                 conv 3x3 stride 2, w->2w channels (14x14 -> 7x7), ReLU, linear 98w -> 10.
                 Strided convolutions instead of max-pooling: ~4x fewer FLOPs, same accuracy
                 class (~91% at w=32), which is what makes a study fit in minutes on 2 CPU cores.
  mlp:           784 -> w -> 10 with a ReLU (w hidden units).

Metrics: top-1 error (best_val_error) and cross-entropy in nats (best_val_loss) on the fixed
validation set, at the evaluation with the lowest validation error (early stopping monitors the
error: a small shard's cross-entropy rises from over-confidence while its error still falls).
"""

from __future__ import annotations

import os
import time
from functools import cached_property

import numpy as np
import torch
from torch import nn

from scalinglab.datasets import image as image_data
from scalinglab.errors import ScalingLabError
from scalinglab.tasks._classifier import classifier_metrics, train_classifier
from scalinglab.tasks._training import hparam, place, trains_under_cpu_settings
from scalinglab.tasks.base import ReportFn, TrainConfig, TrainResult, nested_shard

N_CLASSES = 10
# Per-pixel mean and std of the Fashion-MNIST training set (grey levels / 255).
PIXEL_MEAN, PIXEL_STD = 0.2860, 0.3530
ARCHS = ("cnn", "mlp")

DEFAULTS = {
    "lr": 3e-3,  # Adam; good for every width here (the study may search it)
    "batch_size": 128,
    "weight_decay": 0.0,
}
EVAL_MIN_EXAMPLES = 4096  # validate at most every 4k examples (one validation pass costs ~3k)
EVAL_MAX_EXAMPLES = 16384  # and at least every 16k (large shards: several times an epoch)
VAL_BATCH = 1000


def build_model(arch: str, w: int) -> nn.Module:
    if arch == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, w, 5, stride=2, padding=2),  # 28x28 -> 14x14
            nn.ReLU(),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1),  # 14x14 -> 7x7
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(2 * w * 7 * 7, N_CLASSES),
        )
    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, w), nn.ReLU(), nn.Linear(w, N_CLASSES))


def count_params(arch: str, w: int) -> int:
    if arch == "cnn":
        conv1 = 25 * w + w
        conv2 = 9 * w * 2 * w + 2 * w
        fc = 98 * w * N_CLASSES + N_CLASSES
        return conv1 + conv2 + fc  # = 18w^2 + 1008w + 10
    return 784 * w + w + w * N_CLASSES + N_CLASSES  # = 795w + 10


def forward_macs(arch: str, w: int) -> int:
    """Multiply-accumulates of one forward pass (biases and ReLUs are negligible and ignored)."""
    if arch == "cnn":
        conv1 = 14 * 14 * w * 25  # output positions x out channels x kernel taps
        conv2 = 7 * 7 * 2 * w * 9 * w
        fc = 98 * w * N_CLASSES
        return conv1 + conv2 + fc  # = 882w^2 + 5880w
    return 784 * w + w * N_CLASSES


class ImageTask:
    """Fashion-MNIST classification; `arch` picks the CNN (default) or MLP family."""

    name = "image"
    metric = "top1_error"
    curve_y = "best_val_error"  # Hestness 2017 plot ImageNet top-1 error (Sec. 4.3)
    batch_size = int(DEFAULTS["batch_size"])  # examples per step unless a trial sets it

    def __init__(
        self,
        arch: str = "cnn",
        cache_dir: str | os.PathLike[str] | None = None,
        num_threads: int | None = None,
    ) -> None:
        if arch not in ARCHS:
            raise ScalingLabError(f"image arch {arch!r} is not one of {', '.join(ARCHS)}")
        self.arch = arch
        self.cache_dir = cache_dir
        self.num_threads = num_threads

    # ---- data ------------------------------------------------------------------------------
    @cached_property
    def data(self) -> image_data.FashionMNIST:
        return image_data.load(self.cache_dir)

    @cached_property
    def val_tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self._to_tensors(self.data.x_val, self.data.y_val)

    @staticmethod
    def _to_tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        xt = torch.from_numpy(np.ascontiguousarray(x)).to(torch.float32)
        xt = xt.div_(255.0).sub_(PIXEL_MEAN).div_(PIXEL_STD).unsqueeze_(1)  # (n, 1, 28, 28)
        return xt, torch.from_numpy(y.astype(np.int64))

    def train_pool_size(self) -> int:
        return int(self.data.y_train.shape[0])

    # ---- model family ----------------------------------------------------------------------
    def _check_size(self, model_size: int) -> int:
        if int(model_size) < 1:
            raise ScalingLabError(f"image model_size (width) must be >= 1, got {model_size}")
        return int(model_size)

    def n_params(self, model_size: int) -> int:
        return count_params(self.arch, self._check_size(model_size))

    def flops_per_example(self, model_size: int) -> float:
        # 2 FLOPs per multiply-accumulate; backward ~ 2x forward (Kaplan 2020, Sec. 2.1).
        return 3.0 * 2.0 * forward_macs(self.arch, self._check_size(model_size))

    def build_model(self, model_size: int) -> nn.Module:
        return build_model(self.arch, self._check_size(model_size))

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
        wd = config.hparams.get("weight_decay", DEFAULTS["weight_decay"])

        # The nested shard, normalized once; batches are views into a reused buffer.
        idx = nested_shard(self.train_pool_size(), config.shard_size, config.data_seed)
        x, y = self._to_tensors(self.data.x_train[idx], self.data.y_train[idx])
        x_val, y_val = (where.put(t) for t in self.val_tensors)  # once per trial; no-op on CPU
        return train_classifier(
            config,
            report,
            x,
            y,
            build=lambda: build_model(self.arch, w),
            n_params=count_params(self.arch, w),
            flops_per_example=self.flops_per_example(w),
            evaluate=lambda model: classifier_metrics(model, x_val, y_val, VAL_BATCH, where),
            lr=lr,
            batch_size=int(hparam(config, "batch_size", self.batch_size)),
            eval_examples=(EVAL_MIN_EXAMPLES, EVAL_MAX_EXAMPLES),
            weight_decay=float(wd),
            started=t0,
            where=where,
        )
