"""``sine_wave_generator``: an async source of 10 ms int16 sine frames for demos and tests."""

from __future__ import annotations

import math
import numbers
from collections.abc import AsyncIterator

import numpy as np

from livekit_audio.audio_frame import AudioFrame

__all__ = ["MAX_DURATION_S", "MAX_SAMPLE_RATE_HZ", "sine_wave_generator"]

#: Highest sample rate the generator accepts, in Hz (the resampler's limit).
MAX_SAMPLE_RATE_HZ = 768_000
#: Longest tone, in seconds (one day).
MAX_DURATION_S = 86_400.0


def sine_wave_generator(
    freq: float, duration: float, sample_rate: int = 48000, amplitude: float = 0.3
) -> AsyncIterator[AudioFrame]:
    """A phase-continuous mono sine as an async iterator of 10 ms int16 frames.

    Arguments are checked when this is called, so a mistake surfaces at the call site rather
    than at the first ``async for`` step.

    Parameters
    ----------
    freq : float
        Frequency in Hz, 0 <= freq < sample_rate / 2.
    duration : float
        Length in seconds, >= 0. ``round(duration * sample_rate)`` samples are produced;
        the last frame is shorter when that is not a whole number of frames (it is emitted,
        never dropped).
    sample_rate : int
        Sample rate in Hz, >= 100. Frames hold ``sample_rate // 100`` samples: exactly 10 ms
        at rates that are multiples of 100 Hz, 9.98 ms at 22.05 kHz.
    amplitude : float
        Peak amplitude as a fraction of full scale, 0 <= amplitude <= 1.

    Returns
    -------
    AsyncIterator[AudioFrame]
        Mono frames of ``sample_rate // 100`` samples (the last possibly fewer).

    Raises
    ------
    TypeError
        If ``sample_rate`` is not an int, or another argument is not a real number (the
        message names the parameter).
    ValueError
        On a duration outside [0, MAX_DURATION_S] or not finite, a frequency at or above
        Nyquist, a sample rate outside [100, MAX_SAMPLE_RATE_HZ], or an amplitude outside
        [0, 1].
    """
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)):
        raise TypeError(f"sample_rate must be an int, got {type(sample_rate).__name__}")
    if not 100 <= sample_rate <= MAX_SAMPLE_RATE_HZ:
        raise ValueError(
            f"sample_rate must be within [100, {MAX_SAMPLE_RATE_HZ}] Hz, got {sample_rate}"
        )
    freq = _real("freq", freq)
    duration = _real("duration", duration)
    amplitude = _real("amplitude", amplitude)
    if not 0 <= freq < sample_rate / 2:
        raise ValueError(f"freq must be within [0, {sample_rate / 2}) Hz, got {freq}")
    if not 0 <= duration <= MAX_DURATION_S:
        raise ValueError(f"duration must be within [0, {MAX_DURATION_S}] s, got {duration}")
    if not 0 <= amplitude <= 1:
        raise ValueError(f"amplitude must be within [0, 1], got {amplitude}")
    return _sine_frames(freq, duration, int(sample_rate), amplitude)


def _real(name: str, value: object) -> float:
    """``value`` as a finite float; TypeError/ValueError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    try:
        out = float(value)
    except OverflowError:
        raise ValueError(f"{name} must be finite, got an integer too large for a float") from None
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {out}")
    return out


async def _sine_frames(
    freq: float, duration: float, sample_rate: int, amplitude: float
) -> AsyncIterator[AudioFrame]:
    total = round(duration * sample_rate)
    frame_len = sample_rate // 100
    scale = amplitude * 32767.0
    omega = 2.0 * math.pi * freq / sample_rate
    for start in range(0, total, frame_len):
        n = np.arange(start, min(start + frame_len, total), dtype=np.float64)
        samples = np.round(scale * np.sin(omega * n)).astype(np.int16)
        yield AudioFrame.from_ndarray(samples, sample_rate)
