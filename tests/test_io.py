"""scalinglab.io: reading result tables and fit files, and every way a user's file can be wrong.

Each failure is a ScalingLabError with one line naming the file or column and the problem.
"""

from __future__ import annotations

import copy
import json
import math
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalinglab.errors import ScalingLabError
from scalinglab.expr import parse_filter
from scalinglab.io import fit_variables, load_fit, numeric_columns, read_table, write_table
from scalinglab.laws import get_law
from tests.audit import no_code_runs

RUNS = pd.DataFrame({"params": [1e6, 2e6, 4e6], "tokens": [1e8, 2e8, 4e8], "loss": [3.0, 2.8, 2.6]})


def refused(match: str) -> Any:
    """pytest.raises for a ScalingLabError whose message matches `match`."""
    return pytest.raises(ScalingLabError, match=match)


def one_line(info: pytest.ExceptionInfo[ScalingLabError]) -> None:
    message = str(info.value)
    assert message.strip() and "\n" not in message


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


# --------------------------------------------------------------------------------------------
# read_table: formats
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".CSV", ".tsv", ".parquet", ".pq"])
def test_reads_every_table_format(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"runs{suffix}"
    if suffix.lower() in (".parquet", ".pq"):
        RUNS.to_parquet(path)
    else:
        RUNS.to_csv(path, sep="\t" if suffix == ".tsv" else ",", index=False)
    df = read_table(path)
    pd.testing.assert_frame_equal(df, RUNS)


def test_a_file_without_a_known_suffix_reads_as_csv(tmp_path: Path) -> None:
    path = tmp_path / "runs.txt"
    RUNS.to_csv(path, index=False)
    pd.testing.assert_frame_equal(read_table(str(path)), RUNS)


def test_where_filters_rows(tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    RUNS.to_csv(path, index=False)
    df = read_table(path, where="params >= 2e6")
    assert list(df["params"]) == [2e6, 4e6]
    with refused(r"no rows of .*runs\.csv match") as info:
        read_table(path, where="params > 1e9")
    one_line(info)


# --------------------------------------------------------------------------------------------
# read_table --where: text that looks like code, and random filters
# --------------------------------------------------------------------------------------------
TABLE = pd.DataFrame(
    {
        "params": [1e6, 2e6, 4e6, np.nan, 8e6],
        "loss": [3.0, 2.8, 2.6, 2.5, -1.0],
        "data": ["c4", "oscar", "c4", "a b", "x"],
        "epoch_outlier": [0, 1, 0, 0, 1],
        "Seen Examples": [10, 20, 30, 40, 50],
        "open": [1, 2, 3, 4, 5],  # named like a builtin: still only a column
    }
)
# Each creates MARKER when handed to eval or exec or, the '@' ones, to DataFrame.query (checked
# once by hand): reading the filter as code would show.
CODE_LIKE = [
    "__import__('pathlib').Path('MARKER').touch() is None",
    "open('MARKER', 'w').close() is None",
    "params > 0 and [open('MARKER', 'w') for _ in [1]] == []",
    "params < 0 or __import__('os').system('touch MARKER') == 0",
    "exec(\"open('MARKER', 'w')\") is None",
    "(lambda: open('MARKER', 'w'))() is None",
    "getattr(__import__('builtins'), 'open')('MARKER', 'w') is None",
    "@pd.io.common.os.system('touch MARKER') == 0",
    "params > 0 & @pd.io.common.os.system('touch MARKER') == 0",
    "`params` < 0 or @pd.io.common.os.system('touch MARKER') == 0",
    "params > 0\n__import__('os').system('touch MARKER')",
    "params > 0; open('MARKER', 'w')",
    "data == '\\'' or open('MARKER', 'w') is None",
    "(x := open('MARKER', 'w')) is None",
    "f\"{open('MARKER', 'w')}\" == ''",
    "[*map(open, ['MARKER'], ['w'])] == []",
]


@pytest.fixture(scope="module")
def table_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("where") / "runs.csv"
    TABLE.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("text", CODE_LIKE)
def test_where_that_looks_like_code_is_refused_and_never_run(
    text: str, table_csv: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    with refused("--where") as info:
        read_table(table_csv, where=text.replace("MARKER", str(marker)))
    one_line(info)
    assert not marker.exists()


WORDS = ["and", "or", "&", "|"]
WHERE_PIECES = [
    *("params", "loss", "data", "`Seen Examples`", "`", "'", '"', "(", ")", "[", "]", ",", "."),
    *(" ", "==", "<", ">=", "!", "=", "+", "-", "*", "**", "/", "@", "^", "~", " and ", " or "),
    *(" not ", " in ", "1", "0", "1e7", "9**9**9", "c4", "__", "lambda", ":", "\\", "\n", "é"),
]
_operands = st.sampled_from(
    [
        *("params", "loss", "data", "epoch_outlier", "`Seen Examples`", "open", "`open`"),
        *("nope", "`no such`", "0", "1", "-3", "2.5", "1e7", "1e999", "9**9**9", "10**400"),
        *("1" + "0" * 400, "'c4'", "''", '"a b"', "True", "None", "[1, 'c4']", "(2.5,)"),
    ]
)
_arithmetic = st.recursive(
    _operands,
    lambda inner: st.one_of(
        st.builds(
            lambda a, op, b: f"({a} {op} {b})",
            inner,
            st.sampled_from(["+", "-", "*", "/", "//", "%", "**"]),
            inner,
        ),
        st.builds(lambda a: f"-{a}", inner),
    ),
    max_leaves=4,
)
_comparisons = st.builds(
    lambda a, op, b: f"{a} {op} {b}",
    _arithmetic,
    st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not in", "is"]),
    _arithmetic,
)
_conditions = st.recursive(
    _comparisons,
    lambda inner: st.one_of(
        st.builds(lambda a, op, b: f"({a}) {op} ({b})", inner, st.sampled_from(WORDS), inner),
        st.builds(lambda op, a: f"{op}({a})", st.sampled_from(["not ", "~"]), inner),
    ),
    max_leaves=4,
)
_where_text = st.one_of(
    st.text(max_size=40),
    _conditions,
    st.lists(st.sampled_from([*CODE_LIKE, *WHERE_PIECES]), max_size=10).map("".join),
)


@settings(max_examples=200, deadline=None)
@given(text=_where_text)
def test_any_where_keeps_the_rows_it_selects_or_fails_in_one_line(
    text: str, table_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """read_table(where=...) keeps exactly the rows the filter's mask selects, unchanged, or
    raises the filter's one-line error (or says no row matches); nothing in it ever runs."""
    marker = tmp_path_factory.getbasetemp() / "where-pwned"
    where = text.replace("MARKER", str(marker))
    full = read_table(table_csv)
    mask, error = None, None
    with no_code_runs("the --where filter"):
        try:
            mask = parse_filter(where).mask(full).to_numpy() if where else None
        except ScalingLabError as exc:
            error = str(exc)
    try:
        df = read_table(table_csv, where=where)
    except ScalingLabError as exc:
        message = str(exc)
        assert message.strip() and "\n" not in message
        if error is None:
            assert mask is not None and not mask.any()
            assert message.startswith(f"no rows of {table_csv} match the filter")
        else:
            assert message == error and "--where" in message
    else:
        assert error is None
        expected = full if mask is None else full[mask]
        pd.testing.assert_frame_equal(df, expected)
        pd.testing.assert_frame_equal(df, full.loc[df.index])  # rows as they were in the file
    assert not marker.exists()


# --------------------------------------------------------------------------------------------
# read_table: what is not a table
# --------------------------------------------------------------------------------------------
def test_a_bad_value_is_named_by_its_row_in_the_file_after_where(tmp_path: Path) -> None:
    """numeric_columns names the file's data row, not the row's place among those --where kept
    (it said data row 2 here, where the empty y is the file's fourth)."""
    path = tmp_path / "runs.csv"
    path.write_text("x,y\n1,1\n2,2\n3,3\n4,\n5,5\n")
    with pytest.raises(ScalingLabError, match=r"first at data row 4\)"):
        numeric_columns(read_table(path, where="x > 2"), ["x", "y"])
    with pytest.raises(ScalingLabError, match=r"first at data row 4\)"):
        numeric_columns(read_table(path), ["x", "y"])


def test_missing_file(tmp_path: Path) -> None:
    with refused("no such file") as info:
        read_table(tmp_path / "nope.csv")
    one_line(info)


def test_directory(tmp_path: Path) -> None:
    with refused("is a directory") as info:
        read_table(tmp_path)
    one_line(info)


@pytest.mark.parametrize(
    ("text", "match"),
    [("", "is empty"), ("\n\n", "is empty"), ("params,loss\n", "no data rows")],
    ids=["zero-bytes", "blank-lines", "header-only"],
)
def test_empty_files(tmp_path: Path, text: str, match: str) -> None:
    with refused(match) as info:
        read_table(write(tmp_path / "runs.csv", text))
    one_line(info)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("fit.json", '{"law": "power", "params": {"a": 1, "b": -0.3}}'),
        ("fit.csv", '  {"law": "power", "params": {"a": 1, "b": -0.3}}'),  # JSON behind .csv
        ("rows.txt", '[{"params": 1, "loss": 2}]'),  # a JSON array is not a table either
        ("broken.json", "params,loss\n1,2\n"),  # the suffix alone says JSON
    ],
)
def test_json_is_not_a_table(tmp_path: Path, name: str, text: str) -> None:
    with refused("is a JSON file") as info:
        read_table(write(tmp_path / name, text))
    one_line(info)


def test_parquet_suffix_is_trusted_not_sniffed(tmp_path: Path) -> None:
    # A .parquet file starting with "{" is not taken for JSON: it is a broken Parquet file.
    with refused(r"cannot read .*\.parquet as a table") as info:
        read_table(write(tmp_path / "runs.parquet", '{"not": "parquet"}'))
    one_line(info)


@pytest.mark.parametrize(
    "content",
    [b"a,b\n1,2\n3,4,5,6\n", b"\xff\xfe\x00\x01garbage\n\x80\x81\n"],
    ids=["ragged-rows", "not-text"],
)
def test_unreadable_csv(tmp_path: Path, content: bytes) -> None:
    with refused(r"cannot read .*runs\.csv as a table") as info:
        read_table(write(tmp_path / "runs.csv", content))
    one_line(info)


# --------------------------------------------------------------------------------------------
# read_table: column names
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_duplicate_columns_are_refused(tmp_path: Path, suffix: str) -> None:
    sep = "\t" if suffix == ".tsv" else ","
    text = sep.join(["loss", "params", "loss"]) + "\n" + sep.join(["1", "2", "3"]) + "\n"
    with refused("more than one column named 'loss'") as info:
        read_table(write(tmp_path / f"runs{suffix}", text))
    one_line(info)


def test_a_name_like_pandas_renaming_is_not_a_duplicate(tmp_path: Path) -> None:
    # pandas would call a repeated "x" "x.1"; a real column "x.1" beside "x" is fine.
    df = read_table(write(tmp_path / "runs.csv", "x,x.1\n1,2\n"))
    assert list(df.columns) == ["x", "x.1"]


def test_blank_column_names_are_not_duplicates(tmp_path: Path) -> None:
    df = read_table(write(tmp_path / "runs.csv", "x,,\n1,2,3\n"))
    assert len(df.columns) == 3 and df.columns[0] == "x"


# --------------------------------------------------------------------------------------------
# numeric_columns
# --------------------------------------------------------------------------------------------
def test_numeric_columns_in_the_order_asked() -> None:
    out = numeric_columns(RUNS, ["loss", "params"])
    assert out.dtype == np.float64 and out.shape == (3, 2)
    np.testing.assert_array_equal(out[:, 0], RUNS["loss"])
    np.testing.assert_array_equal(out[:, 1], RUNS["params"])


def test_numeric_strings_are_numbers() -> None:
    df = pd.DataFrame({"x": ["1e3", " 2.5", "7"]})
    np.testing.assert_array_equal(numeric_columns(df, ["x"])[:, 0], [1e3, 2.5, 7.0])


def test_unknown_column_names_the_source_and_its_columns() -> None:
    with refused(r"runs\.csv has no column 'flops'; its columns are: params, tokens, loss") as i:
        numeric_columns(RUNS, ["params", "flops"], source="runs.csv")
    one_line(i)


@pytest.mark.parametrize(
    "bad",
    [np.nan, None, "abc", "", np.inf, -np.inf, "1,5"],
    ids=["nan", "none", "text", "empty", "inf", "-inf", "comma-decimal"],
)
def test_missing_or_non_numeric_values_name_column_count_and_row(bad: Any) -> None:
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [1.0, bad, bad]}, dtype=object)
    with refused(r"column 'y' has 2 missing, non-numeric, NaN or inf value\(s\) .*data row 2") as i:
        numeric_columns(df, ["x", "y"])
    one_line(i)


