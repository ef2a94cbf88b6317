"""Track publications: a participant's published track as the room sees it (``livekit.rtc`` API)."""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING

from livekit_audio.rtc.track import LocalAudioTrack, RemoteAudioTrack, Track, TrackKind, TrackSource

if TYPE_CHECKING:
    from livekit_audio.rtc.room import Room

__all__ = ["LocalTrackPublication", "RemoteTrackPublication", "TrackPublication"]


class TrackPublication:
    """A published track: its SID, name, kind, source and mute state, and the track if any."""

    def __init__(self, sid: str, name: str, source: TrackSource, *, muted: bool = False) -> None:
        self._sid = sid
        self._name = name
        self._kind = TrackKind.KIND_AUDIO
        self._source = source
        self._muted = muted
        self._track: Track | None = None

    @property
    def sid(self) -> str:
        """Publication SID (``TR_...``), re-issued when the track is republished."""
        return self._sid

    @property
    def name(self) -> str:
        return self._name

    @property
    def kind(self) -> TrackKind:
        return self._kind

    @property
    def source(self) -> TrackSource:
        return self._source

    @property
    def muted(self) -> bool:
        return self._muted

    @property
    def track(self) -> Track | None:
        return self._track

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(sid={self._sid!r}, name={self._name!r}, "
            f"kind={self._kind.name}, source={self._source.name})"
        )


class LocalTrackPublication(TrackPublication):
    """The local participant's publication of a :class:`LocalAudioTrack`."""

    def __init__(self, sid: str, name: str, source: TrackSource, track: LocalAudioTrack) -> None:
        super().__init__(sid, name, source, muted=track.muted)
        self._track = track
        self._first_subscription = asyncio.Event()

    @property
    def track(self) -> LocalAudioTrack | None:
        return self._track  # type: ignore[return-value]

    async def wait_for_subscription(self) -> None:
        """Return once some other participant has subscribed to this publication."""
        await self._first_subscription.wait()

    def _subscribed(self) -> bool:
        """Mark the first subscription; True if this was it."""
        if self._first_subscription.is_set():
            return False
        self._first_subscription.set()
        return True


class RemoteTrackPublication(TrackPublication):
    """Another participant's publication, as seen by this room."""

    def __init__(
        self, sid: str, name: str, source: TrackSource, room: Room, publisher: str, *, muted: bool
    ) -> None:
        super().__init__(sid, name, source, muted=muted)
        self._subscribed = False
        self._room_ref = weakref.ref(room)
        self._publisher = publisher

    @property
    def track(self) -> RemoteAudioTrack | None:
        return self._track  # type: ignore[return-value]

    @property
    def subscribed(self) -> bool:
        """Whether this room receives the track."""
        return self._subscribed

    def set_subscribed(self, subscribed: bool) -> None:
        """Subscribe to (``track_subscribed``) or unsubscribe from (``track_unsubscribed``) it.

        Unsubscribing clears the room info of the track's AudioStreams' processors; the
        track then ends once it has delivered what was in flight. No-op if nothing changes or
        the room is disconnected.
        """
        room = self._room_ref()
        if room is not None:
            room._set_subscribed(self, bool(subscribed))
