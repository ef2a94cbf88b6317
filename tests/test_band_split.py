"""The echo canceller's band split at 32/48 kHz (csrc/la_band.c): down to 16 kHz and back
is a pure delay for the speech band, and what lies above 8 kHz does not alias into it."""

import numpy as np
import pytest

import livekit_audio as la
from livekit_audio._native import _apm

RATES = (32000, 48000)


def _tones(freqs_hz, rate, seconds, rng):
    t = np.arange(int(rate * seconds)) / rate
    phases = rng.uniform(0, 2 * np.pi, len(freqs_hz))
    x = sum(np.sin(2 * np.pi * f * t + p) for f, p in zip(freqs_hz, phases, strict=True))
    return (3000.0 * x).astype(np.float32), phases


@pytest.mark.parametrize("rate", RATES)
def test_round_trip_is_a_pure_delay_below_7_khz(rate, rng):
    x, _ = _tones([150, 440, 1000, 2500, 4000, 5500, 6500, 7000], rate, 1.0, rng)
    _, back, delay = _apm.band_split(x, rate)
    assert delay == 2 * round(1.333e-3 * rate)
    warm = rate // 10
    ref = x[warm - delay : len(back) - delay].astype(np.float64)
    err = back[warm:].astype(np.float64) - ref
    assert 10 * np.log10(np.sum(err**2) / np.sum(ref**2)) < -60.0


@pytest.mark.parametrize("rate", RATES)
def test_low_band_is_the_16k_signal(rate, rng):
    freqs = [300.0, 2000.0, 6500.0]
    x, phases = _tones(freqs, rate, 0.5, rng)
    low, _, delay = _apm.band_split(x, rate)
    factor = rate // 16000
    m = np.arange(len(low))
    # low[m] is the input at high-rate sample factor*m, delayed by half the round trip
    t = (factor * m - delay / 2) / rate
    ref = 3000.0 * sum(np.sin(2 * np.pi * f * t + p) for f, p in zip(freqs, phases, strict=True))
    warm = 800
    err = low[warm:] - ref[warm:]
    assert 10 * np.log10(np.sum(err**2) / np.sum(ref[warm:] ** 2)) < -60.0


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("freq_hz", [9000.0, 12000.0, 15000.0])
def test_upper_band_does_not_alias_into_the_low_band(rate, freq_hz, rng):
    x, _ = _tones([freq_hz], rate, 0.5, rng)
    low, back, _ = _apm.band_split(x, rate)
    warm = 800
    in_power = np.mean(x.astype(np.float64) ** 2)
    assert 10 * np.log10(np.mean(low[warm:].astype(np.float64) ** 2) / in_power) < -55.0
    assert 10 * np.log10(np.mean(back[3 * warm :].astype(np.float64) ** 2) / in_power) < -55.0


@pytest.mark.parametrize("rate", [8000, 16000, 44100])
def test_band_split_rejects_other_rates(rate):
    with pytest.raises(ValueError, match="band split"):
        _apm.band_split(np.zeros(rate // 100, dtype=np.float32), rate)


@pytest.mark.parametrize(("rate", "extra"), [(16000, 0), (8000, 0), (32000, 86), (48000, 128)])
def test_module_delay_includes_the_split(rate, extra):
    def delay(**options):
        apm = la.AudioProcessingModule(**options)
        apm.process_stream(la.AudioFrame.create(rate, 1, rate // 100))
        return apm.delay_samples

    assert delay(echo_cancellation=True) == rate // 100 + extra
    assert delay(noise_suppression=True) == rate // 100
