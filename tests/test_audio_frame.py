"""AudioFrame, frame_samples, combine_audio_frames: layout, zero-copy, validation, WAV, interop."""

from __future__ import annotations

import array
import io
import itertools
import wave
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from livekit_audio import AudioFrame, AudioProcessingModule, combine_audio_frames
from livekit_audio.audio_frame import AudioFrameLike, frame_samples


def random_samples(rng: np.random.Generator, samples_per_channel: int, num_channels: int):
    """Full-range int16 noise of shape (samples_per_channel, num_channels)."""
    return rng.integers(-32768, 32768, size=(samples_per_channel, num_channels), dtype=np.int16)


def samples_of(frame) -> np.ndarray:
    """Independent oracle: a frame's samples as a (spc, nch) array, read from its data buffer."""
    flat = np.frombuffer(memoryview(frame.data).cast("B"), dtype=np.int16)
    assert flat.size == frame.num_channels * frame.samples_per_channel
    return flat.reshape(frame.samples_per_channel, frame.num_channels)


# --------------------------------------------------------------------------------------------
# Construction from the supported buffer types
# --------------------------------------------------------------------------------------------

BUFFER_MAKERS = {
    "bytes": lambda a: a.tobytes(),
    "bytearray": lambda a: bytearray(a.tobytes()),
    "memoryview-bytes": lambda a: memoryview(bytearray(a.tobytes())),
    "memoryview-int16": lambda a: memoryview(bytearray(a.tobytes())).cast("h"),
    "numpy-1d": lambda a: a.reshape(-1).copy(),
    "numpy-2d": lambda a: a.copy(),
    "array.array": lambda a: array.array("h", a.reshape(-1).tolist()),
}


@pytest.mark.parametrize("kind", list(BUFFER_MAKERS))
@pytest.mark.parametrize("num_channels", [1, 2, 3])
def test_constructor_accepts_buffer_types(rng, kind, num_channels):
    expected = random_samples(rng, 37, num_channels)
    frame = AudioFrame(BUFFER_MAKERS[kind](expected), 16000, num_channels, 37)

    assert frame.sample_rate == 16000
    assert frame.num_channels == num_channels
    assert frame.samples_per_channel == 37
    assert frame.duration == pytest.approx(37 / 16000)
    np.testing.assert_array_equal(frame.to_ndarray(), expected)
    np.testing.assert_array_equal(samples_of(frame), expected)


def test_data_property_is_int16_memoryview(rng):
    expected = random_samples(rng, 10, 2)
    frame = AudioFrame(expected.tobytes(), 48000, 2, 10)
    data = frame.data
    assert isinstance(data, memoryview)
    assert data.format == "h"
    assert data.itemsize == 2
    assert data.ndim == 1
    assert len(data) == 20
    assert data.nbytes == 40
    # Interleaved: sample i of channel c sits at index i * num_channels + c.
    assert data.tolist() == expected.reshape(-1).tolist()
    assert data[3] == expected[1, 1]


def test_longer_buffer_views_only_the_declared_prefix(rng):
    samples = rng.integers(-32768, 32768, size=50, dtype=np.int16)
    raw = bytearray(samples.tobytes() + b"\x7f")  # also an odd trailing byte
    frame = AudioFrame(raw, 8000, 2, 10)
    assert len(frame.data) == 20
    np.testing.assert_array_equal(frame.to_ndarray().reshape(-1), samples[:20])
    # Still zero-copy over the prefix of the longer buffer.
    frame.data[0] = 1234
    assert np.frombuffer(raw[:2], dtype=np.int16)[0] == 1234


def test_zero_samples_per_channel_is_valid():
    for data in (b"", bytearray(), np.zeros(0, np.int16), np.zeros((0, 2), np.int16), b"\x00" * 8):
        frame = AudioFrame(data, 48000, 2, 0)
        assert frame.samples_per_channel == 0
        assert frame.duration == 0.0
        assert len(frame.data) == 0
        assert frame.to_ndarray().shape == (0, 2)
        assert frame.to_ndarray().dtype == np.int16


@pytest.mark.parametrize(
    ("data", "readonly"),
    [
        (np.zeros((0, 2), np.int16), False),  # N-D empty views cannot be memoryview.cast
        (np.zeros((0, 1), np.int16), False),
        (np.zeros((4, 0), np.int16), False),
        (bytearray(), False),
        (b"", False),  # immutable input is copied: every frame is writable
        (memoryview(b"").cast("h"), False),
    ],
)
def test_empty_buffers_are_writable_frames(data, readonly):
    frame = AudioFrame(data, 16000, 2, 0)
    assert frame.data.readonly is readonly
    assert frame.data.format == "h"
    assert frame.to_ndarray().shape == (0, 2)


