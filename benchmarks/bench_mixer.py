"""Mixer benchmark: livekit_audio.AudioMixer against LiveKit's SDK, in one run.

    python benchmarks/bench_mixer.py [--quick] [--json PATH] [--plot PATH] [--frames F]
                                     [--repeats R]

Measures, on this machine and in this process:

1. end to end: N = 2, 4, 8, 16 async streams (async generators yielding pre-built 10 ms
   frames, 48 kHz mono) into a fresh mixer, ``end_input()``, and the consumer iterates the
   mixer until it ends. Cost = wall time of that whole run / F, i.e. µs per 10 ms of mixed
   output audio, median over R interleaved repeats. Our mixer emits 10 ms blocks (its
   default); LiveKit's default block is 100 ms (``sample_rate // 10``), so it is measured both
   at its default (the target's reference: it amortizes its per-block overhead over 10x more
   audio) and with ``blocksize=480`` (the same 10 ms blocks as ours).
2. the raw kernel: one call mixing N buffers of 480 int16 samples, ours (unity gains: exact
   integer path; weighted: float32 path) and the numpy expression LiveKit's mixer runs
   (``np.sum(np.stack(float32 copies)) -> clip -> astype``).

See benchmarks/README.md for the methodology. Peers that are not installed are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import sys
import time
import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    bench_main,
    format_table,
    interleaved,
    load_peers,
    medians,
    num,
    parse_frames_repeats,
    peer_missing_lines,
    progress,
    ratio,
    ratio_verdict,
    spread_line,
)
from _machine import machine_summary
from _plot import Panel, bar_chart, per_contender

import livekit_audio
from livekit_audio._native import _mix

SAMPLE_RATE = 48000
FRAME = SAMPLE_RATE // 100  # 10 ms
N_STREAMS: tuple[int, ...] = (2, 4, 8, 16)
#: ours/peer cost ratio to meet against LiveKit's mixer at its default settings.
TARGET = 0.25
DEFAULT_FRAMES, DEFAULT_REPEATS = 300, 7
QUICK_FRAMES, QUICK_REPEATS = 40, 2
KERNEL_CALLS = 20000
QUICK_KERNEL_CALLS = 2000
SEED = 20261121


# --------------------------------------------------------------------------- inputs


def make_streams_data(n_streams: int, n_frames: int) -> list[list[np.ndarray]]:
    """Seeded speech-level noise, ``n_frames`` frames of 480 int16 samples per stream."""
    rng = np.random.default_rng(SEED + n_streams)
    return [
        [rng.normal(0, 3000, FRAME).clip(-32768, 32767).astype(np.int16) for _ in range(n_frames)]
        for _ in range(n_streams)
    ]


# --------------------------------------------------------------------------- contenders


@dataclass(frozen=True)
class Mixer:
    """One async mixer under test.

    ``make_frame(array)`` builds a frame before timing; ``make_mixer()`` (inside the event loop)
    returns a fresh mixer; the mixer must have ``add_stream``, ``end_input`` and async
    iteration; ``blocksize`` is its output block in samples.
    """

    key: str
    label: str
    make_frame: Callable[[np.ndarray], Any]
    make_mixer: Callable[[], Any]
    blocksize: int


def _ours() -> list[Mixer]:
    def make_frame(a: np.ndarray) -> Any:
        # writable, like the frames an AudioStream yields: the mixer copies them
        return livekit_audio.AudioFrame(bytearray(a.tobytes()), SAMPLE_RATE, 1, len(a))

    return [
        Mixer(
            "ours",
            "ours (10 ms)",
            make_frame,
            lambda: livekit_audio.AudioMixer(SAMPLE_RATE, 1),
            FRAME,
        )
    ]


def _livekit() -> list[Mixer]:
    from livekit import rtc

    def make_frame(a: np.ndarray) -> Any:
        return rtc.AudioFrame(bytearray(a.tobytes()), SAMPLE_RATE, 1, len(a))

    return [
        Mixer(
            "livekit",
            "livekit (100 ms)",
            make_frame,
            lambda: rtc.AudioMixer(SAMPLE_RATE, 1),
            SAMPLE_RATE // 10,
        ),
        Mixer(
            "livekit_10ms",
            "livekit (10 ms)",
            make_frame,
            lambda: rtc.AudioMixer(SAMPLE_RATE, 1, blocksize=FRAME),
            FRAME,
        ),
    ]


_PEERS: tuple[tuple[str, Callable[[], list[Mixer]]], ...] = (("livekit (rtc)", _livekit),)


async def _frames_of(frames: Sequence[Any]):  # noqa: ANN202 - an async generator
    for f in frames:
        yield f


async def run_mixer(mixer_spec: Mixer, streams: Sequence[Sequence[Any]]) -> tuple[float, int]:
    """Wall seconds from adding the streams to the end of iteration, and samples received."""
    mixer = mixer_spec.make_mixer()
    gc.collect()
    start = time.perf_counter()
    for frames in streams:
        mixer.add_stream(_frames_of(frames))
    mixer.end_input()
    received = 0
    async for frame in mixer:
        received += frame.samples_per_channel
    elapsed = time.perf_counter() - start
    await mixer.aclose()
    return elapsed, received


def _smoke(peer: list[Mixer]) -> None:
    """One short run of each mixer, so a broken install fails here, not mid-run."""
    for m in peer:
        frames = [[m.make_frame(np.zeros(FRAME, dtype=np.int16))] * 2]
        asyncio.run(run_mixer(m, frames))


def load_contenders() -> tuple[list[Mixer], dict[str, str]]:
    mixers = _ours()
    peers, missing = load_peers(_PEERS, _smoke)
    for peer in peers:
        mixers += peer
    return mixers, missing


# --------------------------------------------------------------------------- measurements


def measure_end_to_end(
    mixers: Sequence[Mixer], n_streams: int, n_frames: int, repeats: int, rng: random.Random
) -> dict[str, Any]:
    """µs per 10 ms of output for each mixer: one sample per repeat, fresh mixer each time."""
    data = make_streams_data(n_streams, n_frames)
    inputs = {m.key: [[m.make_frame(a) for a in s] for s in data] for m in mixers}
    for m in mixers:  # warm-up
        asyncio.run(run_mixer(m, inputs[m.key]))
    samples: dict[str, list[float]] = {m.key: [] for m in mixers}
    received: dict[str, int] = {}
    for m in interleaved(mixers, repeats, rng):
        elapsed, got = asyncio.run(run_mixer(m, inputs[m.key]))
        samples[m.key].append(elapsed / n_frames * 1e6)
        received[m.key] = got
    return {"samples_us": samples, "received_samples": received}


def measure_kernel(n_streams: int, calls: int) -> dict[str, float]:
    """µs per call mixing ``n_streams`` buffers of 480 samples (min over 5 batches)."""
    rng = np.random.default_rng(SEED)
    xs = [rng.normal(0, 3000, FRAME).clip(-32768, 32767).astype(np.int16) for _ in range(n_streams)]
    out = memoryview(bytearray(2 * FRAME)).cast("h")
    gains = [0.5] * n_streams

    def numpy_mix() -> bytes:
        mixed = np.sum(np.stack([x.astype(np.float32) for x in xs], axis=0), axis=0)
        return np.clip(mixed, -32768, 32767).astype(np.int16).tobytes()

    cases = {
        "ours_unity": lambda: _mix.mix(xs, None, out),
        "ours_weighted": lambda: _mix.mix(xs, gains, out),
        "numpy": numpy_mix,
    }
    return {
        key: min(timeit.repeat(fn, number=calls, repeat=5)) / calls * 1e6
        for key, fn in cases.items()
    }


# --------------------------------------------------------------------------- reporting


def end_to_end_report(entries: list[dict[str, Any]], labels: dict[str, str]) -> list[str]:
    peers = [k for k in labels if k != "ours"]
    headers = ["N", *(f"{labels[k]} µs" for k in labels)]
    headers += [f"ours/{labels[k]}" for k in peers]
    if "livekit" in labels:
        headers.append(f"≤{TARGET:g}x livekit")
    rows = []
    for e in entries:
        row = [str(e["n_streams"]), *(num(e["us_per_10ms"][k], 1) for k in labels)]
        row += [num(e["ratios"][k], 3) for k in peers]
        if "livekit" in labels:
            row.append(e["verdict"])
        rows.append(row)
    return format_table(headers, rows)


def end_to_end_spread_line(entries: list[dict[str, Any]]) -> str:
    return spread_line(
        (f"{key}, N={e['n_streams']}", xs) for e in entries for key, xs in e["samples_us"].items()
    )


def kernel_report(entries: list[dict[str, Any]]) -> list[str]:
    headers = ["N", "ours unity µs", "ours weighted µs", "numpy (livekit's) µs"]
    headers.append("numpy/ours unity")
    rows = [
        [
            str(e["n_streams"]),
            num(e["us"]["ours_unity"]),
            num(e["us"]["ours_weighted"]),
            num(e["us"]["numpy"]),
            num(e["us"]["numpy"] / e["us"]["ours_unity"], 1),
        ]
        for e in entries
    ]
    return format_table(headers, rows)


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    return parse_frames_repeats(
        __doc__,
        argv,
        full=(DEFAULT_FRAMES, DEFAULT_REPEATS),
        quick=(QUICK_FRAMES, QUICK_REPEATS),
        frames_metavar="F",
        frames_help="10 ms frames per stream per timed run",
        plot_help="the end-to-end cost per N and ours/peer cost ratios (table 1)",
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    mixers, missing = load_contenders()
    rng = random.Random(SEED)
    end_to_end, kernel = [], []
    for n in N_STREAMS:
        progress(f"end to end N={n} ...")
        result = measure_end_to_end(mixers, n, args.frames, args.repeats, rng)
        us = medians(result["samples_us"])
        ratios = {m.key: ratio(us["ours"], us[m.key]) for m in mixers if m.key != "ours"}
        end_to_end.append(
            {
                "n_streams": n,
                "us_per_10ms": us,
                "ratios": ratios,
                "target_ratio": TARGET,
                "verdict": ratio_verdict(ratios.get("livekit"), TARGET),
                "samples_us": result["samples_us"],
                "received_samples": result["received_samples"],
                "expected_samples": args.frames * FRAME,
            }
        )
        progress(f"kernel N={n} ...")
        calls = QUICK_KERNEL_CALLS if args.quick else KERNEL_CALLS
        kernel.append({"n_streams": n, "us": measure_kernel(n, calls)})
    return {
        "config": {
            "frames": args.frames,
            "repeats": args.repeats,
            "quick": args.quick,
            "sample_rate": SAMPLE_RATE,
            "frame_samples": FRAME,
            "seed": SEED,
            "target_vs_livekit_default": TARGET,
            "mix_kernel": _mix.kernel_name(),
        },
        "contenders": {m.key: m.label for m in mixers},
        "blocksizes": {m.key: m.blocksize for m in mixers},
        "missing_peers": missing,
        "end_to_end": end_to_end,
        "kernel": kernel,
    }


def report(results: dict[str, Any], info: dict[str, Any]) -> list[str]:
    cfg = results["config"]
    labels = results["contenders"]
    out = ["livekit_audio mixer benchmark", *machine_summary(info)]
    out.append(f"mix kernel  {cfg['mix_kernel']}")
    out += peer_missing_lines(results["missing_peers"])
    short = [
        f"{e['n_streams']}: {k} got {got} of {e['expected_samples']}"
        for e in results["end_to_end"]
        for k, got in e["received_samples"].items()
        if got < e["expected_samples"]
    ]
    out += [f"WARNING: output shorter than input ({s})" for s in short]
    out += [
        "",
        "1. End to end, µs per 10 ms of mixed output: N async generators each yield "
        f"{cfg['frames']} pre-built 10 ms frames (48 kHz mono, writable); add_stream x N, "
        "end_input, iterate to the "
        f"end; wall time / {cfg['frames']}, median of {cfg['repeats']} interleaved repeats. "
        "Block size in the column label: LiveKit's default is 100 ms (one block per 10 frames), "
        f"ours 10 ms. Ratio ours/peer (lower is better); target ≤ {TARGET:g}x livekit at its "
        "default.",
        *end_to_end_report(results["end_to_end"], labels),
        end_to_end_spread_line(results["end_to_end"]),
        "",
        "2. Raw mix of N buffers of 480 int16 samples, µs per call (min of 5 batches): ours with "
        "unity gains (exact int32 path) and gains 0.5 (float32 path); numpy = the expression in "
        "LiveKit's mixer (float32 stack, sum, clip, astype).",
        *kernel_report(results["kernel"]),
    ]
    return out


def plot(results: dict[str, Any], path: Path) -> None:
    """Table 1 as bars: µs per 10 ms of mixed output per N, and ours/peer cost ratios with the
    target."""
    labels = results["contenders"]
    rows = results["end_to_end"]
    groups = [f"N = {e['n_streams']}" for e in rows]
    peers = [k for k in labels if k != "ours"]
    panels = [
        Panel(
            "End to end, µs per 10 ms of mixed output (lower is better)",
            groups,
            per_contender(rows, labels, "us_per_10ms"),
            "µs per 10 ms",
            log=True,
        ),
        Panel(
            "ours / peer cost (below the target line: met)",
            groups,
            {f"ours/{labels[k]}": [e["ratios"].get(k) for e in rows] for k in peers},
            "cost ratio",
            lines={f"target vs {labels.get('livekit', 'livekit')}": TARGET},
        ),
    ]
    bar_chart(path, "livekit_audio mixer benchmark", panels)


def main(argv: Sequence[str] | None = None) -> int:
    return bench_main(parse_args(argv), run, report, plot=plot)


if __name__ == "__main__":
    sys.exit(main())
