"""Test-time compute laws (issue 17): Jones 2021's Hex frontier and trade-off, Brown 2024's
pass@k, and the Elo helpers. Each law recovers the coefficients its synthetic data were made
with — the published ones, and a second, different set, so a law that returned the published
numbers whatever the data would fail."""

from __future__ import annotations

import numpy as np
import pytest

from scalinglab.errors import ScalingLabError
from scalinglab.laws import (
    JonesFrontier,
    JonesTradeoff,
    PassAtK,
    PassAtKCompute,
    ScalingLaw,
    elo_difference,
    elo_from_win_rate,
    win_rate,
)
from scalinglab.laws.jones import (
    HEX_INCLINE_PER_BOARD_SIZE,
    HEX_INCLINE_PER_DECADE,
    HEX_PLATEAU_PER_BOARD_SIZE,
    HEX_TRADEOFF_SLOPE,
)

HEX = {
    "incline_slope": HEX_INCLINE_PER_DECADE,
    "incline_size": HEX_INCLINE_PER_BOARD_SIZE,
    "incline_const": -4400.0,
    "plateau_size": HEX_PLATEAU_PER_BOARD_SIZE,
    "plateau_const": 570.0,
}
OTHER = {
    "incline_slope": 300.0,
    "incline_size": -200.0,
    "incline_const": -2600.0,
    "plateau_size": -150.0,
    "plateau_const": 300.0,
}


def test_elo_and_win_rate_convert_both_ways() -> None:
    assert win_rate(0.0) == pytest.approx(0.5)
    assert win_rate(400.0) == pytest.approx(10 / 11)  # odds 10:1 per 400 points
    assert win_rate(-400.0) == pytest.approx(1 / 11)
    d = np.array([-1234.5, -100.0, 0.0, 37.0, 800.0])
    np.testing.assert_allclose(elo_difference(win_rate(d)), d, atol=1e-9)
    assert elo_difference(0.75) == pytest.approx(400 * np.log10(3))
    assert elo_from_win_rate(0.5, reference_elo=-300.0) == pytest.approx(-300.0)
    for bad in (0.0, 1.0, 1.5, np.nan):
        with pytest.raises(ScalingLabError, match="strictly between 0 and 1"):
            elo_difference(bad)
    with pytest.raises(ScalingLabError, match="reference"):
        elo_from_win_rate(0.6, reference_elo=None)


