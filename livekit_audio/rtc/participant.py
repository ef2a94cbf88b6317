"""Participants of a :class:`~livekit_audio.Room` (``livekit.rtc`` API)."""

from __future__ import annotations

import asyncio
import types
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from livekit_audio._errors import LivekitAudioError
from livekit_audio.rtc.track import LocalAudioTrack, Track, TrackSource
from livekit_audio.rtc.track_publication import (
    LocalTrackPublication,
    RemoteTrackPublication,
    TrackPublication,
)

if TYPE_CHECKING:
    from livekit_audio.rtc.audio_stream import AudioStream
    from livekit_audio.rtc.room import Room

__all__ = [
    "LocalParticipant",
    "Participant",
    "PublishTrackError",
    "RemoteParticipant",
    "TrackPublishOptions",
    "UnpublishTrackError",
]


class PublishTrackError(LivekitAudioError):
    """``publish_track`` failed (not connected, no publish grant, track already published)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnpublishTrackError(LivekitAudioError):
    """``unpublish_track`` was given a SID the local participant has not published."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class TrackPublishOptions:
    """Options of :meth:`LocalParticipant.publish_track`.

    Attributes
    ----------
    source : TrackSource
        What the track is; ``AudioStream.from_participant`` finds tracks by it. Default
        ``SOURCE_MICROPHONE`` (``livekit.rtc``'s default is ``SOURCE_UNKNOWN``; an audio-only
        SDK's tracks are microphones unless told otherwise). ``livekit.rtc``'s options object
        is accepted too (only ``source`` is read).
    """

    source: TrackSource = TrackSource.SOURCE_MICROPHONE


class Participant:
    """A room member: its SID, identity, name, metadata and track publications."""

    def __init__(self, room: Room, sid: str, identity: str, name: str, metadata: str) -> None:
        self._room_ref = weakref.ref(room)
        self._sid = sid
        self._identity = identity
        self._name = name
        self._metadata = metadata
        self._track_publications: dict[str, Any] = {}
        self._streams: weakref.WeakSet[AudioStream] = weakref.WeakSet()  # from_participant
        self._gone = False

    @property
    def sid(self) -> str:
        return self._sid

    @property
    def identity(self) -> str:
        return self._identity

    @property
    def name(self) -> str:
        return self._name

    @property
    def metadata(self) -> str:
        return self._metadata

    @property
    def track_publications(self) -> Mapping[str, TrackPublication]:
        """Publications by SID (a live, read-only view)."""
        return types.MappingProxyType(self._track_publications)

    # -- from_participant streams -------------------------------------------------------

    def _register_stream(self, stream: AudioStream) -> None:
        self._streams.add(stream)

    def _unregister_stream(self, stream: AudioStream) -> None:
        self._streams.discard(stream)

    def _audio_track_for(self, source: TrackSource) -> Track | None:
        """The live audio track this participant has from ``source`` (first published)."""
        for pub in self._track_publications.values():
            track = pub.track
            if pub.source == source and track is not None and not track.ended:
                return cast(Track, track)
        return None

    def _track_available(self) -> None:
        for stream in list(self._streams):
            stream._on_participant_track_available()

    def _track_gone(self, track: Track) -> None:
        for stream in list(self._streams):
            stream._on_participant_track_gone(track)

    def _left(self) -> None:
        if self._gone:
            return
        self._gone = True
        for stream in list(self._streams):
            stream._on_participant_gone()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sid={self._sid!r}, identity={self._identity!r})"


class LocalParticipant(Participant):
    """This room's own participant: publishes local tracks."""

    @property
    def track_publications(self) -> Mapping[str, LocalTrackPublication]:
        return types.MappingProxyType(self._track_publications)

    async def publish_track(
        self, track: LocalAudioTrack, options: Any = None
    ) -> LocalTrackPublication:
        """Publish ``track``; other participants (auto-)subscribe and receive its audio.

        Parameters
        ----------
        track : LocalAudioTrack
        options : TrackPublishOptions, optional
            Default: ``TrackPublishOptions()`` (source ``SOURCE_MICROPHONE``).

        Returns
        -------
        LocalTrackPublication
            ``local_track_published(publication, track)`` has been emitted, the track's
            streams have received the room info and credentials, and subscribers have their
            ``track_subscribed``.

        Raises
        ------
        TypeError
            If ``track`` is not a LocalAudioTrack.
        PublishTrackError
            If the room is not connected, the token has no publish grant, the track has
            ended, or it is already published.
        """
        if not isinstance(track, LocalAudioTrack):
            raise TypeError(f"track must be a LocalAudioTrack, got {type(track).__name__}")
        source = TrackSource(getattr(options, "source", TrackSource.SOURCE_MICROPHONE))
        room = self._room_ref()
        if room is None or not room.isconnected() or room._local_participant is not self:
            raise PublishTrackError("cannot publish: the room is not connected")
        await asyncio.sleep(0)  # the signalling round trip: lets concurrent calls interleave
        if not room.isconnected() or room._local_participant is not self:
            raise PublishTrackError("cannot publish: the room disconnected meanwhile")
        return room._publish(track, source)

    async def unpublish_track(self, track_sid: str) -> None:
        """Unpublish the track published as ``track_sid``.

        Subscribers get ``track_unsubscribed`` and ``track_unpublished``; this room emits
        ``local_track_unpublished(publication)``; the track's stream processors are cleared
        (exactly once, even if a disconnect races this call).

        Raises
        ------
        UnpublishTrackError
            If no publication has that SID.
        """
        publication = self._track_publications.get(track_sid)
        if publication is None:
            raise UnpublishTrackError(f"no local publication with sid {track_sid!r}")
        track = publication.track
        await asyncio.sleep(0)  # the signalling round trip: lets concurrent calls interleave
        room = self._room_ref()
        if room is not None and self._track_publications.get(track_sid) is publication:
            room._unpublish(track_sid)
        # This path and the room's (unpublished event, disconnect) may both clear the track;
        # whichever comes second finds it roomless and does nothing.
        if track is not None:
            track._set_room(None)
        assert publication is not None  # (narrowed above; mypy loses it across the await)
        publication._track = None


class RemoteParticipant(Participant):
    """Another participant, as seen by this room."""

    @property
    def track_publications(self) -> Mapping[str, RemoteTrackPublication]:
        return types.MappingProxyType(self._track_publications)
