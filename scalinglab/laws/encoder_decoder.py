"""Encoder-decoder NMT: `encoder_decoder`, L(N_e, N_d) = α·(N̄_e/N_e)^p_e·(N̄_d/N_d)^p_d + L∞.

Ghorbani et al. 2021, "Scaling Laws for Neural Machine Translation", arXiv:2109.07740, eq. 2;
N̄_e, N̄_d are fixed reference sizes (constructor options), not fitted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from scalinglab.laws.base import FloatArray, Param, ScalingLaw, Tensor


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
