"""Prediction intervals calibrated on backtests (split conformal prediction with the backtest
cut as the unit; Vovk, Gammerman & Shafer 2005, "Algorithmic Learning in a Random World").

A backtest fits a law on the early part of a curve and predicts the rest. Its errors, divided by
the fit's residual scale σ and by g(d), the expected growth of the error with the distance d
(ln x_query − ln x_last_fitted) beyond the fitted range, are that cut's scores. The interval at
level L is

    ŷ · exp(± scale · q_L · σ · g(d)),
    g(d) = (max(d, DISTANCE_FLOOR·reach) / reach)^growth · max(d / reach, 1)^beyond,

q_L the conformal quantile across cuts of each cut's own L-quantile of its scores (with fewer than
⌈1/(1 − L)⌉ − 1 cuts, the largest), or with `pool="geomean"` their geometric mean (the cuts'
quantiles read as noisy measurements of one level: on the development corpus a cut whose
quantile is above the other's tends to overstate the final fit's error, not to foretell it), or
with `pool="rms"` the geometric mean over cuts of z_L · √(mean of the cut's squared scores), z_L
the standard normal quantile of (1 + L)/2: each cut's scores read as Gaussian errors in units of
σ·g(d), whose scale their root mean square estimates from all of them, where an empirical
L-quantile of the one or two scores a short curve's cut has is their largest (noisy, and low
in expectation: such curves' intervals cover less than long curves' at one `scale`);
`reach` is how far the backtests extrapolated. `growth`, `beyond`, `scale` and `pool` are the
rule's knobs (scalinglab.selection.rule): `beyond` widens the interval faster past the reach,
where no backtest measured the error (0 in fit files written before it); `growth = 0` with
`reach` unknown is the calibration of fit files written before 0.2.0 ("interval_widening").

With `spread` k > 0 the laws' disagreement joins the interval (model uncertainty; Draper 1995,
"Assessment and propagation of model uncertainty"): the log half-width at x is

    √((scale · q_L · σ · g(d))² + (k · z_L/z_0.9 · s(x))²),

s(x) the standard deviation of the log predictions at x of the candidate laws fitted on every
point (`spread_laws`, kept with their parameters so that the law computes it at any x:
scalinglab.laws.base.laws_spread; this module knows laws only as data), z_L the
standard normal quantile of the level (k was chosen at 90%). Where plausible laws part, the
extrapolation error is larger than the backtests of the chosen prediction show.

With `spread_power` c > 0 the disagreement scales the interval instead: the log half-width
is multiplied by (max(s(x), NOISE_FLOOR) / SPREAD_LEVEL)^c (1 where s(x) is unknown). The
backtests' quantile q is a noisy estimate of one curve's error; the laws' absolute disagreement
is a second, independent reading of how hard the curve is to extrapolate: on the development
corpus the error a held-out point needs, in units of the calibrated half-width, grows with s(x)
in every source (docs/auto-tuning-log.md, 2026-12-07).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from scalinglab.errors import ScalingLabError
from scalinglab.types import FloatArray

UNITS = ("sigma", "log")  # what a calibration's scores are measured in (Calibration.units)
NOISE_FLOOR = 1e-4  # residual scales below this (log units) are taken as this
# s₀ (log units) of the spread factor (s(x)/s₀)^c: a typical disagreement of the candidate laws
# on the development corpus (medians 0.004–0.06 per source), so that the scale stays comparable
SPREAD_LEVEL = 0.05
DISTANCE_FLOOR = 0.25  # g(d) is flat below this fraction of the backtests' reach
POOLS = ("conformal", "geomean", "rms")  # how the cuts' scores are pooled (Calibration.multiplier)
POOL_NAMES = {
    "conformal": "conformal",
    "geomean": "geometric mean of the cuts' quantiles",
    "rms": "geometric mean of the cuts' Gaussian quantiles from their RMS",
}


def conformal_quantile(scores: Sequence[float], level: float) -> float:
    """The ⌈(n+1)·level⌉-th smallest score (split conformal); the largest when n is too small."""
    s = np.sort(np.asarray(scores, dtype=float))
    if s.size == 0:
        return math.nan
    k = math.ceil((s.size + 1) * level)
    return float(s[min(k, s.size) - 1])


def column_spread(values: FloatArray) -> FloatArray:
    """The standard deviation of each column over its finite entries (ddof 0); 0 where fewer
    than two are finite: the laws' spread s(x) of the module doc, one row per law."""
    finite = np.isfinite(values)
    count = finite.sum(axis=0)
    mean = np.where(finite, values, 0.0).sum(axis=0) / np.maximum(count, 1)
    var = np.where(finite, (values - mean) ** 2, 0.0).sum(axis=0) / np.maximum(count, 1)
    return np.asarray(np.where(count >= 2, np.sqrt(var), 0.0), dtype=float)


