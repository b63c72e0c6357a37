"""The contract every registered law keeps (sklearn-style conventions of DESIGN.md)."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterator

import numpy as np
import pytest

from scalinglab.errors import ScalingLabError
from scalinglab.laws import ScalingLaw, available_laws, base, get_law
from tests.laws.cases import CASES, synthetic

LAWS = available_laws()


@pytest.fixture(scope="module")
def fitted() -> dict[str, ScalingLaw]:
    out = {}
    for name in LAWS:
        X, y = synthetic(CASES[name])
        out[name] = get_law(name)(**CASES[name].options).fit(X, y)
    return out


@pytest.mark.parametrize("name", LAWS)
def test_declares_itself(name: str) -> None:
    cls = get_law(name)
    law = cls()
    assert law.name == name
    assert law.formula and cls.__doc__, "formula and docstring (with the paper) are required"
    assert len(law.variables) >= 1
    assert len(set(law.param_names)) == len(law.param_names) >= 1
    assert not hasattr(law, "params_"), "the constructor only stores options"


@pytest.mark.parametrize("name", LAWS)
def test_fit_returns_self_and_sets_underscored_state(name: str, fitted: dict) -> None:
    law = fitted[name]
    assert set(law.params_) == set(law.param_names)
    assert set(law.stderr_) == set(law.param_names)
    assert all(math.isfinite(v) for v in law.params_.values())
    assert law.n_points_ == len(CASES[name].X)
    X, y = synthetic(CASES[name])
    fresh = get_law(name)(**CASES[name].options)
    assert fresh.fit(X, y) is fresh


@pytest.mark.parametrize("name", LAWS)
def test_round_trips_through_json(name: str, fitted: dict) -> None:
    law = fitted[name]
    text = json.dumps(law.to_dict())
    again = ScalingLaw.from_dict(json.loads(text))
    X = CASES[name].X
    np.testing.assert_allclose(again.predict(X), law.predict(X), rtol=1e-12)
    assert again.get_options() == law.get_options()


@pytest.mark.parametrize("name", LAWS)
def test_minimal_fit_file_with_published_params(name: str) -> None:
    law = ScalingLaw.from_dict({"law": name, "params": CASES[name].params})
    pred = law.predict(CASES[name].X)
    assert np.all(np.isfinite(pred))
    if not getattr(law, "signed_y", False):  # an Elo law predicts ratings of any sign
        assert np.all(pred > 0)


@pytest.mark.parametrize("name", LAWS)
def test_prediction_interval_brackets_prediction(name: str, fitted: dict) -> None:
    law = fitted[name]
    X = CASES[name].X
    lo, hi = law.predict_interval(X, 0.9)
    pred = law.predict(X)
    ok = np.isfinite(lo) & np.isfinite(hi)
    assert ok.mean() > 0.9
    assert np.all(lo[ok] <= pred[ok] * (1 + 1e-6)) and np.all(hi[ok] >= pred[ok] * (1 - 1e-6))


@pytest.mark.parametrize("name", LAWS)
def test_inverse_round_trips_on_one_variable(name: str, fitted: dict) -> None:
    law = fitted[name]
    X = CASES[name].X
    row = X[len(X) // 2]
    target = law.predict(row[None, :])[0]
    unknown = law.variables[0]
    known = {v: float(row[j]) for j, v in enumerate(law.variables) if v != unknown}
    solved = law.inverse(target, **known)
    at = row.copy()
    at[0] = solved[0]
    assert law.predict(at[None, :])[0] == pytest.approx(target, rel=1e-6)
    if name != "data_constrained":  # flat in N beyond the data's compute-optimal size
        assert solved[0] == pytest.approx(row[0], rel=1e-6)


@pytest.mark.parametrize("name", LAWS)
def test_rejects_bad_input_with_clear_errors(name: str) -> None:
    law = get_law(name)()
    k = len(law.variables)
    good = CASES[name].X[:10]
    y = np.ones(len(good))
    with pytest.raises(ScalingLabError, match="NaN or inf"):
        law.fit(np.where(np.arange(good.size).reshape(good.shape) == 0, np.nan, good), y)
    with pytest.raises(ScalingLabError, match="> 0"):
        law.fit(-good, y)
    if not getattr(law, "signed_y", False):  # Elo may be negative
        with pytest.raises(ScalingLabError, match="y must be > 0"):
            law.fit(good, -y)
    with pytest.raises(ScalingLabError, match="must match"):
        law.fit(good, y[:-1])
    with pytest.raises(ScalingLabError, match="column"):
        law.fit(np.ones((10, k + 1)), y)
    with pytest.raises(ScalingLabError, match="free parameters"):
        law.fit(good[:1], y[:1])
    with pytest.raises(ScalingLabError, match="not fitted"):
        law.predict(good)


@pytest.fixture
def registry() -> Iterator[dict[str, type[ScalingLaw]]]:
    """The law registry, restored after the test: a law a test defines does not outlive it."""
    before = dict(base._REGISTRY)
    yield base._REGISTRY
    base._REGISTRY.clear()
    base._REGISTRY.update(before)


def test_user_subclass_registers_and_fits(registry: dict[str, type[ScalingLaw]]) -> None:
    import torch

    from scalinglab.laws import Param

    class Exponential(ScalingLaw):
        """y = a·exp(−x/s) (a user's own law, for the test)."""

        name = "test_exponential"
        variables = ("x",)
        params = (
            Param("a", lower=0.0, log=True),
            Param("s", lower=0.0, log=True, grid=(1.0, 10.0)),
        )
        formula = "y = a·exp(−x/s)"

        def log_predict(self, p, x, logx):  # type: ignore[no-untyped-def]
            return torch.log(p["a"]) - x[:, 0] / p["s"]

    x = np.linspace(0.1, 10, 30)[:, None]
    law = get_law("test_exponential")().fit(x, 2.0 * np.exp(-x[:, 0] / 3.0))
    assert law.params_["a"] == pytest.approx(2.0, rel=1e-5)
    assert law.params_["s"] == pytest.approx(3.0, rel=1e-5)
    assert registry["test_exponential"] is Exponential


def test_a_law_defined_by_a_test_is_gone_after_it() -> None:
    assert "test_exponential" not in available_laws()


def test_unknown_law_names_the_choices() -> None:
    with pytest.raises(ScalingLabError, match=r"unknown law 'nope'.*chinchilla"):
        get_law("nope")


@pytest.mark.parametrize("level", [7, 0, 1, -0.5, math.nan, "high"])
def test_a_fit_file_level_outside_0_1_is_malformed(level: object) -> None:
    """A hand-edited ci_level of 7 once reached the report as a "700% interval"."""
    doc = {"law": "power_const", "params": CASES["power_const"].params, "ci_level": level}
    with pytest.raises(ScalingLabError, match="field 'ci_level' is malformed"):
        ScalingLaw.from_dict(doc)
    ScalingLaw.from_dict({**doc, "ci_level": 0.9})  # a level in (0, 1) reads as before


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"bogus": 1},
            r"bad options for power_const: unknown \['bogus'\].*'n_random_starts'",
        ),
        ({"n_random_starts": "lots"}, "'n_random_starts' must be a whole number"),
        ({"n_random_starts": 2.5}, r"'n_random_starts' must be a whole number, got 2\.5"),
        ({"n_random_starts": 1e300}, "'n_random_starts' must be a whole number"),
        ({"objective": 3}, "'objective' must be text"),
    ],
)
def test_a_fit_file_option_is_named_not_a_python_error(options: dict, message: str) -> None:
    doc = {"law": "power_const", "params": CASES["power_const"].params, "options": options}
    with pytest.raises(ScalingLabError, match=message) as info:
        ScalingLaw.from_dict(doc)
    assert "__init__" not in str(info.value)


