"""The test-time table reader (`tradeoff_runs`): random study tables, with text, empty cells,
NaN, inf, negative and huge numbers where the measurements go, become the long table of
(train_compute, samples, test_compute, coverage) or one clear ScalingLabError."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalinglab.errors import ScalingLabError
from scalinglab.io import read_table
from scalinglab.planning.test_time import TEST_FLOPS_COLUMN, fit_tradeoff, tradeoff_runs

OUT = ["train_compute", "samples", "test_compute", "coverage"]
_clean = st.one_of(
    st.floats(-1e15, 1e15, allow_nan=False),
    st.integers(-(10**6), 10**6),
    st.sampled_from([math.inf, -math.inf, 10**400, -(10**400), 2**70]),  # numbers all the same
)
_empty = st.sampled_from([None, math.nan, ""])
_text = st.one_of(
    st.sampled_from(["abc", "1e12 FLOPs", "40%", "n/a", "--", "[1]"]), st.text(max_size=4)
)
_other = st.sampled_from([" 3 ", "1e3", "inf", "nan", "-1", "0x10", "1_000", True, np.int8(3)])
_states = st.one_of(
    st.just("COMPLETE"),
    st.sampled_from(["FAIL", "RUNNING", "PRUNED", "complete", "COMPLETE ", "", None, math.nan, 1]),
)
# Columns that look like coverage columns but are not pass_k{k} with k a (short) ASCII number.
_not_pass = ["pass_k", "pass_kx", "pass_k²", "pass_k١", "pass_k-1", "pass_k 2", "Pass_k1", 7]
_not_pass.append("pass_k" + "9" * 40)


@st.composite
def study_tables(draw: st.DrawFn) -> tuple[pd.DataFrame, list[str]]:
    """A `test_time` study's table (one row per trial, a pass_k column per sample count), clean
    numbers at first, then up to four cells made hostile; and the pass_k columns it has."""
    n = draw(st.integers(0, 5))
    some = draw(st.integers(0, 5)) > 0  # mostly a table with pass_k columns
    ks = draw(
        st.lists(st.sampled_from([1, 2, 4, 8, 16, 32]), unique=True, min_size=some, max_size=4)
    )
    pass_cols = [f"pass_k{k}" for k in ks]
    names: list[Any] = [
        *pass_cols,
        *draw(st.lists(st.sampled_from(_not_pass), unique=True, max_size=2)),
    ]
    for name in ("flops", TEST_FLOPS_COLUMN, "seed", "shard_size"):
        if draw(st.integers(0, 9)) > (0 if name in ("flops", TEST_FLOPS_COLUMN) else 5):
            names.append(name)
    names = draw(st.permutations(names))
    table: dict[Any, list[Any]] = {c: draw(st.lists(_clean, min_size=n, max_size=n)) for c in names}
    if draw(st.booleans()):
        table["state"] = draw(st.lists(_states, min_size=n, max_size=n))
    if n and table:
        for _ in range(draw(st.integers(0, 4))):
            column = draw(st.sampled_from(sorted(table, key=str)))
            row = draw(st.integers(0, n - 1))
            table[column][row] = draw(st.one_of(_empty, _text, _other, _clean))
    return pd.DataFrame(table, index=range(n)), pass_cols


def _number(value: Any) -> float | None:
    """A cell as the float it plainly is (an integer beyond floats as inf), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, int) and abs(value) > sys.float_info.max:
        return math.inf if value > 0 else -math.inf
    return float(value)


