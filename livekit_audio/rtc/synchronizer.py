"""AVSynchronizer: release an avatar's video frames in step with the audio it speaks.

Follows ``livekit.rtc.AVSynchronizer`` (same constructor, ``push``, ``clear_queue``,
``wait_for_playout``, ``reset``, ``aclose``, ``actual_fps``, ``last_video_time``,
``last_audio_time``). LiveKit's releases video on a fixed-rate timer of its own
(``time.perf_counter``) that runs open loop beside the audio; here **audio paces video**: each
video frame is released when the audio the :class:`~livekit_audio.AudioSource` has played out
reaches the frame's media time, so video neither runs ahead of its audio nor falls behind it,
however the audio is chunked, delayed or re-timed by the source.

The media clock, in seconds (see :class:`AVSynchronizer` for the rules):

- while audio pushed through the synchronizer is playing, it is that audio's position: the
  media time of the sample the source plays now (what was pushed minus
  ``AudioSource.queued_duration``, mapped through the audio's media times);
- otherwise (no audio, or between utterances) it runs on the event loop's clock at real-time
  rate from where the audio left it, so idle video still goes out at ``video_fps``
  (:class:`_FPSController`).

Everything runs on the event loop's dispatcher (:mod:`._dispatch`), in the same turns as the
audio playout: no task and no thread of its own.
"""

from __future__ import annotations

import asyncio
import math
import numbers
from collections import deque
from typing import Any

from livekit_audio._aio import QueueClosed, RingQueue
from livekit_audio._log import logger
from livekit_audio.audio_frame import AudioFrame
from livekit_audio.rtc._dispatch import Dispatcher, TimedCall, dispatcher_for
from livekit_audio.rtc.audio_source import AudioSource
from livekit_audio.rtc.video_frame import VideoFrame, as_video_frame
from livekit_audio.rtc.video_source import VideoSource

__all__ = ["AVSynchronizer"]

#: Float slack when comparing media times (seconds): a frame due within it is due now.
_EPSILON_S = 1e-6


#: Upper bounds of the synchronizer's numbers (beyond them a value is a mistake, and the
#: queue and fps window sizes derived from them would not fit in memory).
MAX_VIDEO_FPS = 1000.0
MAX_QUEUE_MS = 3_600_000.0  # an hour
MAX_TIMESTAMP_S = 1e9  # about 31 years of media time


