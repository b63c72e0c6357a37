"""Worker processes that never outlive the command that started them.

A `ProcessPoolExecutor` on its own leaves its workers behind when its parent is killed
(`kill PID`, a batch scheduler's stop): they finish the task in hand, for nobody, and then stay,
blocked, holding their memory. And on Ctrl-C every worker, being in the terminal's process
group, prints its own KeyboardInterrupt traceback, while the executor's exit waits for every
task still queued. `worker_pool` gives
spawned workers that die with their parent (Linux PR_SET_PDEATHSIG, and a check that the parent
is still the one that started them) and leave Ctrl-C to it; when the parent stops on an error
or Ctrl-C, the queued tasks are cancelled instead of run.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context


def die_with_parent() -> None:
    """Ask Linux to send SIGTERM to this process when its parent dies (no orphan workers)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _init_worker(parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    die_with_parent()
    if os.getppid() != parent:  # the parent died before the request above was made
        os._exit(1)


@contextlib.contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """`workers` spawned processes for `pool.map`/`submit`; see the module doc."""
    pool = ProcessPoolExecutor(
        workers,
        mp_context=get_context("spawn"),
        initializer=_init_worker,
        initargs=(os.getpid(),),
    )
    try:
        yield pool
    except BaseException:
        # The tasks in flight would otherwise run to their end before the interpreter may exit
        # (the executor joins its workers at exit), so the workers are stopped too; shutdown
        # forgets them, hence the list first (ProcessPoolExecutor.terminate_workers() does this
        # from Python 3.14 on).
        started = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in started:
            process.terminate()
        raise
    pool.shutdown(wait=True)
