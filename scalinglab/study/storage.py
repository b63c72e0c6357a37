"""Where a study lives: Optuna's RDB storage, chosen by one URL.

- no URL: a SQLite file `runs/<study>.db` under the current directory (created on first run);
- `sqlite:///path.db` or a bare `path.db`: that SQLite file;
- `postgresql://user@host:port/db`: a PostgreSQL database, for many workers on many machines
  (psycopg 3 is used: `postgresql://` is read as `postgresql+psycopg://`).

A study of the Hestness (2017) loop is stored as one Optuna study per (seed, shard) search, named
`<study>/seed=<s>/shard=<m>`, plus a parent Optuna study `<study>` holding the study file.

SQLite and several processes: pysqlite starts a transaction lazily at the first write, so a
read-check-write such as Optuna's WAITING -> RUNNING claim is not atomic across processes and two
workers could claim one trial. `open_storage` therefore makes every SQLite transaction
`BEGIN IMMEDIATE` (the SQLAlchemy-documented recipe): transactions serialize, claims are atomic.
PostgreSQL already locks the row (`SELECT ... FOR UPDATE`).
"""

from __future__ import annotations

import random
import re
import sqlite3
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError

from scalinglab.errors import ScalingLabError

DEFAULT_DIR = Path("runs")
SQLITE_TIMEOUT = 120.0  # seconds a writer waits for the database lock
OPEN_ATTEMPTS = 6  # tries to open a storage whose schema another process is creating


def default_url(name: str) -> str:
    """The default storage of study `name`: runs/<name>.db."""
    return f"sqlite:///{DEFAULT_DIR / f'{name}.db'}"


def normalize_url(url: str | None, name: str) -> str:
    """Resolve None / a bare path / a URL to an SQLAlchemy URL Optuna can open."""
    if url is None or not str(url).strip():
        url = default_url(name)
    url = str(url).strip()
    if "://" not in url:
        prefix = re.match(r"([A-Za-z][A-Za-z0-9+.-]+):", url)  # two letters or more: not C:
        if prefix:  # "sqlite:runs/x.db" once made a file of that very name in the cwd
            name, rest = prefix.group(1), url[prefix.end() :].lstrip("/")
            meant = f"sqlite:///{rest}" if name.startswith("sqlite") else f"{name}://{rest}"
            raise ScalingLabError(
                f"storage {url!r} looks like a URL without its '//': write {meant} (or a bare "
                "file path such as runs/x.db)"
            )
        url = f"sqlite:///{url}"
    path = sqlite_path(url)
    if path is not None:
        # Absolute, so that workers started elsewhere (Ray tasks, other cwd) open the same file.
        return f"sqlite:///{path.expanduser().resolve()}"
    if _in_memory_sqlite(url):  # each worker process would open its own, empty database
        raise ScalingLabError(
            f"storage {url!r} is an in-memory SQLite database, which each worker process "
            "would open anew and empty; a study needs a file: sqlite:///study.db or runs/study.db"
        )
    scheme = url.split("://", 1)[0]
    if scheme in ("postgresql", "postgres"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if scheme.startswith(("sqlite", "postgresql")):
        return url
    raise ScalingLabError(
        f"storage {url!r}: unsupported URL scheme {scheme!r} (supported: sqlite, postgresql); "
        "use sqlite:///FILE.db or postgresql://USER@HOST:PORT/DB"
    )


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for other databases or in-memory SQLite)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(str(parsed.database))


def _in_memory_sqlite(url: str) -> bool:
    """sqlite://, sqlite:/// and sqlite:///:memory: (any sqlite driver)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return False
    return parsed.drivername.startswith("sqlite") and parsed.database in (None, "", ":memory:")


def display_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _serialize_sqlite(engine: Engine) -> None:
    """Make every SQLite transaction BEGIN IMMEDIATE so claims are atomic across processes."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let the "begin" hook below emit BEGIN
        # WAL + synchronous=NORMAL: commits survive a killed process (what resuming needs); only
        # a power cut can drop the last few. Saves an fsync per trial report.
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections opened during Optuna's setup are replaced by hooked ones


def open_storage(
    url: str,
    *,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    create: bool = True,
) -> optuna.storages.BaseStorage:
    """Open (or create) the RDB storage at `url`, with heartbeats if an interval is given.

    With heartbeats on, a running trial records a beat every `heartbeat_interval` seconds; one
    silent for `grace_period` seconds is failed and re-queued by scalinglab.study.recovery (not
    by Optuna's stale-trial callback, which does the two in separate transactions).
    """
    path = sqlite_path(url)
    engine_kwargs: dict[str, Any] = {}
    if path is not None:
        if not create and not path.exists():
            raise ScalingLabError(f"no study database at {path}; pass --storage URL")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with sqlite3.connect(path, timeout=SQLITE_TIMEOUT) as conn:
                conn.execute("PRAGMA journal_mode=WAL")  # readers don't block the writer
        except (OSError, sqlite3.Error) as exc:
            raise ScalingLabError(f"cannot open SQLite storage {path}: {exc}") from None
        engine_kwargs["connect_args"] = {"timeout": SQLITE_TIMEOUT}
    else:
        engine_kwargs["pool_pre_ping"] = True
    storage = None
    for attempt in range(OPEN_ATTEMPTS):
        try:
            storage = _rdb_storage(url, engine_kwargs, heartbeat_interval, grace_period)
            break
        except ImportError as exc:
            raise ScalingLabError(
                f"storage {display_url(url)}: database driver missing ({exc}); "
                "install scalinglab[postgres]"
            ) from None
        except Exception as exc:  # sqlalchemy / driver errors: unreachable server, bad password
            # Two processes creating the schema of a new database at once: one of them loses
            # ("table already exists", a duplicate alembic row). Its retry finds the schema.
            if attempt + 1 < OPEN_ATTEMPTS and _is_schema_race(exc):
                time.sleep(0.2 * (attempt + 1) + random.random() * 0.2)
                continue
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ScalingLabError(f"cannot open storage {display_url(url)}: {first}") from None
    assert storage is not None
    if path is not None:
        _serialize_sqlite(storage.engine)
    # Optuna's own wrapper (what optuna.load_study(storage=url) uses): one trial cache per process,
    # shared by every Study and Trial object built on it.
    return optuna.storages.get_storage(storage)


def _rdb_storage(
    url: str,
    engine_kwargs: dict[str, Any],
    heartbeat_interval: int | None,
    grace_period: int | None,
) -> optuna.storages.RDBStorage:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(
            url,
            engine_kwargs=engine_kwargs,
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
        )


def _is_schema_race(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(
        marker in text
        for marker in ("already exists", "unique constraint", "duplicate key", "locked")
    )


def shard_study_name(study: str, seed: int, shard_size: int) -> str:
    """Optuna study holding the search of one (seed, shard)."""
    return f"{study}/seed={seed}/shard={shard_size}"
