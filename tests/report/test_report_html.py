"""The HTML report looks right in a browser: headless Debian Chromium loads it without console
errors, every image is displayed, and a screenshot is kept in test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest

from scalinglab.report import build_report
from tests.report.browser import Rendered, render
from tests.report.tiny_study import TinyStudy


def _assert_renders(page: Path, rendered: Rendered, n_figures: int) -> None:
    assert rendered.screenshot is not None and rendered.screenshot.stat().st_size > 10_000
    assert rendered.errors == [], f"console errors (screenshot: {rendered.screenshot})"
    assert len(rendered.images) == n_figures >= 3
    for img in rendered.images:
        assert img["complete"] and int(img["naturalWidth"]) > 0 and int(img["naturalHeight"]) > 0
        assert float(img["shownWidth"]) > 200  # displayed at a readable size
        assert str(img["src"]).startswith("data:image/png;base64,")  # self-contained
    html = page.read_text()
    assert 'src="http' not in html and "<script" not in html


@pytest.mark.xdist_group("browser")
def test_study_report_renders(tiny_study: TinyStudy, tmp_path: Path) -> None:
    out = tmp_path / "study-report"
    built = build_report([tiny_study.name], out, storage=tiny_study.storage, n_bootstrap=20)
    assert built.kind == "study" and built.path == out / "index.html"
    names = {p.name for p in (out / "figures").iterdir()}
    for stem in ("learning_curve", "model_size_curve", "residuals", "training_curves"):
        assert {f"{stem}.png", f"{stem}.svg"} <= names
    # The study file the reproduce commands run: the same study, so `study run` resumes it.
    from scalinglab.study import load_config

    written = load_config(out / "study.toml").fingerprint()
    assert written == load_config(tiny_study.config).fingerprint()
    rendered = render(built.path, "report-study")
    _assert_renders(built.path, rendered, len(built.report.figures))
    text = rendered.text
    for want in (
        "Setup",
        "Fitted parameters",
        "β_g",
        "Hestness 2017: ImageNet top-1",
        "Plan",
        "Reproduce",
        "scalinglab study run",
        "scalinglab report tiny-report",
    ):
        assert want in text, want
    h = built.report.headline
    assert h["beta_g"] < 0 and h["predicted_at_10x"] > 0 and h["at_10x"] == 10 * 2048


@pytest.mark.xdist_group("browser")
def test_chinchilla_table_report_renders(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "chinchilla-report"
    csv = shared_data / "chinchilla_besiroglu2024.csv"
    built = build_report([csv], out, where="epoch_outlier == 0", n_bootstrap=20)
    assert built.kind == "nd-table"
    h = built.report.headline
    assert h["alpha"] == pytest.approx(0.3473, abs=0.01)  # the replication's recipe (README)
    assert h["beta"] == pytest.approx(0.3672, abs=0.01)
    assert h["a"] == pytest.approx(0.513, abs=0.02)
    rendered = render(built.path, "report-chinchilla")
    _assert_renders(built.path, rendered, len(built.report.figures))
    for want in (
        "IsoFLOP",
        "Compute-optimal plan",
        "Besiroglu et al. 2024",
        "5.76e+23",
        "scalinglab fit",
        "--where",
    ):
        assert want in rendered.text, want
