"""`run_study`: check the study file against its task, lay it out in storage, run the workers.

This is the loop of Hestness et al. (2017) end to end: nested shards, a search per shard, every
candidate trained with early stopping, results in persistent storage. Running it again on the same
storage resumes: finished trials are kept, queued ones run, and trials whose worker died are
retried once their heartbeat goes stale. Every start first reconciles the storage (see
scalinglab.study.recovery): stale trials are failed and retried, and a slot left with no live
trial by a worker that died is queued again, so a study that "finished" with a lost slot runs it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from scalinglab.errors import ScalingLabError
from scalinglab.study.config import StudyConfig, load_config
from scalinglab.study.executors import ExecutionResult, make_executor
from scalinglab.study.layout import prepare_study
from scalinglab.study.progress import ProgressMonitor
from scalinglab.study.recovery import needs_recovery, recover
from scalinglab.study.results import results_frame
from scalinglab.study.status import StudyStatus, status_of
from scalinglab.study.storage import normalize_url, open_storage, sqlite_path
from scalinglab.study.worker import WorkerReport, WorkerSpec
from scalinglab.tasks import get_task
from scalinglab.tasks.base import Task


@dataclass
class RunResult:
    """What one `run_study` call did, and where the study stands afterwards."""

    name: str
    url: str
    status: StudyStatus
    interrupted: bool = False
    reports: list[WorkerReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def finished(self) -> bool:
        return self.status.state == "finished"


def check_task(config: StudyConfig, task: Task | None = None) -> Task:
    """Build the task and check the study file against it, before any training starts."""
    task = task if task is not None else get_task(config.task.name, **config.task.options)
    pool = int(task.train_pool_size())
    largest = max(config.shard_sizes())
    if largest > pool:
        raise ScalingLabError(
            f"shard size {largest} is larger than the task's training data ({pool} examples); "
            f"lower [shards] largest to at most {pool}"
        )
    for size in config.search.model_sizes:
        task.n_params(size)  # raises ScalingLabError for a size the model family cannot build
    target = config.search.target
    if target is not None and target.model_size is not None:
        task.n_params(target.model_size)  # an adaptive study's target model, likewise
    return task


def run_study(
    config: str | Path | dict[str, Any] | StudyConfig,
    storage: str | None = None,
    executor: str = "local",
    workers: int | None = None,
    address: str | None = None,
    task: Task | None = None,
    progress: bool | None = None,
    console: Console | None = None,
) -> RunResult:
    """Run (or resume) a study; returns when it is finished, out of budget, or interrupted.

    config: a TOML path, a dict or a StudyConfig. storage: a URL (default runs/<name>.db).
    executor: "local" (worker processes; `workers` defaults to one per core) or "ray"
    (`address` of the cluster; default RAY_ADDRESS or a local instance). task: a Task object to
    use instead of the config's [task] (it must be picklable for several workers or Ray).
    """
    t0 = time.monotonic()
    # Local trials run here: this machine must have the [resources] device (one clear line if
    # not). On Ray the workers check it on their nodes; this one may have no GPU at all.
    cfg = load_config(config, check_device=executor == "local")
    built = check_task(cfg, task)
    runner = make_executor(executor, workers, address)
    url = normalize_url(storage, cfg.name)
    rel = cfg.reliability
    store = open_storage(
        url, heartbeat_interval=rel.heartbeat_interval, grace_period=rel.grace_period
    )
    for search in prepare_study(cfg, store):  # reconcile: no slot stays lost
        study_id = store.get_study_id_from_name(search.optuna_name)
        if needs_recovery(store, study_id, rel.max_retry):
            recover(store, study_id, grace_period=rel.grace_period, max_retry=rel.max_retry)
    console = console or Console(stderr=True)
    if executor == "ray" and address is not None and sqlite_path(url) is not None:
        console.print(
            "[yellow]warning:[/] SQLite storage works on Ray only if every node sees this file; "
            "use --storage postgresql://... for a multi-node cluster"
        )

    deadline = time.time() + cfg.budget.wall_time if cfg.budget.wall_time else None
    config_json = cfg.model_dump(mode="json")

    def make_spec(worker_id: str, threads: int) -> WorkerSpec:
        return WorkerSpec(url, config_json, worker_id, deadline, threads, task)

    show = console.is_terminal if progress is None else progress

    def run_workers() -> ExecutionResult:
        if show:
            with ProgressMonitor(cfg, url, console):
                return runner.run(make_spec, cfg.resources)
        return runner.run(make_spec, cfg.resources)

    result: ExecutionResult
    if cfg.search.design == "adaptive":
        result = _run_adaptive(cfg, store, built, run_workers, deadline, console)
    elif status_of(cfg, store).state == "finished":
        result = ExecutionResult()  # nothing queued or running: no workers to start
    else:
        result = run_workers()
    return RunResult(
        name=cfg.name,
        url=url,
        status=status_of(cfg, store),
        interrupted=result.interrupted,
        reports=result.reports,
        errors=result.errors,
        seconds=time.monotonic() - t0,
    )


def _run_adaptive(
    cfg: StudyConfig,
    store: Any,
    task: Task,
    run_workers: Callable[[], ExecutionResult],
    deadline: float | None,
    console: Console,
) -> ExecutionResult:
    """Rounds of an adaptive study: run the queued cells' trials, then fit and queue the next
    cells (scalinglab.study.adaptive.advance), until it stops, is interrupted, or time is up."""
    from scalinglab.study.adaptive import advance, lay_out

    lay_out(cfg, store)  # a round planned just before a kill is queued now
    total = ExecutionResult()
    while True:
        st = status_of(cfg, store)
        if st.waiting or st.running:
            result = run_workers()
            total.reports.extend(result.reports)
            total.errors.extend(result.errors)
            if result.interrupted:
                total.interrupted = True
                return total
            if any(r.stopped == "wall_time" for r in result.reports):
                return total  # out of time mid-round: the next `study run` resumes it
        if deadline is not None and time.time() >= deadline:
            return total
        df = results_frame(cfg, store)
        budget = cfg.budget.total_flops
        spent = budget is not None and float(df["flops"].fillna(0).sum()) >= budget
        step = advance(cfg, store, task, df, budget_spent=spent)
        if step.action != "queued":
            if step.action == "stopped":
                console.print(f"adaptive study stopped: {step.reason}", highlight=False)
            return total
        assert step.round is not None
        prev = status_of(cfg, store).adaptive
        last = prev.rounds[-2] if prev is not None and len(prev.rounds) > 1 else None
        if last is not None and last.rel_width is not None:
            console.print(
                f"round {last.number}: {last.spent_flops:.3g} FLOPs, prediction "
                f"{last.prediction:.4g}, 90% interval {last.rel_width:.1%} wide; "
                f"next: {len(step.round.cells)} cell(s) {step.round.cells}",
                highlight=False,
            )
