"""The values the command's options accept, and their checks (shared by the parser and
:func:`~livekit_audio.cli.process.process_file`)."""

from __future__ import annotations

import math

from livekit_audio.cli.errors import CLIError
from livekit_audio.resampler import MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ, AudioResamplerQuality

__all__ = [
    "ENGINES",
    "MAX_FRAME_MS",
    "MAX_RATE_HZ",
    "MIN_RATE_HZ",
    "QUALITIES",
    "check_frame_ms",
    "check_rate",
    "parse_quality",
]

#: Sample rates and channel counts the resampler accepts (checked early for a clear message).
MIN_RATE_HZ = MIN_SAMPLE_RATE_HZ
MAX_RATE_HZ = MAX_SAMPLE_RATE_HZ

#: Largest frame length accepted by ``--frame-ms``.
MAX_FRAME_MS = 1000.0

#: Values of ``--quality``: the resampler presets.
QUALITIES = tuple(q.value for q in AudioResamplerQuality)

#: Values of ``--denoise``: the neural suppressors of :mod:`livekit_audio.filters`.
DENOISERS = ("deepfilternet", "rnnoise")
#: Values of ``--engine``: the synchronous stage pipeline, or the async track/stream layer.
ENGINES = ("direct", "stream")


def parse_quality(text: str) -> AudioResamplerQuality:
    """The preset ``text`` names (case-insensitive, ``-`` for ``_``); else CLIError."""
    value = text.strip().lower().replace("-", "_")
    if value not in QUALITIES:
        raise CLIError(f"invalid quality {text!r}: choose from {', '.join(QUALITIES)}")
    return AudioResamplerQuality(value)


def check_rate(what: str, rate: int) -> None:
    """Raise CLIError naming ``what`` unless ``rate`` is within MIN_RATE_HZ..MAX_RATE_HZ."""
    if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        raise CLIError(
            f"{what} {rate} Hz is not supported (must be within {MIN_RATE_HZ}..{MAX_RATE_HZ} Hz)"
        )


def check_frame_ms(frame_ms: float) -> None:
    """Raise CLIError unless ``frame_ms`` is finite, > 0 and <= MAX_FRAME_MS."""
    if not (math.isfinite(frame_ms) and 0 < frame_ms <= MAX_FRAME_MS):
        raise CLIError(f"--frame-ms must be > 0 and <= {MAX_FRAME_MS:g}, got {frame_ms:g}")
