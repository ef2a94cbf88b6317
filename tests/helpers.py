"""Helpers shared by test modules (import as ``from helpers import ...``)."""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
from pathlib import Path

import numpy as np


def load_speech(speech_dir: Path, name: str) -> tuple[np.ndarray, int]:
    """Read one recording as int16 mono samples and its sample rate."""
    import soundfile as sf

    data, rate = sf.read(speech_dir / name, dtype="int16", always_2d=False)
    return data, rate


_TESTS = Path(__file__).resolve().parent
#: The real recordings of ../shared/data/speech (tests that need them skip without them).
SPEECH_DIR = _TESTS.parent.parent / "shared" / "data" / "speech"
#: The example filter plug-in (gain + one-pole high-pass) and the loader's test fixture.
EXAMPLE_PLUGIN = _TESTS.parent / "examples" / "filter_plugin" / "gain_highpass.c"
MISBEHAVING_PLUGIN = _TESTS / "plugins" / "misbehaving_plugin.c"


def build_plugin(source: Path, out: Path, *defines: str) -> Path:
    """Compile a filter plug-in source into the shared library ``out`` with the system C
    compiler (warnings are errors) against the installed ABI header; skips the test when no
    compiler is found."""
    import pytest

    from livekit_audio import get_include

    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    compiler = shutil.which(cc) or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build the test plug-ins")
    cmd = [compiler, "-O1", "-Wall", "-Werror", "-shared", "-fPIC", "-fvisibility=hidden"]
    cmd += [*defines, f"-I{get_include()}", str(source), "-o", str(out), "-lm", "-ldl"]
    subprocess.run(cmd, check=True, capture_output=True)
    return out
