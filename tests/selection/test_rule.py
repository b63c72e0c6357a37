"""The auto rule's weighing and calibration on backtests with known errors."""

from __future__ import annotations

import math
from dataclasses import replace
from statistics import NormalDist

import numpy as np
import pytest

from scalinglab.errors import ScalingLabError
from scalinglab.fitting.calibration import (
    NOISE_FLOOR,
    SPREAD_LEVEL,
    Calibration,
    conformal_quantile,
    growth_factor,
)
from scalinglab.laws.base import ScalingLaw, laws_spread
from scalinglab.selection.backtest import CandidateBacktest, CurveBacktests
from scalinglab.selection.rule import (
    DEFAULT_RULE,
    NOISE_RATIO_CAP,
    RuleConfig,
    calibrate,
    candidate_scores,
    group_evidence,
    ic_deltas,
    ic_weights,
    information_criteria,
    mixture_prior,
    weigh,
)


def _backtests(errors: dict[str, float], n_free: dict[str, int]) -> CurveBacktests:
    """Backtests whose every held-out log prediction is off by errors[label]."""
    x = np.geomspace(1, 1e3, 13)
    y = np.full(13, 2.0)
    cuts = [9, 7, 5]
    cands = {
        k: CandidateBacktest(k, n_free[k], [np.log(y[c:]) + e for c in cuts], [0.01] * 3)
        for k, e in errors.items()
    }
    return CurveBacktests(x, y, np.log(10.0), cuts, cands)


CONFIG = RuleConfig(candidates=("a", "b", "c"))


def test_best_and_simplest_and_average() -> None:
    bt = _backtests({"a": 0.010, "b": 0.0105, "c": 0.05}, {"a": 5, "b": 2, "c": 1})
    assert weigh(bt, CONFIG.with_(combine="best")).weights == {"a": 1.0}
    assert weigh(bt, CONFIG.with_(combine="simplest")).weights == {"b": 1.0}
    w = weigh(bt, CONFIG.with_(combine="average", temperature=1.0)).weights
    assert sum(w.values()) == pytest.approx(1.0)
    assert w["a"] > w["b"] > w["c"]
    assert w["a"] / w["c"] == pytest.approx(5.0)  # (s_best / s_c)^(1/T)


def test_a_candidate_missing_a_cut_is_not_eligible() -> None:
    bt = _backtests({"a": 0.01, "b": 0.02, "c": 0.03}, {"a": 1, "b": 1, "c": 1})
    bt.candidates["a"].log_pred[1][:] = np.nan
    result = weigh(bt, CONFIG.with_(combine="best"))
    assert math.isinf(result.scores["a"]) and result.weights == {"b": 1.0}
    assert "not eligible: a" in result.reason


def test_the_far_score_averages_the_seeds_of_the_farthest_shard() -> None:
    """Shards 1 … 10^3 at 2 seeds, one cut after 10 (the farthest within the horizon is 100):
    "far" reads |error| at 100 as the mean over its two seeds (0.01 and 0.03), not the last
    seed alone; the error at 1,000 lies past the horizon."""
    x = np.repeat([1.0, 2.0, 5.0, 10.0, 20.0, 100.0, 1e3], 2)
    y = np.full(x.size, 2.0)
    k = 8  # 1 … 10 at two seeds
    errors = np.array([0.05, -0.05, 0.01, -0.03, 0.5, 0.5])  # at 20, 100 and 1,000
    cand = CandidateBacktest("a", 1, [np.log(y[k:]) + errors], [0.01])
    bt = CurveBacktests(x, y, np.log(10.0), [k], {"a": cand})
    score = candidate_scores(bt, RuleConfig(candidates=("a",), n_cuts=1, score="far"))["a"]
    assert score == pytest.approx(0.02)


def test_calibration_scales_with_the_backtest_errors() -> None:
    bt = _backtests({"a": 0.02, "b": 0.02, "c": 0.02}, {"a": 1, "b": 1, "c": 1})
    cal = calibrate(bt, {"a": 1.0}, CONFIG.with_(growth=0.0, scale=1.0), full_noise=0.01)
    # every normalised score is 0.02 / 0.01 = 2; the half-width is q·σ = 2·0.01
    assert cal.multiplier(0.9) == pytest.approx(2.0)
    np.testing.assert_allclose(cal.half_width(np.array([2e3, 1e4]), 0.9), 0.02)
    wider = calibrate(bt, {"a": 1.0}, CONFIG.with_(growth=0.0, scale=1.5), full_noise=0.01)
    np.testing.assert_allclose(wider.half_width(np.array([2e3]), 0.9), 0.03)


def test_the_interval_sigma_is_capped_at_a_multiple_of_the_backtests() -> None:
    """A curve that breaks after its last cut: the full fit's σ (0.3) is 1,000x the cuts' fits'
    (3e-4). The scores are in the cuts' units, so the interval takes σ = NOISE_RATIO_CAP·3e-4,
    not 0.3 (which made e^±100 intervals), and is unchanged when the σ are alike."""
    bt = _backtests({"a": 0.02, "b": 0.02, "c": 0.02}, {"a": 1, "b": 1, "c": 1})
    for cb in bt.candidates.values():
        cb.noise[:] = [3e-4] * 3
    config = CONFIG.with_(growth=0.0, scale=1.0)
    broke = calibrate(bt, {"a": 1.0}, config, full_noise=0.3)
    assert broke.noise == pytest.approx(NOISE_RATIO_CAP * 3e-4)
    # scores 0.02 / 3e-4; half-width q·σ = 0.02·NOISE_RATIO_CAP
    np.testing.assert_allclose(broke.half_width(np.array([2e3]), 0.9), 0.02 * NOISE_RATIO_CAP)
    alike = calibrate(bt, {"a": 1.0}, config, full_noise=5e-4)
    assert alike.noise == pytest.approx(5e-4)


