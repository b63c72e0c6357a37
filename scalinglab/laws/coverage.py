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
    variables: ClassVar[tuple[str, ...]] = ("train_compute", "test_compute")
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
        """Fit with both computes in units of their geometric means, then give `a` (and its
        draws, standard error, interval) in the original units: a = a'·s_train^α·s_test^β.
        In FLOPs a is ~e^60 and log a moves with α·log C_train ≈ 30·α: the solver, started
        from the same guess, stopped at a worse optimum and its bootstrap refits did not move;
        in rescaled units the problem is well conditioned (the law is unchanged by the
        rescaling, predictions and residuals are the same). With a fixed or tied parameter the
        fit is made in the original units."""
        x = self.check_X(X)
        require_budgets(self, x, [0, 1])
        if self.fixed or self.tied or x.shape[0] < len(self.param_names):
            super().fit(x, y, sample_weight)
            return self
        scale = np.exp(np.log(x).mean(axis=0))
        super().fit(x / scale, y, sample_weight)
        self._to_original_units(np.log(scale))
        return self

    def _to_original_units(self, log_scale: FloatArray) -> None:
        """Map a fit in rescaled units (X / exp(log_scale)) back: a = a'·exp(α·l_0 + β·l_1)."""
        from scalinglab.fitting.uncertainty import wald_summary

        names = self.param_names
        j_a, j_al, j_b = (names.index(n) for n in ("a", "alpha", "beta"))
        p = self.params_
        factor = math.exp(p["alpha"] * log_scale[0] + p["beta"] * log_scale[1])
        p["a"] = p["a"] * factor
        draws = self.bootstrap_params_
        if draws is not None:
            draws = np.array(draws, dtype=float)
            draws[:, j_a] *= np.exp(draws[:, j_al] * log_scale[0] + draws[:, j_b] * log_scale[1])
            self.bootstrap_params_ = draws
            tail = (1 - self.ci_level_) / 2
            with np.errstate(all="ignore"):
                self.stderr_["a"] = float(np.nanstd(draws[:, j_a], ddof=1))
                self.ci_["a"] = (
                    float(np.nanquantile(draws[:, j_a], tail)),
                    float(np.nanquantile(draws[:, j_a], 1 - tail)),
                )
                self.covariance_ = np.cov(draws.T)
        elif self.covariance_ is not None:
            # delta method: d a / d(a', alpha, beta) = (factor, a·l_0, a·l_1)
            jac = np.eye(len(names))
            jac[j_a, j_a] = factor
            jac[j_a, j_al] = p["a"] * log_scale[0]
            jac[j_a, j_b] = p["a"] * log_scale[1]
            self.covariance_ = jac @ np.asarray(self.covariance_) @ jac.T
            self.stderr_, self.ci_ = wald_summary(self, self.covariance_, self.ci_level_)

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
