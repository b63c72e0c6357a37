"""How a number looks in a table, in the terminal and in the HTML report: one formatter, and one
note of how far a number lies beyond a fitted range (`beyond`).

A missing value (None, NaN) is always MISSING ("–"), an infinite one "∞" or "−∞"; everything else
is formatted with a format spec (".4g" by default; ".3f", ".1%", "+.1%", ",.0f" ...). Plain
Python, no numpy: the command line imports it before any command runs.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

MISSING = "–"  # the one spelling of a missing value (an en dash)
BEYOND_DATA = "beyond the fitted data"  # how a note on an extrapolation starts (`beyond`)


def num(value: Any, spec: str = ".4g") -> str:
    """`value` formatted by `spec`; MISSING when missing; anything not a number as str()."""
    if value is None:
        return MISSING
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):  # overflow: an integer of hundreds of digits
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


def examples(m: float, spec: str = ".4g") -> str:
    """A shard size (a count of examples) with thousands separators, 60,000; by `spec` outside
    1 .. 1e15, where a whole count with separators is unreadable or not one (1e+20, 0.5)."""
    return f"{m:,.0f}" if 1 <= m < 1e15 else num(m, spec)


# C0/C1 control characters and the bidirectional overrides: printed raw, a name from a file
# could move the cursor, recolour the terminal or reverse the text around it. Lone surrogates
# (a JSON file's "\ud800") cannot be written as UTF-8 at all: printing one raises.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def beyond(label: str, value: float, name: str, lo: float, hi: float) -> str | None:
    """How far `value` (called `label`) lies outside [lo, hi], the fitted range of column
    `name`, in decades: "N_opt = 9.72e+10 is 0.78 decades above the largest params (1.62e+10)";
    None within the range or off the log scale (not a positive finite number)."""
    if not (math.isfinite(value) and value > 0):
        return None
    # differences of logs: a ratio of a subnormal and a large value under- or overflows
    if value > hi:
        where, decades, edge = "above the largest", math.log10(value) - math.log10(hi), hi
    elif value < lo:
        where, decades, edge = "below the smallest", math.log10(lo) - math.log10(value), lo
    else:
        return None
    size = f"{decades:.2g}"
    unit = "decade" if size == "1" else "decades"
    return (
        f"{printable(label)} = {value:.3g} is {size} {unit} {where} {printable(name)} ({edge:.3g})"
    )


def printable(text: str, limit: int | None = None) -> str:
    """`text` with control, bidirectional-override and lone surrogate characters shown as
    escapes (\\x1b, \\u202e, \\ud800), cut to `limit` characters with "…" when longer."""
    shown = _UNPRINTABLE.sub(lambda m: ascii(m.group())[1:-1], text)
    if limit is not None and len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return shown


def path_error(path: Any, exc: OSError) -> str:
    """The message PATH: REASON for a path the system refuses (a file name too long), the path
    cut to 100 characters: cut later, as a whole error line is, the reason would be lost."""
    return f"{printable(str(path), 100)}: {(exc.strerror or str(exc)).lower()}"


def file_in_the_way(directory: Path) -> Path | None:
    """The nearest of `directory` and its parents that exists but is not a directory (a regular
    file, say): what stops `directory` from being created, which the system's "File exists" or
    "Not a directory" does not name. None when nothing does."""
    for candidate in (directory, *directory.parents):
        if os.path.exists(candidate):  # False, not an error, past a file: afile/x
            return None if os.path.isdir(candidate) else candidate
    return None


__all__ = [
    "BEYOND_DATA", "MISSING", "beyond", "examples", "file_in_the_way", "num", "path_error",
    "printable", "span",
]  # fmt: skip
