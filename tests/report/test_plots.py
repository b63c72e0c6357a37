"""The plot functions: data in, a labelled figure out, written as PNG and SVG, then closed."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from scalinglab.errors import FitWarning
from scalinglab.laws import get_law
from scalinglab.planning import isoflop_analysis
from scalinglab.report import (
    OKABE_ITO,
    ResidualSeries,
    allocation_figure,
    isoflop_figure,
    law_comparison_figure,
    learning_curve_figure,
    model_size_figure,
    residuals_figure,
    save_figure,
    training_curves_figure,
)
from scalinglab.report.learning_curve import shade_regions
from scalinglab.study.comparison import compare_laws

M = 2.0 ** np.arange(7, 15)  # shard sizes 128 .. 16384
EPS = 0.08 + 3.0 * M**-0.35  # a learning curve with an irreducible level


def _fit(name: str, x: np.ndarray, y: np.ndarray, n_bootstrap: int = 0):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return get_law(name)(n_bootstrap=n_bootstrap, random_state=0).fit(x[:, None], y)


def _check_saved(fig: plt.Figure, tmp_path: Path, stem: str) -> None:
    paths = save_figure(fig, tmp_path / stem)
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in paths["svg"].read_bytes()[:2000]
    assert not plt.fignum_exists(fig.number), "save_figure must close the figure"


def test_learning_curve_has_fit_band_regions_extrapolation_and_trials(tmp_path: Path) -> None:
    law = _fit("power_const", M, EPS, n_bootstrap=20)
    regions = {"small_data_end": 300.0, "irreducible_start": 50_000.0}
    trials = (np.repeat(M, 3), np.repeat(EPS, 3) * 1.1)
    fig = learning_curve_figure(M, EPS, law, regions=regions, trials=trials, level=0.9)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert "examples" in ax.get_xlabel() and ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    for want in (
        "all trials",
        "extrapolation",
        "90% bootstrap band",
        "best model per shard",
        "small-data region",
        "irreducible-error region",
    ):
        assert want in labels, labels
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert dashed and dashed[0].get_xdata().max() == pytest.approx(10 * M.max())
    assert ax.get_xticklabels(), "log axes need tick labels"
    _check_saved(fig, tmp_path, "learning_curve")


def test_regions_outside_the_plot_are_not_shaded() -> None:
    fig, ax = plt.subplots()
    shade_regions(ax, {"small_data_end": 1.0, "irreducible_start": 1e12}, 100.0, 1e5)
    assert not ax.patches
    plt.close(fig)


def test_model_size_curve(tmp_path: Path) -> None:
    sizes = 30.0 * M**0.6
    law = _fit("power", M, sizes, n_bootstrap=20)
    fig = model_size_figure(M, sizes, law, trials=(np.repeat(M, 2), np.tile([100, 1e4], M.size)))
    ax = fig.axes[0]
    assert "parameters" in ax.get_ylabel()
    assert "β_p = 0.600" in " ".join(t.get_text() for t in ax.get_legend().get_texts())
    _check_saved(fig, tmp_path, "model_size")


def test_residuals_and_law_comparison(tmp_path: Path) -> None:
    law = _fit("power_const", M, EPS)
    fig = residuals_figure([ResidualSeries.of("curve", law, M, EPS, xlabel="m (examples)")])
    assert fig.axes[0].get_ylabel().startswith("log residual")
    _check_saved(fig, tmp_path, "residuals")
    comparison = compare_laws(M, EPS, names=("power", "power_const"))
    assert comparison.train.sum() == M.size - 2  # the two largest shards are held out
    assert comparison.heldout_rmse["power_const"] < comparison.heldout_rmse["power"]
    fig = law_comparison_figure(comparison)
    assert "held out" in [t.get_text() for t in fig.legends[0].get_texts()]
    _check_saved(fig, tmp_path, "comparison")


def test_training_curves(tmp_path: Path) -> None:
    rows = []
    for shard in (128, 256):
        for size in (4, 8):
            curve = [[shard * k, 1.0 / k + size * 0.01] for k in range(1, 6)]
            rows.append(
                {
                    "shard_size": shard,
                    "model_size": size,
                    "curve": json.dumps(curve),
                    "is_best": size == 8,
                }
            )
    fig = training_curves_figure(pd.DataFrame(rows))
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 4 and ax.get_xlabel() == "training examples seen"
    assert max(ln.get_linewidth() for ln in ax.get_lines()) == 2.0  # the best trials are bold
    _check_saved(fig, tmp_path, "training")


def test_isoflop_and_allocation(tmp_path: Path) -> None:
    # Runs on three budgets, loss a parabola in ln N around N_opt = 1e-1 * sqrt(C).
    rows = []
    for c in (1e18, 1e19, 1e20):
        n_opt = 0.1 * np.sqrt(c)
        for n in n_opt * np.geomspace(0.25, 4, 7):
            rows.append(
                (n, c / (6 * n), c, 2.0 + 0.05 * np.log(n / n_opt) ** 2 - 0.02 * np.log10(c))
            )
    n, d, c, loss = (np.array(v) for v in zip(*rows, strict=True))
    result = isoflop_analysis(n, loss, compute=c, tokens=d)
    fig = isoflop_figure(result)
    assert [ax.get_xlabel() for ax in fig.axes[:2]] == [
        "model size N (parameters)",
        "training tokens D",
    ]
    _check_saved(fig, tmp_path, "isoflop")
    fig = allocation_figure(result)
    assert fig.axes[0].get_xlabel() == "training compute C (FLOPs)"
    _check_saved(fig, tmp_path, "allocation")


def test_palette_is_okabe_ito() -> None:
    assert OKABE_ITO[:3] == ("#0072B2", "#D55E00", "#009E73")
