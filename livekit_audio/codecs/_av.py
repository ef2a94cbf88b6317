"""PyAV codec contexts fed packet by packet, and the whole-input container path.

Our parsers (``_mpeg``, ``_ogg``, ``_flac``) cut the stream into packets without blocking, so
a decoder never waits for input inside FFmpeg and never holds a pool thread while it waits.
Decoded samples are converted to int16 here; rate and channel conversion happen later, in the
package's one converter.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from livekit_audio.audio_frame import AudioFrame
from livekit_audio.codecs._base import DecodeError, Demuxer, float_to_s16, frame

__all__ = ["AvDecoder", "ContainerDemuxer", "av_frame_to_s16", "import_av", "merge"]

#: Packets decoded per call of :meth:`ContainerDemuxer.finish` (bounds one pool step).
_PACKETS_PER_STEP = 64


def import_av() -> Any:
    """The ``av`` module, or ImportError naming the extra that installs it."""
    try:
        import av
    except ImportError as exc:  # pragma: no cover - av is in the codecs and test extras
        raise ImportError(
            "decoding compressed audio needs PyAV: pip install 'livekit-audio[codecs]'"
        ) from exc
    return av


def av_frame_to_s16(f: Any) -> np.ndarray:
    """A decoded ``av.AudioFrame`` as int16 of shape ``(samples, channels)``."""
    return _s16(f.to_ndarray(), f.format.is_planar, f.format.name, len(f.layout.channels))


def _s16(x: np.ndarray, planar: bool, fmt: str, channels: int) -> np.ndarray:
    x = x.T if planar else x.reshape(-1, channels)  # planar: (channels, n) -> (n, channels)
    name = fmt.rstrip("p")
    if name == "s16":
        return np.ascontiguousarray(x, dtype=np.int16)
    if name in ("flt", "dbl"):
        return np.ascontiguousarray(float_to_s16(x))
    if name == "s32":
        v = x.astype(np.int64)
        return np.ascontiguousarray(np.minimum((v + 32768) >> 16, 32767).astype(np.int16))
    if name == "u8":
        return np.ascontiguousarray(((x.astype(np.int16) - 128) << 8).astype(np.int16))
    raise ValueError(f"unexpected decoded sample format {fmt}")


def merge(decoded: list[Any]) -> list[AudioFrame]:
    """Decoded ``av.AudioFrame`` objects as int16 AudioFrames, consecutive frames of one
    format joined into one (one conversion per batch instead of one per packet)."""
    out: list[AudioFrame] = []
    i = 0
    while i < len(decoded):
        f = decoded[i]
        key = (f.format.name, int(f.sample_rate), len(f.layout.channels))
        j = i + 1
        while j < len(decoded):
            g = decoded[j]
            if (g.format.name, int(g.sample_rate), len(g.layout.channels)) != key:
                break
            j += 1
        if j - i == 1:
            out.append(frame(av_frame_to_s16(f), key[1]))
        else:
            parts = [g.to_ndarray() for g in decoded[i:j]]
            joined = np.concatenate(parts, axis=1)
            out.append(frame(_s16(joined, f.format.is_planar, key[0], key[2]), key[1]))
        i = j
    return out


class AvDecoder:
    """One FFmpeg decoder (``av.CodecContext``) fed whole packets.

    Parameters
    ----------
    codec : str
        FFmpeg decoder name (``"mp3"``, ``"aac"``, ``"opus"``, ``"vorbis"``, ``"flac"``).
    label : str
        The format named in errors.
    extradata : bytes, optional
        Codec setup (OpusHead, Vorbis headers, FLAC STREAMINFO).
    """

    def __init__(self, codec: str, label: str, extradata: bytes | None = None) -> None:
        av = import_av()
        self._av = av
        self.label = label
        self._ctx = av.CodecContext.create(codec, "r")
        if extradata:
            self._ctx.extradata = extradata

    def _frames(self, decoded: list[Any]) -> list[AudioFrame]:
        return [frame(av_frame_to_s16(f), int(f.sample_rate)) for f in decoded if f.samples]

    def decode(self, packet: bytes, offset: int) -> list[AudioFrame]:
        """Decode one packet that starts at stream byte ``offset``."""
        try:
            return self._frames(self._ctx.decode(self._av.Packet(packet)))
        except (self._av.FFmpegError, ValueError) as exc:
            raise DecodeError(self.label, offset, f"cannot decode a packet: {exc}") from None

    def decode_raw(self, packet: bytes, offset: int) -> list[Any]:
        """Decode one packet into ``av.AudioFrame`` objects (convert them with :func:`merge`)."""
        try:
            return [f for f in self._ctx.decode(self._av.Packet(packet)) if f.samples]
        except (self._av.FFmpegError, ValueError) as exc:
            raise DecodeError(self.label, offset, f"cannot decode a packet: {exc}") from None

    def parse(self, data: bytes | None) -> list[Any]:
        """Split raw bitstream into packets with FFmpeg's parser (``None``: flush it)."""
        if data is not None:
            return list(self._ctx.parse(data))
        packets: list[Any] = []
        for _ in range(64):
            more = self._ctx.parse(None)
            if not more:
                break
            packets.extend(more)
        return packets

    def decode_packet(self, packet: Any, offset: int) -> list[AudioFrame]:
        """Decode an ``av.Packet`` from :meth:`parse`."""
        try:
            return self._frames(self._ctx.decode(packet))
        except (self._av.FFmpegError, ValueError) as exc:
            raise DecodeError(self.label, offset, f"cannot decode a packet: {exc}") from None

    def flush(self, offset: int) -> list[AudioFrame]:
        """Whatever the decoder holds back (end of a file)."""
        try:
            return self._frames(self._ctx.decode(None))
        except (self._av.FFmpegError, ValueError) as exc:
            raise DecodeError(
                self.label, offset, f"cannot decode the last packets: {exc}"
            ) from None


