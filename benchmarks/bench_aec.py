"""AEC benchmark: echo cancellation quality (ERLE, convergence, double talk) and cost.

    python benchmarks/bench_aec.py [--quick] [--json PATH] [--plot PATH] [--repeats R]

Measures, on this machine and in this process, ``livekit_audio.AudioProcessingModule(
echo_cancellation=True)`` against the echo cancellers that install (livekit's WebRTC APM,
pywebrtc-audio's AEC3, aec-audio-processing's WebRTC APM, speexdsp's MDF), on seeded
simulated rooms: far-end speech (an Allison prompt from ``../shared/data/speech/``) through a
bulk delay and an exponentially decaying random room response, the echo at -30 dBFS at the
microphone, a near-end talker (a different real voice: Carlo, male, Italian) in a
double-talk segment at 0 dB near-to-echo ratio, and -70 dBFS white microphone noise.
Scenarios, at 16 and 48 kHz:

- main: 10 s far-end single talk, 6 s double talk, 4 s single talk; correct delay hint;
- wrong hint: the same, with ``set_stream_delay_ms`` 200 ms too long;
- saturation: 12 s single talk through a tanh loudspeaker (moderate distortion);
- path change: 20 s single talk; at 10 s the room and the bulk delay change;
- near-end only: the near-end talker alone, the far end silent.

Reported per contender: single-talk ERLE after convergence, time to reach 10 and 20 dB,
ERLE after double talk, PESQ-WB and SI-SDR of the output against the clean near end during
double talk, PESQ of the output against the input with no echo, and µs per 10 ms frame
(render + capture); then the full APM (AEC + NS + HPF + AGC) cost at 48 kHz, and issue 5's
targets. See benchmarks/README.md for the definitions. A contender that fails to import or
to run is reported as missing and skipped; ours is reported "not available yet" while
``echo_cancellation=True`` raises ``NotImplementedError``.
"""

from __future__ import annotations

import argparse
import functools
import random
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    bench_main,
    bench_parser,
    error_text,
    format_table,
    jsonable,
    load_peers,
    num,
    package_versions,
    peer_missing_lines,
    positive_int,
    progress,
    ratio,
    verdict,
)
from _machine import machine_summary
from _metrics import (
    ACTIVE_BELOW_DB,
    ANALYSIS_MS,
    HOLD_S,
    METRIC_RATE,
    SMOOTH_S,
    active_level_dbfs,
    align,
    erle_median,
    erle_track,
    pesq_wb,
    si_sdr,
    time_to,
)
from _peers import (
    Contender,
    aecap_processor,
    calibrate_delays,
    hop,
    interleaved_runs,
    livekit_processor,
    ours_processor,
    pywebrtc_aec_processor,
    pywebrtc_apm_processor,
    speex_aec_processor,
    time_contenders,
)
from _phases import phase_table, run_phases
from _plot import Panel, bar_chart, cost_panel
from _signals import (
    echo_path,
    excerpt,
    gain_to,
    room_response,
    soft_clip,
    speech_problem,
    to_16k,
    to_int16,
    to_rate,
    white_noise,
)

import livekit_audio as la

SEED = 20261205
RATES = (16000, 48000)
#: NE PESQ skips this much at both ends.
EDGE_MS = 50

FAR_FILE = "allison_demo-instruct_16k.wav"  # far end: 0-20 s
NEAR_FILE = "carlo_it-IT_male_16k.wav"  # near end: a different real voice (male, wideband)
NEAR_DT_START_S = 2.0  # the double-talk excerpt of NEAR_FILE
NEAR_ONLY_START_S, NEAR_ONLY_S = 12.0, 8.0  # the near-end-only excerpt
CALIB_START_S, CALIB_S = 22.0, 3.0  # the alignment probe excerpt

FAR_LEVEL_DBFS = -20.0  # active level of the far end as sent to the loudspeaker
ECHO_LEVEL_DBFS = -30.0  # active level of the echo at the microphone
NOISE_DBFS = -70.0  # white microphone noise (RMS re a full-scale square wave)
NEAR_TO_ECHO_DB = 0.0
NEAR_ONLY_LEVEL_DBFS = -30.0

#: Room A (every scenario) and room B (after the change in "path change").
ROOM_A = {"delay_ms": 80, "rt60_s": 0.3, "seed": 1}
ROOM_B = {"delay_ms": 130, "rt60_s": 0.45, "seed": 2}
#: Direct path to reverberant tail energy, dB; reflections start 2 ms after the direct path.
DRR_DB = 3.0
WRONG_HINT_OFFSET_MS = 200
#: tanh loudspeaker: y = c·tanh(x / c), c this far above the far end's active level (dB).
SATURATION_KNEE_DB = 9.0
#: Speex has no delay hint: its filter covers the longest bulk delay plus the room tail.
SPEEX_FILTER_MS = 400

DEFAULT_REPEATS = 5
QUICK_REPEATS = 1
FULL_APM_FRAMES, QUICK_FULL_APM_FRAMES = 2000, 200
FULL_APM_OPTIONS = {
    "echo_cancellation": True,
    "noise_suppression": True,
    "high_pass_filter": True,
    "auto_gain_control": True,
}
#: Cost by signal phase (speech, silence after speech, low-level noise; the far end silent).
PHASE_CONFIGS = {"AEC": {"echo_cancellation": True}, "all four": FULL_APM_OPTIONS}

