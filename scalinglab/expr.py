"""Safe expressions over a table's columns: the `--where` filter.

A user's string is parsed with Python's `ast` and checked against an allow-list before anything is
evaluated; it is never handed to `eval`, `exec` or `DataFrame.query` (which resolves `@name`
against the caller's variables and so runs code). What a filter may hold:

- column names (a name with spaces or symbols in backticks: `` `Seen Examples` > 1e6 ``),
  numbers, strings, True/False;
- comparisons (== != < <= > >=, chained as in `1 <= x < 10`), `in [...]` / `not in [...]`
  over a list of literals;
- `and`, `or`, `not` (and pandas' `&`, `|`, `~`), parentheses;
- arithmetic on numbers and numeric columns: + - * / // % ** and unary minus.

Everything else — attribute access, calls, subscripts, `@` references, dunder names, lambdas,
comprehensions — is refused with one line naming what is not allowed. The filter is evaluated
column-wise with pandas/numpy and must give one boolean per row.

The same machinery parses the `--formula` of a formula law (`parse_formula`; compiled to torch in
scalinglab.laws.formula): numbers, names, + - * / ** (and ^ for **), unary minus, parentheses,
and calls of exp, log, log10, sqrt, abs, min, max and where(condition, a, b), whose condition
holds comparisons joined by and/or/not. Nothing else is allowed.
"""

from __future__ import annotations

import ast
import io
import operator
import re
import tokenize
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scalinglab.errors import ScalingLabError

# A filter longer than this is not something a person typed; refusing it also bounds parse depth.
MAX_LENGTH = 2000

_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
# Comparisons that order their operands: numbers with numbers, text with text (pandas' own
# message for a number against text names dtypes, not the filter's words).
_ORDERING: dict[type[ast.cmpop], str] = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_OPERATOR_SYMBOLS: dict[type[ast.AST], str] = {
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitXor: "^",
    ast.Is: "is",
    ast.IsNot: "is not",
}
# Node types refused outright, with the words a user would recognise.
_REFUSED: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access ('.')",
    ast.Call: "function calls",
    ast.Subscript: "subscripts ('[...]' after a value)",
    ast.Lambda: "lambdas",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.NamedExpr: "assignments (':=')",
    ast.IfExp: "'x if c else y'",
    ast.Starred: "'*' unpacking",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.JoinedStr: "f-strings",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slices",
}


class ExpressionError(ScalingLabError):
    """A user expression that is malformed or uses something not on the allow-list."""


