"""The budget-limited fitting benchmark (issue 16; Li et al. 2026): the baselines keep to their
budgets, R² is clipped, every method keeps to its budget, and a test set whose R² is undefined is
refused."""

from __future__ import annotations

import numpy as np
import pytest

from scalinglab.design.budget_benchmark import (
    Pool,
    clipped_r2,
    pick_cheapest,
    pick_random,
    run_benchmark,
    seed_runs,
)
from scalinglab.errors import ScalingLabError
from scalinglab.laws import ScalingLaw, get_law


def test_baselines_stay_in_budget_and_r2_is_clipped() -> None:
    rng = np.random.default_rng(3)
    cost = rng.uniform(1, 10, 50)
    for picked in (pick_random(cost, 40.0, rng), pick_cheapest(cost, 40.0)):
        assert cost[picked].sum() <= 40.0 and len(set(picked)) == len(picked)
    cheapest = pick_cheapest(cost, 40.0)
    assert set(cheapest) == set(np.argsort(cost)[: len(cheapest)])
    assert clipped_r2(np.zeros(3), np.array([1.0, 2.0, 3.0])) == -1.0
    assert clipped_r2(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])) == 1.0
    assert clipped_r2(np.array([np.nan, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])) == -1.0
    X = rng.uniform(1, 100, size=(50, 2))
    seeds = seed_runs(X, cost, 40.0, 4, X[:2] * 10, rng)
    assert len(set(seeds)) == 4 and np.all(cost[seeds] <= 10.0)


def test_benchmark_protocol_on_a_small_power_law() -> None:
    """All methods run within their budgets; the JSON has the documented shape."""
    rng = np.random.default_rng(4)
    m = np.geomspace(1e3, 1e6, 24)
    X = m[:, None]
    y = (2.0 * m**-0.3 + 0.1) * np.exp(rng.normal(0, 0.01, len(m)))
    X_test = np.geomspace(2e6, 1e7, 4)[:, None]
    pool = Pool(X=X, y=y, cost=m.copy(), X_test=X_test, y_test=2.0 * X_test[:, 0] ** -0.3 + 0.1)

    def make_law() -> ScalingLaw:
        return get_law("power_const")()

    result = run_benchmark(make_law, pool, [0.1, 0.5], repeats=2)
    methods = result["methods"]
    assert set(methods) == {"random", "cheapest", "design"}  # type: ignore[arg-type]
    for name, entry in methods.items():  # type: ignore[union-attr]
        assert set(entry["r2"]) == {"0.1", "0.5"}
        assert all(-1 <= v <= 1 for v in entry["r2"].values())
        shares = entry["cost_share"].values()
        assert all(s <= b + 1e-9 for b, s in zip((0.1, 0.5), shares, strict=True)), name
    assert -1 <= result["all_data_r2"] <= 1  # type: ignore[operator]


@pytest.mark.parametrize(
    ("y_test", "needle"),
    [([0.5], "the test runs has 1 row"), ([0.5, 0.5, 0.5], "every y of the test runs is 0.5")],
)
def test_a_pool_refuses_test_runs_whose_r2_is_undefined(y_test: list[float], needle: str) -> None:
    # SS_tot = 0: every method scored −1, blamed on an underdetermined fit
    train = {"X": np.ones((3, 1)), "y": np.ones(3), "cost": np.ones(3)}
    X_test = np.full((len(y_test), 1), 1e6)
    with pytest.raises(ScalingLabError, match=f"R² needs test rows whose y varies, and {needle}"):
        Pool(**train, X_test=X_test, y_test=np.array(y_test))
