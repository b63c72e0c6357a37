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
    finish_log_axes,
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
    if math.isfinite(small) and x_lo < small < x_hi:
        right = min(small, x_hi)
        ax.axvspan(
            x_lo,
            right,
            color=REGION_COLOURS["small-data"],
            alpha=0.18,
            lw=0,
            zorder=0,
            label="small-data region",
        )
        if small < x_hi:
            ax.axvline(small, color=BLUE, lw=1, ls=":", zorder=1)
            ax.annotate(
                f"m = {small:.3g}",
                (small, 0.02),
                xycoords=("data", "axes fraction"),
                rotation=90,
                ha="right",
                va="bottom",
                fontsize=7,
                color=BLUE,
            )
    if math.isfinite(irreducible) and x_lo < irreducible < x_hi:
        left = max(irreducible, x_lo)
        ax.axvspan(
            left,
            x_hi,
            color=REGION_COLOURS["irreducible"],
            alpha=0.15,
            lw=0,
            zorder=0,
            label="irreducible-error region",
        )
        if irreducible > x_lo:
            ax.axvline(irreducible, color=ORANGE, lw=1, ls=":", zorder=1)
            ax.annotate(
                f"m = {irreducible:.3g}",
                (irreducible, 0.02),
                xycoords=("data", "axes fraction"),
                rotation=90,
                ha="right",
                va="bottom",
                fontsize=7,
                color="#8a5a00",
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
    xs = np.asarray(x, dtype=float).reshape(-1)
    ys = np.asarray(y, dtype=float).reshape(-1)
    fig, (ax,) = new_figure()
    if trials is not None:
        tx = np.asarray(trials[0], dtype=float).reshape(-1)
        ty = np.asarray(trials[1], dtype=float).reshape(-1)
        ok = np.isfinite(tx) & np.isfinite(ty) & (tx > 0) & (ty > 0)
        ax.scatter(tx[ok], ty[ok], s=12, color=GREY, alpha=0.35, lw=0, label="all trials", zorder=3)
    x_max = float(extrapolate_to) if extrapolate_to else 10.0 * float(xs.max())
    if law is not None:
        _draw_fit(ax, law, xs, x_max, level, VERMILLION, f"fit: {law.formula or law.name}")
    if points_label is not None:
        ax.scatter(
            xs, ys, s=36, color=BLUE, edgecolor="white", lw=0.8, label=points_label, zorder=5
        )
    x_lo, x_hi = float(xs.min()) / 1.6, x_max * 1.3
    ax.set_xlim(x_lo, x_hi)
    if regions is not None:
        shade_regions(ax, regions, x_lo, x_hi)
        ax.set_xlim(x_lo, x_hi)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    finish_log_axes(ax)
    ax.legend(loc="best")
    return fig


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
    xs = np.asarray(x, dtype=float).reshape(-1)
    ss = np.asarray(sizes, dtype=float).reshape(-1)
    fig, (ax,) = new_figure()
    if trials is not None:
        tx = np.asarray(trials[0], dtype=float).reshape(-1)
        ts = np.asarray(trials[1], dtype=float).reshape(-1)
        ok = np.isfinite(tx) & np.isfinite(ts) & (tx > 0) & (ts > 0)
        ax.scatter(
            tx[ok], ts[ok], s=14, color=GREY, alpha=0.3, lw=0, label="sizes searched", zorder=3
        )
    x_max = float(extrapolate_to) if extrapolate_to else 10.0 * float(xs.max())
    if law is not None:
        b = law.params_.get("b", math.nan)
        _draw_fit(ax, law, xs, x_max, level, VERMILLION, f"fit: s = α_p·m^β_p, β_p = {b:.3f}")
    ax.scatter(
        xs, ss, s=36, color=BLUE, edgecolor="white", lw=0.8, label="best model per shard", zorder=5
    )
    ax.set_xlim(float(xs.min()) / 1.6, x_max * 1.3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    finish_log_axes(ax)
    ax.legend(loc="best")
    return fig
