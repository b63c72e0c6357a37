"""The Hestness et al. (2017) scaling-study loop: nested shards, a search per shard, storage.

    from scalinglab.study import run_study, load_results, best_per_shard, fit_study
    run_study("examples/synthetic.toml")               # resumable; runs/<name>.db by default
    df = load_results("synthetic-demo")                # one row per trial (see .results)
    curve = best_per_shard(df)                         # the learning curve and model sizes
    fit = fit_study(df)                                # StudyFit: curves, checks, comparison
    fit.beta_g, fit.beta_p, fit.predict(10 * 16384), fit.to_dict()

Modules, one job each: config (the TOML study file), storage (Optuna RDB storage by URL),
layout (one Optuna study per shard search, trials queued up front), search (sampler, pruner,
search space), worker (claim-train-record loop, heartbeats), recovery (a dead worker's trial failed
and retried in one transaction; lost slots re-queued), executors (local processes, Ray), progress
(live display), results/status (tables; status counts slots), fit (the study's analysis:
learning and model-size curves, regions, held-out checks; what `study fit`, `report` and `demo`
show), comparison (learning-curve laws scored on the largest shards).
"""

from scalinglab.study.config import StudyConfig, load_config
from scalinglab.study.fit import DEFAULT_BOOTSTRAP, HoldoutCheck, StudyFit, fit_study
from scalinglab.study.results import best_per_shard, export_results, load_results
from scalinglab.study.runner import RunResult, check_task, run_study
from scalinglab.study.status import StudyStatus, study_status

__all__ = [
    "DEFAULT_BOOTSTRAP",
    "HoldoutCheck",
    "RunResult",
    "StudyConfig",
    "StudyFit",
    "StudyStatus",
    "best_per_shard",
    "check_task",
    "export_results",
    "fit_study",
    "load_config",
    "load_results",
    "run_study",
    "study_status",
]
