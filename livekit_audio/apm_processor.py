"""Adapters that run an AudioProcessingModule on frames of any size.

* :class:`ApmProcessor` is a :class:`~livekit_audio.FrameProcessor` for ``AudioStream(...,
  noise_cancellation=...)``: every frame comes back with the same size, in real time.
* :class:`ApmStage` is a pipeline stage (``push``/``flush``) for offline processing, as in
  ``livekit-audio process --ns``: it removes the suppressor's delay, so the output lines up
  with the input and has exactly its length.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, cast

import numpy as np

from livekit_audio._log import logger
from livekit_audio.apm import AudioProcessingModule, _check_layout
from livekit_audio.audio_frame import AudioFrame, frame_layout, own_frame_view
from livekit_audio.frame_chunker import FrameChunker
from livekit_audio.frame_processor import FrameProcessor
from livekit_audio.processors import _deliver, _Realigner

__all__ = ["ApmProcessor", "ApmStage"]


def _module(apm: AudioProcessingModule | None, options: dict[str, Any]) -> AudioProcessingModule:
    if apm is not None and options:
        raise TypeError("pass either an AudioProcessingModule or its options, not both")
    if apm is not None and not isinstance(apm, AudioProcessingModule):
        raise TypeError(
            f"apm must be a livekit_audio.AudioProcessingModule or None, got {type(apm).__name__}"
        )
    return apm if apm is not None else AudioProcessingModule(**options)


class _TenMsRunner:
    """Re-chunks frames to 10 ms and processes them; yields processed int16 (n, ch) arrays."""

    def __init__(self, apm: AudioProcessingModule) -> None:
        self.apm = apm
        self._chunker: FrameChunker | None = None
        self._reverse_chunker: FrameChunker | None = None
        self.num_channels = 1
        self.reverse_blocks: Iterator[AudioFrame] | None = None  # one per capture block

    def push_reverse(self, frame: Any) -> None:
        """Feed far-end audio of any rate, channel count and frame size to the module, 10 ms
        (``rate // 100`` samples) at a time; the module converts it to the capture's layout.

        Raises
        ------
        AudioProcessingError
            On a rate or channel count the module does not accept (checked when the far
            end's layout changes, before anything is held).
        """
        view = own_frame_view(frame)
        if view is None:  # a duck frame: validated like our own
            if not hasattr(frame, "samples_per_channel"):
                raise TypeError(
                    "ApmProcessor.process_reverse: frame must be an AudioFrame (or frame-like: "
                    f"data, sample_rate, num_channels, samples_per_channel), got "
                    f"{type(frame).__name__}"
                )
            layout = frame_layout(frame)[:2]
        else:
            layout = view[1], view[2]
        c = self._reverse_chunker
        if c is None or layout != (c.sample_rate, c.num_channels):
            rate, channels = _check_layout(
                *layout,
                what="ApmProcessor.process_reverse",
                max_channels=8,
            )
            if c is not None:  # the far end changed layout: what is held goes in first
                for block in c.flush(pad=True):
                    self.apm.process_reverse_stream(block)
            c = self._reverse_chunker = FrameChunker(rate, channels)
        for block in c.push(frame):
            self.apm.process_reverse_stream(block)

    def _chunker_for(self, frame: Any) -> FrameChunker:
        c = self._chunker
        layout = (frame.sample_rate, frame.num_channels)
        if c is None or layout != (c.sample_rate, self.num_channels):
            rate, channels = _check_layout(*layout, what="ApmProcessor._process", max_channels=2)
            if c is not None and c.pending_samples:
                logger.warning(
                    "APM input changed layout; %d held samples dropped", c.pending_samples
                )
            c = self._chunker = FrameChunker(rate, channels)
            self.num_channels = channels
        return c

    def _process(self, block: AudioFrame) -> None:
        if self.reverse_blocks is not None:
            far = next(self.reverse_blocks, None)
            hop = block.samples_per_channel
            self.apm.process_reverse_stream(
                far if far is not None else AudioFrame.create(block.sample_rate, 1, hop)
            )
        self.apm.process_stream(block)

    def push(self, frame: Any) -> list[np.ndarray]:
        out = []
        for block in self._chunker_for(frame).push(frame):
            self._process(block)
            out.append(block.to_ndarray())
        return out

    def flush(self) -> tuple[list[np.ndarray], int]:
        """Process the zero-padded remainder; returns it and how many samples were real."""
        if self._chunker is None:
            return [], 0
        real = self._chunker.pending_samples
        out = []
        for block in self._chunker.flush(pad=True):
            self._process(block)
            out.append(block.to_ndarray())
        return out, real


class ApmProcessor(FrameProcessor[AudioFrame]):
    """Echo cancellation, noise suppression, high-pass filter and AGC as an AudioStream frame
    processor.

    Parameters
    ----------
    apm : AudioProcessingModule, optional
        A configured module. Default: one built from ``**options``.
    **options
        Keyword options of :class:`~livekit_audio.AudioProcessingModule` (e.g.
        ``noise_suppression=True, noise_suppression_level="high"``).

    Notes
    -----
    Frames of any size are accepted (20 ms, 441 samples, ...) at 8 to 96 kHz, mono or
    stereo. Each call returns a frame of the input's size: processed audio runs through a
    10 ms re-chunker, so when frame sizes are not whole multiples of 10 ms (``rate // 100``
    samples) the output lags by up to 10 ms more (``hop - gcd(size, hop)`` samples of silence
    are sent first). Noise suppression adds 10 ms, and rates other than 8/16/32/48 kHz the
    module's resampling (:attr:`delay_samples` counts it all).

    What :meth:`_process` returns: for our :class:`~livekit_audio.AudioFrame`, a new frame
    (the input is not modified). For any other frame type (``livekit.rtc.AudioFrame``, whose
    ``AudioStream`` yields what the processor returns), the processed samples are written into
    the input's buffer and the same object is returned, so its type and extra attributes
    (``userdata``) survive; if that buffer is read-only (``bytes``), a new frame of the input's
    type ``type(frame)(data, sample_rate, num_channels, samples_per_channel)``, or our
    AudioFrame when that type cannot be built so. After :meth:`_close`, :meth:`_process`
    raises ``RuntimeError``.

    Raises
    ------
    AudioProcessingError
        From ``_process`` on an unsupported rate or channel count (AudioStream logs it and
        passes the original frame).
    """

    def __init__(self, apm: AudioProcessingModule | None = None, **options: Any) -> None:
        self._runner = _TenMsRunner(_module(apm, options))
        self._enabled = True
        self._closed = False
        self._align: _Realigner | None = None

    @property
    def apm(self) -> AudioProcessingModule:
        """The module doing the work (for its ``stats``)."""
        return self._runner.apm

    def process_reverse(self, frame: AudioFrame) -> None:
        """Give the echo canceller far-end audio (what is being played out).

        Call it as the far end plays, or let an :class:`~livekit_audio.AudioSource` do it:
        ``source.add_playout_listener(processor.process_reverse)`` makes everything the
        agent plays through that source the echo reference, with no audio device involved.

        Parameters
        ----------
        frame : AudioFrame
            int16 interleaved, any size, 8 to 96 kHz and 1 to 8 channels, independent of the
            processed stream's: an agent playing 24 kHz stereo into a 16 kHz mono capture is
            resampled and down-mixed by the module. Audio that arrives before the first
            processed frame is kept (up to 2 s) for it.

        Raises
        ------
        AudioProcessingError
            On a rate outside 8-96 kHz or more than 8 channels.
        """
        self._runner.push_reverse(frame)

    @property
    def delay_samples(self) -> int:
        """Samples by which output lags input: the module's delay plus the re-chunking lead
        (``hop - gcd(frame size, hop)``, 0 for whole 10 ms frames). 0 before the first frame.
        """
        lead = 0 if self._align is None else self._align.lead
        return self.apm.delay_samples + lead

    @property
    def enabled(self) -> bool:
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._enabled = bool(value)

    def _process(self, frame: AudioFrame) -> AudioFrame:
        """Process one frame of any size; returns a frame of the same size (see the notes for
        which object).

        Raises
        ------
        RuntimeError
            After :meth:`_close`.
        AudioProcessingError
            On an unsupported rate or channel count; the frame is untouched.
        TypeError
            If ``frame`` is not a frame (or a field of it is not an int).
        """
        if self._closed:
            raise RuntimeError("ApmProcessor is closed")
        rate, channels, size = frame_layout(frame)
        _check_layout(rate, channels, what="ApmProcessor._process", max_channels=2)
        align = self._align
        if align is None or align.num_channels != channels:
            # Leading silence so frames of this size are always covered: after k frames,
            # k*size mod hop samples are still waiting in the chunker, at most hop - gcd.
            hop = rate // 100
            align = self._align = _Realigner(channels, hop - math.gcd(size, hop))
        processed = align.take(self._runner.push(frame), size)
        return cast(AudioFrame, _deliver(frame, processed))

    def _in_place_module(self, frame: AudioFrame) -> AudioProcessingModule | None:
        """AudioStream's hook: the module that may process ``frame`` in place, or None.

        ``frame`` is a frame the stream owns (our writable AudioFrame); when it holds whole
        10 ms blocks and nothing is held back for re-chunking, processing it in place with
        :meth:`AudioProcessingModule.process_stream` (or, for many streams at once,
        :func:`~livekit_audio.apm.process_batch`) gives exactly what :meth:`_process` would
        return, without the copies. Otherwise None: the stream calls :meth:`_process`.

        Raises
        ------
        RuntimeError
            After :meth:`_close`.
        """
        if self._closed:
            raise RuntimeError("ApmProcessor is closed")
        runner = self._runner
        align = self._align
        chunker = runner._chunker
        view = own_frame_view(frame)
        if (
            view is None
            or (align is not None and align.held)
            or (chunker is not None and chunker.pending_samples)
            or runner.reverse_blocks is not None
        ):
            return None
        samples, rate, channels, count = view
        if samples.readonly or rate < 100 or count % (rate // 100):
            return None
        if align is None or align.num_channels != channels:
            self._align = _Realigner(channels, 0)  # as _process would
        return runner.apm

    def _close(self) -> None:
        self._closed = True
        self._align = None


class ApmStage:
    """Offline pipeline stage: 10 ms processing with the suppressor's delay removed.

    ``push(frame)`` returns processed frames (10 ms each) as they become available;
    ``flush()`` drains the delay line and the last partial block. Over a whole stream the
    output is exactly as long as the input and time-aligned with it.

    Parameters
    ----------
    apm : AudioProcessingModule, optional
        A configured module; default one built from ``**options``.
    reverse : iterator of AudioFrame, keyword-only, optional
        Far-end 10 ms frames at the stream's rate for the echo canceller: one is passed to
        ``process_reverse_stream`` before each 10 ms capture block (silence once it ends).
    **options
        Keyword options of :class:`~livekit_audio.AudioProcessingModule`.
    """

    def __init__(
        self,
        apm: AudioProcessingModule | None = None,
        *,
        reverse: Iterator[AudioFrame] | None = None,
        **options: Any,
    ) -> None:
        self._runner = _TenMsRunner(_module(apm, options))
        self._runner.reverse_blocks = reverse
        self._to_skip: int | None = None
        self._rate = 0
        self._samples_in = 0
        self._samples_out = 0

    @property
    def apm(self) -> AudioProcessingModule:
        return self._runner.apm

    def _emit(self, blocks: list[np.ndarray], limit: int | None = None) -> list[AudioFrame]:
        if blocks and self._to_skip is None:
            self._to_skip = self.apm.delay_samples  # known once the module has seen a block
        out = []
        for block in blocks:
            if self._to_skip:
                skip = min(self._to_skip, len(block))
                block = block[skip:]
                self._to_skip -= skip
            if limit is not None:
                block = block[: max(0, limit - self._samples_out)]
            if len(block):
                self._samples_out += len(block)
                out.append(AudioFrame.from_ndarray(np.ascontiguousarray(block), self._rate))
        return out

    def push(self, frame: AudioFrame) -> list[AudioFrame]:
        """Process a frame of any size; returns the processed frames now available."""
        self._rate = frame.sample_rate
        self._samples_in += frame.samples_per_channel
        return self._emit(self._runner.push(frame))

    def flush(self) -> list[AudioFrame]:
        """Drain: the held remainder and the suppressor's delay line, trimmed to the input."""
        blocks, _ = self._runner.flush()
        out = self._emit(blocks, limit=self._samples_in)
        # feed silence until the delayed tail is out
        while self._samples_out < self._samples_in:
            hop = self._rate // 100
            silence = AudioFrame.create(self._rate, self._runner.num_channels, hop)
            out += self._emit(self._runner.push(silence), limit=self._samples_in)
        self._to_skip = None
        self._samples_in = self._samples_out = 0
        return out
