"""Shared test setup: one torch thread (2-core CI), paths to the shared reference data."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def need():  # type: ignore[no-untyped-def]
    """need("image") skips the test when that domain's Debian data package is missing."""
    from tests.data_packages import require

    return require


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.fail(
            f"reference data not found at {SHARED_DATA}: ../shared must sit beside the repo"
        )
    return SHARED_DATA
