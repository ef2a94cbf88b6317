"""AudioSource: validation, real-time playout, back-pressure, clear/close, and LocalAudioTrack."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from rtc_helpers import mono, ramp_frames, read_all, read_n, samples, until

import livekit_audio as la

# -- construction and validation ----------------------------------------------------------


@pytest.mark.parametrize(
    "args, exc, words",
    [
        ((0, 1), ValueError, "sample_rate"),
        ((48000, 0), ValueError, "num_channels"),
        ((48000, 1, 0), ValueError, "queue_size_ms"),
        ((48000.0, 1), TypeError, "sample_rate"),
        ((48000, True), TypeError, "num_channels"),
    ],
)
def test_constructor_rejects_bad_arguments(args, exc, words):
    with pytest.raises(exc, match=words):
        la.AudioSource(*args)


def test_properties_and_repr():
    source = la.AudioSource(16000, 2, 200, realtime=False)
    assert (source.sample_rate, source.num_channels, source.queue_size_ms) == (16000, 2, 200)
    assert source.realtime is False and source.closed is False
    assert source.queued_duration == 0.0
    assert "16000" in repr(source)


@pytest.mark.asyncio
async def test_capture_rejects_mismatched_frames_naming_expected_and_got():
    source = la.AudioSource(48000, 1)
    with pytest.raises(ValueError, match="expected 48000, got 16000"):
        await source.capture_frame(la.AudioFrame.create(16000, 1, 160))
    with pytest.raises(ValueError, match="expected 1, got 2"):
        await source.capture_frame(la.AudioFrame.create(48000, 2, 480))
    with pytest.raises(TypeError):
        await source.capture_frame(b"\x00\x00")  # not a frame
    assert source.queued_duration == 0.0
    await source.aclose()


@pytest.mark.asyncio
async def test_empty_frame_is_a_noop():
    source = la.AudioSource(48000, 1)
    await source.capture_frame(la.AudioFrame.create(48000, 1, 0))
    assert source.queued_duration == 0.0
    await source.wait_for_playout()
    await source.aclose()


@pytest.mark.asyncio
async def test_accepts_livekit_rtc_frames():
    rtc = pytest.importorskip("livekit.rtc")
    source = la.AudioSource(48000, 1, realtime=False)
    track = la.LocalAudioTrack.create_audio_track("mic", source)
    stream = la.AudioStream(track)
    lk = rtc.AudioFrame.create(48000, 1, 480)
    np.frombuffer(lk.data, dtype=np.int16)[:] = np.arange(480, dtype=np.int16)
    await source.capture_frame(lk)
    (frame,) = await read_n(stream, 1)
    assert np.array_equal(frame.to_ndarray()[:, 0], np.arange(480))
    await stream.aclose()
    await source.aclose()


# -- playout, back-pressure ----------------------------------------------------------------


@pytest.mark.asyncio
async def test_realtime_playout_paces_frames_and_wait_for_playout_waits():
    loop = asyncio.get_running_loop()
    source = la.AudioSource(48000, 1, queue_size_ms=1000)
    track = la.LocalAudioTrack.create_audio_track("mic", source)
    stream = la.AudioStream(track)
    start = loop.time()
    for f in ramp_frames(4):  # 4 x 10 ms
        await source.capture_frame(f)
    assert 0.025 < source.queued_duration <= 0.040 + 1e-6
    await source.wait_for_playout()
    elapsed = loop.time() - start
    assert elapsed >= 0.040 - 0.005  # played out in real time, not at once
    assert source.queued_duration == 0.0
    got = await read_n(stream, 4)
    assert np.array_equal(samples(got), samples(ramp_frames(4)))
    await stream.aclose()
    await source.aclose()


@pytest.mark.asyncio
async def test_capture_applies_back_pressure_when_the_queue_is_full():
    loop = asyncio.get_running_loop()
    source = la.AudioSource(48000, 1, queue_size_ms=20)  # two 10 ms frames
    frames = ramp_frames(5)
    start = loop.time()
    await source.capture_frame(frames[0])
    await source.capture_frame(frames[1])
    assert source.queued_duration <= 0.020 + 1e-6
    await source.capture_frame(frames[2])  # waits for room instead of growing the queue:
    assert loop.time() - start >= 0.010 - 0.002  # admitted once frame 0 has played out
    assert source.queued_duration <= 0.020 + 1e-6
    for f in frames[3:]:
        await source.capture_frame(f)
        assert source.queued_duration <= 0.020 + 1e-6
    assert loop.time() - start >= 0.030 - 0.002
    await source.wait_for_playout()
    await source.aclose()


@pytest.mark.asyncio
async def test_frame_longer_than_the_queue_is_admitted_when_empty():
    source = la.AudioSource(48000, 1, queue_size_ms=5, realtime=False)
    track = la.LocalAudioTrack.create_audio_track("mic", source)
    stream = la.AudioStream(track)
    big = ramp_frames(1, size=4800)[0]  # 100 ms > 5 ms queue
    await asyncio.wait_for(source.capture_frame(big), 1.0)
    await source.wait_for_playout()
    (got,) = await read_n(stream, 1)
    assert np.array_equal(got.to_ndarray(), big.to_ndarray())
    await stream.aclose()
    await source.aclose()


@pytest.mark.asyncio
async def test_concurrent_captures_keep_their_order():
    source = la.AudioSource(48000, 1, queue_size_ms=20, realtime=False)
    track = la.LocalAudioTrack.create_audio_track("mic", source)
    stream = la.AudioStream(track)
    frames = ramp_frames(12)
    await asyncio.gather(*(source.capture_frame(f) for f in frames))
    await source.wait_for_playout()
    got = await read_n(stream, 12)
    assert np.array_equal(samples(got), samples(frames))
    await stream.aclose()
    await source.aclose()


@pytest.mark.asyncio
async def test_captured_frames_are_copied():
    source = la.AudioSource(48000, 1, realtime=False)
    track = la.LocalAudioTrack.create_audio_track("mic", source)
    stream = la.AudioStream(track)
    buf = np.full(480, 7, dtype=np.int16)
    await source.capture_frame(la.AudioFrame.from_ndarray(buf, 48000))
    buf[:] = -1  # the caller reuses its buffer
    (got,) = await read_n(stream, 1)
    assert np.all(got.to_ndarray() == 7)
    await stream.aclose()
    await source.aclose()


# -- clear, close ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_clear_queue_discards_and_releases_waiters():
    source = la.AudioSource(48000, 1, queue_size_ms=300)
    for f in ramp_frames(3, size=4800):  # 3 x 100 ms: full
        await source.capture_frame(f)
    blocked = asyncio.ensure_future(source.capture_frame(ramp_frames(1, size=4800)[0]))
    waiter = asyncio.ensure_future(source.wait_for_playout())
    await asyncio.sleep(0)
    assert not waiter.done()
    source.clear_queue()
    assert source.queued_duration == 0.0
    await asyncio.wait_for(blocked, 1.0)  # room again
    source.clear_queue()
    await asyncio.wait_for(waiter, 1.0)
    await asyncio.wait_for(source.wait_for_playout(), 1.0)
    await source.aclose()


@pytest.mark.asyncio
async def test_aclose_fails_captures_and_ends_track_streams():
    source = la.AudioSource(48000, 1, queue_size_ms=100)
    track = la.LocalAudioTrack.create_audio_track("mic", source)
    stream = la.AudioStream(track)
    await source.capture_frame(ramp_frames(1, size=4800)[0])  # 100 ms: full
    blocked = asyncio.ensure_future(source.capture_frame(ramp_frames(1)[0]))
    await asyncio.sleep(0)
    await source.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await blocked
    with pytest.raises(RuntimeError, match="closed"):
        await source.capture_frame(ramp_frames(1)[0])
    await source.aclose()  # idempotent
    assert source.closed and track.ended
    frames = await read_all(stream)  # the stream ends instead of waiting forever
    # at most the frame that was playing, in 10 ms frames (a real-time track's stream
    # delivers 10 ms frames, as LiveKit's does)
    assert sum(f.samples_per_channel for f in frames) <= 4800
    assert all(f.samples_per_channel == 480 for f in frames)
    with pytest.raises(ValueError, match="closed"):
        la.LocalAudioTrack.create_audio_track("late", source)
    await stream.aclose()


@pytest.mark.asyncio
async def test_end_of_stream_delivers_everything_played_out():
    source = la.AudioSource(48000, 1, realtime=False)
    track = la.LocalAudioTrack.create_audio_track("mic", source)
    stream = la.AudioStream(track)
    frames = ramp_frames(7)
    for f in frames:
        await source.capture_frame(f)
    await source.wait_for_playout()
    await source.aclose()
    got = await read_all(stream)
    assert np.array_equal(samples(got), samples(frames))
    await stream.aclose()


# -- LocalAudioTrack ---------------------------------------------------------------------


def test_create_audio_track_validates():
    source = la.AudioSource(48000, 1)
    with pytest.raises(TypeError, match="AudioSource"):
        la.LocalAudioTrack.create_audio_track("mic", object())
    with pytest.raises(TypeError, match="name"):
        la.LocalAudioTrack.create_audio_track(3, source)
    track = la.LocalAudioTrack.create_audio_track("mic", source)
    assert track.name == "mic" and track.kind == la.TrackKind.KIND_AUDIO
    assert track.sid.startswith("TR_") and track.muted is False and track.source is source
    assert "mic" in repr(track)


@pytest.mark.asyncio
async def test_muted_track_carries_silence_and_a_source_feeds_every_track():
    source = la.AudioSource(48000, 1, realtime=False)
    a = la.LocalAudioTrack.create_audio_track("a", source)
    b = la.LocalAudioTrack.create_audio_track("b", source)
    sa, sb = la.AudioStream(a), la.AudioStream(b)
    b.mute()
    assert b.muted
    frame = mono(np.full(480, 1000))
    await source.capture_frame(frame)
    (fa,) = await read_n(sa, 1)
    (fb,) = await read_n(sb, 1)
    assert np.all(fa.to_ndarray() == 1000) and np.all(fb.to_ndarray() == 0)
    b.unmute()
    await source.capture_frame(frame)
    (fb,) = await read_n(sb, 1)
    assert np.all(fb.to_ndarray() == 1000)
    await sa.aclose()
    await sb.aclose()
    await source.aclose()


@pytest.mark.asyncio
async def test_a_collected_track_is_dropped_by_its_source():
    import gc
    import weakref

    source = la.AudioSource(48000, 1, realtime=False)
    track = la.LocalAudioTrack.create_audio_track("mic", source)
    ref = weakref.ref(track)
    del track
    gc.collect()
    assert ref() is None
    await source.capture_frame(ramp_frames(1)[0])  # nothing to deliver to; no error
    await until(lambda: source.queued_duration == 0.0)
    await source.aclose()


# -- loop= (livekit.rtc parity) -------------------------------------------------------------


def test_loop_is_the_fourth_positional_argument_as_in_livekit():
    loop = asyncio.new_event_loop()
    try:
        source = la.AudioSource(48000, 1, 1000, loop)  # rtc.AudioSource's order
        track = la.LocalAudioTrack.create_audio_track("mic", source)

        async def run():
            stream = la.AudioStream(track)
            await source.capture_frame(ramp_frames(1)[0])
            (got,) = [f for f in await read_n(stream, 3) if f.to_ndarray().any()][:1]
            await stream.aclose()
            return got

        got = loop.run_until_complete(run())  # built before the loop ran, used on it
        assert np.array_equal(got.to_ndarray(), ramp_frames(1)[0].to_ndarray())
        assert source._loop is loop and source._dispatcher is not None
        loop.run_until_complete(source.aclose())
    finally:
        loop.close()


def test_loop_is_validated():
    with pytest.raises(TypeError, match="loop"):
        la.AudioSource(48000, 1, loop="not a loop")
    closed = asyncio.new_event_loop()
    closed.close()
    with pytest.raises(ValueError, match="closed"):
        la.AudioSource(48000, 1, loop=closed)


@pytest.mark.asyncio
async def test_loop_must_be_the_running_loop_when_one_runs():
    other = asyncio.new_event_loop()
    try:
        with pytest.raises(ValueError, match="running in this thread"):
            la.AudioSource(48000, 1, loop=other)
    finally:
        other.close()
    source = la.AudioSource(48000, 1, loop=asyncio.get_running_loop())
    await source.capture_frame(ramp_frames(1)[0])
    await source.wait_for_playout()
    await source.aclose()


def test_a_source_refuses_captures_from_another_loop():
    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        source = la.AudioSource(48000, 1, realtime=False)
        first.run_until_complete(source.capture_frame(ramp_frames(1)[0]))  # binds it to `first`
        with pytest.raises(RuntimeError, match="another event loop"):
            second.run_until_complete(source.capture_frame(ramp_frames(1)[0]))
        first.run_until_complete(source.aclose())
    finally:
        first.close()
        second.close()
