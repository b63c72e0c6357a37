"""Joint formula laws (issue 15): several outputs, one formula each, parameters of the same name
shared; stacked rows, recovery of known parameters, JSON round trips and clear errors."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from scalinglab.errors import FitWarning, ScalingLabError
from scalinglab.laws import JointFormulaLaw, ScalingLaw, get_law
from scalinglab.laws.formula import FormulaLaw

LOSS, ERR = "E + A/N**alpha", "F + G/N**alpha"


def two_outputs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A wide table: loss measured on a broad range of N, err on a narrow one (NaN elsewhere);
    both decay with the same exponent alpha = 0.3."""
    rng = np.random.default_rng(seed)
    broad = np.geomspace(1e6, 1e10, 20)
    narrow = np.geomspace(1e8, 3e8, 8)
    N = np.concatenate([broad, narrow])
    loss = np.where(N == N, 1.7 + 400 * N**-0.3, np.nan) * np.exp(rng.normal(0, 1e-3, N.size))
    err = (0.05 + 30 * N**-0.3) * np.exp(rng.normal(0, 3e-3, N.size))
    Y = np.column_stack([loss, err])
    Y[:20, 1] = np.nan  # err only on the narrow range
    Y[20:, 0] = np.nan  # loss only on the broad one
    return N[:, None], Y


def test_a_name_in_several_formulas_is_one_parameter() -> None:
    law = JointFormulaLaw([LOSS, ERR], outputs=["loss", "err"], variables=["N"])
    assert law.variables == ("N", "output")
    assert law.param_names == ("E", "A", "alpha", "F", "G")
    assert law.shared_params() == ["alpha"]
    assert law.outputs_of("alpha") == ["loss", "err"] and law.outputs_of("G") == ["err"]
    assert law.params_of("err") == ("F", "G", "alpha")
    assert law.role("alpha") == "exponent" and law.param("E").log
    apart = JointFormulaLaw([LOSS, "F + G/N**alpha_err"], ["loss", "err"], ["N"])
    assert apart.shared_params() == []


def test_stack_puts_each_outputs_rows_in_turn_and_skips_missing_values() -> None:
    law = JointFormulaLaw([LOSS, ERR], ["loss", "err"], ["N"])
    X = np.array([[1.0], [2.0], [3.0]])
    Y = np.array([[10.0, np.nan], [20.0, 0.2], [30.0, 0.3]])
    xs, ys = law.stack(X, Y)
    np.testing.assert_array_equal(xs, [[1, 0], [2, 0], [3, 0], [2, 1], [3, 1]])
    np.testing.assert_array_equal(ys, [10, 20, 30, 0.2, 0.3])
    np.testing.assert_array_equal(law.with_output(X, "err")[:, -1], [1, 1, 1])
    with pytest.raises(ScalingLabError, match="Y needs 3 rows and 2 column"):
        law.stack(X, Y[:, :1])
    with pytest.raises(ScalingLabError, match="not an output"):
        law.with_output(X, "nope")
    with pytest.raises(ScalingLabError, match=r"output indices 0\.\.1"):
        law.fit(np.array([[1.0, 0.0], [2.0, 2.0], [3.0, 1.0]]), np.ones(3))


