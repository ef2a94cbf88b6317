"""Real-time delivery: remote (and real-time local) tracks play out a 10 ms frame every 10 ms.

As a LiveKit remote ``AudioStream`` does (a jitter buffer playing out continuously), a stream
on a subscribed remote track gets the publisher's audio, exact and in order, and digital
silence whenever the publisher sends nothing, paced by the event loop's clock. Timing is
never asserted tightly: counts get generous bounds (derived from the loop time that actually
passed, so a slow machine only widens nothing), content is compared exactly.
"""

from __future__ import annotations

import asyncio
import gc
import time
import weakref

import numpy as np
import pytest
from helpers import load_speech
from rtc_helpers import API_KEY, SECRET, connect, mono, ramp_frames, read_all, read_n, samples

import livekit_audio as la
from livekit_audio.rtc.playout import PLAYOUT_MAX_BURST, PLAYOUT_MAX_LAG_S, _Ticker

SLOT_S = 0.010


@pytest.fixture
def server():
    return la.LocalRoomServer(API_KEY, SECRET)


async def publish(room, *, rate=48000, channels=1, realtime=True):
    source = la.AudioSource(rate, channels, realtime=realtime)
    track = la.LocalAudioTrack.create_audio_track("mic", source)
    pub = await room.local_participant.publish_track(track)
    return source, track, pub


def remote_publication(room, identity, sid):
    return room.remote_participants[identity].track_publications[sid]


def frames_of(x, size=480, rate=48000):
    """``x`` (1-D int16) cut into mono frames of ``size`` samples."""
    return [mono(x[i : i + size], rate) for i in range(0, len(x), size)]


async def capture(source, frames):
    for f in frames:
        await source.capture_frame(f)


class Collector:
    """Reads a stream into a list until it ends (a background task)."""

    def __init__(self, stream):
        self.frames = []
        self.task = asyncio.ensure_future(self._run(stream))

    async def _run(self, stream):
        async for event in stream:
            self.frames.append(event.frame)

    async def result(self, timeout=2.0):
        await asyncio.wait_for(self.task, timeout)
        return self.frames


def find_run(frames, wanted):
    """Index of the first frame at which ``wanted`` (frames) appears, exactly and in order."""
    arrays = [f.to_ndarray() for f in frames]
    targets = [w.to_ndarray() for w in wanted]
    for k in range(len(arrays) - len(targets) + 1):
        if all(np.array_equal(arrays[k + j], t) for j, t in enumerate(targets)):
            return k
    raise AssertionError("the published audio does not appear intact in the stream")


def silent(frame):
    return not frame.to_ndarray().any()


class Probe:
    """Registers on a track like an AudioStream does and records what the playout delivers."""

    def __init__(self):
        self._loop = asyncio.get_running_loop()
        self._processor = None
        self.frames = []
        self.ended = False

    def _feed(self, frame):
        self.frames.append(frame)

    def _on_track_ended(self, track):
        self.ended = True


