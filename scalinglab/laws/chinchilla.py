"""Chinchilla: L(N, D) = E + A/N^α + B/D^β (Hoffmann et al. 2022, arXiv:2203.15556, Approach 3).

Fitted, as the paper and its replication (Besiroglu et al. 2024, arXiv:2404.10102) do, by
minimising the Huber loss (δ = 1e-3) of log L − log(pred) with
log pred = LSE(a − α log N, b − β log D, e), a = log A, b = log B, e = log E, from the grid
α, β ∈ {0, 0.5, …, 2}, e ∈ {−1, −0.5, …, 1}, a, b ∈ {0, 5, …, 25} (4,500 starts).
Hoffmann's values: E = 1.69, A = 406.4, B = 410.7, α = 0.34, β = 0.28; the replication's:
E = 1.82, A = 482.0, B = 2085.4, α = 0.348, β = 0.366.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch

from scalinglab.laws.base import Param, ScalingLaw, Tensor

_HALVES = tuple(0.5 * i for i in range(5))  # 0, 0.5, ..., 2 (Hoffmann 2022, Sec. D.2)


class Chinchilla(ScalingLaw):
    """L = E + A/N^α + B/D^β with X columns (N, D) = (parameters, training tokens)."""

    name = "chinchilla"
    variables = ("params", "tokens")
    params = (
        Param("E", lower=0.0, log=True, grid=tuple(math.exp(e) for e in np.arange(-1, 1.01, 0.5))),
        Param("A", lower=0.0, log=True, grid=tuple(math.exp(a) for a in range(0, 26, 5))),
        Param("B", lower=0.0, log=True, grid=tuple(math.exp(b) for b in range(0, 26, 5))),
        Param("alpha", lower=0.0, upper=10.0, grid=_HALVES),
        Param("beta", lower=0.0, upper=10.0, grid=_HALVES),
    )
    formula = "L = E + A/N^alpha + B/D^beta"

    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        # E + A·N^−α + B·D^−β, with the power terms as exp(log A − α log N) so that starts with
        # A up to e^25 stay finite; two exps and a log per point keep the 4,500-start fit fast.
        pred = (
            p["E"]
            + torch.exp(torch.log(p["A"]) - p["alpha"] * logx[:, 0])
            + torch.exp(torch.log(p["B"]) - p["beta"] * logx[:, 1])
        )
        return torch.log(pred)