def test_numpy_integer_sizes_are_accepted_and_normalised():
    frame = AudioFrame(bytearray(2 * 2 * 5), np.int64(16000), np.int32(2), np.uint16(5))
    assert (frame.sample_rate, frame.num_channels, frame.samples_per_channel) == (16000, 2, 5)
    assert type(frame.sample_rate) is int
    assert type(frame.num_channels) is int
    assert type(frame.samples_per_channel) is int


@pytest.mark.parametrize(
    ("sample_rate", "samples_per_channel", "expected"),
    [
        (48000, 480, 0.01),
        (16000, 160, 0.01),
        (44100, 441, 0.01),
        (8000, 8000, 1.0),
        (24000, 0, 0.0),
        (48000, 1, 1 / 48000),
    ],
)
def test_duration(sample_rate, samples_per_channel, expected):
    frame = AudioFrame.create(sample_rate, 2, samples_per_channel)
    assert frame.duration == pytest.approx(expected, rel=1e-12, abs=0)
    assert isinstance(frame.duration, float)


def test_duration_does_not_depend_on_channels():
    assert AudioFrame.create(48000, 1, 960).duration == AudioFrame.create(48000, 6, 960).duration


def test_repr_names_the_layout():
    text = repr(AudioFrame.create(48000, 2, 480))
    assert "AudioFrame(" in text
    assert "sample_rate=48000" in text
    assert "num_channels=2" in text
    assert "samples_per_channel=480" in text


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def test_too_short_buffer_names_expected_and_actual_sizes():
    with pytest.raises(ValueError, match=r"holds 18 bytes, expected at least 20"):
        AudioFrame(b"\x00" * 18, 48000, 2, 5)
    with pytest.raises(ValueError, match=r"num_channels=2 \* samples_per_channel=5 \* 2"):
        AudioFrame(bytearray(19), 48000, 2, 5)
    with pytest.raises(ValueError, match=r"holds 0 bytes, expected at least 2"):
        AudioFrame(b"", 48000, 1, 1)
    # An int16 numpy array one sample too short.
    with pytest.raises(ValueError, match=r"holds 958 bytes, expected at least 960"):
        AudioFrame(np.zeros(479, np.int16), 48000, 1, 480)


def test_exactly_sized_buffer_is_accepted():
    AudioFrame(b"\x00" * 20, 48000, 2, 5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sample_rate": 0}, r"sample_rate must be > 0, got 0"),
        ({"sample_rate": -16000}, r"sample_rate must be > 0, got -16000"),
        ({"num_channels": 0}, r"num_channels must be > 0, got 0"),
        ({"num_channels": -1}, r"num_channels must be > 0, got -1"),
        (
            {"samples_per_channel": -1},
            r"samples_per_channel must be within \[0, 2147483647\], got -1",
        ),
    ],
)
def test_out_of_range_sizes_raise_value_error(kwargs, match):
    args = {"sample_rate": 48000, "num_channels": 1, "samples_per_channel": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        AudioFrame(bytearray(64), **args)
    with pytest.raises(ValueError, match=match):
        AudioFrame.create(**args)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sample_rate": 48000.0}, r"sample_rate must be an int, got float"),
        ({"sample_rate": "48000"}, r"sample_rate must be an int, got str"),
        ({"sample_rate": True}, r"sample_rate must be an int, got bool"),
        ({"sample_rate": None}, r"sample_rate must be an int, got NoneType"),
        ({"num_channels": 2.0}, r"num_channels must be an int, got float"),
        ({"num_channels": True}, r"num_channels must be an int, got bool"),
        ({"samples_per_channel": 4.5}, r"samples_per_channel must be an int, got float"),
        ({"samples_per_channel": False}, r"samples_per_channel must be an int, got bool"),
    ],
)
def test_non_int_sizes_raise_type_error(kwargs, match):
    args = {"sample_rate": 48000, "num_channels": 1, "samples_per_channel": 4, **kwargs}
    with pytest.raises(TypeError, match=match):
        AudioFrame(bytearray(64), **args)
    with pytest.raises(TypeError, match=match):
        AudioFrame.create(**args)


@pytest.mark.parametrize(
    ("data", "type_name"),
    [("abcd", "str"), (None, "NoneType"), ([0, 0, 0, 0], "list"), (1234, "int")],
)
def test_non_buffer_data_raises_type_error(data, type_name):
    with pytest.raises(
        TypeError, match=rf"data must be bytes, bytearray, memoryview.*got {type_name}"
    ):
        AudioFrame(data, 48000, 1, 1)


