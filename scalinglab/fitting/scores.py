"""How well a fitted law predicts points it was not fitted on: one scorer for the whole package.

Alabdulmohsin, Neyshabur & Zhai (2022, "Revisiting Neural Scaling Laws in Language and Vision",
arXiv:2209.06640, Sec. 4) score a learning-curve estimator by the root mean squared error of
log(predicted) − log(actual) on the held-out (larger) part of the curve: a relative error, the
same for a curve near 1.0 as for one near 0.01, and the score the law comparison of a study, the
law selection's backtests and the extrapolation benchmark all use.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike


def rmse_log(predicted: ArrayLike, actual: ArrayLike) -> float:
    """Root mean squared error of log(predicted) − log(actual) (Alabdulmohsin 2022, Sec. 4).

    NaN when there is nothing to score; inf when a prediction or value is not positive and finite
    (a law that predicts a non-positive error has failed, not scored well).
    """
    p = np.asarray(predicted, dtype=float)
    a = np.asarray(actual, dtype=float)
    if p.size == 0:
        return math.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.log(p) - np.log(a)
    if not np.all(np.isfinite(r)):
        return math.inf
    return float(np.sqrt(np.mean(r * r)))


__all__ = ["rmse_log"]
