"""Crash safety: a study killed with SIGKILL mid-run resumes without losing or redoing trials;
Ctrl-C stops cleanly and re-queues the trial in flight."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from scalinglab.study import load_results, run_study
from tests.signals import as_in_a_terminal

SCALINGLAB = str(Path(sys.executable).with_name("scalinglab"))


# Long enough that Ctrl-C lands mid-study even on a quiet machine: the first completions come
# from the 256-example shard, while the 4,096-example shards take seconds per trial.
LONG_STUDY = {"largest": 4096, "trials_per_shard": 3, "max_epochs": 40, "model_sizes": "[8, 64]"}


def _start(config: Path, storage: str, workers: int, *extra: str) -> subprocess.Popen[bytes]:
    cmd = [SCALINGLAB, "study", "run", str(config), "--storage", storage,
           "--workers", str(workers), "--no-progress", *extra]  # fmt: skip
    return subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=as_in_a_terminal,
    )


def _wait_for_completed(db: Path, n: int, proc: subprocess.Popen[bytes]) -> None:
    """Return as soon as `n` trials are COMPLETE, the run still going.

    Polls the SQLite file with one cheap query: a slow poll (load_results takes seconds on a
    busy CI machine) could see the n-th completion only after the whole study has finished.
    """
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[0].decode()[-2000:]
        try:
            with contextlib.closing(sqlite3.connect(db, timeout=5)) as con:
                query = "SELECT count(*) FROM trials WHERE state = 'COMPLETE'"
                (done,) = con.execute(query).fetchone()
        except sqlite3.Error:  # the study is still being laid out
            done = 0
        if done >= n:
            assert proc.poll() is None, "the study ended before Ctrl-C: make LONG_STUDY longer"
            return
        time.sleep(0.1)
    raise TimeoutError(f"fewer than {n} trials completed in time")


def _key(df: pd.DataFrame) -> set[tuple[object, ...]]:
    cols = ["seed", "shard_size", "trial", "slot", "model_size", "lr", "best_val_loss"]
    return set(df[cols].itertuples(index=False, name=None))


@pytest.mark.slow
def test_sigkill_mid_run_then_resume(write_study: Callable[..., Path], tmp_path: Path) -> None:
    config = write_study("crash", largest=2048, trials_per_shard=3, max_epochs=10)  # 4 x 3
    db = tmp_path / "crash.db"
    storage = f"sqlite:///{db}"
    proc = _start(config, storage, workers=2)
    _wait_for_completed(db, 3, proc)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole run dies at once, like a lost machine
    proc.wait()

    before = load_results("crash", storage)
    completed = before[before["state"] == "COMPLETE"]
    assert 3 <= len(completed) < 12
    assert (before["state"] != "COMPLETE").any()  # it really died mid-run

    result = run_study(config, storage=storage, workers=1, progress=False)
    assert result.finished and not result.errors

    after = load_results("crash", storage)
    # Every trial completed before the kill is still there, unchanged, exactly once.
    assert _key(completed) <= _key(after[after["state"] == "COMPLETE"])
    finished = after[after["state"].isin(["COMPLETE", "PRUNED"])]
    assert not finished.duplicated(["seed", "shard_size", "slot"]).any()
    # ... and every slot of every shard is filled: the study finished, nothing lost.
    assert len(finished) == 4 * 3
    assert set(after["state"]) <= {"COMPLETE", "PRUNED", "FAIL"}
    # Trials that were running when the worker died were failed (stale heartbeat) and retried.
    dead = after[after["state"] == "FAIL"]
    retried = after[after["retry_of"].notna()]
    assert len(dead) == len(retried)
    for _, row in retried.iterrows():
        match = dead[(dead["shard_size"] == row["shard_size"]) & (dead["trial"] == row["retry_of"])]
        assert len(match) == 1 and match["slot"].iloc[0] == row["slot"]
        if pd.notna(match["lr"].iloc[0]):  # killed before its parameters were drawn: new ones
            assert match["lr"].iloc[0] == row["lr"]  # same parameters, run again


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sig", "workers", "to_group"),
    [
        (signal.SIGINT, 1, True),  # Ctrl-C: a terminal signals the whole foreground group
        (signal.SIGTERM, 2, False),  # `kill PID` of the command; its worker processes follow
    ],
    ids=["ctrl-c", "sigterm"],
)
def test_ctrl_c_requeues_the_running_trial(
    write_study: Callable[..., Path], tmp_path: Path, sig: int, workers: int, to_group: bool
) -> None:
    config = write_study("ctrlc", **LONG_STUDY)
    db = tmp_path / "ctrlc.db"
    storage = f"sqlite:///{db}"
    proc = _start(config, storage, workers=workers)
    _wait_for_completed(db, 2, proc)
    (os.killpg if to_group else os.kill)(proc.pid, sig)
    out = proc.communicate(timeout=60)[0].decode()
    assert ", 0 queued" not in out, "the study ended before the signal: make LONG_STUDY longer"
    assert proc.returncode == 130, out
    assert "to resume" in out
    assert "Traceback" not in out and "leaked" not in out  # no storage write broken into

    df = load_results("ctrlc", storage)
    assert "RUNNING" not in set(df["state"])  # nothing left dangling for a heartbeat to find
    result = run_study(config, storage=storage, workers=1, progress=False)
    assert result.finished
    after = load_results("ctrlc", storage)
    finished = after[after["state"].isin(["COMPLETE", "PRUNED"])]
    assert len(finished) == 5 * 3 and not finished.duplicated(["shard_size", "slot"]).any()


@pytest.mark.slow
@pytest.mark.xdist_group("ray")
def test_ctrl_c_on_ray_requeues_the_running_trials(
    write_study: Callable[..., Path], tmp_path: Path, ray_address: str
) -> None:
    config = write_study("rayc", **LONG_STUDY)
    db = tmp_path / "rayc.db"
    storage = f"sqlite:///{db}"
    proc = _start(config, storage, 2, "--executor", "ray", "--address", ray_address)
    _wait_for_completed(db, 2, proc)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the driver cancels its Ray tasks
    out = proc.communicate(timeout=90)[0].decode()
    assert ", 0 queued" not in out, "the study ended before Ctrl-C: make LONG_STUDY longer"
    assert proc.returncode == 130, out
    assert "to resume" in out and "Traceback" not in out

    df = load_results("rayc", storage)
    assert "RUNNING" not in set(df["state"])  # each cancelled task re-queued its trial
    result = run_study(config, storage=storage, executor="ray", address=ray_address, workers=2,
                       progress=False)  # fmt: skip
    assert result.finished and not result.errors
    after = load_results("rayc", storage)
    finished = after[after["state"].isin(["COMPLETE", "PRUNED"])]
    assert len(finished) == 5 * 3 and not finished.duplicated(["shard_size", "slot"]).any()
