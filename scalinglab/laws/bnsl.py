"""Broken Neural Scaling Laws (Caballero, Gupta, Rish & Krueger 2022, arXiv:2210.14891, eq. 1).

    y = a + b·x^(−c0) · Π_{i=1..k} (1 + (x/d_i)^(1/f_i))^(−c_i·f_i)

k ≥ 0 breaks (constructor option `n_breaks`, default 1): at each break d_i the slope on log-log
axes changes by c_i, over a transition whose sharpness is set by f_i (small f: sharp). With k = 0
it is `power_const`. Written in log space, the product is a sum of softplus terms.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from scalinglab.errors import ScalingLabError
from scalinglab.laws.base import FloatArray, Param, ScalingLaw, Tensor, loglog_line

MAX_BREAKS = 4


class BNSL(ScalingLaw):
    """Smoothly broken power law with `n_breaks` breaks (Caballero et al. 2022)."""

    name = "bnsl"
    variables = ("x",)
    formula = "y = a + b·x^(−c0)·Π(1 + (x/d_i)^(1/f_i))^(−c_i·f_i)"

    def __init__(self, *, n_breaks: int = 1, **options: Any) -> None:
        super().__init__(**options)
        if not isinstance(n_breaks, int) or not 0 <= n_breaks <= MAX_BREAKS:
            raise ScalingLabError(f"n_breaks must be an integer from 0 to {MAX_BREAKS}")
        self.n_breaks = n_breaks
        base = [
            Param("a", lower=0.0, doc="limit as x → ∞"),
            Param("b", lower=0.0, log=True, doc="scale"),
            Param("c0", lower=-5.0, upper=5.0, doc="slope of the first segment"),
        ]
        for i in range(1, n_breaks + 1):
            base += [
                Param(f"c{i}", lower=-10.0, upper=10.0, doc=f"slope change at break {i}"),
                Param(f"d{i}", lower=0.0, log=True, doc=f"location of break {i}"),
                Param(f"f{i}", lower=1e-3, upper=100.0, log=True, doc=f"sharpness of break {i}"),
            ]
        self.params = tuple(base)  # type: ignore[misc]

    def get_options(self) -> dict[str, Any]:
        return {"n_breaks": self.n_breaks, **super().get_options()}

    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        lx = logx[:, 0]
        log_term = torch.log(p["b"]) - p["c0"] * lx
        for i in range(1, self.n_breaks + 1):
            f = p[f"f{i}"]
            # log(1 + (x/d)^(1/f)) = softplus((log x − log d)/f)
            log_term = log_term - p[f"c{i}"] * f * F.softplus((lx - torch.log(p[f"d{i}"])) / f)
        return torch.log(p["a"] + torch.exp(log_term))

    def start_grid(self, x: FloatArray, y: FloatArray) -> dict[str, tuple[float, ...]]:
        xs = x[:, 0]
        ymin = float(y.min())
        a_grid = (0.0, 0.5 * ymin, 0.9 * ymin)
        _, slope = loglog_line(xs, y)
        # Breaks placed across the observed range (log-spaced), fewer per break as k grows.
        n_d = {0: 1, 1: 10, 2: 5}.get(self.n_breaks, 3)
        d_grid = tuple(np.exp(np.linspace(np.log(xs.min()), np.log(xs.max()), n_d + 2)[1:-1]))
        f_grid = (0.03, 0.3, 1.0) if self.n_breaks <= 1 else (0.1, 1.0)
        c_grid = (0.3, 1.0, 3.0) if self.n_breaks <= 1 else (0.5, 2.0)
        grid: dict[str, tuple[float, ...]] = {
            "a": a_grid,
            "c0": (0.0, max(-slope, 0.0)),
            "b": (float(np.exp(np.mean(np.log(y)))),),
        }
        for i in range(1, self.n_breaks + 1):
            grid[f"c{i}"] = c_grid
            grid[f"d{i}"] = d_grid
            grid[f"f{i}"] = f_grid
        return grid

    def filter_starts(self, names: tuple[str, ...], starts: FloatArray) -> FloatArray:
        """With several breaks keep only starts whose breaks are in increasing order."""
        if self.n_breaks < 2:
            return starts
        cols = [names.index(f"d{i}") for i in range(1, self.n_breaks + 1) if f"d{i}" in names]
        if len(cols) < 2:
            return starts
        ordered = np.all(np.diff(starts[:, cols], axis=1) > 0, axis=1)
        return starts[ordered] if ordered.any() else starts
