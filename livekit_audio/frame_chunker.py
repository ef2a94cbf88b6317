"""FrameChunker: turns frames of any size into frames of one exact size (e.g. 10 ms).

:class:`_FrameRing` is the package's one re-chunking buffer: :class:`FrameChunker` and
:class:`~livekit_audio.convert.StreamConverter` both cut their frames with it.
"""

from __future__ import annotations

from typing import Any

from livekit_audio.audio_frame import (
    MAX_NUM_CHANNELS,
    MAX_SAMPLES_PER_CHANNEL,
    AudioFrame,
    _check_positive_int,
    frame_layout,
    frame_samples,
    wrap_samples,
)

__all__ = ["FrameChunker"]

#: Room of a re-chunking buffer beyond two frames, in int16 samples (interleaved); larger
#: pushes grow it for as long as they last.
_RING_SLACK = 4096
#: Largest initial (and steady-state) room of a re-chunking buffer, in int16 samples.
_RING_MAX = 1 << 16


class _FrameRing:
    """Int16 interleaved samples held until they make frames of exactly ``size`` samples per
    channel (package-private: the re-chunking of FrameChunker and StreamConverter).

    ``samples[start:fill]`` (an ``'h'`` memoryview; ``data`` is the same memory as bytes) is
    what is held. A writer takes a writable view of the room after it (:meth:`reserve`, or
    ``samples[fill:fill + count]`` once ``fill + count <= len(samples)``, else
    :meth:`make_room` first), writes there (a resampler writes its output straight in) and
    adds what it wrote to ``fill``; :meth:`cut` copies every whole frame out and leaves the
    rest where it is. The held samples move to the front only when the room after them runs
    out, so a steady stream costs one copy and one allocation per push that completes a
    frame, nothing else. Every frame returned owns a new ``bytearray``: nothing handed out
    aliases this buffer.
    """

    __slots__ = ("channels", "data", "fill", "rate", "room", "samples", "size", "start", "step")

    def __init__(self, rate: int, channels: int, size: int) -> None:
        self.rate = rate
        self.channels = channels
        self.size = size
        self.step = size * channels  # int16 samples per output frame
        self.room = min(2 * self.step + _RING_SLACK, _RING_MAX)  # steady-state capacity
        self._alloc(self.room)
        self.start = 0
        self.fill = 0

    def _alloc(self, capacity: int) -> None:
        self.data = memoryview(bytearray(2 * capacity))
        self.samples = self.data.cast("h")

    @property
    def held(self) -> int:
        """Samples per channel held (always fewer than ``size`` after :meth:`cut`)."""
        return (self.fill - self.start) // self.channels

    def reserve(self, count: int) -> memoryview:
        """A writable int16 view of ``count`` samples (interleaved) right after the held ones;
        add what is written there to ``fill``."""
        if self.fill + count > len(self.samples):
            self.make_room(count)
        fill = self.fill
        return self.samples[fill : fill + count]

    def make_room(self, count: int) -> None:
        """Move the held samples to the front, growing the buffer if ``count`` more samples
        still would not fit (it shrinks back in :meth:`cut` once the large push is over)."""
        start, fill = self.start, self.fill
        held = fill - start
        samples = self.samples
        if held + count > len(samples):
            self._alloc(max(held + count, 2 * len(samples)))
            self.samples[:held] = samples[start:fill]
        elif held:
            samples[:held] = samples[start:fill]  # memoryview assignment: a memmove
        self.start = 0
        self.fill = held

    def append(self, samples: Any) -> None:
        """Copy in a flat C-contiguous int16 buffer (``'h'`` memoryview or 1-D ndarray)."""
        n = len(samples)
        view = self.reserve(n)  # (may move what is held: before reading fill)
        view[:] = samples
        self.fill += n

    def cut(self) -> list[AudioFrame]:
        """Every whole frame held, oldest first, copied out (one new buffer for all)."""
        start, fill, step = self.start, self.fill, self.step
        whole = (fill - start) // step
        if not whole:
            return []
        end = start + whole * step
        block = memoryview(bytearray(self.data[2 * start : 2 * end])).cast("h")
        rate, channels, size = self.rate, self.channels, self.size
        if whole == 1:
            frames = [wrap_samples(block, rate, channels, size)]
        else:
            frames = [
                wrap_samples(block[i : i + step], rate, channels, size)
                for i in range(0, whole * step, step)
            ]
        if end == fill:
            self.start = self.fill = 0
        else:
            self.start = end
        if len(self.samples) > self.room:
            self._shrink()
        return frames

    def _shrink(self) -> None:
        """Back to the steady-state room after a large push, once the rest fits easily."""
        start, fill = self.start, self.fill
        held = fill - start
        if held > self.room // 2:
            return
        old = self.samples
        self._alloc(self.room)
        self.samples[:held] = old[start:fill]
        self.start = 0
        self.fill = held

    def rest(self, *, pad: bool = False) -> AudioFrame | None:
        """The held remainder as one frame (zero-padded to ``size`` when ``pad``), or None
        when nothing is held; the buffer is empty afterwards."""
        start, fill = self.start, self.fill
        if fill == start:
            return None
        held = fill - start
        n = self.size if pad else held // self.channels
        out = bytearray(2 * n * self.channels)
        out[: 2 * held] = self.data[2 * start : 2 * fill]
        self.clear()
        return wrap_samples(memoryview(out).cast("h"), self.rate, self.channels, n)

    def clear(self) -> None:
        """Drop everything held."""
        self.start = self.fill = 0
        if len(self.samples) > self.room:
            self._alloc(self.room)


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
        On non-positive sizes, sizes no frame can have (``num_channels`` above 1024, a frame
        size above ``2**31 - 1``, which a ``sample_rate`` above 2**31 Hz gives by default),
        or (from :meth:`push`) a frame whose rate or channel count differs from the chunker's.
    """

    def __init__(
        self, sample_rate: int, num_channels: int, *, samples_per_frame: int | None = None
    ) -> None:
        sample_rate = _check_positive_int("sample_rate", sample_rate)
        num_channels = _check_positive_int("num_channels", num_channels)
        if num_channels > MAX_NUM_CHANNELS:
            raise ValueError(f"num_channels must be <= {MAX_NUM_CHANNELS}, got {num_channels}")
        if samples_per_frame is None:
            size = sample_rate // 100
            if not 0 < size <= MAX_SAMPLES_PER_CHANNEL:
                raise ValueError(
                    f"sample_rate {sample_rate} Hz has no 10 ms frame of 1 to "
                    f"{MAX_SAMPLES_PER_CHANNEL} samples; give samples_per_frame"
                )
        else:
            size = _check_positive_int("samples_per_frame", samples_per_frame)
            if size > MAX_SAMPLES_PER_CHANNEL:
                raise ValueError(
                    f"samples_per_frame must be <= {MAX_SAMPLES_PER_CHANNEL}, got {size}"
                )
        self._sample_rate = sample_rate
        self._num_channels = num_channels
        self._size = size
        self._ring = _FrameRing(sample_rate, num_channels, size)

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
        return self._ring.held

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
        ring = self._ring
        ring.append(frame_samples(frame))
        return ring.cut()

    def flush(self, *, pad: bool = True) -> list[AudioFrame]:
        """Return the held remainder as one frame (zero-padded to full size when ``pad``).

        Returns ``[]`` when nothing is held. The chunker is empty afterwards.
        """
        frame = self._ring.rest(pad=pad)
        return [] if frame is None else [frame]
