"""Worker density: N concurrent calls through NS+HPF+AEC in real time, ours vs LiveKit's SDK.

    python benchmarks/bench_worker.py [--quick] [--ns 1,16,64,128] [--seconds S] [--json PATH]
                                      [--plot PNG]

A call, ours: in a ``LocalRoomServer`` room of its own, a caller publishes a 48 kHz mono
``AudioSource``; the agent reads ``AudioStream(track, sample_rate=16000, num_channels=1,
frame_size_ms=10, noise_cancellation=ApmProcessor(noise_suppression=True,
high_pass_filter=True, echo_cancellation=True))`` in a reader task and publishes a 24 kHz
"TTS" ``AudioSource`` whose playout is the echo reference (``add_playout_listener(
processor.process_reverse)``). A call, livekit (no server: local tracks): ``rtc.AudioSource``
-> ``rtc.LocalAudioTrack`` -> the same ``rtc.AudioStream`` with ``rtc.AudioProcessingModule``
(same options) in a minimal ``rtc.FrameProcessor``, and a 24 kHz ``rtc.AudioSource`` whose
frames go to ``process_reverse_stream`` as they are captured.

Seeded real speech: caller and TTS (another voice) take 1 s turns; the mic also hears the TTS
40 ms late at -10 dB over a -60 dBFS floor; each call starts at its own offset. One driver
task per side captures a 10 ms frame per call and source on absolute 10 ms deadlines: 1 s of
warm-up, the window (``--seconds``), 0.5 s of drain; each side and N in a fresh process.
Reported per N: CPU µs per call per 10 ms frame (``time.process_time``, all threads) and
calls per core; delivery latency p50/p99 (the reader's receipt of the frame carrying input
frame k - its capture), late frames (> 20 ms), lost frames; the same DSP by hand without
async, and so the async overhead. Frames are matched by content: streams deliver a silence
frame for every slot without audio, and each processor notes which frames are such fills.
The method in full: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    SPEECH_DIR,
    bench_main,
    bench_parser,
    format_table,
    interleaved,
    jsonable,
    num,
    peer_missing_lines,
    progress,
    ratio,
    read_wav,
    verdict,
)
from _machine import machine_summary

import livekit_audio as la

IN_RATE, OUT_RATE, TTS_RATE = 48000, 16000, 24000
IN_FRAME, OUT_FRAME, TTS_FRAME = IN_RATE // 100, OUT_RATE // 100, TTS_RATE // 100
DEFAULT_NS, QUICK_NS = (1, 16, 64, 128), (1, 4)
DEFAULT_SECONDS, QUICK_SECONDS = 5.0, 1.0
WARMUP, DRAIN = 100, 50  # ticks (10 ms) before and after the measured window
GIVE_UP_S = 1.0  # a side this far behind real time cannot keep up: it is stopped
CHILD_TIMEOUT_S = 60.0  # set-up and close of one run; a run that takes longer is killed
LATE_MS = 20.0
POOL_S, TURN_S = 60, 1.0
ECHO_DELAY_MS, ECHO_GAIN_DB, NOISE_DBFS = 40, -10.0, -60.0
FILL_BYTES = slice(96, 224)  # samples 48-111 all zero: a stream's silence fill, not audio
_ZEROS = bytes(FILL_BYTES.stop - FILL_BYTES.start)
DSP_FRAMES, DSP_REPEATS = 1000, 5
SEED = 20261121
CALLER_FILE = SPEECH_DIR / "allison_demo-instruct_16k.wav"
TTS_FILE = SPEECH_DIR / "carlo_it-IT_male_16k.wav"
API_KEY, API_SECRET = "APIbenchworker", "bench-worker-secret-0123456789abcdef"
TARGET_N, TARGET_P99_MS, TARGET_LATE_PCT = 64, 20.0, 0.1
OPTIONS = {"noise_suppression": True, "high_pass_filter": True, "echo_cancellation": True}


# --------------------------------------------------------------------------- signals


def _talker(path: Path, rate: int, n: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """``n`` float samples of the speech file at ``rate`` (tiled), or seeded noise without it."""
    try:
        x16, file_rate = read_wav(path)
        x, real = la.resample(x16, file_rate, rate).astype(np.float32), True
    except (OSError, ValueError, EOFError):
        x, real = rng.normal(0, 3000, rate).astype(np.float32), False
    return np.tile(x, n // len(x) + 1)[:n], real


def make_pools() -> dict[str, Any]:
    """``POOL_S`` of the conversation as 10 ms frames: mic (48 kHz), TTS (24 kHz), int16."""
    rng = np.random.default_rng(SEED)
    frames = POOL_S * 100
    caller, real_caller = _talker(CALLER_FILE, IN_RATE, frames * IN_FRAME, rng)
    tts, real_tts = _talker(TTS_FILE, TTS_RATE, frames * TTS_FRAME, rng)
    caller[(np.arange(len(caller)) / IN_RATE) % (2 * TURN_S) >= TURN_S] = 0  # turn taking
    tts[(np.arange(len(tts)) / TTS_RATE) % (2 * TURN_S) < TURN_S] = 0
    tts16 = np.round(tts).astype(np.int16)
    echo = la.resample(tts16, TTS_RATE, IN_RATE).astype(np.float32) * 10 ** (ECHO_GAIN_DB / 20)
    echo = np.roll(echo, ECHO_DELAY_MS * IN_RATE // 1000)
    noise = rng.normal(0, 32768 * 10 ** (NOISE_DBFS / 20), len(caller))
    mic = np.clip(np.round(caller + echo + noise), -32768, 32767).astype(np.int16)
    return {
        "mic": mic.reshape(frames, IN_FRAME),
        "tts": tts16.reshape(frames, TTS_FRAME),
        "real_speech": real_caller and real_tts,
    }


def is_fill(frame: Any) -> bool:
    """Whether a 10 ms frame at 16 kHz is a stream's silence fill rather than the call's audio."""
    return memoryview(frame.data).cast("B")[FILL_BYTES].tobytes() == _ZEROS  # ~1 µs


# --------------------------------------------------------------------------- the two sides


class OursApm(la.ApmProcessor):
    """``ApmProcessor`` that notes, before processing, whether each frame is a silence fill.

    It hooks ``_in_place_module``, the stream's entry for frames it owns (whole 10 ms
    frames, processed in place and batched across the calls due together), as well as
    ``_process``, the entry for anything else, so the instrumentation leaves the stream on
    the path it takes for a plain ``ApmProcessor``.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.fills: list[bool] = []

    def _in_place_module(self, frame: la.AudioFrame) -> Any:
        module = super()._in_place_module(frame)
        if module is not None:
            self.fills.append(is_fill(frame))
        return module

    def _process(self, frame: la.AudioFrame) -> la.AudioFrame:
        self.fills.append(is_fill(frame))
        return super()._process(frame)


