"""The budget-limited fitting benchmark (the protocol of Li et al. 2026, "Spend Less, Fit
Better"): a method picks runs from a pool one after another until it has spent a fraction of the
pool's total cost, the law is fitted on the runs picked, and R² (1 − SS_res/SS_tot, clipped to
[−1, 1]) is measured on held-out test runs — the large, expensive region one wants to predict.

Methods:
- random: the pool in a random order, each run taken if it still fits in the budget;
- cheapest: the cheapest runs first;
- design (ours): a seed of cheap runs on a ladder towards the target (one more than the law's
  free parameters, from at most a third of the budget; `seed_runs`), then rounds of fit →
  `greedy_design` aimed at the test rows' inputs (their outcomes are never read), among the runs
  `within_shape_range` of the runs picked and the test rows → run the chosen batch, each round's
  batch a third of the runs so far (so the law is refitted O(log n) times); per unit cost only
  until there are two runs per free parameter.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from scalinglab.design.next_runs import (
    greedy_design,
    ladder,
    standardised_inputs,
    state_from_runs,
    within_shape_range,
)
from scalinglab.errors import ScalingLabError
from scalinglab.laws.base import ScalingLaw
from scalinglab.types import FloatArray

METHODS = ("random", "cheapest", "design")
SEED_BUDGET_SHARE = 1 / 3  # the most of the budget the design's seed runs may spend
ROUND_GROWTH = 1 / 3  # each design round adds this fraction of the runs picked so far
IDENTIFIED_RUNS_PER_PARAMETER = 2  # runs per free parameter before expensive runs may win

LawFactory = Callable[[], ScalingLaw]


@dataclass(frozen=True)
class Pool:
    """The runs one may pick (X, y, cost) and the test runs the fit is scored on."""

    X: FloatArray
    y: FloatArray
    cost: FloatArray
    X_test: FloatArray
    y_test: FloatArray

    def __post_init__(self) -> None:
        n = len(self.y)
        if len(self.X) != n or len(self.cost) != n:
            raise ScalingLabError("the pool's inputs, outcomes and costs differ in length")
        if not np.all(np.isfinite(self.cost)) or np.any(self.cost <= 0):
            raise ScalingLabError("every run's cost must be a finite number > 0")
        check_test_spread(self.y_test)


def check_test_spread(y_test: FloatArray, source: str = "the test runs") -> None:
    """R² divides by the test outcomes' spread (SS_tot): with one test row, or all alike, it is
    undefined and every method would score a meaningless −1."""
    if len(y_test) < 2:
        raise ScalingLabError(
            f"R² needs test rows whose y varies, and {source} has {len(y_test)} row(s); give at "
            "least 2 test runs with different outcomes"
        )
    if np.all(y_test == y_test[0]):  # NaN compares unequal: left to the checks of values
        raise ScalingLabError(
            f"R² needs test rows whose y varies, and every y of {source} is {y_test[0]:g}; give "
            "test runs with different outcomes"
        )


def smallest_budget(pool: Pool) -> float:
    """The smallest budget fraction, to 3 significant digits and rounded up, that buys the
    pool's cheapest run: what a user can give instead of a budget too small for any run."""
    total, cheapest = float(pool.cost.sum()), float(pool.cost.min())
    step = 10.0 ** (math.floor(math.log10(cheapest / total)) - 2)
    fraction = float(f"{math.ceil(cheapest / total / step) * step:.3g}")
    while fraction * total < cheapest:  # the rounding may land a hair below it
        fraction = float(f"{fraction + step:.3g}")
    return fraction


