"""Fit a study's learning curve and model-size curve (Hestness et al. 2017, Sec. 3 and Fig. 1).

From the best-fit model of each shard (scalinglab.study.results.best_per_shard):
- the learning curve eps(m) = alpha * m^beta_g + gamma (law `power_const`, params a, b, c), or
  the three-region `hestness` law, which also reports where the power-law region starts and ends;
- the model-size curve s(m) = alpha_p * m^beta_p (law `power`, params a, b) of the best model's
  parameter count against shard size; Hestness et al. find it sublinear (beta_p < 1).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from scalinglab.errors import FitWarning, ScalingLabError
from scalinglab.study.results import best_per_shard

CURVE_LAWS = ("power_const", "hestness")
Y_COLUMNS = ("best_val_loss", "best_val_error")


def default_y(task: str) -> str:
    """The learning-curve column Hestness plot for the task's domain (loss otherwise)."""
    from scalinglab.report.reference import TASK_Y

    return TASK_Y.get(task, "best_val_loss")


def _fit_law(name: str, x: np.ndarray, y: np.ndarray, n_bootstrap: int) -> dict[str, Any]:
    """Fit law `name` to (x, y); its to_dict() plus the FitWarnings it raised.

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
    return out


def fit_study(
    df: pd.DataFrame,
    y: str = "auto",
    law: str = "power_const",
    n_bootstrap: int = 1000,
) -> dict[str, Any]:
    """Fit the learning curve (y vs shard_size) and model-size curve (n_params vs shard_size).

    Each shard's best-fit model is the table's is_best trial (the study's `[search] select_by`:
    lowest validation loss, or lowest error); y = "auto" is the domain's metric (error for image
    and speech, loss otherwise).
    """
    if law not in CURVE_LAWS:
        raise ScalingLabError(f"unknown learning-curve law {law!r}; use {' or '.join(CURVE_LAWS)}")
    if y == "auto":
        y = default_y(str(df["task"].iloc[0]) if "task" in df and len(df) else "")
    if y not in Y_COLUMNS:
        raise ScalingLabError(f"--y must be best_val_loss, best_val_error or auto, not {y!r}")
    best = best_per_shard(df)
    best = best[np.isfinite(best[y].to_numpy(dtype=float))]
    if best["shard_size"].nunique() < 3:
        raise ScalingLabError(
            f"only {best['shard_size'].nunique()} shard(s) have a finished best trial; "
            "a learning-curve fit needs at least 3 (run the study further)"
        )
    m = best["shard_size"].to_numpy(dtype=float)
    eps = best[y].to_numpy(dtype=float)
    curve = _fit_law(law, m, eps, n_bootstrap)
    result: dict[str, Any] = {
        "y": y,
        "points": best[["seed", "shard_size", "model_size", "n_params", y]].to_dict("records"),
        "learning_curve": curve,
        # power_const names the exponent b; hestness names it beta_g.
        "beta_g": float(curve["params"].get("b", curve["params"].get("beta_g", math.nan))),
    }
    s = best["n_params"].to_numpy(dtype=float)
    if len(np.unique(s)) >= 2:
        size_curve = _fit_law("power", m, s, n_bootstrap)
        result["model_size_curve"] = size_curve
        result["beta_p"] = float(size_curve["params"]["b"])
    else:
        result["model_size_curve"] = None
        result["beta_p"] = 0.0  # the same best size at every shard: flat
        result["model_size_note"] = "every shard's best model has the same size; s(m) is flat"
    return result
