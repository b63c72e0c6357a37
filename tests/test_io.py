"""scalinglab.io: reading result tables and fit files, and every way a user's file can be wrong.

Each failure is a ScalingLabError with one line naming the file or column and the problem.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from scalinglab.errors import ScalingLabError
from scalinglab.io import fit_variables, load_fit, numeric_columns, read_table
from scalinglab.laws import get_law

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
# read_table: what is not a table
# --------------------------------------------------------------------------------------------
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


def test_fit_variables_of_a_one_variable_law() -> None:
    law = get_law("power")()
    assert fit_variables(law, {"x": "shard_size"}) == ["shard_size"]
    assert fit_variables(law, {"x": ["shard_size"]}) == ["shard_size"]
    with refused("lists 2 x column"):
        fit_variables(law, {"x": ["a", "b"]})
