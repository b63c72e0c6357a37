"""`scalinglab demo` on a finished study reuses it (resume) and only re-renders. Uses the tiny
study of the report tests (same xdist group, so it is run once per session)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scalinglab.cli import run_app
from tests.report.tiny_study import TinyStudy


@pytest.mark.xdist_group("browser")  # shares the tiny study with the browser tests' worker
def test_demo_reuses_a_finished_study(
    tiny_study: TinyStudy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from scalinglab.study import load_results

    # The demo on a finished study reuses it: no trial runs again, the report is re-rendered.
    before = len(load_results(tiny_study.name, tiny_study.storage))
    demo_out = tmp_path / "demo"
    argv = [
        "demo",
        "--config",
        str(tiny_study.config),
        "--storage",
        tiny_study.storage,
        "--out",
        str(demo_out),
        "--bootstrap",
        "10",
        "--no-prepare",
    ]
    assert run_app(argv) == 0
    printed = capsys.readouterr().out
    assert "finished before; reusing it" in printed
    assert "β_g = " in printed and "β_p = " in printed and "at 10× the data" in printed
    assert str((demo_out / "index.html").resolve()) in printed.replace("\n", "")
    assert len(load_results(tiny_study.name, tiny_study.storage)) == before
    headline = json.loads((demo_out / "headline.json").read_text())
    assert headline["beta_g"] < 0
