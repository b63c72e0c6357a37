"""`scalinglab study ...`: exit codes, one-line errors before any training, and the full cycle
run -> status -> export -> fit on a tiny study."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from scalinglab.cli.app import run_app
from scalinglab.tasks.base import ReportFn, TrainConfig, TrainResult
from scalinglab.tasks.synthetic import SyntheticTask

TINY = """
name = "{name}"
[task]
name = "{task}"
options = {{ pool_size = 2048 }}
[shards]
smallest = 256
largest = {largest}
[search]
model_sizes = {sizes}
trials_per_shard = 2
sampler = "random"
pruner = "none"
[train]
max_epochs = 8
"""


def _write(tmp_path: Path, name: str = "cli", **kw: object) -> Path:
    values = {"name": name, "task": "synthetic", "largest": 1024, "sizes": "[8, 16]", **kw}
    path = tmp_path / f"{name}.toml"
    path.write_text(TINY.format(**values))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"task": "nosuchtask"}, "unknown task 'nosuchtask'"),
        ({"largest": 4096}, "larger than the task's training data (2048 examples)"),
        ({"sizes": "[]"}, "model-size grid is empty"),
        # once an OverflowError traceback from the results table after training
        ({"sizes": "[4, 99999999999999999999]"}, "model sizes must be below 2**63"),
    ],
)
def test_bad_config_is_one_line_exit_2_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, object], message: str
) -> None:
    config = _write(tmp_path, **change)
    storage = tmp_path / "never.db"
    assert run_app(["study", "run", str(config), "--storage", str(storage)]) == 2
    err = capsys.readouterr().err
    assert message in err.replace("\n", " ") and err.strip().count("\n") == 0
    assert not storage.exists()  # failed before creating the study, let alone training


def test_malformed_toml_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('name = "x"\n[shards\n')
    assert run_app(["study", "run", str(config)]) == 2
    assert "malformed TOML" in capsys.readouterr().err


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite:///"])
def test_in_memory_sqlite_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    # once a KeyError 'Record does not exist' from every worker: each opened its own database
    config = _write(tmp_path)
    for argv in (
        ["study", "run", str(config), "--storage", url, "--workers", "2"],
        ["demo", "--config", str(config), "--out", str(tmp_path / "demo"), "--storage", url],
    ):
        assert run_app(argv) == 2
        err = capsys.readouterr().err
        assert "is an in-memory SQLite database" in err and "sqlite:///study.db" in err
        assert err.strip().count("\n") == 0
    assert not (tmp_path / "demo").exists()  # refused before the demo made its directory


@pytest.mark.parametrize("workers", ["99999999999999999999", "2000000000", "1025"])
def test_too_many_workers_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], workers: str
) -> None:
    # once an OverflowError, or a MemoryError listing two billion worker processes
    config, storage = _write(tmp_path), tmp_path / "never.db"
    argv = ["study", "run", str(config), "--storage", str(storage), "--workers", workers]
    assert run_app(argv) == 2
    err = capsys.readouterr().err
    assert f"--workers {workers} is more than 1024; give at most that" in err.replace("\n", " ")
    assert not storage.exists()


def test_unknown_study_and_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    storage = tmp_path / "none.db"
    assert run_app(["study", "status", "ghost", "--storage", str(storage)]) == 2
    assert "no study database" in capsys.readouterr().err
    assert not storage.exists()
    config = _write(tmp_path)
    assert run_app(["study", "run", str(config), "--executor", "slurm"]) == 2
    assert "unknown executor 'slurm'" in capsys.readouterr().err


def test_run_with_an_unwritable_json_fails_before_creating_the_study(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Once the whole study trained, then `cannot write DIR: Is a directory` (exit 2)."""
    config, storage = _write(tmp_path), tmp_path / "never.db"
    (tmp_path / "afile").write_text("x")
    for json_out, message in (
        (tmp_path, f"--json {tmp_path} is a directory; give a file name"),
        (tmp_path / "afile" / "x.json", f"{tmp_path}/afile is a file, not a directory"),
    ):
        argv = ["study", "run", str(config), "--storage", str(storage), "--json", str(json_out)]
        assert run_app(argv) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and err.count("\n") == 1 and message in err, err
        assert not storage.exists()  # refused before creating the study, let alone training


