"""AudioByteStream: int16 PCM bytes in (any split), frames of a fixed size out."""

from __future__ import annotations

from livekit_audio.audio_frame import (
    MAX_NUM_CHANNELS,
    MAX_SAMPLES_PER_CHANNEL,
    AudioFrame,
    _check_positive_int,
    wrap_samples,
)

__all__ = ["AudioByteStream"]


class AudioByteStream:
    """Cut a stream of raw int16 interleaved PCM bytes into frames of one size.

    Same API as ``livekit.agents.utils.audio.AudioByteStream``: bytes of any length go in
    (a push may end inside a sample), frames of exactly ``samples_per_channel`` samples come
    out, and :meth:`flush` returns the whole samples left as one shorter frame.

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz of the PCM, > 0.
    num_channels : int
        Interleaved channels, > 0.
    samples_per_channel : int, optional
        Samples per channel of every frame :meth:`push` returns; default
        ``sample_rate // 10`` (100 ms, as livekit-agents).

    Raises
    ------
    TypeError
        If a size is not an int.
    ValueError
        If a size is not positive, or larger than any AudioFrame's (``num_channels`` above
        1024, ``samples_per_channel`` above ``2**31 - 1``).

    Notes
    -----
    Bytes are native-endian int16 (little-endian on every platform we build for), as
    livekit-agents assumes. Each returned frame owns its memory (a ``bytearray``).
    """

    def __init__(
        self, sample_rate: int, num_channels: int, samples_per_channel: int | None = None
    ) -> None:
        self._sample_rate = _check_positive_int("sample_rate", sample_rate)
        self._num_channels = _check_positive_int("num_channels", num_channels)
        if self._num_channels > MAX_NUM_CHANNELS:
            raise ValueError(f"num_channels must be <= {MAX_NUM_CHANNELS}, got {num_channels}")
        if samples_per_channel is None:
            samples_per_channel = max(1, self._sample_rate // 10)
            if samples_per_channel > MAX_SAMPLES_PER_CHANNEL:
                raise ValueError(
                    f"sample_rate {sample_rate} Hz has no 100 ms frame of at most "
                    f"{MAX_SAMPLES_PER_CHANNEL} samples; give samples_per_channel"
                )
        self._samples_per_channel = _check_positive_int("samples_per_channel", samples_per_channel)
        if self._samples_per_channel > MAX_SAMPLES_PER_CHANNEL:
            raise ValueError(
                f"samples_per_channel must be <= {MAX_SAMPLES_PER_CHANNEL}, "
                f"got {samples_per_channel}"
            )
        self._bytes_per_sample = 2 * self._num_channels
        self._bytes_per_frame = self._samples_per_channel * self._bytes_per_sample
        self._buf = bytearray()

    @property
    def sample_rate(self) -> int:
        """Sample rate in Hz."""
        return self._sample_rate

    @property
    def num_channels(self) -> int:
        """Interleaved channels."""
        return self._num_channels

    @property
    def samples_per_channel(self) -> int:
        """Samples per channel of each frame :meth:`push` returns."""
        return self._samples_per_channel

    @property
    def buffered_duration(self) -> float:
        """Seconds of audio waiting for the next frame."""
        return len(self._buf) // self._bytes_per_sample / self._sample_rate

    def push(self, data: bytes | bytearray | memoryview) -> list[AudioFrame]:
        """Add bytes; return every whole frame now available (possibly none).

        Parameters
        ----------
        data : bytes-like
            int16 interleaved PCM, any length (a sample may be split across pushes).

        Returns
        -------
        list of AudioFrame
            Frames of exactly ``samples_per_channel`` samples, in order.

        Raises
        ------
        TypeError
            If ``data`` is not bytes-like.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"push() takes bytes, got {type(data).__name__}")
        if isinstance(data, memoryview) and not data.c_contiguous:
            data = data.tobytes()  # a strided view: its bytes in order
        buf = self._buf
        buf += data
        step = self._bytes_per_frame
        n = len(buf) // step
        if not n:
            return []
        frames = [self._frame(buf[i * step : (i + 1) * step]) for i in range(n)]
        del buf[: n * step]
        return frames

    write = push  # livekit-agents' alias

    def flush(self) -> list[AudioFrame]:
        """The whole samples held back, as one (shorter) frame; ``[]`` if none.

        A trailing partial sample (a push that ended inside one) stays for the next
        :meth:`push`, as in livekit-agents.

        Returns
        -------
        list of AudioFrame
            Zero or one frame.
        """
        whole = len(self._buf) - len(self._buf) % self._bytes_per_sample
        if not whole:
            return []
        frame = self._frame(self._buf[:whole])
        del self._buf[:whole]
        return [frame]

    def clear(self) -> None:
        """Drop everything held back."""
        self._buf.clear()

    def _frame(self, data: bytearray) -> AudioFrame:
        n = len(data) // self._bytes_per_sample
        return wrap_samples(memoryview(data).cast("h"), self._sample_rate, self._num_channels, n)

    def __repr__(self) -> str:
        return (
            f"AudioByteStream(sample_rate={self._sample_rate}, num_channels={self._num_channels}, "
            f"samples_per_channel={self._samples_per_channel})"
        )
