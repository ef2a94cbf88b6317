"""AudioResampler: streaming polyphase sample-rate conversion of int16 frames, and ``resample``.

The kernel (``csrc/la_resample.c``) is a Kaiser-windowed-sinc polyphase FIR evaluated at
each output instant (Crochiere & Rabiner, *Multirate Digital Signal Processing*, 1983, ch. 3;
Kaiser, ISCAS 1974). It is float32 inside and converts int16 in C with rounding to nearest
and saturation. It adds no dither. Filters are designed once per (reduced ratio, quality)
and shared by every resampler in the process.
"""

from __future__ import annotations

import enum
import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from livekit_audio._native import _resample as _k
from livekit_audio.audio_frame import (
    AudioFrame,
    _as_bytes,
    frame_layout,
    frame_samples,
    own_frame_view,
    wrap_samples,
)

__all__ = [
    "MAX_CHANNELS",
    "MAX_PHASES",
    "MAX_SAMPLE_RATE_HZ",
    "MIN_SAMPLE_RATE_HZ",
    "AudioResampler",
    "AudioResamplerQuality",
    "QualitySpec",
    "QUALITY_SPECS",
    "resample",
]


class AudioResamplerQuality(str, enum.Enum):
    """Resampler quality presets; see :data:`QUALITY_SPECS` for what each one guarantees."""

    QUICK = "quick"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    VERY_HIGH = "very_high"


@dataclass(frozen=True)
class QualitySpec:
    """Filter specification of a quality preset.

    Edges are fractions of the lower Nyquist frequency, ``min(input_rate, output_rate) / 2``.
    Input between the lower Nyquist and ``stopband_edge`` may alias into the transition band
    (above ``passband_edge``) but never into the passband when ``stopband_edge <= 2 -
    passband_edge``; everything from ``stopband_edge`` up is attenuated by at least
    ``stopband_atten_db``.

    Attributes
    ----------
    passband_edge : float
        Response flat (ripple far below 0.01 dB) from 0 to this fraction of the lower Nyquist.
    stopband_edge : float
        Attenuation is at least ``stopband_atten_db`` from this fraction of the lower Nyquist.
    stopband_atten_db : float
        Kaiser design attenuation in dB.
    soxr_quality : str
        The python-soxr recipe used by ``backend="soxr"``.
    """

    passband_edge: float
    stopband_edge: float
    stopband_atten_db: float
    soxr_quality: str

    def taps_per_phase_low_rate(self) -> float:
        """Filter length in samples of the lower rate (Kaiser's length estimate)."""
        transition = (self.stopband_edge - self.passband_edge) / 2.0
        return (self.stopband_atten_db - 7.95) / (2.285 * 2.0 * math.pi * transition)


#: Quality presets. Latency (output held back) is about half the filter length: for MEDIUM
#: ~34 samples of the lower rate (2.1 ms for 48k<->16k, 0.8 ms for 44.1k->48k, 4.2 ms for
#: 8k->48k); QUICK ~0.6 ms, LOW ~1.1 ms, HIGH ~6.3 ms, VERY_HIGH ~12.3 ms at 16 kHz.
QUALITY_SPECS: dict[AudioResamplerQuality, QualitySpec] = {
    # Speed first: 60 dB, passband to 0.75 x Nyquist.
    AudioResamplerQuality.QUICK: QualitySpec(0.75, 1.25, 60.0, "QQ"),
    # 80 dB, passband to 0.85 x Nyquist.
    AudioResamplerQuality.LOW: QualitySpec(0.85, 1.15, 80.0, "LQ"),
    # The real-time default: >= 100 dB against anything that would alias or image into the
    # passband (0-0.9 x Nyquist), ripple < 0.001 dB, ~2 ms latency at 16 kHz.
    AudioResamplerQuality.MEDIUM: QualitySpec(0.90, 1.10, 105.0, "MQ"),
    # No aliasing at all (stopband from Nyquist), 120 dB design, passband to 0.92.
    AudioResamplerQuality.HIGH: QualitySpec(0.92, 1.00, 125.0, "HQ"),
    # No aliasing, 140 dB design (float32 coefficients set the floor), passband to 0.95.
    AudioResamplerQuality.VERY_HIGH: QualitySpec(0.95, 1.00, 145.0, "VHQ"),
}

