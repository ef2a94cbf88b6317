"""Helpers shared by test modules (import as ``from helpers import ...``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def load_speech(speech_dir: Path, name: str) -> tuple[np.ndarray, int]:
    """Read one recording as int16 mono samples and its sample rate."""
    import soundfile as sf

    data, rate = sf.read(speech_dir / name, dtype="int16", always_2d=False)
    return data, rate
