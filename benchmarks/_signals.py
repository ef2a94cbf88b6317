"""Test signals of the quality benchmarks: speech, noises, echo paths, levels and rates.

Everything is built in float64 at int16 scale at ``METRIC_RATE`` (16 kHz, the rate of the
speech files and of PESQ/STOI), brought to other rates with ``livekit_audio.resample``
(``to_rate``, ``to_16k``) and rounded to int16 once (``to_int16``). Every random signal takes
its ``numpy.random.Generator`` from the caller, so each benchmark seeds its own.

- Speech (``../shared/data/speech``): ``speech_16k`` reads a file (other rates resampled),
  ``speech_problem`` says why the files a benchmark needs are unusable, ``excerpt`` cuts by
  time and ``cut_at_pauses`` moves both cut points to the quietest 20 ms frame nearby.
- Levels: ``level_gain`` (the gain from one level to another) and ``gain_to`` (the gain that
  puts a signal's P.56 active level at a target, ``_metrics.active_level_dbfs``).
- Noises: ``white_noise`` (optionally at an RMS level in dBFS), ``pink_noise`` (1/f power),
  ``babble_noise`` (talkers at equal active level) and ``hum_noise`` (mains harmonics).
- Echo: ``room_response`` (a direct tap plus an exponentially decaying random tail),
  ``echo_path`` (a bulk delay plus that response) and ``soft_clip`` (a tanh loudspeaker).
"""

from __future__ import annotations

import functools
import math
import wave
from collections.abc import Mapping, Sequence

import numpy as np
from _common import SPEECH_DIR, read_wav
from _metrics import ANALYSIS_MS, FULL_SCALE, METRIC_RATE, active_level_dbfs, frame_powers

import livekit_audio as la

HUM_F0, HUM_HARMONICS = 50.0, 40

# --------------------------------------------------------------------------- speech


@functools.cache
def speech_16k(name: str) -> np.ndarray:
    """A speech file as float64 at 16 kHz (int16 scale); other rates via la.resample."""
    x, rate = read_wav(SPEECH_DIR / name)
    if rate != METRIC_RATE:
        x = la.resample(x, rate, METRIC_RATE)
    return x.astype(np.float64)


def speech_problem(needed_s: Mapping[str, float]) -> str | None:
    """None when every file of ``needed_s`` (name: seconds it must last) is readable and long
    enough, else the reason."""
    for name, need_s in needed_s.items():
        try:
            x = speech_16k(name)
        except (OSError, ValueError, wave.Error, EOFError) as exc:
            return f"{SPEECH_DIR / name}: {exc}"
        if len(x) < need_s * METRIC_RATE:
            return f"{SPEECH_DIR / name}: shorter than {need_s:g} s"
    return None


def excerpt(name: str, start_s: float, seconds: float) -> np.ndarray:
    """``seconds`` of speech file ``name`` from ``start_s`` (a copy)."""
    a = int(start_s * METRIC_RATE)
    return speech_16k(name)[a : a + int(seconds * METRIC_RATE)].copy()


def _quietest_near(x: np.ndarray, t: float, snap_s: float) -> int:
    """Sample index of the start of the quietest 20 ms frame within ±``snap_s`` of t seconds."""
    n = METRIC_RATE * ANALYSIS_MS // 1000
    p = frame_powers(x, METRIC_RATE)
    lo = max(0, int((t - snap_s) * 1000 / ANALYSIS_MS))
    hi = min(len(p), int((t + snap_s) * 1000 / ANALYSIS_MS) + 1)
    return (lo + int(np.argmin(p[lo:hi]))) * n


def cut_at_pauses(x: np.ndarray, start_s: float, seconds: float, snap_s: float) -> np.ndarray:
    """About ``seconds`` of ``x`` (16 kHz) from ``start_s``, each cut point moved to the
    quietest 20 ms frame within ±``snap_s`` (a start of 0 stays), so no word is cut in half;
    a multiple of 10 ms long (a copy)."""
    a = _quietest_near(x, start_s, snap_s) if start_s > 0 else 0
    b = _quietest_near(x, a / METRIC_RATE + seconds, snap_s)
    hop = METRIC_RATE // 100
    b = a + (b - a) // hop * hop
    return x[a:b].copy()


# --------------------------------------------------------------------------- levels and rates


def level_gain(level_db: float, target_db: float) -> float:
    """The amplitude gain that moves a level of ``level_db`` to ``target_db``."""
    return 10.0 ** ((target_db - level_db) / 20.0)


def gain_to(x: np.ndarray, target_dbfs: float, rate: int = METRIC_RATE) -> float:
    """The gain that puts the P.56 active level of ``x`` at ``target_dbfs``."""
    return level_gain(active_level_dbfs(x, rate), target_dbfs)


