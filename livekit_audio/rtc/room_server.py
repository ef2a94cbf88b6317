"""LocalRoomServer: an embedded, in-process room server for :class:`~livekit_audio.Room`.

It does what a LiveKit server does for audio, without a network: verifies access tokens
(HS256 JWTs, LiveKit format), keeps rooms of participants, forwards each published track to
every subscriber, and offers the server-side operations tests and agents need (token refresh,
a simulated full reconnect, removing a participant).

Frames are fanned out per subscriber: the publisher's playout only appends to each
subscriber's bounded queue (never waits), and one task per subscription delivers from it.
A subscriber that falls behind by more than ``subscriber_queue_frames`` loses its oldest
frames (counted, and logged once per burst); no subscriber ever slows another one down.
On the subscriber's side, the :class:`~livekit_audio.RemoteAudioTrack` plays the audio out
to its streams as a jitter buffer does: a 10 ms frame every 10 ms while subscribed, silence
when the publisher sends nothing.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import TYPE_CHECKING

from livekit_audio._aio import QueueClosed, RingQueue
from livekit_audio._log import logger
from livekit_audio.audio_frame import AudioFrame
from livekit_audio.rtc._dispatch import dispatcher_for
from livekit_audio.rtc._token import TokenClaims, TokenError, check_secret, mint_token, verify_token
from livekit_audio.rtc.participant import PublishTrackError
from livekit_audio.rtc.room import _SERVERS, DisconnectReason, Room, RoomOptions
from livekit_audio.rtc.track import LocalAudioTrack, RemoteAudioTrack, TrackSource

if TYPE_CHECKING:
    from livekit_audio.rtc.track_publication import LocalTrackPublication

__all__ = ["LocalRoomServer"]


def _sid(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


class _ServerRoom:
    def __init__(self, name: str, *, auto: bool = False) -> None:
        self.name = name
        self.sid = _sid("RM")
        self.sessions: dict[str, _Session] = {}
        self.auto = auto  # created by a join: deleted when its last participant leaves


class _Session:
    """One participant's connection, server side."""

    def __init__(
        self, client: Room, room: _ServerRoom, claims: TokenClaims, token: str, options: RoomOptions
    ) -> None:
        self.client = client
        self.room = room
        self.claims = claims
        self.identity = claims.identity
        self.name = claims.name
        self.metadata = claims.metadata
        self.sid = _sid("PA")
        self.token = token
        self.auto_subscribe = options.auto_subscribe
        self.published: dict[str, _Published] = {}
        self.alive = True


class _Published:
    """A published track, server side, with its per-subscriber links."""

    def __init__(self, session: _Session, track: LocalAudioTrack, source: TrackSource) -> None:
        self.sid = _sid("TR")
        self.session = session
        self.track = track
        self.name = track.name
        self.source = source
        self.muted = track.muted
        self.links: dict[str, _Link] = {}
        self.subscribed_once = False

    def forward(self, frame: AudioFrame) -> None:
        for link in list(self.links.values()):
            link.push(frame)


class _Link:
    """Publisher -> one subscriber: frames in transit, delivered in the loop's next dispatch.

    A bounded queue stands for the network path: frames pushed in one turn of the loop
    reach the subscriber's remote track in the next (all links of a loop in one dispatch,
    see :mod:`livekit_audio.rtc._dispatch`); a subscriber that falls further behind than the
    queue holds loses its oldest frames (counted, logged once per burst).
    """

    def __init__(self, published: _Published, subscriber: _Session, capacity: int) -> None:
        self.published = published
        self.subscriber = subscriber
        source = published.track.source
        self.track = RemoteAudioTrack(
            published.sid,
            published.name,
            muted=published.muted,
            sample_rate=source.sample_rate,
            num_channels=source.num_channels,
        )
        self.queue: RingQueue[AudioFrame] = RingQueue(capacity)
        self.burst = 0
        self.dispatcher = dispatcher_for(asyncio.get_running_loop())
        self.asked = False

    @property
    def dropped(self) -> int:
        return self.queue.dropped

    def push(self, frame: AudioFrame) -> None:
        if self.queue.put(frame):
            if self.burst == 0:
                logger.warning(
                    "subscriber %r is behind on track %s: dropping its oldest frames",
                    self.subscriber.identity,
                    self.published.sid,
                )
            self.burst += 1
        elif self.burst and len(self.queue) <= 1:
            self.burst = 0
        self._ask()

    def close(self) -> None:
        """No more frames: deliver what is queued, then end the remote track."""
        self.queue.close()
        self._ask()

    def _ask(self) -> None:
        if not self.asked:
            self.asked = True
            self.dispatcher.soon(self._drain)

    def _drain(self) -> None:
        self.asked = False
        queue = self.queue
        while True:
            try:
                frame = queue.get_nowait()
            except IndexError:
                return
            except QueueClosed:
                self.track._end()
                return
            self.track._deliver(frame)


