"""InputCapture: a PortAudio input device feeding an AudioSource through the processing module.

PortAudio's callback copies each block into one slot of a preallocated ring, the hand-off
queue, and wakes the event loop with ``call_soon_threadsafe`` (at most one wake-up pending).
Everything else runs on the loop, in the capture's task. That task re-chunks the blocks into
10 ms frames, processes them with the :class:`~livekit_audio.AudioProcessingModule` (echo
cancellation, noise suppression, high-pass filter, AGC) and captures them into the
:class:`~livekit_audio.AudioSource`. The module is used only there and by the echo
reference, also on the loop, so it never sees two threads. When the loop falls behind by more
than the queue holds, the callback overwrites the oldest block. The task notices from the
slot's sequence number, skips the block, and counts it in :attr:`CaptureStats.dropped_blocks`.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from livekit_audio._log import logger
from livekit_audio.apm import AudioProcessingError, AudioProcessingModule
from livekit_audio.audio_frame import AudioFrame
from livekit_audio.rtc.audio_source import AudioSource
from livekit_audio.channels import remix_channels
from livekit_audio.devices._portaudio import StreamClock, close_stream
from livekit_audio.devices.echo import EchoDelayEstimator, EchoReference
from livekit_audio.frame_chunker import FrameChunker

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
        # the hand-off queue: slots written by the callback, read by the task (drop-oldest)
        self.slots = queue_slots
        self.blocks = np.zeros((queue_slots, blocksize, device_channels), np.int16)
        self.slot_views = [self.blocks[k] for k in range(queue_slots)]
        self.slot_seq = [-1] * queue_slots  # sequence number of the block in the slot, -1 busy
        self.slot_frames = [0] * queue_slots
        self.slot_adc = [0.0] * queue_slots  # ADC time of the block's first sample
        self.slot_now = [0.0] * queue_slots  # callback time (stream clock)
        self.slot_mono = [0.0] * queue_slots  # callback time (time.monotonic)
        self.clock = StreamClock()
        self.written = 0  # callback: blocks written
        self.read = 0  # task: blocks taken (processed or dropped)
        self.wake_scheduled = False
        self.scratch = np.zeros((blocksize, device_channels), np.int16)
        self.chunker = FrameChunker(self.rate, self.num_channels)
        self.samples_pushed = 0  # samples per channel given to the chunker (module input)
        self.reported_latency_s = 0.0  # the stream's reported input latency (fallback)
        self.max_waiting_s = max_waiting_s  # audio allowed to wait for the source's playout
        self.block_s = blocksize / self.rate
        self.started = False
        self.waiter: asyncio.Future[None] | None = None
        self.error_logged = False
        self.closed = False

    # -- PortAudio's thread ------------------------------------------------------------

    def callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio's input callback: copy the block into a slot; no lock, no allocation
        of sample buffers; at most one ``call_soon_threadsafe`` pending."""
        seq = self.written
        k = seq % self.slots
        self.slot_seq[k] = -1  # busy: a reader that sees this skips the slot
        n = frames if frames <= self.blocksize else self.blocksize
        if n == self.blocksize:
            np.copyto(self.slot_views[k], indata)
        else:
            self.slot_views[k][:n] = indata[:n]
        self.slot_frames[k] = n
        self.slot_adc[k] = time_info.inputBufferAdcTime
        self.slot_now[k] = time_info.currentTime
        self.slot_mono[k] = time.monotonic()
        self.slot_seq[k] = seq
        self.written = seq + 1
        stats = self.stats
        stats.blocks += 1
        if status.input_overflow:
            stats.overflows += 1
        if not self.wake_scheduled:
            self.wake_scheduled = True
            try:
                self.loop.call_soon_threadsafe(self.wake)
            except RuntimeError:  # the loop is closed: nobody reads any more
                pass

    # -- the loop side -----------------------------------------------------------------

    def wake(self) -> None:
        self.wake_scheduled = False
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def run(self) -> None:
        """The capture task: take blocks from the queue, process them, capture the frames."""
        while not self.closed:
            if self.read == self.written:
                self.waiter = self.loop.create_future()
                try:
                    await self.waiter
                finally:
                    self.waiter = None
                continue
            if not self.started:  # blocks from before we first ran are stale
                self.started = True
                self.stats.stale_blocks += self.written - 1 - self.read
                self.read = self.written - 1
            if self._too_much_waiting():
                self.read += 1
                self.stats.dropped_blocks += 1
                continue
            block = self._take()
            if block is not None:
                await self._process(*block)

    def _too_much_waiting(self) -> bool:
        """Whether the audio waiting (queued blocks and the source's queue) exceeds the
        bound while more than the newest block is queued."""
        queued = self.written - self.read
        waiting_s = queued * self.block_s + self.source.queued_duration
        return queued > 1 and waiting_s > self.max_waiting_s

    def _take(self) -> tuple[np.ndarray, float, float, float, int] | None:
        """The oldest block still in the queue, copied out, or None if it was overwritten."""
        seq = self.read
        behind = self.written - seq
        if behind > self.slots:  # lapped: those blocks are gone
            self.stats.dropped_blocks += behind - self.slots
            seq = self.written - self.slots
        k = seq % self.slots
        self.read = seq + 1
        if self.slot_seq[k] != seq:
            self.stats.dropped_blocks += 1
            return None
        n = self.slot_frames[k]
        adc, now, mono = self.slot_adc[k], self.slot_now[k], self.slot_mono[k]
        np.copyto(self.scratch[:n], self.slot_views[k][:n])
        if self.slot_seq[k] != seq:  # overwritten while we copied it
            self.stats.dropped_blocks += 1
            return None
        return self.scratch[:n], adc, now, mono, self.written - self.read

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
        await self.source.aclose()

    async def __aenter__(self) -> InputCapture:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
