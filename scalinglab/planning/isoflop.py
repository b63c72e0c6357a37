"""Approach 2 of Hoffmann et al. (2022, arXiv:2203.15556, Sec. 3.2, Fig. 3): IsoFLOP profiles.

Runs are grouped by compute budget (runs whose FLOPs agree within a relative tolerance form one
budget). For each budget:

    loss ≈ c2·(ln N)² + c1·ln N + c0,   ln N_opt = −c1/(2·c2),   D_opt = C / (k_C·N_opt),

a parabola in log model size whose vertex is the budget's compute-optimal size; k_C is the FLOPs
per parameter-token of that budget's own runs (median of C/(N·D)), or the FLOP model when there
is no token column. Then N_opt ∝ C^a and D_opt ∝ C^b are fitted as lines in log-log space through
the vertices (Hoffmann: a = 0.49, b = 0.51).

Budgets whose parabola opens downward (c2 ≤ 0) have no minimum; budgets whose vertex lies
outside the model sizes they sampled only extrapolate one. Both are reported and left out of
the lines. The uncertainty of a and b comes from a bootstrap over runs within each budget
(every parabola refitted per resample, vectorised), else from the least-squares line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from scalinglab.errors import ScalingLabError
from scalinglab.fitting.uncertainty import check_bootstrap
from scalinglab.laws.base import FloatArray
from scalinglab.planning._checks import check_level, positive_array
from scalinglab.planning._results import records, row_intervals
from scalinglab.planning.flops import FlopModel, run_compute
from scalinglab.planning.lines import (
    LineExponents,
    PowerLawLine,
    bootstrap_exponents,
    fit_power_line,
)


@dataclass
class IsoFLOPResult(LineExponents):
    """Per-budget parabolas and minima, and the N_opt(C), D_opt(C) lines through them.

    `budgets`: one row per budget — compute, n_runs, c2, c1, c0 (loss = c2·ln²N + c1·lnN + c0),
    n_opt, d_opt, loss_opt, used (in the line fits), note, and with a bootstrap n_opt_lo/n_opt_hi.
    `runs`: the input runs with the index of their budget (`budget`).
    """

    budgets: pd.DataFrame
    runs: pd.DataFrame
    n_line: PowerLawLine
    d_line: PowerLawLine
    level: float = 0.9
    n_bootstrap: int = 0
    warnings: list[str] = field(default_factory=list)

    def parabola_curves(self, points: int = 50) -> pd.DataFrame:
        """Plot-ready parabolas: for each budget, loss over its sampled range of ln N."""
        frames = []
        for i, row in self.budgets.iterrows():
            sizes = self.runs.loc[self.runs["budget"] == i, "params"].to_numpy()
            if not np.isfinite(row["c2"]) or sizes.size == 0:
                continue
            u = np.linspace(np.log(sizes.min()), np.log(sizes.max()), points)
            frames.append(
                pd.DataFrame(
                    {
                        "budget": i,
                        "compute": row["compute"],
                        "params": np.exp(u),
                        "loss": row["c2"] * u**2 + row["c1"] * u + row["c0"],
                    }
                )
            )
        if not frames:
            return pd.DataFrame(columns=["budget", "compute", "params", "loss"])
        return pd.concat(frames, ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "isoflop (Hoffmann 2022, Approach 2)",
            **self._lines_dict(),
            "level": self.level,
            "n_bootstrap": self.n_bootstrap,
            "budgets": records(self.budgets),
            "warnings": list(self.warnings),
        }


def group_budgets(compute: ArrayLike, rel_tol: float = 0.05) -> tuple[np.ndarray, FloatArray]:
    """Budget index of each run and each budget's compute (the median of its runs).

    Sorted by compute, a run starts a new budget when it exceeds the first run of the current
    budget by more than `rel_tol` (relative).
    """
    c = np.asarray(compute, dtype=float)
    if not rel_tol >= 0:  # NaN too
        raise ScalingLabError(f"the budget tolerance must be >= 0, got {rel_tol}")
    order = np.argsort(c, kind="stable")
    labels = np.empty(c.size, dtype=int)
    current, first = -1, -math.inf
    for i in order:
        if c[i] > first * (1 + rel_tol) or current < 0:
            current += 1
            first = c[i]
        labels[i] = current
    values = np.array([np.median(c[labels == j]) for j in range(current + 1)])
    return labels, values


def _parabolas(u: FloatArray, y: FloatArray, weights: FloatArray) -> FloatArray:
    """Weighted least-squares (c0, c1, c2) per row of weights (B, n); NaN where < 3 sizes."""
    center = float(u.mean())
    uc = u - center
    X = np.column_stack([np.ones_like(uc), uc, uc**2])
    XtWX = np.einsum("bn,ni,nj->bij", weights, X, X)
    XtWy = np.einsum("bn,ni,n->bi", weights, X, y)
    good = _distinct(u, weights) >= 3
    XtWX[~good] = np.eye(3)
    XtWy[~good] = 0.0
    coef = np.linalg.solve(XtWX, XtWy[..., None])[..., 0]
    coef[~good] = np.nan
    # Back to uncentered ln N: c2(u−m)² + c1(u−m) + c0.
    k0, k1, k2 = coef[:, 0], coef[:, 1], coef[:, 2]
    return np.column_stack([k0 - k1 * center + k2 * center**2, k1 - 2 * k2 * center, k2])


def _overflowed(y: FloatArray, idx: np.ndarray, compute: float) -> None:
    """Fail naming the run (1-based, in input order) whose loss made its budget's parabola
    overflow: only a loss of the order of 1e300 (finite, but no loss) does that, and without
    this it would read as a budget without a minimum, or with too few model sizes."""
    worst = int(idx[np.argmax(y[idx])])
    raise ScalingLabError(
        f"loss is out of range: run {worst + 1} has {y[worst]:g}, too large to fit a parabola "
        f"to its budget ({compute:.3g} FLOPs: the fit overflows); check the loss column"
    )


def _bracketed(u: FloatArray, y: FloatArray) -> bool:
    """Whether the lowest loss of a budget lies strictly between its smallest and largest model
    sizes (a minimum the runs on either side bracket)."""
    best = float(u[np.argmin(y)])
    return bool(u.min() < best < u.max())


def _distinct(u: FloatArray, weights: FloatArray) -> np.ndarray:
    """Number of distinct u values with positive weight, per row (vectorised)."""
    _, inverse = np.unique(u, return_inverse=True)
    onehot = np.zeros((u.size, int(inverse.max()) + 1))
    onehot[np.arange(u.size), inverse] = 1.0
    return np.asarray(((weights > 0).astype(float) @ onehot > 0).sum(axis=1))


def isoflop_analysis(
    params: ArrayLike,
    loss: ArrayLike,
    compute: ArrayLike | None = None,
    tokens: ArrayLike | None = None,
    flops: FlopModel | None = None,
    rel_tol: float = 0.05,
    n_bootstrap: int = 0,
    level: float = 0.9,
    random_state: int | None = 0,
) -> IsoFLOPResult:
    """IsoFLOP analysis of runs (N, loss, and C or D): parabolas, minima, and the a, b lines.

    Give `compute` (FLOPs per run) or `tokens` (then C = flops.compute(N, D)), or both.
    """
    flops = flops or FlopModel()
    n = positive_array("params", params)
    y = positive_array("loss", loss)
    if n.size != y.size:
        raise ScalingLabError("params and loss must have one value per run")
    c, d = run_compute(flops, n, compute, tokens, "run")
    check_level(level)
    check_bootstrap(n_bootstrap, random_state)
    labels, budget_c = group_budgets(c, rel_tol)
    u = np.log(n)
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    boot_u = np.full((n_bootstrap, budget_c.size), np.nan)
    rng = np.random.default_rng(random_state)
    k_c = np.full(budget_c.size, math.nan)
    for j, cb in enumerate(budget_c):
        idx = np.flatnonzero(labels == j)
        k_c[j] = float(np.median(c[idx] / (n[idx] * d[idx]))) if d is not None else math.nan
        row: dict[str, Any] = {"compute": float(cb), "n_runs": int(idx.size)}
        coef = _parabolas(u[idx], y[idx], np.ones((1, idx.size)))[0]
        if not np.all(np.isfinite(coef)) and _distinct(u[idx], np.ones((1, idx.size)))[0] >= 3:
            _overflowed(y, idx, cb)
        c0, c1, c2 = (float(v) for v in coef)
        row.update({"c2": c2, "c1": c1, "c0": c0})
        note = ""
        if not np.isfinite(c2):
            note = "fewer than 3 model sizes"
        elif c2 <= 0:
            note = "no minimum (parabola opens downward)"
        if note:
            row.update({"n_opt": math.nan, "d_opt": math.nan, "loss_opt": math.nan})
        else:
            u_star = -c1 / (2 * c2)
            row["n_opt"] = math.exp(u_star)
            row["loss_opt"] = c0 - c1 * c1 / (4 * c2)
            if not u[idx].min() <= u_star <= u[idx].max():
                note = "minimum outside the sampled model sizes"
            elif not _bracketed(u[idx], y[idx]):
                # Hoffmann's approach 2 reads the optimum off a valley: where the loss keeps
                # falling to the largest (or smallest) size, a parabola's vertex is an artefact
                note = "lowest loss at the edge of the sampled model sizes: no minimum in between"
        row["note"] = note
        row["used"] = not note
        rows.append(row)
        if note:
            notes.append(f"budget {cb:.3g} FLOPs left out: {note}")
        elif n_bootstrap:
            # Resample the budget's runs with replacement: multinomial counts as weights.
            counts = rng.multinomial(idx.size, np.full(idx.size, 1.0 / idx.size), n_bootstrap)
            cb_coef = _parabolas(u[idx], y[idx], counts.astype(float))
            with np.errstate(all="ignore"):
                us = -cb_coef[:, 1] / (2 * cb_coef[:, 2])
            us[~(cb_coef[:, 2] > 0)] = np.nan
            boot_u[:, j] = us
    budgets = pd.DataFrame(rows)
    budgets["d_opt"] = _tokens_at(flops, budget_c, budgets["n_opt"].to_numpy(float), k_c)
    used = budgets["used"].to_numpy(dtype=bool)
    if used.sum() < 2:
        left_out = budgets.loc[~used]
        why = "; ".join(
            f"{len(group)} with {reason}" for reason, group in left_out.groupby("note", sort=False)
        )
        raise ScalingLabError(
            f"IsoFLOP analysis needs a minimum at 2 or more budgets; found {int(used.sum())} "
            f"usable of {budget_c.size} budget(s) ({why or 'too few budgets'}). "
            "Check the compute column or rel_tol"
        )
    cu = budget_c[used]
    n_line = fit_power_line(cu, budgets.loc[used, "n_opt"], level)
    d_line = fit_power_line(cu, budgets.loc[used, "d_opt"], level)
    if n_bootstrap:
        n_boot = np.exp(boot_u[:, used])
        d_boot = _tokens_at(flops, cu, n_boot, k_c[used])
        bootstrap_exponents(n_line, d_line, np.log(cu), np.log(n_boot), np.log(d_boot), level)
        budgets["n_opt_lo"], budgets["n_opt_hi"] = row_intervals(np.exp(boot_u.T), level)
    runs = pd.DataFrame({"params": n, "loss": y, "compute": c, "budget": labels})
    if d is not None:
        runs["tokens"] = d
    runs["budget_compute"] = budget_c[labels]
    return IsoFLOPResult(
        budgets=budgets,
        runs=runs,
        n_line=n_line,
        d_line=d_line,
        level=level,
        n_bootstrap=n_bootstrap,
        warnings=notes,
    )


def _tokens_at(
    flops: FlopModel, compute: FloatArray, n_opt: FloatArray, k: FloatArray
) -> FloatArray:
    """D_opt = C/(k_C·N_opt) per budget (columns), from the budget's own FLOPs per
    parameter-token where known, else from the FLOP model."""
    c = np.broadcast_to(compute, np.shape(n_opt))
    kk = np.broadcast_to(k, np.shape(n_opt))
    with np.errstate(invalid="ignore"):
        own = c / (kk * n_opt)
        safe_n = np.where(np.isfinite(n_opt), n_opt, 1.0)
        model = np.where(np.isfinite(n_opt), flops.tokens(c, safe_n), np.nan)
    return np.asarray(np.where(np.isfinite(kk), own, model), dtype=float)
