"""AudioStream: conversion (rate, channels, frame size), capacity, processors, lifetime."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import logging
import threading
import weakref

import numpy as np
import pytest
from rtc_helpers import RecordingProcessor, mono, ramp_frames, read_all, read_n, samples, until

import livekit_audio as la


async def feed(frames, *, rate=48000, channels=1, **stream_kw):
    """A non-realtime source + local track + stream; captures ``frames`` then ends the track.

    Returns the stream (its frames are ready to read) and the source.
    """
    source = la.AudioSource(rate, channels, realtime=False)
    track = la.LocalAudioTrack.create_audio_track("t", source)
    stream = la.AudioStream(track, **stream_kw)
    for f in frames:
        await source.capture_frame(f)
    await source.wait_for_playout()
    await source.aclose()
    return stream, source


# -- validation ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_constructor_validates_arguments():
    track = la.LocalAudioTrack.create_audio_track("t", la.AudioSource(48000, 1))
    with pytest.raises(TypeError, match="LocalAudioTrack or RemoteAudioTrack"):
        la.AudioStream(object())
    with pytest.raises(ValueError, match="sample_rate"):
        la.AudioStream(track, sample_rate=0)
    with pytest.raises(ValueError, match="num_channels"):
        la.AudioStream(track, num_channels=0)
    with pytest.raises(ValueError, match="capacity"):
        la.AudioStream(track, capacity=-1)
    with pytest.raises(TypeError, match="capacity"):
        la.AudioStream(track, capacity=1.5)
    with pytest.raises(ValueError, match="whole number of samples"):
        la.AudioStream(track, sample_rate=22050, frame_size_ms=1)
    with pytest.raises(ValueError, match="frame_size_ms"):
        la.AudioStream(track, frame_size_ms=0)
    with pytest.raises(TypeError, match="FrameProcessor"):
        la.AudioStream(track, noise_cancellation=object())
    with pytest.raises(TypeError, match="Executor"):
        la.AudioStream(track, processor_executor=object())
    with pytest.raises(TypeError, match="Participant"):
        la.AudioStream.from_participant(participant=object(), track_source=2)
    assert not track._audio_streams  # nothing half-registered


def test_constructor_needs_a_running_loop():
    track = la.LocalAudioTrack.create_audio_track("t", la.AudioSource(48000, 1))
    with pytest.raises(RuntimeError, match="event loop"):
        la.AudioStream(track)


# -- conversion ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_pass_through_gives_each_reader_its_own_writable_copy():
    frames = ramp_frames(3)
    source = la.AudioSource(48000, 1, realtime=False)
    track = la.LocalAudioTrack.create_audio_track("t", source)
    s1, s2 = la.AudioStream(track), la.AudioStream(track)
    for f in frames:
        await source.capture_frame(f)
    a, b = await read_n(s1, 3), await read_n(s2, 3)
    assert np.array_equal(samples(a), samples(frames)) and np.array_equal(
        samples(b), samples(frames)
    )
    a[0].to_ndarray()[:] = 0  # writable, and not shared with the other reader
    assert np.array_equal(b[0].to_ndarray(), frames[0].to_ndarray())
    for s in (s1, s2):
        assert s.stats.frames_received == 3 and s.stats.frames_emitted == 3
        await s.aclose()
    await source.aclose()


@pytest.mark.asyncio
@pytest.mark.parametrize("in_rate, out_rate", [(48000, 16000), (16000, 48000), (44100, 48000)])
async def test_rate_conversion_is_our_resampler_bit_for_bit(rng, in_rate, out_rate):
    size = in_rate // 100
    x = rng.integers(-20000, 20000, size=size * 9, dtype=np.int16)
    frames = [mono(x[i * size : (i + 1) * size], in_rate) for i in range(9)]
    stream, _ = await feed(frames, rate=in_rate, sample_rate=out_rate)
    got = await read_all(stream)
    assert all(f.sample_rate == out_rate for f in got)
    expected = la.resample(x, in_rate, out_rate)  # one-shot oracle of the same kernel
    assert np.array_equal(samples(got)[:, 0], expected)  # the tail is flushed at the end
    await stream.aclose()


@pytest.mark.asyncio
async def test_down_mix_averages_and_up_mix_duplicates(rng):
    x = rng.integers(-30000, 30000, size=(480, 2), dtype=np.int16)
    stereo = la.AudioFrame.from_ndarray(x, 48000)
    stream, _ = await feed([stereo], channels=2, num_channels=1)
    (got,) = await read_all(stream)
    mean = np.rint(x.astype(np.int32).sum(axis=1) / 2).astype(np.int16)  # ties to even
    assert got.num_channels == 1 and np.array_equal(got.to_ndarray()[:, 0], mean)
    await stream.aclose()

    m = rng.integers(-30000, 30000, size=480, dtype=np.int16)
    stream, _ = await feed([mono(m)], num_channels=2)
    (got,) = await read_all(stream)
    assert got.num_channels == 2 and np.array_equal(got.to_ndarray(), np.stack([m, m], axis=1))
    await stream.aclose()


@pytest.mark.asyncio
async def test_channels_and_rate_together(rng):
    x = rng.integers(-30000, 30000, size=(960, 2), dtype=np.int16)
    frames = [
        la.AudioFrame.from_ndarray(x[:480], 48000),
        la.AudioFrame.from_ndarray(x[480:], 48000),
    ]
    stream, _ = await feed(frames, channels=2, sample_rate=16000, num_channels=1)
    got = samples(await read_all(stream))
    mixed = np.rint(x.astype(np.int32).sum(axis=1) / 2).astype(np.int16)
    assert np.array_equal(got[:, 0], la.resample(mixed, 48000, 16000))
    await stream.aclose()


@pytest.mark.asyncio
async def test_frame_size_ms_gives_exact_frames_and_loses_nothing():
    frames = ramp_frames(7, size=480)  # 70 ms at 48 kHz
    stream, _ = await feed(frames, frame_size_ms=20)
    got = await read_all(stream)
    sizes = [f.samples_per_channel for f in got]
    assert sizes == [960, 960, 960, 480]  # exact 20 ms frames; the short tail only at the end
    assert np.array_equal(samples(got), samples(frames))
    await stream.aclose()


@pytest.mark.asyncio
async def test_frame_size_with_resampling():
    frames = ramp_frames(10, size=480)  # 100 ms at 48 kHz -> 1600 samples at 16 kHz
    stream, _ = await feed(frames, sample_rate=16000, frame_size_ms=10)
    got = await read_all(stream)
    assert [f.samples_per_channel for f in got] == [160] * 10
    await stream.aclose()


@pytest.mark.asyncio
async def test_unsupported_conversion_surfaces_the_error_to_the_reader():
    stream, _ = await feed(ramp_frames(1), sample_rate=47999)  # ratio beyond the kernel's table
    with pytest.raises(ValueError):
        await asyncio.wait_for(stream.__anext__(), 2.0)
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()
    await stream.aclose()


# -- capacity ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_capacity_drops_the_oldest_and_counts_drops():
    frames = ramp_frames(10)
    stream, _ = await feed(frames, capacity=3)
    await until(lambda: stream.stats.frames_received + stream.stats.frames_dropped >= 10)
    got = await read_all(stream)
    assert len(got) == 3
    assert np.array_equal(samples(got), samples(frames[-3:]))  # the most recent audio
    assert stream.stats.frames_dropped == 7
    await stream.aclose()


@pytest.mark.asyncio
async def test_unbounded_by_default():
    stream, _ = await feed(ramp_frames(50))
    assert len(await read_all(stream)) == 50 and stream.stats.frames_dropped == 0
    await stream.aclose()


# -- processors --------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_processor_runs_after_conversion():
    proc = RecordingProcessor(gain=2)
    frames = ramp_frames(4, size=480)
    stream, _ = await feed(frames, sample_rate=16000, frame_size_ms=20, noise_cancellation=proc)
    got = await read_all(stream)
    assert [n for _, _, n in proc.processed] == [f.samples_per_channel for f in got]
    assert all(f.sample_rate == 16000 for f in got)
    await stream.aclose()


@pytest.mark.asyncio
async def test_disabled_processor_is_not_called():
    proc = RecordingProcessor(gain=2)
    proc.enabled = False
    frames = ramp_frames(3)
    stream, _ = await feed(frames, noise_cancellation=proc)
    got = await read_all(stream)
    assert proc.processed == [] and np.array_equal(samples(got), samples(frames))
    await stream.aclose()


@pytest.mark.asyncio
async def test_failing_processor_passes_the_original_frame_and_logs_once_per_burst(caplog):
    # frames 2-4 fail (a burst), 5 succeeds, 7 fails (a second burst); the processor doubles
    # the frame in place before raising, which must not leak out.
    bad = {2, 3, 4, 7}
    frames = [mono(np.full(480, i)) for i in range(9)]
    proc = RecordingProcessor(gain=2, fail=lambda f: int(f.to_ndarray()[0, 0]) // 2 in bad)
    with caplog.at_level(logging.WARNING, logger="livekit_audio"):
        stream, _ = await feed(frames, noise_cancellation=proc)
        got = await read_all(stream)
    values = [int(f.to_ndarray()[0, 0]) for f in got]
    assert values == [i if i in bad else 2 * i for i in range(9)]
    assert all(np.all(f.to_ndarray() == f.to_ndarray()[0, 0]) for f in got)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # one per burst
    assert stream.stats.processor_errors == 4
    await stream.aclose()


@pytest.mark.asyncio
async def test_processor_returning_garbage_counts_as_a_failure():
    class Bad(RecordingProcessor):
        def _process(self, frame):
            return None

    proc = Bad()
    frames = ramp_frames(2)
    stream, _ = await feed(frames, noise_cancellation=proc)
    got = await read_all(stream)
    assert np.array_equal(samples(got), samples(frames))
    assert stream.stats.processor_errors == 2
    await stream.aclose()


@pytest.mark.asyncio
async def test_processor_close_follows_auto_close():
    track = la.LocalAudioTrack.create_audio_track("t", la.AudioSource(48000, 1))
    owned, shared = RecordingProcessor(), RecordingProcessor()
    a = la.AudioStream(track, noise_cancellation=owned)  # constructor default: auto-close
    b = la.AudioStream.from_track(track=track, noise_cancellation=shared)  # default: leave open
    await a.aclose()
    await b.aclose()
    assert owned.closed and owned.count("close") == 1
    assert not shared.closed
    await a.aclose()  # idempotent: no second _close
    assert owned.violations == []


@pytest.mark.asyncio
async def test_shared_processor_stays_open_after_both_streams_close():
    source = la.AudioSource(48000, 1, realtime=False)
    t1 = la.LocalAudioTrack.create_audio_track("a", source)
    t2 = la.LocalAudioTrack.create_audio_track("b", source)
    proc = RecordingProcessor()
    s1 = la.AudioStream(t1, noise_cancellation=proc, auto_close_noise_cancellation=False)
    s2 = la.AudioStream.from_track(track=t2, noise_cancellation=proc)
    await source.capture_frame(ramp_frames(1)[0])
    await read_n(s1, 1)
    await read_n(s2, 1)
    await s1.aclose()
    await s2.aclose()
    assert not proc.closed and len(proc.processed) == 2
    await source.aclose()


@pytest.mark.asyncio
async def test_close_waits_for_the_reading_task_and_process_never_follows_close():
    gate = threading.Event()
    proc = RecordingProcessor(gate=gate)
    closed_when_task_done = []
    source = la.AudioSource(48000, 1, realtime=False)
    track = la.LocalAudioTrack.create_audio_track("t", source)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        stream = la.AudioStream(track, noise_cancellation=proc, processor_executor=pool)
        original_close = proc._close

        def close():
            closed_when_task_done.append(stream._pipeline.task.done())
            original_close()

        proc._close = close
        for f in ramp_frames(3):
            await source.capture_frame(f)
        await until(lambda: len(proc.processed) == 1)  # the worker is blocked inside _process
        closing = asyncio.ensure_future(stream.aclose())
        await asyncio.sleep(0.02)
        assert not closing.done() and not proc.closed  # waits for the frame in flight
        gate.set()
        await asyncio.wait_for(closing, 2.0)
    assert proc.closed and closed_when_task_done == [True]
    assert len(proc.processed) == 1  # nothing processed after the stop request
    assert proc.violations == []
    await source.aclose()


@pytest.mark.asyncio
async def test_cancelled_reading_task_defers_close_until_the_worker_returns():
    gate = threading.Event()
    proc = RecordingProcessor(gate=gate)
    source = la.AudioSource(48000, 1, realtime=False)
    track = la.LocalAudioTrack.create_audio_track("t", source)
    pool = concurrent.futures.ThreadPoolExecutor(1)
    stream = la.AudioStream(track, noise_cancellation=proc, processor_executor=pool)
    await source.capture_frame(ramp_frames(1)[0])
    await until(lambda: len(proc.processed) == 1)
    stream._pipeline.task.cancel()  # e.g. loop shutdown cancelling every task
    await stream.aclose()
    assert not proc.closed  # _process is still running in the worker
    gate.set()
    await until(lambda: proc.closed)
    assert proc.violations == []
    pool.shutdown()
    await source.aclose()


@pytest.mark.asyncio
async def test_processor_executor_runs_off_the_loop_in_order():
    proc = RecordingProcessor(gain=3)
    frames = ramp_frames(20)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        stream, _ = await feed(frames, noise_cancellation=proc, processor_executor=pool)
        got = await read_all(stream)
        await stream.aclose()
    assert {tid for tid, _, _ in proc.processed} - {threading.get_ident()}  # worker threads
    assert threading.get_ident() not in {tid for tid, _, _ in proc.processed}
    assert [first for _, first, _ in proc.processed] == [i * 480 for i in range(20)]
    expected = (samples(frames).astype(np.int32) * 3).astype(np.int16)
    assert np.array_equal(samples(got), expected)  # in order, all processed


# -- lifetime -------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_aclose_stops_iteration_and_async_with_closes():
    source = la.AudioSource(48000, 1, realtime=False)
    track = la.LocalAudioTrack.create_audio_track("t", source)
    async with la.AudioStream(track) as stream:
        waiting = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0)
    assert stream.closed
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(waiting, 1.0)
    assert [e async for e in stream] == []
    assert stream not in set(track._audio_streams)
    await source.aclose()


@pytest.mark.asyncio
async def test_a_stream_on_an_ended_track_ends_at_once():
    source = la.AudioSource(48000, 1)
    track = la.LocalAudioTrack.create_audio_track("t", source)
    await source.aclose()
    stream = la.AudioStream(track)
    assert await read_all(stream) == []
    await stream.aclose()


@pytest.mark.asyncio
async def test_dropped_stream_is_collected_while_its_track_lives():
    source = la.AudioSource(48000, 1, realtime=False)
    track = la.LocalAudioTrack.create_audio_track("t", source)
    proc = RecordingProcessor()
    stream = la.AudioStream(track, noise_cancellation=proc)
    await source.capture_frame(ramp_frames(1)[0])
    await read_n(stream, 1)
    ref = weakref.ref(stream)
    del stream
    gc.collect()
    assert ref() is None  # the track's weak set did not keep it alive
    assert len(track._audio_streams) == 0
    await until(lambda: proc.closed)  # the owned processor was closed
    await source.capture_frame(ramp_frames(1)[0])  # the track keeps working
    await source.wait_for_playout()
    assert proc.violations == []
    await source.aclose()


# -- loop= (livekit.rtc parity) -------------------------------------------------------------


@pytest.mark.asyncio
async def test_loop_is_validated_by_every_constructor():
    track = la.LocalAudioTrack.create_audio_track("t", la.AudioSource(48000, 1, realtime=False))
    other = asyncio.new_event_loop()
    try:
        for make in (
            lambda **kw: la.AudioStream(track, **kw),
            lambda **kw: la.AudioStream.from_track(track=track, **kw),
        ):
            with pytest.raises(TypeError, match="AbstractEventLoop"):
                make(loop=object())
            with pytest.raises(ValueError, match="running in this thread"):
                make(loop=other)  # a loop is running here, and it is not that one
        assert not track._audio_streams
        stream = la.AudioStream(track, loop=asyncio.get_running_loop())  # the running one: fine
        assert stream._loop is asyncio.get_running_loop()
        await stream.aclose()
    finally:
        other.close()


def test_loop_given_before_it_runs_is_used():
    loop = asyncio.new_event_loop()
    try:
        source = la.AudioSource(48000, 1, realtime=False, loop=loop)
        track = la.LocalAudioTrack.create_audio_track("t", source)
        stream = la.AudioStream(track, sample_rate=16000, loop=loop)  # no loop running here
        followed = la.AudioStream.from_track(track=track, loop=loop)
        assert stream._loop is loop
        assert followed._loop is loop

        async def run():
            for f in ramp_frames(3):
                await source.capture_frame(f)
            await source.wait_for_playout()
            await source.aclose()
            return await read_all(stream), await read_all(followed)

        got, got_followed = loop.run_until_complete(run())
        assert sum(f.samples_per_channel for f in got) == 480
        assert np.array_equal(samples(got_followed), samples(ramp_frames(3)))
        loop.run_until_complete(stream.aclose())
        loop.run_until_complete(followed.aclose())
    finally:
        loop.close()


def test_from_participant_accepts_loop():
    from rtc_helpers import API_KEY, SECRET, connect

    loop = asyncio.new_event_loop()
    try:
        server = la.LocalRoomServer(API_KEY, SECRET)
        room = loop.run_until_complete(connect(server, "alice"))
        with pytest.raises(TypeError, match="loop"):
            la.AudioStream.from_participant(
                participant=room.local_participant, track_source=2, loop=3
            )
        stream = la.AudioStream.from_participant(
            participant=room.local_participant, track_source=2, loop=loop
        )
        assert stream._loop is loop
        loop.run_until_complete(room.disconnect())  # the participant leaves: the stream ends
        assert loop.run_until_complete(read_all(stream)) == []
        loop.run_until_complete(stream.aclose())
    finally:
        loop.close()


@pytest.mark.asyncio
async def test_positional_arguments_follow_livekit_rtc_audio_stream():
    """``AudioStream(track, loop, capacity, sample_rate, num_channels, frame_size_ms, ...)``:
    positional calls written for ``livekit.rtc.AudioStream`` mean the same here."""
    import inspect

    source = la.AudioSource(48000, 1, realtime=False)
    track = la.LocalAudioTrack.create_audio_track("mic", source)
    stream = la.AudioStream(track, asyncio.get_running_loop(), 7, 16000, 2, 20)
    assert (stream.capacity, stream.sample_rate, stream.num_channels) == (7, 16000, 2)
    assert stream.frame_size_ms == 20
    await stream.aclose()
    await source.aclose()
    rtc = pytest.importorskip("livekit.rtc")
    ours = list(inspect.signature(la.AudioStream.__init__).parameters)[1:9]
    theirs = list(inspect.signature(rtc.AudioStream.__init__).parameters)[1:9]
    assert ours == theirs
