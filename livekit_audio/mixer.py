"""AudioMixer: mix any number of async audio streams into fixed-size blocks; ``mix_frames``.

The arithmetic is the saturating sum of ``csrc/la_mix.c`` (exact int32 for unity gains,
float32 for weighted inputs, see :func:`mix_frames`). The async layer only moves frames: one
reader task per stream pulls frames into that stream's buffer (converting rate and channel
count on the way), and one mixer task cuts a block from every stream that has one, calls the
kernel and queues the result.
"""

from __future__ import annotations

import asyncio
import sys
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from typing import Any, cast

import numpy as np

from livekit_audio._aio import QueueClosed, RingQueue
from livekit_audio._log import logger
from livekit_audio._native import _mix as _k
from livekit_audio.audio_frame import (
    MAX_SAMPLES_PER_CHANNEL,
    AudioFrame,
    _common_layout,
    frame_layout,
    frame_of,
    frame_samples,
    own_frame_view,
    wrap_samples,
)
from livekit_audio.convert import StreamConverter
from livekit_audio.resampler import MAX_CHANNELS, MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ

__all__ = ["AudioMixer", "MAX_GAIN", "mix_frames"]

#: A stall episode ends once the stream has been mixed on time for this many blocks in a row
#: (until then a slow stream's repeated timeouts are one episode: one log line each way).
STALL_RECOVERY_BLOCKS = 10

#: Largest accepted ``|gain|`` (linear, +60 dB); the kernel's limit.
MAX_GAIN: float = float(_k.MAX_GAIN)

