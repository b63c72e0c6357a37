"""Diagnostic plots: residuals of fits, several laws on one curve, training curves.

- `residuals_figure`: ln(y/ŷ) of each fit against its x (a fit that is right scatters evenly
  around 0; a trend means the functional form is wrong).
- `law_comparison_figure`: several laws fitted to the same curve, with each law's error on
  held-out points when the curve was split (the extrapolation test of Alabdulmohsin 2022; the
  fits are scalinglab.study.comparison's, part of a study's analysis).
- `training_curves_figure`: validation loss over examples seen, per shard and model size.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from numpy.typing import ArrayLike

from scalinglab.fitting.scores import rmse_log
from scalinglab.laws.base import FloatArray, ScalingLaw
from scalinglab.report.style import BLUE, GREY, colour, label_log_axes, new_figure
from scalinglab.study.comparison import LawComparison


@dataclass
class ResidualSeries:
    """One fit's residuals: label, x values to plot against, observed and predicted y."""

    label: str
    x: FloatArray
    observed: FloatArray
    predicted: FloatArray
    xlabel: str

    @classmethod
    def of(
        cls,
        label: str,
        law: ScalingLaw,
        X: ArrayLike,
        y: ArrayLike,
        x: ArrayLike | None = None,
        xlabel: str = "x",
    ) -> ResidualSeries:
        """Residuals of `law` on (X, y), plotted against `x` (default: X's first column)."""
        Xa = np.asarray(X, dtype=float)
        Xa = Xa[:, None] if Xa.ndim == 1 else Xa
        xs = Xa[:, 0] if x is None else np.asarray(x, dtype=float).reshape(-1)
        return cls(label, xs, np.asarray(y, dtype=float).reshape(-1), law.predict(Xa), xlabel)


def residuals_figure(series: Sequence[ResidualSeries], title: str = "Residuals") -> Figure:
    """One panel per fit: ln(observed / predicted) against x on a log axis, with their RMS."""
    fig, axes = new_figure(ncols=max(1, len(series)), width=5.2, height=3.6)
    for i, (ax, s) in enumerate(zip(axes, series, strict=False)):
        r = np.log(s.observed / s.predicted)
        rms = rmse_log(s.predicted, s.observed)
        ax.axhline(0.0, color=GREY, lw=1)
        ax.scatter(s.x, r, s=18, color=colour(i), alpha=0.8, lw=0)
        ax.set_xscale("log")
        label_log_axes(ax, s.xlabel, "log residual ln(y / ŷ)", f"{s.label} (RMS {rms:.3g})", "x")
        lim = max(float(np.max(np.abs(r))) * 1.15, 1e-3)
        ax.set_ylim(-lim, lim)
    if len(series) > 1:
        fig.suptitle(title)
    return fig


def law_comparison_figure(
    comparison: LawComparison,
    xlabel: str = "training-set size m (examples)",
    ylabel: str = "validation error",
    title: str = "Law comparison",
) -> Figure:
    """Every law's curve over the data; filled points were fitted, hollow ones held out."""
    c = comparison
    fig, (ax,) = new_figure()
    grid = np.geomspace(float(c.x.min()), float(c.x.max()) * 3.0, 200)
    for i, (name, law) in enumerate(c.fits.items()):
        score = c.heldout_rmse.get(name, math.nan)
        label = f"{name}: {law.formula}" + (
            f"  (held-out RMSE {score:.3g})" if math.isfinite(score) else ""
        )
        ax.plot(grid, law.predict(grid[:, None]), color=colour(i + 1), lw=1.8, label=label)
    ax.scatter(
        c.x[c.train],
        c.y[c.train],
        s=34,
        color=BLUE,
        zorder=5,
        label="fitted points",
        edgecolor="white",
        lw=0.8,
    )
    if (~c.train).any():
        ax.scatter(
            c.x[~c.train],
            c.y[~c.train],
            s=40,
            facecolor="white",
            edgecolor=BLUE,
            lw=1.5,
            zorder=5,
            label="held out",
        )
    label_log_axes(ax, xlabel, ylabel, title)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", fontsize=7, ncol=1)
    return fig


def parse_curve(value: object) -> list[tuple[float, float]]:
    """The `curve` column of a results table: JSON [[examples_seen, val_loss], ...]."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    if not isinstance(value, list | tuple):
        return []
    out = []
    for pair in value:
        if isinstance(pair, list | tuple) and len(pair) >= 2:
            try:
                seen, loss = float(pair[0]), float(pair[1])
            except (TypeError, ValueError):
                continue
            if seen > 0 and math.isfinite(loss) and loss > 0:
                out.append((seen, loss))
    return out


def training_curves_figure(
    trials: pd.DataFrame,
    ylabel: str = "validation loss (nats)",
    title: str = "Training curves",
    size_labels: Mapping[int, str] | None = None,
) -> Figure:
    """Validation loss over examples seen for every trial with a curve: colour = shard size,
    line style = model size, the best trial of each shard drawn bold."""
    fig, (ax,) = new_figure(width=7.2, height=4.6)
    shards = sorted(int(s) for s in trials["shard_size"].unique())
    sizes = sorted(int(s) for s in trials["model_size"].dropna().unique())
    styles = ["-", "--", ":", "-."]
    drawn = False
    for _, row in trials.iterrows():
        points = parse_curve(row.get("curve"))
        if not points:
            continue
        seen, loss = np.array(points).T
        shard = int(row["shard_size"])
        best = bool(row.get("is_best", False))
        size = int(row["model_size"]) if pd.notna(row["model_size"]) else sizes[0]
        ax.plot(
            seen,
            loss,
            color=colour(shards.index(shard)),
            ls=styles[sizes.index(size) % len(styles)] if size in sizes else "-",
            lw=2.0 if best else 0.9,
            alpha=1.0 if best else 0.45,
        )
        drawn = True
    if not drawn:
        ax.text(0.5, 0.5, "no training curves recorded", ha="center", transform=ax.transAxes)
        return fig
    handles = [
        Line2D([], [], color=colour(i), lw=2, label=f"shard {s:,}") for i, s in enumerate(shards)
    ]
    label_of = size_labels or {}
    handles += [
        Line2D(
            [],
            [],
            color="black",
            ls=styles[j % len(styles)],
            lw=1,
            label=f"model size {label_of.get(s, s)}",
        )
        for j, s in enumerate(sizes)
    ]
    label_log_axes(
        ax, "training examples seen", ylabel, title + " (bold: best model of each shard)"
    )
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)
    return fig
