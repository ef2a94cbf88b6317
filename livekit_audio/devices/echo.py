"""The echo path between an OutputPlayer and an InputCapture: its delay, and the reference feed.

Our echo canceller pairs far-end and near-end audio by sample count. The capture sample at
index ``c`` is compared with the render sample at ``c - D``, where ``D`` starts at the
stream-delay hint and the canceller's delay estimator corrects it. So the render timeline
must stay in step with the capture timeline, whichever device started first, whatever either
side buffered, and across a player that starts, stops or starves. :class:`EchoReference`
keeps them in step with PortAudio's timestamps. Every captured block carries the ADC time of
its first sample, and every played block carries the DAC time of its first sample, both
mapped onto ``time.monotonic()`` (each stream has its own clock origin, see
:class:`~livekit_audio.devices._portaudio.StreamClock`). Played audio is placed on the
capture's timeline so that a sound reaching the DAC at time ``t`` sits exactly ``target``
seconds before the capture sample taken at ``t``. Silence fills the gaps, and audio the
capture cannot use is skipped. ``target`` is the echo path delay :class:`EchoDelayEstimator`
computes from PortAudio's latencies (output plus input plus our buffering). It goes to the
module as its stream delay, so only the acoustic path is left to measure. For a JACK loopback
that path is -20 or -30 ms: the echo arrives before PortAudio's timestamps say, because the
loopback skips the output port's latency. The module's own delay estimator finds it.

The timestamps are taken as medians over a few blocks (a single block's can be a few ms
off). Until the first sound, and until those medians are full, the render timeline follows
them to the sample: moving silence, or an echo the filter has barely seen, costs nothing.
After that it moves only on a jump of ``ALIGN_TOLERANCE_S``, so the timestamps' jitter never
moves an echo the filter has learned. This matters more than it looks. Our canceller handles
a pure-delay echo at the far end's level up to 15 dB worse when the echo starts mid-way
through one of its 10 ms filter blocks than when it starts on a boundary. Measured offline
on 6 s of the packaged speech clip, stream delay 45 ms, ERLE over 1-6 s: 28.3, 23.9, 12.1,
15.6 and 27.1 dB at echo delays of 40, 42.5, 45, 47.5 and 50 ms. On a JACK loopback the
timestamps put the echo on a boundary.

The far end must also reach the module before the near end that holds its echo. Output
blocks are fetched only their output latency ahead of the DAC, and a whole block at a time,
so with large blocks the newest played block can be just short of what the next captured
block needs. The capture task therefore waits for it, at most one output block
(:meth:`EchoReference.wait_for_render`): better a few ms of extra latency on the microphone
than echo the canceller never sees.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from livekit_audio._log import logger
from livekit_audio.apm import AudioProcessingError, AudioProcessingModule
from livekit_audio.audio_frame import AudioFrame
from livekit_audio.frame_chunker import FrameChunker

if TYPE_CHECKING:
    from livekit_audio.devices.playback import PlayedBlock

__all__ = [
    "ALIGN_TOLERANCE_S",
    "CAPTURE_LEAD_S",
    "HINT_HEADROOM_S",
    "MODULE_LEAD_S",
    "WAIT_SLACK_S",
    "EchoDelayEstimator",
    "EchoReference",
]

#: The render timeline is moved (silence inserted, or played audio skipped) only when it is
#: this far from where the timestamps put it; smaller differences are timestamp jitter.
ALIGN_TOLERANCE_S = 0.020
#: The stream delay given to the module is the target less this: PortAudio's DAC time
#: includes the output port's latency, which an echo path can skip (a JACK loopback arrives
#: 20-30 ms before the timestamps say), and an echo that starts before the module's filter
#: is lost. The module's own estimator takes it from there.
HINT_HEADROOM_S = 0.025
#: Render the module needs beyond a capture block's position less the stream delay: its
#: filter starts two 10 ms blocks before the stream delay and takes whole 10 ms blocks.
MODULE_LEAD_S = 0.030
#: How much longer than one output block the capture waits for the far end.
WAIT_SLACK_S = 0.020
#: Played audio may trail the capture by this much before silence is fed in its place (a
#: player delivers each block about its output latency before the capture needs it).
CAPTURE_LEAD_S = 0.100
#: Smoothing of the latency measurements (weight of each new callback's value).
_SMOOTHING = 0.1
#: Captured blocks over which the buffering is the median (a loop busy at start-up does not
#: count as buffering for long).
_BUFFERING_BLOCKS = 16
#: Blocks over which the clock origins of capture and playback are medians: PortAudio's
#: timestamps of a single block can be off by a few ms (JACK's do, now and then).
_ORIGIN_BLOCKS = 9
#: set_stream_delay_ms's range.
_MAX_HINT_MS = 500


class EchoDelayEstimator:
    """The echo path delay of one capture: PortAudio's latencies, refined by the AEC.

    ``estimated_delay_ms = output latency + input latency + buffering``. Output latency
    runs from a block's callback to its DAC time. Input latency runs from a block's ADC time
    to its callback. Both come from PortAudio's per-callback timestamps, or from the
    streams' reported latencies on a host API without them. Buffering is how long captured
    audio waits in our hand-off queue and 10 ms re-chunking before the module gets it. This
    is the time from a far-end block's ``process_reverse_stream`` call to its echo's
    ``process_stream`` call, which is what ``set_stream_delay_ms`` means.
    :attr:`measured_delay_ms` is what the echo canceller's own estimator found (the
    strongest tap of its adaptive filter); :attr:`delay_ms` prefers it.

    Made by :meth:`MediaDevices.open_input <livekit_audio.devices.MediaDevices.open_input>`
    (``InputCapture.delay_estimator``); values are updated on the event loop as blocks flow.

    Parameters
    ----------
    apm : AudioProcessingModule or None
        The capture's module (its echo delay is read from ``apm.stats``).
    """

    def __init__(self, apm: AudioProcessingModule | None) -> None:
        self._apm = apm
        self._input_latency_s: float | None = None
        self._output_latency_s: float | None = None
        self._buffering: deque[float] = deque(maxlen=_BUFFERING_BLOCKS)

    @staticmethod
    def _smooth(old: float | None, new: float) -> float:
        return new if old is None else old + _SMOOTHING * (new - old)

    def set_input_delay(self, delay_s: float, buffering_s: float = 0.0) -> None:
        """Record an input latency measurement and the buffering behind it, in seconds (the
        capture does this for every block).

        Parameters
        ----------
        delay_s : float
            From the block's ADC time to its callback; ignored unless finite and >= 0.
        buffering_s : float
            How long the block waited in our queue and re-chunking before processing.
        """
        delay_s = float(delay_s)
        if math.isfinite(delay_s) and delay_s >= 0.0:
            self._input_latency_s = self._smooth(self._input_latency_s, delay_s)
        self._buffering.append(max(0.0, float(buffering_s)))

    def set_output_delay(self, delay_s: float) -> None:
        """Record an output latency measurement in seconds (what ``livekit.rtc``'s estimator
        takes from the output callback; the player does this for every block)."""
        delay_s = float(delay_s)
        if math.isfinite(delay_s) and delay_s >= 0.0:
            self._output_latency_s = self._smooth(self._output_latency_s, delay_s)

    def get_output_delay(self) -> float:
        """Output latency in seconds (0 while no output plays), as ``livekit.rtc``'s."""
        return self.output_latency_s

    @property
    def input_latency_s(self) -> float:
        """Seconds from a captured block's ADC time to its callback (0 before any)."""
        return self._input_latency_s or 0.0

    @property
    def output_latency_s(self) -> float:
        """Seconds from a played block's callback to its DAC time (0 while none played)."""
        return self._output_latency_s or 0.0

    @property
    def buffering_s(self) -> float:
        """Seconds captured audio waits in our queue and re-chunking before processing
        (median over the last blocks; 0 before any)."""
        return statistics.median(self._buffering) if self._buffering else 0.0

    @property
    def estimated_delay_ms(self) -> float:
        """Output latency + input latency + buffering, in ms."""
        return 1000.0 * (self.output_latency_s + self.input_latency_s + self.buffering_s)

    @property
    def measured_delay_ms(self) -> float | None:
        """The echo canceller's estimate of the delay (ms), None until it has one."""
        if self._apm is None or not self._apm.echo_cancellation:
            return None
        delay = self._apm.stats.echo_delay_ms
        return float(delay) if delay >= 0.0 else None

    @property
    def delay_ms(self) -> float:
        """The best delay known: :attr:`measured_delay_ms`, else :attr:`estimated_delay_ms`."""
        measured = self.measured_delay_ms
        return self.estimated_delay_ms if measured is None else measured

    def __repr__(self) -> str:
        measured = self.measured_delay_ms
        return (
            f"EchoDelayEstimator(estimated_delay_ms={self.estimated_delay_ms:.1f}, "
            f"measured_delay_ms={'None' if measured is None else f'{measured:.1f}'}, "
            f"input_latency_s={self.input_latency_s:.4f}, "
            f"output_latency_s={self.output_latency_s:.4f}, "
            f"buffering_s={self.buffering_s:.4f})"
        )


