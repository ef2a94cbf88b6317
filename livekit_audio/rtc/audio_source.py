"""AudioSource: the producer end of a local audio track, with a bounded playout queue.

Follows ``livekit.rtc.AudioSource``. Captured frames wait in a queue of at most
``queue_size_ms`` of audio and are played out in real time (one frame per frame duration, on
the event loop's clock) to every :class:`~livekit_audio.LocalAudioTrack` made from the source;
the tracks hand them to their AudioStreams and, when published, to the room's subscribers.
"""

from __future__ import annotations

import asyncio
import math
import weakref
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from livekit_audio._aio import resolve_loop
from livekit_audio._log import logger
from livekit_audio.audio_frame import AudioFrame, _check_positive_int, frame_samples, wrap_samples
from livekit_audio.rtc._dispatch import Dispatcher, TimedCall, dispatcher_for

if TYPE_CHECKING:
    from livekit_audio.rtc.track import LocalAudioTrack

__all__ = ["AudioSource"]

#: A frame due this soon is delivered now: the source's clock is kept (the frame still
#: starts where the previous one ends), and sources whose frames are due within this window
#: are delivered in one dispatch, so their streams are processed in one batch.
_EARLY_S = 0.001
#: A frame captured at most this long after the previous one played out still starts where
#: it ended (the source keeps its clock through capture jitter); after a longer underrun
#: playout restarts at the capture.
_RESUME_S = 0.020


