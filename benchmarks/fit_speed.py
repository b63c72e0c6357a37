"""Fit speed: scalinglab's batched multi-start fit vs the per-start scipy loop of notebooks, and
how the fit's cost grows with the number of points.

Both minimise the same objective (Huber δ = 1e-3 on log residuals, summed; Hoffmann 2022 as
replicated by Besiroglu 2024) on the same 240 Chinchilla points from the same 4,500-point grid.
The scipy loop calls L-BFGS-B once per start, the way the replication's notebook does. Prints both
times, their ratio and both optima.

Then the same fit on the 240 runs repeated and jittered (every copy's N, D and loss multiplied by
exp of a 1% normal draw, seeded) to 2,400 and 24,000 points — the size of per-checkpoint tables of
real ladders — each in a fresh process, with its wall and CPU time and peak resident memory
(torch's import included). A benchmark, not a timed test; timings on a shared machine are noisy
(CPU time less so than wall time), so compare numbers measured side by side:

    .venv/bin/python benchmarks/fit_speed.py [--starts N] [--sizes 240,2400,24000]
    (N < 4500 subsamples the scipy loop and extrapolates its time; --starts 0 skips it)
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing as mp
import resource
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
JITTER = 0.01  # relative size of the noise on each copy of a run (1%)


def chinchilla_points() -> tuple[np.ndarray, np.ndarray]:
    df = pd.read_csv(DATA).query("epoch_outlier == 0")
    return df[["params", "tokens"]].to_numpy(), df["loss"].to_numpy()


def jittered(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n points: the 240 runs (the first copy exact), then jittered copies of them."""
    X, y = chinchilla_points()
    reps = -(-n // len(y))
    rng = np.random.default_rng(seed)
    Xs, ys = [X], [y]
    for _ in range(reps - 1):
        Xs.append(X * np.exp(JITTER * rng.standard_normal(X.shape)))
        ys.append(y * np.exp(JITTER * rng.standard_normal(y.shape)))
    return np.concatenate(Xs)[:n], np.concatenate(ys)[:n]


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


def timed_fit(n: int, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    """Child process: fit n points, report (seconds, peak RSS in MB, params, objective, conv)."""
    torch.set_num_threads(1)
    X, y = jittered(n)
    t0, c0 = time.perf_counter(), time.process_time()
    law = get_law("chinchilla")().fit(X, y)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((seconds, cpu, peak_mb, law.params_, law.objective_, law.converged_))


def fit_in_child(n: int) -> tuple[float, float, float, dict[str, float], float, bool]:
    ctx = mp.get_context("spawn")  # a fresh process: its peak memory is this fit's alone
    queue = ctx.Queue()
    proc = ctx.Process(target=timed_fit, args=(n, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out  # type: ignore[no-any-return]


def row(
    label: str, seconds: float, cpu: float, p: dict[str, float], objective: float, extra: str
) -> str:
    return (
        f"{label:28s} {seconds:9.2f} {cpu:8.2f} {p['E']:8.4f} {p['A']:9.2f} {p['B']:9.1f} "
        f"{p['alpha']:7.4f} {p['beta']:7.4f} {objective:12.6g} {extra}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=4500, help="scipy starts to run (<= 4500)")
    parser.add_argument("--sizes", default="240,2400,24000", help="point counts to time")
    args = parser.parse_args()
    torch.set_num_threads(1)
    X, y = chinchilla_points()
    sizes = [int(s) for s in args.sizes.split(",") if s]

    header = ("wall (s)", "CPU (s)", "E", "A", "B", "alpha", "beta", "objective")
    widths = (9, 8, 8, 9, 9, 7, 7, 12)
    print(" " * 28 + " ".join(f"{h:>{w}s}" for h, w in zip(header, widths, strict=True)))
    for n in sizes:
        seconds, cpu, peak_mb, p, objective, converged = fit_in_child(n)
        flag = "converged" if converged else "NOT converged"
        label = f"scalinglab, {n} points"
        print(row(label, seconds, cpu, p, objective, f"{peak_mb:6.0f} MB  {flag}"), flush=True)

    if args.starts <= 0:
        return
    get_law("chinchilla")().fit(X, y)  # warm up (first calls pay for torch's lazy setup)
    t0, c0 = time.perf_counter(), time.process_time()
    law = get_law("chinchilla")().fit(X, y)
    ours, ours_cpu = time.perf_counter() - t0, time.process_time() - c0
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
    t0, c0 = time.perf_counter(), time.process_time()
    fun, q = scipy_loop(np.log(X[:, 0]), np.log(X[:, 1]), np.log(y), chosen)
    loop, loop_cpu = time.perf_counter() - t0, time.process_time() - c0
    scale = len(grid) / len(chosen)
    a, b, e, alpha, beta = q
    scipy_p = {"E": np.exp(e), "A": np.exp(a), "B": np.exp(b), "alpha": alpha, "beta": beta}
    print(row("scalinglab (4500), in-process", ours, ours_cpu, law.params_, law.objective_, ""))
    print(row(f"scipy loop ({len(chosen)})", loop, loop_cpu, scipy_p, fun, ""))
    if len(chosen) < len(grid):
        print(
            f"scipy loop extrapolated to 4500 starts: {loop * scale:.1f} s wall, "
            f"{loop_cpu * scale:.1f} s CPU"
        )
    print(
        f"speed-up (scipy loop over 4500 starts / scalinglab, 240 points): "
        f"{loop * scale / ours:.0f}x wall, {loop_cpu * scale / ours_cpu:.0f}x CPU"
    )


if __name__ == "__main__":
    main()
