"""Processors on ``livekit.rtc.AudioFrame``: LiveKit's ``rtc.AudioStream`` calls
``processor._process(frame)`` with its own frame type and yields what comes back, so our
processors write into that frame and return the same object."""

from __future__ import annotations

import numpy as np
import pytest

from livekit_audio import AudioFrame, GainProcessor
from livekit_audio.apm_processor import ApmProcessor

rtc = pytest.importorskip("livekit.rtc")

APM_OPTIONS = dict(noise_suppression=True, high_pass_filter=True, auto_gain_control=True)


def signal(rng: np.random.Generator, n: int, channels: int) -> np.ndarray:
    """Seeded noise with a 440 Hz tone, int16 of shape (n, channels)."""
    t = np.arange(n) / 48000
    tone = 6000 * np.sin(2 * np.pi * 440 * t)[:, None]
    return np.round(tone + rng.standard_normal((n, channels)) * 1500).astype(np.int16)


def rtc_frame(block: np.ndarray, rate: int, *, create: bool = False):
    """An rtc.AudioFrame holding ``block`` (n, channels): built on a bytearray, or with
    ``rtc.AudioFrame.create`` and filled through its writable ``data`` view."""
    n, channels = block.shape
    if not create:
        return rtc.AudioFrame(bytearray(block.tobytes()), rate, channels, n)
    frame = rtc.AudioFrame.create(rate, channels, n)
    np.frombuffer(frame.data, np.int16)[:] = block.reshape(-1)
    return frame


def samples_of(frame) -> np.ndarray:
    return np.frombuffer(frame.data, np.int16).reshape(-1, frame.num_channels).copy()


@pytest.mark.parametrize("create", [False, True])
@pytest.mark.parametrize("size,channels", [(480, 1), (441, 1), (960, 2)])
def test_apm_processor_processes_rtc_frames_in_place(size, channels, create, rng):
    """Every call returns the very rtc.AudioFrame it was given (userdata intact), holding
    exactly what our own AudioFrame path returns for the same input."""
    x = signal(rng, size * 60, channels)
    ours, theirs = ApmProcessor(**APM_OPTIONS), ApmProcessor(**APM_OPTIONS)
    for i in range(0, len(x), size):
        block = x[i : i + size]
        expected = ours._process(AudioFrame.from_ndarray(block.copy(), 48000)).to_ndarray()
        frame = rtc_frame(block, 48000, create=create)
        frame.userdata["seq"] = i
        out = theirs._process(frame)
        assert out is frame and type(out) is rtc.AudioFrame
        assert out.userdata == {"seq": i}
        np.testing.assert_array_equal(samples_of(out), expected)
    assert theirs.delay_samples == ours.delay_samples


def test_apm_processor_on_a_read_only_rtc_frame_returns_a_new_rtc_frame(rng):
    """An rtc.AudioFrame over bytes cannot be written: a new rtc.AudioFrame of the same
    layout comes back with the processed samples, the input unchanged."""
    x = signal(rng, 480 * 30, 2)
    ours, theirs = ApmProcessor(**APM_OPTIONS), ApmProcessor(**APM_OPTIONS)
    for i in range(0, len(x), 480):
        block = x[i : i + 480]
        expected = ours._process(AudioFrame.from_ndarray(block.copy(), 48000)).to_ndarray()
        frame = rtc.AudioFrame(block.tobytes(), 48000, 2, 480)
        out = theirs._process(frame)
        assert out is not frame and type(out) is rtc.AudioFrame
        assert (out.sample_rate, out.num_channels, out.samples_per_channel) == (48000, 2, 480)
        np.testing.assert_array_equal(samples_of(out), expected)
        np.testing.assert_array_equal(samples_of(frame), block)


def test_our_own_frames_keep_coming_back_as_new_frames(rng):
    x = signal(rng, 480, 1)
    frame = AudioFrame.from_ndarray(x.copy(), 48000)
    out = ApmProcessor(**APM_OPTIONS)._process(frame)
    assert out is not frame and type(out) is AudioFrame
    np.testing.assert_array_equal(frame.to_ndarray(), x)


@pytest.mark.parametrize("create", [False, True])
@pytest.mark.parametrize("gain_db", [-6.0, 12.0])
def test_gain_processor_processes_rtc_frames_in_place(gain_db, create, rng):
    """Identity kept; content equal to our frame path (the same C kernel, ramp included)."""
    x = signal(rng, 480 * 4, 2)
    ours, theirs = GainProcessor(0.0), GainProcessor(0.0)
    ours.gain_db = theirs.gain_db = gain_db  # the first frame ramps from 0 dB
    for i in range(0, len(x), 480):
        block = x[i : i + 480]
        expected = ours._process(AudioFrame.from_ndarray(block.copy(), 48000)).to_ndarray()
        frame = rtc_frame(block, 48000, create=create)
        out = theirs._process(frame)
        assert out is frame and type(out) is rtc.AudioFrame
        np.testing.assert_array_equal(samples_of(out), expected)


def test_gain_processor_on_a_read_only_rtc_frame_returns_a_new_rtc_frame(rng):
    x = signal(rng, 480, 1)
    expected = GainProcessor(-6.0, smooth=False)._process(AudioFrame.from_ndarray(x.copy(), 48000))
    frame = rtc.AudioFrame(x.tobytes(), 48000, 1, 480)
    out = GainProcessor(-6.0, smooth=False)._process(frame)
    assert out is not frame and type(out) is rtc.AudioFrame
    np.testing.assert_array_equal(samples_of(out), expected.to_ndarray())
    np.testing.assert_array_equal(samples_of(frame), x)


class _FrozenFrame:
    """A read-only frame type whose constructor does not take (data, rate, channels, n)."""

    def __init__(self, samples: np.ndarray, rate: int) -> None:
        self.data = memoryview(samples.tobytes()).cast("h")
        self.sample_rate, self.num_channels = rate, samples.shape[1]
        self.samples_per_channel = samples.shape[0]


@pytest.mark.parametrize("make", [lambda: GainProcessor(-6.0), lambda: ApmProcessor(**APM_OPTIONS)])
def test_read_only_frames_of_a_type_that_cannot_be_built_come_back_as_our_frame(make, rng):
    x = signal(rng, 480, 1)
    out = make()._process(_FrozenFrame(x, 48000))
    assert type(out) is AudioFrame
    assert (out.sample_rate, out.num_channels, out.samples_per_channel) == (48000, 1, 480)
