"""Compute-optimal allocation and allocation exponents (Hoffmann 2022)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scalinglab.errors import ScalingLabError
from scalinglab.laws import ScalingLaw, get_law
from scalinglab.planning import (
    FlopModel,
    allocation_exponents,
    allocation_frontier,
    compute_optimal,
)
from scalinglab.planning.surface import _ELEMENTWISE

from .conftest import EXAMPLE, HOFFMANN


def six_nd(n: np.ndarray, d: np.ndarray) -> np.ndarray:
    return 6.0 * n * d


def test_published_example_at_1e24(example_law: ScalingLaw) -> None:
    # Must show: N_opt = 1.60e11 ± 1%, D_opt = 1.04e12 ± 1%.
    plan = compute_optimal(example_law, 1e24)
    assert plan.method == "closed form"
    assert plan.n_opt == pytest.approx(1.60e11, rel=0.01)
    assert plan.d_opt == pytest.approx(1.04e12, rel=0.01)
    assert 6 * plan.n_opt * plan.d_opt == pytest.approx(1e24, rel=1e-12)
    assert plan.tokens_per_param == pytest.approx(plan.d_opt / plan.n_opt)
    assert plan.loss == pytest.approx(example_law.predict([[plan.n_opt, plan.d_opt]])[0])
    assert plan.intervals == {}  # a hand-written fit has no draws


def test_numeric_path_matches_closed_form(example_law: ScalingLaw) -> None:
    closed = compute_optimal(example_law, 1e24)
    numeric = compute_optimal(example_law, 1e24, flops=FlopModel(function=six_nd))
    assert numeric.method == "numeric"
    assert numeric.n_opt == pytest.approx(closed.n_opt, rel=1e-5)
    assert numeric.d_opt == pytest.approx(closed.d_opt, rel=1e-5)
    assert numeric.loss == pytest.approx(closed.loss, rel=1e-12)


def test_flop_constant_scales_the_budget(example_law: ScalingLaw) -> None:
    # C = 8·N·D at 8/6 the budget is the same problem as C = 6·N·D at the original budget.
    a = compute_optimal(example_law, 1e24)
    b = compute_optimal(example_law, 1e24 * 8 / 6, flops=FlopModel(8.0))
    assert b.n_opt == pytest.approx(a.n_opt, rel=1e-12)


def test_hoffmann_unrounded_exponent(hoffmann_law: ScalingLaw) -> None:
    # Must show: a = 0.4565 ± 0.001 with Hoffmann's unrounded parameters.
    exps = allocation_exponents(hoffmann_law)
    assert exps.a == pytest.approx(0.4565, abs=0.001)
    assert exps.a + exps.b == pytest.approx(1.0)
    # n_coef, d_coef reproduce the closed form at any budget.
    for c in (1e20, 1e24):
        plan = compute_optimal(hoffmann_law, c)
        assert exps.n_coef * c**exps.a == pytest.approx(plan.n_opt, rel=1e-10)
        assert exps.d_coef * c**exps.b == pytest.approx(plan.d_opt, rel=1e-10)


def test_exponent_from_besiroglu_fit(besiroglu_fit: ScalingLaw) -> None:
    # Must show: a = 0.513 ± 0.01 from the fit of the 240 replication points.
    exps = allocation_exponents(besiroglu_fit)
    assert exps.a == pytest.approx(0.513, abs=0.01)
    assert exps.interval_source == "bootstrap"
    lo, hi = exps.a_interval
    assert lo < exps.a < hi
    # The replication reports SE 0.020 with 4,000 resamples; 200 resamples land near it.
    assert 0.005 < exps.a_stderr < 0.05


def test_intervals_from_bootstrap(besiroglu_fit: ScalingLaw) -> None:
    plan = compute_optimal(besiroglu_fit, 1e22, level=0.9)
    assert plan.interval_source == "bootstrap" and plan.n_draws == 200
    for key, value in (
        ("n_opt", plan.n_opt),
        ("d_opt", plan.d_opt),
        ("tokens_per_param", plan.tokens_per_param),
        ("loss", plan.loss),
    ):
        lo, hi = plan.intervals[key]
        assert lo < value < hi, key
    wide = compute_optimal(besiroglu_fit, 1e22, level=0.99).intervals["n_opt"]
    narrow = plan.intervals["n_opt"]
    assert wide[0] <= narrow[0] and narrow[1] <= wide[1]


def test_numeric_law_optimum_is_a_minimum() -> None:
    law = ScalingLaw.from_dict(
        {
            "law": "kaplan_nd",
            "params": {"Nc": 8.8e13, "Dc": 5.4e13, "alpha_N": 0.076, "alpha_D": 0.095},
        }
    )
    c = 1e21
    plan = compute_optimal(law, c)
    assert plan.method == "numeric"
    for factor in (0.9, 1.1):
        n = plan.n_opt * factor
        assert law.predict([[n, c / (6 * n)]])[0] > plan.loss
    exps = allocation_exponents(law, compute=c)
    assert 0.3 < exps.a < 1.0
    assert exps.a + exps.b == pytest.approx(1.0, abs=1e-5)


def test_frontier_is_plot_ready(besiroglu_fit: ScalingLaw) -> None:
    frame = allocation_frontier(besiroglu_fit, np.geomspace(1e18, 1e24, 7))
    assert list(frame.columns[:4]) == ["compute", "n_opt", "d_opt", "loss"]
    assert {"n_opt_lo", "n_opt_hi", "loss_lo", "loss_hi"} <= set(frame.columns)
    assert np.all(np.diff(frame["n_opt"]) > 0) and np.all(np.diff(frame["loss"]) < 0)
    assert np.all(frame["n_opt_lo"] <= frame["n_opt"]) and np.all(
        frame["n_opt"] <= frame["n_opt_hi"]
    )


@pytest.mark.parametrize("budget", [0.0, -1e20, float("nan"), float("inf")])
def test_bad_budget(example_law: ScalingLaw, budget: float) -> None:
    with pytest.raises(ScalingLabError, match="positive"):
        compute_optimal(example_law, budget)


def test_wrong_law_for_allocation() -> None:
    law = ScalingLaw.from_dict({"law": "power_const", "params": {"a": 2.0, "b": -0.3, "c": 0.1}})
    with pytest.raises(ScalingLabError, match=r"params.*tokens"):
        compute_optimal(law, 1e20)


def test_no_interior_optimum() -> None:
    # α = 0: more parameters never help, so the optimum runs off to N = 1.
    law = ScalingLaw.from_dict(
        {"law": "kaplan_nd", "params": {"Nc": 1.0, "Dc": 5.4e13, "alpha_N": 0.0, "alpha_D": 0.1}}
    )
    with pytest.raises(ScalingLabError, match="no compute-optimal"):
        compute_optimal(law, 1e20)


def test_bad_flop_constant() -> None:
    with pytest.raises(ScalingLabError, match="> 0"):
        FlopModel(0.0)


def test_to_dict_keys(example_law: ScalingLaw) -> None:
    d = compute_optimal(example_law, 1e24).to_dict()
    assert {"compute", "n_opt", "d_opt", "tokens_per_param", "loss", "intervals"} <= set(d)


def test_hoffmann_constants_sane() -> None:
    assert HOFFMANN["beta"] / (HOFFMANN["alpha"] + HOFFMANN["beta"]) == pytest.approx(
        0.4565, abs=1e-4
    )


class ReshapingChinchilla(ScalingLaw):
    """Chinchilla written so that its parameters must be (b, 1) columns (unregistered: no name).

    Its log_predict is not elementwise, so planners must fall back to the general per-draw path.
    """

    variables = ("params", "tokens")
    params = tuple(get_law("chinchilla").params)

    def log_predict(self, p, x, logx):  # type: ignore[no-untyped-def]
        col = {k: v.reshape(-1, 1) for k, v in p.items()}
        pred = (
            col["E"]
            + torch.exp(torch.log(col["A"]) - col["alpha"] * logx[:, 0])
            + torch.exp(torch.log(col["B"]) - col["beta"] * logx[:, 1])
        )
        return torch.log(pred)


def test_user_law_without_elementwise_form(example_law: ScalingLaw) -> None:
    law = ReshapingChinchilla()
    law.params_ = dict(EXAMPLE)
    law.bootstrap_params_ = (
        np.array([[EXAMPLE[k] for k in law.param_names]] * 5) * np.linspace(0.98, 1.02, 5)[:, None]
    )
    law.covariance_ = None
    plan = compute_optimal(law, 1e24)
    assert plan.method == "numeric"
    assert plan.n_opt == pytest.approx(compute_optimal(example_law, 1e24).n_opt, rel=1e-5)
    assert plan.n_draws == 5
    assert _ELEMENTWISE[ReshapingChinchilla] is False  # the general path was used
