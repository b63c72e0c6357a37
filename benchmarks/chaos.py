"""Chaos: SIGKILL a running study again and again, then check that no slot was lost or done twice.

    .venv/bin/python benchmarks/chaos.py                        # 50 kills on SQLite and PostgreSQL
    .venv/bin/python benchmarks/chaos.py --backend sqlite --kills 10 --seed 1

Each cycle starts `scalinglab study run` (2 worker processes, in its own process group) on a tiny
synthetic study and SIGKILLs the whole group at a random moment: in --in-flight of the cycles
within --flight s of the run's first claim (trials being claimed, trained, written), in the
others uniform in [--min, --max] s after the start (start-up, the layout, the reconcile of the
last kill's trials, spawning workers, or, if it has got that far, training). A cycle after a
kill in flight runs, with chance --hook, with SCALINGLAB_KILL_HOOK=fail-retry instead: the first
process that re-queues a dead worker's trial SIGKILLs itself inside that transaction, between the
FAIL and the retry (the window that lost a slot in issue 12); with nothing to recover, the timer
kills it as usual. When a study finishes between kills, the next cycle starts a new study in the
same storage. After the K kills one clean run finishes each study, and the slot check reads the
storage: every slot must hold exactly one COMPLETE or PRUNED trial (0 lost, 0 done twice), and
no trial may be left WAITING or RUNNING. Exit status 1 if any check fails.

PostgreSQL: a throwaway server started as the tests start theirs (tests/study/conftest.py).
Prints one row per backend; --json writes them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.study.conftest: the study file and the PostgreSQL server

import sqlalchemy  # noqa: E402

from scalinglab.study import load_config, load_results  # noqa: E402
from scalinglab.study.layout import searches_of  # noqa: E402
from scalinglab.study.recovery import DIED, KILL_HOOK_ENV, KILL_HOOK_FAIL_RETRY  # noqa: E402
from scalinglab.study.storage import normalize_url  # noqa: E402
from tests.study.conftest import create_database, postgres_server, study_toml  # noqa: E402

SCALINGLAB = str(Path(sys.executable).with_name("scalinglab"))
# A tiny study: 4 shards x 4 slots, trials of a fraction of a second; beats every second and a
# grace of 2 s, so a killed run's trials are stale by the time the next run has started. Retries
# are not capped: this measures the bookkeeping, not the retry budget.
STUDY = {
    "pool_size": 4096, "smallest": 256, "largest": 2048, "model_sizes": "[8, 32]",
    "trials_per_shard": 4, "sampler": '"random"', "pruner": '"median"', "max_epochs": 6,
    "heartbeat_interval": 1, "grace_period": 2,
}  # fmt: skip
MAX_RETRY = 10_000
RUNNING_QUERY = "SELECT trial_id FROM trials WHERE state = 'RUNNING'"


@dataclass
class Outcome:
    """One backend's run of the benchmark."""

    backend: str
    kills: int = 0  # SIGKILLs: timer kills of the whole group + hook kills
    in_flight_kills: int = 0  # of them, within --flight s of this run's first claim
    hook_kills: int = 0  # of them, inside the FAIL-and-retry transaction
    studies: int = 0
    slots: int = 0
    lost: int = 0  # slots without a COMPLETE or PRUNED trial after the final run
    done_twice: int = 0  # slots with more than one
    left_live: int = 0  # trials still WAITING or RUNNING after the final run
    dead_worker_retries: int = 0  # FAIL rows "worker died: ..." (each one retried)
    final_exit_codes: list[int] = field(default_factory=list)
    seconds: float = 0.0


def _start(
    config: Path, url: str, hook: bool, log: Path, workers: int = 2
) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.pop(KILL_HOOK_ENV, None)
    if hook:
        env[KILL_HOOK_ENV] = KILL_HOOK_FAIL_RETRY
    cmd = [SCALINGLAB, "study", "run", str(config), "--storage", url, "--workers", str(workers),
           "--no-progress"]  # fmt: skip
    with log.open("wb") as out:
        return subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the CLI and its worker processes
            env=env,
        )


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL every process of the run's group, and wait until none is left running."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30
    while _group_members(proc.pid):
        if time.monotonic() > deadline:
            raise RuntimeError(f"process group {proc.pid} survived SIGKILL")
        time.sleep(0.05)


def _group_members(pgid: int) -> list[int]:
    """Processes of group `pgid` that are not zombies (from /proc/PID/stat)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "(command name)"
            if fields[0] != "Z" and int(fields[2]) == pgid:
                members.append(int(stat.parent.name))
    return members


def _new_study(workdir: Path, index: int) -> tuple[str, Path]:
    name = f"chaos-{index}"
    path = workdir / f"{name}.toml"
    path.write_text(study_toml(name, **STUDY) + f"max_retry = {MAX_RETRY}\n")
    return name, path


def _running_ids(engine: sqlalchemy.Engine) -> set[int]:
    """Ids of the RUNNING trials in the storage (none before its schema exists)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(sqlalchemy.text(RUNNING_QUERY)).fetchall()
    except sqlalchemy.exc.SQLAlchemyError:
        return set()
    return {int(r[0]) for r in rows}


def _wait_for_a_new_trial(engine: sqlalchemy.Engine, proc: subprocess.Popen[bytes]) -> None:
    """Return once this run has a trial in flight (or has ended): one not RUNNING before it."""
    before = _running_ids(engine)  # a killed run's trials, RUNNING until they are recovered
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if _running_ids(engine) - before:
            return
        time.sleep(0.1)


