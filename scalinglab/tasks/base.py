"""The task protocol: data, a model family with a size knob, and `train(config) -> TrainResult`.

A study (Hestness et al. 2017) trains many (shard size, model size, hyperparameters) candidates
of one task. The study engine only talks to a task through this protocol, so a user's own task is
any object with these attributes (or an import path to one in the study config).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

# A task calls report(examples_seen, val_loss) after every validation evaluation. The study engine
# passes one that records the curve and may raise optuna.TrialPruned to stop a hopeless trial early
# (Optuna's pruner, per shard); the exception propagates out of train(), so tasks never catch it.
ReportFn = Callable[[int, float], None]

# The column a task's learning curve is read in when the task names none: the validation loss,
# the study's search objective.
DEFAULT_CURVE_Y = "best_val_loss"
CURVE_Y_COLUMNS = ("best_val_loss", "best_val_error")
# The metrics (a task's `metric`, the name of its best_val_error) that are error rates in [0, 1]:
# the auto rule calibrates their learning curves' intervals at a scale of their own
# (RuleConfig.error_scale). The others (bits per character, cross-entropy) are losses.
ERROR_RATE_METRICS = ("top1_error", "word_error_rate", "one_minus_pass_at_1")


@dataclass(frozen=True)
class TrainConfig:
    """One training run: which nested shard, which model, which hyperparameters."""

    shard_size: int  # training examples in the shard (the shard is nested_shard(...)[:shard_size])
    model_size: int  # the model family's size knob (e.g. width); see Task.n_params
    hparams: dict[str, float] = field(default_factory=dict)  # learning rate at least ("lr")
    seed: int = 0  # model initialisation and batch order
    data_seed: int = 0  # which nested shard draw; fixed across a study so shards nest
    max_epochs: int = 50  # upper bound on passes over the shard
    patience: int = 3  # early stopping: evaluations without improvement before stopping
    max_steps: int | None = None  # optional hard cap on optimizer steps
    flop_budget: float | None = None  # optional cap on training FLOPs for this trial
    # Where to train (scalinglab.tasks.device): "auto" (CUDA, then MPS, then CPU), "cpu",
    # "cuda", "cuda:N" or "mps"; and in which precision: "fp32", or autocast to "bf16"/"fp16".
    device: str = "auto"
    precision: str = "fp32"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    """What a trial measured: a structured record, never scraped from logs."""

    best_val_loss: float  # validation cross-entropy (or the task's loss) at the best checkpoint
    best_val_error: float  # the task's error metric at that checkpoint (lower is better)
    n_params: int  # exact trainable parameter count
    steps: int  # optimizer steps taken
    examples_seen: int  # training examples processed
    flops: float  # training FLOPs (forward + backward, ~3x forward)
    wall_time: float  # seconds
    curve: list[tuple[int, float]] = field(default_factory=list)  # (examples seen, val loss)
    extra: dict[str, float] = field(default_factory=dict)  # other metrics (e.g. BLEU, bits/char)
    device: str = ""  # where it trained: "cpu", "cuda:0", "mps" ("" when the task does not say)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class Task(Protocol):
    """A built-in or user task. See scalinglab.tasks for the built-in ones."""

    name: str
    metric: str  # name of best_val_error, e.g. "top1_error"
    # The TrainResult field its learning curve is read in, the metric Hestness et al. (2017,
    # Sec. 4) plot for the task's domain: "best_val_error" (image top-1, speech) or
    # "best_val_loss" (LM and NMT cross-entropy). A class attribute, so a study's analysis reads
    # it without building the task (loading its data); a task without one is read in the loss.
    curve_y: str = DEFAULT_CURVE_Y

    def train_pool_size(self) -> int:
        """Number of training examples shards are drawn from (the largest possible shard)."""
        ...

    def n_params(self, model_size: int) -> int:
        """Exact parameter count of the model at this size knob."""
        ...

    def flops_per_example(self, model_size: int) -> float:
        """Training FLOPs per example (forward + backward) at this size knob."""
        ...

    def train(self, config: TrainConfig, report: ReportFn | None = None) -> TrainResult:
        """Train on the shard with early stopping on the fixed validation set.

        Call `report(examples_seen, val_loss)` after each validation evaluation (see ReportFn).
        """
        ...


def nested_shard(pool_size: int, shard_size: int, data_seed: int) -> np.ndarray:
    """Indices of a training shard: the first `shard_size` of one seeded permutation of the pool.

    Every shard of a study is a prefix of the same permutation, so smaller shards are contained in
    larger ones (Hestness 2017, Sec. 3: nested training-set shards).
    """
    if not 0 < shard_size <= pool_size:
        from scalinglab.errors import ScalingLabError

        raise ScalingLabError(
            f"shard size {shard_size} is outside 1..{pool_size} (the task's training pool); "
            "use smaller shard sizes"
        )
    order = np.random.default_rng(data_seed).permutation(pool_size)
    return order[:shard_size]
