"""Formula laws: parsing, default roles, parameter recovery, equivalence with registered laws,
JSON round trips, grouped fits, and hostile formulas that never run."""

from __future__ import annotations

import json
import math
import warnings
from contextlib import suppress

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalinglab.errors import FitWarning, ScalingLabError
from scalinglab.laws import ScalingLaw, available_laws, get_law
from scalinglab.laws.formula import FormulaLaw
from tests.audit import no_code_runs
from tests.laws.cases import grid2

CHINCHILLA = "../shared/data/chinchilla_besiroglu2024.csv"


def chinchilla_data() -> tuple[np.ndarray, np.ndarray]:
    df = pd.read_csv(CHINCHILLA).query("epoch_outlier == 0")
    return df[["params", "tokens"]].to_numpy(), df["loss"].to_numpy()


# ------------------------------------------------------------------------------------------
# Declaring
# ------------------------------------------------------------------------------------------
def test_names_split_into_variables_and_parameters_with_roles() -> None:
    law = FormulaLaw("E + A/N^alpha + B/D**beta", variables=["N", "D"])
    assert law.variables == ("N", "D")
    assert law.param_names == ("E", "A", "alpha", "B", "beta")
    assert {n: law.role(n) for n in law.param_names} == {
        "E": "offset",
        "A": "scale",
        "alpha": "exponent",
        "B": "scale",
        "beta": "exponent",
    }
    assert law.param("A").log and law.param("E").log and not law.param("alpha").log
    assert law.param_bounds("alpha") == (0.0, 3.0)
    assert not hasattr(law, "params_")


def test_roles_of_coefficients_and_thresholds() -> None:
    law = FormulaLaw("where(n > c, exp(a + b*log(n)), d)", variables=["n"])
    roles = {n: law.role(n) for n in law.param_names}
    assert roles == {"c": "threshold", "a": "coefficient", "b": "coefficient", "d": "offset"}
    assert law.param_bounds("b") == (-math.inf, math.inf)


@pytest.mark.parametrize(
    ("formula", "variables", "expected"),
    [
        ("a * x**b + c", ["x"], {"b": "signed exponent"}),  # Hestness: b < 0 is a decay
        ("a * x**-b + c", ["x"], {"b": "exponent"}),  # negated: a magnitude
        ("A / x**b", ["x"], {"b": "exponent"}),  # in a denominator: a magnitude
        ("1 / (1 + x**b)", ["x"], {"b": "exponent"}),  # anywhere below a division
        ("(A / N**alpha + B)**gamma", ["N"], {"alpha": "exponent", "gamma": "exponent"}),
        ("x**b * y**b", ["x", "y"], {"b": "signed exponent"}),
        ("x**b + A / y**b", ["x", "y"], {"b": "exponent"}),  # an exponent anywhere wins
        ("exp(a) * x**(1/f)", ["x"], {"f": "exponent", "a": "coefficient"}),
    ],
)
def test_a_bare_exponent_of_a_variable_takes_its_sign_from_the_data(
    formula: str, variables: list[str], expected: dict[str, str]
) -> None:
    law = FormulaLaw(formula, variables=variables)
    assert {n: law.role(n) for n in expected} == expected
    for name, role in expected.items():
        if role == "signed exponent":
            assert law.param_bounds(name) == (-3.0, 3.0)
        elif role == "exponent":
            assert law.param_bounds(name) == (0.0, 3.0)


@pytest.mark.parametrize("b", [-0.4, 0.3])
def test_a_power_law_written_as_hestness_does_fits_a_decay_and_a_growth(b: float) -> None:
    """a*x**b + c with default bounds and starts: the sign of b comes from the data, with no
    warning (before, b was held to [0, 3] and a decay ended on the bound 0)."""
    x = np.logspace(1, 5, 12)[:, None]
    y = 3.0 * x[:, 0] ** b + 0.2
    law = FormulaLaw("a * x**b + c", variables=["x"]).fit(x, y)
    assert law.params_["b"] == pytest.approx(b, rel=1e-5)
    assert law.params_["c"] == pytest.approx(0.2, rel=1e-4) and not law.warnings_


def test_a_negative_lower_bound_puts_a_scale_on_the_linear_scale() -> None:
    law = FormulaLaw("a*x + b", variables=["x"], bounds={"a": (-5, 5)}, log=["b"])
    assert not law.param("a").log and law.param("b").log


def test_formula_law_is_found_by_name_but_not_listed() -> None:
    assert get_law("formula") is FormulaLaw
    assert "formula" not in available_laws()


