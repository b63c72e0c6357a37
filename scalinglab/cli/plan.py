"""`scalinglab plan`: decide what to train next from a fitted law (or an `isoflop --json` result).

A thin command over scalinglab.planning; every number it prints is one function call away.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from scalinglab.cli.app import (
    DEFAULT_LEVEL,
    JsonOption,
    LevelOption,
    app,
    check_not_input,
    fail,
    flag_names,
)
from scalinglab.cli.tables import result_table, show, titled, with_note
from scalinglab.display import num, span
from scalinglab.errors import ScalingLabError

# scalinglab.planning, .io and .laws import torch, scipy and pandas: they are imported inside the
# functions that use them, so that `scalinglab --help` and the other commands start fast.
if TYPE_CHECKING:
    from scalinglab.laws.base import ScalingLaw
    from scalinglab.planning import FlopModel
    from scalinglab.planning.lines import AllocationLines

# Library errors name API parameters; `plan` shows its own flags instead.
FLAGS = {
    "data_for_target": "--target-error",
    "compute_for_loss": "--target-loss",
    "unique_tokens": "--unique-tokens",
}


def _parse_sizes(text: str) -> list[float]:
    sizes = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            sizes.append(float(part))
        except ValueError:
            fail(f"--model-sizes takes comma-separated numbers, got {part!r}")
    if not sizes:
        fail("--model-sizes needs at least one model size, e.g. 4e8,1e9,1e10")
    for size in sizes:
        if not (math.isfinite(size) and size >= 1):
            fail(f"--model-sizes: a model has at least one parameter, got {size:g}")
    return sizes


def _check_rows(frame: Any) -> None:
    """Every projected row finite, with at least one token and a FLOP per parameter (a size far
    outside what the law or lines were fitted on can overflow, or need under one token; lines of
    a hand-edited exponent, 1e308, give one FLOP for any size)."""
    import numpy as np

    for rec in frame.to_dict(orient="records"):
        flops, tokens = float(rec["flops"]), float(rec["tokens"])
        ok = np.isfinite(flops) and np.isfinite(tokens) and tokens >= 1
        if not (ok and flops >= float(rec["params"])):
            fail(
                f"--model-sizes: a model of {rec['params']:.3g} parameters gives {flops:.3g} "
                f"FLOPs and {tokens:.3g} tokens; ask for sizes near the runs fitted"
            )


def _allocation_lines(path: Path) -> tuple[AllocationLines, dict[str, Any]] | None:
    """The N_opt(C), D_opt(C) lines if `path` holds an `isoflop --json` result (with the
    result's range of budgets as an `x_range` of "compute", for `cli.ranges`), else None."""
    from scalinglab.cli.ranges import finite_number
    from scalinglab.io import read_json
    from scalinglab.planning.lines import AllocationLines

    try:
        doc = read_json(path)
    except ScalingLabError:
        return None  # load_fit reports the problem
    if not (isinstance(doc, dict) and "n_line" in doc and "params" not in doc):
        return None
    rows = doc.get("budgets") or doc.get("points") or []  # isoflop's budgets, envelope's runs
    rows = rows if isinstance(rows, list) else []  # a hand-edited file may hold anything
    compute = [r.get("compute") for r in rows if isinstance(r, dict)]
    finite = [c for c in map(finite_number, compute) if c is not None]
    ranges = {"compute": [min(finite), max(finite)]} if finite else {}
    return AllocationLines.from_dict(doc), {"x_range": ranges}


# How plan's notes name a compute-optimal N and D (`_beyond_data`)
OPTIMUM_LABELS = {"params": "N_opt", "tokens": "D_opt"}
INFERENCE_LABELS = {"params": "N_opt", "tokens": "D_train"}  # the inference-aware plan's


def _beyond_data(
    law: ScalingLaw, doc: dict[str, Any], values: dict[str, float], labels: dict[str, str]
) -> str | None:
    """`cli.ranges.law_note` for values keyed by the law's variables (params, tokens): how far
    past the fitted data an answer lies, named by the columns the law was fitted on."""
    from scalinglab.cli.ranges import law_note

    return law_note(doc, law.variables, values, labels)


def _check_sizes(n_opt: float, d_opt: float, what: str) -> None:
    """A plan whose model has under one parameter or one token, or infinitely many, is no plan
    (a budget or target far outside anything the law was fitted on, or lines of a hand-edited
    exponent)."""
    if not (1 <= n_opt < math.inf and 1 <= d_opt < math.inf):
        why = "under one" if min(n_opt, d_opt) < 1 else "not a finite number"
        fail(
            f"{what}: the compute-optimal model has {n_opt:.3g} parameters and {d_opt:.3g} tokens "
            f"({why}); ask for a budget or target within reach of the runs fitted"
        )


def _source_note(source: str, n: int) -> str:
    if source == "none":
        return "no parameter draws in this fit: refit with --bootstrap N for intervals"
    return f"intervals from {n} {source} draws of the fit's parameters"


@app.command("plan")
def plan_command(
    fit_file: Annotated[Path, typer.Argument(help="Fit JSON from `scalinglab fit --json`.")],
    compute: Annotated[
        float | None, typer.Option(help="Training budget in FLOPs: the compute-optimal N, D.")
    ] = None,
    target_loss: Annotated[
        float | None, typer.Option(help="Loss to reach: the compute, N and D it takes.")
    ] = None,
    target_error: Annotated[
        float | None,
        typer.Option(help="Error to reach on a one-variable learning curve: the data it takes."),
    ] = None,
    model_sizes: Annotated[
        str | None,
        typer.Option(help="Comma-separated model sizes: a Hoffmann 2022 Table 3 projection."),
    ] = None,
    unique_tokens: Annotated[
        float | None,
        typer.Option(help="Unique tokens available (with --compute): Muennighoff 2023 epochs."),
    ] = None,
    inference_tokens: Annotated[
        float | None,
        typer.Option(help="Tokens the model will serve (with --compute or --target-loss)."),
    ] = None,
    flops_per_param_token: Annotated[
        float, typer.Option(help="k in the training FLOP model C = k·N·D.")
    ] = 6.0,
    flops_function: Annotated[
        str | None,
        typer.Option(
            help="Your FLOP model instead of k·N·D: arithmetic in N (parameters) and D (tokens), "
            "e.g. '6*N*D + 2e4*D' (parsed safely, never run as code)."
        ),
    ] = None,
    r_d_star: Annotated[
        float | None, typer.Option(help="R*_D for --unique-tokens with a chinchilla fit.")
    ] = None,
    r_n_star: Annotated[
        float | None, typer.Option(help="R*_N for --unique-tokens with a chinchilla fit.")
    ] = None,
    target_perf: Annotated[
        float | None,
        typer.Option(help="Performance to reach with test-time compute (with --inference-calls)."),
    ] = None,
    inference_calls: Annotated[
        float | None,
        typer.Option(help="Calls the model will serve: the cheapest train/test-time split."),
    ] = None,
    target_win_rate: Annotated[
        float | None,
        typer.Option(help="Instead of --target-perf for an Elo fit: win rate against --vs-elo."),
    ] = None,
    vs_elo: Annotated[
        float | None, typer.Option(help="Elo of the opponent --target-win-rate refers to.")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="With --inference-calls: the trade-off figure (.png/.svg).")
    ] = None,
    level: LevelOption = DEFAULT_LEVEL,
    json_out: JsonOption = None,
) -> None:
    """Plan a run from a fitted law: allocation, inverse queries, projections.

    FIT_FILE is a law fit (`scalinglab fit --json`), or an `isoflop --json` result for
    --compute and --model-sizes from its fitted N_opt(C), D_opt(C) lines.

    \b
    Examples:
      scalinglab plan fit.json --compute 1e24
      scalinglab plan fit.json --compute 1e24 --flops-per-param-token 8
        --json plan.json
      scalinglab plan fit.json --target-loss 2.0
      scalinglab plan curve.json --target-error 0.05
      scalinglab plan fit.json
        --model-sizes 4e8,1e9,1e10,6.7e10,1.75e11,2.8e11,5.2e11,1e12,1e13
      scalinglab plan fit.json --compute 1e22 --unique-tokens 1e10
      scalinglab plan fit.json --compute 1e22 --inference-tokens 1e12
      scalinglab plan isoflop.json --model-sizes 1e9,1e10,1e11
      scalinglab plan tradeoff.json --target-perf 0.8 --inference-calls 1e6
        --plot split.png
    """
    from scalinglab.io import load_fit
    from scalinglab.planning import FlopModel
    from scalinglab.planning.flops import FlopExpression

    check_not_input(json_out, "--json", fit_file)

    if inference_calls is not None or target_perf is not None or target_win_rate is not None:
        from scalinglab.cli.tradeoff import plan_split

        plan_split(
            fit_file,
            target_perf=target_perf,
            inference_calls=inference_calls,
            target_win_rate=target_win_rate,
            vs_elo=vs_elo,
            plot=plot,
            level=level,
            json_out=json_out,
        )
        return
    if vs_elo is not None or plot is not None:
        fail("--vs-elo and --plot go with --inference-calls (a train/test-time compute plan)")

    queries = {
        "--compute": compute,
        "--target-loss": target_loss,
        "--target-error": target_error,
        "--model-sizes": model_sizes,
    }
    given = [k for k, v in queries.items() if v is not None]
    if not given:
        fail("say what to plan: --compute, --target-loss, --target-error or --model-sizes")
    if len(given) > 1:
        fail(f"give one query at a time, got {' and '.join(given)}")
    if unique_tokens is not None and compute is None:
        fail("--unique-tokens goes with --compute (a budget to spend on repeated data)")
    if inference_tokens is not None and compute is None and target_loss is None:
        fail("--inference-tokens goes with --compute or --target-loss")
    if unique_tokens is not None and inference_tokens is not None:
        fail("--unique-tokens and --inference-tokens cannot be combined")
    if (r_d_star is not None or r_n_star is not None) and unique_tokens is None:
        fail("--r-d-star and --r-n-star only apply with --unique-tokens")
    if not (math.isfinite(flops_per_param_token) and flops_per_param_token > 0):
        fail(f"--flops-per-param-token must be > 0, got {flops_per_param_token}")
    flops = (
        FlopModel(function=FlopExpression(flops_function))
        if flops_function is not None
        else FlopModel(k=flops_per_param_token)
    )
    found = _allocation_lines(fit_file)
    if found is not None:
        lines, fitted = found
        if (compute is None and model_sizes is None) or unique_tokens or inference_tokens:
            fail(
                "an isoflop/envelope result answers --compute and --model-sizes only; "
                "fit a law (scalinglab fit) for loss targets and other queries"
            )
        _plan_lines(lines, fitted, compute=compute, model_sizes=model_sizes, json_out=json_out)
        return
    law, doc = load_fit(fit_file)
    with flag_names(FLAGS):
        if inference_tokens is not None:
            _plan_inference(
                law,
                doc,
                flops=flops,
                inference_tokens=inference_tokens,
                compute=compute,
                target_loss=target_loss,
                level=level,
                json_out=json_out,
            )
        elif unique_tokens is not None:
            assert compute is not None
            _plan_data_constrained(
                law,
                doc,
                flops=flops,
                compute=compute,
                unique_tokens=unique_tokens,
                r_d_star=r_d_star,
                r_n_star=r_n_star,
                level=level,
                json_out=json_out,
            )
        elif compute is not None:
            _plan_compute(law, doc, flops=flops, compute=compute, level=level, json_out=json_out)
        elif target_loss is not None:
            if len(law.variables) == 1:
                _plan_curve(
                    law, doc, target=target_loss, level=level, json_out=json_out,
                    query="target_loss",
                )  # fmt: skip
            else:
                _plan_target_loss(
                    law, doc, flops=flops, target=target_loss, level=level, json_out=json_out
                )
        elif target_error is not None:
            _plan_curve(
                law, doc, target=target_error, level=level, json_out=json_out,
                query="target_error",
            )  # fmt: skip
        else:
            assert model_sizes is not None
            _plan_projection(
                law, doc, flops=flops, sizes=_parse_sizes(model_sizes), level=level,
                json_out=json_out,
            )  # fmt: skip


