"""Concurrency: several workers on one study, on SQLite and on a real PostgreSQL server, run every
queued trial exactly once (no trial lost, none duplicated)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from scalinglab.study import load_config, load_results
from scalinglab.study.layout import prepare_study
from scalinglab.study.storage import normalize_url, open_storage

SCALINGLAB = str(Path(sys.executable).with_name("scalinglab"))

# A bare claimer: claims queued trials as fast as it can and prints their ids (no training), so
# any race in the WAITING -> RUNNING claim shows up as an id printed by both processes. The
# claimers meet twice (barriers of marker files): once before the first claim, because under load
# one process can take a second longer to import; and once after it, because a process
# descheduled under load could otherwise find every trial already claimed. From then on they race.
CLAIMER = """
import json, sys, time
from pathlib import Path
from scalinglab.study.worker import Worker, WorkerSpec
from scalinglab.study import load_config
config = load_config(sys.argv[1])
worker = Worker(WorkerSpec(sys.argv[2], config.model_dump(mode="json")))
barrier, me = Path(sys.argv[3]), sys.argv[4]

def meet(stage):
    (barrier / f"{stage}-{me}").touch()
    deadline = time.monotonic() + 120
    while len(list(barrier.glob(f"{stage}-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)

meet("ready")
ids = []
while (claimed := worker._claim()) is not None:
    ids.append(claimed[1])
    if len(ids) == 1:
        meet("claimed")
print(json.dumps(ids))
"""


def _claim_race(config: Path, url: str) -> None:
    cfg = load_config(config)
    prepare_study(cfg, open_storage(normalize_url(url, cfg.name)))
    barrier = config.parent / f"{cfg.name}-barrier"
    barrier.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, str(config), url, str(barrier), str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(2)
    ]
    claims = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err.decode()[-2000:]
        claims.append(json.loads(out.decode().strip().splitlines()[-1]))
    a, b = set(claims[0]), set(claims[1])
    assert len(a) == len(claims[0]) and len(b) == len(claims[1])
    assert not a & b, f"trials claimed twice: {sorted(a & b)}"
    assert len(a | b) == 2 * 25  # every queued trial claimed once
    assert a and b  # both claimers took part


def _two_runs(config: Path, url: str) -> pd.DataFrame:
    cmd = [SCALINGLAB, "study", "run", str(config), "--storage", url, "--workers", "1",
           "--no-progress"]  # fmt: skip
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in "ab"]
    for proc in procs:
        out = proc.communicate(timeout=240)[0].decode()
        assert proc.returncode == 0, out[-3000:]
    return load_results(load_config(config).name, url)


def _exactly_once(df: pd.DataFrame, n: int) -> None:
    assert set(df["state"]) == {"COMPLETE"}
    assert len(df) == n  # no trial added by a race, none lost
    assert not df.duplicated(["seed", "shard_size", "slot"]).any()
    pids = {w.rsplit(":", 1)[-1] for w in df["worker"]}
    assert len(pids) == 2  # both processes ran trials


@pytest.mark.slow
def test_two_processes_on_one_sqlite_study(
    write_study: Callable[..., Path], tmp_path: Path
) -> None:
    config = write_study("conc", largest=1024, trials_per_shard=5, max_epochs=10)
    df = _two_runs(config, f"sqlite:///{tmp_path / 'conc.db'}")
    _exactly_once(df, 3 * 5)


def test_sqlite_claims_are_atomic(write_study: Callable[..., Path], tmp_path: Path) -> None:
    config = write_study("race", smallest=1024, largest=2048, trials_per_shard=25)
    _claim_race(config, f"sqlite:///{tmp_path / 'race.db'}")


@pytest.mark.slow
@pytest.mark.xdist_group("postgres")
def test_postgres_two_processes_and_atomic_claims(
    write_study: Callable[..., Path], pg_storage: str, postgres_url: str
) -> None:
    config = write_study("pgconc", largest=1024, trials_per_shard=5, max_epochs=10)
    df = _two_runs(config, pg_storage)
    _exactly_once(df, 3 * 5)
    race = write_study("pgrace", smallest=1024, largest=2048, trials_per_shard=25)
    _claim_race(race, pg_storage)
