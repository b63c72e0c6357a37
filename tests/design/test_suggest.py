"""`suggest_runs`, the `suggest` command as one call: the same runs as the design's steps taken
by hand, candidates outside the shape range left out and counted, and bad input refused naming
the table it came from."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scalinglab.design import suggest_runs
from scalinglab.design.next_runs import (
    greedy_design,
    state_from_fit,
    state_from_runs,
    within_shape_range,
)
from scalinglab.errors import ScalingLabError
from scalinglab.laws import ScalingLaw
from tests.design.conftest import TARGET, cost_of


@pytest.fixture(scope="module")
def tables(setup) -> tuple[ScalingLaw, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The design's fit on the 16 cheapest runs (conftest `setup`) as the tables a user has."""
    law, done, y_done, pool = setup
    runs = pd.DataFrame({"params": done[:, 0], "tokens": done[:, 1], "loss": y_done})
    candidates = pd.DataFrame({"params": pool[:, 0], "tokens": pool[:, 1]})
    targets = pd.DataFrame({"params": TARGET[:, 0], "tokens": TARGET[:, 1]})
    return law, runs, candidates, targets


def test_one_call_chooses_what_the_steps_by_hand_choose(tables) -> None:
    law, runs, candidates, targets = tables
    pool, done = candidates.to_numpy(), runs[["params", "tokens"]].to_numpy()
    got = suggest_runs(law, candidates, cost_of(pool), targets, runs=runs, y="loss", n=4)
    inside = within_shape_range(done, pool, TARGET)
    state, _ = state_from_runs(law, done, runs["loss"].to_numpy(), pool[inside], TARGET)
    by_hand = greedy_design(law, state, cost_of(pool[inside]), n=4)
    assert got.outside == int((~inside).sum())
    expected = candidates[inside].reset_index(drop=True).iloc[[s.row for s in by_hand.steps]]
    np.testing.assert_array_equal(got.runs[["params", "tokens"]].to_numpy(), expected.to_numpy())
    assert list(got.runs["rank"]) == [1, 2, 3, 4]
    assert got.runs["target_width_after"].is_monotonic_decreasing
    assert (
        got.discrepancy is not None
        and got.design.width_before > got.runs["target_width_after"].iloc[-1]
    )


def test_without_the_runs_done_it_designs_from_the_fit_alone(tables) -> None:
    law, _, candidates, targets = tables
    law = copy.deepcopy(law)  # the module's fit stays as it is for the other tests
    law.residual_sd_ = 0.01
    pool = candidates.to_numpy()
    got = suggest_runs(law, candidates, cost_of(pool), targets, n=3)
    by_hand = greedy_design(law, state_from_fit(law, pool, TARGET), cost_of(pool), n=3)
    assert [int(i) for i in got.runs.index] == [0, 1, 2]
    assert got.runs["cost"].tolist() == [s.cost for s in by_hand.steps]
    assert got.discrepancy is None and got.outside == 0


def test_bad_input_names_the_table(tables) -> None:
    law, runs, candidates, targets = tables
    cost = cost_of(candidates.to_numpy())
    with pytest.raises(ScalingLabError, match="give one cost per candidate run: 3 costs for"):
        suggest_runs(law, candidates, cost[:3], targets)
    with pytest.raises(ScalingLabError, match=r"pool\.csv has no column 'tokens'"):
        suggest_runs(
            law,
            candidates.drop(columns="tokens"),
            cost,
            targets,
            sources={"candidates": "pool.csv"},
        )
    bad = runs.assign(loss=runs["loss"].where(runs.index != 3, -1.0))
    with pytest.raises(ScalingLabError, match="the runs done"):
        suggest_runs(law, candidates, cost, targets, runs=bad, y="loss")
    with pytest.raises(ScalingLabError, match="column they measured"):
        suggest_runs(law, candidates, cost, targets, runs=runs)
    with pytest.raises(ScalingLabError, match=r"fits in the budget \(1\)"):
        suggest_runs(law, candidates, cost, targets, runs=runs, y="loss", n=None, budget=1.0)


# runs within the grid's range of sizes, and at times one row of anything (NaN, inf, <= 0, huge)
plausible = st.tuples(st.floats(1e7, 1e9), st.floats(1e8, 1e11), st.floats(1e15, 1e21))
hostile = st.tuples(st.floats(), st.floats(), st.floats())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pool=st.lists(plausible, min_size=1, max_size=12),
    odd=st.one_of(st.none(), st.tuples(st.integers(0, 12), hostile)),
    n=st.one_of(st.none(), st.integers(1, 5)),
    budget=st.one_of(st.none(), st.floats(min_value=1e-3, max_value=1e30)),
)
def test_random_candidates_get_a_valid_suggestion_or_one_clear_line(
    tables,
    pool: list[tuple[float, float, float]],
    odd: tuple[int, tuple[float, float, float]] | None,
    n: int | None,
    budget: float | None,
) -> None:
    """Whatever the candidates and costs (NaN, inf, negative, huge): either a ScalingLabError
    of one line, or distinct candidates within n and the budget, the target's interval never
    widening from one chosen run to the next."""
    law, runs, _, targets = tables
    if odd is not None:
        pool = [*pool[: odd[0]], odd[1], *pool[odd[0] :]]
    candidates = pd.DataFrame({"params": [p[0] for p in pool], "tokens": [p[1] for p in pool]})
    cost = [p[2] for p in pool]
    try:
        got = suggest_runs(law, candidates, cost, targets, runs=runs, y="loss", n=n, budget=budget)
    except ScalingLabError as exc:
        assert str(exc).strip() and "\n" not in str(exc)
        return
    chosen = got.runs
    assert 1 <= len(chosen) <= (n if n is not None else len(pool))
    rows = [step.row for step in got.design.steps]
    assert len(set(rows)) == len(rows)
    if budget is not None:
        assert chosen["cumulative_cost"].iloc[-1] <= budget * (1 + 1e-9)
    widths = [got.design.width_before, *chosen["target_width_after"]]
    assert all(b <= a * (1 + 1e-9) for a, b in itertools.pairwise(widths))
