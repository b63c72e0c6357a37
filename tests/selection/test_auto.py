"""`auto`: the law the backtests choose, fitted and calibrated; the short-curve fallback."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalinglab.errors import FitWarning, ScalingLabError
from scalinglab.fitting.calibration import SPREAD_LEVEL
from scalinglab.laws import ScalingLaw
from scalinglab.laws.base import laws_spread
from scalinglab.selection.auto import (
    DEFAULT_LAW,
    FEW_CALIBRATION_POINTS,
    MIN_BACKTEST_POINTS,
    STEEPENING_THRESHOLD,
    auto_fit,
    end_steepening,
)
from scalinglab.selection.rule import DEFAULT_RULE

CHEAP = ("m1", "m2", "power_const")


def curve(n: int = 14, noise: float = 0.003, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A learning curve with a clear irreducible floor: ε = 4·m^-0.5 + 0.2, log-normal noise."""
    rng = np.random.default_rng(seed)
    m = np.logspace(2, 7, n)
    return m, (4.0 * m**-0.5 + 0.2) * np.exp(noise * rng.standard_normal(n))


def test_auto_prefers_the_law_with_the_right_form() -> None:
    x, y = curve()
    law, sel = auto_fit(x, y, candidates=CHEAP, config=DEFAULT_RULE.with_(combine="best"))
    # M1 has no floor: it extrapolates the flattening curve far too low.
    assert sel.chosen in {"m2", "power_const"} and law.name == sel.chosen
    assert sel.scores["m1"] > 3 * sel.scores[sel.chosen]
    assert sel.chosen in sel.reason
    json.dumps(sel.to_dict())  # JSON-ready


def test_each_law_at_the_target_is_what_the_weighted_prediction_averages() -> None:
    """`Selection.at_target`: every candidate's fit on every point, predicted at the target;
    the weighted geometric mean of the laws carrying weight is auto's own prediction (the
    average's members, not the backtests' batched fits), and a law without weight still shows
    where it would have gone (m1, without a floor, far below the rest at 1000x)."""
    x, y = curve()
    target = float(x.max()) * 1000
    law, sel = auto_fit(x, y, candidates=CHEAP, target=target)
    assert sel.target == target and set(sel.at_target) == set(CHEAP)
    mean = sum(w * math.log(sel.at_target[k]) for k, w in sel.weights.items())
    assert math.exp(mean) == pytest.approx(float(law.predict([[target]])[0]), rel=1e-9)
    assert sel.at_target["m1"] < 0.8 * min(sel.at_target["m2"], sel.at_target["power_const"])
    assert json.loads(json.dumps(sel.to_dict()))["at_target"] == sel.at_target
    _, none = auto_fit(x, y, candidates=CHEAP)
    assert none.at_target == {} and none.to_dict()["target"] is None


def test_the_backtests_extrapolate_as_far_as_the_target() -> None:
    x, y = curve(n=21)
    _, near = auto_fit(x, y, candidates=CHEAP, target=float(x.max()) * 3)
    _, far = auto_fit(x, y, candidates=CHEAP, target=float(x.max()) * 100)
    assert near.horizon == pytest.approx(math.log(3))
    assert far.horizon == pytest.approx(math.log(100))
    assert max(far.cuts) < max(near.cuts)  # a farther target: earlier cuts


def test_auto_calibrates_intervals_that_cover_and_widen_with_distance() -> None:
    x, y = curve(n=18, noise=0.01)
    law, _ = auto_fit(x[:14], y[:14], candidates=CHEAP, target=float(x[-1]))
    cal = law.calibration_
    assert cal is not None and cal.scores and cal.noise > 0
    lo, hi = law.predict_interval(x[14:, None], 0.9)
    pred = law.predict(x[14:, None])
    assert np.all(lo < pred) and np.all(pred < hi)
    assert np.mean((lo <= y[14:]) & (y[14:] <= hi)) >= 0.75
    lo99, hi99 = law.predict_interval(x[14:, None], 0.99)
    assert np.all(lo99 <= lo) and np.all(hi99 >= hi)
    # The calibration survives a round trip through JSON; a refit drops it.
    back = ScalingLaw.from_dict(json.loads(json.dumps(law.to_dict())))
    np.testing.assert_allclose(back.predict_interval(x[14:, None], 0.9), (lo, hi), rtol=1e-9)
    law.fit(x[:, None], y)
    assert law.calibration_ is None


