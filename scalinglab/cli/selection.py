"""Terminal output of `scalinglab fit --law auto`: which law won its backtests, and why."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.table import Table

from scalinglab.cli.app import console, fail
from scalinglab.errors import ScalingLabError

# scalinglab.fitting.select imports numpy and torch: imported where used, so that importing the
# command line (`scalinglab --help`) stays fast.
if TYPE_CHECKING:
    from scalinglab.fitting import select
    from scalinglab.laws.base import ScalingLaw


def parse_candidates(text: str | None) -> tuple[select.Candidate, ...]:
    """--candidates m1,m4,bnsl2 as candidates (None: select.DEFAULT_CANDIDATES)."""
    from scalinglab.fitting import select

    if text is None:
        return select.DEFAULT_CANDIDATES
    labels = [s.strip() for s in text.split(",") if s.strip()]
    if not labels:
        fail("--candidates takes comma-separated law names, e.g. m1,m4,bnsl2")
    out = []
    for label in labels:
        try:
            cand = select.candidate(label)
        except ScalingLabError as exc:
            fail(f"--candidates: {exc}")
        if len(cand.make().variables) != 1:
            fail(f"--candidates: {label} is not a law of one variable (a learning curve)")
        out.append(cand)
    return tuple(out)


def _fmt(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:.4g}"


def print_selection(selection: select.Selection, law: ScalingLaw) -> None:
    """The backtest table (score per law, far-end error per cut), the winner and the reason."""
    from scalinglab.fitting import select

    if selection.fallback:
        console.print(f"[yellow]warning:[/] {selection.reason}")
        return
    table = Table(
        title="backtests: |log error| at the farthest point beyond each cut (lower is better)",
        title_justify="left",
    )
    table.add_column("law")
    table.add_column("geo. mean", justify="right")
    for cut in selection.cuts:
        table.add_column(f"fit x ≤ {cut:.3g}", justify="right")
    table.add_column("note")
    ranked = sorted(selection.backtests.values(), key=lambda bt: bt.score)
    for bt in ranked:
        style = "bold" if bt.label == selection.chosen else None
        table.add_row(
            bt.label,
            _fmt(bt.score),
            *(_fmt(v) for v in bt.cut_far),
            bt.note if not bt.eligible else "",
            style=style,
        )
    console.print(table)
    console.print(f"auto chose [bold]{selection.chosen}[/]: {selection.reason}", highlight=False)
    widening = law.interval_widening_
    if widening:
        n = sum(len(b) for b in widening["scores"])
        console.print(
            f"prediction intervals calibrated on {n} held-out points of "
            f"{len(widening['scores'])} backtests (conformal); "
            f"90% multiplier {select.interval_multiplier(widening['scores'], 0.9):.3g} σ",
            highlight=False,
        )
    else:
        console.print("prediction intervals are not calibrated (no usable backtest points)")
