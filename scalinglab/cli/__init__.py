"""The `scalinglab` command: thin commands over the public API.

Each command group lives in its own module and registers itself on `app`; errors a user can fix
(`ScalingLabError`) become one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import os
import sys

from scalinglab.cli.app import app, print_error, run_app

# Importing the command modules registers their commands on `app`.
from scalinglab.cli import fit as _fit  # noqa: F401  isort: skip
from scalinglab.cli import data as _data  # noqa: F401  isort: skip
from scalinglab.cli import study as _study  # noqa: F401  isort: skip
from scalinglab.cli import plan as _plan  # noqa: F401  isort: skip
from scalinglab.cli import isoflop as _isoflop  # noqa: F401  isort: skip
from scalinglab.cli import report as _report  # noqa: F401  isort: skip
from scalinglab.cli import demo as _demo  # noqa: F401  isort: skip
from scalinglab.cli import benchmark as _benchmark  # noqa: F401  isort: skip
from scalinglab.cli import tradeoff as _tradeoff  # noqa: F401  isort: skip
from scalinglab.cli import design as _design  # noqa: F401  isort: skip


def main() -> None:
    """Console-script entry point."""
    # The command line's own math (fits, plans, bootstrap draws) is many small kernels: one
    # thread beats two and does not collapse when the other core is busy. torch (imported later,
    # only by commands that compute) takes its thread count from OMP_NUM_THREADS; training
    # workers set their own.
    threads = os.environ.get("SCALINGLAB_THREADS", "1")
    if not (threads.strip().isdigit() and int(threads) >= 1):
        print_error(f"SCALINGLAB_THREADS must be a whole number >= 1, got {threads!r}")
        sys.exit(2)
    os.environ["OMP_NUM_THREADS"] = str(int(threads))
    sys.exit(run_app())


__all__ = ["app", "main"]