#: A stream's reader runs ahead of the mix by at most max(2 blocks, 100 ms). Reading ahead adds
#: no latency (a block is mixed as soon as every live stream has one); it lets a reader pull
#: several frames per wake-up from a source that is faster than real time (a file, a TTS
#: engine), and bounds the memory such a source can fill before back-pressure stops it.
_READ_AHEAD_MIN_BLOCKS = 2
_READ_AHEAD_MS = 100
#: The largest finite ``stream_timeout_ms`` (compared as a number: 10**400 is refused, not
#: converted to a float first).
_MAX_TIMEOUT_MS = sys.float_info.max


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if high is not None and not low <= value <= high:
        raise ValueError(f"{name} must be within [{low}, {high}], got {value}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def _check_gain(name: str, gain: object) -> float:
    if isinstance(gain, bool) or not isinstance(gain, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(gain).__name__}")
    if not abs(gain) <= MAX_GAIN:  # type: ignore[operator]  # (before float(): 10**400)
        shown = repr(gain) if len(repr(gain)) <= 24 else f"{repr(gain)[:20]}..."
        raise ValueError(f"{name} must be finite with |{name}| <= {MAX_GAIN:g}, got {shown}")
    return float(gain)


class _Input:
    """One stream in the mixer: its reader task and the samples read but not yet mixed."""

    __slots__ = (
        "source",
        "iterator",
        "gain",
        "chunks",
        "head",
        "buffered",
        "eof",
        "stalled",
        "stall_started",
        "stall_blocks",
        "kept_up_blocks",
        "task",
        "space",
        "converter",
    )

    def __init__(self, source: Any, iterator: AsyncIterator[Any], gain: float) -> None:
        self.source = source
        self.iterator = iterator
        self.gain = gain
        self.chunks: deque[memoryview] = deque()  # flat int16 views, mixer layout
        self.head = 0  # samples of chunks[0] already mixed
        self.buffered = 0  # frames (per channel) read but not yet mixed
        self.eof = False  # the stream ended (or failed); `buffered` is all that is left
        self.stalled = False  # missed the timeout; mixed as silence until it has a block
        # one stall episode (logged once when it starts and once when it ends): loop time of
        # its first timeout, blocks mixed as silence, blocks mixed on time since the last
        self.stall_started: float | None = None
        self.stall_blocks = 0
        self.kept_up_blocks = 0
        self.task: asyncio.Task[None] | None = None
        self.space = asyncio.Event()  # set by the mixer task when the reader may read on
        # converts frames in another format than the mixer's (None while they match)
        self.converter: StreamConverter | None = None

    def take(self, n: int) -> Any:
        """The next ``n`` samples (interleaved) as one buffer; zero-padded past the end."""
        first = self.chunks[0] if self.chunks else None
        if first is not None and len(first) - self.head >= n:
            view = first[self.head : self.head + n]
            self.head += n
            if self.head == len(first):
                self.chunks.popleft()
                self.head = 0
            return view
        out = memoryview(bytearray(2 * n)).cast("h")
        pos = 0
        while pos < n and self.chunks:
            chunk = self.chunks[0]
            k = min(len(chunk) - self.head, n - pos)
            out[pos : pos + k] = chunk[self.head : self.head + k]
            pos += k
            self.head += k
            if self.head == len(chunk):
                self.chunks.popleft()
                self.head = 0
        return out


class AudioMixer:
    """Mix any number of async audio streams into one stream of fixed-size blocks.

    Mirrors ``livekit.rtc.AudioMixer``. Iterate the mixer (``async for frame in mixer``) to
    receive mixed :class:`AudioFrame` objects of exactly ``blocksize`` samples per channel.

    Parameters
    ----------
    sample_rate : int
        Output sample rate in Hz, within [1000, 768000].
    num_channels : int
        Output channel count, 1 to 8.
    blocksize : int, keyword-only
        Samples per channel of every mixed frame. ``0`` (default) means 10 ms,
        ``sample_rate // 100``, for low latency. (LiveKit's code uses ``sample_rate // 10``,
        i.e. 100 ms blocks; pass ``blocksize=sample_rate // 10`` for that behaviour.)
    stream_timeout_ms : float, keyword-only
        How long the mixer waits for a stream that has no full block buffered before mixing
        without it (default 100 ms). ``0`` never waits.
    capacity : int, keyword-only
        Mixed frames held for the consumer (default 100); when full, mixing pauses until the
        consumer catches up, and the readers pause in turn. ``0`` means unbounded.

    Notes
    -----
    **Streams.** A stream is any async iterable (or async iterator) of
    :class:`AudioFrame`-like objects (``livekit.rtc.AudioFrame`` included), or of events with
    a ``.frame`` attribute such as the ``AudioFrameEvent`` an ``AudioStream`` yields. Frames
    in another format are converted by a :class:`~livekit_audio.convert.StreamConverter`
    (as in ``AudioStream``): resampled with :class:`AudioResampler` (MEDIUM quality),
    down-mixed (channels averaged, all of them into mono) or up-mixed (channel ``j % c_in``
    copied), so nothing is rejected. A stream may change its rate or channel count
    mid-stream; the held-back resampler tail is flushed first, so no sample is lost.

    **Timing.** A block is mixed as soon as every stream has a full block buffered. A stream
    that has not delivered one within ``stream_timeout_ms`` of the mixer starting to wait
    is *stalled*: it contributes silence to that block, and to the following ones until it has
    a full block again, so one slow stream never holds back the others for more than one
    timeout. Its pending read is never cancelled and nothing it delivers is dropped: samples
    that arrive late are mixed into later blocks, in order. When no stream has a block the
    mixer emits nothing and waits (output is paced by the inputs, as in LiveKit). Each
    stream's reader runs at most max(2 blocks, 100 ms) ahead of the mix.

    **Ending.** A stream that ends has its remaining samples (fewer than a block) padded with
    silence and mixed into the next block: nothing is dropped. After :meth:`end_input`, the
    mixer runs until every stream has ended and all their samples have been mixed, then
    iteration stops; a stream that never ends keeps it running (remove it, or call
    :meth:`aclose`). A stream that raises is logged and treated as ended. :meth:`aclose`
    stops at once, cancels pending reads and discards unconsumed output.

    Gains are applied in the C kernel: an exact saturating integer sum when every mixed
    stream has gain 1.0, otherwise a float32 weighted sum, rounded and saturated (see
    :func:`mix_frames`).

    The mixer belongs to the event loop that first uses it: :meth:`add_stream`,
    :meth:`end_input` and iteration must be called from that loop's thread while it runs.
    Construction needs no running loop.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``sample_rate``, ``num_channels``, ``blocksize``, ``stream_timeout_ms`` or
        ``capacity`` is out of range.

    Examples
    --------
    >>> mixer = AudioMixer(48000, 1)                       # doctest: +SKIP
    >>> mixer.add_stream(stream_a)                         # doctest: +SKIP
    >>> mixer.add_stream(stream_b, gain=0.5)               # doctest: +SKIP
    >>> mixer.end_input()                                  # doctest: +SKIP
    >>> async for frame in mixer:                          # doctest: +SKIP
    ...     await source.capture_frame(frame)
    """

    def __init__(
        self,
        sample_rate: int,
        num_channels: int,
        *,
        blocksize: int = 0,
        stream_timeout_ms: float = 100,
        capacity: int = 100,
    ) -> None:
        self._sample_rate = _check_int(
            "sample_rate", sample_rate, MIN_SAMPLE_RATE_HZ, MAX_SAMPLE_RATE_HZ
        )
        self._num_channels = _check_int("num_channels", num_channels, 1, MAX_CHANNELS)
        blocksize = _check_int("blocksize", blocksize, 0)
        if blocksize > MAX_SAMPLES_PER_CHANNEL:
            raise ValueError(
                f"blocksize must be <= {MAX_SAMPLES_PER_CHANNEL} samples (an AudioFrame's "
                f"limit), got {blocksize}"
            )
        self._blocksize = blocksize if blocksize > 0 else self._sample_rate // 100
        if isinstance(stream_timeout_ms, bool) or not isinstance(
            stream_timeout_ms, (int, float, np.integer, np.floating)
        ):
            raise TypeError(
                f"stream_timeout_ms must be a number, got {type(stream_timeout_ms).__name__}"
            )
        if not (0 <= stream_timeout_ms <= _MAX_TIMEOUT_MS):  # (no float() of 10**400)
            shown = repr(stream_timeout_ms)
            shown = shown if len(shown) <= 24 else f"{shown[:20]}..."
            raise ValueError(f"stream_timeout_ms must be finite and >= 0, got {shown}")
        self._timeout_ms = float(stream_timeout_ms)
        self._capacity = _check_int("capacity", capacity, 0)
        self._read_ahead = max(
            _READ_AHEAD_MIN_BLOCKS * self._blocksize, self._sample_rate * _READ_AHEAD_MS // 1000
        )
        self._inputs: dict[int, _Input] = {}  # by id(stream), in insertion order
        # mixed frames waiting for the consumer (back-pressure: the mixer task waits for room)
        self._out: RingQueue[AudioFrame] = RingQueue(self._capacity)
        self._error: BaseException | None = None  # why mixing failed, raised to the consumer
        self._task: asyncio.Task[None] | None = None
        # the mixer task's wake-up: set when a stream has a block, ends or is added or removed,
        # at a timeout, or at end_input (cleared before the task waits; it then re-checks)
        self._changed = asyncio.Event()
        self._ending = False
        self._closed = False

    # ------------------------------------------------------------------ properties

    @property
    def sample_rate(self) -> int:
        """Output sample rate in Hz."""
        return self._sample_rate

    @property
    def num_channels(self) -> int:
        """Output channel count."""
        return self._num_channels

    @property
    def blocksize(self) -> int:
        """Samples per channel of every mixed frame."""
        return self._blocksize

    @property
    def stream_timeout_ms(self) -> float:
        """How long a block waits for a stream before mixing without it, in ms."""
        return self._timeout_ms

    @property
    def capacity(self) -> int:
        """Mixed frames held for the consumer (0: unbounded)."""
        return self._capacity

    @property
    def streams(self) -> tuple[Any, ...]:
        """The streams currently in the mixer, in the order they were added."""
        return tuple(inp.source for inp in self._inputs.values())

    def __repr__(self) -> str:
        state = "closed" if self._closed else "ending" if self._ending else "open"
        return (
            f"AudioMixer(sample_rate={self._sample_rate}, num_channels={self._num_channels}, "
            f"blocksize={self._blocksize}, stream_timeout_ms={self._timeout_ms:g}, "
            f"capacity={self._capacity}, streams={len(self._inputs)}, {state})"
        )

    # ------------------------------------------------------------------ public API

    def add_stream(
        self, stream: AsyncIterable[Any] | AsyncIterator[Any], *, gain: float = 1.0
    ) -> None:
        """Add a stream to the mix.

        Parameters
        ----------
        stream : async iterable or async iterator
            Yields :class:`AudioFrame`-like objects, or events with a ``.frame`` (e.g. an
            ``AudioStream``). Any sample rate and channel count (converted, see Notes of the
            class).
        gain : float, keyword-only
            Linear gain applied to this stream in the mix; finite, ``|gain| <= 1000``.
            Adding a stream that is already in the mixer only updates its gain.

        Raises
        ------
        RuntimeError
            After :meth:`end_input` or :meth:`aclose`, or when no event loop is running.
        TypeError
            If ``stream`` is not an async iterable, or ``gain`` is not a number.
        ValueError
            If ``gain`` is out of range.
        """
        if self._closed or self._ending:
            raise RuntimeError(
                "cannot add a stream after end_input() or aclose() was called on the mixer"
            )
        g = _check_gain("gain", gain)
        existing = self._inputs.get(id(stream))
        if existing is not None and existing.source is stream:
            existing.gain = g
            return
        if hasattr(stream, "__aiter__"):
            iterator = stream.__aiter__()
        elif hasattr(stream, "__anext__"):
            iterator = cast(AsyncIterator[Any], stream)
        else:
            raise TypeError(
                "stream must be an async iterable of AudioFrame or AudioFrameEvent, "
                f"got {type(stream).__name__}"
            )
        loop = asyncio.get_running_loop()
        inp = _Input(stream, iterator, g)
        self._inputs[id(stream)] = inp
        inp.task = loop.create_task(self._read(inp), name=f"AudioMixer reader {id(stream):#x}")
        self._start(loop)
        self._wake()

    def remove_stream(self, stream: AsyncIterable[Any] | AsyncIterator[Any]) -> None:
        """Remove a stream from the mix.

        Samples it delivered that are not mixed yet are discarded, and its pending read is
        cancelled (an async generator is closed by that, as in LiveKit).

        Raises
        ------
        ValueError
            If ``stream`` is not in the mixer (never added, removed, or already ended).
        """
        inp = self._inputs.get(id(stream))
        if inp is None or inp.source is not stream:
            raise ValueError(f"stream {stream!r} is not in this mixer")
        del self._inputs[id(stream)]
        if inp.task is not None:
            inp.task.cancel()
        self._wake()

    def end_input(self) -> None:
        """Signal that no more streams will be added.

        The mixer keeps mixing until every stream has ended and its last samples are mixed,
        then iteration stops. :meth:`add_stream` raises ``RuntimeError`` from now on.
        """
        self._ending = True
        if self._task is None and not self._inputs:
            self._out.close()
        self._wake()

    async def aclose(self) -> None:
        """Stop mixing at once: cancel pending reads, discard unconsumed output.

        Iteration stops; :meth:`add_stream` raises ``RuntimeError``. Idempotent.
        """
        if self._closed:
            return
        self._closed = True
        self._ending = True
        tasks = [inp.task for inp in self._inputs.values() if inp.task is not None]
        self._inputs.clear()
        if self._task is not None:
            tasks.append(self._task)
        for task in tasks:
            task.cancel()
        self._out.close(discard=True)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def __aiter__(self) -> AudioMixer:
        return self

    async def __anext__(self) -> AudioFrame:
        if self._task is None and not self._out.closed:
            self._start(asyncio.get_running_loop())
        try:
            return await self._out.get()
        except QueueClosed:
            pass
        if self._error is not None:
            raise self._error  # mixing failed: after every frame mixed before it
        raise StopAsyncIteration

    async def __aenter__(self) -> AudioMixer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ tasks

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._task is None and not self._closed:
            self._task = loop.create_task(self._run(), name="AudioMixer")

    def _wake(self) -> None:
        self._changed.set()

    async def _read(self, inp: _Input) -> None:
        """Reader task of one stream: pull frames into its buffer until it ends."""
        anext = inp.iterator.__anext__
        chunks = inp.chunks
        space = inp.space
        changed = self._changed
        rate, channels = self._sample_rate, self._num_channels
        block, read_ahead = self._blocksize, self._read_ahead
        try:
            while True:
                if inp.buffered >= read_ahead:
                    space.clear()
                    await space.wait()
                    continue
                item = await anext()
                before = inp.buffered
                frame = item if type(item) is AudioFrame else frame_of(item, "AudioMixer stream")
                view = own_frame_view(frame)
                if (
                    view is not None
                    and view[1] == rate
                    and view[2] == channels
                    and inp.converter is None
                ):
                    # the per-frame fast path: same layout, just queue the samples
                    data, _, _, n = view
                    if n:
                        # copied unless immutable: a producer may reuse its buffer after yielding
                        if not data.readonly:
                            data = memoryview(data.tobytes()).cast("h")
                        chunks.append(data)
                        inp.buffered += n
                else:
                    self._append(inp, frame)
                if before < block <= inp.buffered:
                    changed.set()  # the mixer waits only for streams short of a block
        except StopAsyncIteration:
            pass
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a broken stream must not stop the mix
            logger.warning(
                "AudioMixer: stream %r raised; treating it as ended", inp.source, exc_info=True
            )
        self._flush_converter(inp)
        inp.eof = True
        self._wake()

    def _append(self, inp: _Input, frame: Any) -> None:
        """Queue one frame's samples, converted to the mixer's rate and layout when needed."""
        rate, channels, n = frame_layout(frame)
        converter = inp.converter
        if converter is not None and (
            converter.input_rate != rate or converter.input_channels != channels
        ):
            self._flush_converter(inp)  # the stream changed format: its held tail goes first
            converter = None
        if converter is None:
            if rate == self._sample_rate and channels == self._num_channels:
                if n:
                    data = frame_samples(frame)
                    # copied unless immutable: a producer may reuse its buffer after yielding
                    self._push(inp, data if data.readonly else memoryview(data.tobytes()).cast("h"))
                return
            converter = inp.converter = StreamConverter(
                rate, channels, self._sample_rate, self._num_channels
            )
        for out in converter.push(frame):
            self._push(inp, frame_samples(out))

    def _flush_converter(self, inp: _Input) -> None:
        converter = inp.converter
        if converter is None:
            return
        inp.converter = None
        for out in converter.flush():
            self._push(inp, frame_samples(out))

    def _push(self, inp: _Input, view: memoryview) -> None:
        if len(view):
            inp.chunks.append(view)
            inp.buffered += len(view) // self._num_channels

    def _stall(self, inp: _Input, now: float) -> None:
        """``inp`` missed the timeout: mix silence for it; log when an episode starts."""
        inp.stalled = True
        inp.kept_up_blocks = 0
        if inp.stall_started is None:
            inp.stall_started = now
            inp.stall_blocks = 0
            logger.warning(
                "AudioMixer: stream %r has no data after %g ms; mixing silence for it until "
                "it catches up (nothing it sends is dropped)",
                inp.source,
                self._timeout_ms,
            )

    def _stall_over(self, inp: _Input, now: float) -> None:
        """End ``inp``'s stall episode, if any, with one log line giving its length."""
        started = inp.stall_started
        if started is None:
            return
        inp.stall_started = None
        logger.warning(
            "AudioMixer: stream %r %s after a %.0f ms stall (%d blocks of %g ms mixed as "
            "silence for it)",
            inp.source,
            "ended" if inp.eof else "kept up again",
            1000.0 * (now - started),
            inp.stall_blocks,
            1000.0 * self._blocksize / self._sample_rate,
        )

    async def _run(self) -> None:
        """The mixer task: one block per round, see the class Notes for the rules."""
        loop = asyncio.get_running_loop()
        block = self._blocksize
        n_samples = block * self._num_channels
        read_ahead = self._read_ahead
        timeout_s = self._timeout_ms / 1000.0
        mix = _k.mix
        changed = self._changed
        deadline: float | None = None
        timer: asyncio.TimerHandle | None = None
        try:
            while True:
                inputs = list(self._inputs.values())
                waiting = False
                for inp in inputs:
                    if inp.buffered < block and not inp.eof and not inp.stalled:
                        waiting = True
                        break
                if waiting:
                    now = loop.time()
                    if deadline is None:
                        deadline = now + timeout_s
                        if timeout_s > 0:
                            timer = loop.call_at(deadline, self._wake)
                    if now < deadline:
                        changed.clear()  # the state was checked just before, on this loop
                        await changed.wait()
                        continue
                    for inp in inputs:
                        if inp.buffered < block and not inp.eof and not inp.stalled:
                            self._stall(inp, now)
                if timer is not None:
                    timer.cancel()
                    timer = None
                deadline = None
                buffers = []
                gains = []
                unity = True
                for inp in inputs:
                    buffered = inp.buffered
                    if buffered < block and not (inp.eof and buffered):
                        if inp.eof:
                            self._inputs.pop(id(inp.source), None)  # ended, nothing left
                            self._stall_over(inp, loop.time())
                        else:
                            inp.stall_blocks += 1  # stalled: silence for it in this block
                        continue
                    # the next block of this stream (zero-padded if it ended with less)
                    chunks = inp.chunks
                    first = chunks[0]
                    head = inp.head
                    if len(first) - head >= n_samples:
                        buffers.append(first[head : head + n_samples])
                        head += n_samples
                        if head == len(first):
                            chunks.popleft()
                            head = 0
                        inp.head = head
                    else:
                        buffers.append(inp.take(n_samples))
                    if buffered <= block:
                        inp.buffered = 0
                        if inp.eof:
                            self._inputs.pop(id(inp.source), None)  # its last samples
                    else:
                        inp.buffered = buffered - block
                    inp.stalled = False
                    if inp.stall_started is not None:
                        inp.kept_up_blocks += 1
                        if inp.eof or inp.kept_up_blocks >= STALL_RECOVERY_BLOCKS:
                            self._stall_over(inp, loop.time())
                    gains.append(inp.gain)
                    if inp.gain != 1.0:
                        unity = False
                    if buffered >= read_ahead > inp.buffered:
                        inp.space.set()  # the reader may be waiting for room: read on
                if not buffers:
                    if self._ending and not self._inputs:
                        break
                    changed.clear()
                    await changed.wait()
                    continue
                out = memoryview(bytearray(2 * n_samples)).cast("h")
                mix(buffers, None if unity else gains, out)
                frame = wrap_samples(out, self._sample_rate, self._num_channels, block)
                if not await self._out.put_wait(frame):
                    return  # closed by aclose
        except asyncio.CancelledError:
            if timer is not None:
                timer.cancel()
            raise
        except BaseException as exc:
            logger.error("AudioMixer: mixing failed", exc_info=True)
            self._error = exc
            self._out.close()
            raise
        self._out.close()


def mix_frames(
    frames: Sequence[Any] | Iterable[Any], *, gains: Sequence[float] | None = None
) -> AudioFrame:
    """Mix frames into one frame in a single synchronous call (saturating sum in C).

    Parameters
    ----------
    frames : sequence of AudioFrame
        One or more :class:`AudioFrame`-like objects (``livekit.rtc.AudioFrame`` included) with
        equal ``sample_rate`` and ``num_channels``. Lengths may differ: shorter frames are
        treated as padded with silence.
    gains : sequence of float, keyword-only, optional
        Linear gain per frame (finite, ``|gain| <= 1000``); default all 1.0.

    Returns
    -------
    AudioFrame
        A new writable frame, as long as the longest input. With every gain 1.0 each sample is
        the exact integer sum saturated to [-32768, 32767]. Otherwise it is the float32 sum
        ``g_0 x_0 + g_1 x_1 + ...`` accumulated in input order, clamped, and rounded to nearest
        (ties to even): within one step of the exact weighted sum.

    Raises
    ------
    ValueError
        If ``frames`` is empty, rates or channel counts differ (the message names the frame
        index), ``gains`` has the wrong length, or a gain is out of range.
    TypeError
        If an item is not frame-like or a gain is not a number.

    Examples
    --------
    >>> a = AudioFrame.create(48000, 1, 480)
    >>> mix_frames([a, a], gains=[0.5, 0.5]).samples_per_channel
    480
    """
    if not isinstance(frames, (list, tuple)):
        try:
            frames = list(frames)
        except TypeError:
            raise TypeError(
                f"frames must be a sequence of frames, got {type(frames).__name__}"
            ) from None
    if not frames:
        raise ValueError("mix_frames needs at least one frame, got none")
    rate, channels, lengths = _common_layout(frames)
    longest = max(0, *(int(n) for n in lengths))
    if gains is not None:
        try:
            gains = list(gains)
        except TypeError:
            raise TypeError(
                f"gains must be a sequence of numbers, got {type(gains).__name__}"
            ) from None
        if len(gains) != len(frames):
            raise ValueError(f"got {len(gains)} gains for {len(frames)} frames")
        gains = [_check_gain(f"gains[{i}]", g) for i, g in enumerate(gains)]
        if all(g == 1.0 for g in gains):
            gains = None
    if len(frames) > _k.MAX_INPUTS:
        raise ValueError(f"at most {_k.MAX_INPUTS} frames can be mixed at once, got {len(frames)}")
    total = longest * channels
    buffers = []
    # every frame's buffer is checked against its declared size before anything is allocated
    for samples in [frame_samples(frame) for frame in frames]:
        if len(samples) < total:
            padded = memoryview(bytearray(2 * total)).cast("h")
            padded[: len(samples)] = samples
            samples = padded
        buffers.append(samples)
    out = memoryview(bytearray(2 * total)).cast("h")
    _k.mix(buffers, gains, out)
    return wrap_samples(out, rate, channels, longest)
