"""LocalVideoTrack: a video track fed by a VideoSource, read in process by VideoStreams.

Follows ``livekit.rtc.LocalVideoTrack`` (``create_video_track(name, source)``, ``mute`` /
``unmute``). It is a :class:`~livekit_audio.Track` of kind ``TrackKind.KIND_VIDEO``. This
package's room carries audio only: a video track is read locally (an avatar worker's own
preview, tests) and is not published.
"""

from __future__ import annotations

import secrets
import weakref
from typing import TYPE_CHECKING

from livekit_audio.rtc.track import Track, TrackKind, _check_track_args
from livekit_audio.rtc.video_frame import VideoFrame, VideoRotation
from livekit_audio.rtc.video_source import VideoSource

if TYPE_CHECKING:
    from livekit_audio.rtc.video_stream import VideoStream

__all__ = ["LocalVideoTrack"]


class LocalVideoTrack(Track):
    """A video track carrying what a :class:`~livekit_audio.VideoSource` captures.

    Create with :meth:`create_video_track`. Every :class:`~livekit_audio.VideoStream` on
    the track gets every frame captured after the stream was made, in capture order, with
    its ``timestamp_us`` and ``rotation``. The track ends when its source is closed; its
    streams then stop after delivering what they hold.

    Attributes
    ----------
    kind : TrackKind
        ``TrackKind.KIND_VIDEO``.
    """

    def __init__(self, name: str, source: VideoSource) -> None:
        super().__init__(f"TR_{secrets.token_hex(6)}", name)  # a SID as LiveKit's look
        self._kind = TrackKind.KIND_VIDEO
        self._source = source
        self._video_streams: weakref.WeakSet[VideoStream] = weakref.WeakSet()
        # the same streams as weak references: walked per frame, possibly from another thread
        self._stream_refs: tuple[weakref.ref[VideoStream], ...] = ()

    @staticmethod
    def create_video_track(name: str, source: VideoSource) -> LocalVideoTrack:
        """A new local track carrying what ``source`` captures.

        Parameters
        ----------
        name : str
            Track name (e.g. ``"avatar"``).
        source : VideoSource
            The source whose frames the track carries.

        Raises
        ------
        TypeError
            If ``name`` is not a str or ``source`` is not a VideoSource.
        ValueError
            If ``source`` is closed.
        """
        _check_track_args(name, source, VideoSource, "a")
        track = LocalVideoTrack(name, source)
        source._add_track(track)
        return track

    @property
    def source(self) -> VideoSource:
        """The VideoSource feeding this track."""
        return self._source

    def mute(self) -> None:
        """Stop carrying frames: while muted, the track's streams receive nothing (a muted
        WebRTC video track sends no frames)."""
        self._muted = True

    def unmute(self) -> None:
        """Carry the source's frames again."""
        self._muted = False

    # -- package-private: VideoSource delivers, VideoStream registers -------------------

    def _register_video_stream(self, stream: VideoStream) -> None:
        """Deliver to ``stream`` (held weakly) from now on; at once ended if the track is."""
        self._video_streams.add(stream)
        self._refresh()
        if self._ended:
            stream._on_track_ended()

    def _unregister_video_stream(self, stream: VideoStream) -> None:
        self._video_streams.discard(stream)
        self._refresh()

    def _refresh(self) -> None:
        self._stream_refs = tuple(weakref.ref(s) for s in self._video_streams)

    def _deliver_video(self, frame: VideoFrame, timestamp_us: int, rotation: VideoRotation) -> None:
        """Called by the VideoSource for each captured frame (already validated and
        immutable): hand it to every registered stream, unless muted or ended."""
        if self._ended or self._muted:
            return
        for ref in self._stream_refs:
            stream = ref()
            if stream is not None:
                stream._feed(frame, timestamp_us, rotation)

    def _end(self) -> None:
        """The source closed: streams finish after what they hold."""
        if self._ended:
            return
        super()._end()
        for stream in list(self._video_streams):
            stream._on_track_ended()

    def __repr__(self) -> str:
        return f"LocalVideoTrack(sid={self._sid!r}, name={self._name!r})"
