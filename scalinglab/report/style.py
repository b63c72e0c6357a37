"""Shared look of every report figure: Agg backend, the Okabe–Ito palette, log axes, saving.

Okabe & Ito (2008, "Color Universal Design") chose eight colours that stay distinct under the
common colour-vision deficiencies; every plot draws from them in order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: figures are only ever written to files

import matplotlib.pyplot as plt
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatterSciNotation, LogLocator, NullFormatter

from scalinglab.display import path_error
from scalinglab.errors import ScalingLabError
from scalinglab.report.document import FigureFile

OKABE_ITO = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#E69F00",  # orange
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY, YELLOW, BLACK = OKABE_ITO
GREY = "#999999"

# Shading of the three Hestness (2017) regions: small-data, power-law, irreducible-error.
REGION_COLOURS = {"small-data": SKY, "power-law": "#FFFFFF", "irreducible": ORANGE}

RC: Any = {  # Any: matplotlib types rcParams keys as a Literal union
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "legend.framealpha": 0.9,
    "axes.prop_cycle": cycler(color=OKABE_ITO),
    "axes.grid": True,
    "grid.alpha": 0.25,
    "grid.linewidth": 0.6,
    "svg.fonttype": "none",  # text stays text in the SVG
}


def colour(i: int) -> str:
    """The i-th palette colour (cycling), skipping yellow, which is faint on white."""
    usable = [c for c in OKABE_ITO if c != YELLOW]
    return usable[i % len(usable)]


def new_figure(
    ncols: int = 1, width: float = 6.4, height: float = 4.4
) -> tuple[Figure, list[Axes]]:
    """A figure with `ncols` axes side by side, in the report style."""
    with plt.rc_context(RC):
        fig, axes = plt.subplots(
            1, ncols, figsize=(width * ncols if ncols > 1 else width, height), layout="constrained"
        )
    axs = list(axes) if ncols > 1 else [axes]
    for ax in axs:
        _style_axes(ax)
    return fig, axs


def _style_axes(ax: Axes) -> None:
    with plt.rc_context(RC):
        ax.grid(True, which="major", alpha=0.25, linewidth=0.6)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)


def log_axis(ax: Axes, which: str = "both") -> None:
    """Log scale with readable ticks: 10^k labels at decades, unlabelled minor ticks; axes that
    span less than a decade get plain numbers at 1-2-5 steps so they are never bare."""
    for name in ("x", "y") if which == "both" else (which,):
        axis = ax.xaxis if name == "x" else ax.yaxis
        (ax.set_xscale if name == "x" else ax.set_yscale)("log")
        lo, hi = ax.get_xlim() if name == "x" else ax.get_ylim()
        if lo > 0 and hi / lo < 4:
            axis.set_major_locator(LogLocator(base=10, subs=tuple(range(1, 10)), numticks=12))
            axis.set_major_formatter(matplotlib.ticker.FuncFormatter(_plain))
        elif lo > 0 and hi / lo < 20:
            axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0), numticks=12))
            axis.set_major_formatter(matplotlib.ticker.FuncFormatter(_plain))
        else:
            axis.set_major_locator(LogLocator(base=10, numticks=12))
            axis.set_major_formatter(LogFormatterSciNotation(base=10))
        axis.set_minor_locator(LogLocator(base=10, subs=tuple(range(2, 10)), numticks=12))
        axis.set_minor_formatter(NullFormatter())


def _plain(value: float, _pos: int | None = None) -> str:
    return f"{value:.3g}"


def label_log_axes(ax: Axes, xlabel: str, ylabel: str, title: str, which: str = "both") -> None:
    """Axis labels and title, then `log_axis` (last, as tick choice needs the final data)."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    log_axis(ax, which)


def save_figure(fig: Figure, stem: Path) -> dict[str, Path]:
    """Write `stem`.png and `stem`.svg, close the figure; returns {"png": path, "svg": path}.
    A path that cannot be written (a file name too long, no permission) is one
    ScalingLabError."""
    out = {}
    path = stem
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)
        with plt.rc_context(RC):
            for fmt in ("png", "svg"):
                path = stem.with_suffix(f".{fmt}")
                fig.savefig(path, format=fmt, bbox_inches="tight")
                out[fmt] = path
    except OSError as exc:
        raise ScalingLabError(f"cannot write {path_error(path, exc)}") from None
    finally:
        plt.close(fig)
    return out


def figure_file(fig: Figure, stem: Path, title: str, caption: str) -> FigureFile:
    """`save_figure(fig, stem)`, then the report's entry for it: title, caption, PNG and SVG."""
    paths = save_figure(fig, stem)
    return FigureFile(title, caption, paths["png"], paths["svg"])
