"""The classifier training loop of the image and speech tasks: minibatch cross-entropy with early
stopping on the fixed validation set, its validation metrics (loss and top-1 error), and its
TrainResult.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from scalinglab.tasks._training import EarlyStopping
from scalinglab.tasks.base import TrainResult


@torch.inference_mode()
def classifier_metrics(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int
) -> tuple[float, float]:
    """Mean cross-entropy (nats) and top-1 error of `model` on (x, y), in batches of batch_size."""
    model.eval()
    loss_sum, wrong = 0.0, 0
    for xb, yb in zip(x.split(batch_size), y.split(batch_size), strict=True):
        logits = model(xb)
        loss_sum += float(F.cross_entropy(logits, yb, reduction="sum"))
        wrong += int((logits.argmax(1) != yb).sum())
    model.train()
    return loss_sum / y.shape[0], wrong / y.shape[0]


@dataclass
class LoopResult:
    """What a training loop did: optimizer steps, examples seen, seconds spent in steps."""

    steps: int
    examples_seen: int
    train_seconds: float


def train_classifier(
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int,
    max_steps: int,
    eval_every: int,
    evaluate: Callable[[torch.nn.Module], tuple[float, float]],
    stopper: EarlyStopping,
    seed: int,
) -> LoopResult:
    """Minibatch cross-entropy training with early stopping on the fixed validation set.

    Each epoch shuffles the shard into one reused buffer (no per-example Python, no new tensors);
    validation runs every `eval_every` steps and `stopper` decides when to stop (or the step cap).
    """
    n = x.shape[0]
    gen = torch.Generator().manual_seed(seed)
    xs, ys = torch.empty_like(x), torch.empty_like(y)  # shuffled copy, reused every epoch
    step = seen = 0
    train_time = 0.0
    done = False
    while not done:
        t_epoch = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        torch.index_select(x, 0, perm, out=xs)
        torch.index_select(y, 0, perm, out=ys)
        for start in range(0, n, batch_size):
            xb, yb = xs[start : start + batch_size], ys[start : start + batch_size]
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            seen += xb.shape[0]
            if step % eval_every == 0 or step >= max_steps:
                train_time += time.perf_counter() - t_epoch
                val_loss, val_err = evaluate(model)
                done = stopper.update(seen, val_loss, val_err) or step >= max_steps
                t_epoch = time.perf_counter()
                if done:
                    break
        else:
            train_time += time.perf_counter() - t_epoch
    return LoopResult(steps=step, examples_seen=seen, train_seconds=train_time)


def classifier_result(
    stopper: EarlyStopping,
    loop: LoopResult,
    *,
    n_params: int,
    flops_per_example: float,
    shard_examples: int,
    started: float,
) -> TrainResult:
    """The TrainResult of a train_classifier run that began at perf_counter() `started`."""
    return TrainResult(
        best_val_loss=stopper.best_loss,
        best_val_error=stopper.best_error,
        n_params=n_params,
        steps=loop.steps,
        examples_seen=loop.examples_seen,
        flops=flops_per_example * loop.examples_seen,
        wall_time=time.perf_counter() - started,
        curve=stopper.curve,
        extra={
            "train_seconds": loop.train_seconds,  # optimizer steps only, without validation
            "best_examples_seen": float(stopper.best_examples),
            "epochs": loop.examples_seen / shard_examples,
        },
    )