def _livekit_processor() -> Any:
    from livekit import rtc

    class LivekitApm(rtc.FrameProcessor[rtc.AudioFrame]):
        """rtc.AudioProcessingModule as a FrameProcessor (in place), noting silence fills."""

        enabled = True  # a plain attribute satisfies the abstract property

        def __init__(self) -> None:
            self.apm = rtc.AudioProcessingModule(**OPTIONS)
            self.fills: list[bool] = []

        def _process(self, frame: rtc.AudioFrame) -> rtc.AudioFrame:
            self.fills.append(is_fill(frame))
            self.apm.process_stream(frame)
            return frame

        def _close(self) -> None:
            pass

    return LivekitApm()


async def _read(stream: Any, recv: list[float]) -> None:
    now = asyncio.get_running_loop().time
    async for _ in stream:
        recv.append(now())


class Worker:
    """N calls of one side: ``capture(k)`` feeds tick ``k`` to every call; readers time frames."""

    frame_type: Any

    def __init__(self, pools: dict[str, Any], offsets: Sequence[int]) -> None:
        self.offsets = list(offsets)
        make = self.frame_type
        self.mic_frames = [make(bytearray(a), IN_RATE, 1, IN_FRAME) for a in pools["mic"]]
        self.tts_frames = [make(bytearray(a), TTS_RATE, 1, TTS_FRAME) for a in pools["tts"]]
        self.calls: list[tuple[Any, Any, Any, Any, list[float]]] = []  # mic, tts, stream, proc
        self.readers: list[asyncio.Task[None]] = []

    def add_call(self, mic: Any, tts: Any, stream: Any, proc: Any) -> None:
        recv: list[float] = []
        self.calls.append((mic, tts, stream, proc, recv))
        self.readers.append(asyncio.ensure_future(_read(stream, recv)))

    def frames(self, k: int) -> list[tuple[Any, Any, Any, Any, Any]]:
        """(mic source, mic frame, TTS source, TTS frame, processor) of tick ``k``, per call."""
        p = [(off + k) % len(self.mic_frames) for off in self.offsets]
        return [
            (m, self.mic_frames[i], t, self.tts_frames[i], proc)
            for (m, t, _, proc, _), i in zip(self.calls, p, strict=False)
        ]

    def backlog_ms(self) -> list[float]:
        """The most audio any mic and any TTS source holds for playout, ms."""
        return [max(c[j].queued_duration for c in self.calls) * 1e3 for j in (0, 1)]

    async def aclose(self) -> None:
        for _, _, stream, _, _ in self.calls:
            await stream.aclose()
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)
        for mic, tts, _, _, _ in self.calls:
            await mic.aclose()
            await tts.aclose()


