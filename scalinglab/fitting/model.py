"""What the fitting engine needs of a law: the `FittableLaw` protocol.

The solver, objectives, uncertainty and inverse in this package are numerical machinery; they
know a law only through this protocol (structural typing), never by importing
scalinglab.laws, so that imports run one way: laws are estimators built on this engine, as
scikit-learn's estimators are built on scipy.optimize. `scalinglab.laws.ScalingLaw` satisfies it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Protocol

import torch
from numpy.typing import ArrayLike

from scalinglab.types import FloatArray, IntArray

Tensor = torch.Tensor


class Parameter(Protocol):
    """A declared parameter: its name, bounds and whether the solver works with its log."""

    @property
    def name(self) -> str: ...
    @property
    def lower(self) -> float: ...
    @property
    def upper(self) -> float: ...
    @property
    def log(self) -> bool: ...


class FittableLaw(Protocol):
    """A law the engine can fit: its formula in torch, its parameters and its fit options; the
    engine writes the fitted state (`params_`, `stderr_`, ...) back onto it."""

    name: ClassVar[str]
    variables: ClassVar[tuple[str, ...]]

    objective: str
    delta: float
    fixed: Mapping[str, float] | None
    tied: Mapping[str, str] | None
    starts: Mapping[str, Sequence[float]] | None
    n_random_starts: int
    n_bootstrap: int
    random_state: int | None
    ci_level: float
    max_iter: int
    tol: float

    params_: dict[str, float]
    stderr_: dict[str, float]
    ci_: dict[str, tuple[float, float]]
    ci_level_: float
    objective_: float
    n_points_: int
    residual_sd_: float
    converged_: bool
    at_bounds_: list[str]
    warnings_: list[str]
    covariance_: FloatArray | None
    bootstrap_params_: FloatArray | None

    @property
    def param_names(self) -> tuple[str, ...]: ...
    def param(self, name: str) -> Parameter: ...
    def param_bounds(self, name: str) -> tuple[float, float]: ...
    def free_params(self) -> tuple[str, ...]: ...
    def expand(self, theta: Tensor, free: Sequence[str]) -> dict[str, Tensor]: ...
    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor: ...
    def linear_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor: ...
    def start_grid(self, x: FloatArray, y: FloatArray) -> dict[str, tuple[float, ...]]: ...
    def filter_starts(self, names: tuple[str, ...], starts: FloatArray) -> FloatArray: ...
    def resampling_units(self, x: FloatArray) -> IntArray | None: ...
    def to_solver(self, name: str, value: float) -> float: ...
    def from_solver(self, name: str, value: float) -> float: ...
    def predict(self, X: ArrayLike) -> FloatArray: ...
    def get_options(self) -> dict[str, Any]: ...
