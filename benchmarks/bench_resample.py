"""Resampler benchmark: livekit_audio against python-soxr and LiveKit's SDK, in one run.

    python benchmarks/bench_resample.py [--quick] [--json PATH] [--plot PATH] [--frames N]
                                        [--repeats R]

Measures, on this machine and in this process:

1. the amortized cost of one 10 ms int16 frame when streaming (push N consecutive frames into
   a fresh resampler, divide the time by N, median over R interleaved repeats);
2. the output held back (ms) after 1 s of input pushed frame by frame;
3. one-shot bulk throughput on 60 s of mono audio, in x real time.

See benchmarks/README.md for the methodology. Peers that are not installed are skipped.
"""

from __future__ import annotations

import argparse
import functools
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
    wall_seconds,
)
from _machine import machine_summary
from _plot import Panel, bar_chart, per_contender

import livekit_audio

CONVERSIONS: tuple[tuple[int, int], ...] = (
    (48000, 16000),
    (16000, 48000),
    (44100, 48000),
    (8000, 48000),
    (24000, 48000),
)
CHANNELS: tuple[int, ...] = (1, 2)
#: Frame duration: 10 ms, i.e. input_rate // 100 samples per channel.
FRAMES_PER_SECOND = 100
#: ours/peer cost ratio to meet, judged on mono rows only.
TARGETS: dict[str, float] = {"soxr_mq": 0.8, "livekit": 0.25}
LATENCY_SECONDS = 1.0
BULK_SECONDS = 60.0
DEFAULT_FRAMES, DEFAULT_REPEATS = 500, 7
QUICK_FRAMES, QUICK_REPEATS = 100, 3
SEED = 20261121

# --------------------------------------------------------------------------- test signals


def signal_source() -> str:
    """A description of the input used for every measurement."""
    if demo_speech_16k() is not None:
        return f"speech: {DEMO_SPEECH_FILE.name} (resampled to each input rate, tiled if short)"
    return f"seeded pink-ish noise (seed {SEED}); speech file not found at {DEMO_SPEECH_FILE}"


def _pink_noise(n: int, rate: int) -> np.ndarray:
    """Seeded noise with a 1/f power spectrum above 20 Hz, RMS at -20 dBFS, as int16."""
    rng = np.random.default_rng(SEED + rate)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.fft.rfftfreq(n, 1.0 / rate), 20.0))
    y = np.fft.irfft(spectrum, n)
    y *= 0.1 * 32768 / max(float(np.sqrt(np.mean(y**2))), 1e-12)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


@functools.cache
def _speech_at(rate: int) -> np.ndarray:
    return livekit_audio.resample(demo_speech_16k(), 16000, rate)


def _mono(rate: int, n: int) -> np.ndarray:
    if demo_speech_16k() is None:
        return _pink_noise(n, rate)
    return np.resize(_speech_at(rate), n)  # tiles when the clip is shorter than asked


