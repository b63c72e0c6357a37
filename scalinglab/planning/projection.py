"""Projection table in the style of Hoffmann et al. (2022, arXiv:2203.15556, Table 3).

For each model size N: the budget for which N is compute-optimal, that budget in units of one
Gopher training run (5.76e23 FLOPs), and the tokens to train on. From a Chinchilla law with
C = k·N·D the inversion is closed form: C = k·(N/G)^(1/a), D = C/(k·N) (G, a as in
`scalinglab.planning.allocation`). From other laws of N and D it is numeric; from fitted
allocation lines (Approaches 1 and 2: N_opt = n_coef·C^a, D_opt = d_coef·C^b) it is
C = (N/n_coef)^(1/a), D = D_opt(C), as in the paper's table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from scalinglab.errors import ScalingLabError
from scalinglab.laws.base import FloatArray, ScalingLaw
from scalinglab.planning._checks import check_level
from scalinglab.planning._results import interval
from scalinglab.planning._zoom import zoom_root
from scalinglab.planning.allocation import chinchilla_rows, optimal_rows
from scalinglab.planning.flops import FlopModel, search_budgets
from scalinglab.planning.lines import PowerLawLine
from scalinglab.planning.surface import LossSurface, law_draws, point_row

GOPHER_FLOPS = 5.76e23  # one Gopher (280B parameters, 300B tokens) training run (Hoffmann Table 3)
HOFFMANN_TABLE3_SIZES = (4e8, 1e9, 1e10, 6.7e10, 1.75e11, 2.8e11, 5.2e11, 1e12, 1e13)


class HasAllocationLines(Protocol):
    """Anything with fitted N_opt(C) and D_opt(C) lines: AllocationLines, IsoFLOPResult,
    EnvelopeResult."""

    @property
    def n_line(self) -> PowerLawLine: ...

    @property
    def d_line(self) -> PowerLawLine: ...


def _check_sizes(model_sizes: ArrayLike | Sequence[float]) -> FloatArray:
    n = np.atleast_1d(np.asarray(model_sizes, dtype=float)).reshape(-1)
    if n.size == 0:
        raise ScalingLabError("give at least one model size")
    bad = ~np.isfinite(n) | (n <= 0)
    if bad.any():
        raise ScalingLabError(f"model sizes must be positive numbers, got {n[bad][0]:g}")
    return n


def _budget_rows(
    surface: LossSurface, theta: FloatArray, sizes: FloatArray, flops: FlopModel
) -> FloatArray:
    """C per row at which N_opt(C) = sizes[row] (rows of theta pair with sizes)."""
    if surface.closed_form and flops.linear:
        G, a, _ = chinchilla_rows(surface, theta)
        with np.errstate(all="ignore"):
            return np.asarray(flops.k * (sizes / G) ** (1.0 / a), dtype=float)

    def log_nopt(logc: FloatArray) -> FloatArray:
        b, m = logc.shape
        rows = np.repeat(theta, m, axis=0)
        n, _, _, ok = optimal_rows(surface, rows, np.exp(logc).reshape(-1), flops, xtol=1e-8)
        return np.where(ok, np.log(n), np.nan).reshape(b, m)

    b = theta.shape[0]
    lo, hi = search_budgets(flops)
    logc = zoom_root(
        log_nopt, np.log(sizes), np.full(b, math.log(lo)), np.full(b, math.log(hi)), points=9
    )
    return np.exp(logc)


def projection_table(
    source: ScalingLaw | HasAllocationLines,
    model_sizes: ArrayLike | Sequence[float] = HOFFMANN_TABLE3_SIZES,
    flops: FlopModel | None = None,
    level: float = 0.9,
    gopher_flops: float = GOPHER_FLOPS,
    draws: bool = True,
) -> pd.DataFrame:
    """Hoffmann Table 3 for `model_sizes`: params, flops, flops_gopher (FLOPs / one Gopher run),
    tokens, tokens_per_param, and for a law the predicted loss; with parameter draws (closed-form
    Chinchilla) also flops_lo/flops_hi and tokens_lo/tokens_hi."""
    flops = flops or FlopModel()
    check_level(level)
    sizes = _check_sizes(model_sizes)
    if not isinstance(source, ScalingLaw):
        c = source.n_line.inverse(sizes)
        d = source.d_line(c)
        return pd.DataFrame(
            {
                "params": sizes,
                "flops": c,
                "flops_gopher": c / gopher_flops,
                "tokens": d,
                "tokens_per_param": d / sizes,
            }
        )
    law = source
    surface = LossSurface(law)
    theta = np.repeat(point_row(law), sizes.size, axis=0)
    c = _budget_rows(surface, theta, sizes, flops)
    if not np.all(np.isfinite(c)):
        bad = sizes[~np.isfinite(c)][0]
        lo, hi = search_budgets(flops)
        raise ScalingLabError(
            f"no budget between {lo:.3g} and {hi:.3g} FLOPs makes {bad:g} parameters "
            f"compute-optimal under this {law.name} fit"
        )
    d = flops.tokens(c, sizes)
    loss = surface.loss(theta, sizes[:, None], d[:, None])[:, 0]
    table = pd.DataFrame(
        {
            "params": sizes,
            "flops": c,
            "flops_gopher": c / gopher_flops,
            "tokens": d,
            "tokens_per_param": d / sizes,
            "loss": loss,
        }
    )
    dr = law_draws(law, draws and surface.closed_form and flops.linear)
    if dr.theta is not None:
        m = dr.n
        th = np.tile(dr.theta, (sizes.size, 1))
        rep = np.repeat(sizes, m)
        cd = _budget_rows(surface, th, rep, flops).reshape(sizes.size, m)
        dd = flops.tokens(cd, sizes[:, None])
        fb = np.array([interval(row, level) for row in cd])
        tb = np.array([interval(row, level) for row in dd])
        table["flops_lo"], table["flops_hi"] = fb[:, 0], fb[:, 1]
        table["tokens_lo"], table["tokens_hi"] = tb[:, 0], tb[:, 1]
    return table
