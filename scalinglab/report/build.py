"""`build_report`: from a SOURCE — a study in storage, a results table, or fit JSON files — to
DIR/index.html (one self-contained page) with its figures as PNG and SVG in DIR/figures.

    from scalinglab.report import build_report
    built = build_report(["synthetic-demo"], "runs/report")                 # a study (runs/NAME.db)
    built = build_report(["runs.csv"], "out", where="epoch_outlier == 0")   # N, D, loss runs
    built = build_report(["curve.json", "chinchilla.json"], "out")          # fit files
    print(built.path, built.report.headline)
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scalinglab.errors import ScalingLabError
from scalinglab.io import TABLE_SUFFIXES, load_fit, read_json, read_table
from scalinglab.laws.base import ScalingLaw
from scalinglab.planning.chinchilla_runs import analyze_nd, has_nd
from scalinglab.report.allocation_page import allocation_report, exponent_tables, plan_tables
from scalinglab.report.document import Report, Table, law_table, num, span
from scalinglab.report.html import write_html
from scalinglab.report.learning_curve import learning_curve_figure
from scalinglab.report.study_figures import y_label
from scalinglab.report.study_page import setup_from_trials, study_report
from scalinglab.report.style import figure_file
from scalinglab.study.fit import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_LEVEL,
    DEFAULT_SEED,
    StudyFit,
    fit_study,
)


@dataclass
class BuiltReport:
    """A written report: the page, the Report it renders, and what kind of source it came from."""

    path: Path
    report: Report
    kind: str  # "study" | "study-table" | "nd-table" | "fits"


@dataclass(frozen=True)
class FitOptions:
    """How every fit of a report is made: `n_bootstrap` refits drawn with random_state `seed`,
    intervals at `level`. Its flags go into every reproduce command, so that each gives what
    the report shows."""

    n_bootstrap: int = DEFAULT_BOOTSTRAP
    seed: int = DEFAULT_SEED
    level: float = DEFAULT_LEVEL

    def flags(self) -> str:
        """`--bootstrap N --seed S --level L`: the options of a command that fits."""
        return f"--bootstrap {int(self.n_bootstrap)} --seed {int(self.seed)} {self.level_flag()}"

    def level_flag(self) -> str:
        """`--level L`: the option of a command that only reads a fit (plan, report of fits)."""
        return f"--level {float(self.level)!r}"  # repr: the exact float back

    def check(self) -> None:
        """Fail on a level outside (0, 1) or a negative count or seed, naming the parameter."""
        if not 0 < self.level < 1:
            raise ScalingLabError(f"level must be between 0 and 1, got {self.level}")
        if self.n_bootstrap < 0:
            raise ScalingLabError("n_bootstrap must be >= 0")
        if self.seed < 0:
            raise ScalingLabError("seed must be >= 0")


def _q(value: str | Path) -> str:
    return shlex.quote(str(value))


def _report_command(
    sources: Sequence[str], out: Path, options: dict[str, Any], flags: str = ""
) -> str:
    """The `scalinglab report` command of this page: its sources, `options` as --key value
    (`_option_flags`), then `flags` (FitOptions.flags or level_flag)."""
    parts = ["scalinglab report", *(_q(s) for s in sources), "--out", _q(out)]
    return " ".join(p for p in (*parts, _option_flags(options), flags) if p)


def _option_flags(options: dict[str, Any]) -> str:
    """`options` as "--key value" for a reproduce command, None left out ('' for none)."""
    return " ".join(
        f"--{key} {_q(str(value))}" for key, value in options.items() if value is not None
    )


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def config_toml(config: Any) -> str:
    """A study config (StudyConfig) as a TOML study file that `study run` accepts."""
    data = config.model_dump(mode="json", exclude_none=True)
    lines = [f"name = {_toml_value(data.pop('name'))}"]
    for section, body in data.items():
        lines += ["", f"[{section}]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in body.items()]
    return "\n".join(lines) + "\n"


def _study_source(
    name: str,
    out: Path,
    storage: str | None,
    y: str,
    fits: FitOptions,
    config_path: Path | None,
    target: float | None,
) -> BuiltReport:
    from scalinglab.study.layout import load_study_config
    from scalinglab.study.results import load_results, open_existing
    from scalinglab.study.storage import display_url, normalize_url

    trials = load_results(name, storage)
    config = load_study_config(name, open_existing(name, storage))
    analysis = _fit_study(trials, y, fits, target)
    out.mkdir(parents=True, exist_ok=True)
    if config_path is None:
        config_path = out / "study.toml"
        config_path.write_text(config_toml(config))
    url = display_url(normalize_url(storage, name))
    st = ["--storage", _q(url)]
    setup: list[tuple[str, str]] = [
        ("study", name),
        ("storage", url),
        ("task", f"{config.task.name} {config.task.options or ''}".strip()),
        ("shard sizes m", ", ".join(f"{s:,}" for s in config.shard_sizes())),
        ("model sizes searched", ", ".join(map(str, config.search.model_sizes))),
        (
            "search per shard",
            f"{config.search.n_trials()} trials, sampler {config.search.sampler}, "
            f"pruner {config.search.pruner}; hparams {', '.join(config.search.hparams)}",
        ),
        (
            "training",
            f"seeds {config.train.seeds}, up to {config.train.max_epochs} epochs, early "
            f"stopping patience {config.train.patience}",
        ),
        ("learning-curve metric", f"{analysis.y} ({y_label(analysis)})"),
        *setup_from_trials(trials)[3:],
    ]
    commands = [
        f"scalinglab study run {_q(config_path)} {' '.join(st)}   # runs or resumes the study",
        f"scalinglab study status {_q(name)} {' '.join(st)}",
        f"scalinglab study export {_q(name)} {' '.join(st)} --out {_q(out / 'results.csv')}",
        f"scalinglab study fit {_q(name)} {' '.join(st)} "
        f"{_option_flags({'y': analysis.y, 'target': target})} "
        f"{fits.flags()} --json {_q(out / 'fit.json')}",
        f"scalinglab fit {_q(out / 'results.best.csv')} --law power_const --x shard_size "
        f"--y {analysis.y} {fits.flags()} --json {_q(out / 'curve.json')}",
        f"scalinglab plan {_q(out / 'curve.json')} --target-error "
        f"{float(analysis.best[analysis.y].min()) * 0.9:.4g} {fits.level_flag()}",
        _report_command(
            [name], out, {"storage": url, "y": analysis.y, "target": target}, fits.flags()
        ),
    ]
    report = study_report(analysis, out, setup, commands)
    _add_adaptive_rounds(report, config, open_existing(name, storage))
    tradeoff_cmd = (
        f"scalinglab tradeoff {_q(name)} {' '.join(st)} {fits.flags()} "
        f"--save-fit {_q(out / 'tradeoff.json')} --plot {_q(out / 'tradeoff.png')}"
    )
    _add_tradeoff(report, trials, out, fits, tradeoff_cmd)
    return BuiltReport(write_html(report, out), report, "study")


def _add_adaptive_rounds(report: Report, config: Any, storage: Any) -> None:
    """An adaptive study's page (issue 16) shows its rounds: the cells each ran, the training
    FLOPs spent, and the target prediction's 90% interval as it shrank."""
    from scalinglab.study.adaptive import read_plan

    plan = read_plan(config, storage)
    if plan is None:
        return
    rows = []
    for r in plan.rounds:
        done = r.rel_width is not None
        rows.append([
            str(r.number), ", ".join(f"({s:,}, {m})" for s, m in r.cells) + (
                f" ({r.check()})" if r.confirms is not None else ""
            ) if r.number else f"seed grid: {len(r.cells)} cells",
            num(r.spent_flops, 3) if r.spent_flops is not None else "–",
            num(r.prediction) if done else "–", span((r.lo, r.hi)) if done else "–",
            f"{r.rel_width:.1%}" if done and r.rel_width is not None else "–",
            span((r.measured_lo, r.measured_hi)),
        ])  # fmt: skip
    target = (
        f"{plan.target_examples:,} examples at model size {plan.target_model_size} "
        f"({plan.target_n_params:,} params)"
    )
    stop = f"Stopped: {plan.stopped}." if plan.stopped else "Not stopped yet: rerun to continue."
    report.plan.insert(
        0,
        Table(
            "Adaptive rounds",
            [
                "round",
                "cells run (shard, model size)",
                "training FLOPs spent",
                "prediction",
                "90% interval",
                "relative width",
                "a run there (90%)",
            ],
            rows,
            note=f"Prediction at {target} of the law {config.search.law} (m shard size, p "
            "params) fitted on the cells done after each round, with its model-robust 90% "
            "interval (variance and misfit; scalinglab.design.next_runs), and the 90% interval "
            "of a value measured there (also the noise of one cell; a confirmation is checked "
            f"against this one). {stop}",
        ),
    )