def make_signal(rate: int, channels: int, seconds: float) -> np.ndarray:
    """Int16 input of shape (n, channels); channel 2 is channel 1 delayed 3 ms at 0.7 gain."""
    mono = _mono(rate, max(round(seconds * rate), 1))
    columns = [mono]
    if channels == 2:
        delayed = np.roll(mono.astype(np.int32), rate * 3 // 1000) * 7 // 10
        columns.append(delayed.astype(np.int16))
    return np.ascontiguousarray(np.stack(columns, axis=1)[:, :channels])


def split_frames(x: np.ndarray, rate: int) -> list[np.ndarray]:
    """Consecutive 10 ms frames (rate // 100 samples each) of an (n, channels) array."""
    size = rate // FRAMES_PER_SECOND
    return [x[i : i + size] for i in range(0, len(x) - size + 1, size)]


# --------------------------------------------------------------------------- contenders


@dataclass(frozen=True)
class Streamer:
    """One streaming resampler under test, reduced to what the benchmark needs.

    ``make_input(frame, rate)`` turns an (n, channels) int16 array into what ``push`` takes
    (built before timing); ``make_push(in_rate, out_rate, channels)`` returns the push
    callable of a fresh resampler; ``out_samples(result)`` counts the samples per channel in
    what one push returned.
    """

    key: str
    label: str
    make_input: Callable[[np.ndarray, int], Any]
    make_push: Callable[[int, int, int], Callable[[Any], Any]]
    out_samples: Callable[[Any], int]


@dataclass(frozen=True)
class OneShot:
    """One whole-signal resampling function under test: ``run(x, in_rate, out_rate)``."""

    key: str
    label: str
    run: Callable[[np.ndarray, int, int], Any]


def _frames_out(frames: Sequence[Any]) -> int:
    return sum(f.samples_per_channel for f in frames)


def _ours() -> tuple[list[Streamer], list[OneShot]]:
    medium = livekit_audio.AudioResamplerQuality.MEDIUM

    def make_push(i: int, o: int, ch: int) -> Callable[[Any], Any]:
        return livekit_audio.AudioResampler(i, o, num_channels=ch, quality=medium).push

    streamer = Streamer(
        "ours", "ours", livekit_audio.AudioFrame.from_ndarray, make_push, _frames_out
    )
    oneshot = OneShot(
        "ours", "ours", lambda x, i, o: livekit_audio.resample(x, i, o, quality=medium)
    )
    return [streamer], [oneshot]


def _soxr() -> tuple[list[Streamer], list[OneShot]]:
    import soxr

    def streamer(quality: str) -> Streamer:
        def make_push(i: int, o: int, ch: int) -> Callable[[Any], Any]:
            return soxr.ResampleStream(i, o, ch, dtype="int16", quality=quality).resample_chunk

        return Streamer(
            f"soxr_{quality.lower()}",
            f"soxr-{quality}",
            lambda a, _rate: np.array(a, dtype=np.int16, order="C"),
            make_push,
            lambda y: y.shape[0],
        )

    def oneshot(quality: str) -> OneShot:
        return OneShot(
            f"soxr_{quality.lower()}",
            f"soxr-{quality}",
            lambda x, i, o: soxr.resample(x, i, o, quality=quality),
        )

    return [streamer("MQ"), streamer("HQ")], [oneshot("MQ"), oneshot("HQ")]


def _livekit() -> tuple[list[Streamer], list[OneShot]]:
    from livekit import rtc

    def make_input(a: np.ndarray, rate: int) -> Any:
        return rtc.AudioFrame(bytearray(a.tobytes()), rate, a.shape[1], a.shape[0])

    def make_push(i: int, o: int, ch: int) -> Callable[[Any], Any]:
        quality = rtc.AudioResamplerQuality.MEDIUM
        return rtc.AudioResampler(i, o, num_channels=ch, quality=quality).push

    return [Streamer("livekit", "livekit", make_input, make_push, _frames_out)], []


#: Peers in column order: (name shown when missing, loader).
_PEERS: tuple[tuple[str, Callable[[], tuple[list[Streamer], list[OneShot]]]], ...] = (
    ("python-soxr", _soxr),
    ("livekit (rtc)", _livekit),
)


def _smoke(peer: tuple[list[Streamer], list[OneShot]]) -> None:
    """Build each streaming resampler and push one frame, so a broken install fails here."""
    frame = np.zeros((480, 1), dtype=np.int16)
    for streamer in peer[0]:
        streamer.make_push(48000, 16000, 1)(streamer.make_input(frame, 48000))


def load_contenders() -> tuple[list[Streamer], list[OneShot], dict[str, str]]:
    """Our contenders plus every peer that imports and runs; ``missing`` maps peer to reason."""
    streamers, oneshots = _ours()
    peers, missing = load_peers(_PEERS, _smoke)
    for peer_streamers, peer_oneshots in peers:
        streamers += peer_streamers
        oneshots += peer_oneshots
    return streamers, oneshots, missing


# --------------------------------------------------------------------------- measurements


def _timed_pushes(push: Callable[[Any], Any], inputs: Sequence[Any]) -> float:
    def push_all() -> None:
        for item in inputs:
            push(item)

    return wall_seconds(push_all)


def measure_per_frame(
    streamers: Sequence[Streamer],
    in_rate: int,
    out_rate: int,
    channels: int,
    n_frames: int,
    repeats: int,
    rng: random.Random,
) -> dict[str, list[float]]:
    """Amortized µs per frame of each streamer, one sample per repeat (fresh resampler each)."""
    frames = split_frames(make_signal(in_rate, channels, n_frames / FRAMES_PER_SECOND), in_rate)
    inputs = {s.key: [s.make_input(f, in_rate) for f in frames] for s in streamers}
    for s in streamers:  # warm-up: filter-design caches, FFI set-up, allocator
        _timed_pushes(s.make_push(in_rate, out_rate, channels), inputs[s.key])
    samples: dict[str, list[float]] = {s.key: [] for s in streamers}
    for s in interleaved(streamers, repeats, rng):
        push = s.make_push(in_rate, out_rate, channels)
        samples[s.key].append(_timed_pushes(push, inputs[s.key]) / len(frames) * 1e6)
    return samples


def measure_latency(streamer: Streamer, in_rate: int, out_rate: int) -> dict[str, float]:
    """Output held back (ms) after LATENCY_SECONDS of mono input, and the most at any push."""
    frames = split_frames(make_signal(in_rate, 1, LATENCY_SECONDS), in_rate)
    push = streamer.make_push(in_rate, out_rate, 1)
    n_in = n_out = 0
    held = worst = 0.0
    for f in frames:
        n_out += streamer.out_samples(push(streamer.make_input(f, in_rate)))
        n_in += len(f)
        held = (n_in * out_rate / in_rate - n_out) / out_rate * 1000.0
        worst = max(worst, held)
    return {"at_end_ms": held, "max_ms": worst}


def measure_bulk(
    oneshots: Sequence[OneShot], in_rate: int, out_rate: int, repeats: int, rng: random.Random
) -> dict[str, dict[str, Any]]:
    """× real time of each one-shot function on BULK_SECONDS of mono (CPU time, and wall)."""
    x = make_signal(in_rate, 1, BULK_SECONDS)[:, 0].copy()
    for o in oneshots:
        o.run(x, in_rate, out_rate)  # warm-up
    cpu: dict[str, list[float]] = {o.key: [] for o in oneshots}
    wall: dict[str, list[float]] = {o.key: [] for o in oneshots}
    for o in interleaved(oneshots, repeats, rng):
        gc.collect()
        c0, w0 = time.process_time(), time.perf_counter()
        o.run(x, in_rate, out_rate)
        cpu[o.key].append(time.process_time() - c0)
        wall[o.key].append(time.perf_counter() - w0)
    return {
        o.key: {
            "x_realtime_cpu": BULK_SECONDS / max(statistics.median(cpu[o.key]), 1e-9),
            "x_realtime_wall": BULK_SECONDS / max(statistics.median(wall[o.key]), 1e-9),
            "cpu_s": cpu[o.key],
            "wall_s": wall[o.key],
        }
        for o in oneshots
    }


# --------------------------------------------------------------------------- reporting


def _conv(in_rate: int, out_rate: int) -> str:
    return f"{in_rate / 1000:g}k->{out_rate / 1000:g}k"


def per_frame_report(entries: list[dict[str, Any]], labels: dict[str, str]) -> list[str]:
    """``labels`` maps contender key to column label, "ours" first."""
    peers = [k for k in labels if k != "ours"]
    judged = [k for k in TARGETS if k in labels]
    headers = ["conversion", "ch", *(f"{labels[k]} µs" for k in labels)]
    headers += [f"ours/{labels[k]}" for k in peers]
    headers += [f"{labels[k]} ≤{TARGETS[k]:g}x" for k in judged]
    rows = []
    for e in entries:
        row = [e["conversion"], str(e["channels"]), *(num(e["us_per_frame"][k]) for k in labels)]
        row += [num(e["ratios"][k], 3) for k in peers]
        row += [e["targets"][k]["verdict"] for k in judged]
        rows.append(row)
    return format_table(headers, rows)


def per_frame_spread_line(entries: list[dict[str, Any]]) -> str:
    """How much the repeats of one cell disagree: (max − min) / median, over all cells."""
    return spread_line(
        (f"{key}, {e['conversion']} ch{e['channels']}", xs)
        for e in entries
        for key, xs in e["samples_us"].items()
    )


def latency_report(entries: list[dict[str, Any]], labels: dict[str, str]) -> list[str]:
    headers = ["conversion", *(f"{labels[k]} ms" for k in labels)]
    rows = []
    for e in entries:
        cells = (f"{e['ms'][k]['at_end_ms']:.1f} / {e['ms'][k]['max_ms']:.1f}" for k in labels)
        rows.append([e["conversion"], *cells])
    return format_table(headers, rows)


def bulk_report(entries: list[dict[str, Any]], labels: dict[str, str]) -> list[str]:
    peers = [k for k in labels if k != "ours"]
    headers = ["conversion", *(f"{labels[k]} xRT" for k in labels)]
    headers += [f"ours/{labels[k]} time" for k in peers]
    rows = []
    for e in entries:
        xrt = {k: v["x_realtime_cpu"] for k, v in e["results"].items()}
        row = [e["conversion"], *(f"{xrt[k]:.0f}" for k in labels)]
        row += [num(xrt[k] / xrt["ours"], 3) for k in peers]
        rows.append(row)
    return format_table(headers, rows)


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    return parse_frames_repeats(
        __doc__,
        argv,
        full=(DEFAULT_FRAMES, DEFAULT_REPEATS),
        quick=(QUICK_FRAMES, QUICK_REPEATS),
        frames_metavar="N",
        frames_help="frames pushed per timed run",
        plot_help="the streaming cost per frame and ours/peer cost ratios (table 1)",
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    streamers, oneshots, missing = load_contenders()
    rng = random.Random(SEED)
    per_frame, latency, bulk = [], [], []
    for in_rate, out_rate in CONVERSIONS:
        conv = _conv(in_rate, out_rate)
        for ch in CHANNELS:
            progress(f"per-frame {conv} ch{ch} ...")
            samples = measure_per_frame(
                streamers, in_rate, out_rate, ch, args.frames, args.repeats, rng
            )
            us = medians(samples)
            ratios = {s.key: ratio(us["ours"], us[s.key]) for s in streamers if s.key != "ours"}
            targets = {
                k: {
                    "max_ratio": t,
                    "ratio": ratios.get(k),
                    "verdict": ratio_verdict(ratios.get(k), t) if ch == 1 else "-",
                }
                for k, t in TARGETS.items()
            }
            per_frame.append(
                {
                    "conversion": conv,
                    "input_rate": in_rate,
                    "output_rate": out_rate,
                    "channels": ch,
                    "frame_samples": in_rate // FRAMES_PER_SECOND,
                    "us_per_frame": us,
                    "ratios": ratios,
                    "targets": targets,
                    "samples_us": samples,
                }
            )
        progress(f"latency {conv} ...")
        latency.append(
            {
                "conversion": conv,
                "input_rate": in_rate,
                "output_rate": out_rate,
                "channels": 1,
                "ms": {s.key: measure_latency(s, in_rate, out_rate) for s in streamers},
            }
        )
        progress(f"bulk {conv} ...")
        bulk.append(
            {
                "conversion": conv,
                "input_rate": in_rate,
                "output_rate": out_rate,
                "channels": 1,
                "results": measure_bulk(oneshots, in_rate, out_rate, args.repeats, rng),
            }
        )
    return {
        "config": {
            "frames": args.frames,
            "repeats": args.repeats,
            "quick": args.quick,
            "frame_ms": 1000 // FRAMES_PER_SECOND,
            "latency_after_s": LATENCY_SECONDS,
            "bulk_seconds": BULK_SECONDS,
            "input": signal_source(),
            "seed": SEED,
            "targets_mono": TARGETS,
        },
        "contenders": {
            "streaming": {s.key: s.label for s in streamers},
            "bulk": {o.key: o.label for o in oneshots},
        },
        "missing_peers": missing,
        "per_frame": per_frame,
        "latency": latency,
        "bulk": bulk,
    }


def report(results: dict[str, Any], info: dict[str, Any]) -> list[str]:
    cfg = results["config"]
    streaming, oneshot = results["contenders"]["streaming"], results["contenders"]["bulk"]
    out = [
        "livekit_audio resampler benchmark",
        *machine_summary(info),
        f"input       {cfg['input']}",
    ]
    out += peer_missing_lines(results["missing_peers"])
    out += [
        "",
        f"1. Streaming cost per 10 ms int16 frame (µs), amortized: {cfg['frames']} consecutive "
        f"frames into a fresh resampler, time / {cfg['frames']}, median of {cfg['repeats']} "
        "interleaved repeats. Ours and livekit at MEDIUM. Ratios: ours/peer cost (lower is "
        "better); targets judged on mono rows.",
        *per_frame_report(results["per_frame"], streaming),
        per_frame_spread_line(results["per_frame"]),
        "",
        f"2. Held back (ms) after {cfg['latency_after_s']:g} s pushed frame by frame, mono: "
        "ideal output so far minus output returned; 'at 1 s / max over any push'.",
        *latency_report(results["latency"], streaming),
        "",
        f"3. One-shot bulk throughput, {cfg['bulk_seconds']:g} s mono int16: x real time "
        f"(audio s per CPU s), median of {cfg['repeats']}; time ratio ours/peer (lower is better).",
        *bulk_report(results["bulk"], oneshot),
    ]
    return out


def plot(results: dict[str, Any], path: Path) -> None:
    """Table 1 as bars: µs per frame per conversion (mono, stereo) and ours/peer cost ratios
    (mono) with the targets."""
    labels = results["contenders"]["streaming"]
    panels = []
    for ch, name in ((1, "mono"), (2, "stereo")):
        rows = [e for e in results["per_frame"] if e["channels"] == ch]
        panels.append(
            Panel(
                f"Streaming cost per 10 ms int16 frame, {name} (lower is better)",
                [e["conversion"] for e in rows],
                per_contender(rows, labels, "us_per_frame"),
                "µs per frame",
                log=True,
            )
        )
    mono = [e for e in results["per_frame"] if e["channels"] == 1]
    peers = [k for k in labels if k != "ours"]
    panels.append(
        Panel(
            "ours / peer cost, mono (below a target line: met)",
            [e["conversion"] for e in mono],
            {f"ours/{labels[k]}": [e["ratios"].get(k) for e in mono] for k in peers},
            "cost ratio",
            lines={f"target vs {labels[k]}": t for k, t in TARGETS.items() if k in labels},
        )
    )
    bar_chart(path, "livekit_audio resampler benchmark", panels)


def main(argv: Sequence[str] | None = None) -> int:
    return bench_main(parse_args(argv), run, report, plot=plot)


if __name__ == "__main__":
    sys.exit(main())
