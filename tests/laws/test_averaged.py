"""AveragedLaw: a weighted geometric mean of member laws, each fitted on its own."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from scalinglab.errors import FitWarning, ScalingLabError
from scalinglab.laws import AveragedLaw, ScalingLaw, get_law

MEMBERS = [
    {"label": "m2", "law": "m2"},
    {"label": "bnsl1", "law": "bnsl", "options": {"n_breaks": 1}},
]


def _curve() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = np.geomspace(1e2, 1e5, 12)
    return x, 0.5 + 3 * x**-0.4 * np.exp(rng.normal(0, 0.01, x.size))


@pytest.fixture(scope="module")
def fitted() -> AveragedLaw:
    x, y = _curve()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return AveragedLaw(members=MEMBERS, weights=[1.0, 3.0], n_bootstrap=20).fit(x, y)


def test_the_prediction_is_the_weighted_geometric_mean_of_the_members(
    fitted: AveragedLaw,
) -> None:
    x, y = _curve()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        m2 = get_law("m2")().fit(x, y)
        bnsl = get_law("bnsl")(n_breaks=1).fit(x, y)
    xt = np.array([1e6, 1e7])
    expected = np.exp(0.25 * np.log(m2.predict(xt)) + 0.75 * np.log(bnsl.predict(xt)))
    np.testing.assert_allclose(fitted.predict(xt), expected, rtol=1e-6)
    assert fitted.weights == [0.25, 0.75]
    assert fitted.params_["m2.eps_inf"] == pytest.approx(m2.params_["eps_inf"], rel=1e-6)
    assert fitted.describe_weights() == "bnsl1 0.75, m2 0.25"


def test_weights_too_small_to_show_are_counted_not_listed() -> None:
    members = [{"label": k, "law": k} for k in ("m2", "m3", "power_const")]
    law = AveragedLaw(members=members, weights=[0.001, 0.996, 0.003])
    assert law.describe_weights() == "m3 1.00, and 2 more below 0.005"


def test_bootstrap_draws_sit_side_by_side(fitted: AveragedLaw) -> None:
    assert fitted.bootstrap_params_ is not None
    assert fitted.bootstrap_params_.shape == (20, len(fitted.param_names))
    lo, hi = fitted.predict_interval(np.array([1e6]))
    assert lo[0] < fitted.predict(np.array([1e6]))[0] < hi[0]


def test_a_fit_file_round_trips(fitted: AveragedLaw) -> None:
    again = ScalingLaw.from_dict(json.loads(json.dumps(fitted.to_dict())))
    assert isinstance(again, AveragedLaw)
    xt = np.array([1e3, 1e6])
    np.testing.assert_allclose(again.predict(xt), fitted.predict(xt), rtol=1e-12)
    assert again.inverse(0.6)[0] == pytest.approx(fitted.inverse(0.6)[0], rel=1e-6)


@pytest.mark.parametrize(
    "members, weights",
    [
        ([], []),
        (MEMBERS, [1.0]),
        (MEMBERS, [-1.0, 2.0]),
        (MEMBERS, [0.0, 0.0]),
        ([{"label": "a", "law": "m2"}, {"label": "a", "law": "m3"}], [1, 1]),
        ([{"law": 3}], [1.0]),
        ([{"law": "no_such_law"}], [1.0]),
    ],
)
def test_bad_members_or_weights_are_clear_errors(members: list, weights: list) -> None:
    with pytest.raises(ScalingLabError):
        AveragedLaw(members=members, weights=weights)