def _plan_lines(
    lines: AllocationLines,
    fitted: dict[str, Any],
    *,
    compute: float | None,
    model_sizes: str | None,
    json_out: Path | None,
) -> None:
    from scalinglab.cli.ranges import range_note
    from scalinglab.planning import projection_table

    if compute is not None:
        if not (math.isfinite(compute) and compute > 0):
            fail(f"the compute budget must be a positive number of FLOPs, got {compute:g}")
        n, d = (float(v) for v in lines.at(compute))
        _check_sizes(n, d, f"C = {compute:.4g} FLOPs")
        rows = [
            ("N_opt (parameters)", n, None),
            ("D_opt (tokens)", d, None),
            ("tokens per parameter", d / n, None),
            ("a in N_opt ∝ C^a", lines.a, lines.n_line.exponent_interval),
            ("b in D_opt ∝ C^b", lines.b, lines.d_line.exponent_interval),
        ]
        title = f"allocation for C = {compute:.4g} FLOPs from fitted N_opt(C), D_opt(C) lines"
        payload = {
            "query": "compute",
            "compute": compute,
            "n_opt": n,
            "d_opt": d,
            "tokens_per_param": d / n,
            "a": lines.a,
            "b": lines.b,
        }
        payload["beyond_data"] = beyond = range_note(fitted, {"compute": compute}, {"compute": "C"})
        show(payload, json_out, with_note([result_table(title, rows, lines.n_line.level)], beyond))
        return
    assert model_sizes is not None
    frame = projection_table(lines, model_sizes=_parse_sizes(model_sizes))
    _check_rows(frame)
    table = Table()
    for col in ("parameters", "FLOPs", "FLOPs (Gopher units)", "tokens", "tokens/param"):
        table.add_column(col, justify="right")
    for rec in frame.to_dict(orient="records"):
        table.add_row(
            num(rec["params"]),
            num(rec["flops"]),
            _gopher(rec["flops_gopher"]),
            num(rec["tokens"]),
            num(rec["tokens_per_param"], ".1f"),
        )
    payload = {
        "query": "model_sizes",
        "rows": [{k: float(v) for k, v in r.items()} for r in frame.to_dict(orient="records")],
    }
    # as _plan_projection: the note is about the largest model asked
    largest = float(frame["flops"].to_numpy()[frame["params"].to_numpy().argmax()])
    beyond = range_note(fitted, {"compute": largest}, {"compute": "C (of the largest N asked)"})
    payload["beyond_data"] = beyond
    title = "compute-optimal budgets per model size from fitted lines (Hoffmann 2022 Table 3)"
    show(payload, json_out, with_note([titled(title, table)], beyond))


