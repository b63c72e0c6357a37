"""Checks of the planners' inputs: an interval level, and arrays of positive finite values."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from scalinglab.errors import ScalingLabError
from scalinglab.types import FloatArray


def check_level(level: float) -> None:
    """An interval level strictly between 0 and 1, else a ScalingLabError."""
    if not 0 < level < 1:
        raise ScalingLabError(f"the interval level must be between 0 and 1, got {level}")


def positive_array(name: str, values: ArrayLike, size: int | None = None) -> FloatArray:
    """Values as a flat float array, each finite and > 0 (`size` checks the length)."""
    arr = np.asarray(values, dtype=float).reshape(-1)
    if size is not None and arr.size != size:
        raise ScalingLabError(f"{name} must have one value per run ({size}), got {arr.size}")
    if arr.size == 0:
        raise ScalingLabError("no runs given")
    bad = ~np.isfinite(arr) | (arr <= 0)
    if bad.any():
        raise ScalingLabError(
            f"{name} must be positive and finite; run {int(np.flatnonzero(bad)[0]) + 1} has "
            f"{arr[bad][0]:g}"
        )
    return arr
