"""InputCapture: a PortAudio input device feeding an AudioSource through the processing module.

PortAudio's callback copies each block (with its timestamps) into the hand-off queue, the
package's :class:`~livekit_audio._aio.RingQueue`, with ``put_threadsafe``: it never waits, and
at most one ``call_soon_threadsafe`` wake-up of the loop is pending. Everything else runs on
the loop, in the capture's task. That task re-chunks the blocks into 10 ms frames, processes
them with the :class:`~livekit_audio.AudioProcessingModule` (echo cancellation, noise
suppression, high-pass filter, AGC) and captures them into the
:class:`~livekit_audio.AudioSource`. The module is used only there and by the echo
reference, also on the loop, so it never sees two threads. When the loop falls behind by more
than the queue holds, the queue drops the oldest block; its drops are counted in
:attr:`CaptureStats.dropped_blocks`.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from livekit_audio._aio import QueueClosed, RingQueue
from livekit_audio._log import logger
from livekit_audio.apm import AudioProcessingError, AudioProcessingModule
from livekit_audio.audio_frame import AudioFrame
from livekit_audio.channels import remix_channels
from livekit_audio.devices._portaudio import StreamClock, close_stream
from livekit_audio.devices.echo import EchoDelayEstimator, EchoReference
from livekit_audio.frame_chunker import FrameChunker
from livekit_audio.rtc.audio_source import AudioSource

__all__ = ["CaptureStats", "InputCapture"]


@dataclass
class CaptureStats:
    """Counters of an :class:`InputCapture` (they only grow).

    Attributes
    ----------
    blocks : int
        Blocks PortAudio delivered (callbacks).
    overflows : int
        Blocks PortAudio flagged ``input_overflow``: the device dropped audio before our
        callback ran (too slow a system).
    dropped_blocks : int
        Blocks dropped because the queue was full: the event loop fell behind, or more than
        ``queue_capacity`` frames of audio were waiting (in the hand-off queue and the
        source's queue). The oldest goes first, so the newest audio is kept and the
        microphone's latency stays bounded.
    stale_blocks : int
        Blocks captured before the capture task first ran (while the caller of
        ``open_input`` still held the event loop). They are skipped so they do not add
        latency for the rest of the capture.
    processed_blocks : int
        Blocks taken from the queue and processed.
    frames : int
        10 ms frames captured into the source.
    processing_errors : int
        Frames the processing module refused (passed on unprocessed).
    """

    blocks: int = 0
    overflows: int = 0
    dropped_blocks: int = 0
    stale_blocks: int = 0
    processed_blocks: int = 0
    frames: int = 0
    processing_errors: int = 0


class _CaptureEngine:
    """The callback, the hand-off queue and the capture task of one input stream."""

    def __init__(
        self,
        *,
        loop: asyncio.AbstractEventLoop,
        source: AudioSource,
        apm: AudioProcessingModule | None,
        estimator: EchoDelayEstimator,
        echo: EchoReference | None,
        blocksize: int,
        device_channels: int,
        channel_index: int | None,
        queue_slots: int,
        max_waiting_s: float,
    ) -> None:
        self.loop = loop
        self.source = source
        self.apm = apm
        self.estimator = estimator
        self.echo = echo
        self.rate = source.sample_rate
        self.num_channels = source.num_channels
        self.blocksize = blocksize
        self.channel_index = channel_index
        self.stats = CaptureStats()
        # the hand-off queue, put by the callback, taken by the task (drop-oldest): items are
        # (block (frames, device_channels) int16, ADC time of its first sample, callback
        # time on the stream clock, callback time on time.monotonic())
        self.queue: RingQueue[tuple[np.ndarray, float, float, float]] = RingQueue(
            queue_slots, loop=loop
        )
        self.queue_drops_stale = 0  # the queue's drops before the task ran (stale, not dropped)
        self.skipped_blocks = 0  # blocks the task skipped (too much audio waiting)
        self.clock = StreamClock()
        self.chunker = FrameChunker(self.rate, self.num_channels)
        self.samples_pushed = 0  # samples per channel given to the chunker (module input)
        self.reported_latency_s = 0.0  # the stream's reported input latency (fallback)
        self.max_waiting_s = max_waiting_s  # audio allowed to wait for the source's playout
        self.block_s = blocksize / self.rate
        self.started = False
        self.error_logged = False
        self.closed = False

    # -- PortAudio's thread ------------------------------------------------------------

    def callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio's input callback: a copy of the block into the hand-off queue (the
        buffer is PortAudio's, reused); never waits, at most one ``call_soon_threadsafe``
        pending."""
        n = frames if frames <= self.blocksize else self.blocksize
        block = indata[:n].copy()
        stats = self.stats
        stats.blocks += 1
        if status.input_overflow:
            stats.overflows += 1
        self.queue.put_threadsafe(
            (block, time_info.inputBufferAdcTime, time_info.currentTime, time.monotonic())
        )

    # -- the loop side -----------------------------------------------------------------

    async def run(self) -> None:
        """The capture task: take blocks from the queue, process them, capture the frames."""
        queue = self.queue
        while not self.closed:
            try:
                block, adc, now, mono = await queue.get()
            except QueueClosed:
                return
            if not self.started:  # blocks from before we first ran are stale: the newest only
                self.started = True
                stale = 0
                while len(queue):
                    block, adc, now, mono = queue.get_nowait()
                    stale += 1
                self.queue_drops_stale = queue.dropped
                self.stats.stale_blocks += stale + queue.dropped
            queued = len(queue)
            if self._too_much_waiting(queued + 1):
                self.skipped_blocks += 1
                self.count_drops()
                continue
            self.count_drops()
            await self._process(block, adc, now, mono, queued)

    def count_drops(self) -> None:
        """Bring :attr:`CaptureStats.dropped_blocks` up to date: the queue's drops (but
        those before the task first ran, which are stale) and the blocks the task skipped."""
        self.stats.dropped_blocks = (
            self.queue.dropped - self.queue_drops_stale + self.skipped_blocks
        )

    def _too_much_waiting(self, queued: int) -> bool:
        """Whether the audio waiting (``queued`` blocks and the source's queue) exceeds the
        bound while more than the newest block is queued."""
        waiting_s = queued * self.block_s + self.source.queued_duration
        return queued > 1 and waiting_s > self.max_waiting_s

    async def _process(
        self, block: np.ndarray, adc: float, now: float, mono: float, queued: int
    ) -> None:
        rate = self.rate
        n = len(block)
        if self.channel_index is not None:
            index = self.channel_index
            block = remix_channels(block[:, index : index + 1], self.num_channels)
        if adc > 0.0 and now > 0.0:
            latency = now - adc
        else:  # a host API without timestamps: the stream's reported latency
            latency = self.reported_latency_s + n / rate
        self.clock.update(now, mono)
        adc_mono = self.clock.to_monotonic(adc if adc > 0.0 else now - latency, mono - latency)
        buffering = (queued * self.blocksize + self.chunker.pending_samples) / rate
        self.estimator.set_input_delay(latency, buffering)
        if self.echo is not None:
            self.echo.on_capture(adc_mono, self.samples_pushed, n, rate)
            # the far end holding this block's echo must reach the module first
            await self.echo.wait_for_render((self.samples_pushed + n) / rate)
        self.samples_pushed += n
        frames = self.chunker.push(AudioFrame.from_ndarray(np.ascontiguousarray(block), rate))
        self.stats.processed_blocks += 1
        for frame in frames:
            if self.apm is not None:
                try:
                    self.apm.process_stream(frame)
                except AudioProcessingError:
                    self.stats.processing_errors += 1
                    if not self.error_logged:
                        self.error_logged = True
                        logger.warning("InputCapture: processing failed", exc_info=True)
            try:
                await self.source.capture_frame(frame)
            except RuntimeError:
                if self.source.closed:  # closed by its owner: nothing more to capture into
                    self.closed = True
                    return
                raise
            self.stats.frames += 1


def queue_slots(queue_capacity: int, blocksize: int, sample_rate: int) -> int:
    """Blocks of ``blocksize`` the hand-off queue holds for ``queue_capacity`` 10 ms frames
    (at least 2)."""
    frame = max(1, sample_rate // 100)
    return max(2, math.ceil(queue_capacity * frame / blocksize))


def queue_duration_s(queue_capacity: int, sample_rate: int) -> float:
    """Seconds of audio in ``queue_capacity`` frames of ``sample_rate // 100`` samples."""
    return queue_capacity * max(1, sample_rate // 100) / sample_rate


@dataclass
class InputCapture:
    """An open audio input: the device's stream, the processing and the source it feeds.

    Made by :meth:`MediaDevices.open_input <livekit_audio.devices.MediaDevices.open_input>`;
    the fields are those of ``livekit.rtc.media_devices.InputCapture`` plus ``stats``.

    Attributes
    ----------
    source : AudioSource
        Receives the captured (and processed) audio as 10 ms frames, int16 at the input rate
        and channel count; publish it with ``LocalAudioTrack.create_audio_track``, or read
        it with ``source.add_playout_listener``.
    input_stream : sounddevice.InputStream
        The PortAudio stream.
    task : asyncio.Task
        The capture task: hand-off queue -> 10 ms frames -> ``apm`` -> ``source``.
    apm : AudioProcessingModule or None
        The processing module (None when every feature is off). With echo cancellation,
        what the :class:`~livekit_audio.devices.OutputPlayer` of the same MediaDevices
        plays is its far end.
    delay_estimator : EchoDelayEstimator
        PortAudio's input and output latencies and the echo delay (estimated and measured).
    stats : CaptureStats
        Blocks delivered, overflows, drops, frames captured.
    device : dict
        The input device, as :meth:`MediaDevices.list_input_devices
        <livekit_audio.devices.MediaDevices.list_input_devices>` describes it.
    """

    source: AudioSource
    input_stream: Any
    task: asyncio.Task[None]
    apm: AudioProcessingModule | None
    delay_estimator: EchoDelayEstimator
    stats: CaptureStats
    device: dict[str, Any]
    _engine: _CaptureEngine = field(repr=False, compare=False)

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._engine.closed

    @property
    def echo_reference(self) -> EchoReference | None:
        """Feeds the player's audio to ``apm`` (None without echo cancellation)."""
        return self._engine.echo

    async def aclose(self) -> None:
        """Stop the device stream and the capture task, then close the source.

        Audio not yet processed is dropped; the source's tracks end (see
        :meth:`AudioSource.aclose`). Idempotent.
        """
        engine = self._engine
        if engine.closed:
            return
        engine.closed = True
        if engine.echo is not None:
            engine.echo.closed = True
        close_stream(self.input_stream)  # no callback runs after this
        if not self.task.done():
            self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        engine.queue.close(discard=True)  # blocks still queued are neither processed nor dropped
        engine.count_drops()
        await self.source.aclose()

    async def __aenter__(self) -> InputCapture:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
