"""`scalinglab plan` and `scalinglab isoflop`: tables, JSON, and one-line errors (exit 2)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scalinglab.cli  # noqa: F401  (registers the commands)
from scalinglab.cli.app import run_app

EXAMPLE = {"E": 1.7002, "A": 184.69, "B": 1633.48, "alpha": 0.2890, "beta": 0.3558}
HOFFMANN = {"E": 1.69337, "A": 406.401, "B": 410.723, "alpha": 0.33917, "beta": 0.28491}


def write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def example_fit(tmp_path: Path) -> Path:
    return write(tmp_path / "fit.json", {"law": "chinchilla", "params": EXAMPLE})


@pytest.fixture
def fit_with_draws(tmp_path: Path) -> Path:
    """A chinchilla fit file with 300 bootstrap-like draws around the example parameters."""
    rng = np.random.default_rng(0)
    center = np.array([EXAMPLE[k] for k in ("E", "A", "B", "alpha", "beta")])
    draws = center * np.exp(rng.normal(0, [0.01, 0.05, 0.05, 0.02, 0.02], (300, 5)))
    doc = {"law": "chinchilla", "params": EXAMPLE, "bootstrap_params": draws.tolist()}
    return write(tmp_path / "boot.json", doc)


@pytest.fixture
def curve_fit(tmp_path: Path) -> Path:
    return write(
        tmp_path / "curve.json", {"law": "power_const", "params": {"a": 3.0, "b": -0.3, "c": 0.05}}
    )


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run_app(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_plan_compute_json(
    example_fit: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_path = tmp_path / "plan.json"
    code, out, _ = run(
        ["plan", str(example_fit), "--compute", "1e24", "--json", str(out_path)], capsys
    )
    assert code == 0
    assert "N_opt" in out and "1.605e+11" in out
    doc = json.loads(out_path.read_text())
    assert {"compute", "n_opt", "d_opt", "tokens_per_param", "loss"} <= set(doc)
    assert doc["n_opt"] == pytest.approx(1.60e11, rel=0.01)
    assert doc["d_opt"] == pytest.approx(1.04e12, rel=0.01)
    assert doc["exponents"]["a"] == pytest.approx(0.3558 / (0.2890 + 0.3558))


def test_plan_compute_intervals(fit_with_draws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["plan", str(fit_with_draws), "--compute", "1e24", "--json", "-"], capsys)
    assert code == 0
    doc = json.loads(out)
    for key in ("n_opt", "d_opt", "tokens_per_param", "loss"):
        lo, hi = doc["intervals"][key]
        assert lo < doc[key] < hi
    assert doc["interval_source"] == "bootstrap" and doc["n_draws"] == 300


def test_plan_flop_constant(example_fit: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        [
            "plan",
            str(example_fit),
            "--compute",
            "1e24",
            "--flops-per-param-token",
            "8",
            "--json",
            "-",
        ],
        capsys,
    )
    assert code == 0
    doc = json.loads(out)
    assert 8 * doc["n_opt"] * doc["d_opt"] == pytest.approx(1e24)


def test_plan_target_loss(example_fit: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["plan", str(example_fit), "--target-loss", "2.0", "--json", "-"], capsys)
    assert code == 0
    doc = json.loads(out)
    n, d = doc["n_opt"], doc["d_opt"]
    loss = EXAMPLE["E"] + EXAMPLE["A"] / n ** EXAMPLE["alpha"] + EXAMPLE["B"] / d ** EXAMPLE["beta"]
    assert loss == pytest.approx(2.0, rel=1e-6)


def test_plan_target_error(curve_fit: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["plan", str(curve_fit), "--target-error", "0.1", "--json", "-"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert 3.0 * doc["value"] ** -0.3 + 0.05 == pytest.approx(0.1, rel=1e-6)
    code, out, _ = run(["plan", str(curve_fit), "--target-error", "0.1"], capsys)
    assert code == 0 and "irreducible" in out


def test_plan_model_sizes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fit = write(tmp_path / "h.json", {"law": "chinchilla", "params": HOFFMANN})
    sizes = "4e8,1e9,1e10,6.7e10,1.75e11,2.8e11,5.2e11,1e12,1e13"
    code, out, _ = run(["plan", str(fit), "--model-sizes", sizes], capsys)
    assert code == 0 and "Gopher" in out and "1/" in out
    code, out, _ = run(["plan", str(fit), "--model-sizes", sizes, "--json", "-"], capsys)
    rows = json.loads(out)["rows"]
    assert [r["params"] for r in rows] == [float(s) for s in sizes.split(",")]
    assert rows[3]["flops_gopher"] == pytest.approx(rows[3]["flops"] / 5.76e23)


def test_plan_unique_tokens(example_fit: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["plan", str(example_fit), "--compute", "1e22", "--unique-tokens", "1e10", "--json", "-"],
        capsys,
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["epochs"] == pytest.approx(doc["d_opt"] / 1e10)
    assert doc["loss_lost_to_repetition"] > 0


def test_plan_inference_tokens(example_fit: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        [
            "plan",
            str(example_fit),
            "--compute",
            "1e22",
            "--inference-tokens",
            "1e12",
            "--json",
            "-",
        ],
        capsys,
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["n_opt"] < doc["n_chinchilla"] and doc["savings"] > 0


def isoflop_csv(path: Path, noise: float = 0.003) -> Path:
    rng = np.random.default_rng(0)
    E, A, B, al, be = (HOFFMANN[k] for k in ("E", "A", "B", "alpha", "beta"))
    G = (al * A / (be * B)) ** (1 / (al + be))
    rows = []
    for c in np.geomspace(6e18, 3e21, 9):
        n_opt = G * (c / 6) ** (be / (al + be))
        for n in n_opt * np.geomspace(0.15, 6, 11):
            d = c / (6 * n)
            rows.append((n, d, c, (E + A * n**-al + B * d**-be) * np.exp(rng.normal(0, noise))))
    pd.DataFrame(rows, columns=["N", "D", "C", "L"]).to_csv(path, index=False)
    return path


def test_isoflop_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = isoflop_csv(tmp_path / "runs.csv")
    out_path = tmp_path / "iso.json"
    argv = ["isoflop", str(runs), "--params", "N", "--tokens", "D", "--flops", "C", "--loss", "L"]
    code, out, _ = run([*argv, "--bootstrap", "200", "--json", str(out_path)], capsys)
    assert code == 0 and "N_opt ∝ C^a" in out
    doc = json.loads(out_path.read_text())
    a_true = HOFFMANN["beta"] / (HOFFMANN["alpha"] + HOFFMANN["beta"])
    assert doc["a"] == pytest.approx(a_true, abs=0.02)
    assert doc["b"] == pytest.approx(1 - a_true, abs=0.02)
    assert len(doc["budgets"]) == 9
    code, out, _ = run([*argv, "--method", "envelope", "--bootstrap", "0"], capsys)
    assert code == 0 and "envelope" in out


def one_line_error(code: int, err: str, needle: str) -> None:
    assert code == 2
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error:") and needle in lines[0], err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--compute", "0"], "positive"),
        (["--compute", "-1e20"], "positive"),
        (["--target-loss", "1.5"], "irreducible"),
        (["--target-error", "0.1"], "one-variable"),
        (["--compute", "1e22", "--target-loss", "2"], "one query"),
        ([], "say what to plan"),
        (["--model-sizes", "1e9,abc"], "comma-separated"),
        (["--unique-tokens", "1e10"], "--compute"),
        (["--compute", "1e22", "--unique-tokens", "-5"], "unique tokens"),
        (["--compute", "1e22", "--flops-per-param-token", "0"], "> 0"),
        # plans of models under one parameter
        (["--model-sizes", "0.5"], "at least one parameter, got 0.5"),
        (["--model-sizes", "1e9,inf"], "at least one parameter, got inf"),
        (["--compute", "1e-10", "--inference-tokens", "1e12"], "under one"),
        (["--target-loss", "1e4", "--inference-tokens", "1e12"], "under one"),
        (["--compute", "1e-10", "--unique-tokens", "1e10"], "cannot train even one parameter"),
        (["--compute", "5", "--unique-tokens", "1e10"], "cannot train even one parameter"),
    ],
)
def test_plan_bad_input(
    example_fit: Path, args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["plan", str(example_fit), *args], capsys)
    one_line_error(code, err, needle)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--compute", "1e22"], "params"),
        (["--model-sizes", "1e9"], "params"),
        (["--compute", "1e22", "--unique-tokens", "1e9"], "chinchilla or data_constrained"),
        (["--target-error", "0.01"], "irreducible"),
    ],
)
def test_plan_wrong_law(
    curve_fit: Path, args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["plan", str(curve_fit), *args], capsys)
    one_line_error(code, err, needle)


def test_plan_bad_fit_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["plan", str(tmp_path / "missing.json"), "--compute", "1e22"], capsys)
    one_line_error(code, err, "no such fit file")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = run(["plan", str(bad), "--compute", "1e22"], capsys)
    one_line_error(code, err, "not a valid JSON")


def test_isoflop_bad_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = isoflop_csv(tmp_path / "runs.csv")
    code, _, err = run(
        ["isoflop", str(runs), "--params", "nope", "--flops", "C", "--loss", "L"], capsys
    )
    one_line_error(code, err, "no column 'nope'")
    text = tmp_path / "text.csv"
    text.write_text("params,flops,loss\n1e8,1e20,abc\n2e8,1e20,3.0\n")
    code, _, err = run(["isoflop", str(text)], capsys)
    one_line_error(code, err, "non-numeric")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, _, err = run(["isoflop", str(empty)], capsys)
    one_line_error(code, err, "empty")
    one = tmp_path / "one.csv"
    one.write_text("params,flops,loss\n1e8,1e20,3.1\n2e8,1e20,3.0\n4e8,1e20,3.05\n")
    code, _, err = run(["isoflop", str(one), "--bootstrap", "0"], capsys)
    one_line_error(code, err, "2 or more budgets")
    code, _, err = run(["isoflop", str(one), "--method", "magic"], capsys)
    one_line_error(code, err, "--method")


def test_isoflop_refuses_one_column_for_two_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = isoflop_csv(tmp_path / "runs.csv")
    code, _, err = run(["isoflop", str(runs), "--params", "N", "--tokens", "N"], capsys)
    one_line_error(code, err, "--params and --tokens both name column 'N'")


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("plan", "isoflop"):
        code, out, _ = run([command, "--help"], capsys)
        assert code == 0 and "Examples" in out


def test_fit_then_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x = np.geomspace(1e3, 1e7, 10)
    pd.DataFrame({"shard_size": x, "err": 3 * x**-0.3 + 0.05}).to_csv(
        tmp_path / "c.csv", index=False
    )
    fit = tmp_path / "curve.json"
    code, _, err = run(
        [
            "fit",
            str(tmp_path / "c.csv"),
            "--law",
            "power_const",
            "--x",
            "shard_size",
            "--y",
            "err",
            "--json",
            str(fit),
        ],
        capsys,
    )
    assert code == 0, err
    code, out, _ = run(["plan", str(fit), "--target-error", "0.1", "--json", "-"], capsys)
    assert code == 0
    value = json.loads(out)["value"]
    assert 3 * value**-0.3 + 0.05 == pytest.approx(0.1, rel=1e-3)


def test_plan_from_isoflop_result(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = isoflop_csv(tmp_path / "runs.csv")
    iso = tmp_path / "iso.json"
    argv = ["isoflop", str(runs), "--params", "N", "--tokens", "D", "--flops", "C", "--loss", "L"]
    assert run([*argv, "--bootstrap", "0", "--json", str(iso)], capsys)[0] == 0
    doc = json.loads(iso.read_text())
    code, out, _ = run(["plan", str(iso), "--model-sizes", "1e9,1e10", "--json", "-"], capsys)
    assert code == 0
    rows = json.loads(out)["rows"]
    n_line = doc["n_line"]
    for r in rows:
        assert n_line["coef"] * r["flops"] ** n_line["exponent"] == pytest.approx(r["params"])
    code, out, _ = run(["plan", str(iso), "--compute", "1e22", "--json", "-"], capsys)
    assert code == 0 and json.loads(out)["a"] == pytest.approx(doc["a"])
    largest = max(b["compute"] for b in doc["budgets"])  # past it, the lines are extrapolated
    decades = f"{np.log10(1e22 / largest):.2g}"
    assert json.loads(out)["beyond_data"] == (
        f"beyond the fitted data: C = 1e+22 is {decades} decades above the largest compute "
        f"({largest:.3g})"
    )
    code, _, err = run(["plan", str(iso), "--compute", "1e-30"], capsys)
    one_line_error(code, err, "under one")
    doc["budgets"][0]["compute"] = 10**400  # a hand-edited file: no range, no traceback
    edited = write(tmp_path / "edited.json", doc)
    code, out, _ = run(["plan", str(edited), "--compute", "1e22", "--json", "-"], capsys)
    assert code == 0 and json.loads(out)["n_opt"] > 0
    code, _, err = run(["plan", str(iso), "--model-sizes", "1e300"], capsys)
    one_line_error(code, err, "ask for sizes near the runs fitted")
    doc["n_line"]["exponent"] = 10**400
    code, _, err = run(["plan", str(write(tmp_path / "e.json", doc)), "--compute", "1e22"], capsys)
    one_line_error(code, err, "must be finite numbers")
    code, _, err = run(["plan", str(iso), "--target-loss", "2.0"], capsys)
    one_line_error(code, err, "--compute and --model-sizes only")


def test_plan_flops_function(example_fit: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # C = N·D as the FLOP model, i.e. k = 1: the plan for 1e24 FLOPs is 6·N·D's for 6e24
    code, out, _ = run(
        ["plan", str(example_fit), "--compute", "1e24", "--flops-function", "N*D", "--json", "-"],
        capsys,
    )
    assert code == 0
    doc = json.loads(out)
    code, out, _ = run(["plan", str(example_fit), "--compute", "6e24", "--json", "-"], capsys)
    assert doc["n_opt"] == pytest.approx(json.loads(out)["n_opt"], rel=1e-5)
    assert doc["method"] == "numeric"
    # a cost per token that does not scale with N makes tokens dearer: a bigger model, fewer D
    args = ["--compute", "1e24", "--flops-function", "N*D + 1e9*D", "--json", "-"]
    code, out, _ = run(["plan", str(example_fit), *args], capsys)
    assert code == 0
    assert json.loads(out)["n_opt"] > doc["n_opt"]
    for spec, needle in (
        ("numpy:multiply", "not a valid expression"),
        ("N*tokens", "N (parameters) and D (tokens) only, not 'tokens'"),
        ("exp(N)", "may not use function calls"),
    ):
        code, _, err = run(
            ["plan", str(example_fit), "--compute", "1e24", "--flops-function", spec], capsys
        )
        one_line_error(code, err, needle)


def test_plan_flops_function_answers_target_loss_and_model_sizes(
    example_fit: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The README's function charges 20006 FLOPs for one parameter on one token, more than the
    # 1e2 FLOPs where the budget searches used to start; the answers must agree with --compute.
    flops = ["--flops-function", "6*N*D + 2e4*D", "--json", "-"]
    code, out, _ = run(["plan", str(example_fit), "--target-loss", "2", *flops], capsys)
    assert code == 0
    target = json.loads(out)
    code, out, _ = run(
        ["plan", str(example_fit), "--compute", str(target["compute"]), *flops], capsys
    )
    assert code == 0
    assert json.loads(out)["loss"] == pytest.approx(2.0, rel=1e-6)
    code, out, _ = run(["plan", str(example_fit), "--model-sizes", "1e9", *flops], capsys)
    assert code == 0
    (row,) = json.loads(out)["rows"]
    code, out, _ = run(["plan", str(example_fit), "--compute", str(row["flops"]), *flops], capsys)
    assert json.loads(out)["n_opt"] == pytest.approx(1e9, rel=1e-4)


def test_plan_says_how_far_past_the_fitted_data_its_answer_lies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x = np.geomspace(1e3, 1e7, 10)
    pd.DataFrame({"shard_size": x, "err": 3 * x**-0.3 + 0.05}).to_csv(tmp_path / "c.csv")
    fit = tmp_path / "curve.json"
    argv = ["fit", str(tmp_path / "c.csv"), "--law", "power_const", "--x", "shard_size"]
    code, _, err = run([*argv, "--y", "err", "--json", str(fit)], capsys)
    assert code == 0, err
    assert json.loads(fit.read_text())["x_range"] == {"shard_size": [pytest.approx(1e3), 1e7]}
    code, out, _ = run(["plan", str(fit), "--target-error", "0.1", "--json", "-"], capsys)
    assert code == 0 and json.loads(out)["beyond_data"] is None  # 8.4e5: inside the data
    code, out, _ = run(["plan", str(fit), "--target-error", "0.06", "--json", "-"], capsys)
    doc = json.loads(out)
    decades = np.log10(doc["value"] / 1e7)  # (0.01 / 3)^(-1/0.3) = 1.8e8
    assert f"is {decades:.2g} decades above the largest shard_size (1e+07)" in doc["beyond_data"]
    code, out, _ = run(["plan", str(fit), "--target-error", "0.06"], capsys)
    assert code == 0 and "note: beyond the fitted data" in " ".join(out.split())


def test_plan_refuses_a_model_under_one_parameter(
    example_fit: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["plan", str(example_fit), "--compute", "1e24", "--json", "-"], capsys)
    assert code == 0 and json.loads(out)["beyond_data"] is None  # no x_range in this file
    code, _, err = run(["plan", str(example_fit), "--compute", "1e-300"], capsys)
    one_line_error(code, err, "under one")


# A fit file as `fit --json` writes it for columns N and D (law variables params, tokens).
FITTED_ON = {"x": ["N", "D"], "x_range": {"N": [1e7, 1e9], "D": [1e8, 2e10]}}


@pytest.mark.parametrize(
    ("args", "d_key", "d_label"),
    [
        (["--compute", "1e22", "--inference-tokens", "1e12"], "d_train", "D_train"),
        (["--target-loss", "2.2", "--inference-tokens", "1e12"], "d_train", "D_train"),
        (["--compute", "1e22", "--unique-tokens", "1e10"], "d_opt", "D_opt"),
    ],
)
def test_inference_and_data_constrained_plans_say_how_far_past_the_fitted_data(
    tmp_path: Path,
    args: list[str],
    d_key: str,
    d_label: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fit = write(tmp_path / "fit.json", {"law": "chinchilla", "params": EXAMPLE, **FITTED_ON})
    code, out, err = run(["plan", str(fit), *args, "--json", "-"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    n, d = doc["n_opt"], doc[d_key]
    n_decades, d_decades = np.log10(n / 1e9), np.log10(d / 2e10)  # both past the largest
    assert f"{n_decades:.2g}" != "1" and f"{d_decades:.2g}" != "1"  # "decades", plural
    assert doc["beyond_data"] == (
        f"beyond the fitted data: N_opt = {n:.3g} is {n_decades:.2g} decades above the largest "
        f"N (1e+09); {d_label} = {d:.3g} is {d_decades:.2g} decades above the largest D (2e+10)"
    )
    code, out, _ = run(["plan", str(fit), *args], capsys)
    assert code == 0 and "note: beyond the fitted data: N_opt = " in " ".join(out.split())
    # A fit file from before x_range (or hand-written): no note, no error.
    old = write(tmp_path / "old.json", {"law": "chinchilla", "params": EXAMPLE, "x": ["N", "D"]})
    code, out, _ = run(["plan", str(old), *args, "--json", "-"], capsys)
    assert code == 0 and json.loads(out)["beyond_data"] is None
    code, out, _ = run(["plan", str(old), *args], capsys)
    assert code == 0 and "beyond the fitted data" not in out


def test_a_data_constrained_fit_notes_unique_tokens_past_its_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    params = {**EXAMPLE, "R_D_star": 15.39, "R_N_star": 5.31}
    ranges = {"N": [1e3, 1e15], "D": [1e3, 1e15], "U": [1e8, 1e9]}  # N, D well inside
    doc = {"law": "data_constrained", "params": params, "x": ["N", "D", "U"], "x_range": ranges}
    fit = write(tmp_path / "dc.json", doc)
    argv = ["plan", str(fit), "--compute", "1e22", "--unique-tokens"]
    code, out, err = run([*argv, "1e10", "--json", "-"], capsys)
    assert code == 0, err
    assert json.loads(out)["beyond_data"] == (
        "beyond the fitted data: U = 1e+10 is 1 decade above the largest U (1e+09)"
    )
    code, out, _ = run([*argv, "5e8", "--json", "-"], capsys)  # U inside its range
    assert code == 0 and json.loads(out)["beyond_data"] is None


def test_plan_from_isoflop_lines_notes_model_sizes_past_the_fitted_budgets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = isoflop_csv(tmp_path / "runs.csv")
    iso = tmp_path / "iso.json"
    argv = ["isoflop", str(runs), "--params", "N", "--tokens", "D", "--flops", "C", "--loss", "L"]
    assert run([*argv, "--bootstrap", "0", "--json", str(iso)], capsys)[0] == 0
    doc = json.loads(iso.read_text())
    largest = max(b["compute"] for b in doc["budgets"])
    code, out, _ = run(["plan", str(iso), "--model-sizes", "1e9,1e11", "--json", "-"], capsys)
    assert code == 0
    plan = json.loads(out)
    flops = max(plan["rows"], key=lambda r: r["params"])["flops"]  # the 1e11 model's budget
    assert plan["beyond_data"] == (
        f"beyond the fitted data: C (of the largest N asked) = {flops:.3g} is "
        f"{np.log10(flops / largest):.2g} decades above the largest compute ({largest:.3g})"
    )
    code, out, _ = run(["plan", str(iso), "--model-sizes", "1e9,1e11"], capsys)
    assert code == 0 and "note: beyond the fitted data: C (of the" in " ".join(out.split())
    code, out, _ = run(["plan", str(iso), "--model-sizes", "1e9", "--json", "-"], capsys)
    assert code == 0 and json.loads(out)["beyond_data"] is None  # inside the budgets fitted
    del doc["budgets"]  # no budgets, no range: no note
    code, out, _ = run(
        ["plan", str(write(tmp_path / "bare.json", doc)), "--model-sizes", "1e11", "--json", "-"],
        capsys,
    )
    assert code == 0 and json.loads(out)["beyond_data"] is None


@pytest.mark.parametrize("budgets", [5, 1.5, True, "abc", {"compute": 1e20}, [[1e20], None]])
def test_hand_edited_isoflop_budgets_never_break_a_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], budgets: Any
) -> None:
    """Budgets that are no list of rows (a number was a TypeError) give no range, and no note."""
    doc = {"n_line": {"exponent": 0.5, "coef": 0.1}, "d_line": {"exponent": 0.5, "coef": 1.6}}
    iso = write(tmp_path / "iso.json", {**doc, "budgets": budgets})
    for args in (["--compute", "1e22"], ["--model-sizes", "1e9"]):
        code, out, err = run(["plan", str(iso), *args, "--json", "-"], capsys)
        assert code == 0 and json.loads(out)["beyond_data"] is None, err


# Every plan kind of a law fit that writes `beyond_data`
PLANS = [
    ["--compute", "1e22"],
    ["--target-loss", "2.2"],
    ["--model-sizes", "1e9,1e11"],
    ["--compute", "1e22", "--inference-tokens", "1e12"],
    ["--compute", "1e22", "--unique-tokens", "1e10"],
]
NAMES = st.sampled_from(["N", "D", "params", "tokens", "[bold]x", "\x1b[2J", "\ud800"])
BOUNDS = st.one_of(
    st.none(),
    st.text(max_size=3),
    st.lists(st.one_of(st.floats(), st.integers(), st.booleans(), st.none()), max_size=3),
    st.tuples(st.floats(1e-300, 1e300), st.floats(1e-300, 1e300)).map(sorted),
)


@settings(max_examples=15, deadline=None)
@given(
    st.one_of(st.none(), st.text(max_size=3), st.lists(NAMES, max_size=3)),
    st.one_of(st.none(), st.integers(), st.dictionaries(NAMES, BOUNDS, max_size=4)),
)
def test_hand_edited_columns_and_ranges_never_break_a_plan(columns: Any, ranges: Any) -> None:
    """Whatever a fit file holds as `x` and `x_range`, every plan kind answers (exit 0), with a
    note or without one."""
    with tempfile.TemporaryDirectory() as tmp:
        doc = {"law": "chinchilla", "params": EXAMPLE, "x": columns, "x_range": ranges}
        fit, out = write(Path(tmp) / "fit.json", doc), Path(tmp) / "plan.json"
        for args in PLANS:
            assert run_app(["plan", str(fit), *args, "--json", str(out)]) == 0, args
            note = json.loads(out.read_text())["beyond_data"]
            assert note is None or note.startswith("beyond the fitted data: ")
