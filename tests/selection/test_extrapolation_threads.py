"""evaluate_curve runs on one torch thread and gives the caller's thread count back."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from scalinglab.selection import extrapolation


def _curve() -> extrapolation.Curve:
    x = np.array([1.0, 2.0, 4.0, 8.0])
    return extrapolation.Curve("d", "t", "m", x[:3], 1 / x[:3], x[3:], 1 / x[3:])


@pytest.mark.parametrize("fails", [False, True])
def test_evaluate_curve_restores_torch_threads(
    monkeypatch: pytest.MonkeyPatch, fails: bool
) -> None:
    seen: list[int] = []

    def body(*args: Any) -> dict[str, Any]:
        seen.append(torch.get_num_threads())
        if fails:
            raise RuntimeError("boom")
        return {}

    monkeypatch.setattr(extrapolation, "_evaluate_curve", body)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        if fails:
            with pytest.raises(RuntimeError):
                extrapolation.evaluate_curve(_curve())
        else:
            extrapolation.evaluate_curve(_curve())
        assert seen == [1]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