def test_strided_numpy_buffer_is_rejected():
    base = np.arange(20, dtype=np.int16)
    with pytest.raises(ValueError, match=r"C-contiguous.*strided"):
        AudioFrame(base[::2], 48000, 1, 10)


def test_fortran_ordered_2d_buffer_is_rejected_by_constructor():
    fortran = np.asfortranarray(np.arange(12, dtype=np.int16).reshape(6, 2))
    assert not fortran.flags.c_contiguous
    with pytest.raises(ValueError, match=r"C-contiguous"):
        AudioFrame(fortran, 48000, 2, 6)


def test_strided_memoryview_is_rejected():
    view = memoryview(bytearray(40)).cast("h")[::2]
    assert not view.c_contiguous
    with pytest.raises(ValueError, match=r"C-contiguous"):
        AudioFrame(view, 48000, 1, 10)


# --------------------------------------------------------------------------------------------
# Writability and zero-copy
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "immutable",
    [
        lambda a: a.tobytes(),
        lambda a: memoryview(a.tobytes()),
        lambda a: np.frombuffer(a.tobytes(), np.int16),  # a read-only array
    ],
    ids=["bytes", "readonly-memoryview", "readonly-ndarray"],
)
def test_immutable_input_is_copied_into_a_writable_frame(rng, immutable):
    """As in LiveKit's SDK, a frame made from bytes can be processed in place: the frame
    holds a writable copy and the caller's immutable buffer is left as it was."""
    expected = random_samples(rng, 480, 1)
    source = immutable(expected)
    frame = AudioFrame(source, 48000, 1, 480)
    assert not frame.data.readonly and frame.to_ndarray().flags.writeable
    np.testing.assert_array_equal(frame.to_ndarray()[:, 0], expected[:, 0])
    AudioProcessingModule(high_pass_filter=True).process_stream(frame)
    assert not np.array_equal(frame.to_ndarray(), expected)  # processed in place
    np.testing.assert_array_equal(np.frombuffer(source, np.int16), expected[:, 0])


def test_userdata_is_a_dict_carried_with_the_frame():
    assert AudioFrame.create(16000, 1, 160).userdata == {}
    meta = {"speaker": "agent"}
    frame = AudioFrame(bytearray(320), 16000, 1, 160, userdata=meta)
    assert frame.userdata is meta
    frame.userdata["seq"] = 7
    assert meta["seq"] == 7
    with pytest.raises(TypeError, match="userdata must be a dict"):
        AudioFrame(bytearray(320), 16000, 1, 160, userdata=["not", "a", "dict"])


@pytest.mark.parametrize("kind", ["bytearray", "numpy", "memoryview-of-bytearray"])
def test_writable_buffers_give_writable_frames(kind):
    buffer = {
        "bytearray": bytearray(16),
        "numpy": np.zeros(8, np.int16),
        "memoryview-of-bytearray": memoryview(bytearray(16)),
    }[kind]
    frame = AudioFrame(buffer, 48000, 2, 4)
    assert not frame.data.readonly
    assert frame.to_ndarray().flags.writeable


def test_writing_through_data_changes_the_bytearray():
    raw = bytearray(2 * 2 * 3)
    frame = AudioFrame(raw, 48000, 2, 3)
    frame.data[0] = -32768
    frame.data[5] = 32767
    got = np.frombuffer(bytes(raw), dtype=np.int16)
    np.testing.assert_array_equal(got, [-32768, 0, 0, 0, 0, 32767])


def test_writing_through_data_changes_the_ndarray():
    source = np.zeros((3, 2), np.int16)
    frame = AudioFrame(source, 48000, 2, 3)
    frame.data[3] = 777  # sample 1, channel 1
    assert source[1, 1] == 777
    assert source.sum() == 777


def test_writing_through_to_ndarray_changes_the_bytearray():
    raw = bytearray(2 * 2 * 4)
    frame = AudioFrame(raw, 48000, 2, 4)
    view = frame.to_ndarray()
    view[2, 0] = 1111
    view[:, 1] = -5
    np.testing.assert_array_equal(
        np.frombuffer(bytes(raw), dtype=np.int16), [0, -5, 0, -5, 1111, -5, 0, -5]
    )
    assert frame.data[4] == 1111


def test_writing_through_to_ndarray_changes_the_ndarray():
    source = np.zeros(6, np.int16)
    frame = AudioFrame(source, 48000, 1, 6)
    frame.to_ndarray()[4, 0] = 42
    assert source[4] == 42