def test_joint_fit_recovers_the_shared_exponent_better_than_the_short_output_alone() -> None:
    X, Y = two_outputs()
    law = JointFormulaLaw([LOSS, ERR], ["loss", "err"], ["N"])
    law.fit(*law.stack(X, Y))
    assert law.converged_
    assert law.params_["alpha"] == pytest.approx(0.3, rel=0.01)
    assert law.params_["E"] == pytest.approx(1.7, rel=0.01)
    assert law.params_["A"] == pytest.approx(400, rel=0.1)
    assert law.params_["F"] == pytest.approx(0.05, rel=0.1)
    assert law.params_["G"] == pytest.approx(30, rel=0.1)
    # err alone, on its narrow range, pins alpha far less well than the joint fit does
    rows = ~np.isnan(Y[:, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        alone = FormulaLaw(ERR, ["N"]).fit(X[rows], Y[rows, 1])
    assert law.stderr_["alpha"] < alone.stderr_["alpha"] / 5
    predicted = law.predict_outputs(np.array([[1e11]]))
    assert predicted["loss"][0] == pytest.approx(1.7 + 400 * 1e11**-0.3, rel=1e-3)
    assert predicted["err"][0] == pytest.approx(0.05 + 30 * 1e11**-0.3, rel=0.05)


def test_without_shared_names_the_joint_fit_is_the_separate_fits() -> None:
    X, Y = two_outputs(seed=3)
    law = JointFormulaLaw([LOSS, "F + G/N**gamma"], ["loss", "err"], ["N"])
    law.fit(*law.stack(X, Y))
    for j, formula in enumerate([LOSS, "F + G/N**gamma"]):
        rows = ~np.isnan(Y[:, j])
        alone = FormulaLaw(formula, ["N"]).fit(X[rows], Y[rows, j])
        for name, value in alone.params_.items():
            assert law.params_[name] == pytest.approx(value, rel=1e-4), name


def test_round_trips_through_json_with_all_its_formulas() -> None:
    X, Y = two_outputs(seed=1)
    law = JointFormulaLaw([LOSS, ERR], ["loss", "err"], ["N"], n_bootstrap=20)
    xs, ys = law.stack(X, Y)
    law.fit(xs, ys)
    doc = json.loads(json.dumps(law.to_dict()))
    assert doc["law"] == "joint_formula"
    assert doc["options"]["formulas"] == [LOSS, ERR]
    assert doc["options"]["outputs"] == ["loss", "err"]
    again = ScalingLaw.from_dict(doc)
    assert isinstance(again, JointFormulaLaw) and get_law("joint_formula") is JointFormulaLaw
    assert again.get_options() == law.get_options()
    assert again.params_ == law.params_
    np.testing.assert_allclose(again.predict(xs), law.predict(xs), rtol=1e-12)
    lo, hi = again.predict_interval(xs, 0.9)
    np.testing.assert_allclose(lo, law.predict_interval(xs, 0.9)[0], rtol=1e-12)
    assert np.all(lo <= hi)
    # a hand-written file: formulas and parameters only
    minimal = {
        "law": "joint_formula",
        "options": {"formulas": ["a*x", "b*x**2"], "outputs": ["u", "v"], "variables": ["x"]},
        "params": {"a": 2.0, "b": 3.0},
    }
    law2 = ScalingLaw.from_dict(minimal)
    assert isinstance(law2, JointFormulaLaw)
    np.testing.assert_allclose(law2.predict([[2.0, 0.0], [2.0, 1.0]]), [4.0, 12.0])


def test_the_same_formula_twice_with_every_parameter_shared_is_flagged() -> None:
    X, Y = two_outputs()
    Y = np.nan_to_num(Y, nan=1.0)
    law = JointFormulaLaw([LOSS, LOSS.replace(" ", "")], ["loss", "err"], ["N"])
    with pytest.warns(FitWarning, match="one prediction; name the parameters apart"):
        law.fit(*law.stack(X, Y))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"formulas": [LOSS], "outputs": ["a", "b"]}, "one formula per output"),
        ({"formulas": [LOSS, ERR], "outputs": ["a", "a"]}, "more than once"),
        ({"formulas": [LOSS, ERR], "outputs": ["a", "b"], "output_column": "N"}, "output column"),
        ({"formulas": [LOSS, "F*x"], "outputs": ["a", "b"]}, "output b: a formula law needs"),
        ({"formulas": [LOSS, "N + 1"], "outputs": ["a", "b"]}, "output b: .* no parameter"),
        ({"formulas": [LOSS, ERR], "outputs": ["a", "b"], "bounds": {"z": (0, 1)}}, "names 'z'"),
        ({"formulas": [LOSS, ERR], "outputs": ["a", "b"], "log": ["q"]}, "names 'q'"),
        ({"formulas": [LOSS, "__import__('os')"], "outputs": ["a", "b"]}, "dunder"),
    ],
)
def test_bad_joint_laws_are_one_clear_error(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ScalingLabError, match=match):
        JointFormulaLaw(variables=["N"], **kwargs)  # type: ignore[arg-type]


