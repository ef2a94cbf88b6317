"""AudioProcessingModule: high-pass filter, noise suppression and automatic gain control.

The stages run in C (``csrc/la_apm.c``) on 10 ms blocks in WebRTC APM's order, HPF -> echo
canceller -> noise suppressor -> AGC with limiter:

* HPF: fourth-order Butterworth at 100 Hz, bilinear with prewarping, the same response at every
  rate (``csrc/la_hpf.c``).
* Noise suppression: STFT with sqrt-Hann windows (20 ms, 50 % overlap), the SPP-based MMSE noise
  estimator of Gerkmann & Hendriks (IEEE TASLP 2012), decision-directed a-priori SNR and the
  optimally modified log-spectral-amplitude gain (Ephraim & Malah 1984/1985; Cohen & Berdugo
  2001) with a per-level gain floor (``csrc/la_ns.c``). Adds 10 ms of delay.
* AGC: gain toward a target speech level measured on speech frames only (ITU-T P.56-style
  active level), capped in pauses so noise is not pumped up, and a look-ahead limiter with a
  -1 dBFS ceiling (``csrc/la_agc.c``).

Levels are dBFS relative to the RMS of a full-scale square wave (a full-scale sine is -3 dBFS).

The core runs at 8, 16, 32 and 48 kHz. Like WebRTC's APM, the module accepts any rate from
8 to 96 kHz by processing at the smallest of those at or above the caller's rate (48 kHz above
48 kHz): capture is resampled there and back with the package's polyphase resampler (MEDIUM,
``csrc/la_resample.c``) and written back into the caller's frame; render is resampled there.
"""

from __future__ import annotations

import collections
import enum
import functools
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from livekit_audio._errors import LivekitAudioError
from livekit_audio._log import logger
from livekit_audio._native import _apm as _k
from livekit_audio.apm_resampling import (
    SUPPORTED_SAMPLE_RATES,
    ResampledCapture,
    ResamplingFifo,
    internal_rate,
    render_fifo,
    unconvertible,
)
from livekit_audio.audio_frame import frame_layout, frame_samples, own_frame_view

__all__ = [
    "AGC_TARGET_RANGE_DBFS",
    "MAX_SAMPLE_RATE_HZ",
    "MIN_SAMPLE_RATE_HZ",
    "SUPPORTED_SAMPLE_RATES",
    "ApmStats",
    "AudioProcessingError",
    "AudioProcessingModule",
    "NoiseSuppressionLevel",
    "process_batch",
]

#: Targets the automatic gain control accepts (``agc_target_level_dbfs``), in dBFS.
AGC_TARGET_RANGE_DBFS = (-50.0, -3.0)
#: Range of rates the module accepts, in Hz; other rates are resampled to a supported one.
MIN_SAMPLE_RATE_HZ = 8000
MAX_SAMPLE_RATE_HZ = 96000
_MAX_CHANNELS: int = _k.MAX_CHANNELS  # capture channels (csrc/la_dsp.h)
_MAX_RENDER_CHANNELS = 8
_MAX_STREAM_DELAY_MS: int = _k.MAX_STREAM_DELAY_MS  # csrc/la_dsp.h
#: Far-end audio kept before the first capture frame fixes the processing rate, in seconds.
_EARLY_RENDER_S = 2.0
_FULL_SCALE = 32768.0


class AudioProcessingError(LivekitAudioError, RuntimeError):
    """A frame the module cannot process (wrong duration, rate or channel count).

    The frame is left untouched. Subclasses ``RuntimeError``, the documented contract of
    ``livekit.rtc.AudioProcessingModule``.
    """


class NoiseSuppressionLevel(str, enum.Enum):
    """How far the noise suppressor may attenuate: its gain floor (see :data:`NS_FLOOR_DB`)."""

    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    VERY_HIGH = "very_high"


