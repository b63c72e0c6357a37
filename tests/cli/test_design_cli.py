"""`scalinglab suggest` and `scalinglab benchmark design` (issue 16): real fits on small tables,
JSON shapes, and bad or hostile input (exit 2, one line, nothing run or written)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalinglab.cli import run_app
from tests.audit import no_code_runs

HOFFMANN = {"E": 1.69337, "A": 406.401, "B": 410.723, "alpha": 0.33917, "beta": 0.28491}
FORMULA = "E + A/N**alpha + B/D**beta"


def loss(N: np.ndarray, D: np.ndarray) -> np.ndarray:
    p = HOFFMANN
    return p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["beta"]


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """done.csv (cheap runs with loss), pool.csv (the rest, inputs only), target.csv."""
    d = tmp_path_factory.mktemp("design")
    rng = np.random.default_rng(0)
    N, D = np.meshgrid(np.geomspace(1e7, 1e9, 6), np.geomspace(1e8, 1e11, 6))
    grid = pd.DataFrame({"N": N.ravel(), "D": D.ravel()})
    grid["loss"] = loss(grid.N, grid.D) * np.exp(rng.normal(0, 0.01, len(grid)))
    grid = grid.iloc[np.argsort(grid.N * grid.D)].reset_index(drop=True)
    grid.iloc[:14].to_csv(d / "done.csv", index=False)
    grid.iloc[14:].to_csv(d / "pool_with_loss.csv", index=False)
    grid.iloc[14:].drop(columns="loss").to_csv(d / "pool.csv", index=False)
    target = pd.DataFrame({"N": [7e10, 3e10], "D": [1.4e12, 6e11]})
    target.to_csv(d / "target.csv", index=False)
    target.assign(loss=loss(target.N, target.D)).to_csv(d / "test.csv", index=False)
    return d


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run_app(argv)
    out, err = capsys.readouterr()
    return code, out, err


def suggest_args(d: Path) -> list[str]:
    return [
        "suggest", "--formula", FORMULA, "--runs", str(d / "done.csv"), "--y", "loss",
        "--candidates", str(d / "pool.csv"), "--cost", "6*N*D", "--target", str(d / "target.csv"),
    ]  # fmt: skip


def test_suggest_from_a_formula_and_from_a_fit_file(
    tables: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_csv = tmp_path / "next.csv"
    code, out, err = run([*suggest_args(tables), "--n", "4", "--out", str(out_csv)], capsys)
    assert code == 0, err
    assert "suggested runs" in out and "alpha" in out
    chosen = pd.read_csv(out_csv)
    assert list(chosen["rank"]) == [1, 2, 3, 4]
    pool = pd.read_csv(tables / "pool.csv")
    merged = chosen.merge(pool, on=["N", "D"])
    assert len(merged) == 4  # every suggestion is a candidate
    assert np.allclose(chosen["cost"], 6 * chosen.N * chosen.D)
    assert (np.diff(chosen["target_width_after"]) <= 1e-12).all()

    code, out, err = run([*suggest_args(tables), "--budget", "1e19", "--json", "-"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["runs"] and doc["runs"][-1]["cumulative_cost"] <= 1e19
    assert set(doc["discrepancy"]) == {"tau2", "ell", "noise2"}

    fit = tmp_path / "fit.json"
    code, _, err = run(
        ["fit", str(tables / "done.csv"), "--formula", FORMULA, "--y", "loss", "--json", str(fit),
         "--bootstrap", "0"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    args = ["--candidates", str(tables / "pool.csv"), "--cost", "6*N*D"]
    args += ["--target", str(tables / "target.csv"), "--n", "2", "--json", "-"]
    code, out, err = run(["suggest", str(fit), *args], capsys)
    assert code == 0, err
    assert len(json.loads(out)["runs"]) == 2
    code, out, err = run(["suggest", str(fit), "--runs", str(tables / "done.csv"), *args], capsys)
    assert code == 0, err
    assert json.loads(out)["discrepancy"] is not None


def test_benchmark_design_prints_and_writes_the_documented_json(
    tables: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        ["benchmark", "design", str(tables / "pool_with_loss.csv"), str(tables / "test.csv"),
         "--formula", FORMULA, "--y", "loss", "--cost", "6*N*D", "--budgets", "0.3",
         "--repeats", "1", "--json", "-"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc["methods"]) == {"random", "cheapest", "design"}
    for entry in doc["methods"].values():
        assert -1 <= entry["r2"]["0.3"] <= 1 and entry["cost_share"]["0.3"] <= 0.3 + 1e-9


def test_benchmark_design_gives_each_mean_its_standard_error(
    tables: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_json = tmp_path / "bench.json"
    code, out, err = run(
        ["benchmark", "design", str(tables / "pool_with_loss.csv"), str(tables / "test.csv"),
         "--formula", FORMULA, "--y", "loss", "--cost", "6*N*D", "--budgets", "0.3",
         "--repeats", "2", "--json", str(out_json)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out_json.read_text())["methods"]
    runs = doc["random"]["r2_runs"]["0.3"]
    assert len(runs) == 2
    assert doc["random"]["r2_se"]["0.3"] == pytest.approx(abs(runs[0] - runs[1]) / 2)
    assert doc["cheapest"]["r2_se"]["0.3"] == 0.0  # deterministic: run once
    mean, se = doc["random"]["r2"]["0.3"], doc["random"]["r2_se"]["0.3"]
    assert f"{mean:.3f} ± {se:.3f}" in out or se == 0.0


def test_benchmark_design_fits_with_the_formula_options(
    tables: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--bounds reach every fit: an exponent boxed far from its true value (0.34) ruins the fit
    on all runs; an unknown name is one line."""
    base = [
        "benchmark", "design", str(tables / "pool_with_loss.csv"), str(tables / "test.csv"),
        "--formula", FORMULA, "--y", "loss", "--cost", "6*N*D", "--budgets", "0.3",
        "--repeats", "1", "--objective", "ls_linear", "--json", "-",
    ]  # fmt: skip
    code, out, err = run(base, capsys)
    assert code == 0, err
    free = json.loads(out)["all_data_r2"]
    code, out, err = run([*base, "--bounds", "alpha=2.5:3"], capsys)
    assert code == 0, err
    assert json.loads(out)["all_data_r2"] < free - 0.1
    code, _, err = run([*base, "--bounds", "gamma=0:1"], capsys)
    assert code == 2 and "'gamma', which is not a parameter" in err
    assert len(err.strip().splitlines()) == 1