def test_to_ndarray_is_a_zero_copy_view(rng):
    source = random_samples(rng, 100, 2)
    frame = AudioFrame(source, 48000, 2, 100)
    view = frame.to_ndarray()
    assert view.shape == (100, 2)
    assert view.dtype == np.int16
    assert np.shares_memory(view, source)
    np.testing.assert_array_equal(view, source)
    # Two calls view the same memory.
    assert np.shares_memory(frame.to_ndarray(), view)


def test_to_ndarray_deinterleaves_channels():
    interleaved = np.array([10, 20, 30, 11, 21, 31], np.int16)  # 2 samples x 3 channels
    frame = AudioFrame(interleaved.tobytes(), 16000, 3, 2)
    np.testing.assert_array_equal(frame.to_ndarray(), [[10, 20, 30], [11, 21, 31]])
    np.testing.assert_array_equal(frame.to_ndarray()[:, 2], [30, 31])


# --------------------------------------------------------------------------------------------
# create
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("num_channels", "samples_per_channel"), [(1, 480), (2, 160), (6, 1), (2, 0)]
)
def test_create_gives_zeroed_writable_frame(num_channels, samples_per_channel):
    frame = AudioFrame.create(44100, num_channels, samples_per_channel)
    assert frame.sample_rate == 44100
    assert frame.num_channels == num_channels
    assert frame.samples_per_channel == samples_per_channel
    assert len(frame.data) == num_channels * samples_per_channel
    assert frame.data.format == "h"
    assert not frame.data.readonly
    array_view = frame.to_ndarray()
    assert array_view.shape == (samples_per_channel, num_channels)
    assert not array_view.any()
    if samples_per_channel:
        frame.data[-1] = -1
        assert frame.to_ndarray()[-1, -1] == -1
        array_view[0, 0] = 9
        assert frame.data[0] == 9


def test_created_frames_do_not_share_memory():
    first = AudioFrame.create(48000, 1, 10)
    second = AudioFrame.create(48000, 1, 10)
    first.data[0] = 5
    assert second.data[0] == 0
    assert not np.shares_memory(first.to_ndarray(), second.to_ndarray())


# --------------------------------------------------------------------------------------------
# from_ndarray
# --------------------------------------------------------------------------------------------


def test_from_ndarray_mono_1d(rng):
    source = rng.integers(-32768, 32768, size=321, dtype=np.int16)
    frame = AudioFrame.from_ndarray(source, 16000)
    assert (frame.sample_rate, frame.num_channels, frame.samples_per_channel) == (16000, 1, 321)
    np.testing.assert_array_equal(frame.to_ndarray()[:, 0], source)
    assert np.shares_memory(frame.to_ndarray(), source)  # C-contiguous: zero-copy


def test_from_ndarray_2d_c_order_is_zero_copy(rng):
    source = random_samples(rng, 50, 4)
    frame = AudioFrame.from_ndarray(source, 48000)
    assert (frame.num_channels, frame.samples_per_channel) == (4, 50)
    np.testing.assert_array_equal(frame.to_ndarray(), source)
    np.testing.assert_array_equal(samples_of(frame), source)
    assert np.shares_memory(frame.to_ndarray(), source)
    source[7, 3] = 12345
    assert frame.to_ndarray()[7, 3] == 12345


def test_from_ndarray_fortran_order_is_copied_to_c_order(rng):
    expected = random_samples(rng, 64, 2)
    fortran = np.asfortranarray(expected)
    assert not fortran.flags.c_contiguous
    frame = AudioFrame.from_ndarray(fortran, 48000)
    assert (frame.num_channels, frame.samples_per_channel) == (2, 64)
    np.testing.assert_array_equal(frame.to_ndarray(), expected)
    # The interleaved buffer holds the samples in (sample, channel) order.
    assert frame.data.tolist() == expected.reshape(-1).tolist()
    assert not np.shares_memory(frame.to_ndarray(), fortran)


def test_from_ndarray_strided_inputs_give_right_samples(rng):
    big = random_samples(rng, 200, 6)

    rows = big[::3]  # every third sample, all channels
    frame = AudioFrame.from_ndarray(rows, 24000)
    np.testing.assert_array_equal(frame.to_ndarray(), rows)
    assert frame.data.tolist() == rows.reshape(-1).tolist()

    cols = big[:, ::2]  # channels 0, 2, 4
    frame = AudioFrame.from_ndarray(cols, 24000)
    assert frame.num_channels == 3
    np.testing.assert_array_equal(frame.to_ndarray(), cols)

    mono = big[::-1, 5]  # reversed, strided 1-D
    frame = AudioFrame.from_ndarray(mono, 24000)
    assert (frame.num_channels, frame.samples_per_channel) == (1, 200)
    np.testing.assert_array_equal(frame.to_ndarray()[:, 0], mono)


