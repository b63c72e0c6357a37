"""`scalinglab isoflop`: N_opt ∝ C^a and D_opt ∝ C^b from raw runs (Hoffmann 2022, Approaches 1
and 2). A thin command over scalinglab.planning.isoflop_analysis and envelope_analysis."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from scalinglab.cli.app import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_LEVEL,
    DEFAULT_SEED,
    BootstrapOption,
    JsonOption,
    LevelOption,
    SeedOption,
    app,
    fail,
    flag_names,
    out_console,
)
from scalinglab.cli.tables import show, titled
from scalinglab.display import num, span

# scalinglab.planning and .io import torch, scipy and pandas: imported inside the command.
if TYPE_CHECKING:
    from scalinglab.planning.lines import PowerLawLine

# Library errors name API parameters; `isoflop` shows its own flags instead.
FLAGS = {"rel_tol": "--budget-tolerance"}


def _line_row(name: str, line: PowerLawLine) -> list[str]:
    return [
        name,
        num(line.exponent, ".4f"),
        num(line.exponent_stderr),
        span(line.exponent_interval),
        num(line.coef),
    ]


@app.command("isoflop")
def isoflop_command(
    runs: Annotated[Path, typer.Argument(help="CSV or Parquet file, one row per run.")],
    params: Annotated[str, typer.Option(help="Column of model sizes N.")] = "params",
    tokens: Annotated[
        str | None, typer.Option(help="Column of training tokens D (default: 'tokens' if any).")
    ] = None,
    flops_col: Annotated[
        str | None,
        typer.Option("--flops", help="Column of FLOPs C (default: 'flops', else k·N·D)."),
    ] = None,
    loss: Annotated[str, typer.Option(help="Column of final (or recorded) loss.")] = "loss",
    where: Annotated[
        str | None, typer.Option(help='Condition on columns to keep rows, e.g. "params > 1e8".')
    ] = None,
    method: Annotated[
        str, typer.Option(help="isoflop (Approach 2) or envelope (Approach 1).")
    ] = "isoflop",
    run: Annotated[
        str | None, typer.Option(help="Run id column for --method envelope (default: N).")
    ] = None,
    budget_tolerance: Annotated[
        float, typer.Option(help="Runs within this relative FLOPs difference share a budget.")
    ] = 0.05,
    bootstrap: BootstrapOption = DEFAULT_BOOTSTRAP,
    seed: SeedOption = DEFAULT_SEED,
    level: LevelOption = DEFAULT_LEVEL,
    flops_per_param_token: Annotated[
        float, typer.Option(help="k in C = k·N·D when there is no FLOPs column.")
    ] = 6.0,
    json_out: JsonOption = None,
) -> None:
    """Fit N_opt ∝ C^a and D_opt ∝ C^b from raw runs (Hoffmann 2022, Approaches 1 and 2).

    \b
    Examples:
      scalinglab isoflop runs.csv --params params --tokens tokens --flops flops
        --loss loss
      scalinglab isoflop runs.csv --bootstrap 2000 --json isoflop.json
      scalinglab isoflop curves.csv --method envelope --run run_id
    """
    from scalinglab.io import numeric_columns, read_table
    from scalinglab.planning import FlopModel, envelope_analysis, isoflop_analysis

    if method not in ("isoflop", "envelope"):
        fail(f"--method must be isoflop or envelope, got {method!r}")
    if not (math.isfinite(flops_per_param_token) and flops_per_param_token > 0):
        fail(f"--flops-per-param-token must be > 0, got {flops_per_param_token}")
    if run is not None and method != "envelope":
        fail("--run only applies with --method envelope")
    # N, D and loss are different quantities: one column for two is a typo. (--flops is left
    # out: a FLOPs column reused as N already fails in the fit with its own message.)
    seen: dict[str, str] = {}  # column -> the flag that named it first
    for flag, column in (("--params", params), ("--tokens", tokens), ("--loss", loss)):
        if column is None:
            continue
        if column in seen:
            fail(f"{seen[column]} and {flag} both name column {column!r}; give each its own column")
        seen[column] = flag
    df = read_table(runs, where=where)
    source = str(runs)
    tok_col = tokens if tokens is not None else ("tokens" if "tokens" in df.columns else None)
    c_col = flops_col if flops_col is not None else ("flops" if "flops" in df.columns else None)
    if tok_col is None and c_col is None:
        fail(f"{source} needs a FLOPs column (--flops) or a tokens column (--tokens)")
    n_arr = numeric_columns(df, [params], source=source)[:, 0]
    y_arr = numeric_columns(df, [loss], source=source)[:, 0]
    d_arr = None if tok_col is None else numeric_columns(df, [tok_col], source=source)[:, 0]
    c_arr = None if c_col is None else numeric_columns(df, [c_col], source=source)[:, 0]
    flops = FlopModel(k=flops_per_param_token)
    title_runs = f"{len(df)} runs from {source}"
    say = out_console(json_out)
    items: list[Any]
    if method == "isoflop":
        with say.status("fitting IsoFLOP parabolas..."), flag_names(FLAGS):
            res = isoflop_analysis(
                n_arr,
                y_arr,
                compute=c_arr,
                tokens=d_arr,
                flops=flops,
                rel_tol=budget_tolerance,
                n_bootstrap=bootstrap,
                level=level,
                random_state=seed,
            )
        per = Table()
        for col in ("budget (FLOPs)", "runs", "N_opt", "D_opt", "loss at N_opt", "note"):
            per.add_column(col, justify="left" if col == "note" else "right")
        for rec in res.budgets.to_dict(orient="records"):
            per.add_row(
                num(rec["compute"]),
                str(rec["n_runs"]),
                num(rec["n_opt"]),
                num(rec["d_opt"]),
                num(rec["loss_opt"]),
                rec["note"],
            )
        title = f"IsoFLOP profiles (Hoffmann 2022, Approach 2): {title_runs}"
        items = [titled(title, per)]
        left_out = res.budgets.loc[~res.budgets["used"], "note"].value_counts()
        if len(left_out):
            reasons = "; ".join(f"{count} with {note}" for note, count in left_out.items())
            items.append(f"[yellow]budgets left out of the fit:[/] {reasons}")
        payload = res.to_dict()
        res_lines = (res.n_line, res.d_line)
    else:
        run_arr = None
        if run is not None:
            if run not in df.columns:
                fail(f"{source} has no column {run!r}; its columns are: {', '.join(df.columns)}")
            run_arr = df[run].to_numpy()
        with say.status("building the loss envelope..."):
            env = envelope_analysis(
                n_arr,
                y_arr,
                compute=c_arr,
                tokens=d_arr,
                run=run_arr,
                flops=flops,
                n_bootstrap=bootstrap,
                level=level,
                random_state=seed,
            )
        items = [
            f"loss envelope (Hoffmann 2022, Approach 1): {title_runs}, "
            f"{len(env.points)} envelope points"
        ]
        payload = env.to_dict()
        res_lines = (env.n_line, env.d_line)
    lines = Table()
    for col in ("fit", "exponent", "stderr", f"{level:.0%} interval", "coefficient"):
        lines.add_column(col, justify="right", no_wrap=True)
    lines.add_row(*_line_row("N_opt ∝ C^a", res_lines[0]))
    lines.add_row(*_line_row("D_opt ∝ C^b", res_lines[1]))
    how = {
        "bootstrap": f"errors from {bootstrap} bootstrap resamples of the runs",
        "ols": "least-squares errors on the optima, optimistic",
    }[res_lines[0].source]
    items.append(titled(f"compute-optimal scaling ({how})", lines))
    payload["runs_file"] = source
    show(payload, json_out, items)
