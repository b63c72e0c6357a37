"""Power laws of compute, y = coef·C^exponent, fitted through compute-optimal points.

Approaches 1 and 2 of Hoffmann et al. (2022, arXiv:2203.15556, Sec. 3.1–3.2, Table 2) end by
fitting N_opt ∝ C^a and D_opt ∝ C^b as straight lines in log-log space through per-budget optima.
`PowerLawLine` is one such line with the uncertainty of its exponent; `AllocationLines` pairs the
N and D lines, which is all a projection table (Hoffmann Table 3) needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from scalinglab.errors import ScalingLabError
from scalinglab.laws.base import FloatArray
from scalinglab.planning._results import interval, spread
from scalinglab.types import JsonRecord


@dataclass
class PowerLawLine(JsonRecord):
    """y = coef·C^exponent, with a standard error and interval for the exponent.

    `source` says where the uncertainty comes from: "ols" (least squares on the log points;
    optimistic when the points are correlated, as envelope points are) or "bootstrap".
    """

    exponent: float
    coef: float
    exponent_stderr: float = math.nan
    exponent_interval: tuple[float, float] = (math.nan, math.nan)
    level: float = 0.9
    n_points: int = 0
    source: str = "ols"

    def __call__(self, compute: ArrayLike) -> FloatArray:
        c = np.asarray(compute, dtype=float)
        with np.errstate(over="ignore"):  # far outside the fitted budgets: inf, which callers see
            return np.asarray(self.coef * c**self.exponent, dtype=float)

    def inverse(self, value: ArrayLike) -> FloatArray:
        """C at which the line reaches `value` (inf past float range, as `__call__`)."""
        if self.exponent == 0:
            raise ScalingLabError("cannot invert a power law of compute with exponent 0")
        v = np.asarray(value, dtype=float)
        with np.errstate(over="ignore"):
            return np.asarray((v / self.coef) ** (1.0 / self.exponent), dtype=float)

    @classmethod
    def from_dict(cls, data: Any) -> PowerLawLine:
        """Rebuild from `to_dict()` output (needs at least "exponent" and "coef")."""
        if not isinstance(data, dict) or "exponent" not in data or "coef" not in data:
            raise ScalingLabError("a power-law line needs 'exponent' and 'coef'")
        try:
            exponent, coef = float(data["exponent"]), float(data["coef"])
            lo, hi = (float(v) for v in data.get("exponent_interval", (math.nan, math.nan)))
        except (TypeError, ValueError, OverflowError):
            raise ScalingLabError("a power-law line's values must be finite numbers") from None
        if not (math.isfinite(exponent) and math.isfinite(coef) and coef > 0):
            raise ScalingLabError("a power-law line needs a finite exponent and a coef > 0")
        return cls(
            exponent=exponent,
            coef=coef,
            exponent_stderr=float(data.get("exponent_stderr", math.nan)),
            exponent_interval=(lo, hi),
            level=float(data.get("level", 0.9)),
            n_points=int(data.get("n_points", 0)),
            source=str(data.get("source", "ols")),
        )


class LineExponents:
    """Mixin of what holds the lines N_opt ∝ C^a (`n_line`) and D_opt ∝ C^b (`d_line`): a and b."""

    n_line: PowerLawLine
    d_line: PowerLawLine

    @property
    def a(self) -> float:
        return self.n_line.exponent

    @property
    def b(self) -> float:
        return self.d_line.exponent

    def _lines_dict(self) -> dict[str, Any]:
        """a, b and both lines as JSON: the part of `to_dict()` that `AllocationLines.from_dict`
        reads back."""
        return {
            "a": self.a,
            "b": self.b,
            "n_line": self.n_line.to_dict(),
            "d_line": self.d_line.to_dict(),
        }


@dataclass
class AllocationLines(LineExponents):
    """N_opt(C) and D_opt(C) as power laws of compute (what Approaches 1 and 2 produce)."""

    n_line: PowerLawLine
    d_line: PowerLawLine

    def at(self, compute: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """(N_opt, D_opt) the lines give for `compute` FLOPs."""
        return self.n_line(compute), self.d_line(compute)

    @classmethod
    def from_dict(cls, data: Any) -> AllocationLines:
        """From the JSON of an IsoFLOP or envelope analysis (its "n_line" and "d_line")."""
        if not isinstance(data, dict) or "n_line" not in data or "d_line" not in data:
            raise ScalingLabError("allocation lines need 'n_line' and 'd_line'")
        return cls(PowerLawLine.from_dict(data["n_line"]), PowerLawLine.from_dict(data["d_line"]))


def fit_power_line(compute: ArrayLike, values: ArrayLike, level: float = 0.9) -> PowerLawLine:
    """Least-squares line log y = log coef + exponent·log C, with a t-interval on the slope."""
    c = np.asarray(compute, dtype=float)
    y = np.asarray(values, dtype=float)
    ok = np.isfinite(c) & np.isfinite(y) & (c > 0) & (y > 0)
    c, y = c[ok], y[ok]
    n = c.size
    if n < 2 or np.ptp(np.log(c)) == 0:
        raise ScalingLabError(
            f"fitting a power law of compute needs optima at 2 or more distinct budgets, got {n}"
        )
    lx, ly = np.log(c), np.log(y)
    slope, intercept = np.polyfit(lx, ly, 1)
    se = math.nan
    lo = hi = math.nan
    if n > 2:
        resid = ly - (intercept + slope * lx)
        s2 = float(resid @ resid) / (n - 2)
        se = math.sqrt(s2 / float(((lx - lx.mean()) ** 2).sum()))
        t = float(stats.t.ppf((1 + level) / 2, n - 2))
        lo, hi = slope - t * se, slope + t * se
    return PowerLawLine(
        exponent=float(slope),
        coef=float(math.exp(intercept)),
        exponent_stderr=se,
        exponent_interval=(lo, hi),
        level=level,
        n_points=n,
        source="ols",
    )


def batched_slopes(logc: FloatArray, logy: FloatArray) -> FloatArray:
    """OLS slope of each row of logy (B, m) on logc (B, m) or (m,), NaN entries ignored."""
    x = np.broadcast_to(logc, logy.shape)
    w = np.isfinite(logy) & np.isfinite(x)
    n = w.sum(axis=1)
    xs = np.where(w, x, 0.0)
    ys = np.where(w, logy, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = xs.sum(axis=1) / n
        my = ys.sum(axis=1) / n
        dx = np.where(w, x - mx[:, None], 0.0)
        dy = np.where(w, logy - my[:, None], 0.0)
        slope = (dx * dy).sum(axis=1) / (dx * dx).sum(axis=1)
    return np.where(n >= 2, slope, np.nan)


def bootstrap_exponents(
    n_line: PowerLawLine,
    d_line: PowerLawLine,
    logc: FloatArray,
    logn: FloatArray,
    logd: FloatArray,
    level: float,
) -> None:
    """Give both lines the bootstrap's exponent uncertainty in place of the least-squares one.

    Row r of logn and logd (B, m) is resample r's log N_opt and log D_opt at log C = logc; its
    exponents are the rows' OLS slopes (`batched_slopes`), their spread the standard error.
    """
    for line, logy in ((n_line, logn), (d_line, logd)):
        draws = batched_slopes(logc, logy)
        line.exponent_stderr = spread(draws)
        line.exponent_interval = interval(draws, level)
        line.source = "bootstrap"
