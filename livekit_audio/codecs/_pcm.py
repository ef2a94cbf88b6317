"""Uncompressed input: our incremental WAV (RIFF/WAVE) parser and raw PCM / G.711 streams.

No PyAV here. Sample formats: unsigned 8-bit, signed 16/24/32-bit little-endian PCM, IEEE
float 32/64, G.711 mu-law and A-law (WAV format tags 1, 3, 6, 7, and WAVE_FORMAT_EXTENSIBLE
wrapping them); raw streams add 16-bit big-endian (``audio/L16``). Conversion to int16 rounds
to nearest and saturates: 24/32-bit PCM keep their top 16 bits rounded, float is scaled by
32768.
"""

from __future__ import annotations

import struct

import numpy as np

from livekit_audio.audio_frame import AudioFrame
from livekit_audio.codecs._base import DecodeError, Demuxer, float_to_s16, frame
from livekit_audio.codecs.g711 import alaw_decode, ulaw_decode

__all__ = ["PcmSpec", "RawDemuxer", "WavDemuxer"]

_TAG_PCM, _TAG_FLOAT, _TAG_ALAW, _TAG_ULAW, _TAG_EXTENSIBLE = 1, 3, 6, 7, 0xFFFE
#: Data/RIFF sizes that streaming writers put in headers when the length is not known.
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)
#: Bytes of sample data converted per frame (bounds the work per call and the frame size).
_MAX_BLOCK = 1 << 16


