"""The analysis of one scaling study (Hestness et al. 2017, "Deep Learning Scaling is Predictable,
Empirically", arXiv:1712.00409, Sec. 3 and Fig. 1): one result that `study fit`, `report` and
`demo` render.

From the best-fit model of each shard (scalinglab.study.results.best_per_shard):
- the learning curve eps(m) = alpha * m^beta_g + gamma (law `power_const`, params a, b, c), or
  the three-region `hestness` law (params alpha, beta_g, gamma, eps_s);
- with 5 shards or more, the three-region `hestness` fit for where the small-data, power-law and
  irreducible-error regions begin and end (Hestness Fig. 1), and several laws compared on the
  two largest shards (scalinglab.study.comparison);
- the model-size curve s(m) = alpha_p * m^beta_p (law `power`, params a, b) of the best model's
  parameter count against shard size, with beta_p's interval; Hestness et al. find it sublinear
  (0.5 <= beta_p < 1). When the grid's largest model is the best on most shards, the grid, not
  the data, sets the curve's top: `size_warning` says so;
- the IsoFLOP profiles of the trials, when their compute budgets happen to line up (Hoffmann
  et al. 2022, Approach 2).

A learning curve is fitted to ln y, so a shard whose best value is 0 or below is left out, with a
note in the result. With `fit_up_to`, the curves are fitted on the shards up to that size only,
and every larger shard is a held-out check of the extrapolation: the learning curve's prediction
and `level` interval against the mean of the seeds' best values there, scored as a whole by the
RMSE of ln y (scalinglab.fitting.scores.rmse_log).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scalinglab.display import BEYOND_DATA, beyond
from scalinglab.errors import FitWarning, ScalingLabError
from scalinglab.fitting.scores import rmse_log
from scalinglab.io import file_row, to_numbers
from scalinglab.laws.base import FloatArray, ScalingLaw, get_law
from scalinglab.planning import fit_model_size_curve, isoflop_analysis
from scalinglab.planning.isoflop import IsoFLOPResult
from scalinglab.planning.model_size import HESTNESS_BETA_P, GridLimit, grid_limit
from scalinglab.selection.auto import Selection, auto_fit
from scalinglab.selection.rule import DEFAULT_RULE, RuleConfig
from scalinglab.study.comparison import LawComparison, compare_laws
from scalinglab.study.results import best_per_shard, throughput_summary, trial_devices
from scalinglab.tasks import CURVE_Y_COLUMNS, ERROR_RATE_METRICS, task_curve_y

DEFAULT_BOOTSTRAP = 200  # bootstrap refits of every study fit: `study fit`, `report` and `demo`
DEFAULT_LEVEL = 0.9  # level of every interval: parameters, predictions and bands
DEFAULT_SEED = 0  # random_state of every bootstrap
CURVE_LAWS = ("power_const", "hestness")
Y_COLUMNS = CURVE_Y_COLUMNS
MIN_SHARDS = 3  # a learning curve a·m^b + c has three parameters
MIN_SHARDS_FOR_REGIONS = 5  # the three-region fit (4 parameters) and the law comparison
REQUIRED_COLUMNS = ("shard_size", "state", "best_val_loss", "best_val_error", "n_params")
EXPONENT = {"power_const": "b", "hestness": "beta_g"}  # beta_g under each law's own name
IRREDUCIBLE = {"power_const": "c", "hestness": "gamma"}  # gamma likewise


@dataclass(frozen=True)
class HoldoutCheck:
    """One held-out shard: the seeds' mean best value, the prediction and its interval."""

    shard_size: int
    measured: float
    n_seeds: int
    predicted: float
    lo: float
    hi: float

    @property
    def relative_error(self) -> float:
        return self.predicted / self.measured - 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "shard_size": self.shard_size,
            "measured": self.measured,
            "n_seeds": self.n_seeds,
            "predicted": self.predicted,
            "lo": self.lo,
            "hi": self.hi,
            "relative_error": self.relative_error,
        }


