"""`scalinglab report` and `scalinglab study fit` show one analysis (scalinglab.study.fit_study):
on the same study they agree on β_g, on the predictions beyond the data and on the held-out
scores of the laws compared, with their default bootstrap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scalinglab.cli import run_app
from scalinglab.report.document import num
from tests.report.tiny_study import TinyStudy


@pytest.mark.xdist_group("browser")  # shares the tiny study with the browser tests' worker
def test_report_and_study_fit_agree(tiny_study: TinyStudy, tmp_path: Path) -> None:
    from scalinglab.report import build_report

    name, storage = tiny_study.name, tiny_study.storage
    fit_json = tmp_path / "fit.json"
    assert run_app(["study", "fit", name, "--storage", storage, "--json", str(fit_json)]) == 0
    fit = json.loads(fit_json.read_text())
    built = build_report([name], tmp_path / "report", storage=storage)  # as `report` does
    headline = built.report.headline
    assert headline["y"] == fit["y"]
    for key in ("beta_g", "beta_p", "irreducible", "predicted_at_10x"):
        assert headline[key] == pytest.approx(fit[key] if key in fit else fit["headline"][key])
    assert headline["beta_g_interval"] == pytest.approx(fit["headline"]["beta_g_interval"])
    assert headline["predicted_at_10x_interval"] == pytest.approx(
        fit["headline"]["predicted_at_10x_interval"]
    )

    # The laws compared: fitted without the two largest shards, scored on them, in both.
    comparison = fit["law_comparison"]
    assert comparison["held_out_shards"] == [1024.0, 2048.0]
    table = next(t for t in built.report.parameters if t.title.startswith("Laws compared"))
    shown = {row[0]: row[2] for row in table.rows}
    scores = {law: doc["heldout_rmse_log"] for law, doc in comparison["laws"].items()}
    assert scores and shown == {
        **{law: num(score, 3) for law, score in scores.items()},
        **dict.fromkeys(comparison["failed"], "–"),
    }
