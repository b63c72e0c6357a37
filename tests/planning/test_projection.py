"""Hoffmann 2022 Table 3 projections, model size for data (Hestness 2017), FLOP models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scalinglab.errors import ScalingLabError
from scalinglab.laws import ScalingLaw
from scalinglab.planning import (
    GOPHER_FLOPS,
    HOFFMANN_TABLE3_SIZES,
    AllocationLines,
    FlopModel,
    PowerLawLine,
    best_model_sizes,
    compute_optimal,
    fit_model_size_curve,
    projection_table,
)
from scalinglab.planning.flops import FlopExpression


def test_table_from_a_law(hoffmann_law: ScalingLaw) -> None:
    table = projection_table(hoffmann_law)
    assert list(table["params"]) == list(HOFFMANN_TABLE3_SIZES)
    assert np.allclose(table["flops_gopher"], table["flops"] / 5.76e23)
    for rec in table.to_dict(orient="records"):
        plan = compute_optimal(hoffmann_law, rec["flops"])
        assert plan.n_opt == pytest.approx(rec["params"], rel=1e-9)
        assert plan.d_opt == pytest.approx(rec["tokens"], rel=1e-9)
    assert np.all(np.diff(table["flops"]) > 0)


def test_numeric_matches_closed_form(hoffmann_law: ScalingLaw) -> None:
    sizes = [1e9, 6.7e10]
    closed = projection_table(hoffmann_law, sizes)
    numeric = projection_table(
        hoffmann_law, sizes, flops=FlopModel(function=lambda n, d: 6.0 * n * d)
    )
    assert np.allclose(numeric["flops"], closed["flops"], rtol=1e-4)


@pytest.mark.parametrize("text", ["6*N*D + 2e4*D", "6*N*D + 200*N"])
def test_table_under_a_flop_function_dearer_than_1e2_flops_at_one_param_one_token(
    hoffmann_law: ScalingLaw, text: str
) -> None:
    # C(1, 1) > 1e2 FLOPs (the README's example function among them): each size's budget is
    # still found, and is the one whose compute-optimal model has that size
    flops = FlopModel(function=FlopExpression(text))
    table = projection_table(hoffmann_law, [1e9, 1e11], flops=flops, draws=False)
    for rec in table.to_dict(orient="records"):
        plan = compute_optimal(hoffmann_law, rec["flops"], flops, draws=False)
        assert plan.n_opt == pytest.approx(rec["params"], rel=1e-4)
        assert plan.d_opt == pytest.approx(rec["tokens"], rel=1e-4)


def test_table_from_allocation_lines() -> None:
    # Hoffmann's Approach 1 has a = b = 0.5; with N_opt = 0.1·C^0.5, D_opt = C/(6 N_opt).
    lines = AllocationLines(PowerLawLine(0.5, 0.1), PowerLawLine(0.5, 1 / 0.6))
    table = projection_table(lines, [1e9])
    assert table["flops"][0] == pytest.approx(1e20)
    assert table["tokens"][0] == pytest.approx(1e20 / 6e9)
    assert table["flops_gopher"][0] == pytest.approx(1e20 / GOPHER_FLOPS)


def test_intervals_and_bad_sizes(besiroglu_fit: ScalingLaw) -> None:
    table = projection_table(besiroglu_fit, [1e9, 1e10])
    assert np.all(table["flops_lo"] < table["flops"]) and np.all(table["flops"] < table["flops_hi"])
    with pytest.raises(ScalingLabError, match="positive"):
        projection_table(besiroglu_fit, [1e9, -5])


def test_model_size_for_data() -> None:
    rng = np.random.default_rng(0)
    shards = np.geomspace(1e3, 1e6, 8)
    rows = []
    for m in shards:
        best = 30.0 * m**0.7
        for size in best * np.array([0.25, 0.5, 1.0, 2.0, 4.0]):
            loss = 1.0 + 0.1 * np.log(size / best) ** 2 + rng.normal(0, 1e-3)
            rows.append((m, size, loss))
    df = pd.DataFrame(rows, columns=["shard", "size", "loss"])
    best = best_model_sizes(df, "shard", "size", "loss")
    assert len(best) == 8
    assert np.allclose(best["size"], 30.0 * shards**0.7)
    curve = fit_model_size_curve(best["data"], best["size"], n_bootstrap=0)
    assert curve.beta_p == pytest.approx(0.7, abs=1e-6) and curve.sublinear
    out = curve.size_for([1e7])
    assert out["size"][0] == pytest.approx(30.0 * 1e7**0.7, rel=1e-5)


def test_flop_model_inverses() -> None:
    def with_attention(n: np.ndarray, d: np.ndarray) -> np.ndarray:
        return 6.0 * n * d + 1e3 * d

    fm = FlopModel(function=with_attention)
    d = fm.tokens(1e21, 1e9)
    assert fm.compute(1e9, d) == pytest.approx(1e21, rel=1e-10)
    n = fm.params(1e21, 1e11)
    assert fm.compute(n, 1e11) == pytest.approx(1e21, rel=1e-10)
    assert not fm.linear and FlopModel().linear
