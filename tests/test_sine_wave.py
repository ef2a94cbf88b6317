"""sine_wave_generator: 10 ms framing, the partial tail, sample values, spectrum, validation."""

from __future__ import annotations

import inspect
import itertools
import math

import numpy as np
import pytest

from livekit_audio import AudioFrame, sine_wave_generator


async def collect(*args, **kwargs) -> list[AudioFrame]:
    return [frame async for frame in sine_wave_generator(*args, **kwargs)]


def joined(frames: list[AudioFrame]) -> np.ndarray:
    if not frames:
        return np.zeros(0, np.int16)
    return np.concatenate([frame.to_ndarray()[:, 0] for frame in frames])


def oracle(
    freq: float, duration: float, sample_rate: int, amplitude: float
) -> tuple[np.ndarray, np.ndarray]:
    """round(amplitude * 32767 * sin(2 pi f n / rate)) for the whole signal, and unrounded."""
    n = np.arange(round(duration * sample_rate), dtype=np.float64)
    exact = amplitude * 32767.0 * np.sin(2.0 * np.pi * freq * n / sample_rate)
    return np.round(exact).astype(np.int16), exact


# --------------------------------------------------------------------------------------------
# Framing
# --------------------------------------------------------------------------------------------


def test_is_an_async_generator():
    gen = sine_wave_generator(440, 0.01)
    assert inspect.isasyncgen(gen)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("duration", "sample_rate", "lengths"),
    [
        (0.025, 48000, [480, 480, 240]),
        (0.01, 48000, [480]),
        (0.02, 16000, [160, 160]),
        (0.005, 16000, [80]),
        (0.0123, 8000, [80, 18]),  # 98.4 samples -> 98
        (0.0, 48000, []),
        (1 / 48000, 48000, [1]),
        (0.1, 44100, [441] * 10),
        (0.0101, 44100, [441, 4]),  # 445.41 -> 445
    ],
)
async def test_frame_lengths_keep_the_partial_tail(duration, sample_rate, lengths):
    frames = await collect(440, duration, sample_rate=sample_rate)
    assert [f.samples_per_channel for f in frames] == lengths
    assert sum(lengths) == round(duration * sample_rate)


@pytest.mark.asyncio
@pytest.mark.parametrize("duration", [0.0, 0.001, 0.0099, 0.0151, 0.333, 1.0, 2.5049])
@pytest.mark.parametrize("sample_rate", [8000, 16000, 24000, 44100, 48000])
async def test_total_samples_and_frame_layout(duration, sample_rate):
    frames = await collect(100, duration, sample_rate=sample_rate)
    total = round(duration * sample_rate)
    frame_len = sample_rate // 100
    assert sum(f.samples_per_channel for f in frames) == total
    assert len(frames) == math.ceil(total / frame_len)
    for index, frame in enumerate(frames):
        assert isinstance(frame, AudioFrame)
        assert frame.sample_rate == sample_rate
        assert frame.num_channels == 1
        assert frame.data.format == "h"
        if index < len(frames) - 1:
            assert frame.samples_per_channel == frame_len
            assert frame.duration == pytest.approx(0.01)
        else:
            assert 0 < frame.samples_per_channel <= frame_len


@pytest.mark.asyncio
async def test_frames_are_independent_and_writable():
    frames = await collect(1000, 0.05)
    for frame in frames:
        assert not frame.data.readonly
    for a, b in itertools.pairwise(frames):
        assert not np.shares_memory(a.to_ndarray(), b.to_ndarray())
    before = frames[1].to_ndarray().copy()
    frames[0].to_ndarray()[:] = 0
    np.testing.assert_array_equal(frames[1].to_ndarray(), before)


# --------------------------------------------------------------------------------------------
# Sample values
# --------------------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("freq", "sample_rate"),
    [
        (440, 48000),
        (1000, 16000),
        (997, 44100),
        (3000.5, 48000),
        (123.456, 8000),
        (7999, 16000),
        (1, 48000),
        (23999, 48000),
    ],
)
@pytest.mark.parametrize("amplitude", [0.3, 0.123, 0.77])
async def test_samples_match_numpy_oracle(freq, sample_rate, amplitude):
    duration = 0.537  # not a whole number of frames: the tail is checked too
    samples = joined(await collect(freq, duration, sample_rate=sample_rate, amplitude=amplitude))
    expected, _ = oracle(freq, duration, sample_rate, amplitude)
    assert samples.dtype == np.int16
    np.testing.assert_array_equal(samples, expected)


