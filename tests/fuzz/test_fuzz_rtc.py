"""AudioSource (constructor, capture_frame), AudioStream (constructor, from_frames) and
sine_wave_generator."""

from __future__ import annotations

import asyncio
import concurrent.futures

import numpy as np
import pytest
from fuzzkit import (
    JUNK,
    acheck,
    arguments,
    assert_valid_frame,
    check,
    failed,
    frames,
    ints,
    mismatch_names,
    reals,
    sample_rates,
    snapshot,
)
from hypothesis import example, given
from hypothesis import strategies as st

from livekit_audio import (
    ApmProcessor,
    AudioFrame,
    AudioSource,
    AudioStream,
    GainProcessor,
    LocalAudioTrack,
    sine_wave_generator,
)


@given(
    arguments(
        valid={
            "freq": st.floats(0, 7999),
            "duration": st.floats(0, 0.05),
            "sample_rate": st.sampled_from([16000, 44100, 48000]),
            "amplitude": st.floats(0, 1),
        },
        bad={
            "freq": reals(),
            "duration": st.one_of(reals(), st.sampled_from([86_400.001, 1e300])),
            "sample_rate": st.one_of(sample_rates(), ints()),
            "amplitude": reals(),
        },
    )
)
@example(  # found by CI: a float16 duration; the oracle must count in float64 too
    (
        {"freq": 0.0, "duration": np.float16(1.0), "sample_rate": 11025, "amplitude": 0.0},
        {"duration", "sample_rate"},
    )
)
@pytest.mark.asyncio
async def test_sine_wave_generator(args):
    values, mutated = args
    # freq at or above Nyquist is a joint failure of freq and sample_rate: the message
    # names freq
    gen = check(
        sine_wave_generator,
        **values,
        entry="sine_wave_generator",
        names=mutated | {"freq"} if mutated else {"freq"},
    )
    if failed(gen):
        return
    rate = values["sample_rate"]
    total = 0
    async for frame in gen:
        assert_valid_frame(frame, rate=rate, channels=1)
        assert frame.samples_per_channel <= rate // 100
        total += frame.samples_per_channel
        if total > rate:  # long tones: the first second is enough
            break
    else:
        # the documented count is in float64 (a numpy float16 duration times the rate
        # would be rounded to float16's 8-sample spacing near 11,025 before the oracle
        # rounds it)
        assert total == round(float(values["duration"]) * rate)


@given(
    arguments(
        valid={
            "sample_rate": st.sampled_from([16000, 48000]),
            "num_channels": st.integers(1, 2),
            "queue_size_ms": st.sampled_from([10, 1000]),
        },
        bad={
            "sample_rate": ints(),
            "num_channels": st.one_of(st.sampled_from([0, 9, 2000]), ints()),
            "queue_size_ms": ints(),
        },
    ),
    st.sampled_from([None, None, 5, "loop", object()]),
)
def test_audio_source_constructor(args, loop):
    values, mutated = args
    names = set(mutated) or {"sample_rate", "num_channels", "queue_size_ms"}
    if loop is not None:
        names |= {"loop"}
    check(AudioSource, **values, loop=loop, entry="AudioSource", names=names)


@pytest.mark.asyncio
@given(
    st.sampled_from([(16000, 1), (48000, 2)]),
    st.lists(
        frames(
            rate=st.sampled_from([16000, 48000]), channels=st.sampled_from([1, 2]), max_size=600
        ),
        min_size=1,
        max_size=5,
    ),
)
async def test_capture_frame(layout, cases):
    """A refused frame leaves the source working and the frame untouched; every accepted
    sample reaches the track's stream, in order."""
    rate, channels = layout
    source = AudioSource(rate, channels, realtime=False)
    track = LocalAudioTrack.create_audio_track("mic", source)
    stream = AudioStream(track, sample_rate=rate, num_channels=channels)
    accepted = 0
    try:
        for case in cases:
            names = mismatch_names(case, rate, channels)
            out = await acheck(
                source.capture_frame,
                case.frame,
                entry="AudioSource.capture_frame",
                allowed=(RuntimeError,),
                names=names,
                untouched=[case.frame],
            )
            if not failed(out):
                accepted += int(case.frame.samples_per_channel)
        await source.wait_for_playout()
    finally:
        await source.aclose()
    got = 0

    async def read():
        nonlocal got
        async for event in stream:
            assert_valid_frame(event.frame, rate=rate, channels=channels)
            got += event.frame.samples_per_channel

    await asyncio.wait_for(read(), 10)
    assert got == accepted


