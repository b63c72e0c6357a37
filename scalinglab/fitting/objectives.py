"""Fit objectives, evaluated for a batch of parameter vectors at once.

- "huber": Huber loss of the log residuals r = log ŷ − log y, summed over points (Hoffmann et al.
  2022, Approach 3, δ = 1e-3; as replicated by Besiroglu et al. 2024, arXiv:2404.10102):
  h(r) = r²/2 for |r| ≤ δ, δ(|r| − δ/2) otherwise.
- "ls_log": ½ Σ r², least squares on log residuals.
- "ls_linear": ½ Σ (ŷ − y)², least squares on y itself.
Every objective takes optional non-negative sample weights, per point or per (row, point) — the
latter is how the bootstrap refits thousands of resamples in one batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from scalinglab.fitting.model import FittableLaw

Tensor = torch.Tensor


def huber(r: Tensor, delta: float) -> Tensor:
    """Elementwise Huber loss (same as scipy.special.huber(delta, r))."""
    a = r.abs()
    return torch.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


def pointwise_loss(kind: str, log_pred: Tensor, y: Tensor, log_y: Tensor, delta: float) -> Tensor:
    """Loss per (row, point) for one of the objectives above."""
    if kind == "ls_linear":
        return 0.5 * (torch.exp(log_pred) - y) ** 2
    r = log_pred - log_y
    if kind == "huber":
        return huber(r, delta)
    return 0.5 * r * r


def make_objective(
    law: FittableLaw,
    free: Sequence[str],
    x: Tensor,
    y: Tensor,
    weights: Tensor,
) -> Callable[[Tensor, Tensor], Tensor]:
    """fun(theta (b, p), rows (b,)) -> (b,) objective values for the solver.

    `weights` is (n,) shared by all rows, or (B, n) with one row of weights per batch row.
    """
    logx, log_y = torch.log(x), torch.log(y)
    per_row = weights.ndim == 2

    def fun(theta: Tensor, rows: Tensor) -> Tensor:
        p = law.expand(theta, free)
        lp = law.log_predict(p, x, logx)
        loss = pointwise_loss(law.objective, lp, y, log_y, law.delta)
        w = weights[rows] if per_row else weights
        # 0·inf would be NaN: points with zero weight (left out of a resample) contribute nothing.
        loss = torch.where(w > 0, loss * w, torch.zeros_like(loss))
        return loss.sum(-1)

    return fun
