"""Run options: the live progress display, compute budgets, replicate seeds, study-file drift."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from scalinglab.errors import ScalingLabError
from scalinglab.study import best_per_shard, load_results, run_study, study_status


def test_progress_display_and_replicate_seeds(
    write_study: Callable[..., Path], tmp_path: Path
) -> None:
    config = write_study("opts", smallest=256, largest=512, trials_per_shard=2, max_epochs=3,
                         seeds="[0, 1]")  # fmt: skip
    storage = f"sqlite:///{tmp_path / 'opts.db'}"
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=140)
    result = run_study(config, storage=storage, workers=1, progress=True, console=console)
    assert result.finished
    text = screen.getvalue()
    assert "8/8" in text and "ETA" in text and "best loss" in text  # bar, ETA, best per shard

    df = load_results("opts", storage)
    assert sorted(df["seed"].unique()) == [0, 1]
    best = best_per_shard(df)
    assert list(zip(best["seed"], best["shard_size"], strict=True)) == [
        (0, 256), (0, 512), (1, 256), (1, 512)
    ]  # fmt: skip
    # Replicates draw different shards and initialisations: their best losses differ.
    assert best["best_val_loss"].nunique() == 4


def test_total_flop_budget_stops_early_and_resume_continues(
    write_study: Callable[..., Path], tmp_path: Path
) -> None:
    config = write_study("budget", largest=512, trials_per_shard=3, max_epochs=3)
    text = config.read_text() + "\n[budget]\ntotal_flops = 1.0\n"  # exhausted by one trial
    config.write_text(text)
    storage = f"sqlite:///{tmp_path / 'budget.db'}"
    result = run_study(config, storage=storage, workers=1, progress=False)
    assert not result.finished and {r.stopped for r in result.reports} == {"total_flops"}
    status = study_status("budget", storage)
    assert status.finished == 1 and status.waiting == 5 and status.state == "in progress"

    # The budget is not part of the study's identity: lifting it resumes the same study.
    config.write_text(text.replace("total_flops = 1.0", "total_flops = 1e15"))
    assert run_study(config, storage=storage, workers=1, progress=False).finished
    assert len(load_results("budget", storage)) == 6


def test_changed_study_file_is_refused(write_study: Callable[..., Path], tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'drift.db'}"
    config = write_study("drift", smallest=256, largest=256, trials_per_shard=1, max_epochs=2)
    first = run_study(config, storage=storage, workers=1, progress=False)
    assert first.finished and len(first.reports) == 1
    again = run_study(config, storage=storage, workers=1, progress=False)
    assert again.finished and again.reports == []  # a finished study starts no workers
    assert len(load_results("drift", storage)) == 1  # ... and trains nothing twice
    changed = write_study("drift", smallest=256, largest=256, trials_per_shard=2, max_epochs=2)
    with pytest.raises(ScalingLabError, match="different study file"):
        run_study(changed, storage=storage, workers=1, progress=False)