def _gopher(units: float) -> str:
    """A budget in Gopher units: 1/N below one Gopher (as Hoffmann 2022 Table 3), else N."""
    if not (math.isfinite(units) and units > 0):
        return num(units)
    return f"1/{num(1 / units, ',.0f')}" if units < 1 else num(units, ",.3g")


def _plan_compute(
    law: ScalingLaw,
    doc: dict[str, Any],
    *,
    flops: FlopModel,
    compute: float,
    level: float,
    json_out: Path | None,
) -> None:
    from scalinglab.planning import allocation_exponents, compute_optimal

    alloc = compute_optimal(law, compute, flops=flops, level=level)
    _check_sizes(alloc.n_opt, alloc.d_opt, f"C = {compute:.4g} FLOPs")
    exps = allocation_exponents(law, compute, flops=flops, level=level)
    iv = alloc.intervals
    table = result_table(
        f"compute-optimal allocation for C = {compute:.4g} FLOPs ({law.name}, "
        f"{alloc.flop_model}, {alloc.method})",
        [
            ("N_opt (parameters)", alloc.n_opt, iv.get("n_opt")),
            ("D_opt (tokens)", alloc.d_opt, iv.get("d_opt")),
            ("tokens per parameter", alloc.tokens_per_param, iv.get("tokens_per_param")),
            ("predicted loss", alloc.loss, iv.get("loss")),
            ("a in N_opt ∝ C^a", exps.a, exps.a_interval),
            ("b in D_opt ∝ C^b", exps.b, exps.b_interval),
        ],
        level,
    )
    beyond = _beyond_data(
        law,
        doc,
        {"params": alloc.n_opt, "tokens": alloc.d_opt},
        OPTIMUM_LABELS,
    )
    payload = {
        "query": "compute",
        **alloc.to_dict(),
        "exponents": exps.to_dict(),
        "beyond_data": beyond,
    }
    items = [table, _source_note(alloc.interval_source, alloc.n_draws)]
    show(payload, json_out, with_note(items, beyond))