def test_from_ndarray_transposed_channel_major_input(rng):
    channel_major = rng.integers(-32768, 32768, size=(2, 30), dtype=np.int16)
    frame = AudioFrame.from_ndarray(channel_major.T, 16000)
    assert (frame.num_channels, frame.samples_per_channel) == (2, 30)
    np.testing.assert_array_equal(frame.to_ndarray()[:, 0], channel_major[0])
    np.testing.assert_array_equal(frame.to_ndarray()[:, 1], channel_major[1])


def test_from_ndarray_empty():
    frame = AudioFrame.from_ndarray(np.zeros(0, np.int16), 48000)
    assert (frame.num_channels, frame.samples_per_channel) == (1, 0)
    frame = AudioFrame.from_ndarray(np.zeros((0, 2), np.int16), 48000)
    assert (frame.num_channels, frame.samples_per_channel) == (2, 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.uint16, np.int8, ">i2"])
def test_from_ndarray_wrong_dtype_raises_type_error(dtype):
    with pytest.raises(TypeError, match=r"dtype int16, got"):
        AudioFrame.from_ndarray(np.zeros(10, dtype=dtype), 48000)


def test_from_ndarray_wrong_dtype_message_names_dtype():
    with pytest.raises(TypeError, match=r"got float32"):
        AudioFrame.from_ndarray(np.zeros(10, np.float32), 48000)


@pytest.mark.parametrize("value", [[0, 1, 2], b"\x00\x00", bytearray(4)])
def test_from_ndarray_non_array_raises_type_error(value):
    with pytest.raises(TypeError, match=r"numpy\.ndarray, got"):
        AudioFrame.from_ndarray(value, 48000)


def test_from_ndarray_3d_raises_value_error():
    with pytest.raises(ValueError, match=r"got 3-D with shape \(4, 2, 2\)"):
        AudioFrame.from_ndarray(np.zeros((4, 2, 2), np.int16), 48000)


def test_from_ndarray_0d_raises_value_error():
    with pytest.raises(ValueError, match=r"got 0-D"):
        AudioFrame.from_ndarray(np.array(3, np.int16), 48000)


def test_from_ndarray_zero_channels_raises_value_error():
    with pytest.raises(ValueError, match=r"at least one channel, got shape \(10, 0\)"):
        AudioFrame.from_ndarray(np.zeros((10, 0), np.int16), 48000)


def test_from_ndarray_validates_sample_rate():
    with pytest.raises(ValueError, match=r"sample_rate must be > 0, got 0"):
        AudioFrame.from_ndarray(np.zeros(4, np.int16), 0)
    with pytest.raises(TypeError, match=r"sample_rate must be an int, got float"):
        AudioFrame.from_ndarray(np.zeros(4, np.int16), 16000.0)


# --------------------------------------------------------------------------------------------
# to_wav_bytes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample_rate", "num_channels", "samples_per_channel"),
    [(48000, 1, 480), (16000, 2, 1234), (44100, 6, 100), (8000, 1, 1), (22050, 2, 0)],
)
def test_wav_round_trips_bit_exactly(rng, sample_rate, num_channels, samples_per_channel):
    expected = random_samples(rng, samples_per_channel, num_channels)
    if samples_per_channel:
        expected[0, 0] = -32768  # both extremes are represented
        expected[-1, -1] = 32767
    frame = AudioFrame.from_ndarray(expected, sample_rate)
    payload = frame.to_wav_bytes()
    assert isinstance(payload, bytes)
    assert payload[:4] == b"RIFF"
    assert payload[8:12] == b"WAVE"

    got, rate = sf.read(io.BytesIO(payload), dtype="int16", always_2d=True)
    assert rate == sample_rate
    assert got.shape == (samples_per_channel, num_channels)
    np.testing.assert_array_equal(got, expected)

    info = sf.info(io.BytesIO(payload))
    assert info.channels == num_channels
    assert info.samplerate == sample_rate
    assert info.subtype == "PCM_16"

    with wave.open(io.BytesIO(payload), "rb") as wav:
        assert wav.getnchannels() == num_channels
        assert wav.getsampwidth() == 2
        assert wav.getframerate() == sample_rate
        assert wav.getnframes() == samples_per_channel
        raw = wav.readframes(samples_per_channel)
    np.testing.assert_array_equal(
        np.frombuffer(raw, dtype="<i2").reshape(samples_per_channel, num_channels), expected
    )


def test_wav_of_read_only_and_oversized_buffers(rng):
    samples = rng.integers(-32768, 32768, size=30, dtype=np.int16)
    frame = AudioFrame(samples.tobytes(), 16000, 2, 10)  # bytes, longer than needed
    got, rate = sf.read(io.BytesIO(frame.to_wav_bytes()), dtype="int16", always_2d=True)
    assert rate == 16000
    np.testing.assert_array_equal(got, samples[:20].reshape(10, 2))