def test_a_noise_floor_ratio_keeps_the_interval_sigma_near_the_cuts() -> None:
    """A full fit that matches its points 10x better than its cuts' fits (σ 3e-4 against 3e-3):
    without a floor the interval narrows tenfold (q·σ_full = 0.002); with L = 2/3 its σ is
    raised to 2e-3, the half-width to 0.02·2/3; a full σ above the floor is left as it is."""
    bt = _backtests({"a": 0.02, "b": 0.02, "c": 0.02}, {"a": 1, "b": 1, "c": 1})
    for cb in bt.candidates.values():
        cb.noise[:] = [3e-3] * 3
    config = CONFIG.with_(growth=0.0, scale=1.0)
    np.testing.assert_allclose(
        calibrate(bt, {"a": 1.0}, config, full_noise=3e-4).half_width(np.array([2e3]), 0.9), 0.002
    )
    floored = calibrate(bt, {"a": 1.0}, config.with_(noise_floor_ratio=2 / 3), full_noise=3e-4)
    assert floored.noise == pytest.approx(2e-3)
    np.testing.assert_allclose(floored.half_width(np.array([2e3]), 0.9), 0.02 * 2 / 3)
    above = calibrate(bt, {"a": 1.0}, config.with_(noise_floor_ratio=2 / 3), full_noise=5e-3)
    assert above.noise == pytest.approx(5e-3)
    assert "-L0.667-" in config.with_(noise_floor_ratio=2 / 3).key and "-L" not in config.key


def test_log_units_score_the_errors_themselves_whatever_the_fits_sigma() -> None:
    """units="log": the scores are the held-out log errors (0.02) and σ is 1, so the half-width
    is q = 0.02 whether the fits' σ is 0.01 or 1e-4 and whatever the full fit's σ; in units of
    σ the same backtests give q·σ_full, which moves with both."""
    config = CONFIG.with_(growth=0.0, scale=1.0, units="log")
    widths = []
    for cut_sigma, full_sigma in ((0.01, 0.01), (1e-4, 0.05), (1e-4, 1e-4)):
        bt = _backtests({"a": 0.02, "b": 0.02, "c": 0.02}, {"a": 1, "b": 1, "c": 1})
        for cb in bt.candidates.values():
            cb.noise[:] = [cut_sigma] * 3
        cal = calibrate(bt, {"a": 1.0}, config, full_noise=full_sigma)
        assert (cal.noise, cal.units) == (1.0, "log")
        widths.append(float(cal.half_width(np.array([2e3]), 0.9)[0]))
        in_sigma = calibrate(bt, {"a": 1.0}, config.with_(units="sigma"), full_noise=full_sigma)
        assert in_sigma.units == "sigma"
        expected = 0.02 / cut_sigma * min(full_sigma, NOISE_RATIO_CAP * cut_sigma)
        np.testing.assert_allclose(in_sigma.half_width(np.array([2e3]), 0.9), expected)
    np.testing.assert_allclose(widths, 0.02)
    assert "-ul-" in config.key and "-ul-" not in config.with_(units="sigma").key
    with pytest.raises(ScalingLabError, match="unknown units"):
        calibrate(bt, {"a": 1.0}, config.with_(units="nats"), full_noise=0.01)


def test_a_sigma_offset_puts_the_scores_in_units_of_sigma_plus_tau() -> None:
    """τ = 0.01 on cuts whose σ is 1e-4 and a full fit's of 2e-4: the scores are 0.02 / 0.0101,
    the half-width q·(2e-4 + 0.01), near the log units' 0.02 where σ alone would give 0.04."""
    bt = _backtests({"a": 0.02, "b": 0.02, "c": 0.02}, {"a": 1, "b": 1, "c": 1})
    for cb in bt.candidates.values():
        cb.noise[:] = [1e-4] * 3
    config = CONFIG.with_(growth=0.0, scale=1.0, sigma_offset=0.01)
    cal = calibrate(bt, {"a": 1.0}, config, full_noise=2e-4)
    assert cal.noise == pytest.approx(2e-4 + 0.01)
    np.testing.assert_allclose(cal.half_width(np.array([2e3]), 0.9), 0.02 / 0.0101 * 0.0102)
    plain = calibrate(bt, {"a": 1.0}, config.with_(sigma_offset=0.0), full_noise=2e-4)
    np.testing.assert_allclose(plain.half_width(np.array([2e3]), 0.9), 0.04)
    assert "-t0.01-" in config.key and "-t0" not in config.with_(sigma_offset=0.0).key


def test_intervals_widen_with_the_distance_asked_for() -> None:
    g = growth_factor(np.array([0.0, 0.5, 1.0, 2.0]), reach=1.0, growth=1.0)
    np.testing.assert_allclose(g, [0.25, 0.5, 1.0, 2.0])
    np.testing.assert_allclose(growth_factor(np.array([3.0]), 1.0, 0.0), [1.0])