def test_a_whole_number_written_as_a_float_reads_as_that_number() -> None:
    """JSON writers other than Python's may write 200 as 200.0."""
    doc = {"law": "power_const", "params": CASES["power_const"].params}
    law = ScalingLaw.from_dict({**doc, "options": {"n_bootstrap": 20.0, "random_state": 3.0}})
    assert law.get_options()["n_bootstrap"] == 20 and law.n_bootstrap == 20
    assert isinstance(law.n_bootstrap, int) and isinstance(law.random_state, int)


def test_a_formula_fit_file_names_its_missing_or_mistyped_fields() -> None:
    doc = {"law": "formula", "formula": "a * x**-b", "params": {"a": 1.0, "b": 0.5}}
    with pytest.raises(
        ScalingLabError, match=r"missing \['formula', 'variables'\].*move \['formula'\]"
    ):
        ScalingLaw.from_dict(doc)
    bad = {"law": "formula", "options": {"formula": 123, "variables": ["x"]}}
    with pytest.raises(ScalingLabError, match="'formula' must be text, got 123"):
        ScalingLaw.from_dict(bad)
    lots = {"law": "formula", "options": {"formula": "a*x", "variables": ["x"], "n_starts": "9"}}
    with pytest.raises(ScalingLabError, match="'n_starts' must be a whole number"):
        ScalingLaw.from_dict(lots)


@pytest.mark.parametrize("name", LAWS)
def test_a_start_guess_on_a_flat_huge_curve_stays_finite_and_quiet(name: str) -> None:
    """A guess from data far from any law's shape (flat at 1e200) gives finite numbers and no
    RuntimeWarning: kaplan's X_c = a^(1/α) overflowed exp at α's floor."""
    law = get_law(name)()
    n_vars = len(law.variables)
    X = np.column_stack([np.geomspace(1.0, 4.0, 6)] * n_vars)
    y = np.full(6, 1e200)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            guess = law.guess(X, y)
        except ScalingLabError:
            return
    assert all(np.isfinite(v) for v in guess.values()), guess
