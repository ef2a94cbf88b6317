"""AudioStream pipeline benchmark: livekit_audio against LiveKit's SDK, in one run.

    python benchmarks/bench_stream.py [--quick] [--json PATH] [--plot PATH] [--frames F]
                                      [--repeats R]

The pipeline: an AudioSource (48 kHz mono) -> a local audio track -> an AudioStream that
resamples to 16 kHz mono in exact 10 ms frames (``frame_size_ms=10``) and runs a noise
suppressor and high-pass filter as its ``noise_cancellation`` FrameProcessor -> a reader
task. No room is needed: with LiveKit's SDK an ``rtc.AudioStream`` on an
``rtc.LocalAudioTrack`` delivers the source's frames without connecting (checked at start-up;
if it delivers nothing the livekit columns are skipped and said so). Processors: ours
``ApmProcessor(noise_suppression=True, high_pass_filter=True)``; LiveKit ships no APM
FrameProcessor, so its ``rtc.AudioProcessingModule(noise_suppression=True,
high_pass_filter=True)`` is wrapped in a minimal ``rtc.FrameProcessor`` (``process_stream``
in place). The input alternates 1 s of speech with 1 s of digital silence, as a real call's
direction does (silence is where recursive filter states turn subnormal: issue 15).

Measures, on this machine and in this process:

1. real time, the way a worker runs it: F pre-built 10 ms frames are captured into a source
   that plays out in real time (LiveKit's always does, in native code; ours with the default
   ``realtime=True``). Cost = process CPU time (``time.process_time``: every thread, since
   LiveKit's work runs in its Rust threads) from the first capture until the reader holds
   F - 5 frames, / F: CPU µs per 10 ms frame. Rows: source + track alone (the floor), + the
   stream (resampling), + the stream with the noise suppressor. Median of R interleaved
   repeats; a run takes F x 10 ms of wall time. Also measured: the CPU cost of a bare
   ``await asyncio.sleep(0.01)`` tick, the floor of any loop woken once per frame.
2. as fast as it goes (ours only: LiveKit's AudioSource has no offline mode): the same
   pipeline with ``AudioSource(realtime=False)``, wall µs per frame from the first capture to
   the end of the stream.
3. the DSP chained by hand, no async layer (context for 1 and 2): resampler push 48k -> 16k,
   re-chunk to 10 ms, APM noise suppression + high-pass filter, per 10 ms input frame. Ours
   ``AudioResampler`` + ``FrameChunker`` + ``AudioProcessingModule.process_stream``;
   livekit ``rtc.AudioResampler`` (MEDIUM) + a bytes re-chunker +
   ``rtc.AudioProcessingModule.process_stream``. Amortized over F frames, median of R
   interleaved repeats.

See benchmarks/README.md for the methodology. Peers that are not installed are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    DEMO_SPEECH_FILE,
    bench_main,
    demo_speech_16k,
    error_text,
    format_table,
    interleaved,
    medians,
    num,
    parse_frames_repeats,
    peer_missing_lines,
    progress,
    ratio,
    spread,
    wall_seconds,
)
from _machine import machine_summary
from _plot import Panel, bar_chart, per_contender

import livekit_audio as la

IN_RATE, OUT_RATE = 48000, 16000
IN_FRAME, OUT_FRAME = IN_RATE // 100, OUT_RATE // 100  # 10 ms
#: Frames the reader may still lack when a real-time run is stopped (held back by resamplers).
SLACK_FRAMES = 5
DEFAULT_FRAMES, DEFAULT_REPEATS = 200, 5
QUICK_FRAMES, QUICK_REPEATS = 30, 1
HAND_FRAMES_FACTOR = 5  # table 3 pushes this many times more frames (it is fast)
SEED = 20261121
#: The published input alternates talk and digital silence (subnormal-prone, issue 15).
TALK_S, SILENCE_S = 1.0, 1.0
ROWS: tuple[tuple[str, str], ...] = (
    ("source", "source + track only"),
    ("stream", "+ AudioStream 48k->16k"),
    ("stream_ns", "+ AudioStream 48k->16k + NS+HPF"),
)


# --------------------------------------------------------------------------- inputs


def input_description() -> str:
    talk = (
        f"speech: {DEMO_SPEECH_FILE.name} resampled to 48 kHz (tiled if short)"
        if demo_speech_16k() is not None
        else f"seeded noise (seed {SEED}); speech file not found at {DEMO_SPEECH_FILE}"
    )
    return (
        f"{talk}, in {TALK_S:g} s stretches alternating with {SILENCE_S:g} s of digital "
        "silence (real calls are about half silence per direction)"
    )


def make_input(n_frames: int) -> list[np.ndarray]:
    """``n_frames`` consecutive 10 ms int16 frames at 48 kHz: ``TALK_S`` of speech, then
    ``SILENCE_S`` of exact zeros, and again."""
    speech = demo_speech_16k()
    if speech is not None:
        x = la.resample(speech, 16000, IN_RATE)
    else:
        x = np.random.default_rng(SEED).normal(0, 3000, IN_RATE).clip(-32768, 32767)
        x = x.astype(np.int16)
    need = n_frames * IN_FRAME
    if len(x) < need:
        x = np.tile(x, need // len(x) + 1)
    x = x[:need].copy()
    period = int((TALK_S + SILENCE_S) * IN_RATE)
    x[np.arange(need) % period >= int(TALK_S * IN_RATE)] = 0
    return [x[i * IN_FRAME : (i + 1) * IN_FRAME].copy() for i in range(n_frames)]


# --------------------------------------------------------------------------- contenders


@dataclass(frozen=True)
class Side:
    """One SDK's async layer: how to build frames, sources, tracks, streams and processors."""

    key: str
    label: str
    make_frame: Callable[[np.ndarray], Any]
    make_source: Callable[[bool], Any]  # realtime -> source
    make_track: Callable[[Any], Any]
    make_stream: Callable[[Any, Any], Any]  # (track, processor or None) -> stream
    make_processor: Callable[[], Any]


