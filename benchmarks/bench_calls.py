"""Calls per core of the NS+HPF stream: N concurrent 48 kHz tracks read at 16 kHz, ours vs livekit.

    python benchmarks/bench_calls.py [--quick] [--calls 16] [--seconds S] [--json PATH]
                                     [--plot PNG]

The measurement the async-layer issue starts from. Per call, in one process and one event
loop, in real time: an ``AudioSource(48000, 1)`` -> its local track -> ``AudioStream(track,
sample_rate=16000, num_channels=1, frame_size_ms=10, noise_cancellation=<NS + high-pass
processor>)`` -> a reader task; a capture task per call feeds 10 ms frames of seeded real
speech (the source's queue paces it in real time). Ours: ``ApmProcessor(noise_suppression=
True, high_pass_filter=True)``. livekit: ``rtc.AudioProcessingModule(noise_suppression=True,
high_pass_filter=True)`` in a minimal ``rtc.FrameProcessor`` (``process_stream`` in place),
local tracks (they deliver without a room). Cost = process CPU time over the window (every
thread: livekit works in Rust threads) / frames read: CPU µs per call per 10 ms frame, and
calls per core = 10 ms / that. Each side runs in a fresh process after 1 s of warm-up;
``bench_worker.py`` measures the full agent chain (rooms, AEC, latency).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from _common import demo_speech_16k, format_table, progress
from _machine import machine_summary

import livekit_audio as la

IN_RATE, OUT_RATE, FRAME = 48000, 16000, 480


def _frames(make: Any) -> list[Any]:
    speech = demo_speech_16k()
    if speech is None:
        x = np.random.default_rng(20261130).normal(0, 3000, 2 * IN_RATE).astype(np.int16)
    else:
        x = la.resample(speech[: 4 * 16000], 16000, IN_RATE)
    return [
        make(bytearray(x[i : i + FRAME].tobytes()), IN_RATE, 1, FRAME)
        for i in range(0, len(x) - FRAME + 1, FRAME)
    ]


def _side(key: str) -> tuple[Any, Any, Any, Any]:
    """(frame type, source, track factory, stream factory) of a side."""
    if key == "ours":

        def stream(track: Any) -> Any:
            proc = la.ApmProcessor(noise_suppression=True, high_pass_filter=True)
            return la.AudioStream(
                track,
                sample_rate=OUT_RATE,
                num_channels=1,
                frame_size_ms=10,
                noise_cancellation=proc,
            )

        return la.AudioFrame, la.AudioSource, la.LocalAudioTrack.create_audio_track, stream
    from livekit import rtc

    class Apm(rtc.FrameProcessor[rtc.AudioFrame]):
        def __init__(self) -> None:
            self.apm = rtc.AudioProcessingModule(noise_suppression=True, high_pass_filter=True)

        @property
        def enabled(self) -> bool:
            return True

        @enabled.setter
        def enabled(self, value: bool) -> None:
            pass

        def _process(self, frame: rtc.AudioFrame) -> rtc.AudioFrame:
            self.apm.process_stream(frame)
            return frame

        def _close(self) -> None:
            pass

    def rtc_stream(track: Any) -> Any:
        return rtc.AudioStream(
            track,
            sample_rate=OUT_RATE,
            num_channels=1,
            frame_size_ms=10,
            noise_cancellation=Apm(),
        )

    return rtc.AudioFrame, rtc.AudioSource, rtc.LocalAudioTrack.create_audio_track, rtc_stream


async def _run_side(key: str, calls: int, seconds: float) -> dict[str, float]:
    frame_type, source_type, make_track, make_stream = _side(key)
    frames = _frames(frame_type)
    read = [0] * calls
    stop = asyncio.Event()

    async def call(i: int) -> None:
        source = source_type(IN_RATE, 1)
        stream = make_stream(make_track("mic", source))

        async def reader() -> None:
            async for _ in stream:
                read[i] += 1

        task = asyncio.ensure_future(reader())
        k = 7 * i  # each call at its own place in the speech
        while not stop.is_set():
            await source.capture_frame(frames[k % len(frames)])
            k += 1
        await stream.aclose()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await source.aclose()

    tasks = [asyncio.ensure_future(call(i)) for i in range(calls)]
    await asyncio.sleep(1.0)  # warm-up: queues filled, streams running
    read0, cpu0, wall0 = sum(read), time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    got, cpu, wall = sum(read) - read0, time.process_time() - cpu0, time.perf_counter() - wall0
    stop.set()
    await asyncio.wait(tasks, timeout=5.0)
    us = cpu / max(got, 1) * 1e6
    return {
        "cpu_us_per_call_frame": us,
        "calls_per_core": 1e4 / us,
        "frames_read": got,
        "frames_expected": calls * wall * 100,
    }


def _child(key: str, calls: int, seconds: float) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            key,
            "--calls",
            str(calls),
            "--seconds",
            str(seconds),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=False,
    )
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=16, help="concurrent calls (default 16)")
    p.add_argument("--seconds", type=float, default=5.0, help="measured window (default 5)")
    p.add_argument("--quick", action="store_true", help="2 calls, 1 s: a smoke run")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--plot", metavar="PNG", help="also plot calls per core of both sides")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.calls, args.seconds = 2, 1.0
    if args.child:
        print(json.dumps(asyncio.run(_run_side(args.child, args.calls, args.seconds))))
        return 0
    results: dict[str, Any] = {}
    for key in ("ours", "livekit"):
        progress(f"{key}: {args.calls} calls, {args.seconds:g} s ...")
        results[key] = _child(key, args.calls, args.seconds)
    ours, peer = results["ours"], results["livekit"]
    rows = []
    for label, field in (
        ("CPU µs per call per 10 ms frame", "cpu_us_per_call_frame"),
        ("calls per core", "calls_per_core"),
        ("frames read / expected", None),
    ):
        cells = []
        for r in (ours, peer):
            if "error" in r:
                cells.append("-")
            elif field is None:
                cells.append(f"{r['frames_read']} / {r['frames_expected']:.0f}")
            else:
                cells.append(f"{r[field]:.1f}")
        ratio = (
            "-"
            if field is None or "error" in peer or "error" in ours
            else f"{ours[field] / peer[field]:.2f}"
        )
        rows.append([label, *cells, ratio])
    print("\n".join(machine_summary()))
    print(f"\nNS+HPF streams, {args.calls} concurrent calls, 48 kHz -> 16 kHz, {args.seconds:g} s")
    print("\n".join(format_table(["metric", "ours", "livekit", "ours/livekit"], rows)))
    if "error" in peer:
        print(f"livekit: {peer['error']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"calls": args.calls, "seconds": args.seconds, **results}, f, indent=2)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.5))
        keys = [k for k in ("ours", "livekit") if "error" not in results[k]]
        ax.bar(keys, [results[k]["calls_per_core"] for k in keys], color=["C0", "C1"][: len(keys)])
        ax.set_ylabel("calls per core (higher is better)")
        ax.set_title(f"NS+HPF stream, {args.calls} calls")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
