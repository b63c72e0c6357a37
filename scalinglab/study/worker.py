"""One worker of a study: claim a queued trial, train it, record it, repeat until none are left.

Every executor (local processes, Ray) runs this same loop against the shared storage; there is no
central scheduler to lose. Hestness et al. (2017) train each (shard, model size, hyperparameters)
candidate with early stopping on the fixed validation set; here each such training is one Optuna
trial whose value is the best validation loss, and which records the rest (parameter count,
FLOPs, examples seen, error metric, the validation curve, wall time, host, the device and
precision it trained in, its throughput, the error text if it failed) as user attributes.

Device: a worker resolves the study's `[resources] device` once ("auto": CUDA, then MPS, then
CPU; scalinglab.tasks.device) and hands the result to every trial in its TrainConfig. A local
worker pinned to a GPU sees only that one (CUDA_VISIBLE_DEVICES, set before CUDA starts).

Safety: a claim is an atomic WAITING -> RUNNING update, so no two workers train one trial. While
it trains, a thread records Optuna heartbeats; if the worker dies, its trial goes stale and the
next worker that looks marks it FAIL ("worker died: ...") and queues a retry with the same
parameters, in one transaction (scalinglab.study.recovery), so a slot is never left without a
trial. On Ctrl-C or SIGTERM the worker re-queues its trial itself (one transaction too) and
exits, so nothing is lost either way. The signal only interrupts a trial's training; one that
lands while the worker talks to the storage waits until that write is done (an exception inside a
database transaction would leave it half done). A worker that was only slow (stopped, swapped
out) and finds its trial already failed and retried by another drops its result.
"""

from __future__ import annotations

import copy
import inspect
import math
import os
import signal
import socket
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import optuna
from optuna.trial import TrialState

from scalinglab.study.config import StudyConfig, parse_config
from scalinglab.study.layout import ShardSearch, searches_of
from scalinglab.study.recovery import INTERRUPTED, needs_recovery, recover, requeue
from scalinglab.study.search import make_pruner, make_sampler, suggest, trial_seed
from scalinglab.study.storage import open_storage
from scalinglab.tasks import get_task
from scalinglab.tasks.base import Task, TrainConfig, TrainResult
from scalinglab.tasks.device import resolve_device

