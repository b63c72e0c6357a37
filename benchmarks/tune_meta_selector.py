"""Leave one source out: a law selector learned from curve features (issue 13;
docs/auto-tuning-log.md, 2026-12-07, "a law selector learned from curve features").

    .venv/bin/python benchmarks/tune_meta_selector.py   (repo root, ~1 min on the cached fits)

The algorithm-selection view of auto (Rice 1976, "The algorithm selection problem"): each
candidate law's log RMSE at the held-out points is regressed (ridge, each source weighing as
much as any other) on what auto knows before it predicts: the law's backtest score (the
shipped rule's "far" score over 2 cuts) and its log distance from the best law's, its ΔAIC, the
curve's distinct x values, log span, horizon and horizon over span, and whether the law could be
backtested; one intercept and slope set per law, plus slopes shared by all. The selector weighs
the laws by exp(−(r̂ − r̂_min)/τ) (τ 0: the lowest predicted log RMSE takes all), times the Akaike
weights with `--aic` mixing, and predicts with the weighted mean of log predictions, as auto
does. Trained on six of the seven tuning sources (`fresh_cache.seven_sources`), scored on the
seventh; each split chooses (ridge, τ, mixing) by a leave-one-source-out within its six.
Printed per left-out source: median RMSE over the best single law's (each law's median with a
failed fit counted as infinite), for the split's choice, for every grid point and for auto.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import tune_auto
from fresh_cache import seven_sources
from tune_auto import LABELS, backtests_of

from scalinglab.selection.rule import DEFAULT_RULE, candidate_scores, ic_deltas, ic_weights

FEATURES = ["rel", "log_score", "daic", "log_nx", "span", "horizon", "ratio", "eligible"]
RIDGES = (3.0, 10.0, 30.0)  # per 1,000 rows
TAUS = (0.0, 0.25, 0.5, 1.0)
MAX_DAIC = 40.0


@dataclass
class Curve:
    source: str
    log_pred: dict[str, np.ndarray]  # each fitted law's log prediction at the held-out x
    log_y: np.ndarray
    auto: float  # the shipped rule's point prediction's RMSE (its Akaike weights)


def table() -> tuple[pd.DataFrame, dict[str, Curve]]:
    """One row per (problem, fitted law): features and the law's held-out log RMSE."""
    problems, fits = seven_sources(",".join(tune_auto.FRESH_SETS))
    rows, curves = [], {}
    for p in problems:
        rec = fits[p.id]
        bt = backtests_of(p, rec, DEFAULT_RULE.n_cuts)
        scores = candidate_scores(bt, DEFAULT_RULE)
        deltas = ic_deltas(bt, LABELS, DEFAULT_RULE)
        log_x = np.log(np.asarray(p.x_train, dtype=float))
        preds = {
            k: np.asarray(s["log_pred"]) for k, s in rec["singles"].items() if "error" not in s
        }
        log_y = np.log(np.asarray(p.y_test, dtype=float))
        w = {k: v for k, v in ic_weights(deltas, DEFAULT_RULE).items() if k in preds}
        auto = sum(v * preds[k] for k, v in w.items()) / sum(w.values())
        curves[p.id] = Curve(p.source, preds, log_y, rmse(auto, log_y))
        span, horizon = float(log_x.max() - log_x.min()), float(rec["horizon"])
        curve = {
            "source": p.source, "problem": p.id, "log_nx": math.log(np.unique(log_x).size),
            "span": span, "horizon": horizon, "ratio": horizon / max(span, 0.1),
        }  # fmt: skip
        for law, lp in preds.items():
            score = scores[law]
            rows.append(
                curve
                | {
                    "law": law,
                    "log_rmse": math.log(max(rmse(lp, log_y), 1e-5)),
                    "log_score": math.log(max(score, 1e-6)) if math.isfinite(score) else math.nan,
                    "daic": min(deltas.get(law, math.inf), MAX_DAIC),
                }
            )
    df = pd.DataFrame(rows)
    df["eligible"] = df["log_score"].notna().astype(float)
    df["log_score"] = df["log_score"].fillna(df["log_score"].max())
    df["rel"] = (df["log_score"] - df.groupby("problem")["log_score"].transform("min")).where(
        df["eligible"] > 0, 5.0
    )
    return df, curves


def rmse(log_pred: np.ndarray, log_y: np.ndarray) -> float:
    return math.sqrt(float(np.mean((log_pred - log_y) ** 2)))


