"""AudioResampler / resample: the streaming contract (lengths, chunking, alignment, errors)."""

from __future__ import annotations

import itertools
import math
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import livekit_audio as la
from livekit_audio import AudioFrame, AudioResampler, AudioResamplerQuality, resample
from livekit_audio.resampler import _polyphase_filter

RATES = [8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 96000]
MAIN_PAIRS = [(48000, 16000), (16000, 48000), (44100, 48000), (8000, 48000), (24000, 48000)]


def expected_length(n_in: int, input_rate: int, output_rate: int) -> int:
    """round(n_in * output_rate / input_rate), half up, in exact integer arithmetic."""
    return (2 * n_in * output_rate + input_rate) // (2 * input_rate)


def stream(rs: AudioResampler, x: np.ndarray, chunks: list[int]) -> np.ndarray:
    """Push x in the given chunk sizes (cycled), flush, and concatenate the output."""
    out = []
    pos = 0
    for size in itertools.cycle(chunks):
        if pos >= len(x):
            break
        out += [f.to_ndarray() for f in rs.push(x[pos : pos + size])]
        pos += size
    out += [f.to_ndarray() for f in rs.flush()]
    if not out:
        return np.zeros((0, rs.num_channels), dtype=np.int16)
    return np.concatenate(out)


def noise_int16(rng: np.random.Generator, n: int, channels: int = 1) -> np.ndarray:
    return (rng.standard_normal((n, channels)) * 4000).astype(np.int16)


# ------------------------------------------------------------------------------- lengths


@pytest.mark.parametrize("input_rate", RATES)
@pytest.mark.parametrize("output_rate", RATES)
def test_total_length_is_rounded_ratio_for_every_rate_pair(input_rate, output_rate, rng):
    for n_in in (0, 1, 2, 99, 441, 4801):
        x = noise_int16(rng, n_in)
        rs = AudioResampler(input_rate, output_rate)
        pushed = sum(f.samples_per_channel for f in rs.push(x)) if n_in else 0
        flushed = sum(f.samples_per_channel for f in rs.flush())
        assert pushed + flushed == expected_length(n_in, input_rate, output_rate)
        assert len(resample(x[:, 0], input_rate, output_rate)) == expected_length(
            n_in, input_rate, output_rate
        )


@pytest.mark.parametrize("input_rate,output_rate", MAIN_PAIRS)
def test_streaming_holds_back_exactly_the_documented_latency(input_rate, output_rate, rng):
    rs = AudioResampler(input_rate, output_rate)
    assert rs.latency_ms <= 5.0 or min(input_rate, output_rate) < 16000
    frame = input_rate // 100
    x = noise_int16(rng, frame * 50)
    emitted = 0
    for i in range(50):
        emitted += sum(f.samples_per_channel for f in rs.push(x[i * frame : (i + 1) * frame]))
        ideal = (i + 1) * frame * output_rate / input_rate
        assert abs((ideal - emitted) - rs.latency) <= 1.0


def test_medium_latency_bar_48k_16k():
    assert AudioResampler(48000, 16000).latency_ms <= 5.0
    assert AudioResampler(16000, 48000).latency_ms <= 5.0


# ------------------------------------------------------------------------------- chunking