@dataclass(frozen=True)
class Filter:
    """A parsed, checked `--where` filter: `mask(df)` gives its boolean row mask."""

    text: str
    tree: ast.Expression
    backticked: Mapping[str, str]  # placeholder name -> the backticked column name

    def column_names(self) -> set[str]:
        """The columns the filter reads."""
        names = {n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name)}
        return {self.backticked.get(n, n) for n in names}

    def mask(self, df: pd.DataFrame, option: str = "--where") -> pd.Series:
        """One boolean per row of `df`; fails on an unknown column or a non-boolean result."""
        value = self._value(df, option)
        if isinstance(value, bool):
            value = pd.Series(value, index=df.index)
        if not isinstance(value, pd.Series) or not pd.api.types.is_bool_dtype(value.dtype):
            raise ExpressionError(
                f"{option} {self.text!r} is not a condition: it must give true/false per row, "
                "e.g. 'params > 1e8 and epoch_outlier == 0'"
            )
        return value

    def numbers(self, df: pd.DataFrame, option: str = "--cost") -> np.ndarray:
        """One number per row of `df` (the filter read as an arithmetic expression, as
        `evaluate_numeric` parses it); fails on an unknown column or a result that is not a
        number per row. Parse once, then call this as often as needed."""
        value = self._value(df, option)
        if not isinstance(value, pd.Series) and _kind(value) == "number":
            value = pd.Series(float(value), index=df.index)
        if not isinstance(value, pd.Series) or _kind(value) != "number":
            raise ExpressionError(
                f"{option} {self.text!r} must give a number per row (arithmetic on numeric "
                "columns, e.g. '6*params*tokens'), not a condition or text"
            )
        return value.to_numpy(dtype=float)

    def _value(self, df: pd.DataFrame, option: str) -> Any:
        """The tree evaluated on `df`'s columns; one line for an unknown column or a failure."""
        unknown = sorted(c for c in self.column_names() if c not in df.columns)
        if unknown:
            known = ", ".join(map(str, df.columns))
            raise ExpressionError(
                f"{option} names {unknown[0]!r}, which is not a column; the columns are: {known}"
            )
        try:
            with np.errstate(all="ignore"):
                return _Evaluator(df, self.backticked, option).visit(self.tree.body)
        except ExpressionError:
            raise
        except (TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ExpressionError(f"cannot evaluate {option} {self.text!r}: {first}") from None


CONDITION_EXAMPLE = "'params > 1e8 and data == \"c4\"'"
NUMBER_EXAMPLE = "'6*params*tokens'"


def parse_filter(
    text: str, option: str = "--where", what: str = "condition", example: str = CONDITION_EXAMPLE
) -> Filter:
    """Parse and check a filter (or, with `what` and `example` saying so, an arithmetic
    expression parsed the same way); raises ExpressionError naming what is not allowed."""
    if not text.strip():
        article = "an" if what[:1] in "aeiou" else "a"
        raise ExpressionError(f"{option} is empty: give {article} {what} such as {example}")
    source, backticked = _prepare(text, option)
    tokens = _tokens(source)
    if tokens is not None and not _has_at(tokens):
        source = _replace_tokens(tokens, {"&": "and", "|": "or"})
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ExpressionError(
            f"{option} {text!r} is not a valid {what}; write e.g. {example} (backticks around "
            "column names with spaces)"
        ) from None
    _check(tree.body, option)
    if _depth(tree.body) > MAX_DEPTH:
        # the evaluator recurses: a chain of 990 '+' would exhaust Python's stack
        raise ExpressionError(f"{option} is nested more than {MAX_DEPTH} levels deep")
    return Filter(text=text, tree=tree, backticked=backticked)


def _depth(node: ast.AST) -> int:
    """How deeply the tree nests (without recursion: the tree may be thousands deep)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in ast.iter_child_nodes(current))
    return deepest


def apply_filter(df: pd.DataFrame, text: str, option: str = "--where") -> pd.DataFrame:
    """The rows of `df` for which the filter `text` holds."""
    return df[parse_filter(text, option).mask(df, option).to_numpy()]


def evaluate_numeric(df: pd.DataFrame, text: str, option: str = "--cost") -> np.ndarray:
    """One number per row of `df` from an arithmetic expression over its columns (e.g. a run's
    cost, "6*params*tokens"), parsed and checked like a filter; fails in one line on an unknown
    column or a result that is not a number per row."""
    return parse_filter(text, option, "expression", NUMBER_EXAMPLE).numbers(df, option)


def _prepare(text: str, option: str) -> tuple[str, dict[str, str]]:
    """Checks shared by filters and formulas: the length, no '@', backticked names replaced."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"{option} is {len(text)} characters long; at most {MAX_LENGTH}")
    source, backticked = _replace_backticks(text, option)
    tokens = _tokens(source)
    if (tokens is None or _has_at(tokens)) and "@" in source:
        raise ExpressionError(
            f"{option} may not use '@' (a reference to a Python variable); "
            "use column names and literal values"
        )
    return source, backticked


def _has_at(tokens: list[tokenize.TokenInfo]) -> bool:
    return any("@" in tok.string for tok in tokens if tok.type != tokenize.STRING)


def _replace_backticks(text: str, option: str) -> tuple[str, dict[str, str]]:
    """`a b` column names become placeholder identifiers the parser accepts."""
    mapping: dict[str, str] = {}

    def substitute(match: re.Match[str]) -> str:
        name = f"_backtick_{len(mapping)}_"
        mapping[name] = match.group(1)
        return name

    source = re.sub(r"`([^`]*)`", substitute, text)
    if "`" in source:
        raise ExpressionError(f"{option} has an unmatched backtick: {text!r}")
    return source, mapping


def _tokens(source: str) -> list[tokenize.TokenInfo] | None:
    """Python's tokens of the filter, or None when it does not tokenize."""
    try:
        return list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None


def _replace_tokens(tokens: list[tokenize.TokenInfo], words: Mapping[str, str]) -> str:
    """The source with operator tokens replaced: '&' and '|' as 'and' and 'or', as pandas'
    query reads them (below comparisons in precedence, so that 'a > 1 & b < 2' means (a > 1) and
    (b < 2)); in a formula also '^' as '**'."""
    pairs = [
        (tokenize.OP if words[t.string] == "**" else tokenize.NAME, words[t.string])
        if t.type == tokenize.OP and t.string in words
        else (t.type, t.string)
        for t in tokens
    ]  # fmt: skip
    return str(tokenize.untokenize(pairs))


def _check(node: ast.AST, option: str) -> None:
    """Walk the tree and refuse every node that is not on the allow-list."""
    for child in ast.walk(node):
        kind = type(child)
        if kind in _REFUSED:
            raise ExpressionError(f"{option} may not use {_REFUSED[kind]}")
        if isinstance(child, ast.Name):
            if child.id.startswith("__"):
                raise ExpressionError(f"{option} may not use dunder names such as {child.id!r}")
        elif isinstance(child, ast.Constant):
            if not isinstance(child.value, bool | int | float | str):
                raise ExpressionError(f"{option} may not use the constant {child.value!r}")
        elif isinstance(child, ast.BinOp):
            if type(child.op) not in _ARITHMETIC:
                symbol = _OPERATOR_SYMBOLS.get(type(child.op), type(child.op).__name__)
                raise ExpressionError(f"{option} may not use the operator {symbol!r}")
        elif isinstance(child, ast.Compare):
            for op, right in zip(child.ops, child.comparators, strict=True):
                if isinstance(op, ast.In | ast.NotIn):
                    if not (isinstance(right, ast.List | ast.Tuple) and _all_literals(right)):
                        raise ExpressionError(
                            f"{option}: 'in' takes a list of literal values, e.g. x in [1, 2]"
                        )
                elif type(op) not in _COMPARE:
                    symbol = _OPERATOR_SYMBOLS.get(type(op), type(op).__name__)
                    raise ExpressionError(f"{option} may not use the comparison {symbol!r}")
        elif isinstance(child, ast.List | ast.Tuple):
            if not _all_literals(child):
                raise ExpressionError(f"{option}: lists may hold only literal values")
        elif not isinstance(
            child,
            ast.Expression
            | ast.BoolOp
            | ast.UnaryOp
            | ast.Load
            | ast.And
            | ast.Or
            | ast.Not
            | ast.USub
            | ast.UAdd
            | ast.Invert
            | ast.operator
            | ast.cmpop,
        ):
            raise ExpressionError(f"{option} may not use {type(child).__name__} expressions")


def _all_literals(node: ast.List | ast.Tuple) -> bool:
    return all(_literal(e) for e in node.elts)


def _literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, bool | int | float | str)
    return (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub | ast.UAdd)
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, int | float)
    )