def test_intervals_widen_faster_past_the_backtests_reach() -> None:
    """`beyond` multiplies g by (d/reach)^beyond past the reach only; a calibration keeps it
    through to_dict/from_dict, and one written before it (no "beyond") has none."""
    d = np.array([0.5, 1.0, 2.0, 4.0])
    np.testing.assert_allclose(growth_factor(d, 1.0, 1.0, beyond=1.0), [0.5, 1.0, 4.0, 16.0])
    np.testing.assert_allclose(growth_factor(d, 2.0, 0.0, beyond=0.5), [1, 1, 1, 2**0.5])
    np.testing.assert_allclose(growth_factor(d, math.nan, 1.0, beyond=1.0), [1, 1, 1, 1])
    cal = Calibration(scores=((1.0, 2.0),), noise=0.01, x_max=10.0, reach=1.0, growth=1.0,
                      beyond=1.0)  # fmt: skip
    x = 10.0 * np.exp(np.array([1.0, 2.0]))
    assert cal.half_width(x, 0.9)[1] / cal.half_width(x, 0.9)[0] == pytest.approx(4.0)
    assert Calibration.from_dict(cal.to_dict()) == cal
    old = {k: v for k, v in cal.to_dict().items() if k != "beyond"}
    assert Calibration.from_dict(old).beyond == 0.0
    assert "-b1-" in RuleConfig(beyond=1.0).key and "-b" not in RuleConfig().key


def test_a_calibration_keeps_its_distinct_held_out_values() -> None:
    """`values` (distinct held-out x values) survives to_dict/from_dict; a fit file without it
    counts every score, as before."""
    cal = Calibration(scores=((1.0, 2.0, 3.0, 4.0),), noise=0.01, x_max=10.0, values=2)
    assert cal.n_values == 2
    assert Calibration.from_dict(cal.to_dict()) == cal
    old = {k: v for k, v in cal.to_dict().items() if k != "values"}
    assert Calibration.from_dict(old).n_values == 4


def test_geomean_pooling_takes_the_geometric_mean_of_the_cuts_quantiles() -> None:
    """pool="geomean": q is the geometric mean of each cut's 90% quantile, not the largest (the
    conformal quantile with 2 cuts); it survives to_dict/from_dict, a fit file without it pools
    as before, and an unknown pooling is refused."""
    scores = (tuple(np.linspace(0.1, 1.0, 10)), tuple(np.linspace(0.4, 4.0, 10)))
    conformal = Calibration(scores=scores, noise=0.01, x_max=10.0)
    pooled = Calibration(scores=scores, noise=0.01, x_max=10.0, pool="geomean")
    assert conformal.multiplier(0.9) == pytest.approx(4.0)
    assert pooled.multiplier(0.9) == pytest.approx(2.0)  # sqrt(1.0 * 4.0)
    assert pooled.half_width([20.0], 0.9)[0] == pytest.approx(
        0.5 * conformal.half_width([20.0], 0.9)[0]
    )
    assert Calibration.from_dict(pooled.to_dict()) == pooled
    old = {k: v for k, v in pooled.to_dict().items() if k != "pool"}
    assert Calibration.from_dict(old).pool == "conformal"
    with pytest.raises(ScalingLabError, match="unknown pool"):
        Calibration(scores=scores, noise=0.01, x_max=10.0, pool="max")
    assert "-pg-" in RuleConfig(pool="geomean").key and "-pg" not in RuleConfig().key


def test_rms_pooling_reads_each_cut_as_gaussian_errors() -> None:
    """pool="rms": each cut's q is z · RMS of its scores (z the normal quantile of the level),
    pooled by the geometric mean; on many |N(0, 1)| scores it agrees with the empirical
    quantile, and on one score it is z times that score, not the score itself."""
    rms = Calibration(scores=((3.0, 4.0), (1.0,)), noise=0.01, x_max=10.0, pool="rms")
    z90 = NormalDist().inv_cdf(0.95)
    cut_1, cut_2 = z90 * np.sqrt((9 + 16) / 2), z90 * 1.0
    assert rms.multiplier(0.9) == pytest.approx(np.sqrt(cut_1 * cut_2))
    z50 = NormalDist().inv_cdf(0.75)  # the level moves z only
    assert rms.multiplier(0.5) == pytest.approx(z50 * np.sqrt(np.sqrt(12.5) * 1.0))
    many = tuple(np.abs(np.random.default_rng(0).standard_normal(20_000)))
    gaussian = Calibration(scores=(many,), noise=0.01, x_max=10.0, pool="rms")
    empirical = Calibration(scores=(many,), noise=0.01, x_max=10.0, pool="geomean")
    assert gaussian.multiplier(0.9) == pytest.approx(empirical.multiplier(0.9), rel=0.02)
    assert Calibration.from_dict(rms.to_dict()) == rms
    assert "-pr-" in RuleConfig(pool="rms").key


def test_conformal_quantile() -> None:
    assert conformal_quantile([3, 1, 2], 0.9) == 3  # n too small: the largest
    assert conformal_quantile(list(range(1, 20)), 0.5) == 10  # ⌈20·0.5⌉ = 10th
    assert math.isnan(conformal_quantile([], 0.9))


