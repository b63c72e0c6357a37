"""`scalinglab demo`: the whole loop on real data — prepare Fashion-MNIST, run the study of
examples/demo.toml (resuming it if it ran before), fit the learning and model-size curves, plan,
and write runs/demo/index.html; then print where it is and the headline numbers."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from scalinglab.cli.app import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_LEVEL,
    DEFAULT_SEED,
    BootstrapOption,
    JsonOption,
    LevelOption,
    SeedOption,
    app,
    check_out_dir,
    console,
    emit,
    err_console,
    fail,
    out_console,
)
from scalinglab.display import num, span

DEMO_CONFIG = Path("examples") / "demo.toml"


def find_demo_config() -> Path:
    """examples/demo.toml under the current directory, else beside the installed package."""
    here = DEMO_CONFIG
    if here.exists():
        return here
    beside = Path(__file__).resolve().parents[2] / DEMO_CONFIG  # the checkout's examples/
    if beside.exists():
        return beside
    fail(f"cannot find {DEMO_CONFIG}; run from the scalinglab checkout or pass --config")
    raise AssertionError  # unreachable: fail raises


def _finished_before(name: str, storage: str) -> bool:
    from scalinglab.errors import ScalingLabError
    from scalinglab.study import study_status
    from scalinglab.study.storage import sqlite_path

    path = sqlite_path(storage)
    if path is not None and not path.exists():
        return False
    try:
        return study_status(name, storage=storage).state == "finished"
    except ScalingLabError:
        return False


def headline_lines(h: dict[str, Any]) -> list[str]:
    """The numbers the demo prints: β_g with its interval, β_p, the prediction at 10× the data."""
    what = "error" if h["y"] == "best_val_error" else "loss"
    return [
        f"β_g = {num(h['beta_g'], '.3f')}  ({h['beta_g_level']:.0%} interval "
        f"{span(h['beta_g_interval'], '.3f')}; Hestness 2017, ImageNet top-1: -0.309)",
        f"β_p = {num(h['beta_p'], '.3f')}  (best model size ∝ m^β_p)",
        f"predicted validation {what} at 10× the data (m = {num(h['at_10x'], ',.0f')}): "
        f"{num(h['predicted_at_10x'], '.4f')}  ({h['prediction_level']:.0%} interval "
        f"{span(h['predicted_at_10x_interval'], '.4f')}); irreducible level "
        f"{num(h['irreducible'], '.4f')}",
    ]


@app.command("demo")
def demo_command(
    config: Annotated[
        Path | None, typer.Option(help="Study file (default: examples/demo.toml).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Report directory.")] = Path("runs/demo"),
    storage: Annotated[
        str | None, typer.Option(help="Storage URL (default: sqlite:///OUT/study.db).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Concurrent trials (default: one per core).")
    ] = None,
    bootstrap: BootstrapOption = DEFAULT_BOOTSTRAP,
    seed: SeedOption = DEFAULT_SEED,
    level: LevelOption = DEFAULT_LEVEL,
    prepare_data: Annotated[
        bool, typer.Option("--prepare/--no-prepare", help="Build the task's data cache first.")
    ] = True,
    json_out: JsonOption = None,
) -> None:
    """Run the demo study, fit, plan and write the report; a rerun reuses the finished study.

    \b
    Examples:
      scalinglab demo
      scalinglab demo --out /tmp/demo --workers 2
    """
    import optuna

    from scalinglab.report import build_report
    from scalinglab.study import load_config, run_study
    from scalinglab.study.storage import normalize_url

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    check_out_dir(out, "--out")
    say = out_console(json_out)  # the steps; stderr under --json -
    t0 = time.monotonic()
    config_path = config if config is not None else find_demo_config()
    cfg = load_config(config_path)
    # checked now, not after the data is prepared: an in-memory or unknown URL is one line
    url = normalize_url(storage or f"sqlite:///{(out / 'study.db').resolve()}", cfg.name)
    out.mkdir(parents=True, exist_ok=True)

    if prepare_data and cfg.task.name in ("image", "lm", "translation", "speech"):
        from scalinglab.datasets import prepare

        with say.status(f"preparing the {cfg.task.name} data (Debian packages, cached once)"):
            path = prepare(cfg.task.name)
        say.print(f"[bold]1/3[/] data: {escape(str(path))}", highlight=False)

    if _finished_before(cfg.name, url):
        say.print(
            f"[bold]2/3[/] study {cfg.name}: finished before; reusing it ({escape(url)})",
            highlight=False,
        )
    else:
        n = len(cfg.shard_sizes()) * cfg.search.n_trials() * len(cfg.train.seeds)
        say.print(
            f"[bold]2/3[/] study {cfg.name}: {n} trials ({len(cfg.shard_sizes())} shards × "
            f"{cfg.search.n_trials()} models); resumable — rerun to continue",
            highlight=False,
        )
        result = run_study(
            cfg,
            storage=url,
            workers=workers,
            progress=err_console.is_terminal,
            console=err_console,
        )
        if result.interrupted:
            err_console.print("interrupted; rerun `scalinglab demo` to resume the study")
            raise typer.Abort
        if not result.finished:
            fail(f"the study did not finish: {'; '.join(result.errors) or result.status.state}")
        say.print(f"    {result.status.finished} trials in {result.seconds:.0f} s", highlight=False)

    with say.status("fitting the learning and model-size curves, planning, plotting"):
        built = build_report(
            [cfg.name],
            out,
            storage=url,
            n_bootstrap=bootstrap,
            level=level,
            seed=seed,
            config_path=config_path,
        )
    h = {k: v for k, v in built.report.headline.items() if k != "cards"}
    (out / "headline.json").write_text(json.dumps(h, indent=2) + "\n")

    def render() -> None:
        console.print(
            f"[bold]3/3[/] report: {escape(str(built.path.resolve()))}",
            highlight=False,
            soft_wrap=True,
        )
        for line in headline_lines(h):
            console.print(f"    {line}", highlight=False, soft_wrap=True)
        console.print(f"done in {time.monotonic() - t0:.0f} s", highlight=False)

    emit({"path": str(built.path), **h}, json_out, render)
