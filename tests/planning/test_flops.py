"""A user's FLOP function is checked before a plan relies on it."""

from __future__ import annotations

import operator
import re
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalinglab.errors import ScalingLabError
from scalinglab.planning.flops import FlopExpression, FlopModel
from tests.audit import no_code_runs


def with_attention(n: np.ndarray, d: np.ndarray) -> np.ndarray:
    return 6 * n * d + 1e3 * d


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (lambda n, d: "many", "failed: ValueError"),
        (lambda n, d: 1 / 0, "failed: ZeroDivisionError"),
        (lambda n, d: np.full(n.shape, np.nan), "one positive number"),
        (lambda n, d: -6 * n * d, "one positive number"),
        (lambda n, d: 6.0, "one positive number"),
        (lambda n, d: np.ones(7), "one positive number"),
        (lambda n, d: 6 * n / d, "grow with N and with D"),
        (lambda n, d: 6 * d, "grow with N and with D"),
    ],
)
def test_a_function_that_does_not_return_flops_is_refused(function: Any, message: str) -> None:
    with pytest.raises(ScalingLabError, match=message):
        FlopModel(function=function)


def test_a_valid_function_is_used_and_inverted() -> None:
    model = FlopModel(function=with_attention)
    c = model.compute([1e9], [2e10])
    np.testing.assert_allclose(c, 6 * 1e9 * 2e10 + 1e3 * 2e10)
    np.testing.assert_allclose(model.tokens(c, [1e9]), [2e10], rtol=1e-9)
    np.testing.assert_allclose(model.params(c, [2e10]), [1e9], rtol=1e-9)


def test_a_flop_expression_is_arithmetic_in_n_and_d_and_never_code() -> None:
    six = FlopModel(function=FlopExpression("6*N*D"))
    n, d = np.array([1e8, 1e9]), np.array([1e10, 3e10])
    np.testing.assert_allclose(six.compute(n, d), 6 * n * d)
    assert six.describe() == "C = 6*N*D"
    # the plan inverts the expression numerically as it does any FLOP function
    np.testing.assert_allclose(six.tokens(6e19, 1e9), 1e10, rtol=1e-6)
    for text, needle in (
        ("6*N*L", "N (parameters) and D (tokens) only, not 'L'"),
        ("os:system", "not a valid expression"),
        ("__import__('os').system('true')", "may not use function calls"),
        ("N.real * D", "may not use attribute access"),
    ):
        with pytest.raises(ScalingLabError, match=re.escape(needle)):
            FlopExpression(text)


# --------------------------------------------------------------------------------------------
# Property tests: hostile --flops-function text, and random arithmetic against plain Python
# --------------------------------------------------------------------------------------------
# Random arithmetic in N and D: a tree, rendered with only the parentheses Python's precedence
# needs (plus redundant ones at random), and its value computed on plain Python floats.
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "//": 2, "%": 2, "neg": 3, "**": 4, "atom": 5}
Tree = tuple[Any, ...]
_leaves = st.one_of(
    st.sampled_from([("var", "N"), ("var", "D")]),
    st.floats(0.0, 1e6, allow_nan=False).map(lambda v: ("num", v)),
    st.integers(0, 1000).map(lambda v: ("num", v)),
    st.sampled_from([0.5, 2.0, 1e-3, 6.0, 1e4, 1e20]).map(lambda v: ("num", v)),
)
_trees: st.SearchStrategy[Tree] = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(["+", "-", "*", "/", "//", "%", "**"]), inner, inner),
        st.tuples(st.just("neg"), inner),
        st.tuples(st.just("paren"), inner),
    ),
    max_leaves=10,
)


def _level(tree: Tree) -> int:
    return _PRECEDENCE["atom" if tree[0] in ("var", "num", "paren") else tree[0]]


def _render(tree: Tree) -> str:
    kind = tree[0]
    if kind == "var":
        return str(tree[1])
    if kind == "num":
        return repr(tree[1])  # repr round-trips: the literal is the same float
    if kind == "paren":
        return f"({_render(tree[1])})"
    if kind == "neg":
        # the operand of unary minus binds at least as tightly, else it needs parentheses
        operand = _render(tree[1])
        return f"-{operand}" if _level(tree[1]) >= 3 else f"-({operand})"
    op, left, right = tree
    mine = _PRECEDENCE[op]
    if op == "**":  # right-associative; its left operand binds tighter than unary minus
        left_ok, right_ok = _level(left) > mine, _level(right) >= 3
    else:  # left-associative
        left_ok, right_ok = _level(left) >= mine, _level(right) > mine
    a = _render(left) if left_ok else f"({_render(left)})"
    b = _render(right) if right_ok else f"({_render(right)})"
    return f"{a} {op} {b}"


_PYTHON: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
}


def _python_value(tree: Tree, n: float, d: float) -> float:
    """The tree's value on Python floats; ArithmeticError where Python refuses (x/0, an
    overflowing power) and ValueError for a complex result (a negative number to a fraction)."""
    kind = tree[0]
    if kind == "var":
        return n if tree[1] == "N" else d
    if kind == "num":
        return float(tree[1])
    if kind == "paren":
        return _python_value(tree[1], n, d)
    if kind == "neg":
        return -_python_value(tree[1], n, d)
    value = _PYTHON[kind](_python_value(tree[1], n, d), _python_value(tree[2], n, d))
    if isinstance(value, complex):
        raise ValueError("complex")
    return float(value)


