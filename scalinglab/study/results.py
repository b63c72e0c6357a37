"""A study's results as a table: one row per trial, and the best trial per shard.

`load_results(name, storage)` returns a pandas DataFrame with these columns (the table `study
export` writes, and what `scalinglab fit`, planning and the report read):

    study           study name
    task            task name (built-in or import path)
    metric          name of the task's error metric (e.g. top1_error)
    seed            replicate seed (data shard draw, initialisation, batch order)
    shard_size      training examples in the nested shard (Hestness 2017: m)
    trial           trial number within its (seed, shard) search
    slot            queue slot 0..trials_per_shard-1 the trial fills (a retry keeps its slot)
    state           COMPLETE | PRUNED | FAIL | RUNNING | WAITING
    model_size      the model family's size knob (e.g. width)
    n_params        exact trainable parameter count (Hestness 2017: s)
    lr, ...         searched hyperparameters, one column each, under their own names
    best_val_loss   validation loss at the best evaluation (the search objective)
    best_val_error  the task metric at that evaluation (lower is better)
    <extra>         the task's other metrics at that evaluation, one column each (translation:
                    bleu; lm: bits_per_char, ...), as the task reports them in TrainResult.extra;
                    the built-in tasks add examples_per_s and flops_per_s (training throughput:
                    examples and achieved FLOP/s over the optimizer steps, validation excluded)
    flops           training FLOPs spent (forward + backward)
    flops_per_example
    examples_seen   training examples processed
    steps           optimizer steps
    n_evals         validation evaluations (length of the curve)
    wall_time       seconds of training
    host, worker    where it ran
    device          what it trained on: cpu, cuda:0, mps (`[resources] device` as resolved)
    precision       fp32, bf16 or fp16 (`[resources] precision`)
    started, finished  ISO timestamps
    error           why it failed or was stopped (empty otherwise)
    retry_of        number of the trial it retries, if its worker died (else empty)
    is_best         True for the shard's best-fit model among COMPLETE trials: lowest
                    best_val_loss, or best_val_error under `[search] select_by = "error"`
    curve           JSON list of [examples_seen, val_loss] pairs

`best_per_shard(df)` keeps the `is_best` rows: one per (seed, shard), sorted by shard size; its
(shard_size, best_val_loss or best_val_error) columns are the learning curve and its (shard_size,
n_params) columns the model-size curve of Hestness et al. (2017). `best_per_shard(df, by=column)`
picks each shard's best by that column instead (Hestness: the best validation *error* per shard).
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import TrialState

from scalinglab.errors import ScalingLabError
from scalinglab.io import write_table
from scalinglab.planning.model_size import best_rows
from scalinglab.study.config import StudyConfig
from scalinglab.study.layout import load_study_config, searches_of
from scalinglab.study.storage import normalize_url, open_storage

BASE_COLUMNS = [
    "study", "task", "metric", "seed", "shard_size", "trial", "slot", "state", "model_size",
    "n_params",
]  # fmt: skip
MEASURE_COLUMNS = [
    "best_val_loss", "best_val_error", "flops", "flops_per_example", "examples_seen", "steps",
    "n_evals", "wall_time", "host", "worker", "device", "precision", "started", "finished",
    "error", "retry_of", "is_best", "curve",
]  # fmt: skip


def _iso(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value is not None else ""


def _row(config: StudyConfig, metric: str, seed: int, shard: int, t: Any) -> dict[str, Any]:
    # A retry starts as a copy of the dead trial's attributes: show nothing until it reports.
    fresh = t.state in (TrialState.WAITING, TrialState.RUNNING)
    setup = {} if t.state == TrialState.WAITING else t.user_attrs.get("setup") or {}
    res = {} if fresh else t.user_attrs.get("result") or {}
    ua = {**setup, **res}
    params = dict(t.params)
    curve = ua.get("curve") or []
    retry_of = t.system_attrs.get("failed_trial")
    row: dict[str, Any] = {
        "study": config.name,
        "task": config.task.name,
        "metric": metric,
        "seed": seed,
        "shard_size": shard,
        "trial": t.number,
        "slot": t.user_attrs.get("slot"),
        "state": t.state.name,
        "model_size": params.pop("model_size", None),
        "n_params": ua.get("n_params"),
    }
    for name in config.search.hparams:
        row[name] = params.pop(name, None)
    row.update(
        best_val_loss=ua.get("best_val_loss", math.nan),
        best_val_error=ua.get("best_val_error", math.nan),
        flops=ua.get("flops", math.nan),
        flops_per_example=ua.get("flops_per_example", math.nan),
        examples_seen=ua.get("examples_seen"),
        steps=ua.get("steps"),
        n_evals=len(curve),
        wall_time=ua.get("wall_time", math.nan),
        host=ua.get("host", ""),
        worker=ua.get("worker", ""),
        device=ua.get("device", ""),
        precision=ua.get("precision", ""),
        started=_iso(t.datetime_start),
        finished=_iso(t.datetime_complete),
        error=ua.get("error", "") if t.state != TrialState.COMPLETE else "",
        retry_of=retry_of,
        is_best=False,
        curve=json.dumps(curve),
    )
    extra = ua.get("extra") or {}
    row.update({name: float(value) for name, value in extra.items() if name not in row})
    return row


def open_existing(name: str, storage: str | None) -> optuna.storages.BaseStorage:
    """Open the storage of an existing study (never creates a database file)."""
    return open_storage(normalize_url(storage, name), create=False)


def results_frame(
    config: StudyConfig, storage: optuna.storages.BaseStorage, metric: str = ""
) -> pd.DataFrame:
    """The trial table of `config`'s study in an open storage."""
    rows: list[dict[str, Any]] = []
    for search in searches_of(config):
        try:
            study = optuna.load_study(study_name=search.optuna_name, storage=storage)
        except KeyError:
            continue
        for t in study.get_trials(deepcopy=False):
            rows.append(_row(config, metric, search.seed, search.shard_size, t))
    known = set(BASE_COLUMNS) | set(config.search.hparams) | set(MEASURE_COLUMNS)
    extras = sorted({k for row in rows for k in row} - known)
    at = MEASURE_COLUMNS.index("best_val_error") + 1
    measures = MEASURE_COLUMNS[:at] + extras + MEASURE_COLUMNS[at:]
    df = pd.DataFrame(rows, columns=BASE_COLUMNS + list(config.search.hparams) + measures)
    for col in ("seed", "shard_size", "trial"):
        df[col] = df[col].astype("int64")
    for col in ("model_size", "n_params", "slot", "examples_seen", "steps", "retry_of"):
        df[col] = df[col].astype("Int64")
    numeric = ["best_val_loss", "best_val_error", "flops", "flops_per_example", "wall_time"]
    for col in numeric + extras:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    df = df.sort_values(["seed", "shard_size", "trial"], kind="stable").reset_index(drop=True)
    return _mark_best(df, SELECT_COLUMN[config.search.select_by])