def _ours() -> Side:
    def make_frame(a: np.ndarray) -> Any:
        return la.AudioFrame(bytearray(a.tobytes()), IN_RATE, 1, len(a))

    return Side(
        "ours",
        "ours",
        make_frame,
        lambda realtime: la.AudioSource(IN_RATE, 1, realtime=realtime),
        lambda source: la.LocalAudioTrack.create_audio_track("mic", source),
        lambda track, proc: la.AudioStream(
            track,
            sample_rate=OUT_RATE,
            num_channels=1,
            frame_size_ms=10,
            noise_cancellation=proc,
        ),
        lambda: la.ApmProcessor(noise_suppression=True, high_pass_filter=True),
    )


def _livekit() -> Side:
    from livekit import rtc

    class LivekitApmProcessor(rtc.FrameProcessor[rtc.AudioFrame]):
        """rtc.AudioProcessingModule as a FrameProcessor (10 ms frames, in place)."""

        def __init__(self) -> None:
            self._apm = rtc.AudioProcessingModule(noise_suppression=True, high_pass_filter=True)
            self._enabled = True

        @property
        def enabled(self) -> bool:
            return self._enabled

        @enabled.setter
        def enabled(self, value: bool) -> None:
            self._enabled = value

        def _process(self, frame: rtc.AudioFrame) -> rtc.AudioFrame:
            self._apm.process_stream(frame)
            return frame

        def _close(self) -> None:
            pass

    def make_frame(a: np.ndarray) -> Any:
        return rtc.AudioFrame(bytearray(a.tobytes()), IN_RATE, 1, len(a))

    def make_source(realtime: bool) -> Any:
        if not realtime:
            raise ValueError("livekit's AudioSource always plays out in real time")
        return rtc.AudioSource(IN_RATE, 1)

    return Side(
        "livekit",
        "livekit",
        make_frame,
        make_source,
        lambda source: rtc.LocalAudioTrack.create_audio_track("mic", source),
        lambda track, proc: rtc.AudioStream(
            track,
            sample_rate=OUT_RATE,
            num_channels=1,
            frame_size_ms=10,
            noise_cancellation=proc,
        ),
        LivekitApmProcessor,
    )


