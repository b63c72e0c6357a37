"""A command line that behaves the same everywhere (issue 14): every command's `--help` lists the
shared options with the same spelling, help and default, and `--json -` puts the JSON alone on
stdout, whatever the command."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import typer

from scalinglab.cli import app
from scalinglab.cli.app import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_LEVEL,
    DEFAULT_SEED,
    check_out_file,
    reflowed,
    run_app,
    write_json,
)
from scalinglab.errors import ScalingLabError
from tests.report.tiny_study import TINY_TOML

# The commands that fit something, and so take --bootstrap, --seed and --level.
FITTING = ("fit", "isoflop", "study fit", "report", "demo")
SHARED = {"--bootstrap": DEFAULT_BOOTSTRAP, "--seed": DEFAULT_SEED, "--level": DEFAULT_LEVEL}


def _commands() -> dict[str, Any]:
    """Every leaf command of the CLI ('study fit', 'plan', ...) as its click command."""
    found: dict[str, Any] = {}

    def walk(command: Any, path: tuple[str, ...]) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, (*path, name))
        else:
            found[" ".join(path)] = command

    walk(typer.main.get_command(app), ())
    return found


COMMANDS = _commands()


def _options(name: str) -> dict[str, tuple[Any, tuple[str, str] | None]]:
    """The command's options by flag: (default, the line --help prints for it)."""
    command = COMMANDS[name]
    ctx = command.context_class(command, info_name=name)
    return {
        param.opts[0]: (param.default, param.get_help_record(ctx))
        for param in command.params
        if param.opts[0].startswith("--")
    }


def test_the_defaults_are_the_library_s() -> None:
    from scalinglab.study.fit import DEFAULT_BOOTSTRAP as STUDY_BOOTSTRAP
    from scalinglab.study.fit import DEFAULT_LEVEL as STUDY_LEVEL
    from scalinglab.study.fit import DEFAULT_SEED as STUDY_SEED

    assert (DEFAULT_BOOTSTRAP, DEFAULT_LEVEL, DEFAULT_SEED) == (STUDY_BOOTSTRAP, STUDY_LEVEL, 0)
    assert STUDY_SEED == DEFAULT_SEED


def test_every_command_writes_json() -> None:
    """--json PATH|- on every command, spelled and explained the same way."""
    assert set(FITTING) <= set(COMMANDS)
    records = {name: _options(name).get("--json") for name in COMMANDS}
    missing = sorted(name for name, record in records.items() if record is None)
    assert not missing, f"commands without --json: {missing}"
    assert len({json.dumps(r) for r in records.values()}) == 1, records


@pytest.mark.parametrize(
    ("name", "flag"),
    [pytest.param(name, flag, id=f"{name} {flag}") for name in FITTING for flag in SHARED],
)
def test_every_fitting_command_lists_the_shared_options(name: str, flag: str) -> None:
    assert flag in _options(name), f"`{name} --help` does not list {flag}"


