"""Devices in a study (issue 18): `[resources] device` and `precision` are checked by the study
file where trials run, resolved by each worker, recorded per trial in the results and shown by
`study run`, `study status` and `study fit`; local workers are pinned one per GPU."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from scalinglab.cli import run_app
from scalinglab.errors import ScalingLabError
from scalinglab.study import fit_study, load_config, load_results, run_study, study_status
from scalinglab.study.config import ResourceSpec
from scalinglab.study.executors import LocalExecutor, gpu_assignment
from scalinglab.study.results import throughput_summary
from scalinglab.tasks.device import mps_available

ON_CPU_ONLY = not (torch.cuda.is_available() or mps_available())


def _with_resources(path: Path, lines: str) -> Path:
    path.write_text(path.read_text() + f"[resources]\n{lines}\n")
    return path


@pytest.mark.skipif(not ON_CPU_ONLY, reason="a GPU is present: auto picks it, not the CPU")
def test_auto_picks_the_cpu_here_and_the_results_record_it(
    write_study: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_study(
        "dev", pool_size=2048, smallest=256, largest=1024, model_sizes="[4, 16]",
        trials_per_shard=2, max_epochs=3,
    )  # fmt: skip
    _with_resources(config, 'device = "auto"')
    storage = f"sqlite:///{tmp_path / 'dev.db'}"
    result = run_study(config, storage=storage, workers=1, progress=False)
    assert result.finished and not result.errors

    df = load_results("dev", storage)
    assert list(df["device"].unique()) == ["cpu"] and list(df["precision"].unique()) == ["fp32"]
    done = df[df["state"] == "COMPLETE"]
    assert (done["examples_per_s"] > 0).all() and (done["flops_per_s"] > 0).all()
    rate = throughput_summary(df)
    assert rate["examples_per_s_median"] > 0 and rate["flops_per_s"] > 0

    assert study_status("dev", storage).devices == {"cpu (fp32)": 6}
    fit = fit_study(df, n_bootstrap=0)
    payload = fit.to_dict()
    assert payload["devices"] == {"cpu (fp32)": 6} and payload["throughput"]["trials"] == 6

    capsys.readouterr()
    assert run_app(["study", "status", "dev", "--storage", storage]) == 0
    assert "trained on cpu (fp32): 6 trials" in capsys.readouterr().out
    assert run_app(["study", "fit", "dev", "--storage", storage, "--bootstrap", "0"]) == 0
    out = capsys.readouterr().out
    assert "trained on cpu (fp32): 6 trials" in out and "examples/s" in out
    assert "Hestness 2017: 0.5 <= beta_p < 1" in out
    assert (
        run_app(["study", "export", "dev", "--storage", storage, "--out", str(tmp_path / "r.csv")])
        == 0
    )
    assert "device" in (tmp_path / "r.csv").read_text().splitlines()[0].split(",")


def test_bf16_is_recorded_with_the_trials(write_study: Callable[..., Path], tmp_path: Path) -> None:
    config = write_study(
        "bf", pool_size=1024, smallest=256, largest=512, model_sizes="[8]", trials_per_shard=1,
        max_epochs=2,
    )  # fmt: skip
    _with_resources(config, 'device = "cpu"\nprecision = "bf16"')
    storage = f"sqlite:///{tmp_path / 'bf.db'}"
    assert run_study(config, storage=storage, workers=1, progress=False).finished
    df = load_results("bf", storage)
    assert set(df["precision"]) == {"bf16"} and set(df["device"]) == {"cpu"}
    assert df["best_val_loss"].notna().all() and (df["state"] == "COMPLETE").all()


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present: cuda is valid")
def test_cuda_without_a_gpu_fails_before_training_but_a_stored_study_still_reads(
    write_study: Callable[..., Path], tmp_path: Path
) -> None:
    config = _with_resources(write_study("gpu"), 'device = "cuda"')
    with pytest.raises(ScalingLabError, match='resources: device "cuda" needs a CUDA GPU') as info:
        run_study(config, storage=f"sqlite:///{tmp_path / 'gpu.db'}", workers=1, progress=False)
    assert "\n" not in str(info.value) and str(config) in str(info.value)
    assert not (tmp_path / "gpu.db").exists()  # nothing laid out, nothing trained
    # Reading the file (as status, fit and report read a stored study) never checks the device:
    # a study trained on GPUs is analysed on a laptop.
    assert load_config(config).resources.device == "cuda"
    # On Ray the workers check the device on their own nodes, not this machine.
    assert load_config(config, check_device=False).resources.device == "cuda"


def test_auto_with_fp16_on_a_machine_without_cuda_says_what_auto_became(
    write_study: Callable[..., Path],
) -> None:
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present: fp16 is valid there")
    config = _with_resources(write_study("half"), 'precision = "fp16"')
    with pytest.raises(ScalingLabError, match=r'device "auto" is \w+ on this machine: precision'):
        load_config(config, check_device=True)


def test_the_resources_are_not_part_of_the_study_identity(
    write_study: Callable[..., Path],
) -> None:
    """A study started on one device resumes on another (same trials, another machine)."""
    plain = load_config(write_study("same"))
    moved = load_config(_with_resources(write_study("same"), 'device = "cpu"\nprecision = "bf16"'))
    assert plain.fingerprint() == moved.fingerprint()
    assert json.loads(json.dumps(moved.model_dump(mode="json")))["resources"]["precision"] == "bf16"


def test_local_workers_get_one_gpu_each() -> None:
    gpus = ["0", "1", "2", "3"]
    assert gpu_assignment(4, gpus, 1) == ["0", "1", "2", "3"]
    assert gpu_assignment(2, gpus, 2) == ["0,1", "2,3"]
    assert gpu_assignment(4, gpus[:2], 0.5) == ["0", "0", "1", "1"]  # two trials share a GPU
    assert gpu_assignment(2, gpus, 0) == [None, None]  # trials that ask for no GPU
    assert gpu_assignment(2, [], 1) == [None, None]  # no GPU visible
    assert LocalExecutor().n_workers(ResourceSpec(gpus_per_trial=1), gpus=1) == 1
    assert LocalExecutor().n_workers(ResourceSpec(gpus_per_trial=0.5), gpus=1) <= 2
    assert LocalExecutor(workers=3).n_workers(ResourceSpec(gpus_per_trial=1), gpus=1) == 3
