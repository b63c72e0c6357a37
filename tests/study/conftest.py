"""Fixtures of the study tests: small study files, and real servers on loopback.

- `postgres_url`: a throwaway PostgreSQL cluster (initdb + pg_ctl from the Debian `postgresql`
  package, run as the `postgres` user when we are root) on a free port; each test gets its own
  database from `pg_storage`.
- `ray_address`: a local Ray head (`ray start --head --block`, 2 CPUs, no dashboard) on a free
  port, in its own process group, which teardown terminates (never a machine-wide `ray stop`).

Tests using them are marked `xdist_group("postgres")` / `xdist_group("ray")` so `pytest -n 2
--dist loadgroup` starts each server once, in one worker.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.signals import as_in_a_terminal

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def study_toml(name: str, **overrides: Any) -> str:
    """A small, fast study of the synthetic task; `overrides` replace whole TOML lines by key."""
    values: dict[str, Any] = {
        "pool_size": 4096,
        "smallest": 256,
        "largest": 4096,
        "model_sizes": "[8, 32]",
        "trials_per_shard": 3,
        "sampler": '"random"',
        "pruner": '"none"',
        "max_epochs": 20,
        "seeds": "[0]",
        "heartbeat_interval": 1,
        "grace_period": 3,
    }
    values.update(overrides)
    return f"""
name = "{name}"
[task]
name = "synthetic"
options = {{ pool_size = {values["pool_size"]} }}
[shards]
smallest = {values["smallest"]}
largest = {values["largest"]}
[search]
model_sizes = {values["model_sizes"]}
trials_per_shard = {values["trials_per_shard"]}
sampler = {values["sampler"]}
pruner = {values["pruner"]}
hparams.lr = {{ low = 2e-3, high = 2e-2, log = true }}
[train]
seeds = {values["seeds"]}
max_epochs = {values["max_epochs"]}
patience = 2
[reliability]
heartbeat_interval = {values["heartbeat_interval"]}
grace_period = {values["grace_period"]}
"""


@pytest.fixture
def make_toml() -> Callable[..., str]:
    """The text of a small study file (see study_toml)."""
    return study_toml


@pytest.fixture
def write_study(tmp_path: Path) -> Callable[..., Path]:
    """Write a small study file into tmp_path; returns its path."""

    def write(name: str = "tiny", **overrides: Any) -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(study_toml(name, **overrides))
        return path

    return write


# ---- PostgreSQL ------------------------------------------------------------------------------
def _pg_bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL server on 127.0.0.1:<free port>; yields its URL (no database).

    Also used outside pytest, by benchmarks/chaos.py.
    """
    bindir = _pg_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed: run `make system` (package postgresql)")
    root = Path(tempfile.mkdtemp(prefix="sl-pg-", dir="/tmp"))
    data = root / "data"
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    if as_root:  # postgres refuses to run as root: run it as the package's `postgres` user
        shutil.chown(root, "postgres", "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    port = free_port()

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
        "--no-sync")  # fmt: skip
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
    )
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60",
        "-o", options, "start")  # fmt: skip
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        with contextlib.suppress(Exception):
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def create_database(server_url: str) -> str:
    """A fresh database on the server at `server_url`; returns its URL."""
    import psycopg

    db = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    return f"{server_url}/{db}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server on 127.0.0.1:<free port>, for this test session only."""
    if _pg_bindir() is None:
        pytest.fail("PostgreSQL is not installed: run `make system` (Debian package postgresql)")
    with postgres_server() as url:
        yield url


@pytest.fixture
def pg_storage(postgres_url: str) -> str:
    """A fresh database on the session's PostgreSQL server; returns its URL."""
    return create_database(postgres_url)


# ---- Ray -------------------------------------------------------------------------------------
def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ray start exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.3)
    raise TimeoutError(f"Ray head did not listen on port {port} within {timeout:.0f} s")


RAY_START_ATTEMPTS = 2  # a port another process takes between free_port() and Ray's bind


def _start_ray_head(ray_bin: Path, temp: Path) -> tuple[subprocess.Popen[bytes], int]:
    """`ray start --head --block` on fresh ports; returns the process and its GCS port once it
    listens. On failure the group is stopped and the error carries the tail of Ray's log."""
    port = free_port()
    ports = {
        "--node-manager-port": free_port(),
        "--object-manager-port": free_port(),
        "--ray-client-server-port": free_port(),
        "--dashboard-agent-listen-port": free_port(),
        "--dashboard-agent-grpc-port": free_port(),
        "--runtime-env-agent-port": free_port(),
        "--metrics-export-port": free_port(),
    }
    # Worker ports: a private range per session, below the kernel's ephemeral range (32768+),
    # where free_port() picks, so the two never overlap.
    base = 10000 + (os.getpid() % 200) * 100
    cmd = [
        str(ray_bin), "start", "--head", "--block", "--node-ip-address=127.0.0.1",
        f"--port={port}", "--num-cpus=2", "--num-gpus=0", "--include-dashboard=false",
        "--disable-usage-stats", f"--temp-dir={temp}", "--object-store-memory=100000000",
        f"--min-worker-port={base}", f"--max-worker-port={base + 99}",
        *[f"{k}={v}" for k, v in ports.items()],
    ]  # fmt: skip
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    log_path = temp / f"start-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            cwd=REPO,
            preexec_fn=as_in_a_terminal,  # Ray cancels a task with SIGINT to its worker
        )
    try:
        _wait_port(port, proc, timeout=90)
    except (RuntimeError, TimeoutError) as exc:
        _stop_group(proc)
        tail = log_path.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{exc}; its log ends:\n{tail}") from None
    return proc, port


@pytest.fixture(scope="session")
def ray_address() -> Iterator[str]:
    """A 2-CPU Ray head on 127.0.0.1, started for this session and stopped after it."""
    ray_bin = Path(sys.executable).with_name("ray")
    if not ray_bin.exists():
        pytest.fail("ray is not installed in this environment (pip install scalinglab[ray])")
    temp = Path(tempfile.mkdtemp(prefix="slray", dir="/tmp"))  # short: Ray's socket paths
    proc = None
    try:
        for attempt in range(1, RAY_START_ATTEMPTS + 1):
            try:
                proc, port = _start_ray_head(ray_bin, temp)
                break
            except RuntimeError as exc:
                if attempt == RAY_START_ATTEMPTS:
                    raise
                warnings.warn(f"Ray head failed to start, retrying: {exc}", stacklevel=2)
        time.sleep(1.0)  # the raylet registers with the GCS just after it listens
        yield f"127.0.0.1:{port}"
    finally:
        if proc is not None:
            _stop_group(proc)
        shutil.rmtree(temp, ignore_errors=True)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the Ray head's process group (only the processes this fixture started)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError):  # stragglers of this group only
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