def test_wav_does_not_modify_the_frame(rng):
    expected = random_samples(rng, 50, 2)
    frame = AudioFrame.from_ndarray(expected.copy(), 48000)
    frame.to_wav_bytes()
    np.testing.assert_array_equal(frame.to_ndarray(), expected)


# --------------------------------------------------------------------------------------------
# AudioFrameLike and frame_samples
# --------------------------------------------------------------------------------------------


def test_our_frame_is_audio_frame_like():
    assert isinstance(AudioFrame.create(48000, 1, 10), AudioFrameLike)
    assert not isinstance(object(), AudioFrameLike)
    assert not isinstance(np.zeros(4, np.int16), AudioFrameLike)


def test_frame_samples_of_our_frame_shares_memory(rng):
    source = random_samples(rng, 20, 2)
    frame = AudioFrame.from_ndarray(source, 48000)
    view = frame_samples(frame)
    assert view.format == "h"
    assert len(view) == 40
    assert np.shares_memory(np.frombuffer(view, np.int16), source)


def test_frame_samples_of_a_duck_typed_frame(rng):
    samples = rng.integers(-32768, 32768, size=12, dtype=np.int16)
    duck = SimpleNamespace(
        data=samples.tobytes() + b"\x00\x00",
        sample_rate=8000,
        num_channels=3,
        samples_per_channel=4,
    )
    assert isinstance(duck, AudioFrameLike)
    view = frame_samples(duck)
    assert view.format == "h"
    assert view.tolist() == samples.tolist()


def test_frame_samples_rejects_bad_frames():
    with pytest.raises(TypeError, match=r"expected an AudioFrame.*got int"):
        frame_samples(42)
    with pytest.raises(TypeError, match=r"frame\.data must be a buffer, got str"):
        frame_samples(
            SimpleNamespace(data="xx", sample_rate=1, num_channels=1, samples_per_channel=1)
        )
    with pytest.raises(ValueError, match=r"at least 8 bytes, got 6 bytes"):
        frame_samples(
            SimpleNamespace(
                data=b"\x00" * 6, sample_rate=8000, num_channels=2, samples_per_channel=2
            )
        )
    empty = frame_samples(
        SimpleNamespace(
            data=np.zeros((0, 2), np.int16), sample_rate=8000, num_channels=2, samples_per_channel=0
        )
    )
    assert len(empty) == 0 and empty.format == "h"
    with pytest.raises(ValueError, match=r"C-contiguous"):
        frame_samples(
            SimpleNamespace(
                data=np.zeros(20, np.int16)[::2],
                sample_rate=8000,
                num_channels=1,
                samples_per_channel=10,
            )
        )


# --------------------------------------------------------------------------------------------
# combine_audio_frames
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("num_channels", [1, 2])
@pytest.mark.parametrize(
    "lengths",
    [
        [480],
        [480, 480, 480],
        [0],
        [0, 0],
        [1, 0, 7, 0, 1000],
        [0, 160],
        [160, 0],
        [3, 1, 4, 1, 5, 9],
    ],
)
def test_combine_equals_concatenate(rng, num_channels, lengths):
    parts = [random_samples(rng, n, num_channels) for n in lengths]
    frames = [AudioFrame.from_ndarray(p, 16000) for p in parts]
    combined = combine_audio_frames(frames)

    assert isinstance(combined, AudioFrame)
    assert combined.sample_rate == 16000
    assert combined.num_channels == num_channels
    assert combined.samples_per_channel == sum(lengths)
    assert combined.duration == pytest.approx(sum(f.duration for f in frames))
    expected = np.concatenate(parts, axis=0)
    np.testing.assert_array_equal(combined.to_ndarray(), expected)
    np.testing.assert_array_equal(samples_of(combined), expected)


def test_combine_accepts_list_tuple_generator_and_single_frame(rng):
    parts = [random_samples(rng, n, 2) for n in (10, 20, 30)]
    frames = [AudioFrame.from_ndarray(p, 48000) for p in parts]
    expected = np.concatenate(parts)
    np.testing.assert_array_equal(combine_audio_frames(frames).to_ndarray(), expected)
    np.testing.assert_array_equal(combine_audio_frames(tuple(frames)).to_ndarray(), expected)
    np.testing.assert_array_equal(combine_audio_frames(f for f in frames).to_ndarray(), expected)
    single = combine_audio_frames(frames[1])
    assert (single.sample_rate, single.num_channels, single.samples_per_channel) == (48000, 2, 20)
    np.testing.assert_array_equal(single.to_ndarray(), parts[1])


