"""`scalinglab fit`, `scalinglab predict` and `scalinglab laws`: fit a law to a table, use a fit."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
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
    check_not_input,
    console,
    emit,
    fail,
    flag_names,
    out_console,
)
from scalinglab.cli.formula import BoundsOption, LogOption, ObjectiveOption, StartsOption
from scalinglab.display import num, printable, span
from scalinglab.errors import FitWarning

# numpy, torch and pandas (via scalinglab.fitting, .io and .laws) are imported inside the commands
# that use them: `scalinglab --help` and every other command start without them.
if TYPE_CHECKING:
    import numpy as np

    from scalinglab.laws import ScalingLaw


def _parse_assignments(items: list[str], what: str) -> dict[str, float]:
    """NAME=VALUE pairs (repeated options or comma-separated) as a dict of floats."""
    out: dict[str, float] = {}
    for item in items:
        for part in filter(None, (p.strip() for p in item.split(","))):
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                fail(f"{what} takes NAME=VALUE pairs, got {part!r}")
            if name.strip() in out:
                fail(f"{what} gives {name.strip()} twice; give each parameter one value")
            try:
                out[name.strip()] = float(value)
            except ValueError:
                fail(f"{what}: {value!r} is not a number (in {part!r})")
    return out


def fit_document(
    law: ScalingLaw, x: list[str], y: str, where: str | None, ranges: dict[str, list[float]]
) -> dict[str, Any]:
    """The JSON written by `fit --json`: the law's to_dict() plus the columns it was fitted on
    and each variable's fitted range (`cli.ranges.x_range`)."""
    doc = law.to_dict()
    doc.update({"x": x, "y": y, "where": where, "x_range": ranges})
    return doc


def print_fit(law: ScalingLaw, x: list[str], y: str, smallest: float | None = None) -> None:
    """A table of parameters with standard errors and intervals (and Hestness's regions, given
    the smallest x fitted)."""
    from scalinglab.laws.hestness import Hestness

    source = "bootstrap" if law.bootstrap_params_ is not None else "Gauss-Newton"
    console.print(
        f"[bold]{escape(printable(law.name))}[/]: {escape(printable(law.formula))}   "
        f"({escape(printable(y))} vs {escape(printable(', '.join(x)))}; {law.n_points_} points)",
        highlight=False,
    )
    table = Table()
    table.add_column("parameter")
    table.add_column("value", justify="right")
    table.add_column(f"stderr ({source})", justify="right")
    table.add_column(f"{law.ci_level_:.0%} interval", justify="right")
    for name in law.param_names:
        table.add_row(
            name,
            num(law.params_[name], ".6g"),
            num(law.stderr_[name], ".6g"),
            span(law.ci_[name], ".6g"),
        )
    console.print(table)
    status = "converged" if law.converged_ else "[red]did NOT converge[/]"
    console.print(f"objective {law.objective} = {num(law.objective_, '.6g')}; {status}")
    if isinstance(law, Hestness) and smallest is not None:
        console.print(f"regions: {escape(law.regions_text(smallest))}", highlight=False)
    for message in law.warnings_:
        console.print(f"[yellow]warning:[/] {escape(printable(message))}")


