"""Spanish->English translation of Bible verses (Hestness 2017, Sec. 4.2: NMT learning curves).

Data: ~31,000 verse pairs aligned by reference, Reina-Valera 1909 -> World English Bible (Debian
`sword-text-sparv`, `sword-text-web`, `diatheke`), word-tokenized and lowercased (see
scalinglab.datasets.translation). A fixed seeded set of VAL_PAIRS pairs is the validation set;
the rest is the training pool nested shards are drawn from. One example = one verse pair.

Model family, one size knob `w` (width): an encoder-decoder Transformer (Vaswani 2017) with
pre-LayerNorm, n_layer encoder and n_layer decoder layers, heads of 32 dims, a 4w feed-forward
layer, sinusoidal positions, optional dropout, and the output layer tied to the target embedding.

Metrics: per-target-token validation cross-entropy in nats (best_val_loss = best_val_error, the
learning-curve metric, as in Hestness's NMT curves) and BLEU (sacrebleu, greedy decoding,
lowercased tokenized text) of the best checkpoint on the first VAL_BLEU validation verses.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import time
from functools import cached_property

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from scalinglab.datasets import translation as tr_data
from scalinglab.datasets.translation import BOS, EOS, PAD
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

VAL_PAIRS = 1000
VAL_BLEU = 200  # greedy decoding is the slow part; 200 verses ~ 7k reference words
HEAD_DIM = 32
# dropout defaults to 0: on CPU its random masks cost 15% of a step, and early stopping on the
# fixed validation set already regularizes; set hparams.dropout to use it.
DEFAULTS = {"lr": 1e-3, "batch_size": 64, "dropout": 0.0, "grad_clip": 1.0, "bleu": 1.0}
EVAL_MIN_EXAMPLES = 512  # tiny shards overfit within a few dozen steps
EVAL_MAX_EXAMPLES = 8192
BUCKET = 16  # batches sorted by length together (less padding), then shuffled


def sinusoid(n: int, w: int) -> torch.Tensor:
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, w, 2, dtype=torch.float32) * (-math.log(10000.0) / w))
    table = torch.zeros(n, w)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq[: w // 2])
    return table


class Seq2Seq(nn.Module):
    def __init__(self, w: int, n_layer: int, v_src: int, v_tgt: int, dropout: float) -> None:
        super().__init__()
        self.w = w
        self.src_embed = nn.Embedding(v_src, w, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(v_tgt, w, padding_idx=PAD)
        heads, ff = max(1, w // HEAD_DIM), 4 * w
        enc = nn.TransformerEncoderLayer(w, heads, ff, dropout, batch_first=True, norm_first=True)
        dec = nn.TransformerDecoderLayer(w, heads, ff, dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(
            enc, n_layer, norm=nn.LayerNorm(w), enable_nested_tensor=False
        )
        self.decoder = nn.TransformerDecoder(dec, n_layer, norm=nn.LayerNorm(w))
        self.register_buffer("pe", sinusoid(tr_data.MAX_LEN + 2, w), persistent=False)
        self.drop = nn.Dropout(dropout)
        for emb in (self.src_embed, self.tgt_embed):  # N(0, 1/w): unit-scale after sqrt(w)
            nn.init.normal_(emb.weight, 0.0, w**-0.5)
            with torch.no_grad():
                emb.weight[PAD].zero_()

    def _embed(self, emb: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
        pe = self.get_buffer("pe")
        return self.drop(emb(ids) * math.sqrt(self.w) + pe[: ids.shape[1]])

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        return self.encoder(self._embed(self.src_embed, src), src_key_padding_mask=src == PAD)

    def decode(self, memory: torch.Tensor, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        t = tgt_in.shape[1]
        causal = torch.ones(t, t, dtype=torch.bool, device=tgt_in.device).triu_(1)  # True: masked
        h = self.decoder(
            self._embed(self.tgt_embed, tgt_in),
            memory,
            tgt_mask=causal,
            tgt_is_causal=True,
            tgt_key_padding_mask=tgt_in == PAD,
            memory_key_padding_mask=src == PAD,
        )
        return h @ self.tgt_embed.weight.T  # tied output layer

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(src), src, tgt_in)


def count_params(w: int, n_layer: int, v_src: int, v_tgt: int) -> int:
    enc_layer = 12 * w * w + 13 * w  # self-attention 4w^2+4w, MLP 8w^2+5w, 2 LayerNorms
    dec_layer = 16 * w * w + 19 * w  # + cross-attention 4w^2+4w and a third LayerNorm
    return (v_src + v_tgt) * w + n_layer * (enc_layer + dec_layer) + 2 * (2 * w)


class TranslationTask:
    """Spanish->English verse translation with a small encoder-decoder Transformer."""

    name = "translation"
    metric = "token_cross_entropy"
    curve_y = "best_val_loss"  # per-token cross-entropy, Hestness 2017 NMT curves (Sec. 4.1)
    batch_size = int(DEFAULTS["batch_size"])  # examples per step unless a trial sets it

    def __init__(
        self,
        n_layer: int = 2,
        cache_dir: str | os.PathLike[str] | None = None,
        num_threads: int | None = None,
    ) -> None:
        if n_layer < 1:
            raise ScalingLabError(f"translation n_layer must be >= 1, got {n_layer}")
        self.n_layer = n_layer
        self.cache_dir = cache_dir
        self.num_threads = num_threads

    # ---- data ------------------------------------------------------------------------------
    @cached_property
    def data(self) -> tr_data.VersePairs:
        return tr_data.load(self.cache_dir)

    @cached_property
    def splits(self) -> tuple[np.ndarray, np.ndarray]:
        return tr_data.split(self.data.src.shape[0], VAL_PAIRS)

    @cached_property
    def lengths(self) -> tuple[float, float]:
        """Mean source tokens (with </s>) and target predictions (with </s>) in the pool."""
        pool = self.splits[0]
        src = float((self.data.src[pool] != PAD).sum(1).mean())
        tgt = float((self.data.tgt[pool] != PAD).sum(1).mean()) - 1.0
        return src, tgt

    @cached_property
    def val_batches(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Validation pairs sorted by length and cut into batches trimmed to their longest row."""
        val = self.splits[1]
        order = val[np.argsort((self.data.tgt[val] != PAD).sum(1), kind="stable")]
        return [self._batch(order[i : i + 200]) for i in range(0, len(order), 200)]

    def _batch(self, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        src, tgt = self.data.src[rows], self.data.tgt[rows]
        ls, lt = int((src != PAD).sum(1).max()), int((tgt != PAD).sum(1).max())
        return (torch.from_numpy(src[:, :ls].astype(np.int64)),
                torch.from_numpy(tgt[:, :lt].astype(np.int64)))  # fmt: skip

    def train_pool_size(self) -> int:
        return int(self.splits[0].shape[0])

    # ---- model family ----------------------------------------------------------------------
    def _check_size(self, model_size: int) -> int:
        w = int(model_size)
        if w < 2 or w % 2 or w % max(1, w // HEAD_DIM):
            raise ScalingLabError(
                f"translation width {model_size} must be even and split into heads of ~32; "
                "use a multiple of 32"
            )
        return w

    def n_params(self, model_size: int) -> int:
        w = self._check_size(model_size)
        return count_params(w, self.n_layer, tr_data.VOCAB_ES, tr_data.VOCAB_EN)

    def flops_per_example(self, model_size: int) -> float:
        """Training FLOPs of one verse pair at the pool's mean lengths (no padding counted)."""
        w, n_layer = self._check_size(model_size), self.n_layer
        s, t = self.lengths
        enc = s * n_layer * (12 * w * w + 2 * w * s)  # projections + MLP, QK^T and AV
        dec = t * n_layer * (14 * w * w + 2 * w * (t + 1) / 2 + 2 * w * s)  # self+cross attention
        cross_kv = s * n_layer * 2 * w * w  # keys and values of the encoder output
        head = t * w * tr_data.VOCAB_EN
        return 3.0 * 2.0 * (enc + dec + cross_kv + head)  # 2 FLOPs/MAC, backward = 2x forward

    def build_model(self, model_size: int, dropout: float = DEFAULTS["dropout"]) -> Seq2Seq:
        w = self._check_size(model_size)
        return Seq2Seq(w, self.n_layer, tr_data.VOCAB_ES, tr_data.VOCAB_EN, dropout)

    # ---- evaluation ------------------------------------------------------------------------
    @torch.inference_mode()
    def evaluate(
        self,
        model: Seq2Seq,
        where: Placement | None = None,
        val: list[tuple[torch.Tensor, torch.Tensor]] | None = None,
    ) -> float:
        """Mean cross-entropy (nats) per target token over the fixed validation pairs (`val`:
        their batches on the model's device, default the CPU copy; under `where`'s autocast)."""
        model.eval()
        total, count = 0.0, 0
        with where.autocast() if where is not None else contextlib.nullcontext():
            for src, tgt in self.val_batches if val is None else val:
                logits = model(src, tgt[:, :-1]).float()
                gold = tgt[:, 1:]
                total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                               gold.reshape(-1), ignore_index=PAD,
                                               reduction="sum"))  # fmt: skip
                count += int((gold != PAD).sum())
        model.train()
        return total / count

    @torch.inference_mode()
    def translate(self, model: Seq2Seq, src: torch.Tensor, max_len: int) -> list[list[int]]:
        """Greedy decoding, batched; stops when every row has produced </s>."""
        model.eval()
        memory = model.encode(src)
        out = torch.full((src.shape[0], 1), BOS, dtype=torch.long, device=src.device)
        finished = torch.zeros(src.shape[0], dtype=torch.bool, device=src.device)
        for _ in range(max_len):
            nxt = model.decode(memory, src, out)[:, -1].argmax(-1)
            nxt = torch.where(finished, torch.full_like(nxt, PAD), nxt)
            out = torch.cat([out, nxt[:, None]], dim=1)
            finished |= nxt == EOS
            if bool(finished.all()):
                break
        model.train()
        rows = []
        for row in out[:, 1:].tolist():
            rows.append(row[: row.index(EOS)] if EOS in row else row)
        return [[i for i in r if i != PAD] for r in rows]

    def bleu(self, model: Seq2Seq, n: int = VAL_BLEU, where: Placement | None = None) -> float:
        """Corpus BLEU (sacrebleu, already-tokenized lowercased text) on n validation verses
        (decoded on `where`'s device, under its autocast)."""
        import sacrebleu

        rows = self.splits[1][:n]
        order = rows[np.argsort((self.data.src[rows] != PAD).sum(1), kind="stable")]
        hyps: list[str] = []
        for i in range(0, len(order), 50):
            src, _ = self._batch(order[i : i + 50])
            max_len = min(tr_data.MAX_LEN + 1, int(src.shape[1] * 1.3) + 5)
            if where is not None:
                with where.autocast():
                    decoded = self.translate(model, where.put(src), max_len)
            else:
                decoded = self.translate(model, src, max_len)
            for ids in decoded:
                hyps.append(" ".join(self.data.vocab_en[j] for j in ids))
        refs = [str(self.data.ref_en[r]) for r in order]
        # force=True: the text is tokenized on purpose (the same tokens the model saw), which
        # sacrebleu would otherwise warn about.
        bleu = sacrebleu.corpus_bleu(hyps, [refs], tokenize="none", force=True)
        return float(bleu.score)

    # ---- training --------------------------------------------------------------------------
    @trains_under_cpu_settings
    def train(self, config: TrainConfig, report: ReportFn | None = None) -> TrainResult:
        t0 = time.perf_counter()
        where = place(config)  # device and precision ([resources] of the study)
        w = self._check_size(config.model_size)
        lr = hparam(config, "lr", DEFAULTS["lr"])
        clip = hparam(config, "grad_clip", DEFAULTS["grad_clip"])
        dropout = float(config.hparams.get("dropout", DEFAULTS["dropout"]))
        want_bleu = float(config.hparams.get("bleu", DEFAULTS["bleu"])) > 0

        rows = self.splits[0][nested_shard(self.train_pool_size(), config.shard_size,
                                           config.data_seed)]  # fmt: skip
        n = rows.shape[0]
        tgt_len = (self.data.tgt[rows] != PAD).sum(1)
        bs = min(int(hparam(config, "batch_size", self.batch_size)), n)
        steps_per_epoch = math.ceil(n / bs)
        flops_per_example = self.flops_per_example(w)
        max_steps = step_budget(config, steps_per_epoch, flops_per_example * bs)
        every = eval_interval(n, bs, EVAL_MIN_EXAMPLES, EVAL_MAX_EXAMPLES)
        val = [(where.put(s), where.put(t)) for s, t in self.val_batches]  # no-op on the CPU

        with torch.random.fork_rng(devices=[where.device.index or 0] if where.cuda else []):
            torch.manual_seed(config.seed)
            model = self.build_model(w, dropout).to(where.device)
            # Dropout masks draw from the global generator: seed it for a reproducible run.
            torch.manual_seed(config.seed + 1)
            opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.98))
            scaler = where.grad_scaler()  # fp16 loss scaling (CUDA); None otherwise
            params = list(model.parameters())
            rng = np.random.default_rng(config.seed)
            stopper = EarlyStopping(config.patience, report)
            best_state: dict[str, torch.Tensor] | None = None

            step = seen = 0
            train_time = 0.0
            done = False
            while not done:
                t_epoch = time.perf_counter()
                # Bucketed shuffle: shuffle, sort each run of BUCKET batches by target length,
                # cut into batches, shuffle the batches (Vaswani 2017, Sec. 5.1).
                perm = rng.permutation(n)
                batches = []
                for i in range(0, n, bs * BUCKET):
                    chunk = perm[i : i + bs * BUCKET]
                    chunk = chunk[np.argsort(tgt_len[chunk], kind="stable")]
                    batches += [chunk[j : j + bs] for j in range(0, len(chunk), bs)]
                for b in rng.permutation(len(batches)):
                    # Batches are cut from the host arrays (lengths vary); on CUDA they cross
                    # through pinned memory, asynchronously (Placement.put).
                    src, tgt = (where.put(t) for t in self._batch(rows[batches[b]]))
                    with where.autocast():
                        logits = model(src, tgt[:, :-1])
                        gold = tgt[:, 1:].reshape(-1)
                        loss = F.cross_entropy(
                            logits.reshape(-1, logits.shape[-1]), gold, ignore_index=PAD
                        )
                    optimizer_step(loss, opt, scaler, params, clip)
                    step += 1
                    seen += src.shape[0]
                    if step % every == 0 or step >= max_steps:
                        where.sync()
                        train_time += time.perf_counter() - t_epoch
                        val_loss = self.evaluate(model, where, val)
                        improved_before = stopper.best_loss
                        done = stopper.update(seen, val_loss, val_loss) or step >= max_steps
                        if want_bleu and stopper.best_loss < improved_before:
                            best_state = copy.deepcopy(model.state_dict())
                        t_epoch = time.perf_counter()
                        if done:
                            break
                else:
                    where.sync()
                    train_time += time.perf_counter() - t_epoch

        extra = {
            "nats_per_token": stopper.best_loss,
            "train_seconds": train_time,
            "best_examples_seen": float(stopper.best_examples),
            "epochs": seen / n,
            **throughput(seen, flops_per_example, train_time),
        }
        if want_bleu and best_state is not None:
            model.load_state_dict(best_state)
            t_bleu = time.perf_counter()
            extra["bleu"] = self.bleu(model, where=where)
            extra["bleu_seconds"] = time.perf_counter() - t_bleu
        return TrainResult(
            best_val_loss=stopper.best_loss,
            best_val_error=stopper.best_error,
            n_params=self.n_params(w),
            steps=step,
            examples_seen=seen,
            flops=flops_per_example * seen,
            wall_time=time.perf_counter() - t0,
            curve=stopper.curve,
            extra=extra,
            device=where.name,
        )


def synthetic_batch(bs: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A random batch shaped like a typical training batch (benchmarks/train_throughput.py)."""
    g = torch.Generator().manual_seed(0)
    src = torch.randint(4, tr_data.VOCAB_ES, (bs, 30), generator=g)
    tgt = torch.randint(4, tr_data.VOCAB_EN, (bs, 40), generator=g)
    tgt[:, 0] = BOS
    return src, tgt