async def run_pipeline(
    side: Side, frames: Sequence[Any], row: str, *, realtime: bool = True
) -> tuple[float, float, int]:
    """One run: (CPU seconds, wall seconds, samples the reader received).

    Real time: stops once the reader holds ``len(frames) - SLACK_FRAMES`` frames (or, for the
    ``source`` row, once the source has played everything out). Not real time: stops when
    the stream ends (the source is closed after playout; only our SDK ends a local stream).
    """
    source = side.make_source(realtime)
    track = side.make_track(source)
    stream = None
    if row != "source":
        stream = side.make_stream(track, side.make_processor() if row == "stream_ns" else None)
    want = (len(frames) - SLACK_FRAMES) * OUT_FRAME
    received = 0
    enough = asyncio.Event()

    async def read() -> None:
        nonlocal received
        assert stream is not None
        async for event in stream:
            received += event.frame.samples_per_channel
            if received >= want:
                enough.set()

    reader = asyncio.ensure_future(read()) if stream is not None else None
    await asyncio.sleep(0)
    gc.collect()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for frame in frames:
        await source.capture_frame(frame)
    if reader is None:
        await source.wait_for_playout()
    elif realtime:
        timeout = len(frames) / 100 + 5.0
        try:
            await asyncio.wait_for(enough.wait(), timeout)
        except asyncio.TimeoutError:
            pass  # reported as a short count
    else:
        await source.wait_for_playout()
        await source.aclose()  # ends our local track: the stream flushes and ends
        await reader
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    if stream is not None:
        await stream.aclose()
    if reader is not None and not reader.done():
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
    await source.aclose()
    return cpu, wall, received


def load_sides() -> tuple[list[Side], dict[str, str]]:
    sides = [_ours()]
    missing: dict[str, str] = {}
    try:
        peer = _livekit()
    except Exception as exc:  # noqa: BLE001 - any failure means "skip this peer"
        missing["livekit (rtc)"] = error_text(exc)
        return sides, missing
    try:  # does a local-track stream deliver without a room? (it does in livekit 1.2)
        frames = [peer.make_frame(a) for a in make_input(20)]
        _, _, got = asyncio.run(run_pipeline(peer, frames, "stream_ns"))
        if got == 0:
            missing["livekit (rtc)"] = (
                "rtc.AudioStream on a local track delivered no frames without a connected "
                "room; only table 3 (DSP by hand) compares with livekit"
            )
            return sides, missing
    except Exception as exc:  # noqa: BLE001
        missing["livekit (rtc)"] = f"AudioStream on a local track failed: {error_text(exc)}"
        return sides, missing
    return [*sides, peer], missing


# --------------------------------------------------------------------------- measurements


async def measure_realtime(
    sides: Sequence[Side], n_frames: int, repeats: int, rng: random.Random
) -> list[dict[str, Any]]:
    data = make_input(n_frames)
    inputs = {s.key: [s.make_frame(a) for a in data] for s in sides}
    warm = {s.key: inputs[s.key][:20] for s in sides}
    for s in sides:
        for row, _ in ROWS:
            await run_pipeline(s, warm[s.key], row)
    entries = []
    for row, label in ROWS:
        progress(f"real time: {label} ...")
        samples: dict[str, list[float]] = {s.key: [] for s in sides}
        walls: dict[str, list[float]] = {s.key: [] for s in sides}
        received: dict[str, int] = {}
        for s in interleaved(sides, repeats, rng):
            cpu, wall, got = await run_pipeline(s, inputs[s.key], row)
            samples[s.key].append(cpu / n_frames * 1e6)
            walls[s.key].append(wall)
            received[s.key] = got
        entries.append(
            {
                "row": row,
                "label": label,
                "cpu_us_per_frame": medians(samples),
                "samples_us": samples,
                "wall_seconds": walls,
                "received_samples": received,
                "expected_samples": 0 if row == "source" else (n_frames - SLACK_FRAMES) * OUT_FRAME,
            }
        )
    return entries


