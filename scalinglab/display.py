"""How a number looks in a table, in the terminal and in the HTML report: one formatter.

A missing value (None, NaN) is always MISSING ("–"), an infinite one "∞" or "−∞"; everything else
is formatted with a format spec (".4g" by default; ".3f", ".1%", "+.1%", ",.0f" ...). Plain
Python, no numpy: the command line imports it before any command runs.
"""

from __future__ import annotations

import math
import re
from typing import Any

MISSING = "–"  # the one spelling of a missing value (an en dash)


def num(value: Any, spec: str = ".4g") -> str:
    """`value` formatted by `spec`; MISSING when missing; anything not a number as str()."""
    if value is None:
        return MISSING
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return MISSING
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return format(v, spec)


def span(bounds: Any, spec: str = ".4g") -> str:
    """An interval as "[lo, hi]"; MISSING when there is none (None, or both ends missing)."""
    try:
        lo, hi = (float(b) for b in bounds)
    except (TypeError, ValueError):
        return MISSING
    if math.isnan(lo) and math.isnan(hi):
        return MISSING
    return f"[{num(lo, spec)}, {num(hi, spec)}]"


# C0/C1 control characters and the bidirectional overrides: printed raw, a name from a file
# could move the cursor, recolour the terminal or reverse the text around it
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str, limit: int | None = None) -> str:
    """`text` with control and bidirectional-override characters shown as escapes (\\x1b,
    \\u202e), cut to `limit` characters with "…" when longer."""
    shown = _UNPRINTABLE.sub(lambda m: ascii(m.group())[1:-1], text)
    if limit is not None and len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return shown


__all__ = ["MISSING", "num", "printable", "span"]
