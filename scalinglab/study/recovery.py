"""No slot is lost: a dead worker's trial is failed and re-queued in one database transaction.

Each (seed, shard) search has `n` slots (see layout); a slot is *done* once one of its trials is
COMPLETE or PRUNED. A worker that dies (SIGKILL, a lost machine) leaves its trial RUNNING, and
once the trial's heartbeat is `grace_period` seconds old it is *stale*. `recover` then, in one
transaction, marks it FAIL with the reason as its error text ("worker died: no heartbeat for
23 s") and queues a retry with the same parameters in the same slot. (Optuna's
`fail_stale_trials` does the two in separate transactions: a kill between them left a slot with
a FAIL row, no retry, and nothing that ever looked at it again.)

The same transaction reconciles: a slot with no COMPLETE, PRUNED, WAITING or RUNNING trial whose
last trial was lost (its worker died, or it was interrupted by Ctrl-C/SIGTERM) is queued again,
while retries are left (`max_retry` deaths per slot; interruptions do not count). Idle workers
call it, and `run_study` on every start, so a slot ends failed only for a reason of its own: its
training raised or diverged, or its worker died `max_retry + 1` times.

Two recoverers never queue two retries for one slot: SQLite transactions are BEGIN IMMEDIATE
(storage.py), so they serialize, and on PostgreSQL the search's study row is locked FOR UPDATE
first, as Optuna does to number a new trial.

This uses Optuna's RDB models and three private helpers of RDBStorage (the ones `add_trial`
itself uses), because Optuna offers no public way to write two changes in one transaction.

Test hook: with SCALINGLAB_KILL_HOOK=fail-retry in its environment, a process SIGKILLs itself
inside that transaction, after the FAIL is sent to the database and before the retry is (the
tests and benchmarks/chaos.py use it to show the database then holds neither).
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import optuna
import sqlalchemy
from optuna.storages._rdb import models
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy import orm

DIED = "worker died"  # error text prefix of a trial whose worker stopped beating
INTERRUPTED = "interrupted"  # error text prefix of a trial stopped by Ctrl-C or SIGTERM
KILL_HOOK_ENV = "SCALINGLAB_KILL_HOOK"
KILL_HOOK_FAIL_RETRY = "fail-retry"

SlotState = Literal["complete", "pruned", "running", "waiting", "retry", "failed", "empty"]
_BY_PRECEDENCE: tuple[tuple[str, SlotState], ...] = (
    ("COMPLETE", "complete"), ("PRUNED", "pruned"), ("RUNNING", "running"), ("WAITING", "waiting"),
)  # fmt: skip


@dataclass(frozen=True)
class Attempt:
    """One trial of a slot, as much as deciding the slot's state needs."""

    number: int
    state: str  # TrialState name
    error: str  # the stored error text ("" if none)


def lost_cause(error: str) -> Literal["died", "interrupted"] | None:
    """Why a FAIL trial did not finish, if it was lost rather than failed by its training.

    No error text at all is a dead worker too: Optuna's own stale-trial handling writes none.
    """
    if not error.strip() or error.startswith(DIED):
        return "died"
    if error.startswith(INTERRUPTED):
        return "interrupted"
    return None


def slot_state(attempts: Sequence[Attempt], max_retry: int) -> SlotState:
    """The state of one slot from all its trials.

    complete/pruned: done. running/waiting: a live trial. retry: lost, to be queued again.
    failed: its last trial failed for a reason of its own, or its worker died too often.
    """
    states = {a.state for a in attempts}
    for trial_state, state in _BY_PRECEDENCE:
        if trial_state in states:
            return state
    if not attempts:
        return "empty"
    last = max(attempts, key=lambda a: a.number)
    cause = lost_cause(last.error)
    if cause == "interrupted" or (cause == "died" and _deaths(attempts) <= max_retry):
        return "retry"
    return "failed"


def failure_text(attempts: Sequence[Attempt], max_retry: int) -> str:
    """Why a failed slot failed: its last trial's error, and the retries it had."""
    last = max(attempts, key=lambda a: a.number)
    text = last.error.strip() or f"{DIED} (no error text stored)"
    if lost_cause(last.error) == "died":
        text += f"; {_deaths(attempts)} attempts, no retries left (max_retry = {max_retry})"
    return text


def _deaths(attempts: Iterable[Attempt]) -> int:
    return sum(a.state == "FAIL" and lost_cause(a.error) == "died" for a in attempts)


def attempt_of(trial: FrozenTrial) -> Attempt:
    result = trial.user_attrs.get("result") or {}
    return Attempt(trial.number, trial.state.name, str(result.get("error", "") or ""))


def slots_of(trials: Iterable[FrozenTrial]) -> dict[int, list[FrozenTrial]]:
    """A search's trials by slot (trials without a slot, not queued by scalinglab, are left out)."""
    slots: dict[int, list[FrozenTrial]] = {}
    for t in trials:
        slot = t.user_attrs.get("slot")
        if isinstance(slot, int):
            slots.setdefault(slot, []).append(t)
    return slots


# ---- the transaction ---------------------------------------------------------------------------
def _rdb(storage: optuna.storages.BaseStorage) -> optuna.storages.RDBStorage:
    """The RDBStorage under Optuna's per-process cache wrapper."""
    backend = getattr(storage, "_backend", storage)
    if not isinstance(backend, optuna.storages.RDBStorage):
        raise TypeError(f"recovery needs an RDB storage, not {type(backend).__name__}")
    return backend