class _Evaluator:
    """Evaluates a checked tree column-wise; every branch matches one allowed node type."""

    def __init__(self, df: pd.DataFrame, backticked: Mapping[str, str], option: str):
        self.df = df
        self.backticked = backticked
        self.option = option

    def visit(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Name):
            return self.df[self.backticked.get(node.id, node.id)]
        if isinstance(node, ast.Constant):
            # Numbers become float64 so that '9**9**9' overflows to inf instead of computing a
            # Python int with millions of digits; bool stays bool.
            value = node.value
            if isinstance(value, int | float) and not isinstance(value, bool):
                return np.float64(value)
            return value
        if isinstance(node, ast.List | ast.Tuple):
            return [self.visit(e) for e in node.elts]
        if isinstance(node, ast.UnaryOp):
            return self._unary(node)
        if isinstance(node, ast.BinOp):
            return self._binary(node)
        if isinstance(node, ast.BoolOp):
            values = [self._condition(self.visit(v)) for v in node.values]
            combine = operator.and_ if isinstance(node.op, ast.And) else operator.or_
            result = values[0]
            for v in values[1:]:
                result = combine(result, v)
            return result
        if isinstance(node, ast.Compare):
            return self._compare(node)
        raise ExpressionError(f"{self.option} may not use {type(node).__name__} expressions")

    def _unary(self, node: ast.UnaryOp) -> Any:
        value = self.visit(node.operand)
        if isinstance(node.op, ast.Not | ast.Invert):
            return ~self._condition(value)
        self._numeric(value, "-" if isinstance(node.op, ast.USub) else "+")
        return -value if isinstance(node.op, ast.USub) else value

    def _binary(self, node: ast.BinOp) -> Any:
        left, right = self.visit(node.left), self.visit(node.right)
        kind = type(node.op)
        symbol = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
                  ast.Mod: "%", ast.Pow: "**"}[kind]  # fmt: skip
        self._numeric(left, symbol)
        self._numeric(right, symbol)
        return _ARITHMETIC[kind](left, right)

    def _compare(self, node: ast.Compare) -> pd.Series:
        left = self.visit(node.left)
        result: Any = None
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.visit(comparator)
            if isinstance(op, ast.In | ast.NotIn):
                series = (
                    left if isinstance(left, pd.Series) else pd.Series(left, index=self.df.index)
                )
                step = series.isin(right)
                step = ~step if isinstance(op, ast.NotIn) else step
            else:
                if type(op) in _ORDERING:
                    self._comparable(left, right, _ORDERING[type(op)])
                step = _COMPARE[type(op)](left, right)
            if not isinstance(step, pd.Series):  # a comparison of two literals
                step = pd.Series(bool(step), index=self.df.index)
            result = step if result is None else result & step
            left = right
        return result

    def _condition(self, value: Any) -> pd.Series:
        """A boolean Series, or one clear line saying the operand is not a condition."""
        if isinstance(value, bool):
            return pd.Series(value, index=self.df.index)
        if isinstance(value, pd.Series) and pd.api.types.is_bool_dtype(value.dtype):
            return value
        raise ExpressionError(
            f"{self.option}: 'and', 'or' and 'not' combine conditions (comparisons), "
            f"not {_describe(value)}"
        )

    def _comparable(self, left: Any, right: Any, symbol: str) -> None:
        """An ordering of a number against text is one clear line naming both sides."""
        kinds = {_kind(left), _kind(right)}
        if kinds == {"number", "text"}:
            quoted = any(isinstance(v, str) and _is_number(v) for v in (left, right))
            raise ExpressionError(
                f"{self.option}: {symbol!r} compares numbers with numbers or text with text, not "
                f"{_describe(left)} with {_describe(right)}"
                + (" (a number in quotes is text: drop the quotes)" if quoted else "")
            )

    def _numeric(self, value: Any, symbol: str) -> None:
        """Arithmetic only on numbers and numeric columns (no string repetition bombs)."""
        if _kind(value) == "number":
            return
        if isinstance(value, pd.Series):
            if pd.api.types.is_bool_dtype(value.dtype):
                # a true/false column, or a comparison's result (named after its left column)
                raise ExpressionError(
                    f"{self.option}: {symbol!r} needs numbers, not true/false values"
                )
            raise ExpressionError(
                f"{self.option}: {symbol!r} needs numbers, but {_describe(value)} is not numeric"
            )
        raise ExpressionError(f"{self.option}: {symbol!r} needs numbers, not {_describe(value)}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _kind(value: Any) -> str | None:
    """ "number" (a numeric column, or a number; true/false are not numbers) or "text" (a
    text column, or a string); None for anything else (lists, mixed columns): what arithmetic
    takes, what a number per row must be, and what an ordering compares."""
    if isinstance(value, pd.Series):
        dtype = value.dtype
        if pd.api.types.is_bool_dtype(dtype):
            return None
        if pd.api.types.is_numeric_dtype(dtype):
            return "number"
        return "text" if pd.api.types.is_string_dtype(dtype) else None
    if isinstance(value, str):
        return "text"
    if isinstance(value, int | float | np.floating) and not isinstance(value, bool):
        return "number"
    return None


def _describe(value: Any) -> str:
    if isinstance(value, pd.Series):
        return f"column {value.name!r}" if value.name is not None else "a column expression"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):  # evaluated literals: their repr would show numpy types
        return "a list"
    if _kind(value) == "number":
        return f"the number {float(value):g}"  # not np.float64(1.0)
    return f"the value {value!r}"


