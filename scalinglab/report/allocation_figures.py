"""The figures of the report of an (N, D, C, loss) table: IsoFLOP profiles, the compute-optimal
allocation, and the residuals of the Chinchilla fit (Hoffmann et al. 2022).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scalinglab.planning import allocation_frontier
from scalinglab.planning.chinchilla_runs import NDAnalysis
from scalinglab.report.diagnostics import ResidualSeries, residuals_figure
from scalinglab.report.document import FigureFile
from scalinglab.report.isoflop import allocation_figure, isoflop_figure
from scalinglab.report.style import figure_file


def allocation_figures(a: NDAnalysis, fig_dir: Path) -> list[FigureFile]:
    """The figures of the page, written under fig_dir."""
    figs = []
    if a.isoflop is not None:
        figs.append(
            figure_file(
                isoflop_figure(a.isoflop),
                fig_dir / "isoflop",
                "IsoFLOP profiles",
                "Loss against model size N (left) and training tokens D (right) for each compute "
                "budget, with the parabola in ln N fitted per budget and its minimum (★) — "
                "Hoffmann "
                "et al. 2022, Approach 2.",
            )
        )
    lo = float(np.min(a.C))
    frontier = allocation_frontier(
        a.law, np.geomspace(lo, max(1e25, float(np.max(a.C))), 40), level=a.level
    )
    figs.append(
        figure_file(
            allocation_figure(a.isoflop, frontier, "Chinchilla fit"),
            fig_dir / "allocation",
            "Compute-optimal allocation",
            "N_opt and D_opt against compute: from the fitted L(N, D) (solid, with its "
            f"{a.level:.0%} band from the bootstrap draws) and, where the runs share budgets, the "
            "IsoFLOP minima (★) with their fitted lines (dashed).",
        )
    )
    X = np.column_stack([a.N, a.D])
    series = [
        ResidualSeries.of(
            "Chinchilla fit vs compute",
            a.law,
            X,
            a.loss,
            x=a.C,
            xlabel="training compute C (FLOPs)",
        ),
        ResidualSeries.of(
            "Chinchilla fit vs N", a.law, X, a.loss, x=a.N, xlabel="model size N (parameters)"
        ),
    ]
    figs.append(
        figure_file(
            residuals_figure(series, "Residuals of L(N, D)"),
            fig_dir / "residuals",
            "Residuals",
            "ln(observed / fitted loss) per run.",
        )
    )
    return figs