def test_options_reach_every_formula() -> None:
    X, Y = two_outputs()
    law = JointFormulaLaw(
        [LOSS, ERR], ["loss", "err"], ["N"], fixed={"alpha": 0.3}, bounds={"F": (0.0, 1.0)}
    )
    law.fit(*law.stack(X, Y))
    assert law.params_["alpha"] == 0.3 and 0.0 <= law.params_["F"] <= 1.0
    assert law.free_params() == ("E", "A", "F", "G")


def test_the_bootstrap_draws_whole_runs() -> None:
    """A run's outputs are drawn together: the rows with the same inputs are one unit. With the
    same data under two copies of a law (parameters named apart), every resample then refits
    both copies on the same runs, so their draws agree; drawing rows one by one, they would not."""
    law = JointFormulaLaw([LOSS, ERR], ["loss", "err"], ["N"])
    xs, _ = law.stack(np.array([[1.0], [2.0], [3.0]]), np.array([[1, np.nan], [2, 2], [3, 3.0]]))
    units = law.resampling_units(xs)
    assert units is not None and units.tolist() == [0, 1, 2, 1, 2]

    rng = np.random.default_rng(3)
    N = np.geomspace(1e6, 1e10, 16)
    loss = (1.7 + 400 * N**-0.3) * np.exp(rng.normal(0, 0.01, N.size))
    copies = JointFormulaLaw(
        [LOSS, "E2 + A2/N**alpha2"], ["a", "b"], ["N"], n_bootstrap=64, random_state=0
    )
    copies.fit(*copies.stack(N[:, None], np.column_stack([loss, loss])))
    draws = copies.bootstrap_params_
    assert draws is not None
    names = list(copies.param_names)
    for p in ("E", "A", "alpha"):
        a, b = draws[:, names.index(p)], draws[:, names.index(p + "2")]
        assert np.std(a) > 0
        np.testing.assert_allclose(a, b, rtol=1e-5)


# Grouped joint laws: two groups (different constants), loss and err sharing alpha = 0.3.
GROUPS = {"a": {"E": 1.7, "A": 400.0, "F": 0.05, "G": 30.0},
          "b": {"E": 2.2, "A": 900.0, "F": 0.1, "G": 60.0}}  # fmt: skip