#: Targets from issue 5 ("Quality bar").
TARGET_ERLE_DB = 35.0
TARGET_T20_S = 1.0
TARGET_DT_PESQ = 2.5
TARGET_NE_PESQ = 4.3
TARGET_SAT_ERLE_DB = 25.0
TARGET_RECONVERGE_S = 1.0
TARGET_FULL_US = 70.0
#: Issue 14 tightened issue 5's 0.5x.
TARGET_FULL_RATIO = 0.4


@dataclass(frozen=True)
class ScenarioSpec:
    key: str
    label: str
    seconds: float
    #: (start s, end s) of the windows the metrics use; see build_scenario.
    windows: dict[str, tuple[float, float]]
    far: bool = True
    near_dt: bool = False
    saturate: bool = False
    change_at_s: float | None = None
    hint_offset_ms: int = 0


SCENARIOS: tuple[ScenarioSpec, ...] = (
    ScenarioSpec(
        "main",
        "main",
        20.0,
        {
            "converge": (0.0, 10.0),
            "steady": (5.0, 10.0),
            "dt": (10.0, 16.0),
            "post_dt": (17.0, 20.0),
        },
        near_dt=True,
    ),
    ScenarioSpec(
        "wrong_hint",
        f"wrong hint (+{WRONG_HINT_OFFSET_MS} ms)",
        20.0,
        {
            "converge": (0.0, 10.0),
            "steady": (5.0, 10.0),
            "dt": (10.0, 16.0),
            "post_dt": (17.0, 20.0),
        },
        near_dt=True,
        hint_offset_ms=WRONG_HINT_OFFSET_MS,
    ),
    ScenarioSpec(
        "saturation",
        "saturation",
        12.0,
        {"converge": (0.0, 12.0), "steady": (6.0, 12.0)},
        saturate=True,
    ),
    ScenarioSpec(
        "path_change",
        "path change",
        20.0,
        {
            "converge": (0.0, 10.0),
            "steady": (5.0, 10.0),
            "reconverge": (10.0, 20.0),
            "steady_after": (15.0, 20.0),
        },
        change_at_s=10.0,
    ),
    ScenarioSpec("near_only", "near-end only", NEAR_ONLY_S, {}, far=False),
)
SCENARIO_BY_KEY = {s.key: s for s in SCENARIOS}


# =========================================================================== signals


def speech_available() -> str | None:
    """None when both speech files are readable and long enough, else the reason."""
    return speech_problem({FAR_FILE: 20.0, NEAR_FILE: CALIB_START_S + CALIB_S})


def echo_of(played: np.ndarray, room: dict[str, Any]) -> np.ndarray:
    """``played`` through ``room`` (bulk delay + its seeded room response), same length,
    unscaled."""
    response = room_response(room["rt60_s"], np.random.default_rng([SEED, 7, room["seed"]]), DRR_DB)
    return echo_path(played, response, room["delay_ms"])


def mic_noise(n: int, rate: int, salt: int) -> np.ndarray:
    """White microphone noise at NOISE_DBFS, made at ``rate``, seeded by ``salt`` and rate."""
    return white_noise(n, np.random.default_rng([SEED, 11, salt, rate]), NOISE_DBFS)


@dataclass
class Scenario:
    """One test signal at ``rate``: what the contenders get and what the metrics need."""

    spec: ScenarioSpec
    rate: int
    far: np.ndarray  # int16 at rate: the render reference (what process_reverse_stream gets)
    mic: np.ndarray  # int16 at rate: echo + near end + noise (what process_stream gets)
    echo: np.ndarray  # float64 at rate: the echo component of mic
    noise: np.ndarray  # float64 at rate: the noise component of mic
    near16: np.ndarray  # float64 at 16 kHz: the clean near-end component (zeros without one)
    mic16: np.ndarray  # float64 at 16 kHz: mic brought back to 16 kHz
    hint_ms: int | None
    true_delay_ms: list[int]
    facts: dict[str, Any] = field(default_factory=dict)


