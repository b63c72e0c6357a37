"""The extrapolation benchmark scores the single laws as a user fits them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalinglab.errors import ScalingLabError
from scalinglab.fitting.subsets import thinned_grid
from scalinglab.selection import extrapolation
from scalinglab.selection.auto import MIN_BACKTEST_POINTS
from scalinglab.selection.backtest import candidate


def test_single_laws_are_fitted_on_their_whole_start_grid(shared_data: Path) -> None:
    """On the second language curve a grid thinned to 64 starts leaves bnsl2 at a training
    objective 12 times that of the whole grid `fit --law bnsl2` searches (3.1e-5 against
    2.6e-6): the benchmark must score the latter, or it flatters auto against the single laws."""
    table = pd.read_csv(shared_data / "alabdulmohsin2022_lang.csv")
    curve = extrapolation.load_curves(table)[1]
    cand = candidate("bnsl2")
    law = extrapolation.fit_single(cand, curve.x_train, curve.y_train)
    thinned = cand.make(
        **extrapolation.FIT_OPTIONS,
        starts=thinned_grid(cand.make(), curve.x_train, curve.y_train, 64),
    ).fit(curve.x_train, curve.y_train)
    assert law.objective_ < 0.2 * thinned.objective_
    assert law.max_iter == cand.make().max_iter  # the solver limits `fit --law bnsl2` uses


@pytest.mark.parametrize("label", extrapolation.SINGLE_LAWS)
def test_every_single_law_keeps_its_default_starts(label: str) -> None:
    """No start grid is passed: each law searches the grid it would search for a user."""
    cand = candidate(label)
    assert cand.make(**extrapolation.FIT_OPTIONS).starts == cand.make().starts


def bench_table(n_train: int = 8, n_test: int = 4) -> pd.DataFrame:
    """Two evaluations (tasks t1, t2) of one learning curve: n_train points to fit, then
    n_test held out."""
    x = np.geomspace(1e3, 1e7, n_train + n_test)
    one = pd.DataFrame(
        {
            "Domain": "Lang",
            "Task": "t1",
            "Model": "M",
            "Seen Examples": x,
            "Loss": 4 * x**-0.3 + 0.5,
            "Training": [1] * n_train + [0] * n_test,
        }
    )
    return pd.concat([one, one.assign(Task="t2")], ignore_index=True)


def _set(table: pd.DataFrame, rows: list[int], column: str, value: object) -> pd.DataFrame:
    out = table.copy()
    out.loc[rows, column] = value
    return out


@pytest.mark.parametrize(
    ("table", "message"),
    [
        # one training point: every single law scored ∞ and auto "chose" m1, exit 0
        (bench_table(n_train=1), r"\(Lang, t1, M\) of t.csv has 1 distinct 'Seen Examples'"),
        (
            bench_table(n_train=MIN_BACKTEST_POINTS - 1),
            rf"has {MIN_BACKTEST_POINTS - 1} distinct .* needs at least {MIN_BACKTEST_POINTS}",
        ),
        # every x equal: the same, however many rows
        (_set(bench_table(), list(range(24)), "Seen Examples", 1e3), "has 1 distinct"),
        # seeds of one x count once, as in auto's backtests
        (
            _set(bench_table(), [1, 2, 3, 4, 5, 6, 7], "Seen Examples", 2e3),
            r"\(Lang, t1, M\) of t.csv has 2 distinct",
        ),
        (bench_table(n_test=0), r"no rows with Training == 0 \(held-out points to score\)"),
        # inf gave "the extrapolation horizon must be > 0, got inf"
        (
            _set(bench_table(), [3], "Seen Examples", np.inf),
            r"column 'Seen Examples' of t.csv holds inf at data row 4; .* finite number > 0",
        ),
        (_set(bench_table(), [14], "Loss", -np.inf), "column 'Loss' of t.csv holds -inf at data "),
        (_set(bench_table(), [5], "Seen Examples", 0.0), "'Seen Examples' of t.csv holds 0 at"),
        (_set(bench_table(), [0], "Loss", np.nan), "column 'Loss' of t.csv is empty at data row 1"),
    ],
)
def test_a_curve_the_benchmark_cannot_score_is_one_clear_error(
    table: pd.DataFrame, message: str
) -> None:
    with pytest.raises(ScalingLabError, match=message):
        extrapolation.load_curves(table, "t.csv")