def _mixture_backtests(w_true: float, ridge_noise: float = 0.0) -> CurveBacktests:
    """Backtests where the truth is exactly w_true·a + (1 − w_true)·b in log space, and c is
    off on its own."""
    rng = np.random.default_rng(0)
    x = np.geomspace(1, 1e3, 13)
    y = np.exp(rng.normal(0.5, 0.2, 13))
    cuts = [9, 7, 5]
    da = [rng.normal(0, 0.05, 13 - c) for c in cuts]  # a's errors; b's are opposite-signed
    a = [np.log(y[c:]) + (1 - w_true) * e for c, e in zip(cuts, da, strict=True)]
    b = [np.log(y[c:]) - w_true * e for c, e in zip(cuts, da, strict=True)]
    c = [np.log(y[k:]) + 0.3 + rng.normal(0, ridge_noise, 13 - k) for k in cuts]
    cands = {
        "a": CandidateBacktest("a", 3, a, [0.01] * 3),
        "b": CandidateBacktest("b", 3, b, [0.01] * 3),
        "c": CandidateBacktest("c", 3, c, [0.01] * 3),
    }
    return CurveBacktests(x, y, np.log(1e3), cuts, cands)


@pytest.mark.parametrize("w_true", [0.2, 0.5, 0.9])
def test_stacking_recovers_the_mixture_of_the_backtests(w_true: float) -> None:
    bt = _mixture_backtests(w_true)
    w = weigh(bt, CONFIG.with_(combine="stack", ridge=0.0)).weights
    assert sum(w.values()) == pytest.approx(1.0)
    assert w["a"] == pytest.approx(w_true, abs=1e-3)
    assert w["b"] == pytest.approx(1 - w_true, abs=1e-3)
    assert w.get("c", 0.0) < 1e-3


def test_stacking_ridge_pulls_the_weights_toward_equal() -> None:
    bt = _mixture_backtests(0.9)
    spread = []
    for ridge in (0.0, 1.0, 1e4):
        w = weigh(bt, CONFIG.with_(combine="stack", ridge=ridge)).weights
        full = np.array([w.get(k, 0.0) for k in "abc"])
        assert np.all(full >= 0) and full.sum() == pytest.approx(1.0)
        spread.append(float(np.abs(full - 1 / 3).sum()))
    assert spread[0] > spread[1] > spread[2]
    assert spread[2] < 0.05


def test_stacking_uses_only_eligible_candidates() -> None:
    bt = _mixture_backtests(0.5)
    bt.candidates["c"].log_pred[1] = np.full_like(bt.candidates["c"].log_pred[1], np.nan)
    w = weigh(bt, CONFIG.with_(combine="stack", ridge=1.0)).weights
    assert "c" not in w


def test_stacking_ridge_pulls_the_weights_toward_the_prior() -> None:
    """With a prior, the ridge pulls toward it instead of equal weights; ridge inf is the prior,
    renormalised over the eligible candidates; a prior naming none of them is equal weights."""
    bt = _mixture_backtests(0.5)
    prior = (("a", 0.1), ("b", 0.1), ("c", 0.8))
    strong = weigh(bt, CONFIG.with_(combine="stack", ridge=1e4, prior=prior)).weights
    assert strong["c"] == pytest.approx(0.8, abs=0.02)
    exact = weigh(bt, CONFIG.with_(combine="stack", ridge=math.inf, prior=prior)).weights
    assert exact == pytest.approx({"a": 0.1, "b": 0.1, "c": 0.8})
    free = weigh(bt, CONFIG.with_(combine="stack", ridge=0.0, prior=prior)).weights
    assert free.get("c", 0.0) < 1e-3  # no ridge: the backtests alone
    bt.candidates["c"].log_pred[1] = np.full_like(bt.candidates["c"].log_pred[1], np.nan)
    exact = weigh(bt, CONFIG.with_(combine="stack", ridge=math.inf, prior=prior)).weights
    assert exact == pytest.approx({"a": 0.5, "b": 0.5})
    other = (("z", 1.0),)
    equal = weigh(bt, CONFIG.with_(combine="stack", ridge=math.inf, prior=other)).weights
    assert equal == pytest.approx({"a": 0.5, "b": 0.5})
    assert "P" in CONFIG.with_(combine="stack", prior=prior).key
    assert "P" not in CONFIG.with_(combine="stack").key


def test_mixture_prior_recovers_the_mixture_that_predicts_the_problems() -> None:
    """Outcomes made by a 0.7/0.3 mixture of two laws' predictions (a third far off): the prior
    is that mixture; a law that failed on a problem is left out of it there."""
    rng = np.random.default_rng(3)
    problems = []
    for i in range(30):
        a, b = rng.normal(0, 0.1, 4), rng.normal(0, 0.1, 4)
        log_y = 0.7 * a + 0.3 * b
        c = log_y + 0.5
        if i % 10 == 0:
            c = np.full(4, np.nan)  # failed here
        problems.append(("s1" if i % 2 else "s2", np.stack([a, b, c], axis=1), log_y))
    prior = dict(mixture_prior(problems, ("a", "b", "c")))
    assert prior["a"] == pytest.approx(0.7, abs=0.02)
    assert prior["b"] == pytest.approx(0.3, abs=0.02)
    assert prior["c"] < 0.02
    assert sum(prior.values()) == pytest.approx(1.0, abs=1e-3)


