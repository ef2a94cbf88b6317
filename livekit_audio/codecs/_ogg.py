"""Ogg (RFC 3533) pages and packets: our page parser, FFmpeg's Opus/Vorbis/FLAC decoders.

The first logical stream whose first packet is an Opus, Vorbis or FLAC header is decoded;
other logical streams (skeleton, video) are ignored. A beginning-of-stream page after audio
pages starts the next link of a chained stream (concatenated Ogg files): it gets a fresh
decoder. As in FFmpeg's demuxer, Opus pre-skip is dropped and the end of each link is cut at
its last page's granule position. Page CRCs are not verified (a Python CRC would cost more
than decoding); a lost page sync, a gap in page sequence numbers, a packet the decoder
rejects or a stream that ends inside a page raise :class:`DecodeError`.
"""

from __future__ import annotations

import struct

from livekit_audio.audio_frame import AudioFrame
from livekit_audio.codecs._av import AvDecoder, merge
from livekit_audio.codecs._base import DecodeError, Demuxer

__all__ = ["OggDemuxer"]

_HEADER = struct.Struct("<4sBBqIIIB")  # capture, version, type, granule, serial, seq, crc, nsegs


def _xiph_lace(packets: list[bytes]) -> bytes:
    """Vorbis extradata: packet count - 1, Xiph-laced lengths of all but the last, packets."""
    out = bytearray([len(packets) - 1])
    for p in packets[:-1]:
        n = len(p)
        out += b"\xff" * (n // 255) + bytes([n % 255])
    for p in packets:
        out += p
    return bytes(out)


def _opus_samples(packet: bytes) -> int:
    """48 kHz samples in an Opus packet, from its TOC byte (RFC 6716, section 3.1)."""
    if not packet:
        return 0
    toc = packet[0]
    config = toc >> 3
    if config < 12:
        size = (480, 960, 1920, 2880)[config & 3]
    elif config < 16:
        size = (480, 960)[config & 1]
    else:
        size = (120, 240, 480, 960)[config & 3]
    code = toc & 3
    count = 1 if code == 0 else 2 if code < 3 else (packet[1] & 0x3F if len(packet) > 1 else 0)
    return size * count


class _Link:
    """One logical audio stream of one chain link."""

    def __init__(self, serial: int, codec: str, headers_needed: int) -> None:
        self.serial = serial
        self.codec = codec
        self.headers: list[bytes] = []
        self.headers_needed = headers_needed
        self.decoder: AvDecoder | None = None
        self.pre_skip = 0
        self.start: int | None = None  # granule position where the first audio packet starts
        self.decoded = 0  # samples out of the decoder (Opus: after its own pre-skip)
        self.partial = b""  # a packet continued on the next page
        self.seq: int | None = None
        self.rate_channels: tuple[int, int] | None = None
        self.ended = False


class OggDemuxer(Demuxer):
    """Ogg Opus / Vorbis / FLAC (``audio/ogg``, ``audio/opus``)."""

    name = "ogg"

    def __init__(self) -> None:
        super().__init__()
        self._buf = bytearray()
        self._base = 0
        self._pos = 0
        self._link: _Link | None = None
        self._audio_seen = False  # the current link has had audio pages

    @property
    def source_format(self) -> tuple[int, int] | None:
        return None if self._link is None else self._link.rate_channels

    def feed(self, data: bytes, chunk_start: bool, out: list[AudioFrame]) -> None:
        self.offset += len(data)
        self._buf += data
        buf = self._buf
        while True:
            pos = self._pos
            if len(buf) - pos < 27:
                break
            capture, version, htype, granule, serial, seq, _crc, nsegs = _HEADER.unpack_from(
                buf, pos
            )
            at = self._base + pos
            if capture != b"OggS" or version != 0:
                raise DecodeError(self.name, at, "lost Ogg page sync (no 'OggS' capture pattern)")
            if len(buf) - pos < 27 + nsegs:
                break
            lacing = buf[pos + 27 : pos + 27 + nsegs]
            body = 27 + nsegs + sum(lacing)
            if len(buf) - pos < body:
                break
            self._page(
                htype,
                granule,
                serial,
                seq,
                bytes(lacing),
                bytes(buf[pos + 27 + nsegs : pos + body]),
                at,
                out,
            )
            self._pos = pos + body
        if self._pos:
            del buf[: self._pos]
            self._base += self._pos
            self._pos = 0

    def _page(
        self,
        htype: int,
        granule: int,
        serial: int,
        seq: int,
        lacing: bytes,
        body: bytes,
        at: int,
        out: list[AudioFrame],
    ) -> None:
        link = self._link
        bos, eos, continued = htype & 2, htype & 4, htype & 1
        if bos and (link is None or link.ended or self._audio_seen):
            if link is not None and not link.ended:
                self._end_link(out, None)
            link = self._link = None
            self._audio_seen = False
            first = body[: lacing[0]] if lacing else b""
            codec = None
            if first.startswith(b"OpusHead"):
                codec, need = "opus", 2
            elif first.startswith(b"\x01vorbis"):
                codec, need = "vorbis", 3
            elif first.startswith(b"\x7fFLAC"):
                codec, need = "flac", 1 + struct.unpack_from(">H", first, 7)[0]
            if codec is None:
                self._pending_unknown = True
                return  # not audio we decode (skeleton, video...): wait for another BOS
            link = self._link = _Link(serial, codec, need)
            self.name = f"ogg/{codec}"
        if link is None or serial != link.serial or link.ended:
            if link is None and not bos and not self._audio_seen and self._pending_unknown:
                return
            if link is None and not bos:
                raise DecodeError(self.name, at, "Ogg page of a stream whose first page is missing")
            return
        if link.seq is not None and seq != (link.seq + 1) & 0xFFFFFFFF:
            raise DecodeError(
                self.name, at, f"Ogg page sequence jumps from {link.seq} to {seq} (lost pages)"
            )
        link.seq = seq
        packets: list[bytes] = []
        current = link.partial if continued else b""
        pos = 0
        for lace in lacing:
            current += body[pos : pos + lace]
            pos += lace
            if lace < 255:
                packets.append(current)
                current = b""
        link.partial = current
        page_out: list[AudioFrame] = []
        decoded: list[object] = []  # converted once per page (see merge)
        audio_samples = 0
        try:
            for packet in packets:
                if len(link.headers) < link.headers_needed:
                    link.headers.append(packet)
                    if len(link.headers) == link.headers_needed:
                        self._start_decoder(link, at)
                    continue
                self._audio_seen = True
                if link.decoder is None:
                    raise DecodeError(self.name, at, "audio packet before the codec headers")
                if link.codec == "opus":
                    audio_samples += _opus_samples(packet)
                decoded.extend(link.decoder.decode_raw(packet, at))
        except DecodeError:
            self._emit(link, merge(decoded), None, out)  # what came before the bad packet
            raise
        page_out.extend(merge(decoded))
        if link.start is None and audio_samples and granule >= 0:
            link.start = granule - audio_samples
        if eos:
            assert link.decoder is not None or len(link.headers) < link.headers_needed
            if link.decoder is not None:
                page_out.extend(link.decoder.flush(at))
            self._emit(link, page_out, granule, out)
            link.ended = True
            self._link = link
        else:
            self._emit(link, page_out, None, out)

    _pending_unknown = False

    def _start_decoder(self, link: _Link, at: int) -> None:
        head = link.headers[0]
        if link.codec == "opus":
            if len(head) < 19:
                raise DecodeError(self.name, at, "short OpusHead packet")
            channels = head[9]
            (link.pre_skip,) = struct.unpack_from("<H", head, 10)
            link.rate_channels = (48000, channels)
            link.decoder = AvDecoder("opus", self.name, extradata=head)
        elif link.codec == "vorbis":
            channels = head[11]
            (rate,) = struct.unpack_from("<I", head, 12)
            link.rate_channels = (rate, channels)
            link.decoder = AvDecoder("vorbis", self.name, extradata=_xiph_lace(link.headers[:3]))
        else:
            streaminfo = head[17 + 4 : 17 + 4 + 34]
            if len(streaminfo) < 34:
                raise DecodeError(self.name, at, "short Ogg FLAC header packet")
            rate = int.from_bytes(streaminfo[10:13], "big") >> 4
            channels = ((streaminfo[12] >> 1) & 7) + 1
            link.rate_channels = (rate, channels)
            link.decoder = AvDecoder("flac", self.name, extradata=streaminfo)

    def _emit(
        self, link: _Link, frames: list[AudioFrame], end_granule: int | None, out: list[AudioFrame]
    ) -> None:
        """Passes frames on, cut at the link's end granule position (as FFmpeg's demuxer
        does). FFmpeg's Opus decoder drops the pre-skip itself (it reads OpusHead)."""
        limit = None
        if end_granule is not None and end_granule >= 0:
            if link.codec == "opus":
                limit = end_granule - (link.start or 0) - link.pre_skip
            else:
                limit = end_granule
        for f in frames:
            n = f.samples_per_channel
            stop = n if limit is None else max(0, min(n, limit - link.decoded))
            link.decoded += n
            if stop == n:
                out.append(f)
            elif stop > 0:
                out.append(AudioFrame.from_ndarray(f.to_ndarray()[:stop].copy(), f.sample_rate))

    def _end_link(self, out: list[AudioFrame], granule: int | None) -> None:
        link = self._link
        if link is not None and link.decoder is not None:
            self._emit(link, link.decoder.flush(self._base), granule, out)
            link.ended = True

    def finish(self, out: list[AudioFrame]) -> bool:
        if len(self._buf) - self._pos:
            raise DecodeError(
                self.name,
                self.offset,
                f"truncated: the stream ends inside an Ogg page ({len(self._buf) - self._pos} "
                "bytes of it received)",
            )
        link = self._link
        if link is not None and not link.ended:
            if link.partial:
                raise DecodeError(
                    self.name, self.offset, "truncated: the last packet is incomplete"
                )
            self._end_link(out, None)
        elif link is None and self.offset and not self._pending_unknown:
            raise DecodeError(self.name, self.offset, "no Opus, Vorbis or FLAC stream found")
        return True

    def close(self) -> None:
        self._link = None
