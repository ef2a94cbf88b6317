"""Shared fixtures: a seeded RNG, the real-speech folder, and a report header."""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import pytest
from helpers import SPEECH_DIR  # real recordings beside the project (../shared/data/README.md)

import livekit_audio
from livekit_audio._native import _resample


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [
        f"livekit_audio {livekit_audio.__version__}, numpy {np.__version__}, "
        f"dot kernel {_resample.dot_kernel_name()}, {platform.machine()}",
        f"speech data: {SPEECH_DIR if SPEECH_DIR.is_dir() else 'absent (tests skip)'}",
    ]


@pytest.fixture
def rng() -> np.random.Generator:
    """A freshly seeded generator per test, so every test is reproducible on its own."""
    return np.random.default_rng(20261121)


@pytest.fixture(scope="session")
def speech_dir() -> Path:
    """The shared speech folder; skips the test when it is absent."""
    if not SPEECH_DIR.is_dir():
        pytest.skip(f"real speech recordings not found at {SPEECH_DIR}")
    return SPEECH_DIR
