"""Imports run one way: no cycle between the package's parts, and no part imports a higher one.

The order (README, "Layout"), lowest first. `fitting` is the numerical engine (batched solver,
objectives, uncertainty, conformal calibration) and knows a law only through the `FittableLaw`
protocol; `laws` are the estimators built on it, as scikit-learn's estimators are built on
scipy.optimize. Every import counts, including those inside functions.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "scalinglab"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "types", "expr", "display", "parallel"),
    ("fitting",),
    ("laws",),
    ("io",),
    ("selection",),
    ("design",),
    ("planning",),
    ("datasets",),
    ("tasks",),
    ("study",),
    ("report",),
    ("cli",),
    ("scalinglab",),  # the package's own __init__
)
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def _part(module: str) -> str:
    """The part of the package a dotted module name belongs to ('scalinglab.laws.power' -> laws)."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "scalinglab"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the scalinglab modules it imports (anywhere in the file)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            graph[name].update(t for t in targets if t.split(".")[0] == "scalinglab")
    return graph


def test_every_part_has_a_layer() -> None:
    parts = {_part(_module_name(p)) for p in PACKAGE.rglob("*.py")}
    assert parts <= set(RANK), f"add {sorted(parts - set(RANK))} to LAYERS (and the README)"


def test_no_part_imports_a_higher_one() -> None:
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        for target in targets
        if RANK[_part(target)] > RANK[_part(module)]
    )
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(upward)


def test_no_import_cycle_between_parts() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, targets in import_graph().items():
        for target in targets:
            if _part(target) != _part(module):
                edges[_part(module)].add(_part(target))
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join([*path, node, nxt]))
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [])
