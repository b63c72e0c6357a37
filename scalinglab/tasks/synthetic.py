"""A fast teacher-student task: the whole Hestness (2017) loop runs on it in seconds.

Data (generated deterministically from `data_seed_base`, no files): inputs x ~ N(0, I_d); a fixed
random "teacher" MLP d -> 32 -> k (tanh) gives class logits, and each label is *sampled* from the
teacher's softmax, so the labels carry noise. That noise is the irreducible error of Hestness
2017 (Fig. 1, the flat region on the right): the best any model can reach is the teacher's own
cross-entropy. Between a small-data region and that floor, validation loss falls roughly as a power
law of the shard size, which is what a study measures.

Model family, one size knob `w` (width): a student MLP d -> w -> w -> k with ReLUs, trained with
Adam on cross-entropy, early stopping on the fixed validation set (disjoint from the training pool:
a separate draw of the same generator).

Metrics: cross-entropy in nats (best_val_loss) and top-1 error against the sampled labels
(best_val_error), at the evaluation with the lowest validation loss.
"""

from __future__ import annotations

import math
import time
from functools import cached_property

import torch
import torch.nn.functional as F
from torch import nn

from scalinglab.errors import ScalingLabError
from scalinglab.tasks._training import optimizer_step, place, throughput
from scalinglab.tasks.base import ReportFn, TrainConfig, TrainResult, nested_shard
from scalinglab.tasks.device import Placement

TEACHER_WIDTH = 32
TEACHER_SCALE = 3.0  # logit scale: larger -> cleaner labels -> lower irreducible error
EVAL_MIN_EXAMPLES = 512  # validate at most every 512 training examples (tiny shards: per epochs)
EVAL_MAX_EXAMPLES = 4096  # and at least every 4096
MAX_GENERATED_VALUES = 10**9  # float32 numbers the data and its teacher may hold: 4 GB


