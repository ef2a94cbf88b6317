"""The riskiest inputs, each run in a child interpreter that must exit normally.

2**31+ declared sizes over tiny buffers, huge zero-stride arrays, allocations past the
machine, misaligned buffers into every native kernel, and corrupt encoded input into
FFmpeg's parsers: a crash here (SIGSEGV, SIGABRT, an abort in C) would take pytest down, so
each run is a ``python -c`` child under a 3 GB address-space limit, started outside the
checkout (pytest's ``tmp_path``). The child reports every case as a JSON line; the parent
checks the outcomes as :func:`fuzzkit.check` does and that the child exited with status 0.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from fuzzkit import KNOWN_DEFECTS, STATS

#: Address-space limit of a child: a 4 GB copy or allocation fails with MemoryError there
#: instead of paging this shared machine.
LIMIT_BYTES = 3 * 2**30

PRELUDE = textwrap.dedent(
    f"""
    import asyncio, json, resource, sys
    from types import SimpleNamespace as Duck
    resource.setrlimit(resource.RLIMIT_AS, ({LIMIT_BYTES}, {LIMIT_BYTES}))
    import numpy as np
    import livekit_audio as la
    from numpy.lib.stride_tricks import as_strided

    def case(name, fn, *args, **kwargs):
        try:
            out = fn(*args, **kwargs)
            if asyncio.iscoroutine(out):
                out = asyncio.run(out)
            outcome, message = "ok", ""
        except BaseException as exc:
            kind = "MemoryError" if isinstance(exc, MemoryError) else type(exc).__name__
            outcome, message = kind, str(exc)[:300]
        print(json.dumps({{"case": name, "outcome": outcome, "message": message}}), flush=True)

    def zeros(n, channels=0, dtype=np.int16):
        base = np.zeros(1, dtype)
        if channels:
            return as_strided(base, shape=(n, channels), strides=(0, 0))
        return as_strided(base, shape=(n,), strides=(0,))
    """
)


def run_child(body: str, tmp_path, timeout: float = 240) -> list[dict[str, str]]:
    """Run PRELUDE + body in a child; assert it exited normally; return its case lines."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(body)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    STATS["subprocess runs"] += 1
    if proc.returncode < 0:
        STATS["crashes"] += 1
        name = signal.Signals(-proc.returncode).name
        pytest.fail(f"child crashed with {name}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    assert proc.returncode == 0, f"child exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, proc.stderr[-3000:]
    return lines


def judge(lines: list[dict[str, str]], allowed: set[str], names: tuple[str, ...] = ()) -> list[str]:
    """Tally the child's cases; every outcome must be "ok" or in ``allowed``, and a
    ValueError/TypeError message must name one of ``names``. Returns the problems."""
    problems = []
    for line in lines:
        STATS["subprocess cases"] += 1
        outcome, message = line["outcome"], line["message"]
        known = [
            key
            for key, d in KNOWN_DEFECTS.items()
            if d.exc.__name__ == outcome and line["case"].startswith(key)
        ]
        if known:
            STATS[f"known:{known[0]}"] += 1
            continue
        STATS["ok" if outcome == "ok" else outcome] += 1
        if outcome != "ok" and outcome not in allowed:
            problems.append(f"{line['case']}: {outcome}: {message}")
        elif outcome in {"ValueError", "TypeError"} and names:
            if not any(n.lower() in message.lower() for n in names):
                problems.append(f"{line['case']}: message names none of {names}: {message}")
    return problems


def test_declared_sizes_past_2_31_over_tiny_buffers(tmp_path):
    """Frames declaring 2**31 - 1 to 2**63 - 1 samples (and 1024 channels) over a few
    bytes, into every consumer that reaches native code: refused by validation, naming the
    buffer or the field, before anything is allocated or read."""
    lines = run_child(
        """
        sizes = [2**31 - 1, 2**31, 2**32 + 1, 2**62, 2**63 - 1]
        for n in sizes:
            for ch in (1, 1024):
                liar = Duck(data=bytearray(4), sample_rate=48000, num_channels=ch,
                            samples_per_channel=n)
                good = la.AudioFrame.create(48000, ch, 1)
                tag = f"{n}x{ch}"
                case(f"AudioFrame {tag}", la.AudioFrame, bytearray(4), 48000, ch, n)
                case(f"push {tag}", la.AudioResampler(48000, 16000, num_channels=min(ch, 8)).push,
                     liar)
                case(f"mix {tag}", la.mix_frames, [good, liar])
                case(f"combine {tag}", la.combine_audio_frames, [good, liar])
                case(f"converter {tag}", la.StreamConverter(48000, ch, 16000, 1).push, liar)
                case(f"chunker {tag}", la.FrameChunker(48000, ch).push, liar)
                case(f"gain {tag}", la.GainProcessor(-6.0)._process, liar)
                apm = la.AudioProcessingModule(noise_suppression=True, echo_cancellation=True)
                case(f"process_stream {tag}", apm.process_stream, liar)
                case(f"process_reverse_stream {tag}", apm.process_reverse_stream, liar)
                case(f"ApmProcessor {tag}", la.ApmProcessor(noise_suppression=True)._process,
                     liar)
                case(f"process_batch {tag}", la.process_batch, [apm], [liar])
                source = la.AudioSource(48000, ch, realtime=False)
                case(f"capture_frame {tag}", source.capture_frame, liar)
        """,
        tmp_path,
    )
    problems = judge(
        lines,
        {"ValueError", "TypeError", "AudioProcessingError"},
        ("data", "samples_per_channel", "num_channels"),
    )
    assert not problems, "\n".join(problems)
    assert len(lines) == 5 * 2 * 12


def test_huge_zero_stride_arrays(tmp_path):
    """Arrays of 2**31 + 1 samples that take 2 bytes of memory (zero strides): a consumer
    that copies them first needs 4 GB, which fails here with MemoryError (allowed: the size
    is past MAX_SAMPLES_PER_CHANNEL); nothing crashes."""
    lines = run_child(
        """
        big = zeros(2**31 + 1)
        big2 = zeros(2**30 + 1, 2)
        case("from_ndarray 1-D", la.AudioFrame.from_ndarray, big, 48000)
        case("from_ndarray 2-D", la.AudioFrame.from_ndarray, big2, 48000)
        case("resample int16", la.resample, big, 48000, 16000)
        case("resample float32", la.resample, zeros(2**31 + 1, 0, np.float32), 48000, 16000)
        case("resampler push", la.AudioResampler(48000, 16000).push, big)
        case("converter push", la.StreamConverter(48000, 2, 16000, 1).push, big2)
        from livekit_audio.codecs import ulaw_encode, alaw_decode
        case("ulaw_encode", ulaw_encode, big)
        case("alaw_decode", alaw_decode, zeros(2**32 + 1, 0, np.uint8))
        """,
        tmp_path,
    )
    problems = judge(lines, {"ValueError", "TypeError", "MemoryError"}, ("array", "samples"))
    assert not problems, "\n".join(problems)


def test_allocations_past_the_machine(tmp_path):
    """Valid layouts whose frames cannot be allocated (2**31 - 1 samples x 1024 channels:
    4 TB): MemoryError at the allocation, nothing else; and sizes past AudioFrame's limits
    refused with ValueError before any allocation."""
    lines = run_child(
        """
        one = la.AudioFrame.create(48000, 1024, 1)
        case("create 4 TB", la.AudioFrame.create, 48000, 1024, 2**31 - 1)
        conv = la.StreamConverter(48000, 1024, 48000, 1024, samples_per_frame=2**31 - 1)
        conv.push(one)
        case("converter padded flush", conv.flush, pad=True)
        chunker = la.FrameChunker(48000, 1024, samples_per_frame=2**31 - 1)
        chunker.push(one)
        case("chunker padded flush", chunker.flush, pad=True)
        case("chunker past the limit", la.FrameChunker, 48000, 1, samples_per_frame=2**31)
        case("chunker 10 ms of 2**70 Hz", la.FrameChunker, 2**70, 1)
        from livekit_audio.codecs import AudioByteStream
        case("byte stream past the limit", AudioByteStream, 48000, 1, 2**31)
        case("byte stream 2000 channels", AudioByteStream, 48000, 2000, 1)
        case("gain 10**400 dB", la.GainProcessor, 10**400)

        async def mix(blocksize):
            mixer = la.AudioMixer(48000, 1, blocksize=blocksize, stream_timeout_ms=0)
            async def one_frame():
                yield la.AudioFrame.create(48000, 1, 1)
            mixer.add_stream(one_frame())
            mixer.end_input()
            try:
                return [f async for f in mixer]
            finally:
                await mixer.aclose()
        case("mix blocksize 2**31 - 1 (valid: 4 GB blocks)", mix, 2**31 - 1)
        case("mix blocksize 2**40", mix, 2**40)
        """,
        tmp_path,
    )
    problems = judge(
        lines,
        {"ValueError", "TypeError", "MemoryError"},
        (
            "samples_per_frame",
            "sample_rate",
            "num_channels",
            "samples_per_channel",
            "gain_db",
            "blocksize",
        ),
    )
    assert not problems, "\n".join(problems)
    outcomes = {line["case"]: line["outcome"] for line in lines}
    for name in (
        "mix blocksize 2**40",
        "chunker past the limit",
        "chunker 10 ms of 2**70 Hz",
        "byte stream past the limit",
        "byte stream 2000 channels",
        "gain 10**400 dB",
    ):
        assert outcomes[name] == "ValueError", (name, outcomes[name])


def test_misaligned_buffers_into_native_kernels(tmp_path):
    """int16 samples at an odd address (a view one byte into a bytearray) into every kernel:
    the resampler, mixer, gain, the APM with all four stages, G.711. x86-64 and arm64 load
    them either way, but a vector kernel that assumes alignment would fault."""
    lines = run_child(
        """
        rng = np.random.default_rng(7)
        def odd(n):
            buf = bytearray(2 * n + 1)
            view = memoryview(buf)[1:]
            np.frombuffer(view, np.int16)[:] = rng.integers(-32768, 32768, n, dtype=np.int16)
            return view
        for rate, ch in ((16000, 1), (48000, 2), (44100, 1), (32000, 2)):
            n = rate // 100
            frame = la.AudioFrame(odd(n * ch), rate, ch, n)
            duck = Duck(data=odd(n * ch), sample_rate=rate, num_channels=ch, samples_per_channel=n)
            tag = f"{rate}x{ch}"
            case(f"push {tag}", la.AudioResampler(rate, 24000, num_channels=ch).push, frame)
            case(f"push duck {tag}", la.AudioResampler(rate, 8000, num_channels=ch).push, duck)
            case(f"resample {tag}", la.resample,
                 np.frombuffer(odd(n * ch), np.int16).reshape(n, ch), rate, 16000)
            case(f"mix {tag}", la.mix_frames, [frame, duck], gains=[0.5, 2.0])
            case(f"gain {tag}", la.GainProcessor(-3.0)._process, frame)
            apm = la.AudioProcessingModule(echo_cancellation=True, noise_suppression=True,
                                           high_pass_filter=True, auto_gain_control=True)
            for _ in range(3):
                case(f"reverse {tag}", apm.process_reverse_stream, duck)
                case(f"capture {tag}", apm.process_stream, frame)
            case(f"batch {tag}", la.process_batch, [apm], [frame])
            case(f"converter {tag}", la.StreamConverter(rate, ch, 16000, 1, 160).push, duck)
            from livekit_audio.codecs import ulaw_encode, alaw_decode
            case(f"ulaw {tag}", ulaw_encode, np.frombuffer(odd(n), np.int16))
            case(f"alaw {tag}", alaw_decode, odd(n))
        """,
        tmp_path,
    )
    problems = judge(lines, set())
    assert not problems, "\n".join(problems)


def test_corrupt_encoded_input_into_ffmpeg(tmp_path):
    """Random bytes behind each container's magic (and none), in random pieces, through
    AudioStreamDecoder's packetizers and PyAV: frames then a DecodeError at most, never a
    crash, another exception or a hang."""
    pytest.importorskip("av")
    lines = run_child(
        """
        from livekit_audio.codecs import AudioStreamDecoder, DecodeError
        rng = np.random.default_rng(20261121)
        heads = {
            None: b"", "audio/mpeg": b"ID3\\x03\\x00\\x00\\x00\\x00\\x00\\x10",
            "audio/aac": b"\\xff\\xf1\\x50\\x80", "audio/ogg": b"OggS\\x00\\x02",
            "audio/flac": b"fLaC\\x00\\x00\\x00\\x22", "audio/webm": b"\\x1a\\x45\\xdf\\xa3",
            "audio/mp4": b"\\x00\\x00\\x00\\x18ftypisom",
        }
        async def decode(fmt, data):
            decoder = AudioStreamDecoder(sample_rate=16000, num_channels=1, format=fmt,
                                         frame_size_ms=10)
            try:
                pos = 0
                while pos < len(data):
                    step = int(rng.integers(1, 2000))
                    decoder.push(data[pos:pos + step])
                    pos += step
                decoder.end_input()
                frames = []
                async def read():
                    async for f in decoder:
                        assert f.sample_rate == 16000 and f.num_channels == 1
                        frames.append(f)
                await asyncio.wait_for(read(), 60)
                return frames
            finally:
                await decoder.aclose()
        for fmt, head in heads.items():
            for i in range(5):
                body = rng.integers(0, 256, int(rng.integers(0, 6000)), dtype=np.uint8)
                data = head + body.tobytes()
                if i == 4 and len(data) > 8:  # a header repeated mid-stream
                    data = data + head + data[: len(data) // 2]
                case(f"{fmt} #{i}", decode, fmt, data)
                case(f"{fmt} #{i} detected", decode, None, data)
        """,
        tmp_path,
        timeout=420,
    )
    problems = judge(lines, {"DecodeError"})
    assert not problems, "\n".join(problems)
    assert len(lines) == 7 * 5 * 2
