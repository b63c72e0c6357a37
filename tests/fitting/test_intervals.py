"""Gauss-Newton (Wald) intervals and draws on the scale the solver searches; predict on read-only
arrays (issue 12, section 4).

A log-scale parameter (a positive scale such as A, B or a) is searched as log(value): its 95%
(ci_level=0.95) interval is value·exp(±1.96·se/value), never below zero, and its covariance draws
stay positive.
The old symmetric interval value ± 1.96·se reached far below zero on loosely determined fits.
"""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest

from scalinglab.errors import FitWarning, ScalingLabError
from scalinglab.fitting.uncertainty import Z95, draw_quantile
from scalinglab.laws import ScalingLaw, get_law


def _loose_fit() -> ScalingLaw:
    """power_const on 8 noisy points over a narrow range: a is loosely determined (se > a)."""
    rng = np.random.default_rng(3)
    m = np.geomspace(1e3, 3e3, 8)
    y = (4 * m**-0.35 + 0.05) * np.exp(0.02 * rng.standard_normal(m.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return get_law("power_const")(ci_level=0.95).fit(m[:, None], y)


def test_a_loose_positive_scale_gets_a_positive_log_scale_interval() -> None:
    law = _loose_fit()
    a, se = law.params_["a"], law.stderr_["a"]
    assert law.bootstrap_params_ is None and se > a / Z95  # value − 1.96·se < 0: the old bug
    lo, hi = law.ci_["a"]
    assert 0 < lo < a < hi
    # Symmetric on the log scale, 1.96 standard errors of log(a) (= se / a) either side.
    assert math.log(a / lo) == pytest.approx(Z95 * se / a, rel=1e-9)
    assert math.log(hi / a) == pytest.approx(Z95 * se / a, rel=1e-9)


def test_linear_parameters_keep_symmetric_intervals_within_their_bounds() -> None:
    law = _loose_fit()
    b, se_b = law.params_["b"], law.stderr_["b"]
    assert law.ci_["b"] == pytest.approx((b - Z95 * se_b, b + Z95 * se_b))
    # c >= 0 is searched linearly with a bound at 0: its interval stops there.
    lo, hi = law.ci_["c"]
    assert lo >= 0 and hi > law.params_["c"]


def test_parameter_intervals_follow_ci_level() -> None:
    """ci_ is a `ci_level` interval (default 0.9, the level of the prediction intervals), by
    the Wald rule without a bootstrap and by percentiles of the draws with one (issue 14)."""
    rng = np.random.default_rng(3)
    m = np.geomspace(1e3, 3e3, 8)
    y = (4 * m**-0.35 + 0.05) * np.exp(0.02 * rng.standard_normal(m.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        wald = get_law("power_const")().fit(m[:, None], y)
        boot = get_law("power_const")(ci_level=0.8, n_bootstrap=50).fit(m[:, None], y)
    assert wald.ci_level_ == 0.9
    b, se = wald.params_["b"], wald.stderr_["b"]
    z90 = 1.6448536
    assert wald.ci_["b"] == pytest.approx((b - z90 * se, b + z90 * se))
    assert boot.ci_level_ == 0.8
    draws = boot.bootstrap_params_[:, boot.param_names.index("b")]
    assert boot.ci_["b"] == pytest.approx(tuple(np.nanquantile(draws, [0.1, 0.9])))
    again = ScalingLaw.from_dict(boot.to_dict())
    assert again.ci_level == 0.8 and again.ci_level_ == 0.8
    with pytest.raises(ScalingLabError, match="ci_level must be between 0 and 1"):
        get_law("power_const")(ci_level=1.0).fit(m[:, None], y)


def test_covariance_draws_of_a_positive_scale_stay_positive() -> None:
    law = _loose_fit()
    draws = law.parameter_draws(4000)
    a = draws[:, law.param_names.index("a")]
    assert np.all(a > 0)
    # log(a) is normal around log(a_hat) with sd se/a_hat.
    log_a = np.log(a)
    se_log = law.stderr_["a"] / law.params_["a"]
    assert np.median(log_a) == pytest.approx(math.log(law.params_["a"]), abs=0.1 * se_log)
    assert np.std(log_a) == pytest.approx(se_log, rel=0.05)
    lo, hi = law.predict_interval(np.array([[1e4]]), 0.9)
    assert np.all(np.isfinite(lo)) and np.all(lo > 0) and np.all(hi > lo)


def test_a_degenerate_covariance_gives_one_clear_error_not_a_linalg_crash() -> None:
    """A log-scale parameter near 1e-200 puts its covariance past float range on the solver's
    scale (a fit in `tune_auto.py --as-run` died on "SVD did not converge" in NumPy)."""
    law = _loose_fit()
    law.params_["a"] = 1e-200
    with pytest.raises(ScalingLabError, match="covariance is missing or degenerate"):
        law.predict_interval(np.array([[1e4]]), 0.9)


def test_a_fit_file_without_draws_gives_positive_draws_too() -> None:
    law = ScalingLaw.from_dict(_loose_fit().to_dict())
    assert law.bootstrap_params_ is None and law.covariance_ is not None
    assert np.all(law.parameter_draws(500)[:, law.param_names.index("a")] > 0)


def test_predict_on_a_read_only_array_prints_no_torch_warning() -> None:
    """PyTorch warns once per process about a non-writable NumPy array: run in a fresh one."""
    code = (
        "import numpy as np\n"
        "from scalinglab.laws import get_law\n"
        "m = np.geomspace(1e2, 1e6, 12)\n"
        "law = get_law('power_const')(n_bootstrap=20).fit(m[:, None], 4 * m**-0.35 + 0.05)\n"
        "X = np.array([[1e7], [1e8]])\n"
        "X.flags.writeable = False\n"
        "law.bootstrap_params_.flags.writeable = False\n"
        "law.predict(X)\n"
        "law.predict_interval(X)\n"
        "law.predict(np.broadcast_to(np.array([[1e3]]), (3, 1)))\n"
        "print('ok')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
    assert "not writable" not in proc.stderr


def test_draw_quantile_keeps_an_unbounded_band_unbounded() -> None:
    """Half the draws overflow to inf at the second point: the 95% quantile there is inf (the
    band is unbounded), not the NaN that interpolating inf − inf gives; NaN draws are left out
    and finite columns are np.nanquantile's."""
    draws = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, np.inf], [4.0, np.inf], [np.nan, np.inf]])
    with np.errstate(invalid="ignore"):
        assert np.isnan(np.nanquantile(draws, 0.95, axis=0)[1])  # what numpy gives
    hi = draw_quantile(draws, 0.95)
    lo = draw_quantile(draws, 0.05)
    assert hi[0] == pytest.approx(np.nanquantile(draws[:, 0], 0.95)) and hi[1] == np.inf
    assert lo.tolist() == pytest.approx([1.15, 1.2])


def test_a_prediction_band_whose_draws_overflow_is_inf_not_nan() -> None:
    """A fitted law whose parameter draws make the prediction overflow: predict_interval's upper
    end is inf where the draws are, and finite where they are not."""
    law = _loose_fit()
    draws = np.tile(np.array([law.params_[n] for n in law.param_names]), (40, 1))
    draws[20:, law.param_names.index("a")] = np.inf
    law.bootstrap_params_ = draws
    lo, hi = law.predict_interval(np.array([[1e4]]), 0.9)
    assert np.isfinite(lo[0]) and hi[0] == np.inf
