"""Data-constrained scaling (Muennighoff et al. 2023, "Scaling Data-Constrained Language Models",
arXiv:2305.16264, eqs. 5–7): the Chinchilla form on effective data and parameters.

    L(N, D, U_D) = E + A/N′^α + B/D′^β
    D′ = U_D + U_D·R*_D·(1 − e^(−R_D/R*_D)),  R_D = D/U_D − 1  (repeated epochs beyond the first)
    N′ = U_N + U_N·R*_N·(1 − e^(−R_N/R*_N)),  R_N = N/U_N − 1
    U_N = min(N, N_opt(U_D))  — the compute-optimal size for U_D tokens under this law's own
    Chinchilla terms (αA·N^−α = βB·D^−β), so parameters beyond it are "repeated" too.

Muennighoff's fit: R*_D = 15.39, R*_N = 5.31: four epochs are worth 3.73·U_D fresh tokens.
Variables: (params N, tokens D, unique_tokens U_D). With D ≤ U_D it is exactly `chinchilla`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from scalinglab.laws.base import Param, ScalingLaw, Tensor

R_D_STAR = 15.39  # Muennighoff 2023, Sec. 5 fit
R_N_STAR = 5.31


def effective_repeats(unique: Tensor, repeats: Tensor, r_star: Tensor) -> Tensor:
    """U + U·R*·(1 − e^(−R/R*)): what `repeats` extra epochs over `unique` are worth."""
    return unique + unique * r_star * (1.0 - torch.exp(-repeats / r_star))


class DataConstrained(ScalingLaw):
    """L = E + A/N′^α + B/D′^β with repetition-discounted N′ and D′ (Muennighoff 2023)."""

    name = "data_constrained"
    variables = ("params", "tokens", "unique_tokens")
    params = (
        Param("E", lower=0.0, log=True, grid=tuple(math.exp(e) for e in (-1.0, 0.0, 1.0))),
        Param("A", lower=0.0, log=True, grid=tuple(math.exp(a) for a in (0, 5, 10, 20))),
        Param("B", lower=0.0, log=True, grid=tuple(math.exp(b) for b in (0, 5, 10, 20))),
        Param("alpha", lower=0.0, upper=10.0, grid=(0.2, 0.5, 1.0)),
        Param("beta", lower=0.0, upper=10.0, grid=(0.2, 0.5, 1.0)),
        Param("R_D_star", lower=1e-3, upper=1e4, log=True, grid=(5.0, 15.0, 50.0)),
        Param("R_N_star", lower=1e-3, upper=1e4, log=True, grid=(5.0,)),
    )
    formula = "L = E + A/N'^alpha + B/D'^beta"

    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        n, d, u_d = x[:, 0], x[:, 1], x[:, 2]
        u_d = torch.minimum(u_d, d)
        d_eff = effective_repeats(u_d, d / u_d - 1.0, p["R_D_star"])
        # Compute-optimal N for U_D tokens: αA·N^−α = βB·U_D^−β (Chinchilla's optimality).
        log_n_opt = (
            torch.log(p["alpha"] * p["A"])
            - torch.log(p["beta"] * p["B"])
            + p["beta"] * torch.log(u_d)
        ) / p["alpha"]
        u_n = torch.minimum(n, torch.exp(log_n_opt))
        n_eff = effective_repeats(u_n, n / u_n - 1.0, p["R_N_star"])
        pred = (
            p["E"]
            + torch.exp(torch.log(p["A"]) - p["alpha"] * torch.log(n_eff))
            + torch.exp(torch.log(p["B"]) - p["beta"] * torch.log(d_eff))
        )
        return torch.log(pred)
