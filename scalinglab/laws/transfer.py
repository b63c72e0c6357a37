"""Effective data transferred from pre-training: `transfer`, D_T = k·D_F^α·N^β.

Hernandez et al. 2021, "Scaling Laws for Transfer", arXiv:2102.01293, eq. 1.1: as a function of
fine-tuning data D_F and parameters N; published (text → Python) k = 1.9e4, α = 0.18, β = 0.38.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from scalinglab.laws.base import FloatArray, Param, ScalingLaw, Tensor


class Transfer(ScalingLaw):
    """D_T = k·D_F^α·N^β (Hernandez 2021): log D_T = log k + α log D_F + β log N."""

    name = "transfer"
    variables = ("finetune_tokens", "params")
    params = (
        Param("k", lower=0.0, log=True),
        Param("alpha", lower=-5.0, upper=5.0),
        Param("beta", lower=-5.0, upper=5.0),
    )
    formula = "D_T = k·D_F^alpha·N^beta"

    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        return torch.log(p["k"]) + p["alpha"] * logx[:, 0] + p["beta"] * logx[:, 1]

    def guess(self, x: FloatArray, y: FloatArray) -> dict[str, float]:
        # Ordinary least squares in log space: the exact answer of the ls_log objective.
        design = np.column_stack([np.ones(len(y)), np.log(x)])
        coef, *_ = np.linalg.lstsq(design, np.log(y), rcond=None)
        return {"k": float(np.exp(coef[0])), "alpha": float(coef[1]), "beta": float(coef[2])}