def test_nan_read_from_a_csv_is_reported(tmp_path: Path) -> None:
    df = read_table(write(tmp_path / "runs.csv", "x,y\n1,2\n2,\n3,NaN\n4,n/a\n"))
    with refused(r"column 'y' has 3 .*data row 2"):
        numeric_columns(df, ["y"])


# --------------------------------------------------------------------------------------------
# load_fit and fit_variables
# --------------------------------------------------------------------------------------------
def _fit_doc() -> dict[str, Any]:
    x = np.geomspace(1e3, 1e6, 8)
    law = get_law("power_const")().fit(x[:, None], 3.0 * x**-0.3 + 0.1)
    return {**law.to_dict(), "x": "shard_size", "y": "loss"}


def test_load_fit_round_trips_a_written_fit(tmp_path: Path) -> None:
    doc = _fit_doc()
    path = write(tmp_path / "fit.json", json.dumps(doc))
    law, data = load_fit(path)
    assert data == json.loads(json.dumps(doc))
    assert law.name == "power_const" and law.params_ == pytest.approx(doc["params"])
    at = np.array([[1e7]])
    expected = get_law("power_const").from_dict(doc).predict(at)
    np.testing.assert_allclose(law.predict(at), expected, rtol=1e-12)
    assert fit_variables(law, data) == ["shard_size"]


