"""AEC benchmark: echo cancellation quality (ERLE, convergence, double talk) and cost.

    python benchmarks/bench_aec.py [--quick] [--json PATH] [--repeats R]

Measures, on this machine and in this process, ``livekit_audio.AudioProcessingModule(
echo_cancellation=True)`` against the echo cancellers that install (livekit's WebRTC APM,
pywebrtc-audio's AEC3, aec-audio-processing's WebRTC APM, speexdsp's MDF), on seeded
simulated rooms: far-end speech (an Allison prompt from ``../shared/data/speech/``) through a
bulk delay and an exponentially decaying random room response, the echo at -30 dBFS at the
microphone, a near-end talker (codec2 "david", upsampled) in a double-talk segment at 0 dB
near-to-echo ratio, and -70 dBFS white microphone noise. Scenarios, at 16 and 48 kHz:

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
import math
import random
import statistics
import sys
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from _common import (
    SPEECH_DIR,
    bench_main,
    bench_parser,
    error_text,
    format_table,
    interleaved,
    jsonable,
    load_peers,
    num,
    package_versions,
    peer_missing_lines,
    positive_int,
    progress,
    ratio,
    read_wav,
    verdict,
    wall_seconds,
)
from _machine import machine_summary
from _phases import phase_table, run_phases
from bench_apm_quality import active_level_dbfs, align, gcc_phat_delay, si_sdr, to_int16

import livekit_audio as la

SEED = 20261205
BASE_RATE = 16000  # the speech files' rate: scenarios are built here, metrics run here
RATES = (16000, 48000)
FRAME_MS = 10
#: ERLE is computed on frames of this length.
ERLE_FRAME_MS = 20
#: Convergence is judged on ERLE smoothed over windows of this length (sliding by one frame).
SMOOTH_S = 0.5
#: A frame counts as far-end active when its echo power is within this of the echo's active level.
ACTIVE_BELOW_DB = 15.0
#: A smoothed window needs at least this many active frames to be judged.
MIN_ACTIVE_IN_WINDOW = 5
#: After reaching a level, ERLE must stay there this long to count as converged.
HOLD_S = 1.0
EDGE_MS = 50

FAR_FILE = "allison_demo-instruct_16k.wav"  # far end: 0-20 s
NEAR_FILE = "allison_priv-callee-options_16k.wav"  # near end: another recording (wideband)
NEAR_DT_START_S = 2.0  # the double-talk excerpt of NEAR_FILE
NEAR_ONLY_START_S, NEAR_ONLY_S = 12.0, 8.0  # the near-end-only excerpt
CALIB_START_S, CALIB_S = 22.0, 3.0  # the alignment probe excerpt

FAR_LEVEL_DBFS = -20.0  # active level of the far end as sent to the loudspeaker
ECHO_LEVEL_DBFS = -30.0  # active level of the echo at the microphone
NOISE_DBFS = -70.0  # white microphone noise (RMS re a full-scale square wave)
NEAR_TO_ECHO_DB = 0.0
NEAR_ONLY_LEVEL_DBFS = -30.0
FULL_SCALE = 32768.0

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
TARGET_FULL_RATIO = 0.5


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


@functools.cache
def speech_16k(name: str) -> np.ndarray:
    """A speech file as float64 at 16 kHz (int16 scale); other rates via la.resample."""
    x, rate = read_wav(SPEECH_DIR / name)
    if rate != BASE_RATE:
        x = la.resample(x, rate, BASE_RATE)
    return x.astype(np.float64)


def speech_available() -> str | None:
    """None when both speech files are readable and long enough, else the reason."""
    for name, need_s in ((FAR_FILE, 20.0), (NEAR_FILE, CALIB_START_S + CALIB_S)):
        try:
            x = speech_16k(name)
        except (OSError, ValueError, wave.Error, EOFError) as exc:
            return f"{SPEECH_DIR / name}: {exc}"
        if len(x) < need_s * BASE_RATE:
            return f"{SPEECH_DIR / name}: shorter than {need_s:g} s"
    return None


def _gain_to(x: np.ndarray, level_dbfs: float) -> float:
    return 10.0 ** ((level_dbfs - active_level_dbfs(x, BASE_RATE)) / 20.0)


def _excerpt(name: str, start_s: float, seconds: float) -> np.ndarray:
    a = int(start_s * BASE_RATE)
    return speech_16k(name)[a : a + int(seconds * BASE_RATE)].copy()


def room_response(rt60_s: float, seed: int) -> np.ndarray:
    """Seeded room impulse response at 16 kHz, without the bulk delay.

    A direct-path tap of 1, then reflections from 2 ms on: white Gaussian noise under an
    exponential envelope whose power falls 60 dB in ``rt60_s`` (amplitude 10^(-3 t / RT60)),
    scaled so the tail carries ``DRR_DB`` less energy than the direct path; ``rt60_s`` long.
    """
    n = int(rt60_s * BASE_RATE)
    rng = np.random.default_rng([SEED, 7, seed])
    t = np.arange(n) / BASE_RATE
    tail = rng.standard_normal(n) * 10.0 ** (-3.0 * t / rt60_s)
    tail[: int(0.002 * BASE_RATE)] = 0.0
    tail *= math.sqrt(10.0 ** (-DRR_DB / 10.0) / float(np.sum(tail * tail)))
    tail[0] = 1.0
    return tail


def echo_of(played: np.ndarray, room: dict[str, Any]) -> np.ndarray:
    """``played`` through ``room`` (bulk delay + room response), same length, unscaled."""
    h = room_response(room["rt60_s"], room["seed"])
    n = len(played)
    nfft = 1 << (n + len(h) - 1).bit_length()
    y = np.fft.irfft(np.fft.rfft(played, nfft) * np.fft.rfft(h, nfft), nfft)[:n]
    d = room["delay_ms"] * BASE_RATE // 1000
    return np.concatenate([np.zeros(d), y[: n - d]])


def loudspeaker(x: np.ndarray) -> tuple[np.ndarray, float]:
    """tanh saturation y = c·tanh(x/c); returns y and its non-linear part in dB re y.

    c sits ``SATURATION_KNEE_DB`` above the active level of ``x``; the non-linear part is
    what a least-squares gain of ``x`` leaves of ``y``.
    """
    c = FULL_SCALE * 10.0 ** ((active_level_dbfs(x, BASE_RATE) + SATURATION_KNEE_DB) / 20.0)
    y = c * np.tanh(x / c)
    g = float(np.dot(x, y) / np.dot(x, x))
    d = y - g * x
    return y, 10.0 * math.log10(float(np.dot(d, d)) / float(np.dot(y, y)))


def white_noise(n: int, rate: int, salt: int) -> np.ndarray:
    rng = np.random.default_rng([SEED, 11, salt, rate])
    return rng.standard_normal(n) * FULL_SCALE * 10.0 ** (NOISE_DBFS / 20.0)


def to_rate(x: np.ndarray, rate: int) -> np.ndarray:
    """float64 signal at 16 kHz to ``rate`` with la.resample (float32 path), as float64."""
    if rate == BASE_RATE:
        return np.asarray(x, dtype=np.float64)
    return la.resample(x.astype(np.float32), BASE_RATE, rate).astype(np.float64)


def to_16k(x: np.ndarray, rate: int) -> np.ndarray:
    """An int16-scale signal at ``rate`` back to 16 kHz (rounded to int16 first), float64."""
    if rate == BASE_RATE:
        return np.asarray(x, dtype=np.float64)
    return la.resample(to_int16(np.asarray(x)), rate, BASE_RATE).astype(np.float64)


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
    n = int(spec.seconds * BASE_RATE)
    facts: dict[str, Any] = {}
    if not spec.far:
        far = np.zeros(n)
        echo = np.zeros(n)
    else:
        far = _excerpt(FAR_FILE, 0.0, spec.seconds)
        far *= _gain_to(far, FAR_LEVEL_DBFS)
        played = far
        if spec.saturate:
            played, nl_db = loudspeaker(far)
            facts["loudspeaker_nonlinear_db"] = nl_db
        echo = echo_of(played, ROOM_A)
        echo *= _gain_to(echo, ECHO_LEVEL_DBFS)
        if spec.change_at_s is not None:
            echo_b = echo_of(played, ROOM_B)
            echo_b *= _gain_to(echo_b, ECHO_LEVEL_DBFS)
            k = int(spec.change_at_s * BASE_RATE)
            echo = np.concatenate([echo[:k], echo_b[k:]])
    near = np.zeros(n)
    if spec.near_dt:
        a, b = (int(t * BASE_RATE) for t in spec.windows["dt"])
        seg = _excerpt(NEAR_FILE, NEAR_DT_START_S, (b - a) / BASE_RATE)
        echo_level = active_level_dbfs(echo[a:b], BASE_RATE)
        near[a:b] = seg * _gain_to(seg, echo_level + NEAR_TO_ECHO_DB)
        facts["dt_echo_level_dbfs"] = echo_level
    elif not spec.far:
        near = _excerpt(NEAR_FILE, NEAR_ONLY_START_S, spec.seconds)
        near *= _gain_to(near, NEAR_ONLY_LEVEL_DBFS)
    if spec.far:
        facts["echo_level_dbfs"] = active_level_dbfs(echo, BASE_RATE)
    return far, echo, near, facts


def build_scenario(key: str, rate: int) -> Scenario:
    """Scenario ``key`` at ``rate``: built in float at 16 kHz, each component upsampled with
    la.resample, the noise made at ``rate``, mixed and rounded to int16 once."""
    spec = SCENARIO_BY_KEY[key]
    far16, echo16, near16, facts = _base_signals(key)
    far = to_int16(to_rate(far16, rate))
    echo = to_rate(echo16, rate)
    near = to_rate(near16, rate)
    noise = white_noise(len(echo), rate, SCENARIOS.index(spec))
    mic = to_int16(echo + near + noise)
    delays = [ROOM_A["delay_ms"]] if spec.far else []
    if spec.change_at_s is not None:
        delays.append(ROOM_B["delay_ms"])
    hint = ROOM_A["delay_ms"] + spec.hint_offset_ms if spec.far else None
    return Scenario(
        spec, rate, far, mic, echo, noise, near16, to_16k(mic, rate), hint, delays, dict(facts)
    )


def calibration_probe(rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(far = silence, mic = near-end speech + noise) int16 at ``rate``: the alignment probe."""
    near = _excerpt(NEAR_FILE, CALIB_START_S, CALIB_S)
    near *= _gain_to(near, NEAR_ONLY_LEVEL_DBFS)
    near = to_rate(near, rate)
    mic = to_int16(near + white_noise(len(near), rate, 99))
    return np.zeros_like(mic), mic


