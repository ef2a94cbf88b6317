"""Encoded audio in, AudioFrames out: AudioStreamDecoder, AudioByteStream, G.711.

- :class:`AudioStreamDecoder`: bytes pushed in any pieces, converted frames out (``async
  for``), as livekit-agents' decoder, with errors that reach the reader, concatenated files,
  a shared pool of at most 4 threads and a prompt ``aclose``.
- :func:`audio_frames_from_file`: the frames of any file PyAV or soundfile reads.
- :class:`AudioByteStream`: raw int16 bytes in, frames of a fixed size out.
- :func:`ulaw_encode`, :func:`ulaw_decode`, :func:`alaw_encode`, :func:`alaw_decode`:
  ITU-T G.711 on numpy arrays (C kernels).

PyAV (``pip install 'livekit-audio[codecs]'``) decodes everything but WAV, raw PCM and G.711.
"""

from livekit_audio.codecs._base import DecodeError
from livekit_audio.codecs.byte_stream import AudioByteStream
from livekit_audio.codecs.decoder import AudioStreamDecoder
from livekit_audio.codecs.files import audio_frames_from_file
from livekit_audio.codecs.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode

__all__ = [
    "AudioByteStream",
    "AudioStreamDecoder",
    "DecodeError",
    "alaw_decode",
    "alaw_encode",
    "audio_frames_from_file",
    "ulaw_decode",
    "ulaw_encode",
]
