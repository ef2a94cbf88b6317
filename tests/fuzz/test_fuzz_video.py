"""Video and A/V sync: VideoFrame (constructor, get_plane), VideoBufferType, VideoSource
(constructor, capture_frame), LocalVideoTrack.create_video_track, VideoStream (constructor,
iteration) and AVSynchronizer (constructor, push, clear_queue, reset, wait_for_playout,
aclose).

The synchronizer runs on a virtual-time event loop (the idea of tests/test_av_sync.py's
``VirtualTimeLoop``: the clock jumps to the next timer instead of sleeping), so playing out
seconds of audio and video takes milliseconds and every example is reproducible.
"""

from __future__ import annotations

import asyncio
import math
import selectors
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from fuzzkit import (
    JUNK,
    acheck,
    arguments,
    check,
    failed,
    frames,
    ints,
    reals,
    snapshot,
)
from hypothesis import example, given, settings
from hypothesis import strategies as st

from livekit_audio import (
    AudioSource,
    AVSynchronizer,
    LocalVideoTrack,
    VideoBufferType,
    VideoFrame,
    VideoSource,
    VideoStream,
)
from livekit_audio.rtc.video_frame import video_buffer_size


def n(examples: int) -> int:
    """``examples`` scaled like the profile's max_examples (LIVEKIT_AUDIO_FUZZ_EXAMPLES)."""
    return max(1, examples * settings.default.max_examples // 600)


# -- a virtual-time loop ---------------------------------------------------------------------


class _Selector(selectors.DefaultSelector):
    """Waits are virtual: with nothing ready, the clock advances by the timeout (at least
    1 ns, as a turn of a real loop takes time) instead of sleeping."""

    now = 0.0

    def select(self, timeout: float | None = None) -> list[Any]:
        if timeout is None:
            events = super().select(10.0)
            if not events:
                raise RuntimeError("virtual-time loop: nothing scheduled")
            return events
        events = super().select(0)
        if not events:
            later = self.now + max(timeout, 1e-9)
            self.now = later if later > self.now else math.nextafter(self.now, math.inf)
        return events


class _VirtualLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self._virtual = _Selector()
        super().__init__(self._virtual)

    def time(self) -> float:
        return self._virtual.now


def run_virtual(coro: Any) -> Any:
    loop = _VirtualLoop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


# -- strategies ------------------------------------------------------------------------------

#: Values for ``type``: the two layouts, LiveKit's others, out of range, numpy, junk.
VIDEO_TYPES = st.one_of(
    st.sampled_from([VideoBufferType.RGBA, VideoBufferType.I420, 0, 5, np.int64(5)]),
    st.sampled_from([1, 2, 3, 4, 6, 7, -1, 2**70, True, 5.0]),
    st.sampled_from(JUNK),
)
_DATA_KINDS = ("bytes", "bytearray", "memoryview", "nd_hw4", "nd_readonly", "nd_fortran")
_DATA_KINDS += ("nd_strided", "nd_float32", "short", "long", "empty", "list", "str", "none")
_DATA_KINDS += ("nd_0d", "nd_swapped")
#: Kinds accepted (when the size is right): C-contiguous buffers of any format.
_GOOD_DATA = frozenset(
    {"bytes", "bytearray", "memoryview", "nd_hw4", "nd_readonly", "nd_float32", "nd_swapped"}
)


def _pixels(kind: str, size: int, seed: int) -> Any:
    """A buffer of ``size`` pixel bytes (if the kind holds exactly that) of the given kind."""
    raw = np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8)
    if kind == "bytes":
        return raw.tobytes()
    if kind == "bytearray":
        return bytearray(raw.tobytes())
    if kind == "memoryview":
        return memoryview(bytearray(raw.tobytes()))
    if kind == "nd_hw4":  # a (rows, 4) uint8 array when it divides, else flat
        return raw.reshape(-1, 4).copy() if size % 4 == 0 else raw.copy()
    if kind == "nd_readonly":
        raw.flags.writeable = False
        return raw
    if kind == "nd_fortran":  # 2-D, not C-contiguous (when it has 2+ rows and columns)
        return np.asfortranarray(raw.reshape(-1, 2)) if size % 2 == 0 and size > 2 else raw[::-1]
    if kind == "nd_strided":
        return np.repeat(raw, 2)[::2]
    if kind == "nd_float32":  # another format, same bytes
        pad = (-size) % 4
        arr = np.frombuffer(raw.tobytes() + bytes(pad), np.float32).copy()
        return arr if pad == 0 else arr.view(np.uint8)[:size]  # (strided views for odd sizes)
    if kind == "nd_swapped":
        pad = (-size) % 2
        return np.frombuffer(raw.tobytes() + bytes(pad), ">i2").copy() if not pad else raw.copy()
    if kind == "short":
        return raw[:-1].tobytes()
    if kind == "long":
        return raw.tobytes() + b"\x00"
    if kind == "empty":
        return b""
    if kind == "list":
        return raw.tolist()
    if kind == "str":
        return "pixels"
    if kind == "nd_0d":
        return np.array(7, np.uint8)
    return None


