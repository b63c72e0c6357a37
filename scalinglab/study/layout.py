"""Laying a study out in storage: one Optuna study per (seed, shard) search, trials queued up front.

Hestness et al. (2017) search each nested training shard separately for its best-fit model. Here
each (seed, shard) search is its own Optuna study, so its sampler and pruner only compare trials
trained on the same data. Its `n_trials` trials are created once, as WAITING trials with a `slot`
number 0..n-1 (grid search: with their fixed parameters; TPE/random: empty, the sampler fills them
in when a worker claims one). Workers then only *claim* queued trials, atomically, so any number
of workers on any number of machines run each slot exactly once, and a rerun never adds trials.

The parent Optuna study `<name>` stores the study file; whoever creates it lays out the searches
and marks the study ready, while concurrent starters wait. A rerun with a different study file is
refused (the trials already run would no longer match it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import optuna

from scalinglab.errors import ScalingLabError
from scalinglab.study.config import StudyConfig
from scalinglab.study.storage import shard_study_name

CONFIG_ATTR = "scalinglab.config"
FINGERPRINT_ATTR = "scalinglab.fingerprint"
READY_ATTR = "scalinglab.ready"
STARTED_ATTR = "scalinglab.setup_started"
SETUP_WAIT = 60.0  # seconds a starter waits for a concurrent one to finish laying out the study


@dataclass(frozen=True)
class ShardSearch:
    """The search of one shard for one replicate seed, stored as one Optuna study."""

    seed: int
    shard_size: int
    optuna_name: str


def searches_of(config: StudyConfig) -> list[ShardSearch]:
    """All (seed, shard) searches of a study, smallest shards first."""
    return [
        ShardSearch(seed, size, shard_study_name(config.name, seed, size))
        for size in config.shard_sizes()
        for seed in config.train.seeds
    ]


def _queue_slots(config: StudyConfig, storage: optuna.storages.BaseStorage) -> None:
    """Create each search's Optuna study and queue its missing slots (idempotent)."""
    grid = config.search.grid() if config.search.sampler == "grid" else None
    n = config.search.n_trials()
    for search in searches_of(config):
        study = optuna.create_study(
            study_name=search.optuna_name,
            storage=storage,
            direction="minimize",
            load_if_exists=True,
        )
        study.set_user_attr("shard_size", search.shard_size)
        study.set_user_attr("seed", search.seed)
        study.set_user_attr("parent", config.name)
        if config.search.design == "adaptive":
            continue  # its cells are queued round by round (scalinglab.study.adaptive)
        have = {t.user_attrs.get("slot") for t in study.get_trials(deepcopy=False)}
        for slot in range(n):
            if slot in have:
                continue
            params: dict[str, Any] = grid[slot] if grid is not None else {}
            study.enqueue_trial(params, user_attrs={"slot": slot}, skip_if_exists=False)
    if config.search.design == "adaptive":
        from scalinglab.study.adaptive import lay_out

        lay_out(config, storage)


def _stored_config(parent: optuna.Study) -> dict[str, Any] | None:
    value = parent.user_attrs.get(CONFIG_ATTR)
    return value if isinstance(value, dict) else None


def prepare_study(config: StudyConfig, storage: optuna.storages.BaseStorage) -> list[ShardSearch]:
    """Create the study in `storage`, or check that the stored one matches `config` (resume)."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # not one INFO line per shard study
    try:
        return _prepare(config, storage)
    finally:
        optuna.logging.set_verbosity(verbosity)


def _prepare(config: StudyConfig, storage: optuna.storages.BaseStorage) -> list[ShardSearch]:
    try:
        parent = optuna.create_study(study_name=config.name, storage=storage, direction="minimize")
    except optuna.exceptions.DuplicatedStudyError:
        parent = optuna.load_study(study_name=config.name, storage=storage)
    else:
        parent.set_user_attr(STARTED_ATTR, time.time())
        parent.set_user_attr(FINGERPRINT_ATTR, config.fingerprint())
        parent.set_user_attr(CONFIG_ATTR, config.model_dump(mode="json"))
        _queue_slots(config, storage)
        parent.set_user_attr(READY_ATTR, True)
        return searches_of(config)

    deadline = time.monotonic() + SETUP_WAIT
    while True:
        attrs = optuna.load_study(study_name=config.name, storage=storage).user_attrs
        fingerprint = attrs.get(FINGERPRINT_ATTR)
        if fingerprint is not None and fingerprint != config.fingerprint():
            raise ScalingLabError(
                f"study {config.name!r} already exists in this storage with a different study "
                "file; rerun it with the original file, or give the new study another name"
            )
        if attrs.get(READY_ATTR):
            return searches_of(config)
        started = float(attrs.get(STARTED_ATTR, 0.0))
        if time.monotonic() > deadline or (fingerprint and time.time() - started > SETUP_WAIT):
            # The starter that was laying the study out died; finish its work (idempotent).
            parent = optuna.load_study(study_name=config.name, storage=storage)
            parent.set_user_attr(FINGERPRINT_ATTR, config.fingerprint())
            parent.set_user_attr(CONFIG_ATTR, config.model_dump(mode="json"))
            _queue_slots(config, storage)
            parent.set_user_attr(READY_ATTR, True)
            return searches_of(config)
        time.sleep(0.2)


def load_study_config(name: str, storage: optuna.storages.BaseStorage) -> StudyConfig:
    """The study file stored with study `name`."""
    try:
        parent = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        raise ScalingLabError(f"no study named {name!r} in this storage") from None
    data = _stored_config(parent)
    if data is None:
        raise ScalingLabError(f"{name!r} is an Optuna study, but not a scalinglab study")
    return StudyConfig.model_validate(data)