@app.command("fit")
def fit_command(
    data: Annotated[Path, typer.Argument(help="CSV or Parquet file with one row per run.")],
    law: Annotated[
        str | None,
        typer.Option(
            help="Law to fit (see `scalinglab laws`), or auto: chosen by backtests. "
            "Default: power_const."
        ),
    ] = None,
    formula: Annotated[
        list[str] | None,
        typer.Option(
            help='A law of your own, e.g. "E + A/params**alpha + B/tokens**beta": names that '
            "are columns are inputs, every other name a parameter; + - * / ** ^, exp, log, "
            "log10, sqrt, abs, min, max, where(cond, a, b). Several outputs: --formula F1 --y a "
            "--formula F2 --y b, fitted jointly (a name in several formulas is one parameter)."
        ),
    ] = None,
    x: Annotated[
        list[str] | None, typer.Option("--x", help="Input column(s), in the law's variable order.")
    ] = None,
    y: Annotated[
        list[str] | None,
        typer.Option(
            "--y", help="Column to predict (loss or error); one per --formula. Default: loss."
        ),
    ] = None,
    where: Annotated[
        str | None,
        typer.Option(help='Condition on columns to keep rows, e.g. "epoch_outlier == 0".'),
    ] = None,
    bootstrap: BootstrapOption = DEFAULT_BOOTSTRAP,
    seed: SeedOption = DEFAULT_SEED,
    level: LevelOption = DEFAULT_LEVEL,
    objective: ObjectiveOption = "huber",
    delta: Annotated[float, typer.Option(help="Huber threshold on log residuals.")] = 1e-3,
    fix: Annotated[
        list[str] | None, typer.Option(help="Hold a parameter fixed: NAME=VALUE (repeatable).")
    ] = None,
    bounds: BoundsOption = None,
    log: LogOption = None,
    starts: StartsOption = None,
    group: Annotated[
        str | None,
        typer.Option(help="--formula: one fit per value of this column (a table per group)."),
    ] = None,
    shared: Annotated[
        list[str] | None,
        typer.Option(help="--formula --group: parameters common to all groups, e.g. alpha,beta."),
    ] = None,
    n_breaks: Annotated[
        int | None, typer.Option(help="Breaks of the bnsl law (default 1).", show_default=False)
    ] = None,
    candidates: Annotated[
        str | None, typer.Option(help="--law auto: laws to choose from, e.g. m1,m4,bnsl2.")
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            help="--law auto: the x you will predict at, VAR=VALUE (e.g. shard_size=1e6); the "
            "backtests extrapolate as far. Default: a third of the data's log range beyond it."
        ),
    ] = None,
    error_rate: Annotated[
        bool,
        typer.Option(
            "--error-rate",
            help="--law auto: y is an error rate (top-1 error, word error rate), whose interval "
            "is calibrated at a scale of its own (wider than a loss curve's).",
        ),
    ] = False,
    json_out: JsonOption = None,
) -> None:
    """Fit a scaling law to a table of runs.

    \b
    Examples:
      scalinglab fit runs.csv --law power_const --x shard_size --y best_val_error
      scalinglab fit ../shared/data/chinchilla_besiroglu2024.csv --law chinchilla
        --x params --x tokens --y loss --where "epoch_outlier == 0"
        --bootstrap 4000 --json fit.json
      scalinglab fit curve.csv --law auto --x shard_size --y best_val_error
        --json fit.json
      scalinglab fit curve.csv --law auto --x shard_size --y best_val_error
        --target shard_size=1e6 --error-rate
      scalinglab fit runs.csv --formula "E + A/params**alpha + B/tokens**beta"
        --y loss --bounds "alpha=0:2" --fix E=1.69 --json fit.json
      scalinglab fit runs.csv --formula "a * shard_size**-b + c" --y loss
        --group task --shared b
      scalinglab fit runs.csv --formula "E + A/params**alpha" --y loss
        --formula "F + B/params**alpha" --y error --json fit.json
    """
    from scalinglab.cli.ranges import range_note, x_range
    from scalinglab.cli.selection import parse_candidates, parse_target, print_selection
    from scalinglab.io import file_row, numeric_columns, read_table
    from scalinglab.laws import get_law
    from scalinglab.selection.auto import DEFAULT_LAW, auto_fit

    formula_only = {"--bounds": bounds, "--log": log, "--starts": starts, "--group": group,
                    "--shared": shared}  # fmt: skip
    check_not_input(json_out, "--json", data)
    outputs = list(y) if y else ["loss"]
    if n_breaks is not None and law != "bnsl":
        fail("--n-breaks applies to --law bnsl (the number of breaks of its curve)")
    if formula:
        if law is not None:
            fail("give --law or --formula, not both")
        auto_only = {"--target": target, "--candidates": candidates, "--error-rate": error_rate}
        for flag, given in auto_only.items():
            if given:
                fail(f"{flag} applies to --law auto, not to --formula")
        if x:
            fail(
                "--x does not apply to --formula: the formula's names that are columns are "
                "its inputs"
            )
        formula_options = {
            "objective": objective, "delta": delta, "n_bootstrap": bootstrap,
            "random_state": seed, "ci_level": level,
            "fixed": _parse_assignments(fix or [], "--fix") or None,
        }  # fmt: skip
        if len(formula) == 1 and len(outputs) == 1:
            _fit_formula_command(
                data, formula[0], outputs[0], where=where, json_out=json_out, group=group,
                shared=shared or [], bounds=bounds or [], log=log or [], starts=starts,
                options=formula_options,
            )  # fmt: skip
            return
        from scalinglab.cli.formula import fit_joint_command

        fit_joint_command(
            data, formula, outputs, where=where, json_out=json_out, group=group,
            shared=shared or [], bounds=bounds or [], log=log or [], starts=starts,
            options=formula_options,
        )  # fmt: skip
        return
    for flag, value in formula_only.items():
        if value:
            fail(f"{flag} applies to --formula (a law of your own)")
    if len(outputs) > 1:
        fail(
            f"{len(outputs)} --y columns: several outputs take one --formula each "
            '(--formula "..." --y a --formula "..." --y b)'
        )
    y_name = outputs[0]  # the one column the law predicts
    law = "power_const" if law is None else law  # --law "" is a typo, not the default
    auto = law == "auto"  # backtested selection and calibrated intervals (selection/auto.py)
    if target is not None and not auto:
        fail("--target applies to --law auto (it sets how far the backtests extrapolate)")
    if candidates is not None and not auto:
        fail("--candidates applies to --law auto (the laws it chooses among)")
    if error_rate and not auto:
        fail("--error-rate applies to --law auto (it sets the scale of its calibrated interval)")
    law_cls = get_law(DEFAULT_LAW if auto else law)
    df = read_table(data, where=where)
    columns = list(x) if x else list(law_cls.variables)
    options: dict[str, Any] = {
        "objective": objective,
        "delta": delta,
        "n_bootstrap": bootstrap,
        "random_state": seed,
        "ci_level": level,
        "fixed": _parse_assignments(fix or [], "--fix") or None,
    }
    if law == "bnsl":
        options["n_breaks"] = 1 if n_breaks is None else n_breaks
    model = law_cls(**options)
    if len(columns) != len(model.variables):
        fail(
            f"law {law!r} takes {len(model.variables)} x column(s) {list(model.variables)}; "
            f"got --x {' --x '.join(columns)}"
        )
    X = numeric_columns(df, columns, source=str(data))
    values = numeric_columns(df, [y_name], source=str(data))[:, 0]
    check_positive_x(
        model, columns, X, lambda i: f"at data row {file_row(df, i)} of {data}",
        "drop or fix those rows, or filter with --where",
    )  # fmt: skip
    if len({tuple(row) for row in X.tolist()}) == 1:  # the law would say the same, less clearly
        what = " and ".join(f"{c!r} ({X[0, j]:g})" for j, c in enumerate(columns))
        fail(
            f"{data}: {what} has a single value in all {len(X)} rows; a law cannot be fitted "
            "to one x value (add runs at other x)"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)  # shown in the table below instead
        with out_console(json_out).status(f"fitting {law} to {len(values)} points..."):
            target_x = parse_target(target, columns) if auto else None
            if auto:
                if options["fixed"]:
                    fail("--fix cannot be used with --law auto (the law is not known yet)")
                model, selection = auto_fit(
                    X,
                    values,
                    target=target_x,
                    candidates=parse_candidates(candidates),
                    options=options,
                    error_rate=error_rate,
                )
            else:
                model.fit(X, values)
    doc = fit_document(model, columns, y_name, where, x_range(columns, X))
    at_target, beyond = None, None
    if target_x is not None:
        at_target = _prediction_at(model, target_x, level)
        doc["target_prediction"] = {"x": target_x, **at_target}
        beyond = range_note(doc, {columns[0]: target_x})
    if auto:
        doc["selection"] = selection.to_dict()

    def render() -> None:
        if auto:
            print_selection(selection, model, level)
        print_fit(model, columns, y_name, smallest=float(X[:, 0].min()))
        if at_target is not None and target_x is not None:
            lo, hi = at_target["interval"]
            console.print(
                f"predicted {escape(printable(y_name))} at {escape(printable(columns[0]))} = "
                f"{num(target_x, '.4g')} "
                f"(the target): [bold]{num(at_target['prediction'], '.6g')}[/] "
                f"({level:.0%} interval {span((lo, hi), '.6g')})",
                highlight=False,
            )
            if beyond is not None:
                console.print(f"[dim]note:[/] {escape(beyond)}")

    emit(doc, json_out, render)