class LocalRoomServer:
    """An in-process room server (rooms, tokens, per-subscriber audio forwarding).

    Parameters
    ----------
    api_key : str
        API key; tokens carry it as their issuer.
    api_secret : str
        HS256 signing secret, at least 32 bytes (LiveKit's server has the same rule).
    subscriber_queue_frames : int, keyword-only, optional
        Frames buffered per subscription before the oldest are dropped (default 500, 5 s of
        10 ms frames).
    rooms : iterable of str or None, keyword-only, optional
        If given, only these rooms exist and tokens for any other room are refused; by
        default a room is created when its first participant joins and deleted when its
        last one leaves (rooms made with :meth:`create_room` or listed here are kept).

    Attributes
    ----------
    url : str
        ``local://<id>``, the URL to pass to :meth:`Room.connect`. The server is found
        through it only while the server object is alive: keep a reference.

    Raises
    ------
    TypeError, ValueError
        On a non-string key or secret, an empty key, a short secret, or a bad queue size.
    """

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        subscriber_queue_frames: int = 500,
        rooms: list[str] | None = None,
    ) -> None:
        if not isinstance(api_key, str):
            raise TypeError(f"api_key must be a str, got {type(api_key).__name__}")
        if not api_key:
            raise ValueError("api_key must be non-empty")
        check_secret(api_secret)
        if isinstance(subscriber_queue_frames, bool) or not isinstance(
            subscriber_queue_frames, int
        ):
            kind = type(subscriber_queue_frames).__name__
            raise TypeError(f"subscriber_queue_frames must be an int, got {kind}")
        if subscriber_queue_frames < 1:
            raise ValueError(f"subscriber_queue_frames must be >= 1, got {subscriber_queue_frames}")
        self._api_key = api_key
        self._api_secret = api_secret
        self._queue_frames = subscriber_queue_frames
        self._fixed_rooms = rooms is not None
        self._rooms: dict[str, _ServerRoom] = {}
        for name in rooms or ():
            self.create_room(name)
        self._url = f"local://{secrets.token_hex(8)}"
        _SERVERS[self._url] = self

    @property
    def url(self) -> str:
        return self._url

    @property
    def api_key(self) -> str:
        return self._api_key

    def create_token(
        self,
        identity: str,
        room: str,
        *,
        name: str = "",
        metadata: str = "",
        ttl: float = 6 * 3600.0,
        can_publish: bool = True,
        can_subscribe: bool = True,
    ) -> str:
        """A LiveKit-format access token for ``identity`` to join ``room`` on this server.

        ``ttl`` is in seconds (negative: already expired, for tests). See
        :func:`livekit_audio.rtc._token.mint_token`.
        """
        return mint_token(
            self._api_key,
            self._api_secret,
            identity=identity,
            room=room,
            name=name,
            metadata=metadata,
            ttl=ttl,
            can_publish=can_publish,
            can_subscribe=can_subscribe,
        )

    def create_room(self, name: str) -> None:
        """Make ``name`` a room of this server (no-op if it exists)."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"room name must be a non-empty str, got {name!r}")
        self._rooms.setdefault(name, _ServerRoom(name))

    @property
    def rooms(self) -> list[str]:
        """Names of the rooms."""
        return list(self._rooms)

    def participants(self, room: str) -> list[str]:
        """Identities in ``room`` (empty if there is no such room)."""
        r = self._rooms.get(room)
        return list(r.sessions) if r else []

    def subscriber_drops(self, room: str, identity: str) -> int:
        """Frames dropped so far on ``identity``'s current subscriptions in ``room``."""
        r = self._rooms.get(room)
        if r is None:
            return 0
        return sum(
            link.dropped
            for s in r.sessions.values()
            for p in s.published.values()
            for sub, link in p.links.items()
            if sub == identity
        )

    # -- server-side operations -------------------------------------------------------

    def _session(self, identity: str, room: str | None) -> _Session:
        if room is not None:
            r = self._rooms.get(room)
            session = r.sessions.get(identity) if r else None
            if session is None:
                raise ValueError(f"no participant {identity!r} in room {room!r}")
            return session
        found = [r.sessions[identity] for r in self._rooms.values() if identity in r.sessions]
        if not found:
            raise ValueError(f"no participant {identity!r} on this server")
        if len(found) > 1:
            raise ValueError(f"participant {identity!r} is in several rooms; pass room=")
        return found[0]

    async def refresh_token(
        self, identity: str, *, room: str | None = None, ttl: float = 6 * 3600.0
    ) -> str:
        """Issue a new token for a connected participant, as a LiveKit server does.

        The participant's room stores it and emits ``token_refreshed``; every track in that
        room pushes the new credentials (only) to its streams' processors.

        Returns
        -------
        str
            The new token.

        Raises
        ------
        ValueError
            If the participant is not connected (or ``room`` is needed to disambiguate).
        """
        session = self._session(identity, room)
        await asyncio.sleep(0)
        if not session.alive:
            raise ValueError(f"participant {identity!r} left meanwhile")
        c = session.claims
        token = mint_token(
            self._api_key,
            self._api_secret,
            identity=c.identity,
            room=c.room,
            name=c.name,
            metadata=c.metadata,
            ttl=ttl,
            can_publish=c.can_publish,
            can_subscribe=c.can_subscribe,
        )
        session.token = token
        session.client._apply_token_refreshed(token)
        return token

    async def simulate_full_reconnect(self, identity: str, *, room: str | None = None) -> None:
        """Make a participant go through a full reconnect.

        Its room emits ``reconnecting``, republishes every local track under a new
        publication SID (``local_track_republished(publication, previous_sid)``; stream
        processors receive the new SID), then emits ``reconnected``. Other participants see
        each old publication unpublished and the new one published and subscribed. The
        participant's own subscriptions are kept.
        """
        session = self._session(identity, room)
        await asyncio.sleep(0)
        if not session.alive:
            raise ValueError(f"participant {identity!r} left meanwhile")
        client = session.client
        client._apply_reconnecting()
        for old_sid, old in list(session.published.items()):
            self._withdraw(session, old)
            new = _Published(session, old.track, old.source)
            new.muted = old.muted
            session.published[new.sid] = new
            old.track._forward = new.forward
            client._apply_local_republished(old_sid, new.sid)
            self._announce(new)
        client._apply_reconnected()

    async def remove_participant(self, identity: str, *, room: str | None = None) -> None:
        """Disconnect a participant (``disconnected(PARTICIPANT_REMOVED)`` in its room)."""
        session = self._session(identity, room)
        await asyncio.sleep(0)
        if session.alive:
            self._leave(session, DisconnectReason.PARTICIPANT_REMOVED)

    async def aclose(self) -> None:
        """Disconnect everyone (``SERVER_SHUTDOWN``) and stop serving the URL."""
        for r in list(self._rooms.values()):
            for session in list(r.sessions.values()):
                self._leave(session, DisconnectReason.SERVER_SHUTDOWN)
        _SERVERS.pop(self._url, None)

    # -- called by Room ----------------------------------------------------------------

    def _join(self, client: Room, token: str, options: RoomOptions) -> None:
        claims = verify_token(token, self._api_key, self._api_secret)
        r = self._rooms.get(claims.room)
        if r is None:
            if self._fixed_rooms:
                raise TokenError(f"room {claims.room!r} does not exist on this server")
            r = self._rooms[claims.room] = _ServerRoom(claims.room, auto=True)
        old = r.sessions.get(claims.identity)
        if old is not None:
            self._leave(old, DisconnectReason.DUPLICATE_IDENTITY)
            self._rooms.setdefault(r.name, r)  # kept: someone is joining it
        session = _Session(client, r, claims, token, options)
        others = list(r.sessions.values())
        r.sessions[session.identity] = session
        client._apply_joined(self, session, url=self._url, token=token, options=options)
        for other in others:  # the new client learns the room as it is (no events)
            client._apply_participant_connected(
                other.sid, other.identity, other.name, other.metadata, emit=False
            )
            for p in other.published.values():
                client._apply_remote_published(
                    other.identity, p.sid, p.name, p.source, p.muted, emit=False
                )
        for other in others:  # the others see the newcomer
            if other.alive:
                other.client._apply_participant_connected(
                    session.sid, session.identity, session.name, session.metadata
                )
        client.emit("connection_state_changed", client.connection_state)
        client.emit("connected")
        if session.auto_subscribe and claims.can_subscribe:
            for other in others:
                for p in list(other.published.values()):
                    self._subscribe(p, session)

    def _leave(self, session: _Session, reason: DisconnectReason) -> None:
        if not session.alive:
            return
        session.alive = False
        r = session.room
        if r.sessions.get(session.identity) is session:
            del r.sessions[session.identity]
        for p in list(session.published.values()):  # the others lose its tracks
            self._withdraw(session, p)
        session.published.clear()
        for other in list(r.sessions.values()):  # its subscriptions end
            for p in other.published.values():
                link = p.links.pop(session.identity, None)
                if link is not None:
                    link.close()
        for other in list(r.sessions.values()):
            other.client._apply_participant_disconnected(session.identity)
        if r.auto and not r.sessions and self._rooms.get(r.name) is r:
            del self._rooms[r.name]  # as a LiveKit server closes an empty room
        session.client._apply_left(reason)

    def _publish(
        self, session: _Session, track: LocalAudioTrack, source: TrackSource
    ) -> LocalTrackPublication:
        if not session.alive:
            raise PublishTrackError("cannot publish: the room is not connected")
        if not session.claims.can_publish:
            raise PublishTrackError(
                f"participant {session.identity!r} has no publish grant (canPublish=false)"
            )
        if track.ended:
            raise PublishTrackError("cannot publish an ended track (its AudioSource is closed)")
        if track._publication is not None or track._forward is not None:
            raise PublishTrackError(f"track {track.sid} is already published")
        p = _Published(session, track, source)
        session.published[p.sid] = p
        track._forward = p.forward
        track._on_mute_changed = lambda muted, t=track: self._track_muted(t, muted)
        publication = session.client._apply_local_published(track, p.sid, source)
        self._announce(p)
        return publication

    def _unpublish(self, session: _Session, sid: str) -> None:
        p = session.published.pop(sid, None)
        if p is None:
            return
        self._withdraw(session, p)
        p.track._on_mute_changed = None
        session.client._apply_local_unpublished(sid)

    def _set_subscribed(
        self, session: _Session, publisher: str, sid: str, subscribed: bool
    ) -> None:
        if not session.alive:
            return
        owner = session.room.sessions.get(publisher)
        p = owner.published.get(sid) if owner else None
        if p is None:
            return
        if subscribed:
            if session.claims.can_subscribe:
                self._subscribe(p, session)
        else:
            self._unsubscribe(p, session)

    # -- internals -------------------------------------------------------------------

    def _announce(self, p: _Published) -> None:
        """Tell every other participant about ``p`` and auto-subscribe them."""
        for other in list(p.session.room.sessions.values()):
            if other is p.session or not other.alive:
                continue
            other.client._apply_remote_published(
                p.session.identity, p.sid, p.name, p.source, p.muted
            )
            if other.auto_subscribe and other.claims.can_subscribe:
                self._subscribe(p, other)

    def _withdraw(self, session: _Session, p: _Published) -> None:
        """Stop forwarding ``p``: subscribers unsubscribe, then see it unpublished."""
        session.published.pop(p.sid, None)
        if p.track._forward == p.forward:
            p.track._forward = None
        for identity in list(p.links):
            subscriber = session.room.sessions.get(identity)
            link = p.links.get(identity)
            if subscriber is not None and link is not None and link.subscriber is subscriber:
                self._unsubscribe(p, subscriber)
            elif link is not None:
                p.links.pop(identity, None)
                link.close()
        for other in list(session.room.sessions.values()):
            if other is not session and other.alive:
                other.client._apply_remote_unpublished(session.identity, p.sid)

    def _subscribe(self, p: _Published, subscriber: _Session) -> None:
        if subscriber.identity in p.links or not subscriber.alive:
            return
        if p.session.published.get(p.sid) is not p:
            return  # unpublished meanwhile
        link = _Link(p, subscriber, self._queue_frames)
        p.links[subscriber.identity] = link
        if not subscriber.client._apply_subscribed(p.session.identity, p.sid, link.track):
            p.links.pop(subscriber.identity, None)
            link.close()
            return
        if not p.subscribed_once:
            p.subscribed_once = True
            p.session.client._apply_local_subscribed(p.sid)

    def _unsubscribe(self, p: _Published, subscriber: _Session) -> None:
        link = p.links.pop(subscriber.identity, None)
        if link is None:
            return
        link.close()  # delivers what is in flight, then ends the remote track
        subscriber.client._apply_unsubscribed(p.session.identity, p.sid)

    def _track_muted(self, track: LocalAudioTrack, muted: bool) -> None:
        for r in self._rooms.values():
            for session in list(r.sessions.values()):
                for p in session.published.values():
                    if p.track is not track:
                        continue
                    p.muted = muted
                    session.client._apply_muted(None, p.sid, muted)
                    for link in p.links.values():
                        link.track._muted = muted
                    for other in list(r.sessions.values()):
                        if other is not session:
                            other.client._apply_muted(session.identity, p.sid, muted)

    def __repr__(self) -> str:
        return f"LocalRoomServer(url={self._url!r}, rooms={list(self._rooms)})"
