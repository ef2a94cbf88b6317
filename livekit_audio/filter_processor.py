"""FilterProcessor: a filter plug-in instance as an AudioStream frame processor.

The plug-in runs at its own rate on its own frame size (DeepFilterNet3: 48 kHz, 480
samples); a stream's frames have any rate and size. Per stream layout the processor builds
a small pipeline: :class:`~livekit_audio.StreamConverter` to the plug-in's rate and frame
size, the plug-in (in place, GIL released), a converter back, and a re-aligner that returns
frames of exactly the input's sizes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from livekit_audio._errors import FilterError
from livekit_audio.audio_frame import AudioFrame, frame_layout, frame_samples, wrap_samples
from livekit_audio.convert import StreamConverter
from livekit_audio.frame_processor import FrameProcessor
from livekit_audio.processors import _deliver, _Realigner

if TYPE_CHECKING:
    from livekit_audio.audio_filter import FilterInstance

__all__ = ["FilterProcessor", "FilterStage"]


def _inner_rate(rate: int, rates: Sequence[int]) -> int:
    """The plug-in rate a stream at ``rate`` runs at: its own if supported, else the lowest
    supported rate above it (no band is lost), else the highest."""
    if rate in rates:
        return rate
    above = [r for r in rates if r > rate]
    return min(above) if above else max(rates)


class _Pipeline:
    """One stream layout's path through one instance."""

    def __init__(self, instance: FilterInstance, rate: int, channels: int, size: int) -> None:
        self.instance = instance
        self.layout = (rate, channels)
        inner = instance.sample_rate_hz
        n = instance.frame_size
        self.to_inner = StreamConverter(rate, channels, inner, channels, samples_per_frame=n)
        self.from_inner = (
            None if inner == rate else StreamConverter(inner, channels, rate, channels)
        )
        if self.from_inner is None:
            # Exact, as for the APM's 10 ms blocks: after k frames, k*size mod n samples wait
            # in the framing buffer, at most n - gcd(size, n).
            lead = n - math.gcd(size, n)
        else:
            # An upper bound of what the two converters and the framing hold back, in input
            # samples: a whole plug-in frame less one, both resamplers' hold-back, rounding.
            scale = rate / inner
            held = (n - 1 + self.to_inner.latency) * scale + self.from_inner.latency
            lead = math.ceil(held) + 2
        self.align = _Realigner(channels, lead)

    def direct(self, frame: Any, size: int) -> bool:
        """Whether ``frame`` can go to the plug-in as it is: our frame, exactly one plug-in
        frame at its rate, with nothing held by the framing or the re-aligner (the output is
        then what :meth:`push` would give, without the copies)."""
        return (
            self.from_inner is None
            and size == self.instance.frame_size
            and type(frame) is AudioFrame
            and not self.align.held
            and not self.to_inner.pending_samples
        )

    def push(self, frame: Any) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for block in self.to_inner.push(frame):
            # a converter's frame: ours, int16, writable, C order, one plug-in frame
            self.instance._process_in_place(frame_samples(block))
            if self.from_inner is None:
                out.append(block.to_ndarray())
            else:
                out.extend(f.to_ndarray() for f in self.from_inner.push(block))
        return out


