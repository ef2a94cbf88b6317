"""Codecs: G.711 encode/decode, AudioByteStream, AudioStreamDecoder (constructor, push, and
the parsers our own code runs: WAV with fuzzed headers, raw PCM and G.711)."""

from __future__ import annotations

import asyncio
import struct

import numpy as np
import pytest
from fuzzkit import (
    BUFFER_KINDS,
    JUNK,
    acheck,
    arguments,
    assert_valid_frame,
    check,
    failed,
    ints,
    make_buffer,
    sample_rates,
)
from hypothesis import example, given
from hypothesis import strategies as st
from test_fuzz_frames import arrays

from livekit_audio.codecs import (
    AudioByteStream,
    AudioStreamDecoder,
    DecodeError,
    alaw_decode,
    alaw_encode,
    ulaw_decode,
    ulaw_encode,
)


@st.composite
def code_inputs(draw: st.DrawFn) -> object:
    """uint8 code arrays in any shape and order, bytes-likes, and things that are neither."""
    kind = draw(st.sampled_from(["array", "array", "bytes", "bytearray", "memoryview", "other"]))
    raw = bytes(draw(st.binary(max_size=600)))
    if kind == "array":
        x = draw(arrays())
        return x.astype(np.uint8) if draw(st.booleans()) else x
    if kind == "bytes":
        return raw
    if kind == "bytearray":
        return bytearray(raw)
    if kind == "memoryview":
        view = memoryview(bytearray(raw + raw))
        views = [view, view[::2], view[: len(raw) // 2 * 2].cast("h")]
        return views[draw(st.integers(0, 2))]  # (sampled_from would hash them)
    return draw(st.sampled_from([*JUNK, "codes", [1, 2, 3]]))


@given(arrays())
@example(np.array(-5, np.int16))  # regression: a 0-d array came back 1-D
def test_g711_encode(x):
    for fn, decode in ((ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)):
        out = check(
            fn, x, entry=fn.__name__, names=("samples", "int16", fn.__name__), untouched=[x]
        )
        if not failed(out):
            assert out.dtype == np.uint8 and out.shape == x.shape
            back = decode(out)
            assert back.shape == x.shape
            assert np.array_equal(decode(fn(back)), back)  # decoded values are fixed points


@given(code_inputs())
@example(memoryview(b"abcdef")[::2])  # regression: a strided view raised BufferError
@example(np.array(7, np.uint8))  # regression: a 0-d array came back 1-D
def test_g711_decode(codes):
    for fn in (ulaw_decode, alaw_decode):
        out = check(
            fn, codes, entry=fn.__name__, names=("codes", "uint8", fn.__name__), untouched=[codes]
        )
        if not failed(out):
            assert out.dtype == np.int16
            expected = codes.shape if isinstance(codes, np.ndarray) else (memoryview(codes).nbytes,)
            assert out.shape == expected


@given(
    arguments(
        valid={
            "sample_rate": st.sampled_from([8000, 16000, 48000]),
            "num_channels": st.integers(1, 2),
            "samples_per_channel": st.one_of(st.none(), st.integers(1, 500)),
        },
        bad={
            "sample_rate": ints(),
            "num_channels": st.one_of(st.sampled_from([0, 1025, 2**31]), ints()),
            "samples_per_channel": st.one_of(st.sampled_from([0, 2**31, 2**62]), ints()),
        },
    ),
    st.lists(
        st.tuples(st.sampled_from(BUFFER_KINDS), st.integers(0, 1500), st.integers(0, 3)),
        max_size=6,
    ),
)
@example(
    ({"sample_rate": 48000, "num_channels": 2000, "samples_per_channel": 1}, set()),
    [("bytes", 4000, 0)],
)
@example(
    ({"sample_rate": 48000, "num_channels": 1, "samples_per_channel": None}, set()),
    [("memoryview_strided", 10, 0)],
)
def test_audio_byte_stream(args, pushes):
    """Bytes in any pieces: frames of exactly samples_per_channel, valid AudioFrames, and
    every whole sample comes out after a flush; a refused push changes nothing."""
    values, mutated = args
    stream = check(AudioByteStream, **values, entry="AudioByteStream", names=mutated or set(values))
    if failed(stream):
        return
    rate, channels = stream.sample_rate, stream.num_channels
    n_bytes = n_out = 0
    for kind, count, odd in pushes:
        data = make_buffer(kind, np.arange(count, dtype=np.int16), channels)
        if isinstance(data, (bytes, bytearray)) and odd:
            data = data[: len(data) - odd]  # a push that ends inside a sample
        out = check(
            stream.push,
            data,
            entry="AudioByteStream.push",
            names=("data", "bytes"),
            untouched=[data],
        )
        if failed(out):
            continue
        n_bytes += memoryview(data).nbytes
        for f in out:
            assert_valid_frame(f, rate=rate, channels=channels)
            assert f.samples_per_channel == stream.samples_per_channel
            n_out += f.samples_per_channel
    for f in check(stream.flush, entry="AudioByteStream.flush"):
        assert_valid_frame(f, rate=rate, channels=channels)
        n_out += f.samples_per_channel
    assert n_out == n_bytes // (2 * channels)


# -- AudioStreamDecoder ----------------------------------------------------------------------

_MIMES = (
    "audio/wav",
    "audio/pcm;rate=16000",
    "audio/pcmu",
    "audio/pcma;rate=8000;channels=2",
    "audio/L16;rate=48000;channels=1",
    "AUDIO/PCM; rate=8000",
    "audio/mpeg",
    "audio/ogg",
)
_BAD_MIMES = (
    "audio/pcm",
    "audio/pcm;rate=abc",
    "audio/pcm;rate=0",
    "audio/pcm;rate=-5",
    "audio/pcm;rate=16000;channels=0",
    "audio/pcm;rate=1e3",
    "",
    ";;;==",
    "audio/xyz",
    "audio/pcmu;rate=99999999999999999999",
    "audio/pcm;rate=16000;channels=100000",
    "audio/pcm;rate",
    "audio/pcm;=;rate=16000",
    "audio/pcm;rate=16000;rate=8000",
    "audio/pcm;rate=٣٢٠٠٠",
    b"audio/wav",
    5,
    None,
)


@given(
    arguments(
        valid={
            "sample_rate": st.sampled_from([None, 16000, 48000]),
            "num_channels": st.sampled_from([None, 1, 2]),
            "format": st.sampled_from((None, *_MIMES)),
            "frame_size_ms": st.sampled_from([None, 10, 20]),
        },
        bad={
            "sample_rate": st.one_of(sample_rates(), ints()),
            "num_channels": st.one_of(st.sampled_from([0, 9]), ints()),
            "format": st.one_of(st.sampled_from(_BAD_MIMES), st.text(max_size=30)),
            "frame_size_ms": st.one_of(st.sampled_from([0, 3, 7]), ints()),
        },
    )
)
def test_decoder_constructor(args):
    values, mutated = args
    names = (set(mutated) or set(values)) | {"frame_size_ms"}  # joint with the rate
    if "format" in mutated:
        names |= {"MIME", "rate", "channels"}  # the format's own parameters
    out = check(AudioStreamDecoder, **values, entry="AudioStreamDecoder", names=names)
    if not failed(out):
        assert out.buffered_input_bytes == 0


@st.composite
def wav_files(draw: st.DrawFn, truncate: bool = True) -> bytes:
    """A RIFF/WAVE file with fuzzed header fields, a random payload, maybe truncated."""
    tag = draw(st.sampled_from([1, 3, 6, 7, 0xFFFE, 2, 0, 0xFFFF]))
    channels = draw(st.sampled_from([1, 2, 0, 9, 65535]))
    rate = draw(st.sampled_from([8000, 16000, 44100, 0, 1, 2**32 - 1, 768001]))
    bits = draw(st.sampled_from([8, 16, 24, 32, 64, 0, 12, 65535]))
    align = draw(st.sampled_from([channels * bits // 8, 0, 3, 65535]))
    payload = draw(st.binary(max_size=3000))
    align &= 0xFFFF
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align & 0xFFFFFFFF, align, bits)
    if tag == 0xFFFE:
        sub = draw(st.sampled_from([1, 3, 6, 7, 5]))
        fmt += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", sub) + b"\x00" * 14
    fmt_len = draw(st.sampled_from([len(fmt), 0, 14, 2**32 - 1]))
    data_len = draw(st.sampled_from([len(payload), 0, 0xFFFFFFFF, len(payload) + 7]))
    body = b"WAVE" + b"fmt " + struct.pack("<I", fmt_len) + fmt
    if draw(st.booleans()):
        body += b"LIST" + struct.pack("<I", 3) + b"abc"  # an odd-sized chunk: a pad byte
    body += b"data" + struct.pack("<I", data_len) + payload
    riff = b"RIFF" + struct.pack("<I", draw(st.sampled_from([len(body), 0, 0xFFFFFFFF]))) + body
    cut = draw(st.integers(0, len(riff)))
    return riff if not truncate or draw(st.booleans()) else riff[:cut]


async def _decode(decoder: AudioStreamDecoder, data: bytes, splits: list[int]) -> list:
    pos = 0
    for size in splits:
        decoder.push(data[pos : pos + size])
        pos += size
    decoder.push(data[pos:])
    decoder.end_input()
    return [f async for f in decoder]


@pytest.mark.asyncio
@given(
    st.one_of(
        st.tuples(st.just("audio/wav"), wav_files()),
        # detected by its magic bytes (a truncated header would go to FFmpeg's probing,
        # which test_fuzz_subprocess.py runs out of process)
        st.tuples(st.just(None), wav_files(truncate=False)),
        st.tuples(
            st.sampled_from(
                [
                    "audio/pcm;rate=16000;channels=2",
                    "audio/pcmu",
                    "audio/pcma",
                    "audio/L16;rate=44100",
                    "audio/pcm;rate=7;channels=3",
                    "audio/pcmu;rate=99999999999999999999",
                    "audio/pcm;rate=1",
                ]
            ),
            st.binary(max_size=4000),
        ),
    ),
    st.sampled_from([(48000, 1, None), (16000, 2, 10), (None, None, None), (None, 1, 20)]),
    st.lists(st.integers(0, 700), max_size=5),
)
async def test_decoder_streams(source, output, splits):
    """Any bytes, any split: frames of the asked format, then the end or one DecodeError
    (a ValueError naming the format), never another exception or a hang."""
    mime, data = source
    rate, channels, frame_ms = output
    decoder = AudioStreamDecoder(
        sample_rate=rate, num_channels=channels, format=mime, frame_size_ms=frame_ms
    )
    try:
        out = await acheck(
            asyncio.wait_for,
            _decode(decoder, data, splits),
            20,
            entry="AudioStreamDecoder iteration",
            allowed=(DecodeError,),
            names=("wav", "pcm", "pcmu", "pcma", "l16", "format", "decode"),
        )
    finally:
        await decoder.aclose()
    if failed(out):
        assert isinstance(out, DecodeError), repr(out)
        return
    for f in out:
        assert_valid_frame(f, rate=rate, channels=channels)
    if rate is not None and frame_ms:
        assert all(f.samples_per_channel == rate * frame_ms // 1000 for f in out[:-1])


@pytest.mark.asyncio
@given(st.lists(st.one_of(st.binary(max_size=50), st.sampled_from([*JUNK, "text", 5])), max_size=6))
async def test_decoder_push(chunks):
    decoder = AudioStreamDecoder(format="audio/pcm;rate=16000", sample_rate=16000)
    try:
        for chunk in chunks:
            check(
                decoder.push,
                chunk,
                entry="AudioStreamDecoder.push",
                allowed=(RuntimeError,),
                names=("push", "bytes"),
                untouched=[chunk],
            )
        decoder.end_input()
        check(decoder.push, b"\x00\x00", entry="AudioStreamDecoder.push", allowed=(RuntimeError,))
        # (a push ending inside a sample makes the stream truncated: DecodeError)
        out = await acheck(
            asyncio.wait_for,
            _decode_all(decoder),
            10,
            entry="AudioStreamDecoder iteration",
            allowed=(DecodeError,),
            names=("pcm",),
        )
        if not failed(out):
            for f in out:
                assert_valid_frame(f, rate=16000, channels=1)
    finally:
        await decoder.aclose()


async def _decode_all(decoder: AudioStreamDecoder) -> list:
    return [f async for f in decoder]