# -- the scenario -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_pause_and_resume_gives_contiguous_exact_audio_and_silence(server, speech_dir):
    """0.5 s of speech, 0.5 s of nothing, 0.5 s of speech: one contiguous 10 ms timeline."""
    x, rate = load_speech(speech_dir, "alsa_front_left_48k.wav")
    assert rate == 48000
    part1, part2 = frames_of(x[960:24960]), frames_of(x[36000:60000])  # "front", "left"
    assert len(part1) == len(part2) == 50 and not silent(part1[0]) and not silent(part2[0])
    alice, bob = await connect(server, "alice"), await connect(server, "bob")
    source, _, pub = await publish(alice)
    rpub = remote_publication(bob, "alice", pub.sid)
    rtrack = rpub.track
    stream = la.AudioStream(rtrack)
    loop = asyncio.get_running_loop()
    start = loop.time()
    collector = Collector(stream)

    await capture(source, part1)
    await source.wait_for_playout()
    pause_start = loop.time()
    await asyncio.sleep(0.5)
    pause_end = loop.time()
    await capture(source, part2)
    await source.wait_for_playout()
    await asyncio.sleep(0.1)  # a little silence after it, too
    rpub.set_subscribed(False)  # ends the remote track: the stream ends after its frames
    end = loop.time()
    frames = await collector.result()
    skipped = rtrack._playout.skipped  # silence skipped if the loop ran late (normally 0)

    assert all(f.samples_per_channel == 480 and f.sample_rate == 48000 for f in frames)
    k1, k2 = find_run(frames, part1), find_run(frames, part2)
    assert k2 >= k1 + 50  # in order, no overlap
    speech = set(range(k1, k1 + 50)) | set(range(k2, k2 + 50))
    assert all(silent(f) for i, f in enumerate(frames) if i not in speech)  # the rest: silence
    # the pause came out as silence of the pause's length, give or take a slot, plus what
    # the first talkspurt fell behind through late frames (none on an idle machine; a
    # jitter buffer's grown delay, given back at the pause, at most PLAYOUT_MAX_LAG_S)
    pause_frames = k2 - (k1 + 50)
    pause = (pause_end - pause_start) / SLOT_S
    assert pause - 2 <= pause_frames + skipped <= pause + 2 + PLAYOUT_MAX_LAG_S / SLOT_S
    # and the whole subscription is covered: a frame per 10 ms, with no gap and no extra
    expected = (end - start) / SLOT_S
    assert expected - 6 <= len(frames) + skipped <= expected + 2
    await stream.aclose()
    for room in (alice, bob):
        await room.disconnect()
    await source.aclose()


@pytest.mark.asyncio
@pytest.mark.parametrize("rate, channels, seconds", [(48000, 1, 1.0), (16000, 2, 0.3)])
async def test_idle_subscription_delivers_a_silent_10ms_frame_every_10ms(
    server, rate, channels, seconds
):
    alice, bob = await connect(server, "alice"), await connect(server, "bob")
    source, _, pub = await publish(alice, rate=rate, channels=channels)  # never captures
    rpub = remote_publication(bob, "alice", pub.sid)
    rtrack = rpub.track
    stream = la.AudioStream(rtrack, sample_rate=rate, num_channels=channels)
    loop = asyncio.get_running_loop()
    start = loop.time()
    collector = Collector(stream)
    await asyncio.sleep(seconds)
    rpub.set_subscribed(False)
    elapsed = loop.time() - start
    frames = await collector.result()
    n = len(frames) + rtrack._playout.skipped
    assert elapsed / SLOT_S - 5 <= n <= elapsed / SLOT_S + 1  # ~100 in 1 s
    assert all(
        f.samples_per_channel == rate // 100
        and f.sample_rate == rate
        and f.num_channels == channels
        and silent(f)
        for f in frames
    )
    await stream.aclose()
    for room in (alice, bob):
        await room.disconnect()
    await source.aclose()


@pytest.mark.asyncio
async def test_publisher_frames_are_recut_into_10ms_and_a_partial_slot_is_padded(server):
    alice, bob = await connect(server, "alice"), await connect(server, "bob")
    source, _, pub = await publish(alice)
    rpub = remote_publication(bob, "alice", pub.sid)
    stream = la.AudioStream(rpub.track)
    collector = Collector(stream)
    sent = ramp_frames(3, size=720, start=1)  # 3 x 15 ms = 4.5 slots, then nothing
    await capture(source, sent)
    await source.wait_for_playout()
    await asyncio.sleep(0.08)  # the slot holding the last 5 ms goes by: completed with zeros
    rpub.set_subscribed(False)
    frames = await collector.result()
    assert all(f.samples_per_channel == 480 for f in frames)
    first = next(i for i, f in enumerate(frames) if not silent(f))
    assert all(silent(f) for f in frames[:first])
    got = samples(frames[first : first + 5])[:, 0]
    want = np.concatenate([samples(sent)[:, 0], np.zeros(240, np.int16)])
    assert np.array_equal(got, want)  # exact, in order, then the rest of the slot is silence
    assert all(silent(f) for f in frames[first + 5 :])
    await stream.aclose()
    for room in (alice, bob):
        await room.disconnect()
    await source.aclose()


