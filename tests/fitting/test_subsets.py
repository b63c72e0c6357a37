"""fit_subsets: one batched solve gives each subset the optimum a separate fit finds."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from scalinglab.errors import FitWarning
from scalinglab.fitting.subsets import fit_subsets, thinned_grid
from scalinglab.laws import get_law


@pytest.mark.parametrize("name", ["power_const", "m3", "bnsl"])
def test_each_subset_reaches_the_separate_fits_optimum(name: str) -> None:
    rng = np.random.default_rng(3)
    x = np.geomspace(1e2, 1e6, 14)[:, None]
    # A curve with a break at x = 1e4 (slope -0.1, then -0.5), so BNSL is well posed too.
    y = 2.0 * x[:, 0] ** -0.1 * (1 + x[:, 0] / 1e4) ** -0.4 + 0.05
    y = y * np.exp(rng.normal(0, 0.01, y.size))
    masks = [np.arange(14) < k for k in (8, 11, 14)]
    options = {"max_iter": 300, "tol": 1e-10}
    fits = fit_subsets(get_law(name)(**options), x, y, masks, [16, 16, 16])
    for mask, fit in zip(masks, fits, strict=True):
        law = get_law(name)(**options)
        law = get_law(name)(**options, starts=thinned_grid(law, x[mask], y[mask], 16))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)
            law.fit(x[mask], y[mask])
        assert fit is not None
        assert fit.objective <= law.objective_ * (1 + 1e-4) + 1e-12
        assert set(fit.params) == set(law.param_names)


def test_subsets_are_independent_of_each_other() -> None:
    """Points outside a subset carry no weight: changing them leaves its fit unchanged."""
    x = np.geomspace(1, 1e4, 10)[:, None]
    y = 3.0 * x[:, 0] ** -0.5 + 0.2
    masks = [np.arange(10) < 6, np.ones(10, dtype=bool)]
    law = get_law("power_const")()
    first = fit_subsets(law, x, y, masks, [8, 8])[0]
    y2 = y.copy()
    y2[6:] *= 5.0  # wreck the points outside the first subset
    again = fit_subsets(law, x, y2, masks, [8, 8])[0]
    assert first is not None and again is not None
    for k in first.params:
        assert again.params[k] == pytest.approx(first.params[k], rel=1e-6, abs=1e-9)


def test_thinned_grid_respects_the_budget_and_keeps_extremes() -> None:
    law = get_law("bnsl")(n_breaks=1)
    x = np.geomspace(1, 1e4, 10)[:, None]
    y = x[:, 0] ** -0.3
    full = law.start_grid(x, y)
    grid = thinned_grid(law, x, y, 16)
    assert np.prod([len(v) for v in grid.values()]) <= 16
    for name, values in grid.items():
        if len(values) >= 2:
            assert min(values) == min(full[name]) and max(values) == max(full[name])
        assert set(values) <= set(full[name])