def _frontier_data(params: dict[str, float], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Frontier agents on boards 3..9 from 1e8 to 1e18 FLOPs, Elo with 30-point noise."""
    rng = np.random.default_rng(seed)
    X = np.array([(10**lc, s) for s in range(3, 10) for lc in np.arange(8.0, 18.01, 0.5)])
    truth = JonesFrontier()
    truth.params_ = dict(params)
    return X, truth.predict(X) + 30.0 * rng.standard_normal(len(X))


@pytest.mark.parametrize("params", [HEX, OTHER], ids=["published", "other"])
def test_frontier_recovers_incline_and_plateau(params: dict[str, float]) -> None:
    X, elo = _frontier_data(params)
    assert elo.min() < -1000 and (elo < 0).mean() > 0.5  # Elo vs perfect play: mostly negative
    law = JonesFrontier().fit(X, elo)
    assert law.converged_
    fit = law.params_
    assert fit["incline_slope"] == pytest.approx(params["incline_slope"], rel=0.04)
    assert fit["incline_size"] == pytest.approx(params["incline_size"], rel=0.06)
    assert fit["plateau_size"] == pytest.approx(params["plateau_size"], rel=0.06)
    # The residuals are the noise that was added (the global optimum, in Elo, not log Elo).
    assert np.sqrt(np.mean((law.predict(X) - elo) ** 2)) < 33.0


def test_frontier_reads_jones_seven_fold_compute_per_board_size() -> None:
    law = JonesFrontier().fit(*_frontier_data(HEX))
    per_size = 10 ** (-law.params_["incline_size"] / law.params_["incline_slope"])
    assert 6.0 < per_size < 8.0  # Jones 2021: ~7x the compute per step of board size
    # The inverse is the incline: the compute at which a board-9 agent reaches -500 Elo.
    c = law.inverse(-500.0, board_size=9)
    assert law.predict([[c[0], 9]])[0] == pytest.approx(-500.0, abs=1e-6)
    with pytest.raises(ScalingLabError, match="not on the incline"):
        law.inverse(100.0, board_size=9)  # above perfect play


def test_frontier_fits_elo_by_least_squares_and_round_trips() -> None:
    X, elo = _frontier_data(HEX)
    with pytest.raises(ScalingLabError, match="ls_linear"):
        JonesFrontier(objective="huber").fit(X, elo)
    law = JonesFrontier(ceiling=50.0).fit(X, elo)
    assert law.predict(X).max() <= 50.0 + 1e-6
    again = ScalingLaw.from_dict(law.to_dict())
    assert isinstance(again, JonesFrontier) and again.ceiling == 50.0
    np.testing.assert_allclose(again.predict(X), law.predict(X), atol=1e-8)


def _tradeoff_data(m: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Test-time compute needed at 6 train budgets x 5 Elo targets, 3% log-normal noise."""
    rng = np.random.default_rng(seed)
    X = np.array([(10**lc, e) for lc in np.arange(10.0, 13.1, 0.6) for e in range(-1500, -99, 350)])
    truth = JonesTradeoff()
    truth.params_ = {"m": m, "k": 0.004, "c": 20.0}
    return X, truth.predict(X) * np.exp(0.03 * rng.standard_normal(len(X)))


@pytest.mark.parametrize("m", [HEX_TRADEOFF_SLOPE, -0.5], ids=["published", "other"])
def test_tradeoff_recovers_slope_and_the_10x_train_15x_test_rule(m: float) -> None:
    X, c_test = _tradeoff_data(m)
    law = JonesTradeoff(n_bootstrap=200).fit(X, c_test)
    assert law.params_["m"] == pytest.approx(m, abs=0.03)
    assert law.params_["k"] == pytest.approx(0.004, rel=0.05)
    lo, hi = law.ci_["m"]
    assert lo <= m <= hi or abs(law.params_["m"] - m) < 0.01
    saved = 10 ** -law.params_["m"]  # test-time compute saved by 10x train-time compute
    if m == HEX_TRADEOFF_SLOPE:
        assert 14.0 < saved < 17.5  # Jones 2021: 10x train ~ 15x test
    else:
        assert 2.8 < saved < 3.6
    # The law's prediction moves as the rule says: 10x the train compute, 1/saved the test.
    base = law.predict([[1e11, -800.0]])[0]
    assert law.predict([[1e12, -800.0]])[0] == pytest.approx(base / saved, rel=1e-9)


def test_tradeoff_refuses_one_budget_and_a_bad_perf() -> None:
    X, c_test = _tradeoff_data(-1.2)
    one = X.copy()
    one[:, 0] = 1e11
    with pytest.raises(ScalingLabError, match="same train_compute"):
        JonesTradeoff().fit(one, c_test)
    with pytest.raises(ScalingLabError, match="NaN or inf"):
        JonesTradeoff().fit(np.where(X[0, 1] == X, np.nan, X), c_test)


@pytest.mark.parametrize(("a", "b"), [(2.5, 0.4), (0.8, 0.9)])
def test_pass_at_k_recovers_a_and_b_from_sampled_coverage(a: float, b: float) -> None:
    # Coverage measured the way a benchmark measures it: 4,000 problems, each solved by k
    # samples with the law's probability (binomial noise), k = 1 .. 1024.
    rng = np.random.default_rng(1)
    k = 2.0 ** np.arange(11)
    true = np.exp(-a * k**-b)
    coverage = rng.binomial(4000, true) / 4000
    law = PassAtK(objective="ls_linear").fit(k[:, None], coverage)
    assert law.params_["a"] == pytest.approx(a, rel=0.05)
    assert law.params_["b"] == pytest.approx(b, rel=0.05)
    k_half = law.inverse(0.5)[0]
    assert law.predict([[k_half]])[0] == pytest.approx(0.5)
    with pytest.raises(ScalingLabError, match=r"\(0, 1\]"):
        PassAtK().fit(k[:, None], coverage + 1)


def test_pass_at_k_compute_recovers_the_tradeoff() -> None:
    rng = np.random.default_rng(2)
    X = np.array([(c, t) for c in np.geomspace(1e10, 1e13, 6) for t in np.geomspace(1e5, 1e8, 8)])
    truth = PassAtKCompute()
    truth.params_ = {"a": 3e6, "alpha": 0.4, "beta": 0.5}
    y = np.minimum(truth.predict(X) * np.exp(0.01 * rng.standard_normal(len(X))), 1.0)
    law = PassAtKCompute().fit(X, y)
    assert law.params_["alpha"] == pytest.approx(0.4, rel=0.05)
    assert law.params_["beta"] == pytest.approx(0.5, rel=0.05)
    theta = np.array([[law.params_[n] for n in law.param_names]])
    slope, intercept = law.tradeoff_line(0.6, theta)
    assert slope[0] == pytest.approx(-0.8, rel=0.07)  # m = -alpha/beta
    # On the line, the law predicts the target coverage.
    c_train = 3e11
    c_test = 10 ** (slope[0] * np.log10(c_train) + intercept[0])
    assert law.predict([[c_train, c_test]])[0] == pytest.approx(0.6, rel=1e-9)
    with pytest.raises(ScalingLabError, match="same test_compute"):
        PassAtKCompute().fit(np.column_stack([X[:, 0], np.full(len(X), 1e6)]), y)


def test_pass_at_k_compute_fits_the_same_law_in_any_compute_units() -> None:
    # A plateau, then a jump, as a tiny transformer learns addition (pass@k = 1 − (1 − p)^k).
    # In FLOPs the scale a is ~e^60 and moves with 30·alpha: fitted as given, the solver stopped
    # at a worse optimum and its bootstrap refits never left it (all draws equal).
    C, ks = np.geomspace(4e10, 6e11, 9), 2.0 ** np.arange(6)
    p = np.where(C < 2.5e11, 0.01, 0.6)
    X = np.array([(c, k * 6.4e6) for c in C for k in ks])
    y = np.array([1 - (1 - pi) ** k for pi in p for k in ks])
    flops = PassAtKCompute(n_bootstrap=50).fit(X, y)
    units = PassAtKCompute(n_bootstrap=50).fit(X * [1e-11, 1e-7], y)
    alpha, beta = flops.params_["alpha"], flops.params_["beta"]
    assert alpha == pytest.approx(units.params_["alpha"], rel=1e-3)
    assert beta == pytest.approx(units.params_["beta"], rel=1e-3)
    assert flops.params_["a"] == pytest.approx(
        units.params_["a"] * 1e11**alpha * 1e7**beta, rel=1e-2
    )
    assert flops.objective_ == pytest.approx(units.objective_, rel=1e-3)
    assert flops.bootstrap_params_ is not None
    assert len(np.unique(flops.bootstrap_params_, axis=0)) > 40  # the refits move
    for name in flops.param_names:
        lo, hi = flops.ci_[name]
        assert lo < flops.params_[name] < hi
    wald = PassAtKCompute().fit(X, y)  # no bootstrap: the delta method maps the covariance
    lo, hi = wald.ci_["a"]
    assert lo < wald.params_["a"] < hi and np.isfinite(wald.stderr_["a"])
