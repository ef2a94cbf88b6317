"""livekit_audio inside LiveKit's own SDK (``livekit.rtc``): processors, frames, tracks, echo.

For programs that keep using ``livekit.rtc`` (LiveKit Cloud or a self-hosted LiveKit server)
and want our DSP. Needs the ``livekit`` extra: ``pip install "livekit-audio[livekit]"``.

- **Processors inside ``rtc.AudioStream``.** Every ``livekit_audio.FrameProcessor``
  (``ApmProcessor``, ``GainProcessor``, ...) *is* an ``rtc.FrameProcessor``: ours is registered
  as a virtual subclass of LiveKit's abstract base as soon as both packages are imported, in
  either order (``livekit_audio/integrations/_rtc_hook.py``). So
  ``rtc.AudioStream.from_track(track=t, noise_cancellation=ApmProcessor(noise_suppression=
  True))`` runs our processor on every frame, gets LiveKit's ``_on_stream_info_*`` and
  ``_on_credentials_*`` pushes, and is closed or not per ``auto_close_noise_cancellation``.
  We chose registration over a wrapper (``as_rtc_processor(p)``) because LiveKit silently
  ignores a processor that is not an ``rtc.FrameProcessor``: with a wrapper, forgetting it
  would drop all processing without an error; with registration there is nothing to forget.
  Our processors process an ``rtc.AudioFrame`` in place and return that same object.
- **Frames both ways.** Our ``AudioFrame`` works in LiveKit's frame-taking calls: its
  ``_data`` is the byte view LiveKit's APM reads (in place), its ``data`` the int16 view its
  resampler, mixer and ``combine_audio_frames`` read, and ``_proto_info`` (what
  ``rtc.AudioSource.capture_frame`` sends) is :func:`rtc_buffer_info`. :func:`to_rtc_frame`
  and :func:`from_rtc_frame` convert explicitly; ``rtc.AudioFrame`` works everywhere in our API.
- **Tracks and streams both ways.** ``livekit_audio.AudioStream.from_track(track=<rtc
  track>)`` (or :func:`stream_from_rtc_track`) reads an ``rtc`` audio track through our
  resampler and processor; ``AudioMixer.add_stream`` takes an ``rtc.AudioStream``;
  :func:`capture_to_rtc_source` feeds any of our frame streams into an ``rtc.AudioSource``
  with LiveKit's back-pressure.
- **Echo reference from the agent's own voice**: :class:`EchoReferenceSource`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable
from typing import TYPE_CHECKING, Any, cast

try:
    from livekit import rtc
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "livekit_audio.integrations.livekit needs LiveKit's SDK: "
        'pip install "livekit-audio[livekit]"'
    ) from exc

from livekit_audio.audio_frame import AudioFrame, frame_layout, frame_of, frame_samples
from livekit_audio.convert import StreamConverter
from livekit_audio.frame_processor import FrameProcessor
from livekit_audio.integrations import _rtc_hook
from livekit_audio.rtc.audio_stream import (
    RTC_STREAM_RATE_HZ,  # noqa: F401 (re-exported)
    AudioStream,
)

if TYPE_CHECKING:
    import concurrent.futures

    from livekit_audio.apm_processor import ApmProcessor

__all__ = [
    "EchoReferenceSource",
    "capture_to_rtc_source",
    "from_rtc_frame",
    "rtc_buffer_info",
    "stream_from_rtc_track",
    "to_rtc_frame",
]

_rtc_hook.install()


def to_rtc_frame(frame: Any) -> rtc.AudioFrame:
    """An ``rtc.AudioFrame`` with the samples of ``frame``.

    Parameters
    ----------
    frame : AudioFrame or frame-like
        int16 interleaved samples with ``sample_rate``, ``num_channels`` and
        ``samples_per_channel``.

    Returns
    -------
    livekit.rtc.AudioFrame
        For our ``AudioFrame``: the same memory, no copy (a frame viewing part of a larger
        buffer, e.g. a numpy slice, first moves to a ``bytearray`` of its own, so both frames
        then share that). Writes through either frame show in the other. ``userdata`` is the
        same dict. Other frame-like objects are copied.

    Raises
    ------
    TypeError
        If ``frame`` is not frame-like.
    ValueError
        If its buffer is shorter than its declared layout.
    """
    if isinstance(frame, rtc.AudioFrame):
        return frame
    if isinstance(frame, AudioFrame):
        return cast(rtc.AudioFrame, frame._rtc_frame())
    data = bytearray(frame_samples(frame))
    userdata = dict(getattr(frame, "userdata", None) or {})
    return rtc.AudioFrame(
        data,
        int(frame.sample_rate),
        int(frame.num_channels),
        int(frame.samples_per_channel),
        userdata=userdata,
    )


def from_rtc_frame(frame: Any) -> AudioFrame:
    """Our ``AudioFrame`` over the samples of an ``rtc.AudioFrame`` (or any frame-like).

    No copy when the frame's buffer is writable (LiveKit's frames hold a ``bytearray``); an
    immutable one is copied, as our ``AudioFrame`` does for any immutable input. ``userdata``
    is the same dict.

    Raises
    ------
    TypeError
        If ``frame`` is not frame-like.
    ValueError
        If its buffer is shorter than its declared layout.
    """
    if isinstance(frame, AudioFrame):
        return frame
    userdata = getattr(frame, "userdata", None)
    return AudioFrame(
        frame_samples(frame),
        int(frame.sample_rate),
        int(frame.num_channels),
        int(frame.samples_per_channel),
        userdata=userdata if isinstance(userdata, dict) else None,
    )


def rtc_buffer_info(frame: AudioFrame) -> Any:
    """LiveKit's ``AudioFrameBufferInfo`` for our frame: what ``rtc.AudioSource.capture_frame``
    sends to LiveKit's native side. It points at the frame's own memory (see
    :func:`to_rtc_frame`), valid while the frame lives."""
    return to_rtc_frame(frame)._proto_info()


def stream_from_rtc_track(
    track: Any,
    *,
    sample_rate: int = 48000,
    num_channels: int = 1,
    frame_size_ms: int | None = None,
    capacity: int = 0,
    noise_cancellation: FrameProcessor[AudioFrame] | None = None,
    auto_close_noise_cancellation: bool = False,
    processor_executor: concurrent.futures.Executor | None = None,
    loop: asyncio.AbstractEventLoop | None = None,
) -> AudioStream:
    """Our :class:`~livekit_audio.AudioStream` over a ``livekit.rtc`` audio track.

    LiveKit delivers the track at 48 kHz (``rtc.AudioStream(track, sample_rate=48000,
    num_channels=num_channels)``: WebRTC's own rate, so LiveKit does not resample); our
    resampler, frame sizing and processor do the rest, exactly as for one of our tracks. A
    remote track keeps delivering (silence when its publisher is quiet) while subscribed, as
    LiveKit's streams do. ``aclose()`` closes the LiveKit stream too.

    Parameters
    ----------
    track : livekit.rtc.LocalAudioTrack or livekit.rtc.RemoteAudioTrack
    sample_rate, num_channels, frame_size_ms, capacity, noise_cancellation,
    auto_close_noise_cancellation, processor_executor, loop
        As for :meth:`AudioStream.from_track`.

    Raises
    ------
    TypeError
        If ``track`` is not a ``livekit.rtc`` audio track (other arguments: as
        :meth:`AudioStream.from_frames`).
    """
    if not isinstance(track, (rtc.LocalAudioTrack, rtc.RemoteAudioTrack)):
        raise TypeError(
            "track must be a livekit.rtc.LocalAudioTrack or RemoteAudioTrack, got "
            f"{type(track).__name__}"
        )
    return AudioStream(  # reads the rtc track through LiveKit's stream (rtc/audio_stream.py)
        cast(Any, track),
        sample_rate=sample_rate,
        num_channels=num_channels,
        frame_size_ms=frame_size_ms,
        capacity=capacity,
        noise_cancellation=noise_cancellation,
        auto_close_noise_cancellation=auto_close_noise_cancellation,
        processor_executor=processor_executor,
        loop=loop,
    )


async def capture_to_rtc_source(source: rtc.AudioSource, frames: AsyncIterable[Any]) -> int:
    """Feed frames (ours, LiveKit's, or events with ``.frame``, of any rate, channel count and
    size) into an ``rtc.AudioSource``, converted to its rate and channels in 10 ms frames.

    Each ``capture_frame`` is awaited, so LiveKit's queue (``queue_size_ms``) paces the loop:
    a producer faster than real time waits here instead of growing a backlog. The tail is
    flushed when ``frames`` ends.

    Returns
    -------
    int
        Samples per channel captured at the source's rate.

    Raises
    ------
    TypeError
        If ``source`` is not an ``rtc.AudioSource`` or an item is not a frame.
    """
    if not isinstance(source, (rtc.AudioSource, EchoReferenceSource)):
        raise TypeError(f"source must be a livekit.rtc.AudioSource, got {type(source).__name__}")
    rate, channels = source.sample_rate, source.num_channels
    converter: StreamConverter | None = None
    captured = 0
    async for item in frames:
        frame = frame_of(item, "capture_to_rtc_source")
        in_rate, in_channels, _ = frame_layout(frame)
        if converter is None:
            converter = StreamConverter(in_rate, in_channels, rate, channels, rate // 100)
            out = converter.push(frame)
        else:  # the input may change format mid-stream: 10 ms frames continue across it
            out = converter.set_input_format(in_rate, in_channels) + converter.push(frame)
        for converted in out:
            await source.capture_frame(to_rtc_frame(converted))
            captured += converted.samples_per_channel
    for converted in converter.flush() if converter is not None else []:
        await source.capture_frame(to_rtc_frame(converted))
        captured += converted.samples_per_channel
    return captured


class EchoReferenceSource:
    """An ``rtc.AudioSource`` whose every captured frame also becomes, when it plays out, the
    echo reference of our APM.

    Wrap the source an agent's TTS voice is captured into; pass the wrapper wherever the
    source goes (``rtc.LocalAudioTrack.create_audio_track("agent", wrapper)`` included: every
    other attribute is the wrapped source's). LiveKit queues captured audio (up to its
    ``queue_size_ms``, 1 s by default) and plays it out in real time, so a frame captured now
    is heard ``queued_duration`` seconds later. Each frame given to :meth:`capture_frame` is
    captured, then handed to ``processor.process_reverse`` at that playout time (on the event
    loop; any rate, channel count and frame size: the processor converts it to its capture's
    layout), which is what our own :class:`~livekit_audio.AudioSource` does with
    ``add_playout_listener(processor.process_reverse)``. The rest of the echo path (network,
    the listener's device, the room) is found by the canceller's delay estimator (up to
    500 ms). :meth:`clear_queue` and :meth:`aclose` drop the references of audio that will not
    play.

    Parameters
    ----------
    source : livekit.rtc.AudioSource
        The agent's playout source.
    processor : ApmProcessor
        The processor running echo cancellation on the agent's microphone stream.

    Raises
    ------
    TypeError
        If ``source`` is not an ``rtc.AudioSource`` or ``processor`` has no
        ``process_reverse``.
    """

    def __init__(self, source: rtc.AudioSource, processor: ApmProcessor) -> None:
        if not isinstance(source, rtc.AudioSource):
            raise TypeError(
                f"source must be a livekit.rtc.AudioSource, got {type(source).__name__}"
            )
        if not callable(getattr(processor, "process_reverse", None)):
            raise TypeError(
                "processor must be an ApmProcessor (with process_reverse), got "
                f"{type(processor).__name__}"
            )
        self._source = source
        self._processor = processor
        self._pending: set[asyncio.TimerHandle] = set()
        self.frames_referenced = 0

    @property
    def source(self) -> rtc.AudioSource:
        """The wrapped ``rtc.AudioSource``."""
        return self._source

    async def capture_frame(self, frame: Any) -> None:
        """Capture ``frame`` (ours or LiveKit's); it becomes the echo reference when it plays."""
        reference = AudioFrame(
            bytearray(frame_samples(frame)),
            int(frame.sample_rate),
            int(frame.num_channels),
            int(frame.samples_per_channel),
        )
        loop = asyncio.get_running_loop()
        plays_at = loop.time() + self._source.queued_duration
        await self._source.capture_frame(to_rtc_frame(frame))
        handle: asyncio.TimerHandle | None = None

        def play() -> None:
            self._pending.discard(handle)
            self._processor.process_reverse(reference)
            self.frames_referenced += 1

        handle = loop.call_at(plays_at, play)
        self._pending.add(handle)

    def clear_queue(self) -> None:
        """Discard the queued audio, and its pending echo references."""
        self._source.clear_queue()
        self._cancel_pending()

    async def aclose(self) -> None:
        """Close the wrapped source; references of audio that did not play are dropped."""
        self._cancel_pending()
        await self._source.aclose()

    def _cancel_pending(self) -> None:
        for handle in self._pending:
            handle.cancel()
        self._pending.clear()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)
