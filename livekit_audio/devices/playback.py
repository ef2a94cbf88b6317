"""OutputPlayer: tracks mixed with our AudioMixer and played on a PortAudio output device.

The event loop owns everything but one ring of samples. The playback task writes the mixer's
10 ms frames into a preallocated int16 ring. PortAudio's callback copies them into its output
buffer, or zeros when there are not enough, and posts one record per block. That record has
the block's position in the ring and its DAC time, and it goes to the loop through a wake-up
with ``call_soon_threadsafe``. On the loop, the record becomes a :class:`PlayedBlock`: exactly
what the device played, silence included, with the time it reaches the DAC. The block goes to
the playout listeners (the echo canceller's reference). Only then may the playback task
overwrite those samples.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from livekit_audio._aio import resolve_loop, spawn
from livekit_audio._log import logger
from livekit_audio.audio_frame import AudioFrame, _check_positive_int
from livekit_audio.devices._portaudio import (
    StreamClock,
    close_stream,
    device_info,
    open_stream,
    start_stream,
)
from livekit_audio.mixer import AudioMixer
from livekit_audio.resampler import _check_channels, _check_rate
from livekit_audio.rtc.audio_stream import AudioStream

__all__ = ["OutputPlayer", "PlaybackStats", "PlayedBlock"]

#: Audio the ring holds beyond one device block before the device starts taking from it,
#: in ms: absorbs the event loop's jitter (its 10 ms ticks against the device's blocks).
PRIME_MARGIN_MS = 30
#: Ring room beyond the priming level, in ms (the playback task waits when it is full).
RING_SLACK_MS = 200
#: Block records the callback keeps for the loop (a loop late by more loses reference audio,
#: counted in ``PlaybackStats.lost_records``; the played audio itself is never affected).
RECORD_SLOTS = 64
#: Frames a track's stream holds for the mixer before dropping its oldest (real time: a
#: stalled device must not build up latency), and mixed frames held for the ring.
STREAM_CAPACITY_FRAMES = 10
MIXER_CAPACITY_FRAMES = 4


@dataclass
class PlaybackStats:
    """Counters of an :class:`OutputPlayer` (they only grow).

    Attributes
    ----------
    blocks : int
        Blocks PortAudio asked for (callbacks).
    underflows : int
        Blocks PortAudio flagged ``output_underflow``: the device ran out of data before our
        callback ran (too slow a loop or system), a gap in what was heard.
    starved_blocks : int
        Blocks the mix could not fill while tracks were playing: the rest was played as
        silence (the mix resumes after priming again).
    samples_played : int
        Mixed samples per channel handed to the device.
    silence_samples : int
        Samples per channel of silence played because no mixed audio was ready (before the
        first track, between tracks, and on starvation).
    lost_records : int
        Played blocks the event loop fell too far behind to see (their audio was played,
        but listeners did not get it).
    trimmed_samples : int
        Samples per channel of mixed silence not played because the ring already held
        more than a block beyond its priming level (the mix had run ahead, e.g. when it
        mixed silence for a stalled track and then the track's late audio): latency is
        kept bounded by dropping silence, never audio.
    """

    blocks: int = 0
    underflows: int = 0
    starved_blocks: int = 0
    samples_played: int = 0
    silence_samples: int = 0
    lost_records: int = 0
    trimmed_samples: int = 0


@dataclass(frozen=True)
class PlayedBlock:
    """One block as the output device played it.

    Attributes
    ----------
    frame : AudioFrame
        Exactly what was played, int16 ``(samples_per_channel, num_channels)`` at the
        player's rate, including any silence filled in.
    dac_time_s : float
        When the block's first sample reaches the DAC, on the ``time.monotonic()`` clock:
        PortAudio's DAC time mapped from the stream's clock (see
        :class:`~livekit_audio.devices._portaudio.StreamClock`).
    output_latency_s : float
        Time from the callback to the DAC for that sample (PortAudio's timestamps, or its
        reported stream latency when the host API gives no timestamps).
    position : int
        Samples per channel the stream played before this block, since it started: blocks
        are contiguous on the device, so ``dac_time_s - position / rate`` is the same for
        every block, up to the timestamps' jitter and the clock's drift.
    """

    frame: AudioFrame
    dac_time_s: float
    output_latency_s: float
    position: int = 0


class OutputPlayer:
    """Play audio tracks, mixed, on a PortAudio output device.

    Mirrors ``livekit.rtc.media_devices.OutputPlayer``: :meth:`add_track` /
    :meth:`remove_track` manage the tracks of an internal :class:`~livekit_audio.AudioMixer`,
    :meth:`start` starts playback, :meth:`aclose` stops it. Usually made by
    :meth:`MediaDevices.open_output <livekit_audio.devices.MediaDevices.open_output>`, which
    also makes what this player plays the echo reference of every input opened with echo
    cancellation.

    Parameters
    ----------
    sample_rate : int, keyword-only
        Output rate in Hz (default 48000); tracks at other rates are resampled.
    num_channels : int, keyword-only
        Output channels, 1 to 8 (default 1); tracks are down- or up-mixed.
    blocksize : int, keyword-only
        Samples per channel PortAudio asks for per callback, > 0 (default 2400: 50 ms at
        48 kHz).
    output_device : int, str or None, keyword-only
        PortAudio device index, a name substring, or None for the default output device.
    loop : asyncio.AbstractEventLoop or None, keyword-only
        The loop the player's tasks run on; default: the running loop.

    Raises
    ------
    TypeError, ValueError
        On bad arguments, an unknown device, or a rate or channel count PortAudio refuses.
    DeviceError
        If PortAudio cannot open the device.
    RuntimeError
        If no loop is given and none is running.
    ImportError
        If sounddevice or PortAudio is missing.

    Notes
    -----
    The PortAudio callback never blocks, never takes a lock and allocates no sample buffer:
    it copies from the ring into the buffer PortAudio hands over, posts a record of the block
    and, at most once until the loop has run it, calls ``loop.call_soon_threadsafe``.
    Playback starts once a block plus ``PRIME_MARGIN_MS`` of mixed audio is buffered (and
    again after starvation), so the loop's jitter is not heard. A track added before
    :meth:`start` starts playing at :meth:`start`: nothing stale is queued meanwhile.
    Unlike LiveKit's player, which appends to an unbounded ``bytearray`` shared with the
    callback thread, the latency is bounded. Each track's stream holds at most
    ``STREAM_CAPACITY_FRAMES`` and drops the oldest beyond that. Mixed silence that would
    fill the ring more than a block beyond its priming level is dropped
    (``stats.trimmed_samples``: after a stalled track the mixer delivers both its silence
    and the track's late audio). Beyond that level the ring holds at most ``RING_SLACK_MS``
    of audio, and then the mix waits. Clock drift between the device and the event loop is
    not corrected: a slower device fills the ring (then the streams drop), and a faster one
    starves it now and then (``stats.starved_blocks``).
    """

    def __init__(
        self,
        *,
        sample_rate: int = 48000,
        num_channels: int = 1,
        blocksize: int = 2400,
        output_device: int | str | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._sample_rate = _check_rate("sample_rate", sample_rate)
        self._num_channels = _check_channels(num_channels)
        self._blocksize = _check_positive_int("blocksize", blocksize)
        resolved = resolve_loop(loop, "OutputPlayer")
        if resolved is None:
            raise RuntimeError(
                "OutputPlayer must be created from a coroutine running in an event loop "
                "(or be given loop=)"
            )
        self._loop = resolved
        self._device = device_info(output_device, "output")
        if self._num_channels > self._device["channels"]:
            raise ValueError(
                f"output device {self._device['index']} ({self._device['name']!r}) has "
                f"{self._device['channels']} output channels, num_channels={self._num_channels}"
            )
        rate = self._sample_rate
        self._prime = self._blocksize + rate * PRIME_MARGIN_MS // 1000
        capacity = self._prime + self._blocksize + rate * RING_SLACK_MS // 1000
        self._high_level = self._prime + self._blocksize  # above it, silence is dropped
        self._ring = np.zeros((capacity, self._num_channels), np.int16)
        self._capacity = capacity
        # positions in samples per channel since the start, never wrapped:
        self._write_pos = 0  # loop: mixed samples written into the ring
        self._read_pos = 0  # callback: samples handed to the device
        self._released_pos = 0  # loop: samples the listeners have seen (ring space free)
        self._primed = False  # callback
        self._flush = False  # loop: play what is buffered even below the priming level
        self._has_tracks = False  # loop: whether starvation is counted
        # block records, written by the callback, read on the loop (see RECORD_SLOTS)
        self._rec_seq = [-1] * RECORD_SLOTS
        self._rec_start = [0] * RECORD_SLOTS
        self._rec_count = [0] * RECORD_SLOTS  # mixed samples in the block
        self._rec_frames = [0] * RECORD_SLOTS  # block length
        self._rec_dac = [0.0] * RECORD_SLOTS
        self._rec_now = [0.0] * RECORD_SLOTS
        self._rec_mono = [0.0] * RECORD_SLOTS
        self._rec_pos = [0] * RECORD_SLOTS  # samples per channel played before the block
        self._frames_total = 0  # callback: samples per channel handed to the device
        self._clock = StreamClock()
        self._records_written = 0  # callback
        self._records_read = 0  # loop
        self._wake_scheduled = False
        self.stats = PlaybackStats()
        #: Called on the loop with every :class:`PlayedBlock`, in order.
        self._listeners: list[Callable[[PlayedBlock], object]] = []
        self._mixer = AudioMixer(
            self._sample_rate, self._num_channels, capacity=MIXER_CAPACITY_FRAMES
        )
        self._tracks: dict[str, Any] = {}  # sid -> track
        self._streams: dict[str, AudioStream] = {}  # sid -> its stream (once started)
        self._play_task: asyncio.Task[None] | None = None
        # set on the loop when the listeners released ring space (the playback task waits
        # for room), and on any progress of the playback (wait_for_playout re-checks)
        self._space = asyncio.Event()
        self._progress = asyncio.Event()
        self._mixing_idle = False  # the playback task waits for the mixer
        self._started = False
        self._closed = False
        self._stream = open_stream(
            "output",
            device=self._device,
            sample_rate=self._sample_rate,
            channels=self._num_channels,
            blocksize=self._blocksize,
            callback=self._callback,
        )
        self._reported_latency_s = float(self._stream.latency)

    # -- properties ------------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        """Output rate in Hz."""
        return self._sample_rate

    @property
    def num_channels(self) -> int:
        """Output channels."""
        return self._num_channels

    @property
    def blocksize(self) -> int:
        """Samples per channel per PortAudio callback."""
        return self._blocksize

    @property
    def device(self) -> dict[str, Any]:
        """The output device, as :meth:`MediaDevices.list_output_devices` describes it."""
        return dict(self._device)

    @property
    def output_stream(self) -> Any:
        """The underlying ``sounddevice.OutputStream``."""
        return self._stream

    @property
    def mixer(self) -> AudioMixer:
        """The mixer of the player's tracks."""
        return self._mixer

    @property
    def started(self) -> bool:
        """Whether :meth:`start` was called."""
        return self._started

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._closed

    @property
    def buffered_s(self) -> float:
        """Seconds of mixed audio in the ring, not yet handed to the device."""
        return (self._write_pos - self._read_pos) / self._sample_rate

    # -- tracks ----------------------------------------------------------------------

    async def add_track(self, track: Any) -> None:
        """Add an audio track to the mix.

        Parameters
        ----------
        track : LocalAudioTrack or RemoteAudioTrack or livekit.rtc audio track
            Read through an :class:`~livekit_audio.AudioStream` at the player's rate and
            channel count. Before :meth:`start`, the stream is made when playback starts.

        Raises
        ------
        ValueError
            If the track (by ``sid``) is already in the player.
        RuntimeError
            If the player is closed.
        """
        if self._closed:
            raise RuntimeError("OutputPlayer is closed")
        sid = str(track.sid)
        if sid in self._tracks:
            raise ValueError(f"Track {sid} already added to player")
        self._tracks[sid] = track
        if self._started:
            self._attach(sid, track)

    async def remove_track(self, track: Any) -> None:
        """Remove a track from the mix and close its stream; its unplayed audio is dropped.

        A track that is not in the player is ignored, as in LiveKit.
        """
        sid = str(track.sid)
        self._tracks.pop(sid, None)
        stream = self._streams.pop(sid, None)
        self._has_tracks = bool(self._streams)
        if stream is None:
            return
        if stream in self._mixer.streams:
            self._mixer.remove_stream(stream)
        await stream.aclose()

    def _attach(self, sid: str, track: Any) -> None:
        stream = AudioStream.from_track(
            track=track,
            sample_rate=self._sample_rate,
            num_channels=self._num_channels,
            capacity=STREAM_CAPACITY_FRAMES,
            loop=self._loop,
        )
        self._streams[sid] = stream
        self._mixer.add_stream(stream)
        self._has_tracks = True

    # -- listeners -------------------------------------------------------------------

    def add_playout_listener(self, listener: Callable[[PlayedBlock], object]) -> None:
        """Call ``listener(block)`` with every :class:`PlayedBlock` as the device plays it.

        Parameters
        ----------
        listener : callable
            Called on the event loop, in playing order, with what was played (silence
            included) and its DAC time. Exceptions are logged and do not stop playback.
        """
        self._listeners.append(listener)

    def remove_playout_listener(self, listener: Callable[[PlayedBlock], object]) -> None:
        """Stop calling ``listener``; ``ValueError`` if it was not added."""
        self._listeners.remove(listener)

    # -- running ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start the device and the playback of every track added (and added later).

        Raises
        ------
        RuntimeError
            If playback was already started, or the player is closed.
        DeviceError
            If PortAudio cannot start the stream.
        """
        if self._closed:
            raise RuntimeError("OutputPlayer is closed")
        if self._started:
            raise RuntimeError("Playback already started")
        self._started = True
        for sid, track in self._tracks.items():
            self._attach(sid, track)
        self._play_task = spawn(self._play(), name=f"OutputPlayer {id(self):#x}", loop=self._loop)
        start_stream(self._stream, "output")

    async def wait_for_playout(self) -> None:
        """Return once every track has ended or been removed and the device has played all
        of their audio (through the DAC, by the stream's output latency).

        Returns at once if playback was not started. With a track that never ends (a remote
        track stays subscribed), it waits until that track is removed.
        """
        if not self._started:
            return
        self._flush = True
        progress = self._progress
        try:
            while not self._closed and not (
                self._mixing_idle
                and not self._mixer.streams
                and self._released_pos >= self._write_pos
            ):
                progress.clear()
                await progress.wait()
            if not self._closed:
                await asyncio.sleep(self._reported_latency_s)
        finally:
            self._flush = False

    async def aclose(self) -> None:
        """Stop the device, the playback task and every track's stream; close the mixer.

        Audio not yet played is dropped. Idempotent.
        """
        if self._closed:
            return
        self._closed = True
        close_stream(self._stream)  # no callback runs after this
        task, self._play_task = self._play_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        streams = list(self._streams.values())
        self._streams.clear()
        self._tracks.clear()
        self._has_tracks = False
        await self._mixer.aclose()
        for stream in streams:
            await stream.aclose()
        self._wake_waiters()

    async def __aenter__(self) -> OutputPlayer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- the loop side ---------------------------------------------------------------

    async def _play(self) -> None:
        """The playback task: mixed frames into the ring, waiting for room."""
        mixer = self._mixer
        ring = self._ring
        capacity = self._capacity
        space = self._space
        while True:
            self._mixing_idle = True
            self._wake_progress()
            try:
                frame = await mixer.__anext__()
            except StopAsyncIteration:
                return
            finally:
                self._mixing_idle = False
            samples = frame.to_ndarray()
            n = len(samples)
            if self._write_pos - self._read_pos >= self._high_level and not samples.any():
                # the mix ran ahead (a stalled stream's silence, then its late audio): drop
                # silence rather than let it become latency
                self.stats.trimmed_samples += n
                continue
            while self._write_pos + n - self._released_pos > capacity:
                space.clear()
                await space.wait()
            start = self._write_pos % capacity
            first = min(n, capacity - start)
            ring[start : start + first] = samples[:first]
            if first < n:
                ring[: n - first] = samples[first:]
            self._write_pos += n

    def _wake(self) -> None:
        """Run on the loop once the callback has posted block records."""
        self._wake_scheduled = False
        if self._closed:
            return
        rate = self._sample_rate
        capacity = self._capacity
        while self._records_read < self._records_written:
            seq = self._records_read
            if self._records_written - seq > RECORD_SLOTS:
                # the loop fell behind: records overwritten; resume at the oldest kept
                skip = self._records_written - RECORD_SLOTS - seq
                self.stats.lost_records += skip
                seq += skip
            k = seq % RECORD_SLOTS
            self._records_read = seq + 1
            if self._rec_seq[k] != seq:  # being overwritten by the callback
                self.stats.lost_records += 1
                continue
            start, count, frames = self._rec_start[k], self._rec_count[k], self._rec_frames[k]
            dac, now, mono = self._rec_dac[k], self._rec_now[k], self._rec_mono[k]
            position = self._rec_pos[k]
            if self._rec_seq[k] != seq:  # overwritten while we read it
                self.stats.lost_records += 1
                continue
            if self._listeners and frames:
                block = np.zeros((frames, self._num_channels), np.int16)
                if count:
                    at = start % capacity
                    first = min(count, capacity - at)
                    block[:first] = self._ring[at : at + first]
                    if first < count:
                        block[first:count] = self._ring[: count - first]
                self._clock.update(now, mono)
                if dac > 0.0 and now > 0.0:
                    latency = dac - now
                else:  # a host API without timestamps: the stream's reported latency
                    latency = self._reported_latency_s
                dac_mono = self._clock.to_monotonic(
                    dac if dac > 0.0 else now + latency, mono + latency
                )
                played = PlayedBlock(
                    AudioFrame.from_ndarray(block, rate), dac_mono, latency, position
                )
                for listener in list(self._listeners):
                    try:
                        listener(played)
                    except Exception:
                        logger.exception("OutputPlayer: playout listener %r failed", listener)
            self._released_pos = max(self._released_pos, start + count)
        self._has_tracks = bool(self._mixer.streams)
        self._space.set()
        self._progress.set()

    def _wake_progress(self) -> None:
        self._progress.set()

    def _wake_waiters(self) -> None:
        self._progress.set()
        self._space.set()

    # -- PortAudio's thread ------------------------------------------------------------

    def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio's output callback: ring -> ``outdata``; no lock, no sample allocation."""
        stats = self.stats
        stats.blocks += 1
        if status.output_underflow:
            stats.underflows += 1
        read = self._read_pos
        available = self._write_pos - read
        if not self._primed and (available >= self._prime or (available and self._flush)):
            self._primed = True
        n = (available if available < frames else frames) if self._primed else 0
        if n:
            capacity = self._capacity
            at = read % capacity
            first = capacity - at
            if first >= n:
                outdata[:n] = self._ring[at : at + n]
            else:
                outdata[:first] = self._ring[at:]
                outdata[first:n] = self._ring[: n - first]
        if n < frames:
            outdata[n:] = 0
            stats.silence_samples += frames - n
            if self._primed:  # ran dry: prime again before playing on
                self._primed = False
                if self._has_tracks:
                    stats.starved_blocks += 1
        self._read_pos = read + n
        stats.samples_played += n
        seq = self._records_written
        k = seq % RECORD_SLOTS
        self._rec_seq[k] = -1
        self._rec_start[k] = read
        self._rec_count[k] = n
        self._rec_frames[k] = frames
        self._rec_dac[k] = time_info.outputBufferDacTime
        self._rec_now[k] = time_info.currentTime
        self._rec_mono[k] = time.monotonic()
        self._rec_pos[k] = self._frames_total
        self._frames_total += frames
        self._rec_seq[k] = seq
        self._records_written = seq + 1
        if not self._wake_scheduled:
            self._wake_scheduled = True
            try:
                self._loop.call_soon_threadsafe(self._wake)
            except RuntimeError:  # the loop is closed: nobody listens any more
                pass

    def __repr__(self) -> str:
        state = "closed" if self._closed else "playing" if self._started else "ready"
        return (
            f"OutputPlayer(device={self._device['index']} {self._device['name']!r}, "
            f"sample_rate={self._sample_rate}, num_channels={self._num_channels}, "
            f"blocksize={self._blocksize}, tracks={len(self._tracks)}, {state})"
        )