class EchoReference:
    """Feeds what an output device played to one capture's echo canceller, on its timeline.

    Package-internal: :class:`~livekit_audio.devices.MediaDevices` makes one per input opened
    with echo cancellation and routes its player's :class:`PlayedBlock` objects to it; the
    capture task calls :meth:`on_capture` and :meth:`wait_for_render`. Everything runs on the
    event loop, so the module is never used from two threads.

    The render timeline holds played audio where the timestamps put it, and silence wherever
    nothing was played (no player yet, or a stopped or starved one). So the module's far end
    keeps pace with its near end however long either ran alone. The target delay is the
    estimator's, and the module's stream delay is the target less ``HINT_HEADROOM_S``. Until
    the first block that carries sound the target follows the estimate (re-aligning silence
    costs nothing). From then on it stays put: the adaptive filter learns the path at that
    delay, the module's own delay estimator follows a changing path, and moving the echo
    under a converged filter would cost seconds of re-convergence.

    Parameters
    ----------
    apm : AudioProcessingModule
        The capture's module, with echo cancellation.
    estimator : EchoDelayEstimator
        The capture's delay estimator (gets the output latency; gives the target delay).

    Attributes
    ----------
    padded_s, skipped_s : float
        Seconds of silence inserted and of played audio skipped to stay aligned.
    waited_s : float
        Seconds the capture waited for the far end in total.
    wait_timeouts : int
        Capture blocks processed without their far end (it was late by more than a block).
    """

    def __init__(self, apm: AudioProcessingModule, estimator: EchoDelayEstimator) -> None:
        self._apm = apm
        self._estimator = estimator
        self._capture_origin_s: float | None = None  # monotonic time of capture sample 0
        self._capture_origins: deque[float] = deque(maxlen=_ORIGIN_BLOCKS)
        self._play_origins: deque[float] = deque(maxlen=_ORIGIN_BLOCKS)  # of played sample 0
        self._target_s: float | None = None  # fixed at the first played block with sound
        self._render_s = 0.0  # render audio fed (silence included), in seconds
        self._chunker: FrameChunker | None = None
        self._played_at = -math.inf  # time.monotonic() of the last played block
        self._block_s = 0.0  # duration of the last played block
        # set by on_played (the render timeline moved on): wait_for_render re-checks
        self._rendered = asyncio.Event()
        self._hint_ms = 0  # the stream delay given to the module
        self.closed = False
        self.padded_s = 0.0
        self.skipped_s = 0.0
        self.waited_s = 0.0
        self.wait_timeouts = 0

    @property
    def target_delay_ms(self) -> float | None:
        """The delay the render timeline is kept at, in ms; None until the first played
        block carrying sound."""
        return None if self._target_s is None else 1000.0 * self._target_s

    @property
    def stream_delay_ms(self) -> int:
        """The stream delay given to the module (ms, 0 until the first sound)."""
        return self._hint_ms

    def _target(self) -> float:
        if self._target_s is not None:
            return self._target_s
        return min(max(self._estimator.estimated_delay_ms / 1000.0, 0.0), _MAX_HINT_MS / 1000)

    @staticmethod
    def _hint_for(target_s: float) -> int:
        """The module's stream delay for a target (ms): the target less the headroom."""
        return int(min(max(round(1000.0 * (target_s - HINT_HEADROOM_S)), 0), _MAX_HINT_MS))

    def _settled(self) -> bool:
        """Whether both timestamp medians have their full window."""
        return (
            len(self._play_origins) == _ORIGIN_BLOCKS
            and len(self._capture_origins) == _ORIGIN_BLOCKS
        )

    def _playing(self) -> bool:
        """Whether a player is delivering blocks (the last one came within two blocks)."""
        return time.monotonic() - self._played_at < 2.0 * self._block_s + WAIT_SLACK_S

    def _render_needed_s(self, capture_end_s: float) -> float:
        hint_ms = self._hint_ms if self._target_s is not None else self._hint_for(self._target())
        return capture_end_s - hint_ms / 1000.0 + MODULE_LEAD_S

    def on_capture(self, adc_time_s: float, samples_before: int, samples: int, rate: int) -> None:
        """A captured block of ``samples`` whose first sample, taken at ADC time
        ``adc_time_s`` (``time.monotonic()`` clock), is sample ``samples_before`` of the
        module's capture input.

        Called before the block is processed. When the played audio lags the capture by more
        than ``CAPTURE_LEAD_S`` (nothing plays), silence keeps the render timeline up.
        """
        self._capture_origins.append(adc_time_s - samples_before / rate)
        self._capture_origin_s = statistics.median(self._capture_origins)
        needed_s = (samples_before + samples) / rate - self._target()
        if self._render_s < needed_s - CAPTURE_LEAD_S:
            self._pad(needed_s - self._render_s, rate)

    async def wait_for_render(self, capture_end_s: float) -> None:
        """Return once the module has the far end for the capture up to ``capture_end_s``
        (seconds of capture input), at once if no player is playing, or after one output
        block plus ``WAIT_SLACK_S`` at most (counted in :attr:`wait_timeouts`)."""
        if self.closed or not self._playing():
            return
        needed_s = self._render_needed_s(capture_end_s)
        if self._render_s >= needed_s:
            return
        loop = asyncio.get_running_loop()
        rendered = self._rendered
        started = time.monotonic()
        deadline = started + self._block_s + WAIT_SLACK_S
        try:
            while self._render_s < needed_s and not self.closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0.0 or not self._playing():
                    self.wait_timeouts += 1
                    return
                rendered.clear()
                timer = loop.call_later(remaining, rendered.set)  # the deadline wakes us too
                try:
                    await rendered.wait()
                finally:
                    timer.cancel()
        finally:
            self.waited_s += time.monotonic() - started

    def on_played(self, block: PlayedBlock) -> None:
        """Feed a played block to the module, placed on the capture's timeline."""
        self._estimator.set_output_delay(block.output_latency_s)
        frame = block.frame
        self._played_at = time.monotonic()
        self._block_s = frame.duration
        origin = self._capture_origin_s
        if origin is None or self.closed:
            return  # nothing captured yet: the timeline has no origin
        rate = frame.sample_rate
        samples = frame.to_ndarray()
        target = self._target()
        # placed to the sample until the first sound and until the timestamp medians are
        # full (moving silence costs nothing, moving an echo the filter barely knows little)
        exact = self._target_s is None or not self._settled()
        if self._target_s is None and samples.any():
            # the first sound: from now on the filter learns, so the timeline stays put
            self._target_s = target
            self._hint_ms = self._hint_for(target)
            self._apm.set_stream_delay_ms(self._hint_ms)
        # how far this block's first sample is from where it belongs on the render timeline
        self._play_origins.append(block.dac_time_s - block.position / rate)
        dac_time_s = statistics.median(self._play_origins) + block.position / rate
        shift_s = dac_time_s - origin - target - self._render_s
        # once settled, the timestamps' jitter (a few ms) must not move it: only a jump does
        tolerance_s = 0.5 / rate if exact else ALIGN_TOLERANCE_S
        if abs(shift_s) <= tolerance_s:
            shift_s = 0.0
        if shift_s > 0.0:  # the reference is behind: silence up to the block
            self._pad(shift_s, rate, frame.num_channels)
        elif shift_s < 0.0:  # ahead (or before the capture began): skip some
            skip = min(len(samples), int(round(-shift_s * rate)))
            samples = samples[skip:]
            self.skipped_s += skip / rate
        if len(samples):
            self._push(np.ascontiguousarray(samples), rate)
        self._rendered.set()

    def _pad(self, seconds: float, rate: int, channels: int | None = None) -> None:
        chunker = self._chunker
        if chunker is not None:  # silence in the layout already fed: no resampler restart
            rate, channels = chunker.sample_rate, chunker.num_channels
        n = int(round(seconds * rate))
        if n > 0:
            self._push(np.zeros((n, channels or 1), np.int16), rate)
            self.padded_s += n / rate

    def _push(self, samples: np.ndarray, rate: int) -> None:
        chunker = self._chunker
        channels = samples.shape[1]
        if chunker is None or (chunker.sample_rate, chunker.num_channels) != (rate, channels):
            if chunker is not None and chunker.pending_samples:
                # the far end changed layout: finish the held block with silence
                padding = chunker.samples_per_frame - chunker.pending_samples
                for frame in chunker.flush(pad=True):
                    self._feed(frame)
                self._render_s += padding / chunker.sample_rate
            chunker = self._chunker = FrameChunker(rate, channels)
        self._render_s += len(samples) / rate
        for frame in chunker.push(AudioFrame.from_ndarray(samples, rate)):
            self._feed(frame)

    def __repr__(self) -> str:
        target = self.target_delay_ms
        return (
            f"EchoReference(target_delay_ms={'None' if target is None else f'{target:.1f}'}, "
            f"padded_s={self.padded_s:.3f}, skipped_s={self.skipped_s:.3f}, "
            f"waited_s={self.waited_s:.3f}, wait_timeouts={self.wait_timeouts}, "
            f"stream_delay_ms={self._hint_ms})"
        )

    def _feed(self, frame: AudioFrame) -> None:
        try:
            self._apm.process_reverse_stream(frame)
        except AudioProcessingError:
            logger.warning("EchoReference: the module refused a far-end frame", exc_info=True)
