"""cli.ranges: the fitted range a fit file keeps, and the note saying how far past it an answer
lies (plan and predict print it)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scalinglab.cli.ranges import frame_range, law_note, points_note, range_note, x_range

DOC = {"x_range": {"N": [1e6, 1e9], "D": [1e8, 1e10]}}


def test_x_range_keeps_finite_values_and_skips_a_column_without_any() -> None:
    X = np.array([[1.0, np.nan], [10.0, np.nan], [np.inf, np.nan]])
    assert x_range(["a", "g"], X) == {"a": [1.0, 10.0]}
    df = pd.DataFrame({"a": [3.0, 1.0], "g": ["u", "v"]})
    assert frame_range(df, ["a", "g"]) == {"a": [1.0, 3.0]}


def test_range_note_gives_the_decades_above_and_below() -> None:
    assert range_note(DOC, {"N": 5e8, "D": 1e8}) is None  # inside, edges included
    note = range_note(DOC, {"N": 1e11, "D": 1e6}, {"N": "N_opt"})
    assert note == (
        "beyond the fitted data: N_opt = 1e+11 is 2 decades above the largest N (1e+09); "
        "D = 1e+06 is 2 decades below the smallest D (1e+08)"
    )


def test_points_note_reports_each_columns_farthest_value() -> None:
    X = np.array([[1e3, 1e9], [1e10, 1e9], [5e8, 1e9]])  # N: 3 decades below beats 1 above
    note = points_note(DOC, ["N", "D"], X)
    assert note == "beyond the fitted data: N = 1e+03 is 3 decades below the smallest N (1e+06)"


def test_a_fit_file_without_a_range_gives_no_note() -> None:
    assert range_note({}, {"N": 1e20}) is None
    assert points_note({"x_range": None}, ["N"], np.array([[1e20]])) is None


@given(
    st.one_of(
        st.none(),
        st.integers(),
        st.text(),
        st.lists(st.one_of(st.floats(), st.text(), st.booleans(), st.none()), max_size=3),
        st.dictionaries(st.text(max_size=3), st.lists(st.floats(), max_size=3), max_size=3),
    ),
    st.floats(),
    st.one_of(
        st.none(),
        st.just("N"),
        st.just(["N"]),
        st.lists(st.one_of(st.text(max_size=2), st.integers(), st.floats(), st.none()), max_size=3),
        st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    ),
)
def test_hand_edited_ranges_never_raise(bounds: Any, value: float, columns: Any) -> None:
    doc = {"x_range": {"N": bounds}, "x": columns}
    note = range_note(doc, {"N": value})
    assert note is None or "decade" in note  # "1 decade", else "decades"
    assert points_note(doc, ["N"], np.array([[value]])) in (None, note)
    # law_note (plan's notes): the law's variable "params" is the fit file's column x[0]
    labelled = range_note(doc, {"N": value}, {"N": "N_opt"})
    by_law = law_note(doc, ["params"], {"params": value}, {"params": "N_opt"})
    assert by_law == labelled if columns in ("N", ["N"]) else by_law in (None, labelled)


def test_law_note_names_the_columns_the_law_was_fitted_on() -> None:
    doc = {**DOC, "x": ["N", "D"]}
    note = law_note(doc, ["params", "tokens"], {"params": 1e10, "tokens": 5e9}, {"params": "N_opt"})
    assert note == "beyond the fitted data: N_opt = 1e+10 is 1 decade above the largest N (1e+09)"
    assert law_note(DOC, ["params", "tokens"], {"params": 1e10}) is None  # no "x": no column
    assert law_note({**DOC, "x": ["N"]}, ["params", "tokens"], {"params": 1e10}) is None


@pytest.mark.parametrize("value", [0.0, -1.0, math.nan, math.inf])
def test_values_off_the_log_scale_are_skipped(value: float) -> None:
    assert range_note(DOC, {"N": value}) is None


def test_extreme_numbers_neither_raise_nor_read_as_infinite_decades() -> None:
    """A bound of 400 digits is no range; a subnormal value is ~314 decades below, not inf."""
    assert range_note({"x_range": {"N": [1, 10**400]}}, {"N": 1e20}) is None
    note = points_note(DOC, ["N"], np.array([[1e-320]]))
    assert note is not None and "is 3.3e+02 decades below the smallest N (1e+06)" in note
    assert "inf" not in str(range_note(DOC, {"N": 5e-324}))


def test_a_column_name_that_cannot_be_printed_is_escaped() -> None:
    """A hand-edited fit file's lone surrogate ("\\ud800" in its JSON) cannot be written to a
    UTF-8 terminal: the note shows it as an escape."""
    note = range_note({"x_range": {"\ud800": [1, 10]}}, {"\ud800": 1e3})
    assert (
        note
        == "beyond the fitted data: \\ud800 = 1e+03 is 2 decades above the largest \\ud800 (10)"
    )
    note.encode("utf-8")  # raises UnicodeEncodeError on a surrogate
