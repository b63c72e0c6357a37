"""The two curves of Hestness et al. (2017, arXiv:1712.00409, Fig. 1 and Sec. 4):

- the learning curve: best validation error per training-set size m on log-log axes, the fitted
  law with its bootstrap band, the three regions (small-data, power-law, irreducible-error) shaded
  with their boundaries, the extrapolation beyond the data dashed, every trial as a faint point;
- the model-size curve: the best-fit model's parameter count per shard with s(m) = α_p·m^β_p.

Each function takes data and fitted laws and returns a matplotlib Figure; `save_figure` writes it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from scalinglab.errors import ScalingLabError
from scalinglab.laws.base import FloatArray, ScalingLaw
from scalinglab.report.style import (
    BLUE,
    GREY,
    ORANGE,
    REGION_COLOURS,
    VERMILLION,
    label_log_axes,
    new_figure,
)


def law_band(law: ScalingLaw, x: FloatArray, level: float) -> tuple[FloatArray, FloatArray] | None:
    """The law's `level` prediction interval at x from its parameter draws, if it has any."""
    try:
        lo, hi = law.predict_interval(x[:, None], level)
    except ScalingLabError:
        return None
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        return None
    return lo, hi


def _positive_points(points: tuple[ArrayLike, ArrayLike]) -> tuple[FloatArray, FloatArray]:
    """(x, y) as flat float arrays, keeping the pairs a log-log plot can show (finite, > 0)."""
    x = np.asarray(points[0], dtype=float).reshape(-1)
    y = np.asarray(points[1], dtype=float).reshape(-1)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    return x[ok], y[ok]


def _draw_fit(
    ax: Axes,
    law: ScalingLaw,
    x_data: FloatArray,
    x_max: float,
    level: float,
    colour: str,
    label: str,
) -> None:
    """Fitted curve: solid over the data, dashed beyond it, with its band."""
    lo_x, hi_x = float(x_data.min()), float(x_data.max())
    inside = np.geomspace(lo_x, hi_x, 200)
    ax.plot(inside, law.predict(inside[:, None]), color=colour, lw=2, label=label, zorder=4)
    grid = inside
    if x_max > hi_x * 1.0001:
        beyond = np.geomspace(hi_x, x_max, 100)
        ax.plot(
            beyond,
            law.predict(beyond[:, None]),
            color=colour,
            lw=2,
            ls="--",
            label="extrapolation",
            zorder=4,
        )
        grid = np.concatenate([inside, beyond[1:]])
    band = law_band(law, grid, level)
    if band is not None:
        ax.fill_between(
            grid,
            band[0],
            band[1],
            color=colour,
            alpha=0.18,
            lw=0,
            label=f"{level:.0%} bootstrap band",
            zorder=2,
        )


def shade_regions(ax: Axes, regions: Mapping[str, float], x_lo: float, x_hi: float) -> None:
    """Shade the small-data and irreducible-error regions and mark their boundaries."""
    small = float(regions.get("small_data_end", math.nan))
    irreducible = float(regions.get("irreducible_start", math.nan))
    # Each region is drawn only when its boundary lies inside the plot (x_lo, x_hi).
    if math.isfinite(small) and x_lo < small < x_hi:
        fill = REGION_COLOURS["small-data"]
        _region(ax, (x_lo, small), small, "small-data region", fill, 0.18, BLUE, BLUE)
    if math.isfinite(irreducible) and x_lo < irreducible < x_hi:
        fill = REGION_COLOURS["irreducible"]
        _region(
            ax,
            (irreducible, x_hi),
            irreducible,
            "irreducible-error region",
            fill,
            0.15,
            ORANGE,
            "#8a5a00",
        )


def _region(
    ax: Axes,
    span: tuple[float, float],
    boundary: float,
    label: str,
    fill: str,
    alpha: float,
    line_colour: str,
    text_colour: str,
) -> None:
    """Shade one region over `span`, with a dotted line and an "m = …" label at its boundary."""
    ax.axvspan(*span, color=fill, alpha=alpha, lw=0, zorder=0, label=label)
    ax.axvline(boundary, color=line_colour, lw=1, ls=":", zorder=1)
    ax.annotate(
        f"m = {boundary:.3g}",
        (boundary, 0.02),
        xycoords=("data", "axes fraction"),
        rotation=90,
        ha="right",
        va="bottom",
        fontsize=7,
        color=text_colour,
    )


