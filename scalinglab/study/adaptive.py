"""Adaptive studies (`[search] design = "adaptive"`): run the cells of the shards x model-sizes
grid that teach most about one prediction, not the whole grid.

A cell is one (shard size, model size) pair, trained at every replicate seed with every trial of
`SearchSpec.cell_trials()` (every hparam combination under the grid sampler). The study runs a
seed grid first: the `seed_shards` smallest shards at every model size. Then, round after round:

1. each cell done gives one point: the best value of its trials (`select_by`) per seed, averaged
   over the seeds; x = (m, p), the shard size and the model's parameter count;
2. the study's law (a formula in m and p, default a·m^(−b) + c·p^(−d) + e) is fitted to them;
3. the 90% interval of its prediction at the target (target examples at the target model size)
   is the model-robust one of scalinglab.design.next_runs: variance plus the law's misfit,
   z·sqrt(MSE) on the log scale. Its relative width (hi − lo) / prediction is recorded with the
   training FLOPs spent so far, and so is the 90% interval of a value *measured* at the target,
   z·sqrt(MSE + σ²), σ² the design model's noise of one cell there (the seeds' scatter about
   the law's value);
4. when that width is below `target_rel_width`, the study checks the law before it stops: a
   confirmation round runs one cell (`confirmation_cell`: the cell not run, other than the
   target's own, nearest the target in the design's standardised log inputs, inside the range
   of shapes and within the budget left), with the law's prediction there and the 90%
   interval of a value measured there recorded before it runs (Montgomery, Design and
   Analysis of Experiments: a confirmation experiment, whose interval adds the noise of the
   confirmation run to the variance of the prediction). Inside it, the study stops; outside,
   the cell joins the fit and rounds go on.
   A law can fit every cell done and still miss the target by many of its σ when nothing done
   lies near it (the lm benchmark, docs/design-log.md); the confirmation cell is where that
   shows. The study also stops when the `[budget] total_flops` is spent or no cell is left
   (or none qualifies to confirm, said so); else `greedy_design` picks the next
   `runs_per_round` cells among those not run and within the range of shapes (examples per
   parameter) of the cells done and the target (design.next_runs.within_shape_range, as
   `suggest`), within what is left of the
   budget (cost: estimated training FLOPs of the cell — FLOPs per example of its model times
   the examples it will see, the upper 90% bound of a regression on the shard size over the
   trials done — times its trials and seeds), and they are queued as ordinary trials. When
   the design finds no cell that narrows the interval, a study with a budget stops and says
   so; one without (nothing else would stop it: a few cells and a target far beyond them) runs
   the next shard up, as before the law could be fitted.

The plan (every round's cells, and each round's fit once its trials are done) is a user
attribute of the parent Optuna study, written before its cells are queued; queueing is idempotent
(a cell's trials have fixed slots, model index x trials per cell + j, the slots a full grid
would give them), so a study killed at any point resumes where it was: at most the trial in
flight is lost (and re-queued by the usual recovery), and a round planned but not yet queued is
queued on the next start.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import optuna
import pandas as pd

from scalinglab.design.next_runs import (
    greedy_design,
    standardised_inputs,
    state_from_runs,
    within_shape_range,
)
from scalinglab.errors import ScalingLabError
from scalinglab.fitting.objectives import LOG_OBJECTIVES
from scalinglab.laws.formula import FormulaLaw
from scalinglab.study.config import ADAPTIVE_VARIABLES, StudyConfig
from scalinglab.study.storage import shard_study_name
from scalinglab.tasks.base import Task

PLAN_ATTR = "scalinglab.adaptive"
LEVEL = 0.9
COST_Z = NormalDist().inv_cdf(0.9)  # cost estimates: the upper 90% bound of examples seen
FIT_STARTS = 32  # start points of each round's fit (a round's fit should take seconds)

Cell = tuple[int, int]  # (shard size, model size)


@dataclass
class Round:
    """One round: the cells it queued and, once they ran, the fit on every cell done."""

    number: int
    cells: list[Cell]
    spent_flops: float | None = None  # training FLOPs of the whole study after this round
    cells_done: int | None = None
    prediction: float | None = None
    lo: float | None = None
    hi: float | None = None
    rel_width: float | None = None
    # the 90% interval of a value measured at the target: the law's interval widened by the
    # noise of one cell (TargetInterval)
    measured_lo: float | None = None
    measured_hi: float | None = None
    params: dict[str, float] = field(default_factory=dict)
    # A confirmation round's one cell: the law's prediction and the 90% interval of a value
    # measured there, recorded before it ran ({"prediction", "lo", "hi"}), and, once it ran,
    # its value and the verdict.
    confirms: dict[str, float] | None = None
    confirmed: bool | None = None

    @property
    def evaluated(self) -> bool:
        return self.rel_width is not None

    def check(self) -> str:
        """A confirmation round's verdict in words ('' for other rounds): the value measured
        against the 90% interval the law predicted before the cell ran."""
        c = self.confirms
        if c is None:
            return ""
        interval = f"{c['lo']:.4g} - {c['hi']:.4g}"
        if self.confirmed is None:
            return f"confirmation: to run (90% {interval})"
        if "value" not in c:
            return f"confirmation: failed to train (90% {interval})"
        verdict = "inside" if self.confirmed else "outside"
        return f"confirmation: {c['value']:.4g}, {verdict} {interval}"


@dataclass
class Plan:
    """An adaptive study's rounds and, once it stopped, why."""

    rounds: list[Round]
    stopped: str | None = None
    target_examples: int = 0
    target_model_size: int = 0
    target_n_params: int = 0

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for r in out["rounds"]:
            r["cells"] = [list(c) for c in r["cells"]]
        return out

    @staticmethod
    def from_json(data: dict[str, Any]) -> Plan:
        rounds = [
            Round(**{**r, "cells": [(int(a), int(b)) for a, b in r["cells"]]})
            for r in data.get("rounds", [])
        ]
        return Plan(
            rounds=rounds,
            stopped=data.get("stopped"),
            target_examples=int(data.get("target_examples", 0)),
            target_model_size=int(data.get("target_model_size", 0)),
            target_n_params=int(data.get("target_n_params", 0)),
        )

    def cells(self) -> list[Cell]:
        return [c for r in self.rounds for c in r.cells]

    def table(self) -> pd.DataFrame:
        """round, cells, spent FLOPs, prediction, interval, its relative width, and a confirmation
        round's verdict."""
        return pd.DataFrame(
            [
                {
                    "round": r.number, "cells": len(r.cells), "cells_done": r.cells_done,
                    "spent_flops": r.spent_flops, "prediction": r.prediction, "lo": r.lo,
                    "hi": r.hi, "rel_width": r.rel_width, "measured_lo": r.measured_lo,
                    "measured_hi": r.measured_hi, "check": r.check(),
                }
                for r in self.rounds
            ],
            columns=["round", "cells", "cells_done", "spent_flops", "prediction", "lo", "hi",
                     "rel_width", "measured_lo", "measured_hi", "check"],
        )  # fmt: skip


