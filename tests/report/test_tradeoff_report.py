"""The report of a test-time study (issue 17) shows the train-time/test-time trade-off: the
iso-coverage figure, the measured train-compute multiple worth 10× test-time compute with its
interval (the numbers `scalinglab tradeoff` prints for the same study and options), and the
command that reproduces them. A real study of the `test_time` task, small enough for a test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scalinglab.cli import run_app
from scalinglab.report.document import num

TINY_TEST_TIME_TOML = """
name = "tiny-test-time"
[task]
name = "test_time"
options = { digits = 2, n_layer = 1, n_samples = 8, pool_size = 4096 }
[shards]
smallest = 256
largest = 2048
[search]
model_sizes = [32]
trials_per_shard = 1
sampler = "grid"
pruner = "none"
hparams.lr = { choices = [1e-2] }
[train]
seeds = [0]
max_epochs = 1
"""


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    from scalinglab.study import run_study

    root = tmp_path_factory.mktemp("test-time-study")
    config = root / "tt.toml"
    config.write_text(TINY_TEST_TIME_TOML)
    storage = f"sqlite:///{root / 'tt.db'}"
    result = run_study(config, storage=storage, workers=1, progress=False)
    assert result.finished and not result.errors, result.errors
    return "tiny-test-time", storage


def test_report_of_a_test_time_study_shows_the_tradeoff(
    study: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, storage = study
    out = tmp_path / "report"
    opts = ["--storage", storage, "--bootstrap", "40", "--seed", "3", "--json", "-"]
    assert run_app(["report", name, "--out", str(out), *opts]) == 0
    head = json.loads(capsys.readouterr().out)
    multiple = head["train_multiple_for_10x_test"]
    lo, hi = head["train_multiple_interval"]
    assert lo <= multiple <= hi
    assert head["tradeoff_slope"] < 0
    assert multiple == pytest.approx(10 ** (-1 / head["tradeoff_slope"]))

    # The same numbers as `scalinglab tradeoff` with the same options.
    assert run_app(["tradeoff", name, *opts]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert alone["train_multiple_for_10x_test"] == pytest.approx(multiple)
    assert alone["train_multiple_interval"] == pytest.approx([lo, hi])

    assert (out / "figures" / "tradeoff.png").exists()
    assert (out / "figures" / "tradeoff.svg").exists()
    page = (out / "index.html").read_text()
    assert "Train-time vs test-time compute (iso-coverage lines)" in page
    assert "train-compute multiple worth 10× test-time compute" in page
    assert num(multiple, 3) in page and num(lo, 3) in page and num(hi, 3) in page
    assert "Jones 2021, Hex" in page
    assert f"scalinglab tradeoff {name} --storage" in page
