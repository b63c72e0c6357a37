"""`scalinglab tradeoff` and `plan --target-perf --inference-calls` (issue 17): the cheapest
train/test-time split with intervals and its figure, and bad input as one line, exit 2, nothing
written (the pattern of test_hostile_input.py)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalinglab.cli import run_app
from scalinglab.laws import JonesTradeoff, PassAtKCompute
from tests.cli.test_hostile_input import _one_line_error, _snapshot


def _wide_study_table(n_budgets: int = 5) -> pd.DataFrame:
    """What `study export` gives for a test_time study: one row per trial, pass_k columns."""
    truth = PassAtKCompute()
    truth.params_ = {"a": 3e6, "alpha": 0.4, "beta": 0.5}
    rows = []
    for seed in (0, 1):
        for i, flops in enumerate(np.geomspace(1e10, 1e13, n_budgets)):
            row = {"seed": seed, "shard_size": 1000 * 2**i, "state": "COMPLETE", "flops": flops}
            row["test_flops_per_sample"] = 1e5
            for k in (1, 2, 4, 8, 16, 32):
                row[f"pass_k{k}"] = float(truth.predict([[flops, k * 1e5]])[0])
            rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("tradeoff")
    _wide_study_table().to_csv(d / "study.csv", index=False)
    _wide_study_table().drop(columns=[f"pass_k{k}" for k in (1, 2, 4, 8, 16, 32)]).to_csv(
        d / "nopass.csv", index=False
    )
    one = _wide_study_table()
    one["flops"] = 1e11
    one.to_csv(d / "onebudget.csv", index=False)
    text = _wide_study_table().astype({"pass_k4": object, "flops": object})
    text.loc[2, "pass_k4"] = "abc"
    text.to_csv(d / "textpass.csv", index=False)
    text.loc[0, "state"] = "FAIL"  # left out before the check: row numbers stay the file's
    text.to_csv(d / "textpass_failed.csv", index=False)
    text = _wide_study_table().astype({"flops": object})
    text.loc[2, "flops"] = "1e12 FLOPs"
    text.to_csv(d / "textflops.csv", index=False)
    # an empty cell of a finished trial: its points were left out without a word
    empty = _wide_study_table()
    empty.loc[2, "pass_k4"] = np.nan
    empty.to_csv(d / "emptypass.csv", index=False)
    empty.drop(columns="state").to_csv(d / "emptypass_nostate.csv", index=False)
    empty = _wide_study_table()
    empty.loc[4, "test_flops_per_sample"] = np.nan
    empty.to_csv(d / "emptytestflops.csv", index=False)
    unfinished = _wide_study_table()
    unfinished.loc[2, "state"] = "FAIL"  # a trial that did not finish: no measurements
    unfinished.loc[2, ["flops", "pass_k1", "pass_k4"]] = np.nan
    unfinished.to_csv(d / "unfinished.csv", index=False)
    long = pd.DataFrame(
        {
            "train_compute": [1e10, 1e11, 1e12],
            "test_compute": [1e5] * 3,
            "coverage": [0.2, 0.4, 0.6],
        }
    ).astype(object)
    long.loc[1, "coverage"] = "40%"
    long.to_csv(d / "percent.csv", index=False)
    long.loc[1, "coverage"] = None
    long.to_csv(d / "missing.csv", index=False)
    long["coverage"] = 0.0
    long.to_csv(d / "allzero.csv", index=False)
    long["coverage"] = [0.0, 1.0, 1.0]
    long.to_csv(d / "zero_or_one.csv", index=False)
    rng = np.random.default_rng(0)
    X = np.array([(10**lc, e) for lc in np.arange(10.0, 13.1, 0.6) for e in (-1.5, -1.0, -0.5)])
    truth = JonesTradeoff()
    truth.params_ = {"m": -1.2, "k": 4.0, "c": 20.0}
    y = truth.predict(X) * np.exp(0.03 * rng.standard_normal(len(X)))
    law = JonesTradeoff(n_bootstrap=100).fit(X, y)
    (d / "elo.json").write_text(json.dumps(law.to_dict()))
    curve = {"law": "power_const", "params": {"a": 4.0, "b": -0.35, "c": 0.05}}
    (d / "curve.json").write_text(json.dumps(curve))
    cov = {"law": "pass_at_k_compute", "params": {"a": 3e6, "alpha": 0.4, "beta": 0.5}}
    (d / "cov.json").write_text(json.dumps(cov))
    rising = {"law": "jones_tradeoff", "params": {"m": 0.5, "k": 4.0, "c": 1.0}}
    (d / "rising.json").write_text(json.dumps(rising))
    return d


def _run(argv: str, files: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.chdir(files)
    return run_app(shlex.split(argv))


def test_tradeoff_fits_a_study_table_and_plan_reads_its_fit(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fit, fig = tmp_path / "tt.json", tmp_path / "tt.png"
    code = _run(
        f"tradeoff study.csv --bootstrap 50 --save-fit {fit} --plot {fig} --json -",
        files,
        monkeypatch,
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["slope"] == pytest.approx(-0.8, rel=0.02)  # -alpha/beta of the generating law
    assert out["train_multiple_for_10x_test"] == pytest.approx(10**1.25, rel=0.05)
    lo, hi = out["train_multiple_interval"]
    assert lo <= out["train_multiple_for_10x_test"] <= hi
    assert fig.exists() and fig.with_suffix(".svg").exists()

    plot = tmp_path / "split.png"
    code = _run(
        f"plan {fit} --target-perf 0.8 --inference-calls 1e4 --plot {plot} --json -",
        files,
        monkeypatch,
    )
    assert code == 0
    plan = json.loads(capsys.readouterr().out)
    assert plot.exists()
    # At the optimum the calls spend train compute / (-m), whatever their number.
    assert plan["inference_compute"] == pytest.approx(plan["train_compute"] / -plan["slope"])
    lo, hi = plan["intervals"]["total_compute"]
    assert lo <= plan["total_compute"] <= hi
    assert plan["beyond_data"] is None  # 1.2e10 train, 1.5e6 test FLOPs per call: in the data


def test_plan_says_how_far_past_the_fitted_compute_its_split_lies(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fit = tmp_path / "tt.json"
    assert _run(f"tradeoff study.csv --bootstrap 0 --save-fit {fit}", files, monkeypatch) == 0
    # the study's runs: train compute 1e10..1e13, k·1e5 test-time FLOPs with k = 1..32
    assert json.loads(fit.read_text())["x_range"] == {
        "train_compute": [pytest.approx(1e10), pytest.approx(1e13)],
        "test_compute": [pytest.approx(1e5), pytest.approx(3.2e6)],
    }
    capsys.readouterr()
    # many calls: the split trains more and samples less than any run did
    argv = f"plan {fit} --target-perf 0.8 --inference-calls 1e8"
    assert _run(f"{argv} --json -", files, monkeypatch) == 0
    plan = json.loads(capsys.readouterr().out)
    test = plan["test_compute_per_call"]
    assert plan["beyond_data"] == (
        f"beyond the fitted data: C_test per call = {test:.3g} is {np.log10(1e5 / test):.2g} "
        "decades below the smallest test_compute (1e+05)"
    )
    assert _run(argv, files, monkeypatch) == 0
    assert "note: beyond the fitted data: C_test" in " ".join(capsys.readouterr().out.split())
    # fit files without x_range (cov.json; elo.json from the Python API): no note
    for args in ("cov.json --target-perf 0.8", "elo.json --target-perf -0.5"):
        assert _run(f"plan {args} --inference-calls 1e8 --json -", files, monkeypatch) == 0
        assert json.loads(capsys.readouterr().out)["beyond_data"] is None


def test_tradeoff_leaves_out_trials_that_did_not_finish(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A trial whose state is not COMPLETE is left out, empty cells and all (its 6 points)."""
    assert _run("tradeoff unfinished.csv --bootstrap 0 --json -", files, monkeypatch) == 0
    assert json.loads(capsys.readouterr().out)["n_points"] == 10 * 6 - 6