def _is_missing_or_text(value: Any) -> bool:
    """An empty cell, or text that is not a number in any spelling."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    if not isinstance(value, str):
        return False
    try:
        float(value.replace("_", "x"))
    except ValueError:
        return True
    return False


@settings(max_examples=200, deadline=None)
@given(study_tables())
def test_a_random_study_table_reads_as_runs_or_one_clean_error(
    drawn: tuple[pd.DataFrame, list[str]],
) -> None:
    df, pass_cols = drawn
    needed = ["flops", TEST_FLOPS_COLUMN, *pass_cols]
    structured = bool(pass_cols) and {"flops", TEST_FLOPS_COLUMN} <= set(df.columns)
    finished = (
        [r for r in range(len(df)) if df["state"].iloc[r] == "COMPLETE"]
        if "state" in df.columns
        else list(range(len(df)))
    )
    cells = [df[c].iloc[r] for c in needed if c in df.columns for r in finished]
    try:
        out = tradeoff_runs(df)
    except ScalingLabError as exc:
        message = str(exc)
        assert message.strip() and "\n" not in message
        if not structured:
            assert message.startswith("no test-time column")
        elif not finished:
            assert "no finished trials" in message
        else:  # a finished trial's measurement was not a number: the message names its column
            assert not all(_number(v) is not None for v in cells), message
            assert any(f"column {c!r}" in message for c in needed), message
        return
    # It read the table: so it had the columns, a finished trial, and no empty or text cell in
    # a finished trial's measurements; and it gave one row per (finished trial, pass_k column).
    assert structured and finished
    assert not any(_is_missing_or_text(v) for v in cells)
    assert list(out.columns) == [c for c in ("seed", "shard_size") if c in df.columns] + OUT
    assert len(out) == len(finished) * len(pass_cols)
    assert not out[OUT].isna().to_numpy().any()
    if all(_number(v) is not None for v in cells):
        expected = sorted(
            (
                _number(df["flops"].iloc[r]),
                int(c.removeprefix("pass_k")),
                int(c.removeprefix("pass_k")) * _number(df[TEST_FLOPS_COLUMN].iloc[r]),
                _number(df[c].iloc[r]),
            )
            for c in pass_cols
            for r in finished
        )
        got = sorted(tuple(row) for row in out[OUT].itertuples(index=False))
        assert got == expected
    keys = list(zip(out["train_compute"], out["samples"], strict=True))
    assert keys == sorted(keys)  # sorted by train compute, then samples


@settings(max_examples=200, deadline=None)
@given(study_tables())
def test_a_clean_table_reads_whatever_other_columns_say(
    drawn: tuple[pd.DataFrame, list[str]],
) -> None:
    """Every measurement of every finished trial a number: the table always reads, and the
    columns that are not pass_k{k} columns (pass_k², pass_kx, ...) change nothing."""
    df, pass_cols = drawn
    needed = ["flops", TEST_FLOPS_COLUMN, *pass_cols]
    if not (pass_cols and {"flops", TEST_FLOPS_COLUMN} <= set(df.columns)):
        return
    rows = df["state"] == "COMPLETE" if "state" in df.columns else pd.Series(True, df.index)
    if not rows.any() or not all(
        _number(v) is not None for v in df.loc[rows, needed].to_numpy().ravel()
    ):
        return
    out = tradeoff_runs(df)
    plain = tradeoff_runs(df.drop(columns=[c for c in _not_pass if c in df.columns]))
    pd.testing.assert_frame_equal(out, plain)


@settings(max_examples=100, deadline=None)
@given(drawn=study_tables())
def test_a_random_study_csv_reads_as_runs_or_one_clean_error(
    drawn: tuple[pd.DataFrame, list[str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The same tables as files: what `scalinglab tradeoff TABLE` reads (read_table, then
    tradeoff_runs) is runs or one line, whatever pandas makes of the cells."""
    df, _ = drawn
    path: Path = tmp_path_factory.getbasetemp() / "study.csv"
    df.to_csv(path, index=False)
    try:
        out = tradeoff_runs(read_table(path))
    except ScalingLabError as exc:
        assert str(exc).strip() and "\n" not in str(exc)
    else:
        assert set(OUT) <= set(out.columns) and len(out) > 0
        assert not out[OUT].isna().to_numpy().any()


@pytest.mark.parametrize(
    ("columns", "needle"),
    [
        (["pass_k²"], "no test-time column"),  # a superscript digit: int() would fail
        (["pass_k" + "9" * 5000], "no test-time column"),  # beyond int()'s digit limit
        (["pass_k1", "pass_k1"], "more than one column named 'pass_k1'"),
        (["pass_k1", "flops"], "more than one column named 'flops'"),
        (["pass_k1", "state", "state"], "more than one column named 'state'"),
    ],
)
def test_odd_column_names_get_one_line(columns: list[str], needle: str) -> None:
    names = ["flops", TEST_FLOPS_COLUMN, *columns]
    row = [1e12, 1e5, *("COMPLETE" if c == "state" else 0.5 for c in columns)]
    with pytest.raises(ScalingLabError, match=needle):
        tradeoff_runs(pd.DataFrame([row], columns=names))


def test_a_column_named_by_a_number_is_not_a_pass_k_column() -> None:
    df = pd.DataFrame({"flops": [1e12], TEST_FLOPS_COLUMN: [1e5], "pass_k2": [0.5], 3: [0.7]})
    out = tradeoff_runs(df)
    assert list(out["samples"]) == [2] and list(out["coverage"]) == [0.5]


def test_a_number_of_hundreds_of_digits_is_inf_not_an_overflow(tmp_path: Path) -> None:
    """pandas reads a 400-digit integer as a Python int; it is the number inf, as 1e400 is."""
    path = tmp_path / "study.csv"
    big = "1" + "0" * 400
    path.write_text(f"flops,{TEST_FLOPS_COLUMN},pass_k1\n1e12,1e5,0.5\n{big},1e5,0.6\n")
    out = tradeoff_runs(read_table(path))
    assert list(out["train_compute"]) == [1e12, math.inf]
    long = pd.DataFrame({"train_compute": [1e12, 10**400], "test_compute": [1e5, 1e5]})
    with pytest.raises(ScalingLabError, match="column 'train_compute' has 1 missing"):
        tradeoff_runs(long.assign(coverage=[0.5, 0.6]))


@pytest.mark.parametrize(
    ("coverage", "needle"),
    [
        ([0.0, 0.0, 0.0], "every coverage is 0: no run solved a problem"),
        ([1.0, 1.0, 1.0], "every coverage is 1"),
        ([0.0, 1.0, 1.0], r"every coverage is 1 \(rows with 0 are left out\)"),
    ],
)
def test_a_table_without_partial_coverage_names_which_end_it_sits_at(
    coverage: list[float], needle: str
) -> None:
    table = pd.DataFrame(
        {"train_compute": [1e10, 1e11, 1e12], "test_compute": [1e5] * 3, "coverage": coverage}
    )
    with pytest.raises(ScalingLabError, match=needle):
        fit_tradeoff(table, n_bootstrap=0)