# ------------------------------------------------------------------------------------------------
# Information criteria of the full fits ("ic", and stacks toward their weights)
# ------------------------------------------------------------------------------------------------
def test_information_criteria_match_the_textbook_formulas() -> None:
    """AIC = n ln(RSS/n) + 2k, BIC = n ln(RSS/n) + k ln n, RSS = σ²(n − k); inf with fewer than
    k + EXTRA_POINTS points; an exact fit's RSS is floored at n·NOISE_FLOOR²."""
    noise = {"a": 0.02, "b": 0.015, "c": 0.0, "d": 0.01}
    n_free = {"a": 2, "b": 4, "c": 3, "d": 12}
    aic = information_criteria(12, noise, n_free, RuleConfig(criterion="aic"))
    bic = information_criteria(12, noise, n_free, RuleConfig(criterion="bic"))
    rss_a = 0.02**2 * 10
    assert aic["a"] == pytest.approx(12 * math.log(rss_a / 12) + 4)
    assert bic["b"] == pytest.approx(12 * math.log(0.015**2 * 8 / 12) + 4 * math.log(12))
    assert aic["c"] == pytest.approx(12 * math.log(NOISE_FLOOR**2) + 6)
    assert math.isinf(aic["d"])  # 12 points cannot judge 12 parameters
    with pytest.raises(ScalingLabError, match="aic, aicc, bic"):
        information_criteria(12, noise, n_free, RuleConfig(criterion="cv"))


def test_aicc_adds_the_small_sample_correction() -> None:
    """AICc = AIC + 2k(k+1)/(n−k−1) (Hurvich & Tsai 1989): it grows without bound as n falls
    to k + 1, is inf below k + 2 points, and tends to AIC as n grows; with few points it turns
    the choice from a flexible law that fits a little better to a simpler one."""
    noise, n_free = {"simple": 0.020, "flexible": 0.017}, {"simple": 3, "flexible": 9}
    aic = information_criteria(14, noise, n_free, RuleConfig(criterion="aic"))
    aicc = information_criteria(14, noise, n_free, RuleConfig(criterion="aicc"))
    assert aicc["simple"] - aic["simple"] == pytest.approx(2 * 3 * 4 / 10)
    assert aicc["flexible"] - aic["flexible"] == pytest.approx(2 * 9 * 10 / 4)
    assert aic["flexible"] < aic["simple"] and aicc["simple"] < aicc["flexible"]
    assert math.isinf(
        information_criteria(10, noise, n_free, RuleConfig(criterion="aicc"))["flexible"]
    )
    assert math.isfinite(
        information_criteria(10, noise, n_free, RuleConfig(criterion="aic"))["flexible"]
    )
    big = {
        c: information_criteria(10_000, noise, n_free, RuleConfig(criterion=c))
        for c in ("aic", "aicc")
    }
    assert big["aicc"]["flexible"] - big["aic"]["flexible"] < 0.02


def test_akaike_weights() -> None:
    """w ∝ exp(−ΔIC / 2T); T = 0 keeps the lowest; no finite criterion is one clear error."""
    ic = {"a": 10.0, "b": 12.0, "c": math.inf}
    w = ic_weights(ic, RuleConfig(temperature=1.0))
    assert w["a"] / w["b"] == pytest.approx(math.e) and "c" not in w
    assert sum(w.values()) == pytest.approx(1.0) and next(iter(w)) == "a"
    hot = ic_weights(ic, RuleConfig(temperature=4.0))
    assert hot["a"] / hot["b"] == pytest.approx(math.exp(0.25))
    assert ic_weights(ic, RuleConfig(temperature=0.0)) == {"a": 1.0}
    with pytest.raises(ScalingLabError, match="information criterion"):
        ic_weights({"a": math.inf}, RuleConfig())


def _ic_backtests(full_noise: dict[str, float]) -> CurveBacktests:
    """Three 3-parameter candidates: "a" is off by 0.05 at every cut, "b" and "c" exact; the
    cuts' fits have residual scales a 0.01, b 0.02, c 0.04."""
    bt = _backtests({"a": 0.05, "b": 0.0, "c": 0.0}, {"a": 3, "b": 3, "c": 3})
    for k, s in {"a": 0.01, "b": 0.02, "c": 0.04}.items():
        bt.candidates[k].noise = [s] * 3
    bt.full_noise = dict(full_noise)
    return bt


def test_ic_weighs_the_full_fits_and_calibrates_the_rule_at_each_cut() -> None:
    """The weights come from the full fits (b fits best there), whatever the backtests say; the
    calibration applies the rule to each cut's own fits, where "a" (the best cut fit) carries
    nearly all the weight, so the scores are a's error over a's σ: 0.05 / 0.01 ≈ 5."""
    bt = _ic_backtests({"a": 0.03, "b": 0.01, "c": 0.05})
    config = CONFIG.with_(combine="ic", criterion="aic", temperature=1.0, growth=0.0)
    result = weigh(bt, config)
    assert next(iter(result.weights)) == "b" and result.scores["b"] == 0.0
    assert result.scores["a"] == pytest.approx(13 * math.log(0.03**2 / 0.01**2))
    assert "AIC of the fits on all 13 points" in result.reason
    cal = calibrate(bt, result.weights, config, full_noise=0.01)
    assert cal.multiplier(0.9) == pytest.approx(5.0, rel=0.02)
    # A candidate without a full fit has no criterion, so no weight.
    bt.full_noise["b"] = math.nan
    assert "b" not in weigh(bt, config).weights


