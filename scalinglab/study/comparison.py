"""Several learning-curve laws fitted to one study's curve, judged on its largest shards.

The test of a scaling law is extrapolation (Alabdulmohsin, Neyshabur & Zhai 2022, "Revisiting
Neural Scaling Laws in Language and Vision", arXiv:2209.06640, Sec. 4): each law is fitted
without the two largest shards and scored by the RMSE of ln y on them
(scalinglab.fitting.scores.rmse_log). The laws are Hestness et al.'s (2017) pure power law
y = a·x^b, the power law with an irreducible level y = a·x^b + c, and their three-region curve
(`hestness`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scalinglab.errors import FitWarning, ScalingLabError
from scalinglab.fitting.scores import rmse_log
from scalinglab.laws.base import FloatArray, ScalingLaw, get_law

COMPARED_LAWS = ("power", "power_const", "hestness")
HELD_OUT_SHARDS = 2  # the largest shards each law is scored on ...
MIN_SHARDS_TO_HOLD_OUT = 6  # ... when the curve has at least this many (else: no split)


@dataclass(frozen=True)
class LawComparison:
    """Laws fitted to one curve: the points, which were fitted (`train`), the fits, each law's
    held-out RMSE of ln y (NaN when nothing was held out) and why a law could not be fitted."""

    x: FloatArray
    y: FloatArray
    train: NDArray[np.bool_]
    fits: Mapping[str, ScalingLaw]
    heldout_rmse: Mapping[str, float]
    failed: Mapping[str, str]

    @property
    def has_split(self) -> bool:
        """Whether some points were held out (and the laws scored on them)."""
        return bool((~self.train).any())

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: the held-out shard sizes, each fitted law (formula, parameters, score)
        and the laws that could not be fitted."""
        return {
            "held_out_shards": sorted({float(v) for v in self.x[~self.train]}),
            "laws": {
                name: {
                    "formula": law.formula,
                    "params": dict(law.params_),
                    "heldout_rmse_log": self.heldout_rmse.get(name, math.nan),
                }
                for name, law in self.fits.items()
            },
            "failed": dict(self.failed),
        }


def compare_laws(
    x: ArrayLike,
    y: ArrayLike,
    names: Sequence[str] = COMPARED_LAWS,
    holdout: int | None = None,
    options: Mapping[str, Any] | None = None,
) -> LawComparison:
    """Fit each law to (x, y) without the `holdout` largest x values and score it on them.

    holdout: how many of the largest distinct x to leave out (default: HELD_OUT_SHARDS when there
    are MIN_SHARDS_TO_HOLD_OUT distinct x or more, else none, and every law is fitted to all).
    options: given to every law's constructor (n_bootstrap, random_state, ci_level, ...).
    """
    xs = np.asarray(x, dtype=float).reshape(-1)
    ys = np.asarray(y, dtype=float).reshape(-1)
    distinct = np.unique(xs)
    if holdout is None:
        holdout = HELD_OUT_SHARDS if distinct.size >= MIN_SHARDS_TO_HOLD_OUT else 0
    train = xs < distinct[-holdout] if holdout > 0 else np.ones(xs.size, dtype=bool)
    fits: dict[str, ScalingLaw] = {}
    scores: dict[str, float] = {}
    failed: dict[str, str] = {}
    for name in names:
        law = get_law(name)(**dict(options or {}))
        if len(law.param_names) > int(train.sum()):
            failed[name] = f"needs {len(law.param_names)} points"
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FitWarning)  # a comparison, not the reported fit
                law.fit(xs[train, None], ys[train])
        except ScalingLabError as exc:
            failed[name] = str(exc)
            continue
        fits[name] = law
        held = ~train
        scores[name] = rmse_log(law.predict(xs[held, None]), ys[held]) if held.any() else math.nan
    return LawComparison(xs, ys, train, fits, scores, failed)


__all__ = ["COMPARED_LAWS", "LawComparison", "compare_laws"]