def test_a_hand_written_fit_needs_only_law_and_params(tmp_path: Path) -> None:
    path = write(tmp_path / "fit.json", '{"law": "power", "params": {"a": 2.0, "b": -0.5}}')
    law, data = load_fit(path)
    assert law.predict(np.array([[4.0]]))[0] == pytest.approx(1.0)
    assert fit_variables(law, data) == ["x"]  # the law's own variable names


POWER = '"law": "power", "params": {"a": 1, "b": -0.3}'


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("gone.json", None, "no such fit file"),
        ("runs.csv", "params,loss\n1,2\n", "is not a fit file"),
        ("runs.parquet", '{"law": "power"}', "is not a fit file"),  # a table suffix
        ("fit.txt", "law = power\n", "is not a fit file"),  # not JSON at all
        ("fit.json", '{"law": "power", "params": ', "is not a valid JSON fit file"),
        ("fit.json", "[1, 2, 3]", "must hold a JSON object"),
        ("fit.json", '{"law": "power"}', "has no 'params'"),
        ("fit.json", '{"law": "nope", "params": {}}', "unknown law 'nope'"),
        ("fit.json", '{"law": "power", "params": {"a": 1}}', r"missing \['b'\]"),
        ("fit.json", '{"law": "power", "params": {"a": 1, "b": "x"}}', "must be a number"),
        # found by the property tests below: each was an exception other than ScalingLabError
        ("fit.json", '{"law": "power", "params": null}', "has no 'params'"),
        ("fit.json", f'{{"law": "power", "params": {{"a": 1{"0" * 400}, "b": 1}}}}', "finite"),
        ("fit.json", f'{{{POWER}, "stderr": {{"a": 1{"0" * 400}}}}}', "'stderr' is malformed"),
        ("fit.json", f'{{{POWER}, "n_points": Infinity}}', "'n_points' is malformed"),
        ("fit.json", f'{{{POWER}, "options": {{"bounds": "a"}}}}', "option 'bounds' in a fit"),
        (
            "fit.json",
            f'{{{POWER}, "calibration": {{"noise": 1{"0" * 400}, "scores": [], "x_max": 1}}}}',
            "a calibration in a fit file must hold finite numbers",
        ),
    ],
)
def test_load_fit_refuses_what_is_not_a_fit(
    tmp_path: Path, name: str, text: str | None, match: str
) -> None:
    path = tmp_path / name
    if text is not None:
        write(path, text)
    with refused(match) as info:
        load_fit(path)
    one_line(info)


