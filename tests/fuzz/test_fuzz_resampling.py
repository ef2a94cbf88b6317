"""AudioResampler (constructor, push, flush), resample, StreamConverter and FrameChunker."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from fuzzkit import (
    BUFFER_KINDS,
    COMMON_RATES,
    arguments,
    assert_valid_frame,
    check,
    failed,
    frames,
    ints,
    make_buffer,
    mismatch_names,
    pcm,
    pushed_count,
    rounded,
    sample_rates,
)
from hypothesis import example, given
from hypothesis import strategies as st
from test_fuzz_frames import arrays

from livekit_audio import AudioResampler, FrameChunker, StreamConverter, resample

#: Failures of a rate pair, not of one parameter: unsupported ratio, filter too long.
PAIR_WORDS = ("interpolation factor", "reduction")
QUALITIES = ("quick", "low", "medium", "high", "very_high", "MEDIUM", "Very_High")
BAD_QUALITIES = ("ultra", "", 3, None, 2.5, [], "medium ")
#: Pairs whose filters are cheap and cached (a new pair may design a filter: up to 0.3 s).
PAIRS = [(48000, 16000), (16000, 48000), (44100, 48000), (8000, 48000), (48000, 48000)]


def _names(values: dict[str, object], mutated: set[str], extra: tuple[str, ...] = ()) -> set[str]:
    return (set(mutated) or set(values)) | set(extra)


@given(
    arguments(
        valid={
            "input_rate": st.sampled_from(COMMON_RATES),
            "output_rate": st.sampled_from(COMMON_RATES),
            "num_channels": st.integers(1, 8),
            "quality": st.sampled_from(QUALITIES),
            "backend": st.just("native"),
        },
        bad={
            "input_rate": st.one_of(sample_rates(), ints()),
            "output_rate": st.one_of(sample_rates(), ints()),
            "num_channels": st.one_of(st.sampled_from([0, 9, 1024]), ints()),
            "quality": st.sampled_from(BAD_QUALITIES),
            "backend": st.sampled_from(["soxr", "ffmpeg", None, 1, "NATIVE"]),
        },
    )
)
@example(
    (
        {
            "input_rate": 768000,
            "output_rate": 1000,
            "num_channels": 1,
            "quality": "very_high",
            "backend": "native",
        },
        set(),
    )
)
def test_resampler_constructor(args):
    values, mutated = args
    out = check(
        AudioResampler,
        values.pop("input_rate"),
        values.pop("output_rate"),
        **values,
        entry="AudioResampler",
        names=_names({"input_rate": 0, "output_rate": 0, **values}, mutated, PAIR_WORDS),
    )
    if not failed(out):
        assert out.latency >= 0


@st.composite
def push_items(draw: st.DrawFn, rate: int, channels: int) -> tuple[object, set[str]]:
    """Something to push at (rate, channels): a frame case, a buffer or an array, and the
    words a rejection may use."""
    choice = draw(st.sampled_from(["frame", "frame", "buffer", "array"]))
    if choice == "frame":
        case = draw(
            frames(
                rate=st.sampled_from([rate, rate, rate, 44100, 8000]),
                channels=st.sampled_from([channels, channels, 1, 2, 9]),
                max_size=1200,
            )
        )
        return case.frame, mismatch_names(case, rate, channels)
    if choice == "array":
        return draw(arrays()), {"array", "dtype", "channels"}
    buf = make_buffer(draw(st.sampled_from(BUFFER_KINDS)), draw(pcm(draw(st.integers(0, 1800)))))
    return buf, {"data", "buffer", "array", "channels", "frame", "dtype", "format"}


@given(
    st.sampled_from(PAIRS),
    st.sampled_from([1, 2, 8]),
    st.sampled_from(QUALITIES),
    st.sampled_from(["native", "native", "native", "soxr"]),
    st.data(),
)
def test_resampler_push_flush(pair, channels, quality, backend, data):
    """Pushes of anything: a rejected push changes nothing, so after the flush the output
    holds round(n_in * output_rate / input_rate) samples for the accepted input (native
    backend; python-soxr's own count for "soxr")."""
    if backend == "soxr":
        pytest.importorskip("soxr")
    rs = AudioResampler(*pair, num_channels=channels, quality=quality, backend=backend)
    n_in = n_out = 0
    for _ in range(data.draw(st.integers(1, 6))):
        item, names = data.draw(push_items(pair[0], channels))
        out = check(
            rs.push,
            item,
            entry="AudioResampler.push",
            allowed=(RuntimeError,),
            names=names,
            untouched=[item],
        )
        if failed(out):
            continue
        assert isinstance(out, list) and len(out) <= 1
        for f in out:
            assert_valid_frame(f, rate=pair[1], channels=channels)
            n_out += f.samples_per_channel
        n_in += pushed_count(item, channels)
    for f in check(rs.flush, entry="AudioResampler.flush", allowed=(RuntimeError,)):
        assert_valid_frame(f, rate=pair[1], channels=channels)
        n_out += f.samples_per_channel
    if backend == "native":
        assert n_out == rounded(n_in, *pair)
    else:
        assert abs(n_out - rounded(n_in, *pair)) <= 1


@given(
    arrays(),
    st.one_of(st.sampled_from(COMMON_RATES), ints()),
    st.one_of(st.sampled_from(COMMON_RATES), ints()),
    st.one_of(st.sampled_from(QUALITIES), st.sampled_from(BAD_QUALITIES)),
)
@example(np.zeros(1, np.int16), 48000, 16000, "medium")
@example(np.zeros((3, 0), np.int16), 48000, 16000, "medium")
@example(np.zeros((3, 9), np.float32), 48000, 16000, "medium")
@example(np.asfortranarray(np.ones((50, 2), np.float32)), 44100, 48000, "high")
@example(np.full(5, np.nan, np.float32), 16000, 48000, "quick")
def test_resample(array, input_rate, output_rate, quality):
    out = check(
        resample,
        array,
        input_rate,
        output_rate,
        quality=quality,
        entry="resample",
        names=(
            "array",
            "dtype",
            "input_rate",
            "output_rate",
            "num_channels",
            "quality",
            *PAIR_WORDS,
        ),
        untouched=[array],
    )
    if not failed(out):
        assert out.dtype == array.dtype and out.ndim == array.ndim
        assert out.shape[0] == rounded(array.shape[0], input_rate, output_rate)
        assert out.shape[1:] == array.shape[1:]


# -- StreamConverter -------------------------------------------------------------------------

_CONVERTER_VALID = {
    "input_rate": st.sampled_from([48000, 16000, 44100, 8000]),
    "input_channels": st.sampled_from([1, 2, 9]),
    "output_rate": st.sampled_from([48000, 16000, 24000]),
    "output_channels": st.sampled_from([1, 2, 9]),
    "samples_per_frame": st.sampled_from([None, 160, 480, 1]),
    "quality": st.sampled_from(QUALITIES),
}
_CONVERTER_BAD = {
    "input_rate": st.one_of(sample_rates(), ints()),
    "input_channels": st.one_of(st.sampled_from([0, 1024, 1025]), ints()),
    "output_rate": st.one_of(sample_rates(), ints()),
    "output_channels": st.one_of(st.sampled_from([0, 1024, 1025]), ints()),
    "samples_per_frame": st.one_of(st.sampled_from([0, 2**31 - 1, 2**31]), ints()),
    "quality": st.sampled_from(BAD_QUALITIES),
}
#: A pair of channel counts the resampler cannot take (more than 8 resampled channels).
_CONVERTER_WORDS = ("min(input_channels, output_channels)", *PAIR_WORDS)


@given(arguments(_CONVERTER_VALID, _CONVERTER_BAD))
def test_stream_converter_constructor(args):
    values, mutated = args
    check(
        StreamConverter,
        **values,
        entry="StreamConverter",
        names=_names(values, mutated, _CONVERTER_WORDS),
    )


@given(arguments(_CONVERTER_VALID, _CONVERTER_BAD, mutate=False), st.data())
def test_stream_converter_stream(args, data):
    """Anything pushed, and format changes: a rejected call changes nothing, frames keep
    their size, and after the flush round(n_in * output_rate / input_rate) samples per
    channel have come out for each input format's stretch."""
    values, _ = args
    conv = check(
        StreamConverter,
        **values,
        entry="StreamConverter",
        names=_names(values, set(), _CONVERTER_WORDS),
    )
    if failed(conv):  # e.g. 9 -> 9 channels across a rate change
        return
    size, out_rate = conv.samples_per_frame, conv.output_rate
    n_in = n_out = expected = 0
    for _ in range(data.draw(st.integers(1, 5))):
        rate, channels = conv.input_rate, conv.input_channels
        if data.draw(st.integers(0, 5)) == 0:  # a change of input format mid-stream
            new_rate = data.draw(st.one_of(st.sampled_from([16000, 48000, 32000]), ints()))
            new_channels = data.draw(st.one_of(st.sampled_from([1, 2]), ints()))
            out = check(
                conv.set_input_format,
                new_rate,
                new_channels,
                entry="StreamConverter.set_input_format",
                names=("input_rate", "input_channels", "output_rate", *_CONVERTER_WORDS),
            )
            if failed(out):
                continue
            for f in out:
                assert_valid_frame(f, rate=out_rate, channels=conv.output_channels)
                n_out += f.samples_per_channel
            if (conv.input_rate, conv.input_channels) != (rate, channels):
                expected += rounded(n_in, rate, out_rate)  # that stretch is complete
                n_in = 0
            continue
        if data.draw(st.booleans()):
            case = data.draw(
                frames(
                    rate=st.sampled_from([rate, rate, 22050]),
                    channels=st.sampled_from([channels, channels, 3]),
                    max_size=1000,
                )
            )
            item = case.frame
            names = mismatch_names(case, rate, channels)
            names |= {"input_rate", "input_channels"}
        else:
            item = data.draw(arrays())
            names = {"frame array", "dtype", "input_channels", "shape"}
        out = check(
            conv.push,
            item,
            entry="StreamConverter.push",
            allowed=(RuntimeError,),
            names=names,
            untouched=[item],
        )
        if failed(out):
            continue
        n_in += pushed_count(item, channels)
        for f in out:
            assert_valid_frame(f, rate=out_rate, channels=conv.output_channels)
            if size is not None:
                assert f.samples_per_channel == size
            n_out += f.samples_per_channel
    pad = data.draw(st.booleans())
    for f in check(conv.flush, pad=pad, entry="StreamConverter.flush"):
        assert_valid_frame(f, rate=out_rate, channels=conv.output_channels)
        n_out += f.samples_per_channel
    expected += rounded(n_in, conv.input_rate, out_rate)
    if size is None or not pad:
        assert n_out == expected
    else:  # the last frame padded to a whole one
        assert expected <= n_out < expected + size


# -- FrameChunker ----------------------------------------------------------------------------


@given(
    arguments(
        valid={
            "sample_rate": st.sampled_from(COMMON_RATES),
            "num_channels": st.integers(1, 9),
            "samples_per_frame": st.one_of(st.none(), st.integers(1, 2000)),
        },
        bad={
            "sample_rate": st.one_of(sample_rates(), ints()),
            "num_channels": st.one_of(st.sampled_from([0, 1024, 1025]), ints()),
            "samples_per_frame": st.one_of(st.sampled_from([0, 2**31 - 1, 2**31]), ints()),
        },
    )
)
@example(({"sample_rate": 2**70, "num_channels": 1, "samples_per_frame": None}, set()))
@example(({"sample_rate": 48000, "num_channels": 1, "samples_per_frame": 2**62}, set()))
@example(({"sample_rate": 48000, "num_channels": 2**40, "samples_per_frame": 1}, set()))
def test_frame_chunker_constructor(args):
    values, mutated = args
    rate, channels = values.pop("sample_rate"), values.pop("num_channels")
    out = check(
        FrameChunker,
        rate,
        channels,
        **values,
        entry="FrameChunker",
        names=(mutated or {"sample_rate", "num_channels", "samples_per_frame"}),
    )
    if failed(out):
        return
    # every frame it can return (a padded flush is a whole one) is a valid AudioFrame:
    # the sizes past AudioFrame's limits are refused here, not by an overflow in flush()
    assert out.samples_per_frame <= 2**31 - 1 and out.num_channels <= 1024
    assert out.sample_rate == rate


@given(
    st.sampled_from([8000, 44100, 48000]),
    st.sampled_from([1, 2, 9]),
    st.one_of(st.none(), st.integers(1, 700)),
    st.data(),
)
def test_frame_chunker_stream(rate, channels, size, data):
    chunker = FrameChunker(rate, channels, samples_per_frame=size)
    step = chunker.samples_per_frame
    n_in = n_out = 0
    for _ in range(data.draw(st.integers(1, 6))):
        case = data.draw(
            frames(
                rate=st.sampled_from([rate, rate, 16000]),
                channels=st.sampled_from([channels, channels, 2]),
                max_size=1500,
            )
        )
        out = check(
            chunker.push,
            case.frame,
            entry="FrameChunker.push",
            names=mismatch_names(case, rate, channels),
            untouched=[case.frame],
        )
        if failed(out):
            continue
        n_in += case.size
        for f in out:
            assert_valid_frame(f, rate=rate, channels=channels)
            assert f.samples_per_channel == step
            n_out += step
    pad = data.draw(st.booleans())
    for f in check(chunker.flush, pad=pad, entry="FrameChunker.flush"):
        assert_valid_frame(f, rate=rate, channels=channels)
        n_out += f.samples_per_channel
    assert n_out == (n_in + (-n_in) % step if pad else n_in)


def test_frame_chunker_padded_flush_at_the_largest_frame_size_is_not_an_overflow():
    """Regression: FrameChunker accepted sizes no AudioFrame can have (samples_per_frame
    2**62, sample_rate 2**70 giving a 10 ms frame of 2**70 // 100) and then flush(pad=True)
    raised OverflowError ("cannot fit 'int' into an index-sized integer")."""
    for args, kwargs in [((2**70, 1), {}), ((48000, 1), {"samples_per_frame": 2**62})]:
        with pytest.raises(ValueError, match="samples_per_frame|sample_rate"):
            FrameChunker(*args, **kwargs)
    with pytest.raises(ValueError, match="num_channels"):
        FrameChunker(48000, 2**40)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sample_rate", np.array([48000, 16000])),
        ("sample_rate", np.array(48000)),
        ("sample_rate", "48000"),
        ("num_channels", np.array([1, 2])),
        ("num_channels", np.array(1)),
    ],
)
def test_resampler_push_names_a_bad_frame_field(field, value):
    """Regression: push compared a duck-typed frame's fields before validating them: an
    array field raised numpy's "truth value of an array ... is ambiguous" ValueError, and a
    0-d array "frame sample_rate mismatch: expected 48000, got 48000"."""
    frame = SimpleNamespace(
        data=bytearray(960), sample_rate=48000, num_channels=1, samples_per_channel=480
    )
    setattr(frame, field, value)
    with pytest.raises(TypeError, match=f"frame.{field} must be an int"):
        AudioResampler(48000, 16000).push(frame)