class ContainerDemuxer(Demuxer):
    """Any container FFmpeg reads (MP4/M4A, WebM, CAF, ...), opened on the whole input.

    These containers may need to seek (an MP4's index is often at its end), so the input is
    kept until :meth:`finish` and then decoded a bounded number of packets per call. This is
    the one path that is not incremental.
    """

    def __init__(self, label: str = "audio", container_format: str | None = None) -> None:
        super().__init__()
        self.name = label
        self._format = container_format
        self._chunks: list[bytes] = []
        self._container: Any = None
        self._packets: Any = None
        self._decoder: Any = None
        self._stream: Any = None
        self._rate_channels: tuple[int, int] | None = None

    @property
    def source_format(self) -> tuple[int, int] | None:
        return self._rate_channels

    def feed(self, data: bytes, chunk_start: bool, out: list[AudioFrame]) -> None:
        self.offset += len(data)
        self._chunks.append(bytes(data))

    def _open(self) -> None:
        av = import_av()
        data = b"".join(self._chunks)
        self._chunks = []
        try:
            self._container = av.open(io.BytesIO(data), mode="r", format=self._format)
        except (av.FFmpegError, ValueError) as exc:
            raise DecodeError(self.name, 0, f"unrecognised or corrupt data: {exc}") from None
        if not self._container.streams.audio:
            self.close()
            raise DecodeError(self.name, 0, "no audio stream in the container")
        self._stream = self._container.streams.audio[0]
        fmt = self._container.format.name.split(",")[0]
        self.name = f"{fmt}/{self._stream.codec_context.name}"
        self._packets = self._container.demux(self._stream)
        cc = self._stream.codec_context
        self._rate_channels = (int(cc.sample_rate), int(cc.channels))

    def finish(self, out: list[AudioFrame]) -> bool:
        av = import_av()
        if self._container is None:
            if not self._chunks or self.offset == 0:
                return True
            self._open()
        packet = None
        try:
            for _ in range(_PACKETS_PER_STEP):
                packet = next(self._packets, None)
                if packet is None:
                    self.close()
                    return True
                for f in packet.decode():
                    if f.samples:
                        out.append(frame(av_frame_to_s16(f), int(f.sample_rate)))
        except (av.FFmpegError, ValueError) as exc:
            pos = getattr(packet, "pos", None)
            self.close()
            raise DecodeError(
                self.name, pos if pos is not None and pos >= 0 else self.offset, str(exc)
            ) from None
        return False

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
        self._packets = None
        self._chunks = []
