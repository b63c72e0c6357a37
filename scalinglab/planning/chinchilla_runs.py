"""Hoffmann et al. (2022) on a table of runs with model size N, training tokens D (and compute C):
find its N, D, C and loss columns, fit the Chinchilla law L = E + A/N^α + B/D^β to them
(Approach 3), and run the IsoFLOP analysis (Approach 2) when runs share compute budgets.

`analyze_nd(table, source)` returns an `NDAnalysis` that `scalinglab report` renders.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scalinglab.errors import FitWarning, ScalingLabError
from scalinglab.io import numeric_columns
from scalinglab.laws import get_law
from scalinglab.laws.base import ScalingLaw
from scalinglab.planning.isoflop import IsoFLOPResult, isoflop_analysis

COLUMN_NAMES = {
    "params": ("params", "n_params", "N", "parameters", "model_params"),
    "tokens": ("tokens", "D", "n_tokens", "train_tokens", "data"),
    "compute": ("flops", "compute", "C", "FLOPs"),
    "loss": ("loss", "val_loss", "best_val_loss", "L"),
}


def find_columns(df: pd.DataFrame) -> dict[str, str]:
    """The table's params/tokens/compute/loss columns, by their usual names."""
    found: dict[str, str] = {}
    for role, names in COLUMN_NAMES.items():
        for name in names:
            if name in df.columns:
                found[role] = name
                break
    return found


def has_nd(df: pd.DataFrame) -> bool:
    """Does the table hold runs with N, a loss, and D or C?"""
    cols = find_columns(df)
    return "params" in cols and "loss" in cols and ("tokens" in cols or "compute" in cols)


@dataclass
class NDAnalysis:
    """Fits and plans of an (N, D, C, loss) table."""

    source: str
    n_runs: int
    columns: dict[str, str]
    N: np.ndarray
    D: np.ndarray
    C: np.ndarray
    loss: np.ndarray
    law: ScalingLaw
    isoflop: IsoFLOPResult | None
    isoflop_error: str
    level: float


def analyze_nd(
    df: pd.DataFrame,
    source: str,
    n_bootstrap: int = 200,
    level: float = 0.9,
    flops_per_param_token: float = 6.0,
    seed: int = 0,
) -> NDAnalysis:
    """Fit the Chinchilla law to the runs and, when possible, run the IsoFLOP analysis; both
    bootstrap `n_bootstrap` times with random_state `seed`, and give `level` intervals (the
    law's parameter intervals too)."""
    cols = find_columns(df)
    N = numeric_columns(df, [cols["params"]], source)[:, 0]
    loss = numeric_columns(df, [cols["loss"]], source)[:, 0]
    k = flops_per_param_token
    if "tokens" in cols:
        D = numeric_columns(df, [cols["tokens"]], source)[:, 0]
        C = numeric_columns(df, [cols["compute"]], source)[:, 0] if "compute" in cols else k * N * D
    else:
        C = numeric_columns(df, [cols["compute"]], source)[:, 0]
        D = C / (k * N)
    if len(N) < 6:
        raise ScalingLabError(f"{source}: {len(N)} runs are too few to fit L(N, D) (need 6+)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        law = get_law("chinchilla")(n_bootstrap=n_bootstrap, random_state=seed, ci_level=level)
        law.fit(np.column_stack([N, D]), loss)
    iso: IsoFLOPResult | None = None
    iso_error = ""
    try:
        iso = isoflop_analysis(
            N, loss, compute=C, tokens=D, n_bootstrap=n_bootstrap, level=level, random_state=seed
        )
    except ScalingLabError as exc:
        iso_error = str(exc)
    return NDAnalysis(source, len(N), cols, N, D, C, loss, law, iso, iso_error, level)