# =========================================================================== contenders


@dataclass
class Run:
    """One pass of a contender over a scenario: output (int16, input rate), time, frames."""

    out: np.ndarray
    seconds: float
    frames: int
    known_delay: int | None = None  # samples at the input rate, when the contender reports it
    stats: dict[str, Any] = field(default_factory=dict)


#: run(far, mic, rate, hint_ms) -> Run: a fresh instance, inputs prepared untimed, the 10 ms
#: loop (render then capture) timed.
RunFn = Callable[[np.ndarray, np.ndarray, int, "int | None"], Run]


@dataclass(frozen=True)
class Contender:
    key: str
    label: str
    family: str  # "ours", "webrtc" or "speex"
    run: RunFn
    note: str = ""
    has_hint: bool = True


def _hop(rate: int) -> int:
    return rate * FRAME_MS // 1000


def _blocks(x: np.ndarray, hop: int) -> list[np.ndarray]:
    return [x[i : i + hop] for i in range(0, len(x) - hop + 1, hop)]


def ours_runner(**options: Any) -> RunFn:
    """la.AudioProcessingModule(echo_cancellation=True, **options): per 10 ms,
    process_reverse_stream(far) then process_stream(mic) in place."""

    def run(far: np.ndarray, mic: np.ndarray, rate: int, hint: int | None) -> Run:
        apm = la.AudioProcessingModule(echo_cancellation=True, **options)
        if hint is not None:
            apm.set_stream_delay_ms(int(hint))
        hop = _hop(rate)
        buf = np.array(mic, dtype=np.int16, copy=True)
        far_c = np.array(far, dtype=np.int16, copy=True)
        pairs = [
            (la.AudioFrame(f, rate, 1, hop), la.AudioFrame(m, rate, 1, hop))
            for f, m in zip(_blocks(far_c, hop), _blocks(buf, hop), strict=True)
        ]

        def loop() -> None:
            for f, m in pairs:
                apm.process_reverse_stream(f)
                apm.process_stream(m)

        dt = wall_seconds(loop)
        st = apm.stats
        stats = {
            "echo_delay_ms": getattr(st, "echo_delay_ms", None),
            "erle_db": getattr(st, "erle_db", None),
        }
        n = len(pairs) * hop
        return Run(buf[:n], dt, len(pairs), apm.delay_samples, stats)

    return run