def _size_ok(kind: str, data: Any, expected: int) -> bool:
    """Whether ``data`` of this kind holds exactly ``expected`` bytes, C-contiguous."""
    if kind not in _GOOD_DATA | {"nd_fortran", "nd_0d"}:
        return False
    view = memoryview(data)
    return view.c_contiguous and view.nbytes == expected


@st.composite
def video_frames(draw, bad: float = 0.3, max_side: int = 24) -> tuple[Any, frozenset[str], Any]:
    """(a video frame or frame-like object, the fields at fault, its pixel bytes if it is
    well-formed). Well-formed with probability about ``1 - bad``."""
    width = draw(st.integers(1, max_side))
    height = draw(st.integers(1, max_side))
    kind = draw(st.sampled_from([VideoBufferType.RGBA, VideoBufferType.I420]))
    size = video_buffer_size(kind, width, height)
    seed = draw(st.integers(0, 2**32 - 1))
    if draw(st.floats(0, 1)) >= bad:
        data = _pixels(draw(st.sampled_from(["bytes", "bytearray", "nd_hw4"])), size, seed)
        pixels = bytes(memoryview(data).cast("B"))
        if draw(st.booleans()):
            return VideoFrame(width, height, kind, data), frozenset(), pixels
        duck = SimpleNamespace(width=width, height=height, type=kind, data=data)
        return duck, frozenset(), pixels
    fault = draw(st.sampled_from(["width", "height", "type", "data", "missing", "not_a_frame"]))
    fields: dict[str, Any] = {
        "width": width,
        "height": height,
        "type": kind,
        "data": _pixels("bytes", size, seed),
    }
    if fault in ("width", "height"):
        fields[fault] = draw(st.one_of(ints(), st.sampled_from([0, -1, 2**31, width + 1])))
        faults = frozenset({fault, "data"})  # another valid size: the data size mismatches
    elif fault == "type":
        fields["type"] = draw(VIDEO_TYPES)
        faults = frozenset({"type", "data"})
    elif fault == "data":
        data_kind = draw(st.sampled_from(sorted(set(_DATA_KINDS) - _GOOD_DATA)))
        fields["data"] = _pixels(data_kind, size, seed)
        faults = frozenset({"data"})
    elif fault == "missing":
        del fields[draw(st.sampled_from(sorted(fields)))]
        faults = frozenset({"VideoFrame", "width", "height", "type", "data", "frame"})
    else:
        obj = draw(st.sampled_from([None, 5, "frame", b"\x00" * 16, [1, 2], {"data": b""}]))
        return obj, frozenset({"VideoFrame", "frame"}), None
    return SimpleNamespace(**fields), faults, None


# -- VideoFrame ------------------------------------------------------------------------------


