"""fit_study: the learning curve from each shard's best model, and the held-out check of its
extrapolation (`fit_up_to`): fit the small shards, predict the large ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scalinglab.errors import ScalingLabError
from scalinglab.study import fit_study

A, B, C = 2.0, -0.35, 0.05  # the true curve eps(m) = A m^B + C
SHARDS = [2**k for k in range(7, 17)]  # 128 .. 65,536


def trials(noise: float = 0.01) -> pd.DataFrame:
    """Two seeds x two widths per shard; width 32 is the best model, its error on the curve
    times a seed-dependent multiplicative noise of about `noise`."""
    rng = np.random.default_rng(0)
    rows = []
    for seed in (0, 1):
        for m in SHARDS:
            eps = (A * m**B + C) * np.exp(noise * rng.standard_normal())
            for width, worse in ((8, 1.3), (32, 1.0)):
                rows.append(
                    {"task": "synthetic", "seed": seed, "shard_size": m, "model_size": width,
                     "n_params": 100 * width, "state": "COMPLETE",
                     "best_val_loss": 2 * eps * worse, "best_val_error": eps * worse}
                )  # fmt: skip
    return pd.DataFrame(rows)


def test_fit_up_to_predicts_the_held_out_shards() -> None:
    df = trials()
    fit = fit_study(df, y="best_val_error", n_bootstrap=200, fit_up_to=8192)
    assert sorted({p["shard_size"] for p in fit["points"]}) == SHARDS[:7]  # only m <= 8192 fitted
    held = fit["holdout"]
    assert [h["shard_size"] for h in held] == [16384, 32768, 65536]
    for h in held:
        best = df[(df["shard_size"] == h["shard_size"]) & (df["model_size"] == 32)]
        assert h["n_seeds"] == 2
        assert h["measured"] == pytest.approx(best["best_val_error"].mean())
        assert h["relative_error"] == pytest.approx(h["predicted"] / h["measured"] - 1)
        truth = A * h["shard_size"] ** B + C
        assert h["predicted"] == pytest.approx(truth, rel=0.03)  # 8x beyond the data, 1% noise
        assert h["lo"] < h["predicted"] < h["hi"]
    assert fit["beta_g"] == pytest.approx(B, abs=0.06)


def test_a_wrong_curve_shows_in_the_holdout() -> None:
    # The large shards fall below the trend of the small ones: the check must say so.
    df = trials(noise=0.0)
    df.loc[df["shard_size"] > 8192, "best_val_error"] *= 0.8
    held = fit_study(df, y="best_val_error", n_bootstrap=0, fit_up_to=8192)["holdout"]
    assert all(h["relative_error"] == pytest.approx(0.25, abs=0.02) for h in held)


def test_without_fit_up_to_nothing_is_held_out() -> None:
    fit = fit_study(trials(), y="best_val_error", n_bootstrap=0)
    assert fit["holdout"] == [] and fit["fit_up_to"] is None
    assert len({p["shard_size"] for p in fit["points"]}) == len(SHARDS)


@pytest.mark.parametrize(
    ("fit_up_to", "message"),
    [(300, "only 2 shard"), (0, "positive shard size"), (float("nan"), "positive shard size")],
)
def test_bad_fit_up_to_is_one_clear_error(fit_up_to: float, message: str) -> None:
    with pytest.raises(ScalingLabError, match=message):
        fit_study(trials(), y="best_val_error", n_bootstrap=0, fit_up_to=fit_up_to)