def _prediction_at(model: ScalingLaw, x: float, level: float) -> dict[str, Any]:
    """The law's prediction at x (one variable) with its `level` interval (NaN bounds when the
    fit has no uncertainty estimate)."""
    import numpy as np

    X = np.array([[x]])
    lo, hi = model.predict_interval_or_nan(X, level=level)
    interval = [float(lo[0]), float(hi[0])]
    return {"prediction": float(model.predict(X)[0]), "interval": interval, "level": level}


def _fit_formula_command(
    data: Path,
    formula: str,
    y: str,
    *,
    where: str | None,
    json_out: Path | None,
    group: str | None,
    shared: list[str],
    bounds: list[str],
    log: list[str],
    starts: int | None,
    options: dict[str, Any],
) -> None:
    """`fit --formula`: a formula law, per group with --group (see scalinglab.cli.formula)."""
    from scalinglab.cli.formula import (
        fit_formula,
        formula_options,
        group_summary,
        parse_names,
        print_group_tables,
    )
    from scalinglab.cli.ranges import frame_range
    from scalinglab.expr import parse_formula
    from scalinglab.io import read_table

    parse_formula(formula, option="--formula")  # a bad formula fails before the table is read
    options = formula_options(options, bounds, log, starts)
    shared_names = parse_names(shared, "--shared")
    df = read_table(data, where=where)
    names = {"bounds names": "--bounds names", "log names": "--log names"}
    with warnings.catch_warnings(), flag_names(names):
        warnings.simplefilter("ignore", FitWarning)  # shown in the table below instead
        with out_console(json_out).status(f"fitting the formula to {len(df)} points..."):
            model, columns = fit_formula(
                df, formula, y, source=str(data), group=group, shared=shared_names,
                options=options,
            )  # fmt: skip
    doc = fit_document(model, columns, y, where, frame_range(df, model.variables))
    if group is not None:
        counts = df[group].astype(str).value_counts().to_dict()
        doc["group"] = group
        doc["by_group"] = group_summary(model, {str(k): int(v) for k, v in counts.items()})

    def render() -> None:
        if group is not None:
            print_group_tables(model, group, y, columns[:-1])
        else:
            print_fit(model, columns, y)

    emit(doc, json_out, render)


