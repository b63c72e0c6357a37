"""`fit --formula` and `predict --table` (issue 15): a formula law from the command line, per
group, saved and read back to predict a whole table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalinglab.cli import run_app

CHINCHILLA = Path("../shared/data/chinchilla_besiroglu2024.csv").resolve()


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run_app(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_chinchilla_formula_fit_matches_the_replication_and_predicts_a_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fit = tmp_path / "fit.json"
    code, out, err = run(
        [
            "fit", str(CHINCHILLA), "--formula", "E + A/params^alpha + B/tokens**beta",
            "--y", "loss", "--where", "epoch_outlier == 0", "--bootstrap", "0",
            "--json", str(fit),
        ],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "formula: E + A/params^alpha + B/tokens**beta" in out
    doc = json.loads(fit.read_text())
    assert doc["law"] == "formula" and doc["x"] == ["params", "tokens"]
    # Besiroglu et al. 2024: E = 1.8172, A = 477.9, B = 2143, alpha = 0.3473, beta = 0.3672
    expected = {"E": 1.8172, "A": 477.9, "B": 2143.0, "alpha": 0.3473, "beta": 0.3672}
    for name, value in expected.items():
        assert doc["params"][name] == pytest.approx(value, rel=1e-3), name

    out_csv = tmp_path / "pred.csv"
    code, out, err = run(
        ["predict", str(fit), "--table", str(CHINCHILLA), "--y", "loss", "--out", str(out_csv)],
        capsys,
    )
    assert code == 0, err
    assert "R²" in out and "MAPE" in out
    pred = pd.read_csv(out_csv)
    assert list(pred.columns[-3:]) == ["prediction", "lower", "upper"]
    assert len(pred) == 245
    ok = pred["lower"].notna()
    assert ok.all() and (pred["lower"] <= pred["prediction"] + 1e-9).all()
    assert (pred["upper"] >= pred["prediction"] - 1e-9).all()

    code, out, err = run(
        ["predict", str(fit), "--table", str(CHINCHILLA), "--y", "loss", "--json", "-"], capsys
    )
    assert code == 0, err
    payload = json.loads(out)
    r2 = payload["metrics"]["all rows"]["r2"]
    resid = np.asarray(payload["prediction"]) - pred["loss"].to_numpy()
    expected_r2 = 1 - np.sum(resid**2) / np.sum((pred["loss"] - pred["loss"].mean()) ** 2)
    assert r2 == pytest.approx(expected_r2, rel=1e-9)


@pytest.fixture
def grouped(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    rows = []
    for task, (a, c) in {"lm": (3.0, 0.2), "mt": (5.0, 0.4), "asr": (2.0, 0.1)}.items():
        for m in np.geomspace(1e3, 1e6, 10):
            rows.append((task, m, (a * m**-0.3 + c) * np.exp(rng.normal(0, 1e-3))))
    path = tmp_path / "curves.csv"
    pd.DataFrame(rows, columns=["task", "shard", "err"]).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("shared", [False, True])
def test_grouped_fit_gives_a_table_per_group_and_predicts_per_group(
    grouped: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], shared: bool
) -> None:
    fit = tmp_path / "fit.json"
    argv = ["fit", str(grouped), "--formula", "a * shard**-b + c", "--y", "err"]
    argv += ["--group", "task", "--bootstrap", "0", "--json", str(fit)]
    if shared:
        argv += ["--shared", "b"]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    for task in ("lm", "mt", "asr"):
        assert f"task = {task}" in out
    assert ("b (shared)" in out) == shared
    doc = json.loads(fit.read_text())
    assert set(doc["by_group"]) == {"lm", "mt", "asr"}
    assert doc["by_group"]["mt"]["params"]["a"] == pytest.approx(5.0, rel=0.05)
    assert doc["by_group"]["lm"]["params"]["b"] == pytest.approx(0.3, rel=0.02)
    assert doc["by_group"]["asr"]["n_points"] == 10

    out_file = tmp_path / "pred.parquet"
    code, out, err = run(
        ["predict", str(fit), "--table", str(grouped), "--y", "err", "--out", str(out_file)],
        capsys,
    )
    assert code == 0, err
    assert "task = mt" in out
    pred = pd.read_parquet(out_file)
    np.testing.assert_allclose(pred["prediction"], pred["err"], rtol=0.01)


@pytest.fixture
def two_outputs(tmp_path: Path) -> Path:
    """A loss and an error measured on the same runs, decaying with the same exponents."""
    rng = np.random.default_rng(0)
    N = np.repeat(np.geomspace(1e7, 1e9, 5), 4)
    D = np.tile(np.geomspace(1e9, 1e11, 4), 5)
    noise = np.exp(rng.normal(0, 1e-3, (2, N.size)))
    loss = (1.7 + 400 / N**0.34 + 1200 / D**0.28) * noise[0]
    err = (0.05 + 30 / N**0.34 + 90 / D**0.28) * noise[1]
    path = tmp_path / "two.csv"
    pd.DataFrame({"N": N, "D": D, "loss": loss, "err": err}).to_csv(path, index=False)
    return path


def test_several_outputs_fit_jointly_and_predict_a_column_each(
    two_outputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fit = tmp_path / "fit.json"
    argv = ["fit", str(two_outputs), "--formula", "E + A/N**alpha + B/D**beta", "--y", "loss"]
    argv += ["--formula", "F + G/N**alpha + H/D**beta", "--y", "err"]
    code, out, err = run([*argv, "--bootstrap", "20", "--json", str(fit)], capsys)
    assert code == 0, err
    assert "loss = E + A/N**alpha + B/D**beta" in out and "fitted jointly: 40 points" in out
    assert "loss, err" in out  # alpha and beta enter both outputs
    doc = json.loads(fit.read_text())
    assert doc["law"] == "joint_formula" and doc["y"] == ["loss", "err"]
    assert doc["x"] == ["N", "D", "output"] and doc["shared"] == ["alpha", "beta"]
    assert doc["outputs"]["err"]["formula"] == "F + G/N**alpha + H/D**beta"
    assert doc["outputs"]["err"]["n_points"] == 20
    assert doc["params"]["alpha"] == pytest.approx(0.34, rel=0.02)
    assert doc["params"]["beta"] == pytest.approx(0.28, rel=0.02)

    out_csv = tmp_path / "pred.csv"
    argv = ["predict", str(fit), "--table", str(two_outputs), "--out", str(out_csv)]
    code, out, err = run([*argv, "--y", "loss", "--y", "err"], capsys)
    assert code == 0, err
    assert "prediction of loss" in out and "prediction of err" in out
    pred = pd.read_csv(out_csv)
    for output in ("loss", "err"):
        assert {f"prediction_{output}", f"lower_{output}", f"upper_{output}"} <= set(pred)
        np.testing.assert_allclose(pred[f"prediction_{output}"], pred[output], rtol=0.01)
        assert (pred[f"lower_{output}"] <= pred[f"upper_{output}"]).all()

    code, out, err = run(["predict", str(fit), "--at", "N=1e10,D=1e12", "--json", "-"], capsys)
    assert code == 0, err
    payload = json.loads(out)
    assert set(payload["prediction"]) == {"loss", "err"}
    assert payload["prediction"]["loss"] > payload["prediction"]["err"]


# Two outputs per group (issue 15): loss and err share the exponent alpha within a group; each
# group has its own constants.
GROUP_TRUTH = {"lm": {"E": 1.7, "A": 400.0, "F": 0.05, "G": 30.0},
               "mt": {"E": 2.2, "A": 900.0, "F": 0.1, "G": 60.0}}  # fmt: skip


def true_outputs(task: str, N: np.ndarray, alpha: float) -> dict[str, np.ndarray]:
    t = GROUP_TRUTH[task]
    return {"loss": t["E"] + t["A"] * N**-alpha, "err": t["F"] + t["G"] * N**-alpha}


def write_grouped_outputs(path: Path, alphas: dict[str, float]) -> Path:
    rng = np.random.default_rng(1)
    frames = []
    for task, alpha in alphas.items():
        N = np.geomspace(1e6, 1e10, 8)
        values = true_outputs(task, N, alpha)
        noisy = {k: v * np.exp(rng.normal(0, 1e-3, N.size)) for k, v in values.items()}
        frames.append(pd.DataFrame({"task": task, "N": N, **noisy}))
    pd.concat(frames).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("shared", [False, True])
def test_several_outputs_per_group_fit_jointly_in_each_group_and_predict_per_group(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], shared: bool
) -> None:
    # apart, each group has its own alpha; with --shared alpha the data have one
    alphas = {"lm": 0.3, "mt": 0.3 if shared else 0.25}
    data = write_grouped_outputs(tmp_path / "grouped.csv", alphas)
    fit = tmp_path / "fit.json"
    argv = ["fit", str(data), "--formula", "E + A/N**alpha", "--y", "loss"]
    argv += ["--formula", "F + G/N**alpha", "--y", "err", "--group", "task"]
    argv += ["--bootstrap", "20", "--json", str(fit)] + (["--shared", "alpha"] if shared else [])
    code, out, err = run(argv, capsys)
    assert code == 0, err
    assert "loss = E + A/N**alpha" in out and "one fit per task" in out
    assert "task = lm" in out and "task = mt" in out
    assert ("alpha (shared)" in out) == shared
    doc = json.loads(fit.read_text())
    assert doc["law"] == "joint_formula" and doc["y"] == ["loss", "err"]
    assert doc["x"] == ["N", "task", "output"] and doc["group"] == "task"
    assert doc["shared"] == ["alpha"]  # written in both formulas
    assert set(doc["by_group"]) == {"lm", "mt"}
    for task, truth in GROUP_TRUTH.items():
        entry = doc["by_group"][task]
        assert entry["n_points"] == 16 and entry["n_points_by_output"] == {"loss": 8, "err": 8}
        assert entry["shared"] == (["alpha"] if shared else [])
        assert entry["params"]["alpha"] == pytest.approx(alphas[task], rel=0.01), task
        for name, value in truth.items():
            assert entry["params"][name] == pytest.approx(value, rel=0.05), (task, name)
    if shared:  # one alpha for both groups
        assert "alpha" in doc["params"] and "alpha[lm]" not in doc["params"]
        assert doc["by_group"]["lm"]["params"]["alpha"] == doc["by_group"]["mt"]["params"]["alpha"]
    else:
        assert {"alpha[lm]", "alpha[mt]"} <= set(doc["params"]) and "alpha" not in doc["params"]

    out_csv = tmp_path / "pred.csv"
    argv = ["predict", str(fit), "--table", str(data), "--y", "loss", "--y", "err"]
    code, out, err = run([*argv, "--out", str(out_csv)], capsys)
    assert code == 0, err
    assert "prediction of err" in out and "task = mt" in out
    pred = pd.read_csv(out_csv)
    assert len(pred) == 16
    for output in ("loss", "err"):
        assert {f"prediction_{output}", f"lower_{output}", f"upper_{output}"} <= set(pred)
        for task in ("lm", "mt"):
            rows = pred[pred["task"] == task]
            expected = true_outputs(task, rows["N"].to_numpy(), alphas[task])[output]
            np.testing.assert_allclose(rows[f"prediction_{output}"], expected, rtol=0.01)
        assert (pred[f"lower_{output}"] <= pred[f"prediction_{output}"] + 1e-12).all()
        assert (pred[f"upper_{output}"] >= pred[f"prediction_{output}"] - 1e-12).all()

    code, out, err = run(["predict", str(fit), "--at", "N=1e9"], capsys)
    assert code == 2 and "predict it with --table" in err and "Traceback" not in err


def test_a_group_with_too_few_points_for_its_own_parameters_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_grouped_outputs(tmp_path / "grouped.csv", {"lm": 0.3, "mt": 0.3})
    df = pd.read_csv(data)
    df = pd.concat([df, df[df["task"] == "lm"].head(1).assign(task="tiny")])
    df.to_csv(data, index=False)
    argv = ["fit", str(data), "--formula", "E + A/N**alpha", "--y", "loss"]
    argv += ["--formula", "F + G/N**alpha", "--y", "err", "--group", "task", "--bootstrap", "0"]
    for extra, needle in (
        ([], "group task=tiny: law 'joint_formula' has 5 free parameters but only 2 points"),
        (["--shared", "alpha"], "group task=tiny has 2 points for its 4 own parameters"),
    ):
        code, _out, err = run([*argv, *extra], capsys)
        assert code == 2 and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1 and needle in err, err


# Found by fuzzing: a group label or column name from the user's table is text to show, never
# markup (once rich.errors.MarkupError) nor raw control characters (an ESC recoloured the
# terminal).
@pytest.mark.parametrize("label", ["[/]", "t\x1b[31mred"])
def test_a_group_label_is_shown_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], label: str
) -> None:
    m = np.geomspace(1e3, 1e6, 8)
    df = pd.DataFrame({"task": label, "shard": m, "err": 3 * m**-0.3 + 0.2})
    df.to_csv(tmp_path / "g.csv", index=False)
    argv = ["fit", str(tmp_path / "g.csv"), "--formula", "a * shard**-b + c", "--y", "err"]
    code, out, err = run([*argv, "--group", "task", "--bootstrap", "0"], capsys)
    assert code == 0, err
    assert "\x1b" not in out + err and "Traceback" not in out + err
    assert f"task = {label}".replace("\x1b", "\\x1b") in out


def test_a_column_name_in_a_formula_is_shown_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    m = np.geomspace(1e3, 1e6, 8)
    pd.DataFrame({"x[/]": m, "y\x1b": 3 * m**-0.3 + 0.2}).to_csv(tmp_path / "c.csv", index=False)
    argv = ["fit", str(tmp_path / "c.csv"), "--formula", "a * `x[/]`**-b + c", "--y", "y\x1b"]
    code, out, err = run([*argv, "--bootstrap", "0"], capsys)
    assert code == 0, err
    assert "\x1b" not in out + err and "x[/]" in out and "y\\x1b" in out


def test_a_grouped_fit_predicted_at_points_says_how_to_predict_it(
    grouped: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # once `missing ['task']`, then `'lm' is not a number`: no --at could work
    fit = tmp_path / "fit.json"
    argv = ["fit", str(grouped), "--formula", "a * shard**-b + c", "--y", "err"]
    assert run([*argv, "--group", "task", "--bootstrap", "0", "--json", str(fit)], capsys)[0] == 0
    code, _, err = run(["predict", str(fit), "--at", "shard=1e5"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "this fit has parameters per task: predict it with --table" in err
