"""`scalinglab data prepare DOMAIN|all`: build the built-in tasks' data caches (Debian packages)."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from scalinglab.cli.app import app, console, fail
from scalinglab.datasets import CACHE_ENV, DOMAINS, cache_dir, prepare

data_app = typer.Typer(
    help="Prepare the real corpora of the built-in tasks (from Debian packages, never downloaded).",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")


@data_app.command("prepare")
def prepare_cmd(
    domain: str = typer.Argument(..., help=f"One of {', '.join(DOMAINS)}, or 'all'."),
    cache: Path | None = typer.Option(
        None,
        "--cache-dir",
        help=f"Cache directory (default: ${CACHE_ENV}, else ~/.cache/scalinglab).",
    ),
    force: bool = typer.Option(False, "--force", help="Rebuild even if a valid cache file exists."),
    install: bool = typer.Option(
        False, "--install", help="apt-get install missing Debian packages first (needs root)."
    ),
) -> None:
    """Build the processed arrays of one domain (or all) once into the cache; idempotent.

    \b
    Domains (Debian packages):
      image        Fashion-MNIST, 60k + 10k images (dataset-fashion-mnist)
      lm           GCIDE dictionary, 31M characters (dict-gcide)
      translation  Spanish->English Bible verses, 31k pairs
                   (sword-text-sparv sword-text-web diatheke)
      speech       SYNTHETIC spoken commands: 20 words by text-to-speech
                   voices with random speed, pitch and noise (espeak-ng flite sox)

    \b
    Examples:
      scalinglab data prepare image
      scalinglab data prepare all --cache-dir /scratch/scalinglab
      SCALINGLAB_CACHE=/scratch/sl scalinglab data prepare speech --force
    """
    if domain != "all" and domain not in DOMAINS:
        fail(f"unknown domain {domain!r}; choose one of {', '.join(DOMAINS)} or 'all'")
    domains = list(DOMAINS) if domain == "all" else [domain]
    root = cache_dir(cache)
    with Progress(
        TextColumn("{task.description:<40}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        for d in domains:
            task_id = bar.add_task(f"{d}: checking", total=None)

            def progress(done: int, total: int, desc: str, _t: TaskID = task_id) -> None:
                bar.update(_t, completed=done, total=total, description=desc[:40])

            t0 = time.perf_counter()
            path = prepare(d, root, force=force, install=install, progress=progress)
            size = path.stat().st_size / 1e6
            bar.update(task_id, description=f"{d}: ready ({size:.1f} MB)")
            bar.console.print(
                f"{d}: {path} ({time.perf_counter() - t0:.1f} s)",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
