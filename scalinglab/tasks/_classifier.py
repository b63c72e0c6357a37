"""The training run of the classifier tasks (image, speech): Adam on minibatch cross-entropy over
the shard, with early stopping on the fixed validation set by top-1 error, and its validation
metrics (loss and top-1 error).

A task brings its data (the shard's tensors), its model family and its hyperparameters;
`train_classifier` runs the loop and returns the TrainResult.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from scalinglab.tasks._training import (
    EarlyStopping,
    eval_interval,
    optimizer_step,
    step_budget,
    throughput,
)
from scalinglab.tasks.base import ReportFn, TrainConfig, TrainResult
from scalinglab.tasks.device import Placement


@torch.inference_mode()
def classifier_metrics(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    where: Placement | None = None,
) -> tuple[float, float]:
    """Mean cross-entropy (nats) and top-1 error of `model` on (x, y), in batches of batch_size
    (under `where`'s autocast; x and y already on its device)."""
    model.eval()
    loss_sum, wrong = 0.0, 0
    with where.autocast() if where is not None else contextlib.nullcontext():
        for xb, yb in zip(x.split(batch_size), y.split(batch_size), strict=True):
            logits = model(xb)
            loss_sum += float(F.cross_entropy(logits.float(), yb, reduction="sum"))
            wrong += int((logits.argmax(1) != yb).sum())
    model.train()
    return loss_sum / y.shape[0], wrong / y.shape[0]


def train_classifier(
    config: TrainConfig,
    report: ReportFn | None,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    build: Callable[[], torch.nn.Module],
    n_params: int,
    flops_per_example: float,
    evaluate: Callable[[torch.nn.Module], tuple[float, float]],
    lr: float,
    batch_size: int,
    eval_examples: tuple[int, int],
    weight_decay: float = 0.0,
    started: float,
    where: Placement,
) -> TrainResult:
    """Train `build()` on the shard (x, y) until its validation error stops improving.

    The shard and the model go to `where`'s device once (the shard of these tasks fits in any
    GPU's memory, so no batch crosses the bus); forward passes run under its autocast. The
    model is built under `config.seed` (on the CPU: the same initial weights on every device);
    each epoch shuffles the shard into one reused buffer
    (no per-example Python, no new tensors); validation runs about once an epoch, clamped to
    `eval_examples` = (fewest, most) examples between two looks; the run stops when `patience`
    looks bring no improvement or at the step and FLOP budget of `config`. `started` is the
    perf_counter() at which the task began (the TrainResult's wall time counts from it).
    """
    n = x.shape[0]
    bs = min(batch_size, n)
    max_steps = step_budget(config, math.ceil(n / bs), flops_per_example * bs)
    eval_every = eval_interval(n, bs, *eval_examples)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = build().to(where.device)
    x, y = where.put(x), where.put(y)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    scaler = where.grad_scaler()
    # Classification monitors the error it reports: the cross-entropy of a small shard starts
    # rising (over-confidence) long before its error stops falling.
    stopper = EarlyStopping(config.patience, report, monitor="error")

    gen = torch.Generator().manual_seed(config.seed)
    xs, ys = torch.empty_like(x), torch.empty_like(y)  # shuffled copy, reused every epoch
    step = seen = 0
    train_time = 0.0
    done = False
    while not done:
        t_epoch = time.perf_counter()
        perm = where.put(torch.randperm(n, generator=gen))  # the same order on every device
        torch.index_select(x, 0, perm, out=xs)
        torch.index_select(y, 0, perm, out=ys)
        for start in range(0, n, bs):
            xb, yb = xs[start : start + bs], ys[start : start + bs]
            with where.autocast():
                loss = F.cross_entropy(model(xb), yb)
            optimizer_step(loss, opt, scaler)
            step += 1
            seen += xb.shape[0]
            if step % eval_every == 0 or step >= max_steps:
                where.sync()
                train_time += time.perf_counter() - t_epoch
                val_loss, val_err = evaluate(model)
                done = stopper.update(seen, val_loss, val_err) or step >= max_steps
                t_epoch = time.perf_counter()
                if done:
                    break
        else:
            where.sync()
            train_time += time.perf_counter() - t_epoch

    return TrainResult(
        best_val_loss=stopper.best_loss,
        best_val_error=stopper.best_error,
        n_params=n_params,
        steps=step,
        examples_seen=seen,
        flops=flops_per_example * seen,
        wall_time=time.perf_counter() - started,
        curve=stopper.curve,
        extra={
            "train_seconds": train_time,  # optimizer steps only, without validation
            "best_examples_seen": float(stopper.best_examples),
            "epochs": seen / n,
            **throughput(seen, flops_per_example, train_time),
        },
        device=where.name,
    )