@dataclass(frozen=True)
class StudyFit:
    """The fits of one study: what `fit_study` returns and `study fit`, `report`, `demo` show.

    `best` holds the fitted best-per-shard points (shards up to `fit_up_to`, y > 0); `curve` is
    the learning curve (law `law`), `regions_fit` the three-region fit (None below 5 shards),
    `size` the model-size curve (None, with `size_note`, when every best model has one size);
    `size_grid` how often the grid's largest model was a shard's best.
    """

    name: str
    task: str
    metric: str
    y: str
    law: str
    trials: pd.DataFrame
    best: pd.DataFrame
    curve: ScalingLaw
    predictor: ScalingLaw  # what predictions and hold-out checks use (auto: selection.auto_fit)
    selection: Selection | None  # what auto chose, and why (None: the curve predicts)
    regions_fit: ScalingLaw | None
    size: ScalingLaw | None
    size_note: str
    size_grid: GridLimit
    holdout: tuple[HoldoutCheck, ...]
    comparison: LawComparison | None
    isoflop: IsoFLOPResult | None
    isoflop_note: str
    fit_up_to: float | None
    level: float
    n_bootstrap: int
    seed: int
    notes: tuple[str, ...]
    target: float | None = None  # the shard size asked for (`fit_study`'s target), if any

    @property
    def prediction_target(self) -> float:
        """Where the headline predicts: the target asked for, else 10× the largest shard."""
        return self.target if self.target is not None else 10 * self.largest_shard

    @property
    def largest_shard(self) -> float:
        return float(self.best["shard_size"].max())

    @property
    def beta_g(self) -> float:
        """The learning-curve exponent β_g (ε ∝ m^β_g)."""
        return float(self.curve.params_[EXPONENT[self.law]])

    @property
    def beta_g_interval(self) -> tuple[float, float]:
        lo, hi = self.curve.ci_[EXPONENT[self.law]]
        return float(lo), float(hi)

    @property
    def irreducible(self) -> float:
        """The fitted irreducible level γ."""
        return float(self.curve.params_[IRREDUCIBLE[self.law]])

    @property
    def beta_p(self) -> float:
        """The model-size exponent β_p (s ∝ m^β_p); 0 when every best model has one size."""
        return float(self.size.params_["b"]) if self.size is not None else 0.0

    @property
    def beta_p_interval(self) -> tuple[float, float] | None:
        """β_p's `level` interval (the model-size curve's bootstrap), None without a curve."""
        if self.size is None or "b" not in self.size.ci_:
            return None
        lo, hi = self.size.ci_["b"]
        return float(lo), float(hi)

    @property
    def size_warning(self) -> str:
        """A warning when the grid's largest model is the best on most shards ('' if not)."""
        return self.size_grid.warning()

    @property
    def devices(self) -> dict[str, int]:
        """Trials per device and precision ("cpu (fp32)" -> 64), from the results table."""
        return trial_devices(self.trials)

    @property
    def regions(self) -> dict[str, float] | None:
        """Best-guess error, β_g and the region boundaries of the three-region fit, if any."""
        if self.regions_fit is None:
            return None
        return self.regions_fit.regions()  # type: ignore[attr-defined]

    @property
    def regions_text(self) -> str | None:
        """The three regions in words (`Hestness.regions_text` at the smallest shard fitted)."""
        if self.regions_fit is None:
            return None
        smallest = float(self.best["shard_size"].min())
        return self.regions_fit.regions_text(smallest, var="m")  # type: ignore[attr-defined]

    @property
    def holdout_rmse_log(self) -> float:
        """RMSE of ln y of the held-out shards' predictions (NaN when none is held out)."""
        return rmse_log([h.predicted for h in self.holdout], [h.measured for h in self.holdout])

    def predict(self, m: float) -> tuple[float, tuple[float, float]]:
        """Predicted learning-curve value at m examples (by `predictor`), with its `level`
        interval (NaN bounds when the fit has no uncertainty estimate)."""
        x = np.array([[float(m)]])
        lo, hi = self.predictor.predict_interval_or_nan(x, self.level)
        return float(self.predictor.predict(x)[0]), (float(lo[0]), float(hi[0]))

    def beyond_note(self, m: float) -> str | None:
        """How far shard size m lies outside the fitted shards ("beyond the fitted data: m =
        6e+04 is 1.5 decades above the largest m (2.05e+03)"), None within them: `study fit
        --target` and the report say it of the target."""
        shards = self.best["shard_size"].astype(float)
        part = beyond("m", m, "m", float(shards.min()), float(shards.max()))
        return f"{BEYOND_DATA}: {part}" if part is not None else None

    def headline(self) -> dict[str, Any]:
        """The numbers a reader wants first: β_g with its interval, β_p, γ and the predictions
        at 10× the largest fitted shard and at the target (the same shard size without one)."""
        largest = self.largest_shard
        pred, (lo, hi) = self.predict(10 * largest)
        at_target, (t_lo, t_hi) = (
            (pred, (lo, hi)) if self.target is None else self.predict(self.target)
        )
        return {
            "study": self.name,
            "task": self.task,
            "y": self.y,
            "beta_g": self.beta_g,
            "beta_g_interval": list(self.beta_g_interval),
            "beta_g_level": float(self.curve.ci_level_),
            "beta_p": self.beta_p,
            "beta_p_interval": list(self.beta_p_interval) if self.beta_p_interval else None,
            "beta_p_hestness": list(HESTNESS_BETA_P),
            "largest_shard": largest,
            "at_10x": 10 * largest,
            "predicted_at_10x": pred,
            "predicted_by": self.predictor.name,
            "predicted_at_10x_interval": [lo, hi],
            "target": self.prediction_target,
            "predicted_at_target": at_target,
            "predicted_at_target_interval": [t_lo, t_hi],
            "prediction_level": self.level,
            "irreducible": self.irreducible,
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON `study fit --json` writes (`report` reads its points back)."""
        columns = ("seed", "shard_size", "model_size", "n_params", self.y)
        cols = [c for c in columns if c in self.best]
        return {
            "study": self.name,
            "task": self.task,
            "metric": self.metric,
            "y": self.y,
            "points": self.best[cols].to_dict("records"),
            "learning_curve": _law_dict(self.curve),
            "predictor": _law_dict(self.predictor),
            "selection": self.selection.to_dict() if self.selection is not None else None,
            "beta_g": self.beta_g,
            "regions": self.regions,
            "fit_up_to": self.fit_up_to,
            "holdout": [h.to_dict() for h in self.holdout],
            "holdout_rmse_log": self.holdout_rmse_log,
            "model_size_curve": _law_dict(self.size) if self.size is not None else None,
            "beta_p": self.beta_p,
            "beta_p_interval": list(self.beta_p_interval) if self.beta_p_interval else None,
            "model_size_note": self.size_note,
            "model_size_warning": self.size_warning,
            "largest_model_wins": {
                "largest_model_size": self.size_grid.largest,
                "wins": self.size_grid.wins,
                "shards": self.size_grid.points,
            },
            "devices": self.devices,
            "throughput": throughput_summary(self.trials),
            "law_comparison": self.comparison.to_dict() if self.comparison is not None else None,
            "isoflop": self.isoflop.to_dict() if self.isoflop is not None else None,
            "isoflop_note": self.isoflop_note,
            "level": self.level,
            "n_bootstrap": self.n_bootstrap,
            "seed": self.seed,
            "notes": list(self.notes),
            "headline": self.headline(),
        }


def _law_dict(law: ScalingLaw) -> dict[str, Any]:
    """law.to_dict() without the bootstrap draws (large; the fit is reproducible from the
    points), with the FitWarnings of the fit as `fit_warnings`."""
    out = law.to_dict()
    out.pop("bootstrap_params", None)
    out["fit_warnings"] = list(law.warnings_)
    return out


@dataclass(frozen=True)
class _Uncertainty:
    """What every law of one analysis is fitted with: its bootstrap refits, their seed, and the
    level of its parameter intervals."""

    n_bootstrap: int
    seed: int
    level: float

    def options(self, n_bootstrap: int | None = None) -> dict[str, Any]:
        """A law's constructor options (`n_bootstrap` overrides the analysis's count)."""
        return {
            "n_bootstrap": self.n_bootstrap if n_bootstrap is None else n_bootstrap,
            "random_state": self.seed,
            "ci_level": self.level,
        }


def _quiet_fit(
    name: str, x: FloatArray, y: FloatArray, unc: _Uncertainty, n_bootstrap: int | None = None
) -> ScalingLaw:
    """Fit law `name` to (x, y) with the analysis's options; its FitWarnings stay in
    law.warnings_ (shown by the callers)."""
    options = unc.options(n_bootstrap)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        if name == "power":  # the model-size curve, fitted as planning fits it: log least squares
            return fit_model_size_curve(x, y, **options).law
        return get_law(name)(**options).fit(x[:, None], y)


def _holdout(law: ScalingLaw, held: pd.DataFrame, y: str, level: float) -> list[HoldoutCheck]:
    """Per held-out shard: the seeds' mean best value against the prediction and its interval."""
    if held.empty:
        return []
    by_shard = held.groupby("shard_size", sort=True)[y].agg(["mean", "count"])
    shards = by_shard.index.to_numpy(dtype=float)
    predicted = law.predict(shards[:, None])
    lo, hi = law.predict_interval_or_nan(shards[:, None], level)
    return [
        HoldoutCheck(
            shard_size=int(m),
            measured=float(measured),
            n_seeds=int(n),
            predicted=float(p),
            lo=float(lo_i),
            hi=float(hi_i),
        )
        for m, measured, n, p, lo_i, hi_i in zip(
            shards, by_shard["mean"], by_shard["count"], predicted, lo, hi, strict=True
        )
    ]


