"""livekit_audio: Cython-accelerated audio DSP for real-time voice.

The API follows the audio surface of LiveKit's Python SDK (``livekit.rtc``).
"""

from livekit_audio._errors import DSPError, LivekitAudioError
from livekit_audio.apm import (
    ApmStats,
    AudioProcessingError,
    AudioProcessingModule,
    NoiseSuppressionLevel,
)
from livekit_audio.audio_frame import AudioFrame, combine_audio_frames
from livekit_audio.frame_chunker import FrameChunker
from livekit_audio.frame_processor import FrameProcessor
from livekit_audio.resampler import (
    QUALITY_SPECS,
    AudioResampler,
    AudioResamplerQuality,
    resample,
)
from livekit_audio.sine_wave import sine_wave_generator

__version__ = "0.1.0"

__all__ = [
    "ApmStats",
    "AudioFrame",
    "AudioProcessingError",
    "AudioProcessingModule",
    "FrameChunker",
    "NoiseSuppressionLevel",
    "AudioResampler",
    "AudioResamplerQuality",
    "DSPError",
    "FrameProcessor",
    "LivekitAudioError",
    "QUALITY_SPECS",
    "__version__",
    "combine_audio_frames",
    "resample",
    "sine_wave_generator",
]
