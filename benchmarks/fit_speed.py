"""Fit speed: scalinglab's batched multi-start fit vs the per-start scipy loop of notebooks.

Both minimise the same objective (Huber δ = 1e-3 on log residuals, summed; Hoffmann 2022 as
replicated by Besiroglu 2024) on the same 240 Chinchilla points from the same 4,500-point grid.
The scipy loop calls L-BFGS-B once per start, the way the replication's notebook does. Prints both
times, their ratio and both optima. A benchmark, not a timed test:

    .venv/bin/python benchmarks/fit_speed.py [--starts N]   (N < 4500 subsamples the scipy loop)
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.optimize import minimize
from scipy.special import huber, logsumexp

from scalinglab.laws import get_law

DATA = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "chinchilla_besiroglu2024.csv"
)


def scipy_loop(logN: np.ndarray, logD: np.ndarray, logL: np.ndarray, starts: np.ndarray):
    """The notebook recipe: one L-BFGS-B call per start, keep the best."""

    def objective(p: np.ndarray) -> float:
        a, b, e, alpha, beta = p
        pred = logsumexp([a - alpha * logN, b - beta * logD, np.full_like(logN, e)], axis=0)
        return float(np.sum(huber(1e-3, pred - logL)))

    best = (np.inf, None)
    for start in starts:
        res = minimize(objective, start, method="L-BFGS-B")
        if res.fun < best[0]:
            best = (res.fun, res.x)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=4500, help="scipy starts to run (<= 4500)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    df = pd.read_csv(DATA).query("epoch_outlier == 0")
    X, y = df[["params", "tokens"]].to_numpy(), df["loss"].to_numpy()

    t0 = time.perf_counter()
    law = get_law("chinchilla")().fit(X, y)
    ours = time.perf_counter() - t0

    grid = np.array(
        list(
            itertools.product(
                range(0, 30, 5),
                range(0, 30, 5),
                np.arange(-1, 1.5, 0.5),
                np.arange(0, 2.5, 0.5),
                np.arange(0, 2.5, 0.5),
            )
        ),
        dtype=float,
    )  # (a, b, e, alpha, beta): Hoffmann 2022's 4,500 starts
    rng = np.random.default_rng(0)
    chosen = (
        grid
        if args.starts >= len(grid)
        else grid[rng.choice(len(grid), args.starts, replace=False)]
    )
    t0 = time.perf_counter()
    fun, p = scipy_loop(np.log(X[:, 0]), np.log(X[:, 1]), np.log(y), chosen)
    loop = time.perf_counter() - t0
    loop_full = loop * len(grid) / len(chosen)

    a, b, e, alpha, beta = p
    header = ("time (s)", "E", "A", "B", "alpha", "beta", "objective")
    widths = (10, 8, 9, 9, 7, 7, 11)
    print(" " * 28 + " ".join(f"{h:>{w}s}" for h, w in zip(header, widths, strict=True)))
    q = law.params_
    print(
        f"{'scalinglab batched (4500)':28s} {ours:10.2f} {q['E']:8.4f} {q['A']:9.2f} {q['B']:9.1f} "
        f"{q['alpha']:7.4f} {q['beta']:7.4f} {law.objective_:11.6g}"
    )
    label = f"scipy loop ({len(chosen)})"
    print(
        f"{label:28s} {loop:10.2f} {np.exp(e):8.4f} {np.exp(a):9.2f} {np.exp(b):9.1f} "
        f"{alpha:7.4f} {beta:7.4f} {fun:11.6g}"
    )
    if len(chosen) < len(grid):
        print(f"scipy loop extrapolated to 4500 starts: {loop_full:.1f} s")
    print(f"speed-up (scipy loop over 4500 starts / scalinglab): {loop_full / ours:.0f}x")


if __name__ == "__main__":
    main()
