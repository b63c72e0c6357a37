"""Reading what users bring: result tables (CSV/Parquet) and fit files (JSON).

Every failure a user can fix — a missing file, an unknown column, a malformed filter, NaN in a
column — becomes a ScalingLabError that names the problem and what to do.
"""

from __future__ import annotations

import json
import lzma
import math
import sys
import tarfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scalinglab.display import file_in_the_way, path_error
from scalinglab.errors import ScalingLabError
from scalinglab.expr import apply_filter
from scalinglab.laws.base import FloatArray, ScalingLaw

TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
# What pandas decompresses by the file's last suffix (its compression="infer").
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".zip", ".xz", ".zst", ".tar")
# What a damaged or mislabelled compressed file raises while pandas decompresses it.
_DECOMPRESS_ERRORS = (
    EOFError, OSError, ValueError, lzma.LZMAError, tarfile.TarError, zipfile.BadZipFile,
    zlib.error,
)  # fmt: skip


def read_table(path: str | Path, where: str | None = None) -> pd.DataFrame:
    """A CSV/TSV/Parquet file as a DataFrame, optionally filtered by a `--where` condition
    (scalinglab.expr: parsed with an allow-list, never evaluated as code)."""
    p = Path(path)
    if not _exists(p):
        raise ScalingLabError(f"no such file: {p}")
    if p.is_dir():
        raise ScalingLabError(f"{p} is a directory, not a CSV or Parquet file")
    _check_regular(p, "a CSV or Parquet file")
    suffix = p.suffix.lower()
    if suffix == ".json" or (suffix not in (".parquet", ".pq") and _is_json(p, suffix)):
        raise ScalingLabError(
            f"{p} is a JSON file (a fit result?); this command reads a table of runs: "
            "CSV, TSV or Parquet with a header row"
        )
    if suffix in COMPRESSED_SUFFIXES:
        df, header = _read_compressed_csv(p)
    else:
        df, header = _read_plain_table(p, suffix)
    # Counter, not header.count: a header of 200,000 columns would take quadratic time
    repeated = sorted(str(c) for c, n in Counter(header).items() if n > 1)
    if repeated:
        raise ScalingLabError(
            f"{p} has more than one column named {repeated[0]!r}; rename them so each column "
            "name is unique"
        )
    if df.empty:
        raise ScalingLabError(f"{p} has no data rows")
    if where:
        df = apply_filter(df, where)
        if df.empty:
            raise ScalingLabError(f"no rows of {p} match the filter {where!r}")
    return df


