"""Streaming decode benchmark: livekit_audio.codecs.AudioStreamDecoder against livekit-agents'.

    python benchmarks/bench_decoder.py [--quick] [--json PATH] [--plot PATH] [--seconds S]
                                       [--repeats R]

Inputs: S seconds (default 60) of real speech (``allison_demo-instruct_16k.wav``) encoded
here with PyAV as MP3 (LAME, 24 kHz, 64 kbit/s), Ogg Opus (48 kHz, 32 kbit/s) and AAC (ADTS,
24 kHz, 64 kbit/s), the outputs of typical TTS services. Every contender delivers 48 kHz mono
10 ms frames: ours with ``frame_size_ms=10``; livekit-agents' decoder has no frame size, so its
frames are cut to 10 ms with its own ``AudioByteStream``, as its users do.

The peer is livekit-agents' ``AudioStreamDecoder`` when ``livekit.agents`` imports (it pins
its own ``livekit`` version, so it usually lives in a separate environment; run this script
from one where both packages are installed). Otherwise the peer is what that decoder does
inside, written out here: PyAV opens the stream from a blocking pipe-like buffer in a thread of
its own per stream (``probesize=32``, as livekit-agents) and resamples with
``av.AudioResampler``; the report says which peer ran.

Measures, on this machine and in this process, interleaved over R repeats (medians):

1. throughput: the whole file pushed in 4 KiB chunks as fast as the loop allows while a reader
   task takes every frame; wall time and process CPU time (all threads) until the last frame.
   Ratio peer/ours (higher is better for us); target: >= 2x the peer's throughput (wall).
2. time to first frame: 4 KiB chunks pushed one at a time, each followed by up to 100 ms for a
   frame; the number of chunks pushed before the first frame, and the wall time from the first
   push. Target: no more than 1 chunk more than the peer needs.
3. concurrency: 100 decoders at once (MP3, each its own file), fed round-robin in 4 KiB chunks;
   the most threads alive at once beyond the main thread, and the wall time. Target: <= 4.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    DEMO_SPEECH_FILE,
    bench_main,
    format_table,
    interleaved,
    jsonable,
    load_peers,
    medians,
    num,
    package_versions,
    peer_missing_lines,
    positive_int,
    progress,
    ratio,
    read_wav,
    verdict,
)
from _machine import machine_summary
from _plot import Panel, bar_chart, per_contender

SAMPLE_RATE = 48000
FRAME = SAMPLE_RATE // 100
CHUNK = 4096
SEED = 20261121
DEFAULT_SECONDS, DEFAULT_REPEATS = 60, 5
QUICK_SECONDS, QUICK_REPEATS = 4, 1
N_CONCURRENT = 100
TARGET_THROUGHPUT = 2.0
TARGET_EXTRA_CHUNKS = 1
TARGET_THREADS = 4
FIRST_FRAME_WAIT_S = 0.1

#: name -> (container, codec, rate, bit rate, MIME type)
FORMATS = {
    "mp3": ("mp3", "libmp3lame", 24000, 64000, "audio/mpeg"),
    "opus": ("ogg", "libopus", 48000, 32000, "audio/opus"),
    "aac": ("adts", "aac", 24000, 64000, "audio/aac"),
}


# --------------------------------------------------------------------------- inputs


def speech(seconds: float) -> tuple[np.ndarray, int]:
    """``seconds`` of the demo speech clip (looped if shorter), int16 mono, and its rate."""
    x, rate = read_wav(DEMO_SPEECH_FILE)
    n = int(seconds * rate)
    return np.resize(x, n).astype(np.int16), rate


def encode(x: np.ndarray, rate: int, name: str) -> bytes:
    import av

    container, codec, out_rate, bit_rate, _ = FORMATS[name]
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as c:
        stream: Any = c.add_stream(codec, rate=out_rate)
        stream.layout = "mono"
        stream.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(x.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=out_rate)
        for f in resampler.resample(frame) + resampler.resample(None):
            for p in stream.encode(f):
                c.mux(p)
        for p in stream.encode(None):
            c.mux(p)
    return buf.getvalue()


def chunks(data: bytes) -> list[bytes]:
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


# --------------------------------------------------------------------------- contenders


@dataclass
class Contender:
    """``make(mime)`` returns an object with push / end_input / async iteration / aclose that
    yields 48 kHz mono 10 ms frames (any object with ``samples_per_channel``)."""

    key: str
    label: str
    make: Callable[[str], Any]


def _ours() -> Contender:
    from livekit_audio.codecs import AudioStreamDecoder

    def make(mime: str) -> Any:
        return AudioStreamDecoder(
            sample_rate=SAMPLE_RATE, num_channels=1, format=mime, frame_size_ms=10
        )

    return Contender("ours", "livekit_audio AudioStreamDecoder", make)


class _Rechunked:
    """A decoder whose frames are cut to 10 ms by an ``AudioByteStream``-like ``chunker``."""

    def __init__(self, decoder: Any, chunker: Any) -> None:
        self._decoder = decoder
        self._chunker = chunker
        self._ready: list[Any] = []
        self._done = False

    def push(self, chunk: bytes) -> None:
        self._decoder.push(chunk)

    def end_input(self) -> None:
        self._decoder.end_input()

    def __aiter__(self) -> _Rechunked:
        return self

    async def __anext__(self) -> Any:
        while not self._ready:
            if self._done:
                raise StopAsyncIteration
            try:
                frame = await self._decoder.__anext__()
            except StopAsyncIteration:
                self._done = True
                self._ready = list(self._chunker.flush())
                continue
            self._ready = list(self._chunker.push(bytes(frame.data)))
        return self._ready.pop(0)

    async def aclose(self) -> None:
        await self._decoder.aclose()


def _livekit_agents() -> Contender:
    from livekit.agents.utils.audio import AudioByteStream  # type: ignore[import-untyped]
    from livekit.agents.utils.codecs import AudioStreamDecoder  # type: ignore[import-untyped]

    def make(mime: str) -> Any:
        return _Rechunked(
            AudioStreamDecoder(sample_rate=SAMPLE_RATE, num_channels=1, format=mime),
            AudioByteStream(SAMPLE_RATE, 1, FRAME),
        )

    return Contender("peer", "livekit-agents AudioStreamDecoder (+ its AudioByteStream)", make)


class _PipeBuffer:
    """Blocking reads for the decode thread, writes from the loop (as livekit-agents')."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._cond = threading.Condition()
        self._eof = False
        self._closed = False

    def write(self, data: bytes) -> None:
        with self._cond:
            self._data += data
            self._cond.notify_all()

    def read(self, size: int = -1) -> bytes:
        with self._cond:
            while not self._data and not self._eof and not self._closed:
                self._cond.wait()
            if self._closed:
                return b""
            n = len(self._data) if size < 0 else min(size, len(self._data))
            out = bytes(self._data[:n])
            del self._data[:n]
            return out

    def end(self) -> None:
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class _PyAvThreadDecoder:
    """What livekit-agents' decoder does, without livekit-agents: a thread per stream runs
    ``av.open`` on a pipe buffer and ``av.AudioResampler`` to 48 kHz mono s16."""

    def __init__(self, mime: str) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._fmt = {"audio/mpeg": "mp3", "audio/opus": "ogg", "audio/aac": "aac"}[mime]
        self._buf = _PipeBuffer()
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._executor = ThreadPoolExecutor(max_workers=1)
        self._started = False

    def push(self, chunk: bytes) -> None:
        self._buf.write(chunk)
        if not self._started:
            self._started = True
            self._loop.run_in_executor(self._executor, self._run)

    def end_input(self) -> None:
        self._buf.end()

    def _run(self) -> None:
        import av

        from livekit_audio import AudioFrame

        try:
            container: Any = av.open(
                self._buf,
                format=self._fmt,
                buffer_size=256,
                options={"probesize": "32", "analyzeduration": "0", "fflags": "nobuffer"},
            )
            with container as c:
                resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
                stream = c.streams.audio[0]
                for f in c.decode(stream):
                    for g in resampler.resample(f):
                        x = g.to_ndarray().reshape(-1)
                        self._loop.call_soon_threadsafe(
                            self._queue.put_nowait, AudioFrame(x.tobytes(), SAMPLE_RATE, 1, len(x))
                        )
                for g in resampler.resample(None):
                    x = g.to_ndarray().reshape(-1)
                    self._loop.call_soon_threadsafe(
                        self._queue.put_nowait, AudioFrame(x.tobytes(), SAMPLE_RATE, 1, len(x))
                    )
        except Exception:  # noqa: BLE001 - the peer logs and ends, as livekit-agents
            pass
        finally:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, None)

    def __aiter__(self) -> _PyAvThreadDecoder:
        return self

    async def __anext__(self) -> Any:
        item = await self._queue.get()
        if item is None:
            self._queue.put_nowait(None)
            raise StopAsyncIteration
        return item

    async def aclose(self) -> None:
        self._buf.close()
        self._executor.shutdown(wait=False)


