"""The report of runs with model size N, training tokens D (and compute C): the Chinchilla law
L = E + A/N^α + B/D^β fitted to them (Hoffmann et al. 2022, Approach 3), the IsoFLOP profiles
(Approach 2) when runs share compute budgets, and the compute-optimal plan.
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
from scalinglab.io import numeric_columns
from scalinglab.laws import get_law
from scalinglab.laws.base import ScalingLaw
from scalinglab.planning import (
    allocation_exponents,
    allocation_frontier,
    compute_optimal,
    isoflop_analysis,
)
from scalinglab.planning.isoflop import IsoFLOPResult
from scalinglab.report.diagnostics import ResidualSeries, residuals_figure
from scalinglab.report.document import FigureFile, Report, Table, law_table, num, span
from scalinglab.report.isoflop import allocation_figure, isoflop_figure
from scalinglab.report.reference import CHINCHILLA_PUBLISHED, HESTNESS_BETA_G
from scalinglab.report.style import figure_file

COLUMN_NAMES = {
    "params": ("params", "n_params", "N", "parameters", "model_params"),
    "tokens": ("tokens", "D", "n_tokens", "train_tokens", "data"),
    "compute": ("flops", "compute", "C", "FLOPs"),
    "loss": ("loss", "val_loss", "best_val_loss", "L"),
}
PLAN_BUDGETS = (1e21, 1e22, 5.76e23, 1e24, 1e25)  # 5.76e23: Chinchilla's (and Gopher's) budget


def find_columns(df: pd.DataFrame) -> dict[str, str]:
    """The table's params/tokens/compute/loss columns, by their usual names."""
    found: dict[str, str] = {}
    for role, names in COLUMN_NAMES.items():
        for name in names:
            if name in df.columns:
                found[role] = name
                break
    return found


def has_nd(df: pd.DataFrame) -> bool:
    """Does the table hold runs with N, a loss, and D or C?"""
    cols = find_columns(df)
    return "params" in cols and "loss" in cols and ("tokens" in cols or "compute" in cols)


@dataclass
class NDAnalysis:
    """Fits and plans of an (N, D, C, loss) table."""

    source: str
    n_runs: int
    columns: dict[str, str]
    N: np.ndarray
    D: np.ndarray
    C: np.ndarray
    loss: np.ndarray
    law: ScalingLaw
    isoflop: IsoFLOPResult | None
    isoflop_error: str
    level: float


