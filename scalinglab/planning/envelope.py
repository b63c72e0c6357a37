"""Approach 1 of Hoffmann et al. (2022, arXiv:2203.15556, Sec. 3.1, Fig. 2): the loss envelope.

From raw runs with loss recorded along training — rows (N, D, C, loss), several per run — take,
for each compute value, the run with the lowest loss: the lower envelope of all training curves
over FLOPs. Each envelope point names the model size N and token count D that were best at that
compute; N_opt ∝ C^a and D_opt ∝ C^b are fitted as lines in log-log space through them
(Hoffmann: a = 0.50, b = 0.50).

Here each run's curve is interpolated linearly in (log C, loss) and (log C, log D) on a grid of
`n_grid` log-spaced budgets across the data (Hoffmann used 1,500); a run counts only inside the
compute range it covered. A run with a single row (final losses only) contributes at its own
compute. Runs are told apart by a run id, else by model size. The exponents' uncertainty is a
bootstrap over runs (resample runs, rebuild the envelope, refit the lines); without it the
least-squares standard error, which is optimistic because neighbouring envelope points come from
the same run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from scalinglab.errors import ScalingLabError
from scalinglab.fitting.uncertainty import check_bootstrap
from scalinglab.laws.base import FloatArray
from scalinglab.planning._checks import check_level, positive_array
from scalinglab.planning._results import records
from scalinglab.planning.flops import FlopModel, run_compute
from scalinglab.planning.lines import (
    LineExponents,
    PowerLawLine,
    bootstrap_exponents,
    fit_power_line,
)


@dataclass
class EnvelopeResult(LineExponents):
    """Envelope points and the N_opt(C), D_opt(C) lines fitted through them.

    `points`: one row per grid budget on the envelope — compute, params, tokens, loss, run.
    `runs`: the input rows with their run label (for plotting the training curves).
    """

    points: pd.DataFrame
    runs: pd.DataFrame
    n_line: PowerLawLine
    d_line: PowerLawLine
    level: float = 0.9
    n_bootstrap: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "envelope (Hoffmann 2022, Approach 1)",
            **self._lines_dict(),
            "level": self.level,
            "n_bootstrap": self.n_bootstrap,
            "points": records(self.points),
        }


def envelope_analysis(
    params: ArrayLike,
    loss: ArrayLike,
    compute: ArrayLike | None = None,
    tokens: ArrayLike | None = None,
    run: ArrayLike | None = None,
    flops: FlopModel | None = None,
    n_grid: int = 200,
    n_bootstrap: int = 0,
    level: float = 0.9,
    random_state: int | None = 0,
) -> EnvelopeResult:
    """Approach 1 on rows (N, loss, C and/or D, optional run id); see the module docstring."""
    flops = flops or FlopModel()
    n = positive_array("params", params)
    y = positive_array("loss", loss, n.size)
    c, d = run_compute(flops, n, compute, tokens, "row")
    if d is None:
        d = flops.tokens(c, n)
    if n_grid < 2:
        raise ScalingLabError("n_grid must be >= 2")
    check_level(level)
    check_bootstrap(n_bootstrap, random_state)
    labels = pd.factorize(pd.Series(n if run is None else np.asarray(run)))[0]
    n_runs = int(labels.max()) + 1
    logc = np.log(c)
    grid = np.linspace(logc.min(), logc.max(), n_grid)
    singles = [np.flatnonzero(labels == r) for r in range(n_runs)]
    single_c = np.array([logc[i[0]] for i in singles if i.size == 1])
    grid = np.unique(np.concatenate([grid, single_c]))
    # Interpolated loss and log-tokens of every run at every grid budget (inf/NaN outside it).
    curve_loss = np.full((n_runs, grid.size), np.inf)
    curve_logd = np.full((n_runs, grid.size), np.nan)
    run_size = np.empty(n_runs)
    for r, idx in enumerate(singles):
        order = idx[np.argsort(logc[idx], kind="stable")]
        xc, yl, ld = logc[order], y[order], np.log(d[order])
        run_size[r] = float(np.median(n[order]))
        inside = (grid >= xc[0]) & (grid <= xc[-1])
        if xc.size == 1:
            inside = np.isclose(grid, xc[0], rtol=0, atol=1e-12)
        curve_loss[r, inside] = np.interp(grid[inside], xc, yl)
        curve_logd[r, inside] = np.interp(grid[inside], xc, ld)

    def envelope(mask: np.ndarray) -> tuple[FloatArray, FloatArray, np.ndarray]:
        """Best run per grid budget among runs with mask (B, n_runs); (log N, log D, valid)."""
        masked = np.where(mask[:, :, None], curve_loss[None], np.inf)
        best = np.argmin(masked, axis=1)  # (B, grid)
        valid = np.isfinite(np.take_along_axis(masked, best[:, None, :], axis=1)[:, 0])
        logn = np.where(valid, np.log(run_size)[best], np.nan)
        logd = np.where(valid, curve_logd[best, np.arange(grid.size)[None, :]], np.nan)
        return logn, logd, valid

    logn, logd, valid = envelope(np.ones((1, n_runs), dtype=bool))
    v = valid[0]
    if v.sum() < 2 or np.unique(logn[0][v]).size < 2:
        raise ScalingLabError(
            "the loss envelope holds fewer than 2 distinct model sizes: Approach 1 needs runs "
            "of several model sizes whose curves win at different budgets"
        )
    best_run = np.argmin(curve_loss, axis=0)
    points = pd.DataFrame(
        {
            "compute": np.exp(grid[v]),
            "params": np.exp(logn[0][v]),
            "tokens": np.exp(logd[0][v]),
            "loss": curve_loss[best_run, np.arange(grid.size)][v],
            "run": best_run[v],
        }
    )
    n_line = fit_power_line(points["compute"], points["params"], level)
    d_line = fit_power_line(points["compute"], points["tokens"], level)
    if n_bootstrap:
        rng = np.random.default_rng(random_state)
        counts = rng.multinomial(n_runs, np.full(n_runs, 1.0 / n_runs), n_bootstrap)
        bn, bd, _ = envelope(counts > 0)
        bootstrap_exponents(n_line, d_line, grid, bn, bd, level)
    runs = pd.DataFrame({"params": n, "tokens": d, "compute": c, "loss": y, "run": labels})
    return EnvelopeResult(
        points=points,
        runs=runs,
        n_line=n_line,
        d_line=d_line,
        level=level,
        n_bootstrap=n_bootstrap,
    )
