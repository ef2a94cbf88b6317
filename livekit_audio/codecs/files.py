"""Audio files: frames from any file PyAV or soundfile reads, and compressed output files.

:func:`audio_frames_from_file` is the async generator (livekit-agents' name, with
keyword-only options and ``frame_size_ms=``). :class:`AudioFileReader` is the same decoding
behind a small synchronous ``soundfile.SoundFile``-like interface, for the ``livekit-audio``
command; :func:`open_writer` picks the output encoding from a file's extension.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from livekit_audio.audio_frame import AudioFrame
from livekit_audio.codecs._base import DecodeError, Demuxer
from livekit_audio.codecs._formats import AutoDemuxer, detect
from livekit_audio.codecs.decoder import AudioStreamDecoder
from livekit_audio.convert import StreamConverter

__all__ = [
    "AudioFileReader",
    "audio_frames_from_file",
    "open_writer",
    "output_encoding",
    "writable_extensions",
]

#: Bytes read from a file per push.
_READ_BYTES = 64 * 1024
#: audio_frames_from_file stops reading while the decoder holds this much unparsed input.
_READ_AHEAD = 1 << 20
#: Formats our parsers read (anything else: soundfile first, then FFmpeg's probing).
_OUR_FORMATS = ("wav", "mp3", "aac", "ogg", "flac", "webm", "mp4")


def _sniff(path: str) -> str:
    with open(path, "rb") as f:
        head = f.read(4096)
    return detect(head, True) or "unknown"


def _have_av() -> bool:
    """Whether PyAV (the ``codecs`` extra) is installed."""
    import importlib.util

    return importlib.util.find_spec("av") is not None


def _soundfile(path: str) -> Any:
    """An open ``soundfile.SoundFile``, or None if libsndfile does not read ``path``."""
    import soundfile as sf

    try:
        return sf.SoundFile(path)
    except (sf.SoundFileError, RuntimeError, ValueError, TypeError):
        return None


async def audio_frames_from_file(
    path: str | os.PathLike[str],
    *,
    sample_rate: int | None = 48000,
    num_channels: int | None = 1,
    frame_size_ms: int | None = None,
) -> AsyncIterator[AudioFrame]:
    """Decode a file into AudioFrames, as an async generator.

    Parameters
    ----------
    path : path-like
        Any file our decoder (WAV, MP3, AAC, Ogg, FLAC, WebM, MP4 ...) or soundfile reads.
    sample_rate, num_channels, frame_size_ms : int or None, keyword-only
        Output format, as for :class:`~livekit_audio.codecs.AudioStreamDecoder` (defaults
        48000 Hz, mono, frames as decoded).

    Yields
    ------
    AudioFrame
        int16 frames at ``sample_rate`` with ``num_channels`` (the source's when None).

    Raises
    ------
    FileNotFoundError, IsADirectoryError, PermissionError
        If the file cannot be opened.
    DecodeError
        After the frames before it, if the file is corrupt, truncated or in no format we
        read.
    TypeError, ValueError
        On bad options (as AudioStreamDecoder).

    Notes
    -----
    The file is read 64 KiB at a time on the event loop (local reads take microseconds) and
    decoded in the decoders' shared pool; at most 1 MiB of it waits for the parser.
    """
    path = os.fspath(path)
    decoder = AudioStreamDecoder(
        sample_rate=sample_rate, num_channels=num_channels, frame_size_ms=frame_size_ms
    )
    kind = _sniff(path)
    if kind not in _OUR_FORMATS:
        sound_file = _soundfile(path)
        if sound_file is not None:
            await decoder.aclose()
            async for frame in _soundfile_frames(
                sound_file, sample_rate, num_channels, frame_size_ms
            ):
                yield frame
            return

    async def feed() -> None:
        with open(path, "rb") as f:
            while True:
                while decoder.buffered_input_bytes > _READ_AHEAD:
                    await asyncio.sleep(0.002)
                chunk = f.read(_READ_BYTES)
                if not chunk:
                    break
                decoder.push(chunk)
                await asyncio.sleep(0)
        decoder.end_input()

    feeder = asyncio.ensure_future(feed())
    try:
        async for frame in decoder:
            yield frame
    finally:
        if not feeder.done():
            feeder.cancel()
        await asyncio.gather(feeder, return_exceptions=True)
        await decoder.aclose()
    if feeder.done() and not feeder.cancelled() and feeder.exception() is not None:
        raise feeder.exception()  # type: ignore[misc]


async def _soundfile_frames(
    sound_file: Any, sample_rate: int | None, num_channels: int | None, frame_ms: int | None
) -> AsyncIterator[AudioFrame]:
    """Frames of a file only libsndfile reads, through the same converter as the decoder."""
    rate = int(sound_file.samplerate)
    channels = int(sound_file.channels)
    out_rate = rate if sample_rate is None else sample_rate
    out_channels = channels if num_channels is None else num_channels
    size = None if frame_ms is None else max(1, round(out_rate * frame_ms / 1000))
    with sound_file:
        converter = StreamConverter(rate, channels, out_rate, out_channels, size)
        while True:
            block = await asyncio.to_thread(sound_file.read, rate, "int16", True)
            if not len(block):
                break
            for out in converter.push(block):  # int16 (n, channels)
                yield out
    for out in converter.flush():
        yield out


class AudioFileReader:
    """Synchronous decoding of a file, read block by block as int16.

    The subset of ``soundfile.SoundFile`` the ``livekit-audio`` command uses:
    ``samplerate``, ``channels``, ``frames`` (an estimate for compressed files), ``read``,
    ``close`` and the context manager. Our parsers (and PyAV) read WAV, MP3, AAC, Ogg,
    FLAC, WebM and MP4, soundfile anything else libsndfile knows. The format of the first
    file is kept: a concatenated file at another rate or channel count is converted.

    Parameters
    ----------
    path : path-like
        The file.

    Raises
    ------
    OSError
        If the file cannot be opened.
    DecodeError
        If it is in no format we read, or its start is corrupt (later problems are raised by
        :meth:`read`).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._file: Any = None
        self._sf: Any = None
        kind = _sniff(self.path)
        if kind not in _OUR_FORMATS or (kind != "wav" and not _have_av()):
            # libsndfile also reads FLAC and Ogg Vorbis: without PyAV (the `codecs` extra)
            # those files, the bundled demo clip included, still open
            self._sf = _soundfile(self.path)
        if self._sf is not None:
            self.samplerate = int(self._sf.samplerate)
            self.channels = int(self._sf.channels)
            self.frames = int(self._sf.frames)
            return
        self._file = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        self._size = os.fstat(self._file.fileno()).st_size
        self._demuxer: Demuxer = AutoDemuxer()
        self._pending: deque[np.ndarray] = deque()
        self._held = 0
        self._eof = False
        self._converter: StreamConverter | None = None
        self._first_format: tuple[int, int] | None = None
        self._fed = 0
        try:
            while not self._pending and not self._eof:
                self._pull()
            fmt = self._first_format or self._demuxer.source_format
            if fmt is None:
                raise DecodeError(self._demuxer.name, self._fed, "no audio in the file")
        except BaseException:
            self.close()
            raise
        self.samplerate, self.channels = fmt
        decoded = self._held
        self.frames = (
            decoded if self._eof else int(decoded * self._size / max(1, self._fed))
        )  # an estimate, for progress only

    def _pull(self) -> None:
        """Feed one block of the file (or the end of it) and keep what comes out."""
        frames: list[AudioFrame] = []
        chunk = self._file.read(_READ_BYTES)
        if chunk:
            self._fed += len(chunk)
            self._demuxer.feed(chunk, self._fed == len(chunk), frames)
        else:
            while not self._demuxer.finish(frames):
                pass
            self._eof = True
        converter = self._converter
        for f in frames:
            layout = (f.sample_rate, f.num_channels)
            if converter is None:
                self._first_format = layout
                converter = self._converter = StreamConverter(*layout, *layout)
            elif layout != (converter.input_rate, converter.input_channels):
                # a concatenated file in another format: converted to the first one's
                self._keep(converter.set_input_format(*layout))
            self._keep(converter.push(f))
        if self._eof and converter is not None:
            self._keep(converter.flush())

    def _keep(self, frames: list[AudioFrame]) -> None:
        for f in frames:
            if f.samples_per_channel:
                self._pending.append(f.to_ndarray())
                self._held += f.samples_per_channel

    def read(self, frames: int = -1, dtype: str = "int16", always_2d: bool = True) -> np.ndarray:
        """Up to ``frames`` samples per channel (all that is left when ``frames < 0``).

        Parameters
        ----------
        frames : int
            Samples per channel to read; fewer only at the end of the file.
        dtype : {"int16"}
            Only int16 is produced.
        always_2d : bool
            Ignored: the result is always ``(n, channels)``.

        Returns
        -------
        numpy.ndarray
            int16 of shape ``(n, channels)``.

        Raises
        ------
        DecodeError
            If the file is corrupt or truncated at this point.
        ValueError
            If ``dtype`` is not int16.
        """
        if dtype != "int16":
            raise ValueError(f"AudioFileReader reads int16 only, got dtype={dtype!r}")
        if self._sf is not None:
            return np.asarray(self._sf.read(frames, dtype="int16", always_2d=True))
        want = frames if frames >= 0 else None
        while not self._eof and (want is None or self._held < want):
            self._pull()
        parts: list[np.ndarray] = []
        got = 0
        while self._pending and (want is None or got < want):
            block = self._pending.popleft()
            if want is not None and got + len(block) > want:
                cut = want - got
                self._pending.appendleft(block[cut:])
                block = block[:cut]
            parts.append(block)
            got += len(block)
        self._held -= got
        if not parts:
            return np.zeros((0, self.channels), dtype=np.int16)
        return np.ascontiguousarray(np.concatenate(parts) if len(parts) > 1 else parts[0])

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._sf is not None:
            self._sf.close()
        if self._file is not None:
            self._file.close()
            self._file = None
            self._demuxer.close()

    def __enter__(self) -> AudioFileReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: Compressed outputs by extension: (libsndfile major format, subtype, allowed rates or None).
_COMPRESSED = {
    "ogg": ("OGG", "VORBIS", None),
    "opus": ("OGG", "OPUS", (8000, 12000, 16000, 24000, 48000)),
    "mp3": (
        "MP3",
        "MPEG_LAYER_III",
        (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000),
    ),
}


def _pcm_extensions() -> list[str]:
    import soundfile as sf

    return sorted(
        ext.lower()
        for ext in sf.available_formats()
        if ext not in ("OGG", "MP3") and sf.check_format(ext, "PCM_16")
    )


def writable_extensions() -> list[str]:
    """Every extension :func:`open_writer` accepts, e.g. ``["aiff", ..., "wav", "flac",
    "mp3", "ogg", "opus"]``."""
    return _pcm_extensions() + sorted(_COMPRESSED)


def output_encoding(
    path: str, sample_rate: int | None = None, channels: int | None = None
) -> tuple[str, str]:
    """The (libsndfile format, subtype) ``path``'s extension selects.

    ``.ogg`` is Ogg Vorbis, ``.opus`` Ogg Opus (8, 12, 16, 24 or 48 kHz), ``.mp3`` MPEG-1/2
    Layer III (8 to 48 kHz, 1 or 2 channels); every other format libsndfile writes as 16-bit
    PCM (``.wav``, ``.flac``, ``.aiff``, ...) is 16-bit PCM.

    Raises
    ------
    ValueError
        For an unknown extension (the message lists the supported ones), or a rate or channel
        count the chosen encoding cannot store.
    """
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    if ext in _COMPRESSED:
        fmt, subtype, rates = _COMPRESSED[ext]
        if sample_rate is not None and rates is not None and sample_rate not in rates:
            raise ValueError(
                f".{ext} output needs a sample rate of {', '.join(map(str, rates))} Hz, got "
                f"{sample_rate} (choose one with --sample-rate)"
            )
        if ext == "mp3" and channels is not None and channels > 2:
            raise ValueError(f".mp3 output holds 1 or 2 channels, got {channels}")
        return fmt, subtype
    if ext and ext in _pcm_extensions():
        return ext.upper(), "PCM_16"
    what = f"extension .{ext}" if ext else "no extension"
    raise ValueError(
        f"unknown output format ({what}); supported extensions: "
        + ", ".join(f".{e}" for e in writable_extensions())
    )


def open_writer(path: str, sample_rate: int, channels: int) -> Any:
    """An open ``soundfile.SoundFile`` for writing int16 blocks, encoded by extension.

    Raises
    ------
    ValueError
        As :func:`output_encoding`.
    soundfile.LibsndfileError, OSError
        If libsndfile cannot create the file.
    """
    import soundfile as sf

    fmt, subtype = output_encoding(path, sample_rate, channels)
    return sf.SoundFile(
        path, "w", samplerate=sample_rate, channels=channels, format=fmt, subtype=subtype
    )