POLL_SECONDS = 0.5  # how often an idle worker looks for queued or stale trials


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs, plain and picklable (it crosses process and node boundaries)."""

    url: str
    config: dict[str, Any]  # StudyConfig.model_dump(mode="json")
    worker_id: str = "w0"
    deadline: float | None = None  # unix time after which no new trial is started
    threads: int = 1  # torch intra-op threads per trial
    # A Task object given in Python instead of by name; it crosses to worker processes and Ray
    # nodes by their own transport (multiprocessing, Ray), never as bytes read back here.
    task: Task | None = None
    visible_gpus: str | None = None  # CUDA_VISIBLE_DEVICES of this worker (local executor)


@dataclass
class WorkerReport:
    """What one worker did."""

    worker_id: str
    host: str
    completed: int = 0
    pruned: int = 0
    failed: int = 0
    lost: int = 0  # trials failed and retried by another worker while this one was too slow
    stopped: str = "done"  # done | wall_time | total_flops | interrupted
    trials: list[int] = field(default_factory=list)  # storage trial ids it finished


class _Heartbeat:
    """Record an Optuna heartbeat for a running trial every `interval` seconds, in a thread."""

    def __init__(self, storage: Any, trial_id: int, interval: float):
        self._storage, self._trial_id, self._interval = storage, trial_id, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._storage.record_heartbeat(self._trial_id)
            except Exception:  # a missed beat is retried; a dead DB fails the trial itself
                continue

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class _Interrupts:
    """Ctrl-C / SIGTERM as a stop request that only breaks into training, never a storage write.

    Inside `training()` the signal raises KeyboardInterrupt at once (the trial is re-queued);
    elsewhere it is remembered and raised at the worker's next `check()`.
    """

    def __init__(self) -> None:
        self.requested = False
        self._in_training = False

    def handle(self, _signum: int, _frame: FrameType | None) -> None:
        self.requested = True
        if self._in_training:
            raise KeyboardInterrupt

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt

    @contextmanager
    def training(self) -> Iterator[None]:
        self.check()
        self._in_training = True
        try:
            yield
        finally:
            self._in_training = False

    @contextmanager
    def shielded(self) -> Iterator[None]:
        """A storage write inside training (a pruning report): finish it, then stop if asked."""
        was, self._in_training = self._in_training, False
        try:
            yield
        finally:
            self._in_training = was
        if was:
            self.check()


class _Reporter:
    """The `report` a task calls after each evaluation: curve, Optuna report, pruning.

    With pruning off, nothing is written per evaluation (the curve is stored once at the end);
    with it on, the pruner is only asked once the warm-up evaluations are over.
    """

    def __init__(
        self, trial: optuna.Trial, prune: bool, warmup: int, interrupts: _Interrupts
    ) -> None:
        self.trial, self.prune, self.warmup = trial, prune, warmup
        self.interrupts = interrupts
        self.curve: list[tuple[int, float]] = []

    def __call__(self, examples_seen: int, val_loss: float) -> None:
        self.curve.append((int(examples_seen), float(val_loss)))
        if not self.prune or not math.isfinite(val_loss):
            return
        step = len(self.curve) - 1
        with self.interrupts.shielded():
            self.trial.report(float(val_loss), step=step)
            prune = step >= self.warmup and self.trial.should_prune()
        if prune:
            raise optuna.TrialPruned(f"pruned at {examples_seen} examples (val loss {val_loss:g})")


def _accepts_report(task: Task) -> bool:
    try:
        return "report" in inspect.signature(task.train).parameters
    except (TypeError, ValueError):
        return False


def build_task(config: StudyConfig, given: Task | None = None) -> Task:
    """The study's task: a copy of the user's Task object (each worker its own, as in a separate
    process), or built from [task] name and options."""
    if given is not None:
        return copy.deepcopy(given)
    return get_task(config.task.name, **config.task.options)


class Worker:
    """Runs queued trials of one study until none are left, a budget ends, or it is stopped."""

    def __init__(self, spec: WorkerSpec, task: Task | None = None) -> None:
        self.spec = spec
        # Checked here too: a Ray node without the GPU asked for fails with one clear line.
        self.config = parse_config(spec.config, "study config", check_device=True)
        self.device = resolve_device(self.config.resources.device)  # "cpu", "cuda:0", "mps"
        self.task = task if task is not None else build_task(self.config, spec.task)
        rel = self.config.reliability
        self.storage: Any = open_storage(  # Optuna's cached RDB storage (with heartbeats)
            spec.url, heartbeat_interval=rel.heartbeat_interval, grace_period=rel.grace_period
        )
        self.searches = searches_of(self.config)
        self.host = socket.gethostname()
        self.report = WorkerReport(spec.worker_id, self.host)
        self._current: tuple[ShardSearch, int] | None = None  # claimed, not yet finished
        self.interrupts = _Interrupts()
        self._study_ids = {
            s.optuna_name: self.storage.get_study_id_from_name(s.optuna_name) for s in self.searches
        }

    # ---- the loop ----------------------------------------------------------------------------
    def run(self) -> WorkerReport:
        """Claim and run trials until the study is finished (or a budget/deadline stops it)."""
        try:
            while True:
                self.interrupts.check()
                reason = self._budget_exhausted()
                if reason:
                    self.report.stopped = reason
                    break
                claimed = self._claim()
                if claimed is not None:
                    self._run_trial(*claimed)
                    self._current = None
                    continue
                if not self._recover_stale():
                    break  # nothing waiting, nothing running: the study is finished
                with self.interrupts.training():  # nothing to lose while idle
                    time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            self.report.stopped = "interrupted"
            if self._current is not None:  # stopped between claiming and training
                self._requeue(*self._current)
        return self.report

    def _budget_exhausted(self) -> str | None:
        if self.spec.deadline is not None and time.time() >= self.spec.deadline:
            return "wall_time"
        total = self.config.budget.total_flops
        if total is not None:
            used = 0.0
            for study_id in self._study_ids.values():
                for t in self.storage.get_all_trials(study_id, deepcopy=False):
                    used += float((t.user_attrs.get("result") or {}).get("flops", 0.0) or 0.0)
            if used >= total:
                return "total_flops"
        return None

    def _claim(self) -> tuple[ShardSearch, int] | None:
        """Atomically move one WAITING trial to RUNNING; smallest shards first."""
        for search in self.searches:
            study_id = self._study_ids[search.optuna_name]
            waiting = self.storage.get_all_trials(
                study_id, deepcopy=False, states=(TrialState.WAITING,)
            )
            for frozen in sorted(waiting, key=lambda t: t.number):
                trial_id = self.storage.get_trial_id_from_study_id_trial_number(
                    study_id, frozen.number
                )
                # Beat first: Optuna never calls a trial without a heartbeat row stale, so a
                # worker dying between claim and first beat would block the study for good.
                self.storage.record_heartbeat(trial_id)
                try:
                    claimed = self.storage.set_trial_state_values(trial_id, TrialState.RUNNING)
                except optuna.exceptions.UpdateFinishedTrialError:
                    continue
                if claimed:
                    self._current = (search, trial_id)
                    self.storage.record_heartbeat(trial_id)
                    return search, trial_id
        return None

    def _recover_stale(self) -> bool:
        """Fail-and-retry trials whose worker died, re-queue lost slots; True if any trial is
        still running or queued."""
        rel = self.config.reliability
        running = False
        for study_id in self._study_ids.values():
            if needs_recovery(self.storage, study_id, rel.max_retry):
                recover(
                    self.storage, study_id, grace_period=rel.grace_period, max_retry=rel.max_retry
                )
            states = (TrialState.RUNNING, TrialState.WAITING)
            if self.storage.get_all_trials(study_id, deepcopy=False, states=states):
                running = True
        return running

    # ---- one trial ---------------------------------------------------------------------------
    def _run_trial(self, search: ShardSearch, trial_id: int) -> None:
        frozen = self.storage.get_trial(trial_id)
        study = optuna.load_study(
            study_name=search.optuna_name,
            storage=self.storage,
            sampler=make_sampler(
                self.config.search,
                trial_seed(search.seed, search.shard_size, frozen.number),
            ),
            pruner=make_pruner(self.config.search),
        )
        rel = self.config.reliability
        with _Heartbeat(self.storage, trial_id, rel.heartbeat_interval):
            trial = optuna.Trial(study, trial_id)
            try:
                state = self._train(search, trial)
            except KeyboardInterrupt:
                self._requeue(search, trial_id)
                self._current = None
                raise
            except optuna.exceptions.UpdateFinishedTrialError:
                # Too slow to beat (stopped, swapped out): another worker failed this trial
                # and queued its retry; the retry's result is the slot's, not ours.
                self.report.lost += 1
                return
        self.report.trials.append(trial_id)
        if state == TrialState.COMPLETE:
            self.report.completed += 1
        elif state == TrialState.PRUNED:
            self.report.pruned += 1
        else:
            self.report.failed += 1

    def _train(self, search: ShardSearch, trial: optuna.Trial) -> TrialState:
        params = suggest(trial, self.config.search)
        model_size = int(params.pop("model_size"))
        train = self.config.train
        config = TrainConfig(
            shard_size=search.shard_size,
            model_size=model_size,
            hparams=params,
            seed=search.seed,
            data_seed=search.seed,
            max_epochs=train.max_epochs,
            patience=train.patience,
            max_steps=train.max_steps,
            flop_budget=self.config.budget.flops_per_trial,
            device=self.device,
            precision=self.config.resources.precision,
        )
        search_spec = self.config.search
        reporter = _Reporter(
            trial,
            prune=search_spec.pruner != "none",
            warmup=search_spec.pruner_warmup_evals,
            interrupts=self.interrupts,
        )
        t0 = time.perf_counter()
        try:
            n_params = int(self.task.n_params(model_size))
            fpe = float(self.task.flops_per_example(model_size))
            trial.set_user_attr(
                "setup",
                {
                    "host": self.host,
                    "worker": f"{self.spec.worker_id}@{self.host}:{os.getpid()}",
                    "train_config": config.to_dict(),
                    "n_params": n_params,
                    "flops_per_example": fpe,
                    "device": self.device,
                    "precision": config.precision,
                },
            )
            with self.interrupts.training():
                if _accepts_report(self.task):
                    result = self.task.train(config, report=reporter)
                else:
                    result = self.task.train(config)
            if not _accepts_report(self.task):
                for examples, loss in result.curve:
                    reporter.curve.append((examples, loss))
        except optuna.TrialPruned as exc:
            fpe = float(self.task.flops_per_example(model_size))
            trial.set_user_attr(
                "result", _partial(reporter, fpe, time.perf_counter() - t0, str(exc))
            )
            trial.study.tell(trial, state=TrialState.PRUNED)
            return TrialState.PRUNED
        except Exception as exc:
            text = "".join(traceback.format_exception_only(exc)).strip()[:2000]
            trial.set_user_attr("result", _partial(reporter, 0.0, time.perf_counter() - t0, text))
            trial.study.tell(trial, state=TrialState.FAIL)
            return TrialState.FAIL
        record = _measured(result)
        if not math.isfinite(result.best_val_loss):
            record["error"] = "diverged: validation loss is not finite"
            trial.set_user_attr("result", record)
            trial.study.tell(trial, state=TrialState.FAIL)
            return TrialState.FAIL
        trial.set_user_attr("result", record)
        trial.study.tell(trial, float(result.best_val_loss))
        return TrialState.COMPLETE

    def _requeue(self, search: ShardSearch, trial_id: int) -> None:
        """Give an interrupted trial back: FAIL it and queue a copy with the same parameters."""
        note = f"{INTERRUPTED} (Ctrl-C or SIGTERM); re-queued"
        requeue(self.storage, self._study_ids[search.optuna_name], trial_id, note)


def _measured(result: TrainResult) -> dict[str, Any]:
    """A finished trial's measurements, as one JSON user attribute (one storage write)."""
    return {
        "best_val_loss": float(result.best_val_loss),
        "best_val_error": float(result.best_val_error),
        "n_params": int(result.n_params),
        "steps": int(result.steps),
        "examples_seen": int(result.examples_seen),
        "flops": float(result.flops),
        "wall_time": float(result.wall_time),
        "curve": [[int(e), float(v)] for e, v in result.curve],
        "extra": {k: float(v) for k, v in result.extra.items()},
        **({"device": str(result.device)} if getattr(result, "device", "") else {}),
    }