@settings(max_examples=n(400))
@given(
    arguments(
        valid={
            "width": st.integers(1, 40),
            "height": st.integers(1, 40),
            "type": st.sampled_from([VideoBufferType.RGBA, VideoBufferType.I420, 0, 5]),
        },
        bad={
            "width": st.one_of(ints(), st.sampled_from([0, -1, 2**62])),
            "height": st.one_of(ints(), st.sampled_from([0, -1, 2**62])),
            "type": VIDEO_TYPES,
        },
    ),
    st.sampled_from(_DATA_KINDS),
    st.integers(0, 2**32 - 1),
    st.one_of(st.integers(-3, 4), st.sampled_from([2**70, np.int64(1), True])),
)
@example(({"width": 3, "height": 3, "type": 5}, set()), "bytes", 0, "a")
@example(({"width": 3, "height": 3, "type": 5}, set()), "bytes", 0, 1.5)
def test_video_frame(args, data_kind, seed, plane):
    """Only TypeError/ValueError naming width, height, type or data; an accepted frame
    holds exactly the expected bytes, unchanged, as a flat uint8 view; get_plane gives the
    documented planes."""
    values, mutated = args
    kind, w, h = values["type"], values["width"], values["height"]

    def integer(v: Any) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    layout = VideoBufferType(int(kind)) if integer(kind) and int(kind) in (0, 5) else None
    ok_dims = all(integer(v) and v > 0 for v in (w, h))
    expected = video_buffer_size(layout, int(w), int(h)) if layout is not None and ok_dims else 24
    data = _pixels(data_kind, min(expected, 1 << 16), seed)
    out = check(
        VideoFrame,
        w,
        h,
        kind,
        data,
        entry="VideoFrame",
        names=set(mutated) | {"data"},
        untouched=[data],
    )
    if failed(out):
        assert mutated or not _size_ok(data_kind, data, expected), out
        return
    assert layout is not None and ok_dims, (values, mutated)
    assert _size_ok(data_kind, data, expected), (data_kind, expected)
    assert (out.width, out.height, out.type) == (w, h, layout)
    assert out.data.format == "B" and out.data.ndim == 1 and out.data.nbytes == expected
    assert out.data.tobytes() == memoryview(data).cast("B").tobytes()
    repr(out)
    got = check(out.get_plane, plane, entry="VideoFrame.get_plane", names={"plane_nth"})
    if failed(got) or got is None:
        return
    assert out.type is VideoBufferType.I420 and plane in (0, 1, 2)
    luma, chroma = w * h, ((w + 1) // 2) * ((h + 1) // 2)
    assert got.nbytes == (luma if plane == 0 else chroma)


# -- VideoSource, LocalVideoTrack, VideoStream -----------------------------------------------


@settings(max_examples=n(150))
@given(
    arguments(
        valid={"width": st.integers(1, 4096), "height": st.integers(1, 4096)},
        bad={"width": ints(), "height": ints()},
    ),
    st.one_of(st.text(max_size=10), st.sampled_from(JUNK)),
    st.sampled_from(["source", "closed", "junk", "audio_source"]),
)
def test_video_source_and_track(args, name, source_kind):
    values, mutated = args
    source = check(VideoSource, **values, entry="VideoSource", names=mutated or {"width", "height"})
    if failed(source):
        return
    assert (source.width, source.height) == (values["width"], values["height"])
    obj: Any = source
    if source_kind == "closed":
        run_virtual(source.aclose())
    elif source_kind == "junk":
        obj = JUNK[len(str(name)) % len(JUNK)]
    elif source_kind == "audio_source":
        obj = SimpleNamespace(width=1, height=1)
    names = {"source"} if source_kind != "source" else set()
    if not isinstance(name, str):
        names |= {"name"}
    check(
        LocalVideoTrack.create_video_track,
        name,
        obj,
        entry="LocalVideoTrack.create_video_track",
        names=names or {"name", "source"},
    )


_CAPTURE_VALID = {
    "timestamp_us": st.integers(0, 2**62),
    "rotation": st.sampled_from([0, 1, 2, 3]),
}
_CAPTURE_BAD = {
    "timestamp_us": st.one_of(ints(), st.sampled_from([-1, np.int64(5), 1.0])),
    "rotation": st.one_of(ints(), st.sampled_from([4, -1, 90, 1.0, np.int64(2)])),
}


@settings(max_examples=n(200))
@given(
    st.lists(st.tuples(video_frames(), arguments(_CAPTURE_VALID, _CAPTURE_BAD)), max_size=5),
    st.sampled_from([0, 0, 1, 2]),
    st.sampled_from([None, None, VideoBufferType.RGBA, 5, 7, "rgba", True]),
    st.booleans(),
)
def test_capture_frame_and_stream(captures, capacity, fmt, close_first):
    """capture_frame: documented errors naming the frame field, timestamp_us or rotation;
    inputs untouched. Every accepted frame reaches the track's VideoStream once, in order,
    with its pixels, timestamp and rotation (less what a bounded stream dropped); a stream
    with another ``format`` raises ValueError per frame and goes on."""

    async def main() -> None:
        source = VideoSource(16, 16)
        track = LocalVideoTrack.create_video_track("avatar", source)
        stream = check(
            VideoStream,
            track,
            capacity=capacity,
            format=fmt,
            entry="VideoStream",
            allowed=(RuntimeError,),
            names={"format"},
        )
        if failed(stream):
            assert fmt not in (None, VideoBufferType.RGBA, 5), stream
            stream = VideoStream(track)
            fmt_ok = None
        else:
            fmt_ok = None if fmt is None else VideoBufferType(fmt)
        accepted = []
        for (frame, faults, _), (kwargs, mutated) in captures:
            out = check(
                source.capture_frame,
                frame,
                **kwargs,
                entry="VideoSource.capture_frame",
                names=set(faults) | set(mutated),
                untouched=[frame],
            )
            if failed(out):
                continue
            video = frame if isinstance(frame, VideoFrame) else None
            accepted.append(
                (
                    bytes(memoryview(frame.data).cast("B")),
                    (int(frame.width), int(frame.height), VideoBufferType(frame.type)),
                    kwargs["timestamp_us"],
                    int(kwargs["rotation"]),
                    video,
                )
            )
        if close_first:
            await source.aclose()
            out = check(
                source.capture_frame,
                VideoFrame(1, 1, 0, bytes(4)),
                entry="VideoSource.capture_frame",
                allowed=(RuntimeError,),
            )
            assert isinstance(out, RuntimeError)
        got = []
        while True:
            try:
                event = await asyncio.wait_for(stream.__anext__(), 1.0)
            except StopAsyncIteration:
                break
            except asyncio.TimeoutError:
                assert not close_first, "the stream did not end with its source"
                break
            except ValueError as exc:  # another layout than format=
                assert fmt_ok is not None and "format" in str(exc)
                got.append(None)
                continue
            f = event.frame
            assert isinstance(f, VideoFrame) and f.data.readonly
            assert fmt_ok is None or f.type is fmt_ok
            got.append(
                (
                    f.data.tobytes(),
                    (f.width, f.height, f.type),
                    event.timestamp_us,
                    int(event.rotation),
                )
            )
        await stream.aclose()
        if not close_first:
            await source.aclose()
        assert len(got) + stream.dropped == len(accepted), (len(got), stream.dropped)
        kept = accepted[len(accepted) - len(got) :]  # a bounded stream drops the oldest
        for seen, want in zip(got, kept, strict=True):
            if seen is None:
                assert want[1][2] is not fmt_ok
                continue
            assert seen == want[:4]

    run_virtual(main())


@settings(max_examples=n(60))
@given(
    st.sampled_from(["track", "audio_track", "junk"]),
    st.one_of(st.integers(0, 3), ints()),
    st.one_of(st.sampled_from([None, VideoBufferType.I420, 0, 5]), VIDEO_TYPES),
    st.sampled_from([None, "loop", 5, "other_loop"]),
)
def test_video_stream_constructor(track_kind, capacity, fmt, loop):
    async def main() -> None:
        source = VideoSource(4, 4)
        track: Any = LocalVideoTrack.create_video_track("v", source)
        if track_kind == "audio_track":
            from livekit_audio import LocalAudioTrack

            track = LocalAudioTrack.create_audio_track("mic", AudioSource(16000, 1))
        elif track_kind == "junk":
            track = JUNK[capacity % len(JUNK)] if type(capacity) is int else None
        other = asyncio.new_event_loop() if loop == "other_loop" else None
        given_loop = {"loop": asyncio.get_running_loop(), "other_loop": other}.get(loop, loop)
        try:
            stream = check(
                VideoStream,
                track,
                given_loop,
                capacity,
                fmt,
                entry="VideoStream",
                allowed=(RuntimeError,),
                names={"track", "capacity", "format", "loop"},
            )
        finally:
            if other is not None:
                other.close()
        if not failed(stream):
            await stream.aclose()
            await stream.aclose()  # idempotent
        await source.aclose()

    run_virtual(main())


# -- AVSynchronizer --------------------------------------------------------------------------


@settings(max_examples=n(250))
@given(
    arguments(
        valid={
            "video_fps": st.one_of(st.floats(1, 120), st.sampled_from([30, 24.0, 0.5])),
            "video_queue_size_ms": st.one_of(st.floats(0, 1000), st.sampled_from([0, 100])),
            "_max_delay_tolerance_ms": st.floats(1, 1000),
        },
        bad={
            "video_fps": st.one_of(reals(), st.sampled_from([1e300, 1e-300, 5e-324])),
            "video_queue_size_ms": st.one_of(reals(), st.sampled_from([1e300, 1e308])),
            "_max_delay_tolerance_ms": reals(),
        },
    ),
    st.sampled_from(["ours", "ours", "junk", "swapped"]),
)
@example(({"video_fps": 10**400}, {"video_fps"}), "ours")
@example(({"video_fps": 1e300}, {"video_fps"}), "ours")
def test_av_synchronizer_constructor(args, sources):
    values, mutated = args
    audio: Any = AudioSource(16000, 1)
    video: Any = VideoSource(4, 4)
    names = set(mutated) or {"video_fps", "video_queue_size_ms", "_max_delay_tolerance_ms"}
    if sources == "junk":
        audio, video = None, "video"
        names = {"audio_source", "video_source"}
    elif sources == "swapped":
        audio, video = video, audio
        names = {"audio_source", "video_source"}
    out = check(
        AVSynchronizer,
        audio_source=audio,
        video_source=video,
        **values,
        entry="AVSynchronizer",
        names=names,
    )
    if not failed(out):
        repr(out)
        assert out.actual_fps == 0.0 and out.last_video_time == 0.0


_TIMESTAMPS = st.one_of(
    st.none(),
    st.none(),
    st.floats(0, 5),
    st.sampled_from([0, 0.0, 1, 1e-9, 2.5, 1e4]),
    st.sampled_from([-1.0, -1e-9, math.nan, math.inf, -math.inf, 10**400, "1.0", True]),
    st.sampled_from([np.float64(0.5), np.float32(1.0), np.int64(2), None]),
)


def _ts_ok(ts: Any) -> bool:
    if ts is None:
        return True
    if isinstance(ts, bool) or not isinstance(ts, (int, float, np.integer, np.floating)):
        return False
    try:
        value = float(ts)
    except OverflowError:
        return False
    return math.isfinite(value) and value >= 0


@st.composite
def _sync_ops(draw) -> list[tuple[str, Any, Any]]:
    """(what, the frame case, timestamp) per step: video/audio pushes, clear_queue, reset,
    and pushes of junk."""
    ops = []
    for _ in range(draw(st.integers(1, 8))):
        what = draw(st.sampled_from(["video", "video", "audio", "audio", "clear", "reset", "junk"]))
        ts = draw(_TIMESTAMPS)
        if what == "video":
            ops.append(("video", draw(video_frames(max_side=8)), ts))
        elif what == "audio":
            case = draw(
                frames(
                    rate=st.sampled_from([16000, 16000, 48000]),
                    channels=st.sampled_from([1, 1, 2]),
                    max_size=800,
                    bad=0.3,
                )
            )
            ops.append(("audio", case, ts))
        else:
            ops.append((what, None, ts))
    return ops


@settings(max_examples=n(150))
@given(
    st.sampled_from([30, 24.0, 10]),
    st.sampled_from([0, 100, 1000]),
    _sync_ops(),
    st.booleans(),
)
def test_av_synchronizer_push(fps, queue_ms, ops, close_early):
    """push: documented errors naming timestamp or the frame's fault, frames untouched;
    every accepted video frame is released to the video source exactly once, in push
    order, with timestamp_us = its media time (given timestamps kept exactly), unless
    clear_queue dropped it; wait_for_playout returns; after aclose, RuntimeError."""

    async def main() -> None:
        audio = AudioSource(16000, 1, queue_size_ms=1000)
        video = VideoSource(8, 8)
        stream = VideoStream(LocalVideoTrack.create_video_track("v", video))
        sync = AVSynchronizer(
            audio_source=audio, video_source=video, video_fps=fps, video_queue_size_ms=queue_ms
        )
        pushed: list[tuple[bytes, int | None]] = []  # (pixels, expected timestamp_us)
        cleared = False
        for what, item, ts in ops:
            if what == "clear":
                await sync.clear_queue()
                cleared = True
                continue
            if what == "reset":
                sync.reset()
                continue
            if what == "junk":
                frame: Any = JUNK[len(pushed) % len(JUNK)]
                names = {"AudioFrame", "VideoFrame", "frame", "timestamp"}
                pixels = None
            elif what == "video":
                frame, faults, pixels = item
                names = set(faults) | {"timestamp"}
            else:
                frame, faults, pixels = item.frame, item.faults, None
                names = set(faults) | {"timestamp", "sample_rate", "num_channels", "Hz"}
                names |= {"channels", "AudioFrame", "frame"}
            before = snapshot(frame)
            out = await asyncio.wait_for(_acheck_push(sync, frame, ts, names), timeout=60.0)
            assert snapshot(frame) == before, "push modified its frame"
            if failed(out):
                continue
            assert _ts_ok(ts), ts
            assert what != "junk", frame
            if what == "video":  # (a "bad" field may still be valid: pixels from the frame)
                pixels = bytes(memoryview(frame.data).cast("B"))
                expected = None if ts is None else max(0, round(float(ts) * 1e6))
                pushed.append((pixels, expected))
        if close_early:
            await sync.aclose()
            out = await _acheck_push(sync, VideoFrame(1, 1, 0, bytes(4)), None, ())
            assert isinstance(out, RuntimeError), out
        else:
            await asyncio.wait_for(sync.wait_for_playout(), timeout=3600.0)
            assert audio.queued_duration == 0.0
            await sync.aclose()
        await video.aclose()
        got = [(e.frame.data.tobytes(), e.timestamp_us) async for e in stream]
        # released frames are the pushed ones, in order (a subsequence if cleared or closed)
        it = iter(pushed)
        for pixels, ts_us in got:
            for want_pixels, want_ts in it:
                if want_pixels == pixels and (want_ts is None or want_ts == ts_us):
                    break
            else:
                raise AssertionError(f"released a frame not pushed, or out of order: {ts_us}")
        if not cleared and not close_early:
            assert len(got) == len(pushed), (len(got), len(pushed))
        assert sync.actual_fps >= 0.0
        await audio.aclose()

    run_virtual(main())


async def _acheck_push(sync: AVSynchronizer, frame: Any, ts: Any, names: Any) -> Any:
    return await acheck(
        sync.push,
        frame,
        ts,
        entry="AVSynchronizer.push",
        allowed=(RuntimeError,),
        names=names,
    )


@pytest.mark.parametrize("timestamp", [10**400, -(10**400)])
def test_av_synchronizer_push_timestamp_past_float_range(timestamp):
    async def main() -> None:
        sync = AVSynchronizer(
            audio_source=AudioSource(16000, 1), video_source=VideoSource(4, 4), video_fps=30
        )
        await _acheck_push(sync, VideoFrame(4, 4, 0, bytes(64)), timestamp, {"timestamp"})
        await sync.aclose()

    run_virtual(main())
