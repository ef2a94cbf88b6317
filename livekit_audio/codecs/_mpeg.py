"""MPEG audio (MP1/2/3) and ADTS AAC elementary streams: our frame splitter, FFmpeg's decoder.

Each frame header gives the frame's length, so the stream is cut into whole frames without
FFmpeg's parser, and every problem has an exact byte offset. Tags between frames are skipped
(ID3v2 anywhere, ID3v1 ``TAG``, APEv2); an ID3v2 tag or a Xing/Info frame marks the start of
a new file, which gets a fresh decoder, so concatenated files decode one after the other.
For MP3 files with a LAME tag, the encoder delay and padding are trimmed as FFmpeg's own
demuxer does (decoder delay 529 samples), so a file decodes to its original length.
"""

from __future__ import annotations

import struct

from livekit_audio.audio_frame import AudioFrame
from livekit_audio.codecs._av import AvDecoder, merge
from livekit_audio.codecs._base import DecodeError, Demuxer

__all__ = ["AdtsDemuxer", "Mp3Demuxer", "tag_length"]

# Bitrates in kbit/s by [version is MPEG-1][layer][index]; layer index 1 = III, 2 = II, 3 = I.
_BITRATES = {
    (True, 3): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 1): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 3): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 1): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_DECODER_DELAY = 529  # samples of MP3 decoder delay (FFmpeg's mp3 demuxer: 528 + 1)
#: Bytes the splitter keeps before compacting its buffer.
_COMPACT = 1 << 16


def tag_length(buf: bytes | bytearray, pos: int) -> int | None:
    """Length of the ID3v2 / ID3v1 / APEv2 tag at ``pos``; 0 if none; None if more bytes are
    needed to tell."""
    head = bytes(buf[pos : pos + 10])
    if head[:3] == b"ID3"[: len(head[:3])] and len(head) < 10:
        return None
    if head[:3] == b"ID3":
        size = 0
        for b in head[6:10]:
            size = (size << 7) | (b & 0x7F)
        return 10 + size + (10 if head[5] & 0x10 else 0)
    if head[:3] == b"TAG":
        return 128
    if head[:8] == b"APETAGEX"[: len(head[:8])]:
        block = bytes(buf[pos : pos + 32])
        if len(block) < 32:
            return None
        if block[:8] == b"APETAGEX":
            size, _, flags = struct.unpack_from("<III", block, 12)
            has_header = bool(flags & (1 << 31))
            is_header = bool(flags & (1 << 29))
            return size + 32 if (is_header and has_header) else 32
    return 0


