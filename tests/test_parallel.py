"""`worker_pool`: a real parent process with real spawned workers, stopped the two ways a user
stops a command (SIGTERM, Ctrl-C); no worker may outlive it, and Ctrl-C must not wait for the
queued tasks."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.signals import as_in_a_terminal

PARENT = textwrap.dedent(
    """
    import os, sys, time
    from scalinglab.parallel import worker_pool

    def task(path):
        with open(path, "a") as fh:
            fh.write(f"{os.getpid()}\\n")
        time.sleep(600)

    if __name__ == "__main__":
        with worker_pool(2) as pool:
            list(pool.map(task, [sys.argv[1]] * 8))
    """
)


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def start(tmp_path: Path) -> tuple[subprocess.Popen[str], list[int]]:
    """The parent, once both its workers are in their (10-minute) first tasks."""
    script, pids = tmp_path / "parent.py", tmp_path / "pids.txt"
    script.write_text(PARENT)
    parent = subprocess.Popen(
        [sys.executable, str(script), str(pids)],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_in_a_terminal,
    )
    for _ in range(600):  # spawning imports scalinglab in each worker: seconds, not minutes
        if pids.exists() and len(pids.read_text().split()) >= 2:
            return parent, [int(v) for v in pids.read_text().split()]
        time.sleep(0.1)
    parent.kill()
    pytest.fail("the workers never started")


def gone(pids: list[int]) -> bool:
    for _ in range(300):
        if not any(alive(pid) for pid in pids):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_no_worker_outlives_its_stopped_parent(tmp_path: Path, sig: signal.Signals) -> None:
    parent, workers = start(tmp_path)
    assert all(alive(pid) for pid in workers)
    parent.send_signal(sig)
    _, err = parent.communicate(timeout=60)  # 8 queued tasks of 10 minutes: it did not wait
    assert parent.returncode != 0
    assert gone(workers), "a worker outlived its parent"
    # Ctrl-C is the parent's: one KeyboardInterrupt, none from the workers
    assert err.count("KeyboardInterrupt") == (1 if sig == signal.SIGINT else 0)
