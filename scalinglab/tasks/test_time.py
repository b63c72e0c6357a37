"""Multi-digit addition with repeated sampling: a task whose test-time compute is a knob.

Train-time compute buys a better model; test-time compute buys more samples per problem, and a
checker keeps any correct one (pass@k, Brown et al. 2024, "Large Language Monkeys"). Measured at
several training budgets and several sample counts, the two trade off at equal coverage as
Jones (2021) found for search in Hex; `scalinglab tradeoff` fits that surface
(scalinglab.planning.test_time reads the columns below).

Data (generated, no files): problems "a+b=" with `digits`-digit operands, the answer written
least-significant digit first (digits+1 digits, zero-padded: the order a carry flows, which a
small causal model learns far faster than the usual order). A fixed seeded set of VAL_PROBLEMS
problems is the validation set; the training pool is a seeded stream of other problems (the
validation pairs are removed), of which shard m is the first m.

Model family, one size knob `w` (width): a decoder-only transformer (the pre-LayerNorm block of
scalinglab.tasks.lm), `n_layer` blocks, learned positions, trained with Adam on the answer
tokens only, one pass over the shard (every problem seen once: the training budget is the shard).
Defaults: 2 digits, Adam at lr 1e-3 with batch 32 (at width 128 these leave the loss plateau by
~16k problems; 3 digits at width 64, lr 1e-2, batch 64 left most models on it up to 131k).

Measurements (TrainResult.extra), on the validation problems after training:
  pass_k{k}      coverage with k samples for k = 1, 2, 4, …, n_samples: the fraction of problems
                 at least one of k samples (temperature 1) answers exactly, by the unbiased
                 estimator of Chen et al. (2021) from n_samples samples per problem;
  test_flops_per_sample  forward FLOPs to generate one answer (2 FLOPs per MAC, the whole
                 sequence once, as with a KV cache); k samples cost k times that. The
                 samples are drawn so: the prompt once per problem, its keys and values
                 shared by the problem's samples;
  greedy_accuracy        exact match of the greedy answer.
best_val_loss is the answer tokens' cross-entropy (nats/token), best_val_error 1 − pass@1.
"""

from __future__ import annotations

import math
import time
from functools import cached_property

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from scalinglab.errors import ScalingLabError
from scalinglab.planning.test_time import PASS_PREFIX, TEST_FLOPS_COLUMN
from scalinglab.tasks._training import hparam, trains_under_cpu_settings
from scalinglab.tasks.base import ReportFn, TrainConfig, TrainResult
from scalinglab.tasks.lm import HEAD_DIM, Block

PLUS, EQUALS = 10, 11  # tokens 0-9 are digits
VOCAB = 12
VAL_PROBLEMS = 400  # coverage known to about ±0.02
DEFAULTS = {"lr": 1e-3, "batch_size": 32}