def _add_tradeoff(
    report: Report, trials: pd.DataFrame, out: Path, fits: FitOptions, command: str
) -> None:
    """A test-time study's page (pass_k columns, issue 17) gets the train-time/test-time
    trade-off: its figure, the measured multiple with its interval, and `command`; a trade-off
    that cannot be fitted becomes a note."""
    from scalinglab.planning.test_time import fit_tradeoff, has_test_time_columns

    if not has_test_time_columns(trials):
        return
    from scalinglab.report.tradeoff import add_tradeoff

    try:
        fit = fit_tradeoff(trials, n_bootstrap=fits.n_bootstrap, seed=fits.seed, level=fits.level)
    except ScalingLabError as exc:
        report.notes.append(f"train-time vs test-time trade-off not fitted: {exc}")
        return
    add_tradeoff(report, fit, out / "figures", command)


def _fit_study(
    trials: pd.DataFrame, y: str, fits: FitOptions, target: float | None = None
) -> StudyFit:
    """scalinglab.study.fit_study with the report's fit options and `target`: the call `study
    fit --target` makes, so that the page predicts there as `study fit` does."""
    return fit_study(
        trials, y=y, n_bootstrap=fits.n_bootstrap, level=fits.level, seed=fits.seed, target=target
    )


def _target_not_applicable(what: str) -> ScalingLabError:
    """The error of a `target` given with a source that has no shard sizes to predict at."""
    return ScalingLabError(
        f"target applies to a study or its results table (a shard size to predict at), not to "
        f"{what}"
    )


