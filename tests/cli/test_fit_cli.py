"""`scalinglab fit` and `scalinglab predict`: real files in, JSON out, exit 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalinglab.cli import app  # noqa: F401  (registers every command)
from scalinglab.cli.app import run_app

SCALINGLAB = [sys.executable, "-m", "scalinglab.cli"]


@pytest.fixture()
def curve_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    m = np.logspace(2, 6, 12)
    err = 4.0 * m**-0.35 + 0.05
    df = pd.DataFrame(
        {"shard_size": m, "best_val_error": err * np.exp(0.005 * rng.standard_normal(12))}
    )
    path = tmp_path / "curve.csv"
    df.to_csv(path, index=False)
    return path


def test_fit_writes_json_that_predict_reads(curve_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "fit.json"
    code = run_app(
        [
            "fit",
            str(curve_csv),
            "--law",
            "power_const",
            "--x",
            "shard_size",
            "--y",
            "best_val_error",
            "--bootstrap",
            "100",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    doc = json.loads(out.read_text())
    for key in (
        "law",
        "x",
        "y",
        "params",
        "stderr",
        "ci",
        "objective",
        "n_points",
        "converged",
        "warnings",
    ):
        assert key in doc, key
    assert doc["x"] == ["shard_size"] and doc["y"] == "best_val_error"
    assert doc["x_range"] == {"shard_size": [pytest.approx(1e2), pytest.approx(1e6)]}
    assert doc["params"]["b"] == pytest.approx(-0.35, abs=0.03)
    pred_path = tmp_path / "pred.json"
    assert run_app(["predict", str(out), "--at", "shard_size=1e7", "--json", str(pred_path)]) == 0
    pred = json.loads(pred_path.read_text())
    assert pred["prediction"] == pytest.approx(4.0 * 1e7**-0.35 + 0.05, rel=0.05)
    lo, hi = pred["interval"]
    assert lo < pred["prediction"] < hi
    # 1e7 lies a decade past the largest shard fitted, and predict says so
    assert pred["beyond_data"] == (
        "beyond the fitted data: shard_size = 1e+07 is 1 decade above the largest shard_size "
        "(1e+06)"
    )
    table = tmp_path / "at.csv"
    pd.DataFrame({"shard_size": [1e3, 1e4]}).to_csv(table, index=False)
    assert run_app(["predict", str(out), "--table", str(table), "--json", str(pred_path)]) == 0
    assert json.loads(pred_path.read_text())["beyond_data"] is None


def test_parquet_input_and_json_to_stdout(curve_csv: Path, tmp_path: Path, capsys) -> None:
    parquet = tmp_path / "curve.parquet"
    pd.read_csv(curve_csv).to_parquet(parquet)
    code = run_app(
        [
            "fit",
            str(parquet),
            "--law",
            "hestness",
            "--x",
            "shard_size",
            "--y",
            "best_val_error",
            "--json",
            "-",
        ]
    )
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["law"] == "hestness" and doc["n_points"] == 12
    assert set(doc["regions"]) >= {"small_data_end", "irreducible_start", "beta_g"}


def test_hand_written_fit_file_with_published_params(tmp_path: Path) -> None:
    fit = tmp_path / "hoffmann.json"
    fit.write_text(
        json.dumps(
            {
                "law": "chinchilla",
                "x": ["params", "tokens"],
                "y": "loss",
                "params": {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28},
            }
        )
    )
    out = tmp_path / "p.json"
    assert (
        run_app(["predict", str(fit), "--at", "params=7e10,tokens=1.4e12", "--json", str(out)]) == 0
    )
    expected = 1.69 + 406.4 / 7e10**0.34 + 410.7 / 1.4e12**0.28
    assert json.loads(out.read_text())["prediction"] == pytest.approx(expected, rel=1e-12)
    assert "interval" not in json.loads(out.read_text())


def test_fit_chinchilla_from_the_command_line(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.json"
    proc = subprocess.run(
        [
            *SCALINGLAB,
            "fit",
            str(shared_data / "chinchilla_besiroglu2024.csv"),
            "--law",
            "chinchilla",
            "--x",
            "params",
            "--x",
            "tokens",
            "--y",
            "loss",
            "--where",
            "epoch_outlier == 0",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "alpha" in proc.stdout and "converged" in proc.stdout
    doc = json.loads(out.read_text())
    assert doc["n_points"] == 240
    assert doc["params"]["E"] == pytest.approx(1.817, abs=0.002)


def _bad(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fit", "{nan}", "--law", "power", "--x", "x", "--y", "y"], "NaN"),
        (["fit", "{neg}", "--law", "power", "--x", "x", "--y", "y"], "> 0"),
        (["fit", "{few}", "--law", "power_const", "--x", "x", "--y", "y"], "free parameters"),
        (["fit", "{good}", "--law", "nope", "--x", "x", "--y", "y"], "unknown law"),
        (["fit", "{good}", "--law", "power", "--x", "z", "--y", "y"], "no column 'z'"),
        (["fit", "{empty}", "--law", "power", "--x", "x", "--y", "y"], "empty"),
        (["fit", "{good}", "--law", "power", "--x", "x", "--y", "y", "--where", "x >"], "--where"),
        (["fit", "{missing}", "--law", "power"], "no such file"),
        (["fit", "{good}", "--law", "chinchilla", "--x", "x", "--y", "y"], "x column"),
        (["predict", "{notjson}", "--at", "x=1"], "not a valid JSON"),
        (["predict", "{fit}", "--at", "w=1"], "--at must give exactly"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    files = {
        "nan": _bad(tmp_path, "nan.csv", "x,y\n1,2\n2,nan\n3,1\n"),
        "neg": _bad(tmp_path, "neg.csv", "x,y\n1,2\n-2,1.5\n3,1\n"),
        "few": _bad(tmp_path, "few.csv", "x,y\n1,2\n2,1.5\n"),
        "good": _bad(tmp_path, "good.csv", "x,y\n1,2\n2,1.5\n3,1.2\n4,1.1\n"),
        "empty": _bad(tmp_path, "empty.csv", ""),
        "missing": tmp_path / "does-not-exist.csv",
        "notjson": _bad(tmp_path, "bad.json", "{not json"),
        "fit": _bad(
            tmp_path,
            "fit.json",
            json.dumps({"law": "power", "x": ["x"], "params": {"a": 1, "b": -1}}),
        ),
    }
    argv = [a.format(**{k: str(v) for k, v in files.items()}) for a in args]
    proc = subprocess.run([*SCALINGLAB, *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_hestness_regions_line_never_prints_an_undetermined_best_guess(
    curve_csv: Path, capsys
) -> None:
    # The fixture's curve is a power law plus a floor: no shard lies in the small-data region,
    # so its end and the best-guess error (gamma + a loose eps_s) are called undetermined.
    code = run_app(
        ["fit", str(curve_csv), "--law", "hestness", "--x", "shard_size", "--y", "best_val_error"]
    )
    assert code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "regions: no point in the small-data region (it ends below x = " in out
    assert "best-guess error are not determined by these data" in out
    assert "irreducible error 0.049" in out


# Found by fuzzing: names from a fit file or a table reached the terminal raw (an ESC that
# recolours it) in predict's headers and in --law auto's "predicted ..." line.
def test_predict_shows_fit_file_names_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fit = tmp_path / "fit.json"
    doc = {"law": "power", "x": "n\x1b[31m", "y": "[bold]err\x07", "params": {"a": 1, "b": -0.3}}
    fit.write_text(json.dumps(doc))
    assert run_app(["predict", str(fit), "--at", "n\x1b[31m=100"]) == 0
    out, err = capsys.readouterr()
    assert "\x1b" not in out + err and "\x07" not in out
    assert "n\\x1b[31m" in out and "[bold]err\\x07" in out


def test_auto_target_line_shows_the_column_names_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    m = np.geomspace(1e3, 1e6, 10)
    data = tmp_path / "c.csv"
    pd.DataFrame({"m": m, "err\x1b[31m": 3 * m**-0.3 + 0.2}).to_csv(data, index=False)
    argv = ["fit", str(data), "--law", "auto", "--x", "m", "--y", "err\x1b[31m"]
    assert run_app([*argv, "--target", "m=1e7", "--bootstrap", "0"]) == 0
    out, err = capsys.readouterr()
    assert "\x1b" not in out + err and "predicted err\\x1b[31m at m" in out


def test_non_positive_x_names_the_column_and_row(
    curve_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    df = pd.read_csv(curve_csv)
    df.loc[2, "shard_size"] = -10.0
    neg = tmp_path / "neg_x.csv"
    df.to_csv(neg, index=False)
    args = ["--x", "shard_size", "--y", "best_val_error"]
    assert run_app(["fit", str(neg), *args]) == 2
    err = capsys.readouterr().err
    assert "shard_size = -10 at data row 3" in err and "['x']" not in err
    fit = tmp_path / "fit.json"
    assert run_app(["fit", str(curve_csv), *args, "--json", str(fit)]) == 0
    capsys.readouterr()
    assert run_app(["predict", str(fit), "--at", "shard_size=1e400"]) == 2
    assert "shard_size = 1e400 is not a finite number" in capsys.readouterr().err
    assert run_app(["predict", str(fit), "--at", "shard_size=-5"]) == 2
    assert "shard_size = -5 in --at" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--formula", "a*shard_size**-b+c", "--target", "shard_size=1e7"], "--target applies"),
        (["--formula", "a*shard_size**-b+c", "--candidates", "m1"], "--candidates applies"),
        (["--x", "shard_size", "--law", "power_const", "--n-breaks", "2"], "--n-breaks applies"),
    ],
)
def test_options_that_do_not_apply_are_refused(
    curve_csv: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert run_app(["fit", str(curve_csv), "--y", "best_val_error", *extra]) == 2
    assert message in capsys.readouterr().err