def _plan_target_loss(
    law: ScalingLaw,
    doc: dict[str, Any],
    *,
    flops: FlopModel,
    target: float,
    level: float,
    json_out: Path | None,
) -> None:
    from scalinglab.planning import compute_for_loss

    res = compute_for_loss(law, target, flops=flops, level=level)
    _check_sizes(res.n_opt, res.d_opt, f"loss {target:g}")
    iv = res.intervals
    table = result_table(
        f"cheapest compute-optimal run reaching loss {target:g} ({law.name}, {res.flop_model})",
        [
            ("compute (FLOPs)", res.compute, iv.get("compute")),
            ("N_opt (parameters)", res.n_opt, iv.get("n_opt")),
            ("D_opt (tokens)", res.d_opt, iv.get("d_opt")),
            ("tokens per parameter", res.tokens_per_param, None),
        ],
        level,
    )
    notes: list[Any] = [table, _source_note(res.interval_source, res.n_draws)]
    if res.unreachable_fraction > 0:
        notes.append(
            f"[yellow]{res.unreachable_fraction:.1%} of the draws never reach this loss[/] "
            "(their irreducible loss is above it): the interval's upper end is infinite"
        )
    beyond = _beyond_data(law, doc, {"params": res.n_opt, "tokens": res.d_opt}, OPTIMUM_LABELS)
    show(
        {"query": "target_loss", **res.to_dict(), "beyond_data": beyond},
        json_out,
        with_note(notes, beyond),
    )