#: Sample rates the native kernel accepts, in Hz.
MIN_SAMPLE_RATE_HZ: int = _k.MIN_RATE_HZ
MAX_SAMPLE_RATE_HZ: int = _k.MAX_RATE_HZ
#: Most interleaved channels a resampler handles.
MAX_CHANNELS: int = _k.MAX_CHANNELS
#: Largest reduced interpolation factor output_rate / gcd(input_rate, output_rate) (native).
MAX_PHASES: int = _k.MAX_PHASES
#: Most taps per phase one native filter may have (csrc/la_dsp.h LA_MAX_TAPS).
MAX_TAPS: int = _k.MAX_TAPS

_BACKENDS = ("native", "soxr")
_FORMAT_S16 = _k.FORMAT_S16
_filters: dict[tuple[int, int, AudioResamplerQuality], Any] = {}
_filters_lock = threading.Lock()


def _coerce_quality(quality: object) -> AudioResamplerQuality:
    if isinstance(quality, str) and not isinstance(quality, AudioResamplerQuality):
        quality = quality.lower()
    try:
        return AudioResamplerQuality(quality)
    except ValueError:
        names = ", ".join(q.name for q in AudioResamplerQuality)
        raise ValueError(f"quality must be one of {names}, got {quality!r}") from None


def _check_rate(name: str, rate: object) -> int:
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)):
        raise TypeError(f"{name} must be an int (Hz), got {type(rate).__name__}")
    if not _k.MIN_RATE_HZ <= rate <= _k.MAX_RATE_HZ:
        raise ValueError(
            f"{name} must be within [{_k.MIN_RATE_HZ}, {_k.MAX_RATE_HZ}] Hz, got {rate}"
        )
    return int(rate)


def _check_channels(num_channels: object, name: str = "num_channels") -> int:
    if isinstance(num_channels, bool) or not isinstance(num_channels, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(num_channels).__name__}")
    if not 1 <= num_channels <= _k.MAX_CHANNELS:
        raise ValueError(f"{name} must be within [1, {_k.MAX_CHANNELS}], got {num_channels}")
    return int(num_channels)


def max_down_ratio(quality: AudioResamplerQuality | str) -> float:
    """Largest down-sampling ratio ``input_rate / output_rate`` one native filter reaches at
    ``quality``: its taps per input-rate phase (the preset's length at the lower rate times
    the ratio) must stay within the kernel's ``MAX_TAPS``. About 980:1 at QUICK, 500:1 at LOW,
    250:1 at MEDIUM, 96:1 at HIGH and 48:1 at VERY_HIGH; up-sampling has no such limit."""
    # csrc/la_resample.c: taps = ceil(length_low * ratio + 1) to a multiple of 8 <= MAX_TAPS
    return (MAX_TAPS - 1) / QUALITY_SPECS[_coerce_quality(quality)].taps_per_phase_low_rate()


def _too_long_message(input_rate: int, output_rate: int, quality: AudioResamplerQuality) -> str:
    step = math.sqrt(input_rate * output_rate)  # two steps of equal ratio
    via = max(output_rate, round(step / output_rate) * output_rate)
    return (
        f"{input_rate} -> {output_rate} Hz is a {input_rate / output_rate:.0f}:1 reduction; one "
        f"native filter at {quality.name} reaches {max_down_ratio(quality):.0f}:1 "
        "(see max_down_ratio). Choose a lower quality, or resample in two steps through "
        f"an intermediate rate, e.g. {input_rate} -> {via} -> {output_rate} Hz"
    )


