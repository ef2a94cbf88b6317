"""AudioFrame: int16 interleaved PCM with its rate and layout, and ``combine_audio_frames``.

The API follows ``livekit.rtc.AudioFrame`` so code written for LiveKit's SDK reads the same.
Any object with ``data``, ``sample_rate``, ``num_channels`` and ``samples_per_channel``
(``livekit.rtc.AudioFrame`` included) is accepted wherever a frame is expected.
"""

from __future__ import annotations

import io
import sys
import wave
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

_LITTLE = sys.byteorder == "little"

__all__ = [
    "MAX_NUM_CHANNELS",
    "MAX_SAMPLES_PER_CHANNEL",
    "AudioFrame",
    "AudioFrameLike",
    "combine_audio_frames",
    "frame_layout",
]


@runtime_checkable
class AudioFrameLike(Protocol):
    """Structural type of a frame: int16 interleaved samples plus their layout."""

    @property
    def data(self) -> Any: ...  # a buffer of int16 interleaved samples

    @property
    def sample_rate(self) -> int: ...

    @property
    def num_channels(self) -> int: ...

    @property
    def samples_per_channel(self) -> int: ...


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return int(value)


def _check_userdata(userdata: object) -> dict[str, Any]:
    if userdata is None:
        return {}
    if not isinstance(userdata, dict):
        raise TypeError(f"userdata must be a dict or None, got {type(userdata).__name__}")
    return userdata


#: Most samples per channel a frame may declare (2**31 - 1: over 12 hours at 48 kHz); larger
#: sizes raise ValueError rather than an OverflowError or a huge allocation.
MAX_SAMPLES_PER_CHANNEL = 2**31 - 1
#: Most interleaved channels a frame may declare.
MAX_NUM_CHANNELS = 1024


def _check_layout(
    sample_rate: object, num_channels: object, samples_per_channel: object, prefix: str = ""
) -> tuple[int, int, int]:
    """Validated (sample_rate > 0, 0 < num_channels <= MAX_NUM_CHANNELS,
    0 <= samples_per_channel <= MAX_SAMPLES_PER_CHANNEL) as ints; messages name
    ``prefix + field`` (e.g. ``frame.sample_rate``)."""
    sample_rate = _check_positive_int(prefix + "sample_rate", sample_rate)
    num_channels = _check_positive_int(prefix + "num_channels", num_channels)
    if num_channels > MAX_NUM_CHANNELS:
        raise ValueError(f"{prefix}num_channels must be <= {MAX_NUM_CHANNELS}, got {num_channels}")
    name = prefix + "samples_per_channel"
    if isinstance(samples_per_channel, bool) or not isinstance(
        samples_per_channel, (int, np.integer)
    ):
        raise TypeError(f"{name} must be an int, got {type(samples_per_channel).__name__}")
    if not 0 <= samples_per_channel <= MAX_SAMPLES_PER_CHANNEL:
        raise ValueError(
            f"{name} must be within [0, {MAX_SAMPLES_PER_CHANNEL}], got {samples_per_channel}"
        )
    return sample_rate, num_channels, int(samples_per_channel)


def frame_layout(frame: Any, prefix: str = "frame.") -> tuple[int, int, int]:
    """``(sample_rate, num_channels, samples_per_channel)`` of any frame-like object, validated
    as ints in range (our own frames are valid by construction).

    Raises
    ------
    TypeError
        If ``frame`` lacks the frame attributes or a field is not an int (the message names
        ``prefix + field``).
    ValueError
        If a field is out of range.
    """
    if isinstance(frame, AudioFrame):
        return frame._sample_rate, frame._num_channels, frame._samples_per_channel
    try:
        fields = (frame.sample_rate, frame.num_channels, frame.samples_per_channel)
    except AttributeError:
        raise TypeError(
            "expected an AudioFrame (data, sample_rate, num_channels, samples_per_channel), "
            f"got {type(frame).__name__}"
        ) from None
    return _check_layout(*fields, prefix=prefix)


