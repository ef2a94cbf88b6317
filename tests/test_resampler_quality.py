"""Resampler quality against independent references.

* The polyphase bank is reassembled into its full-rate prototype and its response taken with
  numpy's FFT: a closed-form check of the design (ripple and stopband) for every preset.
* Real outputs are measured with least-squares sine fits (gain, residual) and RMS of aliases.
* Real speech is compared with python-soxr and round-tripped.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import load_speech

from livekit_audio import QUALITY_SPECS, AudioResamplerQuality, resample
from livekit_audio.resampler import _polyphase_filter

Q = AudioResamplerQuality

#: Stopband attenuation each preset guarantees (the Kaiser design targets a few dB more).
GUARANTEED_ATTEN_DB = {
    Q.QUICK: 55.0,
    Q.LOW: 80.0,
    Q.MEDIUM: 100.0,
    Q.HIGH: 120.0,
    Q.VERY_HIGH: 140.0,
}
PAIRS = [
    (48000, 16000),
    (16000, 48000),
    (44100, 48000),
    (8000, 48000),
    (24000, 48000),
    (96000, 11025),
    (22050, 32000),
]


def db(x: float) -> float:
    return 20.0 * math.log10(x)


def prototype_response(input_rate: int, output_rate: int, quality: Q, nfft: int = 1 << 20):
    """|H(f)| of the full-rate prototype rebuilt from the bank; f in Hz up to L*fin/2."""
    bank = _polyphase_filter(input_rate, output_rate, quality)
    coefs = bank.coefficients.astype(np.float64)
    up, taps = bank.up, bank.taps
    proto = np.zeros(up * taps)
    for p in range(up):  # c[p][m] = g(p/L + K/2 - 1 - m): prototype index p + L(K-1-m)
        proto[p + up * (taps - 1 - np.arange(taps))] = coefs[p]
    gain = np.abs(np.fft.rfft(proto, nfft)) / up  # each phase has unit DC gain
    freqs = np.fft.rfftfreq(nfft, 1.0 / (up * input_rate))
    return freqs, gain


def sine_fit(y: np.ndarray, freq: float, rate: int) -> tuple[float, np.ndarray]:
    """Least-squares amplitude of a sine at `freq` (with DC) and the residual."""
    t = np.arange(len(y)) / rate
    basis = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t), np.ones_like(t)])
    coef, *_ = np.linalg.lstsq(basis.T, y, rcond=None)
    return float(np.hypot(coef[0], coef[1])), y - coef @ basis


def tone(freq: float, rate: int, seconds: float = 0.5, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t + 0.3)).astype(np.float32)


def interior(y: np.ndarray, rate: int, edge_s: float = 0.05) -> np.ndarray:
    """Drop the start and end, where the filter sees the silence around the signal."""
    edge = int(edge_s * rate)
    return y[edge:-edge].astype(np.float64)


# ------------------------------------------------------------------------------ design


@pytest.mark.parametrize("quality", list(Q))
@pytest.mark.parametrize("input_rate,output_rate", PAIRS)
def test_prototype_meets_its_preset(quality, input_rate, output_rate):
    spec = QUALITY_SPECS[quality]
    freqs, gain = prototype_response(input_rate, output_rate, quality)
    nyquist_low = min(input_rate, output_rate) / 2
    passband = gain[freqs <= spec.passband_edge * nyquist_low]
    stopband = gain[freqs >= spec.stopband_edge * nyquist_low]
    assert db(passband.max()) - db(passband.min()) <= 0.1
    assert db(stopband.max()) <= -GUARANTEED_ATTEN_DB[quality]


def test_presets_are_ordered_by_quality_and_latency():
    previous_atten, previous_taps = 0.0, 0
    for quality in Q:
        spec = QUALITY_SPECS[quality]
        taps = _polyphase_filter(48000, 16000, quality).taps
        assert spec.stopband_atten_db > previous_atten and taps > previous_taps
        previous_atten, previous_taps = spec.stopband_atten_db, taps
    for quality in (Q.HIGH, Q.VERY_HIGH):  # no aliasing at all: stopband from Nyquist
        assert QUALITY_SPECS[quality].stopband_edge == 1.0


# ------------------------------------------------------------------------------ measured


@pytest.mark.parametrize("freq", [8800.0, 10000.0, 12500.0, 18000.0, 23900.0])
def test_medium_rejects_aliases_by_100_db_48k_to_16k(freq):
    x = tone(freq, 48000)
    y = interior(resample(x, 48000, 16000), 16000)
    assert db(np.std(y) / np.std(x)) <= -100.0


@pytest.mark.parametrize("quality,floor_db", [(Q.HIGH, -120.0), (Q.VERY_HIGH, -135.0)])
@pytest.mark.parametrize("freq", [8000.0, 8400.0, 12000.0, 20000.0])
def test_high_presets_reject_everything_above_nyquist(quality, floor_db, freq):
    x = tone(freq, 48000)
    y = interior(resample(x, 48000, 16000, quality=quality), 16000, edge_s=0.1)
    assert db(np.std(y) / np.std(x)) <= floor_db


@pytest.mark.parametrize(
    "input_rate,output_rate", [(16000, 48000), (8000, 48000), (24000, 48000), (44100, 48000)]
)
@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.6, 0.9])
def test_medium_rejects_images_by_100_db_when_upsampling(input_rate, output_rate, fraction):
    freq = fraction * input_rate / 2
    y = interior(resample(tone(freq, input_rate), input_rate, output_rate), output_rate)
    amplitude, residual = sine_fit(y, freq, output_rate)
    assert db(np.std(residual) * math.sqrt(2) / amplitude) <= -100.0


@pytest.mark.parametrize(
    "input_rate,output_rate", [(48000, 16000), (16000, 48000), (44100, 48000), (8000, 48000)]
)
def test_medium_passband_ripple_within_0p1_db_to_0p9_nyquist(input_rate, output_rate):
    nyquist_low = min(input_rate, output_rate) / 2
    gains = []
    for freq in np.linspace(50.0, 0.9 * nyquist_low, 12):
        y = interior(resample(tone(freq, input_rate, 0.3), input_rate, output_rate), output_rate)
        amplitude, _ = sine_fit(y, freq, output_rate)
        gains.append(db(amplitude / 0.5))
    assert max(gains) - min(gains) <= 0.1
    assert max(abs(g) for g in gains) <= 0.05


@pytest.mark.parametrize(
    "input_rate,output_rate",
    [(48000, 16000), (16000, 48000), (44100, 48000), (8000, 48000), (24000, 48000)],
)
def test_medium_thd_plus_n_of_1khz_at_minus_3_dbfs_int16(input_rate, output_rate):
    amplitude = 32767 * 10 ** (-3 / 20)
    t = np.arange(input_rate) / input_rate
    x = np.round(amplitude * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    y = interior(resample(x, input_rate, output_rate), output_rate)
    fitted, residual = sine_fit(y, 1000.0, output_rate)
    thd_n_db = db(np.std(residual) / (fitted / math.sqrt(2)))
    assert thd_n_db <= -90.0
    assert abs(db(fitted / amplitude)) < 0.01


# ------------------------------------------------------------------------------ real speech


def test_speech_matches_soxr_and_round_trips(speech_dir):
    soxr = pytest.importorskip("soxr")
    x, rate = load_speech(speech_dir, "allison_demo-instruct_16k.wav")
    assert rate == 16000
    x = x[: 20 * rate]
    up = resample(x, 16000, 48000)
    reference = soxr.resample(x, 16000, 48000, quality="HQ")
    n = min(len(up), len(reference))
    a, b = up[:n].astype(np.float64), reference[:n].astype(np.float64)
    assert np.corrcoef(a, b)[0, 1] > 0.9999  # same time alignment, same band
    assert abs(db(np.std(a) / np.std(b))) < 0.05
    back = resample(up, 48000, 16000).astype(np.float64)
    assert len(back) == len(x)
    original = x.astype(np.float64)
    assert np.corrcoef(back, original)[0, 1] > 0.999
    assert abs(db(np.std(back) / np.std(original))) < 0.1


def test_speech_at_8k_upsampled_keeps_its_band(speech_dir):
    x, rate = load_speech(speech_dir, "codec2_morig_8k.wav")  # a real 8 kHz voice
    assert rate == 8000
    # float32 path: int16 output rounding would add white noise across the whole band
    y = resample(x.astype(np.float32), 8000, 48000).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y)))) ** 2
    freqs = np.fft.rfftfreq(len(y), 1 / 48000)
    in_band = spectrum[freqs < 3600].sum()
    images = spectrum[freqs > 4400].sum()
    assert 10 * math.log10(images / in_band) < -100  # 8k's spectrum is not repeated above 4.4k
