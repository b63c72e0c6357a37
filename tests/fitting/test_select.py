"""Backtested law selection, calibrated intervals and the short-curve fallback (fitting/select)."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from scalinglab.errors import FitWarning
from scalinglab.fitting import select
from scalinglab.laws import ScalingLaw, get_law

CHEAP = tuple(select.candidate(n) for n in ("m1", "m2", "power_const"))


def curve(n: int = 14, noise: float = 0.003, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A learning curve with a clear irreducible floor: ε = 4·m^-0.5 + 0.2, log-normal noise."""
    rng = np.random.default_rng(seed)
    m = np.logspace(2, 7, n)
    return m, (4.0 * m**-0.5 + 0.2) * np.exp(noise * rng.standard_normal(n))


def test_rmse_log_is_the_rmse_of_log_ratios() -> None:
    assert select.rmse_log([1.0, np.e], [1.0, 1.0]) == pytest.approx(math.sqrt(0.5))
    assert select.rmse_log([2.0, 3.0], [2.0, 3.0]) == 0.0
    assert select.rmse_log([np.nan], [1.0]) == math.inf
    assert math.isnan(select.rmse_log([], []))


def test_cut_points_follow_the_log_range_and_keep_points_on_both_sides() -> None:
    x = 2.0 ** np.arange(11)  # log x evenly spaced: a cut at f keeps round(10 f) + 1 points
    assert select.cut_points(x, (0.6, 0.7, 0.8)) == [7, 8, 9]
    assert select.cut_points(x, (0.1,)) == [select.MIN_TRAIN_POINTS]
    assert select.cut_points(x[:3]) == []
    tied = np.array([1.0, 2.0, 4.0, 8.0, 8.0, 16.0, 32.0])
    for k in select.cut_points(tied, (0.5, 0.6, 0.7)):
        assert tied[k - 1] != tied[k]  # tied x values never straddle a cut


def test_thinned_starts_respect_the_budget_and_keep_the_extremes() -> None:
    law = get_law("m4")()
    x, y = curve()
    full = law.start_grid(x[:, None], y)
    thin = select.thinned_starts(law, x[:, None], y, 16)
    assert math.prod(len(v) for v in thin.values()) <= 16
    for name, values in thin.items():
        assert set(values) <= set(full[name])
        assert values[0] == full[name][0]  # the first (usually the data's own guess) stays
        if len(values) > 1:
            assert values[-1] == full[name][-1]


def test_selection_prefers_the_law_with_the_right_form() -> None:
    x, y = curve()
    sel = select.select_law(x, y, CHEAP)
    # M1 has no floor: it extrapolates the flattening curve far too low.
    assert sel.chosen in {"m2", "power_const"}
    assert sel.scores["m1"] > 3 * sel.scores[sel.chosen]
    assert sel.chosen in sel.reason and "lowest backtest error" in sel.reason
    assert len(sel.cuts) == len(select.DEFAULT_CUT_FRACTIONS)
    weights = sel.weights
    assert sum(weights.values()) == pytest.approx(1.0)
    assert max(weights, key=weights.__getitem__) == sel.chosen
    json.dumps(sel.to_dict())  # JSON-ready


def test_a_law_with_too_many_parameters_for_the_cuts_is_not_eligible() -> None:
    x, y = curve(n=8)
    sel = select.select_law(x, y, (select.candidate("m1"), select.candidate("bnsl2")))
    assert not sel.backtests["bnsl2"].eligible
    assert "free parameters" in sel.backtests["bnsl2"].note
    assert sel.chosen == "m1" and "not eligible: bnsl2" in sel.reason


def test_auto_fit_calibrates_intervals_that_cover_the_extrapolation() -> None:
    x, y = curve(n=16, noise=0.01)
    law, sel = select.auto_fit(x[:12], y[:12], CHEAP)
    assert law.name == select.candidate(sel.chosen).law
    widening = law.interval_widening_
    assert widening is not None and widening["scores"] and widening["noise"] > 0
    lo, hi = law.predict_interval(x[12:], 0.9)
    pred = law.predict(x[12:])
    assert np.all(lo < pred) and np.all(pred < hi)
    assert np.mean((lo <= y[12:]) & (y[12:] <= hi)) >= 0.75
    # Wider at a higher level, and the calibration survives a round trip through JSON.
    lo99, hi99 = law.predict_interval(x[12:], 0.99)
    assert np.all(lo99 <= lo) and np.all(hi99 >= hi)
    back = ScalingLaw.from_dict(json.loads(json.dumps(law.to_dict())))
    np.testing.assert_allclose(back.predict_interval(x[12:], 0.9), (lo, hi), rtol=1e-9)
    # Refitting drops a calibration that belonged to the earlier fit.
    law.fit(x, y)
    assert law.interval_widening_ is None


def test_conformal_quantile_is_the_finite_sample_rank() -> None:
    scores = [1.0, 2.0, 3.0, 4.0]
    assert select.conformal_quantile(scores, 0.5) == 3.0  # ceil(5·0.5) = 3rd smallest
    assert select.conformal_quantile(scores, 0.9) == 4.0  # beyond n: the largest
    assert math.isnan(select.conformal_quantile([], 0.9))


@pytest.mark.parametrize(("n", "law_name"), [(4, "power_const"), (3, "power_const"), (2, "m1")])
def test_a_short_curve_falls_back_to_the_default_law_with_a_warning(n: int, law_name: str) -> None:
    x, y = curve(n=n)
    with pytest.warns(FitWarning, match="too few to backtest"):
        law, sel = select.auto_fit(x, y)
    assert sel.fallback and law.name == law_name
    assert law.interval_widening_ is None
    assert np.all(np.isfinite(law.predict(x[:, None])))


def test_a_single_point_gives_a_constant_not_an_error() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        law, sel = select.auto_fit(np.array([100.0]), np.array([0.5]))
    assert sel.fallback
    np.testing.assert_allclose(law.predict(np.array([[10.0], [1e6]])), 0.5)


def test_default_law_is_stated() -> None:
    assert select.DEFAULT_LAW == "power_const"
    assert select.MIN_BACKTEST_POINTS == 5


def test_score_is_the_geometric_mean_of_the_far_end_errors() -> None:
    bt = select.LawBacktest(
        label="m1",
        cut_rmse=[0.01, 0.02],
        cut_far=[0.01, 0.04],
        residuals=np.zeros(0),
        cut_of=np.zeros(0),
        sigma=np.zeros(0),
    )
    assert bt.score == pytest.approx(0.02)
    bt.cut_rmse[1] = math.nan  # not fitted at one cut: not eligible
    assert bt.score == math.inf