def spread_factor(laws_spread: ArrayLike, power: float) -> FloatArray:
    """(max(s, NOISE_FLOOR) / SPREAD_LEVEL)^power at each point; 1 where s is not a positive
    finite number (fewer than two laws fit there)."""
    s = np.asarray(laws_spread, dtype=float)
    known = np.isfinite(s) & (s > 0)
    factor = (np.maximum(np.where(known, s, SPREAD_LEVEL), NOISE_FLOOR) / SPREAD_LEVEL) ** power
    return np.asarray(np.where(known, factor, 1.0), dtype=float)


def growth_factor(d: ArrayLike, reach: float, growth: float, beyond: float = 0.0) -> FloatArray:
    """g(d) = (max(d, DISTANCE_FLOOR·reach) / reach)^growth · max(d / reach, 1)^beyond; 1 when
    the reach is unknown."""
    dd = np.asarray(d, dtype=float)
    if not (math.isfinite(reach) and reach > 0):
        return np.ones_like(dd)
    ratio = dd / reach
    g = np.maximum(ratio, DISTANCE_FLOOR) ** growth * np.maximum(ratio, 1.0) ** beyond
    return np.asarray(g, dtype=float)


@dataclass(frozen=True)
class Calibration:
    """A calibrated interval ŷ·exp(± scale·q_level·noise·g(d)) (see the module doc)."""

    scores: tuple[tuple[float, ...], ...]  # per cut, its normalised held-out errors
    noise: float  # σ of the final fit (log units)
    x_max: float  # the largest fitted x: d = ln(x / x_max)
    reach: float = math.nan  # how far the backtests extrapolated (ln units)
    growth: float = 0.0
    scale: float = 1.0
    beyond: float = 0.0
    # distinct held-out x values behind the scores, summed over the cuts (seeds of one shard
    # count once); None in fit files written before it was kept: then every score counts
    values: int | None = None
    pool: str = "conformal"  # POOLS: how the cuts' quantiles are pooled
    # how much the fitted curve's log-log slope fell over its last points
    # (scalinglab.selection.auto.end_steepening); NaN when not measured
    end_steepening: float = math.nan
    # k: the weight of the laws' disagreement in the interval (module doc); 0: none
    spread: float = 0.0
    # the laws whose disagreement s(x) is, as {"law", "options", "params"} (ScalingLaw.from_dict)
    spread_laws: tuple[Mapping[str, Any], ...] = ()
    # c: the power of the laws' disagreement that scales the interval (module doc); 0: none
    spread_power: float = 0.0
    # UNITS: what the scores are measured in: "log", the log errors themselves (noise 1);
    # "sigma", the errors divided by the fits' residual scale (noise that σ)
    units: str = "sigma"

    def __post_init__(self) -> None:
        if self.pool not in POOLS:
            raise ScalingLabError(f"unknown pool {self.pool!r}; choose from {', '.join(POOLS)}")
        if self.units not in UNITS:
            raise ScalingLabError(f"unknown units {self.units!r}; choose from {', '.join(UNITS)}")
        if not (math.isfinite(self.spread) and self.spread >= 0):
            raise ScalingLabError(f"the calibration's spread must be >= 0, got {self.spread}")
        if not (math.isfinite(self.spread_power) and self.spread_power >= 0):
            raise ScalingLabError(
                f"the calibration's spread_power must be >= 0, got {self.spread_power}"
            )

    @property
    def uses_spread(self) -> bool:
        """Whether the interval reads the laws' spread s(x) (`spread` or `spread_power`)."""
        return self.spread > 0 or self.spread_power > 0

    @property
    def n_values(self) -> int:
        """How many distinct held-out x values the scores rest on."""
        return sum(len(s) for s in self.scores) if self.values is None else self.values

    def multiplier(self, level: float) -> float:
        """q_level: the conformal quantile across cuts of each cut's `level`-quantile, or their
        geometric mean (`pool="geomean"`), or the geometric mean of each cut's z_level · RMS
        (`pool="rms"`; see the module doc)."""
        if self.pool == "rms":
            z = NormalDist().inv_cdf((1 + level) / 2)
            per_cut = [z * math.sqrt(float(np.mean(np.square(s)))) for s in self.scores if len(s)]
        else:
            per_cut = [float(np.quantile(s, level, method="higher")) for s in self.scores if len(s)]
        if self.pool in ("geomean", "rms") and per_cut:
            return float(np.exp(np.mean(np.log(np.maximum(per_cut, 1e-300)))))
        return conformal_quantile(per_cut, level)

    def distance(self, x: ArrayLike) -> FloatArray:
        """log(x / x_max) at each x, how far beyond the largest fitted x: a difference of logs,
        since a subnormal x / x_max underflows to 0 (log: a warning, -inf)."""
        return np.log(np.asarray(x, dtype=float).reshape(-1)) - math.log(self.x_max)

    def past_reach(self, x: float) -> float | None:
        """`distance(x)` when x lies past the distance the backtests checked (`reach`), else
        None (also for an x or reach that is not a positive finite number)."""
        reach = self.reach
        if not (math.isfinite(x) and x > 0 and math.isfinite(reach) and reach > 0):
            return None
        d = float(self.distance(x)[0])
        return d if d > reach * (1 + 1e-9) else None

    def half_width(
        self, x: ArrayLike, level: float, laws_spread: ArrayLike | None = None
    ) -> FloatArray:
        """Half-width of the interval in log units at each x; `laws_spread`, s(x) at each x
        (the law computes it from `spread_laws`: scalinglab.laws.base.laws_spread), scales it
        when `spread_power` > 0 and joins it when `spread` > 0."""
        g = growth_factor(self.distance(x), self.reach, self.growth, self.beyond)
        half = np.asarray(self.scale * self.multiplier(level) * self.noise * g, dtype=float)
        if self.spread_power > 0 and laws_spread is not None:
            half = half * spread_factor(laws_spread, self.spread_power)
        if self.spread > 0 and laws_spread is not None:
            z = NormalDist().inv_cdf((1 + level) / 2) / NormalDist().inv_cdf(0.95)
            half = np.hypot(half, self.spread * z * np.asarray(laws_spread, dtype=float))
        return half

    def interval(
        self,
        prediction: ArrayLike,
        x: ArrayLike,
        level: float,
        laws_spread: ArrayLike | None = None,
    ) -> tuple[FloatArray, FloatArray]:
        """(lower, upper) around `prediction` at the points x (`laws_spread`: `half_width`)."""
        centre = np.log(np.asarray(prediction, dtype=float).reshape(-1))
        half = self.half_width(x, level, laws_spread)
        with np.errstate(over="ignore"):  # e^±huge far past the data: the bounds 0 and inf
            return np.exp(centre - half), np.exp(centre + half)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "conformal-backtest",
            "scores": [list(s) for s in self.scores],
            "noise": self.noise,
            "x_max": self.x_max,
            "reach": self.reach if math.isfinite(self.reach) else None,
            "growth": self.growth,
            "scale": self.scale,
            "beyond": self.beyond,
            "values": self.values,
            "pool": self.pool,
            "end_steepening": self.end_steepening if math.isfinite(self.end_steepening) else None,
            "spread": self.spread,
            "spread_laws": [dict(entry) for entry in self.spread_laws],
            "spread_power": self.spread_power,
            "units": self.units,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        """From `to_dict()` output, or a pre-0.2.0 fit file's "interval_widening"."""
        if not isinstance(data, Mapping) or not {"noise", "scores", "x_max"} <= set(data):
            raise ScalingLabError("a calibration in a fit file needs noise, scores and x_max")
        spread_laws = data.get("spread_laws") or []
        if not isinstance(spread_laws, list) or not all(
            isinstance(entry, Mapping) for entry in spread_laws
        ):
            raise ScalingLabError(
                "a calibration's spread_laws in a fit file must be a list of fitted laws"
            )
        try:
            scores = tuple(tuple(float(v) for v in cut) for cut in data["scores"])
            reach = data.get("reach")
            values = data.get("values")
            steepening = data.get("end_steepening")
            return cls(
                scores=scores,
                noise=float(data["noise"]),
                # fit files written before the field: log units (since 2026-12-07) have noise 1
                units=str(data.get("units", "log" if float(data["noise"]) == 1.0 else "sigma")),
                x_max=float(data["x_max"]),
                reach=math.nan if reach is None else float(reach),
                growth=float(data.get("growth", 0.0)),
                scale=float(data.get("scale", 1.0)),
                beyond=float(data.get("beyond", 0.0)),
                values=None if values is None else int(values),
                pool=str(data.get("pool", "conformal")),
                end_steepening=math.nan if steepening is None else float(steepening),
                spread=float(data.get("spread", 0.0)),
                # a spread law is its name, options and parameters: nothing nested in it is read
                spread_laws=tuple(
                    {k: entry[k] for k in ("law", "options", "params") if k in entry}
                    for entry in spread_laws
                ),
                spread_power=float(data.get("spread_power", 0.0)),
            )
        except ScalingLabError:
            raise  # a number out of range names itself (__post_init__)
        except (TypeError, ValueError):
            raise ScalingLabError("a calibration in a fit file must hold numbers") from None
        except OverflowError:  # an integer beyond any float, or an infinite count of values
            raise ScalingLabError("a calibration in a fit file must hold finite numbers") from None
