"""Backtests at the asked horizon: where the cuts go, and that no held-out point is fitted."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalinglab.selection.backtest import (
    MIN_TRAIN_POINTS,
    backtest_curve,
    candidate,
    cut_points,
    default_horizon,
)


def test_cuts_reach_the_horizon_and_step_back_by_half_of_it() -> None:
    x = np.geomspace(1, 1e4, 41)  # 10 points per decade
    h = np.log(10.0)  # one decade ahead
    cuts = cut_points(x, h, 3)
    # The first cut keeps x <= 1e3, the next 10^2.5, then 10^2.
    assert cuts == [31, 26, 21]
    for k in cuts:
        assert np.log(x[-1] / x[k - 1]) >= h - 1e-9


def test_a_short_curve_keeps_the_minimum_and_holds_out_at_least_one_point() -> None:
    x = np.geomspace(1, 10, 6)
    cuts = cut_points(x, np.log(100.0), 3)
    assert cuts == [MIN_TRAIN_POINTS]
    assert cut_points(np.geomspace(1, 10, MIN_TRAIN_POINTS), 1.0) == []
    assert cut_points(x, 1e-6, 3)[0] == 5  # a tiny horizon still holds out the last point


def test_tied_x_values_are_never_split() -> None:
    x = np.repeat(np.geomspace(1, 1e3, 8), 2)
    for k in cut_points(x, np.log(10.0), 3):
        assert x[k - 1] != x[k]


def test_replicates_count_once_toward_the_minimum_of_a_cut() -> None:
    """Seeds at each shard: the shortest cut keeps MIN_TRAIN_POINTS distinct x values, not
    MIN_TRAIN_POINTS points (two shards of two seeds each cannot identify a curve)."""
    x = np.repeat(np.geomspace(128, 4096, 6), 2)  # the image check's 12 per-seed points
    cuts = cut_points(x, np.log(60_000 / 4096), 3)
    assert cuts == [2 * MIN_TRAIN_POINTS]
    assert len(np.unique(x[: cuts[0]])) == MIN_TRAIN_POINTS
    # five distinct values: one cut; four: none, however many seeds
    assert cut_points(np.repeat(np.geomspace(1, 10, 5), 3), 5.0) == [3 * MIN_TRAIN_POINTS]
    assert cut_points(np.repeat(np.geomspace(1, 10, MIN_TRAIN_POINTS), 3), 1.0) == []


def test_a_candidate_needs_more_distinct_x_values_than_parameters_at_a_cut() -> None:
    """m4 (5 free parameters) is backtested at a cut of 8 points only when they hold ≥ 6
    distinct x values; with 4 shards × 2 seeds it is not eligible, power_const (3) is."""
    shards = np.geomspace(100, 1e5, 7)
    x = np.repeat(shards, 2)
    y = 3.0 * x**-0.4 + 0.05
    y = y * np.where(np.arange(x.size) % 2 == 0, 1.01, 0.99)  # two seeds
    bt = backtest_curve(
        x, y, [candidate("m4"), candidate("power_const")], horizon=np.log(1e5 / 300)
    )
    assert bt.cuts == [8]
    assert not bt.candidates["m4"].eligible
    assert bt.candidates["power_const"].eligible
    # the same 8 points at 8 distinct x values: m4 is fitted there
    spread = np.geomspace(100, 1e5, 14)
    bt = backtest_curve(
        spread, 3.0 * spread**-0.4 + 0.05, [candidate("m4")], horizon=np.log(1e5 / spread[7])
    )
    assert 8 in bt.cuts and np.all(np.isfinite(bt.candidates["m4"].log_pred[bt.cuts.index(8)]))


@settings(max_examples=200, deadline=None)
@given(
    shards=st.lists(st.integers(1, 10**6), min_size=1, max_size=12, unique=True),
    seeds=st.lists(st.integers(1, 4), min_size=12, max_size=12),
    horizon=st.floats(1e-3, 10.0),
    n_cuts=st.integers(1, 4),
)
def test_every_cut_keeps_whole_shards_and_enough_distinct_values(
    shards: list[int], seeds: list[int], horizon: float, n_cuts: int
) -> None:
    """Any shards at 1-4 seeds each: a cut never splits a shard's seeds, keeps at least
    MIN_TRAIN_POINTS distinct x values and holds at least one out; too few values give none."""
    x = np.sort(np.repeat(np.asarray(shards, dtype=float), seeds[: len(shards)]))
    cuts = cut_points(x, horizon, n_cuts)
    if len(shards) <= MIN_TRAIN_POINTS:
        assert cuts == []
        return
    assert cuts and cuts == sorted(set(cuts), reverse=True) and len(cuts) <= n_cuts
    for k in cuts:
        assert x[k - 1] < x[k]
        assert len(np.unique(x[:k])) >= MIN_TRAIN_POINTS


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_the_horizon_must_be_positive(bad: float) -> None:
    with pytest.raises(Exception, match="horizon"):
        cut_points(np.geomspace(1, 10, 8), bad)


def test_held_out_points_never_reach_a_backtest_fit() -> None:
    """Changing the points beyond a cut cannot change that cut's predictions."""
    x = np.geomspace(10, 1e5, 16)
    y = 3.0 * x**-0.4 + 0.05
    bt = backtest_curve(x, y, [candidate("power_const")], horizon=np.log(10.0))
    y2 = y.copy()
    last_cut = bt.cuts[0]
    y2[last_cut:] *= 3.0  # wreck every held-out point of every cut
    bt2 = backtest_curve(x, y2, [candidate("power_const")], horizon=np.log(10.0))
    before, after = bt.candidates["power_const"], bt2.candidates["power_const"]
    for a, b in zip(before.log_pred, after.log_pred, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_a_law_recovers_its_own_curve_in_backtests() -> None:
    x = np.geomspace(10, 1e5, 16)
    y = 3.0 * x**-0.4 + 0.05
    bt = backtest_curve(x, y, [candidate("power_const"), candidate("m1")], horizon=np.log(10.0))
    pc, m1 = bt.candidates["power_const"], bt.candidates["m1"]
    for j in range(len(bt.cuts)):
        _, log_y, _ = bt.held_out(j)
        assert np.max(np.abs(pc.log_pred[j] - log_y)) < 1e-3
        assert np.max(np.abs(m1.log_pred[j] - log_y)) > 1e-2  # no constant: it misses


def test_default_horizon_is_a_third_of_the_log_range() -> None:
    assert default_horizon(np.array([1.0, 1e3])) == pytest.approx(np.log(10.0))