def _polyphase_filter(input_rate: int, output_rate: int, quality: AudioResamplerQuality) -> Any:
    """The shared filter bank for this reduced ratio and quality (designed on first use)."""
    g = math.gcd(input_rate, output_rate)
    if output_rate // g > MAX_PHASES:
        raise ValueError(
            f"{input_rate} -> {output_rate} Hz reduces to {output_rate // g}/{input_rate // g}: "
            f"the native kernel supports interpolation factors up to {MAX_PHASES}; "
            'use backend="soxr" for this ratio'
        )
    key = (input_rate // g, output_rate // g, quality)
    bank = _filters.get(key)
    if bank is None:
        spec = QUALITY_SPECS[quality]
        if output_rate < input_rate and input_rate / output_rate > max_down_ratio(quality):
            raise ValueError(_too_long_message(input_rate, output_rate, quality))
        designed = _k.PolyphaseFilter(
            input_rate, output_rate, spec.passband_edge, spec.stopband_edge, spec.stopband_atten_db
        )
        with _filters_lock:
            bank = _filters.setdefault(key, designed)
    return bank


class AudioResampler:
    """Streaming sample-rate converter for int16 interleaved frames.

    Parameters
    ----------
    input_rate, output_rate : int
        Sample rates in Hz, within [1000, 768000]. Any rational ratio whose reduced
        interpolation factor ``output_rate / gcd`` is at most 4096 (every pair of 8, 11.025,
        16, 22.05, 24, 32, 44.1, 48 and 96 kHz qualifies).
    num_channels : int, keyword-only
        Interleaved channels, 1 to 8.
    quality : AudioResamplerQuality or str, keyword-only
        Filter preset; see :data:`QUALITY_SPECS`. MEDIUM: passband ripple < 0.001 dB to 0.9 x
        the lower Nyquist, >= 100 dB rejection of anything aliasing or imaging into that band,
        about 34 samples of the lower rate held back.
    backend : {"native", "soxr"}, keyword-only
        ``"native"`` runs our C kernel. ``"soxr"`` delegates to python-soxr's
        ``ResampleStream`` (int16) for soxr's exact behaviour, with the same API.

    Notes
    -----
    Output is time-aligned: output sample ``k`` is the band-limited input at time
    ``k / output_rate``, with silence before the first input sample. The last
    :attr:`latency` output samples are held back until more input or :meth:`flush` arrives;
    after a flush, ``round(n_in * output_rate / input_rate)`` samples have been returned in
    all. Any split of the same input into pushes gives bit-identical output to one-shot
    :func:`resample` (native backend). Equal rates pass frames through unchanged.

    A resampler is not reentrant: one instance per stream. A call that overlaps another
    thread's call on the same instance raises ``RuntimeError``.

    Raises
    ------
    TypeError
        If a rate or ``num_channels`` is not an int.
    ValueError
        If a rate, ``num_channels``, ``quality`` or ``backend`` is out of range.

    Examples
    --------
    >>> rs = AudioResampler(48000, 16000)
    >>> out = rs.push(AudioFrame.create(48000, 1, 480))
    >>> tail = rs.flush()
    """

    def __init__(
        self,
        input_rate: int,
        output_rate: int,
        *,
        num_channels: int = 1,
        quality: AudioResamplerQuality | str = AudioResamplerQuality.MEDIUM,
        backend: str = "native",
    ) -> None:
        self._input_rate = _check_rate("input_rate", input_rate)
        self._output_rate = _check_rate("output_rate", output_rate)
        self._num_channels = _check_channels(num_channels)
        self._quality = _coerce_quality(quality)
        if backend not in _BACKENDS:
            raise ValueError(f"backend must be one of {_BACKENDS}, got {backend!r}")
        self._backend = backend
        self._state: Any = None
        self._soxr: Any = None
        # push/flush/reset of one resampler never overlap: a second thread gets RuntimeError
        # (sizing the output and filling it must see the same state)
        self._lock = threading.Lock()
        if self._input_rate == self._output_rate:
            return
        if backend == "native":
            bank = _polyphase_filter(self._input_rate, self._output_rate, self._quality)
            self._state = _k.StreamState(bank, self._num_channels)
        else:
            self._soxr = self._new_soxr_stream()

    def _new_soxr_stream(self) -> Any:
        import soxr

        return soxr.ResampleStream(
            self._input_rate,
            self._output_rate,
            self._num_channels,
            dtype="int16",
            quality=QUALITY_SPECS[self._quality].soxr_quality,
        )

    @property
    def input_rate(self) -> int:
        """Input sample rate in Hz."""
        return self._input_rate

    @property
    def output_rate(self) -> int:
        """Output sample rate in Hz."""
        return self._output_rate

    @property
    def num_channels(self) -> int:
        """Interleaved channel count."""
        return self._num_channels

    @property
    def quality(self) -> AudioResamplerQuality:
        """The quality preset."""
        return self._quality

    @property
    def backend(self) -> str:
        """``"native"`` or ``"soxr"``."""
        return self._backend

    @property
    def latency(self) -> int:
        """Output samples held back in steady state (at ``output_rate``; 0 for equal rates).

        For the soxr backend this is soxr's reported delay.
        """
        if self._state is not None:
            held_in = self._state.filter.taps // 2
            return int(round(held_in * self._output_rate / self._input_rate))
        if self._soxr is not None:
            return int(round(self._soxr.delay()))
        return 0

    @property
    def latency_ms(self) -> float:
        """:attr:`latency` in milliseconds."""
        return 1000.0 * self.latency / self._output_rate

    def _samples(self, data: Any) -> memoryview:
        """Validated int16 samples of a frame or buffer, as a flat memoryview."""
        if hasattr(data, "sample_rate") and hasattr(data, "num_channels"):
            # fields first: an ndarray or str field must not reach the comparisons below
            rate, channels, _ = frame_layout(data)
            if rate != self._input_rate:
                raise ValueError(
                    f"frame sample_rate mismatch: expected {self._input_rate}, got {rate}"
                )
            if channels != self._num_channels:
                raise ValueError(
                    f"frame num_channels mismatch: expected {self._num_channels}, got {channels}"
                )
            return frame_samples(data)
        if isinstance(data, np.ndarray):
            if data.dtype != np.int16:
                raise TypeError(f"expected an int16 array, got dtype {data.dtype}")
            if data.ndim == 2 and data.shape[1] != self._num_channels:
                raise ValueError(
                    f"array has {data.shape[1]} channels, expected {self._num_channels}"
                )
            if data.ndim not in (1, 2):
                raise ValueError(f"expected a 1-D or 2-D array, got shape {data.shape}")
            if data.ndim == 1 and data.shape[0] % self._num_channels:
                raise ValueError(
                    f"a 1-D array of {data.shape[0]} samples is not a whole number of "
                    f"{self._num_channels}-channel interleaved frames"
                )
            return _as_bytes(np.ascontiguousarray(data).data).cast("h")
        try:
            view = memoryview(data)
        except TypeError:
            raise TypeError(
                "push expects an AudioFrame, an int16 numpy array or a buffer of int16 "
                f"interleaved samples, got {type(data).__name__}"
            ) from None
        if view.format not in ("h", "B", "b", "c") or not view.c_contiguous:
            raise TypeError(
                f"expected a C-contiguous buffer of int16 or bytes, got format {view.format!r}"
            )
        frame_bytes = 2 * self._num_channels
        if view.nbytes % frame_bytes:
            raise ValueError(
                f"buffer of {view.nbytes} bytes is not a whole number of "
                f"{self._num_channels}-channel int16 frames ({frame_bytes} bytes each)"
            )
        return view.cast("B").cast("h")

    def _soxr_frames(self, y: np.ndarray) -> list[AudioFrame]:
        flat = np.ascontiguousarray(y, dtype=np.int16).reshape(-1)
        return self._frames(flat.data, len(y))

    def _frames(self, out: Any, n: int) -> list[AudioFrame]:
        if n == 0:
            return []
        return [wrap_samples(out, self._output_rate, self._num_channels, n)]

    def _enter(self) -> None:
        if not self._lock.acquire(blocking=False):
            raise RuntimeError(
                "this AudioResampler is already in use by another thread; use one resampler "
                "per stream (or serialize the calls)"
            )

    def push(self, data: Any) -> list[AudioFrame]:
        """Resample the next piece of the stream.

        Parameters
        ----------
        data : AudioFrame, int16 ndarray, or buffer
            A frame (any object with ``data``, ``sample_rate``, ``num_channels``,
            ``samples_per_channel``) at ``input_rate`` with ``num_channels`` channels, or
            int16 interleaved samples: an array of shape ``(n,)`` / ``(n, num_channels)`` or a
            bytes-like buffer.

        Returns
        -------
        list of AudioFrame
            Zero or one frame at ``output_rate`` with every output sample the input made
            available. With equal rates, the input frame itself.

        Raises
        ------
        ValueError
            On a sample rate or channel count that differs from the resampler's, or a buffer
            that is not a whole number of frames.
        TypeError
            On anything that is not a frame or an int16 buffer.
        RuntimeError
            If another thread is inside ``push``/``flush``/``reset`` of this resampler.
        """
        self._enter()
        try:
            return self._push(data)
        finally:
            self._lock.release()

    def _push(self, data: Any) -> list[AudioFrame]:
        state = self._state
        view = own_frame_view(data)  # validated by AudioFrame: the per-frame fast path
        if view is not None:
            samples, rate, channels, n_in = view
            if rate != self._input_rate or channels != self._num_channels:
                view = None
        if view is None:
            samples = self._samples(data)  # raises on a rate or channel mismatch
            n_in = len(samples) // self._num_channels
        if n_in == 0:
            return []
        if state is not None:
            out = bytearray(2 * self._num_channels * state.output_count(n_in))
            n_out = state.process(samples, out, _k.FORMAT_S16)
            return self._frames(memoryview(out).cast("h")[: n_out * self._num_channels], n_out)
        if self._soxr is not None:
            x = np.frombuffer(samples, dtype=np.int16).reshape(n_in, self._num_channels)
            return self._soxr_frames(self._soxr.resample_chunk(x))
        if isinstance(data, AudioFrame):
            return [data]
        # a copy, so a caller reusing its buffer never changes frames it already received
        return self._frames(memoryview(bytearray(samples)).cast("h"), n_in)

    # -- package-private: the hot path of livekit_audio.convert.StreamConverter, which keeps
    # its own output buffer, so the kernel writes straight into it (no intermediate frame).
    # Native backend with unequal rates only (the converter makes no resampler otherwise).
    # No lock: the native state's own busy flag refuses overlapping calls (RuntimeError), and
    # the kernel refuses an output buffer smaller than it needs instead of writing past it.

    def _no_native_state(self) -> RuntimeError:
        return RuntimeError(
            "direct output needs the native backend and unequal rates, got "
            f"{self._backend!r} at {self._input_rate} -> {self._output_rate} Hz"
        )

    def _output_count(self, n_in: int) -> int:
        """Frames :meth:`_process_into` writes for ``n_in`` more input frames."""
        state = self._state
        if state is None:
            raise self._no_native_state()
        return int(state.output_count(n_in))

    def _process_into(self, samples: Any, out: Any) -> int:
        """Resample validated samples into ``out``; returns the frames written.

        ``samples``: C-contiguous int16 buffer of whole ``num_channels`` frames at
        ``input_rate``. ``out``: writable C-contiguous int16 buffer with room for at least
        :meth:`_output_count` frames. Same output as :meth:`push`.
        """
        state = self._state
        if state is None:
            raise self._no_native_state()
        return int(state.process(samples, out, _FORMAT_S16))

    def _flush_count(self) -> int:
        """Frames :meth:`_flush_into` writes."""
        state = self._state
        if state is None:
            raise self._no_native_state()
        return int(state.flush_count())

    def _flush_into(self, out: Any) -> int:
        """:meth:`flush` into ``out`` (room for :meth:`_flush_count` frames); returns the
        frames written. The resampler is reset afterwards, as by :meth:`flush`."""
        state = self._state
        if state is None:
            raise self._no_native_state()
        return int(state.flush(out, _FORMAT_S16))

    def flush(self) -> list[AudioFrame]:
        """Return the held-back tail (the input is padded with silence) and reset.

        After a flush the resampler is ready for a new stream.

        Returns
        -------
        list of AudioFrame
            Zero or one frame; with the pushes since the last reset it makes
            ``round(n_in * output_rate / input_rate)`` samples in all (native backend).

        Raises
        ------
        RuntimeError
            If another thread is inside ``push``/``flush``/``reset`` of this resampler.
        """
        self._enter()
        try:
            return self._flush()
        finally:
            self._lock.release()

    def _flush(self) -> list[AudioFrame]:
        if self._state is not None:
            out = bytearray(2 * self._num_channels * self._state.flush_count())
            n_out = self._state.flush(out, _k.FORMAT_S16)
            return self._frames(memoryview(out).cast("h")[: n_out * self._num_channels], n_out)
        if self._soxr is not None:
            empty = np.zeros((0, self._num_channels), dtype=np.int16)
            tail = self._soxr_frames(self._soxr.resample_chunk(empty, last=True))
            self._soxr = self._new_soxr_stream()
            return tail
        return []

    def reset(self) -> None:
        """Drop held-back samples and history without returning them.

        Raises
        ------
        RuntimeError
            If another thread is inside ``push``/``flush``/``reset`` of this resampler.
        """
        self._enter()
        try:
            if self._state is not None:
                self._state.reset()
            elif self._soxr is not None:
                self._soxr = self._new_soxr_stream()
        finally:
            self._lock.release()

    def __repr__(self) -> str:
        return (
            f"AudioResampler(input_rate={self._input_rate}, output_rate={self._output_rate}, "
            f"num_channels={self._num_channels}, quality={self._quality.name}, "
            f"backend={self._backend!r}, latency={self.latency})"
        )


def resample(
    array: np.ndarray,
    input_rate: int,
    output_rate: int,
    *,
    quality: AudioResamplerQuality | str = AudioResamplerQuality.MEDIUM,
) -> np.ndarray:
    """Resample a whole signal in one call with the native kernel.

    Parameters
    ----------
    array : numpy.ndarray, int16 or float32
        Shape ``(frames,)`` (mono) or ``(frames, channels)`` with 1 to 8 channels. Any
        memory order; it is copied to C order if needed. int16 output is rounded and
        saturated; float32 is neither scaled nor clipped.
    input_rate, output_rate : int
        Sample rates in Hz.
    quality : AudioResamplerQuality or str, keyword-only
        Filter preset.

    Returns
    -------
    numpy.ndarray
        Same dtype and dimensionality, ``round(frames * output_rate / input_rate)`` frames,
        time-aligned with the input (see :class:`AudioResampler`). Bit-identical to pushing
        the same samples through an :class:`AudioResampler` in any chunking and flushing.

    Raises
    ------
    TypeError
        If ``array`` is not an ndarray of dtype int16 or float32.
    ValueError
        On bad rates, quality, or shape.
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"array must be a numpy.ndarray, got {type(array).__name__}")
    if array.dtype == np.int16:
        fmt = _k.FORMAT_S16
    elif array.dtype == np.float32:
        fmt = _k.FORMAT_F32
    else:
        raise TypeError(
            f"array dtype must be int16 or float32, got {array.dtype}; "
            "convert explicitly (e.g. array.astype(np.float32))"
        )
    if array.ndim not in (1, 2):
        raise ValueError(f"array must be 1-D or 2-D (frames, channels), got shape {array.shape}")
    input_rate = _check_rate("input_rate", input_rate)
    output_rate = _check_rate("output_rate", output_rate)
    num_channels = _check_channels(1 if array.ndim == 1 else array.shape[1])
    quality = _coerce_quality(quality)
    if input_rate == output_rate:
        return array.copy()
    x = np.ascontiguousarray(array)
    n_in = x.shape[0]
    total = (2 * n_in * output_rate + input_rate) // (2 * input_rate)
    out = np.empty((total, num_channels) if array.ndim == 2 else (total,), dtype=array.dtype)
    if total == 0 and n_in == 0:
        return out
    state = _k.StreamState(_polyphase_filter(input_rate, output_rate, quality), num_channels)
    written = state.process(x, out, fmt)
    written += state.flush(out[written:], fmt)
    if written != total:  # the C counters define `total` identically; guard the invariant
        raise RuntimeError(f"resampler wrote {written} frames, expected {total}")
    return out