class FilterProcessor(FrameProcessor[AudioFrame]):
    """A filter plug-in as a :class:`~livekit_audio.FrameProcessor`: frames of any size,
    rate and channel count (up to the plug-in's ``max_channels``) in, the same size out.

    Made by :meth:`AudioFilter.processor` (or :func:`livekit_audio.filters.deepfilternet`
    and friends). Pass it as ``AudioStream(..., noise_cancellation=processor)``.

    Parameters
    ----------
    create : callable ``(sample_rate_hz, num_channels) -> FilterInstance``
        Makes the plug-in instance for a stream layout.
    name : str
        The plug-in's name, for messages.
    sample_rates_hz : sequence of int
        The rates the plug-in runs at, ascending.
    max_channels : int
        The most channels one instance takes.
    spare : FilterInstance, optional
        An instance made in advance, used (and owned) by the first layout it fits.

    Notes
    -----
    Per stream layout, the processor creates one plug-in instance (at the stream's rate if
    the plug-in supports it, else at the lowest supported rate above it) and converts to and
    from it with :class:`~livekit_audio.StreamConverter` (the polyphase resampler), cutting
    the plug-in's exact frame size. Output frames have the input's size: silence leads while
    the first plug-in frame fills (:attr:`delay_samples` says how much, plug-in latency
    included). A layout change starts a new instance (what the old one held is dropped).

    What :meth:`_process` returns is as for :class:`~livekit_audio.ApmProcessor`: a new
    frame for ours, the input written in place for another writable frame type.

    Errors leave the input frame untouched and raise: a layout the plug-in refuses
    (``ValueError``, naming the rate or channel count), a plug-in failure or NaN/infinite
    output (:class:`~livekit_audio.FilterError`; the pipeline restarts from silence on the
    next frame, so no half-processed audio is ever returned). ``AudioStream`` logs the
    exception and passes the original frame. After :meth:`_close`, ``RuntimeError``.
    """

    def __init__(
        self,
        create: Callable[[int, int], FilterInstance],
        *,
        name: str,
        sample_rates_hz: Sequence[int],
        max_channels: int,
        spare: FilterInstance | None = None,
    ) -> None:
        self._create = create
        self._spare = spare  # made in advance; used by the first layout it fits
        self._name = name
        self._rates = tuple(sample_rates_hz)
        self._max_channels = max_channels
        self._pipe: _Pipeline | None = None
        self._enabled = True
        self._closed = False

    @property
    def enabled(self) -> bool:
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._enabled = bool(value)

    @property
    def instance(self) -> FilterInstance | None:
        """The plug-in instance serving the current layout (None before the first frame)."""
        return None if self._pipe is None else self._pipe.instance

    @property
    def delay_samples(self) -> int:
        """Samples per channel (at the stream's rate) by which output lags input: the
        leading silence plus the plug-in's own latency. 0 before the first frame."""
        pipe = self._pipe
        if pipe is None:
            return 0
        rate = pipe.layout[0]
        inner = pipe.instance
        return pipe.align.lead + round(inner.latency_samples * rate / inner.sample_rate_hz)

    def _open(self, rate: int, channels: int, size: int) -> _Pipeline:
        if channels > self._max_channels:
            raise ValueError(
                f"filter {self._name!r} takes at most {self._max_channels} channel(s), got a "
                f"{channels}-channel frame; open the AudioStream with num_channels="
                f"{self._max_channels}"
            )
        # The new layout's pipeline is built before the old one goes: a layout the plug-in
        # or the resampler refuses leaves the current stream (and what it holds) as it was.
        inner = _inner_rate(rate, self._rates)
        spare, self._spare = self._spare, None
        if spare is not None and (spare.sample_rate_hz, spare.num_channels) == (inner, channels):
            instance = spare
        else:
            if spare is not None:
                spare.close()
            instance = self._create(inner, channels)
        try:
            pipe = _Pipeline(instance, rate, channels, size)
        except BaseException:
            instance.close()
            raise
        old, self._pipe = self._pipe, pipe
        if old is not None:
            old.instance.close()
        return pipe

    def _process(self, frame: AudioFrame) -> AudioFrame:
        """Filter one frame of any size; returns a frame of the same size.

        Raises
        ------
        RuntimeError
            After :meth:`_close`.
        ValueError
            On a layout the plug-in or the resampler refuses; the frame is untouched.
        FilterError
            If the plug-in fails or returns non-finite samples; the frame is untouched.
        TypeError
            If ``frame`` is not a frame.
        """
        if self._closed:
            raise RuntimeError("FilterProcessor is closed")
        rate, channels, size = frame_layout(frame)
        pipe = self._pipe
        if pipe is None or pipe.layout != (rate, channels):
            pipe = self._open(rate, channels, size)
        try:
            if pipe.direct(frame, size):  # whole plug-in frames, nothing held: no framing
                samples = bytearray(frame_samples(frame))
                view = memoryview(samples).cast("h")
                pipe.instance._process_in_place(view)
                return wrap_samples(view, rate, channels, size)
            blocks = pipe.push(frame)
        except FilterError:
            # What the converters and the re-aligner hold is out of step with the plug-in
            # now: start over (a fresh instance state and pipeline) on the next frame.
            self._pipe = None
            pipe.instance.close()
            raise
        return cast(AudioFrame, _deliver(frame, pipe.align.take(blocks, size)))

    def _close(self) -> None:
        self._closed = True
        pipe, spare = self._pipe, self._spare
        self._pipe = self._spare = None
        if pipe is not None:
            pipe.instance.close()
        if spare is not None:
            spare.close()

    def __repr__(self) -> str:
        return f"FilterProcessor({self._name!r}, enabled={self._enabled})"


