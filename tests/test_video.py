"""VideoFrame, VideoSource, LocalVideoTrack and VideoStream: validation and delivery."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref

import numpy as np
import pytest

import livekit_audio as la
from livekit_audio.rtc.video_frame import video_buffer_size

RGBA = la.VideoBufferType.RGBA
I420 = la.VideoBufferType.I420


# -- VideoFrame ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, width, height, size",
    [
        (RGBA, 4, 2, 32),
        (RGBA, 1, 1, 4),
        (I420, 4, 2, 8 + 2 * 2 * 1),
        (I420, 3, 3, 9 + 2 * 2 * 2),  # odd sizes round the chroma planes up
        (I420, 1, 1, 1 + 2),
        (I420, 640, 480, 640 * 480 * 3 // 2),
    ],
)
def test_buffer_sizes(kind, width, height, size):
    assert video_buffer_size(kind, width, height) == size
    frame = la.VideoFrame(width, height, kind, bytes(size))
    assert (frame.width, frame.height, frame.type) == (width, height, kind)
    assert frame.data.nbytes == size and frame.data.format == "B"


@pytest.mark.parametrize(
    "kind, width, height, given, expected",
    [
        (RGBA, 4, 2, 31, 32),
        (RGBA, 4, 2, 33, 32),
        (RGBA, 4, 2, 0, 32),
        (I420, 3, 3, 9 * 3 // 2, 17),  # w*h*3/2 is short for odd sizes
        (I420, 4, 4, 4 * 4 * 4, 24),  # RGBA-sized data for an I420 frame
    ],
)
def test_wrong_buffer_sizes_name_expected_and_got(kind, width, height, given, expected):
    with pytest.raises(ValueError, match=f"expected {expected} bytes, got {given}"):
        la.VideoFrame(width, height, kind, bytes(given))


@pytest.mark.parametrize(
    "args, exc, words",
    [
        ((0, 2, RGBA, b""), ValueError, "width must be > 0"),
        ((-4, 2, RGBA, bytes(32)), ValueError, "width must be > 0 pixels, got -4"),
        ((4, -2, RGBA, bytes(32)), ValueError, "height must be > 0 pixels, got -2"),
        ((4.0, 2, RGBA, bytes(32)), TypeError, "width must be an int, got float"),
        ((4, True, RGBA, bytes(32)), TypeError, "height must be an int, got bool"),
        ((4, 2, "RGBA", bytes(32)), TypeError, "type must be a VideoBufferType"),
        ((4, 2, 3, bytes(32)), ValueError, r"RGBA \(0\) or VideoBufferType.I420 \(5\), got 3"),
        ((4, 2, 10, bytes(32)), ValueError, "converts none"),  # NV12
        ((4, 2, RGBA, [0] * 32), TypeError, "data must be a bytes-like buffer, got list"),
        ((4, 2, RGBA, "x" * 32), TypeError, "data must be a bytes-like buffer, got str"),
    ],
)
def test_bad_arguments(args, exc, words):
    with pytest.raises(exc, match=words):
        la.VideoFrame(*args)


def test_numpy_buffers_and_strided_views():
    pixels = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4)  # (height, width, RGBA)
    frame = la.VideoFrame(np.int64(4), np.int32(2), RGBA, pixels)
    assert bytes(frame.data) == pixels.tobytes()
    pixels[0, 0, 0] = 99  # a reference, not a copy (as LiveKit's)
    assert frame.data[0] == 99
    with pytest.raises(ValueError, match="C-contiguous"):
        la.VideoFrame(2, 2, RGBA, np.zeros((2, 4, 4), np.uint8)[:, ::2])


def test_i420_planes_and_rgba_has_none():
    y, u, v = bytes([1] * 9), bytes([2] * 4), bytes([3] * 4)
    frame = la.VideoFrame(3, 3, I420, y + u + v)
    assert bytes(frame.get_plane(0)) == y
    assert bytes(frame.get_plane(1)) == u
    assert bytes(frame.get_plane(2)) == v
    assert frame.get_plane(3) is None and frame.get_plane(-1) is None
    assert la.VideoFrame(1, 1, RGBA, bytes(4)).get_plane(0) is None  # packed: no planes
    assert repr(frame) == "VideoFrame(width=3, height=3, type=I420)"


def test_enum_values_match_livekit():
    assert (int(RGBA), int(I420)) == (0, 5)
    assert [int(r) for r in la.VideoRotation] == [0, 1, 2, 3]
    rtc = pytest.importorskip("livekit.rtc")
    assert rtc.VideoBufferType.RGBA == RGBA and rtc.VideoBufferType.I420 == I420
    assert rtc.VideoRotation.VIDEO_ROTATION_90 == la.VideoRotation.VIDEO_ROTATION_90


# -- VideoSource and LocalVideoTrack --------------------------------------------------------


@pytest.mark.parametrize(
    "args, exc, words",
    [
        ((0, 480), ValueError, "width must be > 0"),
        ((640, -1), ValueError, "height must be > 0"),
        ((640.0, 480), TypeError, "width must be an int"),
        ((640, None), TypeError, "height must be an int"),
    ],
)
def test_video_source_rejects_bad_sizes(args, exc, words):
    with pytest.raises(exc, match=words):
        la.VideoSource(*args)


def test_video_source_properties():
    source = la.VideoSource(640, 480, is_screencast=True)
    assert (source.width, source.height, source.is_screencast, source.closed) == (
        640,
        480,
        True,
        False,
    )
    assert "640" in repr(source)


@pytest.mark.asyncio
async def test_capture_frame_validates():
    source = la.VideoSource(2, 2)
    frame = la.VideoFrame(2, 2, RGBA, bytes(16))
    with pytest.raises(TypeError, match="expected a VideoFrame"):
        source.capture_frame(bytes(16))
    with pytest.raises(TypeError, match="expected a VideoFrame"):
        source.capture_frame(la.AudioFrame.create(48000, 1, 480))
    with pytest.raises(ValueError, match="timestamp_us must be >= 0"):
        source.capture_frame(frame, timestamp_us=-1)
    with pytest.raises(TypeError, match="timestamp_us must be an int"):
        source.capture_frame(frame, timestamp_us=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rotation must be a VideoRotation"):
        source.capture_frame(frame, rotation=4)
    with pytest.raises(TypeError):
        source.capture_frame(frame, 0)  # type: ignore[misc]  # keyword-only, as LiveKit
    await source.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        source.capture_frame(frame)


@pytest.mark.asyncio
async def test_local_video_track():
    source = la.VideoSource(2, 2)
    track = la.LocalVideoTrack.create_video_track("avatar", source)
    assert isinstance(track, la.Track)
    assert track.kind == la.TrackKind.KIND_VIDEO
    assert track.name == "avatar" and track.sid.startswith("TR_")
    assert track.source is source and not track.ended
    with pytest.raises(TypeError, match="name must be a str"):
        la.LocalVideoTrack.create_video_track(1, source)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="source must be a VideoSource"):
        la.LocalVideoTrack.create_video_track("x", la.AudioSource(48000, 1))  # type: ignore[arg-type]
    # an AudioStream cannot read a video track (it would wait forever for audio)
    with pytest.raises(TypeError, match="got LocalVideoTrack.*use a VideoStream"):
        la.AudioStream(track)
    await source.aclose()
    assert track.ended
    with pytest.raises(ValueError, match="closed"):
        la.LocalVideoTrack.create_video_track("late", source)


# -- VideoStream ------------------------------------------------------------------------------


def _numbered(n: int, value: int) -> la.VideoFrame:
    return la.VideoFrame(n, 1, RGBA, bytes([value]) * (4 * n))


async def _read_all(stream: la.VideoStream) -> list[la.VideoFrameEvent]:
    return await asyncio.wait_for(_collect(stream), 2.0)


async def _collect(stream: la.VideoStream) -> list[la.VideoFrameEvent]:
    return [event async for event in stream]


@pytest.mark.asyncio
async def test_stream_receives_what_the_source_captures_in_order_with_timestamps():
    source = la.VideoSource(2, 1)
    track = la.LocalVideoTrack.create_video_track("avatar", source)
    first = la.VideoStream(track)
    second = la.VideoStream.from_track(track=track)
    rotations = list(la.VideoRotation)
    for k in range(20):
        source.capture_frame(_numbered(2, k), timestamp_us=k * 33_333, rotation=rotations[k % 4])
    await source.aclose()  # the streams end after what they hold
    for stream in (first, second):
        events = await _read_all(stream)
        assert [e.timestamp_us for e in events] == [k * 33_333 for k in range(20)]
        assert [bytes(e.frame.data)[0] for e in events] == list(range(20))
        assert [e.rotation for e in events] == [rotations[k % 4] for k in range(20)]
        assert all(isinstance(e.rotation, la.VideoRotation) for e in events)


@pytest.mark.asyncio
async def test_captured_pixels_are_copied_and_read_only():
    source = la.VideoSource(2, 1)
    stream = la.VideoStream(la.LocalVideoTrack.create_video_track("v", source))
    pixels = bytearray(8)
    source.capture_frame(la.VideoFrame(2, 1, RGBA, pixels))
    pixels[0] = 255  # the caller reuses its buffer
    event = await asyncio.wait_for(stream.__anext__(), 1.0)
    assert bytes(event.frame.data) == bytes(8)
    assert event.frame.data.readonly
    await stream.aclose()


@pytest.mark.asyncio
async def test_livekit_frames_are_accepted():
    rtc = pytest.importorskip("livekit.rtc")
    source = la.VideoSource(2, 2)
    stream = la.VideoStream(la.LocalVideoTrack.create_video_track("v", source))
    source.capture_frame(rtc.VideoFrame(2, 2, rtc.VideoBufferType.I420, bytearray(range(6))))
    event = await asyncio.wait_for(stream.__anext__(), 1.0)
    assert event.frame.type is I420 and bytes(event.frame.data) == bytes(range(6))
    with pytest.raises(ValueError, match="converts none"):
        source.capture_frame(rtc.VideoFrame(1, 1, rtc.VideoBufferType.BGRA, bytearray(4)))
    await stream.aclose()


@pytest.mark.asyncio
async def test_stream_validation():
    source = la.VideoSource(2, 1)
    track = la.LocalVideoTrack.create_video_track("v", source)
    with pytest.raises(TypeError, match="track must be a LocalVideoTrack, got LocalAudioTrack"):
        la.VideoStream(la.LocalAudioTrack.create_audio_track("a", la.AudioSource(48000, 1)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="capacity must be >= 0"):
        la.VideoStream(track, capacity=-1)
    with pytest.raises(TypeError, match="capacity must be an int"):
        la.VideoStream(track, capacity=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="format must be"):
        la.VideoStream(track, format=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="format must be"):
        la.VideoStream(track, format="RGBA")  # type: ignore[arg-type]


def test_stream_needs_a_loop():
    source = la.VideoSource(2, 1)
    track = la.LocalVideoTrack.create_video_track("v", source)
    with pytest.raises(RuntimeError, match="event loop"):
        la.VideoStream(track)


@pytest.mark.asyncio
async def test_bounded_stream_drops_the_oldest():
    source = la.VideoSource(2, 1)
    stream = la.VideoStream(la.LocalVideoTrack.create_video_track("v", source), capacity=3)
    for k in range(10):
        source.capture_frame(_numbered(2, k), timestamp_us=k)
    await source.aclose()
    events = await _read_all(stream)
    assert [e.timestamp_us for e in events] == [7, 8, 9]
    assert stream.dropped == 7


@pytest.mark.asyncio
async def test_format_mismatch_is_an_error_not_a_conversion():
    source = la.VideoSource(2, 2)
    stream = la.VideoStream(la.LocalVideoTrack.create_video_track("v", source), format=I420)
    source.capture_frame(la.VideoFrame(2, 2, RGBA, bytes(16)), timestamp_us=1)
    source.capture_frame(la.VideoFrame(2, 2, I420, bytes(6)), timestamp_us=2)
    with pytest.raises(ValueError, match="format=I420.*RGBA frame.*no pixel conversion"):
        await stream.__anext__()
    assert (await stream.__anext__()).timestamp_us == 2  # the stream goes on
    await stream.aclose()


@pytest.mark.asyncio
async def test_aclose_ends_iteration_and_detaches():
    source = la.VideoSource(2, 1)
    track = la.LocalVideoTrack.create_video_track("v", source)
    async with la.VideoStream(track) as stream:
        source.capture_frame(_numbered(2, 1))
    assert stream.track is None
    source.capture_frame(_numbered(2, 2))  # goes nowhere
    assert await _read_all(stream) == []
    await stream.aclose()  # idempotent
    await source.aclose()


@pytest.mark.asyncio
async def test_a_stream_made_after_the_source_closed_ends_at_once():
    source = la.VideoSource(2, 1)
    track = la.LocalVideoTrack.create_video_track("v", source)
    await source.aclose()
    assert await _read_all(la.VideoStream(track)) == []


@pytest.mark.asyncio
async def test_muted_track_carries_nothing():
    source = la.VideoSource(2, 1)
    track = la.LocalVideoTrack.create_video_track("v", source)
    stream = la.VideoStream(track)
    track.mute()
    assert track.muted
    source.capture_frame(_numbered(2, 1), timestamp_us=1)
    track.unmute()
    source.capture_frame(_numbered(2, 2), timestamp_us=2)
    await source.aclose()
    assert [e.timestamp_us for e in await _read_all(stream)] == [2]


@pytest.mark.asyncio
async def test_capture_from_another_thread():
    source = la.VideoSource(2, 1)
    stream = la.VideoStream(la.LocalVideoTrack.create_video_track("v", source))

    def camera() -> None:
        for k in range(50):
            source.capture_frame(_numbered(2, k), timestamp_us=k)

    thread = threading.Thread(target=camera)
    thread.start()
    got = [(await asyncio.wait_for(stream.__anext__(), 2.0)).timestamp_us for _ in range(50)]
    thread.join()
    assert got == list(range(50))
    await stream.aclose()


@pytest.mark.asyncio
async def test_a_dropped_stream_is_not_kept_alive_by_its_track():
    source = la.VideoSource(2, 1)
    track = la.LocalVideoTrack.create_video_track("v", source)
    ref = weakref.ref(la.VideoStream(track))
    gc.collect()
    assert ref() is None
    source.capture_frame(_numbered(2, 1))  # delivering to nobody is fine
    dropped_track = weakref.ref(la.LocalVideoTrack.create_video_track("w", source))
    gc.collect()
    assert dropped_track() is None  # the source holds its tracks weakly too
    await source.aclose()