def livekit_runner(**options: Any) -> RunFn:
    from livekit import rtc

    def run(far: np.ndarray, mic: np.ndarray, rate: int, hint: int | None) -> Run:
        apm = rtc.AudioProcessingModule(**options)
        if hint is not None:
            apm.set_stream_delay_ms(int(hint))
        hop = _hop(rate)
        pairs = [
            (
                rtc.AudioFrame(bytearray(f.tobytes()), rate, 1, hop),
                rtc.AudioFrame(bytearray(m.tobytes()), rate, 1, hop),
            )
            for f, m in zip(_blocks(far, hop), _blocks(mic, hop), strict=True)
        ]

        def loop() -> None:
            for f, m in pairs:
                apm.process_reverse_stream(f)
                apm.process_stream(m)

        dt = wall_seconds(loop)
        out = np.concatenate([np.frombuffer(m.data, dtype=np.int16) for _, m in pairs])
        return Run(out, dt, len(pairs))

    return run


def pywebrtc_aec_runner() -> RunFn:
    """pywebrtc_audio.EchoCanceller (WebRTC AEC3 + its HPF), process(near, far) per 10 ms."""
    import pywebrtc_audio

    def run(far: np.ndarray, mic: np.ndarray, rate: int, hint: int | None) -> Run:
        ec = pywebrtc_audio.EchoCanceller(
            sample_rate=rate, num_channels=1, stream_delay_ms=int(hint or 0)
        )
        hop = _hop(rate)
        pairs = [
            (m.copy(), f.copy()) for f, m in zip(_blocks(far, hop), _blocks(mic, hop), strict=True)
        ]
        outs: list[np.ndarray] = []

        def loop() -> None:
            outs.extend(ec.process(m, f) for m, f in pairs)

        dt = wall_seconds(loop)
        return Run(np.concatenate(outs), dt, len(pairs))

    return run


