"""Power laws of one variable: `power` (y = a·x^b) and `power_const` (y = a·x^b + c).

`power_const` is the learning curve of Hestness et al. (2017, arXiv:1712.00409, Sec. 2):
generalization error ε(m) = α·m^β_g + γ, with γ the irreducible error. `power` is also the
model-size curve s(m) = α_p·m^β_p of the same paper.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from numpy.typing import ArrayLike

from scalinglab.errors import ScalingLabError
from scalinglab.laws.base import FloatArray, Param, ScalingLaw, Tensor, loglog_line


class PowerLaw(ScalingLaw):
    """y = a·x^b (a > 0). Straight line in log-log space: log y = log a + b·log x."""

    name = "power"
    variables = ("x",)
    params = (
        Param("a", lower=0.0, log=True, doc="scale"),
        Param("b", lower=-20.0, upper=20.0, doc="exponent"),
    )
    formula = "y = a·x^b"

    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        return torch.log(p["a"]) + p["b"] * logx[:, 0]

    def guess(self, x: FloatArray, y: FloatArray) -> dict[str, float]:
        a, b = loglog_line(x[:, 0], y)
        return {"a": a, "b": b}

    def inverse(self, target: ArrayLike, **known: float) -> FloatArray:
        """x = (y / a)^(1/b)."""
        self.check_fitted()
        t = np.atleast_1d(np.asarray(target, dtype=float))
        a, b = self.params_["a"], self.params_["b"]
        if b == 0 or np.any(t <= 0):
            raise ScalingLabError("cannot invert: the exponent is 0 or the target is not > 0")
        return (t / a) ** (1.0 / b)


class PowerLawConst(ScalingLaw):
    """y = a·x^b + c: a power law with an irreducible level c ≥ 0 (Hestness 2017, eq. 1).

    For a learning curve b < 0 (β_g in Hestness) and c is the irreducible error γ.
    """

    name = "power_const"
    variables = ("x",)
    params = (
        Param("a", lower=0.0, log=True, doc="scale α"),
        Param("b", lower=-20.0, upper=20.0, doc="exponent β_g"),
        Param("c", lower=0.0, doc="irreducible level γ"),
    )
    formula = "y = a·x^b + c"

    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        return torch.log(p["a"] * torch.exp(p["b"] * logx[:, 0]) + p["c"])

    def start_grid(self, x: FloatArray, y: FloatArray) -> dict[str, tuple[float, ...]]:
        # Irreducible level as a fraction of the smallest observation; for each, the log-log line
        # through y − c gives the scale and exponent (lmfit-style guess, one per c).
        ymin = float(y.min())
        cs = (0.0, 0.3 * ymin, 0.6 * ymin, 0.9 * ymin)
        lines = [loglog_line(x[:, 0], y - c) for c in cs]
        return {
            "a": tuple(sorted({a for a, _ in lines})),
            "b": tuple(sorted({b for _, b in lines} | {-0.5, -0.1})),
            "c": cs,
        }

    def inverse(self, target: ArrayLike, **known: float) -> FloatArray:
        """x = ((y − c)/a)^(1/b); a target at or below c is never reached."""
        self.check_fitted()
        t = np.atleast_1d(np.asarray(target, dtype=float))
        a, b, c = self.params_["a"], self.params_["b"], self.params_["c"]
        if np.any(t <= c):
            raise ScalingLabError(
                f"target {float(t[t <= c][0]):.6g} is at or below the fitted irreducible level "
                f"c = {c:.6g}; no amount of x reaches it"
            )
        if b == 0:
            raise ScalingLabError("cannot invert: the fitted exponent is 0")
        return ((t - c) / a) ** (1.0 / b)