class AudioSource:
    """A real-time audio source with a bounded queue and back-pressure.

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz of every captured frame, > 0.
    num_channels : int
        Interleaved channel count of every captured frame, > 0.
    queue_size_ms : int, optional
        Most audio, in milliseconds, held between :meth:`capture_frame` and playout
        (default 1000). When the queue is full, :meth:`capture_frame` waits (back-pressure)
        instead of growing it. A single frame longer than the queue is admitted once the
        queue is empty.
    loop : asyncio.AbstractEventLoop or None, optional
        The loop the source's playout task runs on, as ``livekit.rtc``'s ``loop=``.
        Default: the loop running when the first frame is captured. A given loop may be
        used before it runs (no loop running in this thread); otherwise it must be the
        running loop. :meth:`capture_frame` must then run on it.
    realtime : bool, keyword-only, optional
        ``True`` (default): play frames out at real-time pace, like a sound card or a WebRTC
        sender; AudioStreams on the source's tracks then get, as with ``livekit.rtc``, a
        10 ms frame every 10 ms (silence while nothing is captured). ``False``: play each
        frame out as soon as the event loop gets to it, for offline work such as processing
        a file (the bounded queue and frame order are kept; consumers' queues must then be
        large enough, or read fast enough, not to drop); streams get exactly the captured
        frames, no silence.

    Raises
    ------
    TypeError
        If a size is not an int, or ``loop`` is not an event loop.
    ValueError
        If a size is not > 0, or ``loop`` is closed, not the running loop, or running in
        another thread.

    Notes
    -----
    Captured frames are copied, so the caller may reuse its buffer as soon as
    :meth:`capture_frame` returns. A source may feed several tracks; each gets every frame.
    Like the rest of the async layer it belongs to one event loop: from an audio callback
    thread, hand frames over with ``asyncio.run_coroutine_threadsafe(source.capture_frame(
    frame.copy()), loop)`` or ``loop.call_soon_threadsafe``.

    Examples
    --------
    >>> source = AudioSource(48000, 1)
    >>> track = LocalAudioTrack.create_audio_track("mic", source)  # doctest: +SKIP
    >>> await source.capture_frame(AudioFrame.create(48000, 1, 480))  # doctest: +SKIP
    """

    def __init__(
        self,
        sample_rate: int,
        num_channels: int,
        queue_size_ms: int = 1000,
        loop: asyncio.AbstractEventLoop | None = None,
        *,
        realtime: bool = True,
    ) -> None:
        self._sample_rate = _check_positive_int("sample_rate", sample_rate)
        self._num_channels = _check_positive_int("num_channels", num_channels)
        self._queue_size_ms = _check_positive_int("queue_size_ms", queue_size_ms)
        # the loop given, or (None) the running loop at the first capture
        self._loop: asyncio.AbstractEventLoop | None = (
            resolve_loop(loop, "AudioSource") if loop is not None else None
        )
        self._realtime = bool(realtime)
        self._capacity = max(1, self._sample_rate * self._queue_size_ms // 1000)  # samples/ch
        self._queue: deque[AudioFrame] = deque()
        self._queued = 0  # samples per channel in _queue, including the frame playing now
        self._playing: AudioFrame | None = None
        self._play_end = -math.inf  # loop time at which the last frame delivered plays out
        self._tracks: weakref.WeakSet[LocalAudioTrack] = weakref.WeakSet()
        # the same tracks as weak references, cheaper to walk for every frame
        self._track_refs: tuple[weakref.ref[LocalAudioTrack], ...] = ()
        self._playout_listeners: list[Callable[[AudioFrame], object]] = []
        self._closed = False
        self._dispatcher: Dispatcher | None = None  # the loop's, from the first capture
        self._timer: TimedCall | None = None  # the next playout, when one is due
        self._asked = False  # a playout is asked of the dispatcher
        self._waiters = 0  # tasks waiting for a frame to play out (room, or idle)
        # created lazily on the running loop
        self._space: asyncio.Event | None = None  # set when the queue has room
        self._idle: asyncio.Event | None = None  # set when everything has played out
        self._capture_lock: asyncio.Lock | None = None  # keeps concurrent captures in order

    @property
    def sample_rate(self) -> int:
        """Sample rate in Hz."""
        return self._sample_rate

    @property
    def num_channels(self) -> int:
        """Interleaved channel count."""
        return self._num_channels

    @property
    def queue_size_ms(self) -> int:
        """Queue bound in milliseconds."""
        return self._queue_size_ms

    @property
    def realtime(self) -> bool:
        """Whether frames are played out at real-time pace."""
        return self._realtime

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._closed

    @property
    def queued_duration(self) -> float:
        """Seconds of captured audio not yet played out (float, >= 0)."""
        if not self._queued:
            return 0.0
        queued = self._queued
        extra = 0.0
        if self._realtime and self._playing is not None and self._loop is not None:
            playing = self._playing.samples_per_channel
            queued -= playing
            # what is left of the frame playing now (all of it when it went out early)
            extra = min(max(0.0, self._play_end - self._loop.time()), playing / self._sample_rate)
        return queued / self._sample_rate + extra

    def _add_track(self, track: LocalAudioTrack) -> None:
        self._tracks.add(track)
        self._track_refs = tuple(weakref.ref(t, self._track_gone) for t in self._tracks)

    def _track_gone(self, ref: weakref.ref[LocalAudioTrack]) -> None:
        self._track_refs = tuple(r for r in self._track_refs if r is not ref)

    def _check_loop(self) -> None:
        """Bind the source to the running loop on first use; refuse any other loop after."""
        running = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = running
        elif running is not self._loop:
            raise RuntimeError(
                "AudioSource belongs to another event loop (the one it was given or first "
                "used on); capture from that loop"
            )

    def _ensure_started(self) -> None:
        if self._dispatcher is not None:
            return
        assert self._loop is not None
        self._space = asyncio.Event()
        self._space.set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._capture_lock = asyncio.Lock()
        self._dispatcher = dispatcher_for(self._loop)

    async def capture_frame(self, frame: Any) -> None:
        """Queue ``frame`` for playout, waiting while the queue is full.

        Parameters
        ----------
        frame : AudioFrame or frame-like
            Int16 interleaved samples at :attr:`sample_rate` with :attr:`num_channels`
            channels, any ``samples_per_channel`` (an empty frame is a no-op).

        Raises
        ------
        ValueError
            If the frame's sample rate or channel count differs from the source's (the
            message names the expected and actual values).
        TypeError
            If ``frame`` is not frame-like.
        RuntimeError
            If the source is closed (before or while waiting for room), or this is not the
            source's event loop.
        """
        if self._closed:
            raise RuntimeError("AudioSource is closed; capture_frame after aclose()")
        self._check_loop()
        samples = frame_samples(frame)  # TypeError for non-frames
        if frame.sample_rate != self._sample_rate:
            raise ValueError(
                f"frame sample_rate mismatch: expected {self._sample_rate}, got {frame.sample_rate}"
            )
        if frame.num_channels != self._num_channels:
            raise ValueError(
                f"frame num_channels mismatch: expected {self._num_channels}, "
                f"got {frame.num_channels}"
            )
        n = int(frame.samples_per_channel)
        if n == 0:
            return
        # an immutable copy: the caller may reuse its buffer, and every consumer may share it
        copy = wrap_samples(
            memoryview(bytes(samples)).cast("h"), self._sample_rate, self._num_channels, n
        )
        self._ensure_started()
        assert self._capture_lock is not None and self._space is not None
        async with self._capture_lock:  # FIFO: concurrent captures keep their order
            while self._queued and self._queued + n > self._capacity:
                self._space.clear()
                self._waiters += 1
                try:
                    self._arm()
                    await self._space.wait()
                finally:
                    self._waiters -= 1
                if self._closed:
                    raise RuntimeError("AudioSource was closed while capture_frame waited")
            if self._closed:
                raise RuntimeError("AudioSource was closed while capture_frame waited")
            self._queue.append(copy)
            self._queued += n
            assert self._idle is not None
            self._idle.clear()
            loop = self._loop
            assert loop is not None
            if self._playing is None or self._play_end <= loop.time() + _EARLY_S:
                self._ask()
            else:
                self._arm()  # a frame now waits for the one playing

    def clear_queue(self) -> None:
        """Discard every frame not yet played out (the frame playing now stops at once).

        Wakes :meth:`wait_for_playout` and any :meth:`capture_frame` waiting for room.
        """
        self._queue.clear()
        self._queued = 0
        self._playing = None
        self._play_end = -math.inf  # new audio starts when it comes
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wake_all()

    def _wake_all(self) -> None:
        if self._space is not None:
            self._space.set()
        if self._idle is not None:
            self._idle.set()

    async def wait_for_playout(self) -> None:
        """Return once every captured frame has been played out (at once if none is queued)."""
        if self._idle is None or self._idle.is_set():
            return
        self._waiters += 1
        try:
            self._arm()
            await self._idle.wait()
        finally:
            self._waiters -= 1

    async def aclose(self) -> None:
        """Stop the source: drop unplayed audio, end its tracks, fail pending captures.

        Call :meth:`wait_for_playout` first to play everything out. Tracks made from the
        source end: AudioStreams on those local tracks deliver what they hold and then stop
        iterating. Remote subscribers, as in LiveKit, keep their track (now silent) until it
        is unpublished: call ``local_participant.unpublish_track(sid)`` to end their
        streams. Idempotent.
        """
        if self._closed:
            return
        self._closed = True
        self.clear_queue()
        for track in list(self._tracks):
            track._end()

    # -- playout (run by the loop's dispatcher, no task of its own) ---------------------

    def _ask(self) -> None:
        """Have the dispatcher run :meth:`_play` in its next turn (once)."""
        if not self._asked and self._dispatcher is not None:
            self._asked = True
            self._dispatcher.soon(self._play)

    def _play(self) -> None:
        """Retire the frame that has played out and deliver the next one, if it is due.

        A frame starts when the one before it ends, so the source keeps real time exactly
        (timer and capture jitter do not accumulate); after an underrun longer than
        :data:`_RESUME_S` the next frame starts when it arrives. Not real time: one frame
        per turn of the loop.
        """
        self._asked = False
        if self._timer is not None:  # (asked by a capture before the timer came)
            self._timer.cancel()
            self._timer = None
        loop = self._loop
        if self._closed or loop is None:
            return
        now = loop.time()
        if self._playing is not None:
            if self._realtime and self._play_end > now + _EARLY_S:
                self._wait_until(self._play_end)
                return
            self._retire()
        if not self._queue:
            return
        frame = self._queue[0]
        start = self._play_end if self._play_end >= now - _RESUME_S else now
        self._playing = frame
        self._play_end = start + frame.samples_per_channel / self._sample_rate
        self._deliver(frame)
        if not self._realtime:
            self._play_end = now
            loop.call_soon(self._ask)  # the next frame in the next turn
        elif self._playing is frame and (len(self._queue) > 1 or self._waiters):
            self._wait_until(self._play_end)  # the next frame is waiting for this one
        # else the frame is retired when the next capture comes, or by :meth:`_arm` when
        # someone waits for it: a source fed in real time needs no timer at all

    def _arm(self) -> None:
        """Make sure the frame playing now is retired when it ends (someone waits for it)."""
        if self._playing is not None and self._realtime:
            self._wait_until(self._play_end)

    def _wait_until(self, when: float) -> None:
        assert self._dispatcher is not None
        if self._timer is None:
            self._timer = self._dispatcher.at(when - _EARLY_S, self._play)

    def _retire(self) -> None:
        frame = self._playing
        assert frame is not None and self._space is not None and self._idle is not None
        self._playing = None
        self._queue.popleft()
        self._queued -= frame.samples_per_channel
        self._space.set()
        if not self._queue:
            self._idle.set()

    def _deliver(self, frame: AudioFrame) -> None:
        for ref in self._track_refs:
            track = ref()
            if track is None:
                continue
            try:
                track._deliver(frame)
            except Exception:
                logger.exception("AudioSource: delivering a frame to %r failed", track)
        for listener in self._playout_listeners[:] if self._playout_listeners else ():
            try:
                listener(frame)
            except Exception:
                logger.exception("AudioSource: playout listener %r failed", listener)

    def add_playout_listener(self, listener: Callable[[AudioFrame], object]) -> None:
        """Call ``listener(frame)`` for every frame as it plays out (e.g. an echo reference).

        Parameters
        ----------
        listener : callable
            Called on the event loop with each AudioFrame, in playout order. Exceptions are
            logged and do not stop playout. Use :meth:`remove_playout_listener` to stop.
        """
        self._playout_listeners.append(listener)

    def remove_playout_listener(self, listener: Callable[[AudioFrame], object]) -> None:
        """Stop calling ``listener``; ``ValueError`` if it was not added."""
        self._playout_listeners.remove(listener)

    def __repr__(self) -> str:
        return (
            f"AudioSource(sample_rate={self._sample_rate}, num_channels={self._num_channels}, "
            f"queue_size_ms={self._queue_size_ms}, realtime={self._realtime}, "
            f"queued_duration={self.queued_duration:.3f})"
        )
