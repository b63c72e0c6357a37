"""`scalinglab data prepare DOMAIN|all`: build the built-in tasks' data caches (Debian packages)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from scalinglab.cli.app import JsonOption, app, console, emit, fail, out_console
from scalinglab.datasets import CACHE_ENV, DOMAINS, cache_dir, prepare

data_app = typer.Typer(
    help="Prepare the real corpora of the built-in tasks (from Debian packages, never downloaded).",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")


@data_app.command("prepare")
def prepare_cmd(
    domain: Annotated[str, typer.Argument(help=f"One of {', '.join(DOMAINS)}, or 'all'.")],
    cache: Annotated[
        Path | None,
        typer.Option(
            "--cache-dir",
            help=f"Cache directory (default: ${CACHE_ENV}, else ~/.cache/scalinglab).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even if a valid cache file exists.")
    ] = False,
    install: Annotated[
        bool,
        typer.Option(
            "--install", help="apt-get install missing Debian packages first (needs root)."
        ),
    ] = False,
    json_out: JsonOption = None,
) -> None:
    """Build the processed arrays of one domain (or all) once into the cache; idempotent.

    \b
    Domains (Debian packages):
      image        Fashion-MNIST, 60k + 10k images (dataset-fashion-mnist)
      lm           GCIDE dictionary, 31M characters (dict-gcide)
      translation  Spanish->English Bible verses, 31k pairs
                   (sword-text-sparv sword-text-web diatheke)
      speech       SYNTHETIC spoken commands: 20 words by text-to-speech
                   voices with random speed, pitch and noise
                   (espeak-ng flite sox)

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
    prepared: list[dict[str, Any]] = []
    with Progress(
        TextColumn("{task.description:<40}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=out_console(json_out),
        transient=False,
    ) as bar:
        for d in domains:
            task_id = bar.add_task(f"{d}: checking", total=None)

            def progress(done: int, total: int, desc: str, _t: TaskID = task_id) -> None:
                bar.update(_t, completed=done, total=total, description=desc[:40])

            t0 = time.perf_counter()
            path = prepare(d, cache=root, force=force, install=install, progress=progress)
            size = path.stat().st_size / 1e6
            seconds = time.perf_counter() - t0
            bar.update(task_id, description=f"{d}: ready ({size:.1f} MB)")
            prepared.append({"domain": d, "path": str(path), "megabytes": size, "seconds": seconds})

    def render() -> None:
        for p in prepared:
            console.print(
                f"{p['domain']}: {p['path']} ({p['seconds']:.1f} s)",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )

    emit({"cache_dir": str(root), "prepared": prepared}, json_out, render)