def check_budgets(pool: Pool, budgets: Iterable[float], source: str = "the pool") -> list[float]:
    """The budget fractions once each, in the order first given: a repeat would rerun every
    method for the same result key (f"{fraction:g}", so fractions equal to 6 significant digits
    are one). Each must be in (0, 1] and buy at least the cheapest run of `source`: below that
    no method picks a run and every score would be a meaningless −1."""
    first: dict[str, float] = {}
    for b in budgets:
        first.setdefault(f"{float(b):g}", float(b))
    if not first:
        raise ScalingLabError("give at least one budget fraction")
    total, cheapest = float(pool.cost.sum()), float(pool.cost.min())
    for fraction in first.values():
        if not (math.isfinite(fraction) and 0 < fraction <= 1):
            raise ScalingLabError(f"a budget fraction must be in (0, 1], got {fraction:g}")
        if fraction * total < cheapest:  # the pickers' own test: no run fits in the budget
            raise ScalingLabError(
                f"{fraction:g} of the total cost of {source} is less than its cheapest run "
                f"({cheapest / total:.3g} of the total), so no method could pick a run; give "
                f"fractions of at least {smallest_budget(pool):g}"
            )
    return list(first.values())


def clipped_r2(prediction: FloatArray, actual: FloatArray) -> float:
    """1 − SS_res/SS_tot clipped to [−1, 1]; −1 for a prediction that is not finite."""
    if not np.all(np.isfinite(prediction)):
        return -1.0
    ss_tot = float(np.sum((actual - actual.mean()) ** 2))
    r2 = 1 - float(np.sum((prediction - actual) ** 2)) / ss_tot if ss_tot > 0 else -1.0
    return float(np.clip(r2, -1.0, 1.0))


def pick_random(cost: FloatArray, budget: float, rng: np.random.Generator) -> list[int]:
    picked, spent = [], 0.0
    for i in rng.permutation(len(cost)):
        if spent + cost[i] <= budget:
            picked.append(int(i))
            spent += float(cost[i])
    return picked


def pick_cheapest(cost: FloatArray, budget: float) -> list[int]:
    picked, spent = [], 0.0
    for i in np.argsort(cost, kind="stable"):
        if spent + cost[i] > budget:
            break
        picked.append(int(i))
        spent += float(cost[i])
    return picked


def seed_runs(
    X: FloatArray,
    cost: FloatArray,
    budget: float,
    n_seed: int,
    X_target: FloatArray,
    rng: np.random.Generator,
) -> list[int]:
    """n_seed cheap runs on a ladder towards the target: among the runs costing at most
    budget/n_seed, the half nearest the line from their centroid to the targets' centroid
    (standardised log inputs), spread along that line (greedy max-min from a random start).
    The cheapest runs when too few are that cheap. A ladder keeps the runs' shape (e.g. tokens
    per parameter) like the target's, where a law fitted to them is most likely to hold."""
    cheap = np.flatnonzero(cost <= budget / n_seed)
    if len(cheap) <= n_seed:
        return pick_cheapest(cost, budget)[:n_seed] or [int(np.argmin(cost))]
    Z = standardised_inputs(np.vstack([X[cheap], X_target]), X)
    Z_c, Z_t = Z[: len(cheap)], Z[len(cheap) :]
    along, across = ladder(Z_c, Z_t)(Z_c)
    near = np.flatnonzero(across <= np.quantile(across, 0.5))
    if len(near) < n_seed:
        near = np.argsort(across)[:n_seed]
    position = along[near]
    picked = [int(rng.integers(len(near)))]
    dist = np.abs(position - position[picked[0]])
    while len(picked) < n_seed:
        nxt = int(np.argmax(dist + 1e-9 * rng.random(len(dist))))
        picked.append(nxt)
        dist = np.minimum(dist, np.abs(position - position[nxt]))
    return [int(cheap[near[i]]) for i in picked]


