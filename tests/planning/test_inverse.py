"""Inverse queries: compute for a target loss, data for a target error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalinglab.errors import ScalingLabError
from scalinglab.laws import ScalingLaw, get_law
from scalinglab.planning import FlopModel, compute_for_loss, compute_optimal, data_for_target
from scalinglab.planning.flops import FlopExpression

from .conftest import EXAMPLE, chinchilla

KAPLAN_ND = {"Nc": 8.8e13, "Dc": 5.4e13, "alpha_N": 0.076, "alpha_D": 0.095}


def six_nd(n: np.ndarray, d: np.ndarray) -> np.ndarray:
    return 6.0 * n * d


@given(gap=st.floats(0.01, 3.0))
@settings(max_examples=30, deadline=None)
def test_round_trip_closed_form(gap: float) -> None:
    # Must show: plan for loss L, then predict at the planned N, D gives L within 1e-6.
    law = chinchilla(EXAMPLE)
    target = EXAMPLE["E"] + gap
    res = compute_for_loss(law, target)
    assert law.predict([[res.n_opt, res.d_opt]])[0] == pytest.approx(target, rel=1e-6)
    assert 6 * res.n_opt * res.d_opt == pytest.approx(res.compute, rel=1e-9)


@pytest.mark.parametrize(
    ("law", "target", "flops"),
    [
        (chinchilla(EXAMPLE), 2.0, FlopModel(function=six_nd)),
        (ScalingLaw.from_dict({"law": "kaplan_nd", "params": KAPLAN_ND}), 2.5, FlopModel()),
        (ScalingLaw.from_dict({"law": "kaplan_nd", "params": KAPLAN_ND}), 3.2, FlopModel(8.0)),
    ],
)
def test_round_trip_numeric(law: ScalingLaw, target: float, flops: FlopModel) -> None:
    res = compute_for_loss(law, target, flops)
    assert res.method == "numeric"
    assert law.predict([[res.n_opt, res.d_opt]])[0] == pytest.approx(target, rel=1e-6)


def test_inverse_agrees_with_forward(example_law: ScalingLaw) -> None:
    res = compute_for_loss(example_law, 2.0)
    plan = compute_optimal(example_law, res.compute)
    assert plan.loss == pytest.approx(2.0, rel=1e-10)
    assert plan.n_opt == pytest.approx(res.n_opt, rel=1e-10)


@pytest.mark.parametrize("text", ["6*N*D + 2e4*D", "6*N*D + 100", "6*N*D + 1e11*D"])
def test_target_loss_under_a_flop_function_dearer_than_1e2_flops_at_one_param_one_token(
    example_law: ScalingLaw, text: str
) -> None:
    # C(1, 1) > 1e2 FLOPs (the README's example function among them): the search for the budget
    # must start above C(1, 1), not at 1e2 FLOPs where no model can be trained
    flops = FlopModel(function=FlopExpression(text))
    res = compute_for_loss(example_law, 2.0, flops, draws=False)
    plan = compute_optimal(example_law, res.compute, flops, draws=False)
    assert plan.loss == pytest.approx(2.0, rel=1e-6)
    assert plan.n_opt == pytest.approx(res.n_opt, rel=1e-4)
    assert flops.compute(res.n_opt, res.d_opt) == pytest.approx(res.compute, rel=1e-6)


def test_unreachable_loss_names_the_searched_budgets(example_law: ScalingLaw) -> None:
    flops = FlopModel(function=FlopExpression("6*N*D + 2e4*D"))  # C(1, 1) = 20006 FLOPs
    with pytest.raises(ScalingLabError, match=r"at 2e\+05 FLOPs to 1\.70\d* at 1e\+45 FLOPs"):
        compute_for_loss(example_law, 1e3, flops, draws=False)


def test_target_below_irreducible_loss(example_law: ScalingLaw) -> None:
    with pytest.raises(ScalingLabError, match=r"irreducible loss E = 1\.7002"):
        compute_for_loss(example_law, 1.7)
    with pytest.raises(ScalingLabError, match="positive"):
        compute_for_loss(example_law, -1.0)


def test_loss_target_intervals(besiroglu_fit: ScalingLaw) -> None:
    res = compute_for_loss(besiroglu_fit, 2.3)
    lo, hi = res.intervals["compute"]
    assert lo < res.compute < hi
    assert res.unreachable_fraction == 0.0
    # Close to the irreducible loss some draws (E above the target) never get there.
    near = compute_for_loss(besiroglu_fit, besiroglu_fit.params_["E"] + 0.005)
    assert near.unreachable_fraction > 0
    assert near.intervals["compute"][1] == np.inf


@pytest.fixture(scope="module")
def learning_curve() -> ScalingLaw:
    rng = np.random.default_rng(0)
    x = np.geomspace(1e3, 1e7, 12)
    y = (3 * x**-0.3 + 0.05) * np.exp(rng.normal(0, 0.02, x.size))
    return get_law("power_const")().fit(x, y)  # covariance draws: fast


def test_data_for_target_round_trip(learning_curve: ScalingLaw) -> None:
    res = data_for_target(learning_curve, 0.1)
    assert res.variable == "x"
    assert learning_curve.predict([[res.value]])[0] == pytest.approx(0.1, rel=1e-6)
    lo, hi = res.interval
    assert lo < res.value < hi
    assert res.irreducible == pytest.approx(learning_curve.params_["c"], rel=1e-6)


def test_data_for_target_below_irreducible(learning_curve: ScalingLaw) -> None:
    with pytest.raises(ScalingLabError, match="irreducible error"):
        data_for_target(learning_curve, 0.01)


@pytest.mark.parametrize(
    ("name", "params", "target"),
    [
        ("hestness", {"alpha": 3.0, "beta_g": -0.3, "gamma": 0.05, "eps_s": 0.9}, 0.1),
        ("m4", {"beta": 5.0, "c": -0.4, "alpha": 0.5, "eps_inf": 0.05, "eps_0": 0.9}, 0.2),
        ("m1", {"beta": 3.0, "c": -0.3}, 0.05),
        ("bnsl", {"a": 0.05, "b": 3.0, "c0": 0.1, "c1": 0.3, "d1": 1e4, "f1": 0.3}, 0.1),
    ],
)
def test_data_for_target_other_curves(name: str, params: dict[str, float], target: float) -> None:
    law = ScalingLaw.from_dict({"law": name, "params": params})
    res = data_for_target(law, target)
    assert law.predict([[res.value]])[0] == pytest.approx(target, rel=1e-6)


def test_data_for_target_needs_one_variable(example_law: ScalingLaw) -> None:
    with pytest.raises(ScalingLabError, match="one-variable"):
        data_for_target(example_law, 2.0)
    # ... unless all but one variable are given.
    res = data_for_target(example_law, 2.0, known={"params": 1e11})
    assert res.variable == "tokens"
    assert example_law.predict([[1e11, res.value]])[0] == pytest.approx(2.0, rel=1e-6)
