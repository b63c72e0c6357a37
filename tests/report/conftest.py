"""Fixtures of the report tests: the tiny study, run once per test session (per xdist worker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report.tiny_study import TinyStudy, make_tiny_study


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory: pytest.TempPathFactory) -> TinyStudy:
    return make_tiny_study(Path(tmp_path_factory.mktemp("tiny-study")))
