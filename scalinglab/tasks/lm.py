"""Character-level language modeling on the GCIDE dictionary (Hestness 2017, Sec. 4.1.2).

Data: the cleaned GCIDE text (Debian `dict-gcide`, ~31M characters over a 96-symbol alphabet),
cut into non-overlapping windows of CONTEXT + 1 characters. One example = one window (CONTEXT
next-character predictions). A fixed seeded set of VAL_WINDOWS windows is the validation set; the
remaining ~242k windows are the training pool nested shards are drawn from.

Model family, one size knob `w` (width), chosen by `arch`:
  lstm:        embedding(96, w) -> LSTM(w, w) x n_layer -> linear(w, 96).
  transformer: decoder-only, pre-LayerNorm (GPT-2 style, as in nanoGPT): token + learned position
               embeddings of width w, n_layer blocks of causal self-attention (heads of 32 dims)
               and a 4w MLP, final LayerNorm, output tied to the token embedding.

Metrics: validation cross-entropy in nats/char (best_val_loss) and bits/char (best_val_error,
the learning-curve metric, Hestness's char-LM curve).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from functools import cached_property

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from scalinglab.datasets import lm as lm_data
from scalinglab.errors import ScalingLabError
from scalinglab.tasks._training import (
    EarlyStopping,
    eval_interval,
    hparam,
    optimizer_step,
    place,
    step_budget,
    throughput,
    trains_under_cpu_settings,
)
from scalinglab.tasks.base import ReportFn, TrainConfig, TrainResult, nested_shard
from scalinglab.tasks.device import Placement

CONTEXT = 128  # characters of context per example (predictions per window)
VAL_WINDOWS = 512  # 65,536 validation characters: bits/char known to ~0.01
VOCAB = len(lm_data.ALPHABET)
ARCHS = ("lstm", "transformer")
HEAD_DIM = 32

DEFAULTS = {
    "lr": 2e-3,  # Adam; constant (early stopping decides when to stop)
    "batch_size": 32,  # windows per step: 4,096 predicted characters
    "grad_clip": 1.0,
}
EVAL_MIN_EXAMPLES = 128  # validate every 16k-262k training characters
EVAL_MAX_EXAMPLES = 2048
VAL_BATCH = 128


# ---- model family ---------------------------------------------------------------------------
class CharLSTM(nn.Module):
    def __init__(self, w: int, n_layer: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, w)
        self.lstm = nn.LSTM(w, w, num_layers=n_layer, batch_first=True)
        self.head = nn.Linear(w, VOCAB)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.embed(idx)
        if x.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            # oneDNN has no bf16 LSTM on most CPUs: under CPU autocast the recurrence runs in
            # fp32 (embedding and output layer still autocast).
            with torch.autocast("cpu", enabled=False):
                h, _ = self.lstm(x.float())
        else:
            h, _ = self.lstm(x)
        return self.head(h)


class Block(nn.Module):
    """Pre-LN transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, w: int) -> None:
        super().__init__()
        self.n_head = max(1, w // HEAD_DIM)
        self.ln1 = nn.LayerNorm(w)
        self.qkv = nn.Linear(w, 3 * w)
        self.proj = nn.Linear(w, w)
        self.ln2 = nn.LayerNorm(w)
        self.fc = nn.Linear(w, 4 * w)
        self.out = nn.Linear(4 * w, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class CharTransformer(nn.Module):
    def __init__(self, w: int, n_layer: int) -> None:
        super().__init__()
        self.wte = nn.Embedding(VOCAB, w)
        self.wpe = nn.Embedding(CONTEXT, w)
        self.blocks = nn.ModuleList(Block(w) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(w)
        # GPT-2 initialisation (as in nanoGPT): N(0, 0.02), residual projections scaled down by
        # sqrt(2 n_layer); without it the tied output layer starts with huge logits.
        for name, p in self.named_parameters():
            if p.dim() == 2:
                residual = name.endswith(("proj.weight", "out.weight"))
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * n_layer) if residual else 0.02)
            elif name.endswith("bias") and "ln" not in name:
                nn.init.zeros_(p)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.wte(idx) + self.wpe.weight[: idx.shape[1]]  # positions 0..t-1
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.T  # tied output layer (Press & Wolf 2017)


def count_params(arch: str, w: int, n_layer: int) -> int:
    if arch == "lstm":
        per_layer = 4 * w * (w + w) + 8 * w  # W_ih, W_hh and torch's two bias vectors
        return VOCAB * w + n_layer * per_layer + (w * VOCAB + VOCAB)
    per_block = (2 * w) + (3 * w * w + 3 * w) + (w * w + w) + (2 * w) + (8 * w * w + 5 * w)
    return VOCAB * w + CONTEXT * w + n_layer * per_block + 2 * w  # = (96+128)w + L(12w^2+13w) + 2w


def forward_macs_per_char(arch: str, w: int, n_layer: int) -> float:
    """Multiply-accumulates per predicted character (norms, activations, softmax ignored)."""
    head = w * VOCAB
    if arch == "lstm":
        return n_layer * 4 * w * (w + w) + head
    # per block: qkv + proj + MLP matmuls, then QK^T and AV over (CONTEXT+1)/2 keys on average
    attention = 2 * w * (CONTEXT + 1) / 2
    return n_layer * (12 * w * w + attention) + head


class LMTask:
    """Character-level LM on GCIDE; `arch` is "lstm" (default) or "transformer"."""

    name = "lm"
    metric = "bits_per_char"
    curve_y = "best_val_loss"  # cross-entropy, as Hestness 2017 plot LM curves (Sec. 4.2)
    batch_size = int(DEFAULTS["batch_size"])  # examples per step unless a trial sets it

    def __init__(
        self,
        arch: str = "lstm",
        n_layer: int = 1,
        cache_dir: str | os.PathLike[str] | None = None,
        num_threads: int | None = None,
    ) -> None:
        if arch not in ARCHS:
            raise ScalingLabError(f"lm arch {arch!r} is not one of {', '.join(ARCHS)}")
        if n_layer < 1:
            raise ScalingLabError(f"lm n_layer must be >= 1, got {n_layer}")
        self.arch = arch
        self.n_layer = n_layer
        self.cache_dir = cache_dir
        self.num_threads = num_threads

    # ---- data ------------------------------------------------------------------------------
    @cached_property
    def corpus(self) -> lm_data.CharCorpus:
        return lm_data.load(self.cache_dir)

    @cached_property
    def splits(self) -> tuple[np.ndarray, np.ndarray]:
        return lm_data.split_windows(self.corpus.tokens.size, CONTEXT + 1, VAL_WINDOWS)

    def windows(self, starts: np.ndarray) -> torch.Tensor:
        """(n, CONTEXT + 1) uint8 windows; converted to int64 one batch at a time."""
        rows = starts[:, None] + np.arange(CONTEXT + 1)[None, :]
        return torch.from_numpy(self.corpus.tokens[rows])

    @cached_property
    def val_windows(self) -> torch.Tensor:
        return self.windows(self.splits[1]).long()

    def train_pool_size(self) -> int:
        return int(self.splits[0].shape[0])

    # ---- model family ----------------------------------------------------------------------
    def _check_size(self, model_size: int) -> int:
        w = int(model_size)
        if w < 1:
            raise ScalingLabError(f"lm model_size (width) must be >= 1, got {model_size}")
        heads = max(1, w // HEAD_DIM)
        if self.arch == "transformer" and w % heads:
            raise ScalingLabError(
                f"transformer width {w} does not split into {heads} heads; use a multiple of 32"
            )
        return w

    def n_params(self, model_size: int) -> int:
        return count_params(self.arch, self._check_size(model_size), self.n_layer)

    def flops_per_example(self, model_size: int) -> float:
        # 2 FLOPs per MAC, backward ~2x forward (Kaplan 2020, Sec. 2.1), CONTEXT chars per example
        w = self._check_size(model_size)
        return 3.0 * 2.0 * forward_macs_per_char(self.arch, w, self.n_layer) * CONTEXT

    def build_model(self, model_size: int) -> nn.Module:
        w = self._check_size(model_size)
        if self.arch == "lstm":
            return CharLSTM(w, self.n_layer)
        return CharTransformer(w, self.n_layer)

    # ---- training --------------------------------------------------------------------------
    @torch.inference_mode()
    def evaluate(
        self, model: nn.Module, where: Placement | None = None, val: torch.Tensor | None = None
    ) -> float:
        """Mean cross-entropy (nats/char) over all fixed validation windows, batched (`val`: the
        windows on the model's device, default the CPU copy; under `where`'s autocast)."""
        windows = self.val_windows if val is None else val
        model.eval()
        total = 0.0
        with where.autocast() if where is not None else contextlib.nullcontext():
            for chunk in windows.split(VAL_BATCH):
                logits = model(chunk[:, :-1])
                total += float(
                    F.cross_entropy(
                        logits.reshape(-1, VOCAB).float(), chunk[:, 1:].reshape(-1), reduction="sum"
                    )
                )
        model.train()
        return total / (windows.shape[0] * CONTEXT)

    @trains_under_cpu_settings
    def train(self, config: TrainConfig, report: ReportFn | None = None) -> TrainResult:
        t0 = time.perf_counter()
        where = place(config)  # device and precision ([resources] of the study)
        w = self._check_size(config.model_size)
        lr = hparam(config, "lr", DEFAULTS["lr"])
        clip = hparam(config, "grad_clip", DEFAULTS["grad_clip"])

        # The shard as uint8 windows (at most 31 MB) lives on the device; each batch is widened
        # to int64 there, so no batch crosses the bus.
        idx = nested_shard(self.train_pool_size(), config.shard_size, config.data_seed)
        data = where.put(self.windows(self.splits[0][idx]))  # (n, CONTEXT + 1) uint8
        val = where.put(self.val_windows)  # once per trial; a no-op on the CPU
        n = data.shape[0]
        bs = min(int(hparam(config, "batch_size", self.batch_size)), n)
        flops_per_example = self.flops_per_example(w)
        max_steps = step_budget(config, math.ceil(n / bs), flops_per_example * bs)
        every = eval_interval(n, bs, EVAL_MIN_EXAMPLES, EVAL_MAX_EXAMPLES)

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            model = self.build_model(w).to(where.device)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        scaler = where.grad_scaler()  # fp16 loss scaling (CUDA); None otherwise
        params = [p for p in model.parameters()]
        gen = torch.Generator().manual_seed(config.seed)
        stopper = EarlyStopping(config.patience, report)
        shuffled = torch.empty_like(data)  # reused every epoch

        step = seen = 0
        train_time = 0.0
        done = False
        while not done:
            t_epoch = time.perf_counter()
            perm = where.put(torch.randperm(n, generator=gen))  # the same order on any device
            torch.index_select(data, 0, perm, out=shuffled)
            for start in range(0, n, bs):
                batch = shuffled[start : start + bs].long()
                with where.autocast():
                    logits = model(batch[:, :-1])
                    loss = F.cross_entropy(logits.reshape(-1, VOCAB), batch[:, 1:].reshape(-1))
                optimizer_step(loss, opt, scaler, params, clip)
                step += 1
                seen += batch.shape[0]
                if step % every == 0 or step >= max_steps:
                    where.sync()
                    train_time += time.perf_counter() - t_epoch
                    val_loss = self.evaluate(model, where, val)
                    bpc = val_loss / math.log(2)
                    done = stopper.update(seen, val_loss, bpc) or step >= max_steps
                    t_epoch = time.perf_counter()
                    if done:
                        break
            else:
                where.sync()
                train_time += time.perf_counter() - t_epoch

        return TrainResult(
            best_val_loss=stopper.best_loss,
            best_val_error=stopper.best_error,
            n_params=count_params(self.arch, w, self.n_layer),
            steps=step,
            examples_seen=seen,
            flops=flops_per_example * seen,
            wall_time=time.perf_counter() - t0,
            curve=stopper.curve,
            extra={
                "bits_per_char": stopper.best_error,
                "nats_per_char": stopper.best_loss,
                "train_seconds": train_time,
                "tokens_seen": float(seen * CONTEXT),
                "best_examples_seen": float(stopper.best_examples),
                "epochs": seen / n,
                **throughput(seen, flops_per_example, train_time),
            },
            device=where.name,
        )