def analyze_nd(
    df: pd.DataFrame,
    source: str,
    n_bootstrap: int = 200,
    level: float = 0.9,
    flops_per_param_token: float = 6.0,
) -> NDAnalysis:
    """Fit the Chinchilla law to the runs and, when possible, run the IsoFLOP analysis."""
    cols = find_columns(df)
    N = numeric_columns(df, [cols["params"]], source)[:, 0]
    loss = numeric_columns(df, [cols["loss"]], source)[:, 0]
    k = flops_per_param_token
    if "tokens" in cols:
        D = numeric_columns(df, [cols["tokens"]], source)[:, 0]
        C = numeric_columns(df, [cols["compute"]], source)[:, 0] if "compute" in cols else k * N * D
    else:
        C = numeric_columns(df, [cols["compute"]], source)[:, 0]
        D = C / (k * N)
    if len(N) < 6:
        raise ScalingLabError(f"{source}: {len(N)} runs are too few to fit L(N, D) (need 6+)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        law = get_law("chinchilla")(n_bootstrap=n_bootstrap, random_state=0)
        law.fit(np.column_stack([N, D]), loss)
    iso: IsoFLOPResult | None = None
    iso_error = ""
    try:
        iso = isoflop_analysis(N, loss, compute=C, tokens=D, n_bootstrap=n_bootstrap, level=level)
    except ScalingLabError as exc:
        iso_error = str(exc)
    return NDAnalysis(source, len(N), cols, N, D, C, loss, law, iso, iso_error, level)


def isoflop_summary(result: IsoFLOPResult) -> str:
    """One line: how many budgets the allocation lines use, and why the others are left out."""
    b = result.budgets
    used = int(b["used"].astype(bool).sum())
    reasons = b.loc[~b["used"].astype(bool), "note"].value_counts()
    text = f"IsoFLOP: {used} of {len(b)} compute budgets give a minimum the allocation lines use"
    if len(reasons):
        text += "; left out: " + ", ".join(f"{n} with {why}" for why, n in reasons.items())
    return text + " (runs within 5% of each other's FLOPs share a budget)."


def _figures(a: NDAnalysis, fig_dir: Path) -> list[FigureFile]:
    figs = []
    if a.isoflop is not None:
        figs.append(
            figure_file(
                isoflop_figure(a.isoflop),
                fig_dir / "isoflop",
                "IsoFLOP profiles",
                "Loss against model size N (left) and training tokens D (right) for each compute "
                "budget, with the parabola in ln N fitted per budget and its minimum (★) — "
                "Hoffmann "
                "et al. 2022, Approach 2.",
            )
        )
    lo = float(np.min(a.C))
    frontier = allocation_frontier(
        a.law, np.geomspace(lo, max(1e25, float(np.max(a.C))), 40), level=a.level
    )
    figs.append(
        figure_file(
            allocation_figure(a.isoflop, frontier, "Chinchilla fit"),
            fig_dir / "allocation",
            "Compute-optimal allocation",
            "N_opt and D_opt against compute: from the fitted L(N, D) (solid, with its "
            f"{a.level:.0%} band from the bootstrap draws) and, where the runs share budgets, the "
            "IsoFLOP minima (★) with their fitted lines (dashed).",
        )
    )
    X = np.column_stack([a.N, a.D])
    series = [
        ResidualSeries.of(
            "Chinchilla fit vs compute",
            a.law,
            X,
            a.loss,
            x=a.C,
            xlabel="training compute C (FLOPs)",
        ),
        ResidualSeries.of(
            "Chinchilla fit vs N", a.law, X, a.loss, x=a.N, xlabel="model size N (parameters)"
        ),
    ]
    figs.append(
        figure_file(
            residuals_figure(series, "Residuals of L(N, D)"),
            fig_dir / "residuals",
            "Residuals",
            "ln(observed / fitted loss) per run.",
        )
    )
    return figs


def _exponents(a: NDAnalysis) -> tuple[list[Table], Any]:
    return exponent_tables(a.law, a.level, a.isoflop)


def exponent_tables(
    law: ScalingLaw, level: float, isoflop: IsoFLOPResult | None = None
) -> tuple[list[Table], Any]:
    """The fitted α, β, a, b next to the published ones, and −β next to Hestness's β_g."""
    p = law.params_
    ex = allocation_exponents(law, level=level)
    rows = [
        [
            "this fit: Chinchilla law (Approach 3)",
            num(p["alpha"], 3),
            num(p["beta"], 3),
            f"{num(ex.a, 3)} {span(ex.a_interval, 3)}",
            f"{num(ex.b, 3)} {span(ex.b_interval, 3)}",
        ]
    ]
    if isoflop is not None:
        rows.append(
            [
                "this data: IsoFLOP (Approach 2)",
                "–",
                "–",
                f"{num(isoflop.a, 3)} {span(isoflop.n_line.exponent_interval, 3)}",
                f"{num(isoflop.b, 3)} {span(isoflop.d_line.exponent_interval, 3)}",
            ]
        )
    for source, alpha, beta, ea, eb in CHINCHILLA_PUBLISHED:
        rows.append([source, num(alpha, 3), num(beta, 3), num(ea, 3), num(eb, 3)])
    t1 = Table(
        "Chinchilla exponents: L = E + A/N^α + B/D^β, N_opt ∝ C^a, D_opt ∝ C^b",
        ["source", "α", "β", f"a [{level:.0%}]", f"b [{level:.0%}]"],
        rows,
        highlight={0, 1} if isoflop is not None else {0},
    )
    hrows = [["this fit: −β (data exponent of the reducible loss)", num(-p["beta"], 3)]]
    hrows += [[f"Hestness 2017: {k}", num(v, 3)] for k, v in HESTNESS_BETA_G.items()]
    t2 = Table(
        "Data exponent next to Hestness's learning-curve exponents β_g",
        ["source", "exponent"],
        hrows,
        note="Language modelling is Hestness's word/char LM domain (highlighted). Not the same "
        "quantity: Hestness fit the whole learning curve at the best model size per shard, while "
        "−β is the exponent of the data term alone at fixed N.",
        highlight={0, 1, 2},
    )
    return [t1, t2], ex


def _plan(a: NDAnalysis) -> list[Table]:
    return plan_tables(a.law, a.level, [float(np.max(a.C))])


def plan_tables(law: ScalingLaw, level: float, extra_budgets: list[float]) -> list[Table]:
    """The compute-optimal N, D, tokens per parameter and loss for a range of budgets."""
    budgets = sorted({*extra_budgets, *PLAN_BUDGETS})
    rows = []
    for c in budgets:
        try:
            al = compute_optimal(law, c, level=level)
        except ScalingLabError as exc:
            rows.append([f"{c:.3g}", str(exc), "", "", "", ""])
            continue
        iv = al.intervals
        rows.append(
            [
                f"{c:.3g}",
                f"{num(al.n_opt, 3)} {span(iv.get('n_opt'), 3)}",
                f"{num(al.d_opt, 3)} {span(iv.get('d_opt'), 3)}",
                f"{num(al.tokens_per_param, 3)} {span(iv.get('tokens_per_param'), 3)}",
                f"{num(al.loss)} {span(iv.get('loss'))}",
                al.method,
            ]
        )
    t = Table(
        f"Compute-optimal plan from the {law.name} fit (C = 6·N·D; {level:.0%} intervals)",
        [
            "budget C (FLOPs)",
            "N_opt (params)",
            "D_opt (tokens)",
            "tokens per param",
            "loss",
            "method",
        ],
        rows,
        note="5.76e23 FLOPs is the budget of Chinchilla (70B parameters, 1.4T tokens). Intervals "
        "from the fit's bootstrap draws.",
    )
    return [t]


def nd_report(
    a: NDAnalysis, out_dir: Path, setup_extra: list[tuple[str, str]], commands: list[str]
) -> Report:
    """The Report of an analysed (N, D, C, loss) table; figures go to out_dir/figures."""
    figures = _figures(a, out_dir / "figures")
    exps, ex = _exponents(a)
    params = [
        law_table(
            "Chinchilla law (Hoffmann et al. 2022, Approach 3)",
            a.law,
            note="Huber loss (δ = 1e-3) on log residuals from the 4,500-point grid.",
        )
    ]
    if a.isoflop is not None:
        b = a.isoflop.budgets[a.isoflop.budgets["used"].astype(bool)]
        rows = [
            [
                f"{r['compute']:.3g}",
                str(r["n_runs"]),
                num(r["n_opt"], 3),
                num(r["d_opt"], 3),
                num(r["loss_opt"]),
            ]
            for r in b.to_dict("records")
        ]
        params.append(
            Table(
                "IsoFLOP minima per budget (Approach 2)",
                ["budget C", "runs", "N_opt", "D_opt", "loss at minimum"],
                rows,
                note=isoflop_summary(a.isoflop),
            )
        )
    setup = [
        ("source", a.source),
        ("runs", str(a.n_runs)),
        ("columns", ", ".join(f"{k} = {v}" for k, v in a.columns.items())),
        ("model sizes N", f"{np.min(a.N):.3g} – {np.max(a.N):.3g} parameters"),
        ("tokens D", f"{np.min(a.D):.3g} – {np.max(a.D):.3g}"),
        ("compute C", f"{np.min(a.C):.3g} – {np.max(a.C):.3g} FLOPs"),
        *setup_extra,
    ]
    notes = []
    if a.isoflop is None:
        notes.append(f"no IsoFLOP analysis: {a.isoflop_error}")
    elif a.isoflop.warnings:
        notes.append(isoflop_summary(a.isoflop))
    p = a.law.params_
    al = compute_optimal(a.law, 5.76e23, level=a.level, draws=False)
    cards = [
        ("α (parameter exponent)", f"{p['alpha']:.3f}"),
        ("β (data exponent)", f"{p['beta']:.3f}"),
        (f"a in N_opt ∝ C^a, {a.level:.0%} {span(ex.a_interval, 3)}", f"{ex.a:.3f}"),
        ("irreducible loss E", f"{p['E']:.3f}"),
        ("optimal N at 5.76e23 FLOPs", f"{al.n_opt:.3g}"),
    ]
    headline = {
        "alpha": p["alpha"],
        "beta": p["beta"],
        "E": p["E"],
        "a": ex.a,
        "b": ex.b,
        "isoflop_a": a.isoflop.a if a.isoflop is not None else math.nan,
        "cards": cards,
    }
    return Report(
        title=f"Scaling law report: {Path(a.source).name}",
        subtitle=f"{a.n_runs} runs of loss against model size and data · Chinchilla law, "
        "IsoFLOP profiles and compute-optimal plan",
        setup=setup,
        parameters=params,
        exponents=exps,
        figures=figures,
        plan=_plan(a),
        commands=commands,
        notes=notes,
        headline=headline,
    )