@pytest.mark.parametrize("flag", list(SHARED))
def test_a_shared_option_is_the_same_wherever_it_appears(flag: str) -> None:
    """Same default, same help line (which shows the default) on every command that has it."""
    seen = {name: _options(name)[flag] for name in COMMANDS if flag in _options(name)}
    assert seen, flag
    for name, (default, record) in seen.items():
        assert default == SHARED[flag], f"{name} {flag} defaults to {default}"
        assert record is not None and f"default: {SHARED[flag]}" in record[1], (name, record)
    assert len({json.dumps(record) for _, record in seen.values()}) == 1, seen


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ("fit curve.csv --x x --y y --level 1", "Invalid value for '--level'"),
        ("fit curve.csv --x x --y y --level nan", "Invalid value for '--level'"),
        ("predict fit.json --at x=1 --level 0", "Invalid value for '--level'"),
        ("plan fit.json --target-error 0.1 --level 2", "Invalid value for '--level'"),
        ("isoflop iso.csv --level -1", "Invalid value for '--level'"),
        ("study fit x --level 1.5", "Invalid value for '--level'"),
        ("report fit.json --level 0", "Invalid value for '--level'"),
        ("demo --level 1", "Invalid value for '--level'"),
        ("fit curve.csv --x x --y y --bootstrap -1", "Invalid value for '--bootstrap'"),
        ("isoflop iso.csv --bootstrap -1", "Invalid value for '--bootstrap'"),
        ("fit curve.csv --x x --y y --seed -1", "Invalid value for '--seed'"),
        ("isoflop iso.csv --seed -1", "Invalid value for '--seed'"),
        ("study fit x --seed -1", "Invalid value for '--seed'"),
        ("report fit.json --seed -1", "Invalid value for '--seed'"),
        ("demo --seed -1", "Invalid value for '--seed'"),
    ],
)
def test_shared_options_are_checked_the_same_way(
    args: str, needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before any work: the files named need not even exist."""
    assert run_app(args.split()) == 2
    assert needle in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_checks_its_json_path_as_it_reads_the_line(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --json that cannot be written fails before any work, before even the command's
    arguments are read: once it failed after the training or the fit, `Is a directory`, or
    `File exists` for a path through a file."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    cases = {
        tmp_path: f"--json {tmp_path} is a directory; give a file name, e.g. {tmp_path}/result",
        afile / "x.json": f"--json {afile}/x.json: {afile} is a file, not a directory",
        afile / "sub" / "x.json": f"--json {afile}/sub/x.json: {afile} is a file, not a dir",
    }
    for path, needle in cases.items():
        assert run_app([*name.split(), "--json", str(path)]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and err.count("\n") == 1 and needle in err, err


def test_a_json_path_in_new_directories_is_created(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = files / "new" / "sub" / "laws.json"
    assert run_app(["laws", "--json", str(out)]) == 0
    assert json.loads(out.read_text()) and "JSON written to" in capsys.readouterr().out


def test_write_json_names_the_file_in_the_way(tmp_path: Path) -> None:
    """Written after the work (the path checked before may have changed since): mkdir's
    `File exists` named no file."""
    (tmp_path / "afile").write_text("x")
    for path in (tmp_path / "afile" / "x.json", tmp_path / "afile" / "sub" / "x.json"):
        with pytest.raises(ScalingLabError) as err:
            write_json(path, {})
        assert str(err.value) == f"cannot write {path}: {tmp_path}/afile is a file, not a directory"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in a read-only directory")
def test_an_output_path_in_a_read_only_directory_fails_first(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(ScalingLabError, match=f"{locked} is not writable; give a path"):
            check_out_file(locked / "sub" / "x.json", "--json", "result.json")
    finally:
        locked.chmod(0o700)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("json")
    m = np.geomspace(1e2, 1e6, 10)
    pd.DataFrame({"x": m, "y": 4 * m**-0.35 + 0.05}).to_csv(d / "curve.csv", index=False)
    rows = []
    for c in np.geomspace(6e18, 3e21, 6):
        for size in 0.6 * (c / 6) ** 0.5 * np.geomspace(0.2, 5, 7):
            tok = c / (6 * size)
            rows.append((size, tok, c, 1.69 + 406 * size**-0.34 + 411 * tok**-0.28))
    pd.DataFrame(rows, columns=["params", "tokens", "flops", "loss"]).to_csv(
        d / "iso.csv", index=False
    )
    return d


def _json_alone(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code = run_app(argv)
    out = capsys.readouterr().out
    assert code == 0, argv
    doc: dict[str, Any] = json.loads(out)  # fails on any table or note around the JSON
    return doc


def test_json_to_stdout_is_json_alone(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    curve, iso = str(files / "curve.csv"), str(files / "iso.csv")
    fit = files / "fit.json"
    assert run_app(["fit", curve, "--x", "x", "--y", "y", "--json", str(fit)]) == 0
    assert "JSON written to" in capsys.readouterr().out  # the tables, then where the JSON went
    doc = _json_alone(
        ["fit", curve, "--x", "x", "--y", "y", "--level", "0.8", "--json", "-"], capsys
    )
    assert doc["ci_level"] == 0.8 and doc["options"]["n_bootstrap"] == DEFAULT_BOOTSTRAP
    _json_alone(["predict", str(fit), "--at", "x=1e7", "--json", "-"], capsys)
    _json_alone(["laws", "--json", "-"], capsys)
    _json_alone(["plan", str(fit), "--target-error", "0.1", "--json", "-"], capsys)
    _json_alone(["isoflop", iso, "--bootstrap", "20", "--json", "-"], capsys)


def test_study_commands_json_to_stdout_is_json_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`study run --json -` used to print its tables into the JSON."""
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_TOML)
    storage = f"sqlite:///{tmp_path / 'tiny.db'}"
    s = ["--storage", storage]
    run = _json_alone(["study", "run", str(config), *s, "--no-progress", "--json", "-"], capsys)
    assert run["state"] == "finished"
    _json_alone(["study", "status", "tiny-report", *s, "--json", "-"], capsys)
    out = str(tmp_path / "export.csv")
    _json_alone(["study", "export", "tiny-report", *s, "--out", out, "--json", "-"], capsys)
    doc = _json_alone(
        ["study", "fit", "tiny-report", *s, "--bootstrap", "20", "--level", "0.8", "--json", "-"],
        capsys,
    )
    assert doc["level"] == 0.8


