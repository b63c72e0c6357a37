"""Fit a study's learning curve and model-size curve (Hestness et al. 2017, Sec. 3 and Fig. 1).

From the best-fit model of each shard (scalinglab.study.results.best_per_shard):
- the learning curve eps(m) = alpha * m^beta_g + gamma (law `power_const`, params a, b, c), or
  the three-region `hestness` law, which also reports where the power-law region starts and ends;
- the model-size curve s(m) = alpha_p * m^beta_p (law `power`, params a, b) of the best model's
  parameter count against shard size; Hestness et al. find it sublinear (beta_p < 1).

With `fit_up_to`, both curves are fitted on the shards up to that size only, and every larger
shard is a held-out check of the extrapolation: the learning curve's prediction and 90% interval
against the mean of the seeds' best values there (Hestness et al. 2017 fit learning curves to
predict what more data will buy; this measures how well that works on the study at hand).
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scalinglab.errors import FitWarning, ScalingLabError
from scalinglab.study.results import best_per_shard

if TYPE_CHECKING:
    from scalinglab.laws.base import ScalingLaw

CURVE_LAWS = ("power_const", "hestness")
Y_COLUMNS = ("best_val_loss", "best_val_error")
HOLDOUT_LEVEL = 0.9


def default_y(task: str) -> str:
    """The learning-curve column Hestness plot for the task's domain (loss otherwise)."""
    from scalinglab.report.reference import TASK_Y

    return TASK_Y.get(task, "best_val_loss")


def _fit_law(
    name: str, x: np.ndarray, y: np.ndarray, n_bootstrap: int
) -> tuple[ScalingLaw, dict[str, Any]]:
    """Fit law `name` to (x, y): the fitted law, and its to_dict() plus the FitWarnings it raised.

    The model-size curve ("power" of parameter counts) is fitted as planning fits it: least
    squares on log s, the straight line Hestness et al. fit on log-log axes.
    """
    from scalinglab.laws import get_law
    from scalinglab.planning import fit_model_size_curve

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitWarning)
        if name == "power":
            law = fit_model_size_curve(x, y, n_bootstrap=n_bootstrap, random_state=0).law
        else:
            law = get_law(name)(n_bootstrap=n_bootstrap, random_state=0).fit(x.reshape(-1, 1), y)
    out: dict[str, Any] = law.to_dict()
    out.pop("bootstrap_params", None)  # large; the fit is reproducible from the points
    out["fit_warnings"] = [str(w.message) for w in caught if issubclass(w.category, FitWarning)]
    return law, out


def _holdout(law: ScalingLaw, held: pd.DataFrame, y: str) -> list[dict[str, Any]]:
    """Per held-out shard: the seeds' mean best value, the prediction, its interval, rel. error."""
    if held.empty:
        return []
    by_shard = held.groupby("shard_size", sort=True)[y].agg(["mean", "count"])
    shards = by_shard.index.to_numpy(dtype=float)
    predicted = law.predict(shards.reshape(-1, 1))
    lo, hi = law.predict_interval(shards.reshape(-1, 1), level=HOLDOUT_LEVEL)
    measured, n_seeds = by_shard["mean"].to_numpy(), by_shard["count"].to_numpy()
    return [
        {
            "shard_size": int(shards[i]),
            "measured": float(measured[i]),
            "n_seeds": int(n_seeds[i]),
            "predicted": float(predicted[i]),
            "lo": float(lo[i]),
            "hi": float(hi[i]),
            "relative_error": float(predicted[i] / measured[i] - 1.0),
        }
        for i in range(len(shards))
    ]


def fit_study(
    df: pd.DataFrame,
    y: str = "auto",
    law: str = "power_const",
    n_bootstrap: int = 1000,
    fit_up_to: float | None = None,
) -> dict[str, Any]:
    """Fit the learning curve (y vs shard_size) and model-size curve (n_params vs shard_size).

    Each shard's best-fit model is the table's is_best trial (the study's `[search] select_by`:
    lowest validation loss, or lowest error); y = "auto" is the domain's metric (error for image
    and speech, loss otherwise). `fit_up_to` fits on the shards up to that size and reports the
    larger ones as predicted vs measured ("holdout").
    """
    if law not in CURVE_LAWS:
        raise ScalingLabError(f"unknown learning-curve law {law!r}; use {' or '.join(CURVE_LAWS)}")
    if y == "auto":
        y = default_y(str(df["task"].iloc[0]) if "task" in df and len(df) else "")
    if y not in Y_COLUMNS:
        raise ScalingLabError(f"--y must be best_val_loss, best_val_error or auto, not {y!r}")
    best = best_per_shard(df)
    best = best[np.isfinite(best[y].to_numpy(dtype=float))]
    held = best.iloc[0:0]
    if fit_up_to is not None:
        if not math.isfinite(fit_up_to) or fit_up_to <= 0:
            raise ScalingLabError(f"--fit-up-to must be a positive shard size, not {fit_up_to}")
        held = best[best["shard_size"] > fit_up_to]
        best = best[best["shard_size"] <= fit_up_to]
    if best["shard_size"].nunique() < 3:
        hint = "raise --fit-up-to" if fit_up_to is not None else "run the study further"
        raise ScalingLabError(
            f"only {best['shard_size'].nunique()} shard(s) to fit have a finished best trial; "
            f"a learning-curve fit needs at least 3 ({hint})"
        )
    m = best["shard_size"].to_numpy(dtype=float)
    eps = best[y].to_numpy(dtype=float)
    fitted, curve = _fit_law(law, m, eps, n_bootstrap)
    result: dict[str, Any] = {
        "y": y,
        "points": best[["seed", "shard_size", "model_size", "n_params", y]].to_dict("records"),
        "learning_curve": curve,
        # power_const names the exponent b; hestness names it beta_g.
        "beta_g": float(curve["params"].get("b", curve["params"].get("beta_g", math.nan))),
        "fit_up_to": fit_up_to,
        "holdout": _holdout(fitted, held, y),
    }
    s = best["n_params"].to_numpy(dtype=float)
    if len(np.unique(s)) >= 2:
        _, size_curve = _fit_law("power", m, s, n_bootstrap)
        result["model_size_curve"] = size_curve
        result["beta_p"] = float(size_curve["params"]["b"])
    else:
        result["model_size_curve"] = None
        result["beta_p"] = 0.0  # the same best size at every shard: flat
        result["model_size_note"] = "every shard's best model has the same size; s(m) is flat"
    return result