def _pyav_thread() -> Contender:
    from livekit_audio.codecs import AudioByteStream

    def make(mime: str) -> Any:
        return _Rechunked(_PyAvThreadDecoder(mime), AudioByteStream(SAMPLE_RATE, 1, FRAME))

    return Contender(
        "peer", "PyAV in a thread per stream + av.AudioResampler (livekit-agents' method)", make
    )


def _smoke(contender: Contender) -> None:
    x, rate = speech(0.5)
    data = encode(x, rate, "mp3")

    async def go() -> int:
        return await decode_once(contender, "audio/mpeg", chunks(data))

    if asyncio.run(go()) < 0.4 * SAMPLE_RATE:
        raise RuntimeError("decoded less than the input")


def load_contenders() -> tuple[list[Contender], dict[str, str]]:
    ours, missing = load_peers([("livekit_audio", _ours)], _smoke)
    peers, missing_peer = load_peers([("livekit-agents", _livekit_agents)], _smoke)
    missing.update(missing_peer)
    if not peers:
        fallback, broken = load_peers([("PyAV thread-per-stream", _pyav_thread)], _smoke)
        peers, missing = fallback, {**missing, **broken}
    return ours + peers, missing


# --------------------------------------------------------------------------- measurements


async def decode_once(contender: Contender, mime: str, pieces: Sequence[bytes]) -> int:
    decoder = contender.make(mime)

    async def feed() -> None:
        for i, piece in enumerate(pieces):
            decoder.push(piece)
            if i % 4 == 3:
                await asyncio.sleep(0)
        decoder.end_input()

    feeder = asyncio.ensure_future(feed())
    n = 0
    async for frame in decoder:
        n += frame.samples_per_channel
    await feeder
    await decoder.aclose()
    return n


