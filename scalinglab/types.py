"""Array types, and the JSON form of result dataclasses, shared by every layer."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


class JsonRecord:
    """Mixin of result dataclasses (the planners', the run design's): `to_dict()` is
    `dataclasses.asdict` with every tuple — an interval (lo, hi), alone or in a dict of
    intervals — as a list (JSON has none)."""

    # Set by @dataclass on each subclass; declared so that asdict(self) type-checks.
    __dataclass_fields__: ClassVar[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = _tuples_as_lists(asdict(self))
        return out


def _tuples_as_lists(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_tuples_as_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _tuples_as_lists(v) for k, v in value.items()}
    return value
