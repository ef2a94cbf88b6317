"""livekit_audio: Cython-accelerated audio DSP for real-time voice.

The API follows the audio surface of LiveKit's Python SDK (``livekit.rtc``).
"""

from livekit_audio import filters
from livekit_audio._errors import DSPError, LivekitAudioError
from livekit_audio.apm import (
    ApmStats,
    AudioProcessingError,
    AudioProcessingModule,
    NoiseSuppressionLevel,
    process_batch,
)
from livekit_audio.apm_processor import ApmProcessor, ApmStage
from livekit_audio.audio_filter import (
    PLUGIN_ABI_VERSION,
    AudioFilter,
    FilterError,
    FilterInstance,
    get_filter,
    get_include,
)
from livekit_audio.audio_frame import AudioFrame, combine_audio_frames
from livekit_audio.convert import StreamConverter
from livekit_audio.filter_processor import FilterProcessor, FilterStage
from livekit_audio.frame_chunker import FrameChunker
from livekit_audio.frame_processor import FrameProcessor, NoiseCancellationOptions
from livekit_audio.integrations import _rtc_hook
from livekit_audio.mixer import AudioMixer, mix_frames
from livekit_audio.processors import GainProcessor
from livekit_audio.resampler import (
    QUALITY_SPECS,
    AudioResampler,
    AudioResamplerQuality,
    resample,
)
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
from livekit_audio.sine_wave import sine_wave_generator

_rtc_hook.install()  # our FrameProcessors count as livekit.rtc ones once livekit is imported

__version__ = "0.1.0"

__all__ = [
    "AVSynchronizer",
    "ApmProcessor",
    "ApmStage",
    "ApmStats",
    "AudioFilter",
    "AudioFrame",
    "AudioFrameEvent",
    "AudioMixer",
    "AudioProcessingError",
    "AudioProcessingModule",
    "AudioSource",
    "AudioStream",
    "AudioStreamStats",
    "AudioTrack",
    "EventEmitter",
    "NoiseCancellationOptions",
    "ConnectError",
    "ConnectionState",
    "DisconnectReason",
    "FilterError",
    "FilterInstance",
    "FilterProcessor",
    "FilterStage",
    "FrameChunker",
    "LocalAudioTrack",
    "LocalParticipant",
    "LocalRoomServer",
    "LocalTrackPublication",
    "LocalVideoTrack",
    "NoiseSuppressionLevel",
    "AudioResampler",
    "AudioResamplerQuality",
    "DSPError",
    "FrameProcessor",
    "GainProcessor",
    "LivekitAudioError",
    "PLUGIN_ABI_VERSION",
    "QUALITY_SPECS",
    "__version__",
    "Participant",
    "PublishTrackError",
    "RemoteAudioTrack",
    "RemoteParticipant",
    "RemoteTrackPublication",
    "Room",
    "RoomOptions",
    "StreamConverter",
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
    "combine_audio_frames",
    "filters",
    "get_filter",
    "get_include",
    "mix_frames",
    "process_batch",
    "resample",
    "sine_wave_generator",
]