def study_isoflop(
    trials: pd.DataFrame, *, level: float = DEFAULT_LEVEL
) -> tuple[IsoFLOPResult | None, str]:
    """IsoFLOP profiles of the finished trials (N = n_params, D = examples seen, C = FLOPs,
    loss = best validation loss; Hoffmann et al. 2022, Approach 2) when trials happen to share
    compute budgets, with `level` intervals; else None and why not."""
    cols = ("n_params", "examples_seen", "flops", "best_val_loss")
    if not set(cols) <= set(trials.columns):
        return None, "not applicable: the table has no n_params, examples_seen and flops"
    done = trials[trials["state"].astype(str) == "COMPLETE"]
    arr = np.array(done[list(cols)].astype(float), dtype=float)
    arr = arr[np.all(np.isfinite(arr) & (arr > 0), axis=1)]
    if len(arr) < 6:
        return None, "not applicable: too few finished trials with N, D and C"
    try:
        result = isoflop_analysis(
            arr[:, 0], arr[:, 3], compute=arr[:, 2], tokens=arr[:, 1], level=level
        )
    except ScalingLabError:
        return None, (
            "not applicable: early-stopped trials do not share compute budgets (each budget "
            "needs 3+ model sizes with a minimum between them)"
        )
    return result, ""


def _first(df: pd.DataFrame, column: str, default: str) -> str:
    return str(df[column].iloc[0]) if column in df and len(df) else default


