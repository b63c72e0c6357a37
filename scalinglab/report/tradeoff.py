"""The train-time/test-time trade-off figure: iso-performance lines on log-log axes (Jones 2021,
Fig. 8), with the measured runs, the fit's bands and the cheapest split of a plan."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from scalinglab.laws.base import ScalingLaw
from scalinglab.planning.test_time import SplitPlan, iso_performance_line
from scalinglab.report.style import BLACK, GREY, colour, label_log_axes, new_figure

HEX_SLOPE = -1.2  # Jones 2021, Hex: 10x train-time compute ~ 15x test-time compute


def tradeoff_figure(
    law: ScalingLaw,
    levels: Sequence[float],
    runs: pd.DataFrame | None = None,
    plan: SplitPlan | None = None,
    level: float = 0.9,
) -> Figure:
    """Test-time compute per call against train compute at equal performance, one line per
    value in `levels` with its `level` band; `runs` (train_compute, test_compute, coverage) as
    points; a plan's optimum as a star, with Jones's Hex slope through it for comparison."""
    fig, (ax,) = new_figure()
    if runs is not None and len(runs):
        lo, hi = float(runs["train_compute"].min()), float(runs["train_compute"].max())
    elif plan is not None:
        lo, hi = plan.train_compute / 30, plan.train_compute * 30
    else:
        lo, hi = 1e10, 1e14
    grid = np.geomspace(lo / 3, hi * 3, 60)
    for i, perf in enumerate(levels):
        tint = colour(i)
        line = iso_performance_line(law, perf, grid, level)
        ax.plot(line["train_compute"], line["test_compute"], color=tint, label=f"perf = {perf:g}")
        if "test_compute_lo" in line:
            ax.fill_between(
                line["train_compute"],
                line["test_compute_lo"],
                line["test_compute_hi"],
                color=tint,
                alpha=0.15,
                linewidth=0,
            )
    if runs is not None and len(runs):
        points = ax.scatter(
            runs["train_compute"],
            runs["test_compute"],
            c=runs["coverage"],
            cmap="viridis",
            s=14,
            zorder=3,
        )
        fig.colorbar(points, ax=ax, label="measured coverage")
    if plan is not None:
        ax.plot(
            [plan.train_compute],
            [plan.test_compute_per_call],
            marker="*",
            markersize=14,
            color=BLACK,
            linestyle="none",
            label=f"cheapest split, {plan.inference_calls:g} calls",
        )
        ends = np.array([plan.train_compute / 10, plan.train_compute * 10])
        ax.plot(
            ends,
            plan.test_compute_per_call * (ends / plan.train_compute) ** HEX_SLOPE,
            color=GREY,
            linestyle="--",
            label="Jones 2021 Hex slope (−1.2)",
        )
    ax.legend(fontsize=8)
    label_log_axes(
        ax,
        "train-time compute (FLOPs)",
        "test-time compute per call (FLOPs)",
        f"Iso-performance lines ({law.name}, {level:.0%} bands)",
    )
    return fig
