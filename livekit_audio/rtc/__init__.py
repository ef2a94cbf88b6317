"""The room model and the streaming layer: ``livekit.rtc``'s audio surface (plus an avatar's video).

Where a frame goes, one module per step (each imports only those above it):

1. :mod:`.audio_source` -- ``AudioSource.capture_frame`` queues a copy; the loop's
   dispatcher (:mod:`._dispatch`) plays it out in real time to the source's tracks.
2. :mod:`.track` -- a ``LocalAudioTrack`` hands it to its streams (through :mod:`.playout`,
   10 ms slots) and, when published, to the room.
3. :mod:`.room_server` -- each subscription carries it to the subscriber's
   ``RemoteAudioTrack`` in the next dispatch (:mod:`.room`, :mod:`.participant` and
   :mod:`.track_publication` are the model around it; :mod:`._token` signs the way in).
4. :mod:`.playout` -- a real-time track re-cuts audio into 10 ms slots, silence between.
5. :mod:`.audio_stream` -- each ``AudioStream`` converts the frame
   (:class:`~livekit_audio.StreamConverter`), runs its processor (in place and batched with
   every other stream due in the same dispatch) and queues it for its reader
   (:class:`~livekit_audio._aio.RingQueue`), the only task woken per frame.

Video, for an avatar's lip-synced picture (local only: the room carries audio), the same way:

6. :mod:`.video_frame` -- ``VideoFrame`` (RGBA or I420 bytes, validated; no conversion).
7. :mod:`.video_source` -- ``VideoSource.capture_frame`` hands an immutable copy at once to
   :mod:`.video_track`'s ``LocalVideoTrack``, which hands it to each of its
   :mod:`.video_stream` ``VideoStream`` readers (a ``RingQueue`` each).
8. :mod:`.synchronizer` -- ``AVSynchronizer`` pushes audio into an ``AudioSource`` and
   releases video to a ``VideoSource`` when that audio's playout reaches each frame's time.

Every public name is re-exported by the package root (``livekit_audio.AudioStream``); this
subpackage exists to keep the layer's modules together, not as a second import path.
"""

from livekit_audio.rtc._event_emitter import EventEmitter
from livekit_audio.rtc.audio_source import AudioSource
from livekit_audio.rtc.audio_stream import AudioFrameEvent, AudioStream, AudioStreamStats
from livekit_audio.rtc.participant import (
    LocalParticipant,
    Participant,
    PublishTrackError,
    RemoteParticipant,
    TrackPublishOptions,
    UnpublishTrackError,
)
from livekit_audio.rtc.room import (
    ConnectError,
    ConnectionState,
    DisconnectReason,
    Room,
    RoomOptions,
)
from livekit_audio.rtc.room_server import LocalRoomServer
from livekit_audio.rtc.synchronizer import AVSynchronizer
from livekit_audio.rtc.track import (
    AudioTrack,
    LocalAudioTrack,
    RemoteAudioTrack,
    Track,
    TrackKind,
    TrackSource,
)
from livekit_audio.rtc.track_publication import (
    LocalTrackPublication,
    RemoteTrackPublication,
    TrackPublication,
)
from livekit_audio.rtc.video_frame import VideoBufferType, VideoFrame, VideoRotation
from livekit_audio.rtc.video_source import VideoSource
from livekit_audio.rtc.video_stream import VideoFrameEvent, VideoStream
from livekit_audio.rtc.video_track import LocalVideoTrack

__all__ = [
    "AVSynchronizer",
    "AudioFrameEvent",
    "AudioSource",
    "AudioStream",
    "AudioStreamStats",
    "AudioTrack",
    "ConnectError",
    "ConnectionState",
    "DisconnectReason",
    "EventEmitter",
    "LocalAudioTrack",
    "LocalParticipant",
    "LocalRoomServer",
    "LocalTrackPublication",
    "LocalVideoTrack",
    "Participant",
    "PublishTrackError",
    "RemoteAudioTrack",
    "RemoteParticipant",
    "RemoteTrackPublication",
    "Room",
    "RoomOptions",
    "Track",
    "TrackKind",
    "TrackPublication",
    "TrackPublishOptions",
    "TrackSource",
    "UnpublishTrackError",
    "VideoBufferType",
    "VideoFrame",
    "VideoFrameEvent",
    "VideoRotation",
    "VideoSource",
    "VideoStream",
]
