"""AudioStreamDecoder: formats, conversion, and the livekit-agents flaws it must not have.

Reference decodes come from PyAV's own demux-and-decode of the whole file (FFmpeg's
demuxers: gapless MP3 and Ogg trimming included) and from soundfile (libsndfile's WAV
reader); inputs are real speech encoded here with PyAV or soundfile.
"""

from __future__ import annotations

import asyncio
import io
import struct
import threading
import tracemalloc
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
import soundfile as sf  # type: ignore[import-untyped]
from helpers import load_speech

from livekit_audio.audio_frame import AudioFrame
from livekit_audio.codecs import (
    AudioStreamDecoder,
    DecodeError,
    audio_frames_from_file,
    ulaw_decode,
    ulaw_encode,
)
from livekit_audio.codecs._pool import FairPool, shared_pool
from livekit_audio.convert import StreamConverter

av = pytest.importorskip("av")
T = TypeVar("T")

SPEECH = "allison_demo-instruct_16k.wav"
SECONDS = 6


# --- inputs ------------------------------------------------------------------------------------


def encode(x: np.ndarray, rate: int, container: str, codec: str, out_rate: int) -> bytes:
    """int16 mono ``x`` at ``rate`` encoded with PyAV into an in-memory file."""
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as c:
        stream = c.add_stream(codec, rate=out_rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(x.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=out_rate)
        for f in resampler.resample(frame) + resampler.resample(None):
            for p in stream.encode(f):
                c.mux(p)
        for p in stream.encode(None):
            c.mux(p)
    return buf.getvalue()


def encode_sf(x: np.ndarray, rate: int, fmt: str, subtype: str) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


#: name -> (MIME type, how to make it from (speech, rate))
ENCODINGS = {
    "mp3": ("audio/mpeg", lambda x, r: encode(x, r, "mp3", "libmp3lame", 24000)),
    "opus": ("audio/opus", lambda x, r: encode(x, r, "ogg", "libopus", 48000)),
    "aac": ("audio/aac", lambda x, r: encode(x, r, "adts", "aac", 16000)),
    "flac": ("audio/flac", lambda x, r: encode(x, r, "flac", "flac", 16000)),
    "vorbis": ("audio/ogg", lambda x, r: encode_sf(x, r, "OGG", "VORBIS")),
    "webm": ("audio/webm", lambda x, r: encode(x, r, "webm", "libopus", 48000)),
}


@pytest.fixture(scope="module")
def speech(speech_dir: Path) -> tuple[np.ndarray, int]:
    x, rate = load_speech(speech_dir, SPEECH)
    return np.ascontiguousarray(x[: SECONDS * rate]), rate


@pytest.fixture(scope="module")
def encoded(speech: tuple[np.ndarray, int]) -> dict[str, bytes]:
    x, rate = speech
    return {name: make(x, rate) for name, (_, make) in ENCODINGS.items()}


def reference(data: bytes) -> tuple[np.ndarray, int]:
    """PyAV's demux + decode of a whole file, as int16 (n, channels), and its rate."""
    out, rate = [], 0
    with av.open(io.BytesIO(data)) as c:
        for f in c.decode(c.streams.audio[0]):
            x = f.to_ndarray()
            x = x.T if f.format.is_planar else x.reshape(-1, len(f.layout.channels))
            if x.dtype != np.int16:
                x = np.clip(np.rint(x.astype(np.float32) * 32768), -32768, 32767).astype(np.int16)
            out.append(x)
            rate = f.sample_rate
    return np.concatenate(out), rate


async def decode_all(
    data: bytes,
    *,
    chunk: int | list[int] = 4096,
    **kwargs: Any,
) -> tuple[list[AudioFrame], DecodeError | None]:
    """Push ``data`` in chunks while reading; return the frames and the error, if any."""
    decoder = AudioStreamDecoder(**kwargs)
    sizes = chunk if isinstance(chunk, list) else None

    async def feed() -> None:
        pos, i = 0, 0
        while pos < len(data):
            n = sizes[i % len(sizes)] if sizes else int(chunk)  # type: ignore[arg-type]
            decoder.push(data[pos : pos + n])
            pos, i = pos + n, i + 1
            if i % 8 == 0:
                await asyncio.sleep(0)
        decoder.end_input()

    feeder = asyncio.ensure_future(feed())
    frames: list[AudioFrame] = []
    error = None
    try:
        async for f in decoder:
            frames.append(f)
    except DecodeError as exc:
        error = exc
    await feeder
    await decoder.aclose()
    return frames, error


def samples(frames: list[AudioFrame]) -> np.ndarray:
    if not frames:
        return np.zeros((0, 1), np.int16)
    return np.concatenate([f.to_ndarray() for f in frames])


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


NATIVE: dict[str, Any] = {"sample_rate": None, "num_channels": None}


# --- WAV and raw PCM (our parser) -----------------------------------------------------------------


@pytest.mark.parametrize(
    "subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW"]
)
def test_wav_sample_formats_match_libsndfile(subtype: str, rng: np.random.Generator) -> None:
    x = np.clip(rng.normal(0, 0.3, (2205, 3)), -1, 1)
    data = encode_sf(x, 22050, "WAV", subtype)
    frames, error = run(decode_all(data, chunk=[1, 7, 333, 4096], **NATIVE))
    assert error is None
    y = samples(frames)
    assert {(f.sample_rate, f.num_channels) for f in frames} == {(22050, 3)}
    if subtype in ("PCM_24", "PCM_32"):  # top 16 bits, rounded to nearest
        v = sf.read(io.BytesIO(data), dtype="int32")[0].astype(np.int64)
        expected = np.minimum((v + 32768) >> 16, 32767)
    elif subtype in ("FLOAT", "DOUBLE"):
        v = sf.read(io.BytesIO(data), dtype="float64")[0]
        expected = np.clip(np.rint(v.astype(np.float32) * np.float32(32768)), -32768, 32767)
    else:  # 8-bit, 16-bit and G.711 are exact in int16: libsndfile's own conversion
        expected = sf.read(io.BytesIO(data), dtype="int16")[0]
    np.testing.assert_array_equal(y, expected.astype(np.int16))


