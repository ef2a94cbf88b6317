"""``--engine stream``: a job run through the async layer, AudioSource -> LocalAudioTrack ->
AudioStream, instead of the stage pipeline (see :func:`stream_file_frames`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from livekit_audio.audio_frame import AudioFrame
from livekit_audio.cli.errors import CLIError

__all__ = ["stream_file_frames"]


class _CollectWarnings(logging.Filter):
    """Keeps the package logger's records from reaching stderr; remembers the first message."""

    def __init__(self) -> None:
        super().__init__()
        self.first: str | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if self.first is None and record.levelno >= logging.WARNING:
            exc = record.exc_info[1] if record.exc_info else None
            self.first = f"{type(exc).__name__}: {exc}" if exc else record.getMessage()
        return False


@contextlib.contextmanager
def _quiet_package_log() -> Iterator[_CollectWarnings]:
    from livekit_audio._log import logger

    collector = _CollectWarnings()
    logger.addFilter(collector)
    try:
        yield collector
    finally:
        logger.removeFilter(collector)


def _apm_delay_samples(apm_options: dict[str, Any], rate: int, channels: int) -> int:
    """The delay (samples at ``rate``) an APM with these options adds, from a scratch module."""
    from livekit_audio.apm import AudioProcessingModule

    probe = AudioProcessingModule(**apm_options)
    probe.process_stream(AudioFrame.create(rate, channels, rate // 100))
    return int(probe.delay_samples)


async def stream_file_frames(
    frames: Iterable[AudioFrame],
    write: Callable[[np.ndarray], object],
    *,
    input_rate: int,
    input_channels: int,
    output_rate: int,
    output_channels: int,
    apm_options: dict[str, Any] | None = None,
    compensate_delay: bool = True,
) -> int:
    """Run frames through the async layer: AudioSource -> LocalAudioTrack -> AudioStream.

    This is ``livekit-audio process --engine stream``. The frames are captured into an
    :class:`~livekit_audio.AudioSource` with ``realtime=False`` (played out as fast as the
    event loop runs, with its bounded queue and back-pressure), carried by a
    :class:`~livekit_audio.LocalAudioTrack`, and read back from an
    :class:`~livekit_audio.AudioStream` that converts rate and channel count and, when
    ``apm_options`` is given, applies an :class:`~livekit_audio.ApmProcessor` as its
    ``noise_cancellation`` (with ``frame_size_ms=10``, the APM's own block size). Each frame
    read is passed to ``write`` as an int16 ``(n, output_channels)`` array.

    How it differs from the ``direct`` engine (:func:`run_pipeline` over
    :func:`build_stages`):

    * The stream resamples at MEDIUM quality (``AudioStream`` has no quality option).
      Without a processor the output is bit-identical to ``direct`` at MEDIUM.
    * A FrameProcessor returns every frame at once, so the APM's look-ahead (10 ms with
      noise suppression) comes out as a delay and its last samples stay inside the processor
      when the track ends. With ``compensate_delay`` (the default) this is undone here, not
      in the processor: after the input, silence covering the delay plus one 10 ms block is
      captured, the first ``delay`` output samples are dropped and the output is cut to
      ``round(n_in * output_rate / input_rate)`` samples, i.e. exactly the length of the
      ``direct`` output and time-aligned with it. Without it, the output has the stream's raw
      timing: delayed by the APM's delay, same total length, the tail lost.
    * With compensation both engines feed the APM the same 10 ms blocks, except the last
      one: ``direct`` pads the final partial block with zeros, ``stream`` with the
      resampled tail of the captured silence (the filter's ringing past the end). On real
      speech the outputs are identical up to that block, which may differ by a few LSB.

    Parameters
    ----------
    frames : iterable of AudioFrame
        Input frames at ``input_rate`` with ``input_channels`` (any sizes).
    write : callable
        Called with each output block, int16 ``(n, output_channels)``.
    input_rate, input_channels, output_rate, output_channels : int
        Formats; the caller has validated them (see :func:`build_stages`).
    apm_options : dict, optional
        Options of :class:`~livekit_audio.AudioProcessingModule`; given: the stream gets an
        ``ApmProcessor(**apm_options)``.
    compensate_delay : bool
        Undo the processor's delay and recover its tail (see above).

    Returns
    -------
    int
        Samples per channel written.

    Raises
    ------
    CLIError
        If the processor failed on some frame (the stream passed the original through).
    Exception
        Whatever reading the input or the stream raises.
    """
    from livekit_audio.apm_processor import ApmProcessor
    from livekit_audio.rtc.audio_source import AudioSource
    from livekit_audio.rtc.audio_stream import AudioStream
    from livekit_audio.rtc.track import LocalAudioTrack

    processor = ApmProcessor(**apm_options) if apm_options else None
    skip = limit = 0
    pad = 0
    if processor is not None and compensate_delay:
        skip = _apm_delay_samples(apm_options or {}, output_rate, output_channels)
        hop = output_rate // 100
        pad = math.ceil((skip + hop) * input_rate / output_rate) + 1  # input samples
    source = AudioSource(input_rate, input_channels, realtime=False)
    track = LocalAudioTrack.create_audio_track("livekit-audio process", source)
    with _quiet_package_log() as warnings:
        stream = AudioStream(
            track,
            sample_rate=output_rate,
            num_channels=output_channels,
            frame_size_ms=10 if processor is not None else None,
            noise_cancellation=processor,
            auto_close_noise_cancellation=True,
        )
        n_in = 0
        limit_known = False

        async def produce() -> None:
            nonlocal n_in, limit, limit_known
            for frame in frames:
                await source.capture_frame(frame)
                n_in += frame.samples_per_channel
            limit = round(n_in * output_rate / input_rate)
            limit_known = True
            if pad and n_in:
                await source.capture_frame(AudioFrame.create(input_rate, input_channels, pad))
            await source.wait_for_playout()
            await source.aclose()  # ends the track: the stream flushes and stops

        async def consume() -> int:
            nonlocal skip
            written = 0
            async for event in stream:
                block = event.frame.to_ndarray()
                if skip:
                    cut = min(skip, len(block))
                    block, skip = block[cut:], skip - cut
                if limit_known:
                    block = block[: max(0, limit - written)]
                if len(block):
                    write(block)
                    written += len(block)
            return written

        producer = asyncio.ensure_future(produce())
        consumer = asyncio.ensure_future(consume())
        try:
            await asyncio.wait({producer, consumer}, return_when=asyncio.FIRST_EXCEPTION)
            if producer.done() and producer.exception() is not None:
                producer.result()  # raises
            written = await consumer
        finally:
            for task in (producer, consumer):
                if not task.done():
                    task.cancel()
            await asyncio.gather(producer, consumer, return_exceptions=True)
            await stream.aclose()
            await source.aclose()
        errors = stream.stats.processor_errors
    if errors:
        raise CLIError(
            f"the processor failed on {errors} frame(s) of the stream"
            + (f": {warnings.first}" if warnings.first else "")
        )
    return written
