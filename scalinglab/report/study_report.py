"""The report of a Hestness (2017) scaling study: learning curve, model-size curve, the laws
compared, training curves, and what they predict (error at more data, data for a target error,
model size for more data).

Input: the trial table of scalinglab.study.results (a live study or its exported CSV/Parquet).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scalinglab.errors import FitWarning, ScalingLabError
from scalinglab.laws import get_law
from scalinglab.laws.base import ScalingLaw
from scalinglab.planning import fit_model_size_curve, isoflop_analysis
from scalinglab.planning.isoflop import IsoFLOPResult
from scalinglab.report.diagnostics import (
    LawComparison,
    ResidualSeries,
    compare_laws,
    law_comparison_figure,
    residuals_figure,
    training_curves_figure,
)
from scalinglab.report.document import FigureFile, Report, Table, law_table, num, span
from scalinglab.report.isoflop import isoflop_figure
from scalinglab.report.learning_curve import learning_curve_figure, model_size_figure
from scalinglab.report.reference import HESTNESS_BETA_G, TASK_DOMAIN
from scalinglab.report.style import figure_file

Y_LABELS = {"best_val_loss": "validation loss (nats)", "best_val_error": "validation error"}
METRIC_LABELS = {
    "top1_error": "validation top-1 error",
    "bits_per_char": "validation bits per character",
    "token_cross_entropy": "validation cross-entropy (nats/token)",
}


@dataclass
class StudyAnalysis:
    """The fits of one study's learning and model-size curves."""

    name: str
    task: str
    metric: str
    y: str
    trials: pd.DataFrame
    best: pd.DataFrame
    curve: ScalingLaw  # power_const: eps(m) = a m^b + c
    hestness: ScalingLaw | None  # three-region fit, for the region boundaries
    size: ScalingLaw | None  # power: s(m) = a m^b
    comparison: LawComparison | None
    isoflop: IsoFLOPResult | None
    isoflop_note: str
    level: float

    @property
    def beta_g(self) -> float:
        return float(self.curve.params_["b"])

    @property
    def beta_p(self) -> float:
        return float(self.size.params_["b"]) if self.size is not None else 0.0

    @property
    def y_label(self) -> str:
        if self.y == "best_val_error" and self.metric in METRIC_LABELS:
            return METRIC_LABELS[self.metric]
        return Y_LABELS.get(self.y, self.y)

    def predict(self, m: float) -> tuple[float, tuple[float, float]]:
        """Predicted learning-curve value at m examples, with its `level` interval."""
        x = np.array([[float(m)]])
        value = float(self.curve.predict(x)[0])
        try:
            lo, hi = self.curve.predict_interval(x, self.level)
            return value, (float(lo[0]), float(hi[0]))
        except ScalingLabError:
            return value, (math.nan, math.nan)

    def headline(self) -> dict[str, Any]:
        largest = float(self.best["shard_size"].max())
        pred, (lo, hi) = self.predict(10 * largest)
        b_lo, b_hi = self.curve.ci_["b"]
        return {
            "study": self.name,
            "task": self.task,
            "y": self.y,
            "beta_g": self.beta_g,
            "beta_g_interval": [float(b_lo), float(b_hi)],
            "beta_g_level": float(self.curve.ci_level_),
            "beta_p": self.beta_p,
            "largest_shard": largest,
            "at_10x": 10 * largest,
            "predicted_at_10x": pred,
            "predicted_at_10x_interval": [lo, hi],
            "prediction_level": self.level,
            "irreducible": float(self.curve.params_["c"]),
        }


def _quiet_fit(name: str, x: np.ndarray, y: np.ndarray, n_bootstrap: int) -> ScalingLaw:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)  # shown in the parameter table instead
        return get_law(name)(n_bootstrap=n_bootstrap, random_state=0).fit(x[:, None], y)


