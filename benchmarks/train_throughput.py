"""Training throughput of each built-in task's loop against a minimal hand-written PyTorch loop.

    .venv/bin/python benchmarks/train_throughput.py                 # all tasks whose data is ready
    .venv/bin/python benchmarks/train_throughput.py --tasks image --threads 2
    .venv/bin/python benchmarks/train_throughput.py --device cuda --precision bf16   # on a GPU

For each task and model size, in the same process and with the same thread count:
- task loop: `task.train()` capped at --steps optimizer steps; examples/s over its training time
  (TrainResult.extra["train_seconds"]: shuffling, batching, forward, backward, step; the
  validation passes are excluded because the minimal loop has none);
- minimal loop: the same model (`task.build_model`), optimizer and loss on pre-built batches
  of the same shapes (for translation: real bucketed batches, since lengths set the cost),
  cycled every step: the floor of what a training loop can cost;
- ratio = task / minimal (issue 5 asks for >= 0.85), and the achieved FLOP/s (task FLOPs per
  example x examples/s) as a fraction of this machine's fp32 matmul FLOP/s.

--device and --precision (issue 18) run both loops there: the task loop through its
TrainConfig, the minimal loop with the model and batches on the device under the same autocast,
and the matmul peak on the device (in the precision's dtype).

Runs alternate task and minimal loops and keep the best of --repeats, so a busy shared machine
disturbs both sides alike. Prints a table; --json writes the rows.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from scalinglab.errors import ScalingLabError
from scalinglab.tasks import get_task
from scalinglab.tasks.base import TrainConfig
from scalinglab.tasks.device import Placement, placement

Batch = tuple[torch.Tensor, ...]


@dataclass(frozen=True)
class Case:
    label: str
    task: str
    options: dict[str, Any]
    model_size: int
    batch_size: int
    shard_size: int
    make_batch: Callable[[Any, int], list[Batch]]  # (task, batch_size) -> batches to cycle over
    loss: Callable[[nn.Module, Batch], torch.Tensor]
    lr: float
    clip: float | None = None


def _image_batch(task: Any, bs: int) -> list[Batch]:
    return [(torch.randn(bs, 1, 28, 28), torch.randint(0, 10, (bs,)))]


def _image_loss(model: nn.Module, b: Batch) -> torch.Tensor:
    return F.cross_entropy(model(b[0]), b[1])


def _lm_batch(task: Any, bs: int) -> list[Batch]:
    return [(torch.randint(0, 96, (bs, 129), dtype=torch.uint8),)]


def _translation_batches(task: Any, bs: int) -> list[Batch]:
    """Real batches of the shard, bucketed by length as the task does (lengths set the cost)."""
    from scalinglab.tasks.translation import BUCKET

    rows = task.splits[0][: bs * BUCKET]
    rows = rows[np.argsort((task.data.tgt[rows] != 0).sum(1), kind="stable")]
    return [task._batch(rows[i : i + bs]) for i in range(0, len(rows), bs)]


def _speech_batch(task: Any, bs: int) -> list[Batch]:
    from scalinglab.tasks.speech import synthetic_batch

    return [synthetic_batch(bs)]


def _lm_loss(model: nn.Module, b: Batch) -> torch.Tensor:
    x = b[0].long()  # the task stores uint8 windows and widens one batch at a time, as here
    return F.cross_entropy(model(x[:, :-1]).reshape(-1, 96), x[:, 1:].reshape(-1))


def _seq2seq_loss(model: nn.Module, b: Batch) -> torch.Tensor:
    logits = model(b[0], b[1][:, :-1])
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), b[1][:, 1:].reshape(-1), ignore_index=0
    )


def cases() -> list[Case]:
    out = [
        Case(
            "image cnn w=8", "image", {"arch": "cnn"}, 8, 128, 8192, _image_batch, _image_loss, 3e-3
        ),
        Case(
            "image cnn w=32",
            "image",
            {"arch": "cnn"},
            32,
            128,
            8192,
            _image_batch,
            _image_loss,
            3e-3,
        ),
        Case(
            "image mlp w=256",
            "image",
            {"arch": "mlp"},
            256,
            128,
            8192,
            _image_batch,
            _image_loss,
            3e-3,
        ),
        Case(
            "lm lstm w=128", "lm", {"arch": "lstm"}, 128, 32, 2048, _lm_batch, _lm_loss, 2e-3, 1.0
        ),
        Case(
            "lm transformer w=128",
            "lm",
            {"arch": "transformer"},
            128,
            32,
            2048,
            _lm_batch,
            _lm_loss,
            2e-3,
            1.0,
        ),
    ]
    out += [
        Case("translation w=64", "translation", {}, 64, 64, 2048, _translation_batches,
             _seq2seq_loss, 1e-3, 1.0),
        Case("speech cnn w=16", "speech", {}, 16, 64, 4096, _speech_batch, _image_loss, 3e-3),
    ]  # fmt: skip
    return out


def matmul_flops(
    threads: int, n: int = 1024, seconds: float = 1.0, where: Placement | None = None
) -> float:
    """This machine's matmul FLOP/s at this thread count (best of a few timed bursts): fp32 on
    the CPU, or on `where`'s device in its precision's dtype."""
    torch.set_num_threads(threads)
    device = where.device if where is not None else torch.device("cpu")
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(
        where.precision if where is not None else "fp32", torch.float32
    )
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    best = 0.0
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        if where is not None:
            where.sync()
        t0 = time.perf_counter()
        for _ in range(4):
            a @ b
        if where is not None:
            where.sync()
        best = max(best, 4 * 2 * n**3 / (time.perf_counter() - t0))
    return best


def minimal_loop(case: Case, steps: int, task: Any, where: Placement) -> float:
    """Examples/s of the plainest loop: pre-built batches (on the device), forward (under the
    autocast), backward, step."""
    model = task.build_model(case.model_size).to(where.device)
    opt = torch.optim.Adam(model.parameters(), lr=case.lr)
    scaler = where.grad_scaler()
    params = list(model.parameters())
    batches = [tuple(where.put(t) for t in b) for b in case.make_batch(task, case.batch_size)]

    def step(batch: Batch) -> None:
        with where.autocast():
            loss = case.loss(model, batch)
        opt.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
        else:
            loss.backward()
        if case.clip is not None:
            torch.nn.utils.clip_grad_norm_(params, case.clip, foreach=True)
        if scaler is not None:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()

    for batch in batches[:3]:  # warm-up (allocator, oneDNN primitives)
        step(batch)
    # Whole passes over the batches: real batches differ in length (and so in cost).
    steps = math.ceil(steps / len(batches)) * len(batches)
    seen = 0
    where.sync()
    t0 = time.perf_counter()
    for i in range(steps):
        batch = batches[i % len(batches)]
        seen += batch[0].shape[0]
        step(batch)
    where.sync()
    return seen / (time.perf_counter() - t0)


def task_loop(case: Case, steps: int, task: Any, where: Placement) -> float:
    cfg = TrainConfig(
        shard_size=case.shard_size,
        model_size=case.model_size,
        hparams={"lr": case.lr, "batch_size": case.batch_size},
        max_steps=steps,
        max_epochs=10**6,
        patience=10**6,
        device=where.name,
        precision=where.precision,
    )
    res = task.train(cfg)
    return float(res.examples_seen / res.extra["train_seconds"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--tasks", default="image,lm,translation,speech")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=60, help="optimizer steps per timed run")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=None, help="write the rows to this file")
    ap.add_argument("--device", default="cpu", help="auto, cpu, cuda, cuda:N or mps")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    args = ap.parse_args(argv)
    wanted = set(args.tasks.split(","))

    import os

    os.environ["SCALINGLAB_THREADS"] = str(args.threads)
    try:
        where = placement(args.device, args.precision)
    except ScalingLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    peak = matmul_flops(args.threads, where=where)
    print(
        f"{args.precision} matmul (1024^2) on {where.name}, {args.threads} thread(s): "
        f"{peak / 1e9:.1f} GFLOP/s"
    )
    header = (
        f"{'case':<22} {'task ex/s':>10} {'minimal ex/s':>12} {'ratio':>6} "
        f"{'GFLOP/s':>8} {'of peak':>8}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for case in cases():
        if case.task not in wanted:
            continue
        try:
            task = get_task(case.task, **case.options)
            task.train_pool_size()  # loads (or builds) the data before timing
        except ScalingLabError as exc:
            print(f"{case.label:<22} skipped: {exc}")
            continue
        task_best = min_best = 0.0
        task_loop(case, 5, task, where)  # warm-up: data on the task side, threads, primitives
        for _ in range(args.repeats):
            task_best = max(task_best, task_loop(case, args.steps, task, where))
            min_best = max(min_best, minimal_loop(case, args.steps, task, where))
        flops = task.flops_per_example(case.model_size) * task_best
        row = {
            "case": case.label,
            "task_examples_per_s": task_best,
            "minimal_examples_per_s": min_best,
            "ratio": task_best / min_best if min_best else math.nan,
            "gflops": flops / 1e9,
            "fraction_of_matmul_peak": flops / peak,
            "threads": args.threads,
            "device": where.name,
            "precision": args.precision,
        }
        rows.append(row)
        print(
            f"{case.label:<22} {task_best:>10.0f} {min_best:>12.0f} {row['ratio']:>6.2f} "
            f"{flops / 1e9:>8.2f} {flops / peak:>8.1%}",
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {"matmul_gflops": peak / 1e9, "device": where.name, "rows": rows}, fh, indent=2
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
