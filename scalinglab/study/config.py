"""The study file: a TOML declaration of one Hestness (2017) scaling study, validated by pydantic.

Example (examples/synthetic.toml)::

    name = "synthetic-demo"            # the study's name in its storage

    [task]
    name = "synthetic"                 # built-in name, or "package.module:Class"
    options = { pool_size = 8192 }     # passed to the task's constructor

    [shards]                           # nested training-set shards (Hestness 2017, Sec. 3)
    smallest = 128                     # geometric: smallest * factor**k up to largest
    largest = 4096
    factor = 2                         # or: sizes = [128, 512, 2048]

    [search]                           # per-shard search for the best-fit model
    model_sizes = [4, 8, 16, 32, 64]   # the model family's size knob (width)
    trials_per_shard = 8
    sampler = "tpe"                    # tpe | random | grid
    pruner = "median"                  # median | none (early stop of hopeless trials)
    hparams.lr = { low = 1e-3, high = 3e-2, log = true }

    [train]
    seeds = [0]                        # one independent replicate of the study per seed
    max_epochs = 50
    patience = 3                       # early stopping: evaluations without improvement

    [budget]                           # optional compute limits
    flops_per_trial = 1e12
    total_flops = 1e14
    wall_time = 3600                   # seconds for one `study run`

    [resources]                        # what one trial needs; the executor places it
    cpus_per_trial = 1
    gpus_per_trial = 0                 # Ray requests it; local workers get one GPU each
    device = "auto"                    # auto (CUDA, then MPS, then CPU) | cpu | cuda | cuda:1 | mps
    precision = "fp32"                 # fp32 | bf16 (autocast; CPU too) | fp16 (CUDA only)

Everything wrong with a file (malformed TOML, unknown keys, an empty model grid, inverted shard
bounds) becomes one ScalingLabError line naming the file and the field, before any training.
`load_config(..., check_device=True)` (what `study run` uses) also checks that this machine has
the device asked for (`device = "cuda"` without a CUDA GPU is one line, not a crash in every
worker); reading a stored study back (status, fit, report) never does, so a study trained on
GPUs is analysed anywhere.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from scalinglab.errors import ScalingLabError
from scalinglab.tasks.device import check_device_name, check_precision, resolve_device

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
# Columns of the results table (scalinglab.study.results); a searched hparam gets its own column.
RESERVED_COLUMNS = frozenset(
    [
        "study",
        "task",
        "metric",
        "seed",
        "shard_size",
        "trial",
        "slot",
        "state",
        "model_size",
        "n_params",
        "best_val_loss",
        "best_val_error",
        "flops",
        "flops_per_example",
        "examples_seen",
        "steps",
        "n_evals",
        "wall_time",
        "host",
        "worker",
        "device",
        "precision",
        "started",
        "finished",
        "error",
        "retry_of",
        "is_best",
        "curve",
    ]
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TaskSpec(_Strict):
    """Which task to train: a built-in name or an import path, and its constructor options."""

    name: str = Field(min_length=1)
    options: dict[str, Any] = Field(default_factory=dict)


MAX_SHARDS = 100  # a geometric series of shard sizes longer than this is a typo in its factor
# Seeds and model sizes are int64 columns of the results table (scalinglab.study.results): 2**63
# and above once crashed it, or were wrapped to negative numbers that matched no trial.
INT64_LIMIT = 2**63
# Trials one study may hold: every slot is queued in storage before the first trial runs
# (scalinglab.study.layout), so trials_per_shard = 10**8 hung `study run` without training.
# Counted over the whole study (shards x trials per shard x seeds), as that is what is written;
# Hestness et al. (2017) ran hundreds of trials per study.
MAX_TRIALS = 100_000
# Hyperparameters the built-in tasks read (scalinglab.tasks._training.hparam), checked when the
# study is loaded instead of failing every trial. A learning rate above MAX_LR trains nothing:
# 1e300 overflowed float32 in every trial.
MAX_LR = 1e3


class ShardSpec(_Strict):
    """Shard sizes: an explicit list, or a geometric series smallest * factor**k <= largest."""

    sizes: list[int] | None = None
    smallest: int | None = Field(default=None, ge=1)
    largest: int | None = Field(default=None, ge=1)
    factor: float = Field(default=2.0, gt=1.0, allow_inf_nan=False)  # inf: no second shard

    @model_validator(mode="after")
    def _one_form(self) -> ShardSpec:
        if self.sizes is not None:
            if self.smallest is not None or self.largest is not None:
                raise ValueError("give either sizes or smallest/largest, not both")
            if not self.sizes:
                raise ValueError("sizes is empty")
            if any(s < 1 for s in self.sizes):
                raise ValueError("sizes must be positive")
            if len(self.sizes) > MAX_SHARDS:
                raise ValueError(
                    f"sizes lists {len(self.sizes)} shards, more than {MAX_SHARDS}; list fewer "
                    "(Hestness et al. 2017 double the data from shard to shard)"
                )
        else:
            if self.smallest is None or self.largest is None:
                raise ValueError("give sizes = [...] or both smallest and largest")
            if self.smallest > self.largest:
                raise ValueError(f"smallest={self.smallest} is larger than largest={self.largest}")
            n = math.floor(math.log(self.largest / self.smallest) / math.log(self.factor)) + 1
            if n > MAX_SHARDS:  # a factor of 1.0000001 would list shards for hours
                raise ValueError(
                    f"factor={self.factor:.10g} from {self.smallest} to {self.largest} gives {n} "
                    f"shards, more than {MAX_SHARDS}; raise factor (Hestness et al. 2017 double "
                    "the data from shard to shard: factor = 2)"
                )
        return self

    def resolve(self) -> list[int]:
        """The sorted, distinct shard sizes."""
        if self.sizes is not None:
            return sorted(set(self.sizes))
        assert self.smallest is not None and self.largest is not None
        sizes: list[int] = []
        k = 0
        while True:
            size = round(self.smallest * self.factor**k)
            if size > self.largest * (1 + 1e-9):
                break
            sizes.append(size)
            k += 1
        if sizes[-1] != self.largest:
            sizes.append(self.largest)  # always include the largest shard asked for
        return sorted(set(sizes))


class HParamSpec(_Strict):
    """One searched hyperparameter: a range (low, high, log) or a list of choices."""

    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: list[float | int | str] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> HParamSpec:
        if self.choices is not None:
            if self.low is not None or self.high is not None:
                raise ValueError("give either choices or low/high, not both")
            if not self.choices:
                raise ValueError("choices is empty")
            return self
        if self.low is None or self.high is None:
            raise ValueError("give low and high, or choices")
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low > self.high:
            raise ValueError(f"need finite low <= high, got low={self.low}, high={self.high}")
        if self.log and self.low <= 0:
            raise ValueError("a log-scale range needs low > 0")
        return self


_RULES = {
    "lr": f"a learning rate must be a positive number of at most {MAX_LR:g}",
    "batch_size": "a batch size must be a whole number >= 1",
}


def _check_known_hparam(name: str, spec: HParamSpec) -> None:
    """A searched lr or batch_size the built-in tasks can train with (_RULES)."""
    values: list[Any] = list(spec.choices) if spec.choices is not None else [spec.low, spec.high]
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float):
            ok = False  # a string choice
        elif name == "lr":
            ok = 0 < value <= MAX_LR  # false for nan and inf too
        else:  # a range's draws are truncated to whole numbers by the tasks: low >= 1 is enough
            whole = spec.choices is None or isinstance(value, int) or value.is_integer()
            ok = value >= 1 and whole
        if not ok:
            raise ValueError(f"hparams.{name}: {value!r} is not valid; {_RULES[name]}")


# The adaptive design's default law: error = a·m^(−b) + c·p^(−d) + e, m the shard size and p the
# model's parameter count (the data and model terms of Rosenfeld et al. 2020 / Hoffmann et al.
# 2022 added, with an irreducible floor e, Hestness's gamma).
DEFAULT_ADAPTIVE_LAW = "a*m**-b + c*p**-d + e"
ADAPTIVE_VARIABLES = ("m", "p")
# Keys of [search] that only an adaptive study uses (left out of a grid study's fingerprint).
ADAPTIVE_ONLY = ("design", "seed_shards", "runs_per_round", "law")


class TargetSpec(_Strict):
    """Where an adaptive study predicts: a shard size, at the grid's largest model size, at
    `model_size`, or at the grid's model size whose one-pass training compute (FLOPs per
    example x examples) is nearest `compute`."""

    examples: int = Field(ge=1)
    model_size: int | None = Field(default=None, ge=1)
    compute: float | None = Field(default=None, gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_size(self) -> TargetSpec:
        if self.model_size is not None and self.compute is not None:
            raise ValueError("give model_size or compute, not both")
        return self


class SearchSpec(_Strict):
    """The per-shard search for the best-fit model (Hestness 2017, Sec. 3).

    `design = "adaptive"` runs a small seed grid (the `seed_shards` smallest shards at every
    model size), then rounds of `runs_per_round` (shard, model size) cells chosen by
    scalinglab.design.next_runs on the law fitted so far, until the 90% interval of the
    prediction at `target` is narrower than `target_rel_width` (relative to the prediction) and
    a confirmation cell near the target lands inside the interval predicted for it, or
    `[budget] total_flops` is spent (scalinglab.study.adaptive)."""

    model_sizes: list[int]
    design: Literal["grid", "adaptive"] = "grid"
    target: TargetSpec | None = None
    target_rel_width: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    seed_shards: int = Field(default=3, ge=2)
    runs_per_round: int = Field(default=2, ge=1)
    trials_per_cell: int | None = Field(default=None, ge=1)
    law: str = DEFAULT_ADAPTIVE_LAW
    trials_per_shard: int | None = Field(default=None, ge=1)
    sampler: Literal["tpe", "random", "grid"] = "tpe"
    pruner: Literal["median", "none"] = "median"
    pruner_startup_trials: int = Field(default=3, ge=0)  # finished trials before pruning starts
    pruner_warmup_evals: int = Field(default=2, ge=0)  # evaluations before a trial can be pruned
    # Which measurement picks a shard's best-fit model (is_best): the validation loss the search
    # minimizes, or the task's error metric (top-1 / word error for image and speech, as Hestness).
    select_by: Literal["loss", "error"] = "loss"
    hparams: dict[str, HParamSpec] = Field(
        default_factory=lambda: {"lr": HParamSpec(low=1e-3, high=3e-2, log=True)}
    )

    @field_validator("model_sizes")
    @classmethod
    def _sizes(cls, value: list[int]) -> list[int]:
        if not value:
            raise ValueError("the model-size grid is empty; list at least one size")
        if any(v < 1 for v in value):
            raise ValueError("model sizes must be positive")
        if max(value) >= INT64_LIMIT:
            raise ValueError(f"model sizes must be below 2**63, got {max(value)}")
        return sorted(set(value))

    @field_validator("hparams", mode="before")
    @classmethod
    def _no_booleans(cls, value: Any) -> Any:
        # pydantic reads `true` as 1.0: a learning rate or batch size of true is a slip, not 1
        if not isinstance(value, dict):
            return value
        for name in ("lr", "batch_size"):
            spec = value.get(name)
            if not isinstance(spec, dict):
                continue
            choices = spec.get("choices")
            raw = [spec.get("low"), spec.get("high")]
            raw += choices if isinstance(choices, list) else []
            if any(isinstance(v, bool) for v in raw):
                raise ValueError(f"{name}: true/false is not a number; {_RULES[name]}")
        return value

    @model_validator(mode="after")
    def _check(self) -> SearchSpec:
        if "lr" not in self.hparams:
            raise ValueError("hparams must include lr (the learning rate)")
        if "model_size" in self.hparams:
            raise ValueError("model_size is searched over model_sizes; remove it from hparams")
        clash = sorted(set(self.hparams) & RESERVED_COLUMNS)
        if clash:
            raise ValueError(f"hparam name(s) {clash} clash with results-table columns; rename")
        for name, spec in self.hparams.items():
            if name in _RULES:
                _check_known_hparam(name, spec)
        if self.sampler == "grid":
            ranged = [k for k, v in self.hparams.items() if v.choices is None]
            if ranged:
                raise ValueError(f"sampler 'grid' needs choices for every hparam, not {ranged}")
        elif self.trials_per_shard is None and self.design == "grid":
            raise ValueError("trials_per_shard is required unless sampler = 'grid'")
        if self.design == "adaptive":
            self._check_adaptive()
        else:
            extra = [
                k for k in ("target", "target_rel_width", "trials_per_cell")
                if getattr(self, k) is not None
            ]  # fmt: skip
            if extra:
                raise ValueError(f"{extra[0]} is for design = 'adaptive' only")
        return self

    def _check_adaptive(self) -> None:
        if self.target is None:
            raise ValueError("design = 'adaptive' needs target = { examples = N }")
        if self.target_rel_width is None:
            raise ValueError(
                "design = 'adaptive' needs target_rel_width (stop when the target's 90% "
                "interval is narrower than this fraction of the prediction, e.g. 0.05)"
            )
        size = self.target.model_size
        if size is not None and size not in self.model_sizes:
            # a size off the grid: no cell near it to run, so the study stopped on its seed grid
            raise ValueError(
                f"target model_size {size} is not in model_sizes {self.model_sizes}; "
                "give one of them"
            )
        if self.trials_per_cell is not None and self.sampler == "grid":
            raise ValueError("sampler 'grid' runs every hparam combination of a cell; "
                             "remove trials_per_cell")  # fmt: skip
        from scalinglab.laws.formula import FormulaLaw  # a formula's errors as one line

        law = FormulaLaw(self.law, ADAPTIVE_VARIABLES)
        if law.variables != ADAPTIVE_VARIABLES:
            raise ValueError("the adaptive law's variables are m (shard size) and p (params)")

    def cell_trials(self) -> list[dict[str, Any]]:
        """The trials of one (shard, model size) cell of an adaptive study, as enqueued
        parameters without model_size: every hparam combination (grid), or `trials_per_cell`
        (default 1) empty ones the sampler fills in."""
        if self.sampler == "grid":
            combos: list[dict[str, Any]] = [{}]
            for key, spec in self.hparams.items():
                assert spec.choices is not None
                combos = [{**c, key: v} for c in combos for v in spec.choices]
            return combos
        return [{} for _ in range(self.trials_per_cell or 1)]

    def grid(self) -> list[dict[str, Any]]:
        """All combinations of model size and hparam choices (sampler = 'grid')."""
        combos: list[dict[str, Any]] = [{"model_size": m} for m in self.model_sizes]
        for key, spec in self.hparams.items():
            assert spec.choices is not None
            combos = [{**c, key: v} for c in combos for v in spec.choices]
        return combos

    def _combinations(self) -> int:
        """Hparam combinations of the grid sampler, counted without listing them."""
        return math.prod(len(spec.choices or []) for spec in self.hparams.values())

    def n_trials(self) -> int:
        """Trials per shard and seed (adaptive: at most, if every model size ran there)."""
        # counted, not listed: a grid of 10**10 combinations is refused, not built (MAX_TRIALS)
        if self.design == "adaptive":
            per_cell = self._combinations() if self.sampler == "grid" else self.trials_per_cell or 1
            return per_cell * len(self.model_sizes)
        if self.sampler == "grid":
            n = len(self.model_sizes) * self._combinations()
            return n if self.trials_per_shard is None else min(n, self.trials_per_shard)
        assert self.trials_per_shard is not None
        return self.trials_per_shard


class TrainSpec(_Strict):
    """Training of each candidate: replicate seeds and the early-stopping rule."""

    seeds: list[int] = Field(default_factory=lambda: [0])
    max_epochs: int = Field(default=50, ge=1)
    patience: int = Field(default=3, ge=1)
    max_steps: int | None = Field(default=None, ge=1)

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, value: list[int]) -> list[int]:
        if not value:
            raise ValueError("seeds is empty")
        if len(set(value)) != len(value):
            raise ValueError("seeds has duplicates")
        if min(value) < 0:  # numpy and torch take seeds >= 0 only
            raise ValueError(f"seeds must be integers >= 0, got {min(value)}")
        if max(value) >= INT64_LIMIT:
            raise ValueError(f"seeds must be integers below 2**63, got {max(value)}")
        return value


class BudgetSpec(_Strict):
    """Optional compute limits: per trial, for the whole study, and per `study run` call."""

    # finite: a limit of inf is no limit (leave the key out), and it cannot be spent in steps
    flops_per_trial: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    total_flops: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    wall_time: float | None = Field(default=None, gt=0, allow_inf_nan=False)


# Validation context key: check that this machine has the device asked for (`study run`).
CHECK_DEVICE = "check_device"


class ResourceSpec(_Strict):
    """What one trial needs and where it trains; the executor (local processes or Ray) decides
    where it runs.

    gpus_per_trial: Ray requests it for every worker; the local executor pins each worker to
    its own visible GPU(s) through CUDA_VISIBLE_DEVICES. device: "auto" (CUDA, then MPS, then
    CPU), "cpu", "cuda", "cuda:N" or "mps". precision: "fp32", or autocast to "bf16" (CPU and
    recent GPUs) or "fp16" (CUDA only, with loss scaling).
    """

    cpus_per_trial: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    gpus_per_trial: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    device: str = "auto"
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"

    @field_validator("device")
    @classmethod
    def _device_name(cls, value: str) -> str:
        return check_device_name(value)  # a ScalingLabError is a ValueError: pydantic's error

    @model_validator(mode="after")
    def _device_and_precision(self, info: ValidationInfo) -> ResourceSpec:
        # fp16 on a device written as cpu/mps is wrong anywhere; whether this machine has the
        # device (and what "auto" becomes) is only checked where trials will run.
        check_precision(self.device, self.precision)
        if info.context and info.context.get(CHECK_DEVICE):
            resolved = resolve_device(self.device)
            try:
                check_precision(resolved, self.precision)
            except ScalingLabError as exc:
                if self.device != "auto":
                    raise
                here = f'device "auto" is {resolved} on this machine'
                raise ScalingLabError(f"{here}: {exc}") from None
        return self


class ReliabilitySpec(_Strict):
    """How a dead worker is noticed: Optuna heartbeats; a stale trial is retried."""

    heartbeat_interval: int = Field(default=5, ge=1)  # seconds between a running trial's beats
    grace_period: int = Field(default=20, ge=1)  # seconds without a beat before it counts as dead
    max_retry: int = Field(default=3, ge=0)  # retries of one trial whose worker died


class StudyConfig(_Strict):
    """One scaling study (Hestness 2017): task, nested shards, per-shard search, training."""

    name: str = Field(pattern=NAME_PATTERN)
    task: TaskSpec
    shards: ShardSpec
    search: SearchSpec
    train: TrainSpec = Field(default_factory=TrainSpec)
    budget: BudgetSpec = Field(default_factory=BudgetSpec)
    resources: ResourceSpec = Field(default_factory=ResourceSpec)
    reliability: ReliabilitySpec = Field(default_factory=ReliabilitySpec)

    @model_validator(mode="after")
    def _study_size(self) -> StudyConfig:
        n_shards, n_seeds = len(self.shard_sizes()), len(self.train.seeds)
        per_shard = self.search.n_trials()
        total = n_shards * per_shard * n_seeds
        if total > MAX_TRIALS:
            raise ValueError(
                f"{n_shards} shards x {per_shard:,} trials per shard x {n_seeds} seed(s) = "
                f"{total:,} trials, more than {MAX_TRIALS:,}; lower [search] trials_per_shard "
                "(or the number of model sizes and choices), or use fewer shards or seeds"
            )
        if self.search.design == "adaptive" and self.search.seed_shards > n_shards:
            raise ValueError(
                f"search.seed_shards = {self.search.seed_shards} is more than the {n_shards} "
                f"shards of [shards]; lower seed_shards to at most {n_shards}, or add shards"
            )
        return self

    def shard_sizes(self) -> list[int]:
        return self.shards.resolve()

    def identity(self) -> dict[str, Any]:
        """The parts that define the study's trials; a rerun must match them to resume."""
        out = self.model_dump(
            mode="json", include={"name", "task", "shards", "search", "train"}, exclude_none=True
        )
        if self.search.design == "grid":  # a grid study's identity is what it was before 0.x
            for key in ADAPTIVE_ONLY:
                out["search"].pop(key, None)
        return out

    def fingerprint(self) -> str:
        text = json.dumps(self.identity(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _format_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "missing"
        parts.append(f"{loc}: {msg}" if loc else msg)
    more = len(exc.errors()) - 3
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def parse_config(
    data: dict[str, Any], source: str = "config", *, check_device: bool = False
) -> StudyConfig:
    """Validate a study declaration given as a dict (the parsed TOML); with `check_device`,
    also that this machine has the `[resources] device` it asks for."""
    try:
        return StudyConfig.model_validate(data, context={CHECK_DEVICE: check_device})
    except ValidationError as exc:
        raise ScalingLabError(f"{source}: {_format_error(exc)}") from None


def load_config(
    source: str | Path | dict[str, Any] | StudyConfig, *, check_device: bool = False
) -> StudyConfig:
    """A StudyConfig from a TOML path, a dict, or a StudyConfig (returned as is, or checked
    again with `check_device`: that this machine has the device it asks for)."""
    if isinstance(source, StudyConfig):
        if not check_device:
            return source
        return parse_config(source.model_dump(mode="json"), check_device=True)
    if isinstance(source, dict):
        return parse_config(source, check_device=check_device)
    path = Path(source)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ScalingLabError(f"{path}: no such study file") from None
    except UnicodeDecodeError:
        raise ScalingLabError(f"{path}: not UTF-8 text; a study file is TOML") from None
    except OSError as exc:
        raise ScalingLabError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScalingLabError(f"{path}: malformed TOML: {exc}") from None
    except RecursionError:
        raise ScalingLabError(f"{path}: nested too deeply to be a study file") from None
    return parse_config(data, str(path), check_device=check_device)
