"""`scalinglab report SOURCE --out DIR`: one self-contained HTML page of a study, a results table
or fit files, with the plots people read."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scalinglab.cli.app import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_LEVEL,
    DEFAULT_SEED,
    BootstrapOption,
    JsonOption,
    LevelOption,
    SeedOption,
    app,
    check_out_dir,
    console,
    emit,
    fail,
    flag_names,
    out_console,
)

TARGET_FLAG = {"target applies": "--target applies"}  # build_report: no shard sizes to predict at


@app.command("report")
def report_command(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="A study name (with --storage), a results table (.csv/.parquet) or fit JSON "
            "files (from `fit --json` or `study fit --json`).",
            show_default=False,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for index.html.")] = Path(
        "report"
    ),
    storage: Annotated[
        str | None,
        typer.Option(help="Storage URL of the study (default: runs/NAME.db)."),
    ] = None,
    where: Annotated[
        str | None,
        typer.Option(help='Condition on columns to keep table rows, e.g. "epoch_outlier == 0".'),
    ] = None,
    y: Annotated[
        str,
        typer.Option(
            "--y", help="Learning-curve column of a study: best_val_loss, best_val_error or auto."
        ),
    ] = "auto",
    target: Annotated[
        float | None,
        typer.Option(
            help="A study's (or its results table's) shard size (examples) to predict at, as "
            "`study fit --target`: auto backtests at that distance (default: 10x the largest "
            "shard)."
        ),
    ] = None,
    bootstrap: BootstrapOption = DEFAULT_BOOTSTRAP,
    seed: SeedOption = DEFAULT_SEED,
    level: LevelOption = DEFAULT_LEVEL,
    json_out: JsonOption = None,
) -> None:
    """Write an HTML report (DIR/index.html) of studies and fit files.

    Setup, fitted parameters with intervals, exponents next to the published ones, plots (PNG
    embedded, SVG beside), the plan, and commands to reproduce.

    \b
    Examples:
      scalinglab report synthetic-demo --out runs/synthetic-report
      scalinglab report big --storage postgresql://me@db/studies --out report/
      scalinglab report results.csv --out report/       # `study export` table
      scalinglab report synthetic-demo --target 1e6 --out report/
      scalinglab report ../shared/data/chinchilla_besiroglu2024.csv \\
          --where "epoch_outlier == 0" --out chinchilla/
      scalinglab report curve.json chinchilla.json --out fits/
    """
    import optuna

    from scalinglab.cli.study import check_curve_y, check_target
    from scalinglab.report import build_report

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    check_out_dir(out, "--out")
    check_curve_y(y)
    check_target(target)
    # the library's error names its parameter; the command's, the flag
    with out_console(json_out).status("fitting and plotting..."), flag_names(TARGET_FLAG):
        try:
            built = build_report(
                sources,
                out,
                storage=storage,
                where=where,
                y=y,
                n_bootstrap=bootstrap,
                level=level,
                seed=seed,
                target=target,
            )
        except OSError as exc:  # the inputs are read before anything is written
            fail(f"cannot write the report to {out}: {exc.strerror or exc}")
    headline = {k: v for k, v in built.report.headline.items() if k != "cards"}
    cards = built.report.headline.get("cards", [])
    if cards:  # the page's headline figures, e.g. a fit file's a in N_opt ∝ C^a (a list: two
        # sources may share a label, as fit files of one name in two directories do)
        headline["cards"] = [{"label": label, "value": value} for label, value in cards]

    def render() -> None:
        for label, value in cards:
            console.print(f"  {value:>10}  {label}", markup=False, highlight=False)
        console.print(
            f"report written to {built.path.resolve()}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )

    emit({"path": str(built.path), "kind": built.kind, **headline}, json_out, render)