class OursWorker(Worker):
    frame_type = la.AudioFrame

    async def start(self, n: int) -> None:
        self.server = la.LocalRoomServer(API_KEY, API_SECRET)
        self.rooms: list[la.Room] = []
        for i in range(n):
            agent, caller = la.Room(), la.Room()
            self.rooms += [agent, caller]
            subscribed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            agent.on("track_subscribed", lambda t, *_, f=subscribed: f.done() or f.set_result(t))
            await agent.connect(self.server.url, self.server.create_token("agent", f"call-{i}"))
            await caller.connect(  # the caller's own playback is not simulated: no subscription
                self.server.url,
                self.server.create_token("caller", f"call-{i}"),
                la.RoomOptions(auto_subscribe=False),
            )
            mic = la.AudioSource(IN_RATE, 1)
            await caller.local_participant.publish_track(
                la.LocalAudioTrack.create_audio_track("mic", mic)
            )
            proc = OursApm(**OPTIONS)
            stream = la.AudioStream(
                await subscribed,
                sample_rate=OUT_RATE,
                num_channels=1,
                frame_size_ms=10,
                noise_cancellation=proc,
            )
            tts = la.AudioSource(TTS_RATE, 1)
            tts.add_playout_listener(proc.process_reverse)
            await agent.local_participant.publish_track(
                la.LocalAudioTrack.create_audio_track("tts", tts)
            )
            self.add_call(mic, tts, stream, proc)

    async def capture(self, k: int) -> None:
        for mic, mic_frame, tts, tts_frame, _ in self.frames(k):
            await mic.capture_frame(mic_frame)  # returns at once while the queue has room
            await tts.capture_frame(tts_frame)

    async def aclose(self) -> None:
        await super().aclose()
        for room in self.rooms:
            await room.disconnect()
        await self.server.aclose()


