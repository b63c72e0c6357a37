"""Fixtures for the planning tests: published parameter sets and one bootstrap fit of the
Chinchilla replication data (Besiroglu et al. 2024), fitted once per session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalinglab.laws import ScalingLaw, get_law

# A published example fit (used by the issue): at C = 1e24, N_opt = 1.60e11 and D_opt = 1.04e12.
EXAMPLE = {"E": 1.7002, "A": 184.69, "B": 1633.48, "alpha": 0.2890, "beta": 0.3558}
# Hoffmann 2022 Approach 3, unrounded (Besiroglu 2024, Sec. 2): a = β/(α+β) = 0.4565.
HOFFMANN = {"E": 1.69337, "A": 406.401, "B": 410.723, "alpha": 0.33917, "beta": 0.28491}


def chinchilla(params: dict[str, float]) -> ScalingLaw:
    return ScalingLaw.from_dict({"law": "chinchilla", "params": params})


@pytest.fixture(scope="session")
def example_law() -> ScalingLaw:
    return chinchilla(EXAMPLE)


@pytest.fixture(scope="session")
def hoffmann_law() -> ScalingLaw:
    return chinchilla(HOFFMANN)


@pytest.fixture(scope="session")
def besiroglu_fit(shared_data: Path) -> ScalingLaw:
    """Chinchilla fitted to the 240 replication points with a 200-resample bootstrap (~3 s)."""
    df = pd.read_csv(shared_data / "chinchilla_besiroglu2024.csv").query("epoch_outlier == 0")
    law = get_law("chinchilla")(n_bootstrap=200, random_state=0)
    return law.fit(df[["params", "tokens"]].to_numpy(), df["loss"].to_numpy())


def isoflop_runs(
    params: dict[str, float],
    budgets: np.ndarray,
    noise: float = 0.0,
    seed: int = 0,
    jitter: float = 0.0,
) -> pd.DataFrame:
    """Synthetic IsoFLOP runs from a Chinchilla law: at each budget, a fixed ladder of model sizes
    within 10× of the optimum (not centred on it), D = C/(6N), loss with lognormal noise."""
    rng = np.random.default_rng(seed)
    E, A, B, al, be = (params[k] for k in ("E", "A", "B", "alpha", "beta"))
    G = (al * A / (be * B)) ** (1 / (al + be))
    a = be / (al + be)
    ladder = np.geomspace(1e6, 1e12, 49)
    rows = []
    for c in budgets:
        n_opt = G * (c / 6) ** a
        for n in ladder[(ladder > n_opt / 10) & (ladder < n_opt * 10)]:
            cc = c * (1 + jitter * rng.uniform(-1, 1))
            d = cc / (6 * n)
            loss = (E + A * n**-al + B * d**-be) * np.exp(rng.normal(0, noise))
            rows.append((n, d, cc, loss))
    return pd.DataFrame(rows, columns=["params", "tokens", "flops", "loss"])
