"""rmse_log: the package's one held-out score (Alabdulmohsin et al. 2022, Sec. 4)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scalinglab.fitting.scores import rmse_log


def test_rmse_log_is_the_rmse_of_log_ratios() -> None:
    assert rmse_log([1.0, np.e], [1.0, 1.0]) == pytest.approx(math.sqrt(0.5))
    assert rmse_log([2.0, 3.0], [2.0, 3.0]) == 0.0
    assert rmse_log([0.5], [1.0]) == rmse_log([2.0], [1.0])  # a relative error, symmetric in ln


def test_nothing_to_score_is_nan_and_a_failed_prediction_is_inf() -> None:
    assert math.isnan(rmse_log([], []))
    assert rmse_log([np.nan], [1.0]) == math.inf
    assert rmse_log([-1.0, 1.0], [1.0, 1.0]) == math.inf  # a non-positive prediction


def test_the_benchmarks_score_with_it() -> None:
    from scalinglab.selection import extrapolation

    assert extrapolation.rmse_log is rmse_log
