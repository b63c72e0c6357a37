"""The three-region learning curve of Hestness et al. (2017, arXiv:1712.00409, Fig. 1).

Generalization error vs training-set size m has a small-data region (error near the best-guess
level), a power-law region ε ≈ α·m^β_g, and an irreducible-error region (ε → γ). We join them
with a harmonic blend of the small-data excess ε_s and the power law, on top of γ:

    ε(m) = γ + 1 / (1/ε_s + 1/(α·m^β_g))

so ε → γ + ε_s (the best-guess error) as m → 0 and ε ≈ α·m^β_g + γ once α·m^β_g ≪ ε_s.
Region boundaries: the small-data region ends where the power law meets the best-guess excess,
m_s = (ε_s/α)^(1/β_g); the irreducible-error region starts where the power-law term falls to γ,
m_γ = (γ/α)^(1/β_g).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch

from scalinglab.display import num
from scalinglab.laws.base import FloatArray, Param, ScalingLaw, Tensor, loglog_line


def _crossing(level: float, alpha: float, beta: float) -> float:
    """The m where α·m^β = level, i.e. (level/α)^(1/β); inf or 0 beyond float range (β ≈ 0)."""
    if level <= 0 or alpha <= 0:
        return math.nan
    log_m = math.log(level / alpha) / beta
    return math.exp(log_m) if log_m < 709.0 else math.inf


def _in_view(small_data_end: float, smallest: float) -> bool:
    """Whether data from `smallest` on reach into the small-data region (then ε_s is pinned)."""
    return math.isfinite(small_data_end) and small_data_end >= smallest


class Hestness(ScalingLaw):
    """ε(m) = γ + (1/ε_s + 1/(α·m^β_g))^(−1); see the module docstring for the regions."""

    name = "hestness"
    variables = ("x",)
    params = (
        Param("alpha", lower=0.0, log=True, doc="power-law scale α"),
        Param("beta_g", lower=-5.0, upper=0.0, doc="power-law exponent β_g (< 0)"),
        Param("gamma", lower=0.0, doc="irreducible error γ"),
        Param("eps_s", lower=0.0, log=True, doc="small-data excess: best-guess error − γ"),
    )
    formula = "y = gamma + 1/(1/eps_s + 1/(alpha·x^beta_g))"

    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        # 1/(α m^β) = exp(−log α − β log m); the harmonic blend written to avoid overflow.
        inv_power = torch.exp(-torch.log(p["alpha"]) - p["beta_g"] * logx[:, 0])
        excess = 1.0 / (1.0 / p["eps_s"] + inv_power)
        return torch.log(p["gamma"] + excess)

    def start_grid(self, x: FloatArray, y: FloatArray) -> dict[str, tuple[float, ...]]:
        ymin, ymax = float(y.min()), float(y.max())
        gammas = (0.0, 0.5 * ymin, 0.9 * ymin)
        lines = [loglog_line(x[:, 0], y - g) for g in gammas]
        return {
            "alpha": tuple(sorted({a for a, _ in lines})),
            "beta_g": tuple(sorted({min(b, -0.01) for _, b in lines} | {-0.3})),
            "gamma": gammas,
            "eps_s": (ymax, 3.0 * ymax, 30.0 * ymax),
        }

    def regions(self) -> dict[str, float]:
        """Best-guess error, power-law exponent and the two region boundaries (in units of x)."""
        self.check_fitted()
        p = self.params_
        beta = p["beta_g"]
        m_small = _crossing(p["eps_s"], p["alpha"], beta) if beta < 0 else math.nan
        m_irreducible = (
            _crossing(p["gamma"], p["alpha"], beta) if beta < 0 and p["gamma"] > 0 else math.inf
        )
        return {
            "best_guess_error": p["gamma"] + p["eps_s"],
            "beta_g": beta,
            "irreducible_error": p["gamma"],
            "small_data_end": float(m_small),
            "irreducible_start": float(m_irreducible),
        }

    def regions_text(self, smallest: float, var: str = "x") -> str:
        """The three regions in words, for data whose smallest `var` is `smallest`.

        Where no point lies in the small-data region (it would end below `smallest`), the data
        do not determine ε_s: the fit may put it, and with it the region's end and the best-guess
        error γ + ε_s, almost anywhere (ε_s = 10²³ on a synthetic study), so those two are called
        undetermined rather than printed (`fit_notes` says the same as a warning)."""
        r = self.regions()
        m_small = r["small_data_end"]
        if _in_view(m_small, smallest):
            small = (
                f"small-data region below {var} = {num(m_small)} (best-guess error "
                f"{num(r['best_guess_error'])})"
            )
        else:
            small = (
                f"no point in the small-data region (it ends below {var} = {num(smallest)}; "
                "its end and the best-guess error are not determined by these data)"
            )
        start = r["irreducible_start"]
        irreducible = f"irreducible error {num(r['irreducible_error'])}" + (
            f" (power-law term below it from {var} = {num(start)})" if math.isfinite(start) else ""
        )
        return f"{small}; power law with beta_g = {num(r['beta_g'])}; {irreducible}"

    def fit_notes(self, x: FloatArray, y: FloatArray) -> list[str]:
        """Warn when no point lies in the small-data region: then ε_s is not pinned by the data."""
        m_small = self.regions()["small_data_end"]
        smallest = float(np.min(x[:, 0]))
        if _in_view(m_small, smallest):
            return []
        return [
            f"no point lies in the small-data region (it would end at m = {m_small:.3g}, below "
            f"the smallest x = {smallest:.3g}): eps_s and the best-guess error are not determined "
            "by these data; add smaller shards or read them as unknown"
        ]

    def region_of(self, x: FloatArray) -> np.ndarray:
        """'small-data', 'power-law' or 'irreducible' for each x."""
        r = self.regions()
        xs = np.asarray(x, dtype=float).reshape(-1)
        out = np.full(xs.shape, "power-law", dtype=object)
        out[xs < r["small_data_end"]] = "small-data"
        out[xs >= r["irreducible_start"]] = "irreducible"
        return out

    def to_dict(self) -> dict[str, object]:
        out = super().to_dict()
        if hasattr(self, "params_"):
            out["regions"] = self.regions()
        return out