def pywebrtc_apm_runner(**options: Any) -> RunFn:
    """pywebrtc_audio.AudioProcessor(**options), process(near, far) per 10 ms."""
    import pywebrtc_audio

    def run(far: np.ndarray, mic: np.ndarray, rate: int, hint: int | None) -> Run:
        ap = pywebrtc_audio.AudioProcessor(
            sample_rate=rate, num_channels=1, stream_delay_ms=int(hint or 0), **options
        )
        hop = _hop(rate)
        pairs = [
            (m.copy(), f.copy()) for f, m in zip(_blocks(far, hop), _blocks(mic, hop), strict=True)
        ]
        outs: list[np.ndarray] = []

        def loop() -> None:
            outs.extend(ap.process(m, f) for m, f in pairs)

        dt = wall_seconds(loop)
        return Run(np.concatenate(outs), dt, len(pairs))

    return run


def aecap_runner(enable_ns: bool = False, enable_agc: bool = False) -> RunFn:
    """aec_audio_processing.AudioProcessor (WebRTC APM, AEC3): process_reverse_stream(far
    bytes) then process_stream(mic bytes) per 10 ms."""
    import aec_audio_processing

    def run(far: np.ndarray, mic: np.ndarray, rate: int, hint: int | None) -> Run:
        ap = aec_audio_processing.AudioProcessor(
            enable_aec=True, enable_ns=enable_ns, enable_agc=enable_agc, enable_vad=False
        )
        ap.set_stream_format(rate, 1)
        ap.set_reverse_stream_format(rate, 1)
        if hint is not None:
            ap.set_stream_delay(int(hint))
        hop = _hop(rate)
        pairs = [
            (f.tobytes(), m.tobytes())
            for f, m in zip(_blocks(far, hop), _blocks(mic, hop), strict=True)
        ]
        outs: list[bytes] = []

        def loop() -> None:
            for f, m in pairs:
                ap.process_reverse_stream(f)
                outs.append(ap.process_stream(m))

        dt = wall_seconds(loop)
        return Run(np.frombuffer(b"".join(outs), dtype=np.int16), dt, len(pairs))

    return run


