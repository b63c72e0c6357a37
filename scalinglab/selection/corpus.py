"""A development corpus of learning-curve extrapolation problems from independent sources.

A problem is one learning curve cut in two, the way the benchmark of Alabdulmohsin, Neyshabur &
Zhai (2022, "Revisiting Neural Scaling Laws in Language and Vision", arXiv:2209.06640, Sec. 4)
cuts its curves: fit on the early part (`x_train`, `y_train`), predict the later part (`x_test`,
`y_test`); every test x lies beyond the largest training x. The extrapolation horizon is
log10(max x_test / max x_train), in decades. A rule tuned on some sources and scored on another
(`scalinglab.selection.protocol.leave_one_source_out`) cannot flatter itself with one source's
quirks.

Sources (`SOURCES`):

- ``lang``: the 20 evaluations of the language half of Alabdulmohsin et al.'s benchmark
  (../shared/data/alabdulmohsin2022_lang.csv), cut as published (Training == 1 / 0; horizon ~0.3),
  duplicate rows dropped (`scalinglab.selection.extrapolation.load_curves`).
- ``datablations``: the 48 training curves (validation loss against tokens seen) of the
  data-constrained LLMs of Muennighoff et al. (2023, "Scaling Data-Constrained Language Models",
  arXiv:2305.16264), ../shared/data/datablations_curves.csv. Each curve keeps its points from 1/100
  of its last token count on (drops the warm-up; 1.9-2 decades left), thinned to at most
  `PER_DECADE` points per decade (its points are evenly spaced in tokens, which would put 90% of
  them in the last decade), and is cut at each of `DATABLATIONS_HORIZONS`: train on x ≤
  x_end·10^(−h), predict the rest of the curve, its end included.
- ``studies``: learning curves from our own scaling studies (benchmarks/corpus_studies/*.toml,
  one per built-in task: image, lm, translation, speech, synthetic; the table is
  benchmarks/data/study_curves.csv, made by benchmarks/corpus_studies/make_curves.py): per seed the
  best-per-shard curve (Hestness et al. 2017's learning curve) and the curve of each fixed model
  size across shards, each cut at each of `STUDY_HORIZONS` (as datablations).
- ``synthetic``: curves drawn from every law family (pure power, saturating power + constant, a
  smoothly broken power law (Caballero et al. 2022), Hestness's three regions with a small-data
  plateau, and Alabdulmohsin's M4) with seeded random parameters over realistic ranges and
  multiplicative noise of 0.5-3%, generated here (no file); the horizon cycles through
  `SYNTHETIC_HORIZONS`.
- ``chinchilla``: the final losses of the training runs of Hoffmann et al. (2022, "Training
  Compute-Optimal Large Language Models") as digitised by Besiroglu et al. (2024, "Chinchilla
  Scaling: A replication attempt"), ../shared/data/chinchilla_besiroglu2024.csv without the 5 runs
  the replication drops: per model size (counts within `CHINCHILLA_SIZE_RTOL`) with at least
  `CHINCHILLA_MIN_RUNS` runs, final loss against training tokens — Hestness's learning curve of
  one model size, whose end bends toward the size's floor — cut at each of
  `CHINCHILLA_HORIZONS`. Losses are read off a colour bar (~0.01), so the curves carry that noise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from scalinglab.errors import ScalingLabError
from scalinglab.laws.base import FloatArray

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
LANG_CSV = SHARED_DATA / "alabdulmohsin2022_lang.csv"
DATABLATIONS_CSV = SHARED_DATA / "datablations_curves.csv"
STUDY_CURVES_CSV = REPO / "benchmarks" / "data" / "study_curves.csv"
CHINCHILLA_CSV = SHARED_DATA / "chinchilla_besiroglu2024.csv"

SOURCES = ("lang", "datablations", "studies", "synthetic", "chinchilla")
MIN_TRAIN = 5  # a problem keeps at least this many training points (enough to backtest)
DATABLATIONS_HORIZONS = (0.3, 0.6, 1.0)  # decades held out at the end of each curve
DATABLATIONS_START = 0.01  # keep a curve's points from this fraction of its last x on
PER_DECADE = 20  # datablations curves thinned to at most this many points per decade of x
STUDY_HORIZONS = (0.3, 0.6, 0.9)  # shards 2^k: 1, 2 and 3 shards held out
SYNTHETIC_HORIZONS = (0.3, 0.6, 1.0)
SYNTHETIC_FAMILIES = ("power", "power_const", "bnsl", "hestness", "m4")
SYNTHETIC_PER_FAMILY = 24
CHINCHILLA_HORIZONS = (0.3, 0.6)
CHINCHILLA_MIN_RUNS = 6  # runs of one model size for a curve (5 to train on, 1 to predict)
CHINCHILLA_SIZE_RTOL = 0.01  # parameter counts this close (relative) are one model size


@dataclass(frozen=True)
class Problem:
    """One extrapolation problem: fit on (x_train, y_train), predict y at x_test.

    x is one-dimensional and ascending in both parts, and every x_test exceeds max(x_train).
    `curve` names the curve the problem was cut from (several cuts of one curve share it);
    `meta` holds what else is known (domain, model, family, ...).
    """

    source: str
    id: str
    x_train: FloatArray
    y_train: FloatArray
    x_test: FloatArray
    y_test: FloatArray
    curve: str = ""
    meta: Mapping[str, str | float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("x_train", "y_train", "x_test", "y_test"):
            arr = np.asarray(getattr(self, name), dtype=float).reshape(-1)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        if self.x_train.size != self.y_train.size or self.x_test.size != self.y_test.size:
            raise ScalingLabError(f"problem {self.id}: x and y differ in length")
        if self.x_train.size == 0 or self.x_test.size == 0:
            raise ScalingLabError(f"problem {self.id}: needs training and test points")
        values = np.concatenate([self.x_train, self.y_train, self.x_test, self.y_test])
        if not np.all(np.isfinite(values)) or np.any(values <= 0):
            raise ScalingLabError(f"problem {self.id}: x and y must be finite and > 0")
        if np.any(np.diff(self.x_train) < 0) or np.any(np.diff(self.x_test) < 0):
            raise ScalingLabError(f"problem {self.id}: x must be ascending")
        if self.x_test[0] <= self.x_train[-1]:
            raise ScalingLabError(f"problem {self.id}: test points must lie beyond training x")

    @property
    def horizon(self) -> float:
        """Extrapolation distance in decades: log10(max x_test / max x_train)."""
        return float(np.log10(self.x_test[-1] / self.x_train[-1]))

    @property
    def train_decades(self) -> float:
        """Span of the training x in decades."""
        return float(np.log10(self.x_train[-1] / self.x_train[0]))


def cut_curve(
    source: str,
    curve: str,
    x: Iterable[float],
    y: Iterable[float],
    horizons: Sequence[float],
    meta: Mapping[str, str | float] | None = None,
    min_train: int = MIN_TRAIN,
) -> list[Problem]:
    """Problems from one curve: for each h, train on x ≤ max(x)·10^(−h), test on the rest.

    The held-out part is always the curve's end. A cut leaving fewer than `min_train` training
    points is skipped; two horizons giving the same split give one problem.
    """
    xs = np.asarray(list(x), dtype=float)
    ys = np.asarray(list(y), dtype=float)
    order = np.argsort(xs, kind="stable")
    xs, ys = xs[order], ys[order]
    problems: list[Problem] = []
    seen: set[int] = set()
    for h in horizons:
        edge = xs[-1] * 10.0 ** (-h) * (1 + 1e-9)
        k = int(np.searchsorted(xs, edge, side="right"))
        if k < min_train or k >= xs.size or k in seen or xs[k] <= xs[k - 1]:
            continue
        seen.add(k)
        problems.append(
            Problem(
                source=source,
                id=f"{source}:{curve}@h{h:g}",
                x_train=xs[:k],
                y_train=ys[:k],
                x_test=xs[k:],
                y_test=ys[k:],
                curve=curve,
                meta={**dict(meta or {}), "cut_horizon": float(h)},
            )
        )
    return problems


# ------------------------------------------------------------------------------------------------
# lang: Alabdulmohsin et al. 2022, language half
# ------------------------------------------------------------------------------------------------
def lang_problems(path: str | Path = LANG_CSV) -> list[Problem]:
    """The 20 evaluations of the language benchmark, cut as published (Training == 1 / 0)."""
    from scalinglab.selection.extrapolation import load_curves

    curves = load_curves(pd.read_csv(path), str(path))
    out = []
    for c in curves:
        name = f"{c.domain}|{c.task}|{c.model}"
        out.append(
            Problem(
                source="lang",
                id=f"lang:{name}",
                x_train=c.x_train[:, 0],
                y_train=c.y_train,
                x_test=c.x_test[:, 0],
                y_test=c.y_test,
                curve=name,
                meta={"domain": c.domain, "task": c.task, "model": c.model},
            )
        )
    return out


# ------------------------------------------------------------------------------------------------
# datablations: Muennighoff et al. 2023 training curves
# ------------------------------------------------------------------------------------------------
def thin_log(x: FloatArray, per_decade: int) -> np.ndarray:
    """Indices of at most `per_decade` points per decade of x (ascending): the point nearest
    (in log x) to each mark of a log-even grid from min(x) to max(x), both ends kept."""
    lx = np.log10(x)
    n_marks = max(2, math.ceil((lx[-1] - lx[0]) * per_decade) + 1)
    marks = np.linspace(lx[0], lx[-1], n_marks)
    idx = np.abs(lx[None, :] - marks[:, None]).argmin(axis=1)
    return np.unique(idx)


def datablations_problems(
    path: str | Path = DATABLATIONS_CSV,
    horizons: Sequence[float] = DATABLATIONS_HORIZONS,
    start: float = DATABLATIONS_START,
    per_decade: int = PER_DECADE,
) -> list[Problem]:
    """Each of the 48 training curves from `start`·(last x) on, thinned, cut at each horizon."""
    df = pd.read_csv(path)
    keys = ["data", "num_params", "epochs", "tokens_per_epoch"]
    out: list[Problem] = []
    for _, g in df.groupby(keys, sort=True):
        data, params, epochs, tpe = (g[k].iloc[0] for k in keys)
        g = g.sort_values("tokens", kind="stable").drop_duplicates("tokens", keep="last")
        x = g["tokens"].to_numpy(float)
        y = g["loss"].to_numpy(float)
        keep = x >= start * x[-1]
        x, y = x[keep], y[keep]
        idx = thin_log(x, per_decade)
        name = f"{data}|{params}|{int(epochs)}ep|{float(tpe):.3g}"
        meta: dict[str, str | float] = {
            "data": str(data),
            "num_params": str(params),
            "epochs": float(epochs),
            "tokens_per_epoch": float(tpe),
        }
        out += cut_curve("datablations", name, x[idx], y[idx], horizons, meta)
    return out


# ------------------------------------------------------------------------------------------------
# studies: our own scaling studies
# ------------------------------------------------------------------------------------------------
STUDY_CURVE_COLUMNS = (
    "source_study",
    "domain",
    "metric",
    "kind",
    "seed",
    "model_size",
    "curve_id",
    "x",
    "y",
)


def study_problems(
    path: str | Path = STUDY_CURVES_CSV, horizons: Sequence[float] = STUDY_HORIZONS
) -> list[Problem]:
    """Every curve of the study-curve table (see benchmarks/corpus_studies), cut at each horizon;
    a curve identical to another (a model size that is best at every shard) is kept once."""
    df = pd.read_csv(path)
    missing = [c for c in STUDY_CURVE_COLUMNS if c not in df.columns]
    if missing:
        raise ScalingLabError(f"{path} lacks column(s) {missing}")
    out: list[Problem] = []
    seen: set[tuple[float, ...]] = set()
    for curve_id, g in df.groupby("curve_id", sort=True):
        g = g[(g["y"] > 0) & (g["x"] > 0)].sort_values("x", kind="stable")
        # A model size that is the best at every shard has the best-per-shard curve: keep one.
        values = (*g["x"].astype(float), *g["y"].astype(float))
        if values in seen:
            continue
        seen.add(values)
        first = g.iloc[0]
        meta: dict[str, str | float] = {
            "study": str(first["source_study"]),
            "domain": str(first["domain"]),
            "metric": str(first["metric"]),
            "kind": str(first["kind"]),
            "seed": float(first["seed"]),
            "model_size": float(first["model_size"]),
        }
        out += cut_curve("studies", str(curve_id), g["x"], g["y"], horizons, meta)
    return out


# ------------------------------------------------------------------------------------------------
# synthetic: every law family, seeded, with noise
# ------------------------------------------------------------------------------------------------
def _m4_solve(
    x: FloatArray, beta: float, c: float, alpha: float, e_inf: float, e0: float
) -> FloatArray:
    """ε with (ε − ε∞)/(ε₀ − ε)^α = β·x^c (Alabdulmohsin 2022, M4), by bisection in (ε∞, ε₀)."""
    rhs = beta * x**c
    lo = np.full_like(x, e_inf)
    hi = np.full_like(x, e0)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        too_big = (mid - e_inf) / (e0 - mid) ** alpha > rhs
        hi = np.where(too_big, mid, hi)
        lo = np.where(too_big, lo, mid)
    return 0.5 * (lo + hi)


def synthetic_curve(
    family: str, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray, dict[str, float]]:
    """x (geometric, 12-24 points over 2.2-3.5 decades) and a noiseless y of one law family.

    Parameter ranges are those of real learning curves: exponents 0.05-1, floors up to 80% of the
    first error, breaks and plateaus placed inside the observed range or its last part.
    """
    n = int(rng.integers(12, 25))
    lx0 = rng.uniform(1.5, 4.0)
    span = rng.uniform(2.2, 3.5)
    x = np.logspace(lx0, lx0 + span, n)
    y0 = 10 ** rng.uniform(-0.5, 1.0)  # error/loss at the smallest x, 0.3 .. 10
    p: dict[str, float]
    if family == "power":  # Hestness 2017 model-size curve / M1
        b = rng.uniform(0.05, 0.6)
        y = y0 * (x / x[0]) ** (-b)
        p = {"b": b}
    elif family == "power_const":  # M2: saturating toward a floor
        b = rng.uniform(0.2, 1.0)
        floor = rng.uniform(0.1, 0.8) * y0
        y = floor + (y0 - floor) * (x / x[0]) ** (-b)
        p = {"b": b, "floor": floor}
    elif family == "bnsl":  # Caballero 2022, one break, often late (the end bends)
        c0 = rng.uniform(0.02, 0.3)
        c1 = max(rng.uniform(-0.2, 0.6), -c0 + 0.01)
        d = 10 ** (lx0 + rng.uniform(0.3, 0.95) * span)
        f = 10 ** rng.uniform(-1.0, 0.0)
        floor = rng.uniform(0.0, 0.5) * y0
        shape = (x / x[0]) ** (-c0) * (1 + (x / d) ** (1 / f)) ** (-c1 * f)
        y = floor + (y0 - floor) * shape / shape[0]
        p = {"c0": c0, "c1": c1, "d": d, "f": f, "floor": floor}
    elif family == "hestness":  # small-data plateau, power law, irreducible error
        beta = -rng.uniform(0.2, 0.8)
        eps_s = 10 ** rng.uniform(-0.3, 0.5)
        gamma = rng.uniform(0.05, 0.5) * eps_s
        m_s = 10 ** (lx0 + rng.uniform(0.2, 0.8))  # the plateau ends inside the first decade
        alpha = eps_s / m_s**beta
        y = gamma + 1.0 / (1.0 / eps_s + 1.0 / (alpha * x**beta))
        p = {"beta_g": beta, "eps_s": eps_s, "gamma": gamma, "small_data_end": m_s}
    elif family == "m4":  # Alabdulmohsin 2022: sigmoid-like in log x between ε0 and ε∞
        e0 = 10 ** rng.uniform(0.0, 0.7)
        e_inf = rng.uniform(0.05, 0.6) * e0
        alpha = 10 ** rng.uniform(-0.3, 0.3)
        c = -rng.uniform(0.2, 1.0)
        x_half = 10 ** (lx0 + rng.uniform(0.3, 1.0) * span)  # halfway between ε0 and ε∞ here
        e_half = 0.5 * (e0 + e_inf)
        beta = (e_half - e_inf) / (e0 - e_half) ** alpha / x_half**c
        y = _m4_solve(x, beta, c, alpha, e_inf, e0)
        p = {"c": c, "alpha": alpha, "eps_inf": e_inf, "eps_0": e0, "x_half": x_half}
    else:
        raise ScalingLabError(f"unknown synthetic family {family!r}; one of {SYNTHETIC_FAMILIES}")
    return x, y, p


def synthetic_problems(
    per_family: int = SYNTHETIC_PER_FAMILY,
    seed: int = 0,
    families: Sequence[str] = SYNTHETIC_FAMILIES,
    horizons: Sequence[float] = SYNTHETIC_HORIZONS,
) -> list[Problem]:
    """`per_family` noisy curves of each family, one problem each; the same for the same seed.

    Curve i of family j uses the generator seeded by (seed, j, i); its noise is multiplicative,
    exp(σ·N(0, 1)) with σ uniform in 0.5-3%, and its horizon is horizons[i % len(horizons)].
    """
    out: list[Problem] = []
    for j, family in enumerate(families):
        for i in range(per_family):
            rng = np.random.default_rng([seed, j, i])
            x, y, params = synthetic_curve(family, rng)
            sigma = rng.uniform(0.005, 0.03)
            y_noisy = y * np.exp(sigma * rng.standard_normal(y.size))
            h = horizons[i % len(horizons)]
            meta: dict[str, str | float] = {"family": family, "noise": sigma, **params}
            out += cut_curve("synthetic", f"{family}-{i}", x, y_noisy, [h], meta)
    return out


# ------------------------------------------------------------------------------------------------
# chinchilla: Hoffmann et al. 2022 final losses, one curve per model size
# ------------------------------------------------------------------------------------------------
def size_groups(params: FloatArray, rtol: float = CHINCHILLA_SIZE_RTOL) -> np.ndarray:
    """A group label per run: sorted parameter counts within `rtol` of their neighbour are one
    model size (the digitised counts of one size scatter by a fraction of a percent)."""
    order = np.argsort(params, kind="stable")
    step = np.diff(np.log(params[order])) > math.log1p(rtol)
    labels = np.empty(params.size, dtype=int)
    labels[order] = np.concatenate([[0], np.cumsum(step)])
    return labels


def chinchilla_problems(
    path: str | Path = CHINCHILLA_CSV,
    horizons: Sequence[float] = CHINCHILLA_HORIZONS,
    min_runs: int = CHINCHILLA_MIN_RUNS,
) -> list[Problem]:
    """Per model size with at least `min_runs` runs, its final losses against training tokens,
    cut at each horizon; the 5 runs the replication drops (`epoch_outlier`) are left out."""
    df = pd.read_csv(path)
    df = df[df["epoch_outlier"] == 0]
    df = df.assign(size=size_groups(df["params"].to_numpy(float)))
    out: list[Problem] = []
    for _, g in df.groupby("size", sort=True):
        if len(g) < min_runs:
            continue
        g = g.sort_values("tokens", kind="stable")
        params = float(g["params"].median())
        meta: dict[str, str | float] = {"params": params, "runs": float(len(g))}
        out += cut_curve("chinchilla", f"N={params:.3g}", g["tokens"], g["loss"], horizons, meta)
    return out


# ------------------------------------------------------------------------------------------------
def load_corpus(sources: Sequence[str] = SOURCES) -> list[Problem]:
    """All problems of the named sources, with the default files and settings."""
    loaders: dict[str, Callable[[], list[Problem]]] = {
        "lang": lang_problems,
        "datablations": datablations_problems,
        "studies": study_problems,
        "synthetic": synthetic_problems,
        "chinchilla": chinchilla_problems,
    }
    unknown = [s for s in sources if s not in loaders]
    if unknown:
        raise ScalingLabError(f"unknown source(s) {unknown}; known: {', '.join(SOURCES)}")
    problems: list[Problem] = []
    for s in sources:
        problems += loaders[s]()
    ids = [p.id for p in problems]
    if len(set(ids)) != len(ids):
        raise ScalingLabError("problem ids are not unique")
    return problems


def describe(problems: Sequence[Problem]) -> pd.DataFrame:
    """Per source: problems, curves, training/test points and horizons (min, median, max)."""
    rows = [
        {
            "source": p.source,
            "curve": p.curve,
            "n_train": p.x_train.size,
            "n_test": p.x_test.size,
            "horizon": p.horizon,
        }
        for p in problems
    ]
    df = pd.DataFrame(rows)
    return df.groupby("source", sort=False).agg(
        problems=("curve", "size"),
        curves=("curve", "nunique"),
        median_train=("n_train", "median"),
        test_points=("n_test", "sum"),
        horizon_min=("horizon", "min"),
        horizon_median=("horizon", "median"),
        horizon_max=("horizon", "max"),
    )