def test_wav_any_chunking_gives_identical_output(
    speech: tuple[np.ndarray, int], rng: np.random.Generator
) -> None:
    x, rate = speech
    data = encode_sf(x, rate, "WAV", "PCM_16")
    whole, _ = run(decode_all(data, chunk=len(data), **NATIVE))
    sizes = [int(s) for s in rng.integers(1, 5000, size=64)]
    pieces, error = run(decode_all(data, chunk=sizes, **NATIVE))
    assert error is None
    np.testing.assert_array_equal(samples(pieces)[:, 0], x)
    np.testing.assert_array_equal(samples(pieces), samples(whole))


def _streaming_wav(x: np.ndarray, rate: int) -> bytes:
    """A WAV header as streaming TTS servers send it: RIFF and data sizes 0xFFFFFFFF."""
    header = b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    header += b"data" + struct.pack("<I", 0xFFFFFFFF)
    return header + x.astype("<i2").tobytes()


def test_wav_after_wav_keeps_decoding(speech: tuple[np.ndarray, int]) -> None:
    x, rate = speech
    a = encode_sf(x[:16000], rate, "WAV", "PCM_16")
    b = encode_sf(x[16000:40000], 8000, "WAV", "PCM_16")  # another rate: converted to the first
    frames, error = run(decode_all(a + b, chunk=1000, sample_rate=16000, num_channels=1))
    assert error is None
    y = samples(frames)[:, 0]
    np.testing.assert_array_equal(y[:16000], x[:16000])
    assert abs(len(y) - (16000 + 48000)) <= 1  # 24000 samples at 8 kHz become 48000 at 16 kHz


def test_frames_stay_exact_across_a_concatenated_file_in_another_format(
    speech: tuple[np.ndarray, int],
) -> None:
    """WAV at 16 kHz mono, then WAV at 8 kHz stereo: every 10 ms frame but the last holds
    exactly 160 samples (the converter keeps framing across the change), and the samples are
    the two files converted one after the other."""
    x, rate = speech
    a = x[:16001]
    b = np.stack([x[16001:24000], -x[16001:24000]], axis=1)
    data = encode_sf(a, rate, "WAV", "PCM_16") + encode_sf(b, 8000, "WAV", "PCM_16")
    frames, error = run(decode_all(data, sample_rate=16000, num_channels=1, frame_size_ms=10))
    assert error is None
    assert all(f.samples_per_channel == 160 for f in frames[:-1])
    assert 0 < frames[-1].samples_per_channel <= 160
    second = StreamConverter(8000, 2, 16000, 1)
    expected = np.concatenate([a, samples(second.push(b) + second.flush())[:, 0]])
    np.testing.assert_array_equal(samples(frames)[:, 0], expected)


