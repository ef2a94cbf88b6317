"""In-process Room and LocalRoomServer: tokens, events, fan-out, and the processor semantics.

Every bullet of DESIGN.md "Room, track and processor semantics" has a test here or in
test_audio_stream.py (processor failure/disabled/close/executor/GC).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import threading
import time
import weakref

import jwt
import numpy as np
import pytest
from rtc_helpers import (
    API_KEY,
    SECRET,
    RecordingProcessor,
    connect,
    ramp_frames,
    read_all,
    read_n,
    samples,
    until,
)

import livekit_audio as la

MIC = la.TrackSource.SOURCE_MICROPHONE


@pytest.fixture
def server():
    return la.LocalRoomServer(API_KEY, SECRET)


async def publish(room, name="mic", *, realtime=False, rate=48000):
    source = la.AudioSource(rate, 1, realtime=realtime)
    track = la.LocalAudioTrack.create_audio_track(name, source)
    pub = await room.local_participant.publish_track(track)
    return source, track, pub


def remote_track(room, identity, sid):
    return room.remote_participants[identity].track_publications[sid].track


def silent(frame):
    return not frame.to_ndarray().any()


async def read_audio(stream, n, timeout=2.0):
    """The next ``n`` frames from the first non-silent one on: a remote stream delivers
    silence while it waits for the publisher's audio, as LiveKit's does."""

    async def run():
        frame = (await stream.__anext__()).frame
        while silent(frame):
            frame = (await stream.__anext__()).frame
        return [frame] + [(await stream.__anext__()).frame for _ in range(n - 1)]

    return await asyncio.wait_for(run(), timeout)


def trim_silence(frames):
    """``frames`` without the silent frames before and after the audio."""
    loud = [i for i, f in enumerate(frames) if not silent(f)]
    return frames[loud[0] : loud[-1] + 1] if loud else []


class Events:
    """Records every room event with its arguments."""

    NAMES = [
        "participant_connected",
        "participant_disconnected",
        "track_published",
        "track_unpublished",
        "track_subscribed",
        "track_unsubscribed",
        "track_muted",
        "track_unmuted",
        "local_track_published",
        "local_track_unpublished",
        "local_track_republished",
        "local_track_subscribed",
        "token_refreshed",
        "connection_state_changed",
        "connected",
        "reconnecting",
        "reconnected",
        "disconnected",
    ]

    def __init__(self, room):
        self.log = []
        for name in self.NAMES:
            room.on(name, lambda *args, _n=name: self.log.append((_n, args)))

    def names(self):
        return [n for n, _ in self.log]

    def args(self, name):
        return [a for n, a in self.log if n == name]


# -- server and tokens -------------------------------------------------------------------


def test_server_validates_its_configuration():
    with pytest.raises(ValueError, match="32 bytes"):
        la.LocalRoomServer("key", "secret")  # LiveKit's dev secret is too short for HS256
    with pytest.raises(ValueError, match="api_key"):
        la.LocalRoomServer("", SECRET)
    with pytest.raises(TypeError):
        la.LocalRoomServer("key", 123)
    with pytest.raises(ValueError, match="subscriber_queue_frames"):
        la.LocalRoomServer("key", SECRET, subscriber_queue_frames=0)


def test_tokens_are_livekit_format_jwts(server):
    token = server.create_token("alice", "demo", name="Alice", ttl=60)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["iss"] == API_KEY and claims["sub"] == "alice" and claims["name"] == "Alice"
    assert claims["video"]["roomJoin"] is True and claims["video"]["room"] == "demo"
    assert 50 < claims["exp"] - time.time() <= 61
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert server.url.startswith("local://")


@pytest.mark.asyncio
async def test_connect_joins_and_sets_state(server):
    room = la.Room()
    events = Events(room)
    await room.connect(server.url, server.create_token("alice", "demo"))
    assert room.isconnected() and room.connection_state == la.ConnectionState.CONN_CONNECTED
    assert room.name == "demo" and (await room.sid).startswith("RM_")
    assert room.local_participant.identity == "alice" and room.remote_participants == {}
    assert events.names() == ["connection_state_changed", "connected"]
    assert server.participants("demo") == ["alice"]
    with pytest.raises(la.ConnectError, match="already connected"):
        await room.connect(server.url, server.create_token("alice", "demo"))
    await room.disconnect()


def _bad_tokens(server):
    other_secret = "another-secret-0123456789abcdefghijkl"
    return {
        "bad signature": la.LocalRoomServer(API_KEY, other_secret).create_token("eve", "demo"),
        "expired": server.create_token("eve", "demo", ttl=-30),
        "other api key": la.LocalRoomServer("APIother", SECRET).create_token("eve", "demo"),
        "not a jwt": "not-a-token",
        "no room grant": jwt.encode(
            {"iss": API_KEY, "sub": "eve", "exp": int(time.time()) + 60, "video": {}},
            SECRET,
            algorithm="HS256",
        ),
    }


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "case", ["bad signature", "expired", "other api key", "not a jwt", "no room grant"]
)
async def test_bad_tokens_raise_connect_error_and_join_nothing(server, case):
    watcher = await connect(server, "watcher")
    seen = Events(watcher)
    room = la.Room()
    events = Events(room)
    with pytest.raises(la.ConnectError) as info:
        await room.connect(server.url, _bad_tokens(server)[case])
    assert isinstance(info.value, la.LivekitAudioError) and info.value.message
    assert not room.isconnected() and events.log == [] and seen.log == []
    assert server.participants("demo") == ["watcher"]
    with pytest.raises(RuntimeError):
        room.local_participant  # noqa: B018
    await watcher.disconnect()


@pytest.mark.asyncio
async def test_wrong_room_and_unknown_server_raise_connect_error():
    server = la.LocalRoomServer(API_KEY, SECRET, rooms=["demo"])
    room = la.Room()
    with pytest.raises(la.ConnectError, match="does not exist"):
        await room.connect(server.url, server.create_token("eve", "elsewhere"))
    assert server.participants("elsewhere") == [] and server.rooms == ["demo"]
    with pytest.raises(la.ConnectError, match="no LocalRoomServer"):
        await room.connect("local://nowhere", server.create_token("eve", "demo"))
    await room.connect(server.url, server.create_token("eve", "demo"))  # the right room works
    await room.disconnect()


# -- events and audio ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_publish_subscribe_events_carry_livekit_arguments(server):
    alice = await connect(server, "alice")
    a_events = Events(alice)
    bob = await connect(server, "bob")
    b_events = Events(bob)
    assert [a for (a,) in a_events.args("participant_connected")] == [
        alice.remote_participants["bob"]
    ]
    source, track, pub = await publish(alice)
    assert isinstance(pub, la.LocalTrackPublication) and pub.track is track
    assert track.sid == pub.sid and pub.source == MIC and pub.kind == la.TrackKind.KIND_AUDIO
    assert a_events.args("local_track_published") == [(pub, track)]
    assert a_events.args("local_track_subscribed") == [(track,)]
    await asyncio.wait_for(pub.wait_for_subscription(), 1.0)

    alice_seen = bob.remote_participants["alice"]
    rpub = alice_seen.track_publications[pub.sid]
    assert isinstance(rpub, la.RemoteTrackPublication) and rpub.subscribed
    rtrack = rpub.track
    assert isinstance(rtrack, la.RemoteAudioTrack) and rtrack.sid == pub.sid
    assert b_events.args("track_published") == [(rpub, alice_seen)]
    assert b_events.args("track_subscribed") == [(rtrack, rpub, alice_seen)]

    await alice.local_participant.unpublish_track(pub.sid)
    assert a_events.args("local_track_unpublished") == [(pub,)]
    assert b_events.args("track_unsubscribed") == [(rtrack, rpub, alice_seen)]
    assert b_events.args("track_unpublished") == [(rpub, alice_seen)]
    assert b_events.names()[-2:] == ["track_unsubscribed", "track_unpublished"]
    assert pub.sid not in alice.local_participant.track_publications
    assert pub.sid not in alice_seen.track_publications

    await alice.disconnect()
    assert b_events.args("participant_disconnected") == [(alice_seen,)]
    assert a_events.args("disconnected") == [(la.DisconnectReason.CLIENT_INITIATED,)]
    assert not alice.isconnected() and "alice" not in bob.remote_participants
    await bob.disconnect()
    await source.aclose()


@pytest.mark.asyncio
async def test_handlers_may_take_fewer_arguments_and_decorators_work(server):
    bob = await connect(server, "bob")
    got = []

    @bob.on("track_subscribed")
    def on_subscribed(track):
        got.append(track)

    bob.once("track_published", lambda pub, participant: got.append(participant.identity))
    with pytest.raises(ValueError, match="coroutine"):

        @bob.on("track_subscribed")
        async def bad(track):
            pass

    with pytest.raises(ValueError, match="unknown room event"):
        bob.on("track_subscribe", print)
    alice = await connect(server, "alice")
    source, track, pub = await publish(alice)
    _, _, pub2 = await publish(alice, "second")
    assert got == [
        "alice",
        remote_track(bob, "alice", pub.sid),
        remote_track(bob, "alice", pub2.sid),
    ]
    bob.off("track_subscribed", on_subscribed)
    await alice.disconnect()
    await bob.disconnect()
    await source.aclose()


@pytest.mark.asyncio
async def test_a_late_joiner_sees_the_room_and_subscribes(server):
    alice = await connect(server, "alice")
    source, track, pub = await publish(alice)
    bob = la.Room()
    events = Events(bob)
    await bob.connect(server.url, server.create_token("bob", "demo"))
    assert events.args("participant_connected") == []  # existing participants: no events
    assert list(bob.remote_participants) == ["alice"]
    rpub = bob.remote_participants["alice"].track_publications[pub.sid]
    assert events.args("track_subscribed") == [(rpub.track, rpub, bob.remote_participants["alice"])]
    await alice.disconnect()
    await bob.disconnect()
    await source.aclose()


@pytest.mark.asyncio
async def test_audio_flows_from_publisher_to_every_subscriber(server):
    alice = await connect(server, "alice")
    bob = await connect(server, "bob")
    carol = await connect(server, "carol")
    source, track, pub = await publish(alice)
    sb = la.AudioStream(remote_track(bob, "alice", pub.sid))
    sc = la.AudioStream(remote_track(carol, "alice", pub.sid), sample_rate=16000)
    frames = ramp_frames(6)
    for f in frames:
        await source.capture_frame(f)
    await source.wait_for_playout()
    await alice.local_participant.unpublish_track(pub.sid)  # ends the remote tracks
    got_b, got_c = await read_all(sb), await read_all(sc)
    # exactly the audio, in 10 ms frames (and silence around it if the loop was slow)
    assert np.array_equal(samples(trim_silence(got_b)), samples(frames))
    expected = la.resample(samples(frames)[:, 0], 48000, 16000)
    assert np.array_equal(samples(trim_silence(got_c))[: len(expected), 0], expected)
    for s in (sb, sc):
        await s.aclose()
    for r in (alice, bob, carol):
        await r.disconnect()
    await source.aclose()


@pytest.mark.asyncio
async def test_a_slow_subscriber_never_blocks_the_others(server):
    alice = await connect(server, "alice")
    slow = await connect(server, "slow")
    fast = await connect(server, "fast")
    source, track, pub = await publish(alice, realtime=True)
    gate = threading.Event()
    stuck = RecordingProcessor(gate=gate)  # blocks its worker thread on the first frame
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        s_slow = la.AudioStream(
            remote_track(slow, "alice", pub.sid), noise_cancellation=stuck, processor_executor=pool
        )
        s_fast = la.AudioStream(remote_track(fast, "alice", pub.sid))
        frames = ramp_frames(5)
        for f in frames:
            await source.capture_frame(f)
        got = await read_audio(s_fast, 5)  # all of it, in real time, while "slow" is stuck
        assert np.array_equal(samples(got), samples(frames))
        assert len(stuck.processed) == 1 and s_slow.stats.frames_emitted == 0
        gate.set()
        got_slow = await read_audio(s_slow, 5)  # the slow one loses nothing once it catches up
        assert np.array_equal(samples(got_slow), samples(frames))
        await s_slow.aclose()
        await s_fast.aclose()
    for r in (alice, slow, fast):
        await r.disconnect()
    await source.aclose()


@pytest.mark.asyncio
async def test_per_subscriber_queues_are_bounded():
    server = la.LocalRoomServer(API_KEY, SECRET, subscriber_queue_frames=4)
    alice = await connect(server, "alice")
    bob = await connect(server, "bob")
    source, track, pub = await publish(alice)
    stream = la.AudioStream(remote_track(bob, "alice", pub.sid))
    frames = ramp_frames(10)
    for f in frames:  # a burst with no chance for the subscription task to run
        track._deliver(f)
    assert server.subscriber_drops("demo", "bob") == 6
    got = await read_audio(stream, 4)
    assert np.array_equal(samples(got), samples(frames[-4:]))  # the newest audio is kept
    await stream.aclose()
    await alice.disconnect()
    await bob.disconnect()
    await source.aclose()


@pytest.mark.asyncio
async def test_wait_for_subscription_survives_a_cancelled_waiter(server):
    """Waiters block until the first subscription; cancelling one (a timeout) leaves the
    others waiting, and every waiter, later ones too, returns once someone subscribes."""
    alice = await connect(server, "alice")
    bob = la.Room()
    await bob.connect(
        server.url, server.create_token("bob", "demo"), la.RoomOptions(auto_subscribe=False)
    )
    source, track, pub = await publish(alice)
    with pytest.raises(asyncio.TimeoutError):  # TimeoutError itself only from 3.11
        await asyncio.wait_for(pub.wait_for_subscription(), 0.05)
    waiter = asyncio.ensure_future(pub.wait_for_subscription())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    bob.remote_participants["alice"].track_publications[pub.sid].set_subscribed(True)
    await asyncio.wait_for(waiter, 1.0)
    await asyncio.wait_for(pub.wait_for_subscription(), 1.0)  # after the fact: at once
    for r in (alice, bob):
        await r.disconnect()
    await source.aclose()


@pytest.mark.asyncio
async def test_manual_subscription_and_grants(server):
    alice = await connect(server, "alice")
    bob = la.Room()
    await bob.connect(
        server.url, server.create_token("bob", "demo"), la.RoomOptions(auto_subscribe=False)
    )
    viewer = await connect(server, "viewer", can_publish=False)
    source, track, pub = await publish(alice)
    rpub = bob.remote_participants["alice"].track_publications[pub.sid]
    assert not rpub.subscribed and rpub.track is None
    rpub.set_subscribed(True)
    assert rpub.subscribed and isinstance(rpub.track, la.RemoteAudioTrack)
    with pytest.raises(la.PublishTrackError, match="publish grant"):
        await publish(viewer)
    with pytest.raises(la.PublishTrackError, match="already published"):
        await alice.local_participant.publish_track(track)
    with pytest.raises(la.UnpublishTrackError):
        await alice.local_participant.unpublish_track("TR_nope")
    with pytest.raises(TypeError):
        await alice.local_participant.publish_track(rpub.track)
    for r in (alice, bob, viewer):
        await r.disconnect()
    with pytest.raises(la.PublishTrackError, match="not connected"):
        await alice.local_participant.publish_track(track)
    await source.aclose()


@pytest.mark.asyncio
async def test_mute_reaches_subscribers(server):
    alice = await connect(server, "alice")
    bob = await connect(server, "bob")
    events = Events(bob)
    source, track, pub = await publish(alice)
    rpub = bob.remote_participants["alice"].track_publications[pub.sid]
    stream = la.AudioStream(rpub.track)
    track.mute()
    assert rpub.muted and rpub.track.muted and pub.muted
    assert events.args("track_muted") == [(bob.remote_participants["alice"], rpub)]
    await source.capture_frame(ramp_frames(1, start=100)[0])
    (f,) = await read_n(stream, 1)
    assert not f.to_ndarray().any()
    track.unmute()
    assert events.names()[-1] == "track_unmuted" and not rpub.muted
    await stream.aclose()
    await alice.disconnect()
    await bob.disconnect()
    await source.aclose()


@pytest.mark.asyncio
async def test_duplicate_identity_replaces_the_old_session(server):
    first = await connect(server, "alice")
    events = Events(first)
    second = await connect(server, "alice")
    assert events.args("disconnected") == [(la.DisconnectReason.DUPLICATE_IDENTITY,)]
    assert not first.isconnected() and second.isconnected()
    assert server.participants("demo") == ["alice"]
    await second.disconnect()


# -- processor semantics (DESIGN.md) --------------------------------------------------------


@pytest.mark.asyncio
async def test_from_track_on_subscribed_track_gets_info_then_credentials(server):
    """A stream registered on a track already in a room gets the push at once."""
    alice = await connect(server, "alice")
    bob = await connect(server, "bob")
    source, track, pub = await publish(alice)
    proc = RecordingProcessor()
    stream = la.AudioStream.from_track(
        track=remote_track(bob, "alice", pub.sid), noise_cancellation=proc
    )
    assert proc.events == [
        ("info", "demo", "alice", pub.sid),
        ("cred", bob._token, server.url),
    ]
    await stream.aclose()
    assert not proc.closed  # from_track leaves the processor open by default
    for r in (alice, bob):
        await r.disconnect()
    await source.aclose()
    assert proc.violations == []


@pytest.mark.asyncio
async def test_local_publish_pushes_to_streams_registered_before(server):
    alice = await connect(server, "alice")
    source = la.AudioSource(48000, 1, realtime=False)
    track = la.LocalAudioTrack.create_audio_track("mic", source)
    proc = RecordingProcessor()
    stream = la.AudioStream(track, noise_cancellation=proc)
    assert proc.events == []  # not in a room yet
    pub = await alice.local_participant.publish_track(track)
    assert proc.events == [("info", "demo", "alice", pub.sid), ("cred", alice._token, server.url)]
    await stream.aclose()
    await alice.disconnect()
    await source.aclose()


@pytest.mark.asyncio
async def test_token_refresh_repushes_only_credentials(server):
    alice = await connect(server, "alice")
    bob = await connect(server, "bob")
    events = Events(bob)
    source, track, pub = await publish(alice)
    remote_proc, local_proc = RecordingProcessor(), RecordingProcessor()
    rs = la.AudioStream.from_track(
        track=remote_track(bob, "alice", pub.sid), noise_cancellation=remote_proc
    )
    ls = la.AudioStream.from_track(track=track, noise_cancellation=local_proc)
    old = bob._token
    remote_proc.events.clear()
    new = await server.refresh_token("bob")
    assert new != old and bob._token == new
    assert events.names()[-1] == "token_refreshed" and events.args("token_refreshed") == [()]
    assert remote_proc.events == [("cred", new, server.url)]  # no stream info
    local_before = list(local_proc.events)
    new_alice = await server.refresh_token("alice", room="demo")
    assert local_proc.events == local_before + [("cred", new_alice, server.url)]
    jwt.decode(new, SECRET, algorithms=["HS256"])  # a valid token
    for s in (rs, ls):
        await s.aclose()
    for r in (alice, bob):
        await r.disconnect()
    with pytest.raises(ValueError, match="no participant"):
        await server.refresh_token("bob")
    await source.aclose()
    assert remote_proc.violations == [] and local_proc.violations == []


@pytest.mark.asyncio
async def test_unsubscribe_clears_exactly_once(server):
    alice = await connect(server, "alice")
    bob = await connect(server, "bob")
    source, track, pub = await publish(alice)
    rpub = bob.remote_participants["alice"].track_publications[pub.sid]
    proc = RecordingProcessor()
    stream = la.AudioStream.from_track(track=rpub.track, noise_cancellation=proc)
    rpub.set_subscribed(False)
    rpub.set_subscribed(False)  # again: nothing more
    await alice.local_participant.unpublish_track(pub.sid)  # and the track goes away
    await bob.disconnect()
    assert proc.count("info_cleared") == 1 and proc.count("cred_cleared") == 1
    assert proc.kinds()[-2:] == ["info_cleared", "cred_cleared"]
    assert all(silent(f) for f in await read_all(stream))  # the unsubscribed track ended it
    await stream.aclose()
    await alice.disconnect()
    await source.aclose()


@pytest.mark.asyncio
async def test_unpublish_clears_exactly_once(server):
    alice = await connect(server, "alice")
    bob = await connect(server, "bob")
    source, track, pub = await publish(alice)
    local_proc, remote_proc = RecordingProcessor(), RecordingProcessor()
    ls = la.AudioStream.from_track(track=track, noise_cancellation=local_proc)
    rs = la.AudioStream.from_track(
        track=remote_track(bob, "alice", pub.sid), noise_cancellation=remote_proc
    )
    await alice.local_participant.unpublish_track(pub.sid)
    await alice.disconnect()
    await bob.disconnect()
    for proc in (local_proc, remote_proc):
        assert proc.count("info_cleared") == 1 and proc.count("cred_cleared") == 1
    assert track._resolve_room() is None
    for s in (ls, rs):
        await s.aclose()
    await source.aclose()


@pytest.mark.asyncio
@pytest.mark.parametrize("order", ["unpublish first", "disconnect first"])
async def test_unpublish_racing_disconnect_clears_once(server, order):
    alice = await connect(server, "alice")
    bob = await connect(server, "bob")
    b_events = Events(bob)
    source, track, pub = await publish(alice)
    local_proc, remote_proc = RecordingProcessor(), RecordingProcessor()
    ls = la.AudioStream.from_track(track=track, noise_cancellation=local_proc)
    rs = la.AudioStream.from_track(
        track=remote_track(bob, "alice", pub.sid), noise_cancellation=remote_proc
    )
    calls = [alice.local_participant.unpublish_track(pub.sid), alice.disconnect()]
    if order == "disconnect first":
        calls.reverse()
    await asyncio.gather(*calls)
    for proc in (local_proc, remote_proc):
        assert proc.count("info_cleared") == 1 and proc.count("cred_cleared") == 1, proc.events
        assert proc.violations == []
    assert b_events.names().count("track_unsubscribed") == 1
    for s in (ls, rs):
        await s.aclose()
    await bob.disconnect()
    await source.aclose()


@pytest.mark.asyncio
@pytest.mark.parametrize("first", ["unsubscribe", "unpublish", "remove"])
async def test_unsubscribe_racing_unpublish_clears_once(server, first):
    alice = await connect(server, "alice")
    bob = await connect(server, "bob")
    source, track, pub = await publish(alice)
    rpub = bob.remote_participants["alice"].track_publications[pub.sid]
    proc = RecordingProcessor()
    stream = la.AudioStream.from_track(track=rpub.track, noise_cancellation=proc)
    loop = asyncio.get_running_loop()
    unpublish = asyncio.ensure_future(alice.local_participant.unpublish_track(pub.sid))
    remove = asyncio.ensure_future(server.remove_participant("bob"))
    if first == "unsubscribe":
        rpub.set_subscribed(False)
    else:
        loop.call_soon(rpub.set_subscribed, False)  # lands while the others are in flight
    if first == "unpublish":
        await unpublish
    await asyncio.gather(unpublish, remove)
    await asyncio.sleep(0)
    assert proc.count("info_cleared") == 1 and proc.count("cred_cleared") == 1, proc.events
    assert not bob.isconnected()
    await stream.aclose()
    await alice.disconnect()
    await source.aclose()
    assert proc.violations == []


@pytest.mark.asyncio
async def test_full_reconnect_republishes_with_new_sids_and_pushes_them(server):
    alice = await connect(server, "alice")
    bob = await connect(server, "bob")
    source, track, pub = await publish(alice)
    a_events, b_events = Events(alice), Events(bob)
    old_sid = pub.sid
    local_proc, follow_proc, old_remote_proc = (RecordingProcessor() for _ in range(3))
    ls = la.AudioStream.from_track(track=track, noise_cancellation=local_proc)
    fs = la.AudioStream.from_participant(
        participant=bob.remote_participants["alice"],
        track_source=MIC,
        noise_cancellation=follow_proc,
    )
    old_remote = remote_track(bob, "alice", old_sid)
    rs = la.AudioStream.from_track(track=old_remote, noise_cancellation=old_remote_proc)

    await server.simulate_full_reconnect("alice")

    new_sid = pub.sid
    assert new_sid != old_sid and track.sid == new_sid
    assert list(alice.local_participant.track_publications) == [new_sid]
    assert a_events.args("local_track_republished") == [(pub, old_sid)]
    assert a_events.names()[0:2] == ["connection_state_changed", "reconnecting"]
    assert a_events.names()[-2:] == ["connection_state_changed", "reconnected"]
    assert alice.connection_state == la.ConnectionState.CONN_CONNECTED
    # the local track's processor learns the new publication SID (and the credentials again)
    assert local_proc.events[-2:] == [
        ("info", "demo", "alice", new_sid),
        ("cred", alice._token, server.url),
    ]
    # subscribers see the old publication go and the new one come
    assert b_events.names() == [
        "track_unsubscribed",
        "track_unpublished",
        "track_published",
        "track_subscribed",
    ]
    assert old_remote_proc.kinds()[-2:] == ["info_cleared", "cred_cleared"]
    # a from_participant stream follows to the new track and gets the new SID
    await until(lambda: fs.track is remote_track(bob, "alice", new_sid))
    assert follow_proc.events[-2:] == [
        ("info", "demo", "alice", new_sid),
        ("cred", bob._token, server.url),
    ]
    assert follow_proc.kinds() == ["info", "cred", "info_cleared", "cred_cleared", "info", "cred"]
    for s in (ls, fs, rs):
        await s.aclose()
    for r in (alice, bob):
        await r.disconnect()
    await source.aclose()
    for p in (local_proc, follow_proc, old_remote_proc):
        assert p.violations == []


@pytest.mark.asyncio
async def test_disconnect_clears_every_track_of_the_room(server):
    alice = await connect(server, "alice")
    bob = await connect(server, "bob")
    a_source, a_track, a_pub = await publish(alice)
    b_source, b_track, b_pub = await publish(bob)
    procs = {name: RecordingProcessor() for name in ("local", "remote")}
    ls = la.AudioStream.from_track(track=b_track, noise_cancellation=procs["local"])
    rs = la.AudioStream.from_track(
        track=remote_track(bob, "alice", a_pub.sid), noise_cancellation=procs["remote"]
    )
    await bob.disconnect()
    for proc in procs.values():
        assert proc.kinds() == ["info", "cred", "info_cleared", "cred_cleared"]
    assert len(bob._tracks) == 0 and b_track._resolve_room() is None
    await bob.disconnect()  # no-op
    assert all(p.count("info_cleared") == 1 for p in procs.values())
    for s in (ls, rs):
        await s.aclose()
    await alice.disconnect()
    await a_source.aclose()
    await b_source.aclose()


@pytest.mark.asyncio
async def test_remove_participant_disconnects_and_clears(server):
    alice = await connect(server, "alice")
    events = Events(alice)
    source, track, pub = await publish(alice)
    proc = RecordingProcessor()
    stream = la.AudioStream.from_track(track=track, noise_cancellation=proc)
    await server.remove_participant("alice")
    assert events.args("disconnected") == [(la.DisconnectReason.PARTICIPANT_REMOVED,)]
    assert proc.kinds()[-2:] == ["info_cleared", "cred_cleared"]
    assert server.participants("demo") == []
    await stream.aclose()
    await source.aclose()


@pytest.mark.asyncio
async def test_from_participant_streams_get_the_same_pushes_and_audio(server):
    alice = await connect(server, "alice")
    bob = await connect(server, "bob")
    remote_proc, local_proc = RecordingProcessor(), RecordingProcessor()
    # registered before anything is published: they attach when the track appears
    rs = la.AudioStream.from_participant(
        participant=bob.remote_participants["alice"],
        track_source=MIC,
        noise_cancellation=remote_proc,
    )
    ls = la.AudioStream.from_participant(
        participant=alice.local_participant, track_source=MIC, noise_cancellation=local_proc
    )
    assert rs.track is None and remote_proc.events == []
    source, track, pub = await publish(alice)
    assert rs.track is remote_track(bob, "alice", pub.sid) and ls.track is track
    assert remote_proc.events == [
        ("info", "demo", "alice", pub.sid),
        ("cred", bob._token, server.url),
    ]
    assert local_proc.events == [
        ("info", "demo", "alice", pub.sid),
        ("cred", alice._token, server.url),
    ]
    new = await server.refresh_token("bob")
    assert remote_proc.events[-1] == ("cred", new, server.url)
    frames = ramp_frames(3)
    for f in frames:
        await source.capture_frame(f)
    assert np.array_equal(samples(await read_audio(rs, 3)), samples(frames))
    assert np.array_equal(samples(await read_n(ls, 3)), samples(frames))
    # a stream created when the track is already there gets the push at once
    late = RecordingProcessor()
    late_stream = la.AudioStream.from_participant(
        participant=bob.remote_participants["alice"], track_source=MIC, noise_cancellation=late
    )
    assert late.kinds() == ["info", "cred"]
    # another source does not match
    other = la.AudioStream.from_participant(
        participant=bob.remote_participants["alice"],
        track_source=la.TrackSource.SOURCE_SCREENSHARE_AUDIO,
    )
    assert other.track is None
    await alice.disconnect()  # the participant leaves: its streams end after their audio
    # (silence until then: a subscribed remote track delivers it, as in LiveKit)
    assert all(silent(f) for f in await read_all(rs)) and await read_all(other) == []
    assert remote_proc.kinds()[-2:] == ["info_cleared", "cred_cleared"]
    assert local_proc.kinds()[-2:] == ["info_cleared", "cred_cleared"]
    for s in (rs, ls, late_stream, other):
        await s.aclose()
    assert remote_proc.closed and local_proc.closed  # from_participant defaults to auto-close
    await bob.disconnect()
    await source.aclose()
    for p in (remote_proc, local_proc, late):
        assert p.violations == []


@pytest.mark.asyncio
async def test_process_is_never_called_after_close_on_a_live_track(server):
    alice = await connect(server, "alice")
    bob = await connect(server, "bob")
    source, track, pub = await publish(alice, realtime=True)
    proc = RecordingProcessor()
    stream = la.AudioStream(remote_track(bob, "alice", pub.sid), noise_cancellation=proc)

    async def produce():
        for f in ramp_frames(8):
            await source.capture_frame(f)

    producer = asyncio.ensure_future(produce())
    await until(lambda: len(proc.processed) >= 2)
    await stream.aclose()  # while audio keeps flowing
    assert proc.closed
    n = len(proc.processed)
    await producer
    await source.wait_for_playout()
    assert len(proc.processed) == n and proc.violations == []
    await alice.disconnect()
    await bob.disconnect()
    await source.aclose()


@pytest.mark.asyncio
async def test_dropped_stream_on_a_remote_track_is_collected(server):
    alice = await connect(server, "alice")
    bob = await connect(server, "bob")
    source, track, pub = await publish(alice)
    rtrack = remote_track(bob, "alice", pub.sid)
    stream = la.AudioStream.from_track(track=rtrack, noise_cancellation=RecordingProcessor())
    ref = weakref.ref(stream)
    del stream
    gc.collect()
    assert ref() is None and len(rtrack._audio_streams) == 0
    await server.refresh_token("bob")  # pushes to nobody; no error
    await alice.disconnect()
    await bob.disconnect()
    await source.aclose()


@pytest.mark.asyncio
async def test_tracks_hold_their_room_weakly(server):
    alice = await connect(server, "alice")
    source, track, pub = await publish(alice)
    assert track._resolve_room() is alice
    await alice.disconnect()  # still published: the disconnect clears it
    ref = weakref.ref(alice)
    del alice, pub
    gc.collect()
    assert ref() is None  # the (still alive) track did not keep the room alive
    assert track._resolve_room() is None
    await source.aclose()


@pytest.mark.asyncio
async def test_from_participant_rejects_unknown_sources(server):
    alice = await connect(server, "alice")
    with pytest.raises(ValueError, match="track_source"):
        la.AudioStream.from_participant(participant=alice.local_participant, track_source=99)
    await alice.disconnect()


@pytest.mark.asyncio
async def test_rooms_made_by_a_join_are_deleted_when_the_last_participant_leaves(server):
    """Join/leave churn with distinct room names leaves no room behind (10,200 cycles used
    to leave 10,200 rooms); rooms made with create_room stay; a duplicate identity's rejoin
    keeps its room."""
    server.create_room("lobby")
    for i in range(200):
        room = await connect(server, f"p{i}", room=f"call-{i}")
        assert f"call-{i}" in server.rooms
        await room.disconnect()
    assert server.rooms == ["lobby"]
    a = await connect(server, "alice", room="dup")
    b = await connect(server, "alice", room="dup")  # replaces the first session
    assert server.rooms == ["lobby", "dup"] and server.participants("dup") == ["alice"]
    await b.disconnect()
    await a.disconnect()
    assert server.rooms == ["lobby"]
    lobby = await connect(server, "bob", room="lobby")
    await lobby.disconnect()
    assert server.rooms == ["lobby"]
