"""AVSynchronizer: audio paces video (issue 12 §3), on a virtual-time event loop.

The long runs (60 s of 30 fps video with seeded capture jitter) use :class:`VirtualTimeLoop`:
an asyncio loop whose clock jumps to the next timer whenever it would otherwise sleep, so a
minute of real-time playout (AudioSource, dispatcher, synchronizer, VideoStream) takes a
fraction of a second and every figure is exact and reproducible. Nothing here measures
wall-clock speed.

How "its audio" is measured: an AudioSource playout listener records the loop time at which
each audio frame starts playing; the media time ``m`` then plays at ``start of the frame
holding m + (m - that frame's media start)``. A video frame's release time is the loop time
at which its :class:`~livekit_audio.VideoFrameEvent` reaches a VideoStream on the video
source's track (its ``timestamp_us`` is the frame's media time).
"""

from __future__ import annotations

import asyncio
import math
import selectors
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pytest

import livekit_audio as la

T = TypeVar("T")

RATE = 16000
FPS = 30
INTERVAL_S = 1 / FPS


# -- the virtual-time loop -------------------------------------------------------------------


class _AdvancingSelector(selectors.BaseSelector):
    """A real selector whose waits are virtual: asked to wait ``timeout`` seconds for I/O (the
    loop has nothing ready and its next timer is that far away), it polls the real selector
    without waiting and, if nothing is ready, advances the clock by ``timeout`` instead (and
    by :data:`TURN_S` when asked not to wait)."""

    #: Virtual time one turn of the loop takes (seconds).
    TURN_S = 1e-9

    def __init__(self) -> None:
        self._real = selectors.DefaultSelector()
        self.now = 0.0  # the virtual clock, seconds

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:  # nothing scheduled: only another thread could wake the loop
            events = self._real.select(10.0)
            if not events:
                raise RuntimeError("virtual-time loop: nothing scheduled and nothing to wait for")
            return events
        events = self._real.select(0)
        if not events:
            # jump to the next timer; every turn of the loop also takes TURN_S, as on a real
            # clock, so a timer that re-arms on a grid computed from ``time()`` gets past its
            # instant (the playout ticker re-arms at ``(now // 0.01 + 1) * 0.01``, which is
            # ``now`` itself when ``now`` is exactly the float 0.03: 0.03 // 0.01 == 2.0)
            later = self.now + max(timeout, self.TURN_S)
            self.now = later if later > self.now else math.nextafter(self.now, math.inf)
        return events

    def get_map(self) -> Any:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop on a virtual clock: ``time()`` starts at 0 and moves when the loop would
    sleep, straight to its next timer (the idea of asyncio's own test ``TestLoop``), plus
    1 ns per turn of the loop. Timers, ``asyncio.sleep`` and everything scheduled with
    ``call_at`` run in the order and at the (virtual) times they would in real time."""

    def __init__(self) -> None:
        self._virtual = _AdvancingSelector()
        super().__init__(self._virtual)

    def time(self) -> float:
        return self._virtual.now


def run_virtual(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on a fresh :class:`VirtualTimeLoop`."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def test_virtual_loop_jumps_to_the_next_timer():
    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        seen: list[float] = []
        loop.call_later(0.25, lambda: seen.append(loop.time()))
        await asyncio.sleep(3600.0)
        seen.append(loop.time())
        return seen

    assert run_virtual(main()) == pytest.approx([0.25, 3600.0], abs=1e-6)


def test_audio_source_plays_out_in_real_time_on_the_virtual_loop():
    """AudioSource + dispatcher run on the virtual clock: 100 frames of 10 ms, captured at
    once, play out one every 10 ms (to the dispatcher's 1 ms grain), and
    ``wait_for_playout`` returns when the last one has played. An AudioStream on the
    source's track gets them, in order, as they play (its 10 ms playout ticker runs too)."""

    async def main() -> tuple[list[float], float, float, list[tuple[float, int]]]:
        loop = asyncio.get_running_loop()
        source = la.AudioSource(RATE, 1, queue_size_ms=2000)
        stream = la.AudioStream(
            la.LocalAudioTrack.create_audio_track("mic", source), sample_rate=RATE
        )
        heard: list[tuple[float, int]] = []  # (loop time, first sample)

        async def listen() -> None:
            async for event in stream:
                heard.append((loop.time(), int(event.frame.to_ndarray()[0, 0])))

        listener = asyncio.ensure_future(listen())
        starts: list[float] = []
        source.add_playout_listener(lambda frame: starts.append(loop.time()))
        t0 = loop.time()
        for k in range(100):
            samples = np.full(RATE // 100, k + 1, np.int16)
            await source.capture_frame(la.AudioFrame.from_ndarray(samples, RATE))
        queued = source.queued_duration
        await source.wait_for_playout()
        done = loop.time() - t0
        await source.aclose()
        await listener
        return [t - t0 for t in starts], queued, done, [(t - t0, v) for t, v in heard]

    starts, queued, done, heard = run_virtual(main())
    assert len(starts) == 100
    assert queued == pytest.approx(1.0)
    expected = np.arange(100) * 0.010
    assert np.max(np.abs(np.array(starts) - expected)) <= 0.0011
    assert done == pytest.approx(1.0, abs=0.002)
    assert [v for _, v in heard] == list(range(1, 101))
    assert np.max(np.abs(np.array([t for t, _ in heard]) - expected)) <= 0.0011


# -- the bar: 60 s at 30 fps with capture jitter --------------------------------------


@dataclass
class Run:
    """What one synchronized run produced."""

    releases: list[tuple[float, int]] = field(default_factory=list)  # (loop time, pts µs)
    audio_starts: list[float] = field(default_factory=list)  # loop time of each audio frame
    audio_sizes: list[int] = field(default_factory=list)  # its samples per channel
    fps_readings: list[float] = field(default_factory=list)  # actual_fps, once a second

    def audio_time(self, media_s: float) -> float:
        """Loop time at which audio media time ``media_s`` played (audio contiguous from 0)."""
        ends = np.cumsum(self.audio_sizes) / RATE
        i = int(np.searchsorted(ends, media_s, side="right"))
        start_media = ends[i - 1] if i else 0.0
        return self.audio_starts[i] + (media_s - start_media)

    def release_errors(self) -> np.ndarray:
        """Release time minus the time its audio played, per video frame, in seconds."""
        return np.array([t - self.audio_time(pts / 1e6) for t, pts in self.releases])


def _tiny_frame() -> la.VideoFrame:
    return la.VideoFrame(4, 4, la.VideoBufferType.RGBA, bytes(4 * 4 * 4))


async def _jittered_av(
    *,
    seconds: float,
    chunk_ms: int,
    jitter_ms: float,
    lead_frames: int,
    seed: int,
    timestamps: bool = False,
) -> Run:
    """A producer rendering 30 fps video with seeded capture jitter, and its audio alongside.

    Frame ``k`` is rendered at ``(k - lead_frames) * interval + jitter_k`` (jitter uniform in
    ``±jitter_ms``; the first ``lead_frames`` frames at once, as a generator back-pressured
    by the queues starts ``lead_frames`` ahead of playout), pushed, then followed by the audio
    up to the end of its interval in ``chunk_ms`` frames (so audio and video boundaries do
    not line up for 20 ms chunks).
    """
    loop = asyncio.get_running_loop()
    rng = np.random.default_rng(seed)
    audio = la.AudioSource(RATE, 1)
    video = la.VideoSource(4, 4)
    stream = la.VideoStream(la.LocalVideoTrack.create_video_track("avatar", video))
    sync = la.AVSynchronizer(audio_source=audio, video_source=video, video_fps=FPS)
    run = Run()

    def played(frame: la.AudioFrame) -> None:
        run.audio_starts.append(loop.time())
        run.audio_sizes.append(frame.samples_per_channel)

    audio.add_playout_listener(played)

    async def read() -> None:
        async for event in stream:
            run.releases.append((loop.time(), event.timestamp_us))

    reader = asyncio.ensure_future(read())
    n_frames = round(seconds * FPS)
    jitter_s = rng.uniform(-jitter_ms, jitter_ms, n_frames) / 1000
    chunk = RATE * chunk_ms // 1000
    pushed = 0
    t0 = loop.time()
    next_reading = t0 + 2.0
    frame = _tiny_frame()
    for k in range(n_frames):
        if k >= lead_frames:
            delay = t0 + (k - lead_frames) * INTERVAL_S + jitter_s[k] - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        await sync.push(frame, k * INTERVAL_S if timestamps else None)
        while pushed < round((k + 1) * INTERVAL_S * RATE):
            pushed += chunk
            await sync.push(
                la.AudioFrame.create(RATE, 1, chunk), pushed / RATE if timestamps else None
            )
        if loop.time() >= next_reading:
            run.fps_readings.append(sync.actual_fps)
            next_reading += 1.0
    await sync.wait_for_playout()
    await sync.aclose()
    await video.aclose()
    await reader
    await audio.aclose()
    return run


@pytest.mark.parametrize("chunk_ms", [10, 20])
def test_60s_of_jittered_video_is_released_with_its_audio(chunk_ms, capsys):
    run = run_virtual(
        _jittered_av(seconds=60, chunk_ms=chunk_ms, jitter_ms=15, lead_frames=3, seed=chunk_ms)
    )
    # every frame, in order, with its media time
    assert [pts for _, pts in run.releases] == [round(k * INTERVAL_S * 1e6) for k in range(1800)]
    errors = run.release_errors()
    # each frame within one frame interval of its audio
    assert np.max(np.abs(errors)) <= INTERVAL_S
    # actual_fps within 1 % of 30, all the way through
    assert len(run.fps_readings) >= 55
    assert all(abs(fps - FPS) <= 0.01 * FPS for fps in run.fps_readings)
    # no drift: the release/playout offset at the end is the one at the start
    assert abs(errors[-FPS:].mean() - errors[:FPS].mean()) <= INTERVAL_S
    assert abs(errors[-1] - errors[0]) <= INTERVAL_S
    with capsys.disabled():
        print(
            f"\n[av sync, {chunk_ms} ms audio] max |release - audio| "
            f"{np.max(np.abs(errors)) * 1e3:.2f} ms, mean {errors.mean() * 1e3:.2f} ms, "
            f"actual_fps {min(run.fps_readings):.3f}..{max(run.fps_readings):.3f}"
        )


def test_timestamps_given_to_push_are_followed():
    """Video timestamps (presentation) and audio timestamps (end of frame, LiveKit's rule)
    on one timeline: same sync as counted times."""
    run = run_virtual(
        _jittered_av(seconds=10, chunk_ms=20, jitter_ms=15, lead_frames=3, seed=7, timestamps=True)
    )
    assert len(run.releases) == 300
    assert np.max(np.abs(run.release_errors())) <= INTERVAL_S


def test_a_producer_with_no_lead_underruns_the_audio_but_video_follows_it():
    """Frames rendered just in time with ±15 ms jitter: the audio source runs dry now and
    then (and restarts later), and video still goes out with the audio it belongs to."""
    run = run_virtual(_jittered_av(seconds=20, chunk_ms=10, jitter_ms=15, lead_frames=0, seed=3))
    errors = run.release_errors()
    assert len(errors) == 600
    assert np.max(np.abs(errors)) <= INTERVAL_S
    assert abs(errors[-FPS:].mean() - errors[:FPS].mean()) <= INTERVAL_S


# -- segments: idle video, speech, interruption ------------------------------------------------


@dataclass
class Harness:
    """Sources, a synchronizer and a reader recording releases and audio playout."""

    loop: asyncio.AbstractEventLoop
    audio: la.AudioSource
    video: la.VideoSource
    sync: la.AVSynchronizer
    run: Run
    reader: asyncio.Future[None]

    @classmethod
    def start(cls, **sync_options: Any) -> Harness:
        loop = asyncio.get_running_loop()
        audio = la.AudioSource(RATE, 1)
        video = la.VideoSource(4, 4)
        stream = la.VideoStream(la.LocalVideoTrack.create_video_track("avatar", video))
        sync = la.AVSynchronizer(
            audio_source=audio, video_source=video, video_fps=FPS, **sync_options
        )
        run = Run()

        def played(frame: la.AudioFrame) -> None:
            run.audio_starts.append(loop.time())
            run.audio_sizes.append(frame.samples_per_channel)

        audio.add_playout_listener(played)

        async def read() -> None:
            async for event in stream:
                run.releases.append((loop.time(), event.timestamp_us))

        return cls(loop, audio, video, sync, run, asyncio.ensure_future(read()))

    async def stop(self) -> None:
        await self.sync.aclose()
        await self.video.aclose()
        await self.reader
        await self.audio.aclose()


def test_idle_video_goes_out_at_video_fps_and_speech_after_it_is_in_sync():
    """An avatar idles (video only, pushed as fast as the queue lets it), speaks (each frame
    followed by its audio), idles again. Idle frames go out every 1/30 s on the loop's clock;
    each speech frame goes out with the first sample of the audio pushed after it."""

    async def main() -> tuple[Run, dict[int, int]]:
        h = Harness.start()
        frame = _tiny_frame()
        follows: dict[int, int] = {}  # speech frame j -> index of the first sample after it
        for _ in range(60):
            await h.sync.push(frame)
        pushed = 0
        per_frame = RATE // FPS
        for j in range(90):
            await h.sync.push(frame)
            follows[j] = pushed
            await h.sync.push(la.AudioFrame.create(RATE, 1, per_frame))
            pushed += per_frame
        for _ in range(30):
            await h.sync.push(frame)
        await h.sync.wait_for_playout()
        await h.stop()
        return h.run, follows

    run, follows = run_virtual(main())
    times = np.array([t for t, _ in run.releases])
    pts = [p for _, p in run.releases]
    assert len(times) == 180 and pts == sorted(pts)
    # idle: one frame every interval (the dispatcher's 1 ms grain aside)
    idle = np.diff(times[:56])
    assert np.all(np.abs(idle - INTERVAL_S) <= 0.0011)
    # speech: frame j of the speech (release index 60 + j) with sample follows[j]
    ends = np.cumsum(run.audio_sizes)
    for j, sample in follows.items():
        i = int(np.searchsorted(ends, sample, side="right"))
        start = ends[i - 1] if i else 0
        audio_time = run.audio_starts[i] + (sample - start) / RATE
        assert abs(times[60 + j] - audio_time) <= INTERVAL_S
    # idle again afterwards, at video_fps
    assert np.all(np.abs(np.diff(times[-25:]) - INTERVAL_S) <= 0.0011)


def test_clear_queue_drops_the_audio_and_the_video_queued():
    async def main() -> None:
        h = Harness.start()
        frame = _tiny_frame()
        per_frame = RATE // FPS
        for _ in range(6):  # the video queue holds 3 (+1 waiting): the rest waits for room
            await h.sync.push(frame)
            for _ in range(5):  # audio well ahead: 5 frames' worth per video frame
                await h.sync.push(la.AudioFrame.create(RATE, 1, per_frame))
        await asyncio.sleep(0.05)
        released = len(h.run.releases)
        assert h.audio.queued_duration > 0.5
        assert 1 <= released < 6
        while len(h.sync._queue) < 3:  # fill the video queue
            await h.sync.push(frame)
        pending_push = asyncio.ensure_future(h.sync.push(frame))  # waits for room
        await asyncio.sleep(0)
        assert not pending_push.done()
        t_clear = h.loop.time()
        await h.sync.clear_queue()
        assert h.audio.queued_duration == 0.0
        await pending_push  # woken by the clear; its frame is due at once
        played = len(h.run.audio_starts)
        await asyncio.sleep(1.0)
        assert len(h.run.audio_starts) == played  # no audio after the clear
        assert len(h.run.releases) == released + 1  # only the frame pushed after the clear
        assert h.run.releases[-1][0] - t_clear <= INTERVAL_S
        await asyncio.wait_for(h.sync.wait_for_playout(), 0.001)  # nothing pending
        # the stream goes on from where the audio stopped: next frame and audio together
        t = h.loop.time()
        await h.sync.push(frame)
        await h.sync.push(la.AudioFrame.create(RATE, 1, per_frame))
        await h.sync.wait_for_playout()
        assert len(h.run.audio_starts) == played + 1
        assert abs(h.run.releases[-1][0] - h.run.audio_starts[-1]) <= INTERVAL_S
        assert h.run.audio_starts[-1] - t <= INTERVAL_S
        await h.stop()

    run_virtual(main())


def test_push_waits_for_room_in_the_video_queue():
    async def main() -> None:
        h = Harness.start(video_queue_size_ms=100)  # 3 frames (+1 waiting for its time)
        frame = _tiny_frame()
        for _ in range(5):
            await h.sync.push(frame)  # frame 0 goes out at once, 1 waits, 2-4 queued
        blocked = asyncio.ensure_future(h.sync.push(frame))
        await asyncio.sleep(0)
        assert not blocked.done()
        await asyncio.sleep(INTERVAL_S + 0.002)  # frame 1 goes out: room for one
        assert blocked.done()
        await h.stop()

    run_virtual(main())


def test_wait_for_playout_reset_and_the_times():
    async def main() -> None:
        h = Harness.start()
        sync = h.sync
        assert (sync.actual_fps, sync.last_video_time, sync.last_audio_time) == (0.0, 0.0, 0.0)
        await sync.wait_for_playout()  # nothing pushed: at once
        frame = _tiny_frame()
        t0 = h.loop.time()
        for _ in range(30):  # (pushing waits for room in the video queue)
            await sync.push(frame)
            await sync.push(la.AudioFrame.create(RATE, 1, RATE // FPS))
        await sync.wait_for_playout()  # the last audio frame has played out
        assert h.loop.time() - t0 == pytest.approx(30 * (RATE // FPS) / RATE, abs=0.002)
        assert sync.last_video_time == pytest.approx(29 * INTERVAL_S)
        assert sync.last_audio_time == pytest.approx(30 * (RATE // FPS) / RATE)
        assert sync.actual_fps == pytest.approx(FPS, rel=0.01)
        # mid-playout, last_audio_time is the audio playing now
        for _ in range(30):
            await sync.push(la.AudioFrame.create(RATE, 1, RATE // FPS))
        await asyncio.sleep(0.5)
        assert sync.last_audio_time == pytest.approx(30 * (RATE // FPS) / RATE + 0.5, abs=0.002)
        await sync.wait_for_playout()
        # reset: the measured rate starts again; the next frame (no audio playing) goes at once
        sync.reset()
        assert sync.actual_fps == 0.0
        await sync.push(frame, 100.0)  # far ahead: with no audio playing the clock restarts
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert h.run.releases[-1][1] == 100_000_000
        assert sync.last_video_time == 100.0
        await h.stop()

    run_virtual(main())


# -- validation and closing ------------------------------------------------------------------


def _sources() -> tuple[la.AudioSource, la.VideoSource]:
    return la.AudioSource(RATE, 1), la.VideoSource(4, 4)


@pytest.mark.parametrize(
    "options, exc, words",
    [
        ({"video_fps": 0}, ValueError, "video_fps"),
        ({"video_fps": -30}, ValueError, "video_fps"),
        ({"video_fps": float("nan")}, ValueError, "video_fps"),
        ({"video_fps": "30"}, TypeError, "video_fps"),
        ({"video_fps": True}, TypeError, "video_fps"),
        ({"video_fps": 30, "video_queue_size_ms": -1}, ValueError, "video_queue_size_ms"),
        ({"video_fps": 30, "_max_delay_tolerance_ms": 0}, ValueError, "_max_delay_tolerance"),
    ],
)
def test_constructor_rejects_bad_numbers(options, exc, words):
    audio, video = _sources()
    with pytest.raises(exc, match=words):
        la.AVSynchronizer(audio_source=audio, video_source=video, **options)


def test_constructor_rejects_other_sources():
    audio, video = _sources()
    with pytest.raises(TypeError, match="audio_source must be a livekit_audio.AudioSource"):
        la.AVSynchronizer(audio_source=video, video_source=video, video_fps=30)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="video_source must be a livekit_audio.VideoSource"):
        la.AVSynchronizer(audio_source=audio, video_source=audio, video_fps=30)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        la.AVSynchronizer(audio, video, 30)  # type: ignore[misc]  # keyword-only, as LiveKit


def test_queue_size_follows_livekit():
    audio, video = _sources()
    sizes = {
        (30, 100): 3,
        (30, 10): 1,  # bounded: at least one frame
        (25, 1000): 25,
        (30, 0): 0,  # 0 ms: unbounded
    }
    for (fps, ms), size in sizes.items():
        sync = la.AVSynchronizer(
            audio_source=audio, video_source=video, video_fps=fps, video_queue_size_ms=ms
        )
        assert sync._queue.capacity == size


def test_push_rejects_what_is_neither_audio_nor_video_and_bad_frames():
    async def main() -> None:
        audio, video = _sources()
        sync = la.AVSynchronizer(audio_source=audio, video_source=video, video_fps=30)
        for thing in (b"\x00" * 64, 3, None, np.zeros(160, np.int16)):
            with pytest.raises(TypeError, match="push expects an AudioFrame or a VideoFrame"):
                await sync.push(thing)
        with pytest.raises(ValueError, match="expected 16000, got 48000"):
            await sync.push(la.AudioFrame.create(48000, 1, 480))
        with pytest.raises(ValueError, match="expected 64 bytes, got 63"):

            class FrameLike:
                width, height, type, data = 4, 4, 0, bytes(63)

            await sync.push(FrameLike())
        with pytest.raises(ValueError, match="timestamp"):
            await sync.push(_tiny_frame(), -1.0)
        with pytest.raises(ValueError, match="timestamp"):
            await sync.push(_tiny_frame(), float("inf"))
        with pytest.raises(TypeError, match="timestamp"):
            await sync.push(_tiny_frame(), "0.5")
        assert audio.queued_duration == 0.0 and len(sync._queue) == 0
        await sync.aclose()

    run_virtual(main())


def test_video_frame_like_objects_are_accepted():
    """A frame-like object (e.g. ``livekit.rtc.VideoFrame`` in RGBA/I420) goes through."""

    async def main() -> None:
        h = Harness.start()

        class FrameLike:
            width, height, type, data = 2, 2, la.VideoBufferType.I420, bytes(6)

        await h.sync.push(FrameLike())
        await h.sync.wait_for_playout()
        assert len(h.run.releases) == 1
        await h.stop()

    run_virtual(main())


def test_use_after_aclose():
    async def main() -> None:
        h = Harness.start()
        sync = h.sync
        frame = _tiny_frame()
        for _ in range(5):
            await sync.push(frame)
        blocked = asyncio.ensure_future(sync.push(frame))  # waits for room
        await asyncio.sleep(0)
        await sync.aclose()
        with pytest.raises(RuntimeError, match="closed while push waited"):
            await blocked
        with pytest.raises(RuntimeError, match="closed"):
            await sync.push(frame)
        with pytest.raises(RuntimeError, match="closed"):
            await sync.push(la.AudioFrame.create(RATE, 1, 160))
        released = len(h.run.releases)
        await asyncio.sleep(1.0)
        assert len(h.run.releases) == released  # the queued frames were dropped
        await sync.wait_for_playout()  # nothing of ours pending: returns
        await sync.clear_queue()  # no-ops after close
        sync.reset()
        await sync.aclose()  # idempotent
        assert not h.audio.closed and not h.video.closed  # the sources are the caller's
        await h.stop()

    run_virtual(main())


def test_a_synchronizer_belongs_to_one_loop():
    audio, video = _sources()
    sync = la.AVSynchronizer(audio_source=audio, video_source=video, video_fps=30)
    run_virtual(sync.push(_tiny_frame()))
    with pytest.raises(RuntimeError, match="another event loop"):
        run_virtual(sync.push(_tiny_frame()))
