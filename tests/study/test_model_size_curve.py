"""The model-size curve of a study (Hestness 2017, s(m) = α_p·m^β_p; issue 18): β_p with its
interval, the best model per shard, and a warning when the grid's largest model wins most
shards (then the grid, not the data, sets the top of the curve)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scalinglab.planning.model_size import HESTNESS_BETA_P, grid_limit
from scalinglab.report.study_page import _exponent_tables, setup_from_trials
from scalinglab.study import fit_study

SHARDS = [2**k for k in range(7, 17)]  # 128 .. 65,536
GRID = [4, 8, 16, 32, 64, 128, 256, 512]
BETA_P = 0.6


def trials(best_width: dict[int, int], grid: list[int] = GRID) -> pd.DataFrame:
    """One seed; every width of `grid` on every shard, the shard's best at `best_width[m]`
    (its error on a power law, the other widths worse by their distance in log width)."""
    rows = []
    for m in SHARDS:
        eps = 2.0 * m**-0.35 + 0.05
        for w in grid:
            worse = 1 + 0.1 * abs(np.log2(w / best_width[m]))
            rows.append(
                {"task": "synthetic", "seed": 0, "shard_size": m, "model_size": w,
                 "n_params": 100 * w, "state": "COMPLETE", "best_val_loss": 2 * eps * worse,
                 "best_val_error": eps * worse, "device": "cpu", "precision": "fp32",
                 "flops": 1e9, "train_seconds": 2.0, "examples_per_s": 500.0}
            )  # fmt: skip
    return pd.DataFrame(rows)


def growing() -> dict[int, int]:
    """The best width grows as m^0.6 (on the grid's powers of two): Hestness's sublinear curve."""
    return {m: int(2 ** round(np.log2(0.3 * m**BETA_P))) for m in SHARDS}


def test_beta_p_and_its_interval_from_a_sublinear_curve() -> None:
    fit = fit_study(trials(growing()), y="best_val_error", n_bootstrap=100)
    assert fit.beta_p == pytest.approx(BETA_P, abs=0.05)
    lo, hi = fit.beta_p_interval or (np.nan, np.nan)
    assert 0 < lo < BETA_P < hi < 1  # excludes 0: the best model grows with the data
    assert fit.size_warning == "" and not fit.size_grid.limited
    assert list(fit.best["model_size"]) == [growing()[m] for m in SHARDS]  # best model per shard
    payload = fit.to_dict()
    assert payload["beta_p_interval"] == [lo, hi] and payload["model_size_warning"] == ""
    assert payload["headline"]["beta_p_hestness"] == list(HESTNESS_BETA_P) == [0.5, 1.0]
    assert payload["largest_model_wins"] == {"largest_model_size": 512, "wins": 0, "shards": 10}


def test_a_grid_whose_largest_model_wins_most_shards_is_flagged() -> None:
    best = {m: min(growing()[m] * 4, 64) for m in SHARDS}  # the grid tops out at 64
    fit = fit_study(trials(best, grid=[8, 16, 32, 64]), y="best_val_error", n_bootstrap=0)
    grid = fit.size_grid
    assert grid.largest == 64 and grid.points == 10 and grid.wins > 5 and grid.limited
    assert "the grid's largest model (size 64) is the best on" in fit.size_warning
    assert "add sizes above 64 to [search] model_sizes" in fit.size_warning
    assert fit.to_dict()["model_size_warning"] == fit.size_warning
    table = _exponent_tables(fit)[1]
    assert "0.5 ≤ β_p < 1" in str(table.rows) and "the grid limits the curve" in (table.note or "")


def test_grid_limit_counts_the_largest_size_among_the_best() -> None:
    assert grid_limit([64, 64, 32], [8, 16, 32, 64]).limited
    assert not grid_limit([64, 32, 16, 8], [8, 16, 32, 64]).limited  # half is not most
    assert grid_limit([], [8]).warning() == ""


def test_the_report_setup_says_where_the_trials_trained() -> None:
    setup = dict(setup_from_trials(trials(growing())))
    assert setup["trained on"] == "cpu (fp32): 80 trials"
    assert "500 examples/s per trial (median)" in setup["training throughput"]
    assert "5e+08 FLOP/s achieved" in setup["training throughput"]