async def measure_tick(n_ticks: int, repeats: int) -> dict[str, Any]:
    """CPU µs of one bare ``await asyncio.sleep(0.01)``: the floor of any real-time loop here."""
    samples = []
    for _ in range(repeats):
        cpu0 = time.process_time()
        for _ in range(n_ticks):
            await asyncio.sleep(0.01)
        samples.append((time.process_time() - cpu0) / n_ticks * 1e6)
    return {"cpu_us_per_tick": statistics.median(samples), "samples_us": samples}


async def measure_offline(ours: Side, n_frames: int, repeats: int) -> list[dict[str, Any]]:
    frames = [ours.make_frame(a) for a in make_input(n_frames)]
    await run_pipeline(ours, frames[:20], "stream_ns", realtime=False)
    entries = []
    for row, label in ROWS[1:]:
        walls, cpus, got = [], [], 0
        for _ in range(repeats):
            cpu, wall, got = await run_pipeline(ours, frames, row, realtime=False)
            walls.append(wall / n_frames * 1e6)
            cpus.append(cpu / n_frames * 1e6)
        entries.append(
            {
                "row": row,
                "label": label,
                "wall_us_per_frame": statistics.median(walls),
                "cpu_us_per_frame": statistics.median(cpus),
                "samples_us": walls,
                "received_samples": got,
                "expected_samples": n_frames * OUT_FRAME,
            }
        )
    return entries


def _hand_ours(data: Sequence[np.ndarray]) -> Callable[[], int]:
    frames = [la.AudioFrame.from_ndarray(a, IN_RATE) for a in data]

    def run() -> int:
        resampler = la.AudioResampler(IN_RATE, OUT_RATE)
        chunker = la.FrameChunker(OUT_RATE, 1)
        apm = la.AudioProcessingModule(noise_suppression=True, high_pass_filter=True)
        n = 0
        for frame in frames:
            for out in resampler.push(frame):
                for block in chunker.push(out):
                    apm.process_stream(block)
                    n += 1
        return n

    return run


def _hand_livekit(data: Sequence[np.ndarray]) -> Callable[[], int]:
    from livekit import rtc

    frames = [rtc.AudioFrame(bytearray(a.tobytes()), IN_RATE, 1, len(a)) for a in data]
    step = OUT_FRAME * 2

    def run() -> int:
        resampler = rtc.AudioResampler(
            IN_RATE, OUT_RATE, num_channels=1, quality=rtc.AudioResamplerQuality.MEDIUM
        )
        apm = rtc.AudioProcessingModule(noise_suppression=True, high_pass_filter=True)
        pending = bytearray()
        n = 0
        for frame in frames:
            for out in resampler.push(frame):
                pending += out.data.cast("B")
                while len(pending) >= step:
                    block = rtc.AudioFrame(pending[:step], OUT_RATE, 1, OUT_FRAME)
                    del pending[:step]
                    apm.process_stream(block)
                    n += 1
        return n

    return run


