"""A user's FLOP function is checked before a plan relies on it."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from scalinglab.errors import ScalingLabError
from scalinglab.planning.flops import FlopExpression, FlopModel


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
