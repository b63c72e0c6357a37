"""The learning-curve estimators compared by Alabdulmohsin, Neyshabur & Zhai (2022, "Revisiting
Neural Scaling Laws in Language and Vision", NeurIPS, arXiv:2209.06640, Sec. 2):

- M1: ε_x = β·x^c
- M2: ε_x = β·x^c + ε∞
- M3: ε_x = β·(x⁻¹ + γ)^c          (c > 0: ε → β·γ^c as x → ∞)
- M4: (ε_x − ε∞) / (ε₀ − ε_x)^α = β·x^c   (their proposal; c < 0, α > 0; ε₀ > ε∞)

M4 is implicit in ε_x. Its left side grows monotonically from 0 to ∞ as ε_x goes from ε∞ to ε₀,
so ε_x is found by Newton's method (on the logit of its position between ε∞ and ε₀); its gradient
comes from one more Newton step at the root, which equals the implicit-function-theorem derivative.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike

from scalinglab.errors import ScalingLabError
from scalinglab.laws.base import FloatArray, Param, ScalingLaw, Tensor, loglog_line

M4_LOGIT_RANGE = 700.0  # u = sigmoid(z) down to ~1e-304: ε next to ε∞ far out
M4_NEWTON_STEPS = 12  # from the asymptote's root (tests: brentq agrees to 1e-9 in log ε)


class M1(ScalingLaw):
    """M1: ε = β·x^c (Alabdulmohsin 2022, eq. 2)."""

    name = "m1"
    variables = ("x",)
    params = (Param("beta", lower=0.0, log=True), Param("c", lower=-5.0, upper=5.0))
    formula = "y = beta·x^c"

    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        return torch.log(p["beta"]) + p["c"] * logx[:, 0]

    def guess(self, x: FloatArray, y: FloatArray) -> dict[str, float]:
        beta, c = loglog_line(x[:, 0], y)
        return {"beta": beta, "c": c}

    def inverse(self, target: ArrayLike, **known: float) -> FloatArray:
        """x = (ε/β)^(1/c)."""
        self.check_fitted()
        t = np.atleast_1d(np.asarray(target, dtype=float))
        return (t / self.params_["beta"]) ** (1.0 / self.params_["c"])


class M2(ScalingLaw):
    """M2: ε = β·x^c + ε∞ (Alabdulmohsin 2022, eq. 3)."""

    name = "m2"
    variables = ("x",)
    params = (
        Param("beta", lower=0.0, log=True),
        Param("c", lower=-5.0, upper=5.0),
        Param("eps_inf", lower=0.0),
    )
    formula = "y = beta·x^c + eps_inf"

    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        return torch.log(p["beta"] * torch.exp(p["c"] * logx[:, 0]) + p["eps_inf"])

    def start_grid(self, x: FloatArray, y: FloatArray) -> dict[str, tuple[float, ...]]:
        ymin = float(y.min())
        floors = (0.0, 0.5 * ymin, 0.9 * ymin)
        lines = [loglog_line(x[:, 0], y - f) for f in floors]
        return {
            "beta": tuple(sorted({a for a, _ in lines})),
            "c": tuple(sorted({b for _, b in lines} | {-0.5})),
            "eps_inf": floors,
        }

    def inverse(self, target: ArrayLike, **known: float) -> FloatArray:
        """x = ((ε − ε∞)/β)^(1/c); a target at or below ε∞ is never reached."""
        self.check_fitted()
        t = np.atleast_1d(np.asarray(target, dtype=float))
        floor = self.params_["eps_inf"]
        if np.any(t <= floor):
            raise ScalingLabError(
                f"target is at or below the fitted irreducible error eps_inf = {floor:.6g}"
            )
        return ((t - floor) / self.params_["beta"]) ** (1.0 / self.params_["c"])


class M3(ScalingLaw):
    """M3: ε = β·(x⁻¹ + γ)^c (Alabdulmohsin 2022, eq. 4)."""

    name = "m3"
    variables = ("x",)
    params = (
        Param("beta", lower=0.0, log=True),
        # log scale: γ is tiny (~1/x at the plateau); in natural units the solver cannot move it.
        Param("gamma", lower=0.0, log=True),
        Param("c", lower=0.0, upper=5.0),
    )
    formula = "y = beta·(1/x + gamma)^c"

    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        return torch.log(p["beta"]) + p["c"] * torch.log(torch.exp(-logx[:, 0]) + p["gamma"])

    def start_grid(self, x: FloatArray, y: FloatArray) -> dict[str, tuple[float, ...]]:
        beta, slope = loglog_line(x[:, 0], y)
        c = max(-slope, 1e-3)
        xmax = float(x[:, 0].max())
        return {
            "beta": (beta, beta * xmax**-c),
            "gamma": (0.0, 0.1 / xmax, 1.0 / xmax, 10.0 / xmax),
            "c": (c, 0.5 * c, 2 * c),
        }


class M4(ScalingLaw):
    """M4: (ε − ε∞)/(ε₀ − ε)^α = β·x^c (Alabdulmohsin 2022, eq. 5)."""

    name = "m4"
    variables = ("x",)
    params = (
        Param("beta", lower=0.0, log=True),
        Param("c", lower=-5.0, upper=0.0),
        Param("alpha", lower=1e-3, upper=20.0, log=True),
        Param("eps_inf", lower=0.0),
        Param("eps_0", lower=0.0, log=True),
    )
    formula = "(y − eps_inf)/(eps_0 − y)^alpha = beta·x^c"

    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        span = p["eps_0"] - p["eps_inf"]
        # The equation on z = logit(u), ε = ε∞ + u·(ε₀ − ε∞):
        #   g(z) = −softplus(−z) + α·softplus(z) + c0 = 0,
        #   c0 = (1 − α)·log(ε₀ − ε∞) − log(β·x^c).
        # Written with softplus, g is finite for every z, so ε keeps its precision next to ε∞
        # (far out) and next to ε₀ (small x) even when ε₀ − ε∞ spans many orders of magnitude.
        c0 = (1 - p["alpha"]) * torch.log(span) - torch.log(p["beta"]) - p["c"] * logx[:, 0]

        def g(z: Tensor, alpha: Tensor, c0: Tensor) -> Tensor:
            return -F.softplus(-z) + alpha * F.softplus(z) + c0

        with torch.no_grad():
            # g rises with slope between min(1, α) and max(1, α) and bends one way only
            # (g'' = (α − 1)·σ(z)·σ(−z)), so Newton's method started at the root of g's
            # asymptote converges monotonically.
            alpha, c0d = p["alpha"].detach(), c0.detach()
            z = torch.where(c0d < 0, -c0d / alpha, -c0d)
            for _ in range(M4_NEWTON_STEPS):
                slope = torch.sigmoid(-z) + alpha * torch.sigmoid(z)
                z = (z - g(z, alpha, c0d) / slope).clamp(-M4_LOGIT_RANGE, M4_LOGIT_RANGE)
            slope = torch.sigmoid(-z) + alpha * torch.sigmoid(z)
        # One more Newton step, with gradients: at the root its derivative in the parameters is
        # −(∂g/∂θ)/(∂g/∂z), the implicit-function-theorem derivative.
        z = z - g(z, p["alpha"], c0) / slope
        eps = p["eps_inf"] + torch.sigmoid(z) * span
        infeasible = ~(span > 0).expand_as(eps)
        eps = torch.where(
            infeasible | ~torch.isfinite(eps), torch.full_like(eps, float("nan")), eps
        )
        return torch.log(eps)

    def start_grid(self, x: FloatArray, y: FloatArray) -> dict[str, tuple[float, ...]]:
        ymin, ymax = float(y.min()), float(y.max())
        beta, slope = loglog_line(x[:, 0], y)
        return {
            "beta": (beta, 1.0, beta * 1e-2),
            "c": (min(slope, -1e-3), -0.3, -1.0),
            "alpha": (0.5, 1.0, 2.0),
            "eps_inf": (0.0, 0.5 * ymin, 0.9 * ymin),
            "eps_0": (1.1 * ymax, 2.0 * ymax, 10.0 * ymax),
        }

    def inverse(self, target: ArrayLike, **known: float) -> FloatArray:
        """x = ((ε − ε∞)/((ε₀ − ε)^α·β))^(1/c), for ε∞ < ε < ε₀."""
        self.check_fitted()
        t = np.atleast_1d(np.asarray(target, dtype=float))
        p = self.params_
        if np.any(t <= p["eps_inf"]) or np.any(t >= p["eps_0"]):
            raise ScalingLabError(
                f"target must lie between the fitted irreducible error {p['eps_inf']:.6g} and "
                f"the initial error {p['eps_0']:.6g}"
            )
        return ((t - p["eps_inf"]) / ((p["eps_0"] - t) ** p["alpha"] * p["beta"])) ** (1 / p["c"])