def _read_plain_table(p: Path, suffix: str) -> tuple[pd.DataFrame, list[str]]:
    """A CSV, TSV or Parquet file and its header row as written."""
    sep = "\t" if suffix == ".tsv" else ","
    try:
        if suffix in (".parquet", ".pq"):
            df = pd.read_parquet(p)
            return df, [str(c) for c in df.columns]
        return _read_csv(p, sep)
    except pd.errors.EmptyDataError:
        raise ScalingLabError(f"{p} is empty: it needs a header row and data rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise ScalingLabError(f"cannot read {p} as a table: {_first_line(exc)}") from None


def _read_compressed_csv(p: Path) -> tuple[pd.DataFrame, list[str]]:
    """A compressed CSV (data.csv.gz, .bz2, .zip, .xz, .zst, .tar) and its header row."""
    try:
        return _read_csv(p, "\t" if p.stem.lower().endswith(".tsv") else ",")
    except pd.errors.EmptyDataError:
        raise ScalingLabError(f"{p} is empty: it needs a header row and data rows") from None
    except ImportError as exc:  # .zst needs the optional zstandard package
        module = exc.name or getattr(exc.__cause__, "name", None)
        need = f"needs the {module} package: pip install {module}" if module else _first_line(exc)
        raise ScalingLabError(
            f"cannot read {p} as a compressed CSV ({need}); or decompress it first"
        ) from None
    except _DECOMPRESS_ERRORS as exc:  # ParserError and UnicodeDecodeError are ValueErrors
        raise ScalingLabError(
            f"cannot read {p} as a compressed CSV ({_first_line(exc).rstrip(':')})"
        ) from None


def _read_csv(p: Path, sep: str) -> tuple[pd.DataFrame, list[str]]:
    df = pd.read_csv(p, sep=sep)
    # pandas renames a repeated name (x, x.1): the raw header row shows the repeat.
    first_row = pd.read_csv(p, sep=sep, header=None, nrows=1, dtype=str).iloc[0]
    return df, [c for c in first_row if isinstance(c, str)]  # blanks are NaN


def _first_line(exc: BaseException) -> str:
    """An exception's message's first line, or its class name when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _exists(p: Path) -> bool:
    """`p.exists()`, but a path the system cannot even look up (a name too long) fails with
    its reason instead of raising OSError."""
    try:
        return p.exists()
    except OSError as exc:
        raise ScalingLabError(path_error(p, exc)) from None


def write_table(df: pd.DataFrame, path: str | Path) -> None:
    """Write `df` as CSV (.csv), TSV (.tsv) or Parquet (.parquet, .pq), creating the folder;
    one ScalingLabError when it cannot be written."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ScalingLabError(f"{p}: unknown table format; use .csv, .tsv or .parquet")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        if suffix in (".parquet", ".pq"):
            df.to_parquet(p, index=False)
        else:
            df.to_csv(p, index=False, sep="\t" if suffix == ".tsv" else ",")
    except OSError as exc:
        blocker = file_in_the_way(p.parent)
        reason = f"{blocker} is a file, not a directory" if blocker else exc.strerror or exc
        raise ScalingLabError(f"cannot write {p}: {reason}") from None
    except (ValueError, ImportError) as exc:
        raise ScalingLabError(f"cannot write {p}: {exc}") from None


def _check_regular(path: Path, what: str) -> None:
    """Fail unless `path` is a regular file: reading a named pipe or a device would wait for
    a writer that may never come."""
    if not path.is_file():
        raise ScalingLabError(f"{path} is not a regular file; give {what}")


def _existing_file(p: Path, what: str) -> None:
    """Fail unless `p` is a regular file that exists (`what` names it in the message)."""
    if not _exists(p):
        raise ScalingLabError(f"no such {what}: {p}")
    if p.is_dir():
        raise ScalingLabError(f"{p} is a directory, not a {what}")
    _check_regular(p, f"a JSON {what}")


def read_json(path: str | Path, what: str = "file") -> Any:
    """The JSON document in `path`; one ScalingLabError for anything that is not one (a missing
    or unreadable file, bad JSON or encoding, a number too long to convert, nesting too deep)."""
    p = Path(path)
    _existing_file(p, what)
    return _parse_json(p, what)


def _parse_json(p: Path, what: str) -> Any:
    """`read_json` once `p` is known to be a regular file."""
    try:
        return json.loads(p.read_text())
    except RecursionError:
        raise ScalingLabError(f"{p} is nested too deeply to be a JSON {what}") from None
    except json.JSONDecodeError as exc:
        raise ScalingLabError(f"{p} is not a valid JSON {what}: {exc}") from None
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        # e.g. a number of thousands of digits; the advice after the colon is for programmers
        first = str(exc).strip().split(":")[0] if str(exc).strip() else type(exc).__name__
        raise ScalingLabError(f"{p} is not a valid JSON {what}: {first}") from None


def _looks_like_json(path: Path) -> bool:
    """True if the file's first non-blank character opens a JSON object or array."""
    try:
        with path.open("rb") as f:
            start = f.read(256).lstrip()
    except OSError:
        return False
    return start[:1] in (b"{", b"[")


def _is_json(path: Path, suffix: str) -> bool:
    """True for a JSON document: sniffed by its first character, and behind a .csv or .tsv
    suffix also parsed, since a CSV header may start with "[" or "{" too ("[N],loss")."""
    if not _looks_like_json(path):
        return False
    if suffix not in TABLE_SUFFIXES:
        return True
    try:
        json.loads(path.read_bytes())
    except (ValueError, RecursionError, OSError):  # JSONDecodeError and UnicodeDecodeError
        return False
    return True


def file_row(df: pd.DataFrame, i: int) -> int:
    """The 1-based data row of its file that position i of `df` came from: `read_table` keeps
    the file's index through --where, and rows left out later keep theirs."""
    label = df.index[i]
    return (int(label) if isinstance(label, int | np.integer) else i) + 1


def numeric_columns(
    df: pd.DataFrame,
    columns: Sequence[str],
    source: str = "the table",
    remedy: str = "drop them or filter with --where",
) -> FloatArray:
    """The named columns as a float (n, k) array; unknown, non-numeric or missing values fail
    (the message ends with `remedy`: what the command lets a user do about them)."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        known = ", ".join(map(str, df.columns))
        raise ScalingLabError(f"{source} has no column {missing[0]!r}; its columns are: {known}")
    out = np.empty((len(df), len(columns)))
    for j, col in enumerate(columns):
        if pd.api.types.is_bool_dtype(df[col]):  # True/False would silently read as 1/0
            raise ScalingLabError(
                f"column {col!r} holds True/False values, not numbers; choose a numeric column "
                "(a flag belongs in --where, e.g. --where 'flag == True')"
            )
        values = to_numbers(df[col]).to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            row = file_row(df, int(np.flatnonzero(bad)[0]))  # the file's row, after --where too
            raise ScalingLabError(
                f"column {col!r} has {int(bad.sum())} missing, non-numeric, NaN or inf value(s) "
                f"(first at data row {row}); {remedy}"
            )
        out[:, j] = values
    return out


def to_numbers(values: pd.Series) -> pd.Series:
    """`pd.to_numeric(values, errors="coerce")`: text becomes NaN, and an integer beyond the
    float range (pandas reads a cell of hundreds of digits as a Python int, which to_numeric
    refuses with OverflowError) becomes inf or -inf, as the same number written 1e400 reads."""
    try:
        return pd.to_numeric(values, errors="coerce")
    except OverflowError:
        return pd.to_numeric(values.map(_beyond_float_as_inf), errors="coerce")


def _beyond_float_as_inf(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > sys.float_info.max:
        return math.inf if value > 0 else -math.inf
    return value


def load_fit(path: str | Path) -> tuple[ScalingLaw, dict[str, Any]]:
    """A fit file (JSON written by `scalinglab fit --json`, or hand-written with "law" and
    "params"): the fitted law and the whole JSON document (with "x" and "y" column names)."""
    p = Path(path)
    _existing_file(p, "fit file")
    if p.suffix.lower() in TABLE_SUFFIXES or not _looks_like_json(p):
        raise ScalingLabError(
            f"{p} is not a fit file (JSON): fit a table first with "
            "`scalinglab fit TABLE ... --json FIT.json`"
        )
    data = _parse_json(p, "fit file")
    if not isinstance(data, dict):
        raise ScalingLabError(f"{p} must hold a JSON object with 'law' and 'params'")
    if data.get("params") is None:  # null too: the law would not be fitted
        raise ScalingLabError(f"{p} has no 'params': it is not a fit result")
    law = ScalingLaw.from_dict(data)
    return law, data


def fit_variables(law: ScalingLaw, doc: dict[str, Any]) -> list[str]:
    """Column names of the fit's X (the "x" field), defaulting to the law's variable names."""
    x = doc.get("x")
    if x is None:
        return list(law.variables)
    if not isinstance(x, str | list | tuple):
        raise ScalingLabError(
            "fit file field 'x' must name the input column(s), a string or a list of strings; "
            "fix it or delete the field"
        )
    names = [str(n) for n in ([x] if isinstance(x, str) else x)]
    if len(names) != len(law.variables):
        raise ScalingLabError(
            f"fit file lists {len(names)} x column(s) but law {law.name!r} takes "
            f"{len(law.variables)}: {list(law.variables)}"
        )
    if len(set(names)) < len(names):  # two variables cannot be one column
        raise ScalingLabError(
            f"fit file field 'x' {names} names a column more than once; give each variable "
            "its own column"
        )
    return names