# ---- storage ---------------------------------------------------------------------------------
def _parent(config: StudyConfig, storage: optuna.storages.BaseStorage) -> optuna.Study:
    return optuna.load_study(study_name=config.name, storage=storage)


def read_plan(config: StudyConfig, storage: optuna.storages.BaseStorage) -> Plan | None:
    """The stored plan of an adaptive study (None before it is laid out, or for a grid study)."""
    if config.search.design != "adaptive":
        return None
    try:
        data = _parent(config, storage).user_attrs.get(PLAN_ATTR)
    except KeyError:
        return None
    return Plan.from_json(data) if isinstance(data, dict) else None


def write_plan(config: StudyConfig, storage: optuna.storages.BaseStorage, plan: Plan) -> None:
    _parent(config, storage).set_user_attr(PLAN_ATTR, plan.to_json())


def seed_cells(config: StudyConfig) -> list[Cell]:
    """The seed grid: the `seed_shards` smallest shards at every model size."""
    shards = config.shard_sizes()[: config.search.seed_shards]
    return [(s, m) for s in shards for m in config.search.model_sizes]


def lay_out(config: StudyConfig, storage: optuna.storages.BaseStorage) -> Plan:
    """Record the seed round (once) and queue every planned cell's missing trials."""
    plan = read_plan(config, storage)
    if plan is None:
        plan = Plan(rounds=[Round(0, seed_cells(config))])
        write_plan(config, storage, plan)
    queue_cells(config, storage, plan.cells())
    return plan