@pytest.mark.asyncio
async def test_a_partial_slot_left_at_the_end_is_delivered_short_not_lost(server):
    alice, bob = await connect(server, "alice"), await connect(server, "bob")
    source, _, pub = await publish(alice, realtime=False)  # arrives faster than real time
    stream = la.AudioStream(remote_publication(bob, "alice", pub.sid).track)
    sent = ramp_frames(3, size=720, start=1)
    await capture(source, sent)
    await source.wait_for_playout()
    await alice.local_participant.unpublish_track(pub.sid)
    frames = await read_all(stream)
    assert [f.samples_per_channel for f in frames] == [480, 480, 480, 480, 240]
    assert np.array_equal(samples(frames), samples(sent))  # nothing added, nothing lost
    await stream.aclose()
    for room in (alice, bob):
        await room.disconnect()
    await source.aclose()


# -- pacing internals: one clock per track, bounded catch-up ---------------------------------


@pytest.mark.asyncio
async def test_streams_of_a_track_share_one_clock_and_see_the_same_frames(server):
    alice, bob, carol = [await connect(server, who) for who in ("alice", "bob", "carol")]
    source, _, pub = await publish(alice)
    rpub = remote_publication(bob, "alice", pub.sid)
    streams = [la.AudioStream(rpub.track) for _ in range(3)]
    other = la.AudioStream(remote_publication(carol, "alice", pub.sid).track)  # another track
    collectors = [Collector(s) for s in streams]
    if hasattr(asyncio.get_running_loop(), "_scheduled"):
        # one timer for the loop, however many tracks and streams
        assert len(_ticker_timers(asyncio.get_running_loop())) == 1
    await capture(source, ramp_frames(5, start=1))
    await asyncio.sleep(0.1)
    rpub.set_subscribed(False)
    results = [await c.result() for c in collectors]
    assert len({len(r) for r in results}) == 1
    assert all(np.array_equal(samples(r), samples(results[0])) for r in results)
    for s in (*streams, other):
        await s.aclose()
    for room in (alice, bob, carol):
        await room.disconnect()
    await source.aclose()
    assert await _no_tasks_left()


@pytest.mark.asyncio
async def test_a_late_loop_catches_up_with_a_bounded_burst(server):
    alice, bob = await connect(server, "alice"), await connect(server, "bob")
    source, _, pub = await publish(alice)
    rtrack = remote_publication(bob, "alice", pub.sid).track
    probe = Probe()
    rtrack._register_audio_stream(probe)
    await asyncio.sleep(0.1)  # idle: the silence flows
    before = len(probe.frames)
    assert before > 0
    time.sleep(0.3)  # the loop is blocked for 30 slots
    for _ in range(3):  # the overdue timer fires once the loop runs again
        await asyncio.sleep(0)
    burst = len(probe.frames) - before
    assert 1 <= burst <= PLAYOUT_MAX_BURST
    assert rtrack._playout.skipped >= 30 - PLAYOUT_MAX_BURST - 5  # skipped, not delivered late
    n = len(probe.frames)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await asyncio.sleep(0.1)
    assert len(probe.frames) - n <= (loop.time() - t0) / SLOT_S + 1  # back to one per slot
    assert all(silent(f) for f in probe.frames)
    rtrack._unregister_audio_stream(probe)
    assert not rtrack._playout.running  # its last stream left: the clock stopped
    for room in (alice, bob):
        await room.disconnect()
    await source.aclose()


# -- lifetime: nothing keeps running -----------------------------------------------------------


def _ticker_timers(loop):
    """Pending timers of the playout ticker on ``loop`` (CPython's heap; [] if unknown)."""
    return [
        h
        for h in getattr(loop, "_scheduled", [])
        if not h.cancelled() and isinstance(getattr(h._callback, "__self__", None), _Ticker)
    ]


