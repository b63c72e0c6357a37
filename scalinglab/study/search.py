"""The per-shard search space, sampler and pruner (Optuna), one trial at a time.

Hestness et al. (2017, Sec. 3) search each shard over model size and optimizer hyperparameters
and keep the candidate with the lowest validation loss. Model size is a categorical choice from
the study's grid; every other hyperparameter is a range or a list of choices.

Samplers are built per trial and seeded from (study seed, shard, trial number), so a trial's
parameters do not depend on which worker claims it: with `random` (and `grid`) the same study
file gives the same trials on local processes and on Ray. `tpe` adapts to finished trials, so
with several workers its choices depend on timing; `constant_liar` keeps concurrent workers from
proposing the same point.
"""

from __future__ import annotations

import hashlib
import warnings
from typing import Any

import optuna

from scalinglab.study.config import SearchSpec


def trial_seed(seed: int, shard_size: int, number: int) -> int:
    """A 31-bit seed from (replicate seed, shard size, trial number)."""
    digest = hashlib.sha256(f"{seed}:{shard_size}:{number}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def make_sampler(search: SearchSpec, seed: int) -> optuna.samplers.BaseSampler:
    """The sampler that proposes one trial's parameters."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if search.sampler == "tpe":
            startup = max(2, min(10, search.n_trials() // 3))
            return optuna.samplers.TPESampler(
                n_startup_trials=startup, multivariate=True, constant_liar=True, seed=seed
            )
        return optuna.samplers.RandomSampler(seed=seed)  # grid trials carry fixed params


def make_pruner(search: SearchSpec) -> optuna.pruners.BasePruner:
    """Early stopping of hopeless trials: below the median of the shard's trials so far."""
    if search.pruner == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(
        n_startup_trials=search.pruner_startup_trials,
        n_warmup_steps=search.pruner_warmup_evals,
    )


def suggest(trial: optuna.Trial, search: SearchSpec) -> dict[str, Any]:
    """Draw (or read back, for grid and retried trials) the trial's model size and hparams."""
    params: dict[str, Any] = {
        "model_size": int(trial.suggest_categorical("model_size", search.model_sizes))
    }
    for name, spec in search.hparams.items():
        if spec.choices is not None:
            params[name] = trial.suggest_categorical(name, spec.choices)
        else:
            assert spec.low is not None and spec.high is not None
            params[name] = trial.suggest_float(name, spec.low, spec.high, log=spec.log)
    return params
