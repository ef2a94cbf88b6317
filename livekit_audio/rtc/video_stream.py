"""VideoStream: read a video track's frames with ``async for``.

Follows ``livekit.rtc.VideoStream`` (``VideoStream(track, loop=None, capacity=0,
format=None)``, ``from_track``, ``aclose``) for a :class:`~livekit_audio.LocalVideoTrack`.
Each frame the track carries is queued as a :class:`VideoFrameEvent` in the async layer's one
queue type (:class:`~livekit_audio._aio.RingQueue`): unbounded by default, or bounded to
``capacity`` events with the oldest dropped first, as LiveKit's stream does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType

from livekit_audio._aio import QueueClosed, RingQueue, resolve_loop
from livekit_audio.rtc.video_frame import VideoBufferType, VideoFrame, VideoRotation
from livekit_audio.rtc.video_track import LocalVideoTrack

__all__ = ["VideoFrameEvent", "VideoStream"]


@dataclass
class VideoFrameEvent:
    """One frame read from a :class:`VideoStream` (as ``livekit.rtc.VideoFrameEvent``).

    Attributes
    ----------
    frame : VideoFrame
        The captured frame. Its pixels are an immutable copy shared by every reader of the
        source (``frame.data`` is read-only): copy it to modify it.
    timestamp_us : int
        Presentation time in microseconds, as given to ``VideoSource.capture_frame`` (the
        media time of the frame when it comes through an ``AVSynchronizer``).
    rotation : VideoRotation
        Display rotation, as captured.
    """

    frame: VideoFrame
    timestamp_us: int
    rotation: VideoRotation


class VideoStream:
    """The frames of a local video track, in capture order, for ``async for``.

    Parameters
    ----------
    track : LocalVideoTrack
        The track to read. The stream receives the frames captured after it was made.
    loop : asyncio.AbstractEventLoop or None, optional
        The loop the stream is read on (default: the running loop), following the rules of
        LiveKit's ``loop=``.
    capacity : int, optional
        Most events held for the reader (default 0: unbounded). When full, the oldest event
        is dropped to make room (a late reader sees the newest frames, as in LiveKit);
        :attr:`dropped` counts them.
    format : VideoBufferType or None, optional
        LiveKit converts frames to this layout. There is no pixel conversion here: with a
        format given, a frame of the same layout is delivered as is, and reading a frame of
        another layout raises ``ValueError`` from ``__anext__`` (the frame is skipped; the
        stream goes on).

    Raises
    ------
    TypeError
        If ``track`` is not a LocalVideoTrack, ``capacity`` is not an int, or ``format`` is
        not a VideoBufferType.
    ValueError
        If ``capacity`` is negative, ``format`` is not RGBA/I420, or ``loop`` is not usable
        (see ``livekit_audio._aio.resolve_loop``).
    RuntimeError
        If no loop is given and none is running.

    Notes
    -----
    Iteration ends (``StopAsyncIteration``) once the track has ended (its source closed)
    and every queued frame was read, or at once after :meth:`aclose`.

    Examples
    --------
    >>> stream = VideoStream(track)  # doctest: +SKIP
    >>> async for event in stream:  # doctest: +SKIP
    ...     show(event.frame, event.timestamp_us)
    """

    def __init__(
        self,
        track: LocalVideoTrack,
        loop: asyncio.AbstractEventLoop | None = None,
        capacity: int = 0,
        format: VideoBufferType | None = None,
    ) -> None:
        if not isinstance(track, LocalVideoTrack):
            raise TypeError(f"track must be a LocalVideoTrack, got {type(track).__name__}")
        if isinstance(capacity, bool) or not isinstance(capacity, int):
            raise TypeError(f"capacity must be an int, got {type(capacity).__name__}")
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0 (0 = unbounded), got {capacity}")
        if format is not None:
            if isinstance(format, bool) or not isinstance(format, int):
                raise TypeError(
                    f"format must be a VideoBufferType or None, got {type(format).__name__}"
                )
            try:
                format = VideoBufferType(format)
            except ValueError:
                raise ValueError(
                    f"format must be VideoBufferType.RGBA or VideoBufferType.I420, got {format!r}"
                ) from None
        resolved = resolve_loop(loop, "VideoStream")
        if resolved is None:
            raise RuntimeError(
                "VideoStream must be created from a coroutine running in an event loop "
                "(or be given loop=)"
            )
        self._loop = resolved
        self._format = format
        self._queue: RingQueue[VideoFrameEvent] = RingQueue(capacity, loop=resolved)
        self._track: LocalVideoTrack | None = track
        self._closed = False
        track._register_video_stream(self)

    @classmethod
    def from_track(
        cls,
        *,
        track: LocalVideoTrack,
        loop: asyncio.AbstractEventLoop | None = None,
        format: VideoBufferType | None = None,
        capacity: int = 0,
    ) -> VideoStream:
        """A stream on ``track``; same parameters as the constructor (keyword-only)."""
        return cls(track, loop=loop, capacity=capacity, format=format)

    @property
    def track(self) -> LocalVideoTrack | None:
        """The track read (None after :meth:`aclose`)."""
        return self._track

    @property
    def dropped(self) -> int:
        """Events dropped because a bounded stream was full (its reader was late)."""
        return self._queue.dropped

    # -- package-private: called by the track ------------------------------------------

    def _feed(self, frame: VideoFrame, timestamp_us: int, rotation: VideoRotation) -> None:
        """Queue one frame for the reader; from the loop's thread or any other."""
        event = VideoFrameEvent(frame, timestamp_us, rotation)
        try:
            here = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            here = False
        if here:
            self._queue.put(event)
        else:
            self._queue.put_threadsafe(event)

    def _on_track_ended(self) -> None:
        """No more frames will come: the reader gets what is queued, then the end."""
        self._queue.close_threadsafe()

    # -- reading -----------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[VideoFrameEvent]:
        return self

    async def __anext__(self) -> VideoFrameEvent:
        """The next frame event.

        Raises
        ------
        StopAsyncIteration
            Once the track ended and everything queued was read, or after :meth:`aclose`.
        ValueError
            If ``format`` was given and this frame has another layout (the frame is
            skipped; the next call reads on).
        """
        try:
            event = await self._queue.get()
        except QueueClosed:
            raise StopAsyncIteration from None
        if self._format is not None and event.frame.type is not self._format:
            raise ValueError(
                f"VideoStream(format={self._format.name}) got a {event.frame.type.name} frame; "
                "livekit_audio does no pixel conversion: read without format= or capture "
                f"{self._format.name} frames"
            )
        return event

    async def aclose(self) -> None:
        """Stop reading: leave the track and drop what is queued; iteration ends. Idempotent."""
        if self._closed:
            return
        self._closed = True
        track, self._track = self._track, None
        if track is not None:
            track._unregister_video_stream(self)
        self._queue.close(discard=True)

    async def __aenter__(self) -> VideoStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        name = self._track.name if self._track is not None else None
        return f"VideoStream(track={name!r}, queued={len(self._queue)}, closed={self._closed})"