def _plan_curve(
    law: ScalingLaw,
    doc: dict[str, Any],
    *,
    target: float,
    level: float,
    json_out: Path | None,
    query: str,
) -> None:
    from scalinglab.planning import data_for_target

    res = data_for_target(law, target, level=level)
    table = result_table(
        f"{res.variable} needed to reach {target:g} ({law.name})",
        [
            (res.variable, res.value, res.interval),
            ("fitted irreducible level", res.irreducible, None),
        ],
        level,
    )
    notes: list[Any] = [table, _source_note(res.interval_source, res.n_draws)]
    if res.unreachable_fraction > 0:
        notes.append(
            f"[yellow]{res.unreachable_fraction:.1%} of the draws never reach this target[/]"
        )
    beyond = _beyond_data(law, doc, {res.variable: res.value}, {})
    payload = {"query": query, **res.to_dict(), "beyond_data": beyond}
    show(payload, json_out, with_note(notes, beyond))


def _plan_projection(
    law: ScalingLaw,
    doc: dict[str, Any],
    *,
    flops: FlopModel,
    sizes: list[float],
    level: float,
    json_out: Path | None,
) -> None:
    from scalinglab.planning import projection_table

    frame = projection_table(law, model_sizes=sizes, flops=flops, level=level)
    _check_rows(frame)
    table = Table()
    for col in ("parameters", "FLOPs", "FLOPs (Gopher units)", "tokens", "tokens/param", "loss"):
        table.add_column(col, justify="right")
    has_iv = "flops_lo" in frame
    if has_iv:
        table.add_column(f"FLOPs {level:.0%} interval", justify="right", no_wrap=True)
    for rec in frame.to_dict(orient="records"):
        cells = [
            num(rec["params"]),
            num(rec["flops"]),
            _gopher(rec["flops_gopher"]),
            num(rec["tokens"]),
            num(rec["tokens_per_param"], ".1f"),
            num(rec["loss"], ".4f"),
        ]
        if has_iv:
            cells.append(span((rec["flops_lo"], rec["flops_hi"])))
        table.add_row(*cells)
    payload = {
        "query": "model_sizes",
        "law": law.name,
        "flop_model": flops.describe(),
        "level": level,
        "rows": [{k: float(v) for k, v in r.items()} for r in frame.to_dict(orient="records")],
    }
    largest = int(frame["params"].to_numpy().argmax())
    beyond = _beyond_data(
        law,
        doc,
        {k: float(frame[k].to_numpy()[largest]) for k in ("params", "tokens")},
        {"params": "N (the largest asked)", "tokens": "its D"},
    )
    payload["beyond_data"] = beyond
    title = f"compute-optimal budgets and tokens per model size ({law.name}; Hoffmann 2022 Table 3)"
    show(payload, json_out, with_note([titled(title, table)], beyond))


