"""G.711 mu-law / A-law kernels against the ITU rules, written independently here in numpy.

The references below use the standard's formulation, decision levels and reconstruction
values per segment (ITU-T G.711 Tables 1 and 2), not the bit manipulation of the C kernel;
FFmpeg's G.711 decoder is a second, third-party reference for the 256 decoded values.
"""

from __future__ import annotations

import numpy as np
import pytest

from livekit_audio._native import _g711
from livekit_audio.codecs import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode

ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)
ALL_CODES = np.arange(256, dtype=np.uint8)


# --- the ITU rules, independently --------------------------------------------------------------


def itu_ulaw_value(code: int) -> int:
    """G.711 Table 2: code -> decoder output, 14-bit uniform PCM, left-justified to 16 bits."""
    c = code ^ 0xFF  # transmitted codes are inverted
    segment, step = (c >> 4) & 7, c & 15
    magnitude = (2 * step + 33) * 2**segment - 33  # middle of the interval, 14-bit
    return (-1 if c & 0x80 else 1) * 4 * magnitude


def itu_alaw_value(code: int) -> int:
    """G.711 Table 1: code -> decoder output, 13-bit uniform PCM, left-justified to 16 bits."""
    c = code ^ 0x55  # even bits are inverted on the line
    segment, step = (c >> 4) & 7, c & 15
    if segment == 0:
        magnitude = 2 * step + 1  # 13-bit units: interval [2q, 2q + 2)
    else:
        magnitude = (2 * step + 33) * 2 ** (segment - 1)
    return (1 if c & 0x80 else -1) * 8 * magnitude


def _ulaw_lower_bounds() -> np.ndarray:
    """Lower decision level of each of the 128 magnitude intervals, 14-bit units, ascending."""
    bounds = [max(0, 2 ** (s + 1) * (16 + q) - 33) for s in range(8) for q in range(16)]
    return np.array(bounds)


def _alaw_lower_bounds() -> np.ndarray:
    """Lower decision level of each of the 128 magnitude intervals, 12-bit units, ascending."""
    bounds = [q for q in range(16)] + [16 + q for q in range(16)]
    bounds += [2 ** (s + 3) + q * 2 ** (s - 1) for s in range(2, 8) for q in range(16)]
    return np.array(bounds)


def _one_complement_magnitude(x: np.ndarray, shift: int) -> np.ndarray:
    """The ITU STL input rule: negative samples as one's complement, then the dropped bits."""
    xi = x.astype(np.int32)
    return np.where(xi >= 0, xi, -xi - 1) // 2**shift


def numpy_ulaw_encode(x: np.ndarray) -> np.ndarray:
    index = np.searchsorted(_ulaw_lower_bounds(), _one_complement_magnitude(x, 2), "right") - 1
    return ((127 - index) | np.where(x >= 0, 0x80, 0)).astype(np.uint8)


def numpy_alaw_encode(x: np.ndarray) -> np.ndarray:
    index = np.searchsorted(_alaw_lower_bounds(), _one_complement_magnitude(x, 4), "right") - 1
    return ((index | np.where(x >= 0, 0x80, 0)) ^ 0x55).astype(np.uint8)


# --- decoding ----------------------------------------------------------------------------------


def test_ulaw_decodes_all_256_codes_to_the_itu_values() -> None:
    expected = np.array([itu_ulaw_value(c) for c in range(256)], dtype=np.int16)
    np.testing.assert_array_equal(ulaw_decode(ALL_CODES), expected)
    # landmarks of the standard's table: full scale, the two zeros, the first step
    assert ulaw_decode(np.array([0x80, 0x00, 0xFF, 0x7F, 0xFE, 0xF0], np.uint8)).tolist() == [
        32124,
        -32124,
        0,
        0,
        8,
        120,
    ]


def test_alaw_decodes_all_256_codes_to_the_itu_values() -> None:
    expected = np.array([itu_alaw_value(c) for c in range(256)], dtype=np.int16)
    np.testing.assert_array_equal(alaw_decode(ALL_CODES), expected)
    assert alaw_decode(np.array([0xD5, 0x55, 0xAA, 0x2A, 0xD4], np.uint8)).tolist() == [
        8,
        -8,
        32256,
        -32256,
        24,
    ]


