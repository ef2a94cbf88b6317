"""The C mix and gain kernels (csrc/la_mix.c) against naive numpy oracles.

Contract under test (la_dsp.h): unity gains are an exact int32 sum saturated once; other gains
accumulate in float32 in input order (separately rounded products and sums), then clamp and
round half to even. The gain kernel is the same arithmetic on one buffer, with an optional
per-frame linear ramp that ends exactly at the target gain.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from livekit_audio._native import _mix

LENGTHS = [0, 1, 2, 7, 255, 256, 257, 479, 480, 513, 1001]


# --------------------------------------------------------------------------- oracles


def oracle_unity(xs: list[np.ndarray], n: int) -> np.ndarray:
    total = np.zeros(n, dtype=np.int64)
    for x in xs:
        total += x[:n]
    return np.clip(total, -32768, 32767).astype(np.int16)


def oracle_weighted(xs: list[np.ndarray], gains: list[float], n: int) -> np.ndarray:
    """float32 accumulation in input order, exactly as the kernel documents it."""
    if not xs:
        return np.zeros(n, dtype=np.int16)
    acc = np.float32(gains[0]) * xs[0][:n].astype(np.float32)
    for g, x in zip(gains[1:], xs[1:], strict=True):
        acc = acc + np.float32(g) * x[:n].astype(np.float32)
    return np.rint(np.clip(acc, -32768, 32767)).astype(np.int16)


def oracle_gain(x: np.ndarray, num_channels: int, g0: float, g1: float) -> np.ndarray:
    frames = len(x) // num_channels
    y = x.copy()
    body = x[: frames * num_channels].reshape(frames, num_channels).astype(np.float32)
    if np.float32(g0) == np.float32(g1):
        g = np.full(frames, np.float32(g0), dtype=np.float32)
    else:
        t = np.arange(1, frames + 1, dtype=np.float32) / np.float32(frames)
        g = np.float32(g0) * (np.float32(1) - t) + np.float32(g1) * t
    out = np.rint(np.clip(g[:, None] * body, -32768, 32767)).astype(np.int16)
    y[: frames * num_channels] = out.reshape(-1)
    return y


def mix(xs: list[np.ndarray], gains: list[float] | None, n: int) -> np.ndarray:
    out = np.empty(n, dtype=np.int16)
    _mix.mix(xs, gains, out)
    return out


def full_range(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(-32768, 32768, size=n, dtype=np.int16)


# --------------------------------------------------------------------------- unity path


@pytest.mark.parametrize("n_inputs", range(1, 17))
def test_unity_sum_is_exact_saturating_sum(rng, n_inputs):
    for n in LENGTHS:
        xs = [full_range(rng, n) for _ in range(n_inputs)]
        np.testing.assert_array_equal(mix(xs, None, n), oracle_unity(xs, n))


def test_unity_gains_take_the_exact_integer_path(rng):
    xs = [full_range(rng, 1001) for _ in range(5)]
    np.testing.assert_array_equal(mix(xs, [1.0] * 5, 1001), oracle_unity(xs, 1001))


def test_saturation_is_applied_once_to_the_total(rng):
    hi = np.full(300, 32767, dtype=np.int16)
    lo = np.full(300, -32768, dtype=np.int16)
    # pairwise saturation would give 32767 + 32767 -> 32767, then -32768 -> -1
    np.testing.assert_array_equal(mix([hi, hi, lo], None, 300), np.full(300, 32766))
    np.testing.assert_array_equal(mix([hi] * 16, None, 300), hi)
    np.testing.assert_array_equal(mix([lo] * 16, None, 300), lo)
    xs = [full_range(rng, 513) for _ in range(9)]
    reference = mix(xs, None, 513)
    for _ in range(5):
        order = rng.permutation(len(xs))
        np.testing.assert_array_equal(mix([xs[i] for i in order], None, 513), reference)


def test_no_inputs_writes_silence():
    out = np.full(257, 123, dtype=np.int16)
    _mix.mix([], None, out)
    np.testing.assert_array_equal(out, 0)


def test_out_may_be_one_of_the_inputs(rng):
    xs = [full_range(rng, 1001) for _ in range(3)]
    expected_unity = oracle_unity(xs, 1001)
    expected_weighted = oracle_weighted(xs, [0.5, 0.25, 2.0], 1001)
    a = [x.copy() for x in xs]
    _mix.mix(a, None, a[0])
    np.testing.assert_array_equal(a[0], expected_unity)
    b = [x.copy() for x in xs]
    _mix.mix(b, [0.5, 0.25, 2.0], b[1])
    np.testing.assert_array_equal(b[1], expected_weighted)
    c = xs[0].copy()
    _mix.mix([c], None, c)
    np.testing.assert_array_equal(c, xs[0])


def test_longer_inputs_mix_only_the_output_length(rng):
    xs = [full_range(rng, 500), full_range(rng, 480)]
    np.testing.assert_array_equal(mix(xs, None, 480), oracle_unity(xs, 480))


# --------------------------------------------------------------------------- gains


@pytest.mark.parametrize("n_inputs", [1, 2, 3, 4, 7, 8, 15, 16])
def test_weighted_sum_matches_float32_oracle(rng, n_inputs):
    for n in LENGTHS:
        xs = [full_range(rng, n) for _ in range(n_inputs)]
        gains = [float(g) for g in rng.uniform(-4.0, 4.0, n_inputs)]
        got = mix(xs, gains, n)
        np.testing.assert_array_equal(got, oracle_weighted(xs, gains, n))
        # and within one step of the exact (float64) weighted sum
        exact = sum(g * x.astype(np.float64) for g, x in zip(gains, xs, strict=True))
        exact = np.clip(exact, -32768, 32767)
        assert np.all(np.abs(got.astype(np.float64) - exact) <= 1.0)


def test_unity_terms_stay_exact_next_to_scaled_ones(rng):
    xs = [rng.integers(-8000, 8000, size=480, dtype=np.int16) for _ in range(3)]
    np.testing.assert_array_equal(mix(xs, [1.0, 0.0, 1.0], 480), oracle_unity([xs[0], xs[2]], 480))
    np.testing.assert_array_equal(mix(xs, [1.0, -1.0, 0.0], 480), xs[0] - xs[1])


def test_rounding_is_half_to_even():
    x = np.array([1, 3, 5, -1, -3, -5, 32767, -32768], dtype=np.int16)
    np.testing.assert_array_equal(
        mix([x], [0.5], len(x)), np.array([0, 2, 2, 0, -2, -2, 16384, -16384], dtype=np.int16)
    )
    np.testing.assert_array_equal(mix([x], [1000.0], len(x))[-2:], [32767, -32768])


def test_gain_limits_and_errors(rng):
    x = full_range(rng, 16)
    out = np.empty(16, dtype=np.int16)
    for bad in (float("nan"), float("inf"), _mix.MAX_GAIN * 1.01, -_mix.MAX_GAIN * 1.01):
        with pytest.raises(ValueError, match="LA_ERR_INVALID_ARGUMENT"):
            _mix.mix([x, x], [1.0, bad], out)
    _mix.mix([x], [_mix.MAX_GAIN], out)  # the limit itself is accepted
    with pytest.raises(ValueError, match="2 gains for 1 inputs"):
        _mix.mix([x], [1.0, 1.0], out)
    with pytest.raises(ValueError, match="input 1 holds 8 samples"):
        _mix.mix([x, x[:8].copy()], None, out)
    with pytest.raises(ValueError, match="at most"):
        _mix.mix([x] * (_mix.MAX_INPUTS + 1), None, out)
    with pytest.raises(BufferError):
        _mix.mix([x], None, bytes(32))  # read-only output
    with pytest.raises((BufferError, ValueError)):  # numpy: "ndarray is not C-contiguous"
        _mix.mix([np.zeros(64, dtype=np.int16)[::2]], None, out)  # strided input


def test_many_inputs_use_heap_scratch(rng):
    xs = [rng.integers(-200, 200, size=97, dtype=np.int16) for _ in range(40)]
    np.testing.assert_array_equal(mix(xs, None, 97), oracle_unity(xs, 97))
    gains = [0.1] * 40
    np.testing.assert_array_equal(mix(xs, gains, 97), oracle_weighted(xs, gains, 97))


# --------------------------------------------------------------------------- in-place gain


@pytest.mark.parametrize("num_channels", [1, 2, 3])
@pytest.mark.parametrize("gains", [(0.5, 0.5), (3.0, 3.0), (-1.0, -1.0), (1.0, 0.25), (0.0, 2.0)])
def test_gain_matches_oracle(rng, num_channels, gains):
    for frames in (0, 1, 7, 480, 1001):
        x = full_range(rng, frames * num_channels)
        y = x.copy()
        _mix.gain(y, num_channels, *gains)
        np.testing.assert_array_equal(y, oracle_gain(x, num_channels, *gains))


def test_gain_unity_and_zero(rng):
    x = full_range(rng, 999)
    y = x.copy()
    _mix.gain(y, 1, 1.0, 1.0)
    np.testing.assert_array_equal(y, x)
    _mix.gain(y, 1, 0.0, 0.0)
    np.testing.assert_array_equal(y, 0)


def test_ramp_ends_exactly_at_the_target_and_leaves_partial_frames(rng):
    x = np.full(2 * 480 + 1, 10000, dtype=np.int16)  # 480 stereo frames + one stray sample
    _mix.gain(x, 2, 0.1, 0.3)
    assert x[-3] == x[-2] == round(np.float32(0.3) * np.float32(10000))
    assert x[0] == x[1] and x[-1] == 10000  # one gain per frame; the stray sample is untouched
    assert np.all(np.diff(x[:-1:2].astype(np.int32)) >= 0)  # monotone ramp, no step


def test_gain_errors():
    buf = np.zeros(8, dtype=np.int16)
    with pytest.raises(ValueError, match="num_channels"):
        _mix.gain(buf, 0, 1.0, 1.0)
    with pytest.raises(ValueError, match="LA_ERR_INVALID_ARGUMENT"):
        _mix.gain(buf, 1, float("nan"), 1.0)
    with pytest.raises(ValueError, match="LA_ERR_INVALID_ARGUMENT"):
        _mix.gain(buf, 1, 1.0, 2000.0)
    with pytest.raises(BufferError):
        _mix.gain(bytes(8), 1, 0.5, 0.5)


# --------------------------------------------------------------------------- properties


@st.composite
def mix_cases(draw):
    n_inputs = draw(st.integers(0, 16))
    n = draw(st.integers(0, 600))
    xs = [draw(hnp.arrays(np.int16, n)) for _ in range(n_inputs)]
    gains = draw(
        st.none()
        | st.lists(
            st.floats(-_mix.MAX_GAIN, _mix.MAX_GAIN, allow_nan=False, width=32),
            min_size=n_inputs,
            max_size=n_inputs,
        )
    )
    return xs, gains, n


@settings(max_examples=150, deadline=None)
@given(mix_cases())
def test_property_mix_equals_oracle(case):
    xs, gains, n = case
    got = mix(xs, gains, n)
    if gains is None or all(g == 1.0 for g in gains):
        expected = oracle_unity(xs, n) if xs else np.zeros(n, dtype=np.int16)
    else:
        expected = oracle_weighted(xs, gains, n)
    np.testing.assert_array_equal(got, expected)


@settings(max_examples=100, deadline=None)
@given(
    hnp.arrays(np.int16, st.integers(0, 700)),
    st.integers(1, 4),
    st.floats(-_mix.MAX_GAIN, _mix.MAX_GAIN, allow_nan=False, width=32),
    st.floats(-_mix.MAX_GAIN, _mix.MAX_GAIN, allow_nan=False, width=32),
)
def test_property_gain_equals_oracle(x, num_channels, g0, g1):
    y = x.copy()
    _mix.gain(y, num_channels, g0, g1)
    np.testing.assert_array_equal(y, oracle_gain(x, num_channels, g0, g1))


# --------------------------------------------------------------------------- dispatch, threads


def test_portable_loops_give_identical_output(rng, tmp_path):
    """The path arm64 and pre-AVX2 CPUs take (chosen once per process, so in a subprocess)."""
    xs = np.stack([full_range(rng, 1001) for _ in range(16)])
    gains = rng.uniform(-3, 3, 16).astype(np.float32)
    np.save(tmp_path / "xs.npy", xs)
    np.save(tmp_path / "gains.npy", gains)
    script = textwrap.dedent(
        f"""
        import numpy as np
        from livekit_audio._native import _mix
        xs = list(np.load({str(tmp_path / "xs.npy")!r}))
        gains = [float(g) for g in np.load({str(tmp_path / "gains.npy")!r})]
        out = np.empty((2, 1001), dtype=np.int16)
        _mix.mix(xs, None, out[0])
        _mix.mix(xs, gains, out[1])
        np.save({str(tmp_path / "out.npy")!r}, out)
        print(_mix.kernel_name())
        """
    )
    env = {**os.environ, "LIVEKIT_AUDIO_NO_SIMD": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,  # not the checkout: `-c` would import the uncompiled source tree first
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "generic"
    portable = np.load(tmp_path / "out.npy")
    np.testing.assert_array_equal(portable[0], mix(list(xs), None, 1001))
    np.testing.assert_array_equal(portable[1], mix(list(xs), [float(g) for g in gains], 1001))


def test_concurrent_calls_are_deterministic(rng):
    xs = [full_range(rng, 4801) for _ in range(8)]
    gains = [0.3] * 8
    expected = mix(xs, gains, 4801)
    results: list[np.ndarray] = []

    def worker() -> None:
        for _ in range(50):
            results.append(mix(xs, gains, 4801))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 200
    for r in results:
        np.testing.assert_array_equal(r, expected)
