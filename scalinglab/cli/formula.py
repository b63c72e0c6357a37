"""`scalinglab fit --formula` (a formula law fitted to a table, per group if asked) and
`scalinglab predict --table` (a whole table of runs predicted, with R², RMSE and MAPE)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from scalinglab.cli.app import console, fail
from scalinglab.display import num, printable, span
from scalinglab.errors import FitWarning, ScalingLabError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from scalinglab.laws import ScalingLaw
    from scalinglab.laws.formula import FormulaLaw
    from scalinglab.laws.joint import JointFormulaLaw

# The options of a formula fit, shared by `fit --formula` and `benchmark design`.
ObjectiveOption = Annotated[str, typer.Option(help="huber | ls_log | ls_linear.")]
BoundsOption = Annotated[
    list[str] | None,
    typer.Option(help='--formula: parameter bounds, e.g. "alpha=0:2,E=0:10,b=-2000:0".'),
]
LogOption = Annotated[
    list[str] | None,
    typer.Option(help="--formula: parameters fitted on the log scale, e.g. A,B."),
]
# More random starts than this is a typo, not a search: 10^7 of them ran for minutes before
# the first fit step (each start is a row of the batched solve)
MAX_RANDOM_STARTS = 100_000
StartsOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=MAX_RANDOM_STARTS,
        help="--formula: this many more start points, scrambled Sobol inside the bounds, "
        f"on top of the default grid (at most 512 points); at most {MAX_RANDOM_STARTS:,}.",
    ),
]

OUT_SUFFIXES = (".csv", ".parquet", ".pq")
SHOWN_ROWS = 20  # rows of a predicted table printed on the terminal (--out writes them all)


def parse_names(items: list[str], what: str) -> list[str]:
    """NAME,NAME (repeated or comma-separated) as a list, each a plain identifier."""
    names = [p.strip() for item in items for p in item.split(",") if p.strip()]
    for name in names:
        if not name.isidentifier():
            fail(f"{what} takes parameter names, got {name!r}")
    return names


def parse_bounds(items: list[str]) -> dict[str, tuple[float, float]]:
    """--bounds "alpha=0:2,E=0:10,b=-2000:0" as {name: (lower, upper)}."""
    out: dict[str, tuple[float, float]] = {}
    for item in items:
        for part in filter(None, (p.strip() for p in item.split(","))):
            name, sep, span_text = (s.strip() for s in part.partition("="))
            low, colon, high = span_text.partition(":")
            if not sep or not name or not colon:
                fail(f"--bounds takes NAME=LOW:HIGH pairs, got {part!r}")
            try:
                lower, upper = float(low), float(high)
            except ValueError:
                fail(f"--bounds: {span_text!r} is not LOW:HIGH numbers (in {part!r})")
            if math.isnan(lower) or math.isnan(upper) or not lower < upper:
                fail(f"--bounds: {name} needs LOW < HIGH, got {span_text!r}")
            if name in out:
                fail(f"--bounds gives {name} twice; give each parameter one range")
            out[name] = (lower, upper)
    return out


def formula_options(
    options: dict[str, Any], bounds: list[str], log: list[str], starts: int | None
) -> dict[str, Any]:
    """The fit options with --bounds, --log and --starts of a formula fit parsed in."""
    out = dict(options)
    out["bounds"] = parse_bounds(bounds) or None
    out["log"] = parse_names(log, "--log") or None
    if starts is not None:
        out["n_random_starts"] = starts
    return out


def formula_variables(formula: str, df: pd.DataFrame, y: str, group: str | None) -> list[str]:
    """The formula's names that are columns of the table: its variables, in order."""
    from scalinglab.expr import parse_formula

    names = parse_formula(formula, option="--formula").names
    columns = {str(c) for c in df.columns}
    variables = [n for n in names if n in columns]
    if not variables:
        known = ", ".join(map(str, df.columns))
        fail(
            f"--formula names no column of the table (names that are columns are its inputs); "
            f"the columns are: {known}"
        )
    if y in variables:
        fail(f"--formula uses the --y column {y!r} as an input; predict it, do not use it")
    if group is not None and group in variables:
        fail(f"--formula uses the --group column {group!r}; groups get their own parameters")
    return variables


