"""Ready-made FrameProcessors built on the package's kernels.

``GainProcessor`` scales every frame by a gain in dB with the C gain kernel (rounding and
saturation in C, in place when the frame is writable). Pass it to
``AudioStream.from_track(track, noise_cancellation=GainProcessor(-6))`` or call
``_process`` directly.

Processors work on any frame type with the four frame attributes and a buffer: LiveKit's
``rtc.AudioStream`` calls ``processor._process(frame)`` with an ``rtc.AudioFrame`` and yields
what it returns, so a processor hands back a frame of the type it was given (the same object,
processed in place, whenever its buffer is writable).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from livekit_audio._native import _mix as _k
from livekit_audio.audio_frame import AudioFrame, frame_samples, own_frame_view, wrap_samples
from livekit_audio.frame_processor import FrameProcessor

__all__ = ["GainProcessor", "MAX_GAIN_DB"]

#: Largest gain a GainProcessor accepts, in dB (linear 1000, the kernel's limit).
MAX_GAIN_DB: float = 20.0 * math.log10(float(_k.MAX_GAIN))


def _check_gain_db(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"gain_db must be a real number, got {type(value).__name__}")
    try:
        gain_db = float(value)
    except OverflowError:  # an int past float range
        if value > 0:
            raise ValueError(
                f"gain_db must be a number <= {MAX_GAIN_DB:g} dB (-inf mutes), got an integer "
                "too large for a float"
            ) from None
        gain_db = -math.inf  # below -1e308 dB: mutes, like -inf
    if math.isnan(gain_db) or gain_db > MAX_GAIN_DB:
        raise ValueError(
            f"gain_db must be a number <= {MAX_GAIN_DB:g} dB (-inf mutes), got {value!r}"
        )
    return gain_db


def _frame_like(frame: Any, data: bytearray) -> Any:
    """A new frame of ``frame``'s type and layout over ``data``, for a read-only input.

    Parameters
    ----------
    frame : AudioFrame or frame-like
        The input frame (its buffer is read-only, so it cannot be processed in place).
    data : bytearray
        The processed int16 interleaved samples, ``frame.num_channels *
        frame.samples_per_channel`` of them.

    Returns
    -------
    frame-like
        ``type(frame)(data, sample_rate, num_channels, samples_per_channel)``, the constructor
        signature of our :class:`AudioFrame` and of ``livekit.rtc.AudioFrame``; our
        :class:`AudioFrame` when ``frame``'s type cannot be built that way (its constructor
        raises ``TypeError`` or ``ValueError``).
    """
    rate = int(frame.sample_rate)
    channels = int(frame.num_channels)
    count = int(frame.samples_per_channel)
    if type(frame) is not AudioFrame:
        try:
            return type(frame)(data, rate, channels, count)
        except (TypeError, ValueError):
            pass
    return wrap_samples(memoryview(data).cast("h"), rate, channels, count)


def _deliver(frame: Any, processed: np.ndarray) -> Any:
    """The frame :meth:`ApmProcessor._process` returns for ``frame``, holding ``processed``.

    Parameters
    ----------
    frame : AudioFrame or frame-like
        The input frame.
    processed : numpy.ndarray, int16
        Shape ``(frame.samples_per_channel, frame.num_channels)``.

    Returns
    -------
    frame-like
        A new :class:`AudioFrame` for ours; ``frame`` itself, overwritten, for another
        writable frame type; a new frame of its type (or ours) for a read-only one.
    """
    if type(frame) is AudioFrame:
        return AudioFrame.from_ndarray(np.ascontiguousarray(processed), frame.sample_rate)
    samples = frame_samples(frame)
    if samples.readonly:
        return _frame_like(frame, bytearray(processed.tobytes()))
    np.frombuffer(samples, np.int16)[:] = processed.reshape(-1)
    return frame


class _Realigner:
    """Output frames of the input's sizes from a stream processed in blocks of other sizes.

    A processor that runs its engine on fixed blocks (10 ms for the APM, a plug-in's frame)
    gets processed samples in bursts; :meth:`take` queues them and hands back exactly the
    size of the frame that came in. ``lead`` samples of silence go first, so that with a
    well-chosen lead every later frame is covered; if one is not (a new frame-size pattern),
    silence is added once more at the front rather than stalling, and ``lead`` grows by it.

    Parameters
    ----------
    num_channels : int
        Interleaved channels of every block.
    lead : int
        Samples per channel of silence queued before the first processed sample.
    """

    def __init__(self, num_channels: int, lead: int) -> None:
        self.num_channels = num_channels
        self.lead = lead
        self._fifo = np.zeros((lead, num_channels), np.int16)

    @property
    def held(self) -> int:
        """Samples per channel queued and not yet handed back."""
        return len(self._fifo)

    def take(self, blocks: list[np.ndarray], size: int) -> np.ndarray:
        """Queue ``blocks`` (int16, ``(n, num_channels)`` each) and return the next ``size``
        samples per channel, shape ``(size, num_channels)``."""
        fifo = self._fifo
        if blocks:
            fifo = np.concatenate([fifo, *blocks])
        if len(fifo) < size:
            short = size - len(fifo)
            fifo = np.concatenate([np.zeros((short, self.num_channels), np.int16), fifo])
            self.lead += short
        self._fifo = fifo[size:]
        return fifo[:size]


def _linear(gain_db: float) -> float:
    if gain_db == -math.inf:
        return 0.0
    return float(min(10.0 ** (gain_db / 20.0), float(_k.MAX_GAIN)))


class GainProcessor(FrameProcessor[AudioFrame]):
    """Apply a gain (in dB) to every frame, with rounding and int16 saturation in C.

    Parameters
    ----------
    gain_db : float
        Gain in dB: ``0`` leaves frames unchanged, ``-6.02`` halves the amplitude, ``-inf``
        mutes. At most +60 dB (linear 1000). Samples that would exceed the int16 range
        saturate at -32768 / 32767.
    enabled : bool, keyword-only
        Initial value of :attr:`enabled` (default True).
    smooth : bool, keyword-only
        When the gain changes, ramp linearly from the previous gain to the new one across
        the next frame (default True), so a change does not click. With ``False`` the new
        gain applies from the first sample of the next frame.

    Notes
    -----
    :meth:`_process` scales a writable frame in place and returns that same frame, whatever
    its type (``livekit.rtc.AudioFrame`` included: its ``AudioStream`` yields the same object).
    A frame whose buffer is read-only (e.g. backed by ``bytes``) is left untouched and a
    processed copy is returned: a frame of the input's type built as ``type(frame)(data,
    sample_rate, num_channels, samples_per_channel)``, or our :class:`AudioFrame` when that
    type cannot be built so.
    Each sample is ``round_half_even(clamp(g * x))`` in float32, ``g`` per frame when ramping.
    One processor instance keeps the ramp state of one stream; sharing it between streams
    only shares the ramp's starting point.

    Raises
    ------
    TypeError
        If ``gain_db`` is not a number.
    ValueError
        If ``gain_db`` is NaN or above +60 dB.

    Examples
    --------
    >>> proc = GainProcessor(-6.0)
    >>> out = proc._process(AudioFrame.create(48000, 1, 480))
    """

    def __init__(self, gain_db: float = 0.0, *, enabled: bool = True, smooth: bool = True) -> None:
        self._gain_db = _check_gain_db(gain_db)
        self._gain = _linear(self._gain_db)
        self._applied = self._gain  # the gain the last processed frame ended on
        self._enabled = bool(enabled)
        self._smooth = bool(smooth)
        self._closed = False

    @property
    def gain_db(self) -> float:
        """Gain in dB (``-inf`` mutes); at most +60 dB. Settable at any time."""
        return self._gain_db

    @gain_db.setter
    def gain_db(self, value: float) -> None:
        gain_db = _check_gain_db(value)
        self._gain_db = gain_db
        self._gain = _linear(gain_db)

    @property
    def gain(self) -> float:
        """The linear gain ``10 ** (gain_db / 20)`` (0.0 for ``-inf``)."""
        return self._gain

    @property
    def enabled(self) -> bool:
        """Whether a stream calls :meth:`_process` (a disabled processor is skipped)."""
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._enabled = bool(value)

    @property
    def closed(self) -> bool:
        """True once :meth:`_close` has run."""
        return self._closed

    def _process(self, frame: Any) -> Any:
        """Scale ``frame`` by the gain; in place when writable, else a processed copy of the
        input's type (see the class notes).

        Raises
        ------
        RuntimeError
            If the processor is closed.
        TypeError, ValueError
            If ``frame`` is not a valid frame.
        """
        if self._closed:
            raise RuntimeError("GainProcessor._process called after _close()")
        end = self._gain
        start = self._applied if self._smooth else end
        view = own_frame_view(frame)
        if view is not None:
            samples, _, channels, _ = view
        else:  # validated even at unity gain: a bad frame is refused, never passed on
            samples, channels = frame_samples(frame), int(frame.num_channels)
        if start == 1.0 and end == 1.0:
            return frame
        if not samples.readonly:
            _k.gain(samples, channels, start, end)
            self._applied = end
            return frame
        copy = bytearray(samples)
        _k.gain(memoryview(copy).cast("h"), channels, start, end)
        self._applied = end
        return _frame_like(frame, copy)

    def _close(self) -> None:
        """Mark the processor closed (idempotent); it holds no native resources."""
        self._closed = True

    def __repr__(self) -> str:
        return (
            f"GainProcessor(gain_db={self._gain_db:g}, enabled={self._enabled}, "
            f"smooth={self._smooth}, closed={self._closed})"
        )