def test_growth_makes_intervals_wider_farther_out() -> None:
    x, y = curve(n=18, noise=0.01)
    law, _ = auto_fit(x, y, candidates=CHEAP, config=DEFAULT_RULE.with_(growth=1.0))
    near, far = x.max() * 2, x.max() * 50
    lo, hi = law.predict_interval(np.array([[near], [far]]), 0.9)
    assert np.log(hi / lo)[1] > np.log(hi / lo)[0]


def test_a_pre_020_fit_file_calibration_still_loads() -> None:
    x, y = curve()
    law, _ = auto_fit(x, y, candidates=CHEAP)
    doc = law.to_dict()
    cal = doc.pop("calibration")
    doc["interval_widening"] = {
        "noise": cal["noise"], "scores": cal["scores"], "x_min": float(x.min()),
        "x_max": cal["x_max"],
    }  # fmt: skip
    back = ScalingLaw.from_dict(doc)
    assert back.calibration_ is not None and back.calibration_.growth == 0


@pytest.mark.parametrize(("n", "law_name"), [(4, "power_const"), (3, "power_const"), (2, "m1")])
def test_a_short_curve_falls_back_to_the_default_law_with_a_warning(n: int, law_name: str) -> None:
    x, y = curve(n=n)
    with pytest.warns(FitWarning, match="too few to backtest"):
        law, sel = auto_fit(x, y)
    assert sel.fallback and law.name == law_name
    assert law.calibration_ is None
    assert np.all(np.isfinite(law.predict(x[:, None])))


def test_a_single_point_gives_a_constant_not_an_error() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        law, sel = auto_fit(np.array([100.0]), np.array([0.5]))
    assert sel.fallback
    np.testing.assert_allclose(law.predict(np.array([[10.0], [1e6]])), 0.5)


def test_seeds_of_one_shard_count_once_toward_a_backtest() -> None:
    """Two shards of three seeds: 6 points but 2 distinct x values; too few to backtest, and
    too few for the three-parameter default, so the fallback is the two-parameter power law."""
    x = np.repeat([100.0, 200.0], 3)
    y = 2 * x**-0.3 * np.tile([0.99, 1.0, 1.01], 2)
    with pytest.warns(FitWarning, match="6 points at 2 distinct x values are too few"):
        law, sel = auto_fit(x, y)
    assert sel.fallback and law.name == "m1"


def test_defaults_are_stated() -> None:
    assert DEFAULT_LAW == "power_const"
    assert MIN_BACKTEST_POINTS == 5


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_a_bad_target_is_a_clear_error(bad: float) -> None:
    x, y = curve()
    with pytest.raises(Exception, match="target"):
        auto_fit(x, y, candidates=CHEAP, target=bad)


