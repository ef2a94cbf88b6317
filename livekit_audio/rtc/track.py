"""Audio tracks: ``LocalAudioTrack`` (fed by an AudioSource) and ``RemoteAudioTrack``.

Follows ``livekit.rtc``'s tracks. A track holds a weak reference to the room it is in and a
weak set of the AudioStreams registered on it. Whenever the room changes (local publish, remote
subscribe, unpublish, unsubscribe, republish after a full reconnect, disconnect) the track
pushes the new stream info and credentials to the FrameProcessor of every registered stream,
or clears them when it leaves its room. Clearing a track that is in no room is a no-op.

Real-time tracks (every remote track, and local tracks of a real-time AudioSource) hand audio
to their streams through a :class:`Playout`, as the jitter buffer and audio device behind a
LiveKit stream do: a 10 ms frame every 10 ms while the track has streams, the audio that
arrives re-cut into 10 ms frames and digital silence when none does. One playout per track
(not per stream); all the playouts of an event loop are paced by one shared timer
(:class:`_Ticker`).
"""

from __future__ import annotations

import enum
import secrets
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from livekit_audio._log import logger
from livekit_audio.audio_frame import AudioFrame
from livekit_audio.rtc.playout import Playout

if TYPE_CHECKING:
    from livekit_audio.rtc.audio_source import AudioSource
    from livekit_audio.rtc.audio_stream import AudioStream
    from livekit_audio.rtc.room import Room

__all__ = [
    "AudioTrack",
    "LocalAudioTrack",
    "RemoteAudioTrack",
    "Track",
    "TrackKind",
    "TrackSource",
]


class TrackKind(enum.IntEnum):
    """Kind of media a track carries (values match ``livekit.rtc.TrackKind``)."""

    KIND_UNKNOWN = 0
    KIND_AUDIO = 1
    KIND_VIDEO = 2


class TrackSource(enum.IntEnum):
    """Where a published track comes from (values match ``livekit.rtc.TrackSource``)."""

    SOURCE_UNKNOWN = 0
    SOURCE_CAMERA = 1
    SOURCE_MICROPHONE = 2
    SOURCE_SCREENSHARE = 3
    SOURCE_SCREENSHARE_AUDIO = 4


