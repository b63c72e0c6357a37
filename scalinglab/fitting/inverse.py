"""Numeric inverse of a fitted law: the value of one variable at which it reaches a target.

Bisection on log x over a wide bracket (1e-30 … 1e60), vectorised over targets. The law must be
monotone in that variable over the bracket (true of every built-in law in its unknown variable).
A target the law never reaches inside the bracket — below its irreducible error, say — is an
error that names the reachable range.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from scalinglab.errors import ScalingLabError
from scalinglab.fitting.model import FittableLaw
from scalinglab.types import FloatArray

LOG_LO, LOG_HI = np.log(1e-30), np.log(1e60)


def _evaluate(
    law: FittableLaw, var: str, known: Mapping[str, float], logx: FloatArray
) -> FloatArray:
    cols = [
        np.exp(logx) if v == var else np.full_like(logx, float(known[v])) for v in law.variables
    ]
    return law.predict(np.column_stack(cols))


def invert_monotone(
    law: FittableLaw, target: FloatArray, known: Mapping[str, float], iters: int = 200
) -> FloatArray:
    """x with law(x, known) == target for each target, by bisection on log x."""
    (var,) = [v for v in law.variables if v not in known]
    for name, value in known.items():
        if name not in law.variables:
            raise ScalingLabError(f"law {law.name!r} has no variable {name!r}")
        if not np.isfinite(value) or value <= 0:
            raise ScalingLabError(f"{name} must be a positive number, got {value}")
    if not np.all(np.isfinite(target)) or np.any(target <= 0):
        raise ScalingLabError("the target must be a positive, finite number")
    ends = _evaluate(law, var, known, np.array([LOG_LO, LOG_HI]))
    lo_val, hi_val = float(ends[0]), float(ends[1])
    decreasing = hi_val < lo_val
    reach_lo, reach_hi = min(lo_val, hi_val), max(lo_val, hi_val)
    bad = (target <= reach_lo) | (target >= reach_hi)
    if np.any(bad):
        t = float(target[bad][0])
        floor = "irreducible level" if decreasing else "starting level"
        raise ScalingLabError(
            f"target {t:.6g} is out of reach of this {law.name} fit: it only takes values "
            f"between {reach_lo:.6g} ({floor if t <= reach_lo else 'limit'}) and {reach_hi:.6g}"
        )
    lo = np.full_like(target, LOG_LO)
    hi = np.full_like(target, LOG_HI)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        val = _evaluate(law, var, known, mid)
        above = val > target
        # decreasing law: value above target means x is too small
        go_right = above if decreasing else ~above
        lo = np.where(go_right, mid, lo)
        hi = np.where(go_right, hi, mid)
        if np.all(hi - lo < 1e-13):
            break
    return np.exp(0.5 * (lo + hi))
