"""Formula laws: any law written in one line, e.g. `FormulaLaw("E + A/N**alpha + B/D**beta",
variables=["N", "D"])` is Chinchilla (Hoffmann et al. 2022, arXiv:2203.15556, Approach 3).

The formula is parsed by scalinglab.expr.parse_formula (Python's `ast` and an allow-list: numbers,
names, + - * / ** (or ^), unary minus, parentheses, exp, log, log10, sqrt, abs, min, max and
where(condition, a, b)); it is never run as Python. Names listed in `variables` are the X columns,
in that order; every other name is a parameter. The checked tree is compiled to torch and evaluated
for a whole batch of parameter rows at once, so the batched solver, bootstrap, intervals and
`predict` work as for every other law.

Default bounds and starts, by where a parameter stands in the formula (first rule that applies):

- exponent: anywhere else in the exponent of `**` (alpha in A/N**alpha, N**-alpha, x**(1/f)):
  linear scale, bounds [0, 3], starts 0.5, 0.2, 1, 0.1, 2;
- signed exponent: the whole exponent of a variable outside any denominator (b in a*x**b + c,
  Hestness et al. 2017's α·m^β_g, where β_g < 0 is a decay): the notation leaves the sign to
  the data, so linear, bounds [−3, 3], starts −0.5, 0.5, −0.2, −1, 1 (a parameter that is also
  an exponent elsewhere is an exponent);
- coefficient: inside exp(), log() or log10() (b in exp(a + b*log(k))): linear, unbounded,
  starts 0, -1, 1, -0.1, 0.1;
- threshold: in a where() condition (c in where(N > c, ...)): linear, unbounded, starts at the
  median and quartiles of the variable it is compared with;
- offset: a term of the outermost sum (E in E + A/N**alpha): log scale, (0, inf), starts 0.5,
  0.9 and 0.1 times the smallest |y|;
- scale: anywhere else (A in A/N**alpha, Nc in (Nc/N)**a): log scale, (0, inf), starts 1e3, 1,
  1e6, 1e9, 1e-3, 1e12.

An exponent written under a division or negated is a magnitude: `A/N**alpha` and `a*x**-b`
are decays with alpha, b ≥ 0. `bounds` override the defaults (a log-scale parameter given a
negative lower bound is fitted on the linear scale), `log`
puts parameters on the log scale, `fixed` holds them, `starts` sets their start values. Each
parameter gets as many of its start values as fit in `n_starts` start points (the product over
parameters; default 512), and the `n_random_starts` option adds scrambled-Sobol starts inside the
bounds on top of them. A fit that ends on a default bound says so in a FitWarning.

Under `ls_linear` the parameters a formula is linear in (a factor of a term of the outermost sum,
or a summand of an exp() factor there) are solved for by least squares during the search
(`linear_parameters`, scalinglab.fitting.projection; option `variable_projection`) and take
one start value each.

Grouped fits: with `groups` (labels) and `shared` (parameter names), one law covers every group:
X carries one more column, the group's index into `groups`, and each parameter not in `shared`
becomes one parameter per group, named `name[label]`.
"""

from __future__ import annotations

import ast
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import torch
from numpy.typing import ArrayLike

from scalinglab.errors import ScalingLabError
from scalinglab.expr import ExpressionError, Formula, parse_formula
from scalinglab.laws.base import FloatArray, Param, ScalingLaw, Tensor

if TYPE_CHECKING:
    from scalinglab.laws.joint import JointFormulaLaw

DEFAULT_N_STARTS = 512

# Role -> start values, most useful first (a parameter takes the first k of them).
_EXPONENT_STARTS = (0.5, 0.2, 1.0, 0.1, 2.0)
_COEFFICIENT_STARTS = (0.0, -1.0, 1.0, -0.1, 0.1)
_OFFSET_FRACTIONS = (0.5, 0.9, 0.1)
_SCALE_STARTS = (1e3, 1.0, 1e6, 1e9, 1e-3, 1e12)
_SIGNED_EXPONENT_STARTS = (-0.5, 0.5, -0.2, -1.0, 1.0)
_ROLE_ORDER = ("exponent", "signed exponent", "coefficient", "threshold", "offset", "scale")
_EXPONENT_RANGES = {"exponent": (0.0, 3.0), "signed exponent": (-3.0, 3.0)}
_ROLE_RANGE = {
    "exponent": "[0, 3]",
    "signed exponent": "[-3, 3]",
    "coefficient": "unbounded",
    "threshold": "unbounded",
    "offset": "(0, inf), log scale",
    "scale": "(0, inf), log scale",
}


