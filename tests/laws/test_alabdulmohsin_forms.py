"""M1–M4 (Alabdulmohsin et al. 2022, eqs. 2–5) and BNSL (Caballero et al. 2022, eq. 1) compute
their published forms: predictions at known parameters equal the formulas written out here in
numpy/scipy, and a fit to a noise-free synthetic curve reproduces the curve and its extrapolation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy.optimize import brentq

from scalinglab.fitting.subsets import thinned_grid
from scalinglab.laws import get_law

X = np.logspace(3, 8, 14)  # fitted on
X_FAR = np.logspace(8.2, 9.0, 5)  # extrapolated to


def m4_published(x: np.ndarray, beta: float, c: float, alpha: float, e_inf: float, e_0: float):
    """M4 solved point by point: (ε − ε∞)/(ε₀ − ε)^α = βx^c for ε in (ε∞, ε₀)."""
    out = []
    for xi in np.atleast_1d(x):
        rhs = beta * xi**c
        out.append(
            brentq(
                lambda e, r=rhs: (e - e_inf) / (e_0 - e) ** alpha - r,
                e_inf + 1e-15,
                e_0 - 1e-15,
                xtol=1e-15,
                rtol=1e-14,
            )
        )
    return np.array(out)


def bnsl_published(x: np.ndarray, a: float, b: float, c0: float, breaks: list[tuple]) -> Any:
    """y = a + b·x^(−c0)·Π (1 + (x/d_i)^(1/f_i))^(−c_i·f_i)."""
    y = b * x ** (-c0)
    for c, d, f in breaks:
        y = y * (1 + (x / d) ** (1 / f)) ** (-c * f)
    return a + y


FORMS: dict[str, tuple[str, dict[str, Any], dict[str, float], Callable[[np.ndarray], Any]]] = {
    "m1": ("m1", {}, {"beta": 5.0, "c": -0.3}, lambda x: 5.0 * x**-0.3),
    "m2": (
        "m2",
        {},
        {"beta": 3.0, "c": -0.4, "eps_inf": 0.5},
        lambda x: 3.0 * x**-0.4 + 0.5,
    ),
    "m3": (
        "m3",
        {},
        {"beta": 2.0, "gamma": 1e-7, "c": 0.12},
        lambda x: 2.0 * (1 / x + 1e-7) ** 0.12,
    ),
    "m4": (
        "m4",
        {},
        {"beta": 40.0, "c": -0.45, "alpha": 1.5, "eps_inf": 0.3, "eps_0": 2.0},
        lambda x: m4_published(x, 40.0, -0.45, 1.5, 0.3, 2.0),
    ),
    "bnsl1": (
        "bnsl",
        {"n_breaks": 1},
        {"a": 0.2, "b": 3.0, "c0": 0.1, "c1": 0.4, "d1": 1e5, "f1": 0.5},
        lambda x: bnsl_published(x, 0.2, 3.0, 0.1, [(0.4, 1e5, 0.5)]),
    ),
    "bnsl2": (
        "bnsl",
        {"n_breaks": 2},
        {
            "a": 0.1,
            "b": 2.0,
            "c0": 0.05,
            "c1": 0.5,
            "d1": 1e4,
            "f1": 0.3,
            "c2": -0.3,
            "d2": 1e7,
            "f2": 0.8,
        },
        lambda x: bnsl_published(x, 0.1, 2.0, 0.05, [(0.5, 1e4, 0.3), (-0.3, 1e7, 0.8)]),
    ),
}


@pytest.mark.parametrize("label", sorted(FORMS))
def test_prediction_at_known_parameters_is_the_published_form(label: str) -> None:
    name, options, params, published = FORMS[label]
    law = get_law(name)(**options)
    law.params_ = dict(params)
    xs = np.concatenate([X, X_FAR])
    np.testing.assert_allclose(law.predict(xs[:, None]), published(xs), rtol=1e-10)


def test_m4_prediction_solves_its_implicit_equation() -> None:
    _, _, p, _ = FORMS["m4"]
    law = get_law("m4")()
    law.params_ = dict(p)
    eps = law.predict(X[:, None])
    lhs = (eps - p["eps_inf"]) / (p["eps_0"] - eps) ** p["alpha"]
    np.testing.assert_allclose(lhs, p["beta"] * X ** p["c"], rtol=1e-9)
    assert np.all(np.diff(eps) < 0)  # c < 0: the error falls with x, from ε₀ toward ε∞


@pytest.mark.parametrize("label", ["m1", "m2", "m3", "m4", "bnsl1"])
def test_fit_to_a_noise_free_curve_reproduces_it_and_its_extrapolation(label: str) -> None:
    name, options, _, published = FORMS[label]
    y = published(X)
    law = get_law(name)(**options, max_iter=500)
    # A budget of starts from the law's own grid keeps the test fast; the form is what is tested.
    law = get_law(name)(**options, max_iter=500, starts=thinned_grid(law, X[:, None], y, 32))
    law.fit(X[:, None], y)
    np.testing.assert_allclose(law.predict(X[:, None]), y, rtol=2e-3)
    np.testing.assert_allclose(law.predict(X_FAR[:, None]), published(X_FAR), rtol=1e-2)


def _m4_root(
    beta: float, c: float, alpha: float, eps_inf: float, eps_0: float, x: float
) -> float | None:
    """log ε solving (ε − ε∞)/(ε₀ − ε)^α = β·x^c by brentq on u = (ε − ε∞)/(ε₀ − ε∞)."""
    span = eps_0 - eps_inf
    rhs = np.log(beta) + c * np.log(x) - (1 - alpha) * np.log(span)

    def gap(u: float) -> float:
        return float(np.log(u) - alpha * np.log1p(-u) - rhs)

    if not gap(1e-300) < 0 < gap(1 - 1e-16):
        return None  # the root is beyond float64's reach of ε∞ or ε₀
    u = brentq(gap, 1e-300, 1 - 1e-16, xtol=1e-300, rtol=1e-15)
    return float(np.log(eps_inf + u * span))


def test_m4_solves_its_implicit_equation_to_solver_precision() -> None:
    """Newton on the logit scale agrees with brentq on the equation itself, from ε near ε∞
    (large x) to ε near ε₀ (small x), for α below and above 1."""
    import torch

    from scalinglab.laws.alabdulmohsin import M4

    rng = np.random.default_rng(0)
    x = np.geomspace(1.0, 1e8, 17)
    xt = torch.as_tensor(x[:, None])
    checked = 0
    for _ in range(80):
        values = {
            "beta": float(np.exp(rng.normal(0, 2))),
            "c": float(-rng.uniform(0.05, 1.5)),
            "alpha": float(np.clip(np.exp(rng.normal(0, 2.5)), 1e-3, 20.0)),  # its bounds
            "eps_inf": float(rng.choice([0.0, rng.uniform(0, 1)])),
        }
        values["eps_0"] = values["eps_inf"] + float(np.exp(rng.normal(0, 1.5)))
        p = {k: torch.tensor([[v]], dtype=torch.float64) for k, v in values.items()}
        ours = M4().log_predict(p, xt, torch.log(xt)).numpy()[0]
        for xi, got in zip(x, ours, strict=True):
            want = _m4_root(**values, x=float(xi))
            if want is None:
                continue
            assert got == pytest.approx(want, rel=1e-9, abs=1e-9)
            checked += 1
    assert checked > 0.9 * 80 * 17
