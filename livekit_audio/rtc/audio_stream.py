"""AudioStream: read a track's audio as converted frames, optionally through a FrameProcessor.

Follows ``livekit.rtc.AudioStream``. A stream registers itself on a track (weakly: the track
never keeps a dropped stream alive), receives every frame the track carries, converts it to the
stream's sample rate (with :class:`~livekit_audio.AudioResampler`), channel count (down-mix by
averaging, up-mix by duplicating) and, optionally, an exact frame size, applies the processor
and queues an :class:`AudioFrameEvent` for ``async for``.

Processor contract (see ``FrameProcessor``): a disabled processor is not called; an exception
from ``_process`` is logged (once per burst of consecutive failures) and the original frame
passes through unchanged; ``_process`` may run in a worker thread (``processor_executor=``),
one frame at a time and in order; ``_close`` is called only after the reading task has finished
and no ``_process`` call is in flight, and only when ``auto_close_noise_cancellation`` is true.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import weakref
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from livekit_audio._aio import QueueClosed, RingQueue, resolve_loop, spawn
from livekit_audio._log import logger
from livekit_audio.apm_processor import ApmProcessor
from livekit_audio.audio_filter import get_filter
from livekit_audio.audio_frame import (
    AudioFrame,
    _check_positive_int,
    frame_layout,
    frame_of,
    frame_samples,
    own_frame_view,
    wrap_samples,
)
from livekit_audio.convert import StreamConverter
from livekit_audio.frame_processor import FrameProcessor, NoiseCancellationOptions
from livekit_audio.resampler import _check_channels, _check_rate
from livekit_audio.rtc._dispatch import open_batch
from livekit_audio.rtc.track import RemoteAudioTrack, Track, TrackKind, TrackSource

if TYPE_CHECKING:
    from livekit_audio.rtc.participant import Participant

__all__ = ["AudioFrameEvent", "AudioStream", "AudioStreamStats"]


@dataclass
class AudioFrameEvent:
    """One frame read from an :class:`AudioStream`.

    Attributes
    ----------
    frame : AudioFrame
        Int16 interleaved, at the stream's sample rate and channel count; writable and owned
        by the reader.
    """

    frame: AudioFrame


@dataclass
class AudioStreamStats:
    """Counters of an :class:`AudioStream` (read them any time; they only grow).

    Attributes
    ----------
    frames_received : int
        Frames taken from the track.
    frames_emitted : int
        Converted (and processed) frames queued for the reader.
    frames_dropped : int
        Frames dropped because a bounded (``capacity > 0``) queue was full: the oldest
        frame goes first, so the reader always gets the most recent audio.
    processor_errors : int
        Frames for which the processor raised (the original frame was passed on).
    """

    frames_received: int = 0
    frames_emitted: int = 0
    frames_dropped: int = 0
    processor_errors: int = 0


# -- the reading task --------------------------------------------------------------------

_EOS = object()

#: A ``from_frames`` stream pulls its iterable only while fewer frames than this (or than a
#: smaller ``capacity``) wait for conversion: the iterable is read at the pipeline's pace.
_PUMP_BACKLOG = 4


class _Failure:
    """End of input because the frame source raised: the reader gets ``exc`` after the
    frames that came before it."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


#: Processors some stream has closed; no stream calls ``_process`` on them afterwards.
_CLOSED_PROCESSORS: weakref.WeakSet[Any] = weakref.WeakSet()


def _is_closed_processor(processor: Any) -> bool:
    try:
        return processor in _CLOSED_PROCESSORS
    except TypeError:  # unhashable processor
        return False


def _processes_in_place(processor: Any) -> bool:
    """Whether the stream may hand its own frames to ``processor._in_place_module``: our
    ApmProcessor, or a subclass whose ``_process`` and ``_in_place_module`` are either both
    ApmProcessor's or both its own (a subclass that overrides only ``_process`` must see
    every frame there)."""
    if not isinstance(processor, ApmProcessor):
        return False
    kind = type(processor)
    return (kind._process is ApmProcessor._process) == (
        kind._in_place_module is ApmProcessor._in_place_module
    )


def _restored(frame: AudioFrame, original: bytes) -> AudioFrame:
    """``frame``'s layout holding ``original``: what passes on when a processor failed."""
    return wrap_samples(
        memoryview(bytearray(original)).cast("h"),
        frame.sample_rate,
        frame.num_channels,
        frame.samples_per_channel,
    )


def _as_audio_frame(out: Any) -> AudioFrame:
    if type(out) is AudioFrame:
        return out
    if out is None or not hasattr(out, "samples_per_channel"):
        raise TypeError(f"_process must return an AudioFrame, got {type(out).__name__}")
    return AudioFrame(
        frame_samples(out), out.sample_rate, out.num_channels, out.samples_per_channel
    )


