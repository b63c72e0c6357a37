"""The study page's "Predictions at more data": 1, 2, 10 and 100× the largest shard, and with a
target (`report --target M`, as `study fit --target M`) a row for it, marked, in order of m."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalinglab.report.document import FigureFile, Table, num, span
from scalinglab.report.study_page import _plan_tables
from scalinglab.study import StudyFit, fit_study

SHARDS = [2**k for k in range(7, 12)]  # 128 .. 2,048: 5 shards, so auto calibrates
TARGET = 6e4


def _trials() -> pd.DataFrame:
    """One seed, two widths per shard on the curve 2 m^-0.35 + 0.05 (width 32 the best)."""
    rng = np.random.default_rng(0)
    rows = []
    for m in SHARDS:
        eps = (2.0 * m**-0.35 + 0.05) * np.exp(0.01 * rng.standard_normal())
        for width, worse in ((8, 1.3), (32, 1.0)):
            rows.append(
                {"task": "synthetic", "seed": 0, "shard_size": m, "model_size": width,
                 "n_params": 100 * width, "state": "COMPLETE",
                 "best_val_loss": 2 * eps * worse, "best_val_error": eps * worse}
            )  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def fit() -> StudyFit:
    """One analysis with the target (the page only renders it: the other tests change its
    target to see the rows, without fitting again)."""
    return fit_study(_trials(), y="best_val_error", n_bootstrap=0, target=TARGET)


def _predictions(a: StudyFit) -> Table:
    return next(t for t in _plan_tables(a) if t.title == "Predictions at more data")


def test_without_a_target_four_multiples_and_nothing_marked(fit: StudyFit) -> None:
    table = _predictions(replace(fit, target=None))
    assert [row[0] for row in table.rows] == [f"{f}× largest shard" for f in (1, 2, 10, 100)]
    assert table.highlight == set() and "target" not in table.note


def test_a_target_is_a_marked_row_in_order_with_its_headline_prediction(fit: StudyFit) -> None:
    table = _predictions(fit)
    labels = [row[0] for row in table.rows]
    assert labels == [
        "1× largest shard", "2× largest shard", "10× largest shard",
        "target (29.3× largest shard)", "100× largest shard",
    ]  # fmt: skip
    assert table.highlight == {3}
    h = fit.headline()
    assert table.rows[3][1:4] == [
        "60,000", num(h["predicted_at_target"]), span(h["predicted_at_target_interval"])
    ]  # fmt: skip
    ms = [float(row[1].replace(",", "")) for row in table.rows]
    assert ms == sorted(ms)
    assert "Highlighted: the target, m = 60,000" in table.note
    assert "auto rule's backtests aimed at its distance" in table.note
    assert "beyond the fitted data: m = 6e+04 is 1.5 decades above the largest m (2.05e+03)" in (
        table.note
    )


def test_a_target_on_a_multiple_marks_that_row_instead_of_adding_one(fit: StudyFit) -> None:
    table = _predictions(replace(fit, target=10.0 * SHARDS[-1]))
    assert [row[0] for row in table.rows] == [
        "1× largest shard", "2× largest shard", "10× largest shard (target)", "100× largest shard"
    ]  # fmt: skip
    assert table.highlight == {2}


def test_a_target_within_the_shards_comes_first_with_no_beyond_note(fit: StudyFit) -> None:
    table = _predictions(replace(fit, target=1000.0))
    assert table.rows[0][:2] == ["target (0.488× largest shard)", "1,000"]
    assert table.highlight == {0}
    assert "beyond the fitted data" not in table.note and "backtests aimed" not in table.note


def test_the_learning_curve_figure_reaches_and_marks_the_target(
    fit: StudyFit, tmp_path: Path
) -> None:
    from scalinglab.report.study_figures import study_figures

    def curve(a: StudyFit, sub: str) -> tuple[FigureFile, str]:  # the entry and its SVG text
        fig = next(f for f in study_figures(a, tmp_path / sub) if f.title == "Learning curve")
        return fig, fig.svg.read_text()

    marked, svg = curve(fit, "target")
    assert "prediction at the target" in svg
    assert f"m = {TARGET:,.0f}" in marked.caption and "to the target or 10×" in marked.caption
    plain, svg = curve(replace(fit, target=None), "none")
    assert "prediction at the target" not in svg and "Black:" not in plain.caption
    # a target hundreds of decades out is predicted in the tables, not drawn (nor overflowing)
    far, svg = curve(replace(fit, target=1e308), "far")
    assert "prediction at the target" not in svg and "Black:" not in far.caption