HOSTILE = [
    (["--cost", "__import__('os').system('touch pwned')"], "may not use function calls"),
    (["--cost", "N.__class__"], "attribute access"),
    (["--cost", "N > 1"], "must give a number per row"),
    (["--cost", "N*"], "is not a valid expression; write e.g. '6*params*tokens'"),
    (["--cost", "N - 1e12"], "must be a finite number > 0"),
    (["--cost", "6*params*tokens"], "'params', which is not a column"),
    (["--budget", "-1"], "--budget must be a number > 0"),
    (["--budget", "1"], "no candidate run fits in the budget (1)"),
    (["--out", "next.json"], "give a .csv file name"),
]


@pytest.mark.parametrize(("extra", "needle"), HOSTILE, ids=[" ".join(e) for e, _ in HOSTILE])
def test_bad_suggest_input_is_one_line_and_runs_nothing(
    tables: Path,
    extra: list[str],
    needle: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    args = suggest_args(tables)
    if extra[0] in args:  # replace the option's value
        i = args.index(extra[0])
        args = [*args[:i], *extra, *args[i + 2 :]]
    else:
        args = [*args, *extra]
    code, _, err = run(args, capsys)
    assert code == 2
    assert needle in err and len(err.strip().splitlines()) == 1, err
    assert list(tmp_path.iterdir()) == []  # no --out written, no file touched by the input
    if extra[0] == "--cost":
        from scalinglab.expr import ExpressionError, evaluate_numeric

        pool = pd.read_csv(tables / "pool.csv")
        with no_code_runs("--cost"), contextlib.suppress(ExpressionError):
            evaluate_numeric(pool, extra[1])


TARGETS = ["--candidates", "x.csv", "--cost", "N", "--target", "t.csv"]
BENCH = ["benchmark", "design", "a.csv", "b.csv", "--formula", FORMULA, "--y", "loss"]
USAGE = [
    (["suggest", *TARGETS], "a fit file or --formula"),
    (["suggest", "--formula", FORMULA, *TARGETS], "--runs"),
    (["suggest", "fit.json", "--formula", FORMULA, *TARGETS], "not both"),
    (["suggest", "--formula", FORMULA, "--runs", "d.csv", "--y", "loss"], "needs --candidates"),
    ([*BENCH, "--cost", "N", "--budgets", "2"], "fractions in (0, 1]"),
    ([*BENCH, "--cost", "N", "--budgets", "x"], "--budgets takes fractions"),
    ([*BENCH, "--cost", "N", "--objective", "mse"], "--objective 'mse' is not one of"),
]


@pytest.mark.parametrize(("args", "needle"), USAGE, ids=[" ".join(a) for a, _ in USAGE])
def test_bad_usage_is_one_line(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(args, capsys)
    assert code == 2
    assert needle in err and len(err.strip().splitlines()) == 1, err


def one_line_error(code: int, err: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err and "Warning" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0].removeprefix("error: ")


@pytest.mark.parametrize("source", ["formula", "fit file"])
def test_suggest_names_the_file_and_data_row_of_a_run_done_with_loss_at_most_0(
    tables: Path, tmp_path: Path, source: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Under a log objective a loss <= 0 has no log: one line naming the column, the file and
    its 1-based data row (it was a raw RuntimeWarning and a wrong 'no candidate' message)."""
    done = pd.read_csv(tables / "done.csv")
    done.loc[3, "loss"] = -1.0  # data row 4
    bad = tmp_path / "done_neg.csv"
    done.to_csv(bad, index=False)
    args = [a if a != str(tables / "done.csv") else str(bad) for a in suggest_args(tables)]
    if source == "fit file":
        fit = tmp_path / "fit.json"
        doc = {"law": "formula", "x": ["N", "D"], "y": "loss", "params": HOFFMANN,
               "options": {"formula": FORMULA, "variables": ["N", "D"]}}  # fmt: skip
        fit.write_text(json.dumps(doc))
        i = args.index("--formula")
        args = [args[0], str(fit), *args[1:i], *args[i + 2 :]]
        args.remove("--y")
        args.remove("loss")
    code, _, err = run(args, capsys)
    assert one_line_error(code, err) == (
        f"column 'loss' of {bad} (--runs) must be > 0: objective 'huber' fits log(y) (objective "
        "'ls_linear' fits y itself, of any sign), but data row 4 holds -1; drop or fix that run"
    )


@pytest.mark.parametrize("option", ["--target", "--candidates"])
def test_suggest_names_the_option_and_data_row_where_the_law_is_not_defined(
    tables: Path, tmp_path: Path, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """N = 0 in data row 2: E + A/N**alpha is infinite there. Rows were counted from 0
    ('row 1 of the given runs'), and candidates after dropping those of an extreme shape."""
    name = "target.csv" if option == "--target" else "pool.csv"
    table = pd.read_csv(tables / name)
    table.loc[1, "N"] = 0.0
    bad = tmp_path / name
    table.to_csv(bad, index=False)
    args = suggest_args(tables)
    args[args.index(option) + 1] = str(bad)
    args[args.index("--cost") + 1] = "D"  # a cost that N = 0 leaves > 0
    code, _, err = run(args, capsys)
    assert one_line_error(code, err) == (
        f"the law's prediction (or its gradient) is not finite at data row 2 of {bad} "
        f"({option}); check that its inputs lie where the law is defined"
    )


def test_benchmark_design_refuses_a_budget_below_the_cheapest_run(
    tables: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No method can pick a run: every R² was −1 under a '0% budget' column, exit 0."""
    pool = pd.read_csv(tables / "pool_with_loss.csv")
    cost = 6 * pool.N * pool.D
    share = cost.min() / cost.sum()
    code, _, err = run(
        ["benchmark", "design", str(tables / "pool_with_loss.csv"), str(tables / "test.csv"),
         "--formula", FORMULA, "--y", "loss", "--cost", "6*N*D", "--budgets", "0.3,1e-12",
         "--repeats", "1"],
        capsys,
    )  # fmt: skip
    message = one_line_error(code, err)
    assert message.startswith(
        f"--budgets: 1e-12 of the total cost of {tables / 'pool_with_loss.csv'} is less than its "
        f"cheapest run ({share:.3g} of the total), so no method could pick a run; give fractions "
        "of at least "
    ), message
    smallest = float(message.rsplit(" ", 1)[1])
    assert share <= smallest < share * 1.01 and smallest * cost.sum() >= cost.min()


def test_benchmark_design_says_where_too_few_runs_were_picked_to_fit(
    tables: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A budget that buys fewer runs than the law's 5 free parameters scores −1 by the
    protocol; that was silent (exit 0, a bare −1.000). Now a note and a count per budget."""
    pool = pd.read_csv(tables / "pool_with_loss.csv")
    cost = 6 * pool.N * pool.D
    tiny = f"{1.5 * cost.min() / cost.sum():.3g}"  # the cheapest run, maybe one more
    out_json = tmp_path / "bench.json"
    code, out, err = run(
        ["benchmark", "design", str(tables / "pool_with_loss.csv"), str(tables / "test.csv"),
         "--formula", FORMULA, "--y", "loss", "--cost", "6*N*D", "--budgets", f"0.3,{tiny}",
         "--repeats", "2", "--json", str(out_json)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    methods = json.loads(out_json.read_text())["methods"]
    for name, repeats in (("random", 2), ("cheapest", 1), ("design", 2)):
        entry = methods[name]
        assert entry["underdetermined"] == {"0.3": 0, tiny: repeats}, name
        assert entry["r2"][tiny] == -1.0 and entry["r2_runs"][tiny] == [-1.0] * repeats
    pct = f"{100 * float(tiny):.3g}%"
    assert (
        "note: R² is −1 where the runs picked were fewer than the law's 5 free parameters (an "
        f"underdetermined fit): random at {pct} budget in 2 of 2 repeats, cheapest at {pct} "
        f"budget, design at {pct} budget in 2 of 2 repeats"
    ) in " ".join(out.split())
    assert "30% budget in" not in out


@pytest.mark.parametrize("rows", [1, 2])
def test_benchmark_design_refuses_a_test_set_whose_r2_is_undefined(
    tables: Path, tmp_path: Path, rows: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """One test row, or all with one y: every R² was −1, blamed on underdetermined fits, exit 0."""
    test = pd.read_csv(tables / "test.csv").iloc[:rows].assign(loss=3.5)
    bad = tmp_path / "test.csv"
    test.to_csv(bad, index=False)
    code, _, err = run(
        ["benchmark", "design", str(tables / "pool_with_loss.csv"), str(bad), "--formula", FORMULA,
         "--y", "loss", "--cost", "6*N*D", "--repeats", "1"],
        capsys,
    )  # fmt: skip
    problem = (
        f"{bad} has 1 row(s); give at least 2 test runs"
        if rows == 1
        else f"every y of {bad} is 3.5; give test runs"
    )
    assert one_line_error(code, err).startswith(f"R² needs test rows whose y varies, and {problem}")


def test_benchmark_design_runs_a_repeated_budget_once(
    tables: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Duplicates merge in the order first given (5000 copies of one budget ran past 90 s);
    a column shows its budget to 3 significant digits, not 12.5% as 12%."""
    base = [
        "benchmark", "design", str(tables / "pool_with_loss.csv"), str(tables / "test.csv"),
        "--formula", FORMULA, "--y", "loss", "--cost", "6*N*D", "--repeats", "1",
        "--budgets", "0.3,0.125,0.3,0.125",
    ]  # fmt: skip
    code, out, err = run([*base, "--json", "-"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["budgets"] == [0.3, 0.125]
    assert list(doc["methods"]["random"]["r2_runs"]) == ["0.3", "0.125"]
    assert all(len(runs) == 1 for runs in doc["methods"]["random"]["r2_runs"].values())
    code, out, err = run(base, capsys)
    assert code == 0, err
    assert out.count("12.5% budget") == 1 and out.count("30% budget") == 1, out


@pytest.mark.slow
def test_the_readme_suggest_example_reproduces_from_its_input_script(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """examples/suggest_inputs.py writes done/pool/target.csv from the Chinchilla task, and the
    README's `suggest` command on them gives the README's first suggestion and width."""
    script = Path(__file__).resolve().parents[2] / "examples" / "suggest_inputs.py"
    made = subprocess.run(
        [sys.executable, str(script), "--data", str(shared_data / "scalebench_dev"),
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert made.stdout.strip() == "wrote done.csv (40 runs), pool.csv (156), target.csv (49)"
    out_json = tmp_path / "next.json"
    code, _, err = run([*suggest_args(tmp_path), "--n", "5", "--json", str(out_json)], capsys)
    assert code == 0, err
    payload = json.loads(out_json.read_text())
    assert round(payload["width_before"], 3) == 0.532  # README: "53.2% now"
    first = payload["runs"][0]
    assert (f"{first['N']:.3g}", f"{first['D']:.3g}") == ("4.25e+08", "1.05e+10")
    assert payload["candidates_outside_shape_range"] == 1
    assert payload["targets_beyond_runs"].startswith(
        "the targets lie beyond the runs done: N = 1.62e+10 is 0.73 decades above the largest N"
    )


@pytest.fixture(scope="module")
def two_tasks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """curves.csv (loss and err of two tasks over shard_size), a fit with parameters per task
    (grouped.json) and a joint fit of loss and err (joint.json)."""
    d = tmp_path_factory.mktemp("two_tasks")
    x = np.geomspace(1e3, 3.2e4, 6)
    frame = pd.concat(
        pd.DataFrame({"task": task, "shard_size": x, "loss": a * x**-0.3 + 0.1, "err": a * x**-0.3})
        for task, a in (("t1", 5.0), ("t2", 3.0))
    )
    frame.to_csv(d / "curves.csv", index=False)
    fit = ["fit", str(d / "curves.csv"), "--bootstrap", "0", "--json"]
    argv = [*fit, str(d / "grouped.json"), "--formula", "a*shard_size**-b + c", "--y", "loss"]
    assert run_app([*argv, "--group", "task"]) == 0
    argv = [*fit, str(d / "joint.json"), "--formula", "E1 + A/shard_size**b", "--y", "loss"]
    assert run_app([*argv, "--formula", "E2 + A/shard_size**b", "--y", "err"]) == 0
    return d


@pytest.mark.parametrize(
    ("fit", "message"),
    [
        (
            "grouped.json",
            "has parameters per task (2 groups); suggest works on one law fitted to one output: "
            "refit one group, e.g. fit --formula ... --where 'task == \"t1\"'",
        ),
        (
            "joint.json",
            "is a joint fit of 2 outputs (loss, err); suggest works on one law fitted to one "
            "output: fit the output to plan for on its own (fit --formula ... --y loss)",
        ),
    ],
)
def test_suggest_refuses_a_grouped_or_joint_fit_up_front(
    two_tasks: Path, fit: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """It failed later on an internal column: 'task' non-numeric, or no column 'output'."""
    capsys.readouterr()  # the fixture's fit tables
    table = str(two_tasks / "curves.csv")
    args = ["--candidates", table, "--target", table, "--cost", "shard_size"]
    code, _, err = run(["suggest", str(two_tasks / fit), *args], capsys)
    assert one_line_error(code, err) == f"{two_tasks / fit} {message}"


def test_suggest_shows_the_fit_warnings_of_formula_as_warning_lines(
    tables: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Runs of one loss: the fit ends on its exponents' bounds. Its FitWarnings went through
    Python's formatter (a source path and `law.fit(...)`); now `warning: ...` lines."""
    import warnings

    runs = [pd.read_csv(tables / name) for name in ("done.csv", "pool_with_loss.csv")]
    flat = pd.concat(runs).assign(loss=3.0)  # the whole grid: both exponents end at 0
    flat.to_csv(tmp_path / "flat.csv", index=False)
    args = [a if a != str(tables / "done.csv") else str(tmp_path / "flat.csv") for a in
            suggest_args(tables)]  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, err = run([*args, "--n", "2"], capsys)
        assert code == 0, err
        _, doc, _ = run([*args, "--n", "2", "--json", "-"], capsys)
    assert not caught, [str(w.message) for w in caught]
    lines = [line for line in out.splitlines() if line.startswith("warning: ")]
    assert lines and lines[0].startswith("warning: formula: optimum sits on a bound"), out
    assert "design.py" not in out + err and "law.fit(" not in out + err
    assert any("default bound" in w for w in json.loads(doc)["fit_warnings"])