def two_groups(seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """X (N), Y (loss, err) and each row's group."""
    rng = np.random.default_rng(seed)
    N = np.geomspace(1e6, 1e10, 8)
    X, Y, labels = [], [], []
    for label, t in GROUPS.items():
        loss = (t["E"] + t["A"] * N**-0.3) * np.exp(rng.normal(0, 1e-3, N.size))
        err = (t["F"] + t["G"] * N**-0.3) * np.exp(rng.normal(0, 1e-3, N.size))
        X.append(N[:, None])
        Y.append(np.column_stack([loss, err]))
        labels += [label] * N.size
    return np.concatenate(X), np.concatenate(Y), labels


def test_a_grouped_joint_law_shares_the_named_parameters_across_groups() -> None:
    law = JointFormulaLaw(
        [LOSS, ERR], ["loss", "err"], ["N"], groups=["a", "b"], shared=["alpha"],
        group_column="task",
    )  # fmt: skip
    assert law.variables == ("N", "task", "output")
    assert law.param_names == ("E[a]", "E[b]", "A[a]", "A[b]", "alpha", "F[a]", "F[b]", "G[a]",
                               "G[b]")  # fmt: skip
    assert law.shared_params() == ["alpha"]  # written in both formulas
    assert law.outputs_of("alpha") == ["loss", "err"] and law.outputs_of("G[b]") == ["err"]
    assert law.group_param_names("b") == {"E": "E[b]", "A": "A[b]", "alpha": "alpha",
                                          "F": "F[b]", "G": "G[b]"}  # fmt: skip
    assert law.role("E[a]") == "offset" and law.param("A[b]").log
    X, Y, labels = two_groups()
    law.fit(*law.stack(np.column_stack([X, law.group_codes(labels)]), Y))
    assert law.converged_
    assert law.params_["alpha"] == pytest.approx(0.3, rel=0.005)
    for label, truth in GROUPS.items():
        for name, value in truth.items():
            assert law.params_[f"{name}[{label}]"] == pytest.approx(value, rel=0.05), name
    doc = json.loads(json.dumps(law.to_dict()))
    assert doc["options"]["groups"] == ["a", "b"] and doc["options"]["shared"] == ["alpha"]
    again = ScalingLaw.from_dict(doc)
    assert isinstance(again, JointFormulaLaw)
    assert again.get_options() == law.get_options() and again.params_ == law.params_
    at = again.with_output(np.column_stack([[1e11, 1e11], again.group_codes(["a", "b"])]), "err")
    expected = [0.05 + 30 * 1e11**-0.3, 0.1 + 60 * 1e11**-0.3]
    np.testing.assert_allclose(again.predict(at), expected, rtol=0.02)
    with pytest.raises(ScalingLabError, match=r"group indices 0\.\.1"):
        law.predict([[1e9, 2.0, 0.0]])


def test_combined_groups_are_one_joint_fit_per_group_and_round_trip() -> None:
    X, Y, labels = two_groups(seed=2)
    rows = np.asarray(labels)
    fits = {}
    for label in GROUPS:
        fits[label] = JointFormulaLaw([LOSS, ERR], ["loss", "err"], ["N"], n_bootstrap=10)
        fits[label].fit(*fits[label].stack(X[rows == label], Y[rows == label]))
    law = JointFormulaLaw.combine_groups(fits, group_column="task")
    assert law.groups == ["a", "b"] and law.variables == ("N", "task", "output")
    for label, fit in fits.items():
        for name, value in fit.params_.items():
            assert law.params_[f"{name}[{label}]"] == value
        assert law.params_[f"alpha[{label}]"] == pytest.approx(0.3, rel=0.01)
    assert law.bootstrap_params_ is not None and law.bootstrap_params_.shape == (10, 10)
    xs, ys = law.stack(np.column_stack([X, law.group_codes(labels)]), Y)
    np.testing.assert_allclose(law.predict(xs), ys, rtol=0.01)
    again = ScalingLaw.from_dict(json.loads(json.dumps(law.to_dict())))
    np.testing.assert_allclose(again.predict(xs), law.predict(xs), rtol=1e-12)
    lo, hi = again.predict_interval(xs, 0.9)
    np.testing.assert_allclose(lo, law.predict_interval(xs, 0.9)[0], rtol=1e-12)
    assert np.all(lo <= hi)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"shared": ["alpha"]}, "shared parameters need groups"),
        ({"groups": ["a", "b"], "shared": ["zeta"]}, "shared parameter 'zeta' is not a param"),
        ({"groups": ["a", "a"]}, "distinct labels"),
        ({"groups": ["a"], "group_column": "N"}, "group column 'N' cannot also be"),
        ({"groups": ["a"], "group_column": "output"}, "group column 'output' cannot also be"),
    ],
)
def test_bad_grouped_joint_laws_are_one_clear_error(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ScalingLabError, match=match):
        JointFormulaLaw([LOSS, ERR], ["loss", "err"], ["N"], **kwargs)  # type: ignore[arg-type]
