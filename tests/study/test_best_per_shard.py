"""Picking each shard's best-fit model: by validation loss (the search objective) or by the
task's error metric (Hestness 2017: the best validation error per shard)."""

from __future__ import annotations

import pandas as pd
import pytest

from scalinglab.errors import ScalingLabError
from scalinglab.study import best_per_shard
from scalinglab.study.config import load_config
from scalinglab.study.results import _mark_best


def trials() -> pd.DataFrame:
    # Shard 100: width 8 has the lower loss, width 32 the lower error (an overconfident big model).
    # Shard 200: a tie on error between widths 8 and 32, broken by the lower loss (width 32).
    return pd.DataFrame(
        {
            "seed": [0] * 7,
            "shard_size": [100, 100, 100, 200, 200, 200, 200],
            "model_size": [2, 8, 32, 2, 8, 32, 64],
            "state": ["COMPLETE"] * 6 + ["PRUNED"],
            "best_val_loss": [0.9, 0.7, 0.8, 0.6, 0.55, 0.5, 0.1],
            "best_val_error": [0.30, 0.25, 0.20, 0.20, 0.15, 0.15, 0.01],
        }
    )


def test_best_by_loss_and_by_error() -> None:
    by_loss = best_per_shard(trials())  # no is_best column: lowest loss
    assert list(by_loss["model_size"]) == [8, 32]
    by_error = best_per_shard(trials(), by="best_val_error")
    assert list(by_error["model_size"]) == [32, 32]  # tie at shard 200 goes to the lower loss


def test_unfinished_trials_never_win() -> None:
    best = best_per_shard(trials(), by="best_val_loss")
    assert 64 not in set(best["model_size"])  # pruned, although its partial loss is lowest


def test_existing_marks_are_kept_unless_a_column_is_given() -> None:
    df = _mark_best(trials(), "best_val_error")
    assert list(best_per_shard(df)["model_size"]) == [32, 32]
    assert list(best_per_shard(df, by="best_val_loss")["model_size"]) == [8, 32]


def test_unknown_column_is_one_clear_error() -> None:
    with pytest.raises(ScalingLabError, match="no column 'bleu'"):
        best_per_shard(trials(), by="bleu")


def test_select_by_is_checked_in_the_study_file() -> None:
    base = {"name": "s", "task": {"name": "synthetic"}, "shards": {"sizes": [128]}}
    search = {"model_sizes": [4], "sampler": "grid", "hparams": {"lr": {"choices": [0.01]}}}
    assert load_config({**base, "search": {**search, "select_by": "error"}}).search.select_by == (
        "error"
    )
    with pytest.raises(ScalingLabError, match="select_by"):
        load_config({**base, "search": {**search, "select_by": "bleu"}})
