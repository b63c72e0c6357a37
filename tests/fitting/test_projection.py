"""Variable projection (scalinglab.fitting.projection): which parameters a formula is linear in,
the reduced objective against a direct least-squares solve, and fits that reach the optimum of
the full problem with fewer starts (issue 15)."""

from __future__ import annotations

import warnings
from typing import TypeVar

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from scalinglab.errors import FitWarning
from scalinglab.fitting.projection import Projection, linear_split
from scalinglab.laws.base import ScalingLaw
from scalinglab.laws.formula import FormulaLaw

LawT = TypeVar("LawT", bound=ScalingLaw)

CHINCHILLA = "E + A/N**alpha + B/D**beta"
SAE = "exp(alpha + beta_k*log(k) + beta_n*log(n) + gamma*log(k)*log(n)) + exp(zeta + eta*log(k))"


def linear(formula: str, variables: list[str], **options: object) -> dict[str, str]:
    return FormulaLaw(formula, variables, objective="ls_linear", **options).linear_parameters()


@pytest.mark.parametrize(
    ("formula", "variables", "expected"),
    [
        (CHINCHILLA, ["N", "D"], {"E": "identity", "A": "identity", "B": "identity"}),
        (SAE, ["n", "k"], {"alpha": "exp", "zeta": "exp"}),
        ("a*x**-b + c", ["x"], {"a": "identity", "c": "identity"}),
        ("-a*x + c - d*log(x)", ["x"], {"a": "identity", "c": "identity", "d": "identity"}),
        # bilinear: one of the two per term; c is inside a product, not a term of the sum
        ("a*b*x", ["x"], {"a": "identity"}),
        ("a*(x**-b + c)", ["x"], {"a": "identity"}),
        # a denominator, a second appearance, exp(-z) and where() are not linear
        ("x/a + c", ["x"], {"c": "identity"}),
        ("a*x**a", ["x"], {}),
        ("exp(-z + x) + c", ["x"], {"c": "identity"}),
        ("where(x > t, a*x, b)", ["x"], {}),
    ],
)
def test_the_parameters_a_formula_is_linear_in(
    formula: str, variables: list[str], expected: dict[str, str]
) -> None:
    assert linear(formula, variables) == expected


def test_projection_only_under_least_squares_on_y_and_never_for_fixed_or_tied() -> None:
    assert FormulaLaw(CHINCHILLA, ["N", "D"]).linear_parameters() == {}  # huber: log residuals
    assert linear(CHINCHILLA, ["N", "D"], variable_projection=False) == {}
    assert "E" not in linear(CHINCHILLA, ["N", "D"], tied={"E": "A"})
    assert "A" not in linear(CHINCHILLA, ["N", "D"], tied={"E": "A"})
    law = FormulaLaw(CHINCHILLA, ["N", "D"], objective="ls_linear", fixed={"E": 1.7})
    split = linear_split(law, law.free_params())
    assert split is not None
    assert [split.free[j] for j in split.linear] == ["A", "B"]
    grouped = FormulaLaw(
        "E + A/N**alpha", ["N"], objective="ls_linear", groups=["a", "b"], shared=["alpha"]
    )
    assert grouped.linear_parameters() == {
        "E[a]": "identity", "E[b]": "identity", "A[a]": "identity", "A[b]": "identity",
    }  # fmt: skip