@pytest.mark.parametrize(
    ("formula", "variables", "match"),
    [
        ("", ["x"], "empty"),
        ("a*x", [], "at least one variable"),
        ("a*x", ["x", "x"], "more than once"),
        ("a*x", ["x", "y"], "'y' does not appear"),
        ("x + 1", ["x"], "no parameter"),
        ("exp*x", ["x"], "is a function"),
        ("a*x", ["exp"], "does not appear"),
        ("x.__class__", ["x"], "attribute"),
        ("__import__('os').system('true')", ["x"], "dunder"),
        ("open('f')", ["x"], "may not call 'open'"),
        ("lambda: x", ["x"], "lambda"),
        ("a*x if a else x", ["x"], "if c else"),
        ("[a for a in x]", ["x"], "comprehension"),
        ("x[0]*a", ["x"], "subscript"),
        ("a @ x", ["x"], "'@'"),
        ("a*x; import os", ["x"], "not a valid formula"),
        ("a < x", ["x"], "belong in where"),
        ("where(x, a, 1)", ["x"], "condition"),
        ("exp(x, a)", ["x"], "1 argument"),
        ("min(x)", ["x"], "2 to 8"),
        ("'a' * x", ["x"], "constant"),
        ("a*x", ["x"], None),
    ],
)
def test_bad_formulas_are_one_clear_error(formula: str, variables: list[str], match: str) -> None:
    if match is None:
        FormulaLaw(formula, variables=variables)
        return
    with no_code_runs("the formula"), pytest.raises(ScalingLabError, match=match):
        FormulaLaw(formula, variables=variables)


def test_options_naming_unknown_parameters_fail() -> None:
    for option in ({"bounds": {"z": (0, 1)}}, {"log": ["z"]}, {"starts": {"z": [1.0]}}):
        with pytest.raises(ScalingLabError, match="'z', which is not a parameter"):
            FormulaLaw("a*x**-b", variables=["x"], **option)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_garbage_formulas_raise_only_scalinglab_errors(text: str) -> None:
    with no_code_runs("the formula"):
        try:
            law = FormulaLaw(text, variables=["x"])
        except ScalingLabError:
            return
        x = np.linspace(1, 5, 4)[:, None]
        with warnings.catch_warnings(), suppress(ScalingLabError):
            warnings.simplefilter("ignore")
            law.fit(x, np.linspace(2, 1, 4))


PIECES = ["a", "x", "b", "1", "2.5", "+", "-", "*", "/", "**", "^", "(", ")", ",", "exp("]
PIECES += ["log(", "where(", "min(", "x>a", "and", " "]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(PIECES),
        max_size=14,
    )
)
def test_formula_like_garbage_raises_only_scalinglab_errors(parts: list[str]) -> None:
    text = "".join(parts)
    with no_code_runs("the formula"):
        try:
            law = FormulaLaw(text, variables=["x"])
        except ScalingLabError:
            return
        with warnings.catch_warnings(), suppress(ScalingLabError):
            warnings.simplefilter("ignore")
            law.fit(np.linspace(1, 5, 6)[:, None], np.linspace(2, 1, 6))


# ------------------------------------------------------------------------------------------
# Fitting
# ------------------------------------------------------------------------------------------
def test_recovers_known_parameters_of_a_chinchilla_formula() -> None:
    rng = np.random.default_rng(0)
    X = grid2(np.logspace(7, 10, 8), np.logspace(9, 12, 8))
    true = {"E": 1.69, "A": 406.4, "alpha": 0.34, "B": 410.7, "beta": 0.28}
    y = true["E"] + true["A"] / X[:, 0] ** true["alpha"] + true["B"] / X[:, 1] ** true["beta"]
    y = y * np.exp(rng.normal(0, 0.001, len(y)))
    law = FormulaLaw("E + A/N**alpha + B/D**beta", variables=["N", "D"]).fit(X, y)
    assert law.converged_
    for name, value in true.items():
        assert law.params_[name] == pytest.approx(value, rel=0.1), name


def test_recovers_an_exponential_and_a_where() -> None:
    x = np.linspace(0.0, 10.0, 41)[:, None]  # zero is a valid input when no log is taken of it
    y = np.where(x[:, 0] > 4.0, 2.0 * np.exp(-0.3 * x[:, 0]) + 0.5, 1.1)
    law = FormulaLaw(
        "where(x > c, a*exp(-k*x) + e, d)",
        variables=["x"],
        objective="ls_linear",
        bounds={"c": (3.2, 4.8)},
    ).fit(x, y)
    assert law.params_["a"] == pytest.approx(2.0, rel=1e-4)
    assert law.params_["k"] == pytest.approx(0.3, rel=1e-4)
    assert law.params_["d"] == pytest.approx(1.1, rel=1e-6)


