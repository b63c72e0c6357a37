"""The report page of an (N, D, C, loss) table, analysed by scalinglab.planning.chinchilla_runs:
the Chinchilla law L = E + A/N^α + B/D^β (Hoffmann et al. 2022, Approach 3) next to the published
fits, the IsoFLOP minima (Approach 2) when runs share compute budgets, and the compute-optimal
plan. `exponent_tables` and `plan_tables` also serve the page of a Chinchilla fit file.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from scalinglab.errors import ScalingLabError
from scalinglab.laws.base import ScalingLaw
from scalinglab.planning import allocation_exponents, compute_optimal
from scalinglab.planning.chinchilla_runs import NDAnalysis
from scalinglab.planning.isoflop import IsoFLOPResult
from scalinglab.report.allocation_figures import allocation_figures
from scalinglab.report.document import Report, Table, law_table, num, span
from scalinglab.report.reference import CHINCHILLA_PUBLISHED, HESTNESS_BETA_G

PLAN_BUDGETS = (1e21, 1e22, 5.76e23, 1e24, 1e25)  # 5.76e23: Chinchilla's (and Gopher's) budget


def isoflop_summary(result: IsoFLOPResult) -> str:
    """One line: how many budgets the allocation lines use, and why the others are left out."""
    b = result.budgets
    used = int(b["used"].astype(bool).sum())
    reasons = b.loc[~b["used"].astype(bool), "note"].value_counts()
    text = f"IsoFLOP: {used} of {len(b)} compute budgets give a minimum the allocation lines use"
    if len(reasons):
        text += "; left out: " + ", ".join(f"{n} with {why}" for why, n in reasons.items())
    return text + " (runs within 5% of each other's FLOPs share a budget)."


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


def allocation_report(
    a: NDAnalysis, out_dir: Path, setup_extra: list[tuple[str, str]], commands: list[str]
) -> Report:
    """The Report of an analysed (N, D, C, loss) table; figures go to out_dir/figures."""
    figures = allocation_figures(a, out_dir / "figures")
    exps, ex = exponent_tables(a.law, a.level, a.isoflop)
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
        plan=plan_tables(a.law, a.level, [float(np.max(a.C))]),
        commands=commands,
        notes=notes,
        headline=headline,
    )
