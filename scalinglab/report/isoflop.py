"""IsoFLOP plots (Hoffmann et al. 2022, arXiv:2203.15556, Fig. 3): for each compute budget, loss
against model size N and against training tokens D, the parabola fitted in ln N and its minimum;
then the optima N_opt(C), D_opt(C) with the fitted allocation lines N_opt ∝ C^a, D_opt ∝ C^b.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from scalinglab.planning.isoflop import IsoFLOPResult
from scalinglab.report.style import (
    BLUE,
    VERMILLION,
    colour,
    label_log_axes,
    new_figure,
)

# The two optima of a budget: (column, colour, label) of N_opt and of D_opt.
_N_AND_D = (("n_opt", BLUE, "N_opt"), ("d_opt", VERMILLION, "D_opt"))


def _stars(
    ax: Axes,
    x: ArrayLike,
    y: ArrayLike,
    color: str,
    *,
    size: float,
    edge: float,
    zorder: float,
    label: str | None = None,
) -> None:
    """IsoFLOP minima as black-edged stars (★, as the captions call them)."""
    ax.scatter(
        x,
        y,
        marker="*",
        s=size,
        color=color,
        edgecolor="black",
        lw=edge,
        zorder=zorder,
        label=label,
    )


def isoflop_figure(result: IsoFLOPResult, loss_label: str = "loss (nats/token)") -> Figure:
    """Two panels: loss vs N and loss vs D per budget, with the parabolas and their minima.

    Up to 8 budgets get Okabe–Ito colours and a legend; more get viridis (also colour-blind safe)
    by log compute, with a colour bar. Parabolas and minima are drawn for the budgets the
    allocation lines use.
    """
    fig, (ax_n, ax_d) = new_figure(ncols=2, width=5.6, height=4.4)
    runs, budgets = result.runs, result.budgets
    curves = result.parabola_curves()
    many = len(budgets) > 8
    logc = np.log10(budgets["compute"].to_numpy(dtype=float))
    norm = Normalize(vmin=float(logc.min()), vmax=float(logc.max()) + 1e-9)
    cmap = colormaps["viridis"]
    for pos, (j, row) in enumerate(budgets.iterrows()):
        c = cmap(norm(logc[pos])) if many else colour(pos)
        mine = runs[runs["budget"] == j]
        label = None if many else f"C = {row['compute']:.2g} FLOPs"
        ax_n.scatter(mine["params"], mine["loss"], s=14, color=c, alpha=0.75, lw=0, label=label)
        if "tokens" in mine:
            ax_d.scatter(mine["tokens"], mine["loss"], s=14, color=c, alpha=0.75, lw=0)
        if not bool(row.get("used", False)):
            continue
        curve = curves[curves["budget"] == j]
        if not curve.empty:
            ax_n.plot(curve["params"], curve["loss"], color=c, lw=1.2)
            if "tokens" in mine:
                k = float(np.median(mine["compute"] / (mine["params"] * mine["tokens"])))
                ax_d.plot(row["compute"] / (k * curve["params"]), curve["loss"], color=c, lw=1.2)
        for ax, name in ((ax_n, "n_opt"), (ax_d, "d_opt")):
            _stars(ax, [row[name]], [row["loss_opt"]], c, size=110, edge=0.6, zorder=6)
    panels = (
        (ax_n, "model size N (parameters)", "IsoFLOP profiles: loss vs N (★ minimum)"),
        (ax_d, "training tokens D", "IsoFLOP profiles: loss vs D"),
    )
    for ax, xlabel, title in panels:
        label_log_axes(ax, xlabel, loss_label, title, "x")
    if many:
        bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=[ax_n, ax_d], pad=0.02)
        bar.set_label("log10 compute budget C (FLOPs)")
    else:
        ax_n.legend(fontsize=7, loc="upper right")
    return fig


def allocation_figure(
    result: IsoFLOPResult | None = None,
    frontier: pd.DataFrame | None = None,
    law_label: str = "fitted law",
) -> Figure:
    """N_opt and D_opt against compute: IsoFLOP minima with their fitted lines, and (from a fitted
    loss law) the compute-optimal frontier with its interval band."""
    fig, (ax,) = new_figure(width=6.4, height=4.6)
    computes: list[float] = []
    if result is not None:
        used = result.budgets[result.budgets["used"].astype(bool)]
        computes += list(result.budgets["compute"])
        for name, c, what in _N_AND_D:
            _stars(
                ax,
                used["compute"],
                used[name],
                c,
                size=90,
                edge=0.5,
                zorder=5,
                label=f"IsoFLOP {what}",
            )
    if frontier is not None and not frontier.empty:
        computes += list(frontier["compute"])
    if not computes:
        ax.text(0.5, 0.5, "no allocation to show", ha="center", transform=ax.transAxes)
        return fig
    grid = np.geomspace(min(computes), max(computes), 100)
    if result is not None:
        for (_, c, what), line in zip(_N_AND_D, (result.n_line, result.d_line), strict=True):
            label = f"IsoFLOP: {what} ∝ $C^{{{line.exponent:.3f}}}$"
            ax.plot(grid, line(grid), color=c, lw=1.5, ls="--", label=label)
    if frontier is not None and not frontier.empty:
        f = frontier
        for name, c, what in _N_AND_D:
            ax.plot(f["compute"], f[name], color=c, lw=2, label=f"{law_label}: {what}")
        for name, c, _ in _N_AND_D:
            if f"{name}_lo" in f:
                ax.fill_between(
                    f["compute"], f[f"{name}_lo"], f[f"{name}_hi"], color=c, alpha=0.15, lw=0
                )
    label_log_axes(
        ax,
        "training compute C (FLOPs)",
        "parameters N_opt, tokens D_opt",
        "Compute-optimal allocation",
    )
    ax.legend(fontsize=7, loc="upper left")
    return fig
