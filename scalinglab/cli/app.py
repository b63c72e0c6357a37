"""The typer application and the error policy shared by every command."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import typer
from rich.console import Console

from scalinglab.errors import ScalingLabError

app = typer.Typer(
    name="scalinglab",
    help="Make deep-learning scaling predictable: run studies, fit laws, predict and plan.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def fail(message: str) -> None:
    """Raise the one-line, exit-code-2 error a user can act on."""
    raise ScalingLabError(message)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write a JSON result file ('-' means stdout)."""
    text = json.dumps(payload, indent=2, allow_nan=True)
    if str(path) == "-":
        sys.stdout.write(text + "\n")
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror}")


def run_app(argv: list[str] | None = None) -> int:
    """Run the CLI and map user errors to exit code 2 with one line on stderr."""
    try:
        # Without standalone mode click returns what a command returns, or the code of a
        # typer.Exit(n) raised inside it.
        code = app(args=argv, standalone_mode=False)
    except ScalingLabError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return 2
    except click.exceptions.Abort:
        err_console.print("aborted")
        return 130
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        err_console.print(f"[bold red]error:[/] {exc.format_message()}", highlight=False)
        return 2
    except KeyboardInterrupt:
        # Everything finished is stored; a study rerun resumes where this one stopped.
        err_console.print("interrupted; rerun the same command to resume")
        return 130
    return code if isinstance(code, int) else 0