def test_group_evidence_is_the_capped_mean_of_the_other_curves_deltas() -> None:
    others = [{"a": 0.0, "b": 4.0}, {"a": 100.0, "b": 0.0, "c": 2.0}]
    # a: (0 + cap 10) / 2; b: (4 + 0) / 2; c: missing on the first curve counts as the cap
    assert group_evidence(others, 10.0) == {"a": 5.0, "b": 2.0, "c": 6.0}
    assert group_evidence([], 10.0) == {}


def test_pooling_adds_the_groups_evidence_to_the_criteria_at_the_fit_and_each_cut() -> None:
    """b fits this curve best (ΔAIC of a: 13·ln 9 ≈ 28.6); its group says a by 40 each (capped
    there), so with λ = 1 a wins, by 40 − 28.6. Without a group, or with λ = 0, nothing moves.
    The cuts' criteria get the same evidence: a group for c (exact at every cut, but the worst
    cut fits) moves the cuts' weight from a (off by 0.05 = 5σ) to c, and the scores to ~0."""
    bt = _ic_backtests({"a": 0.03, "b": 0.01, "c": 0.05})
    config = CONFIG.with_(combine="ic", criterion="aic", temperature=1.0, growth=0.0)
    own = ic_deltas(bt, config.candidates, config)
    bt.group = [{"a": 0.0, "b": 50.0, "c": 60.0}] * 3
    assert ic_deltas(bt, config.candidates, config) == own
    pooled = config.with_(pooling=1.0, pooling_cap=40.0)
    deltas = ic_deltas(bt, pooled.candidates, pooled)
    assert deltas["a"] == 0.0
    assert deltas["b"] == pytest.approx(40.0 - own["a"])
    assert next(iter(weigh(bt, pooled).weights)) == "a"
    weights = weigh(bt, pooled).weights
    assert calibrate(bt, weights, pooled, full_noise=0.01).multiplier(0.9) == pytest.approx(
        5.0, rel=0.02
    )
    bt.group = [{"a": 40.0, "b": 40.0, "c": 0.0}] * 3
    assert calibrate(bt, weights, pooled, full_noise=0.01).multiplier(0.9) < 0.5
    bt.group = []
    assert ic_deltas(bt, pooled.candidates, pooled) == own
    assert "gp1c40" in pooled.key and "gp" not in config.key


def test_stacks_toward_the_akaike_weights_keep_the_unbacktested_laws_share() -> None:
    """Under toward="ic" the ridge pulls toward the Akaike weights p of the full fits: a huge
    ridge gives p, no ridge gives the backtests' mixture within p's mass on the eligible laws,
    and a law the cuts could not fit keeps its p; the calibration leaves it out at those cuts."""
    bt = _mixture_backtests(0.9)
    bt.full_noise = {"a": 0.02, "b": 0.01, "c": 0.01}
    config = CONFIG.with_(combine="stack", toward="ic", criterion="aic", temperature=1.0)
    ic = information_criteria(13, bt.full_noise, {"a": 3, "b": 3, "c": 3}, config)
    p = ic_weights(ic, config)
    assert p["b"] == pytest.approx(p["c"]) and p.get("a", 0.0) < 0.01
    assert weigh(bt, config.with_(ridge=1e6)).weights == pytest.approx(p, abs=1e-3)
    free = weigh(bt, config.with_(ridge=0.0)).weights
    assert free["a"] == pytest.approx(0.9, abs=1e-3) and free.get("c", 0.0) < 1e-3
    assert "aicT1" in config.key and "toward the AIC weights" in weigh(bt, config).reason
    bt.candidates["c"].log_pred[1] = np.full_like(bt.candidates["c"].log_pred[1], np.nan)
    w = weigh(bt, config.with_(ridge=0.0)).weights
    assert w["c"] == pytest.approx(p["c"])  # not eligible: the backtests say nothing about c
    assert w["a"] == pytest.approx(0.9 * (1 - p["c"]), abs=1e-3)
    cal = calibrate(bt, w, config.with_(growth=0.0, scale=1.0), full_noise=0.01)
    assert len(cal.scores) == 3 and all(np.all(np.isfinite(s)) for s in cal.scores)


def test_a_stack_toward_the_ic_weights_is_calibrated_where_its_laws_were_not_fitted() -> None:
    """All of the Akaike weight on a law no cut could fit: the stack is that law, and each cut
    is scored with the criteria of the laws fitted there (b, the better cut fit, off by 0.1 at
    every cut, σ 0.01), so every cut has scores and the interval is finite."""
    bt = _backtests({"a": 0.0, "b": 0.1}, {"a": 6, "b": 3})
    bt.candidates["a"].log_pred = [np.full_like(p, np.nan) for p in bt.candidates["a"].log_pred]
    bt.candidates["b"].noise = [0.01] * 3
    bt.full_noise = {"a": 0.001, "b": 0.1}
    config = RuleConfig(
        candidates=("a", "b"), combine="stack", toward="ic", criterion="aic", temperature=1.0
    )
    weights = weigh(bt, config).weights
    assert weights == {"a": 1.0}
    cal = calibrate(bt, weights, config.with_(growth=0.0, scale=1.0), full_noise=0.01)
    assert len(cal.scores) == 3
    assert all(max(s) * 0.01 == pytest.approx(0.1, rel=1e-6) for s in cal.scores)
    assert math.isfinite(cal.multiplier(0.9))


