"""The processed-data cache shared by every domain: where it lives, how files are written and read.

Every corpus comes from a Debian package installed on this machine; nothing is downloaded at run
time. `prepare` functions turn the package files into numpy arrays once and store them here as
`.npz` files, written atomically (a killed prepare never leaves a half-written file behind).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from scalinglab.errors import ScalingLabError

CACHE_ENV = "SCALINGLAB_CACHE"

# progress(done, total, description): called as a prepare function makes progress.
ProgressFn = Callable[[int, int, str], None]


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The cache directory: `override`, else $SCALINGLAB_CACHE, else ~/.cache/scalinglab."""
    env = os.environ.get(CACHE_ENV)
    if override is not None:
        root = Path(override).expanduser()
    elif env:
        root = Path(env).expanduser()
    else:
        root = Path.home() / ".cache" / "scalinglab"
    for path in (root, *root.parents):
        if path.exists() and not path.is_dir():
            raise ScalingLabError(f"cache directory {root}: {path} is a file, not a directory")
    return root


def apt_line(packages: Iterable[str]) -> str:
    return "sudo apt-get install -y " + " ".join(packages)


def package_installed(package: str) -> bool:
    """True when dpkg reports the Debian package as installed."""
    if shutil.which("dpkg-query") is None:
        return False
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.returncode == 0 and "install ok installed" in out.stdout


def require_files(domain: str, packages: list[str], paths: Iterable[Path | str]) -> None:
    """Raise one clear line naming the apt-get command if a package file or program is missing.

    `paths` are absolute files (checked with exists()) or program names (checked on $PATH).
    """
    for p in paths:
        s = str(p)
        found = Path(s).exists() if s.startswith("/") else shutil.which(s) is not None
        if not found:
            raise ScalingLabError(
                f"the {domain} data needs Debian packages {', '.join(packages)} ({s} not found); "
                f"install them with: {apt_line(packages)}"
            )


def install_packages(packages: list[str]) -> None:
    """apt-get install the packages that are missing (needs root); raise the apt line otherwise."""
    missing = [p for p in packages if not package_installed(p)]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ScalingLabError(
            f"missing Debian packages {', '.join(missing)}; install them with: {apt_line(missing)}"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise ScalingLabError(
            f"apt-get could not install {', '.join(missing)} (exit {out.returncode}); "
            f"run it yourself: {apt_line(missing)}"
        )


def save_arrays(path: Path, **arrays: np.ndarray) -> None:
    """Write an .npz atomically: to a temporary name first, then rename over the target."""
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, path)
    except OSError as exc:
        raise ScalingLabError(
            f"cannot write the data cache {path}: {exc.strerror or exc}; give a writable "
            f"--cache-dir (or set {CACHE_ENV})"
        ) from None
    finally:
        if tmp.exists():
            tmp.unlink()


def load_arrays(path: Path, keys: Iterable[str], domain: str) -> dict[str, np.ndarray]:
    """Read the named arrays; a truncated or foreign file becomes one clear ScalingLabError."""
    fix = f"rebuild it with: scalinglab data prepare {domain} --force"
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in keys}
    except FileNotFoundError:
        raise ScalingLabError(f"no {domain} data in the cache ({path}); {fix}") from None
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise ScalingLabError(
            f"cache file {path} is corrupt or incomplete ({type(exc).__name__}); {fix}"
        ) from None


def is_valid(path: Path, keys: Iterable[str]) -> bool:
    """True when the file exists and every array in it reads back (CRC-checked by zipfile)."""
    if not path.exists():
        return False
    try:
        with np.load(path, allow_pickle=False) as npz:
            for k in keys:
                npz[k]
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
        return False
    return True