# ------------------------------------------------------------------------------------------------
# Formulas: the form of a formula law (scalinglab.laws.formula compiles the checked tree to torch)
# ------------------------------------------------------------------------------------------------
# Function name -> (least, most) number of arguments.
FORMULA_FUNCTIONS: dict[str, tuple[int, int]] = {
    "exp": (1, 1),
    "log": (1, 1),
    "log10": (1, 1),
    "sqrt": (1, 1),
    "abs": (1, 1),
    "min": (2, 8),
    "max": (2, 8),
    "where": (3, 3),
}
FORMULA_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
MAX_DEPTH = 60  # nesting a person writes is far below this; it also bounds the compiler's recursion
_FUNCTION_LIST = ", ".join(FORMULA_FUNCTIONS)


@dataclass(frozen=True)
class Formula:
    """A parsed, checked formula: `tree` holds only allowed nodes; `names` are its variable and
    parameter names in order of first appearance (backticked names as written)."""

    text: str
    tree: ast.Expression
    backticked: Mapping[str, str]  # placeholder name -> the backticked name
    names: tuple[str, ...]

    def name_of(self, node: ast.Name) -> str:
        """The user's name of a Name node (a backticked name as written)."""
        return self.backticked.get(node.id, node.id)


def parse_formula(text: str, option: str = "--formula") -> Formula:
    """Parse and check a formula; raises ExpressionError naming what is not allowed.

    Example: parse_formula("E + A/N^alpha + B/D^beta").names == ("E", "A", "N", "alpha", ...).
    """
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError(
            f"{option} is empty: give a formula such as 'E + A/N**alpha + B/D**beta'"
        )
    source, backticked = _prepare(text, option)
    tokens = _tokens(source)
    if tokens is not None:
        source = _replace_tokens(tokens, {"^": "**"})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)  # e.g. '1and x': refused below
            tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ExpressionError(
            f"{option} {text!r} is not a valid formula; write e.g. 'E + A/N**alpha + B/D**beta' "
            f"(operators + - * / ** ^, functions {_FUNCTION_LIST})"
        ) from None
    # The worst first, anywhere in the tree: dunder names, then attribute access.
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id.startswith("__"):
            raise ExpressionError(f"{option} may not use dunder names such as {node.id!r}")
    if any(isinstance(node, ast.Attribute) for node in ast.walk(tree)):
        raise ExpressionError(f"{option} may not use {_REFUSED[ast.Attribute]}")
    names: list[str] = []
    _check_formula(tree.body, option, names, backticked, condition=False, depth=0)
    return Formula(text=text, tree=tree, backticked=backticked, names=tuple(names))


