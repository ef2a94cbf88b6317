"""Room: a participant's connection to a room of a :class:`~livekit_audio.LocalRoomServer`.

Follows ``livekit.rtc.Room``: ``await room.connect(url, token)``, ``room.on(event)`` with
LiveKit's event names and handler arguments, ``room.local_participant.publish_track(...)``,
``room.remote_participants``. The server lives in this process (``local://`` URLs), so
everything runs, and is tested, without a network. Events are emitted synchronously, in
order, from the operation that causes them; handlers must not block (start a task instead).

Events and handler arguments
----------------------------
==============================  ====================================================
``participant_connected``       ``(participant: RemoteParticipant)``
``participant_disconnected``    ``(participant: RemoteParticipant)``
``track_published``             ``(publication: RemoteTrackPublication, participant)``
``track_unpublished``           ``(publication: RemoteTrackPublication, participant)``
``track_subscribed``            ``(track: RemoteAudioTrack, publication, participant)``
``track_unsubscribed``          ``(track: RemoteAudioTrack, publication, participant)``
``track_muted``                 ``(participant, publication)``
``track_unmuted``               ``(participant, publication)``
``local_track_published``       ``(publication: LocalTrackPublication, track)``
``local_track_unpublished``     ``(publication: LocalTrackPublication)``
``local_track_republished``     ``(publication: LocalTrackPublication, previous_sid: str)``
``local_track_subscribed``      ``(track: LocalAudioTrack)``
``token_refreshed``             ``()`` (the new token is ``room._token``)
``connection_state_changed``    ``(state: ConnectionState)``
``connected``                   ``()``
``reconnecting``                ``()``
``reconnected``                 ``()``
``disconnected``                ``(reason: DisconnectReason)``
==============================  ====================================================

Other ``livekit.rtc`` event names may be registered; they are never emitted here.
"""

from __future__ import annotations

import asyncio
import enum
import types
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from livekit_audio._errors import LivekitAudioError
from livekit_audio.rtc._event_emitter import EventEmitter
from livekit_audio.rtc._token import TokenError
from livekit_audio.rtc.participant import LocalParticipant, PublishTrackError, RemoteParticipant
from livekit_audio.rtc.track import LocalAudioTrack, RemoteAudioTrack, Track, TrackSource
from livekit_audio.rtc.track_publication import LocalTrackPublication, RemoteTrackPublication

if TYPE_CHECKING:
    from livekit_audio.rtc.room_server import LocalRoomServer, _Session

__all__ = [
    "ConnectError",
    "ConnectionState",
    "DisconnectReason",
    "EventTypes",
    "Room",
    "RoomOptions",
]

#: The LocalRoomServers of this process by URL (a server registers itself; rooms look up).
_SERVERS: weakref.WeakValueDictionary[str, LocalRoomServer] = weakref.WeakValueDictionary()

EventTypes = Literal[
    "participant_connected",
    "participant_disconnected",
    "participant_active",
    "local_track_published",
    "local_track_unpublished",
    "local_track_republished",
    "local_track_subscribed",
    "track_published",
    "track_unpublished",
    "track_subscribed",
    "track_unsubscribed",
    "track_subscription_failed",
    "track_muted",
    "track_unmuted",
    "active_speakers_changed",
    "room_metadata_changed",
    "participant_metadata_changed",
    "participant_name_changed",
    "participant_attributes_changed",
    "connection_quality_changed",
    "participant_encryption_status_changed",
    "participant_permissions_changed",
    "data_received",
    "sip_dtmf_received",
    "transcription_received",
    "e2ee_state_changed",
    "connection_state_changed",
    "connected",
    "disconnected",
    "reconnecting",
    "reconnected",
    "room_updated",
    "moved",
    "token_refreshed",
    "data_track_published",
    "data_track_unpublished",
]
_EVENT_NAMES = frozenset(EventTypes.__args__)  # type: ignore[attr-defined]


