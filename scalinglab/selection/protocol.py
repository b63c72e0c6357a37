"""Score extrapolation rules on the corpus, per source, and tune them leave-one-source-out.

A **rule** is any callable ``rule(x_train, y_train, x_test, level) -> (prediction, lower,
upper)``: given a learning curve's early part, it predicts y at the later x with a central
`level` interval (NaN bounds: no interval). It never sees y_test: `evaluate_problem` passes it
read-only copies of the training arrays and of x_test, and scores what it returns.

Scores are those of Alabdulmohsin, Neyshabur & Zhai (2022, arXiv:2209.06640, Sec. 4): per problem
the RMSE of log(prediction) − log(actual) over the held-out points; per source and rule the median
RMSE, the win rate (share of problems where the rule has the lowest RMSE among the rules compared;
ties within scalinglab.selection.extrapolation.TIE_RTOL share the win) and the coverage of the 90%
intervals (held-out points inside, among those that got a finite interval, pooled over the
source's problems; `n_intervals` / `n_points` say how many got one).

`standard_rules()` gives the estimators of `scalinglab benchmark extrapolation` as rules, fitted as
that benchmark fits them (scalinglab.selection.extrapolation): M1-M4 (Alabdulmohsin 2022), BNSL with
1 and 2 breaks (Caballero et al. 2022), power_const (Hestness et al. 2017) with their parameter
bands, and ``auto``, the backtested selection of `fit --law auto` (scalinglab.selection.auto)
with its calibrated interval. They share each problem's fits through a one-curve cache, so
scoring all of them costs what the old benchmark's `evaluate_curve` costs.

`leave_one_source_out` is the protocol of issue 13: for each source, a choice function sees the
scores of every rule configuration on the *other* sources only, picks one, and that configuration
is scored on the left-out source. Only the chosen configuration is ever run on the left-out
source.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from scalinglab.errors import FitWarning, ScalingLabError
from scalinglab.laws.base import FloatArray, ScalingLaw
from scalinglab.parallel import worker_pool
from scalinglab.selection.corpus import Problem
from scalinglab.selection.rule import RuleConfig

LEVEL = 0.9
COVERAGE_BAND = (0.85, 0.95)  # issue 13: 90% intervals must cover 85-95% on every source


class Rule(Protocol):
    """rule(x_train, y_train, x_test, level) -> (prediction, lower, upper) at x_test."""

    def __call__(
        self, x_train: FloatArray, y_train: FloatArray, x_test: FloatArray, level: float
    ) -> tuple[FloatArray, FloatArray, FloatArray]: ...


# ------------------------------------------------------------------------------------------------
# Outcomes: one rule on one problem
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """What a rule predicted for one problem, and its scores."""

    source: str
    problem: str
    rule: str
    horizon: float
    rmse: float  # RMSE of log prediction over the test points; inf if it failed
    hits: tuple[bool | None, ...]  # per test point: inside the interval (None: no interval)
    prediction: tuple[float, ...] = ()
    lower: tuple[float, ...] = ()
    upper: tuple[float, ...] = ()
    seconds: float = 0.0
    error: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        def num(v: float) -> float | None:
            return float(v) if math.isfinite(v) else None

        return {
            "source": self.source,
            "problem": self.problem,
            "rule": self.rule,
            "horizon": self.horizon,
            "rmse": num(self.rmse),
            "hits": list(self.hits),
            "prediction": [num(v) for v in self.prediction],
            "lower": [num(v) for v in self.lower],
            "upper": [num(v) for v in self.upper],
            "seconds": self.seconds,
            "error": self.error,
            "extra": dict(self.extra),
        }


def rmse_log(predicted: FloatArray, actual: FloatArray) -> float:
    """RMSE of log(predicted) − log(actual); inf when a prediction is not positive and finite."""
    with np.errstate(all="ignore"):
        r = np.log(np.asarray(predicted, dtype=float)) - np.log(np.asarray(actual, dtype=float))
    if r.size == 0 or not np.all(np.isfinite(r)):
        return math.inf
    return float(np.sqrt(np.mean(r * r)))


def _readonly(a: FloatArray) -> FloatArray:
    out = np.array(a, dtype=float, copy=True)
    out.setflags(write=False)
    return out


def evaluate_problem(
    problem: Problem, rules: Mapping[str, Rule], level: float = LEVEL
) -> list[Outcome]:
    """Run every rule on `problem` (read-only copies of its training part and x_test) and score.

    A rule that raises gets RMSE inf and no interval; the exception text is kept in `error`.
    """
    out = []
    n = problem.x_test.size
    for name, rule in rules.items():
        t0 = time.perf_counter()
        extra: dict[str, Any] = {}
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", FitWarning)
                warnings.simplefilter("ignore", RuntimeWarning)
                pred, lo, hi = rule(
                    _readonly(problem.x_train),
                    _readonly(problem.y_train),
                    _readonly(problem.x_test),
                    level,
                )
            pred, lo, hi = (np.asarray(a, dtype=float).reshape(-1) for a in (pred, lo, hi))
            if not pred.size == lo.size == hi.size == n:
                raise ScalingLabError(f"rule {name} returned arrays of the wrong length")
            extra = dict(getattr(rule, "last_info", None) or {})
            error = ""
        except Exception as exc:  # a failed fit is a scored failure, not a crashed benchmark
            pred = lo = hi = np.full(n, math.nan)
            error = f"{type(exc).__name__}: {exc}"
        hits = tuple(
            None if not (math.isfinite(a) and math.isfinite(b)) else bool(a <= v <= b)
            for a, b, v in zip(lo, hi, problem.y_test, strict=True)
        )
        out.append(
            Outcome(
                source=problem.source,
                problem=problem.id,
                rule=name,
                horizon=problem.horizon,
                rmse=rmse_log(pred, problem.y_test),
                hits=hits,
                prediction=tuple(float(v) for v in pred),
                lower=tuple(float(v) for v in lo),
                upper=tuple(float(v) for v in hi),
                seconds=time.perf_counter() - t0,
                error=error,
                extra=extra,
            )
        )
    return out


def _evaluate_task(args: tuple[Problem, Mapping[str, Rule], float]) -> list[Outcome]:
    from scalinglab.fitting.threads import torch_threads

    with torch_threads(1):
        return evaluate_problem(*args)


def score(
    problems: Sequence[Problem],
    rules: Mapping[str, Rule],
    *,
    level: float = LEVEL,
    workers: int = 1,
    progress: Callable[[Problem, list[Outcome]], None] | None = None,
) -> list[Outcome]:
    """Every rule on every problem; `workers` > 1 runs problems in spawned processes (the rules
    must then be picklable, e.g. module-level dataclasses like `LawRule` and `AutoRule`)."""
    if workers < 1:
        raise ScalingLabError("workers must be >= 1")
    if not rules:
        return []
    outcomes: list[Outcome] = []
    tasks = [(p, rules, level) for p in problems]
    if workers == 1:
        for task in tasks:
            result = _evaluate_task(task)
            outcomes += result
            if progress is not None:
                progress(task[0], result)
        return outcomes
    with worker_pool(workers) as pool:
        for task, result in zip(tasks, pool.map(_evaluate_task, tasks), strict=True):
            outcomes += result
            if progress is not None:
                progress(task[0], result)
    return outcomes


# ------------------------------------------------------------------------------------------------
# Summaries
# ------------------------------------------------------------------------------------------------
def median_ratio_interval(
    a: Sequence[float],
    b: Sequence[float],
    *,
    level: float = LEVEL,
    n_boot: int = 4000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """median(a) / median(b) over paired problems (a[i], b[i]: two rules' RMSE on problem i), and
    its `level` percentile-bootstrap interval, resampling problems with both rules' scores
    together (Efron & Tibshirani 1993). Pairs with a non-finite score are left out."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size == 0:
        return math.nan, math.nan, math.nan
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    ratios = np.median(x[idx], axis=1) / np.maximum(np.median(y[idx], axis=1), 1e-300)
    tail = (1 - level) / 2
    lo, hi = np.quantile(ratios, [tail, 1 - tail])
    return float(np.median(x) / max(float(np.median(y)), 1e-300)), float(lo), float(hi)


def curve_of(problem: str) -> str:
    """The curve a problem was cut from: its id without the cut ("source:curve@h0.3" ->
    "source:curve"); a problem that is a whole curve (lang's) is its own."""
    return problem.split("@", 1)[0]


def coverage_interval(
    outcomes: Sequence[Outcome],
    *,
    level: float = LEVEL,
    n_boot: int = 4000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """The share of held-out points inside their intervals over `outcomes` (one rule, one
    source), and its `level` percentile-bootstrap interval resampling *curves*: the cuts of one
    curve share its points and its misfit, so their hits are not independent, and resampling
    points or problems would make the interval too narrow (the cluster bootstrap; Davison &
    Hinkley 1997, sec. 3.8). Points without an interval are left out, as `summarise` does."""
    per_curve: dict[str, list[int]] = {}
    for o in outcomes:
        hits = [h for h in o.hits if h is not None]
        tally = per_curve.setdefault(curve_of(o.problem), [0, 0])
        tally[0] += sum(hits)
        tally[1] += len(hits)
    counts = np.array([t for t in per_curve.values() if t[1]], dtype=float).reshape(-1, 2)
    if counts.shape[0] == 0:
        return math.nan, math.nan, math.nan
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, counts.shape[0], size=(n_boot, counts.shape[0]))
    shares = counts[idx, 0].sum(axis=1) / counts[idx, 1].sum(axis=1)
    tail = (1 - level) / 2
    lo, hi = np.quantile(shares, [tail, 1 - tail])
    return float(counts[:, 0].sum() / counts[:, 1].sum()), float(lo), float(hi)


def ties_best(rmse: Any, best: Any) -> Any:
    """Whether an RMSE (a float or an array) wins against the lowest one, `best`: equal to
    within select.TIE_RTOL, the rules share the win."""
    from scalinglab.selection.extrapolation import TIE_RTOL

    return rmse <= best * (1 + TIE_RTOL) + 1e-15


def winners(rmse: Mapping[str, float]) -> list[str]:
    """Rules with the lowest RMSE; equal to within select.TIE_RTOL they share the win."""
    finite = {k: v for k, v in rmse.items() if math.isfinite(v)}
    if not finite:
        return []
    best = min(finite.values())
    return [k for k, v in finite.items() if ties_best(v, best)]


def summarise(
    outcomes: Sequence[Outcome],
    by: Sequence[str] = ("source",),
    rules: Sequence[str] | None = None,
    reference: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per group (default: source) and rule: problems, median RMSE, win rate, 90% coverage.

    Win rates compare the rules in `rules` (default: every rule in `outcomes`) on the problems
    where all of them were scored. `by` may name "source", "horizon_bin" (the horizon rounded to
    tenths of a decade) or both. With `reference` (the fixed rules a choice measures regret
    against, e.g. the single laws), a column of that name marks their rows, as the choosers read.
    """
    names = list(dict.fromkeys(o.rule for o in outcomes)) if rules is None else list(rules)
    wanted = set(names)  # a set: grids hold thousands of rules and millions of outcomes
    chosen = [o for o in outcomes if o.rule in wanted]
    per_problem: dict[str, dict[str, float]] = {}
    for o in chosen:
        per_problem.setdefault(o.problem, {})[o.rule] = o.rmse
    won: set[tuple[str, str]] = set()
    complete = {p for p, r in per_problem.items() if r.keys() == wanted}
    for p in complete:
        for name in winners(per_problem[p]):
            won.add((p, name))
    rows = []
    for o in chosen:
        covered = [h for h in o.hits if h is not None]
        rows.append(
            {
                "source": o.source,
                "horizon_bin": round(o.horizon, 1),
                "rule": o.rule,
                "problem": o.problem,
                "rmse": o.rmse,
                "win": float((o.problem, o.rule) in won) if o.problem in complete else math.nan,
                "covered": sum(covered),
                "n_intervals": len(covered),
                "n_points": len(o.hits),
                "failed": bool(o.error),
            }
        )
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    return aggregate_outcome_rows(df, by, reference)


def aggregate_outcome_rows(
    df: pd.DataFrame, by: Sequence[str], reference: Sequence[str] | None
) -> pd.DataFrame:
    """`summarise`'s table from a frame with a row per outcome (columns: the `by` keys, rule,
    problem, rmse, win, covered, n_intervals, n_points, failed), groups in order of appearance."""
    keys = [*by, "rule"]
    g = df.groupby(keys, sort=False)
    out = g.agg(
        problems=("problem", "size"),
        median_rmse=("rmse", "median"),
        win_rate=("win", "mean"),
        covered=("covered", "sum"),
        n_intervals=("n_intervals", "sum"),
        n_points=("n_points", "sum"),
        failed=("failed", "sum"),
    )
    out["coverage90"] = out["covered"] / out["n_intervals"].where(out["n_intervals"] > 0)
    out = out.drop(columns="covered").reset_index()
    if reference is not None:
        out["reference"] = out["rule"].isin(reference)
    return out


def format_table(summary: pd.DataFrame) -> str:
    """A Markdown table of `summarise` output (one row per group and rule)."""
    keys = [c for c in summary.columns if c in ("source", "horizon_bin")]
    head = [*keys, "rule", "problems", "median RMSE", "win rate", "90% coverage"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(keys) + "---|---:|---:|---:|---:|"]
    for r in summary.to_dict("records"):
        cov = r["coverage90"]
        cells = [
            *(str(r[k]) for k in keys),
            str(r["rule"]),
            str(r["problems"]),
            f"{r['median_rmse']:.4f}" if math.isfinite(r["median_rmse"]) else "inf",
            "-" if not math.isfinite(r["win_rate"]) else f"{r['win_rate']:.0%}",
            "-" if not math.isfinite(cov) else f"{cov:.1%} ({r['n_intervals']}/{r['n_points']})",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# Leave one source out
# ------------------------------------------------------------------------------------------------
Chooser = Callable[[pd.DataFrame], str]


def default_choice(summary: pd.DataFrame) -> str:
    """The configuration to keep, from its per-source summary on the tuning sources.

    Among the configurations whose 90% coverage is within COVERAGE_BAND on every tuning source
    (if none is, those with the smallest worst-source distance to the band), the one with the
    smallest worst-source regret: log median RMSE minus that of the best reference rule on the
    source (the single laws, rows with ``reference`` true; without them, the best configuration
    there). This is the bar of issue 13 — no worse than the best single law on every source —
    as a minimax criterion: a configuration that is a little behind everywhere beats one that is
    ahead on average and far behind on one source, which is what a new source punishes. Among
    equal regrets (configurations that differ only in their interval), coverage nearest 90% on
    average.
    """
    return default_ranking(summary)[0]


def _scored(summary: pd.DataFrame) -> pd.DataFrame:
    """Per row of a per-source summary: whether it is a reference (a single law), its log
    median RMSE, its regret (that minus the best reference's on the source; without references,
    the best row's), and its 90% coverage's distance to COVERAGE_BAND (`miss`), to 90% (`off`)
    and to the band's nearer edge, negative outside it (`depth`). A missing coverage counts as
    0."""
    lo, hi = COVERAGE_BAND
    is_ref = (
        summary["reference"].astype(bool)
        if "reference" in summary
        else pd.Series(False, index=summary.index)
    )
    with np.errstate(divide="ignore"):
        log_rmse = np.log(summary["median_rmse"].astype(float).clip(lower=1e-12))
    cov = summary["coverage90"].fillna(0.0)
    frame = pd.DataFrame(
        {
            "source": summary["source"],
            "rule": summary["rule"],
            "reference": is_ref,
            "log_rmse": log_rmse,
            "miss": np.clip(np.maximum(lo - cov, cov - hi), 0.0, None),
            "off": (cov - 0.9).abs(),
            "depth": np.minimum(cov - lo, hi - cov),
        },
        index=summary.index,
    )
    best = frame[is_ref if is_ref.any() else ~is_ref].groupby("source")["log_rmse"].min()
    return frame.assign(regret=frame["log_rmse"] - frame["source"].map(best))


TIE_BREAKS = ("off", "margin")


def default_ranking(summary: pd.DataFrame, tie_break: str = "off") -> list[str]:
    """Every configuration of the summary, in default_choice's order: worst-source distance
    of the coverage to COVERAGE_BAND, then worst-source regret, then the tie-break: "off", mean
    distance to 90%; "margin", the coverage deepest inside the band on its worst source (the
    margin chooser of docs/auto-tuning-log.md, tried and not shipped)."""
    if tie_break not in TIE_BREAKS:
        raise ScalingLabError(f"unknown tie_break {tie_break!r}; choose from {TIE_BREAKS}")
    frame = _scored(summary)
    configs = frame[~frame["reference"]].assign(shallow=lambda f: -f["depth"])
    per = configs.groupby("rule", sort=False).agg(
        miss=("miss", "max"), regret=("regret", "max"), off=("off", "mean"),
        shallow=("shallow", "max"),
    )  # fmt: skip
    per = per.assign(
        miss=per["miss"].round(12), regret=per["regret"].round(12), shallow=per["shallow"].round(12)
    )
    last = "off" if tie_break == "off" else "shallow"
    return [str(r) for r in per.sort_values(["miss", "regret", last], kind="stable").index]


def two_stage_choice(summary: pd.DataFrame, point_of: Callable[[str], str]) -> str:
    """The configuration to keep, choosing what predicts and what bounds it apart.

    The point knobs (candidates, cuts, score, how laws are combined) set the prediction; the
    interval knobs (growth, scale) only widen the interval around it. `point_of` maps a
    configuration to its point knobs. Stage 1: the point knobs with the lowest mean over sources
    of log median RMSE (every source weighs the same). Stage 2: among the configurations with
    those point knobs, the one whose 90% coverage is nearest COVERAGE_BAND on its worst source,
    then nearest 90% on average.
    """
    frame = _scored(summary)
    frame = frame[~frame["reference"]]
    frame = frame.assign(point=frame["rule"].map(point_of))
    per_point = frame.groupby(["point", "rule"], sort=False)["log_rmse"].mean()
    point = str(per_point.groupby(level="point").min().idxmin())
    mine = frame[frame["point"] == point]
    per_rule = mine.groupby("rule", sort=False).agg(miss=("miss", "max"), off=("off", "mean"))
    return str(per_rule.sort_values(["miss", "off"], kind="stable").index[0])


def nested_choice(
    summary: pd.DataFrame, family_of: Callable[[str], str], choose: Chooser = default_choice
) -> str:
    """The configuration to keep, its family chosen out of source within the tuning sources.

    `family_of` maps a configuration to its family (a way of weighing, say). Each family is
    scored by an inner leave-one-source-out on the tuning sources: `choose` picks among its
    configurations on all tuning sources but one, and the pick is scored on that one. The family
    whose inner picks come nearest COVERAGE_BAND on their worst inner left-out source, then with
    the smallest worst inner regret (as in default_choice), is kept, and `choose` picks among
    its configurations on all tuning sources. A family whose best configuration on the tuning
    sources does not carry over to one of them loses to one whose does. With one tuning source,
    `choose` on every configuration.
    """
    sources = list(dict.fromkeys(summary["source"]))
    if len(sources) < 2:
        return choose(summary)
    frame = _scored(summary)
    is_ref = frame["reference"]
    family = summary["rule"].map(family_of).where(~is_ref)
    scores: dict[str, tuple[float, float]] = {}
    for name in dict.fromkeys(family.dropna()):
        rows = summary[is_ref | (family == name)]
        miss = regret = -math.inf
        for held in sources:
            pick = choose(rows[rows["source"] != held])
            mine = frame[(frame["rule"] == pick) & (frame["source"] == held)].iloc[0]
            miss = max(miss, float(mine["miss"]))
            regret = max(regret, float(mine["regret"]))
        scores[str(name)] = (round(miss, 12), round(regret, 12))
    kept = min(scores, key=lambda k: scores[k])
    return choose(summary[is_ref | (family == kept)])


class Scorer:
    """Scores rules on problems on demand, each (rule, problem) at most once (a cache)."""

    def __init__(
        self,
        rules: Mapping[str, Rule],
        *,
        level: float = LEVEL,
        workers: int = 1,
        progress: Callable[[Problem, list[Outcome]], None] | None = None,
    ) -> None:
        self.rules = dict(rules)
        self.level = level
        self.workers = workers
        self.progress = progress
        self._done: dict[tuple[str, str], Outcome] = {}

    def __call__(self, problems: Sequence[Problem], names: Sequence[str]) -> list[Outcome]:
        """Outcomes of the named rules on `problems`, running only what is not cached."""
        todo: dict[str, list[Problem]] = {}
        for name in names:
            for p in problems:
                if (name, p.id) not in self._done:
                    todo.setdefault(name, []).append(p)
        # Group by problem so a problem's rules run together (they may share fits).
        by_problem: dict[str, tuple[Problem, list[str]]] = {}
        for name, ps in todo.items():
            for p in ps:
                by_problem.setdefault(p.id, (p, []))[1].append(name)
        groups: dict[tuple[str, ...], list[Problem]] = {}
        for p, pending in by_problem.values():
            groups.setdefault(tuple(pending), []).append(p)
        for group, ps in groups.items():
            subset = {n: self.rules[n] for n in group}
            for o in score(
                ps, subset, level=self.level, workers=self.workers, progress=self.progress
            ):
                self._done[(o.rule, o.problem)] = o
        return [self._done[(n, p.id)] for n in names for p in problems]

    @property
    def outcomes(self) -> list[Outcome]:
        return list(self._done.values())

    def summarise(
        self, problems: Sequence[Problem], names: Sequence[str], reference: Sequence[str]
    ) -> pd.DataFrame:
        """`summarise` of the named rules' outcomes on `problems`, per source, `reference`
        marked (a scorer that holds its outcomes column-wise computes it without them)."""
        return summarise(self(problems, names), rules=names, reference=reference)


Learner = Callable[[Sequence[Problem]], tuple[Sequence[str], Scorer]]


def leave_one_source_out(
    problems: Sequence[Problem],
    configs: Mapping[str, Rule] | Sequence[str],
    *,
    choose: Chooser = default_choice,
    reference: Sequence[str] = (),
    scorer: Scorer | None = None,
    learn: Learner | None = None,
) -> pd.DataFrame:
    """For each source: choose a configuration on the others, score it on the one left out.

    `configs` are the candidate rule configurations (a knob grid), as a mapping name -> rule or
    as names known to `scorer`. `choose` receives `summarise` output restricted to the tuning
    sources (columns source, rule, median_rmse, win_rate, coverage90, reference, ...; the
    `reference` rules' rows are marked) and returns the name of a configuration. `reference`
    names fixed rules (e.g. the single laws): the yardstick of the choice (default_choice's
    regret) and what the chosen configuration's win rate on the left-out source is computed
    against; they are never tuned.

    `learn`, if given, makes configurations whose knobs are *learned from data* (e.g. a prior
    over the laws fitted to the tuning problems' outcomes): for each split it is called with
    the tuning problems only — never a problem of the left-out source — and returns the names
    of its configurations and a Scorer that runs them (on any problem: the tuning problems for
    the choice, the left-out ones if one of them is chosen). Its names must not clash with
    `configs` or `reference`; each split's learned configurations compete with `configs` in
    the same choice.

    Returns one row per left-out source: the chosen configuration, its problems, median RMSE,
    win rate (against `reference`) and 90% coverage there, whether its coverage is within
    COVERAGE_BAND, and whether the chosen configuration was learned on that split.
    """
    if scorer is None:
        if not isinstance(configs, Mapping):
            raise ScalingLabError("give configs as a mapping name -> rule, or a scorer")
        scorer = Scorer(configs)
    elif isinstance(configs, Mapping):
        scorer.rules.update(configs)
    names = list(configs)
    if not names:
        raise ScalingLabError("give at least one configuration")
    sources = list(dict.fromkeys(p.source for p in problems))
    if len(sources) < 2:
        raise ScalingLabError("leave-one-source-out needs problems from at least two sources")
    # A problem's winner depends only on the rules compared, so one summary of every source
    # serves every split: each choice reads only the rows of its tuning sources. The reference
    # rules' rows come along, marked, as the yardstick a choice may measure regret against.
    fixed = [r for r in reference if r not in names]
    everything = scorer.summarise(problems, [*names, *fixed], fixed)
    rows = []
    for held in sources:
        left_out = [p for p in problems if p.source == held]
        tuning = [p for p in problems if p.source != held]
        table = everything[everything["source"] != held]
        learned: list[str] = []
        fold_scorer = scorer
        if learn is not None:
            learned_names, fold_scorer = learn(tuning)
            learned = list(learned_names)
            clash = set(learned) & {*names, *fixed}
            if clash:
                raise ScalingLabError(f"learned configurations reuse the names {sorted(clash)}")
            if learned:
                mine_tuning = summarise(fold_scorer(tuning, learned), by=("source",))
                mine_tuning["reference"] = False
                table = pd.concat([table, mine_tuning], ignore_index=True)
        choice = choose(table)
        if choice not in names and choice not in learned:
            raise ScalingLabError(f"the choice function returned {choice!r}, not a configuration")
        refs = [r for r in dict.fromkeys(reference) if r != choice]
        if choice in learned:
            scored = scorer(left_out, refs) + fold_scorer(left_out, [choice])
        else:
            scored = scorer(left_out, [*refs, choice])
        result = summarise(scored, by=("source",), rules=[*refs, choice])
        mine = result[result["rule"] == choice].iloc[0]
        lo, hi = COVERAGE_BAND
        rows.append(
            {
                "left_out": held,
                "chosen": choice,
                "problems": int(mine["problems"]),
                "median_rmse": float(mine["median_rmse"]),
                "win_rate": float(mine["win_rate"]),
                "coverage90": float(mine["coverage90"]),
                "coverage_ok": bool(lo <= mine["coverage90"] <= hi),
                "tuned_on": ",".join(s for s in sources if s != held),
                "learned": choice in learned,
            }
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------
# The standard estimators as rules
# ------------------------------------------------------------------------------------------------
_FITS: dict[str, ScalingLaw | ScalingLabError] = {}
_FITS_KEY: list[bytes] = [b""]


def _fitted(label: str, x: FloatArray, y: FloatArray) -> ScalingLaw:
    """The candidate `label` fitted to (x, y) as scalinglab.selection.extrapolation fits it
    (extrapolation.fit_single), cached for the current curve."""
    from scalinglab.selection import extrapolation
    from scalinglab.selection.backtest import candidate

    key = x.tobytes() + b"|" + y.tobytes()
    if _FITS_KEY[0] != key:
        _FITS.clear()
        _FITS_KEY[0] = key
    if label not in _FITS:
        try:
            _FITS[label] = extrapolation.fit_single(candidate(label), x[:, None], y)
        except ScalingLabError as exc:
            _FITS[label] = exc
    result = _FITS[label]
    if isinstance(result, ScalingLabError):
        raise result
    return result


def _interval(law: ScalingLaw, x: FloatArray, level: float) -> tuple[FloatArray, FloatArray]:
    try:
        lo, hi = law.predict_interval(x[:, None], level)
    except ScalingLabError:
        return np.full(x.size, math.nan), np.full(x.size, math.nan)
    return np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)


@dataclass
class LawRule:
    """One law fitted to the training part; the interval is its parameter band (Gauss-Newton
    covariance draws), as in `scalinglab benchmark extrapolation`."""

    label: str

    def __call__(
        self, x_train: FloatArray, y_train: FloatArray, x_test: FloatArray, level: float
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        law = _fitted(self.label, x_train, y_train)
        lo, hi = _interval(law, x_test, level)
        return law.predict(x_test[:, None]), lo, hi


@dataclass
class AutoRule:
    """`fit --law auto` (scalinglab.selection.auto.auto_fit) with the problem's test x as its
    target, under `config` (default: DEFAULT_RULE) and the fit `options` (default: the
    benchmark's, extrapolation.FIT_OPTIONS). `last_info` says what it chose."""

    config: RuleConfig | None = None
    options: dict[str, Any] | None = None
    last_info: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __call__(
        self, x_train: FloatArray, y_train: FloatArray, x_test: FloatArray, level: float
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        from scalinglab.selection import extrapolation
        from scalinglab.selection.auto import auto_fit
        from scalinglab.selection.rule import DEFAULT_RULE

        law, sel = auto_fit(
            x_train,
            y_train,
            target=float(np.max(x_test)),
            config=self.config or DEFAULT_RULE,
            options=extrapolation.FIT_OPTIONS if self.options is None else self.options,
        )
        self.last_info = {"chosen": sel.chosen}
        lo, hi = _interval(law, x_test, level)
        return law.predict(x_test[:, None]), lo, hi


STANDARD = ("m1", "m2", "m3", "m4", "bnsl1", "bnsl2", "power_const")


def standard_rules() -> dict[str, Rule]:
    """The estimators of the extrapolation benchmark: each single law, then auto (last, so that
    it reuses the single laws' fits of the same problem)."""
    rules: dict[str, Rule] = {label: LawRule(label) for label in STANDARD}
    rules["auto"] = AutoRule()
    return rules