def test_load_fit_refuses_a_directory(tmp_path: Path) -> None:
    with refused("is a directory, not a fit file") as info:
        load_fit(tmp_path)
    one_line(info)


@pytest.mark.parametrize(
    ("x", "expected"),
    [(["params", "tokens"], ["params", "tokens"]), (("N", "D"), ["N", "D"]), (None, None)],
)
def test_fit_variables(x: Any, expected: list[str] | None) -> None:
    law = get_law("chinchilla")()
    doc: dict[str, Any] = {} if x is None else {"x": x}
    assert fit_variables(law, doc) == (expected or list(law.variables))


def test_fit_variables_must_match_the_law() -> None:
    with refused(re.escape("fit file lists 1 x column(s) but law 'chinchilla' takes 2")) as info:
        fit_variables(get_law("chinchilla")(), {"x": "m"})
    one_line(info)


@pytest.mark.parametrize("x", [math.nan, 5, True, {"params": 1}])
def test_fit_variables_refuses_an_x_that_names_no_column(x: Any) -> None:
    with refused("fit file field 'x' must name the input column") as info:
        fit_variables(get_law("power")(), {"x": x})
    one_line(info)


def test_fit_variables_of_a_one_variable_law() -> None:
    law = get_law("power")()
    assert fit_variables(law, {"x": "shard_size"}) == ["shard_size"]
    assert fit_variables(law, {"x": ["shard_size"]}) == ["shard_size"]
    with refused("lists 2 x column"):
        fit_variables(law, {"x": ["a", "b"]})