class _Pipeline:
    """Conversion -> processor -> output queue for one stream.

    Frames are processed as they are fed, on the loop thread, with no task of their own
    (the lean path): a frame a track delivers is converted, processed (in place when the
    processor allows it, and then batched with the other streams delivered in the same
    turn of the loop, see :mod:`livekit_audio.rtc._dispatch`) and queued for the reader, which
    is the only task woken. With ``processor_executor`` a task (:meth:`run`) takes the
    frames from an input queue and awaits ``_process`` in the executor, one at a time.

    Fed by a track (:meth:`feed`, :meth:`end`) or, for :meth:`AudioStream.from_frames`, by
    a task, :attr:`feeder`, that pulls an async iterable (:func:`_pump`). Holds no
    reference to its :class:`AudioStream`, so a stream nobody uses can be collected while
    its tasks wind down.
    """

    def __init__(
        self,
        output_format: tuple[int, int, int | None],
        capacity: int,
        processor: Any,
        auto_close: bool,
        executor: concurrent.futures.Executor | None,
        name: str,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.loop = loop
        self.output_format = output_format  # (rate, channels, samples per frame or None)
        self.converter: StreamConverter | None = None  # built for the first frame's format
        self.capacity = capacity
        self.processor = processor
        self.in_place = processor is not None and _processes_in_place(processor)
        self.auto_close = auto_close
        self.executor = executor
        self.stats = AudioStreamStats()
        self.input: RingQueue[Any] = RingQueue(capacity)  # executor mode only
        self.feeder: asyncio.Task[None] | None = None
        self.output: RingQueue[AudioFrameEvent] = RingQueue(capacity)
        self.stopping = False  # aclose (or the stream was dropped): stop at once
        self.ending = False  # end of input queued: finish what is held, then stop
        self.close_requested = False
        self.processor_closed = False
        self.inflight: concurrent.futures.Future[Any] | None = None
        self.batched = 0  # frames of ours waiting in the open delivery batch
        self.error_burst = 0
        self.warned_closed = False
        self.failure: BaseException | None = None
        self.task: asyncio.Task[None] | None = None
        if executor is not None:
            self.task = spawn(self.run(), name=name, loop=loop)
            self.task.add_done_callback(self._task_done)

    # -- input (loop thread) ---------------------------------------------------------

    def feed(self, frame: Any) -> None:
        if self.stopping or self.ending:
            return
        if self.task is not None:  # executor mode: the task converts and processes
            if self.input.put(frame):
                self.stats.frames_dropped += 1
            return
        self.stats.frames_received += 1
        try:
            frames = self._convert(frame)
        except Exception as exc:
            self._fail(exc)
            return
        for out in frames:
            self._process(out)

    def end(self, error: BaseException | None = None) -> None:
        """No more input: finish what is held (or, with ``error``, raise it to the reader)."""
        if self.stopping or self.ending:
            return
        self.ending = True
        if self.task is not None:
            self.input.put(_EOS if error is None else _Failure(error), force=True)
            return
        if self.batched:  # our frames in the open batch come before the flushed tail
            batch = open_batch()
            if batch is not None:
                batch.run()
        if error is not None:
            self._fail(error)
            return
        try:
            for out in self._flush():
                self._process(out)
        except Exception as exc:
            self._fail(exc)
            return
        self._finish()

    def _convert(self, frame: Any) -> list[AudioFrame]:
        """The stream's frames for the next input frame (any format: a change of format
        releases the old resampler's tail first, and frame sizes stay exact across it)."""
        view = own_frame_view(frame)
        if view is None:
            rate, channels, _ = frame_layout(frame)
        else:
            _, rate, channels, _ = view
        converter = self.converter
        if converter is None:
            converter = self.converter = StreamConverter(rate, channels, *self.output_format)
            return converter.push(frame)
        if rate != converter.input_rate or channels != converter.input_channels:
            return converter.set_input_format(rate, channels) + converter.push(frame)
        return converter.push(frame)

    def _flush(self) -> list[AudioFrame]:
        return [] if self.converter is None else self.converter.flush()

    def _fail(self, exc: BaseException) -> None:
        """Input failed: the reader gets ``exc`` after the frames before it."""
        if self.failure is None:
            self.failure = exc
        logger.error("AudioStream input failed", exc_info=exc)
        self.stopping = True
        self._finish()

    def _finish(self) -> None:
        self.output.close(discard=self.close_requested)
        self.maybe_close_processor()

    async def room_for_input(self) -> None:
        """Return once the feeder may add a frame (or the pipeline stops or ends): at once
        inline (after a turn of the loop), else once fewer than a few frames (or
        ``capacity``) wait for conversion."""
        if self.task is None:  # inline: each frame is converted as it is fed
            await asyncio.sleep(0)  # let the loop run between frames of a fast iterable
            return
        await self.input.wait_below(min(_PUMP_BACKLOG, self.capacity) or _PUMP_BACKLOG)

    # -- processing --------------------------------------------------------------------

    def _process(self, frame: AudioFrame) -> None:
        """Process one converted frame and queue it (inline mode)."""
        processor = self.processor
        if processor is None or self.processor_closed or not self._usable(processor):
            self._emit(frame)
            return
        if self.in_place:
            try:
                module = processor._in_place_module(frame)
            except Exception:
                self._processor_failed(processor)
                self._emit(frame)
                return
            if module is not None:
                batch = None if self.ending else open_batch()  # end(): the tail before close
                if batch is not None:
                    self.batched += 1
                    batch.add(self, frame, module)
                    return
                try:
                    module.process_stream(frame)
                except Exception:
                    self._processor_failed(processor)  # the module left the frame untouched
                else:
                    self._processor_ok(processor)
                self._emit(frame)
                return
        original = bytes(frame.data)  # a failing processor must not corrupt the frame
        try:
            out = _as_audio_frame(processor._process(frame))
        except Exception:
            self._processor_failed(processor)
            out = _restored(frame, original)
        else:
            self._processor_ok(processor)
        self._emit(out)

    def _batched_done(self, frame: AudioFrame, module: Any, ok: bool) -> None:
        """The delivery batch processed ``frame`` (``ok``) or left it untouched."""
        self.batched -= 1
        if self.stopping:
            return
        if ok:
            self._processor_ok(self.processor)
        else:
            self._processor_failed(self.processor)
        self._emit(frame)

    def _emit(self, frame: AudioFrame) -> None:
        if self.output.closed:  # closed by aclose: the reader is gone, nothing is emitted
            return
        self.stats.frames_emitted += 1
        if self.output.put(AudioFrameEvent(frame)):
            self.stats.frames_dropped += 1

    def _usable(self, processor: Any) -> bool:
        """Whether the processor is enabled and not closed by another stream."""
        try:
            if not processor.enabled:
                return False
            if _is_closed_processor(processor):
                if not self.warned_closed:
                    self.warned_closed = True
                    logger.warning(
                        "FrameProcessor %r was closed by another stream (shared with "
                        "auto_close_noise_cancellation=True?); frames pass through unprocessed",
                        processor,
                    )
                return False
        except Exception:
            self._processor_failed(processor)
            return False
        return True

    def _processor_ok(self, processor: Any) -> None:
        if self.error_burst:
            logger.info(
                "FrameProcessor %r recovered after %d failed frames", processor, self.error_burst
            )
            self.error_burst = 0

    # -- executor mode -----------------------------------------------------------------

    async def run(self) -> None:
        """Executor mode: convert, await ``_process`` in the executor, queue; in order."""
        try:
            while True:
                try:
                    item = await self.input.get()
                except QueueClosed:
                    return
                if item is _EOS:
                    for frame in self._flush():
                        if self.stopping:
                            return
                        await self._process_in_executor(frame)
                    return
                if isinstance(item, _Failure):
                    raise item.exc
                self.stats.frames_received += 1
                for frame in self._convert(item):
                    if self.stopping:
                        return
                    await self._process_in_executor(frame)
        except BaseException as exc:
            self.failure = exc
            raise
        finally:
            self.output.close(discard=self.stopping)

    async def _process_in_executor(self, frame: AudioFrame) -> None:
        processor = self.processor
        if processor is not None and not self.processor_closed and self._usable(processor):
            assert self.executor is not None
            original = bytes(frame.data)  # a failing processor must not corrupt the frame
            try:
                cf = self.executor.submit(processor._process, frame)
                self.inflight = cf
                try:
                    out = await asyncio.wrap_future(cf)
                finally:
                    if cf.done():  # still running only if we were cancelled meanwhile
                        self.inflight = None
                frame = _as_audio_frame(out)
            except Exception:
                self._processor_failed(processor)
                frame = _restored(frame, original)
            else:
                self._processor_ok(processor)
        self._emit(frame)

    def _processor_failed(self, processor: Any) -> None:
        self.stats.processor_errors += 1
        if self.error_burst == 0:
            logger.warning(
                "FrameProcessor %r failed; passing the original frame through (further "
                "failures in this burst are counted in stats.processor_errors, not logged)",
                processor,
                exc_info=True,
            )
        self.error_burst += 1

    def request_close(self) -> None:
        """Stop reading (and feeding); close the processor (if owned) once the task is done.

        Loop thread only.
        """
        self.stopping = True
        self.close_requested = True
        self.output.close(discard=True)
        self.input.close(discard=True)
        if self.feeder is not None:
            self.feeder.cancel()
        self.maybe_close_processor()

    def tasks(self) -> list[asyncio.Task[None]]:
        """The pipeline's tasks that have not finished (reader, and feeder if any)."""
        return [t for t in (self.task, self.feeder) if t is not None and not t.done()]

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self.maybe_close_processor()

    def maybe_close_processor(self) -> None:
        if (
            not self.close_requested
            or not self.auto_close
            or self.processor is None
            or self.processor_closed
            or (self.task is not None and not self.task.done())
        ):
            return
        inflight = self.inflight
        if inflight is not None and not inflight.done():
            # the task was cancelled while a worker thread runs _process: close after it
            loop = self.loop

            def later(_: Any) -> None:
                if not loop.is_closed():
                    loop.call_soon_threadsafe(self.maybe_close_processor)

            inflight.add_done_callback(later)
            return
        self.processor_closed = True
        try:
            _CLOSED_PROCESSORS.add(self.processor)
        except TypeError:
            pass
        try:
            self.processor._close()
        except Exception:
            logger.exception("FrameProcessor %r failed to close", self.processor)


def _abandon(pipeline: _Pipeline) -> None:
    """Finalizer of a stream that was dropped without aclose()."""
    loop = pipeline.loop
    if loop.is_closed():
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        pipeline.request_close()
    else:
        try:
            loop.call_soon_threadsafe(pipeline.request_close)
        except RuntimeError:  # loop closed meanwhile
            pass


# -- feeding a stream from an async iterable (from_frames) --------------------------------


async def _aclose_all(objects: list[Any]) -> None:
    """Await ``aclose()`` of each object that has one (each once); failures are logged."""
    seen: set[int] = set()
    for obj in objects:
        aclose = getattr(obj, "aclose", None)
        if id(obj) in seen or not callable(aclose):
            continue
        seen.add(id(obj))
        try:
            await aclose()
        except Exception:
            logger.warning("AudioStream.from_frames: closing %r failed", obj, exc_info=True)


async def _pump(pipeline: _Pipeline, iterator: AsyncIterator[Any], iterable: Any) -> None:
    """The feeder of a ``from_frames`` stream: pull ``iterator`` into ``pipeline`` at its pace.

    The pipeline ends when the iterator does (or gets its exception); the iterator and the
    iterable are closed (``aclose``) however the pump stops, cancellation by ``aclose``
    included.
    """
    try:
        while True:
            await pipeline.room_for_input()
            if pipeline.stopping:
                return
            try:
                item = await iterator.__anext__()
            except StopAsyncIteration:
                pipeline.end()
                return
            pipeline.feed(frame_of(item, "AudioStream.from_frames"))
    except Exception as exc:  # not CancelledError: that is aclose, and ends nothing
        pipeline.end(error=exc)
    finally:
        await _aclose_all([iterator, iterable])


def _is_rtc_track(track: Any) -> bool:
    """Whether ``track`` is a ``livekit.rtc`` track (read through the livekit bridge)."""
    return not isinstance(track, Track) and type(track).__module__.startswith("livekit.rtc")


#: The rate a ``livekit.rtc`` track is read at: WebRTC's own, so LiveKit does not resample
#: (our resampler, framing and processor do the rest).
RTC_STREAM_RATE_HZ = 48000


def _stream_from_rtc_track(
    track: Any,
    *,
    num_channels: int = 1,
    loop: asyncio.AbstractEventLoop | None = None,
    **kwargs: Any,
) -> AudioStream:
    """Our stream over a ``livekit.rtc`` track: LiveKit's own ``rtc.AudioStream`` at 48 kHz
    read as a :meth:`AudioStream.from_frames` iterable (``livekit`` is imported only here, so
    only when such a track is used; ``aclose()`` closes LiveKit's stream too)."""
    from livekit import rtc

    frames = rtc.AudioStream(
        track, sample_rate=RTC_STREAM_RATE_HZ, num_channels=num_channels, loop=loop
    )
    return AudioStream.from_frames(frames, num_channels=num_channels, loop=loop, **kwargs)


# -- the public stream -------------------------------------------------------------------


#: The constructor's positional parameters after ``track``, in ``livekit.rtc.AudioStream``'s
#: order, so positional calls written for LiveKit mean the same here.
_POSITIONAL = (
    "loop",
    "capacity",
    "sample_rate",
    "num_channels",
    "frame_size_ms",
    "noise_cancellation",
    "auto_close_noise_cancellation",
)


def _is_nc_options(value: Any) -> bool:
    """Ours or ``livekit.rtc.NoiseCancellationOptions`` (same two fields)."""
    return isinstance(value, NoiseCancellationOptions) or (
        type(value).__name__ == "NoiseCancellationOptions"
        and isinstance(getattr(value, "module_id", None), str)
        and hasattr(value, "options")
    )


class AudioStream:
    """Asynchronous iterator over a track's audio, converted and optionally processed.

    Parameters
    ----------
    track : LocalAudioTrack or RemoteAudioTrack or livekit.rtc audio track
        The track to read (see Notes for what each kind delivers). A ``livekit.rtc``
        ``LocalAudioTrack``/``RemoteAudioTrack`` is read through the livekit bridge
        (:func:`livekit_audio.integrations.livekit.stream_from_rtc_track`, same arguments;
        needs the ``livekit`` extra).
    loop, capacity, sample_rate, ... : positional or keyword
        After ``track`` the parameters may be given by position in ``livekit.rtc.AudioStream``'s
        order (``loop, capacity, sample_rate, num_channels, frame_size_ms,
        noise_cancellation, auto_close_noise_cancellation``); ``processor_executor`` is
        keyword-only.
    sample_rate : int
        Output sample rate in Hz (default 48000); other rates are converted with
        :class:`~livekit_audio.AudioResampler` (MEDIUM quality).
    num_channels : int
        Output channel count (default 1). Down-mixing averages channels, up-mixing copies.
    frame_size_ms : int or None
        If given, every frame has exactly ``sample_rate * frame_size_ms / 1000`` samples per
        channel (which must be whole), except possibly the last one when the track ends. By
        default frames come as the track delivers them.
    capacity : int
        ``0`` (default): unbounded queue. ``> 0``: at most ``capacity`` frames wait for the
        reader (and at most ``capacity`` for conversion); when full the oldest frame is dropped
        and counted in ``stats.frames_dropped``.
    noise_cancellation : FrameProcessor, NoiseCancellationOptions or None
        Applied to each frame after conversion. It receives the track's room metadata and
        credentials through its ``_on_*`` hooks. A ``NoiseCancellationOptions(module_id,
        options)`` (ours or ``livekit.rtc``'s) runs the :class:`~livekit_audio.AudioFilter`
        loaded under ``module_id`` with ``options`` (``AudioFilter.processor(**options)``),
        owned and closed by the stream.
    auto_close_noise_cancellation : bool
        Whether :meth:`aclose` closes the processor (default True here, False with
        :meth:`from_track`). Leave it False for a processor shared by several streams.
    processor_executor : concurrent.futures.Executor or None, keyword-only
        Run ``_process`` in this executor (e.g. a ``ThreadPoolExecutor``) instead of on the
        event loop; frames stay in order (one in flight at a time). Our kernels release the
        GIL, so this keeps the loop responsive under per-frame DSP.
    loop : asyncio.AbstractEventLoop or None
        The loop the stream's task runs on, as ``livekit.rtc``'s ``loop=``. Default: the
        running loop. A given loop may be used before it runs (no loop running in this
        thread); otherwise it must be the running loop.

    Raises
    ------
    KeyError
        If a ``NoiseCancellationOptions`` names a module id no AudioFilter was loaded under.
    TypeError
        On a non-track, a non-FrameProcessor ``noise_cancellation``, a non-executor, a
        non-loop ``loop``, or non-int sizes.
    ValueError
        On out-of-range rates, channels, sizes or capacity, a ``frame_size_ms`` that is
        not a whole number of samples at ``sample_rate``, or a ``loop`` that is closed, not
        the running loop, or running in another thread.
    RuntimeError
        If no ``loop`` is given and no event loop is running.

    Attributes
    ----------
    stats : AudioStreamStats
        Received, emitted and dropped frames and processor errors.

    Notes
    -----
    What a stream delivers, compared with ``livekit.rtc.AudioStream`` (checked with
    ``livekit`` 1.2.1: ``rtc.AudioSource`` -> ``rtc.LocalAudioTrack`` -> ``rtc.AudioStream``,
    no room needed):

    - **Remote track**: as in LiveKit, a 10 ms frame every 10 ms for as long as the track is
      subscribed: the publisher's audio (re-cut into 10 ms frames; exact samples, in order)
      and, when the publisher sends nothing (quiet, or its source closed), digital silence
      at the published rate and channel count. Audio and silence never overlap or leave a
      gap: when the publisher resumes, its audio takes the place of the silence from the
      next 10 ms slot on. The stream ends when the subscription ends (unsubscribe,
      unpublish, disconnect).
    - **Local track, real-time source** (``AudioSource(..., realtime=True)``, the default):
      as in LiveKit, whose local-track stream also delivers a 10 ms frame every 10 ms and
      silence while nothing is captured; ours does the same. Unlike LiveKit's (which keeps
      going), ours ends when the source is closed (:meth:`AudioSource.aclose`), after what
      was played out.
    - **Local track, offline source** (``realtime=False``, ours only): exactly the captured
      frames as they are played out, no silence, no re-cutting.

    Pacing is done once per track (not per stream), and one timer per event loop ticks
    every track: 10 ms slots on the loop's clock, scheduled against a fixed grid, so there
    is no drift. Audio is delivered as soon as it arrives; silence for a slot once that slot has
    gone by (while audio was flowing, after waiting up to ``PLAYOUT_GRACE_S`` = 20 ms for a
    late frame; a talkspurt fed by late frames may run up to ``PLAYOUT_MAX_LAG_S`` = 200 ms
    behind the clock, given back at its next pause). If the loop itself was late, at most
    ``PLAYOUT_MAX_BURST`` = 5 silence frames (50 ms) are delivered at once and older owed
    silence is skipped rather than delivered in a burst. The constants and the rules are
    in :mod:`livekit_audio.rtc.playout`.

    A stream made by :meth:`from_frames` delivers what its iterable yields, converted the
    same way, and ends when the iterable does.

    **Cost per frame.** Without ``processor_executor`` a stream has no task of its own: a
    frame is converted and processed on the event loop as its track delivers it, and the
    reader is the only task woken. With an :class:`~livekit_audio.ApmProcessor` the frames
    the stream owns are processed in place (no copy), and **batched**: every stream whose
    frame is delivered in the same turn of the event loop (all sources and subscriptions
    due at that moment, all tracks of the 10 ms playout tick; see
    :mod:`livekit_audio.rtc._dispatch`) is processed by one call of
    :func:`~livekit_audio.process_batch`, which releases the GIL once and loops over the
    modules in C. Batching needs nothing from the caller; it does not apply to a processor
    that is not an ApmProcessor (or overrides its ``_process``), to frames that are not
    whole 10 ms blocks (``frame_size_ms`` unset and odd track frames), or to a stream with
    ``processor_executor``, whose frames go through a task and the executor one at a time.

    Examples
    --------
    >>> stream = AudioStream.from_track(track=track, sample_rate=16000)  # doctest: +SKIP
    >>> async with stream:  # doctest: +SKIP
    ...     async for event in stream:
    ...         handle(event.frame)
    """

    def __new__(cls, track: Any = None, *args: Any, **kwargs: Any) -> AudioStream:
        # A livekit.rtc track is read through LiveKit's own stream (the stream built is an
        # instance of this class, so __init__ runs on it again and returns at once).
        if track is not None and _is_rtc_track(track):
            kwargs.update(zip(_POSITIONAL, args, strict=False))
            # the constructor's default (from_track passes its own, False)
            kwargs.setdefault("auto_close_noise_cancellation", True)
            return _stream_from_rtc_track(track, **kwargs)
        return super().__new__(cls)

    def __init__(
        self,
        track: Track,
        loop: asyncio.AbstractEventLoop | None = None,
        capacity: int = 0,
        sample_rate: int = 48000,
        num_channels: int = 1,
        frame_size_ms: int | None = None,
        noise_cancellation: FrameProcessor[AudioFrame] | NoiseCancellationOptions | None = None,
        auto_close_noise_cancellation: bool = True,
        *,
        processor_executor: concurrent.futures.Executor | None = None,
    ) -> None:
        if _is_rtc_track(track):
            return  # built by __new__ over LiveKit's stream
        if not isinstance(track, Track) or track.kind != TrackKind.KIND_AUDIO:
            raise TypeError(
                f"track must be a LocalAudioTrack or RemoteAudioTrack, got {type(track).__name__}"
                + ("" if not isinstance(track, Track) else " (a video track: use a VideoStream)")
            )
        self._setup(
            sample_rate=sample_rate,
            num_channels=num_channels,
            frame_size_ms=frame_size_ms,
            capacity=capacity,
            noise_cancellation=noise_cancellation,
            auto_close=auto_close_noise_cancellation,
            executor=processor_executor,
            loop=loop,
        )
        self._attach(track)

    def _setup(
        self,
        *,
        sample_rate: int,
        num_channels: int,
        frame_size_ms: int | None,
        capacity: int,
        noise_cancellation: Any,
        auto_close: bool,
        executor: Any,
        loop: asyncio.AbstractEventLoop | None,
    ) -> None:
        sample_rate = _check_rate("sample_rate", sample_rate)
        num_channels = _check_channels(num_channels)
        frame_size = None
        if frame_size_ms is not None:
            frame_size_ms = _check_positive_int("frame_size_ms", frame_size_ms)
            if sample_rate * frame_size_ms % 1000:
                raise ValueError(
                    f"frame_size_ms={frame_size_ms} is not a whole number of samples at "
                    f"{sample_rate} Hz ({sample_rate * frame_size_ms / 1000} samples); "
                    "choose a size that divides evenly"
                )
            frame_size = sample_rate * frame_size_ms // 1000
        if isinstance(capacity, bool) or not isinstance(capacity, (int, np.integer)):
            raise TypeError(f"capacity must be an int, got {type(capacity).__name__}")
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0 (0 = unbounded), got {capacity}")
        if _is_nc_options(noise_cancellation):
            # A loaded AudioFilter by module id, as LiveKit: the stream owns the processor.
            options = noise_cancellation.options
            if options is None:
                options = {}
            if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
                raise TypeError(
                    f"noise_cancellation.options must be a dict with str keys, got {options!r:.80}"
                )
            noise_cancellation = get_filter(noise_cancellation.module_id).processor(**options)
            auto_close = True
        if noise_cancellation is not None and not isinstance(noise_cancellation, FrameProcessor):
            raise TypeError(
                "noise_cancellation must be a livekit_audio.FrameProcessor, a "
                "NoiseCancellationOptions or None, got "
                f"{type(noise_cancellation).__name__}"
            )
        if executor is not None and not isinstance(executor, concurrent.futures.Executor):
            raise TypeError(
                "processor_executor must be a concurrent.futures.Executor or None, got "
                f"{type(executor).__name__}"
            )
        resolved = resolve_loop(loop, "AudioStream")
        if resolved is None:
            raise RuntimeError(
                "AudioStream must be created from a coroutine running in an event loop "
                "(or be given loop=)"
            )
        self._loop = resolved
        self._sample_rate = sample_rate
        self._num_channels = num_channels
        self._frame_size_ms = frame_size_ms
        self._capacity = int(capacity)
        self._processor: FrameProcessor[AudioFrame] | None = noise_cancellation
        self._auto_close = bool(auto_close)
        self._track: Track | None = None
        self._participant: Participant | None = None
        self._track_source: TrackSource | None = None
        self._participant_gone = False
        self._closed = False
        self._pipeline = _Pipeline(
            (sample_rate, num_channels, frame_size),
            self._capacity,
            noise_cancellation,
            self._auto_close,
            executor,
            name=f"AudioStream {id(self):#x}",
            loop=resolved,
        )
        self._finalizer = weakref.finalize(self, _abandon, self._pipeline)

    @classmethod
    def from_track(
        cls,
        *,
        track: Track,
        sample_rate: int = 48000,
        num_channels: int = 1,
        frame_size_ms: int | None = None,
        capacity: int = 0,
        noise_cancellation: FrameProcessor[AudioFrame] | NoiseCancellationOptions | None = None,
        auto_close_noise_cancellation: bool = False,
        processor_executor: concurrent.futures.Executor | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> AudioStream:
        """A stream on ``track``; same parameters as the constructor.

        The processor is *not* closed by :meth:`aclose` unless
        ``auto_close_noise_cancellation=True`` (the processor may be shared). A
        ``livekit.rtc`` audio track is read through the livekit bridge, as with the
        constructor.
        """
        return cls(
            track,
            sample_rate=sample_rate,
            num_channels=num_channels,
            frame_size_ms=frame_size_ms,
            capacity=capacity,
            noise_cancellation=noise_cancellation,
            auto_close_noise_cancellation=auto_close_noise_cancellation,
            processor_executor=processor_executor,
            loop=loop,
        )

    @classmethod
    def from_participant(
        cls,
        *,
        participant: Participant,
        track_source: TrackSource | int,
        sample_rate: int = 48000,
        num_channels: int = 1,
        frame_size_ms: int | None = None,
        capacity: int = 0,
        noise_cancellation: FrameProcessor[AudioFrame] | NoiseCancellationOptions | None = None,
        auto_close_noise_cancellation: bool = True,
        processor_executor: concurrent.futures.Executor | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> AudioStream:
        """A stream on whichever audio track ``participant`` has from ``track_source``.

        The stream follows the participant: it attaches to the matching track as soon as one
        is available (a subscribed remote track, or a published local track), moves to the
        new track after an unpublish/republish, and gets the same processor metadata pushes
        as a :meth:`from_track` stream. It ends when the participant leaves the room.

        Parameters
        ----------
        participant : LocalParticipant or RemoteParticipant
        track_source : TrackSource or int
            e.g. ``TrackSource.SOURCE_MICROPHONE`` (``livekit.rtc.TrackSource`` values work).

        Other parameters are as for the constructor.

        Raises
        ------
        TypeError
            If ``participant`` is not a participant.
        ValueError
            If ``track_source`` is not a TrackSource value.
        """
        from livekit_audio.rtc.participant import Participant

        if not isinstance(participant, Participant):
            raise TypeError(f"participant must be a Participant, got {type(participant).__name__}")
        try:
            source = TrackSource(track_source)
        except ValueError:
            raise ValueError(
                f"track_source must be a TrackSource value, got {track_source!r}"
            ) from None
        stream = cls.__new__(cls)
        stream._setup(
            sample_rate=sample_rate,
            num_channels=num_channels,
            frame_size_ms=frame_size_ms,
            capacity=capacity,
            noise_cancellation=noise_cancellation,
            auto_close=auto_close_noise_cancellation,
            executor=processor_executor,
            loop=loop,
        )
        stream._participant = participant
        stream._track_source = source
        participant._register_stream(stream)
        if participant._gone:
            stream._on_participant_gone()
        else:
            stream._follow()
        return stream

    @classmethod
    def from_frames(
        cls,
        frames: AsyncIterable[Any],
        *,
        sample_rate: int = 48000,
        num_channels: int = 1,
        frame_size_ms: int | None = None,
        capacity: int = 0,
        noise_cancellation: FrameProcessor[AudioFrame] | NoiseCancellationOptions | None = None,
        auto_close_noise_cancellation: bool = True,
        processor_executor: concurrent.futures.Executor | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> AudioStream:
        """A stream fed from an async iterable of frames instead of a track.

        Every item is converted and processed exactly as a track's frames are (rate,
        channels, ``frame_size_ms``, processor); the stream ends, after flushing, when the
        iterable ends. The stream owns the iterable: :meth:`aclose` stops pulling it and
        closes it (its ``aclose()``, if any), as does the end of the iterable. The iterable
        is pulled at the stream's pace: at most a few frames (or ``capacity``) wait for
        conversion, so a fast producer waits instead of piling frames up.

        Parameters
        ----------
        frames : async iterable
            Of frame-like objects (``data``, ``sample_rate``, ``num_channels``,
            ``samples_per_channel``: our :class:`~livekit_audio.AudioFrame`,
            ``livekit.rtc.AudioFrame``), any rate, channel count and size, or of events with
            a ``.frame`` (``AudioFrameEvent``, e.g. from an ``rtc.AudioStream``).

        Other parameters are as for the constructor (``auto_close_noise_cancellation``
        defaults to True: the processor is closed with the stream).

        Raises
        ------
        TypeError
            If ``frames`` is not an async iterable (e.g. a list: wrap it in an async
            generator), or as for the constructor. An item that is not a frame ends the
            stream with a ``TypeError`` raised to the reader, after the frames before it;
            so does any exception the iterable raises.
        ValueError, RuntimeError
            As for the constructor.
        """
        if not callable(getattr(frames, "__aiter__", None)):
            raise TypeError(
                "frames must be an async iterable of frames or frame events, got "
                f"{type(frames).__name__}"
            )
        iterator = frames.__aiter__()
        if not callable(getattr(iterator, "__anext__", None)):
            raise TypeError(
                f"frames.__aiter__() must return an async iterator, got {type(iterator).__name__}"
            )
        stream = cls.__new__(cls)
        stream._setup(
            sample_rate=sample_rate,
            num_channels=num_channels,
            frame_size_ms=frame_size_ms,
            capacity=capacity,
            noise_cancellation=noise_cancellation,
            auto_close=auto_close_noise_cancellation,
            executor=processor_executor,
            loop=loop,
        )
        pipeline = stream._pipeline
        pipeline.feeder = spawn(
            _pump(pipeline, iterator, frames),
            name=f"AudioStream.from_frames feeder {id(stream):#x}",
            loop=stream._loop,
        )
        return stream

    # -- properties ------------------------------------------------------------------

    @property
    def track(self) -> Track | None:
        """The track being read (for a participant stream: the current one, or None)."""
        return self._track

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    @property
    def num_channels(self) -> int:
        return self._num_channels

    @property
    def frame_size_ms(self) -> int | None:
        return self._frame_size_ms

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def stats(self) -> AudioStreamStats:
        return self._pipeline.stats

    @property
    def closed(self) -> bool:
        return self._closed

    # -- track wiring (called by tracks and participants) ----------------------------------

    def _attach(self, track: Track) -> None:
        self._track = track
        track._register_audio_stream(self)

    def _detach(self) -> None:
        track, self._track = self._track, None
        if track is not None:
            track._unregister_audio_stream(self)

    def _feed(self, frame: Any) -> None:
        self._pipeline.feed(frame)

    def _on_track_ended(self, track: Track) -> None:
        if track is not self._track:
            return
        if self._participant is None:
            self._pipeline.end()
            return
        self._detach()
        self._follow()

    def _follow(self) -> None:
        """Participant stream: attach to the participant's current matching track, if any."""
        if self._closed or self._track is not None or self._participant is None:
            return
        if self._participant_gone:
            self._pipeline.end()
            return
        assert self._track_source is not None
        track = self._participant._audio_track_for(self._track_source)
        if track is not None:
            self._attach(track)

    def _on_participant_track_available(self) -> None:
        self._follow()

    def _on_participant_track_gone(self, track: Track) -> None:
        """The participant unpublished ``track`` (or we unsubscribed from it)."""
        if track is not self._track:
            return
        if isinstance(track, RemoteAudioTrack) and not track.ended:
            return  # moved on once the track has delivered its last frames (_on_track_ended)
        self._detach()
        self._follow()

    def _on_participant_gone(self) -> None:
        self._participant_gone = True
        track = self._track
        if track is None:
            self._pipeline.end()
        elif not (isinstance(track, RemoteAudioTrack) and not track.ended):
            self._detach()
            self._pipeline.end()
        # else: a remote track still draining; _on_track_ended -> _follow -> end

    # -- reading ---------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[AudioFrameEvent]:
        return self

    async def __anext__(self) -> AudioFrameEvent:
        """The next frame event.

        Raises
        ------
        StopAsyncIteration
            After :meth:`aclose`, or once the track has ended and everything was read.
        Exception
            Whatever made the reading task fail (e.g. an unsupported rate ratio), once the
            frames before the failure were read.
        """
        if self._closed:
            raise StopAsyncIteration
        try:
            return await self._pipeline.output.get()
        except QueueClosed:
            failure = self._pipeline.failure
            if failure is not None and not isinstance(failure, asyncio.CancelledError):
                self._pipeline.failure = None
                raise failure from None
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        """Stop reading, wait for the reading task, then close the processor if owned.

        Frames not yet read are discarded; iteration stops. A :meth:`from_frames` stream
        also stops pulling its iterable and closes it. Idempotent.
        """
        if not self._closed:
            self._closed = True
            self._detach()
            if self._participant is not None:
                self._participant._unregister_stream(self)
            self._pipeline.request_close()
        tasks = self._pipeline.tasks()
        if tasks:
            await asyncio.wait(tasks)  # never cancels the tasks if we are cancelled
        self._pipeline.maybe_close_processor()
        self._finalizer.detach()

    async def __aenter__(self) -> AudioStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"AudioStream(track={self._track!r}, sample_rate={self._sample_rate}, "
            f"num_channels={self._num_channels}, frame_size_ms={self._frame_size_ms}, "
            f"capacity={self._capacity}, closed={self._closed})"
        )