def _check_real(name: str, value: object, *, unit: str, allow_zero: bool, maximum: float) -> float:
    """``value`` as a finite float, > 0 (or >= 0 with ``allow_zero``) and <= ``maximum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number ({unit}), got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    bound = ">= 0" if allow_zero else "> 0"
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise ValueError(f"{name} must be a finite number {bound} ({unit}), got {value!r}")
    if number > maximum:
        raise ValueError(f"{name} must be <= {maximum:g} ({unit}), got {number:g}")
    return number


def _is_audio(frame: object) -> bool:
    return isinstance(frame, AudioFrame) or all(
        hasattr(frame, name) for name in ("sample_rate", "num_channels", "samples_per_channel")
    )


def _is_video(frame: object) -> bool:
    return isinstance(frame, VideoFrame) or all(
        hasattr(frame, name) for name in ("width", "height", "type", "data")
    )


class _FPSController:
    """The synchronizer's frame clock: free-running media time and the measured frame rate.

    The clock is anchored at a (media time, loop time) pair and runs at real-time rate from
    it; the synchronizer re-anchors it on the audio's position whenever audio plays, so it
    carries on from the audio when the audio stops. :attr:`actual_fps` is measured over the
    release times of the last ``max(2, int(expected_fps))`` frames (about one second), as
    LiveKit's controller does, but on the event loop's clock.
    """

    __slots__ = ("expected_fps", "interval_s", "tolerance_s", "_anchor", "_sent")

    def __init__(self, *, expected_fps: float, max_delay_tolerance_ms: float) -> None:
        self.expected_fps = expected_fps
        self.interval_s = 1.0 / expected_fps
        self.tolerance_s = max_delay_tolerance_ms / 1000.0
        self._anchor: tuple[float, float] | None = None  # (media s, loop s)
        self._sent: deque[float] = deque(maxlen=max(2, int(expected_fps)))

    def clock(self, now: float) -> float | None:
        """Media time at loop time ``now`` (None before the first anchor)."""
        if self._anchor is None:
            return None
        media, at = self._anchor
        return media + (now - at)

    def anchor(self, media_s: float, now: float) -> None:
        """The clock reads ``media_s`` at loop time ``now``."""
        self._anchor = (media_s, now)

    def record(self, now: float) -> None:
        """A frame was released at loop time ``now``."""
        self._sent.append(now)

    def reset(self) -> None:
        """Forget the anchor (the next frame restarts the clock) and the measured rate."""
        self._anchor = None
        self._sent.clear()

    @property
    def actual_fps(self) -> float:
        """Frames per second over the window (0.0 with fewer than two frames; ``inf`` if
        the whole window went out at one instant)."""
        sent = self._sent
        if len(sent) < 2:
            return 0.0
        span = sent[-1] - sent[0]
        return (len(sent) - 1) / span if span > 0 else math.inf


class AVSynchronizer:
    """Release video frames to a VideoSource in step with an AudioSource's playout.

    Follows ``livekit.rtc.AVSynchronizer`` (names, signatures, queue sizing and
    back-pressure), with audio as the master clock instead of an independent timer.

    Parameters
    ----------
    audio_source : AudioSource
        Plays the audio; every frame of it must come through :meth:`push` (audio captured
        into the source directly would shift the clock).
    video_source : VideoSource
        Receives each video frame when it is due, with ``timestamp_us`` = the frame's media
        time in microseconds.
    video_fps : float
        Nominal frame rate (> 0): spacing of frames pushed without a timestamp, and the
        release rate while no audio plays.
    video_queue_size_ms : float, optional
        Video held before release, in ms (default 100): the queue holds
        ``max(1, int(video_fps * video_queue_size_ms / 1000))`` frames (plus the one waiting
        for its time), and :meth:`push` of a video frame waits while it is full; 0 means
        unbounded. As LiveKit.
    _max_delay_tolerance_ms : float, optional
        While no audio plays, a frame whose media time is further than this (ms, default
        300) from the clock, behind or ahead, restarts the clock at that frame instead of
        bursting to catch up or stalling (LiveKit's "behind schedule" reset, both ways).

    Raises
    ------
    TypeError
        If a source is not ours (``AudioSource``/``VideoSource``) or a number is not a
        number.
    ValueError
        If ``video_fps`` or ``_max_delay_tolerance_ms`` is not finite and > 0, or
        ``video_queue_size_ms`` is negative; or ``video_fps`` is above 1000, or a size in ms
        above an hour.

    Notes
    -----
    Media times (seconds):

    - A **video** frame's is the ``timestamp`` given to :meth:`push`, else the previous
      frame's plus ``1 / video_fps`` (the first one: the clock's current time).
    - An **audio** frame's ``timestamp`` is its *end* time, as in LiveKit; without one it
      follows the previous audio frame, except when the source has run dry: audio then
      starts no earlier than the media time of the last video frame pushed. So after video
      went on without audio (an avatar idling between utterances), an utterance shows with
      the frame pushed just before its first audio frame (the generators' order: "video
      frame, then its audio"); after an underrun in a steady stream it moves on by less
      than one audio frame at most.
    - A video frame is released once the clock reaches its media time (to the
      dispatcher's 1 ms grain). Frames already late are released at once, in order.

    :meth:`push` of audio waits while the AudioSource's queue is full; of video, while the
    video queue is. Frames are released from the event loop's dispatcher (no task of its
    own). The synchronizer binds to the event loop of its first :meth:`push`.

    Examples
    --------
    >>> av_sync = AVSynchronizer(
    ...     audio_source=audio, video_source=video, video_fps=30
    ... )  # doctest: +SKIP
    >>> async for video_frame, audio_frames in generator:  # doctest: +SKIP
    ...     await av_sync.push(video_frame)
    ...     for frame in audio_frames:
    ...         await av_sync.push(frame)
    """

    def __init__(
        self,
        *,
        audio_source: AudioSource,
        video_source: VideoSource,
        video_fps: float,
        video_queue_size_ms: float = 100,
        _max_delay_tolerance_ms: float = 300,
    ) -> None:
        if not isinstance(audio_source, AudioSource):
            raise TypeError(
                f"audio_source must be a livekit_audio.AudioSource, got "
                f"{type(audio_source).__name__}"
            )
        if not isinstance(video_source, VideoSource):
            raise TypeError(
                f"video_source must be a livekit_audio.VideoSource, got "
                f"{type(video_source).__name__}"
            )
        fps = _check_real(
            "video_fps",
            video_fps,
            unit="frames per second",
            allow_zero=False,
            maximum=MAX_VIDEO_FPS,
        )
        queue_ms = _check_real(
            "video_queue_size_ms",
            video_queue_size_ms,
            unit="ms",
            allow_zero=True,
            maximum=MAX_QUEUE_MS,
        )
        tolerance_ms = _check_real(
            "_max_delay_tolerance_ms",
            _max_delay_tolerance_ms,
            unit="ms",
            allow_zero=False,
            maximum=MAX_QUEUE_MS,
        )
        self._audio_source = audio_source
        self._video_source = video_source
        self._video_fps = fps
        self._video_queue_size_ms = queue_ms
        size = int(fps * queue_ms / 1000)
        self._video_queue_max_size = max(1, size) if queue_ms > 0 else 0
        self._queue: RingQueue[tuple[VideoFrame, float]] = RingQueue(self._video_queue_max_size)
        self._head: tuple[VideoFrame, float] | None = None  # taken, waiting for its time
        self._fps = _FPSController(expected_fps=fps, max_delay_tolerance_ms=tolerance_ms)
        self._closed = False
        # bound at the first push
        self._loop: asyncio.AbstractEventLoop | None = None
        self._dispatcher: Dispatcher | None = None
        self._video_idle: asyncio.Event | None = None  # set: no video frame pending
        self._timer: TimedCall | None = None
        self._asked = False
        # the media timeline (seconds)
        self._next_pts: float | None = None  # media time of the next untimed video frame
        self._pushed_pts: float | None = None  # media time of the last video frame pushed
        self._last_video_time = 0.0
        self._audio_end = 0.0  # media time at the end of the audio pushed
        self._audio_samples = 0  # samples per channel pushed (since the last clear)
        # where the audio's media time jumps: (samples pushed before, media start)
        self._breaks: deque[tuple[int, float]] = deque([(0, 0.0)])

    # -- the clock -------------------------------------------------------------------------

    def _audio_media(self, queued_s: float) -> float:
        """Media time of the audio sample playing now, ``queued_s`` being still queued."""
        rate = self._audio_source.sample_rate
        played_s = self._audio_samples / rate - queued_s
        breaks = self._breaks
        while len(breaks) > 1 and breaks[1][0] / rate <= played_s + _EPSILON_S:
            breaks.popleft()
        pushed_before, start = breaks[0]
        return start + (played_s - pushed_before / rate)

    def _playhead(self, now: float) -> tuple[float | None, bool]:
        """(media time now, whether audio is driving it); None before anything anchored it."""
        queued_s = self._audio_source.queued_duration
        if queued_s > 0.0:
            media = self._audio_media(queued_s)
            self._fps.anchor(media, now)  # the free clock carries on from the audio
            return media, True
        return self._fps.clock(now), False

    # -- public API ------------------------------------------------------------------------

    async def push(self, frame: Any, timestamp: float | None = None) -> None:
        """Queue an audio or a video frame.

        Parameters
        ----------
        frame : AudioFrame or VideoFrame
            An :class:`~livekit_audio.AudioFrame` (or audio-frame-like: int16 interleaved
            at the audio source's rate and channel count) goes to
            ``audio_source.capture_frame`` (waiting while its queue is full). A
            :class:`~livekit_audio.VideoFrame` (or video-frame-like, RGBA/I420) goes to the
            video queue (waiting while it is full) and on to the video source when due.
        timestamp : float or None, optional
            Media time in seconds (>= 0). For a video frame, its presentation time; for an
            audio frame, the time at its *end* (LiveKit's convention). None: follow the
            previous frame of the same kind (see the class Notes).

        Raises
        ------
        TypeError
            If ``frame`` is neither audio nor video, or ``timestamp`` is not a number
            (and as ``AudioSource.capture_frame`` / :class:`~livekit_audio.VideoFrame`).
        ValueError
            If ``timestamp`` is negative, not finite or above 1e9 s, or the frame is invalid (wrong
            sample rate or channel count for the audio source, wrong buffer size...).
        RuntimeError
            If the synchronizer is closed (before or while waiting), or used from
            another event loop than its first push's.
        """
        if self._closed:
            raise RuntimeError("AVSynchronizer is closed; push after aclose()")
        ts = (
            None
            if timestamp is None
            else _check_real(
                "timestamp", timestamp, unit="seconds", allow_zero=True, maximum=MAX_TIMESTAMP_S
            )
        )
        if _is_video(frame):
            video = as_video_frame(frame)  # TypeError / ValueError for a bad frame
            self._bind()
            await self._push_video(video, ts)
        elif _is_audio(frame):
            self._bind()
            await self._push_audio(frame, ts)
        else:
            raise TypeError(
                f"push expects an AudioFrame or a VideoFrame, got {type(frame).__name__}"
            )

    async def _push_audio(self, frame: Any, ts: float | None) -> None:
        source = self._audio_source
        await source.capture_frame(frame)  # validates; waits while the source is full
        n = int(frame.samples_per_channel)
        if n == 0:
            return
        duration = n / source.sample_rate
        # the source was idle (nothing else to play) iff only this frame is queued now
        idle = source.queued_duration <= duration + _EPSILON_S
        if ts is not None:
            start = ts - duration
        elif idle and self._pushed_pts is not None and self._pushed_pts > self._audio_end:
            start = self._pushed_pts  # speech after idle video: with the frame it follows
        else:
            start = self._audio_end
        if abs(start - self._audio_end) > _EPSILON_S:
            self._breaks.append((self._audio_samples, start))
        self._audio_samples += n
        self._audio_end = start + duration
        self._ask()  # the clock may have moved: look at the waiting frame again

    async def _push_video(self, frame: VideoFrame, ts: float | None) -> None:
        queue = self._queue
        capacity = queue.capacity
        if capacity and len(queue) >= capacity:
            await queue.wait_below(capacity)  # back-pressure, as LiveKit's bounded queue
        if self._closed:
            raise RuntimeError("AVSynchronizer was closed while push waited")
        if ts is not None:
            pts = ts
        elif self._next_pts is not None:
            pts = self._next_pts
        else:
            loop = self._loop
            assert loop is not None
            media, _ = self._playhead(loop.time())
            pts = media if media is not None else self._audio_end
        self._next_pts = pts + self._fps.interval_s
        self._pushed_pts = pts
        queue.put((frame, pts), force=True)  # room was made above: nothing is dropped
        assert self._video_idle is not None
        self._video_idle.clear()
        if self._head is None:
            self._ask()

    async def clear_queue(self) -> None:
        """Drop everything not yet played: the audio source's queue (audio stops now) and
        every video frame not yet released.

        The media clock goes on from where the audio stopped: the next video frame pushed
        without a timestamp is due at once, and the next audio continues from there.
        Wakes pushes waiting for room and :meth:`wait_for_playout`. As LiveKit's, a
        coroutine (it does not wait for anything).
        """
        if self._closed:
            return
        loop = self._loop
        media = self._playhead(loop.time())[0] if loop is not None else None
        self._audio_source.clear_queue()
        self._queue.clear()
        self._head = None
        self._cancel_timer()
        if media is None:
            media = self._audio_end
        elif loop is not None:
            self._fps.anchor(media, loop.time())
        self._audio_end = media
        self._audio_samples = 0
        self._breaks = deque([(0, media)])
        self._next_pts = media
        self._pushed_pts = None
        if self._video_idle is not None:
            self._video_idle.set()

    async def wait_for_playout(self) -> None:
        """Return once the audio source has played out everything pushed and every queued
        video frame has been released (at once if nothing is pending, or after
        :meth:`aclose`, which drops the video)."""
        while True:
            await self._audio_source.wait_for_playout()
            idle = self._video_idle
            if idle is not None and not idle.is_set():
                await idle.wait()
            if self._audio_source.queued_duration == 0.0 and (idle is None or idle.is_set()):
                return

    def reset(self) -> None:
        """Restart the frame clock: the next frame is due at once if no audio is playing
        (audio, when playing, keeps driving it), and :attr:`actual_fps` starts a new
        window. Queued frames are kept. As ``livekit.rtc.AVSynchronizer.reset``."""
        self._fps.reset()
        if self._head is not None and not self._closed:
            self._ask()

    async def aclose(self) -> None:
        """Stop: drop the video frames not yet released and refuse further pushes (a push
        waiting for room raises ``RuntimeError``). The sources are left open (close them
        yourself, as with LiveKit). Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._cancel_timer()
        self._queue.close(discard=True)
        self._head = None
        if self._video_idle is not None:
            self._video_idle.set()

    @property
    def actual_fps(self) -> float:
        """Video frames released per second over about the last second of releases,
        measured on the event loop's clock (0.0 before two frames)."""
        return self._fps.actual_fps

    @property
    def last_video_time(self) -> float:
        """Media time in seconds of the last video frame released (its timestamp, or the
        counted time of an untimed frame; 0.0 before the first)."""
        return self._last_video_time

    @property
    def last_audio_time(self) -> float:
        """Media time in seconds of the audio playing now: the end of the audio pushed minus
        what the source still holds, as LiveKit's (counted when no timestamps are given)."""
        queued_s = self._audio_source.queued_duration
        return self._audio_media(queued_s) if queued_s > 0.0 else self._audio_end

    def __repr__(self) -> str:
        return (
            f"AVSynchronizer(video_fps={self._video_fps:g}, "
            f"video_queue_size_ms={self._video_queue_size_ms:g}, "
            f"queued_video={len(self._queue) + (self._head is not None)}, "
            f"closed={self._closed})"
        )

    # -- release machinery (run by the loop's dispatcher) ---------------------------------

    def _bind(self) -> None:
        """Bind to the running loop on first use; refuse any other loop after."""
        running = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = running
            self._dispatcher = dispatcher_for(running)
            self._video_idle = asyncio.Event()
            self._video_idle.set()
        elif running is not self._loop:
            raise RuntimeError(
                "AVSynchronizer belongs to another event loop (the one of its first push)"
            )

    def _ask(self) -> None:
        """Run :meth:`_service` in the dispatcher's next turn (after the audio playout the
        same push asked for), once."""
        if not self._asked and self._dispatcher is not None and not self._closed:
            self._asked = True
            self._dispatcher.soon(self._service)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _service(self) -> None:
        """Release every video frame that is due; arm a timer for the next one."""
        self._asked = False
        self._cancel_timer()
        loop = self._loop
        if self._closed or loop is None:
            return
        now = loop.time()
        media, driven = self._playhead(now)  # (also keeps the free clock on the audio)
        while True:
            if self._head is None:
                try:
                    self._head = self._queue.get_nowait()  # (wakes a push waiting for room)
                except (IndexError, QueueClosed):
                    assert self._video_idle is not None
                    self._video_idle.set()
                    return
            frame, pts = self._head
            if media is None or (not driven and abs(pts - media) > self._fps.tolerance_s):
                if media is not None and pts < media:
                    logger.warning(
                        "AVSynchronizer: video %.0f ms behind its clock; restarting the "
                        "clock at this frame",
                        (media - pts) * 1000,
                    )
                self._fps.anchor(pts, now)
                media = pts
            wait_s = pts - media
            if wait_s > _EPSILON_S:
                assert self._dispatcher is not None
                self._timer = self._dispatcher.at(now + wait_s, self._service)
                return
            self._head = None
            self._release(frame, pts, now)

    def _release(self, frame: VideoFrame, pts: float, now: float) -> None:
        self._last_video_time = pts
        self._fps.record(now)
        try:
            self._video_source.capture_frame(frame, timestamp_us=max(0, round(pts * 1e6)))
        except Exception:
            logger.exception("AVSynchronizer: capturing a video frame failed")