class _SplitterDemuxer(Demuxer):
    """Shared loop: skip tags, read a frame header, cut the frame, hand it on."""

    _header_len = 4

    def __init__(self) -> None:
        super().__init__()
        self._buf = bytearray()
        self._pos = 0
        self._base = 0  # stream offset of _buf[0]
        self._skip = 0  # bytes of a tag still to skip
        self._decoder: AvDecoder | None = None
        self._format: tuple[int, int] | None = None
        self._raw: list[object] = []  # decoded, converted once per feed (see merge)

    @property
    def source_format(self) -> tuple[int, int] | None:
        return self._format

    def feed(self, data: bytes, chunk_start: bool, out: list[AudioFrame]) -> None:
        self.offset += len(data)
        if self._skip:
            n = min(self._skip, len(data))
            self._skip -= n
            self._base += n
            data = data[n:]
            if not data:
                return
        self._buf += data
        try:
            self._split(out)
        finally:
            self._drain(out)
        if self._pos:
            del self._buf[: self._pos]
            self._base += self._pos
            self._pos = 0

    def _split(self, out: list[AudioFrame]) -> None:
        buf = self._buf
        while True:
            pos = self._pos
            avail = len(buf) - pos
            if avail < self._header_len:
                return
            if buf[pos] == 0xFF:
                length = self._frame_length(buf, pos)
                if avail < length:
                    return
                self._frame(bytes(buf[pos : pos + length]), self._base + pos, out)
                self._pos = pos + length
                continue
            tag = tag_length(buf, pos)
            if tag is None:
                return
            if tag == 0:
                raise DecodeError(
                    self.name,
                    self._base + pos,
                    "no frame sync: expected a frame header or a tag, got "
                    f"{bytes(buf[pos : pos + 4])!r}",
                )
            if bytes(buf[pos : pos + 3]) == b"ID3":
                self._new_file(out)
            if avail >= tag:
                self._pos = pos + tag
            else:
                self._skip = tag - avail
                self._pos = len(buf)
                return

    def finish(self, out: list[AudioFrame]) -> bool:
        left = len(self._buf) - self._pos
        if self._skip and self._decoder is None:
            pass  # a stream of nothing but a cut tag: no audio was promised
        elif left:
            raise DecodeError(
                self.name,
                self.offset,
                f"truncated: the stream ends inside a frame ({left} bytes of it received)",
            )
        self._end_file(out)
        return True

    def _new_file(self, out: list[AudioFrame]) -> None:
        self._end_file(out)

    def _drain(self, out: list[AudioFrame]) -> None:
        """Converts what was decoded since the last call."""
        raw, self._raw = self._raw, []
        if raw:
            self._take(merge(raw), out)

    def _take(self, frames: list[AudioFrame], out: list[AudioFrame]) -> None:
        out.extend(frames)

    def _end_file(self, out: list[AudioFrame]) -> None:
        self._drain(out)
        if self._decoder is not None:
            self._take(self._decoder.flush(self.offset), out)
            self._decoder = None

    def close(self) -> None:
        self._decoder = None

    def _frame_length(self, buf: bytearray, pos: int) -> int:
        raise NotImplementedError

    def _frame(self, data: bytes, offset: int, out: list[AudioFrame]) -> None:
        raise NotImplementedError