def design(d: pd.DataFrame) -> np.ndarray:
    """Per-law intercepts and slopes, and slopes shared by every law."""
    cols = []
    for law in LABELS:
        mine = (d["law"] == law).to_numpy(float)
        cols += [mine, *(mine * d[f].to_numpy(float) for f in FEATURES)]
    cols += [d[f].to_numpy(float) for f in FEATURES]
    return np.column_stack(cols)


def fitted_ridge(train: pd.DataFrame, ridge: float) -> Callable[[pd.DataFrame], np.ndarray]:
    """Ridge regression of the log RMSE, standardised columns, each source weighing the same."""
    x, y = design(train), train["log_rmse"].to_numpy()
    w = 1.0 / train.groupby("source")["problem"].transform("nunique").to_numpy()
    mu, sd = np.average(x, axis=0, weights=w), x.std(axis=0) + 1e-9
    z = (x - mu) / sd
    y0 = np.average(y, weights=w)
    lam = ridge * len(train) / 1000
    beta = np.linalg.solve(z.T @ (z * w[:, None]) + lam * np.eye(z.shape[1]), z.T @ (w * (y - y0)))
    return lambda d: ((design(d) - mu) / sd) @ beta + y0


def medians(test: pd.DataFrame, curves: dict[str, Curve], tau: float, aic: bool) -> float:
    """The selector's median held-out RMSE on `test` (rows with a `predicted` column)."""
    out = []
    for pid, g in test.groupby("problem"):
        r = g["predicted"].to_numpy()
        z = -(r - r.min()) / tau if tau > 0 else np.where(r == r.min(), 0.0, -np.inf)
        if aic:
            z = z - g["daic"].to_numpy() / 2
        w = np.exp(z - z.max())
        w /= w.sum()
        c = curves[str(pid)]
        out.append(
            rmse(sum(wi * c.log_pred[k] for wi, k in zip(w, g["law"], strict=True)), c.log_y)
        )
    return float(np.median(out))


def best_single(test_ids: list[str], curves: dict[str, Curve]) -> float:
    """The best single law's median RMSE (a failed fit counts as infinite)."""
    return min(
        float(np.median([
            rmse(curves[i].log_pred[law], curves[i].log_y) if law in curves[i].log_pred
            else math.inf
            for i in test_ids
        ]))
        for law in LABELS
    )  # fmt: skip


def ratios(
    df: pd.DataFrame, curves: dict[str, Curve], sources: list[str], best: dict[str, float]
) -> dict[tuple[float, float, bool], dict[str, float]]:
    """Each grid point's left-out median over the best single law's, per source of `sources`
    (trained on the others of `sources`)."""
    out: dict[tuple[float, float, bool], dict[str, float]] = {}
    for ridge in RIDGES:
        for s in sources:
            train = df[df["source"].isin(sources) & (df["source"] != s)]
            test = df[df["source"] == s]
            test = test.assign(predicted=fitted_ridge(train, ridge)(test))
            for tau, aic in itertools.product(TAUS, (False, True)):
                out.setdefault((ridge, tau, aic), {})[s] = medians(test, curves, tau, aic) / best[s]
    return out


def main() -> None:
    df, curves = table()
    sources = sorted(df["source"].unique())
    best = {
        s: best_single([i for i, c in curves.items() if c.source == s], curves) for s in sources
    }
    grid = ratios(df, curves, sources, best)
    auto = {
        s: float(np.median([c.auto for c in curves.values() if c.source == s])) / best[s]
        for s in sources
    }
    print("median RMSE over the best single law's, left out:")
    table_rows = {
        f"ridge {r:g}, tau {t:g}{', AIC' if a else ''}": v for (r, t, a), v in grid.items()
    }
    table_rows["auto (Akaike weights, shipped)"] = auto
    chosen = {}
    for s in sources:  # each split chooses by a leave-one-source-out within its six sources
        inner = ratios(df, curves, [o for o in sources if o != s], best)
        key = min(inner, key=lambda k: float(np.mean(np.log(list(inner[k].values())))))
        chosen[s] = grid[key][s]
        print(f"split {s}: chooses ridge {key[0]:g}, tau {key[1]:g}, AIC {key[2]}")
    table_rows["each split's choice"] = chosen
    print(pd.DataFrame(table_rows).T.round(2).to_string())


if __name__ == "__main__":
    main()