class LivekitWorker(Worker):
    def __init__(self, *args: Any) -> None:
        from livekit import rtc

        self.rtc = rtc
        self.frame_type = rtc.AudioFrame
        super().__init__(*args)

    async def start(self, n: int) -> None:
        rtc = self.rtc
        self.tracks = []
        for _ in range(n):
            mic, tts = rtc.AudioSource(IN_RATE, 1), rtc.AudioSource(TTS_RATE, 1)
            self.tracks += [
                rtc.LocalAudioTrack.create_audio_track(x, s)
                for x, s in (("mic", mic), ("tts", tts))
            ]
            proc = _livekit_processor()
            stream = rtc.AudioStream(
                self.tracks[-2],
                sample_rate=OUT_RATE,
                num_channels=1,
                frame_size_ms=10,
                noise_cancellation=proc,
            )
            self.add_call(mic, tts, stream, proc)

    async def capture(self, k: int) -> None:
        captures = []  # capture_frame waits for an FFI round trip: gather a tick's captures
        for mic, mic_frame, tts, tts_frame, proc in self.frames(k):
            captures += [mic.capture_frame(mic_frame), tts.capture_frame(tts_frame)]
            proc.apm.process_reverse_stream(tts_frame)  # the echo reference
        await asyncio.gather(*captures)


SIDES: dict[str, Callable[..., Any]] = {"ours": OursWorker, "livekit": LivekitWorker}


# --------------------------------------------------------------------------- measurement


async def run_side(
    key: str, n: int, pools: dict[str, Any], offsets: Sequence[int], window: int
) -> dict[str, Any]:
    """Set up ``n`` calls, drive them ``WARMUP + window + DRAIN`` ticks, measure."""
    loop = asyncio.get_running_loop()
    worker = SIDES[key](pools, offsets)
    t_setup = time.perf_counter()
    await worker.start(n)
    setup_s = time.perf_counter() - t_setup
    end, captured, tick_late = WARMUP + window, [], []
    cpu0 = cpu1 = 0.0
    backlog = [float("nan")] * 2
    gc.collect()
    t0 = loop.time() + 0.02
    for k in range(end + DRAIN):
        deadline = t0 + k * 0.01
        await asyncio.sleep(max(deadline - loop.time(), 0))  # a late driver still yields
        behind = loop.time() - deadline > GIVE_UP_S
        if k == end or (behind and k < end):
            cpu1, backlog = time.process_time(), worker.backlog_ms()
        if behind:
            break
        if k == WARMUP:
            cpu0 = time.process_time()
        captured.append(loop.time())
        tick_late.append(captured[-1] - deadline)
        await worker.capture(k)
    await worker.aclose()
    done = max(min(len(captured), end) - WARMUP, 0)  # window ticks captured
    cpu_us = (cpu1 - cpu0) / (n * done) * 1e6 if done else None
    return {
        "n": n,
        "setup_s": setup_s,
        "cpu_us_per_call_frame": cpu_us,
        "calls_per_core": 1e4 / cpu_us if cpu_us else None,
        "frames_expected": n * window,
        "not_captured": n * (window - done),
        "stopped_at_s": None if len(captured) == end + DRAIN else len(captured) / 100,
        **analyse(worker, captured, range(WARMUP, WARMUP + done)),
        "source_backlog_ms": {"mic": backlog[0], "tts": backlog[1]},
        "driver_late_ms": {
            "p99": float(np.percentile(tick_late, 99) * 1e3),
            "max": float(max(tick_late) * 1e3),
        },
    }


def analyse(worker: Any, captured: Sequence[float], window: range) -> dict[str, Any]:
    """Latency, late and lost frames over the ``window`` ticks, from the readers' times."""
    latencies, lost, mid_fills = [], 0, 0
    for _, _, _, proc, recv in worker.calls:
        fills = proc.fills[: len(recv)]
        audio = [t for t, fill in zip(recv, fills, strict=False) if not fill]
        if audio:  # fills between the call's first and last audio: audio that came late
            mid_fills += sum(fills[fills.index(False) : len(fills) - fills[::-1].index(False)])
        latencies += [audio[k] - captured[k] for k in window if k < len(audio)]
        lost += sum(1 for k in window if k >= len(audio))
    ms = np.asarray(latencies) * 1e3
    pct = (lambda q: float(np.percentile(ms, q))) if len(ms) else (lambda q: None)
    return {
        "frames_delivered": len(latencies),
        "lost": lost,
        "latency_ms": {"p50": pct(50), "p99": pct(99), "max": pct(100), "min": pct(0)},
        "late_pct": 100 * float(np.mean(ms > LATE_MS)) if len(ms) else None,
        "mid_stream_fills": mid_fills,
    }