# Registered law -> the same law as a formula, fitted with the registered law's options.
def _same_grid(name: str, **options: object) -> dict[str, object]:
    law = get_law(name)()
    starts = {p.name: p.grid for p in law.params if p.grid}
    bounds = {p.name: (p.lower, p.upper) for p in law.params if not p.log}
    return {"starts": starts, "bounds": bounds, "log": [p.name for p in law.params if p.log]}


def test_chinchilla_as_a_formula_gives_the_registered_fit() -> None:
    X, y = chinchilla_data()
    ref = get_law("chinchilla")().fit(X, y)
    # default starts and bounds of a formula law reach the same optimum
    law = FormulaLaw("E + A/N**alpha + B/D**beta", variables=["N", "D"]).fit(X, y)
    for name, value in ref.params_.items():
        assert law.params_[name] == pytest.approx(value, rel=1e-4), name
    assert law.objective_ == pytest.approx(ref.objective_, rel=1e-8)
    assert ref.params_["alpha"] == pytest.approx(0.3473, abs=1e-4)


@pytest.mark.parametrize(
    ("name", "formula", "where"),
    [
        ("power_const", "a * x**b + c", "params"),
        ("kaplan_nd", "((Nc/N)**(alpha_N/alpha_D) + Dc/D)**alpha_D", None),
    ],
)
def test_registered_laws_as_formulas_give_the_same_fit(
    name: str, formula: str, where: str | None
) -> None:
    X, y = chinchilla_data()
    if name == "power_const":
        # the learning curve of the largest token budget per model: loss against params
        df = pd.read_csv(CHINCHILLA).query("epoch_outlier == 0")
        df = df.loc[df.groupby("params")["tokens"].idxmax()]
        X, y = df[["params"]].to_numpy(), df["loss"].to_numpy()
        variables = ["x"]
    else:
        variables = ["N", "D"]
    ref = get_law(name)().fit(X, y)
    options = _same_grid(name)
    if name == "power_const":
        options["starts"] = ref.start_grid(X, y)
    law = FormulaLaw(formula, variables=variables, **options).fit(X, y)  # type: ignore[arg-type]
    assert law.objective_ == pytest.approx(ref.objective_, rel=1e-6)
    for param, value in ref.params_.items():
        assert law.params_[param] == pytest.approx(value, rel=1e-4), param


def test_a_fit_on_a_default_bound_says_so() -> None:
    x = np.logspace(1, 5, 12)[:, None]
    y = 3.0 * x[:, 0] ** 0.4 + 0.2  # a growth, written below as a decay
    with pytest.warns(FitWarning, match=r"b ended on its default bound .*--bounds b=LOW:HIGH"):
        law = FormulaLaw("a / x**b + c", variables=["x"]).fit(x, y)
    assert law.at_bounds_ == ["b"]
    # written so that b may be negative, or with bounds, it fits
    law = FormulaLaw("a * x**b + c", variables=["x"]).fit(x, y)
    assert law.params_["b"] == pytest.approx(0.4, rel=1e-6) and not law.warnings_
    law = FormulaLaw("a / x**b + c", variables=["x"], bounds={"b": (-2, 0)}).fit(x, y)
    assert law.params_["b"] == pytest.approx(-0.4, rel=1e-6)


def test_fixed_parameters_are_held() -> None:
    X, y = chinchilla_data()
    law = FormulaLaw("E + A/N**alpha + B/D**beta", variables=["N", "D"], fixed={"E": 1.69})
    law.fit(X, y)
    assert law.params_["E"] == 1.69
    assert law.free_params() == ("A", "alpha", "B", "beta")


def test_round_trips_through_json_with_its_formula() -> None:
    x = np.logspace(1, 5, 15)[:, None]
    y = 3.0 * x[:, 0] ** -0.4 + 0.2
    law = FormulaLaw("a * x**-b + c", variables=["x"], n_bootstrap=20).fit(x, y)
    doc = json.loads(json.dumps(law.to_dict()))
    assert doc["law"] == "formula" and doc["options"]["formula"] == "a * x**-b + c"
    again = ScalingLaw.from_dict(doc)
    assert isinstance(again, FormulaLaw)
    np.testing.assert_allclose(again.predict(x), law.predict(x), rtol=1e-12)
    assert again.get_options() == law.get_options()
    lo, hi = again.predict_interval(x, 0.9)
    assert np.all(lo <= again.predict(x) * (1 + 1e-9)) and np.all(hi >= lo)
    # a hand-written file: the formula and published parameters
    minimal = {"law": "formula", "options": {"formula": "a*x**-b", "variables": ["x"]}}
    law2 = ScalingLaw.from_dict({**minimal, "params": {"a": 2.0, "b": 0.5}})
    assert law2.predict([[4.0]])[0] == pytest.approx(1.0)


def test_a_formula_without_its_options_is_a_clear_error() -> None:
    with pytest.raises(ScalingLabError, match="formula"):
        ScalingLaw.from_dict({"law": "formula", "params": {"a": 1.0}})