def measure_throughput(
    contenders: Sequence[Contender],
    mime: str,
    pieces: list[bytes],
    repeats: int,
    rng: random.Random,
) -> dict[str, Any]:
    wall: dict[str, list[float]] = {c.key: [] for c in contenders}
    cpu: dict[str, list[float]] = {c.key: [] for c in contenders}
    out: dict[str, int] = {}
    for c in interleaved(contenders, repeats, rng):
        t0, c0 = time.perf_counter(), time.process_time()
        out[c.key] = asyncio.run(decode_once(c, mime, pieces))
        wall[c.key].append(time.perf_counter() - t0)
        cpu[c.key].append(time.process_time() - c0)
    return {
        "wall_s": medians(wall),
        "cpu_s": medians(cpu),
        "samples_out": out,
        "wall_samples": wall,
    }


async def _first_frame(
    contender: Contender, mime: str, pieces: Sequence[bytes]
) -> tuple[int, float]:
    decoder = contender.make(mime)
    it = decoder.__aiter__()
    t0 = time.perf_counter()
    try:
        for i, piece in enumerate(pieces):
            decoder.push(piece)
            try:
                await asyncio.wait_for(it.__anext__(), FIRST_FRAME_WAIT_S)
            except asyncio.TimeoutError:
                continue
            return i + 1, time.perf_counter() - t0
        decoder.end_input()
        await it.__anext__()
        return len(pieces) + 1, time.perf_counter() - t0
    finally:
        await decoder.aclose()


def measure_first_frame(
    contenders: Sequence[Contender], mime: str, pieces: list[bytes]
) -> dict[str, Any]:
    result: dict[str, Any] = {"chunks": {}, "ms": {}}
    for c in contenders:
        n, s = asyncio.run(_first_frame(c, mime, pieces[:64]))
        result["chunks"][c.key] = n
        result["ms"][c.key] = s * 1000
    return result


async def _decode_concurrently(contender: Contender, files: list[bytes]) -> list[int]:
    decoders = [contender.make("audio/mpeg") for _ in files]
    split = [chunks(f) for f in files]

    async def feed() -> None:
        for i in range(max(len(s) for s in split)):
            for d, s in zip(decoders, split, strict=True):
                if i < len(s):
                    d.push(s[i])
            await asyncio.sleep(0)
        for d in decoders:
            d.end_input()

    async def read(d: Any) -> int:
        n = 0
        async for frame in d:
            n += frame.samples_per_channel
        await d.aclose()
        return n

    feeder = asyncio.ensure_future(feed())
    counts = await asyncio.gather(*(read(d) for d in decoders))
    await feeder
    return list(counts)


