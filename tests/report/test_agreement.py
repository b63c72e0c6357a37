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
    # The predictions at more data say how they were made: by auto, with calibrated intervals
    # (not the parameter band); 100x the largest shard lies past what was backtested, which in
    # log units no longer makes the interval optimistic (selection.auto.interval_warnings).
    more = next(t for t in built.report.plan if t.title == "Predictions at more data")
    assert f"Predicted by {fit['selection']['chosen']}" in more.note
    assert "calibrated on the learning curve's backtests" in more.note
    assert "parameter uncertainty only" not in more.note
    assert "the backtests checked" not in more.note
    # and where each law fitted on every point would have gone, at the rule's horizon
    at = fit["selection"]["at_target"]
    assert set(fit["selection"]["weights"]) <= set(at) <= set(fit["selection"]["scores"])
    assert "Each law fitted on every point, at m = " in more.note
    assert all(f"{law} {num(value)}" in more.note for law, value in at.items())

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


@pytest.mark.xdist_group("browser")
def test_the_reports_study_fit_command_reproduces_its_numbers(
    tiny_study: TinyStudy, tmp_path: Path
) -> None:
    """The page's `study fit` command carries the report's --bootstrap, --seed and --level: run
    as printed, it gives the intervals the page shows."""
    import shlex

    from scalinglab.report import build_report

    out = tmp_path / "report"
    built = build_report(
        [tiny_study.name], out, storage=tiny_study.storage, n_bootstrap=30, level=0.8, seed=5
    )
    commands = built.report.commands
    study_fit = next(c for c in commands if c.startswith("scalinglab study fit "))
    for command in (study_fit, next(c for c in commands if c.startswith("scalinglab report "))):
        assert "--bootstrap 30 --seed 5 --level 0.8" in command, command
    assert "--level 0.8" in next(c for c in commands if c.startswith("scalinglab plan "))
    assert run_app(shlex.split(study_fit)[1:]) == 0
    fit = json.loads((out / "fit.json").read_text())
    assert (fit["seed"], fit["level"], fit["n_bootstrap"]) == (5, 0.8, 30)
    h = built.report.headline
    assert h["beta_g_level"] == fit["headline"]["beta_g_level"] == 0.8
    assert h["beta_g_interval"] == fit["headline"]["beta_g_interval"]  # exactly, not approx
    assert h["predicted_at_10x_interval"] == fit["headline"]["predicted_at_10x_interval"]


@pytest.mark.xdist_group("browser")
def test_report_target_predicts_as_study_fit_target(
    tiny_study: TinyStudy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`report --target M` is `study fit --target M`'s analysis: the same prediction at M, to
    the last digit, in its JSON and in the page's marked row, with its distance beyond the
    shards; the page's reproduce commands carry the target."""
    from scalinglab.report.document import span

    name, storage = tiny_study.name, tiny_study.storage
    options = ["--storage", storage, "--target", "60000", "--bootstrap", "30"]
    assert run_app(["study", "fit", name, *options, "--json", "-"]) == 0
    fit = json.loads(capsys.readouterr().out)["headline"]
    out = tmp_path / "report"
    assert run_app(["report", name, *options, "--out", str(out), "--json", "-"]) == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("target", "predicted_at_target", "predicted_at_target_interval"):
        assert report[key] == fit[key], key  # exactly: one analysis, not a refit
    assert report["target"] == 60000
    assert report["predicted_at_target"] != report["predicted_at_10x"]
    page = (out / "index.html").read_text()
    row = (
        f'<tr class="hl"><td>target (29.3× largest shard)</td><td>60,000</td>'
        f"<td>{num(fit['predicted_at_target'])}</td>"
        f"<td>{span(fit['predicted_at_target_interval'])}</td>"
    )
    assert row in page
    assert "beyond the fitted data: m = 6e+04 is 1.5 decades above the largest m (2.05e+03)" in page
    assert any("at the target (m = 60,000)" in card["label"] for card in report["cards"])
    assert page.count("--target 60000.0 --bootstrap 30") == 2  # its study fit and report
