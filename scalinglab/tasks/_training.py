"""What every built-in training loop shares: threads, hyperparameters, step budgets, how often
to validate, the optimizer step (with fp16 loss scaling), throughput, and early stopping on the
fixed validation set.

Kept here so that each task file reads top to bottom as its own algorithm (data, model, loop)
without repeating the bookkeeping.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Concatenate, ParamSpec, TypeVar

import torch

from scalinglab.errors import ScalingLabError
from scalinglab.tasks.base import ReportFn, TrainConfig
from scalinglab.tasks.device import Placement, placement

THREADS_ENV = "SCALINGLAB_THREADS"
# One intra-op thread per trial by default: a study runs one worker per core, and on a shared
# machine two OpenMP teams spinning on the same cores were measured 5-8x slower than one thread.
DEFAULT_THREADS = 1

P = ParamSpec("P")
R = TypeVar("R")


def flushes_denormals() -> bool:
    """Whether torch currently flushes denormal floats to zero (torch has no getter: a denormal
    times one reads as zero when it does)."""
    return bool(torch.tensor(1e-310, dtype=torch.float64) * 1.0 == 0)


@contextmanager
def cpu_settings(n: int | None) -> Iterator[None]:
    """Use n intra-op threads (else $SCALINGLAB_THREADS, else DEFAULT_THREADS) and flush denormal
    floats to zero while the block runs; the caller's settings come back afterwards, so a user
    who trains a task in their own process keeps their threads and IEEE arithmetic.

    A study running k worker processes on c cores should give each c // k threads; oversubscribing
    the 2 cores of a small machine halves throughput. Denormals appear as small networks converge
    (tiny gradients, Adam moments) and make x86 arithmetic up to 10x slower; flushing them changes
    no result that matters here.
    """
    threads, flushing = torch.get_num_threads(), flushes_denormals()
    if n is None:
        env = os.environ.get(THREADS_ENV, "").strip()
        n = int(env) if env.isdigit() else DEFAULT_THREADS
    torch.set_flush_denormal(True)
    if n > 0 and threads != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_flush_denormal(flushing)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def trains_under_cpu_settings(
    train: Callable[Concatenate[Any, P], R],
) -> Callable[Concatenate[Any, P], R]:
    """Decorate a task's `train` to run under `cpu_settings(self.num_threads)`."""

    @functools.wraps(train)
    def run(self: Any, *args: P.args, **kwargs: P.kwargs) -> R:
        with cpu_settings(self.num_threads):
            return train(self, *args, **kwargs)

    return run


def place(config: TrainConfig) -> Placement:
    """The device and precision `config` asks for (scalinglab.tasks.device), checked."""
    return placement(config.device, config.precision)


def optimizer_step(
    loss: torch.Tensor,
    opt: torch.optim.Optimizer,
    scaler: Any = None,
    params: Sequence[torch.Tensor] | None = None,
    clip: float | None = None,
) -> None:
    """One optimizer step on `loss`: backward, optional gradient-norm clipping, step.

    With an fp16 GradScaler the loss is scaled before backward (float16 gradients underflow
    otherwise), the gradients unscaled before clipping, and a step with inf/NaN gradients
    skipped (Micikevicius et al. 2018, "Mixed Precision Training").
    """
    opt.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        if clip is not None and params is not None:
            torch.nn.utils.clip_grad_norm_(params, clip, foreach=True)
        opt.step()
        return
    scaler.scale(loss).backward()
    if clip is not None and params is not None:
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(params, clip, foreach=True)
    scaler.step(opt)
    scaler.update()


def throughput(examples: int, flops_per_example: float, train_seconds: float) -> dict[str, float]:
    """Training throughput for TrainResult.extra: examples/s and achieved FLOP/s over the time
    spent in optimizer steps (validation excluded)."""
    if train_seconds <= 0:
        return {}
    rate = examples / train_seconds
    return {"examples_per_s": rate, "flops_per_s": rate * flops_per_example}


def hparam(config: TrainConfig, name: str, default: float) -> float:
    value = config.hparams.get(name, default)
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ScalingLabError(f"hyperparameter {name}={value!r} is not a number") from None
    if not math.isfinite(out) or out <= 0:
        raise ScalingLabError(f"hyperparameter {name}={value!r} must be a positive number")
    return out


def step_budget(config: TrainConfig, steps_per_epoch: int, flops_per_step: float) -> int:
    """Largest number of optimizer steps allowed by max_epochs, max_steps and flop_budget."""
    if config.max_epochs <= 0:
        raise ScalingLabError(f"max_epochs={config.max_epochs} must be positive")
    steps = config.max_epochs * steps_per_epoch
    if config.max_steps is not None:
        steps = min(steps, config.max_steps)
    if config.flop_budget is not None:
        steps = min(steps, int(config.flop_budget // max(flops_per_step, 1.0)))
    return max(steps, 1)


def eval_interval(shard_examples: int, batch_size: int, lo: int, hi: int) -> int:
    """Optimizer steps between validation evaluations: ~one epoch, clamped to [lo, hi] examples.

    Tiny shards would otherwise spend all their time validating; huge ones would overfit between
    two looks at the validation set.
    """
    examples = min(max(shard_examples, lo), hi)
    return max(1, round(examples / batch_size))


@dataclass
class EarlyStopping:
    """Early stopping on the fixed validation set (Hestness 2017: each candidate trains until its
    validation metric stops improving), plus the learning curve of (examples seen, val loss).

    `monitor` is "loss" or "error": which validation number picks the best checkpoint and counts
    as improvement. Classification tasks monitor the error they report, because the cross-entropy
    of a small shard starts rising (over-confidence) long before its error stops falling.
    """

    patience: int
    report: ReportFn | None = None
    monitor: str = "loss"
    best_loss: float = math.inf
    best_error: float = math.nan
    best_examples: int = 0
    bad_evals: int = 0
    curve: list[tuple[int, float]] = field(default_factory=list)

    def _key(self, loss: float, error: float) -> tuple[float, float]:
        return (error, loss) if self.monitor == "error" else (loss, error)

    def update(
        self,
        examples_seen: int,
        val_loss: float,
        val_error: float,
    ) -> bool:
        """Record one evaluation; True means stop (patience exhausted or diverged)."""
        self.curve.append((int(examples_seen), float(val_loss)))
        improved = math.isfinite(val_loss) and (
            not self.curve[:-1]
            or math.isinf(self.best_loss)
            or self._key(val_loss, val_error) < self._key(self.best_loss, self.best_error)
        )
        if improved:
            self.best_loss, self.best_error = float(val_loss), float(val_error)
            self.best_examples = int(examples_seen)
            self.bad_evals = 0
        else:
            self.bad_evals += 1
        if self.report is not None:
            self.report(int(examples_seen), float(val_loss))
        return not math.isfinite(val_loss) or self.bad_evals >= max(self.patience, 1)