@functools.cache
def _base_signals(key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """(far reference, echo, clean near end), float64 at 16 kHz, and facts, for scenario ``key``."""
    spec = SCENARIO_BY_KEY[key]
    n = int(spec.seconds * METRIC_RATE)
    facts: dict[str, Any] = {}
    if not spec.far:
        far = np.zeros(n)
        echo = np.zeros(n)
    else:
        far = excerpt(FAR_FILE, 0.0, spec.seconds)
        far *= gain_to(far, FAR_LEVEL_DBFS)
        played = far
        if spec.saturate:
            played, nl_db = soft_clip(far, SATURATION_KNEE_DB)
            facts["loudspeaker_nonlinear_db"] = nl_db
        echo = echo_of(played, ROOM_A)
        echo *= gain_to(echo, ECHO_LEVEL_DBFS)
        if spec.change_at_s is not None:
            echo_b = echo_of(played, ROOM_B)
            echo_b *= gain_to(echo_b, ECHO_LEVEL_DBFS)
            k = int(spec.change_at_s * METRIC_RATE)
            echo = np.concatenate([echo[:k], echo_b[k:]])
    near = np.zeros(n)
    if spec.near_dt:
        a, b = (int(t * METRIC_RATE) for t in spec.windows["dt"])
        seg = excerpt(NEAR_FILE, NEAR_DT_START_S, (b - a) / METRIC_RATE)
        echo_level = active_level_dbfs(echo[a:b], METRIC_RATE)
        near[a:b] = seg * gain_to(seg, echo_level + NEAR_TO_ECHO_DB)
        facts["dt_echo_level_dbfs"] = echo_level
    elif not spec.far:
        near = excerpt(NEAR_FILE, NEAR_ONLY_START_S, spec.seconds)
        near *= gain_to(near, NEAR_ONLY_LEVEL_DBFS)
    if spec.far:
        facts["echo_level_dbfs"] = active_level_dbfs(echo, METRIC_RATE)
    return far, echo, near, facts


def build_scenario(key: str, rate: int) -> Scenario:
    """Scenario ``key`` at ``rate``: built in float at 16 kHz, each component upsampled with
    la.resample, the noise made at ``rate``, mixed and rounded to int16 once."""
    spec = SCENARIO_BY_KEY[key]
    far16, echo16, near16, facts = _base_signals(key)
    far = to_int16(to_rate(far16, rate))
    echo = to_rate(echo16, rate)
    near = to_rate(near16, rate)
    noise = mic_noise(len(echo), rate, SCENARIOS.index(spec))
    mic = to_int16(echo + near + noise)
    delays = [ROOM_A["delay_ms"]] if spec.far else []
    if spec.change_at_s is not None:
        delays.append(ROOM_B["delay_ms"])
    hint = ROOM_A["delay_ms"] + spec.hint_offset_ms if spec.far else None
    return Scenario(
        spec, rate, far, mic, echo, noise, near16, to_16k(mic, rate), hint, delays, dict(facts)
    )


def calibration_probe(rate: int) -> tuple[np.ndarray, dict[str, Any]]:
    """The alignment probe at ``rate``: mic = 3 s of the near-end talker + noise (int16), and
    the far end, digital silence, as the keyword argument of ``Contender.process``.

    With it ``_peers.calibrate_delays`` finds how far each contender's output lags its input:
    ours ``apm.delay_samples``, the peers the GCC-PHAT lag (±50 ms). Doubles as each
    contender's warm-up at that rate.
    """
    near = excerpt(NEAR_FILE, CALIB_START_S, CALIB_S)
    near *= gain_to(near, NEAR_ONLY_LEVEL_DBFS)
    near = to_rate(near, rate)
    mic = to_int16(near + mic_noise(len(near), rate, 99))
    return mic, {"far": np.zeros_like(mic)}


# =========================================================================== contenders


def _probe_smoke(c: Contender) -> None:
    """One second of far-end noise and its attenuated copy in the mic, at each rate."""
    rng = np.random.default_rng(SEED)
    for rate in RATES:
        far = to_int16(rng.standard_normal(rate) * 1000.0)
        mic = to_int16(np.concatenate([np.zeros(rate // 50), far[: -rate // 50] * 0.3]))
        r = c.process(mic, rate, far=far, hint_ms=20)
        if len(r.out) != len(mic):
            raise RuntimeError(f"{c.key}: {len(r.out)} output samples for {len(mic)} in")


def ours_contender() -> tuple[list[Contender], dict[str, str]]:
    """Ours, or why not: "not available yet" while echo_cancellation=True raises."""
    try:
        la.AudioProcessingModule(echo_cancellation=True)
    except NotImplementedError as exc:
        return [], {"ours": f"not available yet ({error_text(exc)})"}
    except Exception as exc:  # noqa: BLE001 - reported, never fatal
        return [], {"ours": f"unavailable ({error_text(exc)})"}
    spec = [
        (
            "ours",
            lambda: Contender(
                "ours",
                "ours",
                "ours",
                ours_processor(echo_cancellation=True),
                "AudioProcessingModule(echo_cancellation=True), library defaults, no other stage; "
                "output advanced by apm.delay_samples",
            ),
        )
    ]
    return load_peers(spec, _probe_smoke)


def peer_contenders() -> tuple[list[Contender], dict[str, str]]:
    specs: list[tuple[str, Callable[[], Contender]]] = [
        (
            "livekit",
            lambda: Contender(
                "livekit",
                "livekit",
                "webrtc",
                livekit_processor(echo_cancellation=True),
                "rtc.AudioProcessingModule(echo_cancellation=True) (WebRTC AEC3 via the SDK's "
                "FFI); set_stream_delay_ms(hint) once before the first frame",
            ),
        ),
        (
            "pywebrtc-audio",
            lambda: Contender(
                "pywebrtc",
                "pywebrtc-audio",
                "webrtc",
                pywebrtc_aec_processor(),
                "EchoCanceller(rate, 1, stream_delay_ms=hint) (WebRTC AEC3 + its HPF), "
                "process(near, far) per 10 ms",
            ),
        ),
        (
            "aec-audio-processing",
            lambda: Contender(
                "aecap",
                "aec-audio-proc",
                "webrtc",
                aecap_processor(),
                "AudioProcessor(enable_aec=True, enable_ns=False, enable_agc=False) (WebRTC "
                "APM, AEC3), set_stream_delay(hint) once",
            ),
        ),
        (
            "speexdsp",
            lambda: Contender(
                "speex",
                "speex",
                "speex",
                speex_aec_processor(SPEEX_FILTER_MS),
                f"EchoCanceller.create(10 ms, {SPEEX_FILTER_MS} ms filter, rate) (Speex MDF, "
                "linear only; the binding skips Speex's residual echo suppressor); no delay "
                "hint API",
                has_hint=False,
            ),
        ),
    ]
    return load_peers(specs, _probe_smoke)


# =========================================================================== metrics


def _seg(x: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    return x[int(window[0] * METRIC_RATE) : int(window[1] * METRIC_RATE)]


def score(sc: Scenario, out: np.ndarray | None, out16: np.ndarray | None) -> dict[str, Any]:
    """Every metric of scenario ``sc`` for one aligned output (``out`` at the scenario's rate,
    ``out16`` the same at 16 kHz). ``out`` None scores the ideal canceller (echo removed,
    noise and near end kept) and records the unprocessed microphone's figures."""
    spec, w = sc.spec, sc.spec.windows
    m: dict[str, Any] = {}
    if spec.far:
        ideal = out is None
        tr = erle_track(sc.echo, sc.noise if ideal else out, sc.rate, sc.facts["echo_level_dbfs"])
        m["erle_db"] = erle_median(tr, w["steady"])
        if not ideal:
            m["t10_s"] = time_to(tr, w["converge"], 10.0)
            m["t20_s"] = time_to(tr, w["converge"], 20.0)
        if "post_dt" in w:
            m["post_dt_erle_db"] = erle_median(tr, w["post_dt"])
        if "reconverge" in w:
            m["erle_after_db"] = erle_median(tr, w["steady_after"])
            if not ideal:
                m["t10_after_s"] = time_to(tr, w["reconverge"], 10.0)
                m["t20_after_s"] = time_to(tr, w["reconverge"], 20.0)
    if spec.near_dt:
        ref = _seg(sc.near16, w["dt"])
        if out16 is None:  # the microphone itself, and the ideal output
            ideal16 = sc.near16 + to_16k(sc.noise, sc.rate)[: len(sc.near16)]
            m["dt_pesq"] = pesq_wb(ref, _seg(ideal16, w["dt"]))
            m["dt_si_sdr_db"] = si_sdr(ref, _seg(ideal16, w["dt"]))
            m["mic_dt_pesq"] = pesq_wb(ref, _seg(sc.mic16, w["dt"]))
            m["mic_dt_si_sdr_db"] = si_sdr(ref, _seg(sc.mic16, w["dt"]))
        else:
            m["dt_pesq"] = pesq_wb(ref, _seg(out16, w["dt"]))
            m["dt_si_sdr_db"] = si_sdr(ref, _seg(out16, w["dt"]))
    if not spec.far:
        e = METRIC_RATE * EDGE_MS // 1000
        ref = sc.mic16[e:-e]
        if out16 is None:
            m["ne_pesq"] = pesq_wb(ref, ref)
        else:
            m["ne_pesq"] = pesq_wb(ref, out16[e:-e])
            m["ne_si_sdr_db"] = si_sdr(ref, out16[e:-e])
    return m


# =========================================================================== runs


def run_scenario(
    sc: Scenario,
    contenders: Sequence[Contender],
    delays: dict[str, Any],
    repeats: int,
    rng: random.Random,
) -> dict[str, Any]:
    """Every contender on ``sc`` (``repeats`` interleaved timed runs; the first is scored)."""
    runs = interleaved_runs(
        contenders, repeats, rng, sc.mic, sc.rate, far=sc.far, hint_ms=sc.hint_ms
    )
    base = score(sc, None, None)
    res: dict[str, Any] = {
        "ideal": {k: v for k, v in base.items() if not k.startswith("mic_")},
        "mic": {k[4:]: v for k, v in base.items() if k.startswith("mic_")},
    }
    n = len(sc.mic)
    for c in contenders:
        first = runs[c.key][0]
        y = align(first.out, delays[c.key]["samples"], n)
        m = score(sc, y, to_16k(y, sc.rate)[: int(sc.spec.seconds * METRIC_RATE)])
        us = [r.us_per_frame for r in runs[c.key]]
        m.update(us_per_frame=statistics.median(us), us_samples=us, stats=first.stats)
        if sc.spec.hint_offset_ms and not c.has_hint:
            m["note"] = "no delay hint API: same input as main"
        res[c.key] = m
    return res


def _loaded_contenders() -> tuple[list[Contender], dict[str, str], str]:
    ours, missing = ours_contender()
    ours_status = "available" if ours else missing.get("ours", "unavailable")
    peers, miss = peer_contenders()
    missing.update(miss)
    return [*ours, *peers], missing, ours_status


def run_full_apm(
    frames: int, repeats: int, rng: random.Random, have_speech: bool
) -> dict[str, Any]:
    """AEC + NS + HPF + AGC at 48 kHz mono on the main scenario's first ``frames`` frames:
    µs per 10 ms frame, render + capture, median of ``repeats`` interleaved runs."""
    rate = 48000
    n = frames * hop(rate)
    if have_speech:
        sc = build_scenario("main", rate)
        far, mic, hint = sc.far, sc.mic, sc.hint_ms
    else:
        rng_np = np.random.default_rng(SEED)
        far = to_int16(rng_np.standard_normal(n) * 1000.0)
        mic = to_int16(np.roll(far, rate // 10) * 0.3 + rng_np.standard_normal(len(far)) * 10.0)
        hint = 100
    far, mic = np.resize(far, n), np.resize(mic, n)
    missing: dict[str, str] = {}
    contenders: list[Contender] = []
    try:
        la.AudioProcessingModule(**FULL_APM_OPTIONS)
    except NotImplementedError as exc:
        missing["ours"] = f"not available yet ({error_text(exc)})"
    except Exception as exc:  # noqa: BLE001
        missing["ours"] = f"unavailable ({error_text(exc)})"
    else:
        c, m = load_peers(
            [
                (
                    "ours",
                    lambda: Contender("ours", "ours", "ours", ours_processor(**FULL_APM_OPTIONS)),
                )
            ],
            _probe_smoke,
        )
        contenders += c
        missing.update(m)
    specs = [
        (
            "livekit",
            lambda: Contender(
                "livekit",
                "livekit",
                "webrtc",
                livekit_processor(**FULL_APM_OPTIONS),
                "rtc.AudioProcessingModule(all four)",
            ),
        ),
        (
            "pywebrtc-audio",
            lambda: Contender(
                "pywebrtc",
                "pywebrtc-audio",
                "webrtc",
                pywebrtc_apm_processor(**FULL_APM_OPTIONS),
                "AudioProcessor(all four)",
            ),
        ),
        (
            "aec-audio-processing",
            lambda: Contender(
                "aecap",
                "aec-audio-proc",
                "webrtc",
                aecap_processor(enable_ns=True, enable_agc=True),
                "AudioProcessor(aec, ns, agc=AGC1 adaptive digital); no HPF option",
            ),
        ),
    ]
    peers, m = load_peers(specs, _probe_smoke)
    contenders += peers
    missing.update(m)
    progress("full APM 48 kHz ...")
    res = time_contenders(contenders, mic, rate, repeats, rng, far=far, hint_ms=hint)
    ours_us = res.get("ours", {}).get("us_per_frame")
    lk_us = res.get("livekit", {}).get("us_per_frame")
    return {
        "rate": rate,
        "frames": frames,
        "labels": {c.key: c.label for c in contenders},
        "notes": {c.key: c.note for c in contenders},
        "results": res,
        "ours_over_livekit": ratio(ours_us, lk_us),
        "missing": missing,
    }


# =========================================================================== report


def _t(x: float | None, limit: float | None = None) -> str:
    """A convergence time cell: seconds, or "never" (not reached and held in its window)."""
    if x is None:
        return "never" if limit is None else f">{limit:g}"
    return f"{x:.2f}"


COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    # (header, scenario, metric, kind)
    ("ERLE", "main", "erle_db", "db"),
    ("t10 s", "main", "t10_s", "t"),
    ("t20 s", "main", "t20_s", "t"),
    ("ERLE post-DT", "main", "post_dt_erle_db", "db"),
    ("DT PESQ", "main", "dt_pesq", "pesq"),
    ("DT SI-SDR", "main", "dt_si_sdr_db", "db"),
    ("NE PESQ", "near_only", "ne_pesq", "pesq"),
    ("sat ERLE", "saturation", "erle_db", "db"),
    ("sat t20", "saturation", "t20_s", "t"),
    ("chg ERLE", "path_change", "erle_after_db", "db"),
    ("chg t20", "path_change", "t20_after_s", "t"),
    ("hint ERLE", "wrong_hint", "erle_db", "db"),
    ("hint t20", "wrong_hint", "t20_s", "t"),
    ("hint DT PESQ", "wrong_hint", "dt_pesq", "pesq"),
    ("µs/frame", "main", "us_per_frame", "us"),
)


def _cell(v: Any, kind: str) -> str:
    if kind == "t":
        return _t(v)
    if kind == "pesq":
        return num(v, 2)
    if kind == "us":
        return num(v, 1)
    return num(v, 1)


def rate_table(rr: dict[str, Any], keys: Sequence[str], labels: dict[str, str]) -> list[str]:
    """One row per contender (after the unprocessed mic and the ideal canceller), one column
    per COLUMNS entry whose scenario ran."""
    cols = [c for c in COLUMNS if c[1] in rr]
    rows = []
    for key, label in (
        ("mic", "mic (no AEC)"),
        ("ideal", "ideal"),
        *((k, labels[k]) for k in keys),
    ):
        cells = [label]
        for _, scen, metric, kind in cols:
            entry = rr[scen].get(key, {})
            if key in ("mic", "ideal") and metric not in entry:
                cells.append("")
            else:
                cells.append(_cell(entry.get(metric), kind))
        rows.append(cells)
    return format_table(["contender", *(c[0] for c in cols)], rows)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 5's bar for ours, PASS/MISS per rate, with the peers that meet each one."""

    def get(m: dict[str, Any], scen: str, metric: str) -> Any:
        return m.get(scen, {}).get(metric)

    def ge(scen: str, metric: str, bar: float) -> Callable[[dict[str, Any]], bool | None]:
        def f(m: dict[str, Any]) -> bool | None:
            v = get(m, scen, metric)
            return None if v is None else v >= bar

        return f

    def le_t(scen: str, metric: str, bar: float) -> Callable[[dict[str, Any]], bool | None]:
        def f(m: dict[str, Any]) -> bool | None:
            if scen not in m or not m[scen]:
                return None
            v = get(m, scen, metric)
            return False if v is None else v <= bar

        return f

    quality = [
        (
            f"single-talk ERLE >= {TARGET_ERLE_DB:g} dB (main)",
            "main",
            "erle_db",
            "db",
            ge("main", "erle_db", TARGET_ERLE_DB),
        ),
        (
            f"20 dB within {TARGET_T20_S:g} s (main)",
            "main",
            "t20_s",
            "t",
            le_t("main", "t20_s", TARGET_T20_S),
        ),
        (
            f"double-talk PESQ >= {TARGET_DT_PESQ:g}",
            "main",
            "dt_pesq",
            "pesq",
            ge("main", "dt_pesq", TARGET_DT_PESQ),
        ),
        (
            f"near-end-only PESQ >= {TARGET_NE_PESQ:g}",
            "near_only",
            "ne_pesq",
            "pesq",
            ge("near_only", "ne_pesq", TARGET_NE_PESQ),
        ),
        (
            f"ERLE >= {TARGET_SAT_ERLE_DB:g} dB with saturation",
            "saturation",
            "erle_db",
            "db",
            ge("saturation", "erle_db", TARGET_SAT_ERLE_DB),
        ),
        (
            f"re-convergence (20 dB) within {TARGET_RECONVERGE_S:g} s after a path change",
            "path_change",
            "t20_after_s",
            "t",
            le_t("path_change", "t20_after_s", TARGET_RECONVERGE_S),
        ),
    ]
    ours_ok = "ours" in results["contenders"]
    out: list[dict[str, Any]] = []
    for name, scen, metric, kind, check in quality:
        for rate, rr in results["rates"].items():
            if scen not in rr:
                continue
            if ours_ok:
                m = {s: rr[s].get("ours", {}) for s in rr}
                ok = check(m)
                measured = _cell(get(m, scen, metric), kind)
                if kind == "db" and measured != "-":
                    measured += " dB"
                elif kind == "t":
                    measured = measured if measured == "never" else measured + " s"
            else:
                ok, measured = None, "ours not available"
            peers = [
                results["labels"][k]
                for k in results["contenders"]
                if k != "ours" and check({s: rr[s].get(k, {}) for s in rr})
            ]
            out.append(
                {
                    "name": f"{name}, {int(rate) // 1000} kHz",
                    "measured": measured,
                    "ok": ok,
                    "peers_meeting": peers,
                }
            )
    full = results.get("full_apm")
    if full:
        ours_us = full["results"].get("ours", {}).get("us_per_frame")
        out.append(
            {
                "name": (
                    f"full APM (AEC+NS+HPF+AGC) 48 kHz <= {TARGET_FULL_US:g} µs/frame incl. render"
                ),
                "measured": "ours not available" if ours_us is None else f"{ours_us:.1f} µs",
                "ok": None if ours_us is None else ours_us <= TARGET_FULL_US,
                "peers_meeting": [
                    full["labels"][k]
                    for k, v in full["results"].items()
                    if k != "ours" and v["us_per_frame"] <= TARGET_FULL_US
                ],
            }
        )
        r = full["ours_over_livekit"]
        lk = full["results"].get("livekit", {}).get("us_per_frame")
        out.append(
            {
                "name": f"full APM 48 kHz <= {TARGET_FULL_RATIO:g}x livekit's time (same run)",
                "measured": (
                    "ours not available"
                    if ours_us is None
                    else "livekit missing"
                    if r is None
                    else f"{r:.2f}x ({ours_us:.1f} / {lk:.1f} µs)"
                ),
                "ok": None if r is None else r <= TARGET_FULL_RATIO,
                "peers_meeting": [
                    full["labels"][k]
                    for k, v in full["results"].items()
                    if k not in ("ours", "livekit")
                    and lk
                    and v["us_per_frame"] <= TARGET_FULL_RATIO * lk
                ],
            }
        )
    return out


def report(results: dict[str, Any], info: dict[str, Any]) -> list[str]:
    cfg = results["config"]
    out = [
        "livekit_audio AEC benchmark (echo cancellation quality and cost)",
        *machine_summary(info),
    ]
    out.append("peers       " + ", ".join(f"{k} {v}" for k, v in results["peer_versions"].items()))
    out.append(f"ours        {results['ours_status']}")
    out += peer_missing_lines(
        {k: v for k, v in results["missing_peers"].items() if k != "ours"}, "skipped"
    )
    if results.get("skipped"):
        out.append(f"quality sections skipped: {results['skipped']}")
    if results.get("pesq_missing"):
        out.append(f"metric missing: {results['pesq_missing']}")
    if cfg["quick"]:
        out.append(
            "QUICK run: 16 kHz, main scenario only, 1 timed run; figures are indicative only"
        )
    labels = results["labels"]
    keys = list(results["contenders"])
    if results.get("rates"):
        out += [
            "",
            f"far end     {FAR_FILE} 0-20 s at {FAR_LEVEL_DBFS:g} dBFS active level (the render "
            "reference)",
            (
                f"room        A: bulk delay {ROOM_A['delay_ms']} ms + random response RT60 "
                f"{ROOM_A['rt60_s']:g} s; B (after the change): {ROOM_B['delay_ms']} ms, RT60 "
                f"{ROOM_B['rt60_s']:g} s; direct/reverberant {DRR_DB:g} dB; echo at "
                f"{ECHO_LEVEL_DBFS:g} dBFS active level"
            ),
            (
                f"near end    {NEAR_FILE} from {NEAR_DT_START_S:g} s in double talk 10-16 s at "
                f"{NEAR_TO_ECHO_DB:g} dB near-to-echo; near-end only: {NEAR_ONLY_S:g} s at "
                f"{NEAR_ONLY_LEVEL_DBFS:g} dBFS from {NEAR_ONLY_START_S:g} s; mic noise white "
                f"{NOISE_DBFS:g} dBFS"
            ),
            (
                f"hint        set_stream_delay_ms({ROOM_A['delay_ms']}) (the true bulk delay); "
                "wrong "
                f"hint: {ROOM_A['delay_ms'] + WRONG_HINT_OFFSET_MS}"
            ),
        ]
        sat = results.get("facts", {}).get("saturation", {})
        if "loudspeaker_nonlinear_db" in sat:
            out.append(
                f"saturation  y = c·tanh(x/c), c {SATURATION_KNEE_DB:g} dB above the far "
                f"end's active level: non-linear part {sat['loudspeaker_nonlinear_db']:.1f} "
                "dB re the loudspeaker output"
            )
        out.append("contenders")
        out += [f"  {labels[k]}: {results['notes'][k]}" for k in keys]
        out.append(
            "alignment   ours: apm.delay_samples; peers: GCC-PHAT lag on a near-end-only "
            "probe (ms): "
            + "; ".join(
                f"{int(r) // 1000} kHz "
                + ", ".join(f"{labels[k]} {v['ms']:.1f}" for k, v in d.items())
                for r, d in results["delays"].items()
            )
        )
        for rate, rr in results["rates"].items():
            ceil = ", ".join(
                f"{SCENARIO_BY_KEY[s].label} {num(rr[s]['ideal'].get('erle_db'), 1)}"
                for s in rr
                if SCENARIO_BY_KEY[s].far
            )
            out += [
                "",
                f"AEC only at {int(rate) // 1000} kHz (metrics at 16 kHz; ERLE on the signals at "
                f"{int(rate) // 1000} kHz)",
                *rate_table(rr, keys, labels),
                f"ideal ERLE (echo removed, -70 dBFS noise kept): {ceil} dB",
            ]
            if "ours" in keys:
                parts = []
                for s in rr:
                    st = rr[s].get("ours", {}).get("stats") or {}
                    if st.get("echo_delay_ms") is not None or st.get("erle_db") is not None:
                        parts.append(
                            f"{SCENARIO_BY_KEY[s].label}: delay "
                            f"{num(st.get('echo_delay_ms'), 1)} ms, "
                            f"ERLE {num(st.get('erle_db'), 1)} dB"
                        )
                if parts:
                    out.append(
                        "ours' stats at the end (true delay "
                        f"{ROOM_A['delay_ms']} ms, {ROOM_B['delay_ms']} after the change): "
                        + "; ".join(parts)
                    )
        out += [
            "",
            (
                f"ERLE = median over far-end-active {ANALYSIS_MS} ms frames (echo within "
                f"{ACTIVE_BELOW_DB:g} dB of its active level) of echo power at the mic / output "
                "power, over 5-10 s (saturation: 6-12 s; chg: 15-20 s, after the change at 10 s; "
                "post-DT: 17-20 s); tNN = s from the first active frame (chg: the first after the "
                f"change) until ERLE smoothed over {SMOOTH_S:g} s windows reaches NN dB and holds "
                f"it {HOLD_S:g} s "
                "(never: not within the segment); DT PESQ / SI-SDR: PESQ-WB / SI-SDR (dB) of the "
                "output against the clean near end over the 6 s of double talk; NE PESQ: near-end "
                "only, output against input; hint: the wrong-hint scenario; µs/frame: render + "
                "capture per 10 ms frame, main scenario, median of repeats."
            ),
            "ideal = the microphone minus its echo: its ERLE is the most a canceller that keeps "
            "the noise can show; a contender that also suppresses the noise (WebRTC's residual "
            "echo suppressor) can exceed it.",
        ]
        no_hint = [labels[k] for k in keys if not results["has_hint"].get(k, True)]
        if no_hint and any("wrong_hint" in rr for rr in results["rates"].values()):
            out.append(f"{', '.join(no_hint)}: no delay hint API, so 'hint' repeats main's input.")
    full = results.get("full_apm")
    if full:
        lab = full["labels"]
        out += [
            "",
            (
                f"Full APM (AEC + NS + HPF + AGC) at 48 kHz mono: µs per 10 ms frame, render + "
                f"capture, {full['frames']} frames of the main scenario, median of repeats"
            ),
            *format_table(
                ["contender", "µs/frame", "note"],
                [
                    [lab[k], num(v["us_per_frame"], 1), full["notes"].get(k, "")]
                    for k, v in full["results"].items()
                ],
            ),
            f"ours/livekit = {num(full['ours_over_livekit'], 2)} (target <= {TARGET_FULL_RATIO:g})",
        ]
        if "ours" in full["missing"]:
            out.append(f"ours: {full['missing']['ours']}")
        out += peer_missing_lines(
            {k: v for k, v in full["missing"].items() if k != "ours"}, "not timed"
        )
    if results.get("phases"):
        out += ["", *phase_table(results["phases"])]
    tg = results.get("targets") or []
    if tg:
        out += [
            "",
            "Targets (issue 5), judged on ours; 'peers meeting it' for context",
            *format_table(
                ["target", "ours", "verdict", "peers meeting it"],
                [
                    [
                        t["name"],
                        t["measured"],
                        verdict(t["ok"]),
                        ", ".join(t["peers_meeting"]) or "none",
                    ]
                    for t in tg
                ],
            ),
        ]
    return out


# =========================================================================== main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = bench_parser(
        __doc__,
        "smoke-test size: 16 kHz, main scenario only (20 s of audio), 1 timed run; short "
        "full-APM timing",
        plot_help="the main scenario's ERLE, double-talk PESQ and cost per rate, and the "
        "full-APM cost",
    )
    p.add_argument(
        "--repeats",
        type=positive_int,
        metavar="R",
        help=f"timed runs per contender, median reported (default {DEFAULT_REPEATS}; "
        f"--quick: {QUICK_REPEATS})",
    )
    args = p.parse_args(argv)
    if args.repeats is None:
        args.repeats = QUICK_REPEATS if args.quick else DEFAULT_REPEATS
    return args


PEER_DISTRIBUTIONS = ("pesq", "livekit", "pywebrtc-audio", "aec-audio-processing", "speexdsp")


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(SEED)
    quick = args.quick
    rates = [16000] if quick else list(RATES)
    scen_keys = ["main"] if quick else [s.key for s in SCENARIOS]
    skipped = speech_available()
    try:
        import pesq  # noqa: F401
    except ImportError as exc:
        pesq_missing: str | None = f"pesq: {exc}; PESQ cells are '-' (pip install pesq)"
    else:
        pesq_missing = None
    results: dict[str, Any] = {
        "config": {
            "quick": quick,
            "repeats": args.repeats,
            "seed": SEED,
            "rates": rates,
            "scenarios": scen_keys,
            "far_file": FAR_FILE,
            "near_file": NEAR_FILE,
            "far_level_dbfs": FAR_LEVEL_DBFS,
            "echo_level_dbfs": ECHO_LEVEL_DBFS,
            "noise_dbfs": NOISE_DBFS,
            "near_to_echo_db": NEAR_TO_ECHO_DB,
            "rooms": {"A": ROOM_A, "B": ROOM_B, "drr_db": DRR_DB},
            "wrong_hint_offset_ms": WRONG_HINT_OFFSET_MS,
            "saturation_knee_db": SATURATION_KNEE_DB,
            "speex_filter_ms": SPEEX_FILTER_MS,
            "erle_frame_ms": ANALYSIS_MS,
            "smooth_s": SMOOTH_S,
            "hold_s": HOLD_S,
            "active_below_db": ACTIVE_BELOW_DB,
            "windows": {s.key: s.windows for s in SCENARIOS if s.key in scen_keys},
        },
        "peer_versions": package_versions(PEER_DISTRIBUTIONS),
        "skipped": skipped,
        "pesq_missing": pesq_missing,
    }
    progress("loading contenders ...")
    contenders, missing, ours_status = _loaded_contenders()
    results.update(
        missing_peers=missing,
        ours_status=ours_status,
        contenders={c.key: {"label": c.label, "family": c.family} for c in contenders},
        labels={c.key: c.label for c in contenders},
        notes={c.key: c.note for c in contenders},
        has_hint={c.key: c.has_hint for c in contenders},
        rates={},
        facts={},
    )
    if skipped is None and contenders:
        progress("calibrating delays ...")
        delays = calibrate_delays(contenders, rates, calibration_probe)
        results["delays"] = delays
        for rate in rates:
            rr: dict[str, Any] = {}
            for key in scen_keys:
                progress(f"{key} {rate // 1000} kHz ...")
                sc = build_scenario(key, rate)
                results["facts"][key] = sc.facts
                reps = args.repeats if key == "main" else 1
                rr[key] = run_scenario(sc, contenders, delays[rate], reps, rng)
            results["rates"][rate] = rr
    frames = QUICK_FULL_APM_FRAMES if quick else FULL_APM_FRAMES
    results["full_apm"] = run_full_apm(
        frames, args.repeats if not quick else 3, rng, skipped is None
    )
    results["phases"] = run_phases(
        (16000,) if quick else RATES, args.repeats, rng, quick=quick, configs=PHASE_CONFIGS
    )
    results["phases"].pop("curves_us")
    results["targets"] = targets(results)
    return results


def plot(results: dict[str, Any], path: Path) -> None:
    """The main scenario's columns of the AEC-only table as bars (a bar per rate), with the
    targets, and the full-APM cost at 48 kHz."""
    labels = {"mic": "mic (no AEC)", "ideal": "ideal", **results["labels"]}
    keys = list(results["contenders"])
    mains = {f"{int(r) // 1000} kHz": rr["main"] for r, rr in results["rates"].items()}
    panels = [
        Panel(
            title,
            [labels[k] for k in shown],
            {rate: [m.get(k, {}).get(metric) for k in shown] for rate, m in mains.items()},
            ylabel,
            lines=lines,
        )
        for title, metric, ylabel, shown, lines in (
            (
                "Single-talk ERLE, 5-10 s (higher is better)",
                "erle_db",
                "dB",
                ["ideal", *keys],
                {"target": TARGET_ERLE_DB},
            ),
            (
                "Double-talk PESQ-WB against the near end (higher is better)",
                "dt_pesq",
                "PESQ-WB",
                ["mic", "ideal", *keys],
                {"target": TARGET_DT_PESQ},
            ),
            ("Render + capture per 10 ms frame (lower is better)", "us_per_frame", "µs", keys, {}),
        )
        if mains
    ]
    panels.append(
        cost_panel(
            "Full APM (AEC + NS + HPF + AGC) at 48 kHz (lower is better)",
            results["full_apm"],
            {"target": TARGET_FULL_US},
        )
    )
    bar_chart(path, "livekit_audio AEC benchmark, main scenario", panels, columns=2)


def main(argv: Sequence[str] | None = None) -> int:
    return bench_main(parse_args(argv), run, report, to_json=jsonable, plot=plot)


if __name__ == "__main__":
    sys.exit(main())