class PcmSpec:
    """How samples are stored: ``kind`` in ``{"int", "uint8", "float", "ulaw", "alaw"}``,
    bytes per sample, byte order (``"<"`` or ``">"``), rate and channels."""

    __slots__ = ("kind", "width", "order", "sample_rate", "num_channels")

    def __init__(
        self, kind: str, width: int, sample_rate: int, num_channels: int, order: str = "<"
    ) -> None:
        self.kind = kind
        self.width = width
        self.order = order
        self.sample_rate = sample_rate
        self.num_channels = num_channels

    @property
    def block_align(self) -> int:
        return self.width * self.num_channels

    def to_s16(self, data: bytes | memoryview) -> np.ndarray:
        """Whole frames of raw samples -> int16 of shape ``(n, num_channels)``."""
        kind, w = self.kind, self.width
        if kind == "int" and w == 2:
            x = np.frombuffer(data, dtype=f"{self.order}i2").astype(np.int16)
        elif kind == "uint8":
            x = ((np.frombuffer(data, dtype=np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)
        elif kind == "ulaw":
            x = ulaw_decode(np.frombuffer(data, dtype=np.uint8))
        elif kind == "alaw":
            x = alaw_decode(np.frombuffer(data, dtype=np.uint8))
        elif kind == "float":
            x = float_to_s16(np.frombuffer(data, dtype=f"{self.order}f{w}"))
        elif kind == "int" and w == 3:
            b = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
            if self.order == ">":
                b = b[:, ::-1]
            v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
            v = np.where(v >= 1 << 23, v - (1 << 24), v)
            x = np.minimum((v + 128) >> 8, 32767).astype(np.int16)
        else:  # 32-bit int
            v = np.frombuffer(data, dtype=f"{self.order}i4").astype(np.int64)
            x = np.minimum((v + 32768) >> 16, 32767).astype(np.int16)
        return x.reshape(-1, self.num_channels)


def _emit(spec: PcmSpec, data: bytes | memoryview, out: list[AudioFrame]) -> None:
    step = max(spec.block_align, _MAX_BLOCK // spec.block_align * spec.block_align)
    for i in range(0, len(data), step):
        out.append(frame(spec.to_s16(data[i : i + step]), spec.sample_rate))


class RawDemuxer(Demuxer):
    """Headerless samples (``audio/pcm``, ``audio/L16``, ``audio/pcmu``, ``audio/pcma``)."""

    def __init__(self, spec: PcmSpec, name: str) -> None:
        super().__init__()
        self.spec = spec
        self.name = name
        self._carry = b""

    @property
    def source_format(self) -> tuple[int, int] | None:
        return self.spec.sample_rate, self.spec.num_channels

    def feed(self, data: bytes, chunk_start: bool, out: list[AudioFrame]) -> None:
        self.offset += len(data)
        if self._carry:
            data = self._carry + data
        align = self.spec.block_align
        whole = len(data) - len(data) % align
        if whole:
            _emit(self.spec, memoryview(data)[:whole], out)
        self._carry = bytes(data[whole:])

    def finish(self, out: list[AudioFrame]) -> bool:
        if self._carry:
            raise DecodeError(
                self.name,
                self.offset,
                f"truncated: the stream ends inside a sample ({len(self._carry)} of "
                f"{self.spec.block_align} bytes)",
            )
        return True


class _State:
    RIFF, CHUNK, FMT, SKIP, DATA, NEXT = range(6)


class WavDemuxer(Demuxer):
    """Incremental RIFF/WAVE parser.

    Chunks other than ``fmt `` and ``data`` are skipped. A data chunk whose size is 0 or
    0xFFFFFFFF (what streaming writers put there) runs to the end of the stream, or to a push
    that starts with a new ``RIFF`` header; after a sized RIFF chunk, a new ``RIFF`` header
    starts the next file. Truncation inside a header, the data chunk or a sample raises
    :class:`DecodeError`; a truncated trailing metadata chunk after complete audio does not.
    """

    name = "wav"

    def __init__(self) -> None:
        super().__init__()
        self._buf = bytearray()
        self._base = 0  # stream offset of _buf[0]
        self._state = _State.RIFF
        self._need = 0  # FMT: chunk size; SKIP: bytes left
        self._riff_end: int | None = None
        self._data_left: int | None = None  # None: unknown length
        self._spec: PcmSpec | None = None
        self._audio_done = False
        self._started = False
        self._header_at = 0

    @property
    def source_format(self) -> tuple[int, int] | None:
        if self._spec is None:
            return None
        return self._spec.sample_rate, self._spec.num_channels

    def _error(self, offset: int, reason: str) -> DecodeError:
        return DecodeError(self.name, offset, reason)

    def feed(self, data: bytes, chunk_start: bool, out: list[AudioFrame]) -> None:
        if (
            chunk_start
            and self._state == _State.DATA
            and self._data_left is None
            and data[:4] == b"RIFF"
            and len(self._buf) == 0
        ):
            self._state = _State.RIFF  # a new file in a stream of unknown length
        if self._state == _State.DATA and not self._buf:
            data = self._data(memoryview(data), out)  # fast path: no copy into _buf
            if not data:
                return
        self._buf += data
        self._run(out)

    def _data(self, view: memoryview, out: list[AudioFrame]) -> bytes:
        """Converts whole samples of ``view`` in the data chunk; returns the bytes not used."""
        spec = self._spec
        assert spec is not None
        take = len(view) if self._data_left is None else min(len(view), self._data_left)
        usable = take - take % spec.block_align
        if usable:
            _emit(spec, view[:usable], out)
            self._base += usable
            if self._data_left is not None:
                self._data_left -= usable
        if self._data_left == 0:
            self._end_data()
        return bytes(view[usable:])

    def _end_data(self) -> None:
        self._audio_done = True
        self._state = _State.CHUNK
        if self._data_size_odd:
            self._state, self._need = _State.SKIP, 1

    def _consume(self, n: int) -> bytes:
        chunk = bytes(self._buf[:n])
        del self._buf[:n]
        self._base += n
        return chunk

    def _run(self, out: list[AudioFrame]) -> None:
        buf = self._buf
        while True:
            state = self._state
            if state == _State.DATA:
                rest = self._data(memoryview(bytes(buf)), out)
                del buf[:]
                buf += rest
                if self._state == _State.DATA:
                    return
            elif state == _State.RIFF:
                if len(buf) < 12:
                    return
                self._header_at = self._base
                if buf[:4] != b"RIFF" or buf[8:12] != b"WAVE":
                    raise self._error(self._base, f"not a RIFF/WAVE header: {bytes(buf[:12])!r}")
                (size,) = struct.unpack_from("<I", buf, 4)
                self._riff_end = None if size in _UNKNOWN_SIZES else self._base + 8 + size
                self._consume(12)
                self._spec = None
                self._audio_done = False
                self._started = True
                self._state = _State.CHUNK
            elif state == _State.CHUNK:
                if self._riff_end is not None and self._base >= self._riff_end and self._audio_done:
                    self._state = _State.NEXT
                    continue
                if len(buf) < 8:
                    return
                cid, size = struct.unpack_from("<4sI", buf, 0)
                at = self._base
                if cid == b"RIFF" and self._audio_done:
                    self._state = _State.RIFF  # next file (RIFF size too small or absent)
                    continue
                self._consume(8)
                if cid == b"fmt ":
                    self._state, self._need, self._header_at = _State.FMT, size, at
                elif cid == b"data":
                    if self._spec is None:
                        raise self._error(at, "data chunk before the fmt chunk")
                    self._data_left = None if size in _UNKNOWN_SIZES else size
                    self._data_size_odd = self._data_left is not None and size % 2 == 1
                    self._state = _State.DATA
                else:
                    self._state, self._need = _State.SKIP, size + (size & 1)
            elif state == _State.FMT:
                if len(buf) < self._need:
                    return
                self._spec = self._parse_fmt(
                    self._consume(self._need + (self._need & 1))[: self._need]
                )
                self._state = _State.CHUNK
            elif state == _State.SKIP:
                n = min(self._need, len(buf))
                self._consume(n)
                self._need -= n
                if self._need:
                    return
                self._state = _State.CHUNK
            elif state == _State.NEXT:
                if len(buf) < 4:
                    return
                if buf[:4] != b"RIFF":
                    raise self._error(
                        self._base, "unexpected bytes after the end of the RIFF chunk"
                    )
                self._state = _State.RIFF

    def _parse_fmt(self, fmt: bytes) -> PcmSpec:
        at = self._header_at
        if len(fmt) < 16:
            raise self._error(at, f"fmt chunk of {len(fmt)} bytes, expected >= 16")
        tag, channels, rate, _byte_rate, align, bits = struct.unpack_from("<HHIIHH", fmt)
        if tag == _TAG_EXTENSIBLE and len(fmt) >= 26:
            (tag,) = struct.unpack_from("<H", fmt, 24)
        width = (bits + 7) // 8
        kinds = {
            (_TAG_PCM, 1): "uint8",
            (_TAG_PCM, 2): "int",
            (_TAG_PCM, 3): "int",
            (_TAG_PCM, 4): "int",
            (_TAG_FLOAT, 4): "float",
            (_TAG_FLOAT, 8): "float",
            (_TAG_ULAW, 1): "ulaw",
            (_TAG_ALAW, 1): "alaw",
        }
        kind = kinds.get((tag, width))
        if kind is None:
            raise self._error(
                at,
                f"unsupported WAV encoding: format tag {tag:#06x} with {bits} bits per sample "
                "(supported: PCM 8/16/24/32-bit, float 32/64-bit, mu-law, A-law)",
            )
        if channels < 1 or rate < 1:
            raise self._error(at, f"invalid fmt chunk: {channels} channels at {rate} Hz")
        if align != width * channels:
            raise self._error(
                at, f"invalid fmt chunk: block align {align}, expected {width * channels}"
            )
        return PcmSpec(kind, width, rate, channels)

    def finish(self, out: list[AudioFrame]) -> bool:
        end = self._base + len(self._buf)
        state = self._state
        if state == _State.DATA:
            if self._data_left is not None and self._data_left > 0:
                raise self._error(
                    end, f"truncated: the data chunk ends {self._data_left} bytes early"
                )
            if self._buf:
                raise self._error(end, "truncated: the stream ends inside a sample")
            return True
        if self._audio_done and state in (_State.CHUNK, _State.SKIP, _State.NEXT):
            return True  # complete audio; at most a trailing metadata chunk is cut
        if state == _State.RIFF and not self._buf and not self._started:
            return True  # nothing was pushed
        if state == _State.RIFF and not self._buf and self._audio_done:
            return True
        raise self._error(end, "truncated: the stream ends inside the WAV header")

    _data_size_odd = False
