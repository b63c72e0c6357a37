"""The batched solver and the fit diagnostics, on problems with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import torch

from scalinglab.errors import FitWarning
from scalinglab.fitting.solver import minimize_batched
from scalinglab.laws import get_law


def rosenbrock(theta: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    x, y = theta[:, 0], theta[:, 1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def test_batched_rows_are_independent_and_reach_the_minimum() -> None:
    starts = torch.tensor([[-1.2, 1.0], [0.0, 0.0], [2.0, 2.0], [-1.5, 2.5]], dtype=torch.float64)
    inf = torch.full((2,), float("inf"), dtype=torch.float64)
    res = minimize_batched(rosenbrock, starts, -inf, inf, max_iter=500, ftol=1e-15)
    np.testing.assert_allclose(res.theta.numpy(), 1.0, atol=1e-5)
    assert res.converged.all()
    # One row alone gives the same answer as in the batch.
    alone = minimize_batched(rosenbrock, starts[2:3], -inf, inf, max_iter=500, ftol=1e-15)
    np.testing.assert_allclose(alone.theta.numpy()[0], res.theta.numpy()[2], atol=1e-8)


def test_bounds_hold_and_match_scipy_lbfgsb() -> None:
    lower = torch.tensor([-2.0, 1.5], dtype=torch.float64)
    upper = torch.tensor([2.0, 3.0], dtype=torch.float64)
    start = torch.tensor([[-1.0, 2.5]], dtype=torch.float64)
    res = minimize_batched(rosenbrock, start, lower, upper, max_iter=500, ftol=1e-15)

    def f(v: np.ndarray) -> float:
        return float((1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2)

    ref = scipy.optimize.minimize(f, [-1.0, 2.5], method="L-BFGS-B", bounds=[(-2, 2), (1.5, 3)])
    assert res.theta[0, 1] >= 1.5
    np.testing.assert_allclose(res.theta.numpy()[0], ref.x, atol=1e-4)


def test_infeasible_starts_are_dropped_not_fatal() -> None:
    def fun(theta: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        return torch.where(
            theta[:, 0] > 5, torch.full_like(theta[:, 0], float("nan")), (theta[:, 0] - 1) ** 2
        )

    starts = torch.tensor([[10.0], [0.0]], dtype=torch.float64)
    inf = torch.full((1,), float("inf"), dtype=torch.float64)
    res = minimize_batched(fun, starts, -inf, inf)
    assert not torch.isfinite(res.fun[0])
    assert res.theta[1, 0] == pytest.approx(1.0, abs=1e-6)


def test_optimum_on_a_bound_is_flagged() -> None:
    # Data that keep falling: the irreducible level c wants to be negative and stops at 0.
    x = np.logspace(1, 5, 20)[:, None]
    y = 3.0 * x[:, 0] ** -0.3 - 0.02
    with pytest.warns(FitWarning, match="bound for c"):
        law = get_law("power_const")().fit(x, y)
    assert "c" in law.at_bounds_
    assert "c" in " ".join(law.warnings_)


def test_non_convergence_is_flagged_not_hidden() -> None:
    x = np.logspace(1, 5, 20)[:, None]
    y = 3.0 * x[:, 0] ** -0.3 + 0.1
    with pytest.warns(FitWarning, match="did not converge"):
        law = get_law("power_const")(max_iter=1).fit(x, y)
    assert law.converged_ is False


def test_fixed_and_tied_parameters() -> None:
    N = np.logspace(7, 10, 6)
    D = np.logspace(9, 12, 6)
    X = np.array([(n, d) for n in N for d in D])
    truth = get_law("chinchilla")()
    truth.params_ = {"E": 1.7, "A": 400.0, "B": 400.0, "alpha": 0.3, "beta": 0.3}
    y = truth.predict(X)
    law = get_law("chinchilla")(fixed={"E": 1.7}, tied={"beta": "alpha"}).fit(X, y)
    assert law.params_["E"] == 1.7
    assert law.params_["beta"] == law.params_["alpha"] == pytest.approx(0.3, abs=1e-4)
    assert law.params_["A"] == pytest.approx(400.0, rel=1e-3)


def test_sample_weights_change_the_fit() -> None:
    x = np.logspace(1, 4, 12)[:, None]
    y = 2.0 * x[:, 0] ** -0.5
    y[-1] *= 1.5  # an outlier
    plain = get_law("power")(objective="ls_log").fit(x, y)
    w = np.ones(12)
    w[-1] = 0.0
    weighted = get_law("power")(objective="ls_log").fit(x, y, sample_weight=w)
    assert weighted.params_["b"] == pytest.approx(-0.5, abs=1e-6)
    assert abs(plain.params_["b"] + 0.5) > 1e-3


def test_bootstrap_is_seeded_and_reproducible() -> None:
    rng = np.random.default_rng(1)
    x = np.logspace(1, 5, 25)[:, None]
    y = 4.0 * x[:, 0] ** -0.4 * np.exp(0.02 * rng.standard_normal(25))
    a = get_law("power")(n_bootstrap=200, random_state=3).fit(x, y)
    b = get_law("power")(n_bootstrap=200, random_state=3).fit(x, y)
    np.testing.assert_array_equal(a.bootstrap_params_, b.bootstrap_params_)
    # bootstrap SE of the exponent agrees with the Gauss-Newton one within 30%
    gn = get_law("power")(objective="ls_log").fit(x, y)
    assert a.stderr_["b"] == pytest.approx(gn.stderr_["b"], rel=0.3)
