"""Data-constrained planning (Muennighoff 2023)."""

from __future__ import annotations

import numpy as np
import pytest

from scalinglab.errors import ScalingLabError
from scalinglab.laws import ScalingLaw
from scalinglab.planning import (
    compute_optimal,
    data_constrained_optimal,
    effective_params,
    effective_tokens,
)

from .conftest import chinchilla

# Muennighoff 2023's Chinchilla-form fit with its repetition constants.
MUENNIGHOFF = {"E": 1.87, "A": 521.0, "B": 1488.0, "alpha": 0.353, "beta": 0.353}


def test_four_epochs_worth() -> None:
    # Must show: with R*_D = 15.39, four epochs over U tokens are worth 3.73·U (± 0.01).
    assert effective_tokens(4.0, 1.0, 15.39) == pytest.approx(3.73, abs=0.01)
    u = 1e10
    assert effective_tokens(4 * u, u, 15.39) / u == pytest.approx(3.73, abs=0.01)
    # One epoch is exactly the unique data; returns saturate at (1 + R*_D)·U.
    assert effective_tokens(u, u) == pytest.approx(u)
    assert effective_tokens(1e6 * u, u, 15.39) == pytest.approx(16.39 * u, rel=1e-6)
    assert effective_params(3e9, 1e9, 5.31) < 3e9


def test_matches_the_law() -> None:
    base = chinchilla(MUENNIGHOFF)
    plan = data_constrained_optimal(base, 1e22, 1e10)
    dc = ScalingLaw.from_dict(
        {"law": "data_constrained", "params": {**MUENNIGHOFF, "R_D_star": 15.39, "R_N_star": 5.31}}
    )
    assert dc.predict([[plan.n_opt, plan.d_opt, 1e10]])[0] == pytest.approx(plan.loss, rel=1e-10)
    assert plan.epochs == pytest.approx(plan.d_opt / 1e10)
    assert 6 * plan.n_opt * plan.d_opt == pytest.approx(1e22, rel=1e-9)
    assert plan.r_source.startswith("Muennighoff")
    same = data_constrained_optimal(dc, 1e22, 1e10)
    assert same.n_opt == pytest.approx(plan.n_opt, rel=1e-6)
    assert same.r_source == "fit"


def test_plenty_of_data_is_chinchilla() -> None:
    base = chinchilla(MUENNIGHOFF)
    plan = data_constrained_optimal(base, 1e21, 1e15)
    free = compute_optimal(base, 1e21)
    assert plan.n_opt == pytest.approx(free.n_opt, rel=1e-5)
    assert plan.epochs < 1
    assert plan.loss_lost_to_repetition == pytest.approx(0.0, abs=1e-9)


def test_less_data_costs_more_loss() -> None:
    base = chinchilla(MUENNIGHOFF)
    lost = [
        data_constrained_optimal(base, 1e22, u).loss_lost_to_repetition
        for u in (1e12, 1e11, 1e10, 1e9)
    ]
    assert lost[0] == pytest.approx(0.0, abs=1e-9)
    assert np.all(np.diff(lost) > 0)
    many = data_constrained_optimal(base, 1e22, 1e8)
    assert "R*_D" in many.note


def test_intervals_with_draws(besiroglu_fit: ScalingLaw) -> None:
    plan = data_constrained_optimal(besiroglu_fit, 1e21, 1e9)
    lo, hi = plan.intervals["epochs"]
    assert lo <= plan.epochs <= hi


def test_wrong_law_and_bad_values() -> None:
    law = ScalingLaw.from_dict({"law": "power_const", "params": {"a": 2.0, "b": -0.3, "c": 0.1}})
    with pytest.raises(ScalingLabError, match="chinchilla or data_constrained"):
        data_constrained_optimal(law, 1e21, 1e9)
    with pytest.raises(ScalingLabError, match="unique tokens"):
        data_constrained_optimal(chinchilla(MUENNIGHOFF), 1e21, 0.0)
    with pytest.raises(ScalingLabError, match="R\\*_D"):
        data_constrained_optimal(chinchilla(MUENNIGHOFF), 1e21, 1e9, r_d_star=-1.0)
