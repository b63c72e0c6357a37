"""Fixtures of the report tests: the tiny study, run once per test session.

With `pytest -n 2` every worker asks for it; a file lock in the session's shared temporary
directory lets the first worker run it and the others reuse the finished study (resume).
"""

from __future__ import annotations

import pytest
from filelock import FileLock

from tests.report.tiny_study import TinyStudy, make_tiny_study


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> TinyStudy:
    base = tmp_path_factory.getbasetemp()
    root = base if worker_id == "master" else base.parent  # shared by all xdist workers
    with FileLock(str(root / "tiny-study.lock")):
        return make_tiny_study(root / "tiny-study")
