"""AudioStream.from_frames: a stream fed from an async iterable, converted like a track stream.

Covers our frames, real ``livekit.rtc`` frames, events and streams (no mocks), conversion to
16 kHz with exact frame sizes (against the one-shot resampler as oracle), the processor, the
end of the iterable, ``aclose`` stopping the feeder and closing the iterable, errors reaching
the reader, ``loop=``, and the dispatch of ``livekit.rtc`` tracks to the livekit bridge.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from helpers import load_speech
from rtc_helpers import RecordingProcessor, mono, read_all, read_n, samples

import livekit_audio as la
from livekit_audio.rtc.audio_stream import _PUMP_BACKLOG


def speech_48k(speech_dir, seconds=0.5):
    x, rate = load_speech(speech_dir, "alsa_front_left_48k.wav")
    assert rate == 48000
    return x[960 : 960 + int(48000 * seconds)]


def cut(x, size=480, rate=48000):
    return [mono(x[i : i + size], rate) for i in range(0, len(x), size)]


async def agen(items, log=None):
    """Yields ``items``; appends "closed" to ``log`` when the generator is closed or ends."""
    try:
        for item in items:
            yield item
    finally:
        if log is not None:
            log.append("closed")


async def endless(frame, log):
    """An endless source of ``frame`` (one per loop iteration); logs every pull and its close."""
    try:
        while True:
            log.append("pulled")
            yield frame
            await asyncio.sleep(0)
    finally:
        log.append("closed")


async def no_tasks_left():
    await asyncio.sleep(0)
    return asyncio.all_tasks() == {asyncio.current_task()}


# -- conversion ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_our_frames_become_exact_10ms_frames_at_16k(speech_dir):
    x = speech_48k(speech_dir)
    stream = la.AudioStream.from_frames(agen(cut(x)), sample_rate=16000, frame_size_ms=10)
    got = await read_all(stream)  # the stream ends when the iterable does
    assert [f.samples_per_channel for f in got] == [160] * 50
    assert all(f.sample_rate == 16000 and f.num_channels == 1 for f in got)
    assert np.array_equal(samples(got)[:, 0], la.resample(x, 48000, 16000))  # the same kernel
    assert stream.stats.frames_received == 50 and stream.stats.frames_emitted == 50
    await stream.aclose()
    assert await no_tasks_left()


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["frame", "event"])
async def test_livekit_rtc_frames_and_frame_events(speech_dir, kind):
    rtc = pytest.importorskip("livekit.rtc")
    x = speech_48k(speech_dir)
    items = []
    for i in range(0, len(x), 480):
        frame = rtc.AudioFrame(x[i : i + 480].tobytes(), 48000, 1, 480)
        items.append(frame if kind == "frame" else rtc.AudioFrameEvent(frame))
    stream = la.AudioStream.from_frames(agen(items), sample_rate=16000, frame_size_ms=10)
    got = await read_all(stream)
    assert [f.samples_per_channel for f in got] == [160] * 50
    assert np.array_equal(samples(got)[:, 0], la.resample(x, 48000, 16000))
    await stream.aclose()


@pytest.mark.asyncio
async def test_stereo_livekit_frames_are_down_mixed(speech_dir):
    rtc = pytest.importorskip("livekit.rtc")
    x, rate = load_speech(speech_dir, "allison_demo-echotest_16k.wav")
    x = x[:8000]
    stereo = np.repeat(x[:, None], 2, axis=1)  # the same voice on both channels
    items = [
        rtc.AudioFrame(stereo[i : i + 320].tobytes(), rate, 2, 320) for i in range(0, 8000, 320)
    ]  # 20 ms frames
    stream = la.AudioStream.from_frames(agen(items), sample_rate=16000, frame_size_ms=10)
    got = await read_all(stream)
    assert [f.samples_per_channel for f in got] == [160] * 50
    assert np.array_equal(samples(got)[:, 0], x)  # averaging equal channels gives the voice
    await stream.aclose()


@pytest.mark.asyncio
async def test_the_processor_runs_on_converted_frames_and_closes_with_the_stream(speech_dir):
    x = speech_48k(speech_dir) // 4  # headroom for the processor's gain of 2
    proc = RecordingProcessor(gain=2)
    stream = la.AudioStream.from_frames(
        agen(cut(x)), sample_rate=16000, frame_size_ms=10, noise_cancellation=proc
    )
    got = await read_all(stream)
    assert [n for _, _, n in proc.processed] == [160] * 50
    expected = la.resample(x, 48000, 16000).astype(np.int32) * 2
    assert np.array_equal(samples(got)[:, 0], expected.astype(np.int16))
    await stream.aclose()
    assert proc.closed and proc.violations == []  # auto_close defaults to True here


# -- end, close, back-pressure, errors ------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_end_of_the_iterable_ends_the_stream():
    log = []
    frames = cut(np.arange(1, 1201, dtype=np.int16))  # 2.5 frames: a short tail
    stream = la.AudioStream.from_frames(agen(frames, log))
    got = await read_all(stream)
    assert [f.samples_per_channel for f in got] == [480, 480, 240]
    assert np.array_equal(samples(got)[:, 0], np.arange(1, 1201))
    assert log == ["closed"] and stream._pipeline.feeder.done()
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()
    await stream.aclose()


@pytest.mark.asyncio
async def test_aclose_stops_the_feeder_and_closes_the_iterable():
    log = []
    stream = la.AudioStream.from_frames(endless(mono(np.ones(480)), log), sample_rate=16000)
    await read_n(stream, 3)
    feeder = stream._pipeline.feeder
    await stream.aclose()
    assert feeder.done() and log[-1] == "closed"
    pulled = log.count("pulled")
    await asyncio.sleep(0.02)
    assert log.count("pulled") == pulled  # nothing pulls it any more
    assert [e async for e in stream] == []
    assert await no_tasks_left()


@pytest.mark.asyncio
async def test_aclose_closes_a_livekit_rtc_stream():
    rtc = pytest.importorskip("livekit.rtc")
    source = rtc.AudioSource(48000, 1)
    track = rtc.LocalAudioTrack.create_audio_track("t", source)
    upstream = rtc.AudioStream(track)  # LiveKit delivers 10 ms at 48 kHz, silence when idle
    stream = la.AudioStream.from_frames(upstream, sample_rate=16000, frame_size_ms=10)
    got = await read_n(stream, 5)
    assert all(f.samples_per_channel == 160 and f.sample_rate == 16000 for f in got)
    await stream.aclose()
    assert upstream._task.done()  # LiveKit's stream was closed too
    await source.aclose()


class ClosableIterable:
    """An async iterable (not a generator) with its own ``aclose``, as ``rtc.AudioStream``."""

    def __init__(self, frames):
        self.frames = list(frames)
        self.closes = 0

    def __aiter__(self):
        return self

    async def __anext__(self):
        await asyncio.sleep(0)
        if not self.frames:
            raise StopAsyncIteration
        return self.frames.pop(0)

    async def aclose(self):
        self.closes += 1


@pytest.mark.asyncio
async def test_an_iterable_with_aclose_is_closed_once():
    source = ClosableIterable([mono(np.ones(480))] * 100)
    stream = la.AudioStream.from_frames(source)
    await read_n(stream, 2)
    await stream.aclose()
    await stream.aclose()  # idempotent
    assert source.closes == 1 and len(source.frames) > 50  # it stopped pulling early


@pytest.mark.asyncio
@pytest.mark.parametrize("capacity", [0, 2])
async def test_the_iterable_is_pulled_at_the_streams_pace(capacity):
    backlog = []
    holder = {}

    async def fast():  # never waits: without back-pressure it would be read in one go
        for i in range(100):
            if "stream" in holder:
                backlog.append(len(holder["stream"]._pipeline.input))
            yield mono(np.full(480, i))

    stream = la.AudioStream.from_frames(fast(), capacity=capacity)
    holder["stream"] = stream
    got = [] if capacity else await read_all(stream)
    if capacity:
        await asyncio.wait_for(stream._pipeline.feeder, 2.0)
    assert max(backlog) <= (min(capacity, _PUMP_BACKLOG) if capacity else _PUMP_BACKLOG)
    if not capacity:
        assert [int(f.to_ndarray()[0, 0]) for f in got] == list(range(100))  # nothing lost
    else:
        assert stream.stats.frames_received == 100  # none dropped at the input
    await stream.aclose()


@pytest.mark.asyncio
async def test_an_error_in_the_iterable_reaches_the_reader_after_its_frames():
    async def failing():
        for f in cut(np.arange(1440, dtype=np.int16)):
            yield f
        raise ConnectionError("upstream went away")

    stream = la.AudioStream.from_frames(failing())
    got = [(await stream.__anext__()).frame for _ in range(3)]
    assert np.array_equal(samples(got)[:, 0], np.arange(1440))
    with pytest.raises(ConnectionError, match="went away"):
        await asyncio.wait_for(stream.__anext__(), 2.0)
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()
    await stream.aclose()


@pytest.mark.asyncio
async def test_an_item_that_is_not_a_frame_raises_type_error_to_the_reader():
    stream = la.AudioStream.from_frames(agen([mono(np.ones(480)), "not a frame"]))
    (first,) = await read_n(stream, 1)
    assert first.samples_per_channel == 480
    with pytest.raises(TypeError, match="events with a .frame"):
        await asyncio.wait_for(stream.__anext__(), 2.0)
    await stream.aclose()


@pytest.mark.asyncio
async def test_from_frames_validates_its_arguments():
    frames = [mono(np.ones(480))]
    with pytest.raises(TypeError, match="async iterable"):
        la.AudioStream.from_frames(frames)  # a list: wrap it in an async generator
    with pytest.raises(ValueError, match="sample_rate"):
        la.AudioStream.from_frames(agen(frames), sample_rate=0)
    with pytest.raises(ValueError, match="whole number of samples"):
        la.AudioStream.from_frames(agen(frames), sample_rate=22050, frame_size_ms=1)
    with pytest.raises(TypeError, match="loop"):
        la.AudioStream.from_frames(agen(frames), loop="the loop")
    assert await no_tasks_left()  # nothing half-started


def test_from_frames_needs_a_loop_and_accepts_one_before_it_runs():
    async def frames():
        for f in cut(np.arange(960, dtype=np.int16)):
            yield f

    with pytest.raises(RuntimeError, match="event loop"):
        la.AudioStream.from_frames(frames())
    loop = asyncio.new_event_loop()
    try:
        stream = la.AudioStream.from_frames(frames(), sample_rate=16000, loop=loop)
        assert stream._loop is loop
        assert stream._pipeline.feeder.get_loop() is loop
        got = loop.run_until_complete(read_all(stream))
        assert sum(f.samples_per_channel for f in got) == 320
        loop.run_until_complete(stream.aclose())
    finally:
        loop.close()


# -- livekit.rtc tracks go through the bridge ---------------------------------------------------


@pytest.mark.asyncio
async def test_livekit_rtc_tracks_are_read_through_the_bridge():
    rtc = pytest.importorskip("livekit.rtc")
    bridge = pytest.importorskip("livekit_audio.integrations.livekit")
    if not hasattr(bridge, "stream_from_rtc_track"):
        pytest.skip("the livekit bridge has no stream_from_rtc_track yet")
    source = rtc.AudioSource(48000, 1)
    track = rtc.LocalAudioTrack.create_audio_track("t", source)
    by_track = la.AudioStream.from_track(track=track, sample_rate=16000, frame_size_ms=10)
    by_init = la.AudioStream(track, sample_rate=16000, frame_size_ms=10)
    for stream, auto_close in ((by_track, False), (by_init, True)):
        assert type(stream) is la.AudioStream and stream._auto_close is auto_close
        got = await read_n(stream, 3)
        assert all(f.samples_per_channel == 160 and f.sample_rate == 16000 for f in got)
        await stream.aclose()
    await source.aclose()
