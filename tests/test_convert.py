"""StreamConverter against independent references: AudioResampler + remix_channels + numpy
re-chunking by hand (bit-exact), exact frame sizes, lengths, ownership, errors, reuse."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livekit_audio import AudioFrame, AudioResampler, AudioResamplerQuality, FrameChunker
from livekit_audio.channels import remix_channels
from livekit_audio.convert import StreamConverter

#: (input channels, output channels): every kind of conversion remix_channels does.
CHANNEL_PAIRS = [(1, 1), (2, 2), (1, 2), (2, 1), (6, 2), (2, 6), (6, 1), (1, 8), (3, 2), (12, 2)]
RATE_PAIRS = [(48000, 16000), (16000, 48000), (44100, 48000), (48000, 48000), (8000, 24000)]


def expected_length(n_in: int, input_rate: int, output_rate: int) -> int:
    """round(n_in * output_rate / input_rate), half up, in exact integer arithmetic."""
    return (2 * n_in * output_rate + input_rate) // (2 * input_rate)


def noise(rng: np.random.Generator, n: int, channels: int) -> np.ndarray:
    return np.clip(rng.standard_normal((n, channels)) * 9000, -32768, 32767).astype(np.int16)


def random_splits(rng: np.random.Generator, n: int, largest: int) -> list[int]:
    """Chunk sizes (zeros included) that add up to ``n``."""
    sizes = []
    while n > 0:
        k = min(n, int(rng.integers(0, largest + 1)))
        sizes.append(k)
        n -= k
    return sizes


def pieces(x: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    bounds = np.cumsum([0, *sizes])
    return [x[a:b] for a, b in itertools.pairwise(bounds)]


def samples(frames: list[AudioFrame], channels: int) -> np.ndarray:
    if not frames:
        return np.zeros((0, channels), np.int16)
    return np.concatenate([f.to_ndarray() for f in frames])


class HandConverter:
    """The reference: AudioResampler + remix_channels + numpy re-chunking, written plainly."""

    def __init__(self, ri: int, ci: int, ro: int, co: int, size: int | None) -> None:
        self.co, self.size = co, size
        work = min(ci, co)
        self.rs = None if ri == ro else AudioResampler(ri, ro, num_channels=work)
        self.pending = np.zeros((0, co), np.int16)

    def _after(self, ys: list[np.ndarray]) -> list[np.ndarray]:
        ys = [remix_channels(y, self.co) for y in ys if len(y)]
        if self.size is None:
            return [y.copy() for y in ys]
        data = np.concatenate([self.pending, *ys])
        whole = len(data) // self.size * self.size
        self.pending = data[whole:]
        return [data[i : i + self.size] for i in range(0, whole, self.size)]

    def push(self, x: np.ndarray) -> list[np.ndarray]:
        if not len(x):
            return []
        x = remix_channels(x, self.co) if x.shape[1] > self.co else x  # down-mix first
        ys = [x] if self.rs is None else [f.to_ndarray() for f in self.rs.push(x)]
        return self._after(ys)

    def flush(self) -> list[np.ndarray]:
        out = self._after([] if self.rs is None else [f.to_ndarray() for f in self.rs.flush()])
        if len(self.pending):
            out.append(self.pending)
            self.pending = np.zeros((0, self.co), np.int16)
        return out


def run_both(
    x: np.ndarray, ri: int, ro: int, co: int, size: int | None, sizes: list[int]
) -> tuple[list[list[AudioFrame]], list[list[np.ndarray]]]:
    """Per push (and the flush, last), what the converter and the hand reference return."""
    conv = StreamConverter(ri, x.shape[1], ro, co, size)
    hand = HandConverter(ri, x.shape[1], ro, co, size)
    got, want = [], []
    for chunk in pieces(x, sizes):
        got.append(conv.push(AudioFrame.from_ndarray(chunk.copy(), ri)))
        want.append(hand.push(chunk))
    got.append(conv.flush())
    want.append(hand.flush())
    return got, want


def assert_same(got: list[list[AudioFrame]], want: list[list[np.ndarray]], ro: int, co: int):
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert len(g) == len(w), f"push {i}: {len(g)} frames, expected {len(w)}"
        for f, y in zip(g, w, strict=True):
            assert (f.sample_rate, f.num_channels) == (ro, co)
            np.testing.assert_array_equal(f.to_ndarray(), y, err_msg=f"push {i}")


# ------------------------------------------------------------------ equal to the reference


@pytest.mark.parametrize(("ri", "ro"), RATE_PAIRS)
@pytest.mark.parametrize(("ci", "co"), CHANNEL_PAIRS)
@pytest.mark.parametrize("size", [None, 160, 441])
def test_push_by_push_equal_to_resampler_remix_and_hand_rechunking(ri, ro, ci, co, size, rng):
    x = noise(rng, 6000, ci)
    sizes = random_splits(rng, len(x), 1500)
    got, want = run_both(x, ri, ro, co, size, sizes)
    assert_same(got, want, ro, co)


@pytest.mark.parametrize(("ri", "ro"), RATE_PAIRS)
@pytest.mark.parametrize(("ci", "co"), [(1, 1), (2, 1), (1, 2), (6, 2)])
@pytest.mark.parametrize("size", [None, 160, 1])
def test_frame_sizes_are_exact_and_the_total_is_the_resamplers(ri, ro, ci, co, size, rng):
    x = noise(rng, 4801, ci)
    conv = StreamConverter(ri, ci, ro, co, size)
    frames = []
    for chunk in pieces(x, random_splits(rng, len(x), 1000)):
        out = conv.push(AudioFrame.from_ndarray(chunk.copy(), ri))
        if size is None:
            assert len(out) <= 1  # one frame per push, or none
        frames += out
    frames += conv.flush()
    if size is not None:
        assert all(f.samples_per_channel == size for f in frames[:-1])
        assert 0 < frames[-1].samples_per_channel <= size  # short, never padded
    total = sum(f.samples_per_channel for f in frames)
    assert total == expected_length(len(x), ri, ro)
    work = min(ci, co)
    rs = AudioResampler(ri, ro, num_channels=work)
    ref = remix_channels(x, work)
    ref_total = sum(f.samples_per_channel for f in rs.push(ref) + rs.flush())
    assert total == (ref_total if ri != ro else len(x))


def test_one_shot_equals_any_chunking(rng):
    x = noise(rng, 9600, 2)
    one = StreamConverter(48000, 2, 16000, 1, 160)
    whole = samples(one.push(x) + one.flush(), 1)
    for largest in (1, 7, 480, 5000):
        conv = StreamConverter(48000, 2, 16000, 1, 160)
        frames = []
        for chunk in pieces(x, random_splits(rng, len(x), largest)):
            frames += conv.push(chunk)
        np.testing.assert_array_equal(samples(frames + conv.flush(), 1), whole)


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 1200), min_size=1, max_size=12),
    size=st.one_of(st.none(), st.integers(1, 700)),
    pair=st.sampled_from([(48000, 16000), (16000, 48000), (44100, 48000), (16000, 16000)]),
    channels=st.sampled_from([(1, 1), (2, 1), (1, 2), (6, 2)]),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_split_and_frame_size_matches_the_reference(sizes, size, pair, channels, seed):
    ri, ro = pair
    ci, co = channels
    x = noise(np.random.default_rng(seed), sum(sizes), ci)
    got, want = run_both(x, ri, ro, co, size, sizes)
    assert_same(got, want, ro, co)


def test_down_mix_runs_before_the_resampler_and_up_mix_after():
    """A 6 -> 1 converter resamples one channel, a 1 -> 6 one too (the resampler's
    num_channels is min(in, out)): the per-channel outputs of 1 -> 6 are identical."""
    x = (np.arange(4800, dtype=np.int16) % 300 - 150).reshape(-1, 1) * 100
    conv = StreamConverter(48000, 1, 16000, 6, None)
    y = samples(conv.push(x) + conv.flush(), 6)
    assert all(np.array_equal(y[:, 0], y[:, j]) for j in range(6))
    assert conv._resampler is not None and conv._resampler.num_channels == 1


# ---------------------------------------------------------------------------- input kinds


def test_numpy_input_in_any_layout_equals_frame_input(rng):
    x = noise(rng, 2000, 2)
    ref = StreamConverter(44100, 2, 48000, 1, 480)
    want = samples(ref.push(AudioFrame.from_ndarray(x.copy(), 44100)) + ref.flush(), 1)
    for arr in (x, np.asfortranarray(x), np.repeat(x, 2, axis=0)[::2]):
        conv = StreamConverter(44100, 2, 48000, 1, 480)
        np.testing.assert_array_equal(samples(conv.push(arr) + conv.flush(), 1), want)


def test_mono_input_may_be_one_dimensional(rng):
    x = noise(rng, 1000, 1)
    a = StreamConverter(16000, 1, 8000, 1)
    b = StreamConverter(16000, 1, 8000, 1)
    np.testing.assert_array_equal(
        samples(a.push(x[:, 0]) + a.flush(), 1), samples(b.push(x) + b.flush(), 1)
    )


def test_frame_like_objects_are_accepted(rng):
    """Anything with data, sample_rate, num_channels, samples_per_channel (livekit.rtc's
    AudioFrame shape) converts like our own frame."""
    x = noise(rng, 960, 2)
    duck = SimpleNamespace(
        data=memoryview(bytes(x.tobytes())),
        sample_rate=48000,
        num_channels=2,
        samples_per_channel=960,
    )
    a = StreamConverter(48000, 2, 16000, 1, 160)
    b = StreamConverter(48000, 2, 16000, 1, 160)
    np.testing.assert_array_equal(
        samples(a.push(duck) + a.flush(), 1),
        samples(b.push(AudioFrame.from_ndarray(x, 48000)) + b.flush(), 1),
    )


def test_empty_frames_return_nothing_and_change_nothing():
    conv = StreamConverter(48000, 1, 16000, 1, 160)
    assert conv.push(AudioFrame.create(48000, 1, 0)) == []
    assert conv.push(np.zeros((0, 1), np.int16)) == []
    assert conv.flush() == []


# ------------------------------------------------------------------------------ ownership


@pytest.mark.parametrize(
    ("ri", "ci", "ro", "co", "size"),
    [
        (48000, 2, 48000, 2, None),  # pass-through
        (48000, 2, 48000, 2, 480),
        (48000, 1, 48000, 1, 480),
        (48000, 1, 16000, 1, None),
        (48000, 1, 16000, 1, 160),
        (48000, 2, 48000, 1, None),
        (16000, 1, 48000, 2, None),
    ],
)
def test_output_is_owned_writable_and_never_aliases_input_or_internal_buffers(
    ri, ci, ro, co, size, rng
):
    conv = StreamConverter(ri, ci, ro, co, size)
    step = ri // 100
    kept = []
    for _ in range(40):  # enough pushes for the framing buffer to wrap around
        x = noise(rng, step, ci)
        frame = AudioFrame.from_ndarray(x, ri)
        for out in conv.push(frame):
            assert not out.data.readonly
            assert not np.shares_memory(out.to_ndarray(), x)
            kept.append((out, out.to_ndarray().copy()))
        x[:] = 12345  # the caller reuses its buffer
    kept += [(f, f.to_ndarray().copy()) for f in conv.flush()]
    assert kept
    for out, copy in kept:  # later pushes and the flush did not overwrite earlier frames
        np.testing.assert_array_equal(out.to_ndarray(), copy)
    first, _ = kept[0]
    first.to_ndarray()[:] = -1  # writing into one frame touches no other
    for out, copy in kept[1:]:
        np.testing.assert_array_equal(out.to_ndarray(), copy)


def test_pass_through_copies(rng):
    x = noise(rng, 480, 2)
    frame = AudioFrame.from_ndarray(x, 48000)
    conv = StreamConverter(48000, 2, 48000, 2)
    (out,) = conv.push(frame)
    np.testing.assert_array_equal(out.to_ndarray(), x)
    out.to_ndarray()[:] = 0
    np.testing.assert_array_equal(frame.to_ndarray(), x)  # the input is untouched
    assert np.any(x != 0)
    before = x.copy()
    (out2,) = conv.push(x)  # an ndarray input is copied too
    x[:] = 1
    np.testing.assert_array_equal(out2.to_ndarray(), before)


def test_the_input_is_never_modified(rng):
    x = noise(rng, 960, 6)
    before = x.copy()
    for co, ro in ((2, 16000), (1, 48000), (8, 48000)):
        conv = StreamConverter(48000, 6, ro, co, 100)
        conv.push(x)
        conv.flush()
    np.testing.assert_array_equal(x, before)


# ---------------------------------------------------------------------- latency and reuse


@pytest.mark.parametrize(("ri", "ro"), RATE_PAIRS)
@pytest.mark.parametrize("quality", ["quick", "medium", "high"])
def test_latency_is_the_resamplers(ri, ro, quality):
    conv = StreamConverter(ri, 2, ro, 1, 160, quality=quality)
    rs = AudioResampler(ri, ro, quality=quality)
    assert conv.latency == rs.latency
    assert conv.latency_ms == pytest.approx(rs.latency_ms)
    assert conv.quality is AudioResamplerQuality(quality)
    if ri == ro:
        assert conv.latency == 0 and conv.latency_ms == 0.0


def test_medium_quality_by_default():
    assert StreamConverter(48000, 1, 16000, 1).quality is AudioResamplerQuality.MEDIUM


def test_quality_reaches_the_resampler(rng):
    x = noise(rng, 4800, 1)
    conv = StreamConverter(48000, 1, 16000, 1, quality=AudioResamplerQuality.HIGH)
    rs = AudioResampler(48000, 16000, quality="high")
    np.testing.assert_array_equal(
        samples(conv.push(x) + conv.flush(), 1), samples(rs.push(x) + rs.flush(), 1)
    )


@pytest.mark.parametrize("size", [None, 160])
def test_reusable_after_flush(size, rng):
    a, b = noise(rng, 3000, 2), noise(rng, 2500, 2)
    conv = StreamConverter(44100, 2, 16000, 1, size)
    conv.push(a)
    conv.flush()
    assert conv.pending_samples == 0
    fresh = StreamConverter(44100, 2, 16000, 1, size)
    got = conv.push(b) + conv.flush()
    want = fresh.push(b) + fresh.flush()
    assert [f.samples_per_channel for f in got] == [f.samples_per_channel for f in want]
    np.testing.assert_array_equal(samples(got, 1), samples(want, 1))


def test_reset_drops_what_is_held(rng):
    conv = StreamConverter(48000, 1, 16000, 1, 160)
    conv.push(noise(rng, 500, 1))
    assert conv.pending_samples > 0
    conv.reset()
    assert conv.pending_samples == 0
    x = noise(rng, 960, 1)
    fresh = StreamConverter(48000, 1, 16000, 1, 160)
    np.testing.assert_array_equal(
        samples(conv.push(x) + conv.flush(), 1), samples(fresh.push(x) + fresh.flush(), 1)
    )


def test_pending_samples_counts_the_partial_frame(rng):
    conv = StreamConverter(16000, 1, 16000, 1, 160)
    assert conv.push(noise(rng, 100, 1)) == []
    assert conv.pending_samples == 100
    (frame,) = conv.push(noise(rng, 100, 1))
    assert frame.samples_per_channel == 160 and conv.pending_samples == 40
    assert StreamConverter(16000, 1, 8000, 1).pending_samples == 0


# -------------------------------------------------------------- input format changing


@pytest.mark.parametrize("size", [None, 160, 333])
def test_set_input_format_continues_the_stream_with_exact_frames(size, rng):
    """Old input, the old resampler's tail, new input: as two hand conversions back to back,
    with the framing carried across the change."""
    a, b = noise(rng, 3001, 2), noise(rng, 1999, 1)
    conv = StreamConverter(44100, 2, 16000, 1, size)
    frames = conv.push(a)
    frames += conv.set_input_format(48000, 1)
    assert (conv.input_rate, conv.input_channels) == (48000, 1)
    frames += conv.push(b) + conv.flush()
    first, second = StreamConverter(44100, 2, 16000, 1), StreamConverter(48000, 1, 16000, 1)
    want = samples(first.push(a) + first.flush() + second.push(b) + second.flush(), 1)
    np.testing.assert_array_equal(samples(frames, 1), want)
    assert len(want) == expected_length(3001, 44100, 16000) + expected_length(1999, 48000, 16000)
    if size is not None:
        assert all(f.samples_per_channel == size for f in frames[:-1])


def test_set_input_format_to_the_same_format_is_a_no_op(rng):
    conv = StreamConverter(48000, 1, 16000, 1, 160)
    conv.push(noise(rng, 500, 1))
    held = conv.pending_samples
    assert conv.set_input_format(48000, 1) == []
    assert conv.pending_samples == held


def test_set_input_format_rejects_bad_formats_and_leaves_the_converter_unchanged(rng):
    conv = StreamConverter(48000, 1, 16000, 1, 160)
    conv.push(noise(rng, 500, 1))
    with pytest.raises(ValueError, match="input_rate"):
        conv.set_input_format(10, 1)
    with pytest.raises(TypeError, match="input_channels"):
        conv.set_input_format(48000, 1.0)
    with pytest.raises(ValueError, match="4096"):  # an unsupported ratio
        conv.set_input_format(47993, 1)
    assert (conv.input_rate, conv.input_channels) == (48000, 1)
    conv.push(noise(rng, 10, 1))  # still usable


def test_a_frame_in_another_format_is_refused_naming_both(rng):
    conv = StreamConverter(48000, 2, 16000, 1, 160)
    with pytest.raises(ValueError, match="expected input_rate=48000, got 16000"):
        conv.push(AudioFrame.create(16000, 2, 160))
    with pytest.raises(ValueError, match="expected input_channels=2, got 1"):
        conv.push(AudioFrame.create(48000, 1, 480))
    with pytest.raises(ValueError, match="input_channels=2"):
        conv.push(noise(rng, 480, 3))
    with pytest.raises(ValueError, match="1-D frame array is mono"):
        conv.push(noise(rng, 480, 1)[:, 0])
    with pytest.raises(ValueError, match="expected input_rate=48000, got 44100"):
        conv.push(
            SimpleNamespace(
                data=b"\0" * 4, sample_rate=44100, num_channels=2, samples_per_channel=1
            )
        )


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "name"),
    [
        ((48000.0, 1, 16000, 1), {}, TypeError, "input_rate"),
        ((48000, 1, 500, 1), {}, ValueError, "output_rate"),
        ((48000, 1, True, 1), {}, TypeError, "output_rate"),
        ((48000, 0, 16000, 1), {}, ValueError, "input_channels"),
        ((48000, 2000, 16000, 1), {}, ValueError, "input_channels"),
        ((48000, "2", 16000, 1), {}, TypeError, "input_channels"),
        ((48000, 1, 16000, 1025), {}, ValueError, "output_channels"),
        ((48000, 12, 16000, 9), {}, ValueError, "min.input_channels, output_channels."),
        ((500, 1, 16000, 1), {}, ValueError, "input_rate"),
        ((48000, 1, 16000, 1.5), {}, TypeError, "output_channels"),
        ((48000, 1, 16000, 1, 0), {}, ValueError, "samples_per_frame"),
        ((48000, 1, 16000, 1, 160.0), {}, TypeError, "samples_per_frame"),
        ((48000, 1, 16000, 1, True), {}, TypeError, "samples_per_frame"),
        ((48000, 1, 16000, 1, 2**31), {}, ValueError, "samples_per_frame"),
        ((48000, 1, 16000, 1), {"quality": "best"}, ValueError, "quality"),
        ((48000, 1, 47993, 1), {}, ValueError, "4096"),
    ],
)
def test_bad_arguments_name_the_parameter(args, kwargs, error, name):
    with pytest.raises(error, match=name):
        StreamConverter(*args, **kwargs)


@pytest.mark.parametrize(
    ("frame", "error", "match"),
    [
        (None, TypeError, "push expects an AudioFrame"),
        (b"\0\0" * 480, TypeError, "push expects an AudioFrame"),
        (np.zeros(480, np.float32), TypeError, "dtype int16"),
        (np.zeros(480, ">i2"), TypeError, "dtype int16"),
        (np.zeros((2, 480, 1), np.int16), ValueError, "1-D .mono. or 2-D"),
        (
            SimpleNamespace(data=b"", sample_rate="48000", num_channels=1, samples_per_channel=0),
            TypeError,
            "frame.sample_rate",
        ),
        (
            SimpleNamespace(data=b"", sample_rate=48000, num_channels=1, samples_per_channel=-1),
            ValueError,
            "frame.samples_per_channel",
        ),
        (
            SimpleNamespace(
                data=b"\0" * 10, sample_rate=48000, num_channels=1, samples_per_channel=480
            ),
            ValueError,
            "at least 960 bytes",
        ),
        (
            SimpleNamespace(data=42, sample_rate=48000, num_channels=1, samples_per_channel=1),
            TypeError,
            "frame.data must be a buffer",
        ),
    ],
)
def test_bad_frames_are_refused(frame, error, match):
    conv = StreamConverter(48000, 1, 16000, 1, 160)
    with pytest.raises(error, match=match):
        conv.push(frame)
    conv.push(AudioFrame.create(48000, 1, 480))  # still usable


def test_equal_rates_and_wide_layouts_need_no_resampler(rng):
    """Without resampling, any frame layout converts (as the decoders' "keep the source's
    format" needs): a 500 Hz stream, 12 channels in and out, 12 -> 10."""
    for ri, ci, co in ((500, 1, 1), (48000, 12, 12), (16000, 12, 10), (8000, 1, 16)):
        x = noise(rng, 300, ci)
        conv = StreamConverter(ri, ci, ri, co, 128)
        np.testing.assert_array_equal(
            samples(conv.push(x) + conv.flush(), co), remix_channels(x, co)
        )
    conv = StreamConverter(48000, 12, 16000, 2)  # 12 -> 2 resamples 2 channels: fine
    assert conv.push(noise(rng, 480, 12))[0].num_channels == 2


def test_repr_shows_the_configuration():
    text = repr(StreamConverter(48000, 2, 16000, 1, 160))
    for part in (
        "input_rate=48000",
        "input_channels=2",
        "output_rate=16000",
        "output_channels=1",
        "samples_per_frame=160",
        "MEDIUM",
        "latency=35",
    ):
        assert part in text


# ------------------------------------------- the shared re-chunking buffer (FrameChunker)


@pytest.mark.parametrize("size", [1, 160, 1000])
@pytest.mark.parametrize("pad", [True, False])
def test_frame_chunker_equals_numpy_rechunking_for_tiny_and_huge_pushes(size, pad, rng):
    """FrameChunker cuts with the converter's buffer: tiny pushes, one push far larger than
    its room (it grows, then shrinks back) and frames kept across all of them."""
    sizes = random_splits(rng, 20_000, 30) + [170_000] + random_splits(rng, 10_000, 3000)
    x = noise(rng, sum(sizes), 2)
    chunker = FrameChunker(48000, 2, samples_per_frame=size)
    frames, pushed = [], 0
    for chunk in pieces(x, sizes):
        out = chunker.push(AudioFrame.from_ndarray(chunk.copy(), 48000))
        pushed += len(chunk)
        frames += out
        assert all(f.samples_per_channel == size for f in out)
        assert chunker.pending_samples == pushed % size
    whole = len(x) // size * size
    np.testing.assert_array_equal(samples(frames, 2), x[:whole])
    tail = chunker.flush(pad=pad)
    rest = len(x) - whole
    if rest:
        (last,) = tail
        assert last.samples_per_channel == (size if pad else rest)
        np.testing.assert_array_equal(last.to_ndarray()[:rest], x[whole:])
        assert not last.to_ndarray()[rest:].any()
    else:
        assert tail == []
    assert chunker.pending_samples == 0