def _check(df: pd.DataFrame, law: str, fit_up_to: float | None, unc: _Uncertainty) -> None:
    if law not in CURVE_LAWS:
        raise ScalingLabError(f"unknown learning-curve law {law!r}; use {' or '.join(CURVE_LAWS)}")
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ScalingLabError(f"the results table has no column {missing[0]!r}: not a study table")
    if fit_up_to is not None and (not math.isfinite(fit_up_to) or fit_up_to <= 0):
        raise ScalingLabError(f"fit_up_to must be a positive shard size, not {fit_up_to}")
    if not 0 < unc.level < 1:
        raise ScalingLabError(f"level must be between 0 and 1, got {unc.level}")
    if unc.n_bootstrap < 0:
        raise ScalingLabError(f"n_bootstrap must be >= 0, got {unc.n_bootstrap}")
    if unc.seed < 0:
        raise ScalingLabError(f"seed must be >= 0, got {unc.seed}")
    if not (df["state"].astype(str) == "COMPLETE").any():
        raise ScalingLabError(
            "the study has no finished trials yet; run it (`scalinglab study run STUDY.toml`) first"
        )


# What a count read for the fit must be; a metric must only be finite
COUNTS = {
    "shard_size": "a shard size is a finite number of examples > 0",
    "n_params": "a parameter count is a finite number > 0",
}


