"""Model size for data (Hestness et al. 2017, "Deep Learning Scaling is Predictable,
Empirically", arXiv:1712.00409, Sec. 4 and Fig. 3 of each domain).

In a Hestness study each training shard of m examples gets a hyperparameter search; the best-fit
model's size is the model-size curve

    s(m) = α_p·m^β_p,   β_p < 1 (sublinear: the best model grows more slowly than the data),

fitted as the `power` law. It answers "what model size for m examples", with an interval from
the fit's bootstrap (or covariance) draws. Hestness report β_p between 0.5 and 0.8 (word LM 0.72,
character LM 0.7, NMT and speech smaller), so 0.5 ≤ β_p < 1 is the range to compare with.

The curve is only as good as the model grid searched: when the grid's largest model is the best
on most shards, the best model of those shards may be larger still, and the fitted β_p is biased
toward 0 (`grid_limit` says so).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from scalinglab.errors import ScalingLabError
from scalinglab.io import numeric_columns
from scalinglab.laws.base import ScalingLaw, get_law
from scalinglab.planning._checks import check_level
from scalinglab.planning._results import row_intervals
from scalinglab.planning.surface import law_draws


def best_rows(df: pd.DataFrame, keys: Sequence[str], by: Sequence[str]) -> pd.Index:
    """Index of the best-fit model of each group of `keys` (a shard, or a seed's shard): the row
    with the lowest `by[0]`, ties going to the lower `by[1]`, ..., then to the earlier row.

    Hestness et al. (2017, Sec. 3): each shard's hyperparameter search keeps the model with the
    best validation result; its size is the model-size curve's point, its result the learning
    curve's. Rows whose `by[0]` is missing never win.
    """
    ranked = df[df[by[0]].notna()].sort_values(list(by), kind="stable")
    return ranked.groupby(list(keys), sort=False).head(1).index


def best_model_sizes(df: pd.DataFrame, data_col: str, size_col: str, loss_col: str) -> pd.DataFrame:
    """The best-fit model per shard: for each value of `data_col`, the row with lowest loss.

    Returns columns data, size, loss (one row per shard, sorted by data).
    """
    arr = numeric_columns(df, [data_col, size_col, loss_col], "the results table")
    frame = pd.DataFrame(arr, columns=["data", "size", "loss"])
    best = frame.loc[best_rows(frame, ["data"], ["loss"])].sort_values("data")
    return best.reset_index(drop=True)


@dataclass
class ModelSizeCurve:
    """s(m) = alpha_p·m^beta_p fitted to best-fit model sizes (a fitted `power` law)."""

    law: ScalingLaw

    @property
    def alpha_p(self) -> float:
        return float(self.law.params_["a"])

    @property
    def beta_p(self) -> float:
        return float(self.law.params_["b"])

    @property
    def sublinear(self) -> bool:
        """β_p < 1: the best model grows more slowly than the data (Hestness's finding)."""
        return self.beta_p < 1.0

    def size_for(self, data: ArrayLike, level: float = 0.9) -> pd.DataFrame:
        """Model size for `data` examples: columns data, size and (with draws) size_lo, size_hi."""
        return model_size_for_data(self.law, data, level)


HESTNESS_BETA_P = (0.5, 1.0)  # Hestness 2017: the best model grows sublinearly, 0.5 <= β_p < 1


@dataclass(frozen=True)
class GridLimit:
    """How often the grid's largest model size was a shard's best-fit model."""

    largest: float  # the largest model size searched
    wins: int  # best-per-shard points whose best model is that size
    points: int  # best-per-shard points (a shard per seed)

    @property
    def limited(self) -> bool:
        """The largest model wins most shards: the grid, not the data, sets the curve's top."""
        return self.points > 0 and self.wins > self.points / 2

    def warning(self) -> str:
        """One line for `study fit` and the report ('' when the grid does not limit)."""
        if not self.limited:
            return ""
        size = f"{self.largest:g}"
        return (
            f"the grid's largest model (size {size}) is the best on {self.wins} of "
            f"{self.points} shards: the grid limits the model-size curve (those shards' best "
            f"model may be larger, so beta_p is biased toward 0); add sizes above {size} to "
            "[search] model_sizes"
        )


def grid_limit(best_sizes: ArrayLike, grid: ArrayLike) -> GridLimit:
    """How many of the best-fit model sizes (one per shard and seed) are the largest size of
    the `grid` searched (see GridLimit)."""
    sizes = np.asarray(best_sizes, dtype=float).reshape(-1)
    sizes = sizes[np.isfinite(sizes)]
    searched = np.asarray(grid, dtype=float).reshape(-1)
    searched = searched[np.isfinite(searched)]
    largest = float(searched.max()) if searched.size else math.nan
    wins = int(np.sum(sizes == largest)) if searched.size else 0
    return GridLimit(largest=largest, wins=wins, points=int(sizes.size))


def fit_model_size_curve(
    data: ArrayLike,
    sizes: ArrayLike,
    n_bootstrap: int = 200,
    random_state: int | None = 0,
    ci_level: float = 0.9,
) -> ModelSizeCurve:
    """Fit s(m) = α_p·m^β_p to (shard size, best-fit model size) pairs, with `n_bootstrap`
    refits drawn with `random_state` for its `ci_level` parameter intervals."""
    m = np.asarray(data, dtype=float).reshape(-1)
    s = np.asarray(sizes, dtype=float).reshape(-1)
    if m.size != s.size:
        raise ScalingLabError("give one best-fit model size per shard size")
    if np.unique(m).size < 2:
        raise ScalingLabError("the model-size curve needs best-fit sizes at 2 or more shard sizes")
    law = get_law("power")(
        n_bootstrap=n_bootstrap, random_state=random_state, ci_level=ci_level, objective="ls_log"
    )
    return ModelSizeCurve(law.fit(m[:, None], s))


def model_size_for_data(law: ScalingLaw, data: ArrayLike, level: float = 0.9) -> pd.DataFrame:
    """Predicted best-fit model size for `data` examples from a fitted one-variable size curve."""
    if len(law.variables) != 1:
        raise ScalingLabError(
            f"a model-size curve is a one-variable law (power); the fit holds {law.name!r}"
        )
    m = np.atleast_1d(np.asarray(data, dtype=float)).reshape(-1)
    if m.size == 0 or np.any(~np.isfinite(m) | (m <= 0)):
        raise ScalingLabError("the data sizes must be positive numbers")
    check_level(level)
    out = pd.DataFrame({"data": m, "size": law.predict(m[:, None])})
    dr = law_draws(law)
    if dr.theta is not None:
        preds = np.exp(law.log_predict_draws(m[:, None], dr.theta))
        out["size_lo"], out["size_hi"] = row_intervals(preds.T, level)
    return out


__all__ = [
    "HESTNESS_BETA_P",
    "GridLimit",
    "ModelSizeCurve",
    "best_model_sizes",
    "best_rows",
    "fit_model_size_curve",
    "grid_limit",
    "model_size_for_data",
]
