"""What a report holds, independent of how it is rendered: tables, figures, commands, numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scalinglab.display import num as format_num
from scalinglab.display import span as format_span


@dataclass
class Table:
    """A titled table of strings; `highlight` marks rows to emphasise (by index)."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""
    highlight: set[int] = field(default_factory=set)


@dataclass
class FigureFile:
    """A saved figure: its PNG (embedded in the page) and SVG (beside it)."""

    title: str
    caption: str
    png: Path
    svg: Path


@dataclass
class Report:
    """One report page: setup, fitted parameters, exponents, figures, plan, reproduction."""

    title: str
    subtitle: str
    setup: list[tuple[str, str]] = field(default_factory=list)
    parameters: list[Table] = field(default_factory=list)
    exponents: list[Table] = field(default_factory=list)
    figures: list[FigureFile] = field(default_factory=list)
    plan: list[Table] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    headline: dict[str, Any] = field(default_factory=dict)


def num(value: Any, digits: int = 4) -> str:
    """A number for a table cell: `digits` significant figures, '–' for missing (the command
    line's formatter, scalinglab.display)."""
    return format_num(value, f".{digits}g")


def span(bounds: Any, digits: int = 4) -> str:
    """An interval [lo, hi] for a table cell ('–' when unknown)."""
    return format_span(bounds, f".{digits}g")


def law_table(title: str, fit: Any, note: str = "") -> Table:
    """Parameters of a fitted ScalingLaw: value, standard error, interval."""
    level = getattr(fit, "ci_level_", 0.95)
    source = "bootstrap" if getattr(fit, "bootstrap_params_", None) is not None else "Gauss-Newton"
    rows = []
    for name in fit.param_names:
        rows.append(
            [name, num(fit.params_[name]), num(fit.stderr_.get(name)), span(fit.ci_.get(name))]
        )
    head = f"{title}: {fit.formula}" if fit.formula else title
    extra = [note] if note else []
    if getattr(fit, "warnings_", None):
        extra += [f"fit warning: {w}" for w in fit.warnings_]
    return Table(
        head,
        ["parameter", "value", f"stderr ({source})", f"{level:.0%} interval"],
        rows,
        note=" ".join(extra),
    )
