"""What the quality benchmarks measure: levels, alignment, speech quality and echo metrics.

Every function takes int16-scale float or int arrays (full scale 32768) and returns plain
floats or numpy arrays; nothing here builds signals (``_signals``) or runs a contender
(``_peers``). Sources of each metric:

- Levels. ``dbfs``: power relative to a full-scale square wave, i.e. ITU-T G.100.1's dBov.
  ``active_level_dbfs``: the active speech level of ITU-T P.56 (2011), method B, simplified
  to 20 ms frames (the threshold walks down from the loudest frame to the first point 15.9 dB
  below the mean power of the frames above it).
- ``pause_frames`` / ``pause_noise_reduction_db``: this project's noise reduction in speech
  pauses: noisy-input energy over output energy in the 20 ms frames where the clean speech is
  more than 40 dB below its loudest frame (benchmarks/README.md).
- ``musical_noise_index``: ln of the kurtosis ratio of the power spectra in those pauses,
  output over input, after Uemura, Takahashi, Saruwatari, Shikano and Kondo, "Musical noise
  generation analysis for noise reduction methods based on spectral subtraction and MMSE
  STSA estimation", ICASSP 2009.
- ``gcc_phat_delay``: generalized cross-correlation with phase transform, Knapp and Carter,
  "The generalized correlation method for estimation of time delay", IEEE Trans. ASSP 24(4),
  1976. ``align`` applies the lag it finds.
- ``pesq_wb``: wide-band PESQ, ITU-T P.862 (2001) with the P.862.2 (2007) wide-band
  extension, through the ``pesq`` package; MOS-LQO, 1.04 to 4.64.
- ``stoi_score``: short-time objective intelligibility, Taal, Hendriks, Heusdens and Jensen,
  "An algorithm for intelligibility prediction of time-frequency weighted noisy speech",
  IEEE Trans. ASLP 19(7), 2011, through ``pystoi``.
- ``si_sdr``: scale-invariant signal-to-distortion ratio, Le Roux, Wisdom, Erdogan and
  Hershey, "SDR - half-baked or well done?", ICASSP 2019.
- ERLE (``erle_track``, ``erle_median``, ``smoothed_erle``, ``time_to``): echo return loss
  enhancement as in ITU-T G.168 (echo power at the microphone over the canceller's output
  power), judged on far-end-active 20 ms frames; the convergence time ``time_to`` is this
  project's (benchmarks/README.md, ``bench_aec.py``).
"""

from __future__ import annotations

import math

import numpy as np

#: int16 full scale: a square wave of this amplitude is 0 dBFS.
FULL_SCALE = 32768.0
#: PESQ-WB and STOI run at this rate; the speech files are recorded at it.
METRIC_RATE = 16000
#: Analysis frame for levels, pauses, the musical-noise index and ERLE.
ANALYSIS_MS = 20
#: P.56's margin between the active level and the activity threshold.
P56_MARGIN_DB = 15.9
#: A frame is a speech pause when the clean speech is this far below its loudest frame.
PAUSE_BELOW_MAX_DB = 40.0
#: GCC-PHAT searches lags up to this, either way.
MAX_LAG_MS = 50
#: A frame counts as far-end active when its echo power is within this of the echo's active level.
ACTIVE_BELOW_DB = 15.0
#: Convergence is judged on ERLE smoothed over windows of this length (sliding by one frame).
SMOOTH_S = 0.5
#: A smoothed window needs at least this many active frames to be judged.
MIN_ACTIVE_IN_WINDOW = 5
#: After reaching a level, ERLE must stay there this long to count as converged.
HOLD_S = 1.0


# --------------------------------------------------------------------------- levels


def frame_powers(x: np.ndarray, rate: int, ms: int = ANALYSIS_MS) -> np.ndarray:
    """Mean power of consecutive non-overlapping frames (a partial last frame is dropped)."""
    n = rate * ms // 1000
    m = len(x) // n
    fr = np.asarray(x[: m * n], dtype=np.float64).reshape(m, n)
    return np.mean(fr * fr, axis=1)


def dbfs(power: float) -> float:
    """Power (int16 scale) in dBFS, 0 dBFS = full-scale square wave."""
    return 10.0 * math.log10(max(power, 1e-12) / FULL_SCALE**2)