@settings(max_examples=200, deadline=None)
@given(
    _trees,
    st.lists(st.tuples(st.floats(1e-3, 1e12), st.floats(1e-3, 1e13)), min_size=1, max_size=4),
)
def test_random_arithmetic_in_n_and_d_equals_plain_python(
    tree: Tree, sizes: list[tuple[float, float]]
) -> None:
    text = _render(tree)
    n = np.array([s[0] for s in sizes])
    d = np.array([s[1] for s in sizes])
    ours = FlopExpression(text)(n, d)
    assert ours.shape == n.shape
    for i, (ni, di) in enumerate(sizes):
        try:
            expected = _python_value(tree, ni, di)
        except (ArithmeticError, ValueError):
            continue  # numpy's inf or NaN where Python raises: nothing to compare
        np.testing.assert_allclose(ours[i], expected, rtol=1e-9, atol=0, err_msg=text)


OPTION = "--flops-function"
# What an attacker or a slip of the keyboard might type. MARKER becomes a path that only
# running the text as code could create.
ATTACKS = [
    "__import__('os').system('touch MARKER')",
    "__import__('pathlib').Path('MARKER').touch()",
    "open('MARKER', 'w')",
    "@pd.io.common.os.system('touch MARKER')",
    "N.__class__.__mro__[1].__subclasses__()",
    "().__class__.__bases__[0]",
    "globals()['os']",
    'exec(\'open("MARKER", "w")\')',
    "eval('N')",
    "(lambda: N)()",
    "[N for N in D]",
    "{N: D}",
    "{N, D}",
    "N if D else 1",
    "(x := N)",
    "f'{N}'",
    "*N",
    "N @ D",
    "N ^ D",
    "N << D",
    "N is D",
    "N.real",
    "D[0]",
    "D[::2]",
    "`N`",
    "`__import__`",
    "`a b`",
    "...",
    "None",
    "b'x'",
    "1j",
    "yield N",
    "await N",
    "9**9**9",
    "N**9**9**9",
    "(N*D)**(10**10)",
    "2**-9**9",
    "10**400",
    "1" + "0" * 400,
    "1e999",
    "0**-1",
    "N % 0",
    "N // 0",
    "N > D",
    "True",
    "'6'",
    "(" * 120 + "N" + ")" * 120,
    "-" * 200 + "N",
    "N" + "**N" * 100,
    "+".join(["N"] * 300),
    "ℕ*𝐃",
    "\ud800",
    "N\x00D",
]
PIECES = [
    *("N", "D", "6", "2e4", "0", "1e308", "0.5", "1_0", "0x1f", " ", "+", "-", "*", "/"),
    *("//", "%", "**", "(", ")", ",", ".", "'", '"', "`", "[", "]", "@", "^", "~", "<"),
    *("==", " and ", " not ", " in ", "lambda", ":", "__", "import", "os", "_", "ℕ", "é"),
    *("#", "\\", "\n", "\t", "{", "}", ";", "=", "!"),
]
_hostile_text = st.one_of(
    st.text(max_size=40),
    _trees.map(_render),
    st.sampled_from(["6*N*D", "6*N*D + 2e4*D", "N*D**1.1", "(N + D)**2", "2*N*D + N**2"]),
    st.lists(st.sampled_from(PIECES + ATTACKS), max_size=12).map("".join),
    st.builds(
        lambda a, op, b: f"{a}{op}{b}",
        st.sampled_from(["6*N*D", "N", "D", "2e4*D", "1"]),
        st.sampled_from(["+", "*", " and ", ", ", ";", " if ", "."]),
        st.sampled_from(ATTACKS),
    ),
)
_N = np.array([1e8, 1e9, 7.0, 3e11])
_D = np.array([1e10, 1e10, 0.25, 2e12])


@settings(max_examples=200, deadline=None)
@given(text=_hostile_text)
def test_any_flops_function_is_arithmetic_or_one_clean_error(
    text: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Whatever the text, parsing and evaluating it gives one float per (N, D) or a one-line
    ScalingLabError naming the option; it never runs (no file appears, no audit event), and
    never computes a huge power as an integer (each example is quick)."""
    marker = tmp_path_factory.getbasetemp() / "flops-pwned"
    text = text.replace("MARKER", str(marker))
    start = time.perf_counter()
    with no_code_runs("the flops function"):
        try:
            expression = FlopExpression(text)
            values = expression(_N, _D)
        except ScalingLabError as exc:
            message = str(exc)
            assert message.strip() and "\n" not in message and OPTION in message
        else:
            assert isinstance(values, np.ndarray) and values.shape == _N.shape
            assert values.dtype == np.float64
            assert expression.parsed.column_names() <= {"N", "D"}
            # a plan checks it, then inverts it: both answer or fail in one line
            try:
                model = FlopModel(function=expression)
                tokens = model.tokens(np.array([1e20, 1e22]), np.array([1e9, 1e10]))
            except ScalingLabError as exc:
                assert str(exc).strip() and "\n" not in str(exc)
            else:
                assert tokens.shape == (2,) and np.all(tokens > 0)
    assert not marker.exists()
    assert time.perf_counter() - start < 10.0