def _table_source(
    path: str, out: Path, where: str | None, y: str, fits: FitOptions, target: float | None
) -> BuiltReport:
    df = read_table(path, where)
    opts: dict[str, Any] = {"where": where}
    if {"shard_size", "state", "best_val_loss"} <= set(df.columns):
        analysis = _fit_study(df, y, fits, target)
        setup = [
            ("source", str(path)),
            *([("filter", where)] if where else []),
            *setup_from_trials(df),
        ]
        commands = [
            _report_command([path], out, {**opts, "y": analysis.y, "target": target}, fits.flags())
        ]
        report = study_report(analysis, out, setup, commands)
        tradeoff_cmd = (
            f"scalinglab tradeoff {_q(path)} {fits.flags()} "
            f"--save-fit {_q(out / 'tradeoff.json')} --plot {_q(out / 'tradeoff.png')}"
        )
        _add_tradeoff(report, df, out, fits, tradeoff_cmd)
        return BuiltReport(write_html(report, out), report, "study-table")
    if has_nd(df):
        if target is not None:
            raise _target_not_applicable(f"{path}, runs of model size and data (N, D, loss)")
        a = analyze_nd(
            df, str(path), n_bootstrap=fits.n_bootstrap, level=fits.level, seed=fits.seed
        )
        w = ["--where", _q(where)] if where else []
        c = a.columns
        xs = f"--x {c['params']} --x {c['tokens']}" if "tokens" in c else ""
        commands = [
            f"scalinglab isoflop {_q(path)} --params {c['params']} --loss {c['loss']} "
            + (f"--tokens {c['tokens']} " if "tokens" in c else "")
            + (f"--flops {c['compute']} " if "compute" in c else "")
            + " ".join(w)
            + f" {fits.flags()} --json isoflop.json",
        ]
        if "tokens" in c:
            commands.insert(
                0,
                f"scalinglab fit {_q(path)} --law chinchilla {xs} --y {c['loss']} "
                + " ".join(w)
                + f" {fits.flags()} --json fit.json",
            )
            commands.append(f"scalinglab plan fit.json --compute 5.76e23 {fits.level_flag()}")
        commands.append(_report_command([path], out, opts, fits.flags()))
        report = allocation_report(a, out, [("filter", where)] if where else [], commands)
        return BuiltReport(write_html(report, out), report, "nd-table")
    raise ScalingLabError(
        f"{path}: not a study's results table (columns shard_size, state, best_val_loss) nor "
        "runs with params, loss and tokens or flops; its columns are: "
        + ", ".join(map(str, df.columns))
    )


