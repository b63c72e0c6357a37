"""No slot is ever lost (issue 12): a dead worker's trial is failed and re-queued in one
transaction, every start re-queues a slot that was lost anyway, status counts slots, and
`study run` exits 1 when a slot ends failed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import optuna
import pandas as pd
import pytest
import sqlalchemy
from optuna.storages._rdb import models
from optuna.trial import TrialState

from scalinglab.cli import run_app
from scalinglab.study import load_config, load_results, study_status
from scalinglab.study.layout import prepare_study, searches_of
from scalinglab.study.recovery import (
    KILL_HOOK_ENV,
    KILL_HOOK_FAIL_RETRY,
    Attempt,
    needs_recovery,
    recover,
    slot_state,
)
from scalinglab.study.storage import normalize_url, open_storage
from scalinglab.study.worker import Worker, WorkerSpec

SCALINGLAB = str(Path(sys.executable).with_name("scalinglab"))
TINY = {"largest": 512, "trials_per_shard": 3, "max_epochs": 3}  # shards 256, 512: 6 slots


# ---- the slot state, as a pure function ----------------------------------------------------------
def _a(number: int, state: str, error: str = "") -> Attempt:
    return Attempt(number, state, error)


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [
        ([], "empty"),
        ([_a(0, "WAITING")], "waiting"),
        ([_a(0, "FAIL", "worker died: no heartbeat for 20 s"), _a(7, "COMPLETE")], "complete"),
        ([_a(0, "FAIL", "worker died: no heartbeat for 20 s"), _a(7, "RUNNING")], "running"),
        ([_a(0, "PRUNED")], "pruned"),
        ([_a(0, "FAIL", "")], "retry"),  # Optuna's own stale-trial FAIL: no text, a dead worker
        ([_a(0, "FAIL", "worker died: no heartbeat for 20 s")], "retry"),
        ([_a(0, "FAIL", "interrupted (Ctrl-C or SIGTERM); re-queued")], "retry"),
        ([_a(0, "FAIL", "RuntimeError: out of memory")], "failed"),
        ([_a(0, "FAIL", "diverged: validation loss is not finite")], "failed"),
        ([_a(i, "FAIL", "worker died: no heartbeat for 3 s") for i in range(3)], "retry"),
        ([_a(i, "FAIL", "worker died: no heartbeat for 3 s") for i in range(4)], "failed"),
        (  # interruptions do not use up retries
            [_a(i, "FAIL", "interrupted (Ctrl-C or SIGTERM); re-queued") for i in range(9)],
            "retry",
        ),
    ],
)
def test_slot_state(attempts: list[Attempt], expected: str) -> None:
    assert slot_state(attempts, max_retry=3) == expected


# ---- crafting storage states ---------------------------------------------------------------------
def _layout(config: Path, url: str) -> optuna.storages.BaseStorage:
    cfg = load_config(config)
    store = open_storage(normalize_url(url, cfg.name), heartbeat_interval=1, grace_period=3)
    prepare_study(cfg, store)
    return store


def _study_id(store: optuna.storages.BaseStorage, config: Path, shard: int) -> int:
    search = next(s for s in searches_of(load_config(config)) if s.shard_size == shard)
    return store.get_study_id_from_name(search.optuna_name)


def _trial_id(store: optuna.storages.BaseStorage, config: Path, shard: int, slot: int) -> int:
    trials = store.get_all_trials(_study_id(store, config, shard))
    return next(t for t in trials if t.user_attrs.get("slot") == slot)._trial_id


def _claim(store: optuna.storages.BaseStorage, trial_id: int) -> None:
    """What a worker does before it trains: a heartbeat, then WAITING -> RUNNING."""
    store.record_heartbeat(trial_id)
    assert store.set_trial_state_values(trial_id, TrialState.RUNNING)


def _age_heartbeats(store: optuna.storages.BaseStorage) -> None:
    """Every worker stopped beating long ago (as after a kill, without waiting for it)."""
    engine = store._backend.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(
            sqlalchemy.update(models.TrialHeartbeatModel).values(heartbeat=datetime(2000, 1, 1))
        )


def _storage_url(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> str:
    if backend == "postgresql":
        return str(request.getfixturevalue("pg_storage"))
    return f"sqlite:///{tmp_path / 'lost.db'}"


def _run(
    config: Path, url: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    cmd = [SCALINGLAB, "study", "run", str(config), "--storage", url, "--workers", "1",
           "--no-progress"]  # fmt: skip
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})}
    )


def _assert_every_slot_done_once(df: pd.DataFrame, n_slots: int) -> None:
    done = df[df["state"].isin(["COMPLETE", "PRUNED"])]
    assert len(done) == n_slots, df[["shard_size", "trial", "slot", "state", "error"]]
    assert not done.duplicated(["seed", "shard_size", "slot"]).any()
    assert not df["state"].isin(["RUNNING", "WAITING"]).any()


BACKENDS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.xdist_group("postgres")),
]


# ---- the crash between FAIL and retry ------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_crash_between_fail_and_retry_loses_no_slot(
    write_study: Callable[..., Path], tmp_path: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    config = write_study("hook", **TINY)
    url = _storage_url(request, tmp_path, backend)
    store = _layout(config, url)
    dead = _trial_id(store, config, 512, 1)
    _claim(store, dead)  # a worker claimed shard 512 slot 1 ...
    _age_heartbeats(store)  # ... and died

    # The next run fails the stale trial and, in the same transaction, is SIGKILLed by the hook
    # after the FAIL is sent and before the retry is: the database must hold neither.
    crashed = _run(config, url, {KILL_HOOK_ENV: KILL_HOOK_FAIL_RETRY})
    assert crashed.returncode == -9, crashed.stdout + crashed.stderr
    df = load_results("hook", url)
    assert len(df) == 6
    assert df.loc[df["slot"].eq(1) & df["shard_size"].eq(512), "state"].tolist() == ["RUNNING"]

    rerun = _run(config, url)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "6/6 slots finished, 0 running, 0 queued" in rerun.stdout
    after = load_results("hook", url)
    _assert_every_slot_done_once(after, 6)
    failed = after[after["state"] == "FAIL"]
    assert len(failed) == 1  # the dead worker's trial, once, saying why
    assert failed["error"].iloc[0].startswith("worker died: no heartbeat for ")
    retry = after[after["retry_of"].notna()]
    assert len(retry) == 1 and retry["retry_of"].iloc[0] == failed["trial"].iloc[0]
    assert retry["slot"].iloc[0] == 1 and retry["state"].iloc[0] == "COMPLETE"


# ---- reconcile on start --------------------------------------------------------------------------
@pytest.mark.slow
def test_a_lost_slot_of_a_finished_study_is_run_on_the_next_start(
    write_study: Callable[..., Path], tmp_path: Path
) -> None:
    """The storage state of the bug: one slot holds a single FAIL row with no error text (Optuna
    failed the stale trial, the kill came before the retry), every other slot is done."""
    config = write_study("lost", **TINY)
    url = f"sqlite:///{tmp_path / 'lost.db'}"
    store = _layout(config, url)
    lost = _trial_id(store, config, 512, 1)
    _claim(store, lost)
    assert store.set_trial_state_values(lost, TrialState.FAIL)  # fail_stale_trials, no retry
    for shard in (256, 512):
        for slot in range(3):
            if (shard, slot) != (512, 1):  # the other slots are done (values made up)
                trial_id = _trial_id(store, config, shard, slot)
                _claim(store, trial_id)
                store.set_trial_state_values(trial_id, TrialState.COMPLETE, [1.0 + slot])

    before = study_status("lost", url)
    assert (before.finished, before.failed, before.waiting) == (5, 0, 1)  # to be queued again
    assert needs_recovery(store, _study_id(store, config, 512), 3)

    rerun = _run(config, url)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "6/6 slots finished" in rerun.stdout
    after = load_results("lost", url)
    _assert_every_slot_done_once(after, 6)
    retry = after[after["retry_of"].notna()]
    assert len(retry) == 1 and retry["slot"].iloc[0] == 1 and retry["shard_size"].iloc[0] == 512


def test_recovering_twice_queues_one_retry(
    write_study: Callable[..., Path], tmp_path: Path
) -> None:
    config = write_study("twice", **TINY)
    store = _layout(config, f"sqlite:///{tmp_path / 'twice.db'}")
    dead = _trial_id(store, config, 256, 0)
    _claim(store, dead)
    _age_heartbeats(store)
    study_id = _study_id(store, config, 256)
    assert recover(store, study_id, grace_period=3, max_retry=3) == 1
    assert recover(store, study_id, grace_period=3, max_retry=3) == 0  # the slot has its retry
    assert not needs_recovery(store, study_id, 3)
    trials = store.get_all_trials(study_id)
    assert [t.state for t in trials if t.user_attrs["slot"] == 0] == [
        TrialState.FAIL, TrialState.WAITING
    ]  # fmt: skip
    dead_trial, retry = (t for t in trials if t.user_attrs["slot"] == 0)
    assert dead_trial.user_attrs["result"]["error"].startswith("worker died: no heartbeat for")
    assert retry.system_attrs["failed_trial"] == dead_trial.number
    assert "result" not in retry.user_attrs


def test_a_fresh_heartbeat_is_not_stale(write_study: Callable[..., Path], tmp_path: Path) -> None:
    config = write_study("alive", **TINY)
    store = _layout(config, f"sqlite:///{tmp_path / 'alive.db'}")
    _claim(store, _trial_id(store, config, 256, 0))  # a worker just claimed it and is training
    study_id = _study_id(store, config, 256)
    assert not needs_recovery(store, study_id, 3)
    assert recover(store, study_id, grace_period=3, max_retry=3) == 0
    assert TrialState.FAIL not in {t.state for t in store.get_all_trials(study_id)}


# ---- status counts slots; `study run` exits 1 on a failed slot -----------------------------------
def test_status_counts_slots_and_run_exits_1_when_a_slot_failed(
    write_study: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_study("failed", **TINY)
    url = f"sqlite:///{tmp_path / 'failed.db'}"
    store = _layout(config, url)
    for shard in (256, 512):
        for slot in range(3):
            trial_id = _trial_id(store, config, shard, slot)
            _claim(store, trial_id)
            if (shard, slot) == (512, 1):  # its training raised: a failure of its own
                store.set_trial_user_attr(trial_id, "result", {"error": "RuntimeError: boom"})
                store.set_trial_state_values(trial_id, TrialState.FAIL)
            elif (shard, slot) == (256, 2):  # its worker died once, the retry completed
                store.set_trial_state_values(trial_id, TrialState.FAIL)
                retry = store.create_new_trial(
                    _study_id(store, config, shard),
                    optuna.trial.create_trial(
                        state=TrialState.COMPLETE, value=1.0, user_attrs={"slot": slot},
                        system_attrs={"failed_trial": 2},
                    ),
                )  # fmt: skip
                assert retry
            else:
                store.set_trial_state_values(trial_id, TrialState.COMPLETE, [1.0 + slot])

    status = study_status("failed", url)
    assert (status.total, status.finished, status.failed) == (6, 5, 1)  # 7 rows, 6 slots
    assert (status.running, status.waiting, status.state) == (0, 0, "finished")
    assert [f.label() for f in status.failures] == ["shard 512 slot 1: RuntimeError: boom"]

    assert run_app(["study", "run", str(config), "--storage", url, "--no-progress"]) == 1
    out, err = capsys.readouterr()
    assert "5/6 slots finished, 1 failed (shard 512 slot 1: RuntimeError: boom)" in out
    assert "failed: shard 512 slot 1: RuntimeError: boom" in err
    assert "1 slot(s) failed (exit code 1)" in err

    assert run_app(["study", "status", "failed", "--storage", url]) == 0
    assert "5/6 slots finished, 1 failed" in capsys.readouterr().out


def test_a_slow_worker_whose_trial_was_retried_drops_its_result(
    write_study: Callable[..., Path], tmp_path: Path
) -> None:
    """A worker stopped past the grace period (SIGSTOP, swap) is taken for dead: its trial is
    failed and retried. When it wakes up it must not finish the slot a second time."""
    config = write_study("slow", **TINY)
    url = f"sqlite:///{tmp_path / 'slow.db'}"
    store = _layout(config, url)
    worker = Worker(
        WorkerSpec(normalize_url(url, "slow"), load_config(config).model_dump(mode="json"))
    )
    claimed = worker._claim()
    assert claimed is not None
    search, trial_id = claimed
    _age_heartbeats(store)  # it stopped beating ...
    study_id = _study_id(store, config, search.shard_size)
    assert recover(store, study_id, grace_period=3, max_retry=3) == 1  # ... and was retried
    worker._run_trial(search, trial_id)  # ... then it wakes up
    assert worker.report.lost == 1 and worker.report.completed == 0
    slot = store.get_trial(trial_id).user_attrs["slot"]
    states = [t.state for t in store.get_all_trials(study_id) if t.user_attrs["slot"] == slot]
    assert states == [TrialState.FAIL, TrialState.WAITING]  # the retry is the slot's