def dsp_chain(key: str, pools: dict[str, Any], n_frames: int) -> Callable[[], int]:
    """The same DSP by hand, no async: resample 48k -> 16k, 10 ms blocks, reverse + APM."""
    mic, tts = pools["mic"][:n_frames], pools["tts"][:n_frames]
    if key == "ours":
        frames = [la.AudioFrame.from_ndarray(a, IN_RATE) for a in mic]
        refs = [la.AudioFrame.from_ndarray(a, TTS_RATE) for a in tts]

        def run() -> int:
            resampler, chunker = la.AudioResampler(IN_RATE, OUT_RATE), la.FrameChunker(OUT_RATE, 1)
            apm, n = la.AudioProcessingModule(**OPTIONS), 0
            for frame, ref in zip(frames, refs, strict=False):
                apm.process_reverse_stream(ref)
                for block in (b for out in resampler.push(frame) for b in chunker.push(out)):
                    apm.process_stream(block)
                    n += 1
            return n

        return run
    from livekit import rtc

    lk_frames = [rtc.AudioFrame(bytearray(a), IN_RATE, 1, IN_FRAME) for a in mic]
    lk_refs = [rtc.AudioFrame(bytearray(a), TTS_RATE, 1, TTS_FRAME) for a in tts]

    def run_lk() -> int:
        quality = rtc.AudioResamplerQuality.MEDIUM
        resampler = rtc.AudioResampler(IN_RATE, OUT_RATE, num_channels=1, quality=quality)
        apm, pending, n, step = rtc.AudioProcessingModule(**OPTIONS), bytearray(), 0, 2 * OUT_FRAME
        for frame, ref in zip(lk_frames, lk_refs, strict=False):
            apm.process_reverse_stream(ref)
            for out in resampler.push(frame):
                pending += out.data.cast("B")
                while len(pending) >= step:  # LiveKit has no re-chunker: 10 ms blocks by hand
                    apm.process_stream(rtc.AudioFrame(pending[:step], OUT_RATE, 1, OUT_FRAME))
                    del pending[:step]
                    n += 1
        return n

    return run_lk


def measure_dsp(
    keys: Sequence[str], pools: dict[str, Any], n_frames: int, repeats: int, rng: random.Random
) -> dict[str, Any]:
    """CPU µs per 10 ms input frame of ``dsp_chain``, median of interleaved repeats."""
    runs = {k: dsp_chain(k, pools, n_frames) for k in keys}
    blocks = {k: fn() for k, fn in runs.items()}  # warm-up
    samples: dict[str, list[float]] = {k: [] for k in runs}
    for k in interleaved(list(runs), repeats, rng):
        gc.collect()
        cpu0 = time.process_time()
        runs[k]()
        samples[k].append((time.process_time() - cpu0) / n_frames * 1e6)
    return {
        "cpu_us_per_frame": {k: statistics.median(v) for k, v in samples.items()},
        "samples_us": samples,
        "blocks": blocks,
        "frames": n_frames,
    }


def run_child(key: str, n: int, seconds: float) -> tuple[dict[str, Any] | None, str | None]:
    """``run_side`` in a fresh process (its CPU is all this run's; nothing of the other side
    or of an earlier N runs in it): (result, None), or (None, why there is none)."""
    timeout = CHILD_TIMEOUT_S + seconds + (WARMUP + DRAIN) / 100
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        f"{key}:{n}",
        "--seconds",
        repr(seconds),
    ]
    try:
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:  # the child is killed
        return None, f"no result within {timeout:.0f} s (its event loop stopped responding)"
    if proc.returncode != 0:
        return None, f"failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}"
    return json.loads(proc.stdout), None


