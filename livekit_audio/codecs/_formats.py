"""Which parser reads a stream: MIME types (``format=``) and magic bytes (``format=None``)."""

from __future__ import annotations

from collections.abc import Callable

from livekit_audio.audio_frame import AudioFrame
from livekit_audio.codecs._av import ContainerDemuxer
from livekit_audio.codecs._base import Demuxer
from livekit_audio.codecs._flac import FlacDemuxer
from livekit_audio.codecs._mpeg import AdtsDemuxer, Mp3Demuxer, tag_length
from livekit_audio.codecs._ogg import OggDemuxer
from livekit_audio.codecs._pcm import PcmSpec, RawDemuxer, WavDemuxer

__all__ = ["MIME_TYPES", "AutoDemuxer", "demuxer_for", "detect"]

_MAKERS: dict[str, Callable[[], Demuxer]] = {
    "wav": WavDemuxer,
    "mp3": Mp3Demuxer,
    "aac": AdtsDemuxer,
    "ogg": OggDemuxer,
    "flac": FlacDemuxer,
    "webm": lambda: ContainerDemuxer("webm", "matroska"),
    "mp4": lambda: ContainerDemuxer("mp4", "mp4"),
}

#: Accepted MIME types (parameters such as ``;codecs=opus`` are ignored except for raw PCM).
MIME_TYPES: dict[str, str] = {
    "audio/wav": "wav",
    "audio/wave": "wav",
    "audio/x-wav": "wav",
    "audio/vnd.wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/x-mpeg": "mp3",
    "audio/mpeg3": "mp3",
    "audio/aac": "aac",
    "audio/x-aac": "aac",
    "audio/aacp": "aac",
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "application/ogg": "ogg",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
    "audio/webm": "webm",
    "video/webm": "webm",
    "audio/mp4": "mp4",
    "audio/x-m4a": "mp4",
    "audio/pcmu": "pcmu",
    "audio/basic": "pcmu",
    "audio/pcma": "pcma",
    "audio/pcm": "pcm",
    "audio/l16": "l16",
}

#: Default rate of the raw types (RTP payload types 0 and 8 are 8 kHz; L16 has no default).
_RAW_DEFAULT_RATE = {"pcmu": 8000, "pcma": 8000}


def _params(mime: str) -> tuple[str, dict[str, str]]:
    base, *rest = (part.strip() for part in mime.split(";"))
    params = {}
    for p in rest:
        key, _, value = p.partition("=")
        params[key.strip().lower()] = value.strip().strip('"')
    return base.lower(), params


def demuxer_for(mime: str) -> Callable[[], Demuxer]:
    """A factory of the parser for ``mime``.

    Raises
    ------
    ValueError
        For an unknown type, or raw PCM without a valid ``rate`` (``audio/pcm``,
        ``audio/L16``) or with a bad ``channels`` parameter.
    """
    base, params = _params(mime)
    kind = MIME_TYPES.get(base)
    if kind is None:
        raise ValueError(
            f"unsupported format {mime!r}: use one of {', '.join(sorted(MIME_TYPES))} "
            "(or None to detect)"
        )
    if kind in _MAKERS:
        return _MAKERS[kind]
    try:
        rate = int(params["rate"]) if "rate" in params else _RAW_DEFAULT_RATE.get(kind)
        channels = int(params.get("channels", "1"))
    except ValueError:
        raise ValueError(f"format {mime!r}: rate and channels must be integers") from None
    if rate is None:
        raise ValueError(
            f"format {mime!r} needs a rate parameter, e.g. '{base};rate=16000;channels=1'"
        )
    if rate < 1 or channels < 1:
        raise ValueError(f"format {mime!r}: rate and channels must be >= 1")
    label = {"pcmu": "pcmu", "pcma": "pcma", "pcm": "pcm", "l16": "l16"}[kind]
    spec: Callable[[], PcmSpec] = {
        "pcmu": lambda: PcmSpec("ulaw", 1, rate, channels),
        "pcma": lambda: PcmSpec("alaw", 1, rate, channels),
        "pcm": lambda: PcmSpec("int", 2, rate, channels, "<"),
        "l16": lambda: PcmSpec("int", 2, rate, channels, ">"),
    }[kind]
    return lambda: RawDemuxer(spec(), label)


def detect(head: bytes, complete: bool) -> str | None:
    """The format of a stream starting with ``head``, by magic bytes; None if more bytes are
    needed. ``complete``: no more bytes will come (decide now; "unknown" if nothing fits)."""
    if len(head) < 12 and not complete:
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if head[4:8] == b"ftyp":
        return "mp4"
    pos = 0
    while head[pos : pos + 3] == b"ID3":
        n = tag_length(head, pos)
        if n is None or len(head) < pos + n + 4:
            return None if not complete else "unknown"
        pos += n
    if head[pos : pos + 4] == b"fLaC":
        return "flac"
    if len(head) >= pos + 2 and head[pos] == 0xFF:
        b1 = head[pos + 1]
        if (b1 & 0xF6) == 0xF0:
            return "aac"
        if (b1 & 0xE0) == 0xE0 and (b1 >> 1) & 3:
            return "mp3"
    return "unknown"


#: Bytes gathered before giving up on magic bytes and letting FFmpeg probe the whole input.
_MAX_SNIFF = 1 << 20


class AutoDemuxer(Demuxer):
    """Holds the first bytes until the format is known, then hands everything to its parser.
    Unknown magic bytes go to FFmpeg's probing (whole input)."""

    def __init__(self) -> None:
        super().__init__()
        self._head = bytearray()
        self._inner: Demuxer | None = None
        self.name = "audio"

    @property
    def source_format(self) -> tuple[int, int] | None:
        return None if self._inner is None else self._inner.source_format

    def _choose(self, complete: bool) -> bool:
        kind = detect(bytes(self._head), complete or len(self._head) >= _MAX_SNIFF)
        if kind is None:
            return False
        self._inner = _MAKERS[kind]() if kind in _MAKERS else ContainerDemuxer("audio")
        self.name = self._inner.name
        return True

    def feed(self, data: bytes, chunk_start: bool, out: list[AudioFrame]) -> None:
        self.offset += len(data)
        if self._inner is None:
            self._head += data
            if not self._choose(False):
                return
            data, self._head = bytes(self._head), bytearray()
            chunk_start = True
        assert self._inner is not None
        try:
            self._inner.feed(data, chunk_start, out)
        finally:
            self.name = self._inner.name

    def finish(self, out: list[AudioFrame]) -> bool:
        if self._inner is None:
            if not self._head:
                return True
            self._choose(True)
            assert self._inner is not None
            head, self._head = bytes(self._head), bytearray()
            self._inner.feed(head, True, out)
        try:
            return self._inner.finish(out)
        finally:
            self.name = self._inner.name

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()