def speex_runner(filter_ms: int = SPEEX_FILTER_MS) -> RunFn:
    """speexdsp.EchoCanceller (Speex MDF, linear filter only: the binding does not run Speex's
    residual echo suppressor), 10 ms frames, a ``filter_ms`` filter; no delay hint."""
    from speexdsp import EchoCanceller

    def run(far: np.ndarray, mic: np.ndarray, rate: int, hint: int | None) -> Run:
        hop = _hop(rate)
        ec = EchoCanceller.create(hop, rate * filter_ms // 1000, rate)
        pairs = [
            (m.tobytes(), f.tobytes())
            for f, m in zip(_blocks(far, hop), _blocks(mic, hop), strict=True)
        ]
        outs: list[bytes] = []

        def loop() -> None:
            outs.extend(ec.process(m, f) for m, f in pairs)

        dt = wall_seconds(loop)
        return Run(np.frombuffer(b"".join(outs), dtype=np.int16), dt, len(pairs))

    return run


def _probe_smoke(c: Contender) -> None:
    """One second of far-end noise and its attenuated copy in the mic, at each rate."""
    rng = np.random.default_rng(SEED)
    for rate in RATES:
        far = to_int16(rng.standard_normal(rate) * 1000.0)
        mic = to_int16(np.concatenate([np.zeros(rate // 50), far[: -rate // 50] * 0.3]))
        r = c.run(far, mic, rate, 20)
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
                ours_runner(),
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
                livekit_runner(echo_cancellation=True),
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
                pywebrtc_aec_runner(),
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
                aecap_runner(),
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
                speex_runner(),
                f"EchoCanceller.create(10 ms, {SPEEX_FILTER_MS} ms filter, rate) (Speex MDF, "
                "linear only; the binding skips Speex's residual echo suppressor); no delay "
                "hint API",
                has_hint=False,
            ),
        ),
    ]
    return load_peers(specs, _probe_smoke)


# =========================================================================== metrics


def frame_power(x: np.ndarray, rate: int, ms: int = ERLE_FRAME_MS) -> np.ndarray:
    n = rate * ms // 1000
    m = len(x) // n
    fr = np.asarray(x[: m * n], dtype=np.float64).reshape(m, n)
    return np.mean(fr * fr, axis=1)


def _frames(window: tuple[float, float]) -> tuple[int, int]:
    return int(round(window[0] * 1000 / ERLE_FRAME_MS)), int(
        round(window[1] * 1000 / ERLE_FRAME_MS)
    )


def erle_track(sc: Scenario, out: np.ndarray) -> dict[str, np.ndarray]:
    """Per 20 ms frame: echo power, output power, noise power and far-end activity."""
    pe = frame_power(sc.echo, sc.rate)
    po = frame_power(out, sc.rate)[: len(pe)]
    pn = frame_power(sc.noise, sc.rate)[: len(pe)]
    level = FULL_SCALE**2 * 10.0 ** ((sc.facts["echo_level_dbfs"] - ACTIVE_BELOW_DB) / 10.0)
    return {"pe": pe, "po": po, "pn": pn, "active": pe >= level}


def erle_median(
    tr: dict[str, np.ndarray], window: tuple[float, float], den: str = "po"
) -> float | None:
    """Median over the far-end-active frames in ``window`` of 10·log10(echo / ``den``) power."""
    a, b = _frames(window)
    act = tr["active"][a:b]
    if act.sum() < MIN_ACTIVE_IN_WINDOW:
        return None
    ratios = tr["pe"][a:b][act] / np.maximum(tr[den][a:b][act], 1e-12)
    return 10.0 * math.log10(max(float(np.median(ratios)), 1e-12))


def smoothed_erle(tr: dict[str, np.ndarray]) -> np.ndarray:
    """ERLE over the active frames of the 0.5 s window ending at each frame (NaN: too few)."""
    w = int(SMOOTH_S * 1000 / ERLE_FRAME_MS)
    act = tr["active"].astype(np.float64)
    pe = np.cumsum(np.concatenate([[0.0], tr["pe"] * act]))
    po = np.cumsum(np.concatenate([[0.0], tr["po"] * act]))
    cnt = np.cumsum(np.concatenate([[0.0], act]))
    k = np.arange(len(act))
    lo = np.maximum(k + 1 - w, 0)
    se, so, c = pe[k + 1] - pe[lo], po[k + 1] - po[lo], cnt[k + 1] - cnt[lo]
    with np.errstate(divide="ignore", invalid="ignore"):
        erle = 10.0 * np.log10(np.maximum(se, 1e-12) / np.maximum(so, 1e-12))
    erle[c < MIN_ACTIVE_IN_WINDOW] = np.nan
    return erle


def time_to(
    tr: dict[str, np.ndarray], window: tuple[float, float], level_db: float
) -> float | None:
    """Seconds from the first far-end-active frame in ``window`` until the ERLE smoothed over
    SMOOTH_S (windows that start no earlier than ``window``) reaches ``level_db`` and holds it
    in every judged window for HOLD_S, or to the end of ``window``. None if it never does."""
    a, b = _frames(window)
    part = {k: v[a:b] for k, v in tr.items()}
    act = np.flatnonzero(part["active"])
    if len(act) == 0:
        return None
    s = smoothed_erle(part)[int(act[0]) :]
    hold = int(HOLD_S * 1000 / ERLE_FRAME_MS)
    ok = ~(s < level_db)  # NaN (too few active frames to judge) does not break a hold
    for i in np.flatnonzero(ok & ~np.isnan(s)):
        if ok[i : i + hold].all():
            return float(i + 1) * ERLE_FRAME_MS / 1000.0
    return None


def pesq_wb(ref: np.ndarray, deg: np.ndarray) -> float | None:
    try:
        from pesq import pesq
    except ImportError:
        return None
    try:
        return float(pesq(BASE_RATE, ref.astype(np.float32), deg.astype(np.float32), "wb"))
    except Exception:  # noqa: BLE001 - e.g. NoUtterancesError on a silenced output
        return None


def _seg(x: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    return x[int(window[0] * BASE_RATE) : int(window[1] * BASE_RATE)]


def score(sc: Scenario, out: np.ndarray | None, out16: np.ndarray | None) -> dict[str, Any]:
    """Every metric of scenario ``sc`` for one aligned output (``out`` at the scenario's rate,
    ``out16`` the same at 16 kHz). ``out`` None scores the ideal canceller (echo removed,
    noise and near end kept) and records the unprocessed microphone's figures."""
    spec, w = sc.spec, sc.spec.windows
    m: dict[str, Any] = {}
    if spec.far:
        ideal = out is None
        tr = erle_track(sc, sc.noise if ideal else out)
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
        e = BASE_RATE * EDGE_MS // 1000
        ref = sc.mic16[e:-e]
        if out16 is None:
            m["ne_pesq"] = pesq_wb(ref, ref)
        else:
            m["ne_pesq"] = pesq_wb(ref, out16[e:-e])
            m["ne_si_sdr_db"] = si_sdr(ref, out16[e:-e])
    return m


# =========================================================================== runs


def calibrate(contenders: Sequence[Contender], rates: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Per rate and contender: how far its output lags its input.

    Ours: ``apm.delay_samples``. Peers: the GCC-PHAT lag (±50 ms) of the output behind the
    input on a near-end-only probe (3 s of the near-end talker, far end silent). Doubles as
    each contender's warm-up at that rate.
    """
    out: dict[int, dict[str, Any]] = {}
    for rate in rates:
        far, mic = calibration_probe(rate)
        out[rate] = {}
        for c in contenders:
            r = c.run(far, mic, rate, None)
            lag, peak = gcc_phat_delay(mic[: len(r.out)], r.out, rate)
            used = r.known_delay if r.known_delay is not None else lag
            out[rate][c.key] = {
                "samples": int(used),
                "ms": 1000.0 * used / rate,
                "method": "apm.delay_samples" if r.known_delay is not None else "gcc-phat",
                "gcc_phat_samples": lag,
                "gcc_phat_peak": peak,
            }
    return out


def run_scenario(
    sc: Scenario,
    contenders: Sequence[Contender],
    delays: dict[str, Any],
    repeats: int,
    rng: random.Random,
) -> dict[str, Any]:
    """Every contender on ``sc`` (``repeats`` interleaved timed runs; the first is scored)."""
    runs: dict[str, list[Run]] = {c.key: [] for c in contenders}
    for c in interleaved(contenders, repeats, rng):
        runs[c.key].append(c.run(sc.far, sc.mic, sc.rate, sc.hint_ms))
    base = score(sc, None, None)
    res: dict[str, Any] = {
        "ideal": {k: v for k, v in base.items() if not k.startswith("mic_")},
        "mic": {k[4:]: v for k, v in base.items() if k.startswith("mic_")},
    }
    n = len(sc.mic)
    for c in contenders:
        first = runs[c.key][0]
        y = align(first.out, delays[c.key]["samples"], n)
        m = score(sc, y, to_16k(y, sc.rate)[: int(sc.spec.seconds * BASE_RATE)])
        us = [r.seconds / r.frames * 1e6 for r in runs[c.key]]
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
    hop = _hop(rate)
    if have_speech:
        sc = build_scenario("main", rate)
        far, mic, hint = sc.far, sc.mic, sc.hint_ms
    else:
        rng_np = np.random.default_rng(SEED)
        far = to_int16(rng_np.standard_normal(frames * hop) * 1000.0)
        mic = to_int16(np.roll(far, rate // 10) * 0.3 + rng_np.standard_normal(len(far)) * 10.0)
        hint = 100
    far, mic = np.resize(far, frames * hop), np.resize(mic, frames * hop)
    missing: dict[str, str] = {}
    contenders: list[Contender] = []
    try:
        la.AudioProcessingModule(**FULL_APM_OPTIONS)
    except NotImplementedError as exc:
        missing["ours"] = f"not available yet ({error_text(exc)})"
    except Exception as exc:  # noqa: BLE001
        missing["ours"] = f"unavailable ({error_text(exc)})"
    else:
        opts = {k: v for k, v in FULL_APM_OPTIONS.items() if k != "echo_cancellation"}
        c, m = load_peers(
            [("ours", lambda: Contender("ours", "ours", "ours", ours_runner(**opts)))],
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
                livekit_runner(**FULL_APM_OPTIONS),
                "rtc.AudioProcessingModule(all four)",
            ),
        ),
        (
            "pywebrtc-audio",
            lambda: Contender(
                "pywebrtc",
                "pywebrtc-audio",
                "webrtc",
                pywebrtc_apm_runner(**FULL_APM_OPTIONS),
                "AudioProcessor(all four)",
            ),
        ),
        (
            "aec-audio-processing",
            lambda: Contender(
                "aecap",
                "aec-audio-proc",
                "webrtc",
                aecap_runner(enable_ns=True, enable_agc=True),
                "AudioProcessor(aec, ns, agc=AGC1 adaptive digital); no HPF option",
            ),
        ),
    ]
    peers, m = load_peers(specs, _probe_smoke)
    contenders += peers
    missing.update(m)
    progress("full APM 48 kHz ...")
    for c in contenders:  # warm-up
        c.run(far, mic, rate, hint)
    samples: dict[str, list[float]] = {c.key: [] for c in contenders}
    for c in interleaved(contenders, repeats, rng):
        r = c.run(far, mic, rate, hint)
        samples[c.key].append(r.seconds / r.frames * 1e6)
    res = {k: {"us_per_frame": statistics.median(v), "samples_us": v} for k, v in samples.items()}
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
                f"ERLE = median over far-end-active {ERLE_FRAME_MS} ms frames (echo within "
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
            "erle_frame_ms": ERLE_FRAME_MS,
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
        delays = calibrate(contenders, rates)
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


def main(argv: Sequence[str] | None = None) -> int:
    return bench_main(parse_args(argv), run, report, to_json=jsonable)


if __name__ == "__main__":
    sys.exit(main())