@pytest.mark.asyncio
async def test_default_arguments_match_oracle():
    samples = joined(await collect(440, 0.25))
    expected, _ = oracle(440, 0.25, 48000, 0.3)
    np.testing.assert_array_equal(samples, expected)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("freq", "sample_rate"), [(1000, 48000), (440, 48000), (997, 44100), (100, 48000)]
)
async def test_full_scale_matches_oracle_up_to_exact_ties(freq, sample_rate):
    # At amplitude 1, 32767 * sin(x) lands exactly on k + 0.5 whenever sin(x) = 0.5 (e.g. 30 deg),
    # where a 1-ulp difference in the phase decides the rounding; anything else must be exact.
    samples = joined(await collect(freq, 1.0, sample_rate=sample_rate, amplitude=1.0))
    expected, exact = oracle(freq, 1.0, sample_rate, 1.0)
    diff = samples.astype(np.int64) - expected.astype(np.int64)
    mismatched = diff != 0
    assert np.all(np.abs(diff) <= 1)
    distance_to_tie = np.abs(np.abs(exact - np.trunc(exact)) - 0.5)
    assert np.all(distance_to_tie[mismatched] < 1e-6)
    assert samples.max() <= 32767 and samples.min() >= -32767


@pytest.mark.asyncio
@pytest.mark.parametrize("freq", [440, 997, 1234.5])
async def test_phase_is_continuous_across_frames(freq):
    frames = await collect(freq, 0.1, sample_rate=16000, amplitude=0.5)
    whole = joined(frames)
    expected, _ = oracle(freq, 0.1, 16000, 0.5)
    # Compare the two samples around each frame boundary explicitly.
    for boundary in range(160, whole.size, 160):
        np.testing.assert_array_equal(
            whole[boundary - 1 : boundary + 1], expected[boundary - 1 : boundary + 1]
        )
    # The second frame does not restart at phase 0 (it would repeat the first frame).
    assert not np.array_equal(frames[0].to_ndarray(), frames[1].to_ndarray())


@pytest.mark.asyncio
async def test_shorter_signal_is_a_prefix_of_a_longer_one():
    short = joined(await collect(523.25, 0.137, sample_rate=24000))
    long = joined(await collect(523.25, 1.0, sample_rate=24000))
    np.testing.assert_array_equal(long[: short.size], short)


@pytest.mark.asyncio
@pytest.mark.parametrize("amplitude", [0.3, 0.5, 0.9, 1.0])
async def test_peak_is_amplitude_times_full_scale(amplitude):
    samples = joined(
        await collect(1000, 0.5, amplitude=amplitude)
    )  # 48 samples/period: hits the crest
    peak = round(amplitude * 32767)
    assert abs(int(np.abs(samples.astype(np.int32)).max()) - peak) <= 1
    assert int(np.abs(samples.astype(np.int32)).max()) <= peak
    assert int(samples.max()) == -int(samples.min())


@pytest.mark.asyncio
async def test_peak_for_non_synchronous_frequency():
    samples = joined(await collect(997, 1.0, amplitude=0.3))
    assert 0.999 * 0.3 * 32767 <= np.abs(samples.astype(np.int32)).max() <= round(0.3 * 32767)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("freq", "sample_rate"),
    [(440, 48000), (1000, 16000), (50, 8000), (3999, 8000), (12000, 44100), (7, 16000)],
)
async def test_dominant_fft_bin_is_the_frequency(freq, sample_rate):
    samples = joined(await collect(freq, 1.0, sample_rate=sample_rate))  # 1 Hz per bin
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    assert int(np.argmax(spectrum)) == freq
    # A pure tone: essentially all the energy sits in that bin.
    assert spectrum[freq] ** 2 / np.sum(spectrum**2) > 0.999


@pytest.mark.asyncio
async def test_zero_frequency_and_zero_amplitude_are_silent():
    assert not joined(await collect(0, 0.05)).any()
    assert len(await collect(0, 0.05)) == 5
    assert not joined(await collect(440, 0.05, amplitude=0.0)).any()


