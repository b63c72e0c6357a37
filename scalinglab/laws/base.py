"""The ScalingLaw base class and the law registry.

Conventions (scikit-learn's, without depending on it): the constructor only stores options;
`fit(X, y, sample_weight=None)` returns `self`; what fitting estimates ends in an underscore
(`params_`, `stderr_`, `ci_`, `bootstrap_params_`, `converged_`, ...). Each law declares its
parameters as data (`Param`: name, bounds, log scale, start grid) and writes its formula once, as
`log_predict`, in torch so that one batched solver (scalinglab.fitting.solver) fits every law.

A subclass that sets `name` registers itself, so a user's own law works from the CLI by name
once its module is imported.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from numpy.typing import ArrayLike

from scalinglab.errors import FitWarning, ScalingLabError
from scalinglab.fitting.calibration import Calibration, column_spread
from scalinglab.fitting.fit import fit_law
from scalinglab.fitting.inverse import invert_monotone
from scalinglab.fitting.objectives import LOG_OBJECTIVES
from scalinglab.fitting.uncertainty import (
    DEFAULT_CI_LEVEL,
    check_bootstrap,
    covariance_draws,
    draw_quantile,
)
from scalinglab.types import FloatArray, IntArray

Tensor = torch.Tensor

_REGISTRY: dict[str, type[ScalingLaw]] = {}

OBJECTIVES = ("huber", "ls_log", "ls_linear")
FLOAT32_MAX = float(np.finfo(np.float32).max)  # the largest fixed value the explore pass holds


def _as_float(value: object) -> float:
    """value as a float; NaN when it is not a number."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


