"""The train-time/test-time trade-off figure: iso-performance lines on log-log axes (Jones 2021,
Fig. 8), with the measured runs, the fit's bands and the cheapest split of a plan; and
`add_tradeoff`, the trade-off section of a test-time study's report page (figure, the measured
slope and train-compute multiple with intervals next to Jones's Hex figure)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from scalinglab.laws.base import ScalingLaw
from scalinglab.planning.test_time import (
    HEX_MULTIPLE,
    HEX_SLOPE,
    SplitPlan,
    TradeoffFit,
    iso_performance_line,
)
from scalinglab.report.document import Report, Table, num, span
from scalinglab.report.style import BLACK, GREY, colour, figure_file, label_log_axes, new_figure


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


def add_tradeoff(report: Report, fit: TradeoffFit, fig_dir: Path, command: str = "") -> None:
    """Add a test-time study's trade-off to `report`: the iso-coverage figure (Jones 2021,
    Fig. 8), a table of the fitted exponents, the slope m and the train-compute multiple worth
    10× test-time compute with intervals next to Jones's Hex figure, a headline card and the
    headline numbers (`scalinglab report --json`), and `command` to reproduce it."""
    law, lv = fit.law, fit.level
    levels = fit.coverage_levels()
    report.figures.append(
        figure_file(
            tradeoff_figure(law, levels, runs=fit.runs, level=lv),
            fig_dir / "tradeoff",
            "Train-time vs test-time compute (iso-coverage lines)",
            "Test-time compute per problem (k samples × FLOPs per sample) that reaches a "
            f"coverage (pass@k) of {', '.join(f'{c:g}' for c in levels)} at each training "
            f"compute, from the fitted {law.formula} with its {lv:.0%} band; points are the "
            "measured (train, test, coverage) triples, coloured by coverage. A slope m means "
            "10× test-time compute is worth 10^(1/−m)× training compute.",
        )
    )
    mult = fit.train_multiple_for_10x_test
    rows = [
        ["a (scale)", num(law.params_["a"], 3), span(law.ci_.get("a"), 3)],
        ["α (train compute)", num(law.params_["alpha"], 3), span(law.ci_.get("alpha"), 3)],
        ["β (test-time compute)", num(law.params_["beta"], 3), span(law.ci_.get("beta"), 3)],
        ["slope m = −α/β", num(fit.slope, 3), span(fit.slope_interval, 3)],
        [
            "train-compute multiple worth 10× test-time compute",
            num(mult, 3),
            span(fit.train_multiple_interval, 3),
        ],
        ["Jones 2021, Hex: slope m", num(HEX_SLOPE, 3), ""],
        ["Jones 2021, Hex: train-compute multiple worth 10× test-time", num(HEX_MULTIPLE, 3), ""],
    ]
    draws = getattr(law, "bootstrap_params_", None)
    source = f"{len(draws)} bootstrap refits" if draws is not None else "no bootstrap refits"
    report.exponents.append(
        Table(
            f"Train-time vs test-time compute: {law.formula}",
            ["quantity", "value", f"{lv:.0%} interval"],
            rows,
            note=f"Measured on this study: fitted to its {len(fit.runs)} (train compute, "
            f"test-time compute, coverage) points, in-sample; intervals from {source}. Jones "
            "(2021) found 10× train-time compute ≈ 15× test-time compute (MCTS) for Hex.",
            highlight={4},
        )
    )
    lo, hi = fit.train_multiple_interval or (float("nan"), float("nan"))
    report.headline.setdefault("cards", []).append(
        (
            f"train-compute multiple worth 10× test-time compute, {lv:.0%} [{lo:.3g}, {hi:.3g}]; "
            f"Jones 2021 Hex {HEX_MULTIPLE:.2g}×",
            f"{mult:.3g}×",
        )
    )
    report.headline.update(
        {
            "tradeoff_slope": fit.slope,
            "tradeoff_slope_interval": list(fit.slope_interval) if fit.slope_interval else None,
            "train_multiple_for_10x_test": mult,
            "train_multiple_interval": (
                list(fit.train_multiple_interval) if fit.train_multiple_interval else None
            ),
        }
    )
    if command:
        report.commands.append(command)