def _study_fit_trials(doc: dict[str, Any], path: str) -> pd.DataFrame:
    """The best-per-shard points of a `study fit --json` file as a trial table."""
    y = str(doc.get("y", "best_val_loss"))
    points = doc.get("points")
    if not isinstance(points, list) or not points:
        raise ScalingLabError(f"{path}: a study fit file without points; rerun `study fit --json`")
    df = pd.DataFrame(points)
    if "shard_size" not in df or y not in df:
        raise ScalingLabError(f"{path}: its points lack 'shard_size' or {y!r}")
    df["state"] = "COMPLETE"
    df["is_best"] = True
    for col in ("best_val_loss", "best_val_error"):
        if col not in df:
            df[col] = np.nan
    df["study"] = Path(path).stem
    return df


def _fits_source(paths: Sequence[str], out: Path, fits: FitOptions) -> BuiltReport:
    docs: list[tuple[str, dict[str, Any]]] = []
    for p in paths:
        docs.append((p, read_json(p, "fit file")))
    study_docs = [(p, d) for p, d in docs if isinstance(d, dict) and "learning_curve" in d]
    if study_docs:
        if len(docs) > 1:
            raise ScalingLabError("give one `study fit --json` file at a time")
        p, d = study_docs[0]
        trials = _study_fit_trials(d, p)
        analysis = _fit_study(trials, str(d.get("y", "auto")), fits)
        setup = [
            ("source", p),
            ("note", "refitted from the fit file's best-per-shard points"),
            *setup_from_trials(trials)[:3],
        ]
        report = study_report(analysis, out, setup, [_report_command([p], out, {}, fits.flags())])
        return BuiltReport(write_html(report, out), report, "fits")
    laws: list[tuple[str, ScalingLaw, dict[str, Any]]] = []
    for p, _ in docs:
        law, doc = load_fit(p)
        laws.append((p, law, doc))
    return _law_fits_report(laws, out, fits.level, paths)


def _law_fits_report(
    laws: list[tuple[str, ScalingLaw, dict[str, Any]]],
    out: Path,
    level: float,
    paths: Sequence[str],
) -> BuiltReport:
    report = Report(
        title="Scaling law fits: " + ", ".join(Path(p).name for p, _, _ in laws),
        subtitle=f"{len(laws)} fitted law(s) read from fit files",
    )
    fig_dir = out / "figures"
    for i, (p, law, doc) in enumerate(laws):
        xs = doc.get("x") or list(law.variables)
        report.setup.append(
            (
                Path(p).name,
                f"{law.name}: {doc.get('y', 'y')} vs "
                f"{', '.join(xs) if isinstance(xs, list) else xs}; "
                f"{doc.get('n_points', '?')} points"
                + (f"; where {doc['where']}" if doc.get("where") else ""),
            )
        )
        report.parameters.append(law_table(f"{Path(p).name} ({law.name})", law))
        if set(law.variables) >= {"params", "tokens"} and law.name == "chinchilla":
            tables, ex = exponent_tables(law, level)
            report.exponents += tables
            report.plan += plan_tables(law, level, [])
            report.headline.setdefault("cards", []).append(
                (f"a in N_opt ∝ C^a ({Path(p).name})", f"{ex.a:.3f}")
            )
            from scalinglab.planning import allocation_frontier
            from scalinglab.report.isoflop import allocation_figure

            frontier = allocation_frontier(law, np.geomspace(1e18, 1e25, 40), level=level)
            report.figures.append(
                figure_file(
                    allocation_figure(None, frontier, law.name),
                    fig_dir / f"allocation_{i}",
                    f"Compute-optimal allocation ({Path(p).name})",
                    f"N_opt and D_opt against compute from the fitted law, {level:.0%} band from "
                    "its "
                    "parameter draws.",
                )
            )
        elif len(law.variables) == 1:
            regions = law.regions() if hasattr(law, "regions") else None
            lo, hi = 1e2, 1e7
            if regions:
                ends = [
                    v
                    for v in (regions["small_data_end"], regions["irreducible_start"])
                    if np.isfinite(v) and v > 0
                ]
                if ends:
                    lo, hi = min(ends) / 10, max(ends) * 10
            grid = np.geomspace(lo, hi, 5)
            fig = learning_curve_figure(
                grid,
                law.predict(grid[:, None]),
                law,
                regions=regions,
                extrapolate_to=hi,
                level=level,
                xlabel=f"{xs[0] if isinstance(xs, list) else xs}",
                ylabel=str(doc.get("y", "y")),
                title=f"{law.name} fit ({Path(p).name})",
                points_label=None,
            )
            report.figures.append(
                figure_file(
                    fig,
                    fig_dir / f"curve_{i}",
                    f"Fitted curve ({Path(p).name})",
                    "The fitted law with its parameter band (the fit file holds no data points).",
                )
            )
            rows = []
            for x in np.geomspace(lo, hi, 6):
                value = float(law.predict(np.array([[x]]))[0])
                try:
                    b = law.predict_interval(np.array([[x]]), level)
                    bounds = (float(b[0][0]), float(b[1][0]))
                except ScalingLabError:
                    bounds = (float("nan"), float("nan"))
                rows.append([num(x, 3), num(value), span(bounds)])
            report.plan.append(
                Table(
                    f"Predictions of {Path(p).name}",
                    ["x", "prediction", f"{level:.0%} interval"],
                    rows,
                )
            )
    report.commands.append(
        _report_command(list(paths), out, {}, FitOptions(level=level).level_flag())
    )
    return BuiltReport(write_html(report, out), report, "fits")