class FilterStage:
    """Offline pipeline stage over a :class:`FilterProcessor`: its delay removed, so the
    output lines up with the input and has exactly its length (as
    :class:`~livekit_audio.ApmStage` for the APM; ``livekit-audio process --denoise``).

    ``push(frame)`` returns the processed frames now available (the first
    :attr:`FilterProcessor.delay_samples` samples are dropped); ``flush()`` feeds silence
    until every input sample has come out, trims to the input's length and makes the stage
    ready for a new stream.

    Parameters
    ----------
    processor : FilterProcessor
        The filter to run (e.g. ``livekit_audio.filters.deepfilternet()``). The stage owns
        it from here on (:meth:`close` closes it).

    Raises
    ------
    TypeError
        If ``processor`` is not a FilterProcessor.
    """

    def __init__(self, processor: FilterProcessor) -> None:
        if not isinstance(processor, FilterProcessor):
            raise TypeError(
                f"processor must be a livekit_audio.FilterProcessor, got {type(processor).__name__}"
            )
        self.processor = processor
        self._to_skip: int | None = None
        self._delay = 0
        self._layout: tuple[int, int] | None = None
        self._samples_in = 0
        self._samples_out = 0

    def _emit(self, frame: AudioFrame, limit: int | None = None) -> list[AudioFrame]:
        delay = self.processor.delay_samples
        if self._to_skip is None:
            self._to_skip = delay
        elif delay > self._delay:
            # A new frame-size pattern made the processor lead with more silence; it sits
            # at the start of this frame: drop it too.
            self._to_skip += delay - self._delay
        self._delay = delay
        block = frame.to_ndarray()
        if self._to_skip:
            skip = min(self._to_skip, len(block))
            block = block[skip:]
            self._to_skip -= skip
        if limit is not None:
            block = block[: max(0, limit - self._samples_out)]
        if not len(block):
            return []
        self._samples_out += len(block)
        return [AudioFrame.from_ndarray(np.ascontiguousarray(block), frame.sample_rate)]

    def push(self, frame: AudioFrame) -> list[AudioFrame]:
        """Filter one frame of any size; returns the aligned output now available.

        Raises
        ------
        ValueError, FilterError, TypeError
            As :meth:`FilterProcessor._process`.
        """
        rate, channels, size = frame_layout(frame)
        if type(frame) is not AudioFrame:  # a frame-like object: read, never written
            frame = wrap_samples(memoryview(frame_samples(frame)), rate, channels, size)
        out = self.processor._process(frame)
        self._layout = (rate, channels)  # only once the processor has taken the frame
        self._samples_in += size
        return self._emit(out)

    def flush(self) -> list[AudioFrame]:
        """Drain the filter's delay line; the output then has the input's exact length."""
        out: list[AudioFrame] = []
        if self._layout is not None:
            rate, channels = self._layout
            hop = max(1, rate // 100)
            while self._samples_out < self._samples_in:
                silence = AudioFrame.create(rate, channels, hop)
                out += self._emit(self.processor._process(silence), limit=self._samples_in)
        self._to_skip = None
        self._layout = None
        self._samples_in = self._samples_out = 0
        return out

    def close(self) -> None:
        """Close the processor (its plug-in instance)."""
        self.processor._close()
