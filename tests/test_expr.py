"""The `--where` filter: allowed conditions agree with pandas; everything else is refused and
nothing a hostile string says is ever run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalinglab.expr import ExpressionError, apply_filter, parse_filter
from tests.audit import no_code_runs

DF = pd.DataFrame(
    {
        "params": [1e6, 1e7, 1e8, 1e9, np.nan],
        "loss": [3.2, 2.9, 2.5, 2.1, 2.0],
        "data": ["c4", "oscar", "c4", "c4", "oscar"],
        "epoch_outlier": [0, 0, 1, 0, 0],
        "Seen Examples": [10, 20, 30, 40, 50],
    }
)


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ("epoch_outlier == 0", [0, 1, 3, 4]),
        ("params > 1e7 and data == 'c4'", [2, 3]),
        ('params >= 1e7 & data == "c4"', [2, 3]),  # & below == in precedence, as in pandas
        ("loss < 2.2 | epoch_outlier == 1", [2, 3, 4]),
        ("not epoch_outlier == 1", [0, 1, 3, 4]),
        ("~(epoch_outlier == 1)", [0, 1, 3, 4]),
        ("1e6 < params <= 1e8", [1, 2]),
        ("data in ['oscar']", [1, 4]),
        ("data not in ('c4', 'x')", [1, 4]),
        ("epoch_outlier in [1, -1]", [2]),
        ("`Seen Examples` >= 30", [2, 3, 4]),
        ("loss * 2 - 1 > 4", [0, 1]),
        ("params ** 0.5 >= 1e4", [2, 3]),
        ("-loss > -2.2", [3, 4]),
        ("(loss > 3 or loss < 2.2) and epoch_outlier == 0", [0, 3, 4]),
        ("data == 'a & b | @c'", []),  # operators and '@' inside a string are text
        ("True", [0, 1, 2, 3, 4]),
        ("params > 9**9**9", []),  # overflows to inf, never computes a huge integer
    ],
)
def test_allowed_conditions_select_the_right_rows(text: str, rows: list[int]) -> None:
    with no_code_runs("the filter"):
        mask = parse_filter(text).mask(DF)
    assert list(np.flatnonzero(mask.to_numpy())) == rows


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("@pd.io.common.os.system('touch {marker}')", "'@'"),
        ("params > 1 and @pd.io.common.os.system('touch {marker}')", "'@'"),
        ("__import__('os').system('touch {marker}')", "function calls"),
        ("open('{marker}', 'w')", "function calls"),
        ("params.__class__ == 1", "attribute access"),
        ("data.str.len() > 1", "function calls"),
        ("data.str == 1", "attribute access"),
        ("params[0] > 1", "subscripts"),
        ("__builtins__ == 1", "dunder names"),
        ("(lambda: 1) == 1", "lambdas"),
        ("[x for x in data] == 1", "comprehensions"),
        ("(y := 1) == 1", "assignments"),
        ("params if loss else loss", "'x if c else y'"),
        ("f'{{params}}' == 'a'", "f-strings"),
        ("{{1: 2}} == 1", "dicts"),
        ("params @ loss > 1", "'@'"),
        ("params ^ loss > 1", "operator '^'"),
        ("params is None", "comparison 'is'"),
        ("data in data", "list of literal values"),
        ("params in [loss]", "list of literal values"),
        ("1", "not a condition"),
        ("params", "not a condition"),
        ("params + 1", "not a condition"),
        ("params > 1 and 2", "combine conditions"),
        ("data * 1000000000 == 'c4'", "needs numbers"),
        ("'ab' * 1000000000 == data", "needs numbers"),
        ("(params > 1) + 1 > 0", "'+' needs numbers, not true/false values"),  # not "column None"
        ("[1, 2] * loss > 0", "'*' needs numbers, not a list"),  # no numpy reprs
        # an ordering of a number against text: both sides named, not pandas' dtypes
        ("data > 1", "'>' compares numbers with numbers or text with text, not column 'data'"),
        ("'' <= loss", "not the string '' with column 'loss'"),
        ("loss < '2'", "a number in quotes is text: drop the quotes"),
        ("nope > 1", "not a column"),
        ("`no such` > 1", "not a column"),
        ("params >", "not a valid condition"),
        ("params > 1; import os", "not a valid condition"),
        ("`params > 1", "unmatched backtick"),
        ("", "is empty"),
        ("x" * 3000, "characters long"),
        ("(" * 500 + "params > 1" + ")" * 500, ""),
    ],
)
def test_everything_else_is_refused_and_nothing_runs(
    text: str, message: str, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    hostile = text.format(marker=marker) if "{" in text else text
    with no_code_runs("the filter"), pytest.raises(ExpressionError) as info:
        apply_filter(DF, hostile)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert not marker.exists()


def test_the_error_names_the_option() -> None:
    with pytest.raises(ExpressionError, match=r"^--filter may not use function calls$"):
        parse_filter("len(data) > 1", option="--filter")


# Differential check: on conditions built only from allowed parts, the filter agrees with
# pandas' own query (safe here: the generator never emits '@').
_columns = st.sampled_from(["params", "loss", "epoch_outlier", "`Seen Examples`"])
_numbers = st.sampled_from(["0", "1", "2.5", "1e7", "-3", "30"])
_comparisons = st.builds(
    lambda c, op, n: f"{c} {op} {n}",
    _columns,
    st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
    _numbers,
)
_conditions = st.recursive(
    _comparisons,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) or ({b})", inner, inner),
        st.builds(lambda a: f"not ({a})", inner),
    ),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None)
@given(_conditions)
def test_allowed_conditions_agree_with_pandas_query(text: str) -> None:
    ours = parse_filter(text).mask(DF).to_numpy()
    theirs = DF.eval(text, engine="python").to_numpy()
    np.testing.assert_array_equal(ours, theirs)


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("params loss()[]._@'\"`=<>!&|~^+-*/%0123x, ")), max_size=60
    )
)
def test_any_string_is_a_filter_or_one_clean_error(text: str) -> None:
    with no_code_runs("the filter"):
        try:
            mask = parse_filter(text).mask(DF)
        except ExpressionError as exc:
            assert str(exc) and "\n" not in str(exc)
        else:
            assert mask.dtype == bool and len(mask) == len(DF)