@pytest.mark.asyncio
async def test_numpy_integer_sample_rate_is_accepted():
    frames = await collect(440, 0.015, sample_rate=np.int64(16000))
    assert [f.samples_per_channel for f in frames] == [160, 80]
    assert all(f.sample_rate == 16000 for f in frames)
    np.testing.assert_array_equal(joined(frames), oracle(440, 0.015, 16000, 0.3)[0])


# --------------------------------------------------------------------------------------------
# Validation (an async generator raises on its first iteration, not when called)
# --------------------------------------------------------------------------------------------

BAD_ARGUMENTS = [
    pytest.param(
        {"duration": -0.01},
        ValueError,
        r"duration must be within \[0, 86400\.0\] s, got -0\.01",
        id="negative-duration",
    ),
    pytest.param({"duration": float("nan")}, ValueError, r"duration .* got nan", id="nan-duration"),
    pytest.param({"duration": float("inf")}, ValueError, r"duration .* got inf", id="inf-duration"),
    pytest.param(
        {"freq": 24000},
        ValueError,
        r"freq must be within \[0, 24000\.0\) Hz, got 24000",
        id="freq-at-nyquist",
    ),
    pytest.param({"freq": 30000}, ValueError, r"got 30000", id="freq-above-nyquist"),
    pytest.param(
        {"freq": 8000, "sample_rate": 16000},
        ValueError,
        r"\[0, 8000\.0\)",
        id="freq-at-nyquist-16k",
    ),
    pytest.param({"freq": -1}, ValueError, r"freq must be within .* got -1", id="negative-freq"),
    pytest.param({"freq": float("nan")}, ValueError, r"freq .* got nan", id="nan-freq"),
    pytest.param({"freq": float("inf")}, ValueError, r"freq .* got inf", id="inf-freq"),
    pytest.param(
        {"amplitude": 1.0001},
        ValueError,
        r"amplitude must be within \[0, 1\], got 1\.0001",
        id="amplitude-above-1",
    ),
    pytest.param(
        {"amplitude": -0.1}, ValueError, r"amplitude .* got -0\.1", id="negative-amplitude"
    ),
    pytest.param(
        {"amplitude": float("nan")}, ValueError, r"amplitude .* got nan", id="nan-amplitude"
    ),
    pytest.param({"sample_rate": 0}, ValueError, r"\[100, 768000\] Hz, got 0", id="rate-zero"),
    pytest.param({"sample_rate": 99}, ValueError, r"\[100, 768000\] Hz, got 99", id="rate-too-low"),
    pytest.param({"sample_rate": -48000}, ValueError, r"got -48000", id="rate-negative"),
    pytest.param(
        {"sample_rate": 48000.0},
        TypeError,
        r"sample_rate must be an int, got float",
        id="rate-float",
    ),
    pytest.param({"sample_rate": "48000"}, TypeError, r"got str", id="rate-str"),
    pytest.param({"sample_rate": True}, TypeError, r"got bool", id="rate-bool"),
]


@pytest.mark.parametrize(("overrides", "error", "match"), BAD_ARGUMENTS)
def test_bad_arguments_raise_at_the_call(overrides, error, match):
    kwargs = {"freq": 440, "duration": 0.1, "sample_rate": 48000, "amplitude": 0.3, **overrides}
    with pytest.raises(error, match=match):
        sine_wave_generator(**kwargs)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "kwargs",
    [
        {"freq": 23999.99, "duration": 0.01},
        {"freq": 0, "duration": 0.01},
        {"freq": 440, "duration": 0.01, "amplitude": 1.0},
        {"freq": 440, "duration": 0.01, "amplitude": 0.0},
        {"freq": 440, "duration": 0.0},
        {"freq": 40, "duration": 0.01, "sample_rate": 100},
    ],
)
async def test_boundary_arguments_are_accepted(kwargs):
    frames = await collect(**kwargs)
    assert sum(f.samples_per_channel for f in frames) == round(
        kwargs["duration"] * kwargs.get("sample_rate", 48000)
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("sample_rate,frame_len", [(22050, 220), (11025, 110), (44100, 441)])
async def test_cd_family_rates_use_rate_over_100_sample_frames(sample_rate, frame_len):
    frames = [f async for f in sine_wave_generator(440, 0.05, sample_rate=sample_rate)]
    assert {f.samples_per_channel for f in frames[:-1]} == {frame_len}
    assert sum(f.samples_per_channel for f in frames) == round(0.05 * sample_rate)