def _check_values(df: pd.DataFrame, y: str) -> None:
    """Fail on a trial whose shard size is not a number > 0, or a finished trial whose
    parameter count is not a number > 0 or whose `y` (or best_val_loss, when it picks the best
    trials: a table without is_best) is not a finite number, naming the column, the table's
    data row and the value: a hand-edited results table, once a traceback or "run the study
    further". (Unfinished trials have no measurements; a best value <= 0 is a number, left out
    of the fit to ln y with a note.)"""
    done = df[df["state"].astype(str) == "COMPLETE"]
    checks = {"shard_size": df, "n_params": done, y: done}
    if "is_best" not in df.columns:
        checks["best_val_loss"] = done
    for column, rows in checks.items():
        values = to_numbers(rows[column]).to_numpy(dtype=float)
        ok = np.isfinite(values)
        if column in COUNTS:
            ok[ok] = values[ok] > 0
        if ok.all():
            continue
        at = int(np.flatnonzero(~ok)[0])
        cell = rows[column].iloc[at]
        empty = pd.api.types.is_scalar(cell) and pd.isna(cell)
        shown = "is empty" if empty else f"holds {_cell_text(cell, values[at])}"
        trial = "" if rows is df else ", a finished trial"
        rule = COUNTS.get(column, "its best value must be a finite number")
        raise ScalingLabError(
            f"column {column!r} {shown} at data row {file_row(rows, at)}{trial}: {rule}; fix or "
            "drop that row"
        )


def _cell_text(cell: Any, value: float) -> str:
    """A cell as the table holds it: text quoted, a number as read (1e400: inf)."""
    return repr(cell) if isinstance(cell, str) else f"{value:g}"


def _too_few_positive(df: pd.DataFrame, y: str, n_shards: int) -> ScalingLabError:
    """The error when the best values <= 0, left out of the fit to ln y, leave too few shards:
    it names the first row holding one (its data row and value)."""
    values = to_numbers(df[y]).to_numpy(dtype=float)
    at = np.flatnonzero(values <= 0)
    more = f" ({len(at) - 1} more row(s) hold values <= 0)" if len(at) > 1 else ""
    other = next(c for c in Y_COLUMNS if c != y)
    return ScalingLabError(
        f"column {y!r} holds {values[at[0]]:g} at data row {file_row(df, int(at[0]))}{more}; "
        f"the learning curve is fitted to ln {y}, and only {n_shards} shard(s) have a best "
        f"value > 0 (a fit needs at least {MIN_SHARDS}): fix those values, or fit the other "
        f"column, y = {other}"
    )


