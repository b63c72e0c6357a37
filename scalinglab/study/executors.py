"""Where trials run: local worker processes (default) or a Ray cluster; same study file on both.

Both executors start K copies of the worker loop (scalinglab.study.worker) against the shared
storage; each worker runs one trial at a time, so a worker needs what one trial declares
(`[resources] cpus_per_trial`, `gpus_per_trial`) and K defaults to how many trials fit at once
(local: cores // cpus_per_trial; Ray: the cluster's CPUs // cpus_per_trial), and no more than
the GPUs allow when trials ask for them (`gpus // gpus_per_trial`).

GPUs: Ray places each worker on a node with `gpus_per_trial` free GPUs and sets its
CUDA_VISIBLE_DEVICES itself. The local executor does the same by hand: with `gpus_per_trial = 1`
worker i sees only visible GPU i (with 2, GPUs 2i and 2i+1; with 0.5, two workers share a GPU),
so "auto" or "cuda" in each worker is its own GPU and no two trials fight over one.

On a multi-node Ray cluster every node needs scalinglab (and the task's data) installed, and the
storage must be reachable from every node: use PostgreSQL, not a SQLite file.

With one local worker the loop runs in this process (no start-up cost, and a task given as a
Python object needs no pickling). Worker processes die with their parent (Linux
PR_SET_PDEATHSIG), and on Ctrl-C the parent asks each to re-queue its trial and stop.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing as mp
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from scalinglab.errors import ScalingLabError
from scalinglab.parallel import die_with_parent
from scalinglab.study.config import ResourceSpec
from scalinglab.study.worker import WorkerReport, WorkerSpec, run_worker

SpecFactory = Callable[[str, int], WorkerSpec]  # (worker id, threads) -> spec
STOP_GRACE = 30.0  # seconds a stopped worker gets to re-queue its trial
# Most workers one `study run` starts: each is a process (or Ray task) of its own, so 2*10**9
# once ran out of memory listing them. Far more than the trials one machine or cluster runs at once.
MAX_WORKERS = 1024


@dataclass
class ExecutionResult:
    """What the executor's workers reported."""

    reports: list[WorkerReport] = field(default_factory=list)
    interrupted: bool = False
    errors: list[str] = field(default_factory=list)  # workers that crashed outside any trial


def check_workers(workers: int | None) -> None:
    """--workers, when given, is 1..MAX_WORKERS."""
    if workers is not None and workers < 1:
        raise ScalingLabError(f"--workers must be at least 1, got {workers}")
    if workers is not None and workers > MAX_WORKERS:
        raise ScalingLabError(f"--workers {workers} is more than {MAX_WORKERS}; give at most that")


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def visible_gpus() -> list[str]:
    """The CUDA GPUs this process may use, as CUDA_VISIBLE_DEVICES names them (ids or UUIDs);
    [] without CUDA."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g.strip() for g in env.split(",") if g.strip() and g.strip() != "-1"]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def gpu_assignment(n_workers: int, gpus: list[str], gpus_per_trial: float) -> list[str | None]:
    """CUDA_VISIBLE_DEVICES of each local worker: one (or `gpus_per_trial`) GPU(s) each, in
    order; a fraction lets that many workers share one GPU. None: leave the worker's alone."""
    if gpus_per_trial <= 0 or not gpus:
        return [None] * n_workers
    out: list[str | None] = []
    for i in range(n_workers):
        if gpus_per_trial >= 1:
            k = math.ceil(gpus_per_trial)
            ids = gpus[(i * k) % len(gpus) : (i * k) % len(gpus) + k]
        else:
            ids = [gpus[int(i * gpus_per_trial) % len(gpus)]]
        out.append(",".join(ids))
    return out


