"""The typer application and what every command shares: the error policy, the output helper
(`emit`), the number formatter (`num`, `span`) and the options of every command that fits
(`--bootstrap`, `--seed`, `--level`) and of every command (`--json`).

Output: a command prints tables to the terminal and, with `--json PATH`, also writes its result
as JSON to PATH; with `--json -` stdout holds the JSON and nothing else (tables are skipped,
progress and warnings go to stderr). A --json path that cannot be written (a directory, a path
through a file) is refused as the command line is read, before the command's work.

Every usage error — an unknown command or option, a missing argument, a value of the wrong type,
input a command cannot use (`ScalingLabError`) — is one line on stderr and exit code 2; `--help`
exits 0; Ctrl-C exits 130. typer bundles its own copy of click (typer 0.29, pinned), so its parsing
errors are caught through the base classes typer exports (`typer.TyperException`, `typer.Exit`,
`typer.Abort`), and the classes of a separately installed click (which commands may raise, as
`study run` does on Ctrl-C) as well.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import click
import typer
from rich.console import Console
from rich.markup import escape

from scalinglab.display import file_in_the_way, path_error, printable
from scalinglab.errors import ScalingLabError

PROG = "scalinglab"

app = typer.Typer(
    name=PROG,
    help="Make deep-learning scaling predictable: run studies, fit laws, predict and plan.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

# The exception classes of both clicks: typer's bundled one (through typer's public bases) and a
# separately installed click, if typer uses that one instead (older typer) or a command raises it.
_EXIT = (typer.Exit, click.exceptions.Exit)
_ABORT = (typer.Abort, click.exceptions.Abort)
_USAGE = (typer.TyperException, click.ClickException)


def fail(message: str) -> NoReturn:
    """Raise the one-line, exit-code-2 error a user can act on."""
    raise ScalingLabError(message)


MAX_ERROR_CHARS = 1000  # an error naming a 100,000-character column is cut to this


def one_line(text: str) -> str:
    """`text` on one line (an exception's message may hold newlines), control characters shown
    as escapes, at most MAX_ERROR_CHARS long, markup escaped."""
    joined = " ".join(part.strip() for part in str(text).splitlines() if part.strip())
    return escape(printable(joined, MAX_ERROR_CHARS))


def print_error(message: str) -> None:
    """`error: MESSAGE` as exactly one line on stderr, whatever the message holds."""
    err_console.print(f"[bold red]error:[/] {one_line(message)}", highlight=False, soft_wrap=True)


def _check_can_create(directory: Path, option: str, path: Path) -> None:
    """Fail unless `directory` (where `path` goes) is, or can be created as, a directory: no
    file in the way, and the nearest existing directory is one we may write in."""
    blocker = file_in_the_way(directory)
    if blocker is not None:
        fail(f"{option} {path}: {blocker} is a file, not a directory")
    base = next((d for d in (directory, *directory.parents) if os.path.isdir(d)), None)
    if base is not None and not os.access(base, os.W_OK | os.X_OK):
        fail(f"{option} {path}: {base} is not writable; give a path you can write to")


def _is(test: Callable[[], bool], path: Path, option: str) -> bool:
    """`test()` (path.exists, path.is_dir), failing in one line when the system cannot look
    the path up at all (a file name too long) instead of raising OSError."""
    try:
        return test()
    except OSError as exc:
        fail(f"{option} {path_error(path, exc)}")


def check_out_dir(path: Path, option: str) -> None:
    """Fail unless `path` is, or can be created as, a directory."""
    if _is(path.exists, path, option) and not path.is_dir():
        fail(f"{option} {path} is a file; give a directory (it is created if missing)")
    _check_can_create(path, option, path)


def check_out_file(path: Path | None, option: str, example: str) -> None:
    """Fail unless `path` can be written as a file: not a directory, and its directory is there
    or can be created. Called before a command's work, so that hours of training or fitting do
    not end in an unwritable path. None (no file) and '-' (stdout) pass; `example` is a file name
    the message suggests."""
    if path is None or str(path) == "-":
        return
    if _is(path.is_dir, path, option):
        fail(f"{option} {path} is a directory; give a file name, e.g. {path / example}")
    _check_can_create(path.parent, option, path)


def check_not_input(path: Path | None, option: str, *inputs: Path | None) -> None:
    """Fail if the output file `path` is one of the command's input files: writing it would
    destroy what the command read. None and '-' (stdout) pass; paths compare resolved, so
    ./a.csv and a.csv are one file."""
    if path is None or str(path) == "-":
        return
    for source in inputs:
        if source is not None and path.resolve() == source.resolve():
            fail(f"{option} {path} is the input file {source}; give another file name")


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    """Write a JSON result file ('-' means stdout)."""
    text = json.dumps(payload, indent=2, allow_nan=True)
    if str(path) == "-":
        sys.stdout.write(text + "\n")
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    except OSError as exc:
        # mkdir's "File exists" would hide which part of the path is a file
        blocker = file_in_the_way(path.parent)
        reason = f"{blocker} is a file, not a directory" if blocker else exc.strerror
        fail(f"cannot write {path}: {reason}")


def _check_json_out(value: Path | None) -> Path | None:
    """--json, checked as the command line is read: before the command's work."""
    check_out_file(value, "--json", "result.json")
    return value


# ---------------------------------------------------------------------------------------------
# Output: tables on the terminal, the result as JSON with --json PATH|-
# ---------------------------------------------------------------------------------------------
def json_to_stdout(json_out: Path | None) -> bool:
    """True for `--json -`: stdout is the JSON's alone."""
    return json_out is not None and str(json_out) == "-"


def out_console(json_out: Path | None) -> Console:
    """Where a command's running commentary goes: the terminal, or stderr under `--json -`."""
    return err_console if json_to_stdout(json_out) else console


def emit(payload: Mapping[str, Any], json_out: Path | None, render: Callable[[], None]) -> None:
    """The one way a command shows its result: `render()` prints its tables (skipped under
    `--json -`, where stdout holds only the JSON), and `payload` is written to `--json PATH`."""
    if json_to_stdout(json_out):
        assert json_out is not None
        write_json(json_out, payload)
        return
    render()
    if json_out is not None:
        write_json(json_out, payload)
        console.print(f"JSON written to {json_out}", markup=False, highlight=False, soft_wrap=True)


# ---------------------------------------------------------------------------------------------
# Options shared by commands: declared once, so every command spells, defaults and checks them
# the same way (tests/cli/test_options.py)
# ---------------------------------------------------------------------------------------------
# scalinglab.study.fit.DEFAULT_BOOTSTRAP, spelled out so that --help imports no numpy (the test
# checks they agree).
DEFAULT_BOOTSTRAP = 200
DEFAULT_SEED = 0
DEFAULT_LEVEL = 0.9  # of every interval: parameters, predictions, bands, plans


def _check_level(value: float) -> float:
    if not (math.isfinite(value) and 0 < value < 1):
        raise typer.BadParameter(f"must be between 0 and 1 (exclusive), got {value}")
    return value


BootstrapOption = Annotated[
    int,
    typer.Option(
        "--bootstrap",
        min=0,
        help="Bootstrap resamples of the fits, for their intervals (0: none).",
    ),
]
SeedOption = Annotated[int, typer.Option("--seed", min=0, help="Seed of the bootstrap.")]
LevelOption = Annotated[
    float,
    typer.Option(
        "--level",
        callback=_check_level,
        help="Level of every interval shown: parameters, predictions and plans.",
    ),
]
JsonOption = Annotated[
    Path | None,
    typer.Option(
        "--json",
        help="Also write the result as JSON to this file ('-': stdout, and nothing else there).",
        callback=_check_json_out,
    ),
]


@contextmanager
def flag_names(names: Mapping[str, str]) -> Iterator[None]:
    """Library errors name API parameters (`fit_up_to`); under this, a command's message names
    its flags instead (`--fit-up-to`): `names` maps each parameter to its flag."""
    try:
        yield
    except ScalingLabError as exc:
        message = str(exc)
        for param, flag in names.items():
            message = message.replace(param, flag)
        if message == str(exc):
            raise
        raise ScalingLabError(message) from exc


def _usage_message(exc: Exception) -> str:
    """A click usage error as one line: the command it concerns, the problem, where help is."""
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    ctx = getattr(exc, "ctx", None)
    if ctx is None:
        return str(message)
    return f"{ctx.command_path}: {str(message).rstrip('.')} (see `{ctx.command_path} --help`)"


_LIST_ITEM = re.compile(r"^(- |\* |\d+\. )")


def reflowed(help_text: str) -> str:
    """A command's help with each prose paragraph on one line (a list item on one line each),
    for the terminal to wrap. typer's help keeps a docstring's single line breaks and wraps
    those lines again, which leaves ragged text on a terminal narrower than the source. Kept as
    written: the first paragraph (typer joins it), paragraphs marked \\b and, unless they are a
    list, any with an indented line (examples, code)."""
    first, *rest = inspect.cleandoc(help_text).split("\n\n")
    out = [first]
    for paragraph in rest:
        lines = paragraph.split("\n")
        indented = any(line[:1].isspace() for line in lines)
        if paragraph.startswith("\b") or (indented and not _LIST_ITEM.match(paragraph)):
            out.append(paragraph)
            continue
        joined: list[str] = []
        for line in lines:
            if joined and not _LIST_ITEM.match(line):
                joined[-1] += " " + line.strip()
            else:
                joined.append(line.strip())
        out.append("\n".join(joined))
    return "\n\n".join(out)


# Any: typer builds its commands with its bundled click (typer._click), whose classes it does not
# export; the ones used here are `help`, `commands` and `main`, as in click.
def _reflow_all(command: Any) -> None:
    if command.help:
        command.help = reflowed(command.help)
    for sub in getattr(command, "commands", {}).values():
        _reflow_all(sub)


def cli_command() -> Any:
    """The click command typer builds from `app`, its help texts reflowed (`reflowed`)."""
    command = typer.main.get_command(app)
    _reflow_all(command)
    return command


def run_app(argv: list[str] | None = None) -> int:
    """Run the CLI and map user errors to exit code 2 with one line on stderr."""
    try:
        # numpy's RuntimeWarnings (overflow in exp, log of 0) name a source line of ours, not
        # the user's problem: the checks that follow them say that in one line, or the result
        # is shown as inf/nan where it is one. The library's own FitWarnings still show.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            # Without standalone mode click returns what a command returns, or the code of a
            # typer.Exit(n) raised inside it.
            code = cli_command().main(args=argv, prog_name=PROG, standalone_mode=False)
    except ScalingLabError as exc:
        print_error(str(exc))
        return 2
    except _ABORT:
        return 130  # raised by a command that said why (study run, demo: how to resume)
    except _EXIT as exc:
        return int(exc.exit_code)
    except _USAGE as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            # `scalinglab` or `scalinglab study` alone: the help, as --help gives it (typer's
            # rich formatter printed it already; plain click carries it as the message).
            if exc.format_message():
                console.print(exc.format_message(), markup=False, highlight=False)
            return 0
        print_error(_usage_message(exc))
        return 2
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except RecursionError:
        # only input nested thousands deep gets here (the readers refuse what they can name)
        print_error("the input is nested too deeply to read; simplify it")
        return 2
    if code == 130:  # typer turns Ctrl-C during a command into exit code 130
        err_console.print("interrupted")
    return code if isinstance(code, int) else 0
