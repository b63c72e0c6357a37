"""The command line starts without torch, scipy, pandas, optuna or matplotlib.

They take seconds to import, so scalinglab/cli imports them inside the commands that use them;
`scalinglab --help`, a command's --help and bad arguments answer at once. Each check runs in a
fresh interpreter: this test process has imported torch already (tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("torch", "scipy", "pandas", "optuna", "matplotlib")


def _run(code: str, **env: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_importing_the_cli_loads_no_heavy_library() -> None:
    code = (
        "import json, sys\n"
        "import scalinglab.cli\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    assert json.loads(_run(code)) == []


def test_help_of_every_command_loads_no_heavy_library() -> None:
    helps = [
        [],
        ["fit"],
        ["predict"],
        ["laws"],
        ["plan"],
        ["isoflop"],
        ["report"],
        ["demo"],
        ["data", "prepare"],
        ["study", "run"],
        ["study", "status"],
        ["study", "export"],
        ["study", "fit"],
        ["benchmark", "extrapolation"],
    ]
    code = (
        "import contextlib, io, json, sys\n"
        "from scalinglab.cli import run_app\n"
        "codes = []\n"
        f"for args in {helps!r}:\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        codes.append(run_app([*args, '--help']))\n"
        f"print(json.dumps([codes, [m for m in {HEAVY!r} if m in sys.modules]]))\n"
    )
    codes, loaded = json.loads(_run(code))
    assert codes == [0] * len(helps)
    assert loaded == []


def test_the_command_line_computes_on_one_torch_thread() -> None:
    code = (
        "import contextlib, io, sys\n"
        "from scalinglab.cli import main\n"
        "sys.argv = ['scalinglab', 'laws']\n"  # a command that imports torch
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main()\n"
        "import torch\n"
        "print(torch.get_num_threads())\n"
    )
    assert _run(code, OMP_NUM_THREADS="2") == "1"
    assert _run(code, SCALINGLAB_THREADS="2") == "2"


def test_help_text_literals_match_the_library() -> None:
    """cli/benchmark.py spells out the estimator list its help text needs at import."""
    from scalinglab.cli import benchmark
    from scalinglab.selection import extrapolation

    assert extrapolation.ESTIMATORS[:-1] == benchmark.DEFAULT_ESTIMATORS


def test_numpy_runtime_warnings_never_reach_the_user(tmp_path: Path) -> None:
    """y near the float limit overflows inside the fit: the user gets the one line that says
    what to do, not numpy's RuntimeWarning naming a source line of ours."""
    data = tmp_path / "huge.csv"
    data.write_text("x,y\n" + "".join(f"{128 * 2**k},1e{308 - k}\n" for k in range(5)))
    argv = ["fit", str(data), "--x", "x", "--y", "y", "--bootstrap", "0"]
    out = subprocess.run(
        [sys.executable, "-m", "scalinglab.cli", *argv], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 2
    assert "RuntimeWarning" not in out.stderr
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1, out.stderr