def _disagreeing_backtests() -> CurveBacktests:
    """Two laws and two cuts: a is exact at the first cut and b 0.2 high; at the second b is
    exact and a 0.2 low."""
    x = np.geomspace(1, 1e3, 13)
    y = np.full(13, 2.0)
    cuts = [9, 7]
    a = [np.log(y[9:]), np.log(y[7:]) - 0.2]
    b = [np.log(y[9:]) + 0.2, np.log(y[7:])]
    cands = {
        "a": CandidateBacktest("a", 2, a, [0.01, 0.01]),
        "b": CandidateBacktest("b", 2, b, [0.01, 0.01]),
    }
    return CurveBacktests(x, y, np.log(1e3), cuts, cands)


def test_only_cuts_keeps_the_chosen_cuts_of_every_candidate() -> None:
    bt = _disagreeing_backtests()
    second = bt.only_cuts([1])
    assert second.cuts == [7]
    assert np.allclose(second.candidates["a"].log_pred[0], np.log(2.0) - 0.2)
    assert second.candidates["b"].noise == [0.01]
    assert bt.cuts == [9, 7]  # the original is left as it was


def test_crossfit_scores_each_cut_with_weights_stacked_on_the_other_cuts() -> None:
    """Stacked on both cuts, the weights split the two laws (0.4 and 0.6: the second cut holds
    more points) and each cut's error is at most 0.12; a cut scored with the weights of the
    other cut alone sees the other law's 0.2. With one cut there is nothing else to fit on: it
    is scored with the prior, equal weights."""
    bt = _disagreeing_backtests()
    config = RuleConfig(candidates=("a", "b"), n_cuts=2, combine="stack", ridge=0.0)
    weights = weigh(bt, config).weights
    assert weights["a"] == pytest.approx(0.4, abs=1e-6)
    plain = calibrate(bt, weights, config, 0.01)
    crossed = calibrate(bt, weights, config.with_(crossfit=True), 0.01)
    assert max(max(s) for s in plain.scores) * 0.01 == pytest.approx(0.12, abs=1e-6)
    assert all(max(s) * 0.01 == pytest.approx(0.2, abs=1e-6) for s in crossed.scores)
    one = config.with_(n_cuts=1, crossfit=True)
    single = calibrate(bt, weigh(bt, one).weights, one, 0.01)
    assert max(single.scores[0]) * 0.01 == pytest.approx(0.1, abs=1e-6)
    assert "-x-" in config.with_(crossfit=True).key and "-x-" not in config.key


def _spread_laws(exponents: tuple[float, ...]) -> tuple[dict[str, object], ...]:
    """Pure power laws y = x^c through y(1) = 1 (M1), as a calibration keeps them."""
    return tuple({"law": "m1", "params": {"beta": 1.0, "c": c}} for c in exponents)


def test_the_laws_spread_joins_the_interval_in_quadrature() -> None:
    """model_spread k: the log half-width is √(base² + (k·s(x))²), s the standard deviation of
    the spread laws' log predictions; power laws x^-0.2 and x^-0.4 part by 0.2·ln x, so
    s(x) = 0.1·ln x. k = 0 or fewer than two laws leave the calibrated interval as it was, and
    the 99% interval scales the spread term by z_0.995 / z_0.95."""
    base = Calibration(scores=((1.0,),), noise=0.01, x_max=10.0)
    cal = Calibration(scores=((1.0,),), noise=0.01, x_max=10.0, spread=2.0,
                      spread_laws=_spread_laws((-0.2, -0.4)))  # fmt: skip
    x = np.array([100.0, 1e4])
    s = 0.1 * np.log(x)
    np.testing.assert_allclose(laws_spread(cal, x), s, rtol=1e-6)
    b90 = base.half_width(x, 0.9)
    np.testing.assert_allclose(cal.half_width(x, 0.9, s), np.hypot(b90, 2.0 * s), rtol=1e-6)
    z = 2.5758293035489 / 1.6448536269514722
    np.testing.assert_allclose(
        cal.half_width(x, 0.99, s), np.hypot(base.half_width(x, 0.99), 2.0 * z * s), rtol=1e-6
    )
    one = Calibration(scores=((1.0,),), noise=0.01, x_max=10.0, spread=2.0,
                      spread_laws=_spread_laws((-0.2,)))  # fmt: skip
    np.testing.assert_allclose(laws_spread(one, x), 0.0)
    np.testing.assert_allclose(base.half_width(x, 0.9, s), b90)  # k = 0: no spread term
    back = Calibration.from_dict(cal.to_dict())
    assert back.to_dict() == cal.to_dict()
    np.testing.assert_allclose(laws_spread(back, x), s, rtol=1e-6)
    assert Calibration.from_dict(base.to_dict()).spread == 0.0  # files without it: no spread
    assert "-ms1-" in RuleConfig(model_spread=1.0).key and "-ms" not in RuleConfig().key


