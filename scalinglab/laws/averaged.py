"""A weighted average of laws, in log space: what `auto` fits when no single law clearly wins.

    log ŷ(x) = Σ_i w_i · log ŷ_i(x),   w_i ≥ 0, Σ_i w_i = 1

a weighted geometric mean of member laws, each fitted on its own to the same data. The weights
are given, not fitted here: scalinglab.selection.rule estimates them from backtests (stacking,
Wolpert 1992, "Stacked generalization"; Breiman 1996, "Stacked regressions"), and the interval
is calibrated on the same backtests (`calibration_`).

The members' parameters appear under prefixed names ("m2.beta", "bnsl1.d1", ...), so the fit
file, `params_`, bootstrap draws and the CLI's tables treat the average like any other law.
Members fitted with the same `n_bootstrap` and `random_state` draw the same resamples, so their
bootstrap draws side by side are joint draws of the average's parameters.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from scalinglab.errors import FitWarning, ScalingLabError
from scalinglab.laws.base import Param, ScalingLaw, Tensor, get_law

SEPARATOR = "."


class AveragedLaw(ScalingLaw):
    """Weighted geometric mean of member laws (fixed weights; see the module doc)."""

    name = "average"
    formula = "log y = Σ_i w_i · log y_i(x)"
    generic = True  # built from its members: fit files name it, `available_laws()` does not

    def __init__(
        self,
        *,
        members: Sequence[Mapping[str, Any]] = (),
        weights: Sequence[float] = (),
        **options: Any,
    ) -> None:
        super().__init__(**options)
        if options.get("fixed") or options.get("tied"):
            raise ScalingLabError(
                "fix or tie parameters in a member's own options, not the average's"
            )
        if not members or len(members) != len(weights):
            raise ScalingLabError("an averaged law needs members and one weight per member")
        w = np.asarray(weights, dtype=float)
        if not (np.all(np.isfinite(w)) and np.all(w >= 0) and w.sum() > 0):
            raise ScalingLabError("the weights of an averaged law must be >= 0, not all zero")
        self.members = [dict(m) for m in members]
        self.weights = (w / w.sum()).tolist()
        self.laws: list[ScalingLaw] = []
        labels = []
        for m in self.members:
            if not isinstance(m.get("law"), str):
                raise ScalingLabError("each member of an averaged law needs a 'law' name")
            member_options = {**options, **dict(m.get("options") or {})}
            self.laws.append(get_law(m["law"])(**member_options))
            labels.append(str(m.get("label", m["law"])))
        if len(set(labels)) != len(labels):
            raise ScalingLabError(f"the members of an averaged law need distinct labels: {labels}")
        self.labels = labels
        variables = {law.variables for law in self.laws}
        if len(variables) != 1:
            raise ScalingLabError("the members of an averaged law must share their variables")
        self.variables = variables.pop()  # type: ignore[misc]
        self.params = tuple(  # type: ignore[misc]
            Param(
                f"{label}{SEPARATOR}{p.name}",
                lower=law.param_bounds(p.name)[0],
                upper=law.param_bounds(p.name)[1],
                log=p.log,
                doc=p.doc,
            )
            for label, law in zip(labels, self.laws, strict=True)
            for p in law.params
        )

    def get_options(self) -> dict[str, Any]:
        return {"members": self.members, "weights": self.weights, **super().get_options()}

    def _member_names(self, i: int) -> list[tuple[str, str]]:
        """(prefixed, member's own) parameter names of member i."""
        prefix = self.labels[i] + SEPARATOR
        return [(prefix + n, n) for n in self.laws[i].param_names]

    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        total: Tensor | None = None
        for i, (law, w) in enumerate(zip(self.laws, self.weights, strict=True)):
            own = {mine: p[full] for full, mine in self._member_names(i)}
            term = w * law.log_predict(own, x, logx)
            total = term if total is None else total + term
        assert total is not None
        return total

    def fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> AveragedLaw:
        """Fit every member on (X, y) with its own start grid; the weights stay as given."""
        x_arr = self.check_X(X)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", FitWarning)
            for law in self.laws:
                law.fit(x_arr, y, sample_weight)
        notes = [str(c.message) for c in caught if issubclass(c.category, FitWarning)]
        self.params_ = {}
        self.stderr_ = {}
        self.ci_ = {}
        self.at_bounds_ = []
        for i, law in enumerate(self.laws):
            for full, mine in self._member_names(i):
                self.params_[full] = law.params_[mine]
                self.stderr_[full] = law.stderr_[mine]
                self.ci_[full] = law.ci_[mine]
            prefix = self.labels[i] + SEPARATOR
            self.at_bounds_ += [prefix + n for n in law.at_bounds_]
        self.ci_level_ = self.laws[0].ci_level_
        self.objective_ = float(
            sum(w * law.objective_ for w, law in zip(self.weights, self.laws, strict=True))
        )
        self.n_points_ = self.laws[0].n_points_
        self.converged_ = all(law.converged_ for law in self.laws)
        self.covariance_ = _block_diagonal([law.covariance_ for law in self.laws])
        boots = [law.bootstrap_params_ for law in self.laws]
        self.bootstrap_params_ = (
            np.concatenate(boots, axis=1)  # type: ignore[arg-type]
            if all(b is not None for b in boots)
            else None
        )
        self.warnings_ = notes
        self.calibration_ = None
        for message in notes:
            warnings.warn(message, FitWarning, stacklevel=2)
        return self

    def describe_weights(self) -> str:
        """The members that carry weight, heaviest first: "m3 0.62, bnsl1 0.38"; those whose
        weight shows as 0.00 are counted, not listed ("bnsl2 1.00, and 3 more below 0.005")."""
        ranked = sorted(zip(self.labels, self.weights, strict=True), key=lambda t: -t[1])
        shown = [f"{label} {w:.2f}" for label, w in ranked if w >= 0.005]  # weights sum to 1
        rest = len(ranked) - len(shown)
        return ", ".join(shown) + (f", and {rest} more below 0.005" if rest else "")


def _block_diagonal(blocks: Sequence[np.ndarray | None]) -> np.ndarray | None:
    """The block-diagonal matrix of the members' covariances (members are fitted apart)."""
    if any(b is None for b in blocks):
        return None
    sizes = [int(np.asarray(b).shape[0]) for b in blocks]
    out = np.zeros((sum(sizes), sum(sizes)))
    at = 0
    for b, k in zip(blocks, sizes, strict=True):
        out[at : at + k, at : at + k] = np.asarray(b)
        at += k
    return out