def test_combine_result_is_writable_and_does_not_alias_inputs(rng):
    parts = [random_samples(rng, n, 2) for n in (5, 6)]
    frames = [AudioFrame.from_ndarray(parts[0], 48000), AudioFrame(parts[1].tobytes(), 48000, 2, 6)]
    combined = combine_audio_frames(frames)
    assert not combined.data.readonly  # writable even though one input is bytes-backed
    out = combined.to_ndarray()
    assert out.flags.writeable
    for frame in frames:
        assert not np.shares_memory(out, frame.to_ndarray())
    before = [f.to_ndarray().copy() for f in frames]
    out[:] = 0
    combined.data[0] = 99
    for frame, snapshot in zip(frames, before, strict=False):
        np.testing.assert_array_equal(frame.to_ndarray(), snapshot)


def test_combine_of_single_frame_is_a_copy(rng):
    source = random_samples(rng, 10, 1)
    frame = AudioFrame.from_ndarray(source, 48000)
    combined = combine_audio_frames([frame])
    assert not np.shares_memory(combined.to_ndarray(), source)
    combined.data[0] = int(~source[0, 0])
    assert source[0, 0] != combined.data[0]
    combined = combine_audio_frames(frame)
    assert not np.shares_memory(combined.to_ndarray(), source)


@pytest.mark.parametrize("empty", [[], (), iter([])], ids=["list", "tuple", "iterator"])
def test_combine_rejects_empty_input(empty):
    with pytest.raises(ValueError, match=r"at least one frame, got none"):
        combine_audio_frames(empty)


def test_combine_rejects_sample_rate_mismatch():
    frames = [
        AudioFrame.create(48000, 1, 10),
        AudioFrame.create(48000, 1, 10),
        AudioFrame.create(16000, 1, 10),
    ]
    with pytest.raises(
        ValueError, match=r"sample rate mismatch at frame 2: expected 48000, got 16000"
    ):
        combine_audio_frames(frames)


def test_combine_rejects_channel_mismatch():
    frames = [AudioFrame.create(48000, 2, 10), AudioFrame.create(48000, 1, 10)]
    with pytest.raises(ValueError, match=r"channel count mismatch at frame 1: expected 2, got 1"):
        combine_audio_frames(frames)


def test_combine_rejects_mismatch_even_in_zero_length_frames():
    with pytest.raises(ValueError, match=r"expected 16000, got 8000"):
        combine_audio_frames([AudioFrame.create(16000, 1, 0), AudioFrame.create(8000, 1, 0)])
    with pytest.raises(ValueError, match=r"expected 1, got 2"):
        combine_audio_frames([AudioFrame.create(16000, 1, 0), AudioFrame.create(16000, 2, 0)])


def test_combine_rejects_non_frames_with_type_error():
    good = AudioFrame.create(48000, 1, 10)
    with pytest.raises(TypeError, match=r"frame 1 is not an AudioFrame.*got int"):
        combine_audio_frames([good, 42])
    with pytest.raises(TypeError, match=r"frame 0 is not an AudioFrame.*got bytes"):
        combine_audio_frames([b"\x00\x00", good])
    with pytest.raises(TypeError):
        combine_audio_frames(42)


def test_combine_accepts_duck_typed_frames(rng):
    parts = [random_samples(rng, n, 2) for n in (4, 9)]
    ducks = [
        SimpleNamespace(
            data=p.tobytes(), sample_rate=24000, num_channels=2, samples_per_channel=len(p)
        )
        for p in parts
    ]
    combined = combine_audio_frames(ducks)
    np.testing.assert_array_equal(combined.to_ndarray(), np.concatenate(parts))


# --------------------------------------------------------------------------------------------
# Interop with LiveKit's own AudioFrame
# --------------------------------------------------------------------------------------------


@pytest.fixture
def rtc():
    return pytest.importorskip("livekit.rtc")


def lk_frame_from(rtc, samples: np.ndarray, sample_rate: int):
    return rtc.AudioFrame(samples.tobytes(), sample_rate, samples.shape[1], samples.shape[0])


def test_livekit_frame_is_audio_frame_like(rtc):
    assert isinstance(rtc.AudioFrame.create(48000, 1, 480), AudioFrameLike)


@pytest.mark.parametrize("num_channels", [1, 2])
def test_frame_samples_of_livekit_frame(rtc, rng, num_channels):
    samples = random_samples(rng, 480, num_channels)
    lk = lk_frame_from(rtc, samples, 48000)
    view = frame_samples(lk)
    assert isinstance(view, memoryview)
    assert view.format == "h"
    assert len(view) == 480 * num_channels
    np.testing.assert_array_equal(np.frombuffer(view, np.int16), samples.reshape(-1))


