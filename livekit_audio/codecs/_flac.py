"""Native FLAC streams: our metadata parser, FFmpeg's FLAC parser and decoder for the frames.

FLAC frames carry no length, so FFmpeg's parser finds their boundaries (it checks each frame's
CRC before it lets one through). A new ``fLaC`` marker followed by a STREAMINFO block starts
the next file of a concatenated stream. When STREAMINFO gives the total sample count, a stream
that ends short of it is truncated: :class:`DecodeError`.
"""

from __future__ import annotations

from livekit_audio.audio_frame import AudioFrame
from livekit_audio.codecs._av import AvDecoder
from livekit_audio.codecs._base import DecodeError, Demuxer
from livekit_audio.codecs._mpeg import tag_length

__all__ = ["FlacDemuxer"]

#: "fLaC" + a STREAMINFO block header (last-block flag either way, length 34).
_MARKERS = (b"fLaC\x00\x00\x00\x22", b"fLaC\x80\x00\x00\x22")


class FlacDemuxer(Demuxer):
    """``audio/flac``."""

    name = "flac"

    def __init__(self) -> None:
        super().__init__()
        self._meta = bytearray()  # header bytes until the audio frames begin
        self._meta_at = 0
        self._in_audio = False
        self._decoder: AvDecoder | None = None
        self._total: int | None = None
        self._decoded = 0
        self._format: tuple[int, int] | None = None
        self._tail = b""  # audio bytes held back from the parser (a marker may straddle feeds)

    @property
    def source_format(self) -> tuple[int, int] | None:
        return self._format

    def feed(self, data: bytes, chunk_start: bool, out: list[AudioFrame]) -> None:
        self.offset += len(data)
        while data:
            if not self._in_audio:
                data = self._header(data, self.offset - len(data), out)
                continue
            # the last 7 bytes wait in _tail, so a marker split over two feeds is still found
            view = self._tail + data
            cut = min((i for i in (view.find(m) for m in _MARKERS) if i >= 0), default=-1)
            if cut < 0:
                self._frames(view[:-7], out)
                self._tail = view[-7:]
                return
            self._frames(view[:cut], out)
            self._tail = b""
            self._end_file(out, self.offset - (len(view) - cut))
            data = view[cut:]

    def _header(self, data: bytes, start: int, out: list[AudioFrame]) -> bytes:
        """Collects "fLaC" and the metadata blocks; returns the bytes after them."""
        if not self._meta:
            self._meta_at = start
        self._meta += data
        meta = self._meta
        if len(meta) >= 3 and meta[:3] == b"ID3":
            skip = tag_length(meta, 0)
            if skip is None or len(meta) < skip:
                return b""
            del meta[:skip]
            self._meta_at += skip
        if len(meta) < 4:
            return b""
        if meta[:4] != b"fLaC":
            raise DecodeError(self.name, self._meta_at, f"not a FLAC stream: {bytes(meta[:4])!r}")
        pos = 4
        while True:
            if len(meta) < pos + 4:
                return b""
            header = meta[pos]
            length = int.from_bytes(meta[pos + 1 : pos + 4], "big")
            if len(meta) < pos + 4 + length:
                return b""
            if pos == 4:
                if header & 0x7F != 0 or length != 34:
                    raise DecodeError(self.name, self._meta_at + 4, "FLAC STREAMINFO block missing")
                info = bytes(meta[8:42])
                rate = int.from_bytes(info[10:13], "big") >> 4
                channels = ((info[12] >> 1) & 7) + 1
                total = ((info[13] & 0x0F) << 32) | int.from_bytes(info[14:18], "big")
                self._format = (rate, channels)
                self._total = total or None
                self._decoded = 0
                self._decoder = AvDecoder("flac", self.name, extradata=info)
            pos += 4 + length
            if header & 0x80:
                break
        rest = bytes(meta[pos:])
        self._meta = bytearray()
        self._in_audio = True
        self._tail = b""
        return rest

    def _frames(self, data: bytes, out: list[AudioFrame]) -> None:
        assert self._decoder is not None
        if not data:
            return
        at = self.offset
        for packet in self._decoder.parse(data):
            self._take(self._decoder.decode_packet(packet, at), out)

    def _take(self, frames: list[AudioFrame], out: list[AudioFrame]) -> None:
        for f in frames:
            self._decoded += f.samples_per_channel
            out.append(f)

    def _end_file(self, out: list[AudioFrame], at: int) -> None:
        decoder = self._decoder
        if decoder is None:
            return
        try:
            if self._tail:
                self._frames(self._tail, out)
                self._tail = b""
            for packet in decoder.parse(None):
                self._take(decoder.decode_packet(packet, at), out)
            self._take(decoder.flush(at), out)
        except DecodeError as exc:
            raise DecodeError(
                self.name, at, f"truncated: the last frame is incomplete ({exc.reason})"
            ) from None
        self._decoder = None
        self._in_audio = False
        if self._total is not None and self._decoded < self._total:
            raise DecodeError(
                self.name,
                at,
                f"{self._decoded} of the {self._total} samples STREAMINFO announces were "
                "decoded: the stream is truncated or frames were corrupt",
            )

    def finish(self, out: list[AudioFrame]) -> bool:
        if not self._in_audio:
            if self._meta:
                raise DecodeError(
                    self.name, self.offset, "truncated: the stream ends inside the FLAC header"
                )
            return True
        self._end_file(out, self.offset)
        return True

    def close(self) -> None:
        self._decoder = None
