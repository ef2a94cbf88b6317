"""FrameChunker: turns frames of any size into frames of one exact size (e.g. 10 ms)."""

from __future__ import annotations

from typing import Any

import numpy as np

from livekit_audio.audio_frame import AudioFrame, _check_positive_int, frame_layout, frame_samples

__all__ = ["FrameChunker"]


class FrameChunker:
    """Re-chunk a stream of frames into frames of exactly ``samples_per_frame`` samples.

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz of every frame pushed.
    num_channels : int
        Interleaved channels of every frame pushed.
    samples_per_frame : int, keyword-only, optional
        Output frame size per channel; default ``sample_rate // 100`` (10 ms, what
        :class:`~livekit_audio.AudioProcessingModule` needs).

    Notes
    -----
    Samples are never dropped or reordered: :meth:`push` returns every whole frame available,
    :meth:`flush` returns the remainder. Output frames own new writable memory.

    Raises
    ------
    TypeError
        If a size is not an int (``bool`` and ``float`` included), or (from :meth:`push`) the
        item is not a frame.
    ValueError
        On non-positive sizes, or (from :meth:`push`) a frame whose rate or channel count
        differs from the chunker's.
    """

    def __init__(
        self, sample_rate: int, num_channels: int, *, samples_per_frame: int | None = None
    ) -> None:
        sample_rate = _check_positive_int("sample_rate", sample_rate)
        num_channels = _check_positive_int("num_channels", num_channels)
        if samples_per_frame is None:
            size = sample_rate // 100
            if size == 0:
                raise ValueError(
                    f"sample_rate {sample_rate} Hz has no 10 ms frame; give samples_per_frame"
                )
        else:
            size = _check_positive_int("samples_per_frame", samples_per_frame)
        self._sample_rate = sample_rate
        self._num_channels = num_channels
        self._size = size
        self._pending = np.zeros((0, num_channels), dtype=np.int16)

    @property
    def sample_rate(self) -> int:
        """Sample rate in Hz of the frames pushed and returned."""
        return self._sample_rate

    @property
    def num_channels(self) -> int:
        """Channels of the frames pushed and returned."""
        return self._num_channels

    @property
    def samples_per_frame(self) -> int:
        """Size of the frames :meth:`push` returns, per channel."""
        return self._size

    @property
    def pending_samples(self) -> int:
        """Samples per channel held until a whole frame is available."""
        return len(self._pending)

    def push(self, frame: Any) -> list[AudioFrame]:
        """Add a frame; return every whole frame now available (possibly none).

        Raises
        ------
        TypeError
            If ``frame`` is not a frame (or a field of it is not an int).
        ValueError
            If the frame's sample rate or channel count differs from the chunker's.
        """
        rate, channels, _ = frame_layout(frame)
        if rate != self._sample_rate or channels != self._num_channels:
            raise ValueError(
                f"FrameChunker expected {self._sample_rate} Hz, {self._num_channels} ch; got "
                f"{rate} Hz, {channels} ch"
            )
        incoming = np.frombuffer(frame_samples(frame), dtype=np.int16).reshape(
            -1, self._num_channels
        )
        data = np.concatenate([self._pending, incoming]) if len(self._pending) else incoming
        whole = len(data) // self._size * self._size
        out = [
            AudioFrame.from_ndarray(data[i : i + self._size].copy(), self._sample_rate)
            for i in range(0, whole, self._size)
        ]
        self._pending = data[whole:].copy()
        return out

    def flush(self, *, pad: bool = True) -> list[AudioFrame]:
        """Return the held remainder as one frame (zero-padded to full size when ``pad``).

        Returns ``[]`` when nothing is held. The chunker is empty afterwards.
        """
        if not len(self._pending):
            return []
        rest = self._pending
        if pad:
            rest = np.concatenate(
                [rest, np.zeros((self._size - len(rest), self._num_channels), np.int16)]
            )
        self._pending = np.zeros((0, self._num_channels), dtype=np.int16)
        return [AudioFrame.from_ndarray(np.ascontiguousarray(rest), self._sample_rate)]
