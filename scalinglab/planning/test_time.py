"""Train-time vs test-time compute (Jones 2021, "Scaling Scaling Laws with Board Games"; Brown
et al. 2024, "Large Language Monkeys").

A law of both computes (`jones_tradeoff`, `pass_at_k_compute`) gives, for a performance P, the
iso-performance line log10 C_test = m·log10 C_train + b(P) (m < 0: more training needs less
test-time compute per call). A model trained once and then called Q times costs

    total(C_train) = C_train + Q·C_test(C_train),   C_test = 10^b·C_train^m,

minimised at C_train* = (−m·Q·10^b)^(1/(1−m)) (set the derivative 1 + m·Q·10^b·C^(m−1) to 0).
There the Q calls spend C_train*/(−m): with Hex's m ≈ −1.2, ~0.83× the training compute,
whatever Q is. Intervals come from the fit's parameter draws, each solved in closed form.

`tradeoff_runs` turns a study of the `test_time` task (one row per trial, a `pass_k{k}` column
per sample count) into the long table these laws fit: train_compute, samples, test_compute,
coverage; `fit_tradeoff` fits `pass_at_k_compute` to it and reads the measured trade-off (what
`scalinglab tradeoff` prints and `scalinglab report` shows for a test-time study).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from scalinglab.errors import ScalingLabError
from scalinglab.io import file_row, numeric_columns, to_numbers
from scalinglab.laws.base import FloatArray, ScalingLaw
from scalinglab.planning._checks import check_level
from scalinglab.planning._results import interval
from scalinglab.planning.surface import law_draws, point_row
from scalinglab.types import JsonRecord

PASS_PREFIX = "pass_k"  # a study's coverage columns: pass_k1, pass_k2, ...
TEST_FLOPS_COLUMN = "test_flops_per_sample"  # forward FLOPs of one sample
TEST_TIME_LAWS = ("jones_tradeoff", "pass_at_k_compute")
HEX_SLOPE = -1.2  # Jones 2021, Hex: 10x train-time compute ~ 15x test-time compute
HEX_MULTIPLE = 10 ** (1 / -HEX_SLOPE)  # so 10x test-time compute ~ 6.8x train-time compute


class TradeoffLaw(Protocol):
    """A fitted law with an iso-performance line (see the module docstring)."""

    name: str

    def tradeoff_line(self, perf: float, theta: FloatArray) -> tuple[FloatArray, FloatArray]: ...


def tradeoff_law(law: ScalingLaw) -> TradeoffLaw:
    """The law as a TradeoffLaw, or the one-line error of a fit without test-time compute."""
    if not hasattr(law, "tradeoff_line"):
        raise ScalingLabError(
            f"this fit ({law.name}, variables {', '.join(law.variables)}) has no test-time "
            "compute column: fit a law of train and test-time compute "
            f"({', '.join(TEST_TIME_LAWS)})"
        )
    out: TradeoffLaw = law  # type: ignore[assignment]
    return out


def _theta(law: ScalingLaw) -> tuple[FloatArray, FloatArray | None, str]:
    draws = law_draws(law)
    return point_row(law), draws.theta, draws.source


def _optimum(
    slope: FloatArray, intercept: FloatArray, calls: float
) -> tuple[FloatArray, FloatArray]:
    """(C_train*, C_test*) per row; NaN where there is no trade-off (slope >= 0)."""
    with np.errstate(all="ignore"):
        log_c = (np.log10(-slope * calls) + intercept) / (1.0 - slope)
        log_t = slope * log_c + intercept
    bad = ~(slope < 0) | ~np.isfinite(log_c)
    return np.where(bad, np.nan, 10.0**log_c), np.where(bad, np.nan, 10.0**log_t)


@dataclass
class SplitPlan(JsonRecord):
    """The cheapest split of train-time and test-time compute reaching a performance."""

    target_perf: float
    inference_calls: float
    train_compute: float
    test_compute_per_call: float
    inference_compute: float
    total_compute: float
    slope: float  # m: log10 C_test per log10 C_train at equal performance
    train_multiple_for_10x_test: float  # 10^(1/−m)
    law: str
    level: float = 0.9
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    interval_source: str = "none"
    n_draws: int = 0


def cheapest_split(
    law: ScalingLaw, target_perf: float, inference_calls: float, level: float = 0.9
) -> SplitPlan:
    """Minimise C_train + Q·C_test per call subject to performance `target_perf`."""
    check_level(level)
    tl = tradeoff_law(law)
    if not (math.isfinite(target_perf)):
        raise ScalingLabError(f"target_perf must be a finite number, got {target_perf}")
    if not (math.isfinite(inference_calls) and inference_calls > 0):
        raise ScalingLabError(f"inference_calls must be a number > 0, got {inference_calls}")
    point, draws, source = _theta(law)
    slope, intercept = tl.tradeoff_line(target_perf, point)
    if not slope[0] < 0:
        raise ScalingLabError(
            f"the fitted trade-off slope m = {slope[0]:.4g} is not negative: more training does "
            "not save test-time compute in this fit, so there is no split to optimise"
        )
    c_train, c_test = _optimum(slope, intercept, inference_calls)
    intervals: dict[str, tuple[float, float]] = {}
    n = 0
    if draws is not None:
        s, b = tl.tradeoff_line(target_perf, draws)
        ct, cs = _optimum(s, b, inference_calls)
        n = int(draws.shape[0])
        with np.errstate(all="ignore"):
            intervals = {
                "train_compute": interval(ct, level),
                "test_compute_per_call": interval(cs, level),
                "total_compute": interval(ct + inference_calls * cs, level),
                "slope": interval(s, level),
                "train_multiple_for_10x_test": interval(10.0 ** (-1.0 / s), level),
            }
    m = float(slope[0])
    return SplitPlan(
        target_perf=float(target_perf),
        inference_calls=float(inference_calls),
        train_compute=float(c_train[0]),
        test_compute_per_call=float(c_test[0]),
        inference_compute=float(inference_calls * c_test[0]),
        total_compute=float(c_train[0] + inference_calls * c_test[0]),
        slope=m,
        train_multiple_for_10x_test=float(10.0 ** (-1.0 / m)),
        law=law.name,
        level=level,
        intervals=intervals,
        interval_source=source if draws is not None else "none",
        n_draws=n,
    )


def iso_performance_line(
    law: ScalingLaw, perf: float, train_compute: FloatArray, level: float = 0.9
) -> pd.DataFrame:
    """Test-time compute per call that reaches `perf` at each train compute, with the draws'
    `level` interval: columns train_compute, test_compute, test_compute_lo, test_compute_hi."""
    check_level(level)
    tl = tradeoff_law(law)
    c = np.asarray(train_compute, dtype=float)
    point, draws, _ = _theta(law)
    s, b = tl.tradeoff_line(perf, point)
    out = pd.DataFrame({"train_compute": c, "test_compute": 10.0 ** (s[0] * np.log10(c) + b[0])})
    if draws is not None:
        sd, bd = tl.tradeoff_line(perf, draws)
        with np.errstate(all="ignore"):
            lines = 10.0 ** (sd[:, None] * np.log10(c)[None, :] + bd[:, None])
        bounds = np.array([interval(col, level) for col in lines.T])
        out["test_compute_lo"], out["test_compute_hi"] = bounds[:, 0], bounds[:, 1]
    return out


def tradeoff_runs(df: pd.DataFrame) -> pd.DataFrame:
    """The long table of a test-time study: one row per (trial, sample count k) with columns
    train_compute (the trial's training FLOPs), samples (k), test_compute (k × FLOPs per sample),
    coverage (pass@k), plus seed and shard_size when present. Trials whose state is not
    COMPLETE are left out; the others (every row, without a state column) are finished, and an
    empty cell among their measurements fails, naming its column and data row. A table that
    already has train_compute, test_compute and coverage is returned as it is."""
    direct = ["train_compute", "test_compute", "coverage"]
    if set(direct) <= set(df.columns):
        _check_unique(df, direct)
        out = df.copy()
        # a string or NaN gets one clear line
        out[direct] = numeric_columns(df, direct, remedy="fix or drop those rows")
        return out
    samples = {c: k for c in df.columns if (k := _sample_count(c)) is not None}
    pass_cols = sorted(samples, key=samples.__getitem__)
    if not pass_cols or TEST_FLOPS_COLUMN not in df.columns or "flops" not in df.columns:
        raise ScalingLabError(
            "no test-time column: a test-time table needs pass_k1, pass_k2, ... columns with "
            f"{TEST_FLOPS_COLUMN} and flops (a `test_time` study), or train_compute, "
            "test_compute and coverage columns"
        )
    keep = [c for c in ("seed", "shard_size") if c in df.columns]
    _check_unique(df, [*pass_cols, TEST_FLOPS_COLUMN, "flops", "state", *keep])
    if "state" in df.columns:
        df = df[df["state"] == "COMPLETE"]
    rows = []
    for col in pass_cols:
        k = samples[col]
        part = df[keep].copy()
        part["train_compute"] = _numbers(df, "flops")
        part["samples"] = k
        part["test_compute"] = k * _numbers(df, TEST_FLOPS_COLUMN)
        part["coverage"] = _numbers(df, col)
        rows.append(part)
    out = pd.concat(rows, ignore_index=True)
    if out.empty:
        raise ScalingLabError("the test-time table has no finished trials with coverage")
    return out.sort_values(["train_compute", "samples"]).reset_index(drop=True)


def _sample_count(column: object) -> int | None:
    """k of a coverage column pass_k{k} (ASCII digits, at most 15 of them: a sample count, not
    a number beyond exact floats), else None: the column is not one."""
    if not isinstance(column, str):
        return None
    match = re.fullmatch(rf"{PASS_PREFIX}([0-9]{{1,15}})", column)
    return None if match is None else int(match.group(1))


def _check_unique(df: pd.DataFrame, columns: list[str]) -> None:
    """Fail if a column that is read appears more than once (a DataFrame may repeat a name)."""
    repeated = [c for c in columns if int((df.columns == c).sum()) > 1]
    if repeated:
        raise ScalingLabError(
            f"the test-time table has more than one column named {repeated[0]!r}; rename them "
            "so each column name is unique"
        )


def _numbers(df: pd.DataFrame, column: str) -> pd.Series:
    """A column of finished trials as floats; a value that is not a number, or an empty cell
    (a finished trial has every measurement), fails with one line naming it."""
    values = to_numbers(df[column])
    text, empty = values.isna() & df[column].notna(), df[column].isna()
    if text.any() or empty.any():
        at = int(np.flatnonzero((text | empty).to_numpy())[0])
        # the table's own row: unfinished trials may have been left out before this check
        row = file_row(df, at)
        if empty.iloc[at]:
            finished = (
                "a finished trial (state COMPLETE)"
                if "state" in df.columns
                else "a finished trial (a table without a state column holds only those)"
            )
            raise ScalingLabError(
                f"column {column!r} is empty at data row {row}, {finished}; fill it in "
                "or drop that row"
            )
        raise ScalingLabError(
            f"column {column!r} holds {df[column].iloc[at]!r} at data row {row}, which is "
            "not a number; fix or drop that row"
        )
    return values.astype(float)


def has_test_time_columns(df: pd.DataFrame) -> bool:
    """Whether `tradeoff_runs` can read the table: a test-time study's pass_k columns with
    test_flops_per_sample and flops, or train_compute, test_compute and coverage."""
    if {"train_compute", "test_compute", "coverage"} <= set(df.columns):
        return True
    has_pass = any(str(c).startswith(PASS_PREFIX) for c in df.columns)
    return has_pass and {TEST_FLOPS_COLUMN, "flops"} <= set(df.columns)


@dataclass
class TradeoffFit:
    """`pass_at_k_compute` fitted to a test-time table, and the trade-off it measures: the
    slope m = −alpha/beta of the iso-coverage lines and the train-compute multiple 10^(1/−m)
    worth 10× test-time compute, with `level` intervals from the bootstrap draws (None
    without draws)."""

    law: ScalingLaw
    runs: pd.DataFrame  # the points fitted: train_compute, test_compute, coverage, ...
    slope: float
    train_multiple_for_10x_test: float
    slope_interval: tuple[float, float] | None
    train_multiple_interval: tuple[float, float] | None
    level: float

    def coverage_levels(self) -> list[float]:
        """Coverages at which to draw iso-coverage lines: the measured coverage's quartiles
        (inside the data, not extrapolated), strictly between 0 and 1."""
        cov = self.runs["coverage"].to_numpy(float)
        qs = np.quantile(cov, [0.25, 0.5, 0.75])
        return sorted({float(f"{q:.2g}") for q in qs if 0 < float(f"{q:.2g}") < 1})

    def summary(self) -> dict[str, object]:
        """The JSON record of `scalinglab tradeoff --json`."""
        return {
            "law": self.law.name,
            "params": dict(self.law.params_),
            "slope": self.slope,
            "slope_interval": list(self.slope_interval) if self.slope_interval else None,
            "train_multiple_for_10x_test": self.train_multiple_for_10x_test,
            "train_multiple_interval": (
                list(self.train_multiple_interval) if self.train_multiple_interval else None
            ),
            "hex_train_multiple_for_10x_test": HEX_MULTIPLE,
            "n_points": len(self.runs),
            "level": self.level,
        }


def fit_tradeoff(
    table: pd.DataFrame, n_bootstrap: int = 1000, seed: int = 0, level: float = 0.9
) -> TradeoffFit:
    """Fit coverage = exp(−a·C_train^(−alpha)·C_test^(−beta)) to a test-time table (a
    `test_time` study's trials, or train_compute/test_compute/coverage rows; coverage 0 is
    left out: its log is −inf) with `n_bootstrap` refits drawn with random_state `seed`."""
    from scalinglab.laws.coverage import PassAtKCompute

    check_level(level)
    runs = tradeoff_runs(table)
    outside = runs["coverage"][(runs["coverage"] < 0) | (runs["coverage"] > 1)]
    if len(outside):
        raise ScalingLabError(
            f"coverage (pass@k) is a share in [0, 1]; {len(outside)} row(s) hold values such as "
            f"{outside.iloc[0]:g}"
        )
    if runs.empty:
        raise ScalingLabError("the test-time table has no rows with coverage")
    runs = runs[runs["coverage"] > 0].reset_index(drop=True)
    if runs.empty:
        raise ScalingLabError(
            "every coverage is 0: no run solved a problem, so these runs do not show how coverage "
            "grows with compute; add easier problems, larger runs or more samples per problem"
        )
    if bool((runs["coverage"] == 1).all()):
        raise ScalingLabError(
            "every coverage is 1 (rows with 0 are left out): these runs do not show how coverage "
            "grows with compute; add harder problems or smaller runs"
        )
    X = runs[["train_compute", "test_compute"]].to_numpy(float)
    law = PassAtKCompute(n_bootstrap=n_bootstrap, random_state=seed, ci_level=level)
    law.fit(X, runs["coverage"].to_numpy(float))
    m = -law.params_["alpha"] / law.params_["beta"]
    multiple = 10 ** (1 / -m) if m < 0 else math.inf
    slope_iv = multiple_iv = None
    draws = law.parameter_draws() if n_bootstrap > 0 else None
    if draws is not None:
        j_a, j_b = law.param_names.index("alpha"), law.param_names.index("beta")
        with np.errstate(all="ignore"):
            ms = -draws[:, j_a] / draws[:, j_b]
            slope_iv = interval(ms, level)
            multiple_iv = interval(10 ** (-1 / ms), level)
    return TradeoffFit(law, runs, float(m), float(multiple), slope_iv, multiple_iv, level)