def test_stacking_fits_a_calibrated_average_that_round_trips() -> None:
    """A curve between two forms: no single candidate wins, the stack averages them."""
    rng = np.random.default_rng(1)
    x = np.logspace(2, 7, 18)
    y = (4.0 * x**-0.5 + 0.2 * (x / 1e2) ** -0.08) * np.exp(0.005 * rng.standard_normal(18))
    config = DEFAULT_RULE.with_(candidates=CHEAP, combine="stack", ridge=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        law, sel = auto_fit(x[:14], y[:14], config=config, target=float(x[-1]))
    assert sum(sel.weights.values()) == pytest.approx(1.0)
    assert len(sel.weights) > 1
    assert law.name == "average" and sel.chosen.startswith("average of ")
    assert set(law.labels) == set(sel.weights)  # type: ignore[attr-defined]
    assert law.calibration_ is not None
    lo, hi = law.predict_interval(x[14:, None], 0.9)
    pred = law.predict(x[14:, None])
    assert np.all(lo < pred) and np.all(pred < hi)
    back = ScalingLaw.from_dict(json.loads(json.dumps(law.to_dict())))
    np.testing.assert_allclose(back.predict_interval(x[14:, None], 0.9), (lo, hi), rtol=1e-9)


def test_information_criteria_weigh_the_full_fits() -> None:
    """combine="ic": a curve with a floor, m1 (no floor) fits it badly on every point and gets
    no weight by AIC; the law is calibrated by the rule applied at each backtest cut, and its
    interval covers the held-out end."""
    x, y = curve(n=18, noise=0.01)
    config = DEFAULT_RULE.with_(candidates=CHEAP, combine="ic", criterion="aic", temperature=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        law, sel = auto_fit(x[:14], y[:14], config=config, target=float(x[-1]))
    assert sel.criterion == "aic" and sel.to_dict()["criterion"] == "aic"
    assert sel.weights.get("m1", 0.0) < 1e-3 and sel.scores["m1"] > 10
    assert min(sel.scores.values()) == 0.0  # ΔAIC
    assert "AIC of the fits on all 14 points" in sel.reason
    assert law.calibration_ is not None and law.calibration_.scores
    lo, hi = law.predict_interval(x[14:, None], 0.9)
    assert np.mean((lo <= y[14:]) & (y[14:] <= hi)) >= 0.75


def test_stacks_toward_the_akaike_weights_fit_every_candidate_on_all_points() -> None:
    """toward="ic": auto fits every candidate on all points for its criterion (m1, no floor,
    gets almost no weight on a curve with one: none by AIC, a little from the backtests' stack),
    stacks the backtested laws toward those weights, and calibrates an interval that covers the
    held-out end."""
    x, y = curve(n=18, noise=0.01)
    config = DEFAULT_RULE.with_(
        candidates=CHEAP, combine="stack", ridge=0.1, distance_power=2.0, toward="ic"
    )
    assert config.uses_full_fits and not config.with_(toward="prior").uses_full_fits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        law, sel = auto_fit(x[:14], y[:14], config=config, target=float(x[-1]))
    assert sel.weights.get("m1", 0.0) < 0.05
    assert sum(sel.weights.values()) == pytest.approx(1.0)
    assert "toward the AIC weights of the fits on all points" in sel.reason
    lo, hi = law.predict_interval(x[14:, None], 0.9)
    assert np.mean((lo <= y[14:]) & (y[14:] <= hi)) >= 0.75


def test_a_weighing_no_backtest_cut_can_score_leaves_the_interval_uncalibrated() -> None:
    """Akaike weights over bnsl2 alone: 12 points are enough for its criterion, but no cut
    holds enough of them to fit it, so there is nothing to calibrate the interval on; auto says
    so and keeps the parameter band instead of an interval of NaN."""
    x, y = curve(n=12, noise=0.01)
    config = DEFAULT_RULE.with_(
        candidates=("bnsl2",), combine="ic", criterion="aic", temperature=1.0
    )
    with pytest.warns(FitWarning, match="no backtest cut held a fit"):
        law, sel = auto_fit(x, y, config=config, target=float(x[-1]) * 10)
    assert sel.weights == {"bnsl2": 1.0}
    assert law.calibration_ is None
    assert "parameter band, not calibrated" in sel.reason and "held-out" not in sel.reason


@pytest.mark.parametrize(("n", "flagged"), [(6, True), (10, False)])
def test_an_interval_on_few_backtest_points_is_flagged(n: int, flagged: bool) -> None:
    """Extrapolating 10x from 6 points leaves one held-out backtest point to calibrate on: the
    reason says the interval is optimistic; from 10 points (6 held-out points) it does not."""
    m = np.logspace(2, 5, n)
    y = (4.0 * m**-0.5 + 0.2) * np.exp(0.01 * np.random.default_rng(0).standard_normal(n))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        law, sel = auto_fit(m, y, target=1e6)
    assert law.calibration_ is not None
    n_scores = sum(len(s) for s in law.calibration_.scores)
    assert (n_scores < FEW_CALIBRATION_POINTS) == flagged
    assert ("read it as optimistic" in sel.reason) == flagged
    if flagged:
        assert f"rests on only {n_scores} held-out backtest point" in sel.reason


def test_seeds_count_once_toward_the_calibration_points() -> None:
    """7 shards at 2 seeds, 100x beyond: the one cut holds out 3 shards, 6 points; the interval
    rests on 3 distinct x values and is flagged, as the same curve at one seed is."""
    m = np.logspace(2, 5, 7)
    y = (4.0 * m**-0.5 + 0.2) * np.exp(0.01 * np.random.default_rng(0).standard_normal(7))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        law, one = auto_fit(m, y, target=1e7)
        law2, two = auto_fit(
            np.repeat(m, 2), np.repeat(y, 2) * np.tile([0.99, 1.01], 7), target=1e7
        )
    assert law.calibration_ is not None and law2.calibration_ is not None
    n_values = law2.calibration_.n_values
    n_points = sum(len(s) for s in law2.calibration_.scores)
    assert n_points == 2 * n_values and n_values < FEW_CALIBRATION_POINTS <= n_points
    assert law.calibration_.n_values == n_values
    assert (
        f"rests on only {n_points} held-out backtest point(s) at {n_values} distinct" in two.reason
    )
    assert f"rests on only {n_values} held-out backtest point(s)," in one.reason


def test_a_target_past_the_backtests_reach_widens_the_interval_unflagged() -> None:
    """Two decades of data cannot backtest five decades of extrapolation: past the distance the
    backtests checked the half-width grows as (d/reach)^1.5 (growth 1, beyond ½), and, since in
    log units its coverage there matched the rest on the tuning sources, the reason does not
    call the interval optimistic for it."""
    m = np.logspace(2, 4, 10)
    y = (4.0 * m**-0.5 + 0.2) * np.exp(0.01 * np.random.default_rng(0).standard_normal(10))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        law, far = auto_fit(m, y, target=1e9)
    cal = law.calibration_
    assert cal is not None and cal.reach < far.horizon
    d = np.array([cal.reach, far.horizon])
    half = cal.half_width(1e4 * np.exp(d), 0.9)
    assert half[1] / half[0] == pytest.approx((far.horizon / cal.reach) ** 1.5, rel=1e-9)
    assert "past the" not in far.reason


@pytest.mark.parametrize("target", [5e-324, 1.7e308])
def test_a_target_at_the_ends_of_the_floats_is_no_crash(target: float) -> None:
    """A subnormal target (x / x_max underflowed to 0: math domain error) and the largest float
    (x / x_max overflows) are positive targets like any other: the fit answers."""
    x, y = curve()
    law, sel = auto_fit(x, y, candidates=CHEAP, target=target)
    assert law.calibration_ is not None and sel.reason
    with np.errstate(all="raise"):  # the interval there: no log(0) warning on the terminal
        assert np.isfinite(law.calibration_.half_width([target], 0.9)).all()


def small_data_region(m: np.ndarray) -> np.ndarray:
    """Hestness's small-data region: error near its ceiling, then falling ever faster in log-log
    toward the power law ε = 0.95·(m / 300)^-0.5 it nears only past m ~ 1e3 (a smooth broken
    power law)."""
    return 0.95 / (1.0 + (m / 300.0) ** 2) ** 0.25


@pytest.mark.parametrize(
    ("name", "y_of", "steepens"),
    [
        ("pure power law", lambda m: 3.0 * m**-0.4, False),
        ("saturating toward a floor", lambda m: 4.0 * m**-0.5 + 0.2, False),
        ("small-data region", small_data_region, True),
        ("rising ever slower (an accuracy)", lambda m: 1.0 - 0.9 * m**-0.3, False),
    ],
)
def test_end_steepening_tells_a_curve_still_falling_faster(
    name: str, y_of: Callable[[np.ndarray], np.ndarray], steepens: bool
) -> None:
    """A power law's log-log slope is constant (d = 0), a floor flattens it (d > 0); only a curve
    still leaving its small-data region falls faster at its end (d < STEEPENING_THRESHOLD). A
    rising curve is not measured (its slope shrinking would read as d < 0)."""
    m = np.logspace(1, 3.5, 9)
    d = end_steepening(m, y_of(m))
    assert (d < STEEPENING_THRESHOLD) == steepens, (name, d)
    if name == "pure power law":
        assert abs(d) < 1e-9
    assert math.isnan(d) == name.startswith("rising")
    # seeds of one shard count once: their mean log y is the curve's
    assert end_steepening(np.repeat(m, 2), np.repeat(y_of(m), 2) * np.tile([0.9, 1 / 0.9], 9)) == (
        pytest.approx(d, abs=1e-12, nan_ok=True)
    )
    assert math.isnan(end_steepening(m[:5], y_of(m[:5])))


@settings(max_examples=50, deadline=None)
@given(
    log_y=st.lists(st.floats(-3.0, 3.0), min_size=6, max_size=12),
    x_scale=st.floats(1e-3, 1e3),
    y_scale=st.floats(1e-3, 1e3),
    seed=st.integers(0, 2**16),
)
def test_end_steepening_reads_only_the_curve_shape(
    log_y: list[float], x_scale: float, y_scale: float, seed: int
) -> None:
    """Any curve, in any row order, in any units: d is a difference of log-log slopes, so
    rescaling x or y and shuffling the rows leave the flag as it is, and d too wherever both are
    measured (a flat end's slope of ±1e-17 may fall either side of the falling-curve guard)."""
    m = np.logspace(1, 4, len(log_y))
    y = np.exp(np.asarray(log_y))
    d = end_steepening(m, y)
    order = np.random.default_rng(seed).permutation(len(m))
    again = end_steepening(m[order] * x_scale, y[order] * y_scale)
    assert (again < STEEPENING_THRESHOLD) == (d < STEEPENING_THRESHOLD)
    if math.isfinite(d) and math.isfinite(again):
        assert again == pytest.approx(d, rel=1e-6, abs=1e-9)


def test_a_curve_still_steepening_at_its_end_is_flagged() -> None:
    """auto keeps the end steepening on the calibration; a curve still in its small-data region
    gets a reason that says its interval is optimistic, the saturating curve does not, and the
    measure survives the fit file's round trip."""
    m = np.logspace(1, 3.5, 9)
    noise = np.exp(0.003 * np.random.default_rng(0).standard_normal(9))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        law, steep = auto_fit(m, small_data_region(m) * noise, target=1e4, candidates=CHEAP)
        _, flat = auto_fit(m, (4.0 * m**-0.5 + 0.2) * noise, target=1e4, candidates=CHEAP)
    assert law.calibration_ is not None
    assert law.calibration_.end_steepening < STEEPENING_THRESHOLD
    assert "the curve still steepens at its end" in steep.reason
    assert "read it as optimistic" in steep.reason
    assert "steepens" not in flat.reason
    again = ScalingLaw.from_dict(json.loads(json.dumps(law.to_dict())))
    assert again.calibration_ is not None
    assert again.calibration_.end_steepening == law.calibration_.end_steepening


@pytest.mark.slow
def test_criteria_from_whole_grid_fits_read_the_fit_that_predicts(shared_data: Path) -> None:
    """criteria_fits="whole": the information criteria read each candidate fitted on its whole
    start grid. On the first language curve bnsl2's 64-start fit leaves a residual scale 3.5
    times the whole grid's, so the Akaike weights go to bnsl1 (batched) or to bnsl2 (whole)."""
    import pandas as pd

    from scalinglab.selection import extrapolation
    from scalinglab.selection.auto import whole_grid_fits, whole_grid_noise
    from scalinglab.selection.backtest import FULL_START_BUDGET, backtest_curve, candidate

    curve = extrapolation.load_curves(pd.read_csv(shared_data / "alabdulmohsin2022_lang.csv"))[0]
    x, y = curve.x_train, curve.y_train
    cands = [candidate(label) for label in DEFAULT_RULE.candidates]
    whole = whole_grid_noise(x, y, cands, whole_grid_fits(x, y, cands, None))
    batched = backtest_curve(
        x[:, 0], y, cands, n_cuts=2, full_start_budget=FULL_START_BUDGET
    ).full_noise
    assert whole["bnsl2"] < 0.5 * batched["bnsl2"]
    for label in ("m1", "m2", "m3", "power_const"):  # easy fits: the same optimum either way
        assert whole[label] == pytest.approx(batched[label], rel=1e-3)
    config = DEFAULT_RULE.with_(criteria_fits="whole")
    assert config.key.replace("-w", "") == DEFAULT_RULE.key
    target = float(curve.x_test.max())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        _, by_batched = auto_fit(x, y, target=target)
        _, by_whole = auto_fit(x, y, target=target, config=config)
    assert by_batched.weights.get("bnsl2", 0.0) < 0.01 < 0.9 < by_whole.weights["bnsl2"]


def test_an_unknown_criteria_fits_is_one_clear_error() -> None:
    x = np.geomspace(10, 1e4, 8)
    with pytest.raises(ScalingLabError, match="criteria_fits must be batched or whole"):
        auto_fit(x, 2 * x**-0.3, config=DEFAULT_RULE.with_(criteria_fits="final"))


def test_backtests_from_the_whole_grid_fit_as_the_prediction_does(shared_data: Path) -> None:
    """backtest_starts: the backtests and the batched full fits start from that many points of
    each law's grid. From the whole grid, bnsl2's full fit on the first language curve leaves
    under half the residual scale of the 64-start fit, and the Akaike weights move toward it
    (not all the way: a batched fit polishes only its best starts, the prediction's every basin).
    The rule's key says so."""
    import pandas as pd

    from scalinglab.selection import extrapolation
    from scalinglab.selection.backtest import FULL_START_BUDGET, backtest_curve, candidate

    curve = extrapolation.load_curves(pd.read_csv(shared_data / "alabdulmohsin2022_lang.csv"))[0]
    x, y = curve.x_train, curve.y_train
    cands = [candidate(label) for label in DEFAULT_RULE.candidates]
    by_budget = {
        n: backtest_curve(x[:, 0], y, cands, n_cuts=2, start_budget=n, full_start_budget=n)
        for n in (FULL_START_BUDGET, 4096)
    }
    assert (
        by_budget[4096].full_noise["bnsl2"] < 0.5 * by_budget[FULL_START_BUDGET].full_noise["bnsl2"]
    )
    config = DEFAULT_RULE.with_(backtest_starts=4096)
    assert config.key == DEFAULT_RULE.key.replace("-pg", "-st4096-pg")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        _, by_default = auto_fit(x, y, target=float(curve.x_test.max()))
        _, by_whole = auto_fit(x, y, target=float(curve.x_test.max()), config=config)
    assert by_default.weights.get("bnsl2", 0.0) < 0.01 < 0.3 < by_whole.weights["bnsl2"]


def test_the_laws_spread_widens_the_interval_where_the_laws_part() -> None:
    """model_spread k > 0: the calibration keeps every candidate's fit on all points, and the
    interval holds the base interval (the same calibration with k = 0) and grows with the laws'
    disagreement s(x), which rises with the distance; a fit file keeps it for `predict`."""
    x, y = curve(n=16, noise=0.01)
    law, _ = auto_fit(x, y, candidates=CHEAP, config=DEFAULT_RULE.with_(model_spread=1.0))
    cal = law.calibration_
    assert cal is not None and cal.spread == 1.0
    assert sorted(entry["law"] for entry in cal.spread_laws) == sorted(CHEAP)
    far = np.array([[x.max() * 3], [x.max() * 300]])
    s = laws_spread(cal, far[:, 0])
    assert 0 < s[0] < s[1]  # m1 (no floor) parts from the saturating laws farther out
    lo, hi = law.predict_interval(far, 0.9)
    base = replace(cal, spread=0.0)
    half = np.log(hi / lo) / 2
    np.testing.assert_allclose(half, np.hypot(base.half_width(far[:, 0], 0.9), s), rtol=1e-9)
    back = ScalingLaw.from_dict(json.loads(json.dumps(law.to_dict())))
    np.testing.assert_allclose(back.predict_interval(far, 0.9), (lo, hi), rtol=1e-9)
    plain, _ = auto_fit(x, y, candidates=CHEAP)
    assert plain.calibration_ is not None and plain.calibration_.spread_laws == ()


def test_the_laws_spread_as_a_power_scales_the_interval_and_survives_a_fit_file() -> None:
    """spread_power c > 0: the calibration keeps every candidate's fit on all points, and the
    interval is the base interval (c = 0) times (s(x)/SPREAD_LEVEL)^c, in the fitted law and
    after a round trip through its JSON."""
    x, y = curve(n=16, noise=0.01)
    law, _ = auto_fit(x, y, candidates=CHEAP, config=DEFAULT_RULE.with_(spread_power=0.5))
    cal = law.calibration_
    assert cal is not None and cal.spread_power == 0.5 and cal.spread == 0.0
    assert sorted(entry["law"] for entry in cal.spread_laws) == sorted(CHEAP)
    far = np.array([[x.max() * 3], [x.max() * 300]])
    s = laws_spread(cal, far[:, 0])
    lo, hi = law.predict_interval(far, 0.9)
    base = replace(cal, spread_power=0.0).half_width(far[:, 0], 0.9)
    np.testing.assert_allclose(np.log(hi / lo) / 2, base * (s / SPREAD_LEVEL) ** 0.5, rtol=1e-9)
    back = ScalingLaw.from_dict(json.loads(json.dumps(law.to_dict())))
    np.testing.assert_allclose(back.predict_interval(far, 0.9), (lo, hi), rtol=1e-9)


@pytest.mark.parametrize(
    ("y", "message"),
    [
        ([2.0, 1.5, -1.0, 0.8, 0.6, 0.5], "y must be > 0"),
        ([2.0, 1.5, math.nan, 0.8, 0.6, 0.5], "NaN or inf"),
        ([2.0, 1.5, 1.0], "must match"),
    ],
)
def test_bad_y_is_refused_before_any_fit_warns(y: list[float], message: str) -> None:
    """A y the log objective cannot take is one clear error, raised before the start guesses
    take log y (which printed numpy's RuntimeWarning above the CLI's one line)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ScalingLabError, match=message):
            auto_fit(np.arange(1.0, 7.0), y)


@pytest.mark.parametrize(
    ("x0", "message"),
    [(0.0, "must be > 0"), (-1.0, "must be > 0"), (math.inf, "NaN or inf")],
)
def test_bad_x_is_refused_as_a_plain_fit_refuses_it(x0: float, message: str) -> None:
    """An x a law cannot take the log of is the error `fit --law power_const` gives, raised
    before the backtests' default horizon takes log x (an x of 0 printed numpy's
    RuntimeWarning, then "the extrapolation horizon must be > 0, got inf")."""
    x = np.array([x0, 256.0, 512.0, 1024.0, 2048.0, 4096.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ScalingLabError, match=message):
            auto_fit(x, [0.5, 0.4, 0.3, 0.25, 0.2, 0.18])


def test_the_growth_past_the_reach_and_the_scale_change_only_the_half_width() -> None:
    """Two rules that differ in `scale` and `beyond` only predict alike, and their 90% log
    half-widths differ by (scale₁/scale₀)·max(d/reach, 1)^(b₁ − b₀) at every x, within the
    backtests' reach and past it: what benchmarks/rescale_outcomes.py relies on."""
    m, y = curve(n=10)
    x = np.array([2e7, 1e8, 1e9, 1e10])
    old = DEFAULT_RULE.with_(beyond=0.0, scale=3.2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        law0, _ = auto_fit(m, y, target=1e9, config=old, candidates=CHEAP)
        law1, _ = auto_fit(m, y, target=1e9, config=DEFAULT_RULE, candidates=CHEAP)
    cal0, cal1 = law0.calibration_, law1.calibration_
    assert cal0 is not None and cal1 is not None
    np.testing.assert_allclose(law1.predict(x[:, None]), law0.predict(x[:, None]), rtol=1e-12)
    d = np.log(x / m.max())
    assert d.min() < cal1.reach < d.max()  # points on both sides of the reach
    factor = (DEFAULT_RULE.scale / 3.2) * np.maximum(d / cal1.reach, 1.0) ** DEFAULT_RULE.beyond
    np.testing.assert_allclose(cal1.half_width(x, 0.9), cal0.half_width(x, 0.9) * factor)


@pytest.mark.slow
def test_a_long_curve_takes_the_whole_grid_criteria_and_the_long_scale(shared_data: Path) -> None:
    """`long_curves` L: the first language curve (10 distinct x values) with L 10 is fitted as
    with criteria_fits="whole" (the weights go to bnsl2) and calibrated at long_scale; with L
    11, as the rule is without it."""
    import pandas as pd

    from scalinglab.selection import extrapolation

    curve = extrapolation.load_curves(pd.read_csv(shared_data / "alabdulmohsin2022_lang.csv"))[0]
    x, y = curve.x_train, curve.y_train
    assert len(np.unique(x[:, 0])) == 10
    target = float(curve.x_test.max())
    long = DEFAULT_RULE.with_(long_curves=10, long_scale=1.7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        law, by_long = auto_fit(x, y, target=target, config=long)
        short, by_short = auto_fit(x, y, target=target, config=long.with_(long_curves=11))
    assert by_long.weights["bnsl2"] > 0.9 > 0.01 > by_short.weights.get("bnsl2", 0.0)
    assert law.calibration_ is not None and short.calibration_ is not None
    assert (law.calibration_.scale, short.calibration_.scale) == (1.7, DEFAULT_RULE.scale)


def test_an_error_rate_is_calibrated_at_its_own_scale() -> None:
    """`error_rate` with `error_scale` s: the same prediction, the half-width s / scale times
    the loss curve's at every x, the fit file keeping the scale and the reason saying so;
    without an error scale, or for a loss curve, nothing changes."""
    m, y = curve(n=10)
    x = np.array([2e7, 1e9])
    rule = DEFAULT_RULE.with_(error_scale=2 * DEFAULT_RULE.scale)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        loss, by_loss = auto_fit(m, y, target=1e9, config=rule, candidates=CHEAP)
        err, by_err = auto_fit(m, y, target=1e9, config=rule, candidates=CHEAP, error_rate=True)
        plain, _ = auto_fit(
            m,
            y,
            target=1e9,
            config=DEFAULT_RULE.with_(error_scale=0.0),
            candidates=CHEAP,
            error_rate=True,
        )
    np.testing.assert_allclose(err.predict(x[:, None]), loss.predict(x[:, None]), rtol=1e-12)
    cal_err, cal_loss, cal_plain = err.calibration_, loss.calibration_, plain.calibration_
    assert cal_err is not None and cal_loss is not None and cal_plain is not None
    np.testing.assert_allclose(cal_err.half_width(x, 0.9), 2 * cal_loss.half_width(x, 0.9))
    assert type(err).from_dict(err.to_dict()).calibration_.scale == 2 * DEFAULT_RULE.scale
    assert "y is an error rate: the interval at its scale" in by_err.reason
    assert "error rate" not in by_loss.reason
    assert cal_plain.scale == DEFAULT_RULE.scale  # a rule without an error scale
    assert DEFAULT_RULE.for_error_rate().scale == DEFAULT_RULE.error_scale > DEFAULT_RULE.scale
    assert "-e3" in DEFAULT_RULE.with_(error_scale=3.0).key
    assert "-e" not in DEFAULT_RULE.with_(error_scale=0.0).key