def _partial(
    reporter: _Reporter, flops_per_example: float, wall_time: float, error: str
) -> dict[str, Any]:
    """Measurements of a trial that stopped early (pruned) or failed, from its reports."""
    losses = [v for _, v in reporter.curve if math.isfinite(v)]
    examples = reporter.curve[-1][0] if reporter.curve else 0
    return {
        "best_val_loss": min(losses) if losses else math.nan,
        "examples_seen": int(examples),
        "flops": flops_per_example * examples,
        "wall_time": float(wall_time),
        "curve": [[int(e), float(v)] for e, v in reporter.curve],
        "error": error,
    }


def run_worker(spec: WorkerSpec) -> WorkerReport:
    """Entry point of a worker process or Ray task: set threads, then run the loop."""
    if spec.visible_gpus is not None:  # before anything starts CUDA in this process
        os.environ["CUDA_VISIBLE_DEVICES"] = spec.visible_gpus
    import torch

    os.environ["SCALINGLAB_THREADS"] = str(spec.threads)
    torch.set_num_threads(max(1, spec.threads))
    worker = Worker(spec)
    if threading.current_thread() is not threading.main_thread():
        return worker.run()  # a Ray task: Ray delivers cancellation itself
    # SIGTERM (and Ctrl-C, unless a parent process handles it): re-queue the trial, exit.
    signals = [signal.SIGTERM]
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signals.append(signal.SIGINT)
    previous = {sig: signal.signal(sig, worker.interrupts.handle) for sig in signals}
    try:
        return worker.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