class AudioFrame:
    """A frame of int16 interleaved PCM audio.

    Parameters
    ----------
    data : bytes, bytearray, memoryview or any C-contiguous buffer
        Interleaved int16 samples, ``num_channels * samples_per_channel`` of them (a longer
        buffer is accepted; the frame views its first ``num_channels * samples_per_channel``
        samples). A writable buffer (``bytearray``, a writable numpy array or memoryview) is
        not copied: the frame views it. An immutable one (``bytes``, a read-only array or
        view) is copied once into a ``bytearray``, so every frame is writable and can be
        processed in place, as with LiveKit's SDK.
    sample_rate : int
        Sample rate in Hz, > 0.
    num_channels : int
        Number of interleaved channels, > 0.
    samples_per_channel : int
        Samples in each channel, >= 0.
    userdata : dict, keyword-only, optional
        Free-form metadata carried with the frame (``{}`` by default), as
        ``livekit.rtc.AudioFrame.userdata``.

    Raises
    ------
    TypeError
        If ``data`` does not support the buffer protocol or a size is not an int.
    ValueError
        If a size is out of range, the buffer is not C-contiguous, or it holds fewer than
        ``num_channels * samples_per_channel * 2`` bytes.

    Examples
    --------
    >>> frame = AudioFrame.create(48000, 1, 480)
    >>> frame.duration
    0.01
    """

    # _samples: the int16 view our code reads; _bytes: the same memory as unsigned bytes
    # (made on first use), which is what livekit.rtc reads and may replace as ``_data``.
    __slots__ = (
        "_samples",
        "_bytes",
        "_sample_rate",
        "_num_channels",
        "_samples_per_channel",
        "_userdata",
    )

    def __init__(
        self,
        data: Any,
        sample_rate: int,
        num_channels: int,
        samples_per_channel: int,
        *,
        userdata: dict[str, Any] | None = None,
    ) -> None:
        sample_rate, num_channels, samples_per_channel = _check_layout(
            sample_rate, num_channels, samples_per_channel
        )
        try:
            view = memoryview(data)
        except TypeError:
            raise TypeError(
                f"data must be bytes, bytearray, memoryview or a buffer, got {type(data).__name__}"
            ) from None
        if not view.c_contiguous:
            raise ValueError("data must be a C-contiguous buffer, got a strided one")
        needed = num_channels * int(samples_per_channel) * 2
        if view.nbytes < needed:
            raise ValueError(
                f"data holds {view.nbytes} bytes, expected at least {needed} "
                f"(num_channels={num_channels} * samples_per_channel={samples_per_channel} * 2)"
            )
        view = _as_bytes(view)[:needed]
        if view.readonly:
            view = memoryview(bytearray(view))
        self._bytes: memoryview | None = view
        self._samples = view.cast("h")
        self._sample_rate = sample_rate
        self._num_channels = num_channels
        self._samples_per_channel = int(samples_per_channel)
        self._userdata = _check_userdata(userdata)

    @classmethod
    def _trusted(
        cls, data: memoryview, sample_rate: int, num_channels: int, samples_per_channel: int
    ) -> AudioFrame:
        """Wrap an int16 memoryview of exactly the right length without re-validating."""
        frame = cls.__new__(cls)
        frame._samples = data
        frame._bytes = None
        frame._sample_rate = sample_rate
        frame._num_channels = num_channels
        frame._samples_per_channel = samples_per_channel
        frame._userdata = {}
        return frame

    @property
    def _data(self) -> memoryview:
        """The samples as a byte view: the attribute ``livekit.rtc`` reads (its APM passes
        ``len(frame._data)`` bytes to WebRTC), so our frames work in LiveKit's calls."""
        view = self._bytes
        if view is None:
            view = self._bytes = self._samples.cast("B")
        return view

    @_data.setter
    def _data(self, data: Any) -> None:
        # livekit.rtc's APM replaces a read-only ``_data`` with a bytearray copy and then
        # processes that copy in place: keep both views on the new buffer.
        view = _as_bytes(memoryview(data))
        if view.nbytes != self._samples.nbytes:
            raise ValueError(
                f"AudioFrame data must stay {self._samples.nbytes} bytes, got {view.nbytes}"
            )
        self._bytes = view
        self._samples = view.cast("h")

    @property
    def userdata(self) -> dict[str, Any]:
        """Free-form metadata carried with the frame (a dict, ``{}`` by default)."""
        return self._userdata

    def _proto_info(self) -> Any:
        """``livekit.rtc``'s buffer description of this frame (zero-copy), so
        ``rtc.AudioSource.capture_frame`` accepts our frames. Needs the ``livekit`` extra."""
        return self._rtc_frame()._proto_info()

    def _rtc_frame(self) -> Any:
        """A ``livekit.rtc.AudioFrame`` on this frame's memory, no copy (the livekit bridge's
        ``to_rtc_frame``). A frame viewing part of a larger buffer (a numpy slice, say)
        first moves to a ``bytearray`` of its own: LiveKit copies such views on
        construction, and a copy made inside a call would not outlive the call. ``userdata``
        is the same dict. Needs the ``livekit`` extra."""
        from livekit import rtc

        view = self._data
        owner = view.obj
        if view.readonly or not isinstance(owner, bytearray) or len(owner) != view.nbytes:
            self._data = bytearray(view)
            view = self._data
        return rtc.AudioFrame(
            view,
            self._sample_rate,
            self._num_channels,
            self._samples_per_channel,
            userdata=self._userdata,
        )

    @staticmethod
    def create(sample_rate: int, num_channels: int, samples_per_channel: int) -> AudioFrame:
        """A zeroed, writable frame of the given layout.

        Parameters
        ----------
        sample_rate : int
            Sample rate in Hz, > 0.
        num_channels : int
            Number of interleaved channels, > 0.
        samples_per_channel : int
            Samples in each channel, >= 0.

        Returns
        -------
        AudioFrame
            Backed by a new zero-filled ``bytearray``.

        Raises
        ------
        ValueError, TypeError
            As for the constructor.
        """
        sample_rate, num_channels, samples_per_channel = _check_layout(
            sample_rate, num_channels, samples_per_channel
        )
        buf = bytearray(num_channels * int(samples_per_channel) * 2)
        return AudioFrame._trusted(
            memoryview(buf).cast("h"), sample_rate, num_channels, int(samples_per_channel)
        )

    @classmethod
    def from_ndarray(cls, array: np.ndarray, sample_rate: int) -> AudioFrame:
        """A frame over an int16 array, zero-copy when the array is C-contiguous.

        Parameters
        ----------
        array : numpy.ndarray, int16
            Shape ``(samples_per_channel,)`` for mono or ``(samples_per_channel, num_channels)``.
        sample_rate : int
            Sample rate in Hz.

        Raises
        ------
        TypeError
            If ``array`` is not a numpy array of dtype int16.
        ValueError
            If it is not 1-D or 2-D, or has zero channels.
        """
        if not isinstance(array, np.ndarray):
            raise TypeError(f"array must be a numpy.ndarray, got {type(array).__name__}")
        if array.dtype != np.int16:
            raise TypeError(
                f"array must have dtype int16, got {array.dtype}; convert explicitly, e.g. "
                "np.clip(x * 32768, -32768, 32767).astype(np.int16)"
            )
        if array.ndim == 1:
            array = array[:, np.newaxis]
        elif array.ndim != 2:
            raise ValueError(
                f"array must be 1-D (mono) or 2-D (samples_per_channel, num_channels), "
                f"got {array.ndim}-D with shape {array.shape}"
            )
        if array.shape[1] == 0:
            raise ValueError(f"array must have at least one channel, got shape {array.shape}")
        array = np.ascontiguousarray(array)
        return cls(array, sample_rate, array.shape[1], array.shape[0])

    @property
    def data(self) -> memoryview:
        """Interleaved samples as an int16 memoryview (writable if the buffer is).

        Each access returns a new view of the same memory, so releasing it (``with
        frame.data as d:``) leaves the frame usable.
        """
        return self._samples[:]

    @property
    def sample_rate(self) -> int:
        """Sample rate in Hz."""
        return self._sample_rate

    @property
    def num_channels(self) -> int:
        """Number of interleaved channels."""
        return self._num_channels

    @property
    def samples_per_channel(self) -> int:
        """Samples in each channel."""
        return self._samples_per_channel

    @property
    def duration(self) -> float:
        """Duration in seconds."""
        return self._samples_per_channel / self._sample_rate

    def to_ndarray(self) -> np.ndarray:
        """Zero-copy int16 view of shape ``(samples_per_channel, num_channels)``."""
        return np.frombuffer(self._samples, dtype=np.int16).reshape(
            self._samples_per_channel, self._num_channels
        )

    def to_wav_bytes(self) -> bytes:
        """The frame as a 16-bit PCM WAV file, in memory.

        Raises
        ------
        ValueError
            If the sample rate, or the byte rate it gives, does not fit the WAV header's
            32-bit fields (rates above about 2**31 / (2 * num_channels) Hz).
        """
        if 2 * self._num_channels * self._sample_rate > 0xFFFFFFFF:
            raise ValueError(
                f"sample_rate={self._sample_rate} with num_channels={self._num_channels} does "
                "not fit a WAV header (its byte rate is a 32-bit field)"
            )
        out = io.BytesIO()
        with wave.open(out, "wb") as wav:
            wav.setnchannels(self._num_channels)
            wav.setsampwidth(2)
            wav.setframerate(self._sample_rate)
            wav.writeframes(_little_endian_bytes(self._samples))
        return out.getvalue()

    def __repr__(self) -> str:
        return (
            f"AudioFrame(sample_rate={self._sample_rate}, num_channels={self._num_channels}, "
            f"samples_per_channel={self._samples_per_channel}, duration={self.duration:.4f})"
        )