def queue_cells(
    config: StudyConfig, storage: optuna.storages.BaseStorage, cells: list[Cell]
) -> int:
    """Queue the trials of `cells` at every seed that are not in storage yet (idempotent: each
    trial has a fixed slot). Returns how many were queued."""
    trials = config.search.cell_trials()
    index = {m: i for i, m in enumerate(config.search.model_sizes)}
    queued = 0
    for seed in config.train.seeds:
        for shard in sorted({s for s, _ in cells}):
            study = optuna.load_study(
                study_name=shard_study_name(config.name, seed, shard), storage=storage
            )
            have = {t.user_attrs.get("slot") for t in study.get_trials(deepcopy=False)}
            for s, m in cells:
                if s != shard:
                    continue
                for j, params in enumerate(trials):
                    slot = index[m] * len(trials) + j
                    if slot in have:
                        continue
                    study.enqueue_trial(
                        {"model_size": m, **params}, user_attrs={"slot": slot},
                        skip_if_exists=False,
                    )  # fmt: skip
                    queued += 1
    return queued


def planned_slots(config: StudyConfig, plan: Plan) -> dict[tuple[int, int], int]:
    """(seed, shard) -> how many slots the plan has laid out there."""
    per_cell = len(config.search.cell_trials())
    out: dict[tuple[int, int], int] = {}
    for shard, _ in plan.cells():
        for seed in config.train.seeds:
            out[(seed, shard)] = out.get((seed, shard), 0) + per_cell
    return out


# ---- the analysis ----------------------------------------------------------------------------
def y_column(config: StudyConfig) -> str:
    return "best_val_error" if config.search.select_by == "error" else "best_val_loss"


def cell_values(df: pd.DataFrame, y: str) -> pd.DataFrame:
    """One row per cell done: shard_size, model_size, n_params, y (each seed's best over the
    cell's finished trials, averaged over seeds), seeds."""
    done = df[(df["state"].astype(str) == "COMPLETE") & np.isfinite(df[y].astype(float))]
    done = done[done[y].astype(float) > 0]
    cols = ["shard_size", "model_size", "n_params", "y", "seeds"]
    if done.empty:
        return pd.DataFrame(columns=cols)
    per_seed = (
        done.groupby(["shard_size", "model_size", "seed"], as_index=False)
        .agg(y=(y, "min"), n_params=("n_params", "first"))
    )  # fmt: skip
    cells = per_seed.groupby(["shard_size", "model_size"], as_index=False).agg(
        y=("y", "mean"), n_params=("n_params", "first"), seeds=("seed", "nunique")
    )
    cells["shard_size"] = cells["shard_size"].astype(int)
    cells["model_size"] = cells["model_size"].astype(int)
    cells["n_params"] = cells["n_params"].astype(float)
    return cells[cols].sort_values(["shard_size", "model_size"]).reset_index(drop=True)