def _check_out_dir(out: Path) -> None:
    """Fail before any work unless `out` is, or can be created as, a directory."""
    if out.exists() and not out.is_dir():
        raise ScalingLabError(f"out {out} is a file; give a directory (created if missing)")
    for parent in out.parents:
        if parent.exists() and not parent.is_dir():
            raise ScalingLabError(f"out {out}: {parent} is a file, not a directory")


def build_report(
    sources: Sequence[str | Path],
    out: str | Path,
    storage: str | None = None,
    where: str | None = None,
    y: str = "auto",
    n_bootstrap: int = DEFAULT_BOOTSTRAP,
    level: float = DEFAULT_LEVEL,
    config_path: str | Path | None = None,
    seed: int = DEFAULT_SEED,
    target: float | None = None,
) -> BuiltReport:
    """Write the report of `sources` to out/index.html (figures in out/figures).

    sources: one study name (with `storage`, default runs/NAME.db), one results table
    (.csv/.parquet: a study's trials, or runs with params, tokens/flops and loss), or one or more
    fit JSON files. y: the learning-curve column of a study (auto: by task domain). Every law
    fitted is bootstrapped `n_bootstrap` times with random_state `seed`, and every interval
    shown is at `level`; the reproduce commands of the page pass the same options. target: the
    shard size a study's page predicts at (its auto rule backtested at that distance, as `study
    fit --target`); a study or its results table only.
    """
    srcs = [str(s) for s in sources]
    out_dir = Path(out)
    if not srcs:
        raise ScalingLabError("give a SOURCE: a study name, a results table or fit JSON files")
    fits = FitOptions(n_bootstrap=n_bootstrap, seed=seed, level=level)
    fits.check()
    _check_out_dir(out_dir)
    suffixes = {Path(s).suffix.lower() for s in srcs}
    if suffixes == {".json"}:
        if target is not None:
            raise _target_not_applicable("fit files")
        if where is not None:  # it was once ignored here, so the page showed every row
            raise ScalingLabError(
                "--where filters the rows of a results table; a fit file was fitted on rows "
                "already chosen (fit --where)"
            )
        return _fits_source(srcs, out_dir, fits)
    if len(srcs) > 1:
        raise ScalingLabError("give one study or one table, or several .json fit files")
    src = srcs[0]
    if Path(src).suffix.lower() in TABLE_SUFFIXES:
        return _table_source(src, out_dir, where, y, fits, target)
    if Path(src).exists():
        raise ScalingLabError(
            f"{src}: unknown source type; use a .csv/.parquet table, .json fit files or a "
            "study name"
        )
    if where is not None:
        raise ScalingLabError(
            "--where filters the rows of a results table, not a study's trials; export the "
            f"study (scalinglab study export {src} --out runs.csv) and report on that table"
        )
    cfg = Path(config_path) if config_path is not None else None
    return _study_source(src, out_dir, storage, y, fits, cfg, target)