#: Buffer formats whose bytes are taken as native int16 samples: int16 itself and raw bytes.
_SAMPLE_FORMATS = frozenset({"h", "=h", "@h", "B", "b", "c", "<h" if _LITTLE else ">h"})


def _as_bytes(view: memoryview) -> memoryview:
    """A 1-D unsigned-byte view of a C-contiguous buffer of int16 samples or raw bytes.

    ``memoryview.cast`` refuses N-D views with a zero in their shape (e.g. an empty
    ``(0, 2)`` array), so an empty buffer maps to an empty view of matching writability.

    Raises
    ------
    TypeError
        If the buffer holds another item type (float, int32, byte-swapped int16, ...), which
        would otherwise be reinterpreted silently.
    """
    if view.format not in _SAMPLE_FORMATS:
        raise TypeError(
            f"data must hold native int16 samples or raw bytes, got buffer format "
            f"{view.format!r}; convert explicitly, e.g. array.astype(np.int16)"
        )
    if view.nbytes == 0:
        return memoryview(b"" if view.readonly else bytearray())
    return view.cast("B")


def _little_endian_bytes(samples: memoryview) -> bytes:
    array = np.frombuffer(samples, dtype=np.int16)
    return array.astype("<i2", copy=False).tobytes()


def frame_samples(frame: Any) -> memoryview:
    """The int16 samples of any frame-like object, validated against its declared layout.

    Raises
    ------
    TypeError
        If ``frame`` lacks the frame attributes or its data is not a buffer.
    ValueError
        If the buffer is shorter than the declared layout.
    """
    if isinstance(frame, AudioFrame):
        return frame._samples
    _, num_channels, samples_per_channel = frame_layout(frame)
    try:
        data = frame.data
    except AttributeError:
        raise TypeError(
            "expected an AudioFrame (data, sample_rate, num_channels, samples_per_channel), "
            f"got {type(frame).__name__} without data"
        ) from None
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(f"frame.data must be a buffer, got {type(data).__name__}") from None
    needed = num_channels * samples_per_channel * 2
    if not view.c_contiguous or view.nbytes < needed:
        raise ValueError(
            f"frame.data must be a C-contiguous buffer of at least {needed} bytes, "
            f"got {view.nbytes} bytes"
        )
    return _as_bytes(view)[:needed].cast("h")