def child(spec: str, seconds: float) -> int:
    """The ``--child key:n`` entry point: one ``run_side``, its result as JSON on stdout."""
    key, n = spec.split(":")
    pools = make_pools()
    offsets = np.random.default_rng(SEED + int(n)).integers(0, len(pools["mic"]), int(n))
    result = asyncio.run(run_side(key, int(n), pools, offsets.tolist(), round(seconds * 100)))
    print(json.dumps(jsonable(result)))
    return 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    pools, missing = make_pools(), {}
    progress("probing livekit ...")
    probe, why = run_child("livekit", 1, 0.3)
    if why or not probe or probe["frames_delivered"] == 0:  # (it delivers in livekit 1.2)
        missing["livekit (rtc)"] = why or "rtc.AudioStream on a local track delivered no audio"
    keys = ["ours"] if missing else ["ours", "livekit"]
    rng = random.Random(SEED)
    per_n, gave_up = [], {}
    for n in args.ns:
        entry: dict[str, Any] = {"n": n, "order": rng.sample(keys, len(keys))}
        for key in entry["order"]:
            entry[key] = None
            if key in gave_up:  # it could not keep up with fewer calls: not run again
                continue
            progress(f"N = {n}: {key} ...")
            entry[key], why = run_child(key, n, args.seconds)
            if why or entry[key]["stopped_at_s"] is not None:
                gave_up[key] = {"n": n, "why": why or "fell behind real time"}
        per_n.append(entry)
    progress("DSP by hand ...")
    dsp_frames, dsp_repeats = (200, 1) if args.quick else (DSP_FRAMES, DSP_REPEATS)
    dsp = measure_dsp(keys, pools, dsp_frames, dsp_repeats, rng)
    for k, r in ((k, e[k]) for e in per_n for k in keys if e[k] is not None):
        r["dsp_us_per_frame"] = dsp_us = dsp["cpu_us_per_frame"][k]
        cpu = r["cpu_us_per_call_frame"]
        r["async_overhead_us"] = None if cpu is None else cpu - dsp_us
    results = {
        "config": {
            "quick": args.quick,
            "ns": list(args.ns),
            "seconds": args.seconds,
            "warmup_s": WARMUP / 100,
            "drain_s": DRAIN / 100,
            "late_ms": LATE_MS,
            "give_up_s": GIVE_UP_S,
            "real_speech": pools["real_speech"],
            "seed": SEED,
            "options": OPTIONS,
        },
        "contenders": keys,
        "missing_peers": missing,
        "gave_up": gave_up,
        "per_n": per_n,
        "dsp": dsp,
    }
    if args.plot is not None:
        plot(results, args.plot)
    return results


# --------------------------------------------------------------------------- report


def _get(r: dict[str, Any] | None, *path: str) -> Any:
    """``r[path[0]][path[1]]...``, None for a side that did not run."""
    for key in path:
        r = None if r is None else r[key]
    return r