async def _no_tasks_left():
    """No task but the test's own, and no pacing timer, is left on the loop."""
    await asyncio.sleep(0)  # let finished tasks run their done-callbacks
    loop = asyncio.get_running_loop()
    return asyncio.all_tasks() == {asyncio.current_task()} and _ticker_timers(loop) == []


@pytest.mark.asyncio
@pytest.mark.parametrize("how", ["unsubscribe", "unpublish", "disconnect"])
async def test_delivery_stops_when_the_subscription_ends_and_leaves_nothing(server, how):
    alice, bob = await connect(server, "alice"), await connect(server, "bob")
    source, _, pub = await publish(alice)
    rpub = remote_publication(bob, "alice", pub.sid)
    rtrack = rpub.track
    stream = la.AudioStream.from_track(track=rtrack)
    assert all(silent(f) for f in await read_n(stream, 3))  # silence while subscribed
    if how == "unsubscribe":
        rpub.set_subscribed(False)
    elif how == "unpublish":
        await alice.local_participant.unpublish_track(pub.sid)
    else:
        await bob.disconnect()
    rest = await read_all(stream)  # the stream ends
    assert all(silent(f) for f in rest)
    playout = rtrack._playout
    assert rtrack.ended and not playout.running and playout._ticker is None
    received = stream.stats.frames_received
    await asyncio.sleep(0.05)
    assert stream.stats.frames_received == received  # no more frames
    await stream.aclose()
    for room in (alice, bob):
        await room.disconnect()
    await source.aclose()
    assert await _no_tasks_left()
    refs = [weakref.ref(rtrack), weakref.ref(playout)]
    del rtrack, rpub, playout, stream
    gc.collect()
    assert [r() for r in refs] == [None, None]  # no timer or task keeps the track alive


@pytest.mark.asyncio
async def test_closing_the_last_stream_stops_the_clock_and_a_new_stream_restarts_it(server):
    alice, bob = await connect(server, "alice"), await connect(server, "bob")
    source, _, pub = await publish(alice)
    rtrack = remote_publication(bob, "alice", pub.sid).track
    assert not rtrack._playout.running  # no stream yet: no clock
    first = la.AudioStream(rtrack)
    assert rtrack._playout.running
    await read_n(first, 2)
    await first.aclose()
    assert not rtrack._playout.running and rtrack._playout._ticker is None
    second = la.AudioStream(rtrack)
    assert all(silent(f) for f in await read_n(second, 2))
    dropped = la.AudioStream(rtrack)
    await second.aclose()
    del dropped  # a stream dropped without aclose: the clock notices at its next tick
    gc.collect()
    await asyncio.sleep(0.05)
    assert not rtrack._playout.running
    for room in (alice, bob):
        await room.disconnect()
    await source.aclose()
    assert await _no_tasks_left()


# -- local tracks: what LiveKit's local-track stream does, and ours -----------------------------


async def _local_stream(sdk):
    if sdk == "livekit":
        rtc = pytest.importorskip("livekit.rtc")
        source = rtc.AudioSource(48000, 1)
        track = rtc.LocalAudioTrack.create_audio_track("t", source)
        return source, rtc.AudioStream(track), rtc.AudioFrame
    source = la.AudioSource(48000, 1)
    track = la.LocalAudioTrack.create_audio_track("t", source)
    return source, la.AudioStream(track), la.AudioFrame


