"""The report page of a Hestness (2017) scaling study: the fitted curves and their parameters, the
exponents next to Hestness's, the best model per shard, and what the curves predict (error at
more data, data for a target error, model size for more data).

Input: the analysis of a study, scalinglab.study.fit_study (the same result `study fit` prints);
this module and scalinglab.report.study_figures only render it.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from scalinglab.display import examples
from scalinglab.errors import ScalingLabError
from scalinglab.fitting.calibration import POOL_NAMES
from scalinglab.planning import data_for_target, model_size_for_data
from scalinglab.planning.model_size import HESTNESS_BETA_P
from scalinglab.report.document import Report, Table, law_table, num, span
from scalinglab.report.reference import HESTNESS_BETA_G, TASK_DOMAIN
from scalinglab.report.study_figures import study_figures, y_label
from scalinglab.selection.auto import interval_warnings
from scalinglab.study.fit import StudyFit
from scalinglab.study.results import devices_text, throughput_summary, trial_devices

FACTORS = (1, 2, 10, 100)  # predictions at more data: these multiples of the largest shard

CURVE_NOTES = {
    "power_const": "ε(m) = a·m^b + c on {y}: b is β_g, c the irreducible level γ.",
    "hestness": "ε(m) = γ + 1/(1/ε_s + 1/(α·m^β_g)) on {y}: the three-region curve.",
}


def _exponent_tables(a: StudyFit) -> list[Table]:
    domain = TASK_DOMAIN.get(a.task)
    lo, hi = a.beta_g_interval
    rows = [[f"this study ({a.task}, {y_label(a)})", num(a.beta_g, 3), span((lo, hi), 3)]]
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
    if a.beta_p_interval is not None:
        beta_p_row[0].append(span(a.beta_p_interval, 3))
    else:
        beta_p_row[0].append("every shard's best model has the same size")
    lo_p, hi_p = HESTNESS_BETA_P
    grid = a.size_grid
    t2 = Table(
        "Model-size exponent β_p (s ∝ m^β_p)",
        ["source", "β_p", f"{a.level:.0%} interval"],
        [
            *beta_p_row,
            ["Hestness 2017 (all domains)", f"{lo_p:g} ≤ β_p < {hi_p:g} (sublinear)", ""],
        ],
        note=f"The grid's largest model (size {grid.largest:g}) is the best on {grid.wins} of "
        f"{grid.points} shards"
        + (
            ": the grid limits the curve (those shards' best model may be larger, so β_p is "
            "biased toward 0); search larger sizes."
            if grid.limited
            else "."
        ),
    )
    return [t1, t2]


def _prediction_note(a: StudyFit) -> str:
    """How the predictions at more data were made, and when their intervals are optimistic."""
    size = "best model size from the model-size curve, its intervals from its parameters' draws"
    calibration = a.predictor.calibration_
    if calibration is None:
        return (
            f"From the fitted learning curve ({a.predictor.name}) and model-size curve; intervals "
            "from the bootstrap draws of the parameters (parameter uncertainty only)."
        )
    chosen = a.selection.chosen if a.selection is not None else a.predictor.name
    warning = "".join(f" Warning: {n}." for n in interval_warnings(calibration))
    laws = a.selection.at_target_text("m") if a.selection is not None else ""
    return (
        f"Predicted by {chosen} (the auto rule, as fit --law auto); {a.level:.0%} intervals "
        f"calibrated on the learning curve's backtests ({POOL_NAMES[calibration.pool]}), wider "
        f"the farther beyond the data; {size}.{warning}"
        + (f" {laws[0].upper()}{laws[1:]}." if laws else "")
    )


def _prediction_points(a: StudyFit) -> list[tuple[str, float, bool]]:
    """Where the page predicts at more data, as (label, m, is the target) sorted by m: 1, 2, 10
    and 100× the largest shard, and the target asked for (a target on one of those multiples
    marks that row instead of adding one)."""
    largest = a.largest_shard
    points = [(f"{f}× largest shard", f * largest, False) for f in FACTORS]
    if a.target is None:
        return points
    same = [i for i, (_, m, _) in enumerate(points) if math.isclose(m, a.target, rel_tol=1e-9)]
    if same:  # predicted at the target itself, so that the row is the headline's number
        points[same[0]] = (f"{points[same[0]][0]} (target)", a.target, True)
    else:
        points.append((f"target ({a.target / largest:.3g}× largest shard)", a.target, True))
    return sorted(points, key=lambda point: point[1])


def _target_note(a: StudyFit) -> str:
    """What the table says of the target: that the auto rule's backtests aimed at it, how far
    they reached, and how far beyond the shards it lies (the note `study fit --target` prints)."""
    if a.target is None:
        return ""
    note = f" Highlighted: the target, m = {examples(a.target, '.3g')}"
    calibration = a.predictor.calibration_
    if calibration is not None and a.target > a.largest_shard:
        note += "; the auto rule's backtests aimed at its distance beyond the data"
        d = calibration.past_reach(a.target)
        if d is not None:  # a short curve reaches less far
            note += f", and reached e^{calibration.reach:.3g} of its e^{d:.3g}"
    beyond = a.beyond_note(a.target)
    return note + "." + (f" Note: {beyond}." if beyond else "")


def _plan_tables(a: StudyFit) -> list[Table]:
    points = _prediction_points(a)
    ms = [m for _, m, _ in points]
    rows = []
    size_pred = None
    if a.size is not None:
        size_pred = model_size_for_data(a.size, ms, a.level)
    for i, (label, m, _) in enumerate(points):
        value, bounds = a.predict(m)
        row = [label, examples(m, ".3g"), num(value), span(bounds)]
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
            f"predicted {y_label(a)}",
            f"{a.level:.0%} interval",
            "best model size (params)",
            f"{a.level:.0%} interval",
        ],
        rows,
        note=_prediction_note(a) + _target_note(a),
        highlight={i for i, (_, _, is_target) in enumerate(points) if is_target},
    )
    best_y = float(a.best[a.y].min())
    gamma = a.irreducible
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
        [f"target {y_label(a)}", "examples needed", f"{a.level:.0%} interval"],
        trows,
        note=f"Targets 5%, 10% and 20% below the best observed value ({num(best_y)}); the fitted "
        f"irreducible level is γ = {num(gamma)}.",
    )
    return [t1, t2]


def study_report(
    a: StudyFit,
    out_dir: Path,
    setup: list[tuple[str, str]],
    commands: list[str],
) -> Report:
    """The Report of an analysed study; figures are written under out_dir/figures."""
    figures = study_figures(a, out_dir / "figures")
    h = a.headline()
    params = [
        law_table(
            f"Learning curve ({a.law})",
            a.curve,
            note=CURVE_NOTES[a.law].format(y=a.y),
        ),
    ]
    regions = a.regions_text
    if a.regions_fit is not None and regions:
        params.append(
            law_table(
                "Three-region learning curve (hestness)",
                a.regions_fit,
                note=f"Regions: {regions}.",
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
                if a.comparison.has_split
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
        (
            "β_p (model size ∝ m^β_p)"
            + (
                f", {a.level:.0%} interval {span(a.beta_p_interval, 3)}"
                if a.beta_p_interval
                else ""
            )
            + f"; Hestness {HESTNESS_BETA_P[0]:g}–{HESTNESS_BETA_P[1]:g}",
            f"{a.beta_p:.3f}",
        ),
        (
            f"predicted {y_label(a)} at 10× data (m = {h['at_10x']:,.0f}), "
            f"{a.level:.0%} [{lo:.4g}, {hi:.4g}]",
            f"{h['predicted_at_10x']:.4g}",
        ),
        ("irreducible level γ", f"{h['irreducible']:.4g}"),
    ]
    if a.target is not None:  # the prediction asked for, beside the one at 10×
        t_lo, t_hi = h["predicted_at_target_interval"]
        cards.insert(
            3,
            (
                f"predicted {y_label(a)} at the target (m = {examples(h['target'], '.3g')}), "
                f"{a.level:.0%} [{t_lo:.4g}, {t_hi:.4g}]",
                f"{h['predicted_at_target']:.4g}",
            ),
        )
    notes = [*a.notes, *(f"fit warning (learning curve): {w}" for w in a.curve.warnings_)]
    if a.size_warning:
        notes.append(f"model-size curve: {a.size_warning}")
    return Report(
        title=f"Scaling study: {a.name}",
        subtitle=f"task {a.task} · {len(a.trials)} trials · learning curve of {y_label(a)} "
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
    devices = trial_devices(trials)
    if devices:
        out.append(("trained on", devices_text(devices)))
    rate = throughput_summary(trials)
    if rate:
        out.append(
            (
                "training throughput",
                f"{rate['examples_per_s_median']:,.0f} examples/s per trial (median), "
                f"{rate['flops_per_s']:.3g} FLOP/s achieved (optimizer steps only)",
            )
        )
    return out
