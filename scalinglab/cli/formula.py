"""`scalinglab fit --formula` (a formula law fitted to a table, per group if asked) and
`scalinglab predict --table` (a whole table of runs predicted, with R², RMSE and MAPE)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from scalinglab.cli.app import console, fail
from scalinglab.display import num, span
from scalinglab.errors import FitWarning, ScalingLabError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from scalinglab.laws import ScalingLaw
    from scalinglab.laws.formula import FormulaLaw

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
            out[name] = (lower, upper)
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
    if group not in df.columns:
        known = ", ".join(map(str, df.columns))
        fail(f"{source} has no column {group!r} (--group); its columns are: {known}")
    labels_per_row = df[group].astype(str).to_numpy()
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


def group_summary(law: FormulaLaw, counts: dict[str, int]) -> dict[str, Any]:
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


def print_group_tables(law: FormulaLaw, group: str, y: str, x: list[str]) -> None:
    """One parameter table per group (shared parameters marked)."""
    source = "bootstrap" if law.bootstrap_params_ is not None else "Gauss-Newton"
    console.print(
        f"[bold]formula[/]: {escape(law.formula)}   ({escape(y)} vs {escape(', '.join(x))}; "
        f"{law.n_points_} points; one fit per {escape(group)})",
        highlight=False,
    )
    for label in law.groups or ():
        table = Table(title=f"{group} = {label}", title_justify="left")
        table.add_column("parameter")
        table.add_column("value", justify="right")
        table.add_column(f"stderr ({source})", justify="right")
        table.add_column(f"{law.ci_level_:.0%} interval", justify="right")
        for base, full in law.group_param_names(label).items():
            table.add_row(
                escape(base + (" (shared)" if base == full else "")),
                num(law.params_[full], ".6g"),
                num(law.stderr_[full], ".6g"),
                span(law.ci_[full], ".6g"),
            )
        console.print(table)
    status = "converged" if law.converged_ else "[red]did NOT converge[/]"
    console.print(f"objective {law.objective} = {num(law.objective_, '.6g')}; {status}")
    for message in law.warnings_:
        console.print(f"[yellow]warning:[/] {escape(message)}")


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
    group indices."""
    import numpy as np

    from scalinglab.io import numeric_columns
    from scalinglab.laws.formula import FormulaLaw

    if isinstance(model, FormulaLaw) and model.groups:
        group = names[-1]
        if group not in df.columns:
            known = ", ".join(map(str, df.columns))
            fail(f"{source} has no group column {group!r}; its columns are: {known}")
        X = numeric_columns(df, names[:-1], source=source)
        codes = model.group_codes(df[group].astype(str).tolist())
        return np.column_stack([X, codes])
    return numeric_columns(df, names, source=source)


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
    table = Table(title=f"prediction of {y}", title_justify="left")
    for column in ("rows", "n", "R²", "RMSE", "MAPE %"):
        table.add_column(column, justify="left" if column == "rows" else "right")
    for label, s in rows.items():
        table.add_row(
            escape(label), str(s["n"]), num(s["r2"], ".4f"), num(s["rmse"], ".4g"),
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
    y: str | None,
    where: str | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The table with prediction, lower and upper columns, and the payload of the command."""
    import numpy as np

    from scalinglab.io import fit_variables, numeric_columns, read_table

    check_out(out)
    df = read_table(table, where=where)
    names = fit_variables(model, doc)
    X = table_inputs(model, names, df, str(table))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        prediction = model.predict(X)
        has_draws = model.bootstrap_params_ is not None or model.calibration_ is not None
        if not has_draws and model.covariance_ is not None:
            has_draws = bool(np.all(np.isfinite(model.covariance_)))
        lower = upper = np.full(len(prediction), np.nan)
        if has_draws:
            lower, upper = model.predict_interval(X, level=level)
    result = df.copy()
    result["prediction"] = prediction
    result["lower"] = lower
    result["upper"] = upper
    payload: dict[str, Any] = {
        "law": model.name,
        "table": str(table),
        "where": where,
        "rows": len(result),
        "level": level,
        "out": None if out is None else str(out),
        "prediction": prediction.tolist(),
        "lower": np.asarray(lower).tolist(),
        "upper": np.asarray(upper).tolist(),
    }
    if y is not None:
        actual = numeric_columns(df, [y], source=str(table))[:, 0]
        metrics = {"all rows": scores(prediction, actual)}
        group = names[-1] if getattr(model, "groups", None) else None
        if group is not None:
            labels = df[group].astype(str).to_numpy()
            for label in sorted(set(labels.tolist())):
                rows = labels == label
                metrics[f"{group} = {label}"] = scores(prediction[rows], actual[rows])
        payload["y"] = y
        payload["metrics"] = metrics
    return result, payload


def write_table(df: pd.DataFrame, out: Path) -> None:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".csv":
            df.to_csv(out, index=False)
        else:
            df.to_parquet(out, index=False)
    except (OSError, ValueError, ImportError) as exc:
        fail(f"cannot write {out}: {exc}")


def print_predicted_table(
    result: pd.DataFrame, names: list[str], y: str | None, level: float
) -> None:
    shown = result.head(SHOWN_ROWS)
    table = Table(title=f"predictions ({level:.0%} interval)", title_justify="left")
    columns = [c for c in [*names, y] if c is not None and c in result.columns]
    for c in [*columns, "prediction", "interval"]:
        table.add_column(escape(str(c)), justify="right")
    for _, row in shown.iterrows():
        cells = [
            num(row[c]) if isinstance(row[c], int | float) else escape(str(row[c])) for c in columns
        ]
        cells.append(num(float(row["prediction"]), ".6g"))
        cells.append(span((float(row["lower"]), float(row["upper"])), ".6g"))
        table.add_row(*cells)
    console.print(table)
    if len(result) > SHOWN_ROWS:
        console.print(f"... {len(result) - SHOWN_ROWS} more rows (--out FILE.csv writes them all)")