def pick_design(
    make_law: LawFactory, pool: Pool, budget: float, rng: np.random.Generator
) -> list[int]:
    """The design method's runs (see the module docstring)."""
    n_free = len(make_law().free_params())
    picked = seed_runs(pool.X, pool.cost, budget * SEED_BUDGET_SHARE, n_free + 1, pool.X_test, rng)
    spent = float(pool.cost[picked].sum())
    while True:
        rest = np.setdiff1d(np.arange(len(pool.y)), picked)
        rest = rest[within_shape_range(pool.X[picked], pool.X[rest], pool.X_test)]
        if not len(rest) or spent + pool.cost[rest].min() > budget:
            return picked
        try:
            law = _fit(make_law, pool.X[picked], pool.y[picked])
            state, _ = state_from_runs(
                law, pool.X[picked], pool.y[picked], pool.X[rest], pool.X_test
            )
            design = greedy_design(
                law, state, pool.cost[rest],
                n=max(1, math.ceil(ROUND_GROWTH * len(picked))), budget=budget - spent,
                # a few expensive runs only once the law is pinned down: before, its
                # linearisation is too rough to trust one big run over several cheap ones
                per_cost_only=len(picked) < IDENTIFIED_RUNS_PER_PARAMETER * n_free,
            )  # fmt: skip
            chosen = [int(rest[step.row]) for step in design.steps]
        except ScalingLabError:
            # too few runs to fit the law: add the cheapest run left
            chosen = [int(rest[np.argmin(pool.cost[rest])])]
        if not chosen:
            return picked
        picked += chosen
        spent += float(pool.cost[chosen].sum())


def _fit(make_law: LawFactory, X: FloatArray, y: FloatArray) -> ScalingLaw:
    law = make_law()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        law.fit(X, y)
    return law


def score_runs(make_law: LawFactory, pool: Pool, picked: Sequence[int]) -> float:
    """Clipped test R² of the law fitted on the picked runs (−1 when it cannot be fitted)."""
    try:
        law = _fit(make_law, pool.X[list(picked)], pool.y[list(picked)])
        return clipped_r2(law.predict(pool.X_test), pool.y_test)
    except ScalingLabError:
        return -1.0


def pick(
    method: str, make_law: LawFactory, pool: Pool, budget: float, rng: np.random.Generator
) -> list[int]:
    if method == "random":
        return pick_random(pool.cost, budget, rng)
    if method == "cheapest":
        return pick_cheapest(pool.cost, budget)
    if method == "design":
        return pick_design(make_law, pool, budget, rng)
    raise ScalingLabError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")


def run_benchmark(
    make_law: LawFactory,
    pool: Pool,
    budgets: Iterable[float],
    *,
    repeats: int = 10,
    seed: int = 0,
    methods: Sequence[str] = METHODS,
    progress: Callable[[], None] | None = None,
) -> dict[str, object]:
    """{"methods": {name: {"r2": {budget: mean}, "r2_se": {budget: the mean's standard error},
    "r2_runs": {budget: [per repeat]}, "cost_share": {budget: mean share spent},
    "underdetermined": {budget: repeats that picked fewer runs than the law's free parameters,
    whose fit is underdetermined and scores −1}}}, "all_data_r2": ...}; a deterministic method
    runs once (standard error 0)."""
    budgets = check_budgets(pool, budgets)
    total = float(pool.cost.sum())
    n_free = len(make_law().free_params())
    out: dict[str, dict[str, dict[str, object]]] = {}
    for method in methods:
        r2s: dict[str, object] = {}
        errors: dict[str, object] = {}
        runs: dict[str, object] = {}
        shares: dict[str, object] = {}
        short: dict[str, object] = {}
        for fraction in budgets:
            scores, spent, too_few = [], [], 0
            for r in range(1 if method == "cheapest" else repeats):
                rng = np.random.default_rng([seed, r])
                picked = pick(method, make_law, pool, fraction * total, rng)
                scores.append(score_runs(make_law, pool, picked))
                spent.append(float(pool.cost[picked].sum()) / total)
                too_few += len(picked) < n_free
                if progress is not None:
                    progress()
            key = f"{fraction:g}"
            r2s[key] = float(np.mean(scores))
            # the mean's standard error over the repeats (0 for a deterministic method)
            errors[key] = (
                float(np.std(scores, ddof=1) / math.sqrt(len(scores))) if len(scores) > 1 else 0.0
            )
            runs[key] = scores
            shares[key] = float(np.mean(spent))
            short[key] = too_few
        out[method] = {
            "r2": r2s, "r2_se": errors, "r2_runs": runs, "cost_share": shares,
            "underdetermined": short,
        }  # fmt: skip
    all_data = score_runs(make_law, pool, range(len(pool.y)))
    return {"methods": out, "all_data_r2": all_data, "budgets": budgets, "repeats": repeats}