#: Gain floor of the noise suppressor per level, dB: noise-only regions are attenuated by
#: about this much.
NS_FLOOR_DB: dict[NoiseSuppressionLevel, float] = {
    NoiseSuppressionLevel.LOW: -9.0,
    NoiseSuppressionLevel.MODERATE: -15.0,
    NoiseSuppressionLevel.HIGH: -21.0,
    NoiseSuppressionLevel.VERY_HIGH: -27.0,
}


@dataclass(frozen=True)
class ApmStats:
    """Statistics of the last processed 10 ms block.

    Attributes
    ----------
    speech_probability : float
        Speech presence in [0, 1]: the noise suppressor's mean a-posteriori speech presence
        over 300 Hz-4 kHz, or the AGC's voice activity (0 or 1) when suppression is off.
    noise_floor_dbfs : float
        Estimated noise level (dBFS); -120 when no stage estimates it.
    agc_gain_db : float
        Gain the AGC applied (dB), 0 when AGC is off.
    input_level_dbfs, output_level_dbfs : float
        RMS level of the block before and after processing (dBFS).
    render_level_dbfs : float
        RMS level of the last far-end block given to :meth:`process_reverse_stream`.
    frames_processed : int
        10 ms blocks processed since the last (re)configuration or reset.
    echo_delay_ms : float
        Estimated delay from render call to echo in the capture (ms), -1 until measured.
    erle_db : float
        Echo return loss enhancement of the linear filter (dB, smoothed over far-end
        activity).
    render_buffer_ms : float
        Render audio buffered ahead of the capture (ms).
    render_frames : int
        Far-end 10 ms blocks the module has taken in since the last (re)configuration (at
        its internal rate; before the first capture frame, the blocks kept for it).
    render_overruns, render_underruns : int
        Capture blocks whose render reference had been overwritten / had not arrived yet.
    delay_changes, divergences : int
        Times the delay estimator moved the filter, and times the background filter
        diverged and was restored.
    """

    speech_probability: float
    noise_floor_dbfs: float
    agc_gain_db: float
    input_level_dbfs: float
    output_level_dbfs: float
    render_level_dbfs: float
    frames_processed: int
    echo_delay_ms: float = -1.0
    erle_db: float = 0.0
    render_buffer_ms: float = 0.0
    render_overruns: int = 0
    render_underruns: int = 0
    delay_changes: int = 0
    divergences: int = 0
    render_frames: int = 0


def _coerce_level(level: object) -> NoiseSuppressionLevel:
    if isinstance(level, str) and not isinstance(level, NoiseSuppressionLevel):
        level = level.lower()
    try:
        return NoiseSuppressionLevel(level)
    except ValueError:
        names = ", ".join(x.name for x in NoiseSuppressionLevel)
        raise ValueError(f"noise_suppression_level must be one of {names}, got {level!r}") from None


