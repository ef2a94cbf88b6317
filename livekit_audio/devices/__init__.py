"""Audio devices through PortAudio: ``MediaDevices``, as ``livekit.rtc.MediaDevices``.

Needs the ``devices`` extra (``pip install "livekit-audio[devices]"``, which brings
``sounddevice``) and the system PortAudio library. Importing this package does not import
``sounddevice``: the first device query or stream does.
"""

from livekit_audio.devices._portaudio import DeviceError
from livekit_audio.devices.capture import CaptureStats, InputCapture
from livekit_audio.devices.echo import EchoDelayEstimator
from livekit_audio.devices.media_devices import (
    DEFAULT_BLOCKSIZE,
    DEFAULT_CHANNELS,
    DEFAULT_SAMPLE_RATE,
    MediaDevices,
)
from livekit_audio.devices.playback import OutputPlayer, PlaybackStats, PlayedBlock

__all__ = [
    "DEFAULT_BLOCKSIZE",
    "DEFAULT_CHANNELS",
    "DEFAULT_SAMPLE_RATE",
    "CaptureStats",
    "DeviceError",
    "EchoDelayEstimator",
    "InputCapture",
    "MediaDevices",
    "OutputPlayer",
    "PlaybackStats",
    "PlayedBlock",
]