def test_riff_header_at_a_push_restarts_a_wav_of_unknown_length(
    speech: tuple[np.ndarray, int],
) -> None:
    x, rate = speech

    async def go() -> np.ndarray:
        decoder = AudioStreamDecoder(sample_rate=None, num_channels=None, format="audio/wav")
        decoder.push(_streaming_wav(x[:8000], rate))
        decoder.push(_streaming_wav(x[8000:16000], rate))  # a second TTS response
        decoder.end_input()
        return samples([f async for f in decoder])[:, 0]

    np.testing.assert_array_equal(run(go()), x[:16000])  # the header is not played as audio


def test_raw_pcm_and_g711_types(speech: tuple[np.ndarray, int]) -> None:
    x, rate = speech
    stereo = np.stack([x[:8000], -x[:8000]], axis=1)

    async def go(fmt: str, data: bytes) -> np.ndarray:
        frames, error = await decode_all(data, chunk=[160, 3], format=fmt, **NATIVE)
        assert error is None
        return samples(frames)

    mu = ulaw_encode(x[:8000])
    np.testing.assert_array_equal(run(go("audio/PCMU", mu.tobytes()))[:, 0], ulaw_decode(mu))
    y = run(go("audio/pcm;rate=16000;channels=2", stereo.astype("<i2").tobytes()))
    np.testing.assert_array_equal(y, stereo)
    y = run(go("audio/L16; rate=16000", x[:8000].astype(">i2").tobytes()))
    np.testing.assert_array_equal(y[:, 0], x[:8000])
    frames, _ = run(decode_all(mu.tobytes(), format="audio/pcmu", num_channels=1, sample_rate=None))
    assert frames[0].sample_rate == 8000  # telephony default


# --- compressed formats (PyAV, fed packet by packet) ----------------------------------------------


@pytest.mark.parametrize("name", list(ENCODINGS))
def test_decodes_like_ffmpegs_own_demuxer(name: str, encoded: dict[str, bytes]) -> None:
    data = encoded[name]
    mime = ENCODINGS[name][0]
    expected, rate = reference(data)
    for fmt in (mime, None):  # given, and detected from the magic bytes
        frames, error = run(decode_all(data, format=fmt, **NATIVE))
        assert error is None
        assert {f.sample_rate for f in frames} == {rate}
        np.testing.assert_array_equal(samples(frames), expected)


def test_output_goes_through_the_package_converter(encoded: dict[str, bytes]) -> None:
    data = encoded["mp3"]
    native, _ = run(decode_all(data, **NATIVE))
    first = native[0]
    assert {(f.sample_rate, f.num_channels) for f in native} == {
        (first.sample_rate, first.num_channels)
    }
    converter = StreamConverter(first.sample_rate, first.num_channels, 48000, 2, 480)
    expected = [f for n in native for f in converter.push(n)] + converter.flush()
    frames, error = run(decode_all(data, sample_rate=48000, num_channels=2, frame_size_ms=10))
    assert error is None
    assert all(f.samples_per_channel == 480 for f in frames[:-1])
    assert 0 < frames[-1].samples_per_channel <= 480  # the last one is short, not padded
    assert {(f.sample_rate, f.num_channels) for f in frames} == {(48000, 2)}
    np.testing.assert_array_equal(samples(frames), samples(expected))


def test_decoded_speech_sounds_like_the_input(
    speech: tuple[np.ndarray, int], encoded: dict[str, bytes]
) -> None:
    x, rate = speech
    for name in ("mp3", "opus", "aac"):
        frames, _ = run(decode_all(encoded[name], sample_rate=rate, num_channels=1))
        y = samples(frames)[:, 0].astype(np.float64)
        lag = int(np.argmax(np.correlate(y[: 2 * rate], x[:rate].astype(np.float64), "valid")))
        m = min(len(y) - lag, len(x))
        corr = np.corrcoef(y[lag : lag + m], x[:m])[0, 1]
        assert corr > 0.95, (name, corr)


