"""`scalinglab study run|status|export|fit`: the Hestness (2017) study loop from a TOML file."""

from __future__ import annotations

import math
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from scalinglab.cli.app import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_LEVEL,
    DEFAULT_SEED,
    BootstrapOption,
    JsonOption,
    LevelOption,
    SeedOption,
    app,
    check_out_file,
    console,
    emit,
    err_console,
    fail,
    flag_names,
    write_json,
)
from scalinglab.display import examples, num, span

if TYPE_CHECKING:
    from scalinglab.laws.base import ScalingLaw
    from scalinglab.study.fit import StudyFit

study_app = typer.Typer(
    help="Run a scaling study (nested shards x per-shard search), inspect it, export it, fit it.",
    no_args_is_help=True,
)
app.add_typer(study_app, name="study")

EXIT_SLOTS_FAILED = 1  # `study run`: a slot ended failed (0: ok, 2: bad input, 130: stopped)
StorageOption = Annotated[
    str | None,
    typer.Option(
        help="Storage URL: sqlite:///FILE.db or postgresql://USER@HOST:PORT/DB "
        "(default: runs/NAME.db)."
    ),
]


@contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """SIGTERM (`kill PID`, a scheduler's stop) ends the run as Ctrl-C does: the trials in
    flight are re-queued, the command says how to resume and exits with 130."""

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _optuna_quiet() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