def _threads_and_wall(contender: Contender, files: list[bytes]) -> tuple[int, float, bool]:
    """Most threads alive at once beyond those before the run, wall time, all decoded."""
    baseline = threading.active_count()
    peak = baseline
    stop = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not stop.wait(0.002):
            peak = max(peak, threading.active_count())

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    counts = asyncio.run(_decode_concurrently(contender, files))
    wall = time.perf_counter() - t0
    stop.set()
    watcher.join()
    return peak - baseline - 1, wall, all(n > 0 for n in counts)  # less the watcher itself


def measure_concurrency(contenders: Sequence[Contender], files: list[bytes]) -> dict[str, Any]:
    from livekit_audio.codecs._pool import shared_pool

    pool = shared_pool()
    pool.idle_timeout = 0.2  # so each run starts from an idle pool
    result: dict[str, Any] = {"threads": {}, "wall_s": {}, "all_decoded": {}}
    for c in contenders:
        settle = time.perf_counter() + 5
        count = threading.active_count()
        while time.perf_counter() < settle:  # earlier runs' threads wind down first
            time.sleep(0.3)
            now = threading.active_count()
            if pool.workers == 0 and now >= count:
                break
            count = now
        threads, wall, complete = _threads_and_wall(c, files)
        result["threads"][c.key] = threads
        result["wall_s"][c.key] = wall
        result["all_decoded"][c.key] = complete
    return result


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    from _common import bench_parser

    p = bench_parser(
        __doc__ or "",
        f"smoke-test size: {QUICK_SECONDS} s, {QUICK_REPEATS} repeat",
        plot_help="the decode times and peer/ours throughput ratios (table 1)",
    )
    p.add_argument(
        "--seconds",
        type=positive_int,
        metavar="S",
        help=f"input length (default {DEFAULT_SECONDS})",
    )
    p.add_argument(
        "--repeats", type=positive_int, metavar="R", help=f"timed runs (default {DEFAULT_REPEATS})"
    )
    args = p.parse_args(argv)
    if args.seconds is None:
        args.seconds = QUICK_SECONDS if args.quick else DEFAULT_SECONDS
    if args.repeats is None:
        args.repeats = QUICK_REPEATS if args.quick else DEFAULT_REPEATS
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    contenders, missing = load_contenders()
    x, rate = speech(args.seconds)
    rng = random.Random(SEED)
    rows = []
    for name, (_, _, _, _, mime) in FORMATS.items():
        progress(f"{name}: encoding {args.seconds} s ...")
        data = encode(x, rate, name)
        pieces = chunks(data)
        progress(f"{name}: throughput ...")
        tp = measure_throughput(contenders, mime, pieces, args.repeats, rng)
        progress(f"{name}: first frame ...")
        ff = measure_first_frame(contenders, mime, pieces)
        rows.append({"format": name, "bytes": len(data), **tp, "first_frame": ff})
    progress(f"{N_CONCURRENT} concurrent decoders ...")
    per_file = 2.0 if args.quick else 10.0
    files = [
        encode(np.roll(x[: int(per_file * rate)], 37 * i), rate, "mp3") for i in range(N_CONCURRENT)
    ]
    conc = measure_concurrency(contenders, files)
    return {
        "config": {
            "seconds": args.seconds,
            "repeats": args.repeats,
            "quick": args.quick,
            "chunk_bytes": CHUNK,
            "output": "48 kHz mono, 10 ms frames",
            "concurrent": N_CONCURRENT,
            "concurrent_seconds_each": per_file,
            "seed": SEED,
        },
        "contenders": {c.key: c.label for c in contenders},
        "missing_peers": missing,
        "versions": package_versions(["av", "livekit", "livekit-agents"]),
        "formats": rows,
        "concurrency": conc,
    }