def test_reflowed_joins_prose_and_keeps_examples_and_lists() -> None:
    text = """Summary line.

    One paragraph of prose
    written over three
    source lines.

    - an item that goes
      on; and
    - a second item

    \b
    Examples:
      scalinglab fit a.csv
        --law auto
    """
    first, prose, items, examples = reflowed(text).split("\n\n")
    assert first == "Summary line."
    assert prose == "One paragraph of prose written over three source lines."
    assert items == "- an item that goes on; and\n- a second item"
    assert examples == "\b\nExamples:\n  scalinglab fit a.csv\n    --law auto"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_prose_is_wrapped_by_the_terminal_not_the_source(
    name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On an 80-column terminal a prose paragraph fills its lines: no line of one ends short
    (under 50 characters) with the paragraph going on on the next (the source's line breaks
    kept, then wrapped again, made such lines). Prose is printed one space in; blocks kept as
    written (examples, tables) are indented further and not checked."""
    monkeypatch.setenv("COLUMNS", "80")
    assert run_app([*name.split(), "--help"]) == 0
    help_text = capsys.readouterr().out.split("╭")[0]  # the text above the option panels
    lines = [line.rstrip() for line in help_text.splitlines()[3:]]  # after the usage line

    def prose(line: str) -> bool:
        return line.startswith(" ") and not line.startswith("  ") and bool(line.strip())

    for line, after in itertools.pairwise(lines):
        if prose(line) and prose(after):
            assert len(line) >= 50, f"`{name} --help`: a ragged line {line!r} before {after!r}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_blocks_fit_an_80_column_terminal(
    name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The blocks --help prints as written (examples, lists of domains) are not wrapped on an
    80-column terminal: each of their lines fits, so a command is never cut in two with its
    tail at the left margin, where it reads as a new command."""
    monkeypatch.setenv("COLUMNS", "80")
    assert run_app([*name.split(), "--help"]) == 0
    written = capsys.readouterr().out.split("╭")[0].splitlines()[3:]
    doc = COMMANDS[name].callback.__doc__ or ""
    kept = [
        line.strip()
        for block in doc.split("\b")[1:]
        for line in block.split("\n\n")[0].splitlines()
    ]
    for line in filter(None, kept):
        assert any(w.strip() == line for w in written), f"`{name} --help` wraps {line!r}"
