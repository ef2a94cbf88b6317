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
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any

from livekit_audio._errors import LivekitAudioError
from livekit_audio._native import _apm as _k
from livekit_audio.audio_frame import AudioFrame, frame_samples

__all__ = [
    "SUPPORTED_SAMPLE_RATES",
    "ApmStats",
    "AudioProcessingError",
    "AudioProcessingModule",
    "NoiseSuppressionLevel",
]

#: Sample rates the module processes, in Hz.
SUPPORTED_SAMPLE_RATES = (8000, 16000, 32000, 48000)
_MAX_CHANNELS = 2
_MAX_STREAM_DELAY_MS = 500


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
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name} must be within [{low}, {high}], got {value}")
    return float(value)


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
    Frames are :class:`~livekit_audio.AudioFrame` (or any frame-like object) at 8, 16, 32 or
    48 kHz, mono or stereo, exactly 10 ms or a whole multiple of 10 ms (processed as
    consecutive 10 ms blocks). They are processed in place. Anything else raises
    :class:`AudioProcessingError` and leaves the frame untouched. A frame whose rate or
    channel count differs from the previous one reconfigures the module (adaptive state
    restarts). Noise suppression or echo cancellation delays the output by 10 ms, and echo
    cancellation at 32/48 kHz by 2.7 ms more (its band split; :attr:`delay_samples`).

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
        self._agc_target = _check_db("agc_target_level_dbfs", agc_target_level_dbfs, -50, -3)
        self._agc_max_gain = _check_db("agc_max_gain_db", agc_max_gain_db, 0, 50)
        self._agc_noise = _check_db("agc_max_noise_level_dbfs", agc_max_noise_level_dbfs, -90, -20)
        self._stream_delay_ms = 0
        self._core: Any = None

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
        """Delay the enabled stages add, in samples of the current rate (0 before a frame)."""
        return 0 if self._core is None else self._core.delay_samples

    @property
    def stream_delay_ms(self) -> int:
        """The delay set by :meth:`set_stream_delay_ms`."""
        return self._stream_delay_ms

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
        core = self._core
        if core is not None and core.sample_rate == sample_rate and core.num_channels == num_channels:
            return core
        self._core = _k.ApmCore(
            sample_rate,
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
            self._core.set_stream_delay_ms(self._stream_delay_ms)
        return self._core

    # ------------------------------------------------------------------ processing

    @staticmethod
    def _check_frame(frame: Any, *, what: str, max_channels: int) -> tuple[int, int, int]:
        try:
            sample_rate = frame.sample_rate
            num_channels = frame.num_channels
            samples = frame.samples_per_channel
        except AttributeError:
            raise TypeError(
                f"{what} must be an AudioFrame (sample_rate, num_channels, "
                f"samples_per_channel, data), got {type(frame).__name__}"
            ) from None
        if sample_rate not in SUPPORTED_SAMPLE_RATES:
            raise AudioProcessingError(
                f"{what}: sample_rate must be one of {SUPPORTED_SAMPLE_RATES} Hz, got {sample_rate}"
            )
        if not 1 <= num_channels <= max_channels:
            raise AudioProcessingError(
                f"{what}: num_channels must be within [1, {max_channels}], got {num_channels}"
            )
        hop = sample_rate // 100
        if samples <= 0 or samples % hop:
            raise AudioProcessingError(
                f"{what}: expected a multiple of {hop} samples per channel (10 ms at "
                f"{sample_rate} Hz), got {samples} ({1000 * samples / sample_rate:g} ms)"
            )
        return sample_rate, num_channels, samples

    def process_stream(self, frame: Any) -> None:
        """Process a near-end (capture) frame in place.

        Parameters
        ----------
        frame : AudioFrame
            int16 interleaved, 8/16/32/48 kHz, 1 or 2 channels, a positive multiple of 10 ms,
            backed by writable memory.

        Raises
        ------
        AudioProcessingError
            Wrong rate, channel count or duration; the frame is untouched.
        ValueError
            The frame's memory is read-only (it is not silently copied).
        TypeError
            Not a frame.
        """
        core = self._core
        if (
            type(frame) is AudioFrame
            and core is not None
            and frame._sample_rate == core.sample_rate
            and frame._num_channels == core.num_channels
            and frame._samples_per_channel > 0
            and frame._samples_per_channel % core.hop == 0
            and not frame._data.readonly
        ):
            core.process_capture(frame._data)  # the per-frame fast path: layout already valid
            return
        sample_rate, num_channels, _ = self._check_frame(
            frame, what="process_stream", max_channels=_MAX_CHANNELS
        )
        samples = frame_samples(frame)
        if samples.readonly:
            raise ValueError(
                "process_stream processes frames in place, but this frame's data is read-only "
                "(e.g. bytes); build it from a bytearray or a writable numpy array"
            )
        self._configure(sample_rate, num_channels).process_capture(samples)

    def process_reverse_stream(self, frame: Any) -> None:
        """Give the module a far-end (render) frame: what is being played out.

        Parameters
        ----------
        frame : AudioFrame
            int16 interleaved at the capture stream's rate, 1 to 8 channels, a positive
            multiple of 10 ms. Not modified; down-mixed to mono as the echo canceller's
            reference and measured (:attr:`ApmStats.render_level_dbfs`). Render frames may
            arrive in bursts: a bounded buffer (2 s) absorbs the jitter and counts over- and
            underruns.

        Raises
        ------
        AudioProcessingError
            Wrong rate (including one that differs from the capture stream's), channel count
            or duration.
        """
        sample_rate, num_channels, _ = self._check_frame(
            frame, what="process_reverse_stream", max_channels=8
        )
        core = self._core
        if core is None:
            core = self._configure(sample_rate, 1)
        elif core.sample_rate != sample_rate:
            raise AudioProcessingError(
                f"process_reverse_stream: sample_rate must match the capture stream's "
                f"{core.sample_rate} Hz, got {sample_rate}; resample the far end first"
            )
        core.process_render(frame_samples(frame), num_channels)

    def reset(self) -> None:
        """Forget all adaptive state (noise estimate, AGC level, filter memories)."""
        if self._core is not None:
            self._core.reset()

    @property
    def stats(self) -> ApmStats:
        """Statistics of the last processed block (zeros and -120 dBFS before any)."""
        if self._core is None:
            return ApmStats(0.0, -120.0, 0.0, -120.0, -120.0, -120.0, 0)
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
        )

    def __repr__(self) -> str:
        return (
            f"AudioProcessingModule(noise_suppression={self._noise_suppression}, "
            f"high_pass_filter={self._high_pass_filter}, "
            f"auto_gain_control={self._auto_gain_control}, "
            f"noise_suppression_level={self._ns_level.name}, "
            f"agc_target_level_dbfs={self._agc_target}, agc_max_gain_db={self._agc_max_gain})"
        )