def check_positive_x(
    model: ScalingLaw,
    columns: list[str],
    X: np.ndarray,
    place: Callable[[int], str],
    remedy: str,
) -> None:
    """Refuse x <= 0 where the law takes a log, naming the user's column: the law's own check
    can only name its internal variable (e.g. 'x' for a column 'shard_size')."""
    for j in model.logged_variables():  # the rule of the law's own check_X
        bad = (X[:, j] <= 0).nonzero()[0]
        if len(bad):
            i, column = int(bad[0]), columns[j]
            fail(
                f"every value of [{column!r}] must be > 0 (law {model.name!r} takes its log); "
                f"{column} = {X[i, j]:g} {place(i)}; {remedy}"
            )


def _parse_at(at: list[str], names: list[str]) -> np.ndarray:
    """--at name=v1,name2=v2 (values may be ';'-separated lists) as an (n, k) array."""
    import numpy as np

    values: dict[str, list[float]] = {}
    for item in at:
        for part in filter(None, (p.strip() for p in item.split(","))):
            key, sep, raw = (s.strip() for s in part.partition("="))
            if not sep or not key:
                fail(f"--at takes NAME=VALUE pairs, got {part!r}; variables: {names}")
            if not raw.strip(" ;"):
                fail(f"--at: {key} has no value (in {part!r}); give {key}=VALUE")
            if key in values:
                fail(f"--at: {key} is given twice; give each variable once (v1;v2 for several)")
            body = raw.strip()
            body = body[:-1] if body.endswith(";") else body  # one trailing ';' is harmless
            entries = [v.strip() for v in body.split(";")]
            if "" in entries:  # ";1" or "1;;2": a typo that would pair the values wrongly
                fail(f"--at: {key} has an empty entry between ';' (in {part!r}); give v1;v2;v3")
            try:
                values[key] = [float(v) for v in entries]
            except ValueError:
                fail(f"--at: {raw!r} is not a number (in {part!r})")
            for entry, value in zip(entries, values[key], strict=True):
                if not math.isfinite(value):  # 1e400 reads as inf: no law predicts there
                    fail(f"--at: {key} = {entry} is not a finite number (NaN or inf)")
    unknown = [k for k in values if k not in names]
    missing = [n for n in names if n not in values]
    if unknown or missing:
        fail(
            f"--at must give exactly the fit's variables {names}"
            + (f"; unknown {unknown}" if unknown else "")
            + (f"; missing {missing}" if missing else "")
        )
    if len({len(v) for v in values.values()}) != 1:
        counts = ", ".join(f"{n}: {len(values[n])}" for n in names)
        fail(f"--at: every variable needs the same number of values, got {counts}")
    return np.column_stack([values[n] for n in names])