@pytest.mark.parametrize("num_channels", [1, 2])
def test_combine_mixes_livekit_and_our_frames(rtc, rng, num_channels):
    first = random_samples(rng, 480, num_channels)
    second = random_samples(rng, 240, num_channels)
    third = random_samples(rng, 0, num_channels)
    lk = lk_frame_from(rtc, first, 48000)
    ours = AudioFrame.from_ndarray(second, 48000)
    lk_empty = lk_frame_from(rtc, third, 48000)

    combined = combine_audio_frames([lk, ours, lk_empty])
    assert isinstance(combined, AudioFrame)
    assert combined.sample_rate == 48000
    assert combined.num_channels == num_channels
    assert combined.samples_per_channel == 720
    np.testing.assert_array_equal(combined.to_ndarray(), np.concatenate([first, second]))

    combined = combine_audio_frames([ours, lk])
    np.testing.assert_array_equal(combined.to_ndarray(), np.concatenate([second, first]))

    single = combine_audio_frames(lk)
    np.testing.assert_array_equal(single.to_ndarray(), first)


def test_combine_reports_mismatch_with_livekit_frames(rtc):
    lk = rtc.AudioFrame.create(16000, 1, 160)
    with pytest.raises(ValueError, match=r"expected 48000, got 16000"):
        combine_audio_frames([AudioFrame.create(48000, 1, 480), lk])
    with pytest.raises(ValueError, match=r"expected 1, got 2"):
        combine_audio_frames([lk, rtc.AudioFrame.create(16000, 2, 160)])


def test_livekit_accepts_our_data_and_frames(rtc, rng):
    samples = random_samples(rng, 160, 2)
    ours = AudioFrame.from_ndarray(samples, 16000)
    lk = rtc.AudioFrame(ours.data, ours.sample_rate, ours.num_channels, ours.samples_per_channel)
    np.testing.assert_array_equal(np.frombuffer(lk.data, np.int16), samples.reshape(-1))
    assert lk.duration == pytest.approx(ours.duration)
    lk_combined = rtc.combine_audio_frames([ours, ours])
    np.testing.assert_array_equal(
        np.frombuffer(lk_combined.data, np.int16).reshape(-1, 2), np.concatenate([samples, samples])
    )


# --------------------------------------------------------------------------------------------
# Property test
# --------------------------------------------------------------------------------------------


@st.composite
def frame_layouts(draw):
    num_channels = draw(st.integers(1, 8))
    samples_per_channel = draw(st.integers(0, 500))
    samples = draw(
        hnp.arrays(
            np.int16, (samples_per_channel, num_channels), elements=st.integers(-32768, 32767)
        )
    )
    cuts = sorted(draw(st.lists(st.integers(0, samples_per_channel), max_size=5)))
    sample_rate = draw(st.sampled_from([8000, 16000, 44100, 48000]))
    return samples, cuts, sample_rate


@settings(max_examples=50, deadline=None)
@given(frame_layouts())
def test_property_round_trip_and_split_combine(layout):
    samples, cuts, sample_rate = layout
    samples_per_channel, num_channels = samples.shape

    frame = AudioFrame(samples.tobytes(), sample_rate, num_channels, samples_per_channel)
    np.testing.assert_array_equal(frame.to_ndarray(), samples)
    assert frame.to_ndarray().shape == (samples_per_channel, num_channels)
    assert len(frame.data) == samples.size

    zero_copy = AudioFrame(samples, sample_rate, num_channels, samples_per_channel)
    np.testing.assert_array_equal(zero_copy.to_ndarray(), samples)
    from_array = AudioFrame.from_ndarray(samples, sample_rate)
    np.testing.assert_array_equal(from_array.to_ndarray(), samples)
    if samples.size:
        assert np.shares_memory(zero_copy.to_ndarray(), samples)
        assert np.shares_memory(from_array.to_ndarray(), samples)

    bounds = [0, *cuts, samples_per_channel]
    pieces = [
        AudioFrame(bytearray(samples[a:b].tobytes()), sample_rate, num_channels, b - a)
        if i % 2
        else AudioFrame.from_ndarray(samples[a:b], sample_rate)  # zero-copy row slices
        for i, (a, b) in enumerate(itertools.pairwise(bounds))
    ]
    combined = combine_audio_frames(pieces)
    assert combined.samples_per_channel == samples_per_channel
    assert combined.num_channels == num_channels
    assert combined.sample_rate == sample_rate
    np.testing.assert_array_equal(combined.to_ndarray(), samples)
    assert bytes(combined.data) == samples.tobytes()