def fit_formula(
    df: pd.DataFrame,
    formula: str,
    y: str,
    *,
    source: str,
    group: str | None,
    shared: list[str],
    options: dict[str, Any],
) -> tuple[FormulaLaw, list[str]]:
    """The fitted formula law and its X columns. With a group column: one fit per group (shared
    parameters: one law over all rows), combined in one grouped law that `predict` reads."""
    import numpy as np

    from scalinglab.io import numeric_columns
    from scalinglab.laws.formula import FormulaLaw

    variables = formula_variables(formula, df, y, group)
    X = numeric_columns(df, variables, source=source)
    values = numeric_columns(df, [y], source=source)[:, 0]
    if group is None:
        if shared:
            fail("--shared needs --group (parameters shared across groups)")
        law = FormulaLaw(formula, variables, **options)
        law.fit(X, values)
        return law, variables
    labels_per_row = group_labels(df, group, source)
    labels = sorted(set(labels_per_row.tolist()))
    if shared:
        law = FormulaLaw(
            formula, variables, groups=labels, shared=shared, group_column=group, **options
        )
        codes = law.group_codes(labels_per_row.tolist())
        law.fit(np.column_stack([X, codes]), values)
        return law, [*variables, group]
    fits: dict[str, FormulaLaw] = {}
    for label in labels:
        rows = labels_per_row == label
        try:
            fits[label] = FormulaLaw(formula, variables, **options)
            fits[label].fit(X[rows], values[rows])
        except ScalingLabError as exc:
            raise ScalingLabError(f"group {group}={label}: {exc}") from None
    return FormulaLaw.combine_groups(fits, group_column=group), [*variables, group]


def group_labels(df: pd.DataFrame, group: str, source: str) -> np.ndarray:
    """Each row's label in the --group column, as text (a missing label fails)."""
    import numpy as np

    from scalinglab.io import file_row

    if group not in df.columns:
        known = ", ".join(map(str, df.columns))
        fail(f"{source} has no column {group!r} (--group); its columns are: {known}")
    missing = df[group].isna().to_numpy()
    if missing.any():
        row = file_row(df, int(np.flatnonzero(missing)[0]))  # the file's row, after --where too
        fail(
            f"column {group!r} (--group) has {int(missing.sum())} missing value(s) (first at "
            f"data row {row}); drop them or filter with --where"
        )
    return df[group].astype(str).to_numpy()


def group_summary(law: FormulaLaw | JointFormulaLaw, counts: dict[str, int]) -> dict[str, Any]:
    """The fit keyed by group: each group's parameters (shared ones included), with errors."""
    out: dict[str, Any] = {}
    for label in law.groups or ():
        names = law.group_param_names(label)
        out[label] = {
            "params": {base: law.params_[full] for base, full in names.items()},
            "stderr": {base: law.stderr_[full] for base, full in names.items()},
            "ci": {base: list(law.ci_[full]) for base, full in names.items()},
            "shared": [b for b, full in names.items() if b == full],
            "n_points": counts.get(label, 0),
        }
    return out