def _process_main(spec: WorkerSpec, queue: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent forwards Ctrl-C as SIGTERM
    die_with_parent()
    try:
        queue.put(run_worker(spec))
    except Exception as exc:
        queue.put(f"{spec.worker_id}: {type(exc).__name__}: {exc}")


class LocalExecutor:
    """K worker processes on this machine (one per core by default)."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        check_workers(workers)
        self.workers = workers

    def n_workers(self, resources: ResourceSpec, gpus: int = 0) -> int:
        """--workers, else one per cpus_per_trial cores, and at most one per gpus_per_trial of
        the `gpus` visible GPUs when trials ask for GPUs."""
        if self.workers is not None:
            return self.workers
        k = max(1, int(cpu_count() // max(resources.cpus_per_trial, 1e-9)))
        if resources.gpus_per_trial > 0 and gpus > 0:
            k = min(k, max(1, int(gpus // resources.gpus_per_trial)))
        return k

    def run(self, make_spec: SpecFactory, resources: ResourceSpec) -> ExecutionResult:
        cores = cpu_count()
        if resources.cpus_per_trial > cores:  # a trial trains with that many threads
            raise ScalingLabError(
                f"[resources] cpus_per_trial = {resources.cpus_per_trial:g} is more than this "
                f"machine's {cores} CPUs; lower it to at most {cores}, or run on a Ray cluster "
                "(--executor ray)"
            )
        gpus = visible_gpus() if resources.gpus_per_trial > 0 else []
        k = self.n_workers(resources, len(gpus))
        threads = max(1, math.floor(resources.cpus_per_trial))
        if k == 1:
            report = run_worker(make_spec("w0", threads))
            return ExecutionResult([report], interrupted=report.stopped == "interrupted")
        ctx = mp.get_context("spawn")  # no forked SQLAlchemy pools or torch thread pools
        queue = ctx.Queue()
        pinned = gpu_assignment(k, gpus, resources.gpus_per_trial)
        procs = [
            ctx.Process(
                target=_process_main,
                args=(replace(make_spec(f"w{i}", threads), visible_gpus=pinned[i]), queue),
            )
            for i in range(k)
        ]
        for proc in procs:
            proc.start()
        result = ExecutionResult()
        try:
            while any(p.is_alive() for p in procs) or not queue.empty():
                self._drain(queue, result)
                time.sleep(0.2)
        except KeyboardInterrupt:
            result.interrupted = True
            for proc in procs:
                if proc.is_alive() and proc.pid is not None:
                    os.kill(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_GRACE
            for proc in procs:
                proc.join(max(0.0, deadline - time.monotonic()))
                if proc.is_alive():
                    proc.kill()  # its trial goes stale and is retried on the next run
        for proc in procs:
            proc.join()
        self._drain(queue, result)
        for proc in procs:
            if proc.exitcode not in (0, None) and not result.interrupted:
                result.errors.append(f"worker process {proc.pid} exited with {proc.exitcode}")
        return result

    @staticmethod
    def _drain(queue: Any, result: ExecutionResult) -> None:
        while True:
            try:
                item = queue.get_nowait()
            except Exception:
                return
            if isinstance(item, WorkerReport):
                result.reports.append(item)
                result.interrupted |= item.stopped == "interrupted"
            else:
                result.errors.append(str(item))


class RayExecutor:
    """K worker tasks on a Ray cluster (`address`, else RAY_ADDRESS, else a local instance)."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        check_workers(workers)
        self.address = address
        self.workers = workers

    def run(self, make_spec: SpecFactory, resources: ResourceSpec) -> ExecutionResult:
        try:
            import ray
        except ImportError:
            raise ScalingLabError(
                "the Ray executor needs ray: pip install scalinglab[ray]"
            ) from None
        started_here = not ray.is_initialized()
        if started_here:
            try:
                ray.init(
                    address=self.address,
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                )
            except (ConnectionError, ValueError, RuntimeError) as exc:
                where = self.address or os.environ.get("RAY_ADDRESS") or "a local instance"
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                raise ScalingLabError(f"cannot connect to Ray at {where}: {first}") from None
        try:
            return self._run(ray, make_spec, resources)
        finally:
            if started_here:
                ray.shutdown()

    def _run(self, ray: Any, make_spec: SpecFactory, resources: ResourceSpec) -> ExecutionResult:
        cluster = ray.cluster_resources()
        cpus = float(cluster.get("CPU", 1.0))
        if resources.cpus_per_trial > cpus:  # Ray would wait forever for a node that big
            raise ScalingLabError(
                f"[resources] cpus_per_trial = {resources.cpus_per_trial:g} is more than the Ray "
                f"cluster's {cpus:g} CPUs; lower it, or add nodes"
            )
        if self.workers is not None:
            k = self.workers
        else:
            k = max(1, int(cpus // max(resources.cpus_per_trial, 1e-9)))
            if resources.gpus_per_trial > 0:  # Ray would queue the rest: no more than fit
                k = min(k, max(1, int(float(cluster.get("GPU", 0.0)) // resources.gpus_per_trial)))
        threads = max(1, math.floor(resources.cpus_per_trial))
        remote = ray.remote(run_worker).options(
            num_cpus=resources.cpus_per_trial,
            num_gpus=resources.gpus_per_trial,
            max_retries=0,  # a dead worker's trial is retried through the storage instead
        )
        refs = [remote.remote(make_spec(f"ray{i}", threads)) for i in range(k)]
        result = ExecutionResult()
        pending = list(refs)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1, timeout=0.5)
                for ref in done:
                    self._collect(ray, ref, result)
        except KeyboardInterrupt:
            result.interrupted = True
            for ref in pending:
                with contextlib.suppress(Exception):
                    ray.cancel(ref)  # raises KeyboardInterrupt in the task: it re-queues
            with contextlib.suppress(Exception):
                ray.wait(pending, num_returns=len(pending), timeout=STOP_GRACE)
        return result

    @staticmethod
    def _collect(ray: Any, ref: Any, result: ExecutionResult) -> None:
        try:
            report = ray.get(ref)
        except Exception as exc:
            first = str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)
            result.errors.append(f"ray worker failed: {first}")
            return
        result.reports.append(report)
        result.interrupted |= report.stopped == "interrupted"


def make_executor(
    kind: str, workers: int | None = None, address: str | None = None
) -> LocalExecutor | RayExecutor:
    """The executor named `kind` ("local" or "ray")."""
    if kind == "local":
        if address is not None:
            raise ScalingLabError("--address is for --executor ray")
        return LocalExecutor(workers)
    if kind == "ray":
        return RayExecutor(address, workers)
    raise ScalingLabError(f"unknown executor {kind!r}; use local or ray")
