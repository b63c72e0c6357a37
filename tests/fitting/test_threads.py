"""No global side effect: fitting runs on one torch thread and gives the caller's count back."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from scalinglab.errors import ScalingLabError
from scalinglab.fitting.threads import torch_threads
from scalinglab.laws import get_law


@pytest.fixture
def two_threads() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_torch_threads_restores_after_an_error(two_threads: None) -> None:
    with pytest.raises(RuntimeError), torch_threads(1):
        assert torch.get_num_threads() == 1
        raise RuntimeError("boom")
    assert torch.get_num_threads() == 2


def test_a_fit_leaves_the_thread_count_as_it_found_it(two_threads: None) -> None:
    x = np.geomspace(1.0, 1e4, 8)
    get_law("power_const")().fit(x[:, None], 2.0 * x**-0.5 + 0.1)
    assert torch.get_num_threads() == 2
    with pytest.raises(ScalingLabError):  # a fit that fails inside the solver's block
        get_law("power")(starts={"a": []}).fit(x[:, None], x)
    assert torch.get_num_threads() == 2
