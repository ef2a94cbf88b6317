"""Importing from a source checkout that shadows the installed package explains itself."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import livekit_audio

PACKAGE_DIR = Path(livekit_audio.__file__).parent


def _unbuilt_checkout(root: Path) -> None:
    """A copy of the package's Python sources (no compiled extensions) as a checkout has."""
    shutil.copytree(PACKAGE_DIR, root / "livekit_audio", ignore=shutil.ignore_patterns("*.so"))
    (root / "csrc").mkdir()
    (root / "setup.py").write_text("# a checkout's build script\n")


def _import_from(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import livekit_audio"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_checkout_root_shadowing_the_installed_package_says_so(tmp_path):
    _unbuilt_checkout(tmp_path)
    done = _import_from(tmp_path)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: livekit_audio's compiled extensions")
    assert "shadows the installed package" in last and "pip install -e ." in last
    assert "cannot import name" not in done.stderr


def test_unbuilt_checkout_on_the_path_says_to_build_it(tmp_path):
    _unbuilt_checkout(tmp_path / "src")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import livekit_audio",
            str(tmp_path / "src"),
        ],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "source checkout that was not built" in done.stderr


def test_the_installed_package_imports(tmp_path):
    assert _import_from(tmp_path).returncode == 0