# --- livekit-agents' flaws, fixed -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["mp3", "opus", "aac", "flac", "vorbis"])
def test_truncated_stream_raises_after_the_frames_before_it(
    name: str, encoded: dict[str, bytes]
) -> None:
    data = encoded[name]
    cut = len(data) // 2 + 17
    frames, error = run(decode_all(data[:cut], **NATIVE))
    assert isinstance(error, DecodeError) and isinstance(error, ValueError)
    assert "truncated" in str(error) and f"at byte {error.offset}" in str(error)
    assert error.format in str(error) and error.format.split("/")[0] in (
        "mp3",
        "ogg",
        "aac",
        "flac",
    )
    assert 0 < error.offset <= cut
    full, _ = reference(data)
    got = samples(frames)
    assert len(full) * 0.3 < len(got) < len(full)  # everything before the cut came out
    np.testing.assert_array_equal(got[: len(got) // 2], full[: len(got) // 2])


def test_truncated_wav_raises(speech: tuple[np.ndarray, int]) -> None:
    x, rate = speech
    data = encode_sf(x, rate, "WAV", "PCM_16")
    frames, error = run(decode_all(data[: len(data) - 1001], **NATIVE))
    assert isinstance(error, DecodeError) and error.format == "wav"
    assert error.offset == len(data) - 1001
    np.testing.assert_array_equal(samples(frames)[:, 0], x[: len(x) - 501])  # whole samples


@pytest.mark.parametrize("name", ["mp3", "aac", "opus"])
def test_corrupt_stream_raises_at_the_damaged_offset(
    name: str, encoded: dict[str, bytes], rng: np.random.Generator
) -> None:
    data = bytearray(encoded[name])
    start = len(data) // 2
    data[start : start + 3000] = rng.bytes(3000)
    frames, error = run(decode_all(bytes(data), **NATIVE))
    assert isinstance(error, DecodeError)
    # the frame or page holding the first damaged byte, or the next boundary inside the damage
    assert start - 10_000 <= error.offset <= start + 3000, error
    assert len(samples(frames)) > 0


def test_garbage_is_an_error_not_silence(rng: np.random.Generator) -> None:
    frames, error = run(decode_all(rng.bytes(20000), **NATIVE))
    assert isinstance(error, DecodeError) and not frames
    frames, error = run(decode_all(rng.bytes(20000), format="audio/mpeg", **NATIVE))
    assert isinstance(error, DecodeError) and error.format == "mp3" and error.offset == 0


@pytest.mark.parametrize("name", ["mp3", "opus", "flac", "vorbis"])
def test_concatenated_files_keep_decoding(name: str, encoded: dict[str, bytes]) -> None:
    data = encoded[name]
    one, _ = reference(data)
    frames, error = run(decode_all(data + data + data, chunk=3001, **NATIVE))
    assert error is None
    y = samples(frames)
    assert len(y) == 3 * len(one)
    for i in range(3):
        np.testing.assert_array_equal(y[i * len(one) : (i + 1) * len(one)], one)


def test_concatenated_adts_keeps_decoding(encoded: dict[str, bytes]) -> None:
    one, _ = reference(encoded["aac"])  # ADTS has no file boundary: the decoder just continues
    frames, error = run(decode_all(encoded["aac"] * 2, **NATIVE))
    assert error is None and len(samples(frames)) == 2 * len(one)


def test_100_decoders_share_at_most_4_threads_and_none_starves(
    encoded: dict[str, bytes], speech: tuple[np.ndarray, int]
) -> None:
    x, rate = speech
    short_mp3 = encode(x[: rate // 2], rate, "mp3", "libmp3lame", 24000)
    long_wav = encode_sf(np.tile(x, 4), rate, "WAV", "PCM_16")
    pool = shared_pool()
    pool.reset_peak()
    names: set[str] = set()
    finish_order: list[int] = []

    async def one(i: int, data: bytes) -> int:
        decoder = AudioStreamDecoder(sample_rate=48000, num_channels=1, frame_size_ms=10)
        decoder.push(data)  # all at once: the long stream has plenty of work queued
        decoder.end_input()
        n = 0
        async for f in decoder:
            n += f.samples_per_channel
            names.update(t.name for t in threading.enumerate())
        finish_order.append(i)
        return n

    async def go() -> list[int]:
        tasks = [asyncio.ensure_future(one(0, long_wav))]
        await asyncio.sleep(0)
        tasks += [asyncio.ensure_future(one(i, short_mp3)) for i in range(1, 100)]
        return list(await asyncio.gather(*tasks))

    counts = run(go())
    assert pool.peak_workers <= 4
    assert len({n for n in names if n.startswith("livekit_audio-decode")}) <= 4
    assert counts[0] == len(x) * 4 * 3 and all(c > 0 for c in counts[1:])
    assert finish_order[-1] == 0  # round-robin: every short stream finished before the long one


def test_fair_pool_round_robin_order() -> None:
    pool = FairPool(max_workers=1, idle_timeout=0.5, name="test-pool")
    log: list[str] = []
    done = threading.Event()

    class Job:
        def __init__(self, name: str, steps: int) -> None:
            self.name, self.left = name, steps

        def step(self) -> bool:
            log.append(self.name)
            self.left -= 1
            if self.name == "b" and not self.left:
                done.set()
            return self.left > 0

    gate = threading.Event()

    class Gate:
        def step(self) -> bool:
            gate.wait(5)
            return False

    pool.submit(Gate())  # holds the only worker until both jobs are queued
    pool.submit(Job("a", 4))
    pool.submit(Job("b", 2))
    gate.set()
    assert done.wait(5)
    assert log[:4] == ["a", "b", "a", "b"]


@pytest.mark.parametrize("moment", ["before", "probing", "mid-stream", "reading", "ended"])
def test_aclose_at_any_moment_is_prompt_and_quiet(
    moment: str, encoded: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = encoded["opus"]
    pool = shared_pool()
    monkeypatch.setattr(pool, "idle_timeout", 0.05)

    async def go() -> None:
        decoder = AudioStreamDecoder()
        reader = None
        if moment == "probing":
            decoder.push(data[:10])  # not enough to tell the format yet
        elif moment in ("mid-stream", "reading"):
            decoder.push(data[: len(data) // 2])
            if moment == "reading":
                reader = asyncio.ensure_future(_drain(decoder))
                await asyncio.sleep(0.01)
        elif moment == "ended":
            decoder.push(data)
            decoder.end_input()
        await asyncio.wait_for(decoder.aclose(), 5)
        await asyncio.wait_for(decoder.aclose(), 5)  # idempotent
        if reader is not None:
            await asyncio.wait_for(reader, 5)  # the pending read ends: no exception
        with pytest.raises(StopAsyncIteration):
            await decoder.__anext__()
        with pytest.raises(RuntimeError, match="closed"):
            decoder.push(b"x")

    run(go())
    for _ in range(200):  # the shared workers go idle and exit: no thread is left behind
        if pool.workers == 0:
            break
        threading.Event().wait(0.02)
    assert pool.workers == 0


async def _drain(decoder: AudioStreamDecoder) -> int:
    return sum([1 async for _ in decoder])


def test_push_after_end_input_raises() -> None:
    async def go() -> None:
        decoder = AudioStreamDecoder(format="audio/wav")
        decoder.end_input()
        decoder.end_input()  # idempotent
        with pytest.raises(RuntimeError, match="end_input"):
            decoder.push(b"RIFF")
        assert [f async for f in decoder] == []  # nothing pushed: ends with no frame, no error
        await decoder.aclose()

    run(go())


def test_memory_stays_bounded_on_an_endless_stream(rng: np.random.Generator) -> None:
    """100 s of 8 kHz mu-law (as a telephony trunk sends it) pushed 20 ms at a time while
    reading: consumed input is released, so what the decoder holds does not grow."""
    payload = ulaw_encode(rng.integers(-8000, 8000, 160, dtype=np.int16)).tobytes()

    async def go() -> tuple[int, int, int]:
        decoder = AudioStreamDecoder(sample_rate=16000, format="audio/pcmu", frame_size_ms=20)
        most_held = 0
        got = 0
        tracemalloc.start()
        try:
            for i in range(5000):
                decoder.push(payload)
                most_held = max(most_held, decoder.buffered_input_bytes)
                if i % 50 == 49:
                    while got < (i + 1) - 60:  # the reader keeps up, a few frames behind
                        await decoder.__anext__()
                        got += 1
                    if i == 499:
                        tracemalloc.reset_peak()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        decoder.end_input()
        async for _ in decoder:
            got += 1
        return most_held, peak, got

    most_held, peak, got = run(go())
    assert got == 5000
    assert most_held <= 160 * 120  # a couple of seconds at most, not the whole stream
    assert peak < 4 * 1024 * 1024  # 100 s of decoded 16 kHz audio alone would be 3.2 MB


def test_iteration_does_not_block_the_event_loop(encoded: dict[str, bytes]) -> None:
    async def go() -> tuple[int, int]:
        ticks = 0
        stop = False

        async def ticker() -> None:
            nonlocal ticks
            while not stop:
                ticks += 1
                await asyncio.sleep(0)

        t = asyncio.ensure_future(ticker())
        decoder = AudioStreamDecoder(frame_size_ms=10)
        decoder.push(encoded["aac"] * 4)
        decoder.end_input()
        frames = 0
        async for _ in decoder:
            frames += 1
        stop = True
        await t
        return ticks, frames

    ticks, frames = run(go())
    assert frames > 2000
    assert ticks > 10  # the loop kept running other tasks while the pool decoded


# --- API and validation ---------------------------------------------------------------------------


def test_validation() -> None:
    with pytest.raises(ValueError, match="unsupported format"):
        AudioStreamDecoder(format="audio/x-nope")
    with pytest.raises(ValueError, match="rate parameter"):
        AudioStreamDecoder(format="audio/pcm")
    with pytest.raises(ValueError, match="whole number"):
        AudioStreamDecoder(sample_rate=44100, frame_size_ms=15)
    with pytest.raises(ValueError):
        AudioStreamDecoder(num_channels=9)
    with pytest.raises(TypeError):
        AudioStreamDecoder(sample_rate=48000.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        AudioStreamDecoder(format=3)  # type: ignore[arg-type]

    async def go() -> None:
        decoder = AudioStreamDecoder()
        with pytest.raises(TypeError):
            decoder.push("text")  # type: ignore[arg-type]
        await decoder.aclose()

    run(go())


def test_async_context_manager_and_repr() -> None:
    async def go() -> str:
        async with AudioStreamDecoder(format="audio/opus", frame_size_ms=20) as decoder:
            return repr(decoder)

    assert "audio/opus" in str(run(go()))


# --- audio_frames_from_file -----------------------------------------------------------------------


def test_audio_frames_from_file(encoded: dict[str, bytes], tmp_path: Path) -> None:
    path = tmp_path / "speech.mp3"
    path.write_bytes(encoded["mp3"])
    expected, _ = run(decode_all(encoded["mp3"], sample_rate=16000, num_channels=1))

    async def go(p: Path, **kw: object) -> list[AudioFrame]:
        return [f async for f in audio_frames_from_file(p, **kw)]  # type: ignore[arg-type]

    frames = run(go(path, sample_rate=16000, frame_size_ms=10))
    assert all(f.samples_per_channel == 160 for f in frames[:-1])
    np.testing.assert_array_equal(samples(frames), samples(expected))

    cut = tmp_path / "cut.mp3"
    cut.write_bytes(encoded["mp3"][: len(encoded["mp3"]) // 2 + 3])
    with pytest.raises(DecodeError, match="truncated"):
        run(go(cut))
    with pytest.raises(FileNotFoundError):
        run(go(tmp_path / "missing.wav"))


def test_audio_frames_from_a_file_only_soundfile_reads(
    speech: tuple[np.ndarray, int], tmp_path: Path
) -> None:
    x, rate = speech
    path = tmp_path / "speech.aiff"
    sf.write(path, x, rate, subtype="PCM_16")

    async def go() -> list[AudioFrame]:
        return [f async for f in audio_frames_from_file(path, sample_rate=None)]

    np.testing.assert_array_equal(samples(run(go()))[:, 0], x)