class Mp3Demuxer(_SplitterDemuxer):
    """MPEG-1/2/2.5 Layer I/II/III frames (``audio/mpeg``)."""

    name = "mp3"

    def __init__(self) -> None:
        super().__init__()
        self._layer = 0
        self._skip_samples = 0  # encoder + decoder delay still to drop (LAME tag)
        self._left: int | None = None  # samples this file still has (LAME tag), or None
        self._first = True  # the next frame is the first of a file (may be Xing/Info)

    def _header(self, buf: bytearray, pos: int) -> tuple[int, int, int, int]:
        b1, b2, b3 = buf[pos + 1], buf[pos + 2], buf[pos + 3]
        version = (b1 >> 3) & 3
        layer = (b1 >> 1) & 3
        br_index = b2 >> 4
        sr_index = (b2 >> 2) & 3
        if (b1 & 0xE0) != 0xE0 or version == 1 or layer == 0 or br_index == 15 or sr_index == 3:
            raise DecodeError(
                self.name,
                self._base + pos,
                f"invalid MPEG audio frame header {bytes(buf[pos : pos + 4]).hex()}",
            )
        if br_index == 0:
            raise DecodeError(
                self.name, self._base + pos, "free-format MPEG audio is not supported"
            )
        mpeg1 = version == 3
        bitrate = _BITRATES[(mpeg1, layer)][br_index] * 1000
        rate = _RATES[version][sr_index]
        padding = (b2 >> 1) & 1
        if layer == 3:  # Layer I
            length = (12 * bitrate // rate + padding) * 4
            spf = 384
        elif layer == 2 or mpeg1:  # Layer II, or Layer III MPEG-1
            length = 144 * bitrate // rate + padding
            spf = 1152
        else:  # Layer III, MPEG-2/2.5
            length = 72 * bitrate // rate + padding
            spf = 576
        channels = 1 if (b3 >> 6) == 3 else 2
        return length, spf, rate, channels

    def _frame_length(self, buf: bytearray, pos: int) -> int:
        return self._header(buf, pos)[0]

    def _new_file(self, out: list[AudioFrame]) -> None:
        super()._new_file(out)
        self._first = True

    def _frame(self, data: bytes, offset: int, out: list[AudioFrame]) -> None:
        length, spf, rate, channels = self._header(bytearray(data[:4]), 0)
        layer = 4 - ((data[1] >> 1) & 3)
        if self._first or layer != self._layer or (rate, channels) != self._format:
            if not self._first:
                self._end_file(out)  # parameters changed: another file without tags
            if self._info_frame(data, spf, out):
                self._first = False
                self._layer, self._format = layer, (rate, channels)
                return
            if self._first:
                self._skip_samples, self._left = 0, None
            self._first = False
            self._layer, self._format = layer, (rate, channels)
        if self._decoder is None:
            # the float decoders: what FFmpeg's demuxer path picks (bit-identical output)
            self._decoder = AvDecoder(("mp1float", "mp2float", "mp3float")[layer - 1], self.name)
        self._raw.extend(self._decoder.decode_raw(data, offset))

    def _info_frame(self, data: bytes, spf: int, out: list[AudioFrame]) -> bool:
        """Reads a Xing/Info/VBRI frame (metadata, no audio); True if this is one."""
        mpeg1 = ((data[1] >> 3) & 3) == 3
        mono = (data[3] >> 6) == 3
        side = (17 if mono else 32) if mpeg1 else (9 if mono else 17)
        at = 4 + side
        tag = data[at : at + 4]
        if data[36:40] == b"VBRI":
            self._end_file(out)
            self._skip_samples, self._left = 0, None
            return True
        if tag not in (b"Xing", b"Info"):
            return False
        self._end_file(out)
        (flags,) = struct.unpack_from(">I", data, at + 4)
        p = at + 8
        frames = None
        if flags & 1:
            (frames,) = struct.unpack_from(">I", data, p)
            p += 4
        if flags & 2:
            p += 4
        if flags & 4:
            p += 100
        if flags & 8:
            p += 4
        self._skip_samples, self._left = 0, None
        lame = data[p : p + 24]
        if len(lame) >= 24 and lame[:4] in (b"LAME", b"Lavf", b"Lavc"):
            v = int.from_bytes(lame[21:24], "big")
            start_pad, end_pad = v >> 12, v & 0xFFF
            self._skip_samples = start_pad + _DECODER_DELAY
            if frames:
                self._left = max(0, frames * spf - start_pad - end_pad)
        return True

    def _take(self, frames: list[AudioFrame], out: list[AudioFrame]) -> None:
        """Drops the encoder delay and padding the LAME tag announces."""
        for f in frames:
            n = f.samples_per_channel
            start = min(self._skip_samples, n)
            self._skip_samples -= start
            stop = n if self._left is None else min(n, start + self._left)
            if self._left is not None:
                self._left -= stop - start
            if start == 0 and stop == n:
                out.append(f)
            elif stop > start:
                a = f.to_ndarray()[start:stop]
                out.append(AudioFrame.from_ndarray(a.copy(), f.sample_rate))


class AdtsDemuxer(_SplitterDemuxer):
    """AAC in ADTS framing (``audio/aac``)."""

    name = "aac"
    _header_len = 7

    def _frame_length(self, buf: bytearray, pos: int) -> int:
        b1 = buf[pos + 1]
        if (b1 & 0xF6) != 0xF0:
            raise DecodeError(
                self.name,
                self._base + pos,
                f"invalid ADTS header {bytes(buf[pos : pos + 7]).hex()}",
            )
        length = ((buf[pos + 3] & 3) << 11) | (buf[pos + 4] << 3) | (buf[pos + 5] >> 5)
        if length < 7:
            raise DecodeError(self.name, self._base + pos, f"invalid ADTS frame length {length}")
        return length

    def _frame(self, data: bytes, offset: int, out: list[AudioFrame]) -> None:
        sr_index = (data[2] >> 2) & 0xF
        channels = ((data[2] & 1) << 2) | (data[3] >> 6)
        rates = (
            96000,
            88200,
            64000,
            48000,
            44100,
            32000,
            24000,
            22050,
            16000,
            12000,
            11025,
            8000,
            7350,
        )
        if sr_index >= len(rates):
            raise DecodeError(
                self.name, offset, f"invalid ADTS sampling frequency index {sr_index}"
            )
        fmt = (rates[sr_index], channels)
        if self._decoder is not None and fmt != self._format:
            self._end_file(out)
        self._format = fmt
        if self._decoder is None:
            self._decoder = AvDecoder("aac", self.name)
        self._raw.extend(self._decoder.decode_raw(data, offset))
