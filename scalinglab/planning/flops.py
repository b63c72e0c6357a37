"""FLOP accounting: how much compute a model of N parameters trained on D tokens costs.

The default is the transformer rule of thumb C ≈ 6·N·D (Kaplan et al. 2020, arXiv:2001.08361,
Sec. 2.1: 2·N FLOPs per token forward, twice that backward; Hoffmann et al. 2022 use it for
their allocation). `FlopModel(k)` is C = k·N·D for another constant; `FlopModel(function=f)`
takes any f(N, D) → C (numpy arrays in, array out) that grows with N and with D, e.g. one that
adds attention FLOPs; `FlopExpression` is such an f written as arithmetic in N and D, what `plan
--flops-function` reads (parsed with the expression allow-list of scalinglab.expr, never run as
code). Inference costs 2·N FLOPs per token (Sardana et al. 2023).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from scalinglab.errors import ScalingLabError
from scalinglab.expr import Filter, parse_filter
from scalinglab.laws.base import FloatArray
from scalinglab.planning._checks import positive_array

FlopFunction = Callable[[FloatArray, FloatArray], FloatArray]

TRAIN_FLOPS_PER_PARAM_TOKEN = 6.0  # Kaplan 2020, Sec. 2.1; Hoffmann 2022, Sec. 3
INFERENCE_FLOPS_PER_PARAM_TOKEN = 2.0  # forward pass only (Sardana 2023, Sec. 2)

_LOG_LO, _LOG_HI = np.log(1e-30), np.log(1e80)
FLOP_VARIABLES = ("N", "D")  # the names a FlopExpression may use: parameters and tokens


@dataclass(frozen=True)
class FlopExpression:
    """C(N, D) as arithmetic in N (parameters) and D (tokens), e.g. "6*N*D + 2e4*D" (C = 6·N·D
    plus a per-token cost that does not scale with N): a FlopFunction that a user writes on the
    command line. Parsed and checked by the allow-list of scalinglab.expr (numbers, N, D and
    + − · / **; no calls, names or attributes beyond those), never handed to eval or an import."""

    text: str
    option: str = "--flops-function"
    # parsed once: a plan's root solves call the function about 1,400 times
    parsed: Filter = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parsed = parse_filter(self.text, self.option, "expression", "'6*N*D'")
        unknown = sorted(parsed.column_names() - set(FLOP_VARIABLES))
        if unknown:
            raise ScalingLabError(
                f"{self.option} may name N (parameters) and D (tokens) only, not {unknown[0]!r}; "
                "write e.g. '6*N*D + 2e4*D'"
            )
        object.__setattr__(self, "parsed", parsed)  # frozen: set once, here

    def __call__(self, params: FloatArray, tokens: FloatArray) -> FloatArray:
        n = np.asarray(params, dtype=float)
        frame = pd.DataFrame({"N": n.ravel(), "D": np.asarray(tokens, dtype=float).ravel()})
        return self.parsed.numbers(frame, self.option).reshape(n.shape)


@dataclass(frozen=True)
class FlopModel:
    """Training compute C(N, D): k·N·D, or a user function of (N, D).

    `linear` is True for k·N·D; the closed-form Chinchilla allocation needs it, every other
    planner works with either.
    """

    k: float = TRAIN_FLOPS_PER_PARAM_TOKEN
    function: FlopFunction | None = None

    def __post_init__(self) -> None:
        if self.function is None:
            if not (np.isfinite(self.k) and self.k > 0):
                raise ScalingLabError(f"FLOPs per parameter per token must be > 0, got {self.k}")
            return
        # A user's function is checked once on known sizes before any plan relies on it: it
        # must return one positive number per (N, D) and grow with N and with D.
        n = np.array([1e8, 1e9, 1e8])
        d = np.array([1e10, 1e10, 1e11])
        c = self.compute(n, d)
        if not (c[1] > c[0] and c[2] > c[0]):
            raise ScalingLabError(
                f"flop function {self.describe()} must grow with N and with D; "
                f"it gave {c[0]:.3g}, {c[1]:.3g} (10x N), {c[2]:.3g} (10x D)"
            )

    @property
    def linear(self) -> bool:
        return self.function is None

    def describe(self) -> str:
        if self.function is None:
            return f"C = {self.k:g}·N·D"
        if isinstance(self.function, FlopExpression):
            return f"C = {self.function.text}"
        return f"C = {getattr(self.function, '__name__', 'f')}(N, D)"

    def compute(self, params: ArrayLike, tokens: ArrayLike) -> FloatArray:
        """C for N parameters trained on D tokens."""
        n = np.asarray(params, dtype=float)
        d = np.asarray(tokens, dtype=float)
        if self.function is None:
            return self.k * n * d
        n, d = np.broadcast_arrays(n, d)
        try:
            out = np.asarray(self.function(n, d), dtype=float)
        except ScalingLabError:  # a FlopExpression says itself what is wrong
            raise
        except Exception as exc:  # a user's function may raise anything; report it in one line
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise ScalingLabError(
                f"flop function {self.describe()} failed: {type(exc).__name__}: {first}"
            ) from None
        if out.shape != n.shape or not np.all(out > 0):  # NaN fails too; inf is allowed
            raise ScalingLabError(
                f"flop function {self.describe()} must return one positive number of "
                f"FLOPs per (N, D) pair (shape {n.shape}), got {_summary(out)}"
            )
        return out

    def tokens(self, compute: ArrayLike, params: ArrayLike) -> FloatArray:
        """D such that C(N, D) = compute (D = C/(k·N) for the linear model)."""
        c = np.asarray(compute, dtype=float)
        n = np.asarray(params, dtype=float)
        if self.function is None:
            return c / (self.k * n)
        c, n = np.broadcast_arrays(c, n)
        return self._solve(c, lambda logd: self.compute(n, np.exp(logd)))

    def params(self, compute: ArrayLike, tokens: ArrayLike) -> FloatArray:
        """N such that C(N, D) = compute."""
        c = np.asarray(compute, dtype=float)
        d = np.asarray(tokens, dtype=float)
        if self.function is None:
            return c / (self.k * d)
        c, d = np.broadcast_arrays(c, d)
        return self._solve(c, lambda logn: self.compute(np.exp(logn), d))

    @staticmethod
    def _solve(c: FloatArray, fun: Callable[[FloatArray], FloatArray]) -> FloatArray:
        """Bisection on log of the unknown, elementwise; fun must increase with it."""
        lo = np.full(c.shape, _LOG_LO)
        hi = np.full(c.shape, _LOG_HI)
        for _ in range(120):
            mid = 0.5 * (lo + hi)
            above = fun(mid) > c
            hi = np.where(above, mid, hi)
            lo = np.where(above, lo, mid)
            if np.all(hi - lo < 1e-13):
                break
        return np.asarray(np.exp(0.5 * (lo + hi)), dtype=float)


def search_budgets(flops: FlopModel) -> tuple[float, float]:
    """(lowest, highest) budget in FLOPs that the planners search for a target loss or a model
    size: 1e2 to 1e45, the low end raised to a decade above C(1, 1) where a flop function charges
    more than 10 FLOPs for one parameter on one token (e.g. 6*N*D + 2e4*D): below C(1, 1) no
    model can be trained at all, and just above it only a few parameters or tokens."""
    one = float(flops.compute(1.0, 1.0))
    return max(1e2, 10.0 * one), 1e45


def _summary(values: FloatArray) -> str:
    if values.shape == ():
        return f"the scalar {float(values):g}"
    return f"shape {values.shape}, values {np.array2string(values.reshape(-1)[:3], precision=3)}"


def check_budget(compute: ArrayLike, name: str = "compute budget") -> FloatArray:
    """Budgets as a 1-D float array, each finite and > 0 (else a one-line ScalingLabError)."""
    c = np.atleast_1d(np.asarray(compute, dtype=float)).reshape(-1)
    if c.size == 0:
        raise ScalingLabError(f"give at least one {name}")
    bad = ~np.isfinite(c) | (c <= 0)
    if bad.any():
        raise ScalingLabError(f"the {name} must be a positive number of FLOPs, got {c[bad][0]:g}")
    return c


def run_compute(
    flops: FlopModel,
    params: FloatArray,
    compute: ArrayLike | None,
    tokens: ArrayLike | None,
    unit: str,
) -> tuple[FloatArray, FloatArray | None]:
    """(C, D) of each run (or row) of N = `params`: C as given, else C = flops.compute(N, D);
    D is None when no tokens are given. `unit` names a run in the error when neither is."""
    d = None if tokens is None else positive_array("tokens", tokens, params.size)
    if compute is not None:
        c = positive_array("compute", compute, params.size)
    elif d is not None:
        c = flops.compute(params, d)
    else:
        raise ScalingLabError(f"give the FLOPs of each {unit} (compute) or its tokens")
    return c, d