def analyze_study(
    trials: pd.DataFrame, y: str = "auto", n_bootstrap: int = 1000, level: float = 0.9
) -> StudyAnalysis:
    """Fit the study's curves as `scalinglab study fit` does (same laws, options and seed)."""
    from scalinglab.study import best_per_shard
    from scalinglab.study.fit import default_y

    required = {"shard_size", "state", "best_val_loss", "best_val_error", "n_params"}
    missing = sorted(required - set(trials.columns))
    if missing:
        raise ScalingLabError(f"the results table has no column {missing[0]!r}: not a study table")
    done = trials[trials["state"].astype(str) == "COMPLETE"]
    if done.empty:
        raise ScalingLabError(
            "the study has no finished trials yet; run it (`scalinglab study run STUDY.toml`) first"
        )
    task = str(trials["task"].iloc[0]) if "task" in trials else ""
    if y == "auto":
        y = default_y(task)
    if y not in Y_LABELS:
        raise ScalingLabError(f"--y must be best_val_loss, best_val_error or auto, not {y!r}")
    best = best_per_shard(trials)
    best = best[np.isfinite(best[y].to_numpy(dtype=float)) & (best[y].to_numpy(dtype=float) > 0)]
    if best["shard_size"].nunique() < 3:
        raise ScalingLabError(
            f"only {best['shard_size'].nunique()} shard(s) have a finished best trial; the "
            "learning-curve fit needs at least 3 (run the study further)"
        )
    m = np.array(best["shard_size"], dtype=float)  # copies: torch wants writable arrays
    eps = np.array(best[y], dtype=float)
    curve = _quiet_fit("power_const", m, eps, n_bootstrap)
    hestness = None
    if best["shard_size"].nunique() >= 5:
        try:
            hestness = _quiet_fit("hestness", m, eps, 0)
        except ScalingLabError:
            hestness = None
    s = np.array(best["n_params"], dtype=float)
    size = None
    if len(np.unique(s)) >= 2:  # fitted as `study fit` and planning fit it (log least squares)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)
            size = fit_model_size_curve(m, s, n_bootstrap=n_bootstrap, random_state=0).law
    comparison = None
    if best["shard_size"].nunique() >= 5:
        comparison = compare_laws(m, eps)
    isoflop, isoflop_note = _study_isoflop(trials)
    return StudyAnalysis(
        name=str(trials["study"].iloc[0]) if "study" in trials else "study",
        task=task,
        metric=str(trials["metric"].iloc[0]) if "metric" in trials else "",
        y=y,
        trials=trials,
        best=best,
        curve=curve,
        hestness=hestness,
        size=size,
        comparison=comparison,
        isoflop=isoflop,
        isoflop_note=isoflop_note,
        level=level,
    )


def _study_isoflop(trials: pd.DataFrame) -> tuple[IsoFLOPResult | None, str]:
    """IsoFLOP profiles of the finished trials (N = n_params, D = examples seen, C = FLOPs,
    loss = best validation loss) when trials happen to share compute budgets."""
    cols = ("n_params", "examples_seen", "flops", "best_val_loss")
    if not set(cols) <= set(trials.columns):
        return None, "not applicable: the table has no n_params, examples_seen and flops"
    done = trials[trials["state"].astype(str) == "COMPLETE"]
    arr = np.array(done[list(cols)].astype(float), dtype=float)
    arr = arr[np.all(np.isfinite(arr) & (arr > 0), axis=1)]
    if len(arr) < 6:
        return None, "not applicable: too few finished trials with N, D and C"
    try:
        result = isoflop_analysis(arr[:, 0], arr[:, 3], compute=arr[:, 2], tokens=arr[:, 1])
    except ScalingLabError:
        return None, (
            "not applicable: early-stopped trials do not share compute budgets (each budget "
            "needs 3+ model sizes with a minimum between them)"
        )
    return result, ""