# ------------------------------------------------------------------------------------------
# Groups
# ------------------------------------------------------------------------------------------
def test_shared_parameters_across_groups() -> None:
    rng = np.random.default_rng(1)
    x = np.tile(np.logspace(1, 5, 15), 3)
    codes = np.repeat(np.arange(3.0), 15)
    amplitude = np.array([2.0, 3.0, 5.0])[codes.astype(int)]
    floor = np.array([0.1, 0.2, 0.3])[codes.astype(int)]
    y = (amplitude * x**-0.4 + floor) * np.exp(rng.normal(0, 1e-3, len(x)))
    law = FormulaLaw(
        "a * x**-b + c", variables=["x"], groups=["u", "v", "w"], shared=["b"], group_column="g"
    )
    assert law.variables == ("x", "g")
    assert law.param_names == ("a[u]", "a[v]", "a[w]", "b", "c[u]", "c[v]", "c[w]")
    law.fit(np.column_stack([x, codes]), y)
    assert law.params_["b"] == pytest.approx(0.4, rel=0.02)
    for j, g in enumerate("uvw"):
        assert law.params_[f"a[{g}]"] == pytest.approx([2.0, 3.0, 5.0][j], rel=0.05)
        assert law.params_[f"c[{g}]"] == pytest.approx([0.1, 0.2, 0.3][j], rel=0.05)
    np.testing.assert_array_equal(law.group_codes(["w", "u"]), [2.0, 0.0])
    with pytest.raises(ScalingLabError, match="group 'z' was not in the fit"):
        law.group_codes(["z"])
    again = ScalingLaw.from_dict(json.loads(json.dumps(law.to_dict())))
    X = np.column_stack([x, codes])
    np.testing.assert_allclose(again.predict(X), law.predict(X), rtol=1e-12)


def test_a_fixed_parameter_is_fixed_in_every_group() -> None:
    """fixed={"c": ...} on a grouped law holds c[label] at that value in each group (and a
    shared parameter stays one); the free parameters are still recovered."""
    from scalinglab.laws.joint import JointFormulaLaw

    x = np.tile(np.logspace(1, 5, 12), 2)
    codes = np.repeat(np.arange(2.0), 12)
    amplitude = np.array([2.0, 4.0])[codes.astype(int)]
    y = amplitude * x**-0.4 + 0.2
    law = FormulaLaw(
        "a * x**-b + c", variables=["x"], groups=["u", "v"], shared=["b"], fixed={"c": 0.2}
    )
    assert law.fixed == {"c[u]": 0.2, "c[v]": 0.2}
    law.fit(np.column_stack([x, codes]), y)
    assert law.params_["c[u]"] == law.params_["c[v]"] == 0.2
    assert law.params_["a[v]"] == pytest.approx(4.0, rel=1e-3)
    joint = JointFormulaLaw(
        ["a * x**-b + c", "a * x**-b"], ["p", "q"], ["x"], groups=["u", "v"], shared=["b"],
        fixed={"c": 0.2, "b": 0.4},
    )  # fmt: skip
    assert joint.fixed == {"c[u]": 0.2, "c[v]": 0.2, "b": 0.4}


def test_group_options_are_checked() -> None:
    with pytest.raises(ScalingLabError, match="not a parameter"):
        FormulaLaw("a*x**-b", variables=["x"], groups=["u"], shared=["z"])
    with pytest.raises(ScalingLabError, match="need groups"):
        FormulaLaw("a*x**-b", variables=["x"], shared=["b"])
    with pytest.raises(ScalingLabError, match="cannot also be a variable"):
        FormulaLaw("a*x**-b", variables=["x"], groups=["u"], group_column="x")
    law = FormulaLaw("a*x**-b", variables=["x"], groups=["u", "v"])
    with pytest.raises(ScalingLabError, match="group indices"):
        law.fit(np.array([[1.0, 2.0], [2.0, 0.0], [3.0, 1.0]]), np.ones(3))


def test_a_signed_target_with_zero_inputs_under_ls_linear() -> None:
    x = np.linspace(0.0, 4.0, 30)[:, None]  # a mixture proportion of 0 is a valid input
    y = -1.0 + 3.0 * np.exp(-0.7 * x[:, 0])  # from 2 down to -0.8
    law = FormulaLaw(
        "c + a*exp(-k*x)", variables=["x"], objective="ls_linear", bounds={"c": (-10, 10)}
    ).fit(x, y)
    assert law.params_["c"] == pytest.approx(-1.0, abs=1e-6)
    assert law.params_["k"] == pytest.approx(0.7, rel=1e-6)
    np.testing.assert_allclose(law.predict(x), y, atol=1e-6)