@app.command("predict")
def predict_command(
    fit_file: Annotated[Path, typer.Argument(help="Fit JSON from `scalinglab fit --json`.")],
    at: Annotated[
        list[str] | None,
        typer.Option(help="Where to predict: NAME=VALUE,... (several points: v1;v2;v3)."),
    ] = None,
    table: Annotated[
        Path | None,
        typer.Option(help="Predict every row of this CSV or Parquet table (instead of --at)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="--table: write it with prediction, lower, upper columns (.csv|.parquet)."
        ),
    ] = None,
    y: Annotated[
        list[str] | None,
        typer.Option(
            "--y",
            help="--table: the measured column; prints R², RMSE and MAPE (a joint fit: one "
            "--y per output to score).",
        ),
    ] = None,
    where: Annotated[
        str | None,
        typer.Option(help='--table: condition on columns to keep rows, e.g. "Training == 0".'),
    ] = None,
    level: LevelOption = DEFAULT_LEVEL,
    json_out: JsonOption = None,
) -> None:
    """Predict with a fitted law, at points or for a whole table of runs.

    \b
    Examples:
      scalinglab predict fit.json --at params=7e10,tokens=1.4e12
      scalinglab predict curve.json --at "shard_size=1e5;1e6" --level 0.9
        --json pred.json
      scalinglab predict fit.json --table test.csv --y loss --out predicted.csv
    """
    from scalinglab.cli.ranges import points_note
    from scalinglab.io import fit_variables, load_fit
    from scalinglab.laws.formula import FormulaLaw
    from scalinglab.laws.joint import JointFormulaLaw
    from scalinglab.selection.auto import interval_warnings

    if (at is None) == (table is None):
        fail("give --at (points) or --table (a table of runs), one of them")
    if table is None and (out is not None or y or where is not None):
        fail("--out, --y and --where apply to --table")
    check_not_input(json_out, "--json", fit_file, table)
    check_not_input(out, "--out", fit_file, table)
    model, doc = load_fit(fit_file)
    names = fit_variables(model, doc)
    # A grouped fit (`fit --formula ... --group COL`) takes a group label, which --at (numbers
    # only) cannot give: a table with the group column can.
    grouped = isinstance(model, FormulaLaw | JointFormulaLaw) and bool(model.groups)
    if grouped and table is None:
        assert isinstance(model, FormulaLaw | JointFormulaLaw)
        column = model.group_column
        fail(
            f"this fit has parameters per {column}: predict it with --table (a table with a "
            f"{column} column), or refit one {column} alone (--where) to predict with --at"
        )
    if isinstance(model, JointFormulaLaw):
        names = list(model.input_variables)  # the output index is not a column of a table
        if model.groups:
            names.append(model.group_column)
    if table is not None:
        _predict_table_command(model, doc, table, names, out=out, y=list(y or []),
                               where=where, level=level, json_out=json_out,
                               fit_file=str(fit_file))  # fmt: skip
        return
    assert at is not None
    if isinstance(model, JointFormulaLaw):
        from scalinglab.cli.formula import predict_joint_at

        predict_joint_at(
            model, _parse_at(at, names), names, level=level, json_out=json_out,
            fit_file=str(fit_file),
        )  # fmt: skip
        return
    from scalinglab.cli.formula import at_point, check_overflow

    X = _parse_at(at, names)
    check_positive_x(model, names, X, lambda i: "in --at", "give a value > 0")
    prediction = model.predict(X)
    check_overflow(prediction, str(fit_file), lambda i: at_point(names, X, i))
    has_draws = model.bootstrap_params_ is not None or model.calibration_ is not None
    interval = model.predict_interval(X, level=level) if has_draws else None
    scalar = len(prediction) == 1
    payload: dict[str, Any] = {
        "law": model.name,
        "at": {n: (X[0, j] if scalar else X[:, j].tolist()) for j, n in enumerate(names)},
        "prediction": float(prediction[0]) if scalar else prediction.tolist(),
        "level": level,
    }
    if interval is not None:
        lo, hi = interval
        payload["interval"] = [float(lo[0]), float(hi[0])] if scalar else [lo.tolist(), hi.tolist()]
    beyond = points_note(doc, names, X)
    payload["beyond_data"] = beyond

    def render() -> None:
        table = Table(title=f"{model.name} prediction", title_justify="left")
        for n in names:
            table.add_column(escape(printable(n)), justify="right")
        y_name = escape(printable(str(doc.get("y", "prediction"))))
        table.add_column(y_name, justify="right")
        if interval is not None:
            table.add_column(f"{level:.0%} interval", justify="right")
        for i in range(len(prediction)):
            row = [num(v) for v in X[i]] + [num(prediction[i], ".6g")]
            if interval is not None:
                row.append(span((interval[0][i], interval[1][i]), ".6g"))
            table.add_row(*row)
        console.print(table)
        if beyond is not None:
            console.print(f"[dim]note:[/] {escape(beyond)}")
        if interval is None:
            console.print(
                "no bootstrap draws in this fit: refit with --bootstrap N for an interval"
            )
        else:
            for note in interval_warnings(model.calibration_):
                console.print(f"[yellow]warning:[/] {note}")

    emit(payload, json_out, render)