def to_int16(x: np.ndarray) -> np.ndarray:
    """Rounded and saturated to int16."""
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def to_rate(x: np.ndarray, rate: int) -> np.ndarray:
    """float64 signal at 16 kHz to ``rate`` with la.resample (float32 path), as float64."""
    if rate == METRIC_RATE:
        return np.asarray(x, dtype=np.float64)
    return la.resample(x.astype(np.float32), METRIC_RATE, rate).astype(np.float64)


def to_16k(x: np.ndarray, rate: int) -> np.ndarray:
    """An int16-scale signal at ``rate`` back to 16 kHz (rounded to int16 first), float64."""
    if rate == METRIC_RATE:
        return np.asarray(x, dtype=np.float64)
    return la.resample(to_int16(np.asarray(x)), rate, METRIC_RATE).astype(np.float64)


# --------------------------------------------------------------------------- noises


def white_noise(n: int, rng: np.random.Generator, level_dbfs: float | None = None) -> np.ndarray:
    """Gaussian white noise: unit variance, or RMS ``level_dbfs`` re a full-scale square wave."""
    x = rng.standard_normal(n)
    return x if level_dbfs is None else x * FULL_SCALE * 10.0 ** (level_dbfs / 20.0)


def pink_noise(n: int, rng: np.random.Generator, rate: int = METRIC_RATE) -> np.ndarray:
    """1/f power spectrum (FFT shaping of white noise; flat below 20 Hz)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    spec /= np.sqrt(np.maximum(np.fft.rfftfreq(n, 1.0 / rate), 20.0))
    return np.fft.irfft(spec, n)


def babble_noise(
    n: int, rng: np.random.Generator, talkers: Sequence[tuple[str, float]]
) -> np.ndarray:
    """Sum of ``talkers`` (file, seconds skipped), each at equal active level, each from a
    random offset (a short talker is tiled), at 16 kHz."""
    out = np.zeros(n)
    for name, skip in talkers:
        x = speech_16k(name)[int(skip * METRIC_RATE) :]
        x = x / 10.0 ** (active_level_dbfs(x, METRIC_RATE) / 20.0)
        x = np.resize(x, max(n, len(x)))  # tiles the short talkers
        out += np.roll(x, -int(rng.integers(len(x))))[:n]
    return out


def hum_noise(n: int, rng: np.random.Generator, rate: int = METRIC_RATE) -> np.ndarray:
    """50 Hz mains hum: harmonics k·50 Hz, k = 1..40, amplitude 1/k, random phases."""
    t = np.arange(n) / rate
    out = np.zeros(n)
    for k in range(1, HUM_HARMONICS + 1):
        out += np.sin(2 * np.pi * HUM_F0 * k * t + rng.uniform(0, 2 * np.pi)) / k
    return out


# --------------------------------------------------------------------------- echo


def room_response(rt60_s: float, rng: np.random.Generator, drr_db: float) -> np.ndarray:
    """Random room impulse response at 16 kHz, without the bulk delay.

    A direct-path tap of 1, then reflections from 2 ms on: white Gaussian noise under an
    exponential envelope whose power falls 60 dB in ``rt60_s`` (amplitude 10^(-3 t / RT60)),
    scaled so the tail carries ``drr_db`` less energy than the direct path; ``rt60_s`` long.
    """
    n = int(rt60_s * METRIC_RATE)
    t = np.arange(n) / METRIC_RATE
    tail = rng.standard_normal(n) * 10.0 ** (-3.0 * t / rt60_s)
    tail[: int(0.002 * METRIC_RATE)] = 0.0
    tail *= math.sqrt(10.0 ** (-drr_db / 10.0) / float(np.sum(tail * tail)))
    tail[0] = 1.0
    return tail


def echo_path(played: np.ndarray, response: np.ndarray, delay_ms: int) -> np.ndarray:
    """``played`` (16 kHz) through ``response`` after a bulk delay of ``delay_ms``: same
    length, unscaled."""
    n = len(played)
    nfft = 1 << (n + len(response) - 1).bit_length()
    y = np.fft.irfft(np.fft.rfft(played, nfft) * np.fft.rfft(response, nfft), nfft)[:n]
    d = delay_ms * METRIC_RATE // 1000
    return np.concatenate([np.zeros(d), y[: n - d]])


def soft_clip(x: np.ndarray, knee_db: float) -> tuple[np.ndarray, float]:
    """A saturating loudspeaker y = c·tanh(x/c), c ``knee_db`` above the active level of ``x``
    (16 kHz); returns y and its non-linear part in dB re y (what a least-squares gain of ``x``
    leaves of ``y``)."""
    c = FULL_SCALE * 10.0 ** ((active_level_dbfs(x, METRIC_RATE) + knee_db) / 20.0)
    y = c * np.tanh(x / c)
    g = float(np.dot(x, y) / np.dot(x, x))
    d = y - g * x
    return y, 10.0 * math.log10(float(np.dot(d, d)) / float(np.dot(y, y)))
