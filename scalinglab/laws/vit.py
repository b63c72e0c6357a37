"""Saturating vision error vs compute: `vit`, E(C) = a·(C + d)^(−b) + c.

Zhai et al. 2022, "Scaling Vision Transformers", arXiv:2106.04560, eq. 1: error vs compute
saturating at c, with d the offset below which compute hardly helps.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from scalinglab.laws.base import FloatArray, Param, ScalingLaw, Tensor, loglog_line


class ViT(ScalingLaw):
    """E = a·(C + d)^(−b) + c (Zhai 2022)."""

    name = "vit"
    variables = ("compute",)
    params = (
        Param("a", lower=0.0, log=True),
        Param("b", lower=0.0, upper=10.0),
        Param("c", lower=0.0),
        Param("d", lower=0.0),
    )
    formula = "y = a·(C + d)^(−b) + c"

    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        return torch.log(p["a"] * torch.exp(-p["b"] * torch.log(x[:, 0] + p["d"])) + p["c"])

    def start_grid(self, x: FloatArray, y: FloatArray) -> dict[str, tuple[float, ...]]:
        ymin = float(y.min())
        xmin = float(x[:, 0].min())
        floors = (0.0, 0.5 * ymin, 0.9 * ymin)
        lines = [loglog_line(x[:, 0], y - f) for f in floors]
        return {
            "a": tuple(sorted({a for a, _ in lines})),
            "b": tuple(sorted({max(-s, 1e-3) for _, s in lines})),
            "c": floors,
            "d": (0.0, xmin, 10 * xmin),
        }
