"""A tiny finished study of the synthetic task (12 trials, a few seconds), shared by the report
tests: the demo study's report, made small enough for a test. Six shards, so its analysis has
every part: the three-region fit, and laws compared on the two largest shards."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TINY_TOML = """
name = "tiny-report"
[task]
name = "synthetic"
options = { pool_size = 4096, val_size = 1024 }
[shards]
smallest = 64
largest = 2048
[search]
model_sizes = [4, 16]
trials_per_shard = 2
sampler = "grid"
pruner = "none"
hparams.lr = { choices = [1e-2] }
[train]
seeds = [0]
max_epochs = 15
patience = 2
"""


@dataclass
class TinyStudy:
    name: str
    config: Path
    storage: str


def make_tiny_study(root: Path) -> TinyStudy:
    """Write the study file under `root` and run it to completion (one worker); a finished study
    there is reused (run_study resumes it and finds nothing to do)."""
    from scalinglab.study import run_study

    root.mkdir(parents=True, exist_ok=True)
    config = root / "tiny.toml"
    config.write_text(TINY_TOML)
    storage = f"sqlite:///{root / 'tiny.db'}"
    result = run_study(config, storage=storage, workers=1, progress=False)
    assert result.finished and not result.errors, result.errors
    return TinyStudy("tiny-report", config, storage)