def _check_formula(
    node: ast.AST,
    option: str,
    names: list[str],
    backticked: Mapping[str, str],
    *,
    condition: bool,
    depth: int,
) -> None:
    """Refuse every node not on the formula allow-list. `condition`: the node must be a
    true/false test (the first argument of where), else a number."""
    if depth > MAX_DEPTH:
        raise ExpressionError(f"{option} is nested more than {MAX_DEPTH} levels deep")
    kind = type(node)
    if kind in _REFUSED and kind is not ast.Call:
        raise ExpressionError(f"{option} may not use {_REFUSED[kind]}")

    def check(child: ast.AST, is_condition: bool = False) -> None:
        _check_formula(child, option, names, backticked, condition=is_condition, depth=depth + 1)

    if condition:
        if isinstance(node, ast.Compare):
            for op in node.ops:
                if type(op) not in _COMPARE:
                    symbol = _OPERATOR_SYMBOLS.get(type(op), type(op).__name__)
                    raise ExpressionError(f"{option} may not use the comparison {symbol!r}")
            for operand in (node.left, *node.comparators):
                check(operand)
        elif isinstance(node, ast.BoolOp):
            for value in node.values:
                check(value, True)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            check(node.operand, True)
        else:
            raise ExpressionError(
                f"{option}: the first argument of where() is a condition such as 'N > 1e9'"
            )
        return
    if isinstance(node, ast.Name):
        if node.id.startswith("__"):
            raise ExpressionError(f"{option} may not use dunder names such as {node.id!r}")
        if node.id in FORMULA_FUNCTIONS:
            raise ExpressionError(
                f"{option} uses {node.id!r} as a name, but it is a function: call it as "
                f"{node.id}(...) or rename the column or parameter"
            )
        name = backticked.get(node.id, node.id)
        if name not in names:
            names.append(name)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise ExpressionError(f"{option} may not use the constant {node.value!r}")
        try:
            float(node.value)
        except OverflowError:
            raise ExpressionError(f"{option}: the number {node.value} is too large") from None
    elif isinstance(node, ast.BinOp):
        if not isinstance(node.op, FORMULA_OPERATORS):
            symbol = _OPERATOR_SYMBOLS.get(type(node.op), type(node.op).__name__)
            raise ExpressionError(
                f"{option} may not use the operator {symbol!r}; use + - * / ** (or ^)"
            )
        check(node.left)
        check(node.right)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise ExpressionError(f"{option}: 'not' and '~' belong in a where() condition")
        check(node.operand)
    elif isinstance(node, ast.Call):
        func = node.func
        if not isinstance(func, ast.Name):
            raise ExpressionError(f"{option} may only call the functions {_FUNCTION_LIST} by name")
        if func.id.startswith("__"):
            raise ExpressionError(f"{option} may not use dunder names such as {func.id!r}")
        if func.id not in FORMULA_FUNCTIONS:
            raise ExpressionError(
                f"{option} may not call {func.id!r}; the functions are {_FUNCTION_LIST}"
            )
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise ExpressionError(f"{option}: {func.id}() takes plain arguments, no keywords")
        least, most = FORMULA_FUNCTIONS[func.id]
        if not least <= len(node.args) <= most:
            count = str(least) if least == most else f"{least} to {most}"
            raise ExpressionError(
                f"{option}: {func.id}() takes {count} argument(s), got {len(node.args)}"
            )
        for j, arg in enumerate(node.args):
            check(arg, func.id == "where" and j == 0)
    elif isinstance(node, ast.Compare | ast.BoolOp) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
    ):
        raise ExpressionError(
            f"{option}: comparisons and and/or/not belong in where(condition, a, b)"
        )
    else:
        raise ExpressionError(f"{option} may not use {type(node).__name__} expressions")