def plot(results: dict[str, Any], path: Path) -> None:
    """Calls per core and p99 delivery latency against N, both sides."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    ns = [e["n"] for e in results["per_n"]]
    panels = (
        (("calls_per_core",), "calls per core (higher is better)"),
        (("latency_ms", "p99"), "p99 delivery latency, ms (lower is better)"),
    )
    for ax, (field, title) in zip(axes, panels, strict=False):
        for key in results["contenders"]:
            ys = np.array([_get(e[key], *field) for e in results["per_n"]], dtype=float)
            stopped = np.array([_get(e[key], "stopped_at_s") is not None for e in results["per_n"]])
            line = ax.plot(ns, np.where(stopped, np.nan, ys), "o-", label=key)[0]
            if stopped.any() and np.isfinite(ys[stopped]).any():  # a partial window: marked
                ax.plot(
                    np.array(ns)[stopped],
                    ys[stopped],
                    "x",
                    color=line.get_color(),
                    label=f"{key}, stopped (could not keep up)",
                )
        ax.set_xscale("log", base=2)
        ax.set_xticks(ns, [str(n) for n in ns])
        ax.set_xlabel("concurrent calls N")
        ax.set_title(title, fontsize=10)
    axes[1].axhline(LATE_MS, color="grey", linestyle="--", linewidth=0.8, label="late")
    axes[1].set_yscale("log")
    for ax in axes:
        ax.legend(fontsize=8)
    fig.suptitle("48 kHz mic -> AudioStream(16 kHz, 10 ms, NS+HPF+AEC) per call, real time")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    progress(f"wrote {path}")


#: Table rows: label, path into a side's result, decimals, whether ours/livekit is shown.
ROWS = (
    ("CPU µs per call per 10 ms frame", ("cpu_us_per_call_frame",), 1, True),
    ("calls per core", ("calls_per_core",), 0, True),
    ("DSP only µs per frame (by hand)", ("dsp_us_per_frame",), 1, True),
    ("async overhead µs (total - DSP)", ("async_overhead_us",), 1, True),
    ("latency p50 ms", ("latency_ms", "p50"), 1, True),
    ("latency p99 ms", ("latency_ms", "p99"), 1, True),
    ("latency max ms", ("latency_ms", "max"), 1, True),
    (f"late frames (> {LATE_MS:g} ms) %", ("late_pct",), 3, False),
    ("lost frames", ("lost",), 0, False),
    ("not captured (side stopped)", ("not_captured",), 0, False),
    ("silence fills mid-stream", ("mid_stream_fills",), 0, False),
    ("source backlog at end: mic ms", ("source_backlog_ms", "mic"), 1, False),
    ("source backlog at end: TTS ms", ("source_backlog_ms", "tts"), 1, False),
    ("driver tick late p99 ms", ("driver_late_ms", "p99"), 1, False),
)


def report(results: dict[str, Any], info: dict[str, Any]) -> list[str]:
    cfg, keys, dsp = results["config"], results["contenders"], results["dsp"]
    speech = "real speech" if cfg["real_speech"] else "SEEDED NOISE (speech files not found)"
    out = [
        "livekit_audio worker density benchmark (NS+HPF+AEC per call)",
        *machine_summary(info),
        (
            f"input       {speech}: caller 48 kHz, TTS 24 kHz, 1 s turns, echo {ECHO_DELAY_MS} ms "
            f"at {ECHO_GAIN_DB:g} dB, noise floor {NOISE_DBFS:g} dBFS"
        ),
        (
            f"window      {cfg['warmup_s']:g} s warm-up, {cfg['seconds']:g} s measured, "
            f"{cfg['drain_s']:g} s drain; a fresh process per side and N, in seeded order"
        ),
        *peer_missing_lines(results["missing_peers"], "only our columns are reported"),
    ]
    headers = ["metric", *keys] + (["ours/livekit"] if len(keys) == 2 else [])
    for e in results["per_n"]:
        ran = [k for k in e["order"] if e[k] is not None]
        out += [
            "",
            (
                f"N = {e['n']} calls ({e['n'] * round(cfg['seconds'] * 100)} call-frames "
                f"per side in the window; run order {', '.join(ran)})"
            ),
        ]
        rows = []
        for label, path, digits, show_ratio in ROWS:
            vals = [_get(e[k], *path) for k in keys]
            rows.append([label, *(num(v, digits) for v in vals)])
            if len(keys) == 2:
                rows[-1].append(num(ratio(*vals), 2) if show_ratio else "")
        out += format_table(headers, rows) if ran else []
        for k in keys:
            failed = results["gave_up"].get(k, {})
            if e[k] is None and failed.get("n") == e["n"]:
                out.append(f"{k}: {failed['why']}")
            elif e[k] is None:
                out.append(f"{k} not run: it could not keep up at N = {failed['n']}")
            elif e[k]["stopped_at_s"] is not None:
                out.append(
                    f"{k} could not keep up: more than {GIVE_UP_S:g} s behind real time "
                    f"at t = {e[k]['stopped_at_s']:.2f} s of driving; stopped there"
                )
            if (_get(e[k], "latency_ms", "min") or 0) < 0:
                out.append(f"WARNING: {k}: a negative latency: the frame matching failed")
    out += [
        "",
        (
            "CPU: process CPU, all threads, over the window / call-frames; calls per core = "
            "10 ms / that. Latency: the reader's receipt of the frame carrying input frame k - "
            "its capture "
            "(the resampler's hold-back included, the APM's algorithmic delay not). DSP only: "
            f"resampler + 10 ms blocks + APM with reverse frames, {dsp['frames']} frames per run, "
            "no async. Both processors run the same fill check per frame (~1 µs) for the matching."
        ),
    ]
    fields = ((("calls_per_core",), 0), (("latency_ms", "p99"), 1), (("late_pct",), 3))

    def mark(r):
        return "*" if _get(r, "stopped_at_s") is not None else ""

    summary = [
        [str(e["n"]), *(num(_get(e[k], *f), d) + mark(e[k]) for k in keys for f, d in fields)]
        for e in results["per_n"]
    ]
    heads = ["N", *(f"{k} {m}" for k in keys for m in ("calls/core", "p99 ms", "late %"))]
    out += [
        "",
        "Summary (* stopped, could not keep up: partial window)",
        *format_table(heads, summary),
    ]
    at_target = [e for e in results["per_n"] if e["n"] == TARGET_N]
    r = at_target[0]["ours"] if at_target else None
    ran = r is not None and r["stopped_at_s"] is None  # else: could not keep up, a MISS
    rows = []
    for label, path, bound in (
        (f"p99 delivery latency <= {TARGET_P99_MS:g} ms", ("latency_ms", "p99"), TARGET_P99_MS),
        (f"late frames <= {TARGET_LATE_PCT:g} %", ("late_pct",), TARGET_LATE_PCT),
        ("no frame lost", ("lost",), 0),
    ):
        v = _get(r, *path) if ran else None
        ok = None if not at_target else ran and v is not None and v <= bound
        rows.append([label, num(v, 3) if ran or not at_target else "stopped", verdict(ok)])
    out += ["", f"Targets, ours at N = {TARGET_N}", *format_table(["target", "value", ""], rows)]
    return out


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = bench_parser(__doc__, f"smoke-test size: N = {QUICK_NS}, {QUICK_SECONDS:g} s window")
    p.add_argument("--ns", metavar="N,N,...", help=f"call counts (default {DEFAULT_NS})")
    p.add_argument(
        "--seconds",
        type=float,
        metavar="S",
        help=f"measured window per run, s (default {DEFAULT_SECONDS:g})",
    )
    p.add_argument(
        "--plot",
        type=Path,
        metavar="PNG",
        help="also plot calls per core and p99 latency against N (matplotlib)",
    )
    p.add_argument("--child", help=argparse.SUPPRESS)  # internal: one run_side (run_child)
    args = p.parse_args(argv)
    try:
        ns = [int(x) for x in args.ns.split(",")] if args.ns else None
    except ValueError:
        p.error(f"--ns must be comma-separated ints, got {args.ns!r}")
    if ns is not None and min(ns) < 1:
        p.error("--ns values must be >= 1")
    args.ns = ns or list(QUICK_NS if args.quick else DEFAULT_NS)
    args.seconds = args.seconds or (QUICK_SECONDS if args.quick else DEFAULT_SECONDS)
    if args.seconds < 0.1:
        p.error("--seconds must be >= 0.1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child(args.child, args.seconds)
    return bench_main(args, run, report, jsonable)


if __name__ == "__main__":
    sys.exit(main())
