"""`scalinglab benchmark ...`: accuracy benchmarks on public reference data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from scalinglab.cli.app import JsonOption, app, console, emit, fail, out_console
from scalinglab.display import num

# The estimators besides auto, for the --laws default in the help text: a literal, because
# scalinglab.selection.extrapolation (which defines them as ESTIMATORS) imports torch and pandas,
# too slow for `scalinglab --help`. tests/cli/test_startup.py checks the two agree.
DEFAULT_ESTIMATORS = ("m1", "m2", "m3", "m4", "bnsl1", "bnsl2", "power_const")

bench_app = typer.Typer(help="Accuracy benchmarks on public reference data.", no_args_is_help=True)
app.add_typer(bench_app, name="benchmark")


def print_benchmark(result: dict[str, Any]) -> None:
    """The per-evaluation RMSE table (winners in bold) and the per-estimator summary."""
    from scalinglab.selection import extrapolation

    names = list(result["estimators"])
    table = Table(
        title="RMSE of log(predicted) − log(actual) on held-out points (lower is better)",
        title_justify="left",
    )
    for col in ("domain", "task", "model"):
        table.add_column(col)
    for name in names:
        table.add_column(name, justify="right")
    table.add_column("auto chose")
    for ev in result["evaluations"]:
        best = set(extrapolation.winners(ev["rmse"]))
        cells = [
            f"[bold]{num(ev['rmse'][n], '.4f')}[/]" if n in best else num(ev["rmse"][n], ".4f")
            for n in names
        ]
        labels = (escape(str(ev[k])) for k in ("domain", "task", "model"))
        table.add_row(*labels, *cells, ev["auto_choice"])
    console.print(table)
    summary = Table(title="per estimator", title_justify="left")
    for col in ("estimator", "median RMSE", "win rate", "90% coverage", "points"):
        summary.add_column(col, justify="left" if col == "estimator" else "right")
    for name in names:
        est = result["estimators"][name]
        summary.add_row(
            name,
            num(est["median_rmse"], ".4f"),
            num(est["win_rate"], ".0%"),
            num(est["coverage90"], ".1%"),
            f"{est['n_intervals']}/{est['n_points']}",
        )
    console.print(summary)
    console.print(result["summary"])


@bench_app.command("extrapolation")
def extrapolation_command(
    data: Annotated[
        Path,
        typer.Argument(
            help="CSV/Parquet with columns Domain, Task, Model, Seen Examples, Loss, Training."
        ),
    ],
    json_out: JsonOption = None,
    workers: Annotated[int, typer.Option(help="Worker processes (one evaluation each).")] = 1,
    laws: Annotated[
        str,
        typer.Option(help="Comma-separated estimators besides auto (bnslK: BNSL with K breaks)."),
    ] = ",".join(DEFAULT_ESTIMATORS),
) -> None:
    """Learning-curve extrapolation benchmark (Alabdulmohsin et al. 2022, Sec. 4).

    Per evaluation: fit on Training == 1, predict Training == 0, RMSE of log prediction for
    M1-M4, BNSL (1 and 2 breaks), power_const and auto; then median RMSE, win rate and 90%
    interval coverage per estimator.

    \b
    Examples:
      scalinglab benchmark extrapolation
        ../shared/data/alabdulmohsin2022_lang.csv
      scalinglab benchmark extrapolation lang.csv --json results.json --workers 2
    """
    from scalinglab.cli.selection import parse_candidates
    from scalinglab.io import read_table
    from scalinglab.selection import extrapolation
    from scalinglab.selection.backtest import candidate

    if workers < 1:
        fail("--workers must be >= 1")
    if "auto" in [s.strip() for s in laws.split(",")]:
        fail("--laws takes one or more law names (auto is always included)")
    labels = parse_candidates(laws, "--laws") or ()
    candidates = [candidate(label) for label in labels]
    table = read_table(data)
    curves = extrapolation.load_curves(table, source=str(data))
    say = out_console(json_out)
    done = 0

    def progress(ev: dict[str, Any]) -> None:
        nonlocal done
        done += 1
        what = escape(f"{ev['domain']} {ev['task']} {ev['model']}")
        say.print(
            f"[{done}/{len(curves)}] {what}: "
            f"auto chose {ev['auto_choice']} ({ev['seconds']:.0f} s)",
            highlight=False,
        )

    result = extrapolation.run_benchmark(
        table, source=str(data), workers=workers, candidates=candidates, progress=progress
    )
    emit(result, json_out, lambda: print_benchmark(result))
