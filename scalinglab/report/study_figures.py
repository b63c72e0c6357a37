"""The figures of a study's report (Hestness et al. 2017): learning curve, model-size curve,
residuals, the laws compared, IsoFLOP profiles and training curves; `y_label` is the axis label of
the task's metric.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from scalinglab.report.diagnostics import (
    ResidualSeries,
    law_comparison_figure,
    residuals_figure,
    training_curves_figure,
)
from scalinglab.report.document import FigureFile
from scalinglab.report.isoflop import isoflop_figure
from scalinglab.report.learning_curve import learning_curve_figure, model_size_figure
from scalinglab.report.style import figure_file
from scalinglab.study.fit import StudyFit

FARTHEST = 1e6  # the learning curve's figure shows a target up to 10^6 x the largest shard

Y_LABELS = {"best_val_loss": "validation loss (nats)", "best_val_error": "validation error"}

METRIC_LABELS = {
    "top1_error": "validation top-1 error",
    "bits_per_char": "validation bits per character",
    "token_cross_entropy": "validation cross-entropy (nats/token)",
}


def y_label(fit: StudyFit) -> str:
    """The learning curve's axis label: the task's metric when y is its error column."""
    if fit.y == "best_val_error" and fit.metric in METRIC_LABELS:
        return METRIC_LABELS[fit.metric]
    return Y_LABELS.get(fit.y, fit.y)


def _mark_target(fig: Figure, a: StudyFit) -> None:
    """The prediction at the target as a point with its interval (`study fit --target`'s)."""
    assert a.target is not None
    value, (lo, hi) = a.predict(a.target)
    if not (math.isfinite(value) and value > 0):
        return
    ax = fig.axes[0]
    bounds = [v for v in (lo, hi) if math.isfinite(v) and v > 0]
    err = None
    if len(bounds) == 2:  # an interval on a log axis: asymmetric bars
        err = [[value - min(bounds)], [max(bounds) - value]]
    ax.errorbar([a.target], [value], yerr=err, fmt="D", color="black", ms=6, capsize=4,
                label="prediction at the target", zorder=6)  # fmt: skip
    ax.legend(loc="best", fontsize="small")


def study_figures(a: StudyFit, fig_dir: Path) -> list[FigureFile]:
    """The figures of the page, written under fig_dir."""
    figs: list[FigureFile] = []
    m = np.array(a.best["shard_size"], dtype=float)
    done = a.trials[a.trials["state"].astype(str) == "COMPLETE"]
    regions = a.regions
    # The law is drawn out to the target too, unless that is absurdly far (an axis of hundreds
    # of decades shows nothing, and at 1e308 it overflows)
    shown = a.target if a.target is not None and a.target <= FARTHEST * a.largest_shard else None
    reach = max(10 * a.largest_shard, shown or 0.0)
    fig = learning_curve_figure(
        m,
        a.best[a.y],
        a.curve,
        regions=regions,
        trials=(done["shard_size"], done[a.y]),
        extrapolate_to=reach,
        level=a.level,
        ylabel=y_label(a),
        title=f"Learning curve of {a.name}: β_g = {a.beta_g:.3f}",
    )
    target_note = ""
    if shown is not None:
        _mark_target(fig, a)
        target_note = (
            f" Black: the prediction at the target, m = {a.target:,.0f}, with its {a.level:.0%} "
            "interval, as `study fit --target` gives it (the auto rule's, calibrated on "
            "backtests: wider than the band, which holds the parameters' uncertainty only)."
        )
    figs.append(
        figure_file(
            fig,
            fig_dir / "learning_curve",
            "Learning curve",
            "Best validation result per shard (blue) and every trial (grey) on log-log axes; "
            f"the fitted ε(m) = α·m^β_g + γ with its {a.level:.0%} bootstrap band, dashed beyond "
            f"the data (to {'the target or ' if a.target else ''}10× the largest shard). Shaded: "
            "the small-data and irreducible-error regions of a three-region (hestness) fit, with "
            f"their boundaries.{target_note}",
        )
    )
    fig = model_size_figure(
        m,
        a.best["n_params"],
        a.size,
        trials=(done["shard_size"], done["n_params"]),
        level=a.level,
        title=f"Model-size curve of {a.name}: β_p = {a.beta_p:.3f}",
    )
    figs.append(
        figure_file(
            fig,
            fig_dir / "model_size_curve",
            "Model-size curve",
            "Parameter count of each shard's best-fit model with s(m) = α_p·m^β_p; grey: the model "
            "sizes searched. Hestness et al. find β_p < 1 (the best model grows more slowly than "
            "the data).",
        )
    )
    series = [
        ResidualSeries.of(
            "learning curve", a.curve, m, a.best[a.y], xlabel="training-set size m (examples)"
        )
    ]
    if a.size is not None:
        series.append(
            ResidualSeries.of(
                "model-size curve",
                a.size,
                m,
                a.best["n_params"],
                xlabel="training-set size m (examples)",
            )
        )
    figs.append(
        figure_file(
            residuals_figure(series),
            fig_dir / "residuals",
            "Residuals",
            "ln(observed / fitted) per shard for each fit.",
        )
    )
    if a.comparison is not None and a.comparison.fits:
        split = a.comparison.has_split
        figs.append(
            figure_file(
                law_comparison_figure(a.comparison, ylabel=y_label(a)),
                fig_dir / "law_comparison",
                "Law comparison",
                "Several learning-curve laws fitted to the same points"
                + (
                    " with the two largest shards held out; the legend gives each law's RMSE of "
                    "ln(y) on them (lower extrapolates better)."
                    if split
                    else "."
                ),
            )
        )
    if a.isoflop is not None:
        figs.append(
            figure_file(
                isoflop_figure(a.isoflop, loss_label="validation loss (nats)"),
                fig_dir / "isoflop",
                "IsoFLOP profiles",
                "Trials grouped by training compute (within 5%): loss against parameters and "
                "against examples seen, with each budget's parabola in ln N and its minimum.",
            )
        )
    if "curve" in a.trials.columns:
        figs.append(
            figure_file(
                training_curves_figure(done),
                fig_dir / "training_curves",
                "Training curves",
                "Validation loss at each evaluation over training examples seen, for every "
                "finished trial: colour = shard size, line style = model size.",
            )
        )
    return figs