def _plan_data_constrained(
    law: ScalingLaw,
    doc: dict[str, Any],
    *,
    flops: FlopModel,
    compute: float,
    unique_tokens: float,
    r_d_star: float | None,
    r_n_star: float | None,
    level: float,
    json_out: Path | None,
) -> None:
    from scalinglab.planning import data_constrained_optimal

    res = data_constrained_optimal(
        law,
        compute,
        unique_tokens,
        flops=flops,
        level=level,
        r_d_star=r_d_star,
        r_n_star=r_n_star,
    )
    # The library's search keeps N and D at one or more; checked here as for every plan kind.
    _check_sizes(res.n_opt, res.d_opt, f"C = {compute:.4g} FLOPs")
    iv = res.intervals
    table = result_table(
        f"data-constrained plan: C = {compute:.4g} FLOPs, U = {unique_tokens:.4g} unique tokens "
        f"(Muennighoff 2023; R* from {res.r_source})",
        [
            ("N_opt (parameters)", res.n_opt, iv.get("n_opt")),
            ("tokens (with repeats)", res.d_opt, iv.get("d_opt")),
            ("epochs over the unique data", res.epochs, iv.get("epochs")),
            ("effective tokens D′", res.effective_tokens, None),
            ("predicted loss", res.loss, iv.get("loss")),
            ("loss with unlimited unique data", res.loss_unconstrained, None),
            ("loss lost to repetition", res.loss_lost_to_repetition, None),
        ],
        level,
    )
    notes: list[Any] = [table]
    if res.note:
        notes.append(f"[yellow]note:[/] {res.note}")
    values = {"params": res.n_opt, "tokens": res.d_opt}
    if "unique_tokens" in law.variables:  # a data_constrained fit saw a range of U too
        values["unique_tokens"] = unique_tokens
    beyond = _beyond_data(law, doc, values, {**OPTIMUM_LABELS, "unique_tokens": "U"})
    payload = {"query": "data_constrained", **res.to_dict(), "beyond_data": beyond}
    show(payload, json_out, with_note(notes, beyond))


def _plan_inference(
    law: ScalingLaw,
    doc: dict[str, Any],
    *,
    flops: FlopModel,
    inference_tokens: float,
    compute: float | None,
    target_loss: float | None,
    level: float,
    json_out: Path | None,
) -> None:
    from scalinglab.planning import inference_optimal

    res = inference_optimal(
        law,
        inference_tokens,
        target_loss=target_loss,
        compute=compute,
        flops=flops,
        level=level,
    )
    _check_sizes(res.n_opt, res.d_train, f"{inference_tokens:g} inference tokens")
    iv = res.intervals
    table = result_table(
        f"inference-aware plan: loss {res.target_loss:.4g}, {inference_tokens:.4g} inference "
        "tokens (Sardana 2023)",
        [
            ("N_opt (parameters)", res.n_opt, iv.get("n_opt")),
            ("training tokens", res.d_train, iv.get("d_train")),
            ("tokens per parameter", res.tokens_per_param, None),
            ("training FLOPs", res.train_flops, None),
            ("inference FLOPs", res.inference_flops, None),
            ("total FLOPs", res.total_flops, iv.get("total_flops")),
            ("Chinchilla-optimal N for this loss", res.n_chinchilla, None),
            ("its total FLOPs", res.total_flops_chinchilla, None),
            ("saving", res.savings, None),
        ],
        level,
    )
    beyond = _beyond_data(law, doc, {"params": res.n_opt, "tokens": res.d_train}, INFERENCE_LABELS)
    payload = {"query": "inference", **res.to_dict(), "beyond_data": beyond}
    show(payload, json_out, with_note([table], beyond))