class AdditionTransformer(nn.Module):
    """Token + position embeddings, n_layer pre-LN blocks, a final LayerNorm, tied output."""

    def __init__(self, w: int, n_layer: int, length: int) -> None:
        super().__init__()
        self.wte = nn.Embedding(VOCAB, w)
        self.wpe = nn.Embedding(length, w)
        self.blocks = nn.ModuleList(Block(w) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(w)
        for name, p in self.named_parameters():  # GPT-2 initialisation, as in tasks.lm
            if p.dim() == 2:
                residual = name.endswith(("proj.weight", "out.weight"))
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * n_layer) if residual else 0.02)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.wte(idx) + self.wpe.weight[: idx.shape[1]]
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.T

    def decode(
        self, idx: torch.Tensor, start: int, cache: list[tuple[torch.Tensor, torch.Tensor]]
    ) -> torch.Tensor:
        """The logits of the last position of idx (tokens at positions start, start + 1, ...)
        given the keys and values of the positions before `start` in `cache` (one (k, v) per
        block, appended to in place): what forward gives, each position computed once (a KV
        cache). With an empty cache and start 0 it fills the cache from a prompt."""
        x = self.wte(idx) + self.wpe.weight[start : start + idx.shape[1]]
        for i, block in enumerate(self.blocks):
            assert isinstance(block, Block)
            b, t, c = x.shape
            heads = (
                z.view(b, t, block.n_head, c // block.n_head).transpose(1, 2)
                for z in block.qkv(block.ln1(x)).split(c, dim=2)
            )
            q, k, v = heads
            if i < len(cache):
                k = torch.cat([cache[i][0], k], dim=2)
                v = torch.cat([cache[i][1], v], dim=2)
                cache[i] = (k, v)
            else:
                cache.append((k, v))
            # causal within idx; every cached (earlier) position is visible to every query
            mask = (
                None if t == 1 else torch.ones(t, k.shape[2], dtype=torch.bool).tril(k.shape[2] - t)
            )
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            x = x + block.proj(y.transpose(1, 2).reshape(b, t, c))
            x = x + block.out(F.gelu(block.fc(block.ln2(x))))
        return self.ln_f(x[:, -1]) @ self.wte.weight.T


def pass_at_k(n: int, correct: np.ndarray, k: int) -> float:
    """Mean over problems of 1 − C(n − c, k) / C(n, k): the chance that k of the n samples
    include a correct one (Chen et al. 2021, the unbiased pass@k estimator)."""
    c = np.asarray(correct, dtype=int)
    fail = np.ones(c.shape, dtype=float)
    for i in range(k):  # C(n−c, k)/C(n, k) = Π_{i<k} (n − c − i)/(n − i)
        fail *= np.clip(n - c - i, 0, None) / (n - i)
    return float(np.mean(1.0 - fail))


class AdditionSamplingTask:
    """Addition of `digits`-digit numbers by a tiny transformer, scored by pass@k."""

    name = "test_time"
    metric = "one_minus_pass_at_1"
    curve_y = "best_val_error"
    batch_size = int(DEFAULTS["batch_size"])  # examples per step unless a trial sets it

    def __init__(
        self,
        digits: int = 2,
        n_layer: int = 2,
        n_samples: int = 32,
        pool_size: int = 1 << 20,
        data_seed_base: int = 17,
        num_threads: int | None = None,
    ) -> None:
        if not 1 <= int(digits) <= 8:
            raise ScalingLabError(f"test_time digits must be 1..8, got {digits}")
        if int(n_layer) < 1:
            raise ScalingLabError(f"test_time n_layer must be >= 1, got {n_layer}")
        if int(n_samples) < 2:
            raise ScalingLabError(f"test_time n_samples must be >= 2, got {n_samples}")
        self.digits = int(digits)
        self.n_layer = int(n_layer)
        self.n_samples = int(n_samples)
        self.pool_size = int(pool_size)
        self.data_seed_base = int(data_seed_base)
        self.num_threads = num_threads

    # ---- data ------------------------------------------------------------------------------
    @property
    def prompt_len(self) -> int:
        return 2 * self.digits + 2  # a + b =

    @property
    def answer_len(self) -> int:
        return self.digits + 1

    @property
    def length(self) -> int:
        return self.prompt_len + self.answer_len

    def encode(self, a: np.ndarray, b: np.ndarray) -> torch.Tensor:
        """(n, length) token rows "a+b=" + the sum's digits, least significant first."""
        d = self.digits
        powers = 10 ** np.arange(d - 1, -1, -1)
        digits_a = (a[:, None] // powers) % 10
        digits_b = (b[:, None] // powers) % 10
        total = a + b
        answer = (total[:, None] // 10 ** np.arange(d + 1)) % 10  # reversed
        n = a.shape[0]
        rows = np.concatenate(
            [digits_a, np.full((n, 1), PLUS), digits_b, np.full((n, 1), EQUALS), answer], axis=1
        )
        return torch.from_numpy(rows.astype(np.int64))

    def _pairs(self, n: int, stream: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.data_seed_base * 1000 + stream)
        hi = 10**self.digits
        return rng.integers(0, hi, n), rng.integers(0, hi, n)

    @cached_property
    def val_data(self) -> torch.Tensor:
        return self.encode(*self._pairs(VAL_PROBLEMS, stream=2))

    @cached_property
    def train_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """The training stream, with every validation problem removed (no overlap)."""
        a, b = self._pairs(self.pool_size + VAL_PROBLEMS * 2, stream=1)
        va, vb = self._pairs(VAL_PROBLEMS, stream=2)
        keep = ~np.isin(a * 10**self.digits + b, va * 10**self.digits + vb)
        return a[keep][: self.pool_size], b[keep][: self.pool_size]

    def train_pool_size(self) -> int:
        return self.pool_size

    # ---- model family ----------------------------------------------------------------------
    def _width(self, model_size: int) -> int:
        w = int(model_size)
        if w < HEAD_DIM or w % HEAD_DIM:
            raise ScalingLabError(f"test_time width must be a multiple of {HEAD_DIM}, got {w}")
        return w

    def build_model(self, model_size: int) -> nn.Module:
        return AdditionTransformer(self._width(model_size), self.n_layer, self.length)

    def n_params(self, model_size: int) -> int:
        w = self._width(model_size)
        per_block = 2 * w + (3 * w * w + 3 * w) + (w * w + w) + 2 * w + (8 * w * w + 5 * w)
        return (VOCAB + self.length) * w + self.n_layer * per_block + 2 * w

    def forward_macs_per_token(self, model_size: int) -> float:
        w = self._width(model_size)
        attention = 2 * w * (self.length + 1) / 2  # QK^T and AV over half the sequence on average
        return self.n_layer * (12 * w * w + attention) + w * VOCAB

    def flops_per_example(self, model_size: int) -> float:
        # forward 2 FLOPs/MAC, backward ~2x forward (Kaplan 2020); every position is computed
        return 3.0 * 2.0 * self.forward_macs_per_token(model_size) * (self.length - 1)

    def test_flops_per_sample(self, model_size: int) -> float:
        """Forward FLOPs to generate one answer: each position once (a KV cache)."""
        return 2.0 * self.forward_macs_per_token(model_size) * (self.length - 1)

    # ---- evaluation ------------------------------------------------------------------------
    def answer_loss(self, model: nn.Module, rows: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the answer tokens given everything before them."""
        logits = model(rows[:, :-1])[:, self.prompt_len - 1 :]
        return F.cross_entropy(logits.reshape(-1, VOCAB), rows[:, self.prompt_len :].reshape(-1))

    @torch.inference_mode()
    def sample_correct(
        self, model: nn.Module, rows: torch.Tensor, n: int, gen: torch.Generator
    ) -> np.ndarray:
        """How many of n samples (temperature 1) answer each problem exactly."""
        # The prompt is computed once per problem, its keys and values shared by the problem's
        # n samples; each sample then adds one position per answer digit (a KV cache).
        assert isinstance(model, AdditionTransformer)
        prompts = rows[:, : self.prompt_len]
        cache: list[tuple[torch.Tensor, torch.Tensor]] = []
        probs = F.softmax(model.decode(prompts, 0, cache)[:, :10], dim=-1)  # digits only
        cache = [(k.repeat_interleave(n, 0), v.repeat_interleave(n, 0)) for k, v in cache]
        tok = torch.multinomial(probs, n, replacement=True, generator=gen).reshape(-1, 1)
        answer = [tok]
        for j in range(1, self.answer_len):
            logits = model.decode(tok, self.prompt_len + j - 1, cache)
            tok = torch.multinomial(F.softmax(logits[:, :10], dim=-1), 1, generator=gen)
            answer.append(tok)
        seq = torch.cat([prompts.repeat_interleave(n, dim=0), *answer], dim=1)
        right = seq[:, self.prompt_len :] == rows[:, self.prompt_len :].repeat_interleave(n, 0)
        return right.all(dim=1).view(-1, n).sum(dim=1).numpy()

    @torch.inference_mode()
    def greedy_accuracy(self, model: nn.Module, rows: torch.Tensor) -> float:
        seq = rows[:, : self.prompt_len]
        for _ in range(self.answer_len):
            nxt = model(seq)[:, -1, :10].argmax(dim=-1, keepdim=True)
            seq = torch.cat([seq, nxt], dim=1)
        return float(
            (seq[:, self.prompt_len :] == rows[:, self.prompt_len :]).all(1).float().mean()
        )

    def sample_counts(self) -> list[int]:
        """k = 1, 2, 4, ... up to n_samples (and n_samples itself)."""
        ks = [2**i for i in range(int(math.log2(self.n_samples)) + 1)]
        return sorted(set(ks) | {self.n_samples})

    # ---- training --------------------------------------------------------------------------
    @trains_under_cpu_settings
    def train(self, config: TrainConfig, report: ReportFn | None = None) -> TrainResult:
        t0 = time.perf_counter()
        w = self._width(config.model_size)
        lr = hparam(config, "lr", DEFAULTS["lr"])
        if not 0 < config.shard_size <= self.pool_size:
            raise ScalingLabError(
                f"shard size {config.shard_size} is outside 1..{self.pool_size} (the pool)"
            )
        a, b = self.train_pairs
        data = self.encode(a[: config.shard_size], b[: config.shard_size])  # nested: a prefix
        n = data.shape[0]
        bs = min(int(hparam(config, "batch_size", self.batch_size)), n)
        steps = max(1, config.max_epochs) * math.ceil(n / bs)  # max_epochs passes (default 1)
        if config.max_steps is not None:
            steps = min(steps, config.max_steps)

        with torch.random.fork_rng():
            torch.manual_seed(config.seed)
            model = self.build_model(w)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        # Linear warm-up over 5% of the steps, then cosine decay to 10%: one schedule per budget,
        # so each training budget is spent as well as this recipe can (Hoffmann 2022, Sec. 3).
        warm = max(1, steps // 20)

        def schedule(step: int) -> float:
            if step < warm:
                return (step + 1) / warm
            frac = (step - warm) / max(1, steps - warm)
            return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
        gen = torch.Generator().manual_seed(config.seed)
        step = seen = 0
        while step < steps:
            order = torch.randperm(n, generator=gen)
            for start in range(0, n, bs):
                batch = data[order[start : start + bs]]
                loss = self.answer_loss(model, batch)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
                step += 1
                seen += int(batch.shape[0])
                if step >= steps:
                    break
        train_seconds = time.perf_counter() - t0

        model.eval()
        with torch.inference_mode():
            val_loss = float(self.answer_loss(model, self.val_data))
        if report is not None:
            report(seen, val_loss)
        sample_gen = torch.Generator().manual_seed(10_000 + config.seed)
        correct = self.sample_correct(model, self.val_data, self.n_samples, sample_gen)
        coverage = {
            f"{PASS_PREFIX}{k}": pass_at_k(self.n_samples, correct, k) for k in self.sample_counts()
        }
        flops_per_example = self.flops_per_example(w)
        return TrainResult(
            best_val_loss=val_loss,
            best_val_error=1.0 - coverage[f"{PASS_PREFIX}1"],
            n_params=self.n_params(w),
            steps=step,
            examples_seen=seen,
            flops=flops_per_example * seen,
            wall_time=time.perf_counter() - t0,
            curve=[(seen, val_loss)],
            extra={
                **coverage,
                TEST_FLOPS_COLUMN: self.test_flops_per_sample(w),
                "greedy_accuracy": self.greedy_accuracy(model, self.val_data),
                "train_seconds": train_seconds,
            },
        )