def _predict_table_command(
    model: ScalingLaw,
    doc: dict[str, Any],
    table: Path,
    names: list[str],
    *,
    out: Path | None,
    y: list[str],
    where: str | None,
    level: float,
    json_out: JsonOption,
    fit_file: str,
) -> None:
    from scalinglab.cli.formula import predict_table, print_predicted_table, print_scores
    from scalinglab.cli.ranges import points_note
    from scalinglab.io import to_numbers, write_table

    result, payload = predict_table(
        model, doc, table, out=out, level=level, y=y, where=where, fit_file=fit_file
    )
    if out is not None:
        write_table(result, out)
    inputs = result[names].apply(to_numbers)
    payload["beyond_data"] = beyond = points_note(doc, names, inputs.to_numpy(dtype=float))

    def render() -> None:
        columns = payload["columns"]
        if out is None:
            print_predicted_table(result, names, y, level, payload["outputs"])
        else:
            shown = escape(printable(str(out)))
            console.print(f"wrote {shown} ({len(result)} rows with {', '.join(columns)})")
        for measured, metrics in payload.get("scores", {}).items():
            print_scores(metrics, measured)
        if beyond is not None:
            console.print(f"[dim]note:[/] {escape(beyond)}")

    emit(payload, json_out, render)


@app.command("laws")
def laws_command(json_out: JsonOption = None) -> None:
    """List the registered scaling laws with their formulas and variables."""
    from scalinglab.laws import available_laws, get_law

    laws = [get_law(name)() for name in available_laws()]
    payload = {
        "laws": [
            {
                "name": law.name,
                "formula": law.formula,
                "variables": list(law.variables),
                "parameters": list(law.param_names),
            }
            for law in laws
        ]
    }

    def render() -> None:
        table = Table(title="scaling laws", title_justify="left")
        table.add_column("name")
        table.add_column("formula")
        table.add_column("variables (X columns in order)")
        table.add_column("parameters")
        for law in laws:
            table.add_row(
                law.name, law.formula, ", ".join(law.variables), ", ".join(law.param_names)
            )
        console.print(table)

    emit(payload, json_out, render)