def _figures(a: StudyAnalysis, fig_dir: Path) -> list[FigureFile]:
    figs: list[FigureFile] = []
    m = np.array(a.best["shard_size"], dtype=float)
    done = a.trials[a.trials["state"].astype(str) == "COMPLETE"]
    regions = a.hestness.regions() if a.hestness is not None else None  # type: ignore[attr-defined]
    fig = learning_curve_figure(
        m,
        a.best[a.y],
        a.curve,
        regions=regions,
        trials=(done["shard_size"], done[a.y]),
        level=a.level,
        ylabel=a.y_label,
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
        split = (~a.comparison.train).any()
        figs.append(
            figure_file(
                law_comparison_figure(a.comparison, ylabel=a.y_label),
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


def _exponent_tables(a: StudyAnalysis) -> list[Table]:
    domain = TASK_DOMAIN.get(a.task)
    lo, hi = a.curve.ci_["b"]
    rows = [[f"this study ({a.task}, {a.y_label})", num(a.beta_g, 3), span((lo, hi), 3)]]
    highlight = {0}
    for i, (name, value) in enumerate(HESTNESS_BETA_G.items(), start=1):
        rows.append([f"Hestness 2017: {name}", num(value, 3), ""])
        if name == domain:
            highlight.add(i)
    note = (
        f"The {a.task} task stands in for Hestness's {domain} domain (highlighted)."
        if domain
        else f"The {a.task} task has no counterpart among Hestness's domains."
    )
    t1 = Table(
        "Learning-curve exponent β_g (ε ∝ m^β_g)",
        ["source", "β_g", f"{a.curve.ci_level_:.0%} interval"],
        rows,
        note=note + " Hestness report β_g of the power-law region; steeper (more negative) means "
        "more is gained from each doubling of data.",
        highlight=highlight,
    )
    beta_p_row = [["this study", num(a.beta_p, 3)]]
    if a.size is not None:
        beta_p_row[0].append(span(a.size.ci_["b"], 3))
    else:
        beta_p_row[0].append("every shard's best model has the same size")
    t2 = Table(
        "Model-size exponent β_p (s ∝ m^β_p)",
        ["source", "β_p", "interval"],
        [*beta_p_row, ["Hestness 2017 (all domains)", "< 1 (sublinear)", ""]],
    )
    return [t1, t2]


def _plan_tables(a: StudyAnalysis) -> list[Table]:
    from scalinglab.planning import data_for_target, model_size_for_data

    largest = float(a.best["shard_size"].max())
    rows = []
    size_pred = None
    factors = (1, 2, 10, 100)
    if a.size is not None:
        size_pred = model_size_for_data(a.size, [f * largest for f in factors], a.level)
    for i, f in enumerate(factors):
        value, bounds = a.predict(f * largest)
        row = [f"{f}× largest shard", f"{f * largest:,.0f}", num(value), span(bounds)]
        if size_pred is not None:
            r = size_pred.iloc[i]
            row += [num(r["size"], 3), span((r.get("size_lo"), r.get("size_hi")), 3)]
        else:
            row += ["–", "–"]
        rows.append(row)
    t1 = Table(
        "Predictions at more data",
        [
            "data",
            "examples m",
            f"predicted {a.y_label}",
            f"{a.level:.0%} interval",
            "best model size (params)",
            f"{a.level:.0%} interval",
        ],
        rows,
        note="From the fitted learning curve and model-size curve; intervals from the bootstrap "
        "draws of the parameters (parameter uncertainty only).",
    )
    best_y = float(a.best[a.y].min())
    gamma = float(a.curve.params_["c"])
    trows = []
    for frac in (0.95, 0.9, 0.8):
        target = best_y * frac
        if target <= gamma * 1.001:
            trows.append([num(target), "never: at or below the fitted irreducible level", "–"])
            continue
        try:
            res = data_for_target(a.curve, target, a.level)
        except ScalingLabError as exc:
            trows.append([num(target), str(exc), "–"])
            continue
        trows.append([num(target), num(res.value, 3), span(res.interval, 3)])
    t2 = Table(
        "Data for a target",
        [f"target {a.y_label}", "examples needed", f"{a.level:.0%} interval"],
        trows,
        note=f"Targets 5%, 10% and 20% below the best observed value ({num(best_y)}); the fitted "
        f"irreducible level is γ = {num(gamma)}.",
    )
    return [t1, t2]


def study_report(
    a: StudyAnalysis,
    out_dir: Path,
    setup: list[tuple[str, str]],
    commands: list[str],
) -> Report:
    """The Report of an analysed study; figures are written under out_dir/figures."""
    figures = _figures(a, out_dir / "figures")
    h = a.headline()
    params = [
        law_table(
            "Learning curve (power_const)",
            a.curve,
            note=f"ε(m) = a·m^b + c on {a.y}: b is β_g, c the irreducible level γ.",
        ),
    ]
    if a.hestness is not None:
        r = a.hestness.regions()  # type: ignore[attr-defined]
        params.append(
            law_table(
                "Three-region learning curve (hestness)",
                a.hestness,
                note=f"Small-data region below m = {num(r['small_data_end'])}, irreducible-error "
                f"region above m = {num(r['irreducible_start'])}; best-guess error "
                f"{num(r['best_guess_error'])}.",
            )
        )
    if a.size is not None:
        params.append(
            law_table(
                "Model-size curve (power)", a.size, note="s(m) = a·m^b on n_params: b is β_p."
            )
        )
    if a.comparison is not None:
        rows = [
            [name, law.formula, num(a.comparison.heldout_rmse.get(name), 3)]
            for name, law in a.comparison.fits.items()
        ]
        rows += [[name, f"not fitted: {why}", "–"] for name, why in a.comparison.failed.items()]
        params.append(
            Table(
                "Laws compared on the learning curve",
                ["law", "formula", "held-out RMSE of ln y"],
                rows,
                note="Fitted without the two largest shards, scored on them."
                if (~a.comparison.train).any()
                else "No held-out split (fewer than 6 shards).",
            )
        )
    best_table = Table(
        "Best-fit model per shard",
        ["seed", "shard size", "model size", "params", a.y, "lr"],
        [
            [
                str(r["seed"]),
                f"{int(r['shard_size']):,}",
                str(r["model_size"]),
                f"{int(r['n_params']):,}",
                num(r[a.y]),
                num(r.get("lr"), 3),
            ]
            for r in a.best.to_dict("records")
        ],
    )
    lo, hi = h["predicted_at_10x_interval"]
    b_lo, b_hi = h["beta_g_interval"]
    cards = [
        (f"β_g, {h['beta_g_level']:.0%} interval [{b_lo:.3f}, {b_hi:.3f}]", f"{a.beta_g:.3f}"),
        ("β_p (model size ∝ m^β_p)", f"{a.beta_p:.3f}"),
        (
            f"predicted {a.y_label} at 10× data (m = {h['at_10x']:,.0f}), "
            f"{a.level:.0%} [{lo:.4g}, {hi:.4g}]",
            f"{h['predicted_at_10x']:.4g}",
        ),
        ("irreducible level γ", f"{h['irreducible']:.4g}"),
    ]
    notes = [f"fit warning (learning curve): {w}" for w in a.curve.warnings_]
    return Report(
        title=f"Scaling study: {a.name}",
        subtitle=f"task {a.task} · {len(a.trials)} trials · learning curve of {a.y_label} "
        f"(Hestness et al. 2017)",
        setup=[*setup, ("IsoFLOP analysis", a.isoflop_note or "see the IsoFLOP plot")],
        parameters=[*params, best_table],
        exponents=_exponent_tables(a),
        figures=figures,
        plan=_plan_tables(a),
        commands=commands,
        notes=notes,
        headline={**h, "cards": cards},
    )


def setup_from_trials(trials: pd.DataFrame) -> list[tuple[str, str]]:
    """The study's setup as far as its trial table tells it."""
    shards = sorted(int(s) for s in trials["shard_size"].unique())
    sizes = sorted(int(s) for s in trials["model_size"].dropna().unique())
    states = trials["state"].astype(str).value_counts().to_dict()
    out = [
        ("task", str(trials["task"].iloc[0]) if "task" in trials else "?"),
        ("shard sizes m", ", ".join(f"{s:,}" for s in shards)),
        ("model sizes searched", ", ".join(map(str, sizes))),
        (
            "trials",
            f"{len(trials)} ({', '.join(f'{v} {str(k).lower()}' for k, v in states.items())})",
        ),
    ]
    if "seed" in trials:
        out.append(("seeds", ", ".join(str(s) for s in sorted(trials["seed"].unique()))))
    if "flops" in trials:
        out.append(("training compute", f"{float(trials['flops'].fillna(0).sum()):.3g} FLOPs"))
    if "wall_time" in trials:
        out.append(("training time", f"{float(trials['wall_time'].fillna(0).sum()):.0f} s (sum)"))
    return out