@pytest.mark.asyncio
@pytest.mark.parametrize("sdk", ["livekit_audio", "livekit"])
async def test_local_track_stream_delivers_silence_until_audio_is_captured(sdk):
    """LiveKit's local-track stream (no room needed) plays out 10 ms frames continuously,
    silence while nothing is captured; ours does the same with a real-time source."""
    source, stream, frame_type = await _local_stream(sdk)
    loop = asyncio.get_running_loop()
    got = []

    async def read():
        async for event in stream:
            got.append(np.frombuffer(event.frame.data, dtype=np.int16).copy())

    reader = asyncio.ensure_future(read())
    start = loop.time()
    await asyncio.sleep(0.3)
    idle = len(got)
    elapsed = loop.time() - start
    assert elapsed / SLOT_S - 8 <= idle <= elapsed / SLOT_S + 2  # ~30
    assert all(len(a) == 480 and not a.any() for a in got)
    ramp = (np.arange(4800) + 1).astype(np.int16)
    for i in range(0, 4800, 480):
        await source.capture_frame(frame_type(ramp[i : i + 480].tobytes(), 48000, 1, 480))
    await source.wait_for_playout()
    await asyncio.sleep(0.1)
    y = np.concatenate(got)
    first = np.flatnonzero(y)[0]
    assert first % 480 == 0 and np.array_equal(y[first : first + 4800], ramp)  # exact, in place
    assert not y[first + 4800 :].any()  # then silence again
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)
    await stream.aclose()
    await source.aclose()


@pytest.mark.asyncio
async def test_offline_local_track_delivers_only_what_is_captured():
    source = la.AudioSource(48000, 1, realtime=False)  # no clock: no silence, no re-cutting
    track = la.LocalAudioTrack.create_audio_track("t", source)
    stream = la.AudioStream(track)
    await asyncio.sleep(0.05)
    assert stream.stats.frames_received == 0 and track._playout is None
    sent = ramp_frames(3, size=720)
    await capture(source, sent)
    await source.wait_for_playout()
    await source.aclose()
    frames = await read_all(stream)
    assert [f.samples_per_channel for f in frames] == [720] * 3
    assert np.array_equal(samples(frames), samples(sent))
    await stream.aclose()


@pytest.mark.asyncio
async def test_remote_stream_keeps_delivering_after_the_publishers_source_closes(server):
    """As in LiveKit: the subscription outlives the publisher's source (silence) until the
    track is unpublished."""
    alice, bob = await connect(server, "alice"), await connect(server, "bob")
    source, _, pub = await publish(alice)
    stream = la.AudioStream(remote_publication(bob, "alice", pub.sid).track)
    await capture(source, ramp_frames(2, start=1))
    await source.wait_for_playout()
    await source.aclose()
    frames = await read_n(stream, 10)
    assert sum(not silent(f) for f in frames) == 2  # the audio, then silence keeps coming
    await alice.local_participant.unpublish_track(pub.sid)
    await read_all(stream)
    await stream.aclose()
    for room in (alice, bob):
        await room.disconnect()


@pytest.mark.asyncio
async def test_a_processed_stream_keeps_its_last_frame_when_the_track_ends(server):
    """Found by benchmarks/soak.py: a stream with an ApmProcessor, resampling and
    frame_size_ms lost its flushed last frame when the remote track ended (the tail went
    into the delivery batch after the reader's queue had closed). It must deliver exactly
    what the same stream without a processor delivers."""
    alice = await connect(server, "alice")
    bob = await connect(server, "bob")
    source, _, pub = await publish(alice)
    track = remote_publication(bob, "alice", pub.sid).track
    kwargs = {"sample_rate": 16000, "frame_size_ms": 10}
    processed = Collector(
        la.AudioStream(track, noise_cancellation=la.ApmProcessor(high_pass_filter=True), **kwargs)
    )
    plain = Collector(la.AudioStream(track, **kwargs))
    await capture(source, ramp_frames(20))
    await source.wait_for_playout()
    await alice.local_participant.unpublish_track(pub.sid)  # the remote track ends
    await asyncio.wait_for(asyncio.gather(processed.task, plain.task), 5.0)
    got = sum(f.samples_per_channel for f in processed.frames)
    assert got == sum(f.samples_per_channel for f in plain.frames) >= 20 * 160
    await alice.disconnect()
    await bob.disconnect()
    await source.aclose()
