"""The training loops' shared CPU settings: in force while a task trains, the caller's back
afterwards (a user who trains a task in their own process keeps their threads and IEEE
arithmetic)."""

from __future__ import annotations

import pytest
import torch

from scalinglab.tasks._training import cpu_settings, flushes_denormals

# set_flush_denormal says whether the CPU can (x86 with SSE3: FTZ/DAZ)
pytestmark = pytest.mark.skipif(
    not torch.set_flush_denormal(False), reason="this CPU cannot flush denormal floats"
)


def test_cpu_settings_apply_inside_and_restore_after_even_on_error() -> None:
    torch.set_num_threads(2)
    try:
        assert not flushes_denormals()
        with pytest.raises(RuntimeError), cpu_settings(1):
            assert flushes_denormals() and torch.get_num_threads() == 1
            raise RuntimeError("a trial that fails")
        assert not flushes_denormals() and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)


def test_cpu_settings_keep_a_caller_who_flushes_denormals_flushing() -> None:
    torch.set_flush_denormal(True)
    try:
        with cpu_settings(1):
            pass
        assert flushes_denormals()
    finally:
        torch.set_flush_denormal(False)


def test_threads_come_from_the_environment_when_not_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCALINGLAB_THREADS", "2")
    with cpu_settings(None):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == 1