def wrap_samples(
    samples: memoryview, sample_rate: int, num_channels: int, samples_per_channel: int
) -> AudioFrame:
    """An :class:`AudioFrame` over ``samples``, no copy and no validation: the package's
    constructor for buffers it has just made (the hot path of resamplers, converters and
    streams).

    Parameters
    ----------
    samples : memoryview
        Format ``'h'`` (int16), C-contiguous, exactly ``samples_per_channel * num_channels``
        items, owned by the new frame from now on.
    sample_rate, num_channels, samples_per_channel : int
        Already valid (positive, within the limits :func:`frame_layout` checks).
    """
    return AudioFrame._trusted(samples, sample_rate, num_channels, samples_per_channel)


def own_frame_view(frame: Any) -> tuple[memoryview, int, int, int] | None:
    """``(samples, sample_rate, num_channels, samples_per_channel)`` of our own
    :class:`AudioFrame` (validated when it was built, so read without re-validating), or
    None for any other object (validate it with :func:`frame_layout`/:func:`frame_samples`).

    ``samples`` is the frame's int16 ``'h'`` memoryview (writable unless the frame was built
    on immutable memory): the per-frame fast path of kernels that take our frames.
    """
    if type(frame) is AudioFrame:
        return frame._samples, frame._sample_rate, frame._num_channels, frame._samples_per_channel
    return None


