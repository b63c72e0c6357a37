"""IsoFLOP plots (Hoffmann et al. 2022, arXiv:2203.15556, Fig. 3): for each compute budget, loss
against model size N and against training tokens D, the parabola fitted in ln N and its minimum;
then the optima N_opt(C), D_opt(C) with the fitted allocation lines N_opt ∝ C^a, D_opt ∝ C^b.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from scalinglab.planning.isoflop import IsoFLOPResult
from scalinglab.report.style import BLUE, VERMILLION, colour, finish_log_axes, new_figure


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
        ax_n.scatter(
            [row["n_opt"]],
            [row["loss_opt"]],
            marker="*",
            s=110,
            color=c,
            edgecolor="black",
            lw=0.6,
            zorder=6,
        )
        ax_d.scatter(
            [row["d_opt"]],
            [row["loss_opt"]],
            marker="*",
            s=110,
            color=c,
            edgecolor="black",
            lw=0.6,
            zorder=6,
        )
    ax_n.set_xlabel("model size N (parameters)")
    ax_d.set_xlabel("training tokens D")
    for ax in (ax_n, ax_d):
        ax.set_ylabel(loss_label)
        finish_log_axes(ax, "x")
    ax_n.set_title("IsoFLOP profiles: loss vs N (★ minimum)")
    ax_d.set_title("IsoFLOP profiles: loss vs D")
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
        ax.scatter(
            used["compute"],
            used["n_opt"],
            marker="*",
            s=90,
            color=BLUE,
            edgecolor="black",
            lw=0.5,
            zorder=5,
            label="IsoFLOP N_opt",
        )
        ax.scatter(
            used["compute"],
            used["d_opt"],
            marker="*",
            s=90,
            color=VERMILLION,
            edgecolor="black",
            lw=0.5,
            zorder=5,
            label="IsoFLOP D_opt",
        )
    if frontier is not None and not frontier.empty:
        computes += list(frontier["compute"])
    if not computes:
        ax.text(0.5, 0.5, "no allocation to show", ha="center", transform=ax.transAxes)
        return fig
    grid = np.geomspace(min(computes), max(computes), 100)
    if result is not None:
        ax.plot(
            grid,
            result.n_line(grid),
            color=BLUE,
            lw=1.5,
            ls="--",
            label=f"IsoFLOP: N_opt ∝ $C^{{{result.a:.3f}}}$",
        )
        ax.plot(
            grid,
            result.d_line(grid),
            color=VERMILLION,
            lw=1.5,
            ls="--",
            label=f"IsoFLOP: D_opt ∝ $C^{{{result.b:.3f}}}$",
        )
    if frontier is not None and not frontier.empty:
        f = frontier
        ax.plot(f["compute"], f["n_opt"], color=BLUE, lw=2, label=f"{law_label}: N_opt")
        ax.plot(f["compute"], f["d_opt"], color=VERMILLION, lw=2, label=f"{law_label}: D_opt")
        for name, c in (("n_opt", BLUE), ("d_opt", VERMILLION)):
            if f"{name}_lo" in f:
                ax.fill_between(
                    f["compute"], f[f"{name}_lo"], f[f"{name}_hi"], color=c, alpha=0.15, lw=0
                )
    ax.set_xlabel("training compute C (FLOPs)")
    ax.set_ylabel("parameters N_opt, tokens D_opt")
    ax.set_title("Compute-optimal allocation")
    finish_log_axes(ax)
    ax.legend(fontsize=7, loc="upper left")
    return fig
