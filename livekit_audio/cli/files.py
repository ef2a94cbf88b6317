"""The command's file I/O: opening the input and the output, output formats, why a write
failed, and reading the input as frames."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from livekit_audio.audio_frame import AudioFrame
from livekit_audio.cli.errors import CLIError

if TYPE_CHECKING:
    import soundfile

    from livekit_audio.codecs.files import AudioFileReader

__all__ = [
    "open_input",
    "open_output",
    "output_format",
    "read_frames",
    "remove_quietly",
    "same_file",
    "write_failure",
]

#: Roughly how much audio is read from the input per call, in seconds.
_READ_BLOCK_SECONDS = 1.0

#: Less free space than this where the output goes explains a failed write.
_LOW_SPACE_BYTES = 1 << 20


def read_frames(
    sound_file: soundfile.SoundFile,
    frame_length: int,
    *,
    on_block: Callable[[int], object] | None = None,
) -> Iterator[AudioFrame]:
    """Read an open ``soundfile.SoundFile`` block by block as int16 frames.

    Parameters
    ----------
    sound_file : soundfile.SoundFile
        Opened for reading; read from its current position to the end.
    frame_length : int
        Samples per channel in each frame, >= 1. The last frame may be shorter.
    on_block : callable, optional
        Called with the number of samples per channel of each block read (for progress).

    Returns
    -------
    iterator of AudioFrame
        Frames at the file's rate with its channel count (a generator). Roughly one second
        of audio is read per call, never the whole file.

    Raises
    ------
    ValueError
        If ``frame_length`` < 1.
    soundfile.LibsndfileError
        If the file cannot be decoded.
    """
    if frame_length < 1:
        raise ValueError(f"frame_length must be >= 1, got {frame_length}")
    rate = int(sound_file.samplerate)
    frames_per_block = max(1, round(_READ_BLOCK_SECONDS * rate / frame_length))
    block_length = frames_per_block * frame_length
    while True:
        block = sound_file.read(block_length, dtype="int16", always_2d=True)
        n = block.shape[0]
        if n == 0:
            return
        if on_block is not None:
            on_block(n)
        block = np.ascontiguousarray(block)
        for start in range(0, n, frame_length):
            yield AudioFrame.from_ndarray(block[start : start + frame_length], rate)
        if n < block_length:
            return


def open_input(path: str) -> AudioFileReader:
    """The input decoded by ``livekit_audio.codecs`` (WAV, MP3, AAC, Ogg Opus/Vorbis, FLAC,
    WebM, MP4, G.711 WAV, ...; anything else libsndfile reads)."""
    from livekit_audio.codecs._base import DecodeError
    from livekit_audio.codecs.files import AudioFileReader

    if not os.path.exists(path):
        raise CLIError(f"{path}: no such file")
    if os.path.isdir(path):
        raise CLIError(f"{path}: is a directory, expected an audio file")
    try:
        return AudioFileReader(path)
    except DecodeError as exc:
        raise CLIError(f"cannot read {path}: {exc}") from None
    except (OSError, RuntimeError, ValueError, TypeError) as exc:
        raise CLIError(f"cannot read {path}: {exc}") from None


def output_format(
    path: str, rate: int | None = None, channels: int | None = None
) -> tuple[str, str]:
    """(libsndfile format, subtype) for ``path``: 16-bit PCM, or Vorbis / Opus / MP3 for
    ``.ogg`` / ``.opus`` / ``.mp3`` (see ``livekit_audio.codecs.files.output_encoding``)."""
    from livekit_audio.codecs.files import output_encoding

    try:
        return output_encoding(path, rate, channels)
    except ValueError as exc:
        raise CLIError(f"cannot write {path}: {exc}") from None


def open_output(path: str, rate: int, channels: int) -> soundfile.SoundFile:
    """``path`` opened for writing in the format its extension names (see :func:`output_format`);
    CLIError, with no empty file left behind, when it cannot be created."""
    import soundfile as sf

    fmt, subtype = output_format(path, rate, channels)
    if os.path.isdir(path):
        raise CLIError(f"cannot write {path}: is a directory")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise CLIError(f"cannot write {path}: directory {parent} does not exist")
    existed = os.path.lexists(path)
    try:
        return sf.SoundFile(
            path, "w", samplerate=rate, channels=channels, format=fmt, subtype=subtype
        )
    except (sf.SoundFileError, OSError, RuntimeError, ValueError, TypeError) as exc:
        if not existed:  # libsndfile may leave an empty file behind
            remove_quietly(path)
        if isinstance(exc, sf.LibsndfileError):
            reason = exc.error_string.strip()
            if reason.rstrip(".") == "System error":
                reason = write_failure(path, "permission denied or not writable")
        else:
            reason = str(exc)
        raise CLIError(f"cannot write {path}: {reason}") from None


def same_file(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are the same existing file (False when either is missing)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def write_failure(out_path: str, reason: str) -> str:
    """libsndfile reports a failed write as "System error.": name the likely cause, a full
    disk, when the output's file system has (almost) no space left."""
    if reason.rstrip(".") != "System error" and "permission" not in reason:
        return reason
    parent = os.path.dirname(os.path.abspath(out_path))
    try:
        free = shutil.disk_usage(parent).free
    except OSError:
        return reason
    if free < _LOW_SPACE_BYTES:
        return (
            f"writing {out_path} failed: no space left on the device ({free} bytes free in "
            f"{parent})"
        )
    return f"writing {out_path} failed ({reason.rstrip('.')}): check permissions and space"


def remove_quietly(path: str) -> None:
    """Remove ``path``, ignoring any error (a partial output after a failure)."""
    try:
        os.remove(path)
    except OSError:
        pass