def run_backend(backend: str, url: str, kills: int, args: argparse.Namespace) -> Outcome:
    rng = random.Random(args.seed)
    outcome = Outcome(backend)
    t0 = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix=f"chaos-{backend}-"))
    studies = [_new_study(workdir, 0)]
    log = workdir / "run.log"
    engine = sqlalchemy.create_engine(normalize_url(url, "chaos"))
    cycle = 0
    after_flight = False  # the last cycle killed trials in flight: they are to be recovered
    while outcome.kills < kills:
        cycle += 1
        hook = after_flight and rng.random() < args.hook
        in_flight = not hook and rng.random() < args.in_flight
        after_flight = False
        proc = _start(studies[-1][1], url, hook, log, args.workers)
        delay = rng.uniform(args.min, args.max)
        if in_flight:  # kill while trials are being claimed, trained and written
            _wait_for_a_new_trial(engine, proc)
            delay = rng.uniform(0.0, args.flight)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            _kill_group(proc)  # the timer: kill the whole run at this moment
            outcome.kills += 1
            outcome.in_flight_kills += in_flight
            after_flight = in_flight
            if args.verbose:
                print(f"  cycle {cycle}: killed{' in flight' * in_flight}", file=sys.stderr)
            continue
        _kill_group(proc)  # nothing of the group may outlive its cycle
        if proc.returncode == -signal.SIGKILL and hook:
            outcome.kills += 1
            outcome.hook_kills += 1
        elif proc.returncode == 0:  # finished between kills: the next cycles get a new study
            studies.append(_new_study(workdir, len(studies)))
        else:
            text = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"cycle {cycle}: exit {proc.returncode}\n{text}")
        if args.verbose:
            print(f"  cycle {cycle}: exit {proc.returncode}", file=sys.stderr)
    engine.dispose()
    for name, config in studies:  # the final clean run of every study, then the slot check
        proc = _start(config, url, False, log)
        proc.wait(timeout=900)
        _kill_group(proc)
        out = log.read_text(errors="replace")
        outcome.final_exit_codes.append(proc.returncode)
        if proc.returncode != 0:
            print(f"final run of {name}: exit {proc.returncode}\n{out[-3000:]}", file=sys.stderr)
        _check_slots(name, config, url, outcome)
    outcome.studies = len(studies)
    outcome.seconds = time.monotonic() - t0
    shutil.rmtree(workdir, ignore_errors=True)
    return outcome


def _check_slots(name: str, config: Path, url: str, outcome: Outcome) -> None:
    cfg = load_config(config)
    df = load_results(name, url)
    done = df[df["state"].isin(["COMPLETE", "PRUNED"])]
    per_slot = done.groupby(["seed", "shard_size", "slot"]).size().to_dict()
    for search in searches_of(cfg):
        for slot in range(cfg.search.n_trials()):
            n = int(per_slot.get((search.seed, search.shard_size, slot), 0))
            outcome.slots += 1
            outcome.lost += n == 0
            outcome.done_twice += n > 1
    outcome.left_live += int(df["state"].isin(["WAITING", "RUNNING"]).sum())
    failed = df[df["state"] == "FAIL"]
    outcome.dead_worker_retries += int(failed["error"].astype(str).str.startswith(DIED).sum())


HEAD = ["backend", "kills", "in flight", "in FAIL-retry", "studies", "slots", "lost", "done twice",
        "left live", "dead-worker retries", "final exit", "wall time"]  # fmt: skip


def _row(r: Outcome) -> str:
    codes = ",".join(str(c) for c in sorted(set(r.final_exit_codes)))
    cells = [r.backend, r.kills, r.in_flight_kills, r.hook_kills, r.studies, r.slots, r.lost,
             r.done_twice, r.left_live, r.dead_worker_retries, codes,
             f"{r.seconds / 60:.1f} min"]  # fmt: skip
    return " | ".join(str(c) for c in cells)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--kills", type=int, default=50, help="SIGKILLs per backend")
    parser.add_argument("--min", type=float, default=0.5, help="earliest kill, s after start")
    parser.add_argument("--max", type=float, default=20.0, help="latest kill, s after start")
    parser.add_argument("--in-flight", type=float, default=0.6, help="share of cycles that "
                        "wait for the run's first claim, then kill within --flight s")  # fmt: skip
    parser.add_argument("--flight", type=float, default=3.0)
    parser.add_argument("--hook", type=float, default=0.5, help="chance that the cycle after "
                        "a kill in flight runs with the kill hook")  # fmt: skip
    parser.add_argument("--workers", type=int, default=2, help="worker processes per run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="write the rows as JSON")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)

    rows: list[Outcome] = []
    print(" | ".join(HEAD), flush=True)
    for backend in ("sqlite", "postgresql"):
        if args.backend not in (backend, "both"):
            continue
        with contextlib.ExitStack() as stack:
            if backend == "sqlite":
                tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="chaos-db-"))
                url = f"sqlite:///{tmp}/chaos.db"
            else:
                url = create_database(stack.enter_context(postgres_server()))
            rows.append(run_backend(backend, url, args.kills, args))
        print(_row(rows[-1]), flush=True)  # each backend's row as soon as it is measured
        if args.json is not None:
            args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
    bad = any(r.lost or r.done_twice or r.left_live or set(r.final_exit_codes) != {0} for r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
