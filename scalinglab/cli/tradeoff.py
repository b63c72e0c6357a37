"""`scalinglab tradeoff`: fit the train-time/test-time law to a test-time study and read the
trade-off (issue 17; Jones 2021, Brown et al. 2024). `plan --target-perf --inference-calls`
(scalinglab.cli.plan) plans with the fit it writes."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from scalinglab.cli.app import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_LEVEL,
    DEFAULT_SEED,
    BootstrapOption,
    JsonOption,
    LevelOption,
    SeedOption,
    app,
    check_not_input,
    check_out_file,
    fail,
    write_json,
)
from scalinglab.cli.tables import result_table, show, with_note


def check_plot_path(plot: Path | None) -> None:
    """A --plot path must end in .png or .svg and sit in an existing directory."""
    if plot is None:
        return
    if plot.suffix.lower() not in (".png", ".svg"):
        fail(f"--plot takes a .png or .svg file name, got {str(plot)!r}")
    if not plot.parent.is_dir():
        fail(f"--plot: no such directory: {plot.parent}")


@app.command("tradeoff")
def tradeoff_command(
    source: Annotated[
        str, typer.Argument(help="A test-time study's name, or a CSV/Parquet of its runs.")
    ],
    storage: Annotated[
        str | None, typer.Option(help="Storage URL of the study (default runs/NAME.db).")
    ] = None,
    save_fit: Annotated[
        Path | None, typer.Option(help="Write the fit JSON here (for `scalinglab plan`).")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write the trade-off figure (.png/.svg).")
    ] = None,
    bootstrap: BootstrapOption = DEFAULT_BOOTSTRAP,
    seed: SeedOption = DEFAULT_SEED,
    level: LevelOption = DEFAULT_LEVEL,
    json_out: JsonOption = None,
) -> None:
    """Fit the train-compute / test-time-compute trade-off of a test-time study.

    coverage = exp(−a·C_train^(−alpha)·C_test^(−beta)); shown: the slope m = −alpha/beta of the
    iso-coverage lines and the train-compute multiple worth 10× test-time compute, next to Jones
    2021's Hex figure.

    \b
    Examples:
      scalinglab tradeoff test-time-addition --save-fit tt.json
        --plot tradeoff.png
      scalinglab tradeoff runs.csv --bootstrap 1000 --json -
    """
    from scalinglab.cli.ranges import frame_range
    from scalinglab.io import read_table
    from scalinglab.planning.test_time import HEX_MULTIPLE, fit_tradeoff

    check_plot_path(plot)
    check_out_file(save_fit, "--save-fit", "tt.json")
    path = Path(source)
    for option, out in (("--save-fit", save_fit), ("--plot", plot), ("--json", json_out)):
        check_not_input(out, option, path)
    if path.suffix.lower() in (".csv", ".tsv", ".parquet") or path.exists():
        table = read_table(path)
    else:
        from scalinglab.study import load_results

        table = load_results(source, storage=storage)
    fit = fit_tradeoff(table, n_bootstrap=bootstrap, seed=seed, level=level)
    law = fit.law
    table_out = result_table(
        f"train-time vs test-time compute ({law.formula}; {len(fit.runs)} points)",
        [
            ("a", law.params_["a"], law.ci_.get("a")),
            ("alpha (train compute)", law.params_["alpha"], law.ci_.get("alpha")),
            ("beta (test-time compute)", law.params_["beta"], law.ci_.get("beta")),
            ("slope m = −alpha/beta", fit.slope, fit.slope_interval),
            (
                "train multiple worth 10× test-time",
                fit.train_multiple_for_10x_test,
                fit.train_multiple_interval,
            ),
            ("Jones 2021, Hex (m ≈ −1.2)", HEX_MULTIPLE, None),
        ],
        level,
    )
    x = ["train_compute", "test_compute"]
    # the fitted range, as `fit --json` keeps it: `plan` says how far past it its split lies
    doc = {**law.to_dict(), "x": x, "y": "coverage", "x_range": frame_range(fit.runs, x)}
    payload: dict[str, Any] = fit.summary()
    if save_fit is not None:
        write_json(save_fit, doc)
    if plot is not None:
        from scalinglab.report.style import save_figure
        from scalinglab.report.tradeoff import tradeoff_figure

        fig = tradeoff_figure(law, fit.coverage_levels(), runs=fit.runs, level=level)
        save_figure(fig, plot.with_suffix(""))
    show(payload, json_out, [table_out])


# How plan names a split's numbers in its note (`cli.ranges.law_note`)
SPLIT_LABELS = {"train_compute": "C_train", "test_compute": "C_test per call"}


def plan_split(
    fit_file: Path,
    *,
    target_perf: float | None,
    inference_calls: float | None,
    target_win_rate: float | None,
    vs_elo: float | None,
    plot: Path | None,
    level: float,
    json_out: Path | None,
) -> None:
    """`plan FIT --target-perf P --inference-calls Q`: the cheapest C_train + Q·C_test."""
    from scalinglab.cli.ranges import law_note
    from scalinglab.io import load_fit
    from scalinglab.laws import elo_from_win_rate
    from scalinglab.planning.test_time import cheapest_split

    if inference_calls is None:
        fail("--target-perf and --target-win-rate go with --inference-calls (calls to serve)")
    if target_perf is not None and target_win_rate is not None:
        fail("give --target-perf or --target-win-rate, not both")
    if target_perf is None and target_win_rate is None:
        fail("--inference-calls needs a target: --target-perf (or --target-win-rate --vs-elo)")
    if vs_elo is not None and target_win_rate is None:
        fail("--vs-elo goes with --target-win-rate")
    assert inference_calls is not None
    if not (math.isfinite(inference_calls) and inference_calls > 0):
        fail(f"--inference-calls must be a number > 0, got {inference_calls:g}")
    check_plot_path(plot)
    law, doc = load_fit(fit_file)
    if target_win_rate is not None:
        if law.name != "jones_tradeoff":
            fail(f"--target-win-rate needs an Elo fit (jones_tradeoff), not {law.name}")
        if vs_elo is None:
            fail("--target-win-rate is an Elo only against a reference: give --vs-elo ELO")
        target = float(elo_from_win_rate(target_win_rate, vs_elo))
    else:
        assert target_perf is not None
        target = target_perf
    res = cheapest_split(law, target, inference_calls, level=level)
    iv = res.intervals
    table = result_table(
        f"cheapest split reaching perf {target:g} with {inference_calls:g} calls ({law.name}: "
        f"train once + calls × test-time compute)",
        [
            ("train compute (FLOPs)", res.train_compute, iv.get("train_compute")),
            (
                "test-time compute per call",
                res.test_compute_per_call,
                iv.get("test_compute_per_call"),
            ),
            ("all calls' compute", res.inference_compute, None),
            ("total compute", res.total_compute, iv.get("total_compute")),
            ("slope m of the iso-performance line", res.slope, iv.get("slope")),
            (
                "train multiple worth 10× test-time",
                res.train_multiple_for_10x_test,
                iv.get("train_multiple_for_10x_test"),
            ),
        ],
        level,
    )
    note = (
        f"intervals from {res.n_draws} {res.interval_source} draws of the fit's parameters"
        if res.n_draws
        else "no parameter draws in this fit: refit with --bootstrap N for intervals"
    )
    if plot is not None:
        from scalinglab.report.style import save_figure
        from scalinglab.report.tradeoff import tradeoff_figure

        save_figure(tradeoff_figure(law, [target], plan=res, level=level), plot.with_suffix(""))
    # Both laws have train_compute; only pass_at_k_compute has test_compute (jones_tradeoff's
    # other input is perf, an Elo: no log scale, so no decades past its range).
    answer = {"train_compute": res.train_compute, "test_compute": res.test_compute_per_call}
    beyond = law_note(
        doc, law.variables, {k: v for k, v in answer.items() if k in law.variables}, SPLIT_LABELS
    )
    payload = {"query": "test_time", **res.to_dict(), "beyond_data": beyond}
    show(payload, json_out, with_note([table, note], beyond))
