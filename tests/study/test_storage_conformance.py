"""One conformance suite, run on every storage backend (SQLite and a real PostgreSQL server).

What scalinglab.study relies on from a storage opened by `open_storage(url)`, as Optuna runs its
storage tests on every backend: studies and their attributes persist across opens; values written
come back the same (JSON attributes with NaN and nested data, infinite objective values,
intermediate values); a queued trial is claimed by one caller only, across processes too; a
finished trial stays finished; heartbeats tell a silent trial from a live one; a fresh database
opened by several processes at once gets one schema; a storage that cannot be opened is one clear
line that never shows a password.
"""

from __future__ import annotations

import math
import multiprocessing
import multiprocessing.queues
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import optuna
import pytest
import sqlalchemy
from optuna.storages._rdb import models
from optuna.trial import TrialState

from scalinglab.errors import ScalingLabError
from scalinglab.study.storage import (
    display_url,
    normalize_url,
    open_storage,
    shard_study_name,
    sqlite_path,
)

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.xdist_group("postgres")),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty storage of the backend, as the SQLAlchemy URL scalinglab opens."""
    if backend == "postgresql":
        return normalize_url(str(request.getfixturevalue("pg_storage")), "conformance")
    return normalize_url(str(tmp_path / "conformance.db"), "conformance")


def _study(storage: optuna.storages.BaseStorage, name: str = "s") -> optuna.Study:
    return optuna.create_study(study_name=name, storage=storage, direction="minimize")


def _queue(storage: optuna.storages.BaseStorage, n: int, name: str = "s") -> int:
    """A study with n WAITING trials in slots 0..n-1, as scalinglab.study.layout queues them."""
    study = _study(storage, name)
    for slot in range(n):
        study.enqueue_trial({"model_size": 8, "lr": 1e-3}, user_attrs={"slot": slot})
    return study._study_id


# --------------------------------------------------------------------------------------------
# Studies and values
# --------------------------------------------------------------------------------------------
def test_url_kind_is_recognised(url: str, backend: str) -> None:
    assert (sqlite_path(url) is not None) == (backend == "sqlite")
    assert url.startswith("sqlite:///" if backend == "sqlite" else "postgresql+psycopg://")


def test_studies_and_their_attributes_persist_across_opens(url: str) -> None:
    config = {"name": "e2e", "shards": {"smallest": 128, "largest": 4096}, "seeds": [0, 1]}
    names = [shard_study_name("e2e", seed, m) for seed in (0, 1) for m in (128, 4096)]
    first = open_storage(url)
    parent = _study(first, "e2e")
    parent.set_user_attr("scalinglab.config", config)
    parent.set_user_attr("scalinglab.ready", True)
    for name in names:
        _study(first, name).set_user_attr("parent", "e2e")

    again = open_storage(url, create=False)
    loaded = optuna.load_study(study_name="e2e", storage=again)
    assert loaded.user_attrs == {"scalinglab.config": config, "scalinglab.ready": True}
    summaries = optuna.get_all_study_summaries(again, include_best_trial=False)
    assert sorted(s.study_name for s in summaries) == sorted(["e2e", *names])
    for name in names:  # "/" and "=" in names are kept as they are
        assert optuna.load_study(study_name=name, storage=again).user_attrs == {"parent": "e2e"}


def test_json_attributes_round_trip(url: str) -> None:
    record = {
        "best_val_loss": 0.6931471805599453,
        "best_val_error": math.nan,  # a task without an error metric
        "flops": 3.1e21,
        "tiny": 5e-324,
        "curve": [[128, 2.5], [256, 1.25]],
        "host": "nœud-1 ✓",
        "pruned": False,
        "note": None,
    }
    storage = open_storage(url)
    trial = _study(storage).ask()
    trial.set_user_attr("result", record)
    got = open_storage(url).get_trial(trial._trial_id).user_attrs["result"]
    assert math.isnan(got.pop("best_val_error"))
    assert got == {k: v for k, v in record.items() if k != "best_val_error"}


@pytest.mark.parametrize("value", [0.125, -3.5, math.inf, -math.inf, 1e300])
def test_objective_and_intermediate_values_round_trip(url: str, value: float) -> None:
    storage = open_storage(url)
    study = _study(storage)
    trial = study.ask()
    for step, v in enumerate([2.0, value, math.inf]):
        trial.report(v, step)
    study.tell(trial, value)
    frozen = open_storage(url).get_trial(trial._trial_id)
    assert frozen.state == TrialState.COMPLETE
    assert frozen.value == value
    assert frozen.intermediate_values == {0: 2.0, 1: value, 2: math.inf}


def test_queued_trials_keep_their_params_and_slots(url: str) -> None:
    storage = open_storage(url)
    study_id = _queue(storage, 5)
    trials = open_storage(url).get_all_trials(study_id, deepcopy=False)
    assert [t.state for t in trials] == [TrialState.WAITING] * 5
    assert [t.user_attrs["slot"] for t in trials] == list(range(5))
    assert all(t.system_attrs["fixed_params"] == {"model_size": 8, "lr": 1e-3} for t in trials)


# --------------------------------------------------------------------------------------------
# Claims and finished trials
# --------------------------------------------------------------------------------------------
def test_a_queued_trial_is_claimed_once(url: str) -> None:
    storage = open_storage(url)
    study_id = _queue(storage, 1)
    trial_id = storage.get_all_trials(study_id, deepcopy=False)[0]._trial_id
    other = open_storage(url)  # another worker, with its own connection
    assert storage.set_trial_state_values(trial_id, TrialState.RUNNING) is True
    assert other.set_trial_state_values(trial_id, TrialState.RUNNING) is False
    assert other.get_trial(trial_id).state == TrialState.RUNNING


def test_a_finished_trial_stays_finished(url: str) -> None:
    storage = open_storage(url)
    study = _study(storage)
    trial = study.ask()
    study.tell(trial, 1.5)
    other = open_storage(url)
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        other.set_trial_state_values(trial._trial_id, TrialState.FAIL)
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        other.set_trial_user_attr(trial._trial_id, "result", {"late": True})
    assert other.get_trial(trial._trial_id).value == 1.5


def _claim_all(url: str, out: multiprocessing.queues.SimpleQueue[list[int]]) -> None:
    """Claim every WAITING trial this process can, as a worker does; put the ids it got."""
    storage = open_storage(url)
    study_id = storage.get_study_id_from_name("s")
    got = []
    while True:
        waiting = storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.WAITING,))
        if not waiting:
            break
        for t in waiting:
            if storage.set_trial_state_values(t._trial_id, TrialState.RUNNING):
                got.append(t._trial_id)
                break
    out.put(got)


def _in_processes(target: Callable[..., None], url: str, n: int) -> list[Any]:
    """Run target(url, queue) in n forked processes at once (each opens its own storage: no
    connection crosses the fork); returns what each put on the queue."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.SimpleQueue()
    procs = [ctx.Process(target=target, args=(url, queue)) for _ in range(n)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=240)
        assert proc.exitcode == 0, f"a process exited with {proc.exitcode}"
    return [queue.get() for _ in procs]


