"""Several outputs fitted jointly: one formula per output column, e.g. a loss and a downstream
error that share an exponent,

    JointFormulaLaw(["E + A/N**alpha", "F + B/N**alpha"], outputs=["loss", "error"],
                    variables=["N"])

A name is one parameter wherever it is written: `alpha` above is common to both outputs, and
E, A (loss) and F, B (error) belong to one output each. To fit two outputs apart, give their
parameters different names (E_loss, E_error) — the same rule as in a system of equations.

The outputs' rows are stacked into one long table: X carries one more column, the output's index
into `outputs` (see `stack`), and y holds each row's value of that output. Each formula is
evaluated on its own output's rows, so the batched solver, the bootstrap (which draws whole runs:
the rows with the same inputs), intervals and `predict` work as for any other law. Every
output's residuals enter one objective: under the log objectives (huber, the default, and
ls_log) they are relative and outputs of any scale weigh alike; under ls_linear each output
counts in its own units.

Bounds, scales and starts follow each parameter's role as in FormulaLaw (a name with different
roles in different formulas takes the first of exponent, coefficient, threshold, offset, scale).
Starts: each formula is first fitted to its own output alone; the joint fit starts from those
optima (a shared parameter from each output's value) and from the role's default values.

Grouped fits, as in FormulaLaw: with `groups` (labels) and `shared` (parameter names), one law
covers every group. X carries one more column before the output index, the group's index into
`groups` (`group_codes`), and each parameter not in `shared` becomes one parameter per group,
`name[label]` — still one parameter across the formulas that write it. Every parameter in
`shared` is common to all groups. `combine_groups` builds the grouped law, nothing shared, from
one joint fit per group. A grouped law starts from the joint law fitted to each group alone.
"""

from __future__ import annotations

import ast
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike

from scalinglab.errors import ScalingLabError
from scalinglab.expr import parse_formula
from scalinglab.laws.base import FloatArray, Tensor
from scalinglab.laws.formula import (
    _ROLE_ORDER,
    _ROLE_RANGE,
    DEFAULT_N_STARTS,
    FormulaLaw,
    RoleDeclaredLaw,
    _allocate,
    combine_group_fits,
    fixed_per_group,
    projectable,
)
from scalinglab.types import IntArray

DEFAULT_OUTPUT_COLUMN = "output"