def active_level_dbfs(x: np.ndarray, rate: int) -> float:
    """ITU-T P.56-style active speech level, dBFS.

    Frame powers over 20 ms frames; the threshold c walks down from the loudest frame in 0.25 dB
    steps and the level is the mean power A(c) of the frames above c at the first c where
    A(c) - c >= 15.9 dB (P.56's margin, applied to frames rather than to an envelope with
    hangover). Falls back to the mean power when the margin is never reached.
    """
    p = np.sort(frame_powers(x, rate))[::-1]
    p = p[p > 0]
    if len(p) == 0:
        return -120.0
    pdb = 10.0 * np.log10(p / FULL_SCALE**2)
    running_mean = np.cumsum(p) / np.arange(1, len(p) + 1)
    for c in np.arange(pdb[0], pdb[0] - 120.0, -0.25):
        above = int(np.searchsorted(-pdb, -c, side="left"))  # frames strictly above c
        if above == 0:
            continue
        level = dbfs(float(running_mean[above - 1]))
        if level - c >= P56_MARGIN_DB:
            return level
    return dbfs(float(np.mean(p)))


# --------------------------------------------------------------------------- speech pauses


def pause_frames(clean: np.ndarray, rate: int, below_db: float = PAUSE_BELOW_MAX_DB) -> np.ndarray:
    """Bool per 20 ms frame: clean speech below its loudest frame by more than ``below_db``."""
    p = frame_powers(clean, rate)
    pdb = 10.0 * np.log10(p + 1e-12)
    return pdb < pdb.max() - below_db


def pause_noise_reduction_db(
    noisy: np.ndarray, out: np.ndarray, pauses: np.ndarray, rate: int = METRIC_RATE
) -> float:
    """Energy of ``noisy`` over energy of ``out`` in the ``pauses`` frames, dB."""
    p_in = frame_powers(noisy, rate)[pauses]
    p_out = frame_powers(out, rate)[pauses]
    return 10.0 * math.log10(max(float(p_in.sum()), 1e-12) / max(float(p_out.sum()), 1e-12))


def musical_noise_index(
    noisy: np.ndarray, out: np.ndarray, pauses: np.ndarray, rate: int = METRIC_RATE
) -> float | None:
    """ln(kurtosis ratio) of the power spectra in speech pauses, output over input.

    After Uemura et al. 2009 (musical noise measured by the kurtosis of the power-spectral
    components before and after processing): 20 ms Hann frames on the pause grid, 100 Hz to
    7 kHz, each bin's power normalized by its mean over the pause frames, kurtosis =
    E[P^2] / E[P]^2 over all (frame, bin) values (2 for Gaussian noise). 0 = the residual
    noise keeps the input noise's statistics; > 0 = spikier, isolated spectral peaks that
    come and go (musical noise). None with fewer than 10 pause frames.
    """
    idx = np.flatnonzero(pauses)
    if len(idx) < 10:
        return None
    n = rate * ANALYSIS_MS // 1000
    win = np.hanning(n)
    f = np.fft.rfftfreq(n, 1.0 / rate)
    band = (f >= 100.0) & (f <= 7000.0)

    def kurt(sig: np.ndarray) -> float:
        frames = np.stack([sig[i * n : (i + 1) * n] * win for i in idx])
        p = np.abs(np.fft.rfft(frames, axis=1))[:, band] ** 2
        p = p / np.maximum(p.mean(axis=0, keepdims=True), 1e-12)
        return float(np.mean(p * p) / max(float(np.mean(p)) ** 2, 1e-24))

    return math.log(max(kurt(out), 1e-12) / max(kurt(noisy), 1e-12))


# --------------------------------------------------------------------------- alignment


def gcc_phat_delay(
    x: np.ndarray, y: np.ndarray, rate: int, max_lag_ms: int = MAX_LAG_MS
) -> tuple[int, float]:
    """Lag of ``y`` behind ``x`` in samples (|lag| <= ``max_lag_ms``) by GCC-PHAT over
    100 Hz-7 kHz.

    Returns (lag, peak height); the peak is about 1 for a pure delay, lower for processed or
    noisy outputs.
    """
    n = min(len(x), len(y))
    a = np.asarray(x[:n], dtype=np.float64)
    b = np.asarray(y[:n], dtype=np.float64)
    nfft = 1 << (2 * n - 1).bit_length()
    cross = np.fft.rfft(b, nfft) * np.conj(np.fft.rfft(a, nfft))
    f = np.fft.rfftfreq(nfft, 1.0 / rate)
    band = (f >= 100.0) & (f <= 7000.0)
    cross = np.where(band, cross / (np.abs(cross) + 1e-12), 0.0)
    c = np.fft.irfft(cross, nfft) * (nfft / (2.0 * max(int(band.sum()), 1)))
    m = rate * max_lag_ms // 1000
    lags = np.concatenate([np.arange(0, m + 1), np.arange(-m, 0)])
    vals = np.concatenate([c[: m + 1], c[-m:]])
    i = int(np.argmax(vals))
    return int(lags[i]), float(vals[i])