def _group_name(name: str, label: str) -> str:
    return f"{name}[{label}]"


def fixed_per_group(
    fixed: Mapping[str, float], grouped: Sequence[str], labels: Sequence[str]
) -> dict[str, float]:
    """`fixed` of a grouped law: a grouped parameter held fixed is held fixed in every group
    (`name[label]`); a shared one stays as it is."""
    out: dict[str, float] = {}
    for name, value in fixed.items():
        for key in [_group_name(name, g) for g in labels] if name in grouped else [name]:
            out[key] = value
    return out


class RoleDeclaredLaw(ScalingLaw):
    """What FormulaLaw and JointFormulaLaw share: the options of a law built from formulas, and
    parameters declared from their roles (module docstring) and the `bounds` and `log` options,
    a per-group copy `name[label]` taking its formula name's."""

    def __init__(
        self,
        *,
        log: Sequence[str] | None,
        n_starts: int,
        groups: Sequence[str] | None,
        shared: Sequence[str] | None,
        group_column: str,
        variable_projection: bool,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.log = log
        self.n_starts = n_starts
        self.variable_projection = variable_projection
        self.groups = groups
        self.shared = shared
        self.group_column = group_column

    def role(self, name: str) -> str:
        """exponent, coefficient, threshold, offset or scale (see the module docstring)."""
        raise NotImplementedError

    def base_param(self, name: str) -> str:
        """The formula's name of a (possibly per-group) parameter."""
        raise NotImplementedError

    def _param_order(self) -> Sequence[str]:
        """Every parameter's name, in the order the law declares them."""
        raise NotImplementedError

    def _declare_params(self) -> tuple[Param, ...]:
        log_names = set(self.log or ())
        return tuple(
            declared_param(
                n, self.role(n), self.given_bounds(n), bool({n, self.base_param(n)} & log_names)
            )
            for n in self._param_order()
        )

    def given_bounds(self, name: str) -> Sequence[float] | None:
        """The `bounds` option's, given for a parameter or, for the per-group copies of a
        parameter, for its formula name."""
        user = dict(self.bounds or {})
        return user.get(name, user.get(self.base_param(name)))


class FormulaLaw(RoleDeclaredLaw):
    """A law given by a formula string over the X columns `variables` (see the module docstring).

    FormulaLaw("E + A/N**alpha + B/D**beta", variables=["N", "D"]) is Hoffmann 2022's Chinchilla
    law; FormulaLaw("a * x**-b + c", variables=["x"]) is Hestness 2017's learning curve.
    """

    name = "formula"
    generic = True  # built from a formula: not listed by available_laws(), found by get_law()
    positive_x = False  # inputs may be zero or negative where the formula allows

    def __init__(
        self,
        formula: str,
        variables: Sequence[str],
        *,
        log: Sequence[str] | None = None,
        n_starts: int = DEFAULT_N_STARTS,
        groups: Sequence[str] | None = None,
        shared: Sequence[str] | None = None,
        group_column: str = "group",
        variable_projection: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(
            log=log,
            n_starts=n_starts,
            groups=groups,
            shared=shared,
            group_column=group_column,
            variable_projection=variable_projection,
            **options,
        )
        parsed = parse_formula(formula, option="formula")
        names = [str(v) for v in variables] if isinstance(variables, list | tuple) else []
        if not names:
            raise ScalingLabError("a formula law needs at least one variable (an X column)")
        if len(set(names)) != len(names):
            raise ScalingLabError(f"variables {names} name a column more than once")
        unused = [v for v in names if v not in parsed.names]
        if unused:
            raise ScalingLabError(
                f"variable {unused[0]!r} does not appear in the formula {formula!r}"
            )
        base_params = [n for n in parsed.names if n not in names]
        if not base_params:
            raise ScalingLabError(f"the formula {formula!r} has no parameter to fit")
        for n in base_params:
            if not n.isidentifier():
                raise ScalingLabError(
                    f"{n!r} is not a column, and a parameter name must be a plain identifier"
                )
        if n_starts < 1:
            raise ScalingLabError(f"n_starts must be >= 1, got {n_starts}")
        self._parsed = parsed
        self._variables = tuple(names)
        self._base_params = tuple(base_params)
        self._roles = _roles(parsed, set(names))
        self._linear = _linear_parameters(parsed, set(names))
        self._labels: tuple[str, ...] = ()
        self._grouped: tuple[str, ...] = ()
        if groups is not None:
            self._labels = tuple(str(g) for g in groups)
            if not self._labels or len(set(self._labels)) != len(self._labels):
                raise ScalingLabError("groups must be distinct labels, at least one")
            if group_column in names:
                raise ScalingLabError(
                    f"the group column {group_column!r} cannot also be a variable of the formula"
                )
            shared_set = set(shared or ())
            unknown = sorted(shared_set - set(base_params))
            if unknown:
                raise ScalingLabError(
                    f"shared parameter {unknown[0]!r} is not a parameter of the formula; its "
                    f"parameters are {base_params}"
                )
            self._grouped = tuple(n for n in base_params if n not in shared_set)
        elif shared:
            raise ScalingLabError("shared parameters need groups (fit one law per group)")
        known = {*base_params, *self._param_order()}
        for option, given in (("log", log), ("bounds", self.bounds), ("starts", self.starts)):
            for n in given or ():
                if n not in known:
                    raise ScalingLabError(
                        f"{option} names {n!r}, which is not a parameter of the formula; its "
                        f"parameters are {base_params}"
                    )
        if self.fixed and self._grouped:
            self.fixed = fixed_per_group(self.fixed, self._grouped, self._labels)
        # variables, params and formula are class-level constants of a registered law; a formula
        # law has its own, from its formula (instance attributes shadow the class's).
        vars(self).update(
            variables=(*names, group_column) if self._labels else tuple(names),
            params=self._declare_params(),
            formula=formula,
        )

    # --------------------------------------------------------------------------------------
    # Parameters
    # --------------------------------------------------------------------------------------
    def _param_order(self) -> list[str]:
        """Parameter names: per-group copies `name[label]` of the grouped ones, then the rest."""
        out: list[str] = []
        for n in self._base_params:
            if n in self._grouped:
                out.extend(_group_name(n, g) for g in self._labels)
            else:
                out.append(n)
        return out

    def base_param(self, name: str) -> str:
        """The formula's name of a (possibly per-group) parameter."""
        for n in self._grouped:
            if name.startswith(n + "[") and name.endswith("]"):
                return n
        return name

    def group_param_names(self, label: str) -> dict[str, str]:
        """A group's parameters: formula name -> this law's name (`name[label]`, or the shared
        name)."""
        if label not in self._labels:
            raise ScalingLabError(
                f"group {label!r} was not in the fit; its groups are {list(self._labels)}"
            )
        return {n: _group_name(n, label) if n in self._grouped else n for n in self._base_params}

    def role(self, name: str) -> str:
        """exponent, coefficient, threshold, offset or scale (see the module docstring)."""
        return self._roles[self.base_param(name)][0]

    def start_grid(self, x: FloatArray, y: FloatArray) -> dict[str, tuple[float, ...]]:
        """Start values per parameter: each role's values (module docstring), inside the bounds,
        as many per parameter as keep the product within n_starts. Per-group copies of a
        parameter start where one law fitted to all groups together ends."""
        values: dict[str, tuple[float, ...]] = {}
        for name in self._base_params:
            values[name] = self._candidates(name, x, y)
        if self._grouped:
            pooled = self._pooled_fit(x, y)
            for name in self._base_params:
                values[name] = (
                    (pooled[name],)
                    if name in self._grouped
                    else (pooled[name], *(v for v in values[name] if v != pooled[name]))
                )
        # Under variable projection a linear parameter is solved for at every start: one value
        # is enough, and the start budget goes to the others.
        projected = self.linear_parameters()
        for name in self._base_params:
            if self._first_copy(name) in projected:
                values[name] = values[name][:1]
        counts = _allocate(
            [len(values[n]) for n in self._base_params if n not in self._grouped], self.n_starts
        )
        sizes = dict(
            zip([n for n in self._base_params if n not in self._grouped], counts, strict=True)
        )
        grid: dict[str, tuple[float, ...]] = {}
        for name in self.param_names:
            base = self.base_param(name)
            grid[name] = values[base][: sizes.get(base, 1)]
        return grid

    def _candidates(self, name: str, x: FloatArray, y: FloatArray) -> tuple[float, ...]:
        """Start values of a formula parameter, most useful first."""
        role, compared = self._roles[name]
        lower, upper = self.param_bounds(self._first_copy(name))
        logged = self.param(self._first_copy(name)).log
        if self.bounds and name in self.bounds and math.isfinite(lower) and math.isfinite(upper):
            # inside user bounds: the middle, then the quarter points (geometric on a log scale)
            if logged and lower > 0:
                lo, hi = math.log(lower), math.log(upper)
                return tuple(math.exp(lo + f * (hi - lo)) for f in (0.5, 0.25, 0.75, 0.1, 0.9))
            return tuple(lower + f * (upper - lower) for f in (0.5, 0.25, 0.75, 0.1, 0.9))
        if role == "exponent":
            starts: tuple[float, ...] = _EXPONENT_STARTS
        elif role == "signed exponent":
            starts = _SIGNED_EXPONENT_STARTS
        elif role == "coefficient":
            starts = _COEFFICIENT_STARTS
        elif role == "threshold":
            if compared is not None and compared in self._variables:
                col = x[:, self._variables.index(compared)]
                starts = tuple(float(np.quantile(col, q)) for q in (0.5, 0.25, 0.75))
            else:
                starts = (0.0, 1.0, -1.0)
        elif role == "offset":
            low = float(np.min(np.abs(y))) or 1.0
            starts = tuple(f * low for f in _OFFSET_FRACTIONS)
        else:
            starts = _SCALE_STARTS
        return tuple(float(min(max(v, lower), upper)) for v in starts)

    def _first_copy(self, name: str) -> str:
        return _group_name(name, self._labels[0]) if name in self._grouped else name

    def _pooled_fit(self, x: FloatArray, y: FloatArray) -> dict[str, float]:
        """The formula fitted to all groups at once (every parameter shared): per-group starts."""
        options = self.get_options()
        for key in ("formula", "variables", "groups", "shared", "group_column"):
            options.pop(key)
        options["n_bootstrap"] = 0
        options["fixed"] = {self.base_param(k): v for k, v in (self.fixed or {}).items()} or None
        options["tied"] = None
        options["starts"] = None
        options["bounds"] = {
            k: v for k, v in (self.bounds or {}).items() if k in self._base_params
        } or None
        pooled = FormulaLaw(self.formula, self._variables, **options)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                pooled.fit(x[:, :-1], y)
            except ScalingLabError:
                return {n: self._candidates(n, x, y)[0] for n in self._base_params}
        return pooled.params_

    def linear_parameters(self) -> dict[str, str]:
        """The parameters the formula is linear in, for variable projection under `ls_linear`
        (scalinglab.fitting.projection): name -> "identity" (a factor of a term of the
        outermost sum: E, A in A/N**alpha) or "exp" (its log, as zeta in exp(zeta + eta*log(k))).
        Empty when the option `variable_projection` is off or the objective is not ls_linear."""
        return projectable(self, lambda name: self._linear.get(self.base_param(name)))

    # --------------------------------------------------------------------------------------
    # Evaluation
    # --------------------------------------------------------------------------------------
    def evaluate(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor | None = None) -> Tensor:
        """The formula's value (b, n) for parameter rows p[name] (b, 1) at x (n, k)."""
        if logx is None:
            logx = torch.log(x)
        compiler = _Evaluator(self, p, x, logx)
        value = compiler.number(self._parsed.tree.body)
        b = next(iter(p.values())).shape[0] if p else 1
        return torch.as_tensor(value, dtype=x.dtype).expand(b, x.shape[0])

    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        return torch.log(self.evaluate(p, x, logx))

    def linear_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        """The formula's value itself (it may be zero or negative: `ls_linear` fits it)."""
        return self.evaluate(p, x, logx)

    @classmethod
    def combine_groups(
        cls, fits: Mapping[str, FormulaLaw], group_column: str = "group"
    ) -> FormulaLaw:
        """One grouped law (no shared parameters) from the same formula fitted to each group on
        its own: its parameters are `name[label]`, its draws and covariance the groups' side by
        side (the groups' fits are independent)."""
        return combine_group_fits(fits, group_column)

    def group_codes(self, labels: Sequence[Any]) -> FloatArray:
        """The group column of X for these labels (their index into `groups`)."""
        index = {g: j for j, g in enumerate(self._labels)}
        out = np.empty(len(labels))
        for i, label in enumerate(labels):
            key = str(label)
            if key not in index:
                raise ScalingLabError(
                    f"group {key!r} was not in the fit; its groups are {list(self._labels)}"
                )
            out[i] = index[key]
        return out

    # --------------------------------------------------------------------------------------
    # Validation, notes, serialisation
    # --------------------------------------------------------------------------------------
    def check_X(self, X: ArrayLike) -> FloatArray:
        """X as a float (n, k) array in the order of `variables`, finite (a formula may take
        zero or negative inputs), its last column the group indices of a grouped law."""
        arr = super().check_X(X)
        if self._labels:
            codes = arr[:, -1]
            if np.any((codes != np.round(codes)) | (codes < 0) | (codes >= len(self._labels))):
                raise ScalingLabError(
                    f"the last column of X must hold group indices 0..{len(self._labels) - 1}"
                )
        return arr

    def fit_notes(self, x: FloatArray, y: FloatArray) -> list[str]:
        """Say which parameters ended on a default bound, and how to widen it."""
        notes = []
        for name in self.at_bounds_:
            base = self.base_param(name)
            if self.bounds and (name in self.bounds or base in self.bounds):
                continue
            role = self.role(name)
            notes.append(
                f"formula: {name} ended on its default bound ({role} parameters: "
                f"{_ROLE_RANGE[role]}, value {self.params_[name]:.6g}); if the optimum lies "
                f"beyond, pass bounds for it (CLI: --bounds {base}=LOW:HIGH)"
                + ("; a decay is written A/N**alpha or a*x**-b" if role == "exponent" else "")
            )
        return notes

    def get_options(self) -> dict[str, Any]:
        options = {
            "formula": self.formula,
            "variables": list(self._variables),
            "log": list(self.log) if self.log else None,
            "n_starts": self.n_starts,
            "groups": list(self._labels) if self._labels else None,
            "shared": list(self.shared) if self.shared else None,
            "group_column": self.group_column,
            "variable_projection": self.variable_projection,
        }
        options.update(super().get_options())
        return options

    def __repr__(self) -> str:
        inner = f"{self.formula!r}, variables={list(self._variables)}"
        if hasattr(self, "params_"):
            inner += ", " + ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"FormulaLaw({inner})"


LawT = TypeVar("LawT", bound=ScalingLaw)


def combine_group_fits(fits: Mapping[str, LawT], group_column: str = "group") -> LawT:
    """One grouped law from the same law fitted to each group on its own (FormulaLaw, or
    JointFormulaLaw: a class whose options take `groups`, `shared` and `group_column`, and whose
    grouped parameters are `name[label]`). Nothing is shared: each group's parameter `n` is
    `n[label]`; the draws and covariance are the groups' side by side (the fits are
    independent); objectives and point counts add up."""
    labels = list(fits)
    first = fits[labels[0]]
    options = first.get_options()
    options.update(groups=labels, shared=None, group_column=group_column, fixed=None)
    options["bounds"] = {k: v for k, v in (first.bounds or {}).items()} or None
    law = type(first)(**options)
    columns = {n: j for j, n in enumerate(law.param_names)}
    k = len(law.param_names)
    law.params_, law.stderr_, law.ci_ = {}, {}, {}
    law.covariance_ = np.zeros((k, k))
    n_draws = [
        0 if f.bootstrap_params_ is None else len(f.bootstrap_params_) for f in fits.values()
    ]
    draws = np.full((min(n_draws), k), np.nan) if min(n_draws) > 0 else None
    law.at_bounds_, law.warnings_ = [], []
    for label, fit in fits.items():
        fit.check_fitted()
        index = [columns[_group_name(n, label)] for n in fit.param_names]
        for n in fit.param_names:
            full = _group_name(n, label)
            law.params_[full] = fit.params_[n]
            law.stderr_[full] = fit.stderr_[n]
            law.ci_[full] = fit.ci_[n]
        if fit.covariance_ is not None:
            law.covariance_[np.ix_(index, index)] = fit.covariance_
        else:
            law.covariance_[np.ix_(index, index)] = np.nan
        if draws is not None and fit.bootstrap_params_ is not None:
            draws[:, index] = fit.bootstrap_params_[: len(draws)]
        law.at_bounds_ += [_group_name(n, label) for n in fit.at_bounds_]
        law.warnings_ += [f"group {label}: {w}" for w in fit.warnings_]
    law.bootstrap_params_ = draws
    law.ci_level_ = first.ci_level_
    law.objective_ = float(sum(f.objective_ for f in fits.values()))
    law.n_points_ = int(sum(f.n_points_ for f in fits.values()))
    law.converged_ = all(f.converged_ for f in fits.values())
    return law


def declared_param(name: str, role: str, bounds: Sequence[float] | None, in_log: bool) -> Param:
    """A formula parameter on its role's default scale and range (module docstring): the log
    scale for an offset or a scale, or when named in `log` (`in_log`), but not when its given
    `bounds` go below 0 (a signed range: the linear scale); an exponent's range by its role,
    (0, inf) on the log scale, unbounded otherwise."""
    signed = bounds is not None and float(bounds[0]) < 0
    logged = in_log or (role in ("offset", "scale") and not signed)
    lower, upper = _EXPONENT_RANGES.get(role, (0.0 if logged else -math.inf, math.inf))
    if logged:
        lower = max(lower, 0.0)
    return Param(name, lower=lower, upper=upper, log=logged, doc=role)


def _allocate(available: Sequence[int], budget: int) -> list[int]:
    """How many start values each parameter gets: one each, then one more to each in turn
    while the product of the counts stays within `budget` (and values remain)."""
    counts = [1] * len(available)
    grew = True
    while grew:
        grew = False
        for j in range(len(counts)):
            if counts[j] >= available[j]:
                continue
            trial = math.prod(counts) // counts[j] * (counts[j] + 1)
            if trial <= budget:
                counts[j] += 1
                grew = True
    return counts


def _roles(parsed: Formula, variables: set[str]) -> dict[str, tuple[str, str | None]]:
    """Each parameter's role (module docstring) and, for a threshold, the variable it is compared
    with."""
    found: dict[str, set[str]] = {}
    compared_with: dict[str, str] = {}

    def mark(node: ast.AST, role: str) -> None:
        for child in ast.walk(node):
            if isinstance(child, ast.Name):
                name = parsed.name_of(child)
                if name not in variables:
                    found.setdefault(name, set()).add(role)

    def is_variable(node: ast.AST) -> bool:
        return isinstance(node, ast.Name) and parsed.name_of(node) in variables

    def visit(node: ast.AST, top_sum: bool, below: bool = False) -> None:
        """`below`: under a division's denominator, where a power is written as a decay."""
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Pow):
                bare = isinstance(node.right, ast.Name) and not is_variable(node.right)
                signed = bare and is_variable(node.left) and not below
                mark(node.right, "signed exponent" if signed else "exponent")
                visit(node.left, False, below)
                return
            in_sum = top_sum and isinstance(node.op, ast.Add | ast.Sub)
            visit(node.left, in_sum, below)
            visit(node.right, in_sum, below or isinstance(node.op, ast.Div))
        elif isinstance(node, ast.UnaryOp):
            visit(node.operand, top_sum, below)
        elif isinstance(node, ast.Call):
            func = node.func.id if isinstance(node.func, ast.Name) else ""
            for j, arg in enumerate(node.args):
                if func in ("exp", "log", "log10"):
                    mark(arg, "coefficient")
                elif func == "where" and j == 0:
                    mark(arg, "threshold")
                    for cmp in ast.walk(arg):
                        if isinstance(cmp, ast.Compare):
                            operands = [cmp.left, *cmp.comparators]
                            names = [parsed.name_of(o) for o in operands if isinstance(o, ast.Name)]
                            var = next((n for n in names if n in variables), None)
                            for n in names:
                                if var is not None and n not in variables:
                                    compared_with.setdefault(n, var)
                else:
                    visit(arg, top_sum and func == "where", below)  # where's branches: values
        elif isinstance(node, ast.Name):
            name = parsed.name_of(node)
            if name not in variables:
                found.setdefault(name, set()).add("offset" if top_sum else "scale")

    visit(parsed.tree.body, True)
    out: dict[str, tuple[str, str | None]] = {}
    for name, roles in found.items():
        role = next(r for r in _ROLE_ORDER if r in roles)
        out[name] = (role, compared_with.get(name))
    return out


def projectable(
    law: FormulaLaw | JointFormulaLaw, kind_of: Callable[[str], str | None]
) -> dict[str, str]:
    """A formula law's `linear_parameters()`: each parameter's kind (`kind_of`), under
    `ls_linear` with `variable_projection` on, leaving out tied parameters (a tie can make a
    linear parameter also nonlinear)."""
    if not law.variable_projection or law.objective != "ls_linear":
        return {}
    tied = {*(law.tied or {}), *(law.tied or {}).values()}
    out: dict[str, str] = {}
    for name in law.param_names:
        kind = kind_of(name)
        if kind is not None and name not in tied and law.base_param(name) not in tied:
            out[name] = kind
    return out


def _linear_parameters(parsed: Formula, variables: set[str]) -> dict[str, str]:
    """Parameters the formula is linear in, jointly: at most one per term of the outermost sum,
    a factor of that term (its numerator when divided), either the name itself ("identity") or
    a summand of an exp() factor ("exp": the coefficient is e^name); each appears nowhere else
    in the formula."""
    counts: dict[str, int] = {}
    for node in ast.walk(parsed.tree.body):
        if isinstance(node, ast.Name):
            counts[parsed.name_of(node)] = counts.get(parsed.name_of(node), 0) + 1

    def alone(node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            name = parsed.name_of(node)
            if name not in variables and counts[name] == 1:
                return name
        return None

    def split(node: ast.AST, ops: tuple[type, ...]) -> list[ast.AST]:
        """The operands of a chain of `ops` (a unary sign is looked through)."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            return split(node.operand, ops)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ops):
            right = [] if isinstance(node.op, ast.Div) else split(node.right, ops)
            return [*split(node.left, ops), *right]
        return [node]

    out: dict[str, str] = {}
    for term in split(parsed.tree.body, (ast.Add, ast.Sub)):
        for factor in split(term, (ast.Mult, ast.Div)):
            name = alone(factor)
            if name is not None:
                out[name] = "identity"
                break
            if (
                isinstance(factor, ast.Call)
                and isinstance(factor.func, ast.Name)
                and factor.func.id == "exp"
                and len(factor.args) == 1
            ):
                # only summands added with +: exp(-z + ...) has the coefficient e^-z
                summands = _plus_summands(factor.args[0])
                name = next((n for n in map(alone, summands) if n is not None), None)
                if name is not None:
                    out[name] = "exp"
                    break
    return out


def _plus_summands(node: ast.AST) -> list[ast.AST]:
    """The operands of a chain of + (a - ends the chain on its right-hand operand)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [*_plus_summands(node.left), *_plus_summands(node.right)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub):
        return _plus_summands(node.left)
    return [node]


class _Evaluator:
    """Evaluates a checked formula tree in torch for a batch of parameter rows."""

    def __init__(self, law: FormulaLaw, p: Mapping[str, Tensor], x: Tensor, logx: Tensor):
        self.law = law
        self.p = p
        self.x = x
        self.logx = logx
        self.positive = [bool(v) for v in (x > 0).all(dim=0).tolist()]
        self.index = {v: j for j, v in enumerate(law._variables)}
        self.codes = x[:, -1].long() if law._labels else None

    def tensor(self, value: Tensor | float) -> Tensor:
        return value if isinstance(value, Tensor) else torch.tensor(value, dtype=self.x.dtype)

    def name(self, node: ast.Name) -> Tensor:
        name = self.law._parsed.name_of(node)
        if name in self.index:
            return self.x[:, self.index[name]]
        if name in self.law._grouped:
            assert self.codes is not None
            copies = [self.p[_group_name(name, g)] for g in self.law._labels]
            return torch.cat(copies, dim=1)[:, self.codes]
        return self.p[name]

    def number(self, node: ast.AST) -> Tensor | float:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp):
            value = self.number(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp):
            return self.binary(node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self.call(node.func.id, node.args)
        raise ExpressionError(f"formula: cannot evaluate {type(node).__name__}")  # not reached

    def binary(self, node: ast.BinOp) -> Tensor | float:
        if isinstance(node.op, ast.Pow):
            return self.power(node.left, node.right)
        left, right = self.number(node.left), self.number(node.right)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if not isinstance(left, Tensor) and not isinstance(right, Tensor):
            with np.errstate(all="ignore"):
                return float(np.float64(left) / np.float64(right))
        return self.tensor(left) / right

    def power(self, base_node: ast.AST, exp_node: ast.AST) -> Tensor | float:
        exponent = self.number(exp_node)
        if isinstance(base_node, ast.Name):
            name = self.law._parsed.name_of(base_node)
            j = self.index.get(name)
            if j is not None and self.positive[j]:
                # a positive column: x**e = exp(e·log x), with log x computed once per fit
                return torch.exp(self.tensor(exponent) * self.logx[:, j])
        base = self.number(base_node)
        if not isinstance(base, Tensor) and not isinstance(exponent, Tensor):
            with np.errstate(all="ignore"):
                return float(np.power(np.float64(base), np.float64(exponent)))
        if not isinstance(base, Tensor) and base > 0:
            return torch.exp(self.tensor(exponent) * math.log(base))
        return torch.pow(self.tensor(base), exponent)

    def call(self, func: str, args: list[ast.expr]) -> Tensor:
        if func == "where":
            cond = self.condition(args[0])
            return torch.where(cond, self.tensor(self.number(args[1])), self.number(args[2]))
        values = [self.tensor(self.number(a)) for a in args]
        if func in ("min", "max"):
            pick: Callable[[Tensor, Tensor], Tensor] = (
                torch.minimum if func == "min" else torch.maximum
            )
            out = values[0]
            for v in values[1:]:
                out = pick(out, v)
            return out
        unary: dict[str, Callable[[Tensor], Tensor]] = {
            "exp": torch.exp,
            "log": torch.log,
            "log10": torch.log10,
            "sqrt": torch.sqrt,
            "abs": torch.abs,
        }
        return unary[func](values[0])

    def condition(self, node: ast.AST) -> Tensor:
        if isinstance(node, ast.BoolOp):
            parts = [self.condition(v) for v in node.values]
            out = parts[0]
            for part in parts[1:]:
                out = out & part if isinstance(node.op, ast.And) else out | part
            return out
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ~self.condition(node.operand)
        assert isinstance(node, ast.Compare)
        compare: dict[type[ast.cmpop], Callable[[Tensor, Tensor | float], Tensor]] = {
            ast.Lt: torch.lt,
            ast.LtE: torch.le,
            ast.Gt: torch.gt,
            ast.GtE: torch.ge,
            ast.Eq: torch.eq,
            ast.NotEq: torch.ne,
        }
        left = self.tensor(self.number(node.left))
        result: Tensor | None = None
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.tensor(self.number(comparator))
            step = compare[type(op)](left, right)
            result = step if result is None else result & step
            left = right
        assert result is not None
        return result
