"""`scalinglab suggest` (the next runs to train) and `scalinglab benchmark design` (the
budget-limited fitting benchmark): scalinglab.design.next_runs on the command line."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from scalinglab.cli.app import (
    DEFAULT_LEVEL,
    JsonOption,
    LevelOption,
    app,
    check_not_input,
    emit,
    fail,
    out_console,
)
from scalinglab.cli.benchmark import bench_app
from scalinglab.cli.formula import BoundsOption, LogOption, ObjectiveOption, StartsOption
from scalinglab.display import num
from scalinglab.errors import FitWarning

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from scalinglab.laws.base import ScalingLaw

CostOption = Annotated[
    str,
    typer.Option(
        "--cost",
        help="A run's cost from its columns, e.g. '6*params*tokens' (arithmetic only; parsed "
        "safely, never run as code).",
    ),
]


def run_costs(df: pd.DataFrame, text: str, source: str) -> np.ndarray:
    """--cost evaluated on every row of a table: finite and > 0, or one line naming the row."""
    import numpy as np

    from scalinglab.expr import evaluate_numeric

    cost = evaluate_numeric(df, text, "--cost")
    bad = ~(np.isfinite(cost) & (cost > 0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        fail(
            f"--cost {text!r} gives {cost[row]:g} for data row {row + 1} of {source}; every "
            "run's cost must be a finite number > 0"
        )
    return cost


def fitted_law(
    fit_file: Path | None,
    formula: str | None,
    y: str | None,
    runs: pd.DataFrame | None,
    runs_source: str = "--runs",
) -> tuple[ScalingLaw, list[str], str | None]:
    """(law, its X columns, its y column): from a fit file, or --formula fitted on --runs."""
    from scalinglab.cli.formula import formula_variables
    from scalinglab.design.next_runs import check_outcomes
    from scalinglab.design.suggest import table_columns
    from scalinglab.io import fit_variables, load_fit
    from scalinglab.laws.formula import FormulaLaw

    if fit_file is not None:
        law, doc = load_fit(fit_file)
        check_one_output(law, fit_file)
        y_name = doc.get("y")
        return law, fit_variables(law, doc), None if y_name is None else str(y_name)
    assert formula is not None and runs is not None and y is not None
    variables = formula_variables(formula, runs, y, None)
    law = FormulaLaw(formula, variables)
    # checked here, not left to the fit: the fit's message cannot name the file's row
    y_runs = table_columns(runs, [y], runs_source)[:, 0]
    y_runs = check_outcomes(law.objective, y_runs, y, runs_source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)  # in law.warnings_: shown with the runs
        law.fit(table_columns(runs, variables, runs_source), y_runs)
    return law, variables, y


def check_one_output(law: ScalingLaw, fit_file: Path) -> None:
    """Refuse a joint or grouped fit up front: the design models one law predicting one output,
    and would otherwise fail later on a column (the joint's output index, the group labels)
    that its candidates and targets do not hold as numbers."""
    from scalinglab.laws.formula import FormulaLaw
    from scalinglab.laws.joint import JointFormulaLaw

    if isinstance(law, JointFormulaLaw):
        fail(
            f"{fit_file} is a joint fit of {len(law.outputs)} outputs "
            f"({', '.join(law.outputs)}); suggest works on one law fitted to one output: fit "
            f"the output to plan for on its own (fit --formula ... --y {law.outputs[0]})"
        )
    if isinstance(law, FormulaLaw) and law.groups:
        fail(
            f"{fit_file} has parameters per {law.group_column} ({len(law.groups)} groups); "
            "suggest works on one law fitted to one output: refit one group, e.g. "
            f"fit --formula ... --where '{law.group_column} == \"{law.groups[0]}\"'"
        )


@app.command("suggest")
def suggest_command(
    fit_file: Annotated[
        Path | None, typer.Argument(help="A fit JSON (from `scalinglab fit ... --json`).")
    ] = None,
    candidates: Annotated[
        Path | None,
        typer.Option(help="CSV/Parquet of the runs one could train next (their inputs)."),
    ] = None,
    cost: CostOption = "",
    target: Annotated[
        Path | None, typer.Option(help="CSV/Parquet of the inputs whose prediction matters.")
    ] = None,
    runs: Annotated[
        Path | None,
        typer.Option(
            help="The runs done (the fit's table); lets the design learn where the law misfits. "
            "Needed with --formula."
        ),
    ] = None,
    formula: Annotated[
        str | None, typer.Option(help="Fit this formula to --runs instead of a fit file.")
    ] = None,
    y: Annotated[str | None, typer.Option(help="The column --runs measured (--formula).")] = None,
    n: Annotated[int, typer.Option("--n", min=1, help="How many runs to suggest.")] = 5,
    budget: Annotated[
        float | None, typer.Option(help="Total cost the suggested runs may spend.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the suggested runs (.csv).")] = None,
    level: LevelOption = DEFAULT_LEVEL,
    json_out: JsonOption = None,
) -> None:
    """The next runs to train: those that most shrink the target's interval per unit cost.

    Chosen one after another, each given those before it.

    Bayesian design on the fit, linearised, with a Gaussian-process model of where the law
    misfits when the runs done are given (scalinglab.design.next_runs).

    \b
    Examples:
      scalinglab suggest fit.json --runs done.csv --candidates pool.csv
        --cost "6*N*D" --target big.csv --n 5
      scalinglab suggest --formula "E + A/N**alpha + B/D**beta" --runs done.csv
        --y loss --candidates pool.csv --cost "6*N*D" --target big.csv
        --budget 1e21
    """
    import math

    from scalinglab.cli.ranges import points_note, x_range
    from scalinglab.design.suggest import suggest_runs, table_columns
    from scalinglab.io import read_table, write_table

    if (fit_file is None) == (formula is None):
        fail("give a fit file or --formula (with --runs and --y), not both and not neither")
    if fit_file is not None and y is not None:
        fail("--y goes with --formula; a fit file names its own y column")
    if formula is not None and (runs is None or y is None):
        fail("--formula needs the runs done (--runs TABLE) and the column they measured (--y)")
    if candidates is None or cost is None or target is None:
        named = {"--candidates POOL": candidates, "--cost EXPR": cost, "--target TABLE": target}
        fail(f"suggest needs {', '.join(k for k, v in named.items() if v is None)}")
    if budget is not None and not (math.isfinite(budget) and budget > 0):
        fail(f"--budget must be a number > 0, got {budget:g}")
    if out is not None and out.suffix.lower() != ".csv":
        fail(f"--out {out}: give a .csv file name")
    for option, path in (("--out", out), ("--json", json_out)):  # not over what it reads
        check_not_input(path, option, fit_file, candidates, target, runs)
    sources = {
        "candidates": f"{candidates} (--candidates)",
        "targets": f"{target} (--target)",
        "runs": f"{runs} (--runs)",
    }
    pool = read_table(candidates)
    costs = run_costs(pool, cost, sources["candidates"])  # a bad --cost fails before any fit
    targets = read_table(target)
    done = None if runs is None else read_table(runs)
    law, variables, y_name = fitted_law(fit_file, formula, y, done, sources["runs"])
    if done is not None and y_name is None:
        fail("the fit file names no y column; the runs done need one to learn from")
    suggestion = suggest_runs(
        law, pool, costs, targets, runs=done, y=y_name, variables=variables, n=n,
        budget=budget, level=level, sources=sources,
    )  # fmt: skip
    design, chosen, outside = suggestion.design, suggestion.runs, suggestion.outside
    discrepancy = suggestion.discrepancy
    beyond = None  # how far the targets lie past the runs done
    if done is not None:
        beyond = points_note(
            {"x_range": x_range(variables, table_columns(done, variables, sources["runs"]))},
            variables, table_columns(targets, variables, sources["targets"]),
            prefix="the targets lie beyond the runs done",
        )  # fmt: skip
    if out is not None:
        write_table(chosen, out)
    # a fit file's warnings were shown when it was fitted; --formula's fit is this command's
    fit_warnings = list(law.warnings_) if formula is not None else []
    payload: dict[str, Any] = {
        "law": law.name,
        "target_rows": len(targets),
        "level": level,
        "width_before": design.width_before,
        "residual_sd": design.residual_sd,
        "discrepancy": None if discrepancy is None else vars(discrepancy),
        "candidates_outside_shape_range": outside,
        "targets_beyond_runs": beyond,
        "runs": chosen.to_dict(orient="records"),
        "fit_warnings": fit_warnings,
    }
    console = out_console(json_out)
    emit(
        payload, json_out,
        lambda: _print_design(
            console, design, chosen, variables, level, law.objective, outside, beyond,
            fit_warnings,
        ),
    )  # fmt: skip


def _print_design(
    console: Any, design: Any, chosen: pd.DataFrame, variables: list[str], level: float,
    objective: str, outside: int, beyond: str | None, fit_warnings: list[str],
) -> None:  # fmt: skip
    from rich.table import Table

    relative = objective != "ls_linear"
    unit = "relative " if relative else ""

    def width(value: float) -> str:
        return num(100 * value, ".1f") + "%" if relative else num(value, ".4g")

    console.print(
        f"target's {level:.0%} interval ({unit}width, mean over the target rows): "
        f"{width(design.width_before)} now"
    )
    table = Table(title="suggested runs, in order", title_justify="left")
    for col in ("#", *variables, "cost", "cumulative", "width after", "error cut", "pins"):
        table.add_column(col, justify="left" if col == "pins" else "right")
    for rec in chosen.to_dict(orient="records"):
        table.add_row(
            str(rec["rank"]), *(num(rec[v], ".3g") for v in variables), num(rec["cost"], ".3g"),
            num(rec["cumulative_cost"], ".3g"), width(rec["target_width_after"]),
            num(100 * rec["error_cut"], ".0f") + "%", str(rec["informs"]),
        )  # fmt: skip
    console.print(table)
    if outside:
        console.print(
            f"left out {outside} candidate(s) of a more extreme shape than the targets and the "
            "runs done (farther from the line scaling the runs up to the targets): the law "
            "would be extrapolated sideways there"
        )
    if beyond is not None:
        console.print(f"note: {escape(beyond)}")
    for message in fit_warnings:
        console.print(f"[yellow]warning:[/] {escape(message)}")


@bench_app.command("design")
def design_benchmark_command(
    train: Annotated[Path, typer.Argument(help="The pool of runs one may pick (CSV/Parquet).")],
    test: Annotated[Path, typer.Argument(help="The runs the fit is scored on (CSV/Parquet).")],
    formula: Annotated[str, typer.Option(help="The law, e.g. 'E + A/N**alpha + B/D**beta'.")],
    y: Annotated[str, typer.Option(help="The column the law predicts.")],
    cost: CostOption,
    group: Annotated[
        str | None, typer.Option(help="A column whose groups get their own parameters.")
    ] = None,
    budgets: Annotated[
        str, typer.Option(help="Budget fractions of the pool's total cost, comma-separated.")
    ] = "0.01,0.05,0.1",
    repeats: Annotated[
        int, typer.Option(min=1, max=1000, help="Repeats of each random method (1 to 1,000).")
    ] = 10,
    seed: Annotated[
        int, typer.Option("--repeats-seed", min=0, help="Seed of the random repeats.")
    ] = 0,
    objective: ObjectiveOption = "huber",
    bounds: BoundsOption = None,
    log: LogOption = None,
    starts: StartsOption = None,
    json_out: JsonOption = None,
) -> None:
    """Budget-limited run selection benchmark (Li et al. 2026): random, cheapest, design.

    Each method picks runs from TRAIN until it has spent a fraction of their total cost, the
    formula is fitted on them, and R² (clipped to [−1, 1]) is measured on TEST. Methods: random,
    cheapest-first and design (ours: `suggest` in rounds, aimed at TEST's inputs; its outcomes
    are only scored).

    \b
    Example:
      scalinglab benchmark design chinchilla_train.csv chinchilla_test.csv
        --formula "E + A/N**alpha + B/D**beta" --y loss --cost "6*N*D"
        --repeats 10

    --objective, --bounds, --log and --starts are those of `fit --formula`: every method's
    fits use them.
    """
    import math

    from rich.progress import Progress

    from scalinglab.cli.formula import formula_options, formula_variables
    from scalinglab.design.budget_benchmark import (
        METHODS,
        Pool,
        check_budgets,
        check_test_spread,
        run_benchmark,
    )
    from scalinglab.design.next_runs import check_outcomes
    from scalinglab.design.suggest import table_columns
    from scalinglab.errors import ScalingLabError
    from scalinglab.io import read_table
    from scalinglab.laws.base import OBJECTIVES
    from scalinglab.laws.formula import FormulaLaw

    try:
        fractions = [float(b) for b in budgets.split(",") if b.strip()]
    except ValueError:
        fail(f"--budgets takes fractions such as 0.01,0.05,0.1, got {budgets!r}")
    if not fractions or not all(math.isfinite(b) and 0 < b <= 1 for b in fractions):
        fail(f"--budgets takes fractions in (0, 1] such as 0.01,0.05,0.1, got {budgets!r}")
    if objective not in OBJECTIVES:
        fail(f"--objective {objective!r} is not one of {', '.join(OBJECTIVES)}")
    train_df, test_df = read_table(train), read_table(test)
    variables = formula_variables(formula, train_df, y, group)
    X = table_columns(train_df, variables, str(train))
    X_test = table_columns(test_df, variables, str(test))
    options = formula_options({"objective": objective}, bounds or [], log or [], starts)
    if group is not None:
        for df, source in ((train_df, train), (test_df, test)):
            if group not in df.columns:
                fail(f"{source} has no column {group!r} (--group)")
        labels = sorted(set(train_df[group].astype(str)))
        probe = FormulaLaw(formula, variables, groups=labels, group_column=group)
        unseen = sorted(set(test_df[group].astype(str)) - set(labels))
        if unseen:
            fail(f"{test} has group {unseen[0]!r}, which {train} does not have")
        X = _with_codes(X, probe.group_codes(train_df[group].astype(str).tolist()))
        X_test = _with_codes(X_test, probe.group_codes(test_df[group].astype(str).tolist()))
        options |= {"groups": labels, "group_column": group}
    y_test = table_columns(test_df, [y], str(test))[:, 0]
    check_test_spread(y_test, str(test))  # before any fitting: R² is undefined without spread
    pool = Pool(
        X=X, y=table_columns(train_df, [y], str(train))[:, 0],
        cost=run_costs(train_df, cost, str(train)), X_test=X_test, y_test=y_test,
    )  # fmt: skip
    probe = FormulaLaw(formula, variables, **options)  # a bad formula fails here, before work
    # e.g. a loss <= 0 under a log objective, named by its file and data row
    check_outcomes(probe.objective, pool.y, y, str(train))
    check_outcomes(probe.objective, pool.y_test, y, str(test))
    n_free = len(probe.free_params())
    if len(pool.y) <= n_free:
        fail(
            f"{train} has {len(pool.y)} runs for a law with {n_free} free parameters; a method "
            "needs more runs to pick from than the law has parameters"
        )
    try:  # once each (a repeat is the same column, run again), and each buying a run
        fractions = check_budgets(pool, fractions, str(train))
    except ScalingLabError as exc:
        fail(f"--budgets: {exc}")

    def make_law() -> FormulaLaw:
        return FormulaLaw(formula, variables, **options)

    total = len(fractions) * (1 + 2 * repeats)
    console = out_console(json_out)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("picking and fitting", total=total)
        result = run_benchmark(
            make_law, pool, fractions, repeats=repeats, seed=seed,
            progress=lambda: progress.advance(task),
        )  # fmt: skip

    def render() -> None:
        from rich.table import Table

        console.print(
            f"test R² (clipped to [−1, 1]): mean ± its standard error over {repeats} repeats; "
            "cheapest-first is deterministic",
            highlight=False,
        )
        table = Table()
        table.add_column("method")
        for b in fractions:
            # 3 significant digits: a whole percent would show 0.1% (or less) as 0%
            table.add_column(f"{100 * b:.3g}% budget", justify="right")
        methods: dict[str, Any] = result["methods"]  # type: ignore[assignment]
        for name in METHODS:
            cells = []
            for b in fractions:
                mean, se = methods[name]["r2"][f"{b:g}"], methods[name]["r2_se"][f"{b:g}"]
                cells.append(num(mean, ".3f") + (f" ± {num(se, '.3f')}" if se > 0 else ""))
            table.add_row(name, *cells)
        all_data = num(float(result["all_data_r2"]), ".3f")  # type: ignore[arg-type]
        table.add_row("all of TRAIN", *[all_data] * len(fractions))
        console.print(table)
        short = underdetermined_note(methods, fractions, repeats, n_free)
        if short is not None:
            console.print(f"note: {short}", highlight=False)

    emit(result, json_out, render)


def underdetermined_note(
    methods: dict[str, Any], fractions: list[float], repeats: int, n_free: int
) -> str | None:
    """Where a method picked fewer runs than the law's free parameters (its R² is −1 by the
    benchmark's definition, the fit being underdetermined): each method and budget, in how
    many of its repeats. None when it never did."""
    from scalinglab.design.budget_benchmark import METHODS

    where = []
    for name in METHODS:
        for b in fractions:
            count = methods[name]["underdetermined"][f"{b:g}"]
            if count:
                of = "" if name == "cheapest" else f" in {count} of {repeats} repeats"
                where.append(f"{name} at {100 * b:.3g}% budget{of}")
    if not where:
        return None
    return (
        f"R² is −1 where the runs picked were fewer than the law's {n_free} free parameters "
        f"(an underdetermined fit): {', '.join(where)}"
    )


def _with_codes(X: np.ndarray, codes: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.column_stack([X, codes])