def test_plan_of_an_elo_tradeoff_with_a_win_rate(
    files: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run(
        "plan elo.json --target-win-rate 0.64 --vs-elo -1.0 --inference-calls 1e3 --json -",
        files,
        monkeypatch,
    )
    assert code == 0
    plan = json.loads(capsys.readouterr().out)
    # The target is the reference's rating plus the Elo difference of the win rate.
    assert plan["target_perf"] == pytest.approx(-1.0 + 400 * np.log10(0.64 / 0.36))
    assert plan["slope"] == pytest.approx(-1.2, abs=0.05)
    assert plan["n_draws"] == 100


BAD = [
    ("tradeoff nopass.csv", "no test-time column"),
    ("tradeoff onebudget.csv", "one budget only"),
    ("tradeoff study.csv --plot fig.pdf", "--plot takes a .png or .svg"),
    ("tradeoff nosuchstudy", "no study database"),
    # text where numbers belong: one line naming the column and row, never a pandas traceback
    ("tradeoff textpass.csv", "column 'pass_k4' holds 'abc' at data row 3"),
    ("tradeoff textpass_failed.csv", "column 'pass_k4' holds 'abc' at data row 3"),
    ("tradeoff textflops.csv", "column 'flops' holds '1e12 FLOPs' at data row 3"),
    ("tradeoff percent.csv", "column 'coverage' has 1 missing, non-numeric"),
    ("tradeoff missing.csv", "(first at data row 2); fix or drop those rows"),
    # no run ever solved a problem: not the all-solved message (fuzzing finding 8)
    ("tradeoff allzero.csv", "every coverage is 0: no run solved a problem"),
    ("tradeoff zero_or_one.csv", "every coverage is 1 (rows with 0 are left out)"),
    # a finished trial's empty cell: refused like text, naming its column and data row
    (
        "tradeoff emptypass.csv",
        "column 'pass_k4' is empty at data row 3, a finished trial (state COMPLETE); fill it in "
        "or drop that row",
    ),
    (
        "tradeoff emptypass_nostate.csv",
        "column 'pass_k4' is empty at data row 3, a finished trial (a table without a state",
    ),
    ("tradeoff emptytestflops.csv", "column 'test_flops_per_sample' is empty at data row 5"),
    ("plan curve.json --target-perf 0.5 --inference-calls 10", "no test-time compute column"),
    ("plan cov.json --target-perf 0.5", "go with --inference-calls"),
    ("plan cov.json --inference-calls 10", "needs a target"),
    ("plan cov.json --target-perf 1.5 --inference-calls 10", "strictly between 0 and 1"),
    ("plan cov.json --target-perf 0.5 --inference-calls 0", "--inference-calls must be"),
    ("plan cov.json --target-perf 0.5 --inference-calls -5", "--inference-calls must be"),
    ("plan cov.json --target-perf 0.5 --inference-calls abc", "Invalid value"),
    ("plan cov.json --target-perf 0.5 --target-win-rate 0.6 --inference-calls 9", "not both"),
    ("plan elo.json --target-win-rate 0.6 --inference-calls 10", "against a reference"),
    ("plan elo.json --target-win-rate 1.0 --vs-elo 0 --inference-calls 10", "strictly between"),
    ("plan cov.json --target-win-rate 0.6 --vs-elo 0 --inference-calls 10", "needs an Elo fit"),
    ("plan rising.json --target-perf -1 --inference-calls 10", "is not negative"),
    ("plan cov.json --target-perf 0.5 --inference-calls 10 --plot x.txt", "--plot takes"),
    ("plan cov.json --compute 1e20 --vs-elo 3", "go with --inference-calls"),
]


@pytest.mark.parametrize(("args", "needle"), BAD, ids=[a for a, _ in BAD])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    args: str,
    needle: str,
    files: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = _snapshot(files)
    code = _run(args, files, monkeypatch)
    _, err = capsys.readouterr()
    _one_line_error(code, err, needle)
    assert _snapshot(files) == before, "a failed command wrote or changed files"