def fit_study(
    df: pd.DataFrame,
    *,
    y: str = "auto",
    law: str = "power_const",
    predictor: str = "auto",
    n_bootstrap: int = DEFAULT_BOOTSTRAP,
    fit_up_to: float | None = None,
    level: float = DEFAULT_LEVEL,
    seed: int = DEFAULT_SEED,
    rule: RuleConfig = DEFAULT_RULE,
    target: float | None = None,
) -> StudyFit:
    """Analyse a study's trial table (scalinglab.study.results): the learning curve (y against
    shard_size), the three-region fit, the law comparison, the model-size curve (n_params against
    shard_size), the held-out checks and the IsoFLOP profiles.

    Each shard's best-fit model is the table's is_best trial (the study's `[search] select_by`:
    lowest validation loss, or lowest error). y = "auto" is the column the task's learning curve
    is read in (its `curve_y`: error for image and speech, loss otherwise). `fit_up_to` fits on
    the shards up to that size and checks the prediction of each larger one. `n_bootstrap`
    refits, drawn with random_state `seed`, give every law's intervals, all at `level`: the
    parameters' (each law's `ci_level`) and the predictions'. The same seed gives the same
    intervals.

    `law` is the curve read for β_g and γ (Hestness's form); predictions and the held-out checks
    use `predictor`: "auto" (default) is the rule of `fit --law auto` (scalinglab.selection.auto,
    backtested at the distance predicted to: `target`, the shard size the user will predict at,
    else the largest held-out shard, else 10× the largest shard), "curve" predicts with the curve
    itself; `rule` is the auto rule's configuration (scalinglab.selection.rule, default the
    shipped DEFAULT_RULE), whose interval on a curve of an error rate (y = best_val_error of a
    task whose metric is in tasks.ERROR_RATE_METRICS) is at its error_scale.
    """
    if target is not None and not (math.isfinite(target) and target > 0):
        raise ScalingLabError(f"target must be a shard size > 0, got {target}")
    if predictor not in ("auto", "curve"):
        raise ScalingLabError(f"predictor must be auto or curve, not {predictor!r}")
    unc = _Uncertainty(n_bootstrap=n_bootstrap, seed=seed, level=level)
    _check(df, law, fit_up_to, unc)
    task = _first(df, "task", "")
    if y == "auto":
        y = task_curve_y(task)
    if y not in Y_COLUMNS:
        raise ScalingLabError(f"y must be best_val_loss, best_val_error or auto, not {y!r}")
    _check_values(df, y)
    best = best_per_shard(df)
    values = best[y].to_numpy(dtype=float)
    finite = np.isfinite(values)
    positive = finite & (values > 0)
    notes: list[str] = []
    if (finite & ~positive).any():
        left_out = sorted({int(m) for m in best.loc[finite & ~positive, "shard_size"]})
        notes.append(
            f"left out {int((finite & ~positive).sum())} best-per-shard point(s) with {y} <= 0 "
            f"(shard sizes {', '.join(map(str, left_out))}): the learning curve is fitted to ln y"
        )
    kept = best[finite]  # with the values <= 0: if enough shards, those values are the cause
    if fit_up_to is not None:
        kept = kept[kept["shard_size"] <= fit_up_to]
    best = best[positive]
    held = best.iloc[0:0]
    if fit_up_to is not None:
        held = best[best["shard_size"] > fit_up_to]
        best = best[best["shard_size"] <= fit_up_to]
    n_shards = best["shard_size"].nunique()
    if n_shards < MIN_SHARDS <= kept["shard_size"].nunique():
        raise _too_few_positive(df, y, n_shards)
    if n_shards < MIN_SHARDS:
        hint = "raise fit_up_to" if fit_up_to is not None else "run the study further"
        raise ScalingLabError(
            f"only {n_shards} shard(s) to fit have a finished best trial; "
            f"a learning-curve fit needs at least {MIN_SHARDS} ({hint})"
        )
    m = np.array(best["shard_size"], dtype=float)  # copies: torch wants writable arrays
    eps = np.array(best[y], dtype=float)
    curve = _quiet_fit(law, m, eps, unc)
    predicts, selection = curve, None
    if predictor == "auto":
        horizon = target
        if horizon is None:
            horizon = float(held["shard_size"].max()) if len(held) else 10 * float(m.max())
        # an error rate's interval is calibrated at the rule's error_scale
        error_rate = y == "best_val_error" and _first(df, "metric", "") in ERROR_RATE_METRICS
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)
            predicts, selection = auto_fit(
                m, eps, target=horizon, config=rule, options=unc.options(), error_rate=error_rate
            )
    regions_fit: ScalingLaw | None = curve if law == "hestness" else None
    comparison = None
    if n_shards >= MIN_SHARDS_FOR_REGIONS:
        if regions_fit is None:
            try:
                regions_fit = _quiet_fit("hestness", m, eps, unc, 0)  # for its boundaries only
            except ScalingLabError:
                regions_fit = None
        comparison = compare_laws(m, eps, options=unc.options(0))  # scored, not bootstrapped
    s = np.array(best["n_params"], dtype=float)
    size, size_note = None, "every shard's best model has the same size; s(m) is flat"
    if len(np.unique(s)) >= 2:
        size, size_note = _quiet_fit("power", m, s, unc), ""
    knob = "model_size" if "model_size" in df.columns else "n_params"  # the grid searched
    size_grid = grid_limit(
        pd.to_numeric(best[knob], errors="coerce"), pd.to_numeric(df[knob], errors="coerce")
    )
    isoflop, isoflop_note = study_isoflop(df, level=level)
    return StudyFit(
        name=_first(df, "study", "study"),
        task=task,
        metric=_first(df, "metric", ""),
        y=y,
        law=law,
        trials=df,
        best=best.reset_index(drop=True),
        curve=curve,
        predictor=predicts,
        selection=selection,
        regions_fit=regions_fit,
        size=size,
        size_note=size_note,
        size_grid=size_grid,
        holdout=tuple(_holdout(predicts, held, y, level)),
        comparison=comparison,
        isoflop=isoflop,
        isoflop_note=isoflop_note,
        fit_up_to=fit_up_to,
        level=level,
        n_bootstrap=n_bootstrap,
        seed=seed,
        notes=tuple(notes),
        target=target,
    )


__all__ = [
    "DEFAULT_BOOTSTRAP",
    "DEFAULT_LEVEL",
    "DEFAULT_SEED",
    "HoldoutCheck",
    "StudyFit",
    "fit_study",
    "study_isoflop",
]
