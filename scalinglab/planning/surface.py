"""A fitted law of model size N and tokens D, evaluated per parameter draw.

Planners work on rows: row i of a parameter matrix theta (b, n_params) is one draw of the fitted
law's parameters (the point estimate is one row). `LossSurface.loss(theta, N, D)` gives the law's
prediction for row i at the points N[i, :], D[i, :] — a different set of points per draw, which
the law's own `predict_draws` (all draws at the same points) cannot do. Chinchilla is evaluated
in closed form with numpy; any other law through its torch `log_predict`, in chunks of rows whose
(rows × rows·points) products are cheap, keeping the diagonal blocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from scalinglab.errors import ScalingLabError
from scalinglab.laws.base import FloatArray, ScalingLaw
from scalinglab.laws.chinchilla import Chinchilla

PARAMS, TOKENS = "params", "tokens"
_CHUNK_BUDGET = 250_000  # evaluations per torch call (rows × rows·points)


def is_closed_form_chinchilla(law: ScalingLaw) -> bool:
    """True for `chinchilla` itself (not a subclass that changes the formula)."""
    return isinstance(law, Chinchilla) and type(law).log_predict is Chinchilla.log_predict


def point_row(law: ScalingLaw) -> FloatArray:
    """The fitted parameters as one row (1, n_params), in `law.param_names` order."""
    law.check_fitted()
    return np.array([[law.params_[n] for n in law.param_names]], dtype=float)


@dataclass(frozen=True)
class Draws:
    """Parameter draws of a fit (rows), where they came from, and how many were dropped."""

    theta: FloatArray | None
    source: str  # "bootstrap", "covariance" or "none"

    @property
    def n(self) -> int:
        return 0 if self.theta is None else int(self.theta.shape[0])


def law_draws(law: ScalingLaw, use: bool = True, max_draws: int | None = None) -> Draws:
    """The fit's bootstrap draws (else covariance samples), finite rows only, optionally thinned
    to at most `max_draws` evenly spaced rows (numeric planners are costlier per draw)."""
    if not use:
        return Draws(None, "none")
    boot = getattr(law, "bootstrap_params_", None)
    source = "bootstrap" if boot is not None and len(boot) else "covariance"
    try:
        theta = np.asarray(law.parameter_draws(), dtype=float)
    except ScalingLabError:
        return Draws(None, "none")
    theta = theta[np.all(np.isfinite(theta), axis=1)]
    if theta.shape[0] < 2:
        return Draws(None, "none")
    if max_draws is not None and theta.shape[0] > max_draws:
        idx = np.linspace(0, theta.shape[0] - 1, max_draws).round().astype(int)
        theta = theta[idx]
    return Draws(theta, source)


class LossSurface:
    """L(N, D) of a fitted law, per draw; other variables of the law held at `known` values.

    The law must have the variables "params" and "tokens" (chinchilla, kaplan_nd,
    data_constrained, a user's law of N and D); every other variable must be given in `known`
    (e.g. unique_tokens for data_constrained).
    """

    def __init__(self, law: ScalingLaw, known: Mapping[str, float] | None = None) -> None:
        law.check_fitted()
        variables = tuple(law.variables)
        known = dict(known or {})
        if PARAMS not in variables or TOKENS not in variables:
            raise ScalingLabError(
                f"this query needs a law of model size and tokens (variables 'params' and "
                f"'tokens', e.g. chinchilla); the fit holds {law.name!r} with variables "
                f"{list(variables)}"
            )
        others = [v for v in variables if v not in (PARAMS, TOKENS)]
        missing = [v for v in others if v not in known]
        if missing:
            raise ScalingLabError(
                f"law {law.name!r} also depends on {missing}: give a value for it "
                "(e.g. unique_tokens for data_constrained)"
            )
        for name in known:
            if name not in others:
                raise ScalingLabError(f"law {law.name!r} has no variable {name!r} to hold fixed")
            value = float(known[name])
            if not np.isfinite(value) or value <= 0:
                raise ScalingLabError(f"{name} must be a positive number, got {value:g}")
        self.law = law
        self.known = {k: float(v) for k, v in known.items()}
        self.closed_form = is_closed_form_chinchilla(law)
        self._index = {n: j for j, n in enumerate(law.param_names)}

    def column(self, theta: FloatArray, name: str) -> FloatArray:
        """One parameter across rows, shaped (b, 1) to broadcast against points."""
        return theta[:, self._index[name] : self._index[name] + 1]

    def loss(self, theta: FloatArray, params: FloatArray, tokens: FloatArray) -> FloatArray:
        """Prediction of row i of theta at (params[i, j], tokens[i, j]); all arrays (b, m)."""
        n = np.asarray(params, dtype=float)
        d = np.asarray(tokens, dtype=float)
        if self.closed_form:
            col = self.column
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                return np.asarray(
                    col(theta, "E")
                    + col(theta, "A") * n ** -col(theta, "alpha")
                    + col(theta, "B") * d ** -col(theta, "beta"),
                    dtype=float,
                )
        return self._torch_loss(theta, n, d)

    def _torch_loss(self, theta: FloatArray, n: FloatArray, d: FloatArray) -> FloatArray:
        cols: dict[str, FloatArray] = {PARAMS: n, TOKENS: d}
        for v, value in self.known.items():
            cols[v] = np.full(n.shape, value)
        return evaluate_rows(self.law, theta, cols)


def evaluate_rows(
    law: ScalingLaw, theta: FloatArray, columns: Mapping[str, FloatArray]
) -> FloatArray:
    """Prediction of `law` for row i of theta at the points columns[var][i, :] (each (b, m)).

    Fast path: most laws' `log_predict` is elementwise, so parameters shaped (b·m,) against
    points shaped (b·m, k) give the b·m predictions directly. That is checked once per law
    class against the general path, which evaluates a chunk of c rows at all c·m of its points
    (c × c·m values) and keeps the diagonal blocks.
    """
    first = np.asarray(next(iter(columns.values())))
    b, m = first.shape
    x_np = np.stack(
        [np.broadcast_to(np.asarray(columns[v], dtype=float), (b, m)) for v in law.variables],
        axis=-1,
    )
    kind = type(law)
    if kind not in _ELEMENTWISE:
        _ELEMENTWISE[kind] = _check_elementwise(law, theta, x_np)
    if _ELEMENTWISE[kind]:
        return _elementwise(law, theta, x_np)
    return _diagonal(law, theta, x_np)


_ELEMENTWISE: dict[type, bool] = {}


def _elementwise(law: ScalingLaw, theta: FloatArray, x_np: FloatArray) -> FloatArray:
    b, m, k = x_np.shape
    x = torch.as_tensor(x_np.reshape(b * m, k), dtype=torch.float64)
    rows = np.repeat(theta, m, axis=0)
    p = {
        name: torch.as_tensor(rows[:, j], dtype=torch.float64)
        for j, name in enumerate(law.param_names)
    }
    with torch.no_grad():
        out = law.log_predict(p, x, torch.log(x))
    with np.errstate(over="ignore"):
        return np.exp(out.numpy().reshape(b, m))


def _diagonal(law: ScalingLaw, theta: FloatArray, x_np: FloatArray) -> FloatArray:
    b, m, k = x_np.shape
    out = np.empty((b, m))
    chunk = max(1, min(b, int(np.sqrt(_CHUNK_BUDGET / max(m, 1)))))
    for start in range(0, b, chunk):
        stop = min(b, start + chunk)
        c = stop - start
        x = torch.as_tensor(x_np[start:stop].reshape(c * m, k), dtype=torch.float64)
        p = {
            name: torch.as_tensor(theta[start:stop, j : j + 1], dtype=torch.float64)
            for j, name in enumerate(law.param_names)
        }
        with torch.no_grad():
            full = law.log_predict(p, x, torch.log(x)).reshape(c, c, m)
            diag = full[torch.arange(c), torch.arange(c)]
        with np.errstate(over="ignore"):
            out[start:stop] = np.exp(diag.numpy())
    return out


def _check_elementwise(law: ScalingLaw, theta: FloatArray, x_np: FloatArray) -> bool:
    """Does the elementwise fast path agree with the general one on a few rows and points?"""
    rows = theta[:3]
    pts = x_np[: rows.shape[0], :3]
    try:
        fast = _elementwise(law, rows, pts)
    except (RuntimeError, IndexError, ValueError, TypeError):
        return False
    slow = _diagonal(law, rows, pts)
    return bool(fast.shape == slow.shape and np.allclose(fast, slow, rtol=1e-10, equal_nan=True))
