"""Kaplan et al. (2020, "Scaling Laws for Neural Language Models", arXiv:2001.08361).

- kaplan_n: L(N) = (N_c/N)^α_N          (eq. 1.1; published N_c = 8.8e13, α_N = 0.076)
- kaplan_d: L(D) = (D_c/D)^α_D          (eq. 1.2; D_c = 5.4e13, α_D = 0.095)
- kaplan_c: L(C) = (C_c/C)^α_C          (eq. 1.3; C_c^min = 3.1e8 PF-days, α_C^min = 0.050)
- kaplan_nd: L(N, D) = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D   (eq. 1.5)
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch
from numpy.typing import ArrayLike

from scalinglab.errors import ScalingLabError
from scalinglab.laws.base import FloatArray, Param, ScalingLaw, Tensor, loglog_line


class _KaplanSingle(ScalingLaw):
    """L(X) = (X_c/X)^α: log L = α·(log X_c − log X)."""

    scale_name = ""
    exponent_name = ""

    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        scale, alpha = p[self.scale_name], p[self.exponent_name]
        return alpha * (torch.log(scale) - logx[:, 0])

    def guess(self, x: FloatArray, y: FloatArray) -> dict[str, float]:
        # log L = α log X_c − α log X: slope −α, intercept α log X_c.
        a, b = loglog_line(x[:, 0], y)
        alpha = max(-b, 1e-3)
        # X_c = a^(1/α) in log space, kept within floats: a flat curve (α at its floor) would
        # overflow exp and warn; the start grid bounds the guess anyway
        log_scale = float(np.clip(np.log(a) / alpha, -700.0, 700.0))
        return {self.exponent_name: alpha, self.scale_name: math.exp(log_scale)}

    def inverse(self, target: ArrayLike, **known: float) -> FloatArray:
        """X = X_c · L^(−1/α)."""
        self.check_fitted()
        t = np.atleast_1d(np.asarray(target, dtype=float))
        if np.any(t <= 0):
            raise ScalingLabError("the target loss must be > 0")
        return self.params_[self.scale_name] * t ** (-1.0 / self.params_[self.exponent_name])


class KaplanN(_KaplanSingle):
    """L(N) = (N_c/N)^α_N — loss vs non-embedding parameters (Kaplan 2020, eq. 1.1)."""

    name = "kaplan_n"
    variables = ("params",)
    scale_name, exponent_name = "Nc", "alpha_N"
    params = (Param("Nc", lower=0.0, log=True), Param("alpha_N", lower=0.0, upper=5.0))
    formula = "L = (Nc/N)^alpha_N"


class KaplanD(_KaplanSingle):
    """L(D) = (D_c/D)^α_D — loss vs dataset tokens (Kaplan 2020, eq. 1.2)."""

    name = "kaplan_d"
    variables = ("tokens",)
    scale_name, exponent_name = "Dc", "alpha_D"
    params = (Param("Dc", lower=0.0, log=True), Param("alpha_D", lower=0.0, upper=5.0))
    formula = "L = (Dc/D)^alpha_D"


class KaplanC(_KaplanSingle):
    """L(C) = (C_c/C)^α_C — loss vs compute on the efficient frontier (Kaplan 2020, eq. 1.3)."""

    name = "kaplan_c"
    variables = ("compute",)
    scale_name, exponent_name = "Cc", "alpha_C"
    params = (Param("Cc", lower=0.0, log=True), Param("alpha_C", lower=0.0, upper=5.0))
    formula = "L = (Cc/C)^alpha_C"


_LOG10 = float(np.log(10.0))


class KaplanND(ScalingLaw):
    """L(N, D) = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D (Kaplan 2020, eq. 1.5 / 4.1).

    log L = α_D · logaddexp((α_N/α_D)(log N_c − log N), log D_c − log D).
    """

    name = "kaplan_nd"
    variables = ("params", "tokens")
    params = (
        Param("Nc", lower=0.0, log=True, grid=tuple(10.0**e for e in (8, 11, 14, 17))),
        Param("Dc", lower=0.0, log=True, grid=tuple(10.0**e for e in (8, 11, 14, 17))),
        Param("alpha_N", lower=0.0, upper=5.0, grid=(0.05, 0.1, 0.3, 0.6)),
        Param("alpha_D", lower=1e-6, upper=5.0, grid=(0.05, 0.1, 0.3, 0.6)),
    )
    formula = "L = [(Nc/N)^(alpha_N/alpha_D) + Dc/D]^alpha_D"

    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        ratio = p["alpha_N"] / p["alpha_D"]
        term_n = ratio * (torch.log(p["Nc"]) - logx[:, 0])
        term_d = torch.log(p["Dc"]) - logx[:, 1]
        return p["alpha_D"] * torch.logaddexp(term_n, term_d)