def report(results: dict[str, Any], info: dict[str, Any]) -> list[str]:
    cfg = results["config"]
    labels = results["contenders"]
    out = ["livekit_audio streaming decoder benchmark", *machine_summary(info)]
    out.append("versions    " + ", ".join(f"{k} {v}" for k, v in results["versions"].items()))
    out += peer_missing_lines(results["missing_peers"], "the fallback peer below is used instead")
    out.append(f"peer        {labels.get('peer', 'none')}")
    has_peer = "peer" in labels
    out += [
        "",
        f"1. Throughput: {cfg['seconds']} s of speech pushed in {cfg['chunk_bytes']} B chunks, "
        f"decoded to {cfg['output']}; median of {cfg['repeats']} interleaved runs. "
        "Ratio = peer time / our time (higher is better); "
        f"target >= {TARGET_THROUGHPUT:g}x (wall).",
    ]
    headers = [
        "format",
        "bytes",
        "ours wall s",
        "peer wall s",
        "wall ratio",
        "ours CPU s",
        "peer CPU s",
        "CPU ratio",
        "target",
    ]
    rows = []
    for r in results["formats"]:
        w, c = r["wall_s"], r["cpu_s"]
        wr = ratio(w.get("peer"), w["ours"])
        rows.append(
            [
                r["format"],
                str(r["bytes"]),
                num(w["ours"], 3),
                num(w.get("peer"), 3),
                num(wr),
                num(c["ours"], 3),
                num(c.get("peer"), 3),
                num(ratio(c.get("peer"), c["ours"])),
                verdict(None if wr is None else wr >= TARGET_THROUGHPUT),
            ]
        )
    out += format_table(headers, rows)
    short = [
        f"{r['format']}: {k} {n} samples"
        for r in results["formats"]
        for k, n in r["samples_out"].items()
        if n < 0.95 * cfg["seconds"] * SAMPLE_RATE
    ]
    out += [f"WARNING: short output ({s})" for s in short]
    out += [
        "",
        f"2. First frame: {cfg['chunk_bytes']} B chunks pushed one at a time, each followed by up "
        f"to {FIRST_FRAME_WAIT_S * 1000:.0f} ms for a frame. Target: at most "
        f"{TARGET_EXTRA_CHUNKS} chunk more than the peer.",
    ]
    headers = ["format", "ours chunks", "peer chunks", "ours ms", "peer ms", "target"]
    rows = []
    for r in results["formats"]:
        ff = r["first_frame"]
        ours_n, peer_n = ff["chunks"]["ours"], ff["chunks"].get("peer")
        rows.append(
            [
                r["format"],
                str(ours_n),
                "-" if peer_n is None else str(peer_n),
                num(ff["ms"]["ours"], 1),
                num(ff["ms"].get("peer"), 1),
                verdict(None if peer_n is None else ours_n <= peer_n + TARGET_EXTRA_CHUNKS),
            ]
        )
    out += format_table(headers, rows)
    conc = results["concurrency"]
    out += [
        "",
        f"3. {cfg['concurrent']} concurrent MP3 decoders ({cfg['concurrent_seconds_each']:g} s "
        "each), fed round-robin in 4 KiB chunks: most threads alive at once beyond the main "
        f"thread, and wall time. Target: ours <= {TARGET_THREADS} threads.",
    ]
    headers = ["contender", "threads", "wall s", "all decoded", "target"]
    rows = []
    for key in ("ours", "peer"):
        if key not in conc["threads"]:
            continue
        t = conc["threads"][key]
        rows.append(
            [
                key,
                str(t),
                num(conc["wall_s"][key], 2),
                str(conc["all_decoded"][key]),
                verdict(t <= TARGET_THREADS) if key == "ours" else "",
            ]
        )
    out += format_table(headers, rows)
    if has_peer:
        out.append(
            f"wall ratio peer/ours with {cfg['concurrent']} decoders: "
            f"{num(ratio(conc['wall_s']['peer'], conc['wall_s']['ours']))}"
        )
    return out


def plot(results: dict[str, Any], path: Path) -> None:
    """Table 1 as bars: wall seconds per format, ours and the peer, and peer/ours time ratios
    (wall and CPU) with the target."""
    labels = results["contenders"]
    rows = results["formats"]
    groups = [r["format"] for r in rows]
    panels = [
        Panel(
            "Throughput: wall s to decode (lower is better)",
            groups,
            per_contender(rows, labels, "wall_s"),
            "wall s",
        ),
        Panel(
            "peer time / our time (above the target line: met)",
            groups,
            {
                f"{name} ratio": [ratio(r[key].get("peer"), r[key]["ours"]) for r in rows]
                for name, key in (("wall", "wall_s"), ("CPU", "cpu_s"))
            },
            "time ratio",
            lines={"target (wall)": TARGET_THROUGHPUT},
        ),
    ]
    bar_chart(path, "livekit_audio streaming decoder benchmark", panels)


def main(argv: Sequence[str] | None = None) -> int:
    return bench_main(parse_args(argv), run, report, jsonable, plot=plot)


if __name__ == "__main__":
    sys.exit(main())