class ConnectError(LivekitAudioError):
    """``Room.connect`` failed; nothing was joined.

    Attributes
    ----------
    message : str
        Why (unknown server, bad signature, expired token, room not allowed...).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConnectionState(enum.IntEnum):
    """Values match ``livekit.rtc.ConnectionState``."""

    CONN_DISCONNECTED = 0
    CONN_CONNECTED = 1
    CONN_RECONNECTING = 2


class DisconnectReason(enum.IntEnum):
    """Why a room was disconnected (values match ``livekit.rtc.DisconnectReason``)."""

    UNKNOWN_REASON = 0
    CLIENT_INITIATED = 1
    DUPLICATE_IDENTITY = 2
    SERVER_SHUTDOWN = 3
    PARTICIPANT_REMOVED = 4
    ROOM_DELETED = 5


@dataclass
class RoomOptions:
    """Options of :meth:`Room.connect`.

    Attributes
    ----------
    auto_subscribe : bool
        Subscribe to every published track automatically (default True).
    """

    auto_subscribe: bool = True


class Room(EventEmitter[EventTypes]):
    """A connection to a room of an in-process :class:`~livekit_audio.LocalRoomServer`.

    Examples
    --------
    >>> server = LocalRoomServer("key", "a-secret-of-at-least-32-bytes!!!")  # doctest: +SKIP
    >>> room = Room()  # doctest: +SKIP
    >>> await room.connect(server.url, server.create_token("agent", "demo"))  # doctest: +SKIP
    """

    def __init__(self) -> None:
        super().__init__()
        self._name = ""
        self._sid = ""
        self._token: str | None = None
        self._server_url: str | None = None
        self._connection_state = ConnectionState.CONN_DISCONNECTED
        self._local_participant: LocalParticipant | None = None
        self._remote_participants: dict[str, RemoteParticipant] = {}
        self._tracks: weakref.WeakSet[Track] = weakref.WeakSet()  # tracks whose room is this
        self._server: LocalRoomServer | None = None
        self._session: _Session | None = None
        self._options = RoomOptions()

    # -- public state ------------------------------------------------------------------

    @property
    def name(self) -> str:
        """Room name ("" before connecting)."""
        return self._name

    @property
    async def sid(self) -> str:
        """Room SID (an awaitable property, as in ``livekit.rtc``)."""
        return self._sid

    @property
    def metadata(self) -> str:
        return ""

    @property
    def connection_state(self) -> ConnectionState:
        return self._connection_state

    @property
    def local_participant(self) -> LocalParticipant:
        """This connection's participant.

        Raises
        ------
        RuntimeError
            Before the first :meth:`connect`.
        """
        if self._local_participant is None:
            raise RuntimeError("cannot access local_participant before connecting")
        return self._local_participant

    @property
    def remote_participants(self) -> Mapping[str, RemoteParticipant]:
        """The other participants by identity (a live, read-only view)."""
        return types.MappingProxyType(self._remote_participants)

    def isconnected(self) -> bool:
        return self._connection_state != ConnectionState.CONN_DISCONNECTED

    def on(
        self, event: EventTypes, callback: Callable[..., Any] | None = None
    ) -> Callable[..., Any]:
        """Register a handler for ``event`` (see the module docstring); a decorator if no callback.

        Raises
        ------
        ValueError
            For an event name ``livekit.rtc`` does not have, or a coroutine function.
        """
        if event not in _EVENT_NAMES:
            raise ValueError(
                f"unknown room event {event!r}; expected one of {sorted(_EVENT_NAMES)}"
            )
        return super().on(event, callback)

    # -- connect / disconnect ---------------------------------------------------------

    async def connect(self, url: str, token: str, options: RoomOptions | None = None) -> None:
        """Join the room named in ``token`` on the server at ``url``.

        Parameters
        ----------
        url : str
            A :attr:`LocalRoomServer.url` (``local://...``).
        token : str
            A LiveKit access token signed with that server's API secret.
        options : RoomOptions, optional

        Raises
        ------
        ConnectError
            Unknown server, bad signature, expired or not-yet-valid token, token for another
            API key, no room-join grant, a room the server does not host, or the room is
            already connected. Nothing is joined.
        """
        if self.isconnected():
            raise ConnectError("room is already connected; disconnect() first")
        if not isinstance(url, str):
            raise ConnectError(f"url must be a str, got {type(url).__name__}")
        server = _SERVERS.get(url.rstrip("/"))
        if server is None:
            raise ConnectError(f"no LocalRoomServer at {url!r} in this process")
        await asyncio.sleep(0)  # the signalling round trip
        if self.isconnected():
            raise ConnectError("room is already connected; disconnect() first")
        try:
            server._join(self, token, options or RoomOptions())
        except TokenError as exc:
            raise ConnectError(f"token rejected: {exc}") from None

    async def disconnect(self) -> None:
        """Leave the room.

        Every track in the room (published local tracks and subscribed remote tracks) is
        cleared: stream processors get ``_on_stream_info_cleared`` and
        ``_on_credentials_cleared`` once. Remote tracks end; other participants see this one
        leave. Emits ``disconnected(DisconnectReason.CLIENT_INITIATED)``. No-op if not
        connected.
        """
        if not self.isconnected():
            return
        await asyncio.sleep(0)  # the signalling round trip
        if self._server is not None and self._session is not None:
            self._server._leave(self._session, DisconnectReason.CLIENT_INITIATED)

    # -- requests to the server (from participants and publications) ---------------------

    def _publish(self, track: LocalAudioTrack, source: TrackSource) -> LocalTrackPublication:
        if self._server is None or self._session is None:
            raise PublishTrackError("cannot publish: the room is not connected")
        return self._server._publish(self._session, track, source)

    def _unpublish(self, sid: str) -> None:
        if self._server is not None and self._session is not None:
            self._server._unpublish(self._session, sid)

    def _set_subscribed(self, publication: RemoteTrackPublication, subscribed: bool) -> None:
        if self._server is not None and self._session is not None and self.isconnected():
            self._server._set_subscribed(
                self._session, publication._publisher, publication.sid, subscribed
            )

    # -- state changes applied by the server --------------------------------------------

    def _set_state(self, state: ConnectionState) -> None:
        if self._connection_state != state:
            self._connection_state = state
            self.emit("connection_state_changed", state)

    def _apply_joined(
        self,
        server: LocalRoomServer,
        session: _Session,
        *,
        url: str,
        token: str,
        options: RoomOptions,
    ) -> None:
        self._server = server
        self._session = session
        self._options = options
        self._name = session.room.name
        self._sid = session.room.sid
        self._token = token
        self._server_url = url
        self._remote_participants = {}
        self._local_participant = LocalParticipant(
            self, session.sid, session.identity, session.name, session.metadata
        )
        self._connection_state = ConnectionState.CONN_CONNECTED

    def _apply_participant_connected(
        self, sid: str, identity: str, name: str, metadata: str, *, emit: bool = True
    ) -> RemoteParticipant:
        participant = RemoteParticipant(self, sid, identity, name, metadata)
        self._remote_participants[identity] = participant
        if emit:
            self.emit("participant_connected", participant)
        return participant

    def _apply_participant_disconnected(self, identity: str) -> None:
        participant = self._remote_participants.pop(identity, None)
        if participant is None:
            return
        participant._left()
        self.emit("participant_disconnected", participant)

    def _apply_local_published(
        self, track: LocalAudioTrack, sid: str, source: TrackSource
    ) -> LocalTrackPublication:
        local = self.local_participant
        publication = LocalTrackPublication(sid, track.name, source, track)
        track._sid = sid
        track._publication = publication
        local._track_publications[sid] = publication
        track._set_room(self, participant_identity=local.identity, publication_sid=sid)
        local._track_available()
        self.emit("local_track_published", publication, track)
        return publication

    def _apply_local_unpublished(self, sid: str, *, emit: bool = True) -> None:
        local = self._local_participant
        if local is None:
            return
        publication = local._track_publications.pop(sid, None)
        if publication is None:
            return
        track = publication.track
        if track is not None:
            track._set_room(None)
            track._publication = None
            local._track_gone(track)
        if emit:
            self.emit("local_track_unpublished", publication)
        publication._track = None

    def _apply_local_republished(self, previous_sid: str, sid: str) -> None:
        local = self.local_participant
        publication = local._track_publications.pop(previous_sid, None)
        if publication is None:
            return
        publication._sid = sid
        local._track_publications[sid] = publication
        track = publication.track
        if track is not None:
            track._sid = sid
            # same room, new SID: re-push stream info and credentials to every stream
            track._set_room(self, participant_identity=local.identity, publication_sid=sid)
        self.emit("local_track_republished", publication, previous_sid)

    def _apply_local_subscribed(self, sid: str) -> None:
        local = self._local_participant
        publication = local._track_publications.get(sid) if local is not None else None
        if publication is not None and publication._subscribed():
            self.emit("local_track_subscribed", publication.track)

    def _apply_remote_published(
        self,
        identity: str,
        sid: str,
        name: str,
        source: TrackSource,
        muted: bool,
        *,
        emit: bool = True,
    ) -> RemoteTrackPublication | None:
        participant = self._remote_participants.get(identity)
        if participant is None:
            return None
        publication = RemoteTrackPublication(sid, name, source, self, identity, muted=muted)
        participant._track_publications[sid] = publication
        if emit:
            self.emit("track_published", publication, participant)
        return publication

    def _apply_remote_unpublished(self, identity: str, sid: str) -> None:
        participant = self._remote_participants.get(identity)
        if participant is None:
            return
        publication = participant._track_publications.pop(sid, None)
        if publication is not None:
            self.emit("track_unpublished", publication, participant)

    def _apply_subscribed(self, identity: str, sid: str, track: RemoteAudioTrack) -> bool:
        participant = self._remote_participants.get(identity)
        publication = participant._track_publications.get(sid) if participant else None
        if participant is None or publication is None:
            return False
        publication._track = track
        publication._subscribed = True
        track._set_room(self, participant_identity=identity, publication_sid=sid)
        participant._track_available()
        self.emit("track_subscribed", track, publication, participant)
        return True

    def _apply_unsubscribed(self, identity: str, sid: str, *, emit: bool = True) -> None:
        participant = self._remote_participants.get(identity)
        publication = participant._track_publications.get(sid) if participant else None
        if participant is None or publication is None or publication._track is None:
            return
        track = publication._track
        publication._track = None
        publication._subscribed = False
        track._set_room(None)
        participant._track_gone(track)
        if emit:
            self.emit("track_unsubscribed", track, publication, participant)

    def _apply_muted(self, identity: str | None, sid: str, muted: bool) -> None:
        participant: Any = (
            self._local_participant if identity is None else self._remote_participants.get(identity)
        )
        publication = participant._track_publications.get(sid) if participant else None
        if publication is None:
            return
        publication._muted = muted
        if identity is not None and publication._track is not None:
            publication._track._muted = muted
        self.emit("track_muted" if muted else "track_unmuted", participant, publication)

    def _apply_token_refreshed(self, token: str) -> None:
        self._token = token
        for track in list(self._tracks):
            track._push_credentials()  # credentials only: the stream info did not change
        self.emit("token_refreshed")

    def _apply_reconnecting(self) -> None:
        self._set_state(ConnectionState.CONN_RECONNECTING)
        self.emit("reconnecting")

    def _apply_reconnected(self) -> None:
        self._set_state(ConnectionState.CONN_CONNECTED)
        self.emit("reconnected")

    def _apply_left(self, reason: DisconnectReason) -> None:
        """The session is over: clear every track, end participants, emit ``disconnected``."""
        local = self._local_participant
        if local is not None:
            for sid in list(local._track_publications):
                self._apply_local_unpublished(sid, emit=False)
        for identity, participant in list(self._remote_participants.items()):
            for sid in list(participant._track_publications):
                self._apply_unsubscribed(identity, sid, emit=False)
        for track in list(self._tracks):  # anything else still pointing here
            track._set_room(None)
        remotes = list(self._remote_participants.values())
        self._remote_participants = {}
        for participant in remotes:
            participant._left()
        if local is not None:
            local._left()
        self._server = None
        self._session = None
        self._set_state(ConnectionState.CONN_DISCONNECTED)
        self.emit("disconnected", reason)

    def __repr__(self) -> str:
        return (
            f"Room(name={self._name!r}, state={self._connection_state.name}, "
            f"remote_participants={len(self._remote_participants)})"
        )
