"""Bad input gets a clear TypeError/ValueError naming what was wrong (issue 13's defects 3-6),
never an AttributeError, OverflowError or numpy error from deep inside, and never a frame
declaring an impossible size."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import numpy as np
import pytest

import livekit_audio as la
from livekit_audio import (
    ApmProcessor,
    AudioFrame,
    AudioProcessingError,
    AudioResampler,
    FrameChunker,
    combine_audio_frames,
    mix_frames,
    sine_wave_generator,
)


def duck(**fields):
    """A duck-typed 10 ms, 48 kHz mono frame with some fields overridden."""
    base = dict(
        data=memoryview(bytearray(960)).cast("h"),
        sample_rate=48000,
        num_channels=1,
        samples_per_channel=480,
    )
    return SimpleNamespace(**{**base, **fields})


BAD_FIELDS = [
    ({"samples_per_channel": -1}, ValueError, "samples_per_channel"),
    ({"samples_per_channel": 2**40}, ValueError, "samples_per_channel"),
    ({"sample_rate": -5}, ValueError, "sample_rate"),
    ({"num_channels": 1.5}, TypeError, "num_channels"),
    ({"num_channels": 0}, ValueError, "num_channels"),
    ({"sample_rate": "48000"}, TypeError, "sample_rate"),
]


@pytest.mark.parametrize(("fields", "error", "name"), BAD_FIELDS)
def test_duck_typed_frames_are_validated_like_ours(fields, error, name):
    bad = duck(**fields)
    good = AudioFrame.create(48000, 1, 480)
    with pytest.raises(error, match=name):
        combine_audio_frames([good, bad])
    with pytest.raises(error, match=name):
        mix_frames([good, bad])
    with pytest.raises((error, AudioProcessingError), match=name):
        la.AudioProcessingModule(noise_suppression=True).process_stream(bad)
    with pytest.raises((error, ValueError), match=name):
        AudioResampler(48000, 16000).push(bad)
    with pytest.raises(error, match=name):
        FrameChunker(48000, 1).push(bad)
    with pytest.raises((error, AudioProcessingError), match=name):
        ApmProcessor(noise_suppression=True)._process(bad)


@pytest.mark.asyncio
@pytest.mark.parametrize(("fields", "error", "name"), BAD_FIELDS)
async def test_capture_frame_rejects_a_bad_frame_and_keeps_streams_alive(fields, error, name):
    """A bad frame captured into a source is refused at the call; the streams on its track
    keep every good frame (before, this made queued_duration negative and killed them)."""
    source = la.AudioSource(48000, 1, realtime=False)
    track = la.LocalAudioTrack.create_audio_track("mic", source)
    stream = la.AudioStream(track)
    good = AudioFrame.from_ndarray(np.full(480, 7, np.int16), 48000)
    await source.capture_frame(good)
    with pytest.raises(error, match=name):
        await source.capture_frame(duck(**fields))
    assert source.queued_duration >= 0
    await source.capture_frame(good)
    await source.wait_for_playout()
    await source.aclose()
    got = [event.frame async for event in stream]
    assert sum(f.samples_per_channel for f in got) == 960


def test_mix_frames_validates_every_buffer_before_allocating():
    """A frame declaring 2**31 - 1 samples over a tiny buffer is refused with ValueError
    before the other frames are padded to that size."""
    good = AudioFrame.create(48000, 1, 480)
    liar = duck(samples_per_channel=2**31 - 1)
    with pytest.raises(ValueError, match="frame.data must be a C-contiguous buffer of at least"):
        mix_frames([good, liar])


def test_apm_processor_options_and_frames_are_checked():
    with pytest.raises(TypeError, match="apm must be a livekit_audio.AudioProcessingModule"):
        ApmProcessor(apm=42)
    processor = ApmProcessor(noise_suppression=True)
    with pytest.raises(TypeError, match="expected an AudioFrame"):
        processor._process(None)
    with pytest.raises(AudioProcessingError, match="sample_rate must be an int within"):
        processor._process(AudioFrame.create(50, 1, 1))


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "name"),
    [
        ((float("nan"), 1), {}, TypeError, "sample_rate"),
        ((48000.0, 1), {}, TypeError, "sample_rate"),
        ((48000, 1), {"samples_per_frame": True}, TypeError, "samples_per_frame"),
        ((48000, 0), {}, ValueError, "num_channels"),
        ((50, 1), {}, ValueError, "samples_per_frame"),
    ],
)
def test_frame_chunker_arguments_are_checked_at_construction(args, kwargs, error, name):
    with pytest.raises(error, match=name):
        FrameChunker(*args, **kwargs)


def test_frame_chunker_push_of_a_non_frame_is_a_type_error():
    with pytest.raises(TypeError, match="expected an AudioFrame"):
        FrameChunker(48000, 1).push(None)


@pytest.mark.parametrize("size", [2**31, 2**62, 10**30])
def test_huge_frames_are_a_value_error_not_an_overflow(size):
    with pytest.raises(ValueError, match="samples_per_channel must be within"):
        AudioFrame.create(48000, 1, size)
    with pytest.raises(ValueError, match="num_channels must be <= 1024"):
        AudioFrame.create(48000, 2**40, 1)


@pytest.mark.parametrize(
    ("args", "error", "name"),
    [
        (("440", 1.0), TypeError, "freq"),
        ((440, "1"), TypeError, "duration"),
        ((440, 1.0, 10**400), ValueError, "sample_rate"),
        ((10**400, 1.0), ValueError, "freq"),
        ((440, 10**400), ValueError, "duration"),
        ((440, float("inf")), ValueError, "duration"),
        ((440, 1.0, 48000, float("nan")), ValueError, "amplitude"),
    ],
)
def test_sine_wave_generator_arguments_name_the_parameter(args, error, name):
    with pytest.raises(error, match=name):
        sine_wave_generator(*args)


def test_sine_wave_generator_still_makes_its_tone():
    async def collect():
        return [f async for f in sine_wave_generator(1000, 0.05, 16000)]

    frames = asyncio.run(collect())
    assert sum(f.samples_per_channel for f in frames) == 800