def align(out: np.ndarray, delay: int, n: int) -> np.ndarray:
    """``out`` advanced by ``delay`` samples (negative: retarded), zero-filled to length n."""
    res = np.zeros(n, dtype=np.float64)
    src = np.asarray(out, dtype=np.float64)
    if delay >= 0:
        seg = src[delay : delay + n]
        res[: len(seg)] = seg
    else:
        seg = src[: n + delay]
        res[-delay : -delay + len(seg)] = seg
    return res


# --------------------------------------------------------------------------- speech quality


def pesq_wb(ref: np.ndarray, deg: np.ndarray, rate: int = METRIC_RATE) -> float | None:
    """Wide-band PESQ (P.862.2) of ``deg`` against ``ref``; None without the ``pesq`` package
    or when it refuses the pair (e.g. no utterance found in a silenced output)."""
    try:
        from pesq import pesq
    except ImportError:
        return None
    try:
        return float(pesq(rate, ref.astype(np.float32), deg.astype(np.float32), "wb"))
    except Exception:  # noqa: BLE001 - e.g. NoUtterancesError on a silenced output
        return None


def stoi_score(ref: np.ndarray, deg: np.ndarray, rate: int = METRIC_RATE) -> float | None:
    """STOI (not extended) of ``deg`` against ``ref``; None when ``pystoi`` fails."""
    from pystoi import stoi

    try:
        return float(stoi(ref, deg, rate, extended=False))
    except Exception:  # noqa: BLE001
        return None


def si_sdr(ref: np.ndarray, est: np.ndarray) -> float:
    """Scale-invariant SDR of ``est`` against ``ref`` (both mean-removed), dB."""
    ref = ref - ref.mean()
    est = est - est.mean()
    a = float(np.dot(est, ref) / max(float(np.dot(ref, ref)), 1e-12))
    target = a * ref
    resid = est - target
    return 10.0 * math.log10(
        max(float(np.dot(target, target)), 1e-12) / max(float(np.dot(resid, resid)), 1e-12)
    )


# --------------------------------------------------------------------------- echo (ERLE)


def erle_track(
    echo: np.ndarray, out: np.ndarray, rate: int, echo_level_dbfs: float
) -> dict[str, np.ndarray]:
    """Per 20 ms frame: echo power (``pe``), output power (``po``) and far-end activity
    (``active``: echo within ``ACTIVE_BELOW_DB`` of ``echo_level_dbfs``)."""
    pe = frame_powers(echo, rate)
    po = frame_powers(out, rate)[: len(pe)]
    level = FULL_SCALE**2 * 10.0 ** ((echo_level_dbfs - ACTIVE_BELOW_DB) / 10.0)
    return {"pe": pe, "po": po, "active": pe >= level}


def _frame_range(window: tuple[float, float]) -> tuple[int, int]:
    return int(round(window[0] * 1000 / ANALYSIS_MS)), int(round(window[1] * 1000 / ANALYSIS_MS))


def erle_median(tr: dict[str, np.ndarray], window: tuple[float, float]) -> float | None:
    """Median over the far-end-active frames in ``window`` (s) of 10·log10(echo / output)."""
    a, b = _frame_range(window)
    act = tr["active"][a:b]
    if act.sum() < MIN_ACTIVE_IN_WINDOW:
        return None
    ratios = tr["pe"][a:b][act] / np.maximum(tr["po"][a:b][act], 1e-12)
    return 10.0 * math.log10(max(float(np.median(ratios)), 1e-12))


def smoothed_erle(tr: dict[str, np.ndarray]) -> np.ndarray:
    """ERLE over the active frames of the 0.5 s window ending at each frame (NaN: too few)."""
    w = int(SMOOTH_S * 1000 / ANALYSIS_MS)
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
    a, b = _frame_range(window)
    part = {k: v[a:b] for k, v in tr.items()}
    act = np.flatnonzero(part["active"])
    if len(act) == 0:
        return None
    s = smoothed_erle(part)[int(act[0]) :]
    hold = int(HOLD_S * 1000 / ANALYSIS_MS)
    ok = ~(s < level_db)  # NaN (too few active frames to judge) does not break a hold
    for i in np.flatnonzero(ok & ~np.isnan(s)):
        if ok[i : i + hold].all():
            return float(i + 1) * ANALYSIS_MS / 1000.0
    return None