def needs_recovery(storage: optuna.storages.BaseStorage, study_id: int, max_retry: int) -> bool:
    """A cheap read-only look: is any trial stale, or any slot lost? (then `recover` it)"""
    trials = storage.get_all_trials(study_id, deepcopy=False)
    backend = _rdb(storage)
    running = any(t.state == TrialState.RUNNING for t in trials)
    if running and backend.heartbeat_interval and backend._get_stale_trial_ids(study_id):
        return True
    return any(
        slot_state([attempt_of(t) for t in ts], max_retry) == "retry"
        for ts in slots_of(trials).values()
    )


def recover(
    storage: optuna.storages.BaseStorage,
    study_id: int,
    *,
    grace_period: float | None,
    max_retry: int,
) -> int:
    """Fail the stale trials of one search and queue each lost slot again, in one transaction.

    `grace_period` None fails no running trial (only lost slots are queued). Returns the number
    of retries queued.
    """
    backend = _rdb(storage)
    session: orm.Session = backend.scoped_session()
    try:
        models.StudyModel.find_or_raise_by_id(study_id, session, for_update=True)
        now = session.execute(sqlalchemy.func.now()).scalar_one().replace(tzinfo=None)
        # A typed SQLAlchemy statement: study_id is our integer, no text is ever parsed here.
        statement = (
            sqlalchemy.select(models.TrialModel)
            .options(orm.selectinload(models.TrialModel.heartbeats))
            .options(orm.selectinload(models.TrialModel.user_attributes))
            .where(models.TrialModel.study_id == study_id)
        )
        rows = list(session.scalars(statement).all())
        if grace_period is not None:
            for row in rows:
                if row.state != TrialState.RUNNING or not row.heartbeats:
                    continue  # a claim beats before it sets RUNNING: no beat, not ours
                silent = (now - row.heartbeats[0].heartbeat).total_seconds()
                if silent <= grace_period:
                    continue
                session.refresh(row, with_for_update=True)  # its worker may just have finished
                if row.state == TrialState.RUNNING:
                    _fail(backend, session, row, f"{DIED}: no heartbeat for {silent:.0f} s")
        queued = _queue_lost_slots(backend, session, study_id, rows, max_retry)
        session.commit()
        return queued
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def requeue(storage: optuna.storages.BaseStorage, study_id: int, trial_id: int, note: str) -> None:
    """Give a running trial back (Ctrl-C, SIGTERM): FAIL it with `note`, queue its retry; one
    transaction. Does nothing if the trial is no longer running."""
    backend = _rdb(storage)
    session: orm.Session = backend.scoped_session()
    try:
        models.StudyModel.find_or_raise_by_id(study_id, session, for_update=True)
        row = models.TrialModel.find_or_raise_by_id(trial_id, session, for_update=True)
        if row.state == TrialState.RUNNING:
            _fail(backend, session, row, note)
            _crash_point(session)
            _queue_retry(backend, session, study_id, row)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _fail(backend: optuna.storages.RDBStorage, session: orm.Session, row: Any, error: str) -> None:
    backend._set_trial_attr_without_commit(
        session, models.TrialUserAttributeModel, row.trial_id, "result", {"error": error}
    )
    row.state = TrialState.FAIL
    row.datetime_complete = datetime.now()
    session.flush()
    session.expire(row)  # its attributes were written around the ORM: read them again


def _queue_lost_slots(
    backend: optuna.storages.RDBStorage,
    session: orm.Session,
    study_id: int,
    rows: list[Any],
    max_retry: int,
) -> int:
    by_slot: dict[int, list[Any]] = {}
    for row in rows:
        slot = next((_json(a.value_json) for a in row.user_attributes if a.key == "slot"), None)
        if isinstance(slot, int):
            by_slot.setdefault(slot, []).append(row)
    queued = 0
    for slot_rows in by_slot.values():
        attempts = [_attempt(row) for row in slot_rows]
        if slot_state(attempts, max_retry) != "retry":
            continue
        _crash_point(session)
        _queue_retry(backend, session, study_id, max(slot_rows, key=lambda r: r.number))
        queued += 1
    return queued


def _attempt(row: Any) -> Attempt:
    result = next((_json(a.value_json) for a in row.user_attributes if a.key == "result"), None)
    error = result.get("error", "") if isinstance(result, dict) else ""
    return Attempt(int(row.number), row.state.name, str(error or ""))


def _json(text: str) -> Any:
    return json.loads(text)


def _queue_retry(
    backend: optuna.storages.RDBStorage, session: orm.Session, study_id: int, row: Any
) -> None:
    """Queue a copy of the lost trial `row`: same slot and parameters, marked as its retry.

    The same system attributes as Optuna's RetryHeartbeatStaleTrialCallback: `failed_trial` is
    the first trial of the chain, `retry_history` every trial of it so far.
    """
    lost = backend._build_frozen_trial_from_trial_model(row)
    system_attrs = {"failed_trial": lost.number, "retry_history": [], **lost.system_attrs}
    system_attrs["retry_history"] = [*system_attrs["retry_history"], lost.number]
    user_attrs = {k: v for k, v in lost.user_attrs.items() if k not in ("result", "setup")}
    template = optuna.trial.create_trial(
        state=TrialState.WAITING,
        params=lost.params,
        distributions=lost.distributions,
        user_attrs=user_attrs,
        system_attrs=system_attrs,
    )
    backend._get_prepared_new_trial(study_id, template, session)
    session.flush()


def _crash_point(session: orm.Session) -> None:
    """SCALINGLAB_KILL_HOOK=fail-retry: die here, the FAIL sent, the retry not (tests only)."""
    if os.environ.get(KILL_HOOK_ENV) == KILL_HOOK_FAIL_RETRY:
        session.flush()
        os.kill(os.getpid(), signal.SIGKILL)
