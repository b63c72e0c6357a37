"""A stop signal breaks into a trial's training at once, but never into a storage write."""

from __future__ import annotations

import signal

import pytest

from scalinglab.study.worker import _Interrupts


def test_signal_outside_training_is_deferred_to_the_next_check() -> None:
    interrupts = _Interrupts()
    interrupts.handle(signal.SIGINT, None)  # e.g. while a trial's result is being written
    assert interrupts.requested
    with pytest.raises(KeyboardInterrupt):
        interrupts.check()


def test_signal_inside_training_interrupts_at_once() -> None:
    interrupts = _Interrupts()
    with pytest.raises(KeyboardInterrupt), interrupts.training():
        interrupts.handle(signal.SIGTERM, None)
        pytest.fail("training went on after the signal")


def test_training_does_not_start_after_a_deferred_signal() -> None:
    interrupts = _Interrupts()
    interrupts.handle(signal.SIGINT, None)
    with pytest.raises(KeyboardInterrupt), interrupts.training():
        pytest.fail("a trial started although a stop was requested")


def test_a_shielded_write_inside_training_finishes_then_stops() -> None:
    interrupts = _Interrupts()
    written = []
    with pytest.raises(KeyboardInterrupt), interrupts.training():
        with interrupts.shielded():
            interrupts.handle(signal.SIGINT, None)  # lands mid-write: must not raise here
            written.append("report")
        pytest.fail("training went on after the shielded write")
    assert written == ["report"]


def test_real_signal_is_deferred_while_not_training() -> None:
    interrupts = _Interrupts()
    previous = signal.signal(signal.SIGUSR1, interrupts.handle)
    try:
        signal.raise_signal(signal.SIGUSR1)  # delivered now, outside training: no exception
        assert interrupts.requested
        with pytest.raises(KeyboardInterrupt), interrupts.training():
            pass
    finally:
        signal.signal(signal.SIGUSR1, previous)
