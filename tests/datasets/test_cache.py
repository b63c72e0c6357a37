"""Data caches: idempotent prepare, corrupt files and missing packages as one clear line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scalinglab.cli import run_app
from scalinglab.datasets import cache_dir, prepare
from scalinglab.datasets import image as image_data
from scalinglab.datasets._cache import load_arrays, save_arrays
from scalinglab.errors import ScalingLabError


def test_cache_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SCALINGLAB_CACHE", str(tmp_path / "env"))
    assert cache_dir() == tmp_path / "env"
    assert cache_dir(tmp_path / "opt") == tmp_path / "opt"
    monkeypatch.delenv("SCALINGLAB_CACHE")
    assert cache_dir() == Path.home() / ".cache" / "scalinglab"


def test_prepare_image_is_idempotent(tmp_path: Path, need) -> None:  # type: ignore[no-untyped-def]
    need("image")
    calls: list[tuple[int, int, str]] = []
    path = prepare("image", tmp_path, progress=lambda d, t, s: calls.append((d, t, s)))
    assert path == tmp_path / "image-v1.npz" and calls[-1][0] == calls[-1][1]
    mtime = path.stat().st_mtime_ns
    assert prepare("image", tmp_path) == path and path.stat().st_mtime_ns == mtime
    data = image_data.load(tmp_path)
    assert data.x_train.shape == (60000, 28, 28) and data.x_val.shape == (10000, 28, 28)
    assert sorted(np.unique(data.y_train).tolist()) == list(range(10))


def test_corrupt_cache_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "image-v1.npz"
    save_arrays(path, x=np.arange(10))
    path.write_bytes(path.read_bytes()[:40])  # truncated
    with pytest.raises(ScalingLabError, match=r"corrupt.*data prepare image --force"):
        load_arrays(path, ["x"], "image")
    with pytest.raises(ScalingLabError, match="corrupt"):
        image_data.load(tmp_path)


def test_corrupt_cache_is_rebuilt_by_prepare(tmp_path: Path, need) -> None:  # type: ignore[no-untyped-def]
    need("image")
    path = tmp_path / "image-v1.npz"
    path.write_bytes(b"not a zip file")
    assert prepare("image", tmp_path) == path
    assert image_data.load(tmp_path).y_val.shape == (10000,)


def test_missing_package_names_the_apt_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(image_data, "SOURCE_DIR", tmp_path / "nowhere")
    with pytest.raises(ScalingLabError, match="apt-get install -y dataset-fashion-mnist"):
        prepare("image", tmp_path / "cache")
    assert run_app(["data", "prepare", "image", "--cache-dir", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err.strip()
    assert "apt-get install -y dataset-fashion-mnist" in err and "Traceback" not in err


def test_cli_prepare_and_unknown_domain(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys: pytest.CaptureFixture[str], need
) -> None:
    assert run_app(["data", "prepare", "video", "--cache-dir", str(tmp_path)]) == 2
    assert "unknown domain" in capsys.readouterr().err
    need("image")
    assert run_app(["data", "prepare", "image", "--cache-dir", str(tmp_path)]) == 0
    assert (tmp_path / "image-v1.npz").exists()
    assert "image" in capsys.readouterr().out