@pytest.mark.parametrize("input_rate,output_rate", MAIN_PAIRS + [(22050, 8000), (11025, 96000)])
@pytest.mark.parametrize("num_channels", [1, 2])
def test_any_chunking_is_bit_identical_to_one_shot(input_rate, output_rate, num_channels, rng):
    x = noise_int16(rng, input_rate // 2 + 37, num_channels)  # ~0.5 s, an awkward length
    one_shot = resample(x, input_rate, output_rate)
    random_sizes = [int(s) for s in rng.integers(1, 2000, size=64)]
    for chunks in ([1], [17], [160], [441], [509], [4800], random_sizes):
        if chunks == [1] and input_rate > 24000:
            x_used = x[: input_rate // 20]  # keep per-sample pushes fast
            expected = resample(x_used, input_rate, output_rate)
        else:
            x_used, expected = x, one_shot
        rs = AudioResampler(input_rate, output_rate, num_channels=num_channels)
        got = stream(rs, x_used, chunks)
        np.testing.assert_array_equal(got, expected, err_msg=f"chunks={chunks[:4]}")


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    pair=st.sampled_from(MAIN_PAIRS + [(32000, 22050), (96000, 8000)]),
    num_channels=st.integers(1, 3),
    n_in=st.integers(0, 3000),
)
def test_property_chunked_equals_one_shot(data, pair, num_channels, n_in):
    input_rate, output_rate = pair
    seed = data.draw(st.integers(0, 2**32 - 1))
    x = noise_int16(np.random.default_rng(seed), n_in, num_channels)
    chunks = data.draw(st.lists(st.integers(1, 700), min_size=1, max_size=12))
    got = stream(AudioResampler(input_rate, output_rate, num_channels=num_channels), x, chunks)
    np.testing.assert_array_equal(got, resample(x, input_rate, output_rate))


def test_flush_leaves_the_resampler_reusable(rng):
    x = noise_int16(rng, 4800)
    rs = AudioResampler(48000, 16000)
    first = stream(rs, x, [480])
    second = stream(rs, x, [480])
    np.testing.assert_array_equal(first, second)


def test_reset_forgets_history(rng):
    a, b = noise_int16(rng, 4800), noise_int16(rng, 4800)
    rs = AudioResampler(16000, 48000)
    rs.push(a)
    rs.reset()
    np.testing.assert_array_equal(stream(rs, b, [160]), resample(b, 16000, 48000))


def test_float32_one_shot_matches_int16_path_on_integer_input(rng):
    x = noise_int16(rng, 3000)
    y16 = resample(x, 44100, 48000)
    yf = resample(x.astype(np.float32), 44100, 48000)
    np.testing.assert_array_equal(y16, np.clip(np.rint(yf), -32768, 32767).astype(np.int16))


def test_one_shot_accepts_fortran_order_and_strided_views(rng):
    x = noise_int16(rng, 2000, 2)
    expected = resample(np.ascontiguousarray(x), 48000, 16000)
    np.testing.assert_array_equal(resample(np.asfortranarray(x), 48000, 16000), expected)
    wide = noise_int16(rng, 2000, 4)
    wide[:, ::2] = x
    np.testing.assert_array_equal(resample(wide[:, ::2], 48000, 16000), expected)
    mono = resample(x[:, 0].copy(), 48000, 16000)
    assert mono.ndim == 1
    np.testing.assert_array_equal(mono, resample(x[:, :1], 48000, 16000)[:, 0])


# ------------------------------------------------------------------------------- alignment


@pytest.mark.parametrize("input_rate,output_rate", MAIN_PAIRS + [(22050, 8000), (11025, 96000)])
def test_output_sample_k_is_the_input_at_time_k_over_output_rate(input_rate, output_rate, rng):
    """A sum of in-band sines evaluated analytically at t = k / output_rate is the oracle."""
    nyquist_low = min(input_rate, output_rate) / 2
    freqs = rng.uniform(20, 0.85 * nyquist_low, size=6)
    phases = rng.uniform(0, 2 * np.pi, size=6)

    def signal(t: np.ndarray) -> np.ndarray:
        return sum(0.1 * np.sin(2 * np.pi * f * t + p) for f, p in zip(freqs, phases, strict=False))

    n_in = input_rate // 2
    x = signal(np.arange(n_in) / input_rate).astype(np.float32)
    y = resample(x, input_rate, output_rate)
    k = np.arange(len(y))
    edge = int(0.02 * output_rate)  # the filter sees silence before 0 and after the end
    ideal = signal(k / output_rate)
    err = np.max(np.abs(y[edge:-edge] - ideal[edge:-edge]))
    assert err < 1e-5 * 0.6  # -100 dB of the 0.6 peak: a one-sample shift would be ~1e-1


def test_int16_path_tracks_the_ideal_within_quantisation(rng):
    t_in = np.arange(16000) / 16000
    x = np.round(12000 * np.sin(2 * np.pi * 440 * t_in)).astype(np.int16)
    y = resample(x, 16000, 48000).astype(np.float64)
    ideal = 12000 * np.sin(2 * np.pi * 440 * np.arange(len(y)) / 48000)
    assert np.max(np.abs(y[1000:-1000] - ideal[1000:-1000])) <= 1.5  # input + output rounding


# ------------------------------------------------------------------------------- no dither


@pytest.mark.parametrize("input_rate,output_rate", MAIN_PAIRS)
def test_silence_in_silence_out(input_rate, output_rate):
    assert not resample(np.zeros(4801, np.int16), input_rate, output_rate).any()
    assert not resample(np.zeros(4801, np.float32), input_rate, output_rate).any()
    rs = AudioResampler(input_rate, output_rate)
    assert not stream(rs, np.zeros((4801, 1), np.int16), [160]).any()


@pytest.mark.parametrize("value", [1, -1, 1000, -12345, 32767, -32768])
@pytest.mark.parametrize("input_rate,output_rate", MAIN_PAIRS)
def test_dc_in_gives_the_same_value_out(value, input_rate, output_rate):
    y = resample(np.full(input_rate // 10, value, np.int16), input_rate, output_rate)
    interior = y[len(y) // 4 : -len(y) // 4]
    assert np.all(interior == value)
    # the steps at both ends ring; overshoot must saturate, never wrap to the other sign
    ring = 0.15 * abs(value) + 1
    assert (y.min() > -ring) if value > 0 else (y.max() < ring)


def test_full_scale_square_wave_saturates_without_wrapping():
    x = np.tile(np.r_[np.full(40, 32767), np.full(40, -32768)].astype(np.int16), 200)
    y = resample(x, 48000, 16000).astype(np.int32)
    assert y.max() == 32767 and y.min() == -32768  # Gibbs overshoot clipped
    # a wrap would put a large negative value right after a positive peak
    assert np.max(np.abs(np.diff(y))) < 65535


# ------------------------------------------------------------------------------- API contract


def test_identical_rates_pass_frames_through_unchanged(rng):
    rs = AudioResampler(48000, 48000, num_channels=2)
    frame = AudioFrame.from_ndarray(noise_int16(rng, 480, 2), 48000)
    out = rs.push(frame)
    assert out == [frame]
    assert rs.flush() == []
    assert rs.latency == 0
    x = noise_int16(rng, 100)
    np.testing.assert_array_equal(resample(x, 16000, 16000), x)
    (passed,) = AudioResampler(16000, 16000).push(x)
    x[:] = 0  # the caller reuses its buffer: frames it already received must not change
    assert passed.to_ndarray().any()


def test_empty_input_returns_empty_list():
    rs = AudioResampler(48000, 16000)
    assert rs.push(AudioFrame.create(48000, 1, 0)) == []
    assert rs.push(b"") == []
    assert rs.push(np.zeros(0, np.int16)) == []
    assert rs.flush() == []


def test_push_accepts_frames_arrays_and_byte_buffers(rng):
    x = noise_int16(rng, 4800)
    expected = resample(x, 48000, 16000)
    for make in (
        lambda a: AudioFrame.from_ndarray(a, 48000),
        lambda a: a,
        lambda a: a[:, 0],
        lambda a: a.tobytes(),
        lambda a: bytearray(a.tobytes()),
        lambda a: memoryview(a.tobytes()),
    ):
        rs = AudioResampler(48000, 16000)
        out = [f.to_ndarray() for i in range(10) for f in rs.push(make(x[i * 480 : (i + 1) * 480]))]
        out += [f.to_ndarray() for f in rs.flush()]
        np.testing.assert_array_equal(np.concatenate(out), expected)


def test_push_accepts_livekit_rtc_frames(rng):
    rtc = pytest.importorskip("livekit.rtc")
    x = noise_int16(rng, 4800)
    rs = AudioResampler(48000, 16000)
    out = []
    for i in range(10):
        chunk = x[i * 480 : (i + 1) * 480]
        out += [f.to_ndarray() for f in rs.push(rtc.AudioFrame(chunk.tobytes(), 48000, 1, 480))]
    out += [f.to_ndarray() for f in rs.flush()]
    np.testing.assert_array_equal(np.concatenate(out), resample(x, 48000, 16000))


def test_output_frames_carry_the_output_layout(rng):
    rs = AudioResampler(16000, 48000, num_channels=2)
    (frame,) = rs.push(AudioFrame.from_ndarray(noise_int16(rng, 1600, 2), 16000))
    assert (frame.sample_rate, frame.num_channels) == (48000, 2)
    assert frame.samples_per_channel == frame.to_ndarray().shape[0]
    assert frame.data.readonly is False


def test_mismatched_frames_raise_value_error():
    rs = AudioResampler(48000, 16000, num_channels=1)
    with pytest.raises(ValueError, match="sample_rate mismatch: expected 48000, got 16000"):
        rs.push(AudioFrame.create(16000, 1, 160))
    with pytest.raises(ValueError, match="num_channels mismatch: expected 1, got 2"):
        rs.push(AudioFrame.create(48000, 2, 480))
    with pytest.raises(ValueError, match="2 channels, expected 1"):
        rs.push(np.zeros((480, 2), np.int16))
    with pytest.raises(ValueError, match="whole number"):
        AudioResampler(48000, 16000, num_channels=2).push(b"\x00" * 6)
    with pytest.raises(ValueError, match="961 samples is not a whole number of 2-channel"):
        AudioResampler(48000, 16000, num_channels=2).push(np.zeros(961, np.int16))
    with pytest.raises(TypeError, match="int16"):
        rs.push(np.zeros(480, np.float32))
    with pytest.raises(TypeError):
        rs.push(12345)


def test_a_failed_push_leaves_the_stream_intact(rng):
    x = noise_int16(rng, 4800)
    rs = AudioResampler(48000, 16000)
    out = [f.to_ndarray() for f in rs.push(x[:2400])]
    with pytest.raises(ValueError):
        rs.push(AudioFrame.create(44100, 1, 441))
    out += [f.to_ndarray() for f in rs.push(x[2400:])]
    out += [f.to_ndarray() for f in rs.flush()]
    np.testing.assert_array_equal(np.concatenate(out), resample(x, 48000, 16000))


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(input_rate=0, output_rate=16000), ValueError, "input_rate must be within"),
        (dict(input_rate=48000, output_rate=10**7), ValueError, "output_rate must be within"),
        (dict(input_rate=48000.0, output_rate=16000), TypeError, "input_rate must be an int"),
        (dict(input_rate=48000, output_rate=16000, num_channels=0), ValueError, "num_channels"),
        (dict(input_rate=48000, output_rate=16000, num_channels=9), ValueError, "num_channels"),
        (dict(input_rate=48000, output_rate=16000, quality="best"), ValueError, "quality"),
        (dict(input_rate=48000, output_rate=16000, backend="sox"), ValueError, "backend"),
        (dict(input_rate=48000, output_rate=47999), ValueError, "up to 4096.*soxr"),
    ],
)
def test_bad_constructor_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        AudioResampler(**kwargs)


def test_one_shot_rejects_bad_arrays():
    with pytest.raises(TypeError, match="int16 or float32, got float64"):
        resample(np.zeros(10), 48000, 16000)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        resample([0, 1, 2], 48000, 16000)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        resample(np.zeros((2, 2, 2), np.int16), 48000, 16000)
    with pytest.raises(ValueError, match="num_channels"):
        resample(np.zeros((10, 9), np.int16), 48000, 16000)


def test_quality_accepts_enum_and_string():
    assert AudioResampler(48000, 16000, quality="HIGH").quality is AudioResamplerQuality.HIGH
    a = AudioResampler(48000, 16000, quality="high")
    b = AudioResampler(48000, 16000, quality=AudioResamplerQuality.HIGH)
    assert a.quality is b.quality is AudioResamplerQuality.HIGH
    assert "HIGH" in repr(a) and "latency=" in repr(a)


def test_filters_are_designed_once_per_ratio_and_quality():
    a = AudioResampler(48000, 16000)
    b = AudioResampler(96000, 32000)  # same reduced ratio 3:1
    assert a._state.filter is b._state.filter
    assert a._state.filter is not AudioResampler(48000, 16000, quality="high")._state.filter
    assert _polyphase_filter(48000, 16000, AudioResamplerQuality.MEDIUM) is a._state.filter


def test_unusual_ratios_work_with_the_soxr_backend(rng):
    rs = AudioResampler(48000, 47999, backend="soxr")
    x = noise_int16(rng, 4800)
    assert abs(len(stream(rs, x, [480])) - 4800) <= 1


def test_every_listed_rate_pair_and_channel_count_is_supported():
    for input_rate, output_rate in itertools.permutations(RATES, 2):
        for q in AudioResamplerQuality:
            AudioResampler(input_rate, output_rate, num_channels=8, quality=q)


# ------------------------------------------------------------------------------- soxr backend


@pytest.mark.parametrize("input_rate,output_rate", MAIN_PAIRS)
def test_soxr_backend_has_the_same_api_and_agrees_with_native(input_rate, output_rate, rng):
    soxr = pytest.importorskip("soxr")
    t = np.arange(input_rate) / input_rate
    x = np.round(8000 * np.sin(2 * np.pi * 997 * t) + 3000 * np.sin(2 * np.pi * 3001 * t))
    x = x.astype(np.int16)[:, None]
    rs = AudioResampler(input_rate, output_rate, backend="soxr")
    assert rs.backend == "soxr" and rs.latency >= 0
    got = stream(rs, x, [input_rate // 100])
    native = resample(x, input_rate, output_rate)
    assert abs(len(got) - len(native)) <= 1
    n = min(len(got), len(native))
    a, b = got[:n, 0].astype(float), native[:n, 0].astype(float)
    assert np.corrcoef(a, b)[0, 1] > 0.9999
    assert abs(20 * math.log10(np.std(a) / np.std(b))) < 0.05
    # reusable after flush; libsoxr TPDF-dithers int16 output, so runs differ by <= 2 LSB
    again = stream(rs, x, [input_rate // 100])
    assert again.shape == got.shape
    assert np.max(np.abs(again.astype(int) - got.astype(int))) <= 2
    assert soxr  # the reference is python-soxr itself


# ------------------------------------------------------------------------------- threads


def test_independent_resamplers_in_threads_are_deterministic(rng):
    signals = [noise_int16(rng, 48000, 2) for _ in range(4)]
    expected = [resample(s, 48000, 16000) for s in signals]

    def work(s: np.ndarray) -> np.ndarray:
        return stream(AudioResampler(48000, 16000, num_channels=2), s, [480])

    with ThreadPoolExecutor(4) as pool:
        for got, want in zip(pool.map(work, signals * 3), expected * 3, strict=False):
            np.testing.assert_array_equal(got, want)


def test_one_instance_shared_by_threads_never_corrupts_silently(rng):
    """Overlapping calls on one instance either succeed or raise RuntimeError."""
    rs = AudioResampler(48000, 16000)
    frame = AudioFrame.from_ndarray(noise_int16(rng, 48000), 48000)
    errors: list[BaseException] = []

    def work() -> None:
        for _ in range(20):
            try:
                rs.push(frame)
            except RuntimeError:
                pass
            except BaseException as exc:  # anything else is a bug
                errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_package_exports():
    for name in ("AudioResampler", "AudioResamplerQuality", "resample", "QUALITY_SPECS"):
        assert name in la.__all__ and hasattr(la, name)


def test_portable_kernel_agrees_with_the_dispatched_one(rng, monkeypatch):
    """The path arm64 and pre-AVX2 CPUs take: chunk-invariant and equal up to float rounding."""
    from livekit_audio._native import _resample

    x = noise_int16(rng, 9601, 2)
    xf = x.astype(np.float32)
    fast = {pair: resample(xf, *pair) for pair in MAIN_PAIRS}
    monkeypatch.setenv("LIVEKIT_AUDIO_NO_SIMD", "1")
    assert _resample.dot_kernel_name() == "generic"
    for pair in MAIN_PAIRS:
        portable = resample(xf, *pair)
        np.testing.assert_allclose(portable, fast[pair], rtol=0, atol=1e-2)  # a few float32 ULPs
        got = stream(AudioResampler(*pair, num_channels=2), x, [509])
        np.testing.assert_array_equal(got, resample(x, *pair))


@pytest.mark.parametrize("num_channels", [1, 2])
@pytest.mark.parametrize("chunk", [2000, 2600, 3100])
def test_chunking_invariance_with_odd_interpolation_factor(num_channels, chunk, rng):
    """32k -> 22.05k has L = 441 (odd): chunks of 2000-3100 frames make 882-1764 outputs, the
    range where mono pairs rows over blocks of 2L and the last row pairs with itself."""
    x = noise_int16(rng, 32000, num_channels)
    got = stream(AudioResampler(32000, 22050, num_channels=num_channels), x, [chunk])
    np.testing.assert_array_equal(got, resample(x, 32000, 22050))


def test_a_shared_resampler_refuses_a_call_that_overlaps_another():
    """While one thread is inside ``push`` (here: held up reading a duck-typed frame's data),
    another thread's ``push``/``flush``/``reset`` raises the documented "in use"
    RuntimeError at once, instead of sizing its output from a state the first call is about
    to change (which gave zero-filled tails or buffer-size errors); the first call then
    completes with its whole output."""
    import threading

    entered, release = threading.Event(), threading.Event()
    samples = np.full(480, 1000, np.int16)

    class SlowFrame:
        sample_rate, num_channels, samples_per_channel = 48000, 1, 480

        @property
        def data(self):
            entered.set()
            release.wait(10)
            return memoryview(samples)

    rs = AudioResampler(48000, 16000)
    result: list = []
    first = threading.Thread(target=lambda: result.append(rs.push(SlowFrame())))
    first.start()
    assert entered.wait(10)
    try:
        for call in (
            lambda: rs.push(AudioFrame.from_ndarray(samples, 48000)),
            rs.flush,
            rs.reset,
        ):
            with pytest.raises(RuntimeError, match="in use by another thread"):
                call()
    finally:
        release.set()
        first.join(10)
    (out,) = result
    (expected,) = AudioResampler(48000, 16000).push(AudioFrame.from_ndarray(samples, 48000))
    assert [bytes(f.data) for f in out] == [bytes(expected.data)]
    assert rs.push(AudioFrame.from_ndarray(samples, 48000))  # usable again


def test_an_empty_two_channel_array_is_valid_input():
    rs = AudioResampler(48000, 16000, num_channels=2)
    assert rs.push(np.zeros((0, 2), np.int16)) == []


@pytest.mark.parametrize("quality", ["low", "medium", "high", "very_high"])
def test_the_documented_down_sampling_limit_is_exact(quality):
    """max_down_ratio is what the C design accepts: the integer ratio just under it designs,
    the one just over it raises a ValueError saying what to do (not a bare status code).
    (QUICK reaches 1129:1, past the 768:1 the rate range allows.)"""
    from livekit_audio.resampler import max_down_ratio

    limit = max_down_ratio(quality)
    AudioResampler(math.floor(limit) * 1000, 1000, quality=quality)
    with pytest.raises(ValueError, match="resample in two steps through an intermediate rate"):
        AudioResampler(math.ceil(limit) * 1000, 1000, quality=quality)


@pytest.mark.parametrize("in_frames", [2**40, 2**55, 2**62, 2**63 - 1])
def test_output_count_does_not_wrap_for_huge_inputs(in_frames):
    """la_resampler_output_count used to overflow int64 (UBSan: signed overflow) for huge
    counts; it now computes by parts and saturates, so it never goes negative or wraps."""
    from livekit_audio._native import _resample as _k
    from livekit_audio.resampler import AudioResamplerQuality, _polyphase_filter

    for rates in [(16000, 48000), (44100, 48000), (48000, 16000)]:
        state = _k.StreamState(_polyphase_filter(*rates, AudioResamplerQuality.MEDIUM), 1)
        n = state.output_count(in_frames)
        exact = in_frames * rates[1] // rates[0]  # Python ints: no overflow
        assert 0 < n <= 2**63 - 1
        # short of the exact count by the filter's held-back outputs, or saturated
        assert 0 <= exact - n <= 1024 or n == 2**63 - 1
