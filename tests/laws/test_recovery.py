"""Parameter recovery: synthetic data from known parameters plus noise → the same parameters."""

from __future__ import annotations

import numpy as np
import pytest

from scalinglab.laws import available_laws, get_law
from tests.laws.cases import CASES, synthetic


def test_every_registered_law_has_a_recovery_case() -> None:
    builtin = {n for n in available_laws() if get_law(n).__module__.startswith("scalinglab.")}
    assert set(CASES) == builtin


@pytest.mark.parametrize("name", sorted(CASES))
def test_recovers_known_parameters(name: str) -> None:
    case = CASES[name]
    X, y = synthetic(case)
    law = get_law(name)(**case.options).fit(X, y)
    assert law.converged_
    for param, true in case.params.items():
        assert law.params_[param] == pytest.approx(true, rel=case.rtol), param
    # The fit is as good as the truth on the noisy data (it found the global optimum, not a
    # nearby point): its residuals are no larger than the noise that was added.
    pred = law.predict(X)
    if getattr(law, "signed_y", False):  # Elo, of any sign: the noise is a fraction of |y|
        rms = np.sqrt(np.mean((pred - y) ** 2))
        assert rms <= 1.5 * case.noise * np.sqrt(np.mean(y**2))
        return
    resid = np.log(pred) - np.log(y)
    assert np.sqrt(np.mean(resid**2)) <= 1.5 * case.noise