def _no_work(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("the command started its work before checking its output paths")


@pytest.mark.parametrize(
    ("args", "work", "message"),
    [
        ("status s --json {dir}", "study_status", "--json {dir} is a directory"),
        ("status s --json {file}/s.json", "study_status", "{file} is a file, not a directory"),
        ("fit s --save-fit {dir}", "load_results", "--save-fit {dir} is a directory"),
        ("fit s --save-fit {file}/c.json", "load_results", "--save-fit {file}/c.json: {file} is"),
        ("fit s --save-fit {file}/a/c.json", "load_results", "{file} is a file, not a directory"),
        ("fit s --json {file}/f.json", "load_results", "--json {file}/f.json: {file} is a file"),
        ("export s --out {file}/x.csv", "export_results", "--out {file}/x.csv: {file} is a file"),
        ("export s --out {dir}/t.csv", "export_results", "--out {dir}/t.csv is a directory"),
        ("export s --out {dir}/b.csv", "export_results", "{dir}/b.best.csv, where its per-shard"),
        ("export s --out {dir}/x.csv --json {file}/j", "export_results", "{file} is a file"),
    ],
)
def test_an_unwritable_output_path_fails_before_any_work(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: str,
    work: str,
    message: str,
) -> None:
    """Every output path of `study status|fit|export` is checked first: the library call that
    does the work (loading, fitting, exporting) fails the test if it is reached."""
    import scalinglab.study

    monkeypatch.setattr(scalinglab.study, work, _no_work)
    (tmp_path / "afile").write_text("x")
    (tmp_path / "t.csv").mkdir()
    (tmp_path / "b.best.csv").mkdir()  # where `--out b.csv` puts its per-shard table
    names = {"dir": str(tmp_path), "file": str(tmp_path / "afile")}
    argv = ["study", *args.format(**names).split(), "--storage", str(tmp_path / "none.db")]
    assert run_app(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("error: ") and message.format(**names) in err, err


@pytest.mark.slow
def test_run_status_export_fit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _write(tmp_path, "cyc", largest=2048)  # shards 256, 512, 1024, 2048
    db = str(tmp_path / "cyc.db")
    assert run_app(["study", "run", str(config), "--storage", db, "--workers", "1"]) == 0
    assert "8/8 slots finished" in capsys.readouterr().out

    assert run_app(["study", "status", "cyc", "--storage", db, "--json", "-"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["state"] == "finished" and len(status["shards"]) == 4

    out = tmp_path / "export" / "cyc.csv"
    assert run_app(["study", "export", "cyc", "--storage", db, "--out", str(out)]) == 0
    trials, best = pd.read_csv(out), pd.read_csv(tmp_path / "export" / "cyc.best.csv")
    assert len(trials) == 8 and len(best) == 4 and trials["is_best"].sum() == 4
    for column in ("study", "trial", "state", "shard_size", "model_size", "n_params", "lr",
                   "seed", "best_val_loss", "best_val_error", "flops", "examples_seen", "steps",
                   "wall_time", "host", "error"):  # fmt: skip
        assert column in trials.columns
    parquet = tmp_path / "cyc.parquet"
    assert run_app(["study", "export", "cyc", "--storage", db, "--out", str(parquet)]) == 0
    assert len(pd.read_parquet(parquet)) == 8

    fit_json = tmp_path / "fit.json"
    args = ["study", "fit", "cyc", "--storage", db, "--bootstrap", "20", "--json", str(fit_json)]
    assert run_app(args) == 0
    fit = json.loads(fit_json.read_text())
    assert fit["learning_curve"]["law"] == "power_const" and fit["beta_g"] < 0
    assert "beta_g" in capsys.readouterr().out

    check = ["study", "fit", "cyc", "--storage", db, "--bootstrap", "20"]
    assert run_app([*check, "--fit-up-to", "1024"]) == 0  # fit 256..1024, predict 2048
    out = capsys.readouterr().out
    assert "held out: shards > 1024" in out and "\n  2048 " in out.replace("│", " ")
    assert run_app([*check, "--fit-up-to", "4096"]) == 0
    assert "nothing held out" in capsys.readouterr().out
    assert run_app([*check, "--fit-up-to", "512"]) == 2  # 2 shards left to fit
    assert "raise --fit-up-to" in capsys.readouterr().err


class OopsTask(SyntheticTask):
    """The synthetic task, whose training fails at lr = 0.02: one slot of a study fails (a bad
    lr in the study file itself is refused when it is loaded)."""

    def train(self, config: TrainConfig, report: ReportFn | None = None) -> TrainResult:
        if config.hparams["lr"] == 0.02:
            raise RuntimeError("oops, lr 0.02")
        return super().train(config, report)


def test_failed_trials_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "oops.toml"
    task = f"{__name__}:OopsTask"
    text = _write(tmp_path, "oops", task=task, largest=256, sizes="[8]").read_text()
    text = text.replace(
        'sampler = "random"', 'sampler = "grid"\nhparams.lr = { choices = [0.01, 0.02] }'
    )
    text = text.replace("trials_per_shard = 2\n", "")
    config.write_text(text)
    db = str(tmp_path / "oops.db")
    assert run_app(["study", "run", str(config), "--storage", db, "--workers", "1"]) == 1
    captured = capsys.readouterr()
    assert "1 slot(s) failed" in captured.err and "RuntimeError: oops, lr 0.02" in captured.err