def chinchilla_data(seed: int, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    N = 10 ** rng.uniform(7, 10, n)
    D = 10 ** rng.uniform(9, 12, n)
    y = 1.7 + 400 / N**0.34 + 410 / D**0.28
    return np.column_stack([N, D]), y * np.exp(rng.normal(0, 0.01, n))


@settings(max_examples=25, deadline=None)
@given(
    alpha=st.floats(0.05, 1.5),
    beta=st.floats(0.05, 1.5),
    seed=st.integers(0, 10_000),
    weighted=st.booleans(),
)
def test_the_reduced_objective_is_the_least_squares_minimum_over_the_coefficients(
    alpha: float, beta: float, seed: int, weighted: bool
) -> None:
    X, y = chinchilla_data(seed)
    w = np.random.default_rng(seed).uniform(0.2, 2, len(y)) if weighted else np.ones(len(y))
    law = FormulaLaw(CHINCHILLA, ["N", "D"], objective="ls_linear")
    split = linear_split(law, law.free_params())
    assert split is not None
    x_t, y_t, w_t = (torch.as_tensor(a, dtype=torch.float64) for a in (X, y, w))
    projection = Projection(law, split, x_t, y_t, w_t)
    theta = torch.tensor([[alpha, beta]], dtype=torch.float64)
    # Direct: weighted least squares of y on [1, N^-alpha, D^-beta].
    basis = np.column_stack([np.ones(len(y)), X[:, 0] ** -alpha, X[:, 1] ** -beta])
    sw = np.sqrt(w)
    scale = np.linalg.norm(basis * sw[:, None], axis=0)  # columns span ~1e-18 to 1: scale them
    coef, *_ = np.linalg.lstsq(basis * sw[:, None] / scale, y * sw, rcond=None)
    coef = coef / scale
    direct = 0.5 * np.sum(w * (y - basis @ coef) ** 2)
    reduced = float(projection.objective(theta, torch.zeros(1, dtype=torch.long)))
    assert reduced == pytest.approx(direct, rel=1e-6, abs=1e-12)
    full = projection.full_theta(theta)[0]
    names = law.free_params()
    natural = {n: law.from_solver(n, float(full[j])) for j, n in enumerate(names)}
    assert (natural["alpha"], natural["beta"]) == (alpha, beta)
    for name, value in zip(("E", "A", "B"), coef, strict=True):
        if value > 0:  # inside the default bounds (0, inf): the projection itself
            assert natural[name] == pytest.approx(value, rel=1e-6, abs=1e-9)
        else:  # below the bound: a small positive start instead
            assert natural[name] > 0


def test_the_reduced_gradient_matches_finite_differences() -> None:
    X, y = chinchilla_data(3)
    law = FormulaLaw(CHINCHILLA, ["N", "D"], objective="ls_linear")
    split = linear_split(law, law.free_params())
    assert split is not None
    projection = Projection(law, split, *(torch.as_tensor(a) for a in (X, y, np.ones(len(y)))))
    theta = torch.tensor([[0.4, 0.3]], dtype=torch.float64, requires_grad=True)
    rows = torch.zeros(1, dtype=torch.long)
    (grad,) = torch.autograd.grad(projection.objective(theta, rows).sum(), theta)
    h = 1e-6
    for j in range(2):
        step = torch.zeros_like(theta)
        step[0, j] = h
        with torch.no_grad():
            up = projection.objective(theta + step, rows)
            down = projection.objective(theta - step, rows)
        assert float(grad[0, j]) == pytest.approx(float((up - down) / (2 * h)), rel=1e-4)


def fit(law: LawT, X: np.ndarray, y: np.ndarray) -> LawT:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        law.fit(X, y)
    return law


def test_a_projected_fit_reaches_the_optimum_of_the_full_problem() -> None:
    X, y = chinchilla_data(7, n=200)
    options = {"objective": "ls_linear", "n_bootstrap": 0}
    projected = fit(FormulaLaw(CHINCHILLA, ["N", "D"], **options), X, y)
    plain = fit(FormulaLaw(CHINCHILLA, ["N", "D"], variable_projection=False, **options), X, y)
    assert projected.converged_
    assert projected.objective_ <= plain.objective_ * (1 + 1e-9)
    assert projected.params_["alpha"] == pytest.approx(0.34, rel=0.1)
    assert projected.params_["beta"] == pytest.approx(0.28, rel=0.1)


def test_with_one_start_projection_still_reaches_the_optimum() -> None:
    """One start (alpha = beta = 0.5): E, A, B are solved for there, not started at 1e3."""
    X, y = chinchilla_data(11, n=200)
    one = fit(
        FormulaLaw(CHINCHILLA, ["N", "D"], objective="ls_linear", n_bootstrap=0, n_starts=1),
        X, y,
    )  # fmt: skip
    best = fit(
        FormulaLaw(
            CHINCHILLA, ["N", "D"], objective="ls_linear", n_bootstrap=0,
            variable_projection=False, n_random_starts=256,
        ),
        X, y,
    )  # fmt: skip
    assert one.objective_ == pytest.approx(best.objective_, rel=1e-6)


def test_a_formula_linear_in_every_parameter_is_one_solve() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(1, 10, 50)
    y = 2.0 - 0.5 * x + 0.1 * x**2 + rng.normal(0, 0.01, 50)
    law = fit(
        FormulaLaw(
            "a + b*x + c*x**2", ["x"], objective="ls_linear", n_bootstrap=0,
            bounds={"a": (-10, 10), "b": (-10, 10), "c": (-10, 10)},
        ),
        x[:, None], y,
    )  # fmt: skip
    coef = np.polyfit(x, y, 2)[::-1]
    assert [law.params_[n] for n in "abc"] == pytest.approx(coef, rel=1e-6)


def test_a_joint_law_projects_the_parameters_of_one_formula_only() -> None:
    """E, A (loss) and F, G (err) are each in one formula; alpha, in both, is searched. The
    projected joint fit reaches the unprojected one's optimum."""
    from scalinglab.laws.joint import JointFormulaLaw

    rng = np.random.default_rng(0)
    N = np.geomspace(1e6, 1e10, 24)
    loss = 1.7 + 400 * N**-0.3 + rng.normal(0, 1e-3, N.size)
    err = 0.05 + 30 * N**-0.3 + rng.normal(0, 1e-3, N.size)
    formulas, outputs = ["E + A/N**alpha", "F + G/N**alpha"], ["loss", "err"]
    options = {"objective": "ls_linear", "n_bootstrap": 0}
    law = JointFormulaLaw(formulas, outputs, ["N"], **options)
    assert law.linear_parameters() == {"E": "identity", "A": "identity", "F": "identity",
                                       "G": "identity"}  # fmt: skip
    X, y = law.stack(N[:, None], np.column_stack([loss, err]))
    projected = fit(law, X, y)
    plain = JointFormulaLaw(formulas, outputs, ["N"], variable_projection=False, **options)
    plain = fit(plain, X, y)
    assert projected.objective_ <= plain.objective_ * (1 + 1e-9)
    assert projected.params_["alpha"] == pytest.approx(0.3, rel=0.05)
    assert JointFormulaLaw(formulas, outputs, ["N"]).linear_parameters() == {}  # huber
