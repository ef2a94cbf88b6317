"""What every container parser of the decoder shares: DecodeError, the parser interface and
the conversion of decoded samples to int16 frames."""

from __future__ import annotations

import numpy as np

from livekit_audio._errors import LivekitAudioError
from livekit_audio.audio_frame import AudioFrame

__all__ = ["DecodeError", "Demuxer", "float_to_s16", "frame"]


class DecodeError(LivekitAudioError, ValueError):
    """Encoded audio that cannot be decoded: corrupt, truncated or unsupported.

    Parameters
    ----------
    format : str
        The stream's format, e.g. ``"mp3"``, ``"wav"``, ``"ogg/opus"``.
    offset : int
        Byte offset in the stream (counted from the first byte pushed) where the problem was
        found: the start of the bad frame, page or chunk, or the end of a truncated stream.
    reason : str
        What is wrong.

    Attributes
    ----------
    format, offset, reason
        As given.
    """

    def __init__(self, format: str, offset: int, reason: str) -> None:
        self.format = format
        self.offset = int(offset)
        self.reason = reason
        super().__init__(f"{format} stream: {reason} (at byte {self.offset})")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.format, self.offset, self.reason))


def frame(samples: np.ndarray, sample_rate: int) -> AudioFrame:
    """An AudioFrame over int16 samples of shape ``(n, channels)`` (C-contiguous, owned)."""
    return AudioFrame.from_ndarray(samples, sample_rate)


def float_to_s16(x: np.ndarray) -> np.ndarray:
    """Float samples (full scale +-1.0) to int16: ``x * 32768`` rounded to nearest (ties to
    even) and saturated; NaN becomes 0."""
    y = np.multiply(x, np.float32(32768.0), dtype=np.float32)
    np.rint(y, out=y)
    np.clip(y, -32768.0, 32767.0, out=y)
    nan = y != y
    if nan.any():
        y[nan] = 0.0
    return np.asarray(y, dtype=np.int16)


class Demuxer:
    """A push parser: bytes in (in order, any split), decoded int16 frames out.

    Subclasses consume every byte they are fed (keeping a partial unit for the next call),
    append decoded frames at the source's rate and channel count to ``out``, and raise
    :class:`DecodeError` on bad input; frames appended before the error are kept by the
    caller. ``offset`` counts the bytes fed so far.
    """

    #: The format named in errors.
    name = "audio"

    def __init__(self) -> None:
        self.offset = 0

    def feed(self, data: bytes, chunk_start: bool, out: list[AudioFrame]) -> None:
        """Consume ``data``; ``chunk_start`` is True when it begins one of the caller's
        pushes (a WAV stream of unknown length may restart with a RIFF header there)."""
        raise NotImplementedError

    def finish(self, out: list[AudioFrame]) -> bool:
        """End of input: decode what is held; raise :class:`DecodeError` if the stream is
        truncated. Returns True when done, False to be called again (bounded work per call)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release codec state (idempotent)."""

    @property
    def source_format(self) -> tuple[int, int] | None:
        """(sample_rate, num_channels) of the current source once known, else None."""
        return None
