"""Terminal output of `scalinglab fit --law auto`: which law won its backtests, and why."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from scalinglab.cli.app import console, fail
from scalinglab.display import num
from scalinglab.errors import ScalingLabError
from scalinglab.fitting.calibration import POOL_NAMES, Calibration

# scalinglab.selection imports numpy and torch: imported where used, so that importing the
# command line (`scalinglab --help`) stays fast.
if TYPE_CHECKING:
    from scalinglab.laws.base import ScalingLaw
    from scalinglab.selection.auto import Selection


def parse_candidates(text: str | None, option: str = "--candidates") -> tuple[str, ...] | None:
    """--candidates m1,m4,bnsl2 (or another `option`) as candidate labels: laws of one variable
    (None: the auto rule's own)."""
    from scalinglab.selection.backtest import candidate

    if text is None:
        return None
    labels = [s.strip() for s in text.split(",") if s.strip()]
    if not labels:
        fail(f"{option} takes comma-separated law names, e.g. m1,m4,bnsl2")
    for label in labels:
        try:
            cand = candidate(label)
        except ScalingLabError as exc:
            fail(f"{option}: {exc}")
        if len(cand.make().variables) != 1:
            fail(f"{option}: {label} is not a law of one variable (a learning curve)")
    return tuple(labels)


def parse_target(text: str | None, columns: list[str]) -> float | None:
    """--target VAR=VALUE (VAR the curve's x column) as the value."""
    if text is None:
        return None
    name, sep, raw = (s.strip() for s in text.partition("="))
    if not sep or name not in columns:
        fail(f"--target takes {columns[0]}=VALUE (the x column), got {text!r}")
    try:
        value = float(raw)
    except ValueError:
        fail(f"--target: {name} must be a number, got {raw!r}")
    if not (math.isfinite(value) and value > 0):
        fail(f"--target: {name} must be a positive number, got {raw}")
    return value


def print_selection(selection: Selection, law: ScalingLaw, level: float) -> None:
    """The backtest scores per law, the winner and why, and how its `level` interval is
    calibrated."""
    if selection.fallback:
        console.print(f"[yellow]warning:[/] {escape(selection.reason)}")
        return
    cuts = ", ".join(num(c, ".3g") for c in selection.cuts)
    backtests = (
        f"backtests fitted up to x = {cuts}, each predicting e^{num(selection.horizon, '.3g')} "
        "beyond its cut"
    )
    if selection.criterion:  # the scores are the full fits' ΔIC; the backtests calibrate
        name = selection.criterion.upper()
        score_column = f"Δ{name}"
        heading = (
            f"laws weighed by {name} of their fits on every point ({score_column}: lower is "
            f"better); the {backtests} calibrate the interval"
        )
    else:
        score_column = "backtest score"
        heading = (
            f"laws scored on {backtests} (RMSE of log prediction, geometric mean over the "
            "cuts; lower is better)"
        )
    console.print(heading, highlight=False)
    table = Table()
    table.add_column("law")
    table.add_column(score_column, justify="right")
    table.add_column("weight", justify="right")
    at = selection.at_target
    if at:  # where the laws part at the target: the spread the weighted mean hides
        table.add_column(f"at x = {num(selection.target, '.3g')}", justify="right")
    for label, score in sorted(selection.scores.items(), key=lambda kv: kv[1]):
        weight = selection.weights.get(label, 0.0)
        value = [num(at[label], ".4g") if label in at else "-"] if at else []
        table.add_row(
            escape(label),
            num(score) if math.isfinite(score) else "not eligible",
            num(weight, ".2f") if weight > 0 else "-",
            *value,
            style="bold" if weight > 0 else None,
        )
    console.print(table)
    console.print(
        f"auto chose [bold]{escape(selection.chosen)}[/]: {escape(selection.reason)}",
        highlight=False,
    )
    cal = law.calibration_
    if cal is not None:
        n = sum(len(s) for s in cal.scores)
        half = cal.scale * cal.multiplier(level)
        sigma = num(cal.noise, ".3g")
        in_sigma = "" if cal.units == "log" else f" ({num(half, '.3g')} σ, σ = {sigma})"
        console.print(
            f"prediction intervals calibrated on {n} held-out points of {len(cal.scores)} "
            f"backtests ({POOL_NAMES[cal.pool]}); {level:.0%} half-width "
            f"{num(half * cal.noise, '.3g')} in ln y{in_sigma}" + growth_text(cal),
            highlight=False,
        )
    else:
        console.print("prediction intervals are not calibrated (no usable backtest points)")


def growth_text(cal: Calibration) -> str:
    """How the half-width grows with the distance past the data (`growth_factor`): as
    d^growth up to the backtests' reach, as d^(growth + beyond) past it."""
    if not (math.isfinite(cal.reach) and cal.reach > 0) or cal.growth == cal.beyond == 0:
        return ""

    def power(p: float) -> str:
        return {0.0: "constant", 1.0: "∝ d", 2.0: "∝ d²"}.get(p, f"∝ d^{p:g}")

    text = (
        f" at d = {cal.reach:.3g} (d = ln(x / largest x), the backtests' reach), "
        f"{power(cal.growth)} within it"
    )
    return text + (f" and {power(cal.growth + cal.beyond)} past it" if cal.beyond else "")