def _check_db(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not (low <= value <= high and math.isfinite(value)):  # (compares ints past floats)
        shown = repr(value) if len(repr(value)) <= 24 else f"{repr(value)[:20]}..."
        raise ValueError(f"{name} must be within [{low}, {high}], got {shown}")
    return float(value)


def _check_layout(
    sample_rate: Any, num_channels: Any, *, what: str, max_channels: int
) -> tuple[int, int]:
    """Validate a stream's rate and channel count for the module.

    Parameters
    ----------
    sample_rate : int
        Hz; any rate from 8 to 96 kHz whose ratio to the core rates the resampler supports
        (every common rate does).
    num_channels : int
        1 to ``max_channels``.
    what : str
        The caller named in the error message.
    max_channels : int
        2 for capture, 8 for render.

    Returns
    -------
    tuple of int
        ``(sample_rate, num_channels)`` as Python ints.

    Raises
    ------
    AudioProcessingError
        On a rate or channel count out of range, naming what was expected.
    """
    if (
        isinstance(sample_rate, bool)
        or not isinstance(sample_rate, (int, np.integer))
        or not MIN_SAMPLE_RATE_HZ <= sample_rate <= MAX_SAMPLE_RATE_HZ
    ):
        raise AudioProcessingError(
            f"{what}: sample_rate must be an int within [{MIN_SAMPLE_RATE_HZ}, "
            f"{MAX_SAMPLE_RATE_HZ}] Hz, got {sample_rate!r}"
        )
    why = unconvertible(int(sample_rate))
    if why:
        raise AudioProcessingError(f"{what}: unsupported sample_rate {sample_rate}: {why}")
    if (
        isinstance(num_channels, bool)
        or not isinstance(num_channels, (int, np.integer))
        or not 1 <= num_channels <= max_channels
    ):
        raise AudioProcessingError(
            f"{what}: num_channels must be within [1, {max_channels}], got {num_channels!r}"
        )
    return int(sample_rate), int(num_channels)


_F = TypeVar("_F", bound=Callable[..., Any])


def _exclusive(method: _F) -> _F:
    """Run ``method`` holding the module's lock, or raise at once if another thread holds it:
    one module serves one stream, and a call overlapping another must not reconfigure it."""

    @functools.wraps(method)
    def guarded(self: AudioProcessingModule, *args: Any, **kwargs: Any) -> Any:
        if not self._lock.acquire(blocking=False):
            raise RuntimeError(
                "this AudioProcessingModule is already in use by another thread; "
                "use one module per stream"
            )
        try:
            return method(self, *args, **kwargs)
        finally:
            self._lock.release()

    return guarded  # type: ignore[return-value]


class AudioProcessingModule:
    """Echo cancellation slot, noise suppression, high-pass filter and AGC on 10 ms frames.

    Parameters
    ----------
    echo_cancellation : bool, keyword-only
        Cancel the echo of the far end given to :meth:`process_reverse_stream`: a
        partitioned-block frequency-domain adaptive filter (multidelay filter, Soo & Pang
        1990) with a normalised step and a foreground/background pair (Ochiai 1977), a delay
        estimator (so :meth:`set_stream_delay_ms` may be off by +-200 ms or never called), and
        residual echo suppression driven by Valin's (2007) leakage estimate. At 32/48 kHz the
        filter runs at 16 kHz on a linear-phase band split (0-8 kHz) and the band above is
        suppressed.
    noise_suppression, high_pass_filter, auto_gain_control : bool, keyword-only
        Stages to run.
    noise_suppression_level : NoiseSuppressionLevel or str, keyword-only
        Gain floor of the suppressor (default HIGH, -21 dB; see :data:`NS_FLOOR_DB`). HIGH
        scores the best PESQ-WB across white, pink, babble and hum noise at 0-10 dB SNR
        (``benchmarks/bench_apm_quality.py``); LOW keeps STOI closest to the input's.
    agc_target_level_dbfs : float, keyword-only
        Active speech level the AGC aims for, dBFS in [-50, -3] (default -18).
    agc_max_gain_db : float, keyword-only
        Most gain the AGC applies, dB in [0, 50] (default 30).
    agc_max_noise_level_dbfs : float, keyword-only
        In speech pauses the AGC's gain is capped so the noise comes out no louder than this
        (never below unity gain), dBFS in [-90, -20] (default -60).
    aec_tail_ms : int, keyword-only
        Echo tail the adaptive filter covers, 50-640 ms (default 250), after the bulk delay.

    Notes
    -----
    Frames are :class:`~livekit_audio.AudioFrame` (or any frame-like object), int16
    interleaved, mono or stereo, of ``rate // 100`` samples per channel (10 ms) or a whole
    multiple of that (processed as consecutive blocks), at any rate from 8 to 96 kHz. They are
    processed in place. Anything else raises :class:`AudioProcessingError` and leaves the frame
    untouched. A frame whose rate or channel count differs from the previous one reconfigures
    the module (adaptive state restarts).

    At 8, 16, 32 and 48 kHz the core processes the frame directly. At any other rate the
    module runs at the smallest of those at or above it (48 kHz above 48 kHz; 44.1 -> 48,
    22.05 -> 32, 24 -> 32, 11.025 -> 16, 96 -> 48 kHz), resampling the capture there and back
    at the exact rate ratio. This adds latency, counted in :attr:`delay_samples`: the two
    resampling filters' group delays when ``rate`` is a multiple of 100 Hz (1.6 ms at
    44.1 kHz, 1.5 ms at 88.2 and 96 kHz, 3 ms at 24 kHz). At 22.05 and 11.025 kHz a frame
    is ``rate // 100`` samples (220, 110: 9.98 ms), as in WebRTC, which resamples such a block
    as if it were 10 ms; this module keeps the true ratio instead (so far end and near end at
    different rates never drift apart), waits for whole internal blocks and so adds about one
    block more: 13.2 ms at 22.05 kHz, 16.4 ms at 11.025 kHz. Content above the internal
    rate's band (21.6 kHz at 48 kHz) is removed.

    Noise suppression or echo cancellation delays the output by 10 ms of the internal rate,
    and echo cancellation at 32/48 kHz by 2.7 ms more (its band split); see
    :attr:`delay_samples`.

    The far end (:meth:`process_reverse_stream`) may have any rate from 8 to 96 kHz and 1 to
    8 channels: it is resampled to the capture's internal rate. Far-end audio that arrives
    before the first capture frame (which fixes the rate) is kept, up to 2 s (the oldest is
    dropped beyond that, with one warning), and fed in order when that frame arrives.

    ``livekit.rtc.AudioProcessingModule`` aborts the process (a Rust panic) on a frame that is
    not a multiple of ``rate // 100`` samples (for instance 441 samples at 22.05 kHz); this
    module raises :class:`AudioProcessingError` instead.

    One instance serves one stream: a call that overlaps another thread's call on the same
    instance raises ``RuntimeError``. Different instances run in parallel; the C core releases
    the GIL.

    Raises
    ------
    ValueError, TypeError
        On out-of-range options.
    """

    def __init__(
        self,
        *,
        echo_cancellation: bool = False,
        noise_suppression: bool = False,
        high_pass_filter: bool = False,
        auto_gain_control: bool = False,
        noise_suppression_level: NoiseSuppressionLevel | str = NoiseSuppressionLevel.HIGH,
        agc_target_level_dbfs: float = -18.0,
        agc_max_gain_db: float = 30.0,
        agc_max_noise_level_dbfs: float = -60.0,
        aec_tail_ms: int = 250,
    ) -> None:
        self._echo_cancellation = bool(echo_cancellation)
        if isinstance(aec_tail_ms, bool) or not isinstance(aec_tail_ms, int):
            raise TypeError(f"aec_tail_ms must be an int, got {type(aec_tail_ms).__name__}")
        if not 50 <= aec_tail_ms <= 640:
            raise ValueError(f"aec_tail_ms must be within [50, 640], got {aec_tail_ms}")
        self._aec_tail_ms = aec_tail_ms
        self._noise_suppression = bool(noise_suppression)
        self._high_pass_filter = bool(high_pass_filter)
        self._auto_gain_control = bool(auto_gain_control)
        self._ns_level = _coerce_level(noise_suppression_level)
        self._agc_target = _check_db(
            "agc_target_level_dbfs", agc_target_level_dbfs, *AGC_TARGET_RANGE_DBFS
        )
        self._agc_max_gain = _check_db("agc_max_gain_db", agc_max_gain_db, 0, 50)
        self._agc_noise = _check_db("agc_max_noise_level_dbfs", agc_max_noise_level_dbfs, -90, -20)
        self._stream_delay_ms = 0
        self._core: Any = None
        # The capture layout the core is configured for (rate 0: no capture yet), its frame
        # step (rate // 100) and, at a rate the core does not run, the resampling around it.
        self._rate = 0
        self._channels = 0
        self._step = 0
        self._capture: ResampledCapture | None = None
        self._render: ResamplingFifo | None = None  # far end at another rate, to the core's
        # far end before the first capture: (int16 samples, rate, channels, frames)
        self._early_render: collections.deque[tuple[np.ndarray, int, int, int]] = (
            collections.deque()
        )
        self._early_render_s = 0.0
        self._early_render_dropped = False
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ configuration

    @property
    def echo_cancellation(self) -> bool:
        return self._echo_cancellation

    @property
    def noise_suppression(self) -> bool:
        return self._noise_suppression

    @property
    def high_pass_filter(self) -> bool:
        return self._high_pass_filter

    @property
    def auto_gain_control(self) -> bool:
        return self._auto_gain_control

    @property
    def noise_suppression_level(self) -> NoiseSuppressionLevel:
        return self._ns_level

    @property
    def delay_samples(self) -> int:
        """Samples by which the output lags the input, at the capture's rate (0 before a frame).

        The enabled stages' delay, plus at a rate the core does not run the resampling's (see
        the class notes). At such a rate the stages' delay, a whole number of internal
        samples, need not be a whole number of the caller's (noise suppression's 10 ms is
        220.5 samples at 22.05 kHz; echo cancellation's band split at 44.1 kHz is 117.6): the
        lag is then rounded to the nearest sample. Otherwise it is exact.
        """
        core = self._core
        if core is None:
            return 0
        capture = self._capture
        if capture is None:
            return int(core.delay_samples)
        internal = core.sample_rate
        stages = (2 * core.delay_samples * self._rate + internal) // (2 * internal)
        return int(capture.lag + stages)

    @property
    def stream_delay_ms(self) -> int:
        """The delay set by :meth:`set_stream_delay_ms`."""
        return self._stream_delay_ms

    @_exclusive
    def set_stream_delay_ms(self, delay_ms: int) -> None:
        """Delay between a far-end frame being rendered and its echo reaching the capture.

        Parameters
        ----------
        delay_ms : int
            0 to 500 ms: the time from a far-end frame's :meth:`process_reverse_stream` call
            to its echo reaching :meth:`process_stream` (a hint: the delay estimator corrects
            it).

        Raises
        ------
        ValueError
            Outside [0, 500]. ``TypeError`` if not an int.
        """
        if isinstance(delay_ms, bool) or not isinstance(delay_ms, int):
            raise TypeError(f"delay_ms must be an int, got {type(delay_ms).__name__}")
        if not 0 <= delay_ms <= _MAX_STREAM_DELAY_MS:
            raise ValueError(f"delay_ms must be within [0, {_MAX_STREAM_DELAY_MS}], got {delay_ms}")
        self._stream_delay_ms = delay_ms
        if self._core is not None:
            self._core.set_stream_delay_ms(delay_ms)

    def _configure(self, sample_rate: int, num_channels: int) -> Any:
        """The core for this capture layout, (re)built when the layout changes; far-end audio
        kept from before the first capture is fed to a new core."""
        if sample_rate == self._rate and num_channels == self._channels:
            return self._core
        internal = internal_rate(sample_rate)
        capture = None
        if internal != sample_rate:
            capture = ResampledCapture(sample_rate, internal, num_channels)
        self._core = core = _k.ApmCore(
            internal,
            num_channels,
            self._high_pass_filter,
            self._noise_suppression,
            self._auto_gain_control,
            NS_FLOOR_DB[self._ns_level],
            self._agc_target,
            self._agc_max_gain,
            self._agc_noise,
            self._echo_cancellation,
            self._aec_tail_ms,
        )
        if self._stream_delay_ms:
            core.set_stream_delay_ms(self._stream_delay_ms)
        self._capture = capture
        self._rate, self._channels, self._step = sample_rate, num_channels, sample_rate // 100
        self._render = None
        while self._early_render:
            samples, rate, channels, count = self._early_render.popleft()
            self._feed_render(core, samples, rate, channels, count)
        self._early_render_s = 0.0
        return core

    # ------------------------------------------------------------------ processing

    @staticmethod
    def _check_frame(frame: Any, *, what: str, max_channels: int) -> tuple[int, int, int]:
        try:
            sample_rate, num_channels, samples = frame_layout(frame)
        except TypeError as exc:
            raise TypeError(f"{what}: {exc}") from None
        sample_rate, num_channels = _check_layout(
            sample_rate, num_channels, what=what, max_channels=max_channels
        )
        hop = sample_rate // 100
        if samples <= 0 or samples % hop:
            rounded = "" if sample_rate % 100 == 0 else ", rounded down as in WebRTC"
            raise AudioProcessingError(
                f"{what}: samples_per_channel must be a positive multiple of {hop} samples "
                f"(10 ms at {sample_rate} Hz{rounded}), got {samples} "
                f"({1000 * samples / sample_rate:g} ms)"
            )
        return sample_rate, num_channels, int(samples)

    def _fast_path_samples(self, frame: Any) -> tuple[memoryview, int] | None:
        """``(samples, samples_per_channel)`` of ``frame`` if it is our AudioFrame, writable,
        of whole 10 ms blocks, in the layout the module is configured for (no validation or
        reconfiguration needed); None otherwise."""
        view = own_frame_view(frame)
        if view is None:
            return None
        samples, rate, channels, count = view
        if (
            rate == self._rate
            and channels == self._channels
            and count > 0
            and count % self._step == 0
            and not samples.readonly
        ):
            return samples, count
        return None

    @_exclusive
    def process_stream(self, frame: Any) -> None:
        """Process a near-end (capture) frame in place.

        Parameters
        ----------
        frame : AudioFrame
            int16 interleaved, 8 to 96 kHz, 1 or 2 channels, a positive multiple of
            ``sample_rate // 100`` samples per channel (10 ms), backed by writable memory.

        Raises
        ------
        AudioProcessingError
            Wrong rate, channel count or duration; the frame is untouched.
        ValueError
            The frame's memory is read-only (it is not silently copied).
        TypeError
            Not a frame.
        RuntimeError
            Another thread is inside a call of this module (one module per stream).
        """
        fast = self._fast_path_samples(frame)
        if fast is not None:  # the per-frame fast path: layout already valid
            if self._capture is None:
                self._core.process_capture(fast[0])
            else:
                self._capture.process(self._core, fast[0], fast[1])
            return
        sample_rate, num_channels, count = self._check_frame(
            frame, what="process_stream", max_channels=_MAX_CHANNELS
        )
        samples = frame_samples(frame)
        if samples.readonly:
            raise ValueError(
                "process_stream processes frames in place, but this frame's data is read-only "
                "(e.g. bytes); build it from a bytearray or a writable numpy array"
            )
        core = self._configure(sample_rate, num_channels)
        if self._capture is None:
            core.process_capture(samples)
        else:
            self._capture.process(core, samples, count)

    @_exclusive
    def process_reverse_stream(self, frame: Any) -> None:
        """Give the module a far-end (render) frame: what is being played out.

        Parameters
        ----------
        frame : AudioFrame
            int16 interleaved, 8 to 96 kHz (any rate, independent of the capture's), 1 to 8
            channels, a positive multiple of ``sample_rate // 100`` samples per channel. Not
            modified. Resampled to the capture's internal rate when it differs (adding about
            1 ms of delay to the reference, which the delay estimator absorbs), down-mixed
            to mono as the echo canceller's reference and measured
            (:attr:`ApmStats.render_level_dbfs`). Render frames may arrive in bursts: a
            bounded buffer (2 s) absorbs the jitter and counts over- and underruns. Frames
            that arrive before the first capture frame are kept (up to 2 s) until it comes.

        Raises
        ------
        AudioProcessingError
            Wrong rate, channel count or duration.
        TypeError
            Not a frame.
        RuntimeError
            Another thread is inside a call of this module (one module per stream).
        """
        sample_rate, num_channels, count = self._check_frame(
            frame, what="process_reverse_stream", max_channels=_MAX_RENDER_CHANNELS
        )
        samples = frame_samples(frame)
        core = self._core
        if core is None:
            self._keep_early_render(samples, sample_rate, num_channels, count)
        else:
            self._feed_render(core, samples, sample_rate, num_channels, count)

    def _feed_render(
        self, core: Any, samples: Any, sample_rate: int, num_channels: int, count: int
    ) -> None:
        """Far-end samples to the core, resampled to its rate (whole hops at a time)."""
        render = self._render
        layout = (sample_rate, num_channels)
        if render is not None and (render.input_rate, render.num_channels) != layout:
            render.flush(core.hop)  # the far end changed layout: what is held goes in first
            core.process_render(render.buf[: render.fill], render.num_channels)
            render = self._render = None
        if sample_rate == core.sample_rate:
            core.process_render(samples, num_channels)
            return
        if render is None:
            render = self._render = render_fifo(sample_rate, core.sample_rate, num_channels)
        render.push(samples, count)
        whole = render.fill - render.fill % core.hop
        if whole:
            core.process_render(render.buf[:whole], num_channels)
            render.pop(whole)

    def _keep_early_render(
        self, samples: memoryview, sample_rate: int, num_channels: int, count: int
    ) -> None:
        """Keep far-end audio until the first capture frame; the newest 2 s at most."""
        kept = np.frombuffer(samples, np.int16).copy()
        self._early_render.append((kept, sample_rate, num_channels, count))
        self._early_render_s += count / sample_rate
        while self._early_render_s > _EARLY_RENDER_S + 1e-9:  # (float sums of 10 ms)
            _, rate, _, dropped = self._early_render.popleft()
            self._early_render_s -= dropped / rate
            if not self._early_render_dropped:
                self._early_render_dropped = True
                logger.warning(
                    "AudioProcessingModule: more than %g s of far-end audio before the first "
                    "capture frame; the oldest is dropped",
                    _EARLY_RENDER_S,
                )

    @_exclusive
    def reset(self) -> None:
        """Forget all adaptive state (noise estimate, AGC level, filter and resampler
        memories) and far-end audio kept from before the first capture."""
        if self._core is not None:
            self._core.reset()
        if self._capture is not None:
            self._capture = ResampledCapture(self._rate, self._core.sample_rate, self._channels)
        self._render = None
        self._early_render.clear()
        self._early_render_s = 0.0

    @property
    def stats(self) -> ApmStats:
        """Statistics of the last processed block (zeros and -120 dBFS before any).

        Before the first capture frame, ``render_level_dbfs`` is the last far-end frame's
        level and ``render_buffer_ms`` the far-end audio kept for the first capture.
        """
        if self._core is None:
            render_level = -120.0
            if self._early_render:
                last = self._early_render[-1][0].astype(np.float64)
                power = float(np.dot(last, last)) / len(last) / _FULL_SCALE**2
                render_level = 10.0 * math.log10(power) if power > 1e-12 else -120.0
            return ApmStats(
                0.0,
                -120.0,
                0.0,
                -120.0,
                -120.0,
                render_level,
                0,
                render_buffer_ms=1000.0 * self._early_render_s,
                render_frames=sum(n // (rate // 100) for _, rate, _, n in self._early_render),
            )
        s = self._core.stats()
        return ApmStats(
            speech_probability=s["speech_probability"],
            noise_floor_dbfs=s["noise_floor_dbfs"],
            agc_gain_db=s["agc_gain_db"],
            input_level_dbfs=s["input_level_dbfs"],
            output_level_dbfs=s["output_level_dbfs"],
            render_level_dbfs=s["render_level_dbfs"],
            frames_processed=s["frames_processed"],
            echo_delay_ms=s["echo_delay_ms"],
            erle_db=s["erle_db"],
            render_buffer_ms=s["render_buffer_ms"],
            render_overruns=s["render_overruns"],
            render_underruns=s["render_underruns"],
            delay_changes=s["delay_changes"],
            divergences=s["divergences"],
            render_frames=s["render_frames"],
        )

    def __repr__(self) -> str:
        return (
            f"AudioProcessingModule(noise_suppression={self._noise_suppression}, "
            f"high_pass_filter={self._high_pass_filter}, "
            f"auto_gain_control={self._auto_gain_control}, "
            f"noise_suppression_level={self._ns_level.name}, "
            f"agc_target_level_dbfs={self._agc_target}, agc_max_gain_db={self._agc_max_gain})"
        )


def process_batch(modules: Sequence[AudioProcessingModule], frames: Sequence[Any]) -> None:
    """``modules[i].process_stream(frames[i])`` for every ``i``, the common case in one call.

    For workers that hold many streams' frames at once (every call's 10 ms frame of a
    tick): frames already in the layout their module runs at (our writable
    :class:`~livekit_audio.AudioFrame`, whole 10 ms blocks, the module's rate and channel
    count after its first frame, one of its native rates 8/16/32/48 kHz) are processed in one
    native call that releases the GIL once and loops over the modules in C; any other item
    (a module's first frame, another frame type, a rate the module resamples) goes through
    its module's :meth:`~AudioProcessingModule.process_stream`, in order. The result is the
    same as calling ``process_stream`` item by item. ``AudioStream`` uses this for streams
    delivered in the same tick of the event loop (see its Notes).

    Parameters
    ----------
    modules : sequence of AudioProcessingModule
        Distinct modules (one per stream), as many as ``frames``.
    frames : sequence of AudioFrame or frame-like
        Processed in place; each as :meth:`AudioProcessingModule.process_stream` requires.

    Raises
    ------
    TypeError
        If an item of ``modules`` is not an AudioProcessingModule (nothing is processed).
    ValueError
        If the lengths differ or a module appears twice (nothing is processed); or, from
        ``process_stream``, for an item it rejects (items before it were processed).
    AudioProcessingError
        From ``process_stream`` for an item of the wrong layout (items before it were
        processed; the item itself is untouched).
    RuntimeError
        If another thread is inside a call of one of the modules (nothing is processed).
    """
    for name, items in (("modules", modules), ("frames", frames)):
        if not isinstance(items, Sequence):
            raise TypeError(
                f"process_batch: {name} must be a sequence (a list or tuple), got "
                f"{type(items).__name__}"
            )
    if len(modules) != len(frames):
        raise ValueError(
            f"process_batch: modules and frames must have the same length, got "
            f"{len(modules)} modules and {len(frames)} frames"
        )
    cores: list[Any] = []
    buffers: list[Any] = []
    locked: list[AudioProcessingModule] = []
    others: list[tuple[AudioProcessingModule, Any]] = []
    seen: set[int] = set()
    for i, module in enumerate(modules):
        if not isinstance(module, AudioProcessingModule):
            raise TypeError(
                f"process_batch: modules[{i}] must be an AudioProcessingModule, got "
                f"{type(module).__name__}"
            )
        if id(module) in seen:
            raise ValueError(f"process_batch: modules[{i}] appears twice (one module per stream)")
        seen.add(id(module))
    try:
        for module, frame in zip(modules, frames, strict=True):
            if not module._lock.acquire(blocking=False):
                raise RuntimeError(
                    "process_batch: an AudioProcessingModule is already in use by another "
                    "thread; use one module per stream"
                )
            locked.append(module)
            fast = module._fast_path_samples(frame) if module._capture is None else None
            if fast is not None:
                cores.append(module._core)
                buffers.append(fast[0])
            else:
                others.append((module, frame))
        if cores:
            _k.process_capture_batch(cores, buffers)
    finally:
        for module in locked:
            module._lock.release()
    for module, frame in others:
        module.process_stream(frame)