def frame_of(item: Any, what: str) -> Any:
    """The frame in a stream item: a frame-like object itself, or an event's ``.frame`` (the
    ``AudioFrameEvent`` a LiveKit or livekit_audio stream yields).

    Raises
    ------
    TypeError
        If ``item`` is neither, naming ``what`` (the consumer) and the item's type.
    """
    if type(item) is AudioFrame or hasattr(item, "samples_per_channel"):
        return item
    frame = getattr(item, "frame", None)
    if frame is None or not hasattr(frame, "samples_per_channel"):
        raise TypeError(
            f"{what}: items must be frames (data, sample_rate, num_channels, "
            f"samples_per_channel) or events with a .frame (AudioFrameEvent), got "
            f"{type(item).__name__}"
        )
    return frame


def _common_layout(frames: Sequence[Any]) -> tuple[int, int, list[int]]:
    """The sample rate and channel count ``frames`` share, and each one's samples per channel.

    Raises
    ------
    TypeError
        If an item is not frame-like (the message gives its index).
    ValueError
        If sample rates or channel counts differ (the message gives the expected and actual
        values and the frame index).
    """
    sample_rate = num_channels = 0
    lengths = []
    for i, frame in enumerate(frames):
        if not all(
            hasattr(frame, a) for a in ("sample_rate", "num_channels", "samples_per_channel")
        ):
            raise TypeError(
                f"frame {i} is not an AudioFrame (data, sample_rate, num_channels, "
                f"samples_per_channel), got {type(frame).__name__}"
            )
        rate, channels, length = frame_layout(frame, prefix=f"frames[{i}].")
        if i == 0:
            sample_rate, num_channels = rate, channels
        elif rate != sample_rate:
            raise ValueError(
                f"sample rate mismatch at frame {i}: expected {sample_rate}, got {rate}"
            )
        elif channels != num_channels:
            raise ValueError(
                f"channel count mismatch at frame {i}: expected {num_channels}, got {channels}"
            )
        lengths.append(length)
    return sample_rate, num_channels, lengths


def combine_audio_frames(frames: AudioFrameLike | Sequence[AudioFrameLike]) -> AudioFrame:
    """Concatenate frames into one frame (one allocation, one copy pass).

    Parameters
    ----------
    frames : AudioFrame or sequence of AudioFrame
        Frames with equal ``sample_rate`` and ``num_channels``.

    Returns
    -------
    AudioFrame
        A new writable frame; ``samples_per_channel`` is the sum of the inputs'.

    Raises
    ------
    ValueError
        If ``frames`` is empty, or sample rates or channel counts differ (the message gives
        the expected and actual values and the frame index).
    TypeError
        If an item is not frame-like.
    """
    if not isinstance(frames, (list, tuple)):
        if hasattr(frames, "samples_per_channel"):
            frames = [frames]  # type: ignore[list-item]
        else:
            try:
                frames = list(frames)
            except TypeError:
                raise TypeError(
                    "frames must be an AudioFrame or a sequence of frames, got "
                    f"{type(frames).__name__}"
                ) from None
    if not frames:
        raise ValueError("combine_audio_frames needs at least one frame, got none")
    sample_rate, num_channels, lengths = _common_layout(frames)
    total = sum(lengths)
    joined = bytearray().join([frame_samples(f) for f in frames])
    return AudioFrame._trusted(memoryview(joined).cast("h"), sample_rate, num_channels, total)
