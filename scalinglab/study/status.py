"""How far a study has got: trials per state and the current best-fit model of each shard."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import optuna
import pandas as pd

from scalinglab.study.config import StudyConfig
from scalinglab.study.layout import load_study_config
from scalinglab.study.results import best_per_shard, open_existing, results_frame

STATES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")


@dataclass
class StudyStatus:
    """A study's progress: per-shard table and totals."""

    name: str
    task: str
    shards: pd.DataFrame  # seed, shard_size, complete..waiting, best_val_loss, best_model_size, lr
    total: int  # trials that will have run (retries of dead workers' trials not counted twice)
    finished: int  # COMPLETE + PRUNED + FAIL among those
    running: int
    waiting: int
    flops: float

    @property
    def state(self) -> str:
        if self.waiting == 0 and self.running == 0:
            return "finished"
        return "not started" if self.finished == 0 and self.running == 0 else "in progress"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["state"] = self.state
        out["shards"] = self.shards.to_dict(orient="records")
        return out


def summarize(config: StudyConfig, df: pd.DataFrame) -> StudyStatus:
    """Status from a trial table (see scalinglab.study.results)."""
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    for size in config.shard_sizes():
        for seed in config.train.seeds:
            rows[(seed, size)] = {"seed": seed, "shard_size": size}
            rows[(seed, size)].update({state.lower(): 0 for state in STATES})
            rows[(seed, size)].update(
                best_val_loss=None, best_val_error=None, best_model_size=None, best_lr=None
            )
    for rec in df[["seed", "shard_size", "state"]].to_dict("records"):
        row = rows.get((int(rec["seed"]), int(rec["shard_size"])))
        if row is not None:
            row[str(rec["state"]).lower()] += 1
    for rec in best_per_shard(df).to_dict("records"):
        row = rows.get((int(rec["seed"]), int(rec["shard_size"])))
        if row is not None:
            row.update(
                best_val_loss=float(rec["best_val_loss"]),
                best_val_error=float(rec["best_val_error"]),
                best_model_size=int(rec["model_size"]),
                best_lr=float(rec["lr"]) if rec.get("lr") is not None else None,
            )
    shards = pd.DataFrame(list(rows.values()))
    retried = int(df["retry_of"].notna().sum())
    finished = int(shards[["complete", "pruned", "fail"]].to_numpy().sum()) - retried
    running = int(shards["running"].sum())
    waiting = int(shards["waiting"].sum())
    flops = float(df["flops"].fillna(0).sum())
    return StudyStatus(
        config.name, config.task.name, shards, finished + running + waiting, finished,
        running, waiting, flops,
    )  # fmt: skip


def status_of(config: StudyConfig, storage: optuna.storages.BaseStorage) -> StudyStatus:
    return summarize(config, results_frame(config, storage))


def study_status(name: str, storage: str | None = None) -> StudyStatus:
    """The status of study `name` in `storage` (default runs/<name>.db)."""
    store = open_existing(name, storage)
    return status_of(load_study_config(name, store), store)
