"""Table shapes shared by the commands: a titled table, the quantity / value / interval table of
a plan, and `show` (emit a list of tables and notes). Numbers go through scalinglab.display, the
one formatter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from scalinglab.cli.app import console, emit
from scalinglab.display import MISSING, num, span


def titled(title: str, table: Table) -> Group:
    """A bold title line above a table (a table's own title wraps at the table's width)."""
    return Group(Text(title, style="bold"), table)


def has_interval(bounds: Any) -> bool:
    """True when `bounds` is an interval with at least one known end."""
    return span(bounds) != MISSING


def result_table(title: str, rows: list[tuple[str, float, Any]], level: float) -> Group:
    """One row per quantity: its value and, when any row has one, its `level` interval."""
    table = Table()
    table.add_column("quantity")
    table.add_column("value", justify="right")
    show_interval = any(has_interval(b) for _, _, b in rows)
    if show_interval:
        table.add_column(f"{level:.0%} interval", justify="right", no_wrap=True)
    for name, value, bounds in rows:
        cells = [name, num(value)]
        if show_interval:
            cells.append(span(bounds))
        table.add_row(*cells)
    return titled(title, table)


def with_note(items: list[Any], note: str | None) -> list[Any]:
    """`items` and, when there is one, a dim note after them (`note` is plain text: escaped)."""
    return items + ([f"[dim]note:[/] {escape(note)}"] if note else [])


def show(payload: Mapping[str, Any], json_out: Path | None, items: Sequence[Any]) -> None:
    """`emit` a result whose terminal output is `items` (tables and notes), printed in order."""

    def render() -> None:
        for item in items:
            console.print(item)

    emit(payload, json_out, render)


__all__ = ["has_interval", "result_table", "show", "titled", "with_note"]