def _new_sid(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


def _check_track_args(name: object, source: Any, source_type: type[Any], article: str) -> None:
    """The checks of ``create_audio_track``/``create_video_track``: ``name`` a str, ``source``
    an open ``source_type`` (TypeError / ValueError naming what was expected)."""
    kind = source_type.__name__
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if not isinstance(source, source_type):
        raise TypeError(f"source must be {article} {kind}, got {type(source).__name__}")
    if source.closed:
        raise ValueError(f"source is closed; create the track from an open {kind}")


def _safe_call(what: str, fn: Callable[..., None], **kwargs: Any) -> None:
    """Run a processor hook; a failing hook is logged and never stops the others."""
    try:
        fn(**kwargs)
    except Exception:
        logger.exception("FrameProcessor hook %s failed", what)


class Track:
    """Base class of tracks (audio here; ``LocalVideoTrack`` in :mod:`.video_track`). Created
    by the SDK, not directly.

    Attributes
    ----------
    sid : str
        Track SID; equal to the publication SID once published.
    name : str
        Track name given at creation or publication.
    kind : TrackKind
        ``TrackKind.KIND_AUDIO`` for the audio tracks; ``KIND_VIDEO`` for a video track.
    muted : bool
        Whether the track is muted (a muted audio track carries silence).
    """

    def __init__(self, sid: str, name: str, *, muted: bool = False) -> None:
        self._sid = sid
        self._name = name
        self._kind = TrackKind.KIND_AUDIO
        self._muted = muted
        self._ended = False
        self._room_ref: weakref.ref[Room] | None = None
        self._participant_identity = ""
        self._publication_sid = ""
        self._audio_streams: weakref.WeakSet[AudioStream] = weakref.WeakSet()
        self._playout: Playout | None = None  # real-time tracks: paces their streams

    @property
    def sid(self) -> str:
        return self._sid

    @property
    def name(self) -> str:
        return self._name

    @property
    def kind(self) -> TrackKind:
        return self._kind

    @property
    def muted(self) -> bool:
        return self._muted

    @property
    def ended(self) -> bool:
        """Whether the track has ended (source closed, or remote track unsubscribed)."""
        return self._ended

    # -- room membership and processor metadata -------------------------------------------

    def _resolve_room(self) -> Room | None:
        return self._room_ref() if self._room_ref is not None else None

    def _set_room(
        self,
        room: Room | None,
        *,
        participant_identity: str = "",
        publication_sid: str = "",
    ) -> None:
        """Move the track into ``room`` (re-pushing if already there) or out of its room.

        ``_set_room(None)`` on a track that is in no room does nothing, so every path that
        may clear a track (unpublish, the unpublished event, disconnect...) can call it.
        """
        old = self._resolve_room()
        if room is None:
            self._room_ref = None
            self._participant_identity = self._publication_sid = ""
            if old is None:
                return  # already cleared: idempotent
            old._tracks.discard(self)
            for stream in list(self._audio_streams):
                self._push_cleared(stream)
            return
        if old is not None and old is not room:
            self._set_room(None)
        self._room_ref = weakref.ref(room)
        self._participant_identity = participant_identity
        self._publication_sid = publication_sid
        room._tracks.add(self)
        for stream in list(self._audio_streams):
            self._push_info(stream, room)

    def _push_info(self, stream: AudioStream, room: Room) -> None:
        processor = stream._processor
        if processor is None:
            return
        _safe_call(
            "_on_stream_info_updated",
            processor._on_stream_info_updated,
            room_name=room.name,
            participant_identity=self._participant_identity,
            publication_sid=self._publication_sid,
        )
        self._push_credentials_to(stream, room)

    @staticmethod
    def _push_credentials_to(stream: AudioStream, room: Room) -> None:
        processor = stream._processor
        token, url = room._token, room._server_url
        if processor is None or not token or not url:
            return  # never push empty credentials
        _safe_call(
            "_on_credentials_updated", processor._on_credentials_updated, token=token, url=url
        )

    @staticmethod
    def _push_cleared(stream: AudioStream) -> None:
        processor = stream._processor
        if processor is None:
            return
        _safe_call("_on_stream_info_cleared", processor._on_stream_info_cleared)
        _safe_call("_on_credentials_cleared", processor._on_credentials_cleared)

    def _push_credentials(self) -> None:
        """The room's token changed: push credentials (only) to every registered stream."""
        room = self._resolve_room()
        if room is None:
            return
        for stream in list(self._audio_streams):
            self._push_credentials_to(stream, room)

    # -- streams -----------------------------------------------------------------------

    def _register_audio_stream(self, stream: AudioStream) -> None:
        self._audio_streams.add(stream)
        room = self._resolve_room()
        if room is not None:
            self._push_info(stream, room)  # a stream on a track already in a room: at once
        if self._ended:
            stream._on_track_ended(self)
        elif self._playout is not None:
            self._playout.start(stream._loop)

    def _unregister_audio_stream(self, stream: AudioStream) -> None:
        self._audio_streams.discard(stream)
        if self._playout is not None and self._playout.running:
            self._playout.streams_changed()  # stops it with the last stream

    def _deliver(self, frame: AudioFrame) -> None:
        """Hand one frame to every registered stream (never blocks).

        On a real-time track the frame goes through the playout (re-cut into 10 ms slots,
        silence in between); otherwise each stream gets it as is.
        """
        if self._ended:
            return
        if self._playout is not None:
            self._playout.push(frame)
            return
        for stream in list(self._audio_streams):
            stream._feed(frame)

    def _end(self) -> None:
        """No more frames will come: registered streams finish after what they hold."""
        if self._ended:
            return
        self._ended = True
        if self._playout is not None:
            self._playout.end()
        for stream in list(self._audio_streams):
            stream._on_track_ended(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sid={self._sid!r}, name={self._name!r})"


class LocalAudioTrack(Track):
    """An audio track fed by an :class:`~livekit_audio.AudioSource`; publish it to a room.

    Create with :meth:`create_audio_track`. AudioStreams on a local track read what the
    source plays out. With a real-time source (the default), as with ``livekit.rtc``, they
    get a 10 ms frame every 10 ms: the captured audio in 10 ms frames, and silence while
    nothing is captured. With ``AudioSource(realtime=False)`` (offline work, no clock) they
    get exactly the captured frames and nothing else.
    """

    def __init__(self, name: str, source: AudioSource) -> None:
        super().__init__(_new_sid("TR"), name)
        self._source = source
        if source.realtime:
            self._playout = Playout(self._audio_streams, source.sample_rate, source.num_channels)
        self._publication: Any = None  # LocalTrackPublication while published
        self._forward: Callable[[AudioFrame], None] | None = None  # the room's fan-out
        self._on_mute_changed: Callable[[bool], None] | None = None

    @staticmethod
    def create_audio_track(name: str, source: AudioSource) -> LocalAudioTrack:
        """A new local track carrying what ``source`` captures.

        Parameters
        ----------
        name : str
            Track name (e.g. ``"microphone"``).
        source : AudioSource
            The source whose frames the track carries.

        Raises
        ------
        TypeError
            If ``name`` is not a str or ``source`` is not an AudioSource.
        ValueError
            If ``source`` is closed.
        """
        from livekit_audio.rtc.audio_source import AudioSource

        _check_track_args(name, source, AudioSource, "an")
        track = LocalAudioTrack(name, source)
        source._add_track(track)
        return track

    @property
    def source(self) -> AudioSource:
        """The AudioSource feeding this track."""
        return self._source

    def mute(self) -> None:
        """Carry silence from now on (subscribers see ``track_muted``)."""
        self._set_muted(True)

    def unmute(self) -> None:
        """Carry the source's audio again (subscribers see ``track_unmuted``)."""
        self._set_muted(False)

    def _set_muted(self, muted: bool) -> None:
        if self._muted == muted:
            return
        self._muted = muted
        if self._on_mute_changed is not None:
            self._on_mute_changed(muted)

    def _deliver(self, frame: AudioFrame) -> None:
        """Hand one played-out frame to local streams and, if published, to the room."""
        if self._ended:
            return
        if self._muted:  # a muted track carries silence (keeps every consumer's clock)
            frame = AudioFrame.create(
                frame.sample_rate, frame.num_channels, frame.samples_per_channel
            )
        super()._deliver(frame)
        forward = self._forward
        if forward is not None:
            forward(frame)


class RemoteAudioTrack(Track):
    """What a subscriber receives for another participant's published audio track.

    A new object is created for each subscription; it ends when the subscription ends.
    While subscribed, as in LiveKit, its AudioStreams get a 10 ms frame every 10 ms: the
    publisher's audio in 10 ms frames as it arrives, and digital silence (at the published
    rate and channel count) whenever none does, whether the publisher is quiet, muted, or
    its source is closed. See :class:`Playout` for the pacing rules.

    Parameters
    ----------
    sid, name : str
        Publication SID and track name.
    muted : bool, keyword-only
        Whether the publication is muted.
    sample_rate, num_channels : int, keyword-only
        Layout of the published audio (the publisher's source), used for the silence.
    """

    def __init__(
        self,
        sid: str,
        name: str,
        *,
        muted: bool = False,
        sample_rate: int = 48000,
        num_channels: int = 1,
    ) -> None:
        super().__init__(sid, name, muted=muted)
        self._playout = Playout(self._audio_streams, sample_rate, num_channels)


AudioTrack = LocalAudioTrack | RemoteAudioTrack
