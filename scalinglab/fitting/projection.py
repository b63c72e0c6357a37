"""Variable projection for least squares on y: the parameters a law is linear in are solved for,
not searched.

Under `ls_linear` a law such as E + A/N^α + B/D^β is ŷ = φ₀(x; θ) + Σ_j c_j φ_j(x; θ), linear in
c = (E, A, B) given the exponents θ = (α, β). For fixed θ the best c is a linear least-squares
solution, so the search need only cover θ: the reduced objective

    f(θ) = ½ ‖√w ⊙ (y − φ₀ − Φ ĉ(θ))‖²,   ĉ(θ) = argmin_c ‖√w ⊙ (y − φ₀ − Φ c)‖²

(Golub & Pereyra 1973, "The differentiation of pseudo-inverses and nonlinear least squares
problems whose variables separate"), with its gradient by automatic differentiation through a
QR factorisation of the column-scaled Φ. Fewer dimensions to search means fewer starts and no
start grid over the linear parameters: each exponent start gets its best coefficients.

A law offers this through `linear_parameters()`: the free parameters that enter linearly, each
as the coefficient itself ("identity", E or A) or as its logarithm ("exp", ζ in exp(ζ + η·log k),
whose coefficient is e^ζ). The projection is unbounded, so the fitter uses it to explore and then
polishes the full problem, bounds and all, from each projected point (scalinglab.fitting.fit).
The log objectives are not projected: on log residuals no parameter enters linearly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from scalinglab.fitting.model import FittableLaw

Tensor = torch.Tensor

# Ridge on the column-scaled coefficients: keeps R invertible (and the QR differentiable) when
# a θ makes two basis functions collinear (α → 0 makes A/N^α a second constant), far below any
# real residual.
RIDGE = 1e-12
# A coefficient the projection puts below a log-scale parameter's lower bound 0 starts at this
# share of the data's scale over the basis function's instead (log 0 is no place to start).
SMALL_SHARE = 1e-3


@dataclass(frozen=True)
class LinearSplit:
    """Which free parameters (indices into `free`) are linear coefficients, and how."""

    free: tuple[str, ...]
    linear: tuple[int, ...]
    nonlinear: tuple[int, ...]
    exp: tuple[bool, ...]  # per linear parameter: it is the log of its coefficient


def linear_split(law: FittableLaw, free: Sequence[str]) -> LinearSplit | None:
    """The split of `free` for variable projection, or None when the law is not fitted by least
    squares on y or offers no linear parameter among the free ones."""
    if law.objective != "ls_linear":
        return None
    offer = getattr(law, "linear_parameters", None)
    kinds: Mapping[str, str] = offer() if callable(offer) else {}
    linear, exp = [], []
    for j, name in enumerate(free):
        kind = kinds.get(name)
        # An exp-type coefficient on the log scale (a user's `log`) would be exp(exp(·)): skip.
        if kind == "identity" or (kind == "exp" and not law.param(name).log):
            linear.append(j)
            exp.append(kind == "exp")
    if not linear:
        return None
    nonlinear = tuple(j for j in range(len(free)) if j not in linear)
    return LinearSplit(tuple(free), tuple(linear), nonlinear, tuple(exp))


class Projection:
    """The reduced problem of one law on one data set (x (n, k), y (n,), weights (n,))."""

    def __init__(self, law: FittableLaw, split: LinearSplit, x: Tensor, y: Tensor, w: Tensor):
        self.law, self.split = law, split
        self.x, self.logx, self.y = x, torch.log(x), y
        self.sqrt_w = torch.sqrt(w.clamp_min(0.0))
        k = len(split.linear)
        # Solver coordinates of each coefficient at 0 and at 1, the rows that read off φ₀ and φ_j.
        zero, one = [], []
        for j, is_exp in zip(split.linear, split.exp, strict=True):
            logged = law.param(split.free[j]).log
            zero.append(-math.inf if (is_exp or logged) else 0.0)
            one.append(0.0 if (is_exp or logged) else 1.0)
        basis = torch.tensor([zero] * (k + 1), dtype=y.dtype)
        basis[1:] = torch.where(torch.eye(k, dtype=torch.bool), torch.tensor(one), basis[1:])
        self.basis = basis  # (k + 1, k): row 0 all zero, row j+1 the unit coefficient j

    def design(self, theta_nl: Tensor) -> tuple[Tensor, Tensor]:
        """(φ₀ (b, n), Φ (b, n, k)) at each row of the nonlinear parameters (solver coordinates),
        from k + 1 evaluations of the law in one batch."""
        b, k = theta_nl.shape[0], len(self.split.linear)
        full = theta_nl.new_empty(b, k + 1, len(self.split.free))
        full[:, :, list(self.split.nonlinear)] = theta_nl[:, None, :]
        full[:, :, list(self.split.linear)] = self.basis.to(theta_nl.dtype)
        flat = full.reshape(b * (k + 1), -1)
        law = self.law
        pred = law.linear_predict(law.expand(flat, self.split.free), self.x, self.logx)
        pred = pred.reshape(b, k + 1, -1)
        phi0 = pred[:, 0]
        return phi0, (pred[:, 1:] - phi0[:, None]).transpose(1, 2)

    def _solve(self, theta_nl: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(weighted residual (b, n + k) of the augmented system, ĉ (b, k), column norms)."""
        phi0, phi = self.design(theta_nl)
        k = phi.shape[-1]
        target = (self.y - phi0) * self.sqrt_w
        scaled = phi * self.sqrt_w[:, None]
        norms = scaled.norm(dim=1).clamp_min(1e-300)  # (b, k)
        unit = scaled / norms[:, None, :]
        ridge = math.sqrt(RIDGE) * torch.eye(k, dtype=unit.dtype).expand(unit.shape[0], k, k)
        a = torch.cat([unit, ridge], dim=1)
        rhs = torch.cat([target, target.new_zeros(target.shape[0], k)], dim=1)
        q, r = torch.linalg.qr(a)
        qtb = (q.transpose(1, 2) @ rhs.unsqueeze(-1)).squeeze(-1)
        resid = rhs - (q @ qtb.unsqueeze(-1)).squeeze(-1)
        c = torch.linalg.solve_triangular(r, qtb.unsqueeze(-1), upper=True).squeeze(-1)
        return resid, c / norms, norms

    def objective(self, theta_nl: Tensor, rows: Tensor) -> Tensor:
        """The reduced objective f(θ) (b,) for the solver (`rows` unused: weights are shared)."""
        resid, _, _ = self._solve(theta_nl)
        return 0.5 * (resid * resid).sum(-1)

    def full_theta(self, theta_nl: Tensor) -> Tensor:
        """Full solver rows: θ with the projected coefficients, each put inside its bounds."""
        with torch.no_grad():
            _, c, norms = self._solve(theta_nl)
            scale = float(torch.linalg.vector_norm(self.y * self.sqrt_w))
        law, split = self.law, self.split
        out = theta_nl.new_empty(theta_nl.shape[0], len(split.free))
        out[:, list(split.nonlinear)] = theta_nl
        for col, (j, is_exp) in enumerate(zip(split.linear, split.exp, strict=True)):
            name = split.free[j]
            lower, upper = law.param_bounds(name)
            small = SMALL_SHARE * scale / norms[:, col]  # a small positive coefficient
            small = torch.where(torch.isfinite(small) & (small > 0), small, 1.0)
            positive = is_exp or law.param(name).log
            values = []
            for coef, tiny in zip(c[:, col].tolist(), small.tolist(), strict=True):
                if not math.isfinite(coef) or (positive and coef <= 0):
                    coef = tiny
                natural = math.log(coef) if is_exp else coef
                values.append(law.to_solver(name, min(max(natural, lower), upper)))
            out[:, j] = torch.tensor(values, dtype=out.dtype)
        return out
