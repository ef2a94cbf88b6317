"""APM cost by signal phase: speech, digital silence after speech, low-level noise.

After speech stops, a recursive filter fed exact zeros decays through the subnormal float
range, where many x86 cores run 10-100x slower; a benchmark that only feeds speech cannot see
it (issue 15). Every APM benchmark therefore also times each contender, frame by frame, on one
signal made of three phases and reports the mean cost in windows of each:

    speech (SPEECH_S of real speech) | digital silence (SILENCE_S of exact zeros, reported in
    quarters from 2.5 s in) | low-level noise (NOISE_S of white noise at NOISE_DBFS)

Contenders are built by ``phase_contenders`` (ours, livekit's APM, pywebrtc-audio's; a peer
that is not installed is reported missing) and timed by ``run_phases``: a fresh module per
repeat, every 10 ms frame timed on its own (``time.perf_counter``) after its input was built,
repeats interleaved in a seeded shuffle, median over repeats of each window's mean.
``phase_table`` prints the cells, the worst silence window over speech (target <= 1.2) and,
for peers, ours over theirs in each window. With echo cancellation the far end is silent
throughout (a zero render frame before each capture frame, for every contender).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from _common import (
    demo_speech_16k,
    format_table,
    interleaved,
    load_peers,
    num,
    peer_missing_lines,
    progress,
    ratio,
    verdict,
)

import livekit_audio as la

SPEECH_S, SILENCE_S, NOISE_S = 5.0, 10.0, 5.0
QUICK_SPEECH_S, QUICK_SILENCE_S, QUICK_NOISE_S = 1.0, 3.0, 1.0
NOISE_DBFS = -70.0
SEED = 20261129
#: Silence cost over speech cost, worst silence window (issue 15's bar).
TARGET_SILENCE_RATIO = 1.2

#: The configurations of issue 15's table: a name and AudioProcessingModule keyword options.
CONFIGS: dict[str, dict[str, Any]] = {
    "HPF": {"high_pass_filter": True},
    "HPF+NS": {"high_pass_filter": True, "noise_suppression": True},
    "all four": {
        "high_pass_filter": True,
        "noise_suppression": True,
        "auto_gain_control": True,
        "echo_cancellation": True,
    },
}


@dataclass(frozen=True)
class Phases:
    """The three-phase input at one rate and the report windows over it (seconds)."""

    rate: int
    x: np.ndarray  # int16 mono
    windows: tuple[tuple[str, float, float], ...]  # (label, start_s, end_s)
    source: str


def phase_signal(rate: int, *, quick: bool = False) -> Phases:
    """Speech (the demo clip, or seeded pink-ish noise at speech level without it), digital
    silence, then white noise at ``NOISE_DBFS``, int16 mono at ``rate``."""
    speech_s, silence_s, noise_s = (
        (QUICK_SPEECH_S, QUICK_SILENCE_S, QUICK_NOISE_S)
        if quick
        else (SPEECH_S, SILENCE_S, NOISE_S)
    )
    rng = np.random.default_rng(SEED)
    clip = demo_speech_16k()
    if clip is not None:
        speech = la.resample(clip[: int(speech_s * 16000)], 16000, rate)
        source = "demo speech"
    else:
        speech = np.cumsum(rng.normal(0, 300, int(speech_s * rate))).clip(-20000, 20000)
        speech = (speech - np.mean(speech)).astype(np.int16)
        source = "seeded brown noise (speech file absent)"
    n_speech = len(speech)
    silence = np.zeros(int(silence_s * rate), np.int16)
    rms = 32768.0 * 10 ** (NOISE_DBFS / 20)
    noise = np.round(rng.normal(0, rms, int(noise_s * rate))).astype(np.int16)
    x = np.concatenate([speech, silence, noise])
    t_speech = n_speech / rate
    quarter = silence_s / 4
    windows = [("speech", 0.0, t_speech)]
    for q in range(1, 4):
        start = t_speech + q * quarter
        windows.append((f"silence {q * quarter:g}-{(q + 1) * quarter:g} s", start, start + quarter))
    windows.append((f"noise {NOISE_DBFS:g} dBFS", t_speech + silence_s, len(x) / rate))
    return Phases(rate, x, tuple(windows), source)


# --------------------------------------------------------------------------- contenders

#: prepare(x, rate, options) -> run(): run processes every frame, returning seconds per frame.
Prepare = Callable[[np.ndarray, int, dict[str, Any]], Callable[[], np.ndarray]]


@dataclass(frozen=True)
class PhaseContender:
    key: str
    label: str
    prepare: Prepare


def _timed_loop(frames: Sequence[Any], step: Callable[[Any], object]) -> Callable[[], np.ndarray]:
    def run() -> np.ndarray:
        seconds = np.empty(len(frames))
        clock = time.perf_counter
        for i, frame in enumerate(frames):
            t0 = clock()
            step(frame)
            seconds[i] = clock() - t0
        return seconds

    return run


def _blocks(x: np.ndarray, hop: int) -> list[np.ndarray]:
    return [x[i : i + hop].copy() for i in range(0, len(x) - hop + 1, hop)]


def _livekit_style(
    apm: Any, frame_type: Any, x: np.ndarray, rate: int, options: dict[str, Any]
) -> Callable[[], np.ndarray]:
    """The timed loop of an APM with livekit's API (``process_stream`` in place, and
    ``process_reverse_stream`` of a silent frame first when echo cancellation is on)."""
    hop = rate // 100
    frames = [frame_type(bytearray(b.tobytes()), rate, 1, hop) for b in _blocks(x, hop)]
    if not options.get("echo_cancellation"):
        return _timed_loop(frames, apm.process_stream)
    render = frame_type(bytearray(2 * hop), rate, 1, hop)

    def step(frame: Any) -> None:
        apm.process_reverse_stream(render)
        apm.process_stream(frame)

    return _timed_loop(frames, step)


def _ours(x: np.ndarray, rate: int, options: dict[str, Any]) -> Callable[[], np.ndarray]:
    return _livekit_style(la.AudioProcessingModule(**options), la.AudioFrame, x, rate, options)


def _livekit(x: np.ndarray, rate: int, options: dict[str, Any]) -> Callable[[], np.ndarray]:
    from livekit import rtc

    apm = rtc.AudioProcessingModule(**options)
    return _livekit_style(apm, rtc.AudioFrame, x, rate, options)


def _pywebrtc(x: np.ndarray, rate: int, options: dict[str, Any]) -> Callable[[], np.ndarray]:
    import pywebrtc_audio

    hop = rate // 100
    ap = pywebrtc_audio.AudioProcessor(sample_rate=rate, num_channels=1, **options)
    far = np.zeros(hop, np.int16) if options.get("echo_cancellation") else None
    return _timed_loop(_blocks(x, hop), lambda near: ap.process(near, far))


def phase_contenders() -> tuple[list[PhaseContender], dict[str, str]]:
    """Ours and every peer that builds and runs here; the others, with the reason."""
    specs = [
        ("ours", lambda: PhaseContender("ours", "ours", _ours)),
        ("livekit", lambda: PhaseContender("livekit", "livekit (WebRTC APM)", _livekit)),
        ("pywebrtc-audio", lambda: PhaseContender("pywebrtc", "pywebrtc-audio", _pywebrtc)),
    ]

    def smoke(c: PhaseContender) -> None:
        for options in CONFIGS.values():
            c.prepare(np.zeros(4800, np.int16), 48000, dict(options))()

    return load_peers(specs, smoke)


# --------------------------------------------------------------------------- measure


def window_means(seconds: np.ndarray, phases: Phases) -> list[float]:
    """Mean µs per frame in each of ``phases.windows``."""
    hop_s = 0.01
    out = []
    for _, start, end in phases.windows:
        a, b = int(round(start / hop_s)), int(round(end / hop_s))
        out.append(float(np.mean(seconds[a:b])) * 1e6)
    return out


def run_phases(
    rates: Sequence[int],
    repeats: int,
    rng: random.Random,
    *,
    quick: bool = False,
    configs: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Each contender on each rate x configuration: window means (µs), median of repeats."""
    configs = CONFIGS if configs is None else configs
    contenders, missing = phase_contenders()
    rows = []
    curves: dict[str, list[float]] = {}
    for rate in rates:
        phases = phase_signal(rate, quick=quick)
        for name, options in configs.items():
            progress(f"phases: {name} at {rate // 1000} kHz ...")
            for c in contenders:  # warm-up
                c.prepare(phases.x[: 100 * rate // 100], rate, dict(options))()
            samples: dict[str, list[list[float]]] = {c.key: [] for c in contenders}
            for c in interleaved(contenders, repeats, rng):
                seconds = c.prepare(phases.x, rate, dict(options))()
                samples[c.key].append(window_means(seconds, phases))
                curves[f"{c.key}|{name}|{rate}"] = (seconds * 1e6).tolist()
            rows.append(
                {
                    "rate": rate,
                    "config": name,
                    "options": options,
                    "windows": [w[0] for w in phases.windows],
                    "us": {
                        k: [statistics.median(col) for col in zip(*v, strict=True)]
                        for k, v in samples.items()
                    },
                    "samples_us": samples,
                }
            )
    return {
        "labels": {c.key: c.label for c in contenders},
        "missing": missing,
        "rows": rows,
        "curves_us": curves,
        "input": phase_signal(rates[0], quick=quick).source,
        "noise_dbfs": NOISE_DBFS,
    }


def silence_ratio(us: Sequence[float]) -> float | None:
    """Worst silence window over the speech window (windows as ``phase_signal`` orders them)."""
    return ratio(max(us[1:-1]), us[0])


def phase_table(results: dict[str, Any]) -> list[str]:
    """Report lines: µs per frame in each window, silence/speech, ours/peer per window."""
    rows = results["rows"]
    if not rows:
        return []
    labels = results["labels"]
    headers = [
        "rate",
        "configuration",
        "contender",
        *rows[0]["windows"],
        "silence/speech",
        f"<= {TARGET_SILENCE_RATIO}",
    ]
    cells = []
    for r in rows:
        for key, us in r["us"].items():
            rr = silence_ratio(us)
            cells.append(
                [
                    f"{r['rate'] // 1000} kHz",
                    r["config"],
                    labels[key],
                    *(num(u, 1) for u in us),
                    num(rr),
                    verdict(None if rr is None else rr <= TARGET_SILENCE_RATIO),
                ]
            )
    lines = [
        f"Cost by phase: µs per 10 ms frame (mean over the window, median of repeats); input "
        f"{results['input']}, then exact zeros, then white noise at {results['noise_dbfs']:g} "
        "dBFS; with AEC the far end is silent",
        *format_table(headers, cells),
    ]
    peers = [k for k in labels if k != "ours"]
    if peers and rows and "ours" in rows[0]["us"]:
        cells = []
        for r in rows:
            for key in peers:
                if key in r["us"]:
                    cells.append(
                        [
                            f"{r['rate'] // 1000} kHz",
                            r["config"],
                            f"ours/{labels[key]}",
                            *(
                                num(ratio(o, p))
                                for o, p in zip(r["us"]["ours"], r["us"][key], strict=True)
                            ),
                        ]
                    )
        lines += [
            "",
            "Ours over each peer, per window (lower is better)",
            *format_table(["rate", "configuration", "ratio", *rows[0]["windows"]], cells),
        ]
    lines += peer_missing_lines(results["missing"], "it is left out of the phase tables")
    return lines
