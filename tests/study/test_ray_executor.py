"""Ray: the same study file on a real local Ray cluster gives the same best-per-shard results as
the local executor (same seeds, seeded per-trial sampling, deterministic CPU training)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from scalinglab.study import best_per_shard, load_results, run_study

COLUMNS = ["seed", "shard_size", "trial", "model_size", "n_params", "lr", "best_val_loss"]


@pytest.mark.slow
@pytest.mark.xdist_group("ray")
def test_ray_executor_matches_local(
    write_study: Callable[..., Path], tmp_path: Path, ray_address: str
) -> None:
    config = write_study("rayeq", largest=1024, trials_per_shard=3, max_epochs=10)
    local_db = f"sqlite:///{tmp_path / 'local.db'}"
    ray_db = f"sqlite:///{tmp_path / 'ray.db'}"

    local = run_study(config, storage=local_db, workers=1, progress=False)
    remote = run_study(
        config, storage=ray_db, executor="ray", address=ray_address, workers=2, progress=False
    )
    assert local.finished and remote.finished and not remote.errors
    assert {r.worker_id for r in remote.reports} == {"ray0", "ray1"}

    on_ray = load_results("rayeq", ray_db)
    assert on_ray["worker"].str.startswith("ray").all()  # trained inside Ray worker processes
    pd.testing.assert_frame_equal(
        best_per_shard(load_results("rayeq", local_db))[COLUMNS],
        best_per_shard(on_ray)[COLUMNS],
    )