class SyntheticTask:
    """Teacher-student classification on generated data; trains in well under a second."""

    name = "synthetic"
    metric = "top1_error"
    curve_y = "best_val_loss"  # the default: the search objective

    def __init__(
        self,
        pool_size: int = 16384,
        val_size: int = 2048,
        dim: int = 16,
        classes: int = 4,
        data_seed_base: int = 1234,
        batch_size: int = 64,
    ) -> None:
        for key, value in {
            "pool_size": pool_size,
            "val_size": val_size,
            "dim": dim,
            "classes": classes,
            "batch_size": batch_size,
        }.items():
            if int(value) < (2 if key == "classes" else 1):
                raise ScalingLabError(f"synthetic task option {key}={value} is too small")
        # Every generated matrix has dim or classes columns: the inputs and the teacher's class
        # probabilities of each example, and the teacher's weights (TEACHER_WIDTH rows).
        rows = int(pool_size) + int(val_size) + TEACHER_WIDTH
        values = rows * (int(dim) + int(classes))
        if values > MAX_GENERATED_VALUES:  # caught here, not by every trial running out of memory
            raise ScalingLabError(
                f"synthetic task options pool_size={pool_size}, val_size={val_size}, dim={dim}, "
                f"classes={classes} would generate (pool_size + val_size + {TEACHER_WIDTH}) x "
                f"(dim + classes), more than {MAX_GENERATED_VALUES:.0e} numbers (4 GB); lower "
                "pool_size, dim or classes"
            )
        self.pool_size = int(pool_size)
        self.val_size = int(val_size)
        self.dim = int(dim)
        self.classes = int(classes)
        self.data_seed_base = int(data_seed_base)
        self.batch_size = int(batch_size)

    # ---- data ------------------------------------------------------------------------------
    @cached_property
    def _teacher(self) -> nn.Sequential:
        gen = torch.Generator().manual_seed(self.data_seed_base)
        w1 = torch.randn(self.dim, TEACHER_WIDTH, generator=gen) / math.sqrt(self.dim)
        w2 = torch.randn(TEACHER_WIDTH, self.classes, generator=gen) / math.sqrt(TEACHER_WIDTH)
        net = nn.Sequential(
            nn.Linear(self.dim, TEACHER_WIDTH, bias=False),
            nn.Tanh(),
            nn.Linear(TEACHER_WIDTH, self.classes, bias=False),
        )
        first, last = net[0], net[2]
        assert isinstance(first, nn.Linear) and isinstance(last, nn.Linear)
        with torch.no_grad():
            first.weight.copy_(w1.T)
            last.weight.copy_(w2.T * TEACHER_SCALE)
        return net

    def _draw(self, n: int, stream: int) -> tuple[torch.Tensor, torch.Tensor]:
        gen = torch.Generator().manual_seed(self.data_seed_base * 1000 + stream)
        x = torch.randn(n, self.dim, generator=gen)
        with torch.no_grad():
            probs = F.softmax(self._teacher(x), dim=1)
        y = torch.multinomial(probs, 1, generator=gen).squeeze(1)
        return x, y

    @cached_property
    def train_data(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self._draw(self.pool_size, stream=1)

    @cached_property
    def val_data(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self._draw(self.val_size, stream=2)  # a separate draw: never overlaps training

    def train_pool_size(self) -> int:
        return self.pool_size

    @cached_property
    def irreducible_loss(self) -> float:
        """The teacher's own cross-entropy on the validation inputs: the floor of the curve."""
        x, _ = self.val_data
        with torch.no_grad():
            logp = F.log_softmax(self._teacher(x), dim=1)
        return float(-(logp.exp() * logp).sum(1).mean())

    # ---- model family ----------------------------------------------------------------------
    def _width(self, model_size: int) -> int:
        if int(model_size) < 1:
            raise ScalingLabError(f"synthetic model_size (width) must be >= 1, got {model_size}")
        return int(model_size)

    def build_model(self, model_size: int) -> nn.Module:
        w = self._width(model_size)
        return nn.Sequential(
            nn.Linear(self.dim, w),
            nn.ReLU(),
            nn.Linear(w, w),
            nn.ReLU(),
            nn.Linear(w, self.classes),
        )

    def n_params(self, model_size: int) -> int:
        w = self._width(model_size)
        return (self.dim + 1) * w + (w + 1) * w + (w + 1) * self.classes

    def flops_per_example(self, model_size: int) -> float:
        w = self._width(model_size)
        macs = self.dim * w + w * w + w * self.classes
        return 3.0 * 2.0 * macs  # forward 2 FLOPs/MAC, backward ~2x forward (Kaplan 2020)

    # ---- training --------------------------------------------------------------------------
    @torch.inference_mode()
    def evaluate(
        self,
        model: nn.Module,
        where: Placement | None = None,
        val: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[float, float]:
        """Cross-entropy and top-1 error on the validation set (`val`: it on the model's
        device; default the CPU copy), under `where`'s autocast."""
        x, y = val if val is not None else self.val_data
        if where is None:
            logits = model(x)
        else:
            with where.autocast():
                logits = model(x)
        loss = float(F.cross_entropy(logits.float(), y))
        error = float((logits.argmax(1) != y).float().mean())
        return loss, error

    def train(self, config: TrainConfig, report: ReportFn | None = None) -> TrainResult:
        t0 = time.perf_counter()
        where = place(config)  # device and precision ([resources] of the study)
        lr = float(config.hparams.get("lr", 3e-3))
        if not (math.isfinite(lr) and lr > 0):
            raise ScalingLabError(f"hyperparameter lr={lr!r} must be a positive number")
        idx = torch.from_numpy(nested_shard(self.pool_size, config.shard_size, config.data_seed))
        x_all, y_all = self.train_data
        x, y = where.put(x_all[idx]), where.put(y_all[idx])  # the shard lives on the device
        val = (where.put(self.val_data[0]), where.put(self.val_data[1]))
        n = x.shape[0]
        bs = min(int(config.hparams.get("batch_size", self.batch_size)), n)
        flops_per_example = self.flops_per_example(config.model_size)
        max_steps = config.max_epochs * math.ceil(n / bs)
        if config.max_steps is not None:
            max_steps = min(max_steps, config.max_steps)
        if config.flop_budget is not None:
            max_steps = min(max_steps, max(1, int(config.flop_budget // (flops_per_example * bs))))
        every = max(1, round(min(max(n, EVAL_MIN_EXAMPLES), EVAL_MAX_EXAMPLES) / bs))

        torch.manual_seed(config.seed)
        model = self.build_model(config.model_size).to(where.device)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        scaler = where.grad_scaler()  # fp16 loss scaling (CUDA); None otherwise
        gen = torch.Generator().manual_seed(config.seed)

        best_loss, best_error, bad = math.inf, math.nan, 0
        curve: list[tuple[int, float]] = []
        step = seen = 0
        train_time = 0.0
        t_train = time.perf_counter()
        while step < max_steps:
            perm = where.put(torch.randperm(n, generator=gen))  # the same order on any device
            for start in range(0, n, bs):
                batch = perm[start : start + bs]
                with where.autocast():
                    loss = F.cross_entropy(model(x[batch]), y[batch])
                optimizer_step(loss, opt, scaler)
                step += 1
                seen += int(batch.shape[0])
                if step % every and step < max_steps:
                    continue
                where.sync()
                train_time += time.perf_counter() - t_train
                model.eval()
                val_loss, val_error = self.evaluate(model, where, val)
                model.train()
                curve.append((seen, val_loss))
                if val_loss < best_loss:
                    best_loss, best_error, bad = val_loss, val_error, 0
                else:
                    bad += 1
                if report is not None:
                    report(seen, val_loss)  # may raise optuna.TrialPruned
                t_train = time.perf_counter()
                if bad >= max(config.patience, 1) or not math.isfinite(val_loss):
                    max_steps = step  # early stopping (Hestness 2017: train to best val loss)
                if step >= max_steps:
                    break

        return TrainResult(
            best_val_loss=best_loss,
            best_val_error=best_error,
            n_params=self.n_params(config.model_size),
            steps=step,
            examples_seen=seen,
            flops=flops_per_example * seen,
            wall_time=time.perf_counter() - t0,
            curve=curve,
            extra={
                "epochs": seen / n,
                "irreducible_loss": self.irreducible_loss,
                "train_seconds": train_time,  # optimizer steps only, without validation
                **throughput(seen, flops_per_example, train_time),
            },
            device=where.name,
        )
