"""AudioByteStream: livekit-agents' API and semantics (bytes in, fixed-size frames out)."""

from __future__ import annotations

import numpy as np
import pytest

from livekit_audio import AudioFrame
from livekit_audio.codecs import AudioByteStream


def _cut(data: bytes, sizes: list[int]) -> list[bytes]:
    out, pos, i = [], 0, 0
    while pos < len(data):
        out.append(data[pos : pos + sizes[i % len(sizes)]])
        pos += sizes[i % len(sizes)]
        i += 1
    return out


def test_default_frame_is_100_ms_as_livekit_agents() -> None:
    assert AudioByteStream(48000, 1).samples_per_channel == 4800
    assert AudioByteStream(16000, 2).samples_per_channel == 1600


@pytest.mark.parametrize("channels", [1, 2, 3])
def test_any_split_gives_the_same_fixed_frames(channels: int, rng: np.random.Generator) -> None:
    x = rng.integers(-32768, 32768, size=(10_007, channels), dtype=np.int16)
    data = x.tobytes()
    stream = AudioByteStream(16000, channels, samples_per_channel=160)
    sizes = [int(s) for s in rng.integers(1, 999, size=50)]  # pushes end inside samples too
    frames: list[AudioFrame] = []
    for piece in _cut(data, sizes):
        frames += stream.push(piece)
    assert all(f.samples_per_channel == 160 for f in frames)
    assert all((f.sample_rate, f.num_channels) == (16000, channels) for f in frames)
    tail = stream.flush()
    assert len(tail) == 1 and tail[0].samples_per_channel == 10_007 % 160
    got = np.concatenate([f.to_ndarray() for f in frames + tail])
    np.testing.assert_array_equal(got, x)
    assert stream.flush() == []


def test_flush_keeps_a_partial_sample_for_the_next_push() -> None:
    stream = AudioByteStream(8000, 2, samples_per_channel=4)
    assert stream.push(b"\x01\x00\x02\x00\x03") == []  # one whole sample + 1 byte
    (frame,) = stream.flush()
    assert frame.samples_per_channel == 1 and frame.to_ndarray().tolist() == [[1, 2]]
    assert stream.push(b"\x00\x04\x00") == []
    (frame,) = stream.flush()
    assert frame.to_ndarray().tolist() == [[3, 4]]


def test_frames_own_their_memory_and_write_alias() -> None:
    stream = AudioByteStream(8000, 1, samples_per_channel=2)
    data = bytearray(b"\x01\x00\x02\x00\x03\x00\x04\x00")
    frames = stream.write(data)
    data[:] = b"\x00" * 8
    assert [f.to_ndarray()[:, 0].tolist() for f in frames] == [[1, 2], [3, 4]]
    frames[0].to_ndarray()[0, 0] = 9  # writable, like every AudioFrame
    assert stream.buffered_duration == 0


def test_validation() -> None:
    with pytest.raises(ValueError):
        AudioByteStream(0, 1)
    with pytest.raises(ValueError):
        AudioByteStream(16000, 1, samples_per_channel=0)
    with pytest.raises(TypeError):
        AudioByteStream(16000.0, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        AudioByteStream(16000, 1).push("text")  # type: ignore[arg-type]