@pytest.mark.parametrize(("codec", "ours"), [("pcm_mulaw", ulaw_decode), ("pcm_alaw", alaw_decode)])
def test_decoding_agrees_with_ffmpeg(codec: str, ours: object) -> None:
    av = pytest.importorskip("av")
    ctx = av.CodecContext.create(codec, "r")
    ctx.sample_rate = 8000
    ctx.layout = "mono"
    frames = ctx.decode(av.Packet(ALL_CODES.tobytes()))
    theirs = np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.int16)
    np.testing.assert_array_equal(ours(ALL_CODES), theirs)  # type: ignore[operator]


# --- encoding ----------------------------------------------------------------------------------


def test_ulaw_encode_of_every_int16_matches_the_itu_rule() -> None:
    np.testing.assert_array_equal(ulaw_encode(ALL_INT16), numpy_ulaw_encode(ALL_INT16))


def test_alaw_encode_of_every_int16_matches_the_itu_rule() -> None:
    np.testing.assert_array_equal(alaw_encode(ALL_INT16), numpy_alaw_encode(ALL_INT16))


@pytest.mark.parametrize(
    ("encode", "decode"), [(ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)]
)
def test_reconstruction_values_are_fixed_points(encode: object, decode: object) -> None:
    values = decode(ALL_CODES)  # type: ignore[operator]
    np.testing.assert_array_equal(decode(encode(values)), values)  # type: ignore[operator]


def test_ulaw_round_trip_error_within_half_a_step_per_segment() -> None:
    y = ulaw_decode(ulaw_encode(ALL_INT16)).astype(np.int32)
    x = ALL_INT16.astype(np.int32)
    segment = ((ulaw_encode(ALL_INT16) ^ 0xFF) >> 4) & 7
    half_step = 4 * 2 ** segment.astype(np.int32)  # step 2^(s+1) in 14-bit units = 2^(s+3)
    inside = np.abs(x) <= 32124 + 4 * 128  # beyond the top decision level the coder clips
    err = np.abs(y - x)
    # half a step, plus the 2 bits below the 14-bit input (and the one's complement) at most
    assert np.all(err[inside] <= half_step[inside] + 4)
    for s in range(8):
        sel = inside & (segment == s)
        assert err[sel].max() >= 2 ** (s + 2) - 4  # the bound is tight: steps really double
    assert np.all(np.sign(y[np.abs(x) > 4]) == np.sign(x[np.abs(x) > 4]))


def test_alaw_round_trip_error_within_half_a_step_per_segment() -> None:
    codes = alaw_encode(ALL_INT16)
    y = alaw_decode(codes).astype(np.int32)
    x = ALL_INT16.astype(np.int32)
    segment = ((codes ^ 0x55) >> 4) & 7
    step = 16 * 2 ** np.maximum(segment.astype(np.int32) - 1, 0)
    err = np.abs(y - x)
    inside = np.abs(x) <= 32256 + 512
    assert np.all(err[inside] <= step[inside] // 2 + 16)
    assert np.all(err[np.abs(x) <= 32767] <= 512 + 16)


# --- arrays, shapes, errors ----------------------------------------------------------------------


def test_shapes_layouts_and_bytes(rng: np.random.Generator) -> None:
    x = rng.integers(-32768, 32768, size=(480, 2), dtype=np.int16)
    codes = ulaw_encode(x)
    assert codes.shape == (480, 2) and codes.dtype == np.uint8
    np.testing.assert_array_equal(ulaw_encode(np.asfortranarray(x)), codes)
    np.testing.assert_array_equal(ulaw_encode(x[::2]), codes[::2])
    np.testing.assert_array_equal(ulaw_decode(codes.tobytes()), ulaw_decode(codes).reshape(-1))
    assert alaw_encode(np.zeros(0, np.int16)).shape == (0,)
    assert alaw_decode(b"").shape == (0,)


def test_wrong_types_raise() -> None:
    with pytest.raises(TypeError, match="int16"):
        ulaw_encode(np.zeros(4, np.float32))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="uint8"):
        alaw_decode(np.zeros(4, np.int16))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ulaw_encode([1, 2, 3])  # type: ignore[arg-type]


def test_native_layer_refuses_a_short_output() -> None:
    with pytest.raises(ValueError, match="expected at least 4"):
        _g711.ulaw_encode(np.zeros(4, np.int16), np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="expected at least 4"):
        _g711.alaw_decode(np.zeros(4, np.uint8), np.zeros(3, np.int16))