def test_the_laws_spread_as_a_power_scales_the_interval() -> None:
    """spread_power c: the log half-width is base·(max(s, NOISE_FLOOR)/SPREAD_LEVEL)^c, so at
    s = SPREAD_LEVEL it is the base and where the laws part ten times more it is 10^c times the
    base; a spread of 0 (fewer than two laws) or c = 0 leaves the base; the fit file keeps c."""
    base = Calibration(scores=((1.0,),), noise=0.01, x_max=10.0)
    cal = replace(base, spread_power=0.5, spread_laws=_spread_laws((-0.2, -0.4)))
    assert cal.uses_spread and not base.uses_spread
    x = np.array([100.0, 1e4, 1e6])
    s = np.array([SPREAD_LEVEL, 10 * SPREAD_LEVEL, 0.0])
    b90 = base.half_width(x, 0.9)
    np.testing.assert_allclose(cal.half_width(x, 0.9, s), b90 * [1.0, 10**0.5, 1.0], rtol=1e-9)
    tiny = np.array([1e-9, 1e-9, 1e-9])  # below the floor: as if NOISE_FLOOR
    np.testing.assert_allclose(
        cal.half_width(x, 0.9, tiny), b90 * (NOISE_FLOOR / SPREAD_LEVEL) ** 0.5, rtol=1e-9
    )
    np.testing.assert_allclose(base.half_width(x, 0.9, s), b90)
    assert Calibration.from_dict(cal.to_dict()).to_dict() == cal.to_dict()
    assert Calibration.from_dict(base.to_dict()).spread_power == 0.0
    with pytest.raises(ScalingLabError, match="spread_power must be >= 0"):
        replace(base, spread_power=-0.1)
    assert "-sp0.1-" in RuleConfig(spread_power=0.1).key and "-sp" not in RuleConfig().key
    assert RuleConfig(spread_power=0.1).uses_spread and not RuleConfig().uses_spread


@pytest.mark.parametrize(
    ("spread_laws", "match"),
    [
        ("m1", "must be a list of fitted laws"),
        ([1, 2], "must be a list of fitted laws"),
        ([{"law": "no_such_law", "params": {}}], "unknown law"),
        ([{"law": "m1"}], "needs its fitted params"),
        ([{"law": "m1", "params": {"beta": 1.0}}], "must be exactly"),
        ([{"law": "m1", "params": {"beta": "__import__('os')", "c": -0.1}}], "must be a number"),
        ([{"law": "m1", "params": {"beta": -1.0, "c": -0.1}}], "outside the law's bounds"),
        (
            [{"law": "chinchilla", "params": {"E": 1, "A": 1, "alpha": 0.3, "B": 1, "beta": 0.3}}],
            "learning curves",
        ),
    ],
)
def test_a_malformed_spread_law_is_one_clear_error(spread_laws: object, match: str) -> None:
    """Refused when the fit file is read, before anything is predicted."""
    doc = Calibration(scores=((1.0,),), noise=0.01, x_max=10.0, spread=1.0).to_dict()
    fit = {"law": "m1", "params": {"beta": 1.0, "c": -0.2}}
    with pytest.raises(ScalingLabError, match=match):
        ScalingLaw.from_dict({**fit, "calibration": {**doc, "spread_laws": spread_laws}})


def test_a_negative_spread_is_refused() -> None:
    with pytest.raises(ScalingLabError, match="spread must be >= 0"):
        Calibration(scores=((1.0,),), noise=0.01, x_max=10.0, spread=-1.0)


def test_a_spread_law_keeps_only_its_name_options_and_params() -> None:
    """Nothing nested in a spread law is read (a calibration inside it, say), so a fit file
    cannot make reading it recurse."""
    nested = {"law": "m1", "params": {"beta": 1.0, "c": -0.2}, "calibration": {"bad": True}}
    doc = Calibration(scores=((1.0,),), noise=0.01, x_max=10.0, spread=1.0).to_dict()
    back = Calibration.from_dict({**doc, "spread_laws": [nested, nested]})
    assert all(set(entry) == {"law", "params"} for entry in back.spread_laws)


def test_long_curves_get_the_whole_grid_criteria_and_their_own_scale() -> None:
    """long_curves L: a curve of L or more distinct x values reads its criteria off the
    whole-grid fits at long_scale; a shorter one gets the knobs as they are; L 0 is off."""
    rule = DEFAULT_RULE.with_(long_curves=11, long_scale=1.75)
    long = rule.for_curve(11)
    assert (long.criteria_fits, long.scale, long.long_curves) == ("whole", 1.75, 0)
    assert long.with_(criteria_fits="batched", scale=rule.scale) == DEFAULT_RULE
    assert rule.for_curve(10) is rule
    assert DEFAULT_RULE.for_curve(1000) is DEFAULT_RULE
    assert "-lc11w1.75-" in rule.key and "-lc" not in DEFAULT_RULE.key


def test_a_calibration_keeps_its_units_through_a_fit_file() -> None:
    """Calibration.units round-trips; a fit file written before the field says σ units unless
    its noise is exactly 1 (log units, 2026-12-07 until the field); unknown units are refused."""
    log_cal = Calibration(scores=((0.1, 0.2),), noise=1.0, x_max=10.0, units="log")
    sigma_cal = Calibration(scores=((1.0, 2.0),), noise=0.05, x_max=10.0)
    for cal in (log_cal, sigma_cal):
        assert Calibration.from_dict(cal.to_dict()) == cal
    for cal, units in ((log_cal, "log"), (sigma_cal, "sigma")):
        old = {k: v for k, v in cal.to_dict().items() if k != "units"}
        assert Calibration.from_dict(old).units == units
    with pytest.raises(ScalingLabError, match="unknown units 'nats'"):
        Calibration.from_dict({**log_cal.to_dict(), "units": "nats"})
