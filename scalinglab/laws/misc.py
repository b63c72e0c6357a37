"""Three laws from single papers: saturating vision error, encoder-decoder NMT, and transfer.

- vit: E(C) = a·(C + d)^(−b) + c (Zhai et al. 2022, "Scaling Vision Transformers",
  arXiv:2106.04560, eq. 1): error vs compute saturating at c, with d the offset below which
  compute hardly helps.
- encoder_decoder: L(N_e, N_d) = α·(N̄_e/N_e)^p_e·(N̄_d/N_d)^p_d + L∞ (Ghorbani et al. 2021,
  "Scaling Laws for Neural Machine Translation", arXiv:2109.07740, eq. 2); N̄_e, N̄_d are fixed
  reference sizes (constructor options), not fitted.
- transfer: D_T = k·D_F^α·N^β (Hernandez et al. 2021, "Scaling Laws for Transfer",
  arXiv:2102.01293, eq. 1.1): effective data transferred from pre-training, as a function of
  fine-tuning data D_F and parameters N; published (text → Python) k = 1.9e4, α = 0.18, β = 0.38.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
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


class EncoderDecoder(ScalingLaw):
    """L = α·(N̄_e/N_e)^p_e·(N̄_d/N_d)^p_d + L∞ (Ghorbani 2021)."""

    name = "encoder_decoder"
    variables = ("encoder_params", "decoder_params")
    params = (
        Param("alpha", lower=0.0, log=True, grid=(0.1, 1.0, 10.0)),
        Param("p_e", lower=0.0, upper=5.0, grid=(0.1, 0.3, 1.0)),
        Param("p_d", lower=0.0, upper=5.0, grid=(0.1, 0.3, 1.0)),
        Param("L_inf", lower=0.0),
    )
    formula = "L = alpha·(Ne_ref/Ne)^p_e·(Nd_ref/Nd)^p_d + L_inf"

    def __init__(self, *, ref_encoder: float = 1e8, ref_decoder: float = 1e8, **options: Any):
        super().__init__(**options)
        self.ref_encoder = ref_encoder
        self.ref_decoder = ref_decoder

    def get_options(self) -> dict[str, Any]:
        return {
            "ref_encoder": self.ref_encoder,
            "ref_decoder": self.ref_decoder,
            **super().get_options(),
        }

    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        log_term = (
            torch.log(p["alpha"])
            + p["p_e"] * (float(np.log(self.ref_encoder)) - logx[:, 0])
            + p["p_d"] * (float(np.log(self.ref_decoder)) - logx[:, 1])
        )
        return torch.log(torch.exp(log_term) + p["L_inf"])

    def start_grid(self, x: FloatArray, y: FloatArray) -> dict[str, tuple[float, ...]]:
        grid = super().start_grid(x, y)
        ymin = float(y.min())
        grid["L_inf"] = (0.0, 0.5 * ymin, 0.9 * ymin)
        return grid


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
