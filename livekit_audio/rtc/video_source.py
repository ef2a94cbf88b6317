"""VideoSource: the producer end of a local video track.

Follows ``livekit.rtc.VideoSource``: ``capture_frame`` is synchronous and hands the frame on at
once (no queue, no pacing: pace video with :class:`~livekit_audio.AVSynchronizer`, or capture
at your own rate). Here it goes, in process, to every
:class:`~livekit_audio.LocalVideoTrack` made from the source and from there to the tracks'
:class:`~livekit_audio.VideoStream` readers.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from livekit_audio._log import logger
from livekit_audio.rtc.video_frame import (
    VideoFrame,
    VideoRotation,
    as_video_frame,
    check_rotation,
)

if TYPE_CHECKING:
    from livekit_audio.rtc.video_track import LocalVideoTrack

__all__ = ["VideoSource"]


def _check_size(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0 pixels, got {value}")
    return value


def _immutable(frame: VideoFrame) -> VideoFrame:
    """``frame`` itself if its pixels are an immutable ``bytes`` object, else a copy that is
    (every reader may then share it, and the caller may reuse its buffer at once)."""
    if type(frame.data.obj) is bytes:
        return frame
    return VideoFrame(frame.width, frame.height, frame.type, frame.data.tobytes())


class VideoSource:
    """A local source of raw video frames (RGBA or I420), as ``livekit.rtc.VideoSource``.

    Parameters
    ----------
    width, height : int
        The source's resolution in pixels, > 0 each. As in LiveKit it is the initial
        resolution: frames of another size are accepted and passed on as they are.
    is_screencast : bool, keyword-only, optional
        Accepted for compatibility with LiveKit (where it tunes the WebRTC encoder for screen
        content); it changes nothing here (there is no encoder).

    Raises
    ------
    TypeError
        If ``width`` or ``height`` is not an int.
    ValueError
        If ``width`` or ``height`` is <= 0.

    Notes
    -----
    :meth:`capture_frame` delivers synchronously to the tracks' streams, which queue the
    frame for their readers: it never blocks. It may be called from the event loop's thread
    or, as LiveKit's may, from another thread (a camera or render thread); each stream
    hands the frame to its loop safely.

    Examples
    --------
    >>> source = VideoSource(640, 480)
    >>> track = LocalVideoTrack.create_video_track("avatar", source)  # doctest: +SKIP
    >>> frame = VideoFrame(640, 480, VideoBufferType.RGBA, rgba_bytes)  # doctest: +SKIP
    >>> source.capture_frame(frame, timestamp_us=0)  # doctest: +SKIP
    """

    def __init__(self, width: int, height: int, *, is_screencast: bool = False) -> None:
        self._width = _check_size("width", width)
        self._height = _check_size("height", height)
        self._is_screencast = bool(is_screencast)
        self._closed = False
        self._tracks: weakref.WeakSet[LocalVideoTrack] = weakref.WeakSet()
        # the same tracks as a tuple of weak references: walked per frame, from any thread
        self._track_refs: tuple[weakref.ref[LocalVideoTrack], ...] = ()

    @property
    def width(self) -> int:
        """Resolution width in pixels, as given."""
        return self._width

    @property
    def height(self) -> int:
        """Resolution height in pixels, as given."""
        return self._height

    @property
    def is_screencast(self) -> bool:
        """The ``is_screencast`` flag, as given (no effect here)."""
        return self._is_screencast

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._closed

    def _add_track(self, track: LocalVideoTrack) -> None:
        """Package-private, called by ``LocalVideoTrack.create_video_track``: deliver to
        ``track`` (held weakly) from now on."""
        self._tracks.add(track)
        self._track_refs = tuple(weakref.ref(t) for t in self._tracks)

    def capture_frame(
        self,
        frame: Any,
        *,
        timestamp_us: int = 0,
        rotation: VideoRotation | int = VideoRotation.VIDEO_ROTATION_0,
    ) -> None:
        """Hand ``frame`` to every track made from the source, now.

        Parameters
        ----------
        frame : VideoFrame or video-frame-like
            Our :class:`VideoFrame`, or any object with ``width``, ``height``, ``type`` and
            ``data`` in RGBA or I420 (for instance a ``livekit.rtc.VideoFrame``). The pixels
            are copied (unless already an immutable ``bytes``), so the caller may reuse its
            buffer as soon as this returns.
        timestamp_us : int, keyword-only
            Presentation time in microseconds, >= 0, passed unchanged to the readers'
            :class:`~livekit_audio.VideoFrameEvent` (LiveKit's default 0 means "no
            timestamp"; it is not replaced by the capture time here).
            :class:`~livekit_audio.AVSynchronizer` passes each frame's media time.
        rotation : VideoRotation or int, keyword-only
            Display rotation (0-3 for 0/90/180/270 degrees), passed on unchanged.

        Raises
        ------
        TypeError
            If ``frame`` is not video-frame-like, or ``timestamp_us``/``rotation`` is not
            an int.
        ValueError
            If the frame is invalid (see :class:`VideoFrame`), ``timestamp_us`` is
            negative, or ``rotation`` is not 0-3.
        RuntimeError
            If the source is closed.
        """
        if self._closed:
            raise RuntimeError("VideoSource is closed; capture_frame after aclose()")
        video = _immutable(as_video_frame(frame))
        if isinstance(timestamp_us, bool) or not isinstance(timestamp_us, int):
            raise TypeError(f"timestamp_us must be an int, got {type(timestamp_us).__name__}")
        if timestamp_us < 0:
            raise ValueError(f"timestamp_us must be >= 0 microseconds, got {timestamp_us}")
        turn = check_rotation(rotation)
        for ref in self._track_refs:
            track = ref()
            if track is None:
                continue
            try:
                track._deliver_video(video, timestamp_us, turn)
            except Exception:
                logger.exception("VideoSource: delivering a frame to %r failed", track)

    async def aclose(self) -> None:
        """Close the source: its tracks end, and their VideoStreams stop iterating once they
        have delivered what they hold. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for track in list(self._tracks):
            track._end()

    def __repr__(self) -> str:
        return f"VideoSource(width={self._width}, height={self._height}, closed={self._closed})"