def print_group_tables(law: FormulaLaw | JointFormulaLaw, group: str, y: str, x: list[str]) -> None:
    """One parameter table per group (shared parameters marked); a joint law's tables say
    which outputs each parameter enters."""
    from scalinglab.laws.joint import JointFormulaLaw

    source = "bootstrap" if law.bootstrap_params_ is not None else "Gauss-Newton"
    joint = law if isinstance(law, JointFormulaLaw) else None
    if joint is None:
        console.print(
            f"[bold]formula[/]: {escape(printable(law.formula))}   ({escape(printable(y))} vs "
            f"{escape(printable(', '.join(x)))}; {law.n_points_} points; one fit per "
            f"{escape(printable(group))})",
            highlight=False,
        )
    else:
        print_formulas(joint)
        console.print(
            f"fitted jointly: {joint.n_points_} points ({len(joint.outputs)} outputs); a name in "
            f"several formulas is one parameter; one fit per {escape(printable(group))}",
            highlight=False,
        )
    for label in law.groups or ():
        # group and label come from the user's table: shown, never read as markup
        title = escape(printable(f"{group} = {label}"))
        table = Table(title=title, title_justify="left")
        table.add_column("parameter")
        if joint is not None:
            table.add_column("outputs")
        table.add_column("value", justify="right")
        table.add_column(f"stderr ({source})", justify="right")
        table.add_column(f"{law.ci_level_:.0%} interval", justify="right")
        for base, full in law.group_param_names(label).items():
            outputs = [] if joint is None else [escape(", ".join(joint.outputs_of(base)))]
            table.add_row(
                escape(base + (" (shared)" if base == full else "")),
                *outputs,
                num(law.params_[full], ".6g"),
                num(law.stderr_[full], ".6g"),
                span(law.ci_[full], ".6g"),
            )
        console.print(table)
    status = "converged" if law.converged_ else "[red]did NOT converge[/]"
    console.print(f"objective {law.objective} = {num(law.objective_, '.6g')}; {status}")
    for message in law.warnings_:
        console.print(f"[yellow]warning:[/] {escape(printable(message))}")


