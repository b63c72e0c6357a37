"""An audit hook (PEP 578) that fails a block when it runs code, touches files or spawns a
process: the check that parsing a user's filter or formula never executes anything."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

# ast.parse raises "compile", which only builds the tree, so it is not in the list.
_DANGEROUS = ("exec", "os.system", "subprocess.Popen", "open", "import", "os.remove", "os.exec")
_events: list[str] | None = None


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _events is not None and event.startswith(_DANGEROUS):
        _events.append(event)


sys.addaudithook(_audit)  # once per process: audit hooks cannot be removed


@contextmanager
def no_code_runs(what: str = "the input") -> Iterator[None]:
    """Record dangerous audit events while the block runs; fail if there were any."""
    global _events
    _events = []
    try:
        yield
    finally:
        seen, _events = _events, None
    assert not seen, f"{what} triggered {seen}"
