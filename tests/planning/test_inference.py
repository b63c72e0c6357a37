"""Inference-aware planning (Sardana & Frankle 2023)."""

from __future__ import annotations

import numpy as np
import pytest

from scalinglab.errors import ScalingLabError
from scalinglab.laws import ScalingLaw
from scalinglab.planning import compute_for_loss, compute_optimal, inference_optimal


def test_zero_inference_is_chinchilla(hoffmann_law: ScalingLaw) -> None:
    plan = inference_optimal(hoffmann_law, 0.0, target_loss=2.0)
    ref = compute_for_loss(hoffmann_law, 2.0)
    assert plan.n_opt == pytest.approx(ref.n_opt, rel=1e-4)
    assert plan.d_train == pytest.approx(ref.d_opt, rel=1e-4)
    assert plan.savings == pytest.approx(0.0, abs=1e-8)


def test_more_inference_smaller_longer(hoffmann_law: ScalingLaw) -> None:
    plans = [
        inference_optimal(hoffmann_law, i, target_loss=2.0) for i in (0, 1e11, 1e12, 1e13, 1e14)
    ]
    sizes = [p.n_opt for p in plans]
    tokens = [p.d_train for p in plans]
    assert np.all(np.diff(sizes) < 0) and np.all(np.diff(tokens) > 0)
    for p in plans:
        # Every plan reaches the target and costs no more than the Chinchilla model would.
        assert hoffmann_law.predict([[p.n_opt, p.d_train]])[0] == pytest.approx(2.0, rel=1e-6)
        assert p.total_flops <= p.total_flops_chinchilla * (1 + 1e-9)
    assert plans[-1].savings > 0.5


def test_budget_sets_the_target(hoffmann_law: ScalingLaw) -> None:
    plan = inference_optimal(hoffmann_law, 1e12, compute=1e22)
    assert plan.target_loss == pytest.approx(compute_optimal(hoffmann_law, 1e22).loss)
    assert plan.n_chinchilla == pytest.approx(compute_optimal(hoffmann_law, 1e22).n_opt, rel=1e-6)


def test_numeric_law() -> None:
    law = ScalingLaw.from_dict(
        {
            "law": "kaplan_nd",
            "params": {"Nc": 8.8e13, "Dc": 5.4e13, "alpha_N": 0.076, "alpha_D": 0.095},
        }
    )
    zero = inference_optimal(law, 0.0, target_loss=2.5)
    assert zero.n_opt == pytest.approx(compute_for_loss(law, 2.5).n_opt, rel=1e-3)
    big = inference_optimal(law, 1e12, target_loss=2.5)
    assert big.n_opt < zero.n_opt
    assert law.predict([[big.n_opt, big.d_train]])[0] == pytest.approx(2.5, rel=1e-6)


def test_intervals(besiroglu_fit: ScalingLaw) -> None:
    plan = inference_optimal(besiroglu_fit, 1e12, target_loss=2.3)
    lo, hi = plan.intervals["n_opt"]
    assert lo < plan.n_opt < hi


def test_bad_input(hoffmann_law: ScalingLaw) -> None:
    with pytest.raises(ScalingLabError, match="irreducible"):
        inference_optimal(hoffmann_law, 1e12, target_loss=1.5)
    with pytest.raises(ScalingLabError, match=">= 0"):
        inference_optimal(hoffmann_law, -1.0, target_loss=2.0)
    with pytest.raises(ScalingLabError, match="either"):
        inference_optimal(hoffmann_law, 1e12)