def measure_by_hand(
    sides: Sequence[Side], n_frames: int, repeats: int, rng: random.Random, livekit_ok: bool
) -> dict[str, Any]:
    data = make_input(n_frames)
    runs = {"ours": _hand_ours(data)}
    if livekit_ok:
        runs["livekit"] = _hand_livekit(data)
    blocks = {k: fn() for k, fn in runs.items()}  # warm-up, and what each produced
    samples: dict[str, list[float]] = {k: [] for k in runs}
    for k in interleaved(list(runs), repeats, rng):
        samples[k].append(wall_seconds(runs[k]) / n_frames * 1e6)
    return {
        "us_per_frame": medians(samples),
        "samples_us": samples,
        "blocks": blocks,
        "frames": n_frames,
    }


# --------------------------------------------------------------------------- reporting


def _spread(samples: dict[str, list[float]]) -> list[float]:
    return [spread(v) for v in samples.values() if len(v) >= 2 and statistics.median(v) > 0]


def report(results: dict[str, Any], info: dict[str, Any]) -> list[str]:
    cfg = results["config"]
    has_lk = "livekit" in results["contenders"]
    out = ["livekit_audio AudioStream pipeline benchmark", *machine_summary(info)]
    out.append(f"input       {cfg['input']}")
    out += peer_missing_lines(results["missing_peers"])
    for e in results["realtime"]:
        for k, got in e["received_samples"].items():
            if got < e["expected_samples"]:
                out.append(
                    f"WARNING: {k} '{e['label']}' delivered {got} of {e['expected_samples']} "
                    "samples before the timeout"
                )
    for e in results["offline"]:
        if e["received_samples"] != e["expected_samples"]:
            out.append(
                f"WARNING: ours offline '{e['label']}' delivered {e['received_samples']} of "
                f"{e['expected_samples']} samples"
            )

    headers = ["pipeline (48k mono source)", "ours µs"]
    if has_lk:
        headers += ["livekit µs", "ours/livekit"]
    rows = []
    for e in results["realtime"]:
        us = e["cpu_us_per_frame"]
        row = [e["label"], num(us["ours"], 1)]
        if has_lk:
            row += [num(us.get("livekit"), 1), num(ratio(us["ours"], us.get("livekit")), 3)]
        rows.append(row)
    spreads = [s for e in results["realtime"] for s in _spread(e["samples_us"])]
    out += [
        "",
        f"1. Real time: CPU µs per 10 ms frame (process CPU, all threads, / {cfg['frames']} "
        f"frames), median of {cfg['repeats']} interleaved repeats; each run lasts "
        f"{cfg['frames'] / 100:.1f} s of wall time. The stream resamples to 16 kHz mono in "
        "10 ms frames; NS+HPF = ours ApmProcessor(noise_suppression=True, high_pass_filter="
        "True) / livekit rtc.AudioProcessingModule(noise_suppression=True, high_pass_filter="
        "True) in an rtc.FrameProcessor. No room: both SDKs stream a local track directly. "
        "Lower is better.",
        *format_table(headers, rows),
    ]
    if spreads:
        out.append(
            f"repeat spread (max-min)/median: median {statistics.median(spreads):.0%}, "
            f"worst {max(spreads):.0%}"
        )
    out.append(
        f"floor: a bare `await asyncio.sleep(0.01)` costs {results['tick']['cpu_us_per_tick']:.1f} "
        "µs of CPU per tick on this machine (waking from idle), so a real-time pipeline that "
        "wakes once per frame cannot cost less; compare with table 2 for the work itself."
    )

    rows = [
        [e["label"], num(e["wall_us_per_frame"], 1), num(e["cpu_us_per_frame"], 1)]
        for e in results["offline"]
    ]
    out += [
        "",
        "2. As fast as it goes, ours only (LiveKit's AudioSource plays out in real time in "
        "native code; it has no offline mode): AudioSource(realtime=False), first capture to "
        f"the end of the stream, / {cfg['frames']} frames, median of {cfg['repeats']}.",
        *format_table(["pipeline", "wall µs", "CPU µs"], rows),
    ]

    hand = results["by_hand"]
    headers = ["48k->16k resample + 10 ms re-chunk + NS+HPF", "ours µs"]
    row = ["per 10 ms input frame", num(hand["us_per_frame"]["ours"], 2)]
    if "livekit" in hand["us_per_frame"]:
        headers += ["livekit µs", "ours/livekit"]
        lk = hand["us_per_frame"]["livekit"]
        row += [num(lk, 2), num(ratio(hand["us_per_frame"]["ours"], lk), 3)]
    out += [
        "",
        "3. The same DSP chained by hand, no async layer (ours AudioResampler + FrameChunker + "
        "AudioProcessingModule; livekit rtc.AudioResampler MEDIUM + bytes re-chunker + "
        f"rtc.AudioProcessingModule): {hand['frames']} frames per run, median of "
        f"{cfg['repeats']} interleaved repeats.",
        *format_table(headers, [row]),
    ]
    return out


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    return parse_frames_repeats(
        __doc__,
        argv,
        full=(DEFAULT_FRAMES, DEFAULT_REPEATS),
        quick=(QUICK_FRAMES, QUICK_REPEATS),
        frames_metavar="F",
        frames_help="10 ms frames per timed run",
        repeats_help="timed runs per contender and row, median reported",
        frames_above=SLACK_FRAMES,
        plot_help="the real-time CPU cost per frame and ours/livekit ratios (tables 1 and 3)",
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    sides, missing = load_sides()
    rng = random.Random(SEED)
    realtime = asyncio.run(measure_realtime(sides, args.frames, args.repeats, rng))
    progress("asyncio tick ...")
    tick = asyncio.run(measure_tick(min(args.frames, 100), args.repeats))
    progress("offline ...")
    offline = asyncio.run(measure_offline(sides[0], args.frames, args.repeats))
    progress("by hand ...")
    try:
        _hand_livekit(make_input(2))()
        livekit_hand = True
    except Exception as exc:  # noqa: BLE001
        livekit_hand = False
        missing.setdefault("livekit (rtc) DSP", error_text(exc))
    by_hand = measure_by_hand(
        sides, args.frames * HAND_FRAMES_FACTOR, args.repeats, rng, livekit_hand
    )
    return {
        "config": {
            "frames": args.frames,
            "repeats": args.repeats,
            "quick": args.quick,
            "input_rate": IN_RATE,
            "output_rate": OUT_RATE,
            "slack_frames": SLACK_FRAMES,
            "seed": SEED,
            "input": input_description(),
        },
        "contenders": {s.key: s.label for s in sides},
        "missing_peers": missing,
        "realtime": realtime,
        "tick": tick,
        "offline": offline,
        "by_hand": by_hand,
    }


def plot(results: dict[str, Any], path: Path) -> None:
    """Table 1 as bars (CPU µs per frame, ours and livekit, per pipeline row) and ours/livekit
    per row of tables 1 and 3."""
    labels = results["contenders"]
    rows = results["realtime"]
    hand = results["by_hand"]["us_per_frame"]
    ratios = [
        ratio(e["cpu_us_per_frame"]["ours"], e["cpu_us_per_frame"].get("livekit")) for e in rows
    ]
    panels = [
        Panel(
            "1. Real time: CPU µs per 10 ms frame (lower is better)",
            [e["label"] for e in rows],
            per_contender(rows, labels, "cpu_us_per_frame"),
            "CPU µs per frame",
        ),
        Panel(
            "ours / livekit (below 1: ours costs less)",
            [*(e["label"] for e in rows), "3. DSP by hand (wall)"],
            {"ours/livekit": [*ratios, ratio(hand["ours"], hand.get("livekit"))]},
            "cost ratio",
            lines={"parity": 1.0},
        ),
    ]
    bar_chart(path, "livekit_audio AudioStream pipeline benchmark", panels)


def main(argv: Sequence[str] | None = None) -> int:
    return bench_main(parse_args(argv), run, report, plot=plot)


if __name__ == "__main__":
    sys.exit(main())
