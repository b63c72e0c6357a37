"""Elo ratings: conversions between Elo differences and win rates, and the base of laws whose
target is an Elo rating (signed: it can be below zero).

Elo on the 400·log10 scale (the chess convention, used by Jones 2021 for Hex): a player rated d
points above its opponent wins with probability

    p = 1 / (1 + 10^(−d/400)),     so     d = 400·log10(p / (1 − p)).

An Elo rating only means something against a reference (Jones 2021 measures Elo against perfect
play, so every agent is at or below 0); turning a win rate into a rating needs that reference.

**Fitting a signed target.** The fitting engine (scalinglab.fitting) works with the log of a law's
prediction, so its targets must be > 0. An `EloLaw` predicts Elo + ELO_OFFSET internally (its
`log_predict` returns log(softplus(Elo + ELO_OFFSET)), which equals log(Elo + ELO_OFFSET) for any
Elo above −ELO_OFFSET + 20 and stays finite below), shifts y by the same offset, and is fitted
with the `ls_linear` objective — least squares on y itself — so the offset cancels exactly:
(ŷ + O) − (y + O) = ŷ − y. The log objectives (huber, ls_log) would weigh residuals by an
arbitrary 1/(y + O) and are refused. `predict`, `predict_draws` and the intervals give Elo.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike

from scalinglab.errors import ScalingLabError
from scalinglab.laws.base import FloatArray, ScalingLaw, Tensor

ELO_SCALE = 400.0  # Elo points per factor of 10 in the odds of winning
ELO_OFFSET = 1e4  # internal shift that makes Elo positive for the log-space engine


def win_rate(elo_difference: ArrayLike) -> FloatArray:
    """Probability that a player `elo_difference` points above its opponent wins."""
    d = np.asarray(elo_difference, dtype=float)
    if not np.all(np.isfinite(d)):
        raise ScalingLabError("an Elo difference must be a finite number")
    out: FloatArray = 1.0 / (1.0 + 10.0 ** (-d / ELO_SCALE))
    return out


def elo_difference(win_rate: ArrayLike) -> FloatArray:
    """Elo difference d = 400·log10(p / (1 − p)) that gives win rate p (0 < p < 1)."""
    p = np.asarray(win_rate, dtype=float)
    if not np.all(np.isfinite(p)) or np.any(p <= 0) or np.any(p >= 1):
        raise ScalingLabError(
            "a win rate must be strictly between 0 and 1 (0 and 1 are infinitely many Elo "
            "points away)"
        )
    out: FloatArray = ELO_SCALE * np.log10(p / (1.0 - p))
    return out


def elo_from_win_rate(win_rate: ArrayLike, reference_elo: float | None) -> FloatArray:
    """The rating of a player that wins with probability `win_rate` against an opponent rated
    `reference_elo`. Without a reference a win rate is no rating: that is an error."""
    if reference_elo is None:
        raise ScalingLabError(
            "a win rate is an Elo rating only against a reference: give the opponent's Elo "
            "(reference_elo)"
        )
    if not math.isfinite(reference_elo):
        raise ScalingLabError(f"the reference Elo must be a finite number, got {reference_elo}")
    out: FloatArray = reference_elo + elo_difference(win_rate)
    return out


class EloLaw(ScalingLaw):
    """Base of laws whose target y is an Elo rating (any sign). See the module docstring: fitted
    by least squares on Elo (`ls_linear`, the default here) through an internal offset."""

    signed_y: ClassVar[bool] = True

    def __init__(self, *, objective: str = "ls_linear", **options: Any) -> None:
        super().__init__(objective=objective, **options)

    def elo(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        """The law's Elo for parameter batch p (each (b, 1)) at x (n, k); returns (b, n)."""
        raise NotImplementedError

    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        return torch.log(F.softplus(self.elo(p, x, logx) + ELO_OFFSET))

    def check_y(self, y: ArrayLike, n: int) -> FloatArray:
        """Elo as given (any sign), shifted by ELO_OFFSET for the engine."""
        if self.objective != "ls_linear":
            raise ScalingLabError(
                f"law {self.name!r} fits Elo, which can be negative, by least squares on Elo: "
                f"use objective 'ls_linear', not {self.objective!r}"
            )
        arr = np.asarray(y, dtype=float).reshape(-1)
        if arr.shape[0] != n:
            raise ScalingLabError(f"X has {n} rows but y has {arr.shape[0]}; they must match")
        if not np.all(np.isfinite(arr)):
            raise ScalingLabError("y contains NaN or inf; drop or fix those rows")
        if np.any(arr <= 20 - ELO_OFFSET):
            raise ScalingLabError(
                f"Elo below {20 - ELO_OFFSET:g} is outside the range law {self.name!r} fits; "
                "re-anchor the ratings (subtract a constant)"
            )
        out: FloatArray = arr + ELO_OFFSET
        return out

    def predict(self, X: ArrayLike) -> FloatArray:
        """The law's Elo at X (n, k)."""
        out: FloatArray = super().predict(X) - ELO_OFFSET
        return out

    def predict_draws(self, X: ArrayLike) -> FloatArray:
        """Elo (draws, n) for every bootstrap (or covariance) draw of the parameters."""
        out: FloatArray = super().predict_draws(X) - ELO_OFFSET
        return out
