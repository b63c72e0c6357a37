"""How far a study has got: its slots by state and the current best-fit model of each shard.

A study's unit of work is a *slot* (layout): each (seed, shard) search has `trials_per_shard` of
them, and a slot may hold several trials (a retry after its worker died, or after Ctrl-C). So
status counts slots, not trials: a slot is done (a COMPLETE trial), pruned, running, queued (a
WAITING trial, or lost and to be queued again by the next worker or run), or failed (its last
trial failed for a reason of its own, or its worker died more than `max_retry` times).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import optuna
import pandas as pd

from scalinglab.study.adaptive import Plan, planned_slots, read_plan
from scalinglab.study.config import StudyConfig
from scalinglab.study.layout import load_study_config
from scalinglab.study.recovery import Attempt, failure_text, slot_state
from scalinglab.study.results import (
    best_per_shard,
    devices_text,
    open_existing,
    results_frame,
    trial_devices,
)

STATES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")
# slot state -> the per-shard column counting it (the columns keep the trial states' names)
COLUMN = {
    "complete": "complete", "pruned": "pruned", "failed": "fail", "running": "running",
    "waiting": "waiting", "retry": "waiting", "empty": "waiting",
}  # fmt: skip


@dataclass(frozen=True)
class SlotFailure:
    """A slot that ended failed, and why."""

    seed: int
    shard_size: int
    slot: int
    error: str

    def label(self, with_seed: bool = False) -> str:
        seed = f"seed {self.seed} " if with_seed else ""
        return f"{seed}shard {self.shard_size} slot {self.slot}: {self.error}"


@dataclass
class StudyStatus:
    """A study's progress: per-shard table (slots by state) and totals over slots."""

    name: str
    task: str
    shards: pd.DataFrame  # seed, shard_size, complete..waiting (slots), best_val_loss, ...
    total: int  # slots: searches x trials_per_shard
    finished: int  # slots done: a COMPLETE or PRUNED trial
    failed: int  # slots whose last trial failed and that will not be retried
    running: int
    waiting: int  # queued, or lost and to be queued again
    flops: float
    failures: list[SlotFailure] = field(default_factory=list)
    devices: dict[str, int] = field(default_factory=dict)  # "cuda:0 (bf16)" -> trials run there
    # An adaptive study's rounds (cells, FLOPs spent, the target's interval) and why it stopped.
    adaptive: Plan | None = None

    def devices_text(self) -> str:
        """'cpu (fp32): 64 trials' or '' before any trial ran."""
        return devices_text(self.devices)

    @property
    def state(self) -> str:
        if self.adaptive is not None and self.adaptive.stopped and self.running == 0:
            return "finished"  # trials still queued when a FLOP budget stopped it never run
        if self.waiting == 0 and self.running == 0:
            if self.adaptive is not None and not self.adaptive.stopped:
                return "in progress" if self.finished or self.failed else "not started"
            return "finished"
        started = self.finished or self.failed or self.running
        return "in progress" if started else "not started"

    def failure_summary(self) -> str:
        """'1 failed (shard 512 slot 1: ...)', or '' when no slot failed."""
        if not self.failures:
            return ""
        seeds = self.shards["seed"].nunique() > 1 if not self.shards.empty else False
        first = self.failures[0].label(with_seed=seeds)
        more = f"; {len(self.failures) - 1} more" if len(self.failures) > 1 else ""
        return f"{self.failed} failed ({first}{more})"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["state"] = self.state
        out["shards"] = self.shards.to_dict(orient="records")
        return out


def summarize(config: StudyConfig, df: pd.DataFrame, plan: Plan | None = None) -> StudyStatus:
    """Status from a trial table (see scalinglab.study.results); an adaptive study's slots are
    the ones its `plan` has laid out so far."""
    n_slots = config.search.n_trials()
    planned = planned_slots(config, plan) if plan is not None else None
    max_retry = config.reliability.max_retry
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    for size in config.shard_sizes():
        for seed in config.train.seeds:
            rows[(seed, size)] = {"seed": seed, "shard_size": size}
            rows[(seed, size)].update({state.lower(): 0 for state in STATES})
            rows[(seed, size)].update(
                best_val_loss=None, best_val_error=None, best_model_size=None, best_lr=None
            )
    failures: list[SlotFailure] = []
    seen = dict.fromkeys(rows, 0)
    by_slot: dict[tuple[int, int, int], list[Attempt]] = {}
    for r in df[["seed", "shard_size", "slot", "trial", "state", "error"]].to_dict("records"):
        if pd.isna(r["slot"]):
            continue  # not a queued slot's trial
        error = str(r["error"]) if pd.notna(r["error"]) else ""
        key = (int(r["seed"]), int(r["shard_size"]), int(r["slot"]))
        by_slot.setdefault(key, []).append(Attempt(int(r["trial"]), str(r["state"]), error))
    for (seed, size, slot), attempts in sorted(by_slot.items()):
        row = rows.get((seed, size))
        if row is None:
            continue
        state = slot_state(attempts, max_retry)
        row[COLUMN[state]] += 1
        seen[(seed, size)] += 1
        if state == "failed":
            failures.append(SlotFailure(seed, size, slot, failure_text(attempts, max_retry)))
    for shard, row in rows.items():
        expected = n_slots if planned is None else planned.get(shard, 0)
        row["waiting"] += max(0, expected - seen[shard])  # not laid out yet
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
    return StudyStatus(
        name=config.name,
        task=config.task.name,
        shards=shards,
        total=n_slots * len(rows) if planned is None else sum(planned.values()),
        finished=int(shards["complete"].sum() + shards["pruned"].sum()),
        failed=int(shards["fail"].sum()),
        running=int(shards["running"].sum()),
        waiting=int(shards["waiting"].sum()),
        flops=float(df["flops"].fillna(0).sum()),
        failures=failures,
        devices=trial_devices(df),
        adaptive=plan,
    )


def status_of(config: StudyConfig, storage: optuna.storages.BaseStorage) -> StudyStatus:
    return summarize(config, results_frame(config, storage), read_plan(config, storage))


def study_status(name: str, storage: str | None = None) -> StudyStatus:
    """The status of study `name` in `storage` (default runs/<name>.db)."""
    store = open_existing(name, storage)
    return status_of(load_study_config(name, store), store)