def fit_law(formula: str, cells: pd.DataFrame) -> FormulaLaw:
    """The study's law fitted to the cells done (x = shard size, parameter count)."""
    law = FormulaLaw(formula, ADAPTIVE_VARIABLES, n_starts=FIT_STARTS)
    X = cells[["shard_size", "n_params"]].to_numpy(dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a bound hit is normal on a few cells
        law.fit(X, cells["y"].to_numpy(dtype=float))
    return law


@dataclass(frozen=True)
class TargetInterval:
    """The law's prediction at a point with two 90% intervals: (lo, hi) for the law's value
    there, which more cells narrow (the stopping width), and (measured_lo, measured_hi) for a
    value measured there, which also carries the noise of one cell (what a confirmation or a
    run at the target is checked against)."""

    prediction: float
    lo: float
    hi: float
    measured_lo: float
    measured_hi: float

    @property
    def rel_width(self) -> float:
        return (self.hi - self.lo) / abs(self.prediction)


def target_interval(
    law: FormulaLaw,
    cells: pd.DataFrame,
    X_target: np.ndarray,
    X_candidates: np.ndarray | None = None,
) -> tuple[TargetInterval, Any]:
    """The prediction at the target and its model-robust 90% intervals (variance and misfit of
    the law refitted on these cells, scalinglab.design.next_runs; for a measured value also the
    cell noise there, `DesignState.measured_mse`), with the design state."""
    X_done = cells[["shard_size", "n_params"]].to_numpy(dtype=float)
    cand = X_target if X_candidates is None or len(X_candidates) == 0 else X_candidates
    state, _ = state_from_runs(law, X_done, cells["y"].to_numpy(dtype=float), cand, X_target)
    pred = float(law.predict(X_target)[0])
    z = NormalDist().inv_cdf((1 + LEVEL) / 2)

    def band(mse: float) -> tuple[float, float]:
        sd = math.sqrt(max(mse, 0.0))
        if law.objective in LOG_OBJECTIVES:
            return pred * math.exp(-z * sd), pred * math.exp(z * sd)
        return pred - z * sd, pred + z * sd

    mse = state.mse()
    return TargetInterval(pred, *band(mse), *band(mse + state.measurement_noise())), state


def examples_model(
    df: pd.DataFrame, patience: int, max_epochs: int, max_steps: int | None = None
) -> tuple[np.ndarray, float] | None:
    """Least squares of log(examples seen) on [1, log shard] over trials that trained, and the
    residual sd; None with fewer than 2 distinct shards. (Examples seen depend on the data:
    epochs and early stopping. A model-size term fitted on small shards, where larger models
    overfit and stop sooner, does not carry over to large ones.) A shard whose every trial
    stopped as early as early stopping allows (at most `patience` + 1 evaluations, short of
    `max_epochs` passes and `max_steps` steps) is left out: censored at the evaluation
    interval's floor, its examples do not depend on the shard, and such tiny seed shards
    flatten the slope (the translation benchmark priced its largest cells at a quarter of their
    cost). Shards with some longer trials keep all of theirs: dropping only the censored trials
    would bias those shards' examples up and the slope down. A trial stopped by its epoch or
    step cap is not censored: its examples are what the cap gives."""
    d = df[df["examples_seen"].notna()]
    d = d[d["examples_seen"].astype(float) > 0]
    if "n_evals" in d.columns:
        seen = d["examples_seen"].astype(float)
        at_floor = (pd.to_numeric(d["n_evals"], errors="coerce") <= patience + 1) & (
            seen < max_epochs * d["shard_size"].astype(float)
        )
        if max_steps is not None and "steps" in d.columns:
            at_floor &= pd.to_numeric(d["steps"], errors="coerce") < max_steps
        informative = (~at_floor).groupby(d["shard_size"]).transform("any")
        d = d[informative.astype(bool)]
    if d["shard_size"].nunique() < 2:
        return None
    A = np.column_stack([np.ones(len(d)), np.log(d["shard_size"].astype(float))])
    y = np.log(d["examples_seen"].astype(float).to_numpy())
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = y - A @ coef
    sd = float(np.sqrt(resid @ resid / max(len(y) - 2, 1)))
    return coef, sd


def largest_batch(config: StudyConfig, task: Task) -> int | None:
    """The most examples a trial's optimizer step can take: the largest `batch_size` the search
    can give, else the task's own (`batch_size` of the built-in tasks); None when unknown."""
    spec = config.search.hparams.get("batch_size")
    if spec is not None:
        values = spec.choices if spec.choices is not None else [spec.high]
        numbers = [float(v) for v in values if isinstance(v, int | float)]
        return int(max(numbers)) if numbers else None
    size = getattr(task, "batch_size", None)
    return int(size) if isinstance(size, int | float) and size > 0 else None


def cell_costs(config: StudyConfig, task: Task, df: pd.DataFrame, cells: list[Cell]) -> np.ndarray:
    """Estimated training FLOPs of each cell: at every seed, every trial of the cell, FLOPs per
    example of its model x the examples it will see — the upper 90% bound of a log-log
    regression on the trials done (`examples_model`), at least one pass, and at most what the
    trial may train: max_epochs passes and, with `[train] max_steps`, max_steps batches
    (`largest_batch`) — capped by [budget] flops_per_trial. Meant as an upper bound, so that a
    round chosen within the budget left stays in it; it is a regression extrapolated from the
    shards done, so it can still fall short (README, the adaptive benchmarks)."""
    model = examples_model(
        df, config.train.patience, config.train.max_epochs, config.train.max_steps
    )
    n_runs = len(config.search.cell_trials()) * len(config.train.seeds)
    cap = config.budget.flops_per_trial
    steps = config.train.max_steps
    batch = largest_batch(config, task) if steps is not None else None
    out = []
    for shard, size in cells:
        fpe = float(task.flops_per_example(size))
        most = float(config.train.max_epochs * shard)
        if steps is not None and batch is not None:  # a step takes at most min(batch, shard)
            most = min(most, float(steps * min(batch, shard)))
        if model is None:
            examples = most
        else:
            coef, sd = model  # the regression's upper 90% bound: a budget is not overshot
            log_ex = coef[0] + coef[1] * math.log(shard)
            examples = math.exp(min(log_ex + COST_Z * sd, 700.0))  # exp(700) is still finite
        examples = min(max(examples, min(float(shard), most)), most)
        flops = fpe * examples
        if cap is not None:
            flops = min(flops, cap)
        out.append(max(flops, 1.0) * n_runs)
    return np.asarray(out, dtype=float)


def confirmation_cell(
    X_done: np.ndarray, X_candidates: np.ndarray, X_target: np.ndarray, affordable: np.ndarray
) -> int | None:
    """Index of the confirmation cell among the candidates: the affordable one nearest the
    target in the design's standardised log inputs (design.next_runs.standardised_inputs, scaled
    by the cells done); None when none is affordable."""
    if not affordable.any():
        return None
    Z = standardised_inputs(np.vstack([X_candidates, X_target]), X_done)
    distance = np.linalg.norm(Z[:-1] - Z[-1], axis=1)
    return int(np.argmin(np.where(affordable, distance, np.inf)))


def next_shard(remaining: list[Cell]) -> list[Cell]:
    """The cells of the smallest shard not yet run in full."""
    shard = min(s for s, _ in remaining)
    return [(s, m) for s, m in remaining if s == shard]


def confirmation_value(cells: pd.DataFrame, cell: Cell) -> float | None:
    row = cells[(cells["shard_size"] == cell[0]) & (cells["model_size"] == cell[1])]
    return float(row["y"].iloc[0]) if len(row) else None


def target_model_size(config: StudyConfig, task: Task) -> int:
    target = config.search.target
    assert target is not None
    if target.model_size is not None:
        return target.model_size
    sizes = config.search.model_sizes
    if target.compute is not None:
        c = target.compute

        def gap(s: int) -> float:
            return abs(math.log(float(task.flops_per_example(s)) * target.examples / c))

        return min(sizes, key=gap)
    return max(sizes)


@dataclass(frozen=True)
class Step:
    """What `advance` did: queued a round, stopped, or waited (trials still to run)."""

    action: str  # "queued" | "stopped" | "waiting"
    round: Round | None = None
    reason: str = ""


def advance(
    config: StudyConfig,
    storage: optuna.storages.BaseStorage,
    task: Task,
    df: pd.DataFrame,
    budget_spent: bool = False,
) -> Step:
    """After a round's trials are done: fit, record the round, and stop or queue the next one.
    With `budget_spent` (the workers stopped on [budget] total_flops mid-round), the round is
    fitted on what ran and the study stops; its trials still queued are never run."""
    plan = read_plan(config, storage)
    if plan is None:
        raise ScalingLabError(f"study {config.name!r} has no adaptive plan; run it first")
    if plan.stopped:
        return Step("stopped", plan.rounds[-1], plan.stopped)
    states = df["state"].astype(str)
    if bool(states.isin(["RUNNING"]).any()) or (
        bool(states.isin(["WAITING"]).any()) and not budget_spent
    ):
        return Step("waiting")
    search = config.search
    assert search.target is not None and search.target_rel_width is not None
    current = plan.rounds[-1]
    cells = cell_values(df, y_column(config))
    spent = float(df["flops"].fillna(0).sum())
    size = target_model_size(config, task)
    plan.target_examples, plan.target_model_size = search.target.examples, size
    plan.target_n_params = int(task.n_params(size))
    X_target = np.array([[float(search.target.examples), float(plan.target_n_params)]])
    done = set(plan.cells())
    remaining = [
        (s, m) for s in config.shard_sizes() for m in search.model_sizes if (s, m) not in done
    ]
    current.spent_flops, current.cells_done = spent, len(cells)

    def stop(reason: str) -> Step:
        plan.stopped = reason
        write_plan(config, storage, plan)
        return Step("stopped", current, reason)

    law = None
    n_free = len(FormulaLaw(search.law, ADAPTIVE_VARIABLES).free_params())
    if len(cells) > n_free:
        try:
            law = fit_law(search.law, cells)
        except ScalingLabError:
            law = None
    budget = config.budget.total_flops
    if law is None:
        if budget_spent:
            return stop(f"the FLOP budget is spent ({spent:.3g}) before the law could be fitted")
        if not remaining:
            return stop("every grid cell has run, and the law could not be fitted")
        chosen = next_shard(remaining)  # too few cells for the law: the next shard up
    else:
        X_cand = np.array(
            [[float(s), float(task.n_params(m))] for s, m in remaining], dtype=float
        ).reshape(-1, 2)
        # Cells of a more extreme shape (data per parameter) than the cells done and the target
        # are left out, as `suggest` leaves them out: the law's misfit there is what the cells
        # done cannot show (design.next_runs.within_shape_range).
        X_done = cells[["shard_size", "n_params"]].to_numpy(dtype=float)
        inside = within_shape_range(X_done, X_cand, X_target)
        remaining = [cell for cell, ok in zip(remaining, inside, strict=True) if ok]
        X_cand = X_cand[inside]
        interval, state = target_interval(law, cells, X_target, X_cand)
        current.prediction, current.lo, current.hi = interval.prediction, interval.lo, interval.hi
        current.rel_width = interval.rel_width
        current.measured_lo, current.measured_hi = interval.measured_lo, interval.measured_hi
        current.params = {k: float(v) for k, v in law.params_.items()}
        if current.confirms is not None:
            value = confirmation_value(cells, current.cells[0])
            if value is not None:  # None: the cell's trials failed, so nothing is confirmed
                current.confirms["value"] = value
            current.confirmed = value is not None and (
                current.confirms["lo"] <= value <= current.confirms["hi"]
            )
        narrow = interval.rel_width <= search.target_rel_width
        width = (
            f"the target's 90% interval is {interval.rel_width:.3g} of the prediction "
            f"(<= target_rel_width {search.target_rel_width:g})"
        )
        if narrow and current.confirmed:
            c = current.confirms
            assert c is not None
            shard, model = current.cells[0]
            return stop(
                f"{width}, confirmed: cell ({shard}, {model}) measured {c['value']:.4g}, inside "
                f"the 90% interval {c['lo']:.4g} - {c['hi']:.4g} predicted before it ran"
            )
        # Stopping wide: say how near the width came, so that a width the law cannot reach on
        # this grid (its misfit keeps the interval wide) reads as that, not as bad luck.
        tail = (
            f"; {width}, not confirmed"
            if narrow
            else unmet_width(plan.rounds, search.target_rel_width)
        )
        if budget is not None and (spent >= budget or budget_spent):
            return stop(f"the FLOP budget is spent ({spent:.3g} of {budget:.3g}){tail}")
        if not remaining:
            return stop(f"every grid cell within the range of shapes has run{tail}")
        cost = cell_costs(config, task, df, remaining)
        left = None if budget is None else budget - spent
        if narrow:
            own = (search.target.examples, size)
            affordable = np.array([
                cell != own and (left is None or c <= left)
                for cell, c in zip(remaining, cost, strict=True)
            ])  # fmt: skip
            pick = confirmation_cell(X_done, X_cand, X_target, affordable)
            if pick is None:
                why = (
                    "no cell left to confirm it" if left is None else "no cell fits the budget left"
                )
                return stop(f"{width}, not confirmed: {why}")
            check, _ = target_interval(law, cells, X_cand[pick : pick + 1])
            nxt_round = Round(
                current.number + 1, [remaining[pick]],
                confirms={
                    "prediction": check.prediction, "lo": check.measured_lo,
                    "hi": check.measured_hi,
                },
            )  # fmt: skip
            return _queue(config, storage, plan, nxt_round)
        design = greedy_design(law, state, cost, n=search.runs_per_round, budget=left)
        chosen = [remaining[s.row] for s in design.steps]
        if not chosen and left is not None:
            fits = bool(np.any(cost <= left))
            why = (
                "no cell left in the FLOP budget narrows the interval (by the design's criterion)"
                if fits
                else "no cell left fits in the FLOP budget left"
            )
            return stop(why + tail)
        if not chosen:
            # Without a budget, the linearised criterion finds no cell that narrows the
            # interval, yet it is wide and cells remain: with a few cells and a target far
            # beyond them (65,536 examples from shards of 256 and 512) every refit it foresees
            # carries more misfit than it removes. Nothing else would stop the study, and it
            # does not stop on a model of its own ignorance: it grows the data, the next shard
            # up, as before the law can be fitted.
            chosen = next_shard(remaining)
    return _queue(config, storage, plan, Round(current.number + 1, chosen))


def unmet_width(rounds: list[Round], target_rel_width: float) -> str:
    """The tail of the stop message of a study that stops with its interval wide: the target's
    relative width now (the last round fitted), target_rel_width, and the narrowest round's."""
    fitted = [(r.rel_width, r.number) for r in rounds if r.rel_width is not None]
    if not fitted:
        return ""
    narrowest, number = min(fitted)
    return (
        f"; the target's 90% interval is {fitted[-1][0]:.3g} of the prediction, over "
        f"target_rel_width {target_rel_width:g} (narrowest: {narrowest:.3g}, round {number})"
    )


def _queue(
    config: StudyConfig, storage: optuna.storages.BaseStorage, plan: Plan, nxt_round: Round
) -> Step:
    """Record the next round in the plan, then queue its cells."""
    plan.rounds.append(nxt_round)
    write_plan(config, storage, plan)  # first the plan, then the queue: a kill between resumes
    queue_cells(config, storage, nxt_round.cells)
    return Step("queued", nxt_round)
