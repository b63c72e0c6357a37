"""The three-region Hestness (2017) law: region boundaries, and a warning when the data cannot
pin the small-data excess."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from scalinglab.errors import FitWarning
from scalinglab.laws import get_law


def three_region_curve(m: np.ndarray) -> np.ndarray:
    # gamma 0.05, eps_s 0.9, alpha 30, beta_g -0.5: m_s = (0.9/30)^(-2) = 1111, m_gamma = 360000
    return 0.05 + 1.0 / (1.0 / 0.9 + 1.0 / (30.0 * m**-0.5))


def test_regions_are_recovered_from_a_full_curve() -> None:
    m = np.geomspace(1, 1e5, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitWarning)  # the small-data region is in view: no warning
        law = get_law("hestness")().fit(m[:, None], three_region_curve(m))
    r = law.regions()
    assert r["best_guess_error"] == pytest.approx(0.95, rel=1e-4)
    assert r["small_data_end"] == pytest.approx(1111.1, rel=1e-3)
    assert r["irreducible_start"] == pytest.approx(3.6e5, rel=1e-3)
    regions = law.region_of(np.array([10.0, 1e4, 1e6]))
    assert list(regions) == ["small-data", "power-law", "irreducible"]


def test_no_small_data_point_warns_that_eps_s_is_unknown() -> None:
    m = np.geomspace(100, 1e5, 10)
    y = 0.05 + 3.0 * m**-0.3  # a pure power law plus floor: no small-data region in view
    with pytest.warns(FitWarning, match="small-data region"):
        law = get_law("hestness")().fit(m[:, None], y)
    assert law.params_["beta_g"] == pytest.approx(-0.3, abs=1e-3)
    assert any("small-data region" in w for w in law.warnings_)


def test_region_boundaries_beyond_float_range_are_inf_not_an_error() -> None:
    # beta_g near 0 puts the crossings at m = (level/alpha)^(1/beta_g), far beyond 1e308
    # (hypothesis found this: the fit itself must not fail on it).
    law = get_law("hestness")()
    law.params_ = {"alpha": 1419.0, "beta_g": -0.01786, "gamma": 1.102e-08, "eps_s": 9.664e04}
    r = law.regions()
    assert r["irreducible_start"] == float("inf")
    assert r["small_data_end"] == pytest.approx((9.664e04 / 1419.0) ** (1 / -0.01786), rel=1e-9)
    assert law.fit_notes(np.array([[1.0], [10.0]]), np.array([1.0, 0.5]))  # no region in view


def test_regions_text_names_what_the_data_determine() -> None:
    m = np.geomspace(1, 1e5, 12)
    law = get_law("hestness")().fit(m[:, None], three_region_curve(m))
    text = law.regions_text(1.0, var="m")
    assert text.startswith("small-data region below m = 1111 (best-guess error 0.95)")
    assert "beta_g = -0.5" in text and "from m = 3.6e+05" in text
    # No shard in the small-data region: eps_s is loose, so neither the region's end nor the
    # best-guess error is printed as if it were known (the fit may put eps_s anywhere).
    far = np.geomspace(100, 1e5, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        loose = get_law("hestness")().fit(far[:, None], 0.05 + 3.0 * far**-0.3)
    loose.params_ = {**loose.params_, "eps_s": 1e23}  # where such a fit can land
    text = loose.regions_text(100.0)
    assert text.startswith("no point in the small-data region (it ends below x = 100;")
    assert "e+23" not in text and "best-guess error are not determined" in text
    assert "irreducible error 0.05" in text
