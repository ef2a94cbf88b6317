"""APM cost in speech, in digital silence after speech, and in low-level noise, against peers.

    python benchmarks/bench_apm_silence.py [--quick] [--repeats R] [--json PATH] [--plot PATH]

Issue 15: after speech stops, recursive filter states fed exact zeros (a muted microphone, a
paused publisher, the gaps between TTS sentences) decay through the subnormal float range,
where many x86 cores take a microcode assist per operation. Every processing call of ours runs
with flush-to-zero / denormals-are-zero (csrc/la_fpenv.c). This benchmark times ours and the
WebRTC-based peers (livekit's APM, pywebrtc-audio) frame by frame on 5 s of real speech, 10 s
of exact zeros and 5 s of white noise at -70 dBFS, at 16 and 48 kHz mono, for the
configurations of the issue's table (HPF; HPF + NS; all four with a silent far end), and
reports the mean cost in each window (benchmarks/_phases.py), the worst silence window over
speech (target <= 1.2 for every configuration) and ours over each peer.

How much subnormals cost depends on the core: Intel cores take an assist of up to ~150
cycles on each subnormal operand or result, AMD Zen 4 handles most at full speed. The header
names the CPU, and ``LIVEKIT_AUDIO_IEEE_SUBNORMALS=1`` runs ours with IEEE gradual underflow
(the behaviour before the fix) for comparison on the same machine.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _common import bench_main, bench_parser, jsonable, positive_int, verdict
from _machine import machine_summary
from _phases import TARGET_SILENCE_RATIO, phase_signal, phase_table, run_phases, silence_ratio
from _plot import pyplot, save

from livekit_audio._native import _resample

RATES = (16000, 48000)
DEFAULT_REPEATS, QUICK_REPEATS = 5, 1
SEED = 20261129


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = bench_parser(
        __doc__,
        "smoke-test size: 1 s speech, 3 s silence, 1 s noise; 1 repeat",
        plot_help="µs per frame over the signal, per configuration",
    )
    p.add_argument(
        "--repeats",
        type=positive_int,
        metavar="R",
        help=f"timed runs per contender and cell, median reported (default {DEFAULT_REPEATS})",
    )
    args = p.parse_args(argv)
    if args.repeats is None:
        args.repeats = QUICK_REPEATS if args.quick else DEFAULT_REPEATS
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    results = run_phases(RATES, args.repeats, random.Random(SEED), quick=args.quick)
    results["config"] = {
        "quick": args.quick,
        "repeats": args.repeats,
        "rates": list(RATES),
        "fpenv": _resample.fpenv_kind(),
        "ieee_subnormals_env": os.environ.get("LIVEKIT_AUDIO_IEEE_SUBNORMALS", ""),
    }
    results["windows_s"] = {
        str(rate): list(phase_signal(rate, quick=args.quick).windows) for rate in RATES
    }
    ours = [silence_ratio(r["us"]["ours"]) for r in results["rows"] if "ours" in r["us"]]
    results["target_met"] = bool(ours) and all(
        x is not None and x <= TARGET_SILENCE_RATIO for x in ours
    )
    return results


def plot(results: dict[str, Any], path: Path) -> None:
    """One panel per rate x configuration: µs per frame over time (last repeat), per contender,
    smoothed over 100 ms; the phase boundaries dashed."""
    import numpy as np

    plt = pyplot()
    rows = results["rows"]
    fig, axes = plt.subplots(len(rows), 1, figsize=(9, 2.2 * len(rows)), sharex=True, squeeze=False)
    for ax, row in zip(axes[:, 0], rows, strict=True):
        for key, label in results["labels"].items():
            curve = results["curves_us"].get(f"{key}|{row['config']}|{row['rate']}")
            if curve is None:
                continue
            y = np.convolve(np.asarray(curve), np.ones(10) / 10, mode="same")
            ax.plot(np.arange(len(y)) / 100, y, label=label, linewidth=1)
        windows = results["windows_s"][str(row["rate"])]
        for t in (windows[0][2], windows[-1][1]):  # end of speech, start of noise
            ax.axvline(t, color="grey", linestyle="--", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_ylabel("µs / frame")
        ax.set_title(f"{row['config']}, {row['rate'] // 1000} kHz", fontsize=9)
    axes[-1, 0].set_xlabel("time (s): speech | digital silence | noise at -70 dBFS")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    save(fig, path)


def report(results: dict[str, Any], info: dict[str, Any]) -> list[str]:
    cfg = results["config"]
    out = [
        "livekit_audio APM cost by signal phase (issue 15)",
        *machine_summary(info),
        f"floating-point environment of our calls: {cfg['fpenv']}",
        "",
    ]
    out += phase_table(results)
    out += [
        "",
        f"target: worst silence window <= {TARGET_SILENCE_RATIO}x speech for ours in "
        f"every configuration: {verdict(results['target_met'])}",
    ]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def to_json(results: dict[str, Any]) -> Any:
        slim = {k: v for k, v in results.items() if k != "curves_us"}
        return jsonable(slim)

    return bench_main(args, run, report, to_json=to_json, plot=plot)


if __name__ == "__main__":
    sys.exit(main())
