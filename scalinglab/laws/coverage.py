"""Coverage with repeated sampling: pass@k, and its two-compute form (train × test-time compute).

- `pass_at_k`: Brown et al. (2024), "Large Language Monkeys: Scaling Inference Compute with
  Repeated Sampling" (arXiv:2407.21787, Sec. 3): the fraction of problems solved by at least
  one of k samples ("coverage") follows an exponentiated power law of k,

      coverage(k) = exp(−a·k^(−b)),    a, b > 0,

  so log(−log coverage) is a straight line in log k of slope −b.
- `pass_at_k_compute`: the same form with the scale falling as a power of training compute,

      coverage(C_train, C_test) = exp(−a·C_train^(−α)·C_test^(−β)),

  C_test the test-time compute per problem (k samples × FLOPs per sample). At equal coverage
  α·log C_train + β·log C_test is constant: the iso-performance line of Jones (2021) with slope
  m = −α/β, so 10× test-time compute is worth 10^(β/α)× train-time compute.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from scalinglab.errors import ScalingLabError
from scalinglab.laws.base import FloatArray, Param, ScalingLaw, Tensor
from scalinglab.laws.jones import require_budgets

LN10 = math.log(10.0)


def _loglog_coverage(y: FloatArray) -> tuple[NDArray[np.bool_], FloatArray]:
    """(mask, log(−log y)) for the points with 0 < y < 1, where the transform is finite."""
    ok = (y > 0) & (y < 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log(-np.log(np.where(ok, y, 0.5)))
    return ok, z


def check_coverage(law: ScalingLaw, y: ArrayLike, n: int) -> FloatArray:
    """y as coverage: a fraction in (0, 1]."""
    arr = ScalingLaw.check_y(law, y, n)
    if np.any(arr > 1):
        raise ScalingLabError(
            f"law {law.name!r} fits coverage (a fraction of problems solved): every y must be "
            "in (0, 1]"
        )
    return arr


class PassAtK(ScalingLaw):
    """coverage(k) = exp(−a·k^(−b)): coverage of k samples (Brown et al. 2024, Large Language
    Monkeys, an exponentiated power law)."""

    name = "pass_at_k"
    variables = ("samples",)
    params = (
        Param("a", lower=0.0, log=True, doc="−log coverage of one sample"),
        Param("b", lower=0.0, upper=20.0, doc="exponent of k"),
    )
    formula = "coverage = exp(−a·k^(−b))"

    def check_y(self, y: ArrayLike, n: int) -> FloatArray:
        return check_coverage(self, y, n)

    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        return -torch.exp(torch.log(p["a"]) - p["b"] * logx[:, 0])

    def guess(self, x: FloatArray, y: FloatArray) -> dict[str, float]:
        ok, z = _loglog_coverage(y)
        if ok.sum() < 2 or np.ptp(np.log(x[ok, 0])) == 0:
            return {"a": 1.0, "b": 0.5}
        slope, intercept = np.polyfit(np.log(x[ok, 0]), z[ok], 1)
        return {"a": float(np.exp(intercept)), "b": float(min(max(-slope, 1e-3), 20.0))}

    def inverse(self, target: ArrayLike, **known: float) -> FloatArray:
        """Samples for coverage c: k = (−log c / a)^(−1/b)."""
        self.check_fitted()
        t = np.atleast_1d(np.asarray(target, dtype=float))
        if np.any(~np.isfinite(t)) or np.any(t <= 0) or np.any(t >= 1):
            raise ScalingLabError("target coverage must be strictly between 0 and 1")
        a, b = self.params_["a"], self.params_["b"]
        if b <= 0:
            raise ScalingLabError("cannot invert: the fitted exponent b is 0")
        out: FloatArray = (-np.log(t) / a) ** (-1.0 / b)
        return out


class PassAtKCompute(ScalingLaw):
    """coverage = exp(−a·C_train^(−α)·C_test^(−β)): pass@k (Brown et al. 2024) whose scale falls
    with training compute; iso-coverage lines log10 C_test = −(α/β)·log10 C_train + const are
    the train/test-time trade-off of Jones (2021).

    X columns: (train_compute, test_compute); y: coverage in (0, 1].
    """

    name = "pass_at_k_compute"
    variables = ("train_compute", "test_compute")
    params = (
        Param("a", lower=0.0, log=True, doc="scale"),
        Param("alpha", lower=0.0, upper=20.0, doc="exponent of train compute"),
        Param("beta", lower=0.0, upper=20.0, doc="exponent of test-time compute"),
    )
    formula = "coverage = exp(−a·C_train^(−alpha)·C_test^(−beta))"
    train_variable: ClassVar[str] = "train_compute"

    def check_y(self, y: ArrayLike, n: int) -> FloatArray:
        return check_coverage(self, y, n)

    def fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> PassAtKCompute:
        require_budgets(self, self.check_X(X), [0, 1])
        super().fit(X, y, sample_weight)
        return self

    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        return -torch.exp(torch.log(p["a"]) - p["alpha"] * logx[:, 0] - p["beta"] * logx[:, 1])

    def guess(self, x: FloatArray, y: FloatArray) -> dict[str, float]:
        # log(−log coverage) = log a − α log C_train − β log C_test: linear least squares.
        ok, z = _loglog_coverage(y)
        if ok.sum() < 3:
            return {"a": 1.0, "alpha": 0.5, "beta": 0.5}
        design = np.column_stack([np.ones(ok.sum()), -np.log(x[ok, 0]), -np.log(x[ok, 1])])
        coef, *_ = np.linalg.lstsq(design, z[ok], rcond=None)
        return {
            "a": float(np.exp(min(coef[0], 700.0))),
            "alpha": float(min(max(coef[1], 1e-3), 20.0)),
            "beta": float(min(max(coef[2], 1e-3), 20.0)),
        }

    def tradeoff_line(self, perf: float, theta: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(slope, intercept) per parameter row of the iso-coverage line
        log10 C_test = slope·log10 C_train + intercept at coverage `perf` (0 < perf < 1)."""
        if not 0 < perf < 1:
            raise ScalingLabError(f"target coverage must be strictly between 0 and 1, got {perf}")
        col = {n: theta[:, j] for j, n in enumerate(self.param_names)}
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = -col["alpha"] / col["beta"]
            intercept = (np.log(col["a"]) - math.log(-math.log(perf))) / (col["beta"] * LN10)
        return slope, intercept

    def inverse(self, target: ArrayLike, **known: float) -> FloatArray:
        """Train compute reaching coverage `target` with test-time compute `test_compute`:
        C_train = (a·C_test^(−β) / (−log c))^(1/α)."""
        self.check_fitted()
        if set(known) != {"test_compute"}:
            raise ScalingLabError(
                "pass_at_k_compute inverts for train_compute: give test_compute=..."
            )
        t = np.atleast_1d(np.asarray(target, dtype=float))
        if np.any(~np.isfinite(t)) or np.any(t <= 0) or np.any(t >= 1):
            raise ScalingLabError("target coverage must be strictly between 0 and 1")
        c_test = float(known["test_compute"])
        if not (math.isfinite(c_test) and c_test > 0):
            raise ScalingLabError("test_compute must be a positive number")
        p = self.params_
        if p["alpha"] <= 0:
            raise ScalingLabError("cannot invert: the fitted train-compute exponent is 0")
        out: FloatArray = (p["a"] * c_test ** (-p["beta"]) / -np.log(t)) ** (1.0 / p["alpha"])
        return out