# ------------------------------------------------------------------------------------------
# Several outputs: --formula F1 --y a --formula F2 --y b
# ------------------------------------------------------------------------------------------
def fit_joint_command(
    data: Path,
    formulas: list[str],
    outputs: list[str],
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
    """`fit --formula F1 --y a --formula F2 --y b`: one formula per output, fitted jointly; a
    name written in several formulas is one parameter (scalinglab.laws.joint). With --group: one
    joint fit per group, or with --shared one over all groups, those parameters common to all."""
    import numpy as np

    from scalinglab.cli.app import emit, flag_names, out_console
    from scalinglab.cli.fit import fit_document
    from scalinglab.cli.ranges import frame_range
    from scalinglab.expr import parse_formula
    from scalinglab.io import read_table
    from scalinglab.laws.joint import DEFAULT_OUTPUT_COLUMN

    if len(formulas) != len(outputs):
        fail(
            f"{len(formulas)} --formula and {len(outputs)} --y: give one --y per --formula, "
            'in the same order (--formula "..." --y a --formula "..." --y b)'
        )
    if shared and group is None:
        fail(
            "--shared is for --group: with several --y, a name written in several formulas is "
            "already one parameter (name parameters apart, e.g. E_a and E_b, to fit them apart)"
        )
    shared_names = parse_names(shared, "--shared")
    repeated = sorted({o for o in outputs if outputs.count(o) > 1})
    if repeated:
        fail(f"--y {repeated[0]} is given twice; each output column takes one --formula")
    if group is not None and group in outputs:
        fail(f"--group {group} is also a --y column; group by a column that is not predicted")
    for formula in formulas:  # a bad formula fails before the table is read
        parse_formula(formula, option="--formula")
    options = formula_options(options, bounds, log, starts)
    df = read_table(data, where=where)
    columns = {str(c) for c in df.columns}
    missing = [o for o in outputs if o not in columns]
    if missing:
        known = ", ".join(map(str, df.columns))
        fail(f"{data} has no column {missing[0]!r} (--y); its columns are: {known}")
    variables: list[str] = []
    for formula, output in zip(formulas, outputs, strict=True):
        own = formula_variables(formula, df, output, group)
        used = [o for o in outputs if o in own]
        if used:
            fail(
                f"--formula {formula!r} uses the --y column {used[0]!r} as an input; predict "
                "it, do not use it"
            )
        variables += [v for v in own if v not in variables]
    output_column = DEFAULT_OUTPUT_COLUMN
    while output_column in variables or output_column == group:
        output_column += "_"
    options["output_column"] = output_column
    names = {"bounds names": "--bounds names", "log names": "--log names"}
    with warnings.catch_warnings(), flag_names(names):
        warnings.simplefilter("ignore", FitWarning)  # shown in the table below instead
        with out_console(json_out).status(f"fitting {len(formulas)} formulas jointly..."):
            law, Y, labels = fit_joint(
                df, formulas, outputs, variables, source=str(data), group=group,
                shared=shared_names, options=options,
            )  # fmt: skip
    doc = fit_document(
        law, list(law.variables), outputs[0], where, frame_range(df, law.input_variables)
    )
    doc["y"] = list(outputs)
    counts = np.sum(~np.isnan(Y), axis=0)
    doc["outputs"] = {
        o: {"formula": f, "parameters": list(law.params_of(o)), "n_points": int(n)}
        for o, f, n in zip(outputs, formulas, counts, strict=True)
    }
    doc["shared"] = law.shared_params()
    if group is not None and labels is not None:
        per_group = {
            label: np.sum(~np.isnan(Y[labels == label]), axis=0) for label in law.groups or ()
        }
        doc["group"] = group
        doc["by_group"] = group_summary(law, {k: int(v.sum()) for k, v in per_group.items()})
        for label, entry in doc["by_group"].items():
            entry["n_points_by_output"] = dict(
                zip(outputs, map(int, per_group[label]), strict=True)
            )

    def render() -> None:
        if group is not None:
            print_group_tables(law, group, ", ".join(outputs), list(law.input_variables))
        else:
            print_joint_fit(law)

    emit(doc, json_out, render)


def fit_joint(
    df: pd.DataFrame,
    formulas: list[str],
    outputs: list[str],
    variables: list[str],
    *,
    source: str,
    group: str | None,
    shared: list[str],
    options: dict[str, Any],
) -> tuple[JointFormulaLaw, np.ndarray, np.ndarray | None]:
    """The joint law fitted to the table, its Y (one column per output, NaN where a run lacks
    it) and, with a group column, each row's group label. Per group as `fit_formula` does: one
    joint fit per group (combined in one grouped law that `predict` reads) or, with shared
    parameters, one grouped law over all rows."""
    import numpy as np

    from scalinglab.io import numeric_columns
    from scalinglab.laws.joint import JointFormulaLaw

    X = numeric_columns(df, variables, source=source)
    Y = numeric_columns(df, outputs, source=source)
    if group is None:
        law = JointFormulaLaw(formulas, outputs, variables, **options)
        law.fit(*law.stack(X, Y))
        return law, Y, None
    labels_per_row = group_labels(df, group, source)
    labels = sorted(set(labels_per_row.tolist()))
    if shared:
        law = JointFormulaLaw(
            formulas, outputs, variables, groups=labels, shared=shared, group_column=group,
            **options,
        )  # fmt: skip
        free = set(law.free_params())
        for label in labels:
            own = [
                b for b, full in law.group_param_names(label).items() if full != b and full in free
            ]
            n = int(np.sum(~np.isnan(Y[labels_per_row == label])))
            if n < len(own):
                fail(
                    f"group {group}={label} has {n} points for its {len(own)} own parameters "
                    f"({', '.join(own)}); add runs, or name more of them in --shared"
                )
        codes = law.group_codes(labels_per_row.tolist())
        law.fit(*law.stack(np.column_stack([X, codes]), Y))
        return law, Y, labels_per_row
    fits: dict[str, JointFormulaLaw] = {}
    for label in labels:
        rows = labels_per_row == label
        try:
            fits[label] = JointFormulaLaw(formulas, outputs, variables, **options)
            fits[label].fit(*fits[label].stack(X[rows], Y[rows]))
        except ScalingLabError as exc:
            raise ScalingLabError(f"group {group}={label}: {exc}") from None
    return JointFormulaLaw.combine_groups(fits, group_column=group), Y, labels_per_row


def print_formulas(law: JointFormulaLaw) -> None:
    """Each output's formula and the columns it reads."""
    for output, formula in zip(law.outputs, law.formulas, strict=True):
        console.print(
            f"[bold]{escape(printable(output))}[/] = {escape(printable(formula))}   (vs "
            f"{escape(printable(', '.join(law.variables_of(output))))})",
            highlight=False,
        )


def print_joint_fit(law: JointFormulaLaw) -> None:
    """The formulas, then one parameter table with the outputs each parameter enters."""
    source = "bootstrap" if law.bootstrap_params_ is not None else "Gauss-Newton"
    print_formulas(law)
    console.print(
        f"fitted jointly: {law.n_points_} points ({len(law.outputs)} outputs); a name in "
        "several formulas is one parameter",
        highlight=False,
    )
    table = Table()
    table.add_column("parameter")
    table.add_column("outputs")
    table.add_column("value", justify="right")
    table.add_column(f"stderr ({source})", justify="right")
    table.add_column(f"{law.ci_level_:.0%} interval", justify="right")
    for name in law.param_names:
        table.add_row(
            escape(name),
            escape(printable(", ".join(law.outputs_of(name)))),
            num(law.params_[name], ".6g"),
            num(law.stderr_[name], ".6g"),
            span(law.ci_[name], ".6g"),
        )
    console.print(table)
    status = "converged" if law.converged_ else "[red]did NOT converge[/]"
    console.print(f"objective {law.objective} = {num(law.objective_, '.6g')}; {status}")
    for message in law.warnings_:
        console.print(f"[yellow]warning:[/] {escape(printable(message))}")


def at_point(names: list[str], X: np.ndarray, i: int) -> str:
    """Point i of --at as the user wrote it ("x=1e+20"), and which one when there are several."""
    point = ",".join(f"{n}={v:g}" for n, v in zip(names, X[i], strict=True))
    return point if len(X) == 1 else f"{point} (point {i + 1} of --at)"


def predict_joint_at(
    law: JointFormulaLaw,
    X: np.ndarray,
    names: list[str],
    *,
    level: float,
    json_out: Path | None,
    fit_file: str = "the fit file",
) -> None:
    """`predict FIT.json --at ...` for a joint fit: every output at each point."""
    from scalinglab.cli.app import emit

    bands = {o: _predict_with_band(law, law.with_output(X, j), level)
             for j, o in enumerate(law.outputs)}  # fmt: skip
    for output, (prediction, _, _) in bands.items():
        check_overflow(prediction, fit_file, lambda i: at_point(names, X, i), output)
    scalar = len(X) == 1
    payload: dict[str, Any] = {
        "law": law.name,
        "at": {n: (X[0, j] if scalar else X[:, j].tolist()) for j, n in enumerate(names)},
        "level": level,
        "prediction": {},
        "interval": {},
    }
    for output, (prediction, lower, upper) in bands.items():
        payload["prediction"][output] = float(prediction[0]) if scalar else prediction.tolist()
        payload["interval"][output] = (
            [float(lower[0]), float(upper[0])] if scalar else [lower.tolist(), upper.tolist()]
        )

    def render() -> None:
        table = Table(title="joint_formula prediction", title_justify="left")
        for n in names:
            table.add_column(escape(printable(n)), justify="right")
        for output in law.outputs:
            table.add_column(escape(printable(output)), justify="right")
            table.add_column(f"{level:.0%} interval", justify="right")
        for i in range(len(X)):
            row = [num(v) for v in X[i]]
            for prediction, lower, upper in bands.values():
                row += [num(prediction[i], ".6g"), span((lower[i], upper[i]), ".6g")]
            table.add_row(*row)
        console.print(table)

    emit(payload, json_out, render)


# ------------------------------------------------------------------------------------------
# predict --table
# ------------------------------------------------------------------------------------------
def check_out(out: Path | None) -> None:
    if out is not None and out.suffix.lower() not in OUT_SUFFIXES:
        fail(f"--out {out}: write a .csv or .parquet file")
    if out is not None and out.is_dir():
        fail(f"--out {out} is a directory; give a .csv or .parquet file name")


def table_inputs(model: ScalingLaw, names: list[str], df: pd.DataFrame, source: str) -> np.ndarray:
    """The fit's X from a table: its numeric columns, and a grouped formula's group labels as
    group indices (a joint fit's X without its output index: see `with_output`)."""
    import numpy as np

    from scalinglab.io import numeric_columns
    from scalinglab.laws.formula import FormulaLaw
    from scalinglab.laws.joint import JointFormulaLaw

    group = None
    if isinstance(model, JointFormulaLaw):
        names = list(model.input_variables)
        group = model.group_column if model.groups else None
    elif isinstance(model, FormulaLaw) and model.groups:
        names, group = names[:-1], names[-1]
    X = numeric_columns(df, names, source=source)
    if group is None:
        return X
    assert isinstance(model, FormulaLaw | JointFormulaLaw)
    if group not in df.columns:
        known = ", ".join(map(str, df.columns))
        fail(f"{source} has no group column {group!r}; its columns are: {known}")
    return np.column_stack([X, model.group_codes(df[group].astype(str).tolist())])


def scores(prediction: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    """R² (1 − SS_res/SS_tot), RMSE and mean absolute percentage error (%)."""
    import numpy as np

    resid = prediction - actual
    ss_tot = float(np.sum((actual - actual.mean()) ** 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        mape = float(np.mean(np.abs(resid) / np.abs(actual)) * 100)
    return {
        "r2": 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else math.nan,
        "rmse": float(np.sqrt(np.mean(resid**2))),
        "mape": mape,
        "n": len(actual),
    }


def print_scores(rows: dict[str, dict[str, float]], y: str) -> None:
    table = Table(title=f"prediction of {escape(printable(y))}", title_justify="left")
    for column in ("rows", "n", "R²", "RMSE", "MAPE %"):
        table.add_column(column, justify="left" if column == "rows" else "right")
    for label, s in rows.items():
        table.add_row(
            escape(printable(label)), str(s["n"]), num(s["r2"], ".4f"), num(s["rmse"], ".4g"),
            num(s["mape"], ".3g"),
        )  # fmt: skip
    console.print(table)


def predict_table(
    model: ScalingLaw,
    doc: dict[str, Any],
    table: Path,
    *,
    out: Path | None,
    level: float,
    y: list[str] | str | None,
    where: str | None = None,
    fit_file: str = "the fit file",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The table with prediction, lower and upper columns (a joint fit: prediction_OUT,
    lower_OUT, upper_OUT per output OUT), and the payload of the command. A prediction that
    overflows fails, naming the table's data row (`check_overflow`)."""
    import numpy as np

    from scalinglab.io import file_row, fit_variables, numeric_columns, read_table
    from scalinglab.laws.joint import JointFormulaLaw

    check_out(out)
    measured = [y] if isinstance(y, str) else list(y or [])
    joint = isinstance(model, JointFormulaLaw)
    if joint:
        assert isinstance(model, JointFormulaLaw)
        outputs = list(model.outputs)
        for name in measured:
            if name not in outputs:
                fail(f"--y {name}: not an output of this fit; its outputs are {', '.join(outputs)}")
        names = list(model.input_variables)
    else:
        outputs = [""]
        if len(measured) > 1:
            fail(f"this fit predicts one column; give one --y, not {len(measured)}")
        names = fit_variables(model, doc)
    df = read_table(table, where=where)
    result = df.copy()
    payload: dict[str, Any] = {
        "law": model.name,
        "table": str(table),
        "where": where,
        "rows": len(result),
        "level": level,
        "out": None if out is None else str(out),
    }
    X = table_inputs(model, names, df, str(table))
    predicted: dict[str, np.ndarray] = {}
    for j, output in enumerate(outputs):
        if joint:
            assert isinstance(model, JointFormulaLaw)
            Xj = model.with_output(X, j)
        else:
            Xj = X
        prediction, lower, upper = _predict_with_band(model, Xj, level)
        check_overflow(
            prediction, fit_file, lambda i: f"data row {file_row(df, i)} of {table}", output
        )
        suffix = f"_{output}" if joint else ""
        for column, values in (("prediction", prediction), ("lower", lower), ("upper", upper)):
            result[column + suffix] = values
            if joint:
                payload.setdefault(column, {})[output] = np.asarray(values).tolist()
            else:
                payload[column] = np.asarray(values).tolist()
        predicted[output] = prediction
    payload["outputs"] = outputs if joint else []
    payload["columns"] = [f"{c}_{o}" if joint else c for o in outputs
                          for c in ("prediction", "lower", "upper")]  # fmt: skip
    if measured:
        group = None
        if getattr(model, "groups", None):
            group = model.group_column if isinstance(model, JointFormulaLaw) else names[-1]
        all_scores: dict[str, dict[str, Any]] = {}
        for name in measured:
            actual = numeric_columns(df, [name], source=str(table))[:, 0]
            prediction = predicted[name if joint else ""]
            metrics = {"all rows": scores(prediction, actual)}
            if group is not None:
                labels = df[group].astype(str).to_numpy()
                for label in sorted(set(labels.tolist())):
                    rows = labels == label
                    metrics[f"{group} = {label}"] = scores(prediction[rows], actual[rows])
            all_scores[name] = metrics
        payload["y"] = measured if joint else measured[0]
        payload["metrics"] = all_scores if joint else all_scores[measured[0]]
        payload["scores"] = all_scores
    return result, payload


def _predict_with_band(
    model: ScalingLaw, X: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prediction, lower and upper at X (NaN bounds when the fit has no draws)."""
    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        prediction = model.predict(X)
        has_draws = model.bootstrap_params_ is not None or model.calibration_ is not None
        if not has_draws and model.covariance_ is not None:
            has_draws = bool(np.all(np.isfinite(model.covariance_)))
        lower = upper = np.full(len(prediction), np.nan)
        if has_draws:
            lower, upper = model.predict_interval(X, level=level)
    return prediction, np.asarray(lower), np.asarray(upper)


def check_overflow(
    prediction: np.ndarray, fit_file: str, where: Callable[[int], str], output: str = ""
) -> None:
    """Fail, naming the first point (`where(i)`), if the law's prediction overflows to ±inf
    there: finite parameters that do that (an exponent of 400, a coefficient of 1e300) are a
    broken fit file, not a prediction to show."""
    import numpy as np

    over = np.flatnonzero(np.isinf(prediction))
    if over.size:
        of = f" of {output}" if output else ""
        more = f" and {over.size - 1} more" if over.size > 1 else ""
        fail(
            f"{fit_file}: the law's prediction{of} overflows at {where(int(over[0]))}{more}; "
            "the parameters in this fit file are probably wrong: check them, or refit with "
            "`scalinglab fit ... --json`"
        )


def print_predicted_table(
    result: pd.DataFrame, names: list[str], y: list[str], level: float, outputs: list[str]
) -> None:
    shown = result.head(SHOWN_ROWS)
    table = Table(title=f"predictions ({level:.0%} interval)", title_justify="left")
    columns = [c for c in dict.fromkeys([*names, *y]) if c in result.columns]
    suffixes = [f"_{o}" for o in outputs] or [""]
    for c in columns:
        table.add_column(escape(printable(str(c))), justify="right")
    for suffix in suffixes:
        table.add_column(escape("prediction" + suffix), justify="right")
        table.add_column(escape("interval" + suffix), justify="right")
    for _, row in shown.iterrows():
        cells = [
            num(row[c]) if isinstance(row[c], int | float) else escape(printable(str(row[c])))
            for c in columns
        ]
        for suffix in suffixes:
            cells.append(num(float(row["prediction" + suffix]), ".6g"))
            cells.append(span((float(row["lower" + suffix]), float(row["upper" + suffix])), ".6g"))
        table.add_row(*cells)
    console.print(table)
    if len(result) > SHOWN_ROWS:
        console.print(f"... {len(result) - SHOWN_ROWS} more rows (--out FILE.csv writes them all)")