SELECT_COLUMN = {"loss": "best_val_loss", "error": "best_val_error"}


def _mark_best(df: pd.DataFrame, by: str = "best_val_loss") -> pd.DataFrame:
    """Mark each (seed, shard)'s finished trial with the lowest `by` (ties: lower loss) is_best."""
    if by not in df.columns:
        raise ScalingLabError(f"the results table has no column {by!r} to pick the best trial by")
    df["is_best"] = False
    done = df[df["state"].astype(str) == "COMPLETE"]
    best_idx = best_rows(done, ["seed", "shard_size"], [by, "best_val_loss"])
    df.loc[best_idx.to_numpy(), "is_best"] = True
    return df


def load_results(name: str, storage: str | None = None) -> pd.DataFrame:
    """One row per trial of study `name` (columns: see the module docstring)."""
    store = open_existing(name, storage)
    config = load_study_config(name, store)
    return results_frame(config, store, _metric_name(config))


def _metric_name(config: StudyConfig) -> str:
    """The task's metric name, without loading its data (class attribute) when possible."""
    from scalinglab.tasks import task_factory

    try:
        factory = task_factory(config.task.name)
    except ScalingLabError:
        return ""
    return str(getattr(factory, "metric", ""))


def trial_devices(df: pd.DataFrame) -> dict[str, int]:
    """How many trials ran on each device and precision ("cpu (fp32)" -> 64), most first;
    trials that never started (no device recorded) are not counted."""
    if "device" not in df.columns or df.empty:
        return {}
    device = df["device"].fillna("").astype(str)
    precision = df["precision"].fillna("").astype(str) if "precision" in df else ""
    label = (device + " (" + precision + ")").str.replace(" ()", "", regex=False)
    counts = label[device != ""].value_counts()
    return {str(k): int(v) for k, v in counts.items()}


def devices_text(devices: dict[str, int]) -> str:
    """'cpu (fp32): 64 trials, cuda:0 (bf16): 3 trials' ('' for none)."""
    return ", ".join(f"{name}: {n} trial{'s' * (n != 1)}" for name, n in devices.items())


def throughput_summary(df: pd.DataFrame) -> dict[str, float]:
    """Training throughput of the finished trials that report it (the built-in tasks do):
    the median examples/s of a trial and the achieved FLOP/s over all of them (their training
    FLOPs over their seconds in optimizer steps). {} when no trial reports it."""
    cols = ("examples_per_s", "train_seconds", "flops")
    if not set(cols) <= set(df.columns):
        return {}
    done = df[df["state"].astype(str) == "COMPLETE"]
    rate = pd.to_numeric(done["examples_per_s"], errors="coerce")
    seconds = pd.to_numeric(done["train_seconds"], errors="coerce")
    flops = pd.to_numeric(done["flops"], errors="coerce")
    ok = rate.notna() & seconds.gt(0) & flops.notna()
    if not ok.any():
        return {}
    return {
        "examples_per_s_median": float(rate[ok].median()),
        "flops_per_s": float(flops[ok].sum() / seconds[ok].sum()),
        "trials": float(ok.sum()),
    }


def best_per_shard(df: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """The best-fit model of each (seed, shard): the learning-curve and model-size-curve points.

    `by` (best_val_loss, best_val_error, ...) picks the best by that column; without it the table's
    own is_best marks are kept (lowest best_val_loss when the table has none).
    """
    if by is not None or "is_best" not in df.columns:
        df = _mark_best(df.copy(), by or "best_val_loss")
    best = df[df["is_best"].astype(bool)]
    return best.sort_values(["seed", "shard_size"], kind="stable").reset_index(drop=True)


def best_path(path: Path) -> Path:
    """Where the per-shard best table goes next to the trial table: results.best.csv."""
    return path.with_name(f"{path.stem}.best{path.suffix}")


def export_results(
    name: str, out: str | Path, storage: str | None = None, best_only: bool = False
) -> list[Path]:
    """Write the trial table to `out` and the per-shard best table beside it; return the paths."""
    path = Path(out)
    df = load_results(name, storage)
    best = best_per_shard(df)
    if best_only:
        write_table(best, path)
        return [path]
    write_table(df, path)
    write_table(best, best_path(path))
    return [path, best_path(path)]
