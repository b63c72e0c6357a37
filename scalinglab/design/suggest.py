"""`scalinglab suggest` as one call: the next runs to train, from a fitted law, the candidate runs
with their costs, the targets and (optionally) the runs done (scalinglab.design.next_runs).

    from scalinglab.design import suggest_runs
    suggestion = suggest_runs(law, pool, pool_costs, targets, runs=done, y="loss", n=5)
    suggestion.runs      # the chosen candidates in order, with cost, width after, error cut, ...

Given the runs done, candidates of a more extreme shape than every target and every run done are
left out (`within_shape_range`: the law would be extrapolated sideways there) and the design
learns where the law misfits from their residuals; without them it designs from the fit's
covariance and residual sd alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from scalinglab.design.next_runs import (
    Design,
    Discrepancy,
    check_defined,
    check_outcomes,
    greedy_design,
    state_from_fit,
    state_from_runs,
    within_shape_range,
)
from scalinglab.errors import ScalingLabError
from scalinglab.io import numeric_columns
from scalinglab.laws.base import ScalingLaw
from scalinglab.types import FloatArray

SOURCES = {"candidates": "the candidates", "targets": "the targets", "runs": "the runs done"}


@dataclass(frozen=True)
class Suggestion:
    """What `suggest_runs` chose, and what it learned on the way."""

    design: Design  # the chosen steps and the target's interval width before them
    runs: pd.DataFrame  # the chosen candidates' rows, in order, with the design's columns
    discrepancy: Discrepancy | None  # the law's misfit model (None without the runs done)
    outside: int  # candidates left out as of a more extreme shape than targets and runs done


def table_columns(df: pd.DataFrame, columns: Sequence[str], source: str) -> FloatArray:
    """`numeric_columns` with the remedy a table without --where allows."""
    return numeric_columns(df, columns, source, remedy=f"drop or fix those rows of {source}")


def suggest_runs(
    law: ScalingLaw,
    candidates: pd.DataFrame,
    cost: ArrayLike,
    targets: pd.DataFrame,
    *,
    runs: pd.DataFrame | None = None,
    y: str | None = None,
    variables: Sequence[str] | None = None,
    n: int | None = 5,
    budget: float | None = None,
    level: float = 0.9,
    sources: Mapping[str, str] | None = None,
) -> Suggestion:
    """The next runs among `candidates` (one row each, `cost` one number each): up to `n`, or
    as many as fit in `budget`, chosen one after another by the drop of the `level` interval's
    expected error at the `targets` per unit cost (`greedy_design`). `variables` are the
    tables' columns the law reads (default: `law.variables`); `runs` with their outcome column
    `y` are the runs done. `sources` names the tables in error messages ("candidates",
    "targets", "runs"), e.g. by their files."""
    names = SOURCES | dict(sources or {})
    columns = list(variables or law.variables)
    X_pool = table_columns(candidates, columns, names["candidates"])
    X_target = table_columns(targets, columns, names["targets"])
    costs = np.asarray(cost, dtype=float).reshape(-1)
    if costs.size != len(candidates):
        raise ScalingLabError(
            f"give one cost per candidate run: {costs.size} costs for {len(candidates)} runs"
        )
    # every row checked here, where its number is still the table's: the design drops
    # candidates first, and its own check could only count the rows it is given
    check_defined(law, X_pool, names["candidates"])
    check_defined(law, X_target, names["targets"])
    discrepancy, outside, pool = None, 0, candidates
    if runs is not None:
        if y is None:
            raise ScalingLabError("the runs done need the column they measured (y)")
        X_done = table_columns(runs, columns, names["runs"])
        # a log objective takes the log of the runs' outcomes: they must be > 0
        outcomes = table_columns(runs, [y], names["runs"])[:, 0]
        y_done = check_outcomes(law.objective, outcomes, y, names["runs"])
        check_defined(law, X_done, names["runs"])
        inside = within_shape_range(X_done, X_pool, X_target)
        if not inside.any():
            raise ScalingLabError(
                "every candidate is of a more extreme shape than the targets and the runs done "
                "(farther from the line that scales the runs up to the targets); add candidates "
                "between them"
            )
        outside = int((~inside).sum())
        pool, X_pool = candidates[inside].reset_index(drop=True), X_pool[inside]
        costs = costs[inside]
        state, discrepancy = state_from_runs(law, X_done, y_done, X_pool, X_target)
    else:
        state = state_from_fit(law, X_pool, X_target)
    design = greedy_design(law, state, costs, n=n, budget=budget, level=level)
    if not design.steps:
        if budget is not None:
            raise ScalingLabError(
                f"no candidate run fits in the budget ({budget:g}); raise it or add cheaper "
                "candidates"
            )
        raise ScalingLabError(
            "no candidate run would shrink the target's interval (the runs done already pin "
            "what the candidates could measure); add candidates nearer the target"
        )
    return Suggestion(design, design.table(pool), discrepancy, outside)
