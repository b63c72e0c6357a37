"""`scalinglab report` and `scalinglab demo` from the command line: sources that work, and bad
sources as one clear line with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scalinglab.cli import run_app
from tests.report.tiny_study import TINY_TOML


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str], *words: str) -> str:
    assert run_app(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "Traceback" not in err, err
    assert len(err.replace("\n", " ").split("error:")) == 2
    for word in words:
        assert word in err, err
    return err


def test_study_with_no_finished_trials(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from scalinglab.study import load_config
    from scalinglab.study.layout import prepare_study
    from scalinglab.study.storage import normalize_url, open_storage

    config = load_config({**_tiny_dict(), "name": "not-run"})
    url = normalize_url(f"sqlite:///{tmp_path / 's.db'}", "not-run")
    prepare_study(config, open_storage(url))  # trials queued, none run
    _one_line_error(
        capsys,
        ["report", "not-run", "--storage", url, "--out", str(tmp_path / "r")],
        "no finished trials",
    )
    assert not (tmp_path / "r" / "index.html").exists()


def test_unknown_study(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    _one_line_error(capsys, ["report", "nope", "--storage", url, "--out", str(tmp_path / "r")])


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", ("not a valid JSON fit file",)),
        ('{"law": "power_const"}', ("no 'params'",)),
        ('{"law": "no_such_law", "params": {"a": 1}}', ("unknown law",)),
        ("[1, 2]", ("JSON object",)),
    ],
)
def test_unreadable_fit_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, words: tuple[str, ...]
) -> None:
    fit = tmp_path / "fit.json"
    fit.write_text(content)
    _one_line_error(capsys, ["report", str(fit), "--out", str(tmp_path / "r")], *words)


def test_missing_fit_file_and_table_without_known_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _one_line_error(
        capsys,
        ["report", str(tmp_path / "missing.json"), "--out", str(tmp_path)],
        "no such fit file",
    )
    table = tmp_path / "t.csv"
    table.write_text("a,b\n1,2\n3,4\n")
    _one_line_error(
        capsys, ["report", str(table), "--out", str(tmp_path / "r")], "not a study's results table"
    )


def test_report_from_fit_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chin = tmp_path / "chinchilla.json"
    chin.write_text(
        json.dumps(
            {
                "law": "chinchilla",
                "params": {"E": 1.82, "A": 482.0, "B": 2085.4, "alpha": 0.348, "beta": 0.366},
            }
        )
    )
    curve = tmp_path / "curve.json"
    curve.write_text(
        json.dumps(
            {
                "law": "power_const",
                "params": {"a": 3.0, "b": -0.3, "c": 0.05},
                "x": "shard_size",
                "y": "best_val_error",
            }
        )
    )
    out = tmp_path / "fits"
    assert run_app(["report", str(chin), str(curve), "--out", str(out), "--json", "-"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["kind"] == "fits" and Path(payload["path"]) == out / "index.html"
    # the page's headline figure, β / (α + β) of the Chinchilla fit, is in the JSON too
    a = f"{0.366 / (0.348 + 0.366):.3f}"
    assert payload["cards"] == [{"label": f"a in N_opt ∝ C^a ({chin.name})", "value": a}]
    html = (out / "index.html").read_text()
    assert "Compute-optimal plan" in html and "data:image/png;base64," in html
    assert html.count("<img ") == 2


def test_report_from_a_study_fit_file(tmp_path: Path) -> None:
    """`study fit --json` output (best-per-shard points and the fits) is a report source."""
    m = [2.0**k for k in range(7, 11)]  # 4 shards: no three-region fit, no law comparison
    points = [
        {"seed": 0, "shard_size": x, "model_size": 8, "n_params": int(50 * x**0.5),
         "best_val_error": 0.05 + 2.0 * x**-0.4}
        for x in m
    ]  # fmt: skip
    fit = tmp_path / "fit.json"
    fit.write_text(json.dumps({"y": "best_val_error", "points": points,
                               "learning_curve": {"law": "power_const"}}))  # fmt: skip
    out = tmp_path / "r"
    assert run_app(["report", str(fit), "--out", str(out), "--bootstrap", "10"]) == 0
    assert (out / "figures" / "learning_curve.png").exists()
    assert (out / "figures" / "model_size_curve.png").exists()
    assert "refitted from the fit file" in (out / "index.html").read_text()


def _tiny_dict() -> dict[str, object]:
    import tomllib

    return tomllib.loads(TINY_TOML)