# --------------------------------------------------------------------------------------------
# load_fit: property tests on random and mutated fit files
# --------------------------------------------------------------------------------------------
FIT_KEYS = [
    *("law", "variables", "options", "params", "stderr", "ci", "ci_level", "objective"),
    *("n_points", "residual_sd", "converged", "at_bounds", "warnings", "covariance"),
    *("bootstrap_params", "calibration", "interval_widening", "x", "y", "where", "x_range"),
]
LAW_NAMES = ["power", "power_const", "chinchilla", "formula", "bnsl", "nope", ""]
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(10**400), 10**400),  # beyond float range
    st.floats(),  # NaN and +-inf too: json writes them as NaN and Infinity
    st.text(max_size=8),
    st.sampled_from(["1e3", "NaN", "inf", "", "a", "b", "c", "x", "shard_size", *LAW_NAMES]),
)
_json_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=6), st.sampled_from(FIT_KEYS)), inner, max_size=4
        ),
    ),
    max_leaves=12,
)
# Documents shaped like a fit file: the known keys with random values.
_fit_like = st.fixed_dictionaries(
    {"law": st.one_of(st.sampled_from(LAW_NAMES), _json_values)},
    optional={key: _json_values for key in FIT_KEYS if key != "law"},
)


def _fit_cli(tmp: Path, *args: str) -> dict[str, Any]:
    from scalinglab.cli.app import run_app

    x = np.logspace(2, 6, 10)
    err = (4.0 * x**-0.35 + 0.05) * np.exp(0.01 * np.random.default_rng(0).standard_normal(10))
    curve = tmp / "curve.csv"
    pd.DataFrame({"shard_size": x, "err": err}).to_csv(curve, index=False)
    out = tmp / "fit.json"
    argv = ["fit", str(curve), *args, "--y", "err", "--bootstrap", "20", "--json", str(out)]
    assert run_app(argv) == 0
    return dict(json.loads(out.read_text()))


