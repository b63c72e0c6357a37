"""The `scalinglab` command: thin commands over the public API.

Each command group lives in its own module and registers itself on `app`; errors a user can fix
(`ScalingLabError`) become one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys

from scalinglab.cli.app import app, run_app

# Importing the command modules registers their commands on `app`.
from scalinglab.cli import fit as _fit  # noqa: F401  isort: skip
from scalinglab.cli import data as _data  # noqa: F401  isort: skip
from scalinglab.cli import study as _study  # noqa: F401  isort: skip
from scalinglab.cli import plan as _plan  # noqa: F401  isort: skip


def main() -> None:
    """Console-script entry point."""
    sys.exit(run_app())


__all__ = ["app", "main"]