def test_claims_across_processes_are_exclusive(url: str) -> None:
    n = 40
    _queue(open_storage(url), n)
    every = [trial_id for got in _in_processes(_claim_all, url, 3) for trial_id in got]
    assert len(every) == len(set(every)) == n, "a trial was claimed twice, or one was left"


# --------------------------------------------------------------------------------------------
# Heartbeats
# --------------------------------------------------------------------------------------------
def _running_trial(url: str) -> tuple[int, int]:
    storage = open_storage(url, heartbeat_interval=1, grace_period=60)
    study_id = _queue(storage, 1)
    trial_id = storage.get_all_trials(study_id, deepcopy=False)[0]._trial_id
    assert storage.set_trial_state_values(trial_id, TrialState.RUNNING)
    storage.record_heartbeat(trial_id)  # type: ignore[attr-defined]
    return study_id, trial_id


def _stale(url: str, study_id: int) -> list[int]:
    storage = open_storage(url, heartbeat_interval=1, grace_period=60)
    backend = storage._backend  # type: ignore[attr-defined]
    return list(backend._get_stale_trial_ids(study_id))


def test_a_fresh_heartbeat_is_live(url: str) -> None:
    # The database's clock both writes and judges a beat: no time zone makes a live trial stale.
    study_id, _ = _running_trial(url)
    assert _stale(url, study_id) == []


def test_a_silent_trial_is_stale(url: str) -> None:
    study_id, trial_id = _running_trial(url)
    engine = open_storage(url)._backend.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:  # the worker stopped beating long ago (no waiting for it)
        conn.execute(
            sqlalchemy.update(models.TrialHeartbeatModel).values(heartbeat=datetime(2000, 1, 1))
        )
    assert _stale(url, study_id) == [trial_id]


# --------------------------------------------------------------------------------------------
# Opening
# --------------------------------------------------------------------------------------------
def _open(url: str, out: multiprocessing.queues.SimpleQueue[bool]) -> None:
    open_storage(url)
    out.put(True)


def test_processes_opening_a_fresh_storage_at_once_share_one_schema(url: str) -> None:
    assert _in_processes(_open, url, 3) == [True] * 3
    storage = open_storage(url, create=False)
    _queue(storage, 2)
    assert len(storage.get_all_trials(storage.get_study_id_from_name("s"))) == 2


def test_a_storage_that_cannot_be_opened_is_one_line_without_the_password(
    url: str, backend: str, tmp_path: Path
) -> None:
    if backend == "sqlite":
        missing = normalize_url(str(tmp_path / "absent" / "nothing.db"), "x")
        with pytest.raises(ScalingLabError, match="no study database at") as info:
            open_storage(missing, create=False)
        assert not (tmp_path / "absent").exists()  # refusing created nothing
    else:
        parsed = sqlalchemy.engine.make_url(url)
        missing = parsed.set(password="s3cret-pw", database="no_such_db").render_as_string(
            hide_password=False
        )
        with pytest.raises(ScalingLabError, match="cannot open storage") as info:
            open_storage(missing)
        assert "s3cret-pw" not in str(info.value)
        assert display_url(missing) in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("memory", ["sqlite://", "sqlite:///:memory:", "sqlite:///", ":memory:"])
def test_in_memory_sqlite_is_refused_in_one_line(memory: str) -> None:
    # every worker process (and each open) would get its own empty database: KeyError in workers
    with pytest.raises(ScalingLabError, match="is an in-memory SQLite database") as info:
        normalize_url(memory, "x")
    assert "a study needs a file: sqlite:///study.db" in str(info.value)
    assert "\n" not in str(info.value)