@pytest.fixture(scope="module")
def real_fits(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Fit files as `scalinglab fit --json` writes them: an auto fit (with its calibration and
    selection) and a formula fit (whose options hold the formula)."""
    tmp = tmp_path_factory.mktemp("fits")
    auto = ["--law", "auto", "--candidates", "power_const,power", "--x", "shard_size"]
    return [_fit_cli(tmp, *auto), _fit_cli(tmp, "--formula", "a * shard_size**-b + c")]


def _draw_path(data: st.DataObject, doc: Any) -> tuple[Any, ...]:
    """A path (dict keys, list indices) into a JSON value: a top-level field, then deeper with
    chance 2/3 at each level (so the many numbers of bootstrap_params do not crowd out the
    other fields); the root itself now and then."""
    path: tuple[Any, ...] = ()
    node = doc
    while isinstance(node, dict | list) and node and data.draw(st.integers(0, 2)) > (not path):
        key = data.draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))
        path, node = (*path, key), node[key]
    return path


_MUTATIONS = ["drop", "replace", "as_text", "wrap", "empty", "nan", "inf", "huge", "negative"]


def _mutate(doc: Any, path: tuple[Any, ...], kind: str, value: Any) -> Any:
    """The document with the value at `path` changed as `kind` says."""
    if not path:
        return value if kind == "replace" else [doc] if kind == "wrap" else doc
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    last, old = path[-1], parent[path[-1]]
    if kind == "drop":
        del parent[last]
        return doc
    new = {
        "replace": value,
        "as_text": json.dumps(old) if not isinstance(old, str) else old + "x",
        "wrap": [old],
        "empty": type(old)() if isinstance(old, list | dict | str) else None,
        "nan": math.nan,
        "inf": -math.inf if isinstance(old, int | float) and old < 0 else math.inf,
        "huge": 10**400,
        "negative": -old if isinstance(old, int | float) else -1,
    }[kind]
    parent[last] = new
    return doc


def _check_load(path: Path) -> None:
    """load_fit gives a law whose params are the file's (as finite floats) or one line."""
    try:
        law, data = load_fit(path)
        names = fit_variables(law, data)
    except ScalingLabError as exc:
        message = str(exc)
        assert message.strip() and "\n" not in message
        return
    assert isinstance(data, dict) and "params" in data
    assert set(law.params_) == set(law.param_names)
    for name, value in law.params_.items():
        assert isinstance(value, float) and math.isfinite(value)
        assert value == float(data["params"][name])
    assert len(names) == len(law.variables) and all(isinstance(n, str) for n in names)
    # what the file's readers do next: predict, with the interval the fit carries
    X = np.tile([[1e3], [1e7]], (1, len(law.variables)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a hand-edited fit may warn; it must not break
        try:
            assert law.predict(X).shape == (2,)
            lower, upper = law.predict_interval(X, 0.9)
            assert lower.shape == upper.shape == (2,)
        except ScalingLabError as exc:
            assert str(exc).strip() and "\n" not in str(exc)


@settings(max_examples=200, deadline=None)
@given(doc=st.one_of(_json_values, _fit_like))
def test_a_random_json_document_loads_as_a_fit_or_one_clean_error(
    doc: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.getbasetemp() / "random-fit.json"
    path.write_text(json.dumps(doc))
    _check_load(path)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_mutated_real_fit_file_loads_or_fails_in_one_line(
    data: st.DataObject, real_fits: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    doc = copy.deepcopy(data.draw(st.sampled_from(real_fits)))
    for _ in range(data.draw(st.integers(1, 3))):
        path = _draw_path(data, doc)
        kind = data.draw(st.sampled_from(_MUTATIONS))
        doc = _mutate(doc, path, kind, data.draw(_json_values) if kind == "replace" else None)
    text = json.dumps(doc, indent=1)
    if data.draw(st.integers(0, 9)) == 0:
        text = text[: data.draw(st.integers(0, len(text)))]  # a file cut short
    path = tmp_path_factory.getbasetemp() / "mutated-fit.json"
    path.write_text(text)
    _check_load(path)


def test_the_real_fit_files_load_unchanged(real_fits: list[dict[str, Any]], tmp_path: Path) -> None:
    """The mutation test's starting points are good fit files: what it changes is the cause."""
    for doc in real_fits:
        path = write(tmp_path / "fit.json", json.dumps(doc))
        law, data = load_fit(path)
        assert law.params_ == doc["params"] and data == doc
        assert fit_variables(law, data) == ["shard_size"]


# --------------------------------------------------------------------------------------------
# Found by fuzzing
# --------------------------------------------------------------------------------------------
def test_a_gzipped_csv_reads(tmp_path: Path) -> None:
    path = tmp_path / "runs.csv.gz"
    RUNS.to_csv(path, index=False)  # pandas compresses by the suffix
    pd.testing.assert_frame_equal(read_table(path), RUNS)


@pytest.mark.parametrize("name", ["runs.csv.zip", "runs.csv.xz", "runs.csv.tar", "runs.csv.gz"])
def test_a_compressed_csv_that_is_not_one_is_one_line(tmp_path: Path, name: str) -> None:
    # once BadZipFile, LZMAError, tarfile.ReadError or EOFError tracebacks
    with refused(rf"cannot read .*{re.escape(name)} as a compressed CSV \(") as info:
        read_table(write(tmp_path / name, b"params,loss\n1,2\n"))
    one_line(info)


def test_a_truncated_gzip_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "runs.csv.gz"
    RUNS.to_csv(path, index=False)
    path.write_bytes(path.read_bytes()[:30])
    with refused("as a compressed CSV") as info:
        read_table(path)
    one_line(info)


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_a_path_too_long_is_named_with_the_reason(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / ("a" * 5000 + suffix)
    with refused("…: file name too long") as info:
        read_table(path) if suffix == ".csv" else load_fit(path)
    one_line(info)


def test_a_csv_header_starting_with_a_bracket_is_a_table(tmp_path: Path) -> None:
    # "[N],loss" was taken for a JSON array: a .csv suffix decides
    df = read_table(write(tmp_path / "runs.csv", "[N],loss\n1,2\n2,1\n"))
    assert list(df.columns) == ["[N]", "loss"]


def test_duplicates_among_many_columns_are_found_fast(tmp_path: Path) -> None:
    # the check was quadratic: 200,000 columns hung it (pandas alone reads these in a second)
    names = [f"c{i}" for i in range(20_000)] + ["c7"]
    text = ",".join(names) + "\n" + ",".join("1" for _ in names) + "\n"
    with refused("more than one column named 'c7'") as info:
        read_table(write(tmp_path / "wide.csv", text))
    one_line(info)


def test_fit_variables_refuses_a_column_named_twice() -> None:
    with refused(re.escape("fit file field 'x' ['p', 'p'] names a column more than once")) as info:
        fit_variables(get_law("chinchilla")(), {"x": ["p", "p"]})
    one_line(info)


def test_write_table_round_trips_and_names_a_file_in_the_way(tmp_path: Path) -> None:
    df = pd.DataFrame({"n": [1, 2], "loss": [0.5, 0.25]})
    for name in ("deep/a.csv", "b.tsv", "c.parquet"):
        write_table(df, tmp_path / name)
        pd.testing.assert_frame_equal(read_table(tmp_path / name), df)
    (tmp_path / "afile").write_text("x")
    # the system says "File exists" or "Not a directory"; the message names the file instead
    with pytest.raises(ScalingLabError, match=r"afile is a file, not a directory$"):
        write_table(df, tmp_path / "afile" / "sub" / "t.csv")
    with pytest.raises(ScalingLabError, match="unknown table format"):
        write_table(df, tmp_path / "t.xlsx")