def learning_curve_figure(
    x: ArrayLike,
    y: ArrayLike,
    law: ScalingLaw | None = None,
    *,
    regions: Mapping[str, float] | None = None,
    trials: tuple[ArrayLike, ArrayLike] | None = None,
    extrapolate_to: float | None = None,
    level: float = 0.9,
    xlabel: str = "training-set size m (examples)",
    ylabel: str = "validation error",
    title: str = "Learning curve",
    points_label: str | None = "best model per shard",
) -> Figure:
    """Best validation error per shard (x, y) with the fitted one-variable `law`.

    points_label: legend label of the (x, y) points; None draws no points (x then only sets the
    range of the curve, e.g. for a fit file without its data).
    regions: the `hestness` law's `.regions()` (boundaries in units of x) to shade.
    trials: (x, y) of every trial, drawn faint behind the best ones.
    extrapolate_to: draw the law dashed up to this x (default 10× the largest shard).
    """
    fit_label = "" if law is None else f"fit: {law.formula or law.name}"
    return _shard_curve_figure(
        x,
        y,
        law,
        fit_label,
        points_label=points_label,
        regions=regions,
        trials=trials,
        trials_style=("all trials", 12, 0.35),
        extrapolate_to=extrapolate_to,
        level=level,
        labels=(xlabel, ylabel, title),
    )


def model_size_figure(
    x: ArrayLike,
    sizes: ArrayLike,
    law: ScalingLaw | None = None,
    *,
    trials: tuple[ArrayLike, ArrayLike] | None = None,
    extrapolate_to: float | None = None,
    level: float = 0.9,
    xlabel: str = "training-set size m (examples)",
    ylabel: str = "best-fit model size s (parameters)",
    title: str = "Model-size curve",
) -> Figure:
    """Best-fit parameter count per shard with the fitted s(m) = α_p·m^β_p (a `power` law)."""
    fit_label = ""
    if law is not None:
        fit_label = f"fit: s = α_p·m^β_p, β_p = {law.params_.get('b', math.nan):.3f}"
    return _shard_curve_figure(
        x,
        sizes,
        law,
        fit_label,
        points_label="best model per shard",
        regions=None,
        trials=trials,
        trials_style=("sizes searched", 14, 0.3),
        extrapolate_to=extrapolate_to,
        level=level,
        labels=(xlabel, ylabel, title),
    )


def _shard_curve_figure(
    x: ArrayLike,
    y: ArrayLike,
    law: ScalingLaw | None,
    fit_label: str,
    *,
    points_label: str | None,
    regions: Mapping[str, float] | None,
    trials: tuple[ArrayLike, ArrayLike] | None,
    trials_style: tuple[str, float, float],
    extrapolate_to: float | None,
    level: float,
    labels: tuple[str, str, str],
) -> Figure:
    """What both figures draw: one value per shard (x, y) on log-log axes, every trial faint
    behind (`trials_style`: legend label, marker size, alpha), the fitted `law` with its band to
    `extrapolate_to` (default 10× the largest shard), optional `regions`; `labels`: x, y, title.
    """
    xs = np.asarray(x, dtype=float).reshape(-1)
    ys = np.asarray(y, dtype=float).reshape(-1)
    fig, (ax,) = new_figure()
    if trials is not None:
        tx, ty = _positive_points(trials)
        label, size, alpha = trials_style
        ax.scatter(tx, ty, s=size, color=GREY, alpha=alpha, lw=0, label=label, zorder=3)
    x_max = float(extrapolate_to) if extrapolate_to else 10.0 * float(xs.max())
    if law is not None:
        _draw_fit(ax, law, xs, x_max, level, VERMILLION, fit_label)
    if points_label is not None:
        ax.scatter(
            xs, ys, s=36, color=BLUE, edgecolor="white", lw=0.8, label=points_label, zorder=5
        )
    x_lo, x_hi = float(xs.min()) / 1.6, x_max * 1.3
    ax.set_xlim(x_lo, x_hi)
    if regions is not None:
        shade_regions(ax, regions, x_lo, x_hi)
        ax.set_xlim(x_lo, x_hi)
    label_log_axes(ax, *labels)
    ax.legend(loc="best")
    return fig
