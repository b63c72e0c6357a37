"""Start a test's child process with the signals a command typed at a terminal has."""

from __future__ import annotations

import signal


def as_in_a_terminal() -> None:
    """subprocess.Popen(preexec_fn=...): SIGINT back to its default in the child.

    A test run started in the background by a non-interactive shell (`bash -c '... &'`, as a CI
    script may do) ignores SIGINT, and children inherit that: a study, and Ray's workers, would
    then rightly ignore the test's Ctrl-C, as any background job does.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