@study_app.command("run")
def run_cmd(
    config: Annotated[
        Path, typer.Argument(help="The study file (TOML); see examples/synthetic.toml.")
    ],
    storage: StorageOption = None,
    executor: Annotated[str, typer.Option(help="local (processes) or ray.")] = "local",
    address: Annotated[
        str | None,
        typer.Option(help="Ray cluster address (default: $RAY_ADDRESS, else a local one)."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Concurrent trials (default: CPUs / cpus_per_trial).")
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Live progress display.")
    ] = True,
    json_out: JsonOption = None,
) -> None:
    """Run a study, or resume it: finished trials are kept, dead workers' trials are retried.

    Exit code 0 when every slot finished (or a budget stopped the run), 1 when a slot ended
    failed (its training raised, or its worker died more than max_retry times), 2 on bad input,
    130 when stopped by Ctrl-C or SIGTERM.

    \b
    Examples:
      scalinglab study run examples/synthetic.toml
      scalinglab study run study.toml --workers 4
        --storage postgresql://me@db:5432/studies
      scalinglab study run study.toml --executor ray --address 10.0.0.5:6379
    """
    from scalinglab.study import run_study

    _optuna_quiet()
    with _sigterm_as_ctrl_c():
        result = run_study(
            config,
            storage=storage,
            executor=executor,
            workers=workers,
            address=address,
            progress=progress and err_console.is_terminal,
            console=err_console,
        )
    status = result.status
    stopped = {r.stopped for r in result.reports} - {"done", "interrupted"}

    def render() -> None:
        console.print(_shard_table(status, f"study {status.name} ({status.task})"))
        devices = f"; trained on {status.devices_text()}" if status.devices else ""
        console.print(
            escape(
                f"{_slots_line(status)}; {result.seconds:.1f} s this run; storage {result.url}"
                f"{devices}"
            ),
            highlight=False,
            soft_wrap=True,
        )
        if stopped:
            console.print(f"stopped early: budget {', '.join(sorted(stopped))} reached")
        _print_rounds(status)

    for line in result.errors:
        err_console.print(f"[yellow]warning:[/] {line}", highlight=False)
    payload = {"url": result.url, "seconds": result.seconds, **status.to_dict()}
    emit(payload, json_out, render)
    if result.interrupted:
        err_console.print(
            f"interrupted; rerun `scalinglab study run {config}` to resume",
            soft_wrap=True,
            highlight=False,
        )
        raise click.exceptions.Abort  # run_app: exit code 130
    if result.errors and not result.finished:
        fail(f"{len(result.errors)} worker(s) crashed; the study is unfinished: {result.errors[0]}")
    if status.failed:
        _print_failures(status)
        err_console.print(
            f"{status.failed} slot(s) failed (exit code {EXIT_SLOTS_FAILED}); each trial's error "
            f"text: `scalinglab study export {status.name} --out FILE.csv`",
            highlight=False,
            soft_wrap=True,
        )
        raise click.exceptions.Exit(EXIT_SLOTS_FAILED)


def _slots_line(status: Any) -> str:
    """'63/64 slots finished, 1 failed (shard 512 slot 1: ...), 0 running, 0 queued'."""
    failed = f"{status.failure_summary()}, " if status.failed else ""
    return (
        f"{status.finished}/{status.total} slots finished, {failed}{status.running} running, "
        f"{status.waiting} queued"
    )


def _print_failures(status: Any, limit: int = 10) -> None:
    """One line per failed slot on stderr (the first `limit` of them)."""
    seeds = status.shards["seed"].nunique() > 1
    for failure in status.failures[:limit]:
        err_console.print(
            f"failed: {escape(failure.label(seeds))}", highlight=False, soft_wrap=True
        )
    if len(status.failures) > limit:
        err_console.print(f"failed: ... and {len(status.failures) - limit} more", highlight=False)


def _shard_table(status: Any, title: str) -> Table:
    from scalinglab.study.progress import shard_table

    return shard_table(status, title)


@study_app.command("status")
def status_cmd(
    name: Annotated[str, typer.Argument(help="Study name (the `name` in its study file).")],
    storage: StorageOption = None,
    json_out: JsonOption = None,
) -> None:
    """Summarise a study: trials per state and the best-fit model of each shard so far.

    \b
    Examples:
      scalinglab study status synthetic-demo
      scalinglab study status big --storage postgresql://me@db:5432/studies
        --json -
    """
    from scalinglab.study import study_status

    _optuna_quiet()
    status = study_status(name, storage=storage)

    def render() -> None:
        console.print(_shard_table(status, f"study {status.name} ({status.task}): {status.state}"))
        devices = f"; trained on {status.devices_text()}" if status.devices else ""
        console.print(
            escape(f"{_slots_line(status)}, {num(status.flops, '.3g')} training FLOPs{devices}"),
            highlight=False,
            soft_wrap=True,
        )
        if status.failed:
            _print_failures(status)
        _print_rounds(status)

    emit(status.to_dict(), json_out, render)


def _print_rounds(status: Any) -> None:
    """An adaptive study's rounds: cells, training FLOPs spent, the target's interval."""
    plan = status.adaptive
    if plan is None:
        return
    target = (
        f"{plan.target_examples:,} examples, model size {plan.target_model_size} "
        f"({plan.target_n_params:,} params)"
        if plan.target_examples
        else "the target"
    )
    table = Table(title=f"adaptive rounds: prediction at {target}", box=box.SIMPLE_HEAD)
    for col in ("round", "cells", "spent FLOPs", "prediction", "90% interval", "rel. width"):
        table.add_column(col, justify="right")
    for r in plan.rounds:
        evaluated = r.rel_width is not None
        table.add_row(
            str(r.number),
            str(len(r.cells)),
            num(r.spent_flops, ".3g") if r.spent_flops is not None else "–",
            num(r.prediction, ".4g") if evaluated else "–",
            f"{num(r.lo, '.4g')} – {num(r.hi, '.4g')}" if evaluated else "–",
            f"{r.rel_width:.1%}" if evaluated else "–",
        )
    console.print(table)
    last = next((r for r in reversed(plan.rounds) if r.measured_lo is not None), None)
    if last is not None and last.measured_hi is not None:
        console.print(
            f"a run at the target would measure {num(last.measured_lo, '.4g')} – "
            f"{num(last.measured_hi, '.4g')} (90%, round {last.number}: the law's interval "
            "widened by the noise of one cell)",
            highlight=False, soft_wrap=True,
        )  # fmt: skip
    for r in plan.rounds:
        if r.confirms is not None:
            (shard, model), check = r.cells[0], r.check().removeprefix("confirmation: ")
            line = f"round {r.number} confirms at ({shard:,}, {model}): {check}"
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    state = f"stopped: {plan.stopped}" if plan.stopped else "running: more rounds to come"
    console.print(escape(state), highlight=False, soft_wrap=True)


@study_app.command("export")
def export_cmd(
    name: Annotated[str, typer.Argument(help="Study name.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output table: .csv or .parquet.")],
    storage: StorageOption = None,
    best_only: Annotated[
        bool, typer.Option("--best-only", help="Write only the best trial of each shard.")
    ] = False,
    json_out: JsonOption = None,
) -> None:
    """Write the results table: one row per trial, plus OUT.best.EXT with one row per shard.

    The per-shard table feeds `scalinglab fit --x shard_size --y best_val_error` directly.
    Columns are documented in scalinglab.study.results.

    \b
    Examples:
      scalinglab study export synthetic-demo --out results/synthetic.csv
      scalinglab study export synthetic-demo --out results/synthetic.parquet
        --best-only
    """
    from scalinglab.study import export_results
    from scalinglab.study.results import best_path

    _optuna_quiet()
    if out.suffix.lower() not in (".csv", ".parquet", ".pq"):
        fail(f"{out}: unknown table format; use .csv or .parquet")
    check_out_file(out, "--out", "results.csv")
    best = best_path(out)  # the per-shard table, written beside OUT
    if not best_only and best.is_dir():
        fail(f"--out {out}: {best}, where its per-shard table goes, is a directory; give another")
    paths = export_results(name, out, storage=storage, best_only=best_only)

    def render() -> None:
        for path in paths:
            console.print(f"wrote {path}", markup=False, highlight=False)

    emit({"study": name, "written": [str(p) for p in paths]}, json_out, render)


@study_app.command("fit")
def fit_cmd(
    name: Annotated[str, typer.Argument(help="Study name.")],
    storage: StorageOption = None,
    y: Annotated[
        str,
        typer.Option(
            "--y",
            help="Learning-curve column: best_val_loss, best_val_error or auto (the task's "
            "curve_y: error for image and speech, loss otherwise).",
        ),
    ] = "auto",
    law: Annotated[
        str, typer.Option(help="The curve read for beta_g: power_const or hestness.")
    ] = "power_const",
    predict_with: Annotated[
        str,
        typer.Option(
            help="What predicts (and is checked on held-out shards): auto, the rule of `fit "
            "--law auto` backtested at the distance predicted to, or curve (the --law curve "
            "itself)."
        ),
    ] = "auto",
    bootstrap: BootstrapOption = DEFAULT_BOOTSTRAP,
    seed: SeedOption = DEFAULT_SEED,
    level: LevelOption = DEFAULT_LEVEL,
    fit_up_to: Annotated[
        float | None,
        typer.Option(
            help="Fit only the shards up to this many examples; predict each larger shard and "
            "compare with its measured best (a check of the extrapolation)."
        ),
    ] = None,
    target: Annotated[
        float | None,
        typer.Option(
            help="The shard size (examples) to predict at; auto backtests at that distance "
            "(default: the largest held-out shard, else 10x the largest shard)."
        ),
    ] = None,
    save_fit: Annotated[
        Path | None,
        typer.Option(
            help="Write what predicts as a fit file: `scalinglab predict FILE --at "
            "shard_size=M` then predicts with its interval, as this command does."
        ),
    ] = None,
    json_out: JsonOption = None,
) -> None:
    """Fit the learning curve eps(m) = a*m^b + c and the model-size curve s(m) = a*m^b.

    \b
    Examples:
      scalinglab study fit synthetic-demo
      scalinglab study fit synthetic-demo --y best_val_error --law hestness
        --json fit.json
      scalinglab study fit image-fashion-mnist-60k --fit-up-to 7500
      scalinglab study fit synthetic-demo --target 1e6 --save-fit curve.json
    """
    from scalinglab.study import fit_study, load_results

    _optuna_quiet()
    check_curve_y(y)
    if predict_with not in ("auto", "curve"):
        fail(f"--predict-with takes auto or curve, not {predict_with!r}")
    check_target(target)
    if save_fit is not None:
        if str(save_fit) == "-":
            fail(f"--save-fit {save_fit} is not a file name; give one, e.g. curve.json")
        check_out_file(save_fit, "--save-fit", "curve.json")
        if (
            json_out is not None
            and str(json_out) != "-"
            and json_out.resolve() == save_fit.resolve()
        ):
            fail(f"--save-fit and --json are both {save_fit}; give them different files")
    with flag_names({"fit_up_to": "--fit-up-to"}):
        result = fit_study(
            load_results(name, storage=storage),
            y=y,
            law=law,
            predictor=predict_with,
            n_bootstrap=bootstrap,
            fit_up_to=fit_up_to,
            level=level,
            seed=seed,
            target=target,
        )
    if save_fit is not None:
        _save_predictor(result, save_fit)
    doc = result.to_dict()
    emit(doc, json_out, lambda: _print_study_fit(name, result, doc["headline"]))


def _save_predictor(result: StudyFit, path: Path) -> None:
    """The study's predictor as a `fit --json` file of y against shard_size."""
    from scalinglab.cli.fit import fit_document
    from scalinglab.cli.ranges import x_range

    m = result.best[["shard_size"]].to_numpy(dtype=float)
    doc = fit_document(result.predictor, ["shard_size"], result.y, None, x_range(["shard_size"], m))
    if result.selection is not None:
        doc["selection"] = result.selection.to_dict()
    doc["study"] = result.name
    write_json(path, doc)


def check_curve_y(y: str) -> None:
    """Fail unless --y names a learning-curve column or auto (`study fit`, `report`)."""
    from scalinglab.tasks import CURVE_Y_COLUMNS

    if y != "auto" and y not in CURVE_Y_COLUMNS:
        fail(f"--y must be {', '.join(CURVE_Y_COLUMNS)} or auto, not {y!r}")


def check_target(target: float | None) -> None:
    """Fail unless --target, when given, is a shard size of at least one example (`study fit`,
    `report`): NaN and inf too, which typer reads as floats; and 0.5 or 5e-324, a shard of under
    one example, predicted 300 decades below the data."""
    if target is not None and not (math.isfinite(target) and target >= 1):
        fail(f"--target must be a shard size of at least 1 example, got {target:g}")


def _print_study_fit(name: str, result: StudyFit, headline: dict[str, Any]) -> None:
    """The best-fit model per shard, the curves with their intervals, the checks, and the
    prediction of the `headline` (StudyFit.headline)."""
    y = result.y  # "auto" resolved to the task's curve_y
    table = Table(title=f"study {name}: best-fit model per shard", show_edge=False)
    for col in ("seed", "shard", "model size", "params", y):
        table.add_column(col, justify="right")
    for p in result.best.to_dict("records"):
        table.add_row(
            str(p["seed"]), str(p["shard_size"]), str(p["model_size"]), str(p["n_params"]),
            num(p[y]),
        )  # fmt: skip
    console.print(table)
    for note in result.notes:
        console.print(f"note: {escape(note)}", highlight=False)
    console.print(escape(_law_line("learning curve", result.curve)), highlight=False)
    regions = result.regions_text
    if regions:
        console.print(f"regions (Hestness 2017, Fig. 1): {escape(regions)}", highlight=False)
    if result.size is not None:
        console.print(escape(_law_line("model-size curve", result.size)), highlight=False)
    else:
        console.print(f"model-size curve: {result.size_note}", highlight=False)
    beta_p_span = f" {span(result.beta_p_interval, '.3f')}" if result.beta_p_interval else ""
    console.print(
        f"beta_g = {num(result.beta_g, '.3f')} (learning-curve exponent), "
        f"beta_p = {num(result.beta_p, '.3f')}{beta_p_span} (model-size exponent; "
        "Hestness 2017: 0.5 <= beta_p < 1)",
        highlight=False,
    )
    if result.size_warning:
        console.print(f"[yellow]warning:[/] {escape(result.size_warning)}", highlight=False)
    _print_devices(result)
    if result.comparison is not None and result.comparison.has_split:
        scores = ", ".join(
            f"{law_name} {num(score, '.3g')}"
            for law_name, score in result.comparison.heldout_rmse.items()
        )
        console.print(
            f"laws fitted without the 2 largest shards, RMSE of ln y on them: {scores}",
            highlight=False,
        )
    if result.selection is not None:
        console.print(
            f"predictions: auto chose {escape(result.selection.chosen)} "
            f"({escape(result.selection.reason)})",
            highlight=False,
        )
        if result.selection.at_target:
            console.print(escape(result.selection.at_target_text("m")), highlight=False)
    where = "the target" if result.target is not None else "10x the largest shard"
    m, pred = headline["target"], headline["predicted_at_target"]
    interval = headline["predicted_at_target_interval"]
    console.print(
        f"predicted {y} at m = {examples(m)} ({where}): "
        f"[bold]{num(pred, '.4g')}[/] ({result.level:.0%} interval {span(interval, '.4g')})",
        highlight=False,
    )
    beyond = result.beyond_note(m) if result.target is not None else None
    if beyond is not None:
        console.print(f"[dim]note:[/] {escape(beyond)}", highlight=False)
    if result.fit_up_to is not None:
        _print_holdout(result, result.fit_up_to)


def _print_devices(result: StudyFit) -> None:
    """Where the trials trained, and how fast ('' for a table without those columns)."""
    from scalinglab.study.results import devices_text, throughput_summary

    if not result.devices:
        return
    line = f"trained on {devices_text(result.devices)}"
    rate = throughput_summary(result.trials)
    if rate:
        line += (
            f"; throughput {num(rate['examples_per_s_median'], ',.0f')} examples/s per trial "
            f"(median), {num(rate['flops_per_s'], '.3g')} FLOP/s achieved"
        )
    console.print(escape(line), highlight=False, soft_wrap=True)


def _print_holdout(result: StudyFit, fit_up_to: float) -> None:
    """The held-out shards: predicted from the fit on the smaller shards vs measured."""
    if not result.holdout:
        console.print(f"no shard is larger than {fit_up_to:g}: nothing held out to check")
        return
    table = Table(
        title=f"held out: shards > {fit_up_to:g}, predicted by the fit above", show_edge=False
    )
    interval = f"{result.level:.0%} interval"
    for col in ("shard", f"measured {result.y} (seeds)", "predicted", interval, "rel. error"):
        table.add_column(col, justify="right")
    for h in result.holdout:
        table.add_row(
            str(h.shard_size), f"{num(h.measured)} ({h.n_seeds})", num(h.predicted),
            span((h.lo, h.hi)), num(h.relative_error, "+.1%"),
        )  # fmt: skip
    console.print(table)
    console.print(f"RMSE of ln y on the held-out shards: {num(result.holdout_rmse_log, '.3g')}")


def _law_line(what: str, law: ScalingLaw) -> str:
    """'learning curve (power_const): a=1.2 [1, 1.4], ...  (its fit warnings)'; the intervals
    are the fit's `ci_level_` ones."""
    parts = [
        f"{key}={num(value)} {span(law.ci_.get(key), '.3g')}" for key, value in law.params_.items()
    ]
    warn = f"  ({'; '.join(law.warnings_)})" if law.warnings_ else ""
    level = f", {law.ci_level_:.0%} intervals" if hasattr(law, "ci_level_") else ""
    return f"{what} ({law.name}{level}): " + ", ".join(parts) + warn