_STREAM_VALID = {
    "capacity": st.sampled_from([0, 1, 10]),
    "sample_rate": st.sampled_from([16000, 48000, 44100]),
    "num_channels": st.integers(1, 2),
    "frame_size_ms": st.sampled_from([None, 10, 20]),
    "noise_cancellation": st.sampled_from([None, "gain"]),
    "auto_close_noise_cancellation": st.booleans(),
}
_STREAM_BAD = {
    "capacity": ints(),
    "sample_rate": st.one_of(sample_rates(), ints()),
    "num_channels": st.one_of(st.sampled_from([0, 9]), ints()),
    "frame_size_ms": st.one_of(st.sampled_from([0, 3, 7]), ints()),
    "noise_cancellation": st.sampled_from(JUNK),
    "loop": st.sampled_from([5, "loop", object()]),
    "processor_executor": st.sampled_from([5, "pool", object()]),
}


def _processor(value):
    return GainProcessor(-6.0) if isinstance(value, str) and value == "gain" else value


@pytest.mark.asyncio
@given(arguments(_STREAM_VALID, _STREAM_BAD), st.booleans())
@example(
    (
        {
            "capacity": 0,
            "sample_rate": 44100,
            "num_channels": 1,
            "frame_size_ms": 7,
            "noise_cancellation": None,
            "auto_close_noise_cancellation": True,
        },
        set(),
    ),
    False,
)
async def test_audio_stream_constructor(args, from_frames):
    values, mutated = args
    values["noise_cancellation"] = _processor(values["noise_cancellation"])
    names = (set(mutated) or set(_STREAM_VALID)) | {"frame_size_ms"}  # (joint with the rate)
    names |= {"track", "noise_cancellation", "processor_executor"} & set(mutated)
    if from_frames:

        async def nothing():
            return
            yield

        out = check(
            AudioStream.from_frames,
            nothing(),
            **values,
            entry="AudioStream.from_frames",
            allowed=(RuntimeError,),
            names=names,
        )
    else:
        source = AudioSource(48000, 1, realtime=False)
        track = LocalAudioTrack.create_audio_track("mic", source)
        out = check(
            AudioStream, track, **values, entry="AudioStream", allowed=(RuntimeError,), names=names
        )
        await source.aclose()
    if not failed(out):
        await out.aclose()


@pytest.mark.asyncio
@given(
    st.lists(frames(rate=st.sampled_from([16000, 48000, 44100, 5]), max_size=800), max_size=5),
    st.sampled_from([None, 10]),
    st.sampled_from([None, "gain", "apm"]),
)
async def test_audio_stream_from_frames(cases, frame_size_ms, processor):
    """Frames of anything: the stream delivers valid frames of its format and ends with
    StopAsyncIteration, or with a TypeError/ValueError for a bad item (after the frames
    before it); the items are untouched."""
    items = [c.frame for c in cases]
    before = [snapshot(x) for x in items]

    async def source():
        for item in items:
            yield item

    nc = {"gain": GainProcessor(-3.0), "apm": ApmProcessor(noise_suppression=True)}.get(processor)
    stream = AudioStream.from_frames(
        source(),
        sample_rate=16000,
        num_channels=1,
        frame_size_ms=frame_size_ms,
        noise_cancellation=nc,
    )

    async def read():
        async for event in stream:
            assert_valid_frame(event.frame, rate=16000, channels=1)
            if frame_size_ms:
                assert event.frame.samples_per_channel <= 160

    try:
        await acheck(
            asyncio.wait_for,
            read(),
            10,
            entry="AudioStream iteration",
            names=(
                "frame",
                "sample_rate",
                "num_channels",
                "samples_per_channel",
                "data",
                "Hz",
                "channels",
            ),
        )
    finally:
        await stream.aclose()
    assert [snapshot(x) for x in items] == before


def test_audio_stream_needs_a_loop():
    source = AudioSource(48000, 1)
    track = LocalAudioTrack.create_audio_track("mic", source)
    check(AudioStream, track, entry="AudioStream", allowed=(RuntimeError,))
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        check(
            AudioStream,
            track,
            processor_executor=pool,
            entry="AudioStream",
            allowed=(RuntimeError,),
        )
    check(AudioFrame.create, 48000, 1, 1, entry="AudioFrame.create")
