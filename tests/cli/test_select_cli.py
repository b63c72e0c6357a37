"""`scalinglab fit --law auto` and `scalinglab benchmark extrapolation`."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalinglab.cli import app  # noqa: F401  (registers every command)
from scalinglab.cli.app import run_app
from scalinglab.cli.selection import growth_text
from scalinglab.fitting.calibration import Calibration


def write_curve(path: Path, n: int) -> Path:
    rng = np.random.default_rng(1)
    m = np.logspace(2, 6, n)
    err = (3.0 * m**-0.4 + 0.1) * np.exp(0.005 * rng.standard_normal(n))
    pd.DataFrame({"shard_size": m, "best_val_error": err}).to_csv(path, index=False)
    return path


def fit_auto_for_1e7(tmp_path: Path, n: int) -> Path:
    """`fit --law auto --target shard_size=1e7` on an n-point curve; the fit file's path."""
    data = write_curve(tmp_path / "curve.csv", n)
    out = tmp_path / "fit.json"
    args = ["fit", str(data), "--law", "auto", "--x", "shard_size", "--y", "best_val_error"]
    assert run_app([*args, "--target", "shard_size=1e7", "--json", str(out)]) == 0
    return out


def test_fit_auto_reports_the_winner_and_writes_a_calibrated_fit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_curve(tmp_path / "curve.csv", 12)
    out = tmp_path / "fit.json"
    args = ["fit", str(data), "--law", "auto", "--x", "shard_size", "--y", "best_val_error"]
    code = run_app([*args, "--candidates", "m1,m2,power_const", "--json", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "auto chose" in text and "backtests" in text
    # the shipped rule weighs by AIC: the table's scores are ΔAIC, not backtest errors
    assert "ΔAIC" in text and "laws weighed by AIC" in " ".join(text.split())
    doc = json.loads(out.read_text())
    weights = doc["selection"]["weights"]
    assert sum(weights.values()) == pytest.approx(1.0)
    assert set(weights) <= {"m1", "m2", "power_const"}
    if len(weights) == 1:
        assert doc["law"] == doc["selection"]["chosen"] in {"m2", "power_const"}
    else:
        assert doc["law"] == "average" and doc["selection"]["chosen"].startswith("average of ")
    assert doc["calibration"]["scores"]
    assert run_app(["predict", str(out), "--at", "shard_size=1e7", "--json", "-"]) == 0
    pred = json.loads(capsys.readouterr().out)
    lo, hi = pred["interval"]
    assert lo < pred["prediction"] < hi


def test_fit_auto_on_a_short_curve_warns_and_fits_the_default_law(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_curve(tmp_path / "short.csv", 4)
    args = ["fit", str(data), "--law", "auto", "--x", "shard_size", "--y", "best_val_error"]
    assert run_app(args) == 0
    text = capsys.readouterr().out
    assert "too few to backtest" in text and "power_const" in text


def test_fit_and_predict_say_when_an_interval_rests_on_few_backtest_points(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """6 points extrapolated 10x leave one held-out backtest point: `fit --law auto` and
    `predict` with its fit file both warn that the interval is optimistic."""
    out = fit_auto_for_1e7(tmp_path, 6)
    assert "read it as optimistic" in " ".join(capsys.readouterr().out.split())
    assert run_app(["predict", str(out), "--at", "shard_size=1e7"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "warning: the interval rests on only 1 held-out backtest point(s)" in text


def test_fit_auto_with_a_target_prints_the_prediction_predict_gives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`fit --law auto --target`: the prediction at the target with its interval, on the
    terminal and in the fit file, the same as `predict` on that file at the target."""
    out = fit_auto_for_1e7(tmp_path, 12)
    text = " ".join(capsys.readouterr().out.split())
    at = json.loads(out.read_text())["target_prediction"]
    assert at["x"] == 1e7 and at["level"] == 0.9
    assert run_app(["predict", str(out), "--at", "shard_size=1e7", "--json", "-"]) == 0
    pred = json.loads(capsys.readouterr().out)
    assert at["prediction"] == pytest.approx(pred["prediction"], rel=1e-12)
    assert at["interval"] == pytest.approx(pred["interval"], rel=1e-12)
    shown = f"predicted best_val_error at shard_size = 1e+07 (the target): {at['prediction']:.6g}"
    assert shown in text
    assert abs(at["prediction"] / (3.0 * 1e7**-0.4 + 0.1) - 1) < 0.1  # the curve drawn
    # every law's own prediction at the target, in the laws' table and the fit file
    selection = json.loads(out.read_text())["selection"]
    assert selection["target"] == 1e7
    assert set(selection["weights"]) <= set(selection["at_target"]) <= set(selection["scores"])
    assert "at x = 1e+07" in text


def test_predict_far_past_the_backtests_reach_widens_without_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Backtested for 10x beyond the data: at 1000x, past the backtests' reach, the interval
    keeps widening (as d^1.5 there) and, as its coverage there matched the rest on the tuning
    sources, carries no warning that it is optimistic."""
    out = fit_auto_for_1e7(tmp_path, 12)
    capsys.readouterr()
    assert run_app(["predict", str(out), "--at", "shard_size=1e7;1e9", "--json", "-"]) == 0
    lower, upper = json.loads(capsys.readouterr().out)["interval"]
    widths = [math.log(hi / lo) for lo, hi in zip(lower, upper, strict=True)]
    assert widths[1] > widths[0] * (math.log(1e9 / 1e6) / math.log(1e7 / 1e6)) ** 1.2
    assert run_app(["predict", str(out), "--at", "shard_size=1e9"]) == 0
    assert "past the" not in capsys.readouterr().out


def test_fit_and_predict_say_when_the_curve_still_steepens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A word-error curve still leaving its small-data region (a fresh speech study's, to 1,024
    examples): `fit --law auto` and `predict` with its fit file both say the curve still steepens
    and that such intervals covered about 84% on the tuning sources; the pooling is named, and
    the half-width is given in ln y (the scores are in log units)."""
    m = 2.0 ** np.arange(4, 11)
    err = [0.933594, 0.932617, 0.900391, 0.844727, 0.754883, 0.659180, 0.543945]
    data = tmp_path / "speech.csv"
    pd.DataFrame({"shard_size": m, "best_val_error": err}).to_csv(data, index=False)
    out = tmp_path / "fit.json"
    args = ["fit", str(data), "--law", "auto", "--x", "shard_size", "--y", "best_val_error"]
    assert run_app([*args, "--candidates", "m1,m2,power_const", "--json", str(out)]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "the curve still steepens at its end" in text and "about 84%" in text
    assert "backtests (geometric mean of the cuts' quantiles)" in text
    assert "in ln y at d = " in text and " σ" not in text.split("in ln y")[1][:12]
    assert "∝ d within it and ∝ d^1.5 past it" in text
    assert run_app(["predict", str(out), "--at", "shard_size=4096"]) == 0
    assert "warning: the curve still steepens at its end" in " ".join(
        capsys.readouterr().out.split()
    )


def test_fit_auto_rejects_unknown_candidates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_curve(tmp_path / "curve.csv", 8)
    args = ["fit", str(data), "--law", "auto", "--x", "shard_size", "--y", "best_val_error"]
    assert run_app([*args, "--candidates", "m1,nope"]) == 2
    assert "nope" in capsys.readouterr().err
    assert run_app([*args, "--target", "tokens=1e7"]) == 2
    assert "--target takes shard_size=VALUE" in capsys.readouterr().err
    assert run_app([*args, "--target", "shard_size=-1"]) == 2
    assert "positive" in capsys.readouterr().err


def benchmark_table(path: Path) -> Path:
    """Two evaluations in the benchmark's format, the first repeated (as the LM curves are)."""
    rows = []
    for model, floor in (("small", 0.3), ("large", 0.2)):
        x = np.logspace(6, 9, 10)
        y = 2.0 * (x / 1e6) ** -0.3 + floor
        for xi, yi, train in zip(x, y, [1] * 7 + [0] * 3, strict=True):
            rows.append(("LM", "val_loss", model, xi, yi, train))
    df = pd.DataFrame(
        rows, columns=["Domain", "Task", "Model", "Seen Examples", "Loss", "Training"]
    )
    pd.concat([df, df[df["Model"] == "small"]]).to_csv(path, index=False)
    return path


def test_benchmark_extrapolation_writes_the_documented_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = benchmark_table(tmp_path / "bench.csv")
    out = tmp_path / "bench.json"
    code = run_app(
        ["benchmark", "extrapolation", str(data), "--laws", "m1,power_const", "--json", str(out)]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "win rate" in text and "2 evaluations" in text
    doc = json.loads(out.read_text())
    assert set(doc["estimators"]) == {"m1", "power_const", "auto"}
    for est in doc["estimators"].values():
        assert {"median_rmse", "win_rate", "coverage90"} <= set(est)
    assert len(doc["evaluations"]) == 2  # the repeated rows were dropped, not a third curve
    ev = doc["evaluations"][0]
    assert (ev["domain"], ev["task"], ev["model"]) == ("LM", "val_loss", "small")
    assert set(ev["rmse"]) == {"m1", "power_const", "auto"}
    # Noise-free curves of power_const's own form: it wins both, and auto (a stack of the two
    # laws, pulled a little toward equal weights) leans on it and is far ahead of m1.
    assert doc["estimators"]["power_const"]["win_rate"] == 1.0
    for ev in doc["evaluations"]:
        assert ev["auto_choice"].startswith(("power_const", "average of power_const"))
        assert ev["rmse"]["auto"] < ev["rmse"]["m1"] / 5


def test_benchmark_extrapolation_rejects_a_table_without_its_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_curve(tmp_path / "curve.csv", 6)
    assert run_app(["benchmark", "extrapolation", str(data)]) == 2
    assert "Seen Examples" in capsys.readouterr().err


def test_the_calibration_line_says_how_the_interval_grows() -> None:
    """The half-width `fit --law auto` prints is the one at the backtests' reach; the line says
    how it grows within the reach and past it, and says nothing where there is no reach."""
    base = Calibration(scores=((1.0, 2.0),), noise=0.01, x_max=10.0, reach=0.693, growth=1.0)
    assert growth_text(base) == (
        " at d = 0.693 (d = ln(x / largest x), the backtests' reach), ∝ d within it"
    )
    assert growth_text(replace(base, beyond=1.0)).endswith("∝ d within it and ∝ d² past it")
    assert growth_text(replace(base, growth=0.5, beyond=1.0)).endswith(
        "∝ d^0.5 within it and ∝ d^1.5 past it"
    )
    assert growth_text(replace(base, reach=math.nan)) == ""
    assert growth_text(replace(base, growth=0.0)) == ""


def test_fit_auto_error_rate_calibrates_at_the_error_scale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--error-rate`: the same prediction, the interval at DEFAULT_RULE.error_scale, which the
    fit file keeps (so `predict` gives it) and the output says."""
    from scalinglab.selection.rule import DEFAULT_RULE

    data = write_curve(tmp_path / "curve.csv", 12)
    args = ["fit", str(data), "--law", "auto", "--x", "shard_size", "--y", "best_val_error",
            "--candidates", "m2,power_const", "--target", "shard_size=1e7"]  # fmt: skip
    docs = {}
    for flag in ([], ["--error-rate"]):
        out = tmp_path / f"fit{len(flag)}.json"
        assert run_app([*args, *flag, "--json", str(out)]) == 0
        docs[bool(flag)] = json.loads(out.read_text())
    text = " ".join(capsys.readouterr().out.split())
    assert "y is an error rate: the interval at its scale, 3.1361 (loss curves 2.1226)" in text
    assert docs[True]["calibration"]["scale"] == DEFAULT_RULE.error_scale
    assert docs[False]["calibration"]["scale"] == DEFAULT_RULE.scale
    loss, err = docs[False]["target_prediction"], docs[True]["target_prediction"]
    assert err["prediction"] == pytest.approx(loss["prediction"], rel=1e-12)
    assert err["interval"][0] < loss["interval"][0] and err["interval"][1] > loss["interval"][1]