# What a fit-file option must be, by its annotation in the law's __init__ (None never reaches
# the check: from_dict drops null options, so "int | None" is checked as "int").
_OPTION_KINDS: dict[str, tuple[str, Any]] = {
    "int": ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "float": ("a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "str": ("text", lambda v: isinstance(v, str)),
    "Sequence[str]": (
        "a list of text",
        lambda v: isinstance(v, list | tuple) and all(isinstance(e, str) for e in v),
    ),
}


def _init_options(law_cls: type) -> dict[str, inspect.Parameter]:
    """The keyword options a law's constructor accepts, walking up while one passes **options on.

    From the signatures rather than get_options(): a formula law cannot be built without the
    very options being checked."""
    found: dict[str, inspect.Parameter] = {}
    for klass in law_cls.__mro__:
        if "__init__" not in vars(klass) or klass is object:
            continue
        _self, *params = inspect.signature(vars(klass)["__init__"]).parameters.values()
        for prm in params:
            if prm.kind is not inspect.Parameter.VAR_KEYWORD:
                found.setdefault(prm.name, prm)  # the subclass's default wins
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            break
    return found


def _whole(value: object) -> object:
    """A float that is a whole number (200.0, as a JSON writer other than Python's may put it)
    as that int; anything else as it is."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    return value


def _check_file_options(
    law_cls: type[ScalingLaw], data: Mapping[str, Any], options: Mapping[str, Any]
) -> dict[str, Any]:
    """The options of a fit file, whole-number options written as 200.0 read as 200; an
    unknown, missing or mistyped option is named in the file's own terms."""
    accepted = _init_options(law_cls)
    bad = f"fit file has bad options for {law_cls.name}"  # the wording of the fallback too
    unknown = [k for k in options if k not in accepted]
    if unknown:
        raise ScalingLabError(f"{bad}: unknown {unknown}; its options are {sorted(accepted)}")
    required = [
        name
        for name, prm in accepted.items()
        if prm.default is inspect.Parameter.empty and name not in options
    ]
    if required:
        misplaced = [name for name in required if name in data]
        raise ScalingLabError(
            f"{bad}: missing {required} (they go under 'options')"
            + (f"; move {misplaced} from the top level into 'options'" if misplaced else "")
        )
    checked = dict(options)
    for name, value in options.items():
        annotation = accepted[name].annotation
        text = annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
        kind_name = text.removesuffix(" | None")
        if kind_name == "int":
            value = checked[name] = _whole(value)
        kind = _OPTION_KINDS.get(kind_name)
        if kind is not None and not kind[1](value):
            raise ScalingLabError(f"{bad}: {name!r} must be {kind[0]}, got {value!r}")
    return checked


@dataclass(frozen=True)
class Param:
    """One parameter of a law, declared as data (lmfit-style).

    `log=True` means the solver works with log(value): the parameter is a positive scale, and a
    start grid spanning orders of magnitude is natural. `grid` holds start values in natural units;
    an empty grid means "start from the law's guess()".
    """

    name: str
    lower: float = -math.inf
    upper: float = math.inf
    log: bool = False
    grid: tuple[float, ...] = ()
    doc: str = ""

    def __post_init__(self) -> None:
        if self.log and self.lower < 0:
            raise ValueError(f"log-scale parameter {self.name} must have lower bound >= 0")


def get_law(name: str) -> type[ScalingLaw]:
    """The law class registered under `name` (see `available_laws()`)."""
    _load_builtin_laws()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(available_laws())
        raise ScalingLabError(f"unknown law {name!r}; choose one of: {known}") from None


def available_laws() -> list[str]:
    """Names of every registered law that is built without arguments (not `formula`, whose form
    is given when it is built: scalinglab.laws.formula.FormulaLaw)."""
    _load_builtin_laws()
    return sorted(name for name, cls in _REGISTRY.items() if not cls.generic)


def _load_builtin_laws() -> None:
    # Importing the package registers the built-in laws; and `formula`, which fit files name.
    import scalinglab.laws.formula  # noqa: F401


class ScalingLaw:
    """Base class of every scaling law.

    Subclasses set `name`, `variables` (the X columns, in order), `params` (tuple of `Param`) and
    implement `log_predict(p, x, logx)`: the log of the prediction for a batch of parameter
    vectors, where each p[name] has shape (b, 1) and x, logx have shape (n, k); result (b, n).

    Options (stored by the constructor, used by `fit`):
      objective: "huber" (Huber loss on log residuals, Hoffmann 2022 / Besiroglu 2024), "ls_log"
        (least squares on log residuals) or "ls_linear" (least squares on y).
      delta: the Huber threshold (default 1e-3, as Hoffmann 2022).
      fixed: {name: value} parameters held fixed.
      tied: {name: other} parameters set equal to another parameter.
      bounds: {name: (lower, upper)} overriding the declared bounds.
      starts: {name: [values]} overriding the declared start grid (natural units).
      n_random_starts: that many more starts, drawn from a scrambled Sobol sequence inside the
        bounds (seeded by random_state), on top of the grid: a law of many parameters has more
        than its grid's few points (default 0).
      n_bootstrap: resamples for standard errors, intervals and prediction bands (0: none; the
        standard errors then come from the Gauss-Newton covariance of the log residuals).
      random_state: seed of the bootstrap.
      ci_level: level of the parameter intervals `ci_` (default 0.9, the level of the prediction
        intervals; bootstrap percentiles, else Wald intervals on the solver's scale).
      max_iter, tol: solver limits.
    """

    name: ClassVar[str] = ""
    variables: ClassVar[tuple[str, ...]] = ("x",)
    params: ClassVar[tuple[Param, ...]] = ()
    formula: ClassVar[str] = ""
    # False for a law that never takes the log of its inputs: X may then hold zeros (a mixture
    # proportion of 0) or negative values.
    positive_x: ClassVar[bool] = True
    # Variables the law never takes the log of (a signed column such as Elo), checked only for
    # being finite.
    signed_variables: ClassVar[tuple[str, ...]] = ()
    # True for a law whose form is given when it is built (FormulaLaw): get_law() finds it (fit
    # files name it), available_laws() leaves it out.
    generic: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            _REGISTRY[cls.name] = cls

    def __init__(
        self,
        *,
        objective: str = "huber",
        delta: float = 1e-3,
        fixed: Mapping[str, float] | None = None,
        tied: Mapping[str, str] | None = None,
        bounds: Mapping[str, tuple[float, float]] | None = None,
        starts: Mapping[str, Sequence[float]] | None = None,
        n_random_starts: int = 0,
        n_bootstrap: int = 0,
        random_state: int | None = 0,
        ci_level: float = DEFAULT_CI_LEVEL,
        max_iter: int = 1000,
        tol: float = 1e-10,
    ) -> None:
        self.objective = objective
        self.delta = delta
        self.fixed = fixed
        self.tied = tied
        self.bounds = bounds
        self.starts = starts
        self.n_random_starts = n_random_starts
        self.n_bootstrap = n_bootstrap
        self.random_state = random_state
        self.ci_level = ci_level
        self.max_iter = max_iter
        self.tol = tol

    # ----------------------------------------------------------------------------------------
    # What each law provides
    # ----------------------------------------------------------------------------------------
    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        """log of the law's prediction; p[name] is (b, 1), x and logx are (n, k); returns (b, n)."""
        raise NotImplementedError

    def linear_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        """The prediction itself (b, n): exp(log_predict) by default. A law whose prediction can
        be zero or negative overrides it; `ls_linear` fits it and `predict` returns it."""
        return torch.exp(self.log_predict(p, x, logx))

    def guess(self, x: FloatArray, y: FloatArray) -> dict[str, float]:
        """A data-driven start point (natural units), used where a parameter has no grid.

        The default is lmfit's: a straight line in log-log space gives a scale and an exponent.
        """
        return {}

    def start_grid(self, x: FloatArray, y: FloatArray) -> dict[str, tuple[float, ...]]:
        """Start values per parameter (natural units); the solver takes their Cartesian product."""
        guess = self.guess(x, y)
        grid: dict[str, tuple[float, ...]] = {}
        for prm in self.params:
            if prm.grid:
                grid[prm.name] = prm.grid
            elif prm.name in guess:
                grid[prm.name] = (guess[prm.name],)
            else:
                grid[prm.name] = (_default_start(prm),)
        return grid

    def filter_starts(self, names: tuple[str, ...], starts: FloatArray) -> FloatArray:
        """Drop start points (rows, natural units, columns `names`) that make no sense."""
        return starts

    def inverse(self, target: ArrayLike, **known: float) -> FloatArray:
        """The value of the one unknown variable at which the law predicts `target`.

        For a one-variable law: the x (data, compute, ...) needed to reach `target`. For a law of
        several variables pass the others by name, e.g. `inverse(2.0, params=7e10)` for tokens.
        Solved by bisection on log x; laws with a closed form override this.
        """
        self.check_fitted()
        unknown = [v for v in self.variables if v not in known]
        if len(unknown) != 1:
            raise ScalingLabError(
                f"law {self.name!r} has variables {list(self.variables)}: give all but one of "
                f"them to invert (got {sorted(known)})"
            )
        return invert_monotone(self, np.atleast_1d(np.asarray(target, dtype=float)), known)

    # ----------------------------------------------------------------------------------------
    # Parameter bookkeeping
    # ----------------------------------------------------------------------------------------
    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def param(self, name: str) -> Param:
        for prm in self.params:
            if prm.name == name:
                return prm
        raise ScalingLabError(
            f"law {self.name!r} has no parameter {name!r}; its parameters are "
            f"{list(self.param_names)}"
        )

    def given_bounds(self, name: str) -> Sequence[float] | None:
        """The `bounds` option's (lower, upper) for a parameter, if it gives any."""
        return (self.bounds or {}).get(name)

    def param_bounds(self, name: str) -> tuple[float, float]:
        """The `bounds` option's bounds for a parameter, checked, else its declared ones."""
        prm = self.param(name)
        given = self.given_bounds(name)
        if given is None:
            return prm.lower, prm.upper
        try:
            lower, upper = (float(b) for b in given)
        except (TypeError, ValueError):
            raise ScalingLabError(f"bounds for {name} must be two numbers (lower, upper)") from None
        if not lower < upper:
            raise ScalingLabError(f"bounds for {name} must have lower < upper")
        if prm.log and lower < 0:
            raise ScalingLabError(f"{name} is on the log scale: its lower bound must be >= 0")
        return lower, upper

    def free_params(self) -> tuple[str, ...]:
        """Parameters the solver estimates: all but the fixed and the tied ones."""
        fixed = dict(self.fixed or {})
        tied = dict(self.tied or {})
        for name in (*fixed, *tied):
            self.param(name)
        for name, value in fixed.items():
            # the explore pass runs in float32: a fixed value must be a number it can hold
            if not abs(_as_float(value)) <= FLOAT32_MAX:
                raise ScalingLabError(
                    f"fixed {name} = {value!r}: give a finite number of magnitude at most "
                    f"{FLOAT32_MAX:.3g}"
                )
            lower, upper = self.param_bounds(name)
            if not lower <= _as_float(value) <= upper:  # e.g. --fix alpha=5 with alpha=0:1
                raise ScalingLabError(
                    f"fixed {name} = {_as_float(value):g} lies outside its bounds "
                    f"[{lower:g}, {upper:g}]; fix it inside them, or widen the bounds"
                )
        for name, other in tied.items():
            self.param(other)
            if other in tied or other in fixed:
                raise ScalingLabError(f"{name} is tied to {other}, which is itself fixed or tied")
        return tuple(n for n in self.param_names if n not in fixed and n not in tied)

    def expand(self, theta: Tensor, free: Sequence[str]) -> dict[str, Tensor]:
        """Natural-unit parameters (each (b, 1)) from solver coordinates theta (b, len(free))."""
        out: dict[str, Tensor] = {}
        for j, name in enumerate(free):
            col = theta[:, j : j + 1]
            out[name] = torch.exp(col) if self.param(name).log else col
        b = theta.shape[0]
        for name, value in (self.fixed or {}).items():
            out[name] = torch.full((b, 1), float(value), dtype=theta.dtype)
        for name, other in (self.tied or {}).items():
            out[name] = out[other]
        return out

    def to_solver(self, name: str, value: float) -> float:
        """Solver coordinate of a natural-unit value."""
        if self.param(name).log:
            return math.log(value) if value > 0 else -745.0
        return value

    def from_solver(self, name: str, value: float) -> float:
        return math.exp(value) if self.param(name).log else value

    # ----------------------------------------------------------------------------------------
    # Validation of X and y
    # ----------------------------------------------------------------------------------------
    def check_X(self, X: ArrayLike) -> FloatArray:
        """X as a float (n, k) array in the order of `variables`, finite, and positive unless
        the law never takes its log (`positive_x = False`, or the column is one of the law's
        `signed_variables`)."""
        # A copy: the caller's array may be read-only (np.broadcast_to, a memory map, a frozen
        # array), which torch would warn about, and nothing here may write into it.
        arr = np.array(X, dtype=float)
        k = len(self.variables)
        if arr.ndim == 1 and k == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or arr.shape[1] != k:
            raise ScalingLabError(
                f"law {self.name!r} needs X with {k} column(s) {list(self.variables)}, "
                f"got shape {arr.shape}"
            )
        if not np.all(np.isfinite(arr)):
            raise ScalingLabError("X contains NaN or inf; drop or fix those rows")
        logged = self.logged_variables()
        if logged and np.any(arr[:, logged] <= 0):
            raise ScalingLabError(
                f"law {self.name!r} takes logs of X: every value of "
                f"{[self.variables[j] for j in logged]} must be > 0"
            )
        return arr

    def logged_variables(self) -> list[int]:
        """The positions in `variables` of the inputs the law takes logs of, which must be > 0:
        every one unless `positive_x` is False, less the `signed_variables`."""
        if not self.positive_x:
            return []
        return [j for j, v in enumerate(self.variables) if v not in self.signed_variables]

    def check_y(self, y: ArrayLike, n: int) -> FloatArray:
        arr = np.asarray(y, dtype=float).reshape(-1)
        if arr.shape[0] != n:
            raise ScalingLabError(f"X has {n} rows but y has {arr.shape[0]}; they must match")
        if not np.all(np.isfinite(arr)):
            raise ScalingLabError("y contains NaN or inf; drop or fix those rows")
        # Only the log objectives take log y; ls_linear fits y itself, of any sign.
        if self.objective in LOG_OBJECTIVES and np.any(arr <= 0):
            raise ScalingLabError(
                f"y must be > 0: objective {self.objective!r} fits log(y) (objective "
                "'ls_linear' fits y itself, of any sign)"
            )
        return arr

    # ----------------------------------------------------------------------------------------
    # Fitting and predicting
    # ----------------------------------------------------------------------------------------
    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> ScalingLaw:
        """Fit by batched multi-start minimisation of the objective; returns self."""

        x_arr = self.check_X(X)
        y_arr = self.check_y(y, x_arr.shape[0])
        w_arr = None
        if sample_weight is not None:
            w_arr = np.asarray(sample_weight, dtype=float).reshape(-1)
            if w_arr.shape[0] != x_arr.shape[0]:
                raise ScalingLabError("sample_weight must have one weight per row of X")
            if not np.all(np.isfinite(w_arr)) or np.any(w_arr < 0) or w_arr.sum() <= 0:
                raise ScalingLabError("sample_weight must be finite, >= 0 and not all zero")
        if self.objective not in OBJECTIVES:
            raise ScalingLabError(
                f"unknown objective {self.objective!r}; choose one of {', '.join(OBJECTIVES)}"
            )
        if self.objective == "huber" and not (math.isfinite(self.delta) and self.delta > 0):
            raise ScalingLabError(f"the Huber delta must be a number > 0, got {self.delta}")
        check_bootstrap(self.n_bootstrap, self.random_state)
        if not (isinstance(self.n_random_starts, int | np.integer) and self.n_random_starts >= 0):
            raise ScalingLabError(
                f"n_random_starts must be an integer >= 0, got {self.n_random_starts}"
            )
        if not (isinstance(self.ci_level, float | int) and 0 < self.ci_level < 1):
            raise ScalingLabError(f"ci_level must be between 0 and 1, got {self.ci_level}")
        n_free = len(self.free_params())
        if x_arr.shape[0] < n_free:
            raise ScalingLabError(
                f"law {self.name!r} has {n_free} free parameters but only {x_arr.shape[0]} "
                "points were given; add points, fix parameters or pick a simpler law"
            )
        if n_free > 1 and len(np.unique(x_arr, axis=0)) == 1:
            # Every point at one x: nothing tells how y changes with x (the solver would still
            # "converge", with standard errors in the millions).
            at = ", ".join(f"{v}={x:g}" for v, x in zip(self.variables, x_arr[0], strict=True))
            raise ScalingLabError(
                f"law {self.name!r}: every point has the same x ({at}); a single x value "
                "cannot fit a curve: add points at other x"
            )
        fit_law(self, x_arr, y_arr, w_arr)
        self.warnings_ = [*self.warnings_, *self.fit_notes(x_arr, y_arr)]
        self.calibration_ = None  # a refit drops any calibration of an earlier fit
        for message in self.warnings_:
            warnings.warn(message, FitWarning, stacklevel=2)
        return self

    def fit_notes(self, x: FloatArray, y: FloatArray) -> list[str]:
        """Law-specific cautions about a fit to (x, y), added to warnings_ (none by default)."""
        return []

    def resampling_units(self, x: FloatArray) -> IntArray | None:
        """The bootstrap's unit of each row of x (rows of one unit are drawn together), or None:
        every row is its own unit."""
        return None

    def check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise ScalingLabError(f"this {self.name} law is not fitted yet: call fit() first")

    def log_predict_draws(self, X: ArrayLike, draws: FloatArray) -> FloatArray:
        """log predictions (b, n) for parameter draws (b, len(param_names)) in natural units."""
        x = torch.as_tensor(self.check_X(X))
        with torch.no_grad():
            p = {
                name: torch.tensor(draws[:, j : j + 1], dtype=torch.float64)
                for j, name in enumerate(self.param_names)
            }
            out = self.log_predict(p, x, torch.log(x))
        return out.numpy().astype(float)

    def linear_predict_draws(self, X: ArrayLike, draws: FloatArray) -> FloatArray:
        """Predictions (b, n) for parameter draws (b, len(param_names)) in natural units."""
        x = torch.as_tensor(self.check_X(X))
        with torch.no_grad():
            p = {
                name: torch.tensor(draws[:, j : j + 1], dtype=torch.float64)
                for j, name in enumerate(self.param_names)
            }
            out = self.linear_predict(p, x, torch.log(x))
        return out.numpy().astype(float)

    def predict(self, X: ArrayLike) -> FloatArray:
        """The law's prediction at X (n, k)."""
        self.check_fitted()
        theta = np.array([[self.params_[n] for n in self.param_names]], dtype=float)
        return self.linear_predict_draws(X, theta)[0]

    def predict_draws(self, X: ArrayLike) -> FloatArray:
        """Predictions (draws, n) for every bootstrap (or covariance) draw of the parameters."""
        self.check_fitted()
        draws = self.parameter_draws()
        return self.linear_predict_draws(X, draws)

    def parameter_draws(self, n: int = 2000) -> FloatArray:
        """Parameter draws (natural units): the bootstrap's, else samples from the covariance."""
        self.check_fitted()
        if self.bootstrap_params_ is not None and len(self.bootstrap_params_):
            return self.bootstrap_params_
        draws = covariance_draws(self, n)
        if draws is None:
            raise ScalingLabError(
                "this fit has no uncertainty estimate (no bootstrap draws, and its covariance "
                "is missing or degenerate); refit with n_bootstrap > 0"
            )
        return draws

    def predict_interval(self, X: ArrayLike, level: float = 0.9) -> tuple[FloatArray, FloatArray]:
        """Central `level` interval of the prediction at X.

        From the parameter draws (parameter uncertainty only), unless the law carries a
        `calibration_` (set by scalinglab.selection.auto_fit): then the interval is calibrated
        on the backtests of the curve (scalinglab.fitting.calibration).
        """
        if not 0 < level < 1:
            raise ScalingLabError(f"level must be between 0 and 1, got {level}")
        if self.calibration_ is not None:
            x = self.check_X(X)
            spread = (
                laws_spread(self.calibration_, x[:, 0]) if self.calibration_.uses_spread else None
            )
            return self.calibration_.interval(self.predict(x), x[:, 0], level, spread)
        preds = self.predict_draws(X)
        return draw_quantile(preds, (1 - level) / 2), draw_quantile(preds, (1 + level) / 2)

    def predict_interval_or_nan(
        self, X: ArrayLike, level: float = 0.9
    ) -> tuple[FloatArray, FloatArray]:
        """`predict_interval`, with NaN bounds where the fit has no uncertainty estimate (for
        tables and summaries that show a prediction either way)."""
        try:
            return self.predict_interval(X, level)
        except ScalingLabError:
            nan = np.full(len(np.asarray(X)), math.nan)
            return nan, nan.copy()

    # ----------------------------------------------------------------------------------------
    # Serialisation
    # ----------------------------------------------------------------------------------------
    def get_options(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "delta": self.delta,
            "fixed": dict(self.fixed) if self.fixed else None,
            "tied": dict(self.tied) if self.tied else None,
            "bounds": {k: list(v) for k, v in self.bounds.items()} if self.bounds else None,
            "starts": {k: list(v) for k, v in self.starts.items()} if self.starts else None,
            "n_random_starts": self.n_random_starts,
            "n_bootstrap": self.n_bootstrap,
            "random_state": self.random_state,
            "ci_level": self.ci_level,
            "max_iter": self.max_iter,
            "tol": self.tol,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description: the law, its options and (when fitted) what fitting found."""
        out: dict[str, Any] = {"law": self.name, "variables": list(self.variables)}
        out["options"] = self.get_options()
        if hasattr(self, "params_"):
            out["params"] = dict(self.params_)
            out["stderr"] = dict(self.stderr_)
            out["ci"] = {k: list(v) for k, v in self.ci_.items()}
            out["ci_level"] = self.ci_level_
            out["objective"] = self.objective_
            out["n_points"] = self.n_points_
            out["residual_sd"] = getattr(self, "residual_sd_", math.nan)
            out["converged"] = self.converged_
            out["at_bounds"] = list(self.at_bounds_)
            out["warnings"] = list(self.warnings_)
            out["covariance"] = (
                None if self.covariance_ is None else np.asarray(self.covariance_).tolist()
            )
            out["bootstrap_params"] = (
                None if self.bootstrap_params_ is None else self.bootstrap_params_.tolist()
            )
            if self.calibration_ is not None:
                out["calibration"] = self.calibration_.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScalingLaw:
        """Rebuild a law from `to_dict()` output, or from just {"law", "params"}."""
        if not isinstance(data, Mapping) or "law" not in data:
            raise ScalingLabError("a fit file needs a 'law' field naming the law")
        law_cls = get_law(str(data["law"])) if cls is ScalingLaw else cls
        if cls is not ScalingLaw and data["law"] != cls.name:
            raise ScalingLabError(f"fit file holds law {data['law']!r}, not {cls.name!r}")
        raw_options = data.get("options") or {}
        if not isinstance(raw_options, Mapping):
            raise ScalingLabError("'options' in a fit file must map option names to values")
        options = {k: v for k, v in raw_options.items() if v is not None}
        for key in ("fixed", "tied", "bounds", "starts"):
            if not isinstance(options.get(key, {}), Mapping):
                raise ScalingLabError(
                    f"option {key!r} in a fit file must map parameter names to values"
                )
        options = _check_file_options(law_cls, data, options)
        try:
            law = law_cls(**options)
        except TypeError:  # a type the checks above do not cover; never show Python's wording
            raise ScalingLabError(
                f"fit file has bad options for {law_cls.name}: a value of the wrong type; "
                "compare them with a fit file written by `scalinglab fit --json`"
            ) from None
        params = data.get("params")
        if params is None:
            return law
        if not isinstance(params, Mapping):
            raise ScalingLabError("'params' in a fit file must map parameter names to numbers")
        missing = [n for n in law.param_names if n not in params]
        extra = [n for n in params if n not in law.param_names]
        if missing or extra:
            raise ScalingLabError(
                f"fit file params for law {law.name!r} must be exactly {list(law.param_names)}"
                + (f"; missing {missing}" if missing else "")
                + (f"; unknown {extra}" if extra else "")
            )
        flags = [n for n in law.param_names if isinstance(params[n], bool)]
        if flags:  # float(True) is 1.0: a hand-edited `true` would pass as a number
            raise ScalingLabError(f"'params' gives {flags[0]} as true/false; give a number")
        try:
            law.params_ = {n: float(params[n]) for n in law.param_names}
        except (TypeError, ValueError):
            raise ScalingLabError("every value in 'params' must be a number") from None
        except OverflowError:  # an integer of hundreds of digits: beyond any float
            raise ScalingLabError("every value in 'params' must be finite") from None
        if not all(math.isfinite(v) for v in law.params_.values()):
            raise ScalingLabError("every value in 'params' must be finite")
        for name, value in law.params_.items():
            lower, upper = law.param_bounds(name)
            if not lower <= value <= upper:  # e.g. a negative scale: the law is undefined there
                raise ScalingLabError(
                    f"fit file: {name} = {value:g} lies outside the law's bounds "
                    f"[{lower:g}, {upper:g}]"
                )
        field = ""  # the field being read, for the message when it is malformed
        try:
            field = "stderr"
            stderr = dict(data.get("stderr") or {})
            law.stderr_ = {n: float(stderr.get(n, math.nan)) for n in law.param_names}
            field = "ci"
            ci = dict(data.get("ci") or {})
            law.ci_ = {}
            for n in law.param_names:
                lo, hi = ci.get(n, (math.nan, math.nan))
                law.ci_[n] = (float(lo), float(hi))
            field = "ci_level"
            # Files without the field predate it: their intervals were 95%.
            law.ci_level_ = float(data.get("ci_level", 0.95))
            if not 0 < law.ci_level_ < 1:  # a report would print a "700% interval"
                raise ValueError(f"a level lies between 0 and 1, got {law.ci_level_:g}")
            field = "objective"
            law.objective_ = float(data.get("objective", math.nan))
            field = "n_points"
            law.n_points_ = int(data.get("n_points", 0))
            field = "residual_sd"
            law.residual_sd_ = float(data.get("residual_sd", math.nan))
            law.converged_ = bool(data.get("converged", True))
            field = "at_bounds"
            law.at_bounds_ = [str(v) for v in data.get("at_bounds", [])]
            field = "warnings"
            law.warnings_ = [str(v) for v in data.get("warnings", [])]
            k = len(law.param_names)
            field = "covariance"
            cov = data.get("covariance")
            law.covariance_ = None if cov is None else np.asarray(cov, dtype=float)
            if law.covariance_ is not None and law.covariance_.shape != (k, k):
                raise ValueError(f"expected {k}x{k} numbers, got shape {law.covariance_.shape}")
            field = "bootstrap_params"
            boot = data.get("bootstrap_params")
            draws = None if not boot else np.asarray(boot, dtype=float)
            if draws is not None and (draws.ndim != 2 or draws.shape[1] != k):
                raise ValueError(f"expected rows of {k} numbers, got shape {draws.shape}")
            law.bootstrap_params_ = draws
        except (TypeError, ValueError, OverflowError) as exc:
            raise ScalingLabError(
                f"fit file field {field!r} is malformed ({exc}); fix it or delete the field"
            ) from None
        # "interval_widening" is the calibration's name in fit files written before 0.2.0.
        calibration = data.get("calibration", data.get("interval_widening"))
        law.calibration_ = None if calibration is None else Calibration.from_dict(calibration)
        if law.calibration_ is not None:
            spread_laws(law.calibration_)  # a malformed spread law fails here, not at predict
        return law

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            inner = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            return f"{type(self).__name__}({inner})"
        return f"{type(self).__name__}()"

    # Attributes set by fitting (declared for type checkers).
    params_: dict[str, float]
    stderr_: dict[str, float]
    ci_: dict[str, tuple[float, float]]
    ci_level_: float
    objective_: float
    n_points_: int
    residual_sd_: float = math.nan  # sd of the residuals on the objective's scale (fit_law)
    converged_: bool
    at_bounds_: list[str]
    warnings_: list[str]
    covariance_: FloatArray | None
    bootstrap_params_: FloatArray | None
    # Optional calibration of predict_interval on backtests (scalinglab.selection.auto_fit);
    # None: parameter bands only.
    calibration_: Calibration | None = None


def spread_laws(calibration: Calibration) -> tuple[ScalingLaw, ...]:
    """The fitted learning curves a calibration's laws' spread is read from (its `spread_laws`,
    kept as name, options and parameters); a malformed one is a ScalingLabError."""
    laws = tuple(ScalingLaw.from_dict(entry) for entry in calibration.spread_laws)
    if not all(hasattr(law, "params_") for law in laws):
        raise ScalingLabError("every spread law of a calibration needs its fitted params")
    if not all(len(law.variables) == 1 for law in laws):
        raise ScalingLabError("a calibration's spread laws must be learning curves (one input)")
    return laws


def laws_spread(calibration: Calibration, x: ArrayLike) -> FloatArray:
    """s(x): the standard deviation of the calibration's spread laws' log predictions at each x
    (over those with a finite one there; 0 where fewer than two have): the term the laws'
    disagreement adds to the interval (scalinglab.fitting.calibration)."""
    xs = np.asarray(x, dtype=float).reshape(-1)
    laws = spread_laws(calibration)
    if len(laws) < 2:
        return np.zeros_like(xs)
    with np.errstate(all="ignore"):
        preds = np.vstack([np.log(law.predict(xs[:, None])) for law in laws])
    return column_spread(preds)


def _default_start(prm: Param) -> float:
    """A start inside the bounds when neither a grid nor a guess gives one."""
    lo, hi = prm.lower, prm.upper
    if prm.log:
        return 1.0 if hi > 1.0 else hi / 2
    if math.isfinite(lo) and math.isfinite(hi):
        return (lo + hi) / 2
    if math.isfinite(lo):
        return lo + 1.0
    if math.isfinite(hi):
        return hi - 1.0
    return 0.0


def loglog_line(x: FloatArray, y: FloatArray) -> tuple[float, float]:
    """(scale, exponent) of the least-squares line log y = log a + b log x (lmfit's guess)."""
    lx, ly = np.log(x), np.log(y)
    if np.ptp(lx) == 0:
        return float(np.exp(ly.mean())), 0.0
    b, log_a = np.polyfit(lx, ly, 1)
    return float(np.exp(log_a)), float(b)
