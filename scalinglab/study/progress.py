"""A live progress display of a running study: slots done/left, ETA, current best per shard.

It polls the storage (not the workers), so it shows every worker's progress, on any executor, and
the trials a previous run already finished.
"""

from __future__ import annotations

import threading
import time

import pandas as pd
from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from scalinglab.display import MISSING, num
from scalinglab.study.config import StudyConfig
from scalinglab.study.status import StudyStatus, status_of
from scalinglab.study.storage import open_storage


def shard_table(status: StudyStatus, title: str | None = None) -> Table:
    """The per-shard table: slots by state and the best-fit model so far (fits 80 columns)."""
    table = Table(
        title=title, box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True, pad_edge=False
    )
    seeds = status.shards["seed"].nunique() > 1 if not status.shards.empty else False
    columns = (["seed"] if seeds else []) + ["shard", "done", "pruned", "failed", "run", "queued"]
    for col in columns:
        table.add_column(col, justify="right")
    for col in ("best loss", "error", "size", "lr"):  # the shard's best trial so far
        table.add_column(col, justify="right", style="bold")
    for r in status.shards.to_dict(orient="records"):
        best = r.get("best_val_loss")
        best = None if best is None or pd.isna(best) else best
        cells = [str(r["seed"])] if seeds else []
        cells += [str(r[k]) for k in ("shard_size", "complete", "pruned", "fail", "running")]
        cells.append(str(r["waiting"]))
        if best is None:
            cells += [MISSING] * 4
        else:
            cells += [
                num(best, ".4f"),
                num(r["best_val_error"], ".4f"),
                num(r["best_model_size"], ".0f"),
                num(r.get("best_lr"), ".2e"),
            ]
        table.add_row(*cells)
    return table


class ProgressMonitor:
    """Polls the study's storage in a thread and redraws a rich Live display."""

    def __init__(self, config: StudyConfig, url: str, console: Console, every: float = 1.0):
        self.config, self.url, self.console, self.every = config, url, console, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("slots"),
            TimeElapsedColumn(),
            TextColumn("ETA {task.fields[eta]}"),
            console=console,
        )
        self._task_id = self._progress.add_task(config.name, total=None, eta="?")
        self._start = time.monotonic()
        self._start_done: int | None = None
        self.last: StudyStatus | None = None

    def __enter__(self) -> ProgressMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _eta(self, status: StudyStatus) -> str:
        ended = status.finished + status.failed
        if self._start_done is None:
            self._start_done = ended
        done_here = ended - self._start_done
        left = status.total - ended
        if left <= 0:
            return "0s"
        if done_here <= 0:
            return "?"
        seconds = (time.monotonic() - self._start) / done_here * left
        return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.1f}min"

    def _render(self, status: StudyStatus) -> Group:
        self._progress.update(
            self._task_id,
            total=status.total,
            completed=status.finished + status.failed,
            eta=self._eta(status),
        )
        return Group(self._progress, shard_table(status))

    def _loop(self) -> None:
        storage = open_storage(self.url)
        with Live(console=self.console, refresh_per_second=4, transient=False) as live:
            while True:
                try:
                    self.last = status_of(self.config, storage)
                    live.update(self._render(self.last))
                except Exception:  # a busy database: show the last state, try again
                    pass
                if self._stop.wait(self.every):
                    break
            try:
                self.last = status_of(self.config, storage)
                live.update(self._render(self.last))
            except Exception:
                pass