class JointFormulaLaw(RoleDeclaredLaw):
    """Formulas fitted jointly to several outputs, parameters of the same name shared (see the
    module docstring). X is (n, len(variables) + 1): the variables, then the output index; a
    grouped law's X has the group index between them."""

    name = "joint_formula"
    generic = True  # built from formulas: not listed by available_laws(), found by get_law()
    positive_x = False

    def __init__(
        self,
        formulas: Sequence[str],
        outputs: Sequence[str],
        variables: Sequence[str],
        *,
        log: Sequence[str] | None = None,
        n_starts: int = DEFAULT_N_STARTS,
        output_column: str = DEFAULT_OUTPUT_COLUMN,
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
        self.output_column = output_column
        formula_list = [str(f) for f in formulas] if isinstance(formulas, list | tuple) else []
        output_list = [str(o) for o in outputs] if isinstance(outputs, list | tuple) else []
        names = [str(v) for v in variables] if isinstance(variables, list | tuple) else []
        if len(formula_list) < 1 or len(formula_list) != len(output_list):
            raise ScalingLabError(
                f"a joint law needs one formula per output: got {len(formula_list)} formula(s) "
                f"for {len(output_list)} output(s)"
            )
        if len(set(output_list)) != len(output_list):
            raise ScalingLabError(f"outputs {output_list} name a column more than once")
        if len(set(names)) != len(names):
            raise ScalingLabError(f"variables {names} name a column more than once")
        if output_column in names:
            raise ScalingLabError(
                f"the output column {output_column!r} cannot also be a variable of a formula"
            )
        if n_starts < 1:
            raise ScalingLabError(f"n_starts must be >= 1, got {n_starts}")
        self._labels: tuple[str, ...] = ()
        if groups is not None:
            self._labels = tuple(str(g) for g in groups)
            if not self._labels or len(set(self._labels)) != len(self._labels):
                raise ScalingLabError("groups must be distinct labels, at least one")
            if group_column in names or group_column == output_column:
                raise ScalingLabError(
                    f"the group column {group_column!r} cannot also be a variable or the output "
                    "column"
                )
        elif shared:
            raise ScalingLabError("shared parameters need groups (fit one law per group)")
        shared_set = {str(n) for n in shared or ()}
        self._subs: list[FormulaLaw] = []
        self._columns: list[list[int]] = []
        for formula, output in zip(formula_list, output_list, strict=True):
            parsed = parse_formula(formula, option=f"the formula of {output}")
            own = [v for v in names if v in parsed.names]
            grouping: dict[str, Any] = {}
            if self._labels:
                grouping = {
                    "groups": self._labels,
                    "shared": [n for n in parsed.names if n in shared_set],
                    "group_column": group_column,
                }
            try:
                sub = FormulaLaw(formula, own, n_starts=n_starts, **grouping)
            except ScalingLabError as exc:
                raise ScalingLabError(f"output {output}: {exc}") from None
            self._subs.append(sub)
            # a grouped formula reads the group index too (X's column before the output index)
            self._columns.append([names.index(v) for v in own] + [len(names)] * bool(self._labels))
        unused = [v for v in names if not any(v in s.variables for s in self._subs)]
        if unused:
            raise ScalingLabError(f"variable {unused[0]!r} does not appear in any formula")
        # Each name is one parameter; its role is the first, in _ROLE_ORDER, of its roles.
        self._owner: dict[str, int] = {}
        for k, sub in enumerate(self._subs):
            for n in sub.param_names:
                if n in names or n == output_column:
                    raise ScalingLabError(f"{n!r} is both a parameter and a column")
                if n not in self._owner or _rank(sub.role(n)) < _rank(
                    self._subs[self._owner[n]].role(n)
                ):
                    self._owner[n] = k
        order = [n for sub in self._subs for n in sub.param_names]
        self._param_names = tuple(dict.fromkeys(order))
        self._base_order = tuple(dict.fromkeys(self.base_param(n) for n in self._param_names))
        self._grouped = tuple(n for n in self._base_order if n not in shared_set)
        if not self._labels:
            self._grouped = ()
        unknown = sorted(shared_set - set(self._base_order))
        if unknown:
            raise ScalingLabError(
                f"shared parameter {unknown[0]!r} is not a parameter of the formulas; their "
                f"parameters are {list(self._base_order)}"
            )
        for option, given in (("log", log), ("bounds", self.bounds), ("starts", self.starts)):
            for n in given or ():
                if n not in self._owner and n not in self._base_order:
                    raise ScalingLabError(
                        f"{option} names {n!r}, which is not a parameter of the formulas; their "
                        f"parameters are {list(self._base_order)}"
                    )
        if self.fixed and self._grouped:
            self.fixed = fixed_per_group(self.fixed, self._grouped, self._labels)
        self._formulas = tuple(formula_list)
        self._outputs = tuple(output_list)
        self._variables = tuple(names)
        vars(self).update(
            variables=(*names, *[group_column] * bool(self._labels), output_column),
            params=self._declare_params(),
            formula="; ".join(f"{o} = {f}" for o, f in zip(output_list, formula_list, strict=True)),
        )

    # --------------------------------------------------------------------------------------
    # Parameters
    # --------------------------------------------------------------------------------------
    @property
    def formulas(self) -> tuple[str, ...]:
        return self._formulas

    @property
    def outputs(self) -> tuple[str, ...]:
        return self._outputs

    @property
    def input_variables(self) -> tuple[str, ...]:
        """The table's columns the formulas read (X without its output column)."""
        return self._variables

    def role(self, name: str) -> str:
        """exponent, coefficient, threshold, offset or scale (see scalinglab.laws.formula)."""
        return self._subs[self._owner[name]].role(name)

    def base_param(self, name: str) -> str:
        """The formulas' name of a (possibly per-group) parameter."""
        return self._subs[self._owner[name]].base_param(name) if name in self._owner else name

    def group_param_names(self, label: str) -> dict[str, str]:
        """A group's parameters: formula name -> this law's name (`name[label]`, or the shared
        name)."""
        if label not in self._labels:
            raise ScalingLabError(
                f"group {label!r} was not in the fit; its groups are {list(self._labels)}"
            )
        return {n: f"{n}[{label}]" if n in self._grouped else n for n in self._base_order}

    def group_codes(self, labels: Sequence[Any]) -> FloatArray:
        """The group column of X for these labels (their index into `groups`)."""
        if not self._labels:
            raise ScalingLabError("this joint law has no groups")
        return self._subs[0].group_codes(labels)

    def outputs_of(self, name: str) -> list[str]:
        """The outputs whose formula uses parameter `name` (a formula name, or a per-group one)."""
        return [
            o
            for o, s in zip(self._outputs, self._subs, strict=True)
            if name in s.param_names or name in s._base_params
        ]

    def params_of(self, output: str | int) -> tuple[str, ...]:
        """The parameters of an output's formula."""
        return self._subs[self.output_index(output)].param_names

    def variables_of(self, output: str | int) -> tuple[str, ...]:
        """The columns an output's formula reads."""
        return self._subs[self.output_index(output)]._variables

    def linear_parameters(self) -> dict[str, str]:
        """Variable projection under `ls_linear` (scalinglab.fitting.projection): the
        parameters written in one formula only, where that formula is linear in them
        (FormulaLaw.linear_parameters); a parameter several outputs share is searched."""

        def kind(name: str) -> str | None:
            outputs = self.outputs_of(self.base_param(name))
            if len(outputs) != 1:
                return None
            return self._subs[self.output_index(outputs[0])]._linear.get(self.base_param(name))

        return projectable(self, kind)

    def shared_params(self) -> list[str]:
        """Parameters written in more than one formula (their formula names)."""
        return [n for n in self._base_order if len(self.outputs_of(n)) > 1]

    def _param_order(self) -> tuple[str, ...]:
        """Every parameter's name, in the formulas' order."""
        return self._param_names

    # --------------------------------------------------------------------------------------
    # Data
    # --------------------------------------------------------------------------------------
    def stack(self, X: ArrayLike, Y: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """(X, y) of the joint fit from a wide table: X (n, len(input_variables)) — a grouped
        law's with the group indices (`group_codes`) as one more column — and Y (n,
        len(outputs)), one column per output. Each output's rows, in turn, with the output's
        index as X's last column; a NaN in Y leaves that run out of that output."""
        x = np.asarray(X, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        values = np.asarray(Y, dtype=float)
        if values.ndim == 1:
            values = values[:, None]
        k = len(self._outputs)
        columns = list(self.variables[:-1])
        if x.ndim != 2 or x.shape[1] != len(columns):
            raise ScalingLabError(
                f"X needs {len(columns)} column(s) {columns}, got shape {x.shape}"
            )
        if values.shape != (x.shape[0], k):
            raise ScalingLabError(
                f"Y needs {x.shape[0]} rows and {k} column(s) {list(self._outputs)}, got shape "
                f"{values.shape}"
            )
        xs, ys = [], []
        for j in range(k):
            rows = ~np.isnan(values[:, j])
            xs.append(np.column_stack([x[rows], np.full(int(rows.sum()), float(j))]))
            ys.append(values[rows, j])
        return np.concatenate(xs), np.concatenate(ys)

    def resampling_units(self, x: FloatArray) -> IntArray | None:
        """One unit per run: the rows with the same inputs (one per output the run measured),
        so that the bootstrap draws a run's outputs together and keeps their correlation."""
        _, units = np.unique(np.asarray(x)[:, :-1], axis=0, return_inverse=True)
        return np.asarray(units, dtype=np.intp).reshape(-1)

    def with_output(self, X: ArrayLike, output: str | int) -> FloatArray:
        """X (n, len(input_variables)), a grouped law's with the group indices as one more
        column, with the index of `output` (a name or an index) as its last column: the rows at
        which `predict` gives that output."""
        j = self.output_index(output)
        x = np.asarray(X, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        return np.column_stack([x, np.full(x.shape[0], float(j))])

    def output_index(self, output: str | int) -> int:
        if isinstance(output, int | np.integer) and 0 <= int(output) < len(self._outputs):
            return int(output)
        if str(output) in self._outputs:
            return self._outputs.index(str(output))
        raise ScalingLabError(
            f"{output!r} is not an output of this law; its outputs are {list(self._outputs)}"
        )

    def predict_outputs(self, X: ArrayLike) -> dict[str, FloatArray]:
        """Every output's prediction at X (n, len(input_variables)), by output name."""
        return {o: self.predict(self.with_output(X, j)) for j, o in enumerate(self._outputs)}

    def check_X(self, X: ArrayLike) -> FloatArray:
        """X as a float (n, k) array: the variables, then the output indices 0..len(outputs)-1
        (see `stack` and `with_output`)."""
        arr = super().check_X(X)
        codes = arr[:, -1]
        if np.any((codes != np.round(codes)) | (codes < 0) | (codes >= len(self._outputs))):
            raise ScalingLabError(
                f"the last column of X must hold output indices 0..{len(self._outputs) - 1} "
                f"({', '.join(self._outputs)}); JointFormulaLaw.stack builds it"
            )
        if self._labels:
            codes = arr[:, -2]
            if np.any((codes != np.round(codes)) | (codes < 0) | (codes >= len(self._labels))):
                raise ScalingLabError(
                    "the column of X before the output indices must hold group indices "
                    f"0..{len(self._labels) - 1} (group_codes builds them)"
                )
        return arr

    # --------------------------------------------------------------------------------------
    # Starts
    # --------------------------------------------------------------------------------------
    def start_grid(self, x: FloatArray, y: FloatArray) -> dict[str, tuple[float, ...]]:
        """Start values per parameter: each formula fitted to its own output alone (a shared
        parameter gets each output's value), then its role's default values; as many per
        parameter as keep the product within n_starts. A grouped law's per-group copies of a
        parameter start where the law fitted to all groups together ends (as in FormulaLaw)."""
        if self._labels:
            return self._grouped_start_grid(x, y)
        values: dict[str, list[float]] = {n: [] for n in self._param_names}
        for k in range(len(self._subs)):
            rows = x[:, -1] == k
            if not rows.any():
                continue
            xk, yk = x[rows][:, self._columns[k]], y[rows]
            for n, v in self._solo_fit(k, xk, yk).items():
                if math.isfinite(v) and v not in values[n]:
                    values[n].append(v)
        for name in self._param_names:
            k = self._owner[name]
            rows = x[:, -1] == k
            xk, yk = (x[rows][:, self._columns[k]], y[rows]) if rows.any() else (x[:, :-1], y)
            lower, upper = self.param_bounds(name)
            for v in self._role_starts(name, xk, yk):
                v = float(min(max(v, lower), upper))
                if v not in values[name]:
                    values[name].append(v)
        counts = _allocate([len(values[n]) for n in self._param_names], self.n_starts)
        return {n: tuple(values[n][:c]) for n, c in zip(self._param_names, counts, strict=True)}

    def _grouped_start_grid(self, x: FloatArray, y: FloatArray) -> dict[str, tuple[float, ...]]:
        """A grouped law's start values: the joint law fitted to each group alone gives its
        copies of the parameters their one start, and a parameter common to all groups each
        group's value; then, as fallback and for the common ones, the role's default values."""
        fits = self._group_fits(x, y)
        values: dict[str, list[float]] = {n: [] for n in self._param_names}
        for label in self._labels:
            for base, full in self.group_param_names(label).items():
                v = fits.get(label, {}).get(base, math.nan)
                if math.isfinite(v) and v not in values[full]:
                    values[full].append(v)
        for name in self._param_names:
            k = self._owner[name]
            rows = x[:, -1] == k
            own = self._columns[k][:-1]  # the formula's variables, without the group index
            xk, yk = (x[rows][:, own], y[rows]) if rows.any() else (x[:, own], y)
            lower, upper = self.param_bounds(name)
            for v in self._role_starts(self.base_param(name), xk, yk):
                v = float(min(max(v, lower), upper))
                if v not in values[name]:
                    values[name].append(v)
        common = [n for n in self._param_names if n == self.base_param(n)]
        counts = _allocate([len(values[n]) for n in common], self.n_starts)
        sizes = dict(zip(common, counts, strict=True))
        return {n: tuple(values[n][: sizes.get(n, 1)]) for n in self._param_names}

    def _group_fits(self, x: FloatArray, y: FloatArray) -> dict[str, dict[str, float]]:
        """The formulas fitted jointly to each group's rows alone (nothing common to the
        groups), by group and formula name; a group whose fit fails is left out."""
        options = self.get_options()
        for key in ("formulas", "outputs", "variables", "groups", "shared", "group_column"):
            options.pop(key)
        base = set(self._base_order)
        options.update(n_bootstrap=0, tied=None, starts=None)
        options["log"] = [n for n in self.log or () if n in base] or None
        out: dict[str, dict[str, float]] = {}
        for j, label in enumerate(self._labels):
            rows = x[:, -2] == j
            names = self.group_param_names(label).items()
            fixed = dict(self.fixed or {})
            options["fixed"] = {b: fixed[f] for b, f in names if f in fixed} or None
            bounds = {b: self.given_bounds(f) for b, f in names}
            options["bounds"] = {b: v for b, v in bounds.items() if v is not None} or None
            law = JointFormulaLaw(self._formulas, self._outputs, self._variables, **options)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    law.fit(np.delete(x[rows], -2, axis=1), y[rows])
                except ScalingLabError:
                    continue
            out[label] = law.params_
        return out

    def _first_copy(self, name: str) -> str:
        """This law's name of a formula name: itself, or its first group's copy."""
        return f"{name}[{self._labels[0]}]" if name in self._grouped else name

    def _role_starts(self, name: str, x: FloatArray, y: FloatArray) -> tuple[float, ...]:
        """A formula name's start values by its role (FormulaLaw's) on its owner's rows x, y."""
        sub = self._subs[self._owner[self._first_copy(name)]]
        bounds = (self.bounds or {}).get(name)
        probe = FormulaLaw(
            sub.formula,
            list(sub._variables),
            bounds={name: bounds} if bounds is not None else None,
            log=[name] if name in (self.log or ()) else None,
        )
        return probe._candidates(name, x, y)

    def _solo_fit(self, k: int, x: FloatArray, y: FloatArray) -> dict[str, float]:
        """Output k's formula fitted to its rows alone (no start if it cannot be)."""
        sub = self._subs[k]
        own = set(sub.param_names)
        options: dict[str, Any] = {
            "objective": self.objective,
            "delta": self.delta,
            "fixed": {n: v for n, v in (self.fixed or {}).items() if n in own} or None,
            "bounds": {n: v for n, v in (self.bounds or {}).items() if n in own} or None,
            "starts": {n: v for n, v in (self.starts or {}).items() if n in own} or None,
            "n_random_starts": self.n_random_starts,
            "variable_projection": self.variable_projection,
            "random_state": self.random_state,
            "max_iter": self.max_iter,
            "tol": self.tol,
        }
        log = [n for n in self.log or () if n in own] or None
        law = FormulaLaw(sub.formula, list(sub._variables), log=log, n_starts=self.n_starts,
                         **options)  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                law.fit(x, y)
            except ScalingLabError:
                return {}
        return {n: v for n, v in law.params_.items() if n not in (self.fixed or {})}

    # --------------------------------------------------------------------------------------
    # Evaluation
    # --------------------------------------------------------------------------------------
    def linear_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        """Each row's own output's formula (b, n); values may be zero or negative."""
        codes = x[:, -1]
        b = next(iter(p.values())).shape[0] if p else 1
        pieces, order = [], []
        for k, sub in enumerate(self._subs):
            rows = torch.nonzero(codes == k).reshape(-1)
            if rows.numel() == 0:
                continue
            cols = torch.tensor(self._columns[k], dtype=torch.long)
            xk = x[rows][:, cols]
            lk = logx[rows][:, cols]
            value = sub.evaluate({n: p[n] for n in sub.param_names}, xk, lk)
            pieces.append(value.expand(b, rows.numel()))
            order.append(rows)
        if not pieces:
            return torch.zeros(b, 0, dtype=x.dtype)
        perm = torch.cat(order)
        inverse = torch.empty_like(perm)
        inverse[perm] = torch.arange(perm.numel())
        return torch.cat(pieces, dim=1)[:, inverse]

    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        return torch.log(self.linear_predict(p, x, logx))

    # --------------------------------------------------------------------------------------
    # Notes, serialisation
    # --------------------------------------------------------------------------------------
    def fit_notes(self, x: FloatArray, y: FloatArray) -> list[str]:
        """Outputs without rows, parameters on a default bound, and outputs that cannot differ
        (the same formula with every parameter shared)."""
        notes = []
        counts = np.bincount(x[:, -1].astype(int), minlength=len(self._outputs))
        for output, count in zip(self._outputs, counts, strict=True):
            if count == 0:
                notes.append(
                    f"joint formula: output {output} has no rows; nothing fits its formula"
                )
        for name in self.at_bounds_:
            base = self.base_param(name)
            if self.bounds and (name in self.bounds or base in self.bounds):
                continue
            role = self.role(name)
            notes.append(
                f"joint formula: {name} ended on its default bound ({role} parameters: "
                f"{_ROLE_RANGE[role]}, value {self.params_[name]:.6g}); if the optimum lies "
                f"beyond, pass bounds for it (CLI: --bounds {base}=LOW:HIGH)"
            )
        seen: dict[str, str] = {}
        for output, sub in zip(self._outputs, self._subs, strict=True):
            key = ast.dump(sub._parsed.tree.body)  # two spellings of one formula compare equal
            if key in seen:
                notes.append(
                    f"joint formula: outputs {seen[key]} and {output} have the same formula and "
                    "share all its parameters, so they get one prediction; name the parameters "
                    f"apart (e.g. {sub.param_names[0]}_{output}) to fit them apart"
                )
            else:
                seen[key] = output
        return notes

    def get_options(self) -> dict[str, Any]:
        options = {
            "formulas": list(self._formulas),
            "outputs": list(self._outputs),
            "variables": list(self._variables),
            "log": list(self.log) if self.log else None,
            "n_starts": self.n_starts,
            "output_column": self.output_column,
            "groups": list(self._labels) if self._labels else None,
            "shared": list(self.shared) if self.shared else None,
            "group_column": self.group_column,
            "variable_projection": self.variable_projection,
        }
        options.update(super().get_options())
        return options

    @classmethod
    def combine_groups(
        cls, fits: Mapping[str, JointFormulaLaw], group_column: str = "group"
    ) -> JointFormulaLaw:
        """One grouped law (nothing common to the groups) from the same formulas fitted jointly
        to each group on its own: its parameters are `name[label]`, its draws and covariance the
        groups' side by side (as FormulaLaw.combine_groups)."""
        return combine_group_fits(fits, group_column)

    def __repr__(self) -> str:
        inner = ", ".join(f"{o}: {f!r}" for o, f in zip(self._outputs, self._formulas, strict=True))
        if hasattr(self, "params_"):
            inner += "; " + ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"JointFormulaLaw({inner})"


def _rank(role: str) -> int:
    return _ROLE_ORDER.index(role)
