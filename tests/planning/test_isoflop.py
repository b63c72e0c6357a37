"""Approach 2 (IsoFLOP profiles) and Approach 1 (loss envelope) of Hoffmann 2022."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scalinglab.errors import ScalingLabError
from scalinglab.planning import envelope_analysis, group_budgets, isoflop_analysis

from .conftest import HOFFMANN, isoflop_runs

A_TRUE = HOFFMANN["beta"] / (HOFFMANN["alpha"] + HOFFMANN["beta"])
B_TRUE = 1 - A_TRUE
BUDGETS = np.geomspace(6e18, 3e21, 9)  # Hoffmann's nine IsoFLOP budgets span 6e18 … 3e21


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    return isoflop_runs(HOFFMANN, BUDGETS, noise=0.005, seed=1, jitter=0.01)


def test_recovers_allocation_exponents(runs: pd.DataFrame) -> None:
    # Must show: a and b within 0.02 of the generating law's.
    res = isoflop_analysis(
        runs["params"], runs["loss"], runs["flops"], runs["tokens"], n_bootstrap=300
    )
    assert len(res.budgets) == 9 and res.budgets["used"].all()
    assert res.a == pytest.approx(A_TRUE, abs=0.02)
    assert res.b == pytest.approx(B_TRUE, abs=0.02)
    assert res.n_line.source == "bootstrap"
    lo, hi = res.n_line.exponent_interval
    assert lo < res.a < hi and res.n_line.exponent_stderr < 0.02
    assert np.all(res.budgets["n_opt_lo"] <= res.budgets["n_opt"])
    assert np.all(res.budgets["n_opt"] <= res.budgets["n_opt_hi"])


def test_without_noise_or_bootstrap(runs: pd.DataFrame) -> None:
    clean = isoflop_runs(HOFFMANN, BUDGETS)
    res = isoflop_analysis(clean["params"], clean["loss"], clean["flops"], clean["tokens"])
    assert res.a == pytest.approx(A_TRUE, abs=0.01)
    assert res.n_line.source == "ols"
    # The tokens at each minimum respect the runs' own FLOP accounting, C = 6·N·D.
    b = res.budgets
    assert np.allclose(6 * b["n_opt"] * b["d_opt"], b["compute"], rtol=1e-9)


def test_plot_ready_data(runs: pd.DataFrame) -> None:
    res = isoflop_analysis(runs["params"], runs["loss"], runs["flops"], runs["tokens"])
    assert {"compute", "n_runs", "c2", "c1", "c0", "n_opt", "d_opt", "loss_opt", "used"} <= set(
        res.budgets.columns
    )
    curves = res.parabola_curves(points=20)
    assert len(curves) == 9 * 20
    # Each parabola's vertex is its budget's minimum.
    row = res.budgets.iloc[3]
    u = np.log(row["n_opt"])
    assert row["c2"] * u**2 + row["c1"] * u + row["c0"] == pytest.approx(row["loss_opt"])
    assert set(res.runs["budget"]) == set(range(9))
    assert res.to_dict()["a"] == res.a


def test_tokens_only_uses_flop_model(runs: pd.DataFrame) -> None:
    res = isoflop_analysis(runs["params"], runs["loss"], tokens=runs["tokens"], rel_tol=0.05)
    assert res.a == pytest.approx(A_TRUE, abs=0.02)


def test_group_budgets() -> None:
    labels, values = group_budgets([1e18, 1.01e18, 3e18, 2.98e18, 1e19], rel_tol=0.05)
    assert list(labels) == [0, 0, 1, 1, 2]
    assert values[0] == pytest.approx(1.005e18)


def test_downward_budget_is_left_out(runs: pd.DataFrame) -> None:
    bad = pd.DataFrame({"params": [1e8, 2e8, 4e8], "loss": [3.0, 3.5, 3.0], "flops": [1e23] * 3})
    both = pd.concat([runs[["params", "loss", "flops"]], bad], ignore_index=True)
    res = isoflop_analysis(both["params"], both["loss"], both["flops"])
    assert not res.budgets.iloc[-1]["used"]
    assert "no minimum" in res.budgets.iloc[-1]["note"]
    assert any("1e+23" in w for w in res.warnings)


def test_a_budget_whose_loss_falls_to_its_largest_model_is_left_out(runs: pd.DataFrame) -> None:
    # loss = 1/N: convex in ln N, so a parabola has a vertex inside the sizes, but the loss
    # keeps falling to the largest model and no minimum is bracketed
    n = np.geomspace(1e8, 4e9, 9)
    edge = pd.DataFrame({"params": n, "loss": 2.0 + 1e8 / n, "flops": [1e23] * n.size})
    both = pd.concat([runs[["params", "loss", "flops"]], edge], ignore_index=True)
    res = isoflop_analysis(both["params"], both["loss"], both["flops"])
    last = res.budgets.iloc[-1]
    assert not last["used"] and "lowest loss at the edge" in last["note"]
    assert res.budgets.iloc[:-1]["used"].all()  # every bracketed budget of the fixture is kept
    alone = isoflop_runs(HOFFMANN, np.array([1e20, 1e21]))
    alone = alone.assign(loss=2.0 + 1e8 / alone["params"])  # no budget brackets a minimum
    with pytest.raises(ScalingLabError, match="2 with lowest loss at the edge"):
        isoflop_analysis(alone["params"], alone["loss"], alone["flops"])


def test_too_few_budgets() -> None:
    one = isoflop_runs(HOFFMANN, np.array([1e20]))
    with pytest.raises(ScalingLabError, match="2 or more budgets"):
        isoflop_analysis(one["params"], one["loss"], one["flops"])


def test_bad_values() -> None:
    with pytest.raises(ScalingLabError, match="positive"):
        isoflop_analysis([1e8, -1.0, 3e8], [3.0, 2.9, 3.1], [1e20] * 3)
    with pytest.raises(ScalingLabError, match="compute"):
        isoflop_analysis([1e8, 2e8, 3e8], [3.0, 2.9, 3.1])


def training_curves(sizes: np.ndarray, steps: int = 60) -> pd.DataFrame:
    """Loss recorded along training of each model size (Hoffmann Fig. 2's raw material)."""
    E, A, B, al, be = (HOFFMANN[k] for k in ("E", "A", "B", "alpha", "beta"))
    rows = []
    for run, n in enumerate(sizes):
        for d in np.geomspace(1e8, 1e13, steps):
            rows.append((run, n, d, 6 * n * d, E + A * n**-al + B * d**-be))
    return pd.DataFrame(rows, columns=["run", "params", "tokens", "flops", "loss"])


def test_envelope_recovers_exponents() -> None:
    curves = training_curves(np.geomspace(1e7, 1e11, 41))
    res = envelope_analysis(
        curves["params"],
        curves["loss"],
        curves["flops"],
        curves["tokens"],
        curves["run"],
        n_bootstrap=100,
    )
    assert res.a == pytest.approx(A_TRUE, abs=0.02)
    assert res.b == pytest.approx(B_TRUE, abs=0.02)
    lo, hi = res.n_line.exponent_interval
    assert lo <= res.a <= hi
    pts = res.points
    assert {"compute", "params", "tokens", "loss", "run"} <= set(pts.columns)
    # Envelope points are the best loss at their compute: no curve beats them.
    assert np.all(np.diff(pts["loss"]) <= 1e-12)


def test_envelope_needs_several_sizes() -> None:
    curves = training_curves(np.array([1e9]))
    with pytest.raises(ScalingLabError, match="2 distinct model sizes"):
        envelope_analysis(curves["params"], curves["loss"], curves["flops"])


def test_envelope_on_final_losses(shared_data) -> None:  # type: ignore[no-untyped-def]
    # One row per run (final losses only): each run counts at its own compute.
    df = pd.read_csv(shared_data / "chinchilla_besiroglu2024.csv").query("epoch_outlier == 0")
    res = envelope_analysis(df["params"], df["loss"], df["flops"], df["tokens"])
    assert 0.2 < res.a < 0.9
