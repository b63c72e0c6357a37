"""The figures of a study's report (Hestness et al. 2017): learning curve, model-size curve,
residuals, the laws compared, IsoFLOP profiles and training curves; `y_label` is the axis label of
the task's metric.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

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


def study_figures(a: StudyFit, fig_dir: Path) -> list[FigureFile]:
    """The figures of the page, written under fig_dir."""
    figs: list[FigureFile] = []
    m = np.array(a.best["shard_size"], dtype=float)
    done = a.trials[a.trials["state"].astype(str) == "COMPLETE"]
    regions = a.regions
    fig = learning_curve_figure(
        m,
        a.best[a.y],
        a.curve,
        regions=regions,
        trials=(done["shard_size"], done[a.y]),
        level=a.level,
        ylabel=y_label(a),
        title=f"Learning curve of {a.name}: β_g = {a.beta_g:.3f}",
    )
    figs.append(
        figure_file(
            fig,
            fig_dir / "learning_curve",
            "Learning curve",
            "Best validation result per shard (blue) and every trial (grey) on log-log axes; "
            f"the fitted ε(m) = α·m^β_g + γ with its {a.level:.0%} bootstrap band, dashed beyond "
            "the data (to 10× the largest shard). Shaded: the small-data and irreducible-error "
            "regions of a three-region (hestness) fit, with their boundaries.",
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
