"""The ``livekit-audio`` command: stream an audio file through livekit_audio's DSP stages.

Sub-commands
------------
``livekit-audio process IN -o OUT [--sample-rate HZ] [--channels N] [--quality Q] [--frame-ms MS] [--hpf] [--ns[=LEVEL]] [--agc [DBFS]] [--engine {direct,stream}]``
    Read ``IN`` (WAV of any PCM width, mu-law/A-law WAV, MP3, AAC, Ogg Opus/Vorbis, FLAC,
    WebM, MP4, or anything else libsndfile reads; decoded by :mod:`livekit_audio.codecs`)
    block by block as int16, cut it into frames of
    ``--frame-ms`` milliseconds, push them through the processing stages (rate and channel
    conversion by a :class:`~livekit_audio.convert.StreamConverter`, the APM for
    ``--hpf/--ns/--agc``) and write every
    frame that comes out to ``OUT`` as it goes: 16-bit PCM in the format its extension names
    (``.wav``, ``.flac``, ``.aiff``, ...), or Ogg Vorbis (``.ogg``), Ogg Opus (``.opus``) or
    MP3 (``.mp3``). A corrupt or truncated input is an error, never a shorter output.

    ``--engine stream`` runs the same job through the async layer instead of the synchronous
    stage pipeline: file -> :class:`~livekit_audio.AudioSource` (``realtime=False``) ->
    :class:`~livekit_audio.LocalAudioTrack` -> :class:`~livekit_audio.AudioStream`
    (rate and channel conversion, and an :class:`~livekit_audio.ApmProcessor` as its
    ``noise_cancellation`` when ``--hpf/--ns/--agc`` are given) -> file. See
    :func:`stream_file_frames` for how it differs from ``direct``.
``livekit-audio demo [-o OUT]``
    The same on a short speech clip shipped with the package, resampled to 48 kHz and
    written to ``livekit-audio-demo-48k.wav`` in the current directory.

Both print one summary line on stdout. Errors print one line starting
``livekit-audio: error:`` on stderr and exit with status 2.

The processing is a list of *stages* (see :class:`Stage`) run by :func:`run_pipeline`, so
further stages (high-pass filter, noise suppression, gain control, echo cancellation) slot
in without touching the file I/O.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.resources
import logging
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, NoReturn, Protocol, Sequence

import numpy as np

from livekit_audio import __version__
from livekit_audio import apm as _apm_limits
from livekit_audio.apm import (
    AGC_TARGET_RANGE_DBFS,
    AudioProcessingModule,
    NoiseSuppressionLevel,
)
from livekit_audio.apm_processor import ApmStage
from livekit_audio.audio_frame import AudioFrame
from livekit_audio.cli_devices import DeviceCommandError, add_device_commands
from livekit_audio.convert import StreamConverter
from livekit_audio.resampler import (
    MAX_CHANNELS,
    MAX_SAMPLE_RATE_HZ,
    MIN_SAMPLE_RATE_HZ,
    AudioResamplerQuality,
)

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    import soundfile

    from livekit_audio.codecs.files import AudioFileReader

__all__ = [
    "CLIError",
    "DEMO_CLIP",
    "DEMO_OUTPUT",
    "ENGINES",
    "ProcessResult",
    "Stage",
    "build_parser",
    "build_stages",
    "demo_clip",
    "format_summary",
    "main",
    "process_file",
    "read_frames",
    "run_pipeline",
    "stream_file_frames",
]

PROG = "livekit-audio"

#: Exit status of every error the command reports itself (argparse uses the same).
EXIT_ERROR = 2

#: Sample rates and channel counts the resampler accepts (checked early for a clear message).
MIN_RATE_HZ = MIN_SAMPLE_RATE_HZ
MAX_RATE_HZ = MAX_SAMPLE_RATE_HZ

#: Largest frame length accepted by ``--frame-ms``.
MAX_FRAME_MS = 1000.0

#: The speech clip shipped for ``livekit-audio demo`` (see ``livekit_audio/data/NOTICE``).
DEMO_CLIP = "allison_demo-echotest_16k.flac"

#: Default output file of ``livekit-audio demo``, written in the current directory.
DEMO_OUTPUT = "livekit-audio-demo-48k.wav"

#: Output sample rate of ``livekit-audio demo``.
DEMO_RATE_HZ = 48000

#: Files shorter than this (seconds) get no progress bar.
PROGRESS_MIN_SECONDS = 5.0

#: Roughly how much audio is read from the input per call, in seconds.
_READ_BLOCK_SECONDS = 1.0

_QUALITIES = tuple(q.value for q in AudioResamplerQuality)

#: Values of ``--engine``: the synchronous stage pipeline, or the async track/stream layer.
ENGINES = ("direct", "stream")


class CLIError(Exception):
    """An error the command reports as one ``livekit-audio: error: ...`` line, exit status 2."""


class _ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line, in the command's own error format."""

    def error(self, message: str) -> NoReturn:
        """Print ``livekit-audio: error: MESSAGE`` on stderr and exit with status 2.

        Parameters
        ----------
        message : str
            The argparse error message.

        Raises
        ------
        SystemExit
            Always, with status 2.
        """
        _print_error(f"{message} (see '{self.prog} --help')")
        raise SystemExit(EXIT_ERROR)


class Stage(Protocol):
    """One processing step of the pipeline: frames in, frames out, a tail on flush.

    :class:`~livekit_audio.convert.StreamConverter` and
    :class:`~livekit_audio.AudioResampler` are stages as they are. A stage may hold samples back
    (return fewer or no frames from :meth:`push`) and must return them from :meth:`flush`.
    """

    def push(self, frame: AudioFrame) -> list[AudioFrame]:
        """Process one frame and return the frames that are ready (possibly none)."""
        ...

    def flush(self) -> list[AudioFrame]:
        """Return whatever is held back at the end of the stream."""
        ...


def _push_through(frames: list[AudioFrame], stages: Sequence[Stage]) -> list[AudioFrame]:
    for stage in stages:
        if not frames:
            break
        frames = [out for frame in frames for out in stage.push(frame)]
    return frames


def run_pipeline(frames: Iterable[AudioFrame], stages: Sequence[Stage]) -> Iterator[AudioFrame]:
    """Stream frames through stages in order, then flush each stage in turn.

    Each input frame goes to the first stage; whatever a stage returns goes to the next.
    At the end, stage ``i`` is flushed and its tail goes through stages ``i+1...``, which are
    flushed after it, so no held-back sample is lost.

    Parameters
    ----------
    frames : iterable of AudioFrame
        The input stream.
    stages : sequence of Stage
        Objects with ``push(frame) -> list[AudioFrame]`` and ``flush() -> list[AudioFrame]``.
        An empty sequence passes the frames through.

    Returns
    -------
    iterator of AudioFrame
        The output frames, produced as the input is consumed (a generator).

    Raises
    ------
    Exception
        Whatever a stage or the input iterator raises.
    """
    for frame in frames:
        yield from _push_through([frame], stages)
    for i, stage in enumerate(stages):
        yield from _push_through(stage.flush(), stages[i + 1 :])


def read_frames(
    sound_file: soundfile.SoundFile,
    frame_length: int,
    *,
    on_block: Callable[[int], object] | None = None,
) -> Iterator[AudioFrame]:
    """Read an open ``soundfile.SoundFile`` block by block as int16 frames.

    Parameters
    ----------
    sound_file : soundfile.SoundFile
        Opened for reading; read from its current position to the end.
    frame_length : int
        Samples per channel in each frame, >= 1. The last frame may be shorter.
    on_block : callable, optional
        Called with the number of samples per channel of each block read (for progress).

    Returns
    -------
    iterator of AudioFrame
        Frames at the file's rate with its channel count (a generator). Roughly one second
        of audio is read per call, never the whole file.

    Raises
    ------
    ValueError
        If ``frame_length`` < 1.
    soundfile.LibsndfileError
        If the file cannot be decoded.
    """
    if frame_length < 1:
        raise ValueError(f"frame_length must be >= 1, got {frame_length}")
    rate = int(sound_file.samplerate)
    frames_per_block = max(1, round(_READ_BLOCK_SECONDS * rate / frame_length))
    block_length = frames_per_block * frame_length
    while True:
        block = sound_file.read(block_length, dtype="int16", always_2d=True)
        n = block.shape[0]
        if n == 0:
            return
        if on_block is not None:
            on_block(n)
        block = np.ascontiguousarray(block)
        for start in range(0, n, frame_length):
            yield AudioFrame.from_ndarray(block[start : start + frame_length], rate)
        if n < block_length:
            return


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


def _apm_delay_samples(apm_options: dict[str, object], rate: int, channels: int) -> int:
    """The delay (samples at ``rate``) an APM with these options adds, from a scratch module."""
    from livekit_audio.apm import AudioProcessingModule

    probe = AudioProcessingModule(**apm_options)  # type: ignore[arg-type]
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
    apm_options: dict[str, object] | None = None,
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


@dataclass(frozen=True)
class ProcessResult:
    """What :func:`process_file` did.

    Attributes
    ----------
    input_rate, output_rate : int
        Sample rates in Hz.
    input_channels, output_channels : int
        Channel counts.
    input_samples, output_samples : int
        Samples per channel read and written.
    wall_seconds : float
        Processing wall time (reading, processing and writing).
    engine : str
        ``"direct"`` (stage pipeline) or ``"stream"`` (AudioSource -> track -> AudioStream).
    """

    input_rate: int
    output_rate: int
    input_channels: int
    output_channels: int
    input_samples: int
    output_samples: int
    wall_seconds: float
    engine: str = "direct"

    @property
    def duration(self) -> float:
        """Input duration in seconds."""
        return self.input_samples / self.input_rate

    @property
    def real_time_factor(self) -> float:
        """Wall time divided by audio duration (``nan`` for empty input)."""
        return self.wall_seconds / self.duration if self.input_samples else math.nan


def format_summary(name: str, result: ProcessResult) -> str:
    """The one-line summary printed after processing.

    Parameters
    ----------
    name : str
        How to call the input, e.g. its path.
    result : ProcessResult
        What was done.

    Returns
    -------
    str
        E.g. ``"in.wav: 16000 Hz -> 48000 Hz, 1 ch, 73.30 s in 0.21 s (real-time factor
        0.0029)"``; the channel count is the output's. The stream engine adds
        ``", via AudioStream"`` inside the parentheses.
    """
    rtf = result.real_time_factor
    rtf_text = "n/a" if math.isnan(rtf) else f"{rtf:.4f}"
    via = ", via AudioStream" if result.engine == "stream" else ""
    return (
        f"{name}: {result.input_rate} Hz -> {result.output_rate} Hz, "
        f"{result.output_channels} ch, {result.duration:.2f} s in {result.wall_seconds:.2f} s "
        f"(real-time factor {rtf_text}{via})"
    )


def _print_error(message: str) -> None:
    one_line = " ".join(str(message).split())
    print(f"{PROG}: error: {one_line}", file=sys.stderr, flush=True)


def _stderr_is_tty() -> bool:
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):  # closed or detached stream
        return False


def _parse_quality(text: str) -> AudioResamplerQuality:
    value = text.strip().lower().replace("-", "_")
    if value not in _QUALITIES:
        raise CLIError(f"invalid quality {text!r}: choose from {', '.join(_QUALITIES)}")
    return AudioResamplerQuality(value)


def _check_rate(what: str, rate: int) -> None:
    if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        raise CLIError(
            f"{what} {rate} Hz is not supported (must be within {MIN_RATE_HZ}..{MAX_RATE_HZ} Hz)"
        )


def _check_frame_ms(frame_ms: float) -> None:
    if not (math.isfinite(frame_ms) and 0 < frame_ms <= MAX_FRAME_MS):
        raise CLIError(f"--frame-ms must be > 0 and <= {MAX_FRAME_MS:g}, got {frame_ms:g}")


def _open_input(path: str) -> AudioFileReader:
    """The input decoded by ``livekit_audio.codecs`` (WAV, MP3, AAC, Ogg Opus/Vorbis, FLAC,
    WebM, MP4, G.711 WAV, ...; anything else libsndfile reads)."""
    from livekit_audio.codecs._base import DecodeError
    from livekit_audio.codecs.files import AudioFileReader

    if not os.path.exists(path):
        raise CLIError(f"{path}: no such file")
    if os.path.isdir(path):
        raise CLIError(f"{path}: is a directory, expected an audio file")
    try:
        return AudioFileReader(path)
    except DecodeError as exc:
        raise CLIError(f"cannot read {path}: {exc}") from None
    except (OSError, RuntimeError, ValueError, TypeError) as exc:
        raise CLIError(f"cannot read {path}: {exc}") from None


def _output_format(
    path: str, rate: int | None = None, channels: int | None = None
) -> tuple[str, str]:
    """(libsndfile format, subtype) for ``path``: 16-bit PCM, or Vorbis / Opus / MP3 for
    ``.ogg`` / ``.opus`` / ``.mp3`` (see ``livekit_audio.codecs.files.output_encoding``)."""
    from livekit_audio.codecs.files import output_encoding

    try:
        return output_encoding(path, rate, channels)
    except ValueError as exc:
        raise CLIError(f"cannot write {path}: {exc}") from None


def _open_output(path: str, rate: int, channels: int) -> soundfile.SoundFile:
    import soundfile as sf

    fmt, subtype = _output_format(path, rate, channels)
    if os.path.isdir(path):
        raise CLIError(f"cannot write {path}: is a directory")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise CLIError(f"cannot write {path}: directory {parent} does not exist")
    existed = os.path.lexists(path)
    try:
        return sf.SoundFile(
            path, "w", samplerate=rate, channels=channels, format=fmt, subtype=subtype
        )
    except (sf.SoundFileError, OSError, RuntimeError, ValueError, TypeError) as exc:
        if not existed:  # libsndfile may leave an empty file behind
            _remove_quietly(path)
        if isinstance(exc, sf.LibsndfileError):
            reason = exc.error_string.strip()
            if reason.rstrip(".") == "System error":
                reason = _write_failure(path, "permission denied or not writable")
        else:
            reason = str(exc)
        raise CLIError(f"cannot write {path}: {reason}") from None


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def build_stages(
    input_rate: int,
    output_rate: int,
    input_channels: int,
    output_channels: int,
    *,
    quality: AudioResamplerQuality | str = AudioResamplerQuality.MEDIUM,
    name: str = "input",
    apm_options: dict[str, object] | None = None,
    aec_reference: str | None = None,
    stream_delay_ms: int | None = None,
) -> list[Stage]:
    """The processing stages for one stream, in order.

    First a :class:`~livekit_audio.convert.StreamConverter` (rate and channel conversion:
    down-mixing before the resampler and up-mixing after it, so the resampler handles the
    fewest channels; every conversion :func:`~livekit_audio.channels.remix_channels` does).
    New stages (high-pass filter, noise suppression, gain control, echo cancellation) are
    added here.

    Parameters
    ----------
    input_rate, output_rate : int
        Sample rates in Hz.
    input_channels, output_channels : int
        Channel counts.
    quality : AudioResamplerQuality or str
        Resampler preset.
    name : str
        How to call the input in error messages.
    apm_options : dict, optional
        Keyword options of :class:`~livekit_audio.AudioProcessingModule`; when given, an
        :class:`~livekit_audio.apm_processor.ApmStage` runs last, at the output rate.

    Returns
    -------
    list of Stage
        Ready to pass to :func:`run_pipeline`.

    Raises
    ------
    CLIError
        On an unsupported channel count, or a rate pair the resampler rejects.
    """
    if output_channels > MAX_CHANNELS:
        raise CLIError(
            f"{name} has {input_channels} channels; at most {MAX_CHANNELS} output channels are "
            f"supported (use --channels N with N <= {MAX_CHANNELS} to down-mix)"
        )
    try:
        converter = StreamConverter(
            input_rate, input_channels, output_rate, output_channels, quality=quality
        )
    except ValueError as exc:
        if output_rate == input_rate:
            raise CLIError(f"{name}: {exc}") from None
        raise CLIError(
            f"cannot resample {input_rate} Hz -> {output_rate} Hz, unsupported rate pair ({exc})"
        ) from None
    stages: list[Stage] = [converter]
    if apm_options:
        low, high = _apm_limits.MIN_SAMPLE_RATE_HZ, _apm_limits.MAX_SAMPLE_RATE_HZ
        if not low <= output_rate <= high or output_channels > 2:
            raise CLIError(
                f"--hpf/--ns/--agc run at {low}-{high} Hz with "
                f"1 or 2 channels; the output is {output_rate} Hz, {output_channels} ch "
                "(choose --sample-rate/--channels accordingly)"
            )
        try:
            apm = AudioProcessingModule(**apm_options)
            if stream_delay_ms is not None:
                apm.set_stream_delay_ms(stream_delay_ms)
        except (TypeError, ValueError) as exc:
            raise CLIError(str(exc)) from None
        reverse = None if aec_reference is None else reference_frames(aec_reference, output_rate)
        stages.append(ApmStage(apm, reverse=reverse))
    return stages


def reference_frames(path: str, sample_rate: int) -> Iterator[AudioFrame]:
    """The far-end reference file as mono 10 ms frames at ``sample_rate`` (for --aec-reference).

    The file is read whole and converted by a :class:`~livekit_audio.convert.StreamConverter`
    (down-mixed to mono, resampled at MEDIUM quality); the last frame is zero-padded.

    Raises
    ------
    CLIError
        If the file is missing, unreadable or at an unsupported rate.
    """
    source = _open_input(path)
    with source:
        _check_rate(f"{path}: reference sample rate", int(source.samplerate))
        rate = int(source.samplerate)
        channels = int(source.channels)
        data = source.read(dtype="int16", always_2d=True)
    try:
        converter = StreamConverter(rate, channels, sample_rate, 1, sample_rate // 100)
    except ValueError as exc:
        raise CLIError(
            f"{path}: cannot convert the reference to {sample_rate} Hz ({exc})"
        ) from None
    frames = converter.push(data) + converter.flush(pad=True)
    return iter(frames)


def process_file(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    sample_rate: int | None = None,
    channels: int | None = None,
    quality: AudioResamplerQuality | str = AudioResamplerQuality.MEDIUM,
    frame_ms: float = 10.0,
    progress: bool | None = None,
    apm_options: dict[str, object] | None = None,
    engine: str = "direct",
    aec_reference: str | os.PathLike[str] | None = None,
    stream_delay_ms: int | None = None,
) -> ProcessResult:
    """Stream an audio file through rate and channel conversion (and the APM) into another file.

    Parameters
    ----------
    input_path : path-like
        Any file :class:`~livekit_audio.codecs.files.AudioFileReader` reads (our decoders,
        then libsndfile). It is read block by block as int16.
    output_path : path-like
        Written as 16-bit PCM in the format its extension names (``.wav``, ``.flac``, ...),
        or compressed: ``.ogg`` (Vorbis), ``.opus`` (Opus; 8/12/16/24/48 kHz), ``.mp3``.
        Removed again if processing fails after it was created.
    sample_rate : int, optional
        Output rate in Hz, within [1000, 768000]; default the input's (frames pass
        through the resampler unchanged).
    channels : int, optional
        Output channel count, 1 to 8; default the input's. Any input count converts
        (:func:`~livekit_audio.channels.remix_channels`): down-mixing averages input channels
        ``j, j + N, j + 2N, ...`` into output channel ``j`` (all of them into mono), up-mixing
        copies input channel ``j % n_in`` into output channel ``j`` (mono into every one).
    quality : AudioResamplerQuality or str
        Resampler preset (quick, low, medium, high, very_high; case-insensitive).
    frame_ms : float
        Frame length in milliseconds, > 0 and <= 1000; frames hold
        ``round(input_rate * frame_ms / 1000)`` samples, the last one possibly fewer.
    progress : bool, optional
        Show a tqdm progress bar on stderr. Default: when stderr is a terminal and the
        input is at least 5 s long.
    apm_options : dict, optional
        Options of :class:`~livekit_audio.AudioProcessingModule` (high-pass filter, noise
        suppression, AGC) applied at the output rate, time-aligned with the input.
    engine : {"direct", "stream"}
        ``"direct"`` (default): the synchronous stage pipeline (:func:`build_stages`,
        :func:`run_pipeline`). ``"stream"``: through the async layer, AudioSource ->
        LocalAudioTrack -> AudioStream with an ApmProcessor (see :func:`stream_file_frames`);
        it resamples at MEDIUM quality only, so another ``quality`` is an error when the
        rate changes.

    Returns
    -------
    ProcessResult
        Rates, channel counts, sample counts and wall time.

    Raises
    ------
    CLIError
        On a missing, unreadable or corrupt input, an unwritable output or unknown output
        format, or an unsupported rate, ratio, channel count, quality, frame length or
        engine.
    """
    from tqdm import tqdm

    if engine not in ENGINES:
        raise CLIError(f"invalid engine {engine!r}: choose from {', '.join(ENGINES)}")

    in_path = os.fspath(input_path)
    out_path = os.fspath(output_path)
    if isinstance(quality, AudioResamplerQuality):
        quality_value = quality
    else:
        quality_value = _parse_quality(str(quality))
    _check_frame_ms(frame_ms)
    if aec_reference is not None:
        aec_reference = os.fspath(aec_reference)
        if engine != "direct":
            raise CLIError("--aec-reference needs --engine direct")
        apm_options = {**(apm_options or {}), "echo_cancellation": True}
    if stream_delay_ms is not None:
        if aec_reference is None:
            raise CLIError(
                "--stream-delay-ms is the echo canceller's delay hint and needs --aec-reference"
            )
        if not 0 <= stream_delay_ms <= 500:
            raise CLIError(f"--stream-delay-ms must be within 0..500, got {stream_delay_ms}")
    agc_target = (apm_options or {}).get("agc_target_level_dbfs")
    if agc_target is not None:
        low, high = AGC_TARGET_RANGE_DBFS
        if not low <= agc_target <= high:
            raise CLIError(
                f"--agc target must be within {low:g}..{high:g} dBFS, got {agc_target:g}"
            )
    if sample_rate is not None:
        _check_rate("output sample rate", sample_rate)
    if channels is not None and not 1 <= channels <= MAX_CHANNELS:
        raise CLIError(f"--channels must be within 1..{MAX_CHANNELS}, got {channels}")
    _output_format(out_path)  # fail on a bad extension before reading anything
    if _same_file(in_path, out_path):
        raise CLIError(f"output {out_path} is the input file; choose another output path")

    start = time.perf_counter()
    source = _open_input(in_path)
    with source:
        in_rate = int(source.samplerate)
        in_channels = int(source.channels)
        total_in = int(source.frames)
        _check_rate(f"{in_path}: input sample rate", in_rate)
        out_rate = in_rate if sample_rate is None else int(sample_rate)
        out_channels = in_channels if channels is None else int(channels)
        if (
            engine == "stream"
            and out_rate != in_rate
            and quality_value is not AudioResamplerQuality.MEDIUM
        ):
            raise CLIError(
                f"--quality {quality_value.value} needs --engine direct: AudioStream resamples "
                "at medium quality"
            )
        frame_length = round(in_rate * frame_ms / 1000)
        if frame_length < 1:
            raise CLIError(
                f"--frame-ms {frame_ms:g} gives frames of 0 samples at {in_rate} Hz"
            )
        stages = build_stages(  # the stream engine builds them only to validate the job
            in_rate,
            out_rate,
            in_channels,
            out_channels,
            quality=quality_value,
            name=in_path,
            apm_options=apm_options,
            aec_reference=aec_reference,
            stream_delay_ms=stream_delay_ms,
        )

        duration = total_in / in_rate
        show = (
            _stderr_is_tty() and duration >= PROGRESS_MIN_SECONDS
            if progress is None
            else progress
        )
        sink = _open_output(out_path, out_rate, out_channels)
        written = 0
        read = 0
        try:
            with sink, tqdm(
                total=round(duration, 2),
                unit="s",
                desc=os.path.basename(in_path),
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s "
                "[{elapsed}<{remaining}]",
                disable=not show,
                leave=False,
                file=sys.stderr,
            ) as bar:

                def on_block(n: int) -> None:
                    nonlocal read
                    read += n
                    bar.update(n / in_rate)

                frames = read_frames(source, frame_length, on_block=on_block)
                if engine == "stream":
                    written = asyncio.run(
                        stream_file_frames(
                            frames,
                            sink.write,
                            input_rate=in_rate,
                            input_channels=in_channels,
                            output_rate=out_rate,
                            output_channels=out_channels,
                            apm_options=apm_options,
                        )
                    )
                else:
                    for frame in run_pipeline(frames, stages):
                        sink.write(frame.to_ndarray())
                        written += frame.samples_per_channel
        except BaseException as exc:
            _remove_quietly(out_path)
            if isinstance(exc, CLIError):
                raise
            from livekit_audio.codecs._base import DecodeError

            if isinstance(exc, DecodeError):  # corrupt or truncated: never a shorter output
                raise CLIError(f"processing {in_path} failed: {exc}") from None
            import soundfile as sf

            if isinstance(exc, sf.LibsndfileError):
                reason = _write_failure(out_path, exc.error_string)
                raise CLIError(f"processing {in_path} failed: {reason}") from None
            if isinstance(exc, (sf.SoundFileError, OSError)):
                raise CLIError(f"processing {in_path} failed: {exc}") from None
            raise
    wall = time.perf_counter() - start
    return ProcessResult(
        input_rate=in_rate,
        output_rate=out_rate,
        input_channels=in_channels,
        output_channels=out_channels,
        input_samples=read,
        output_samples=written,
        wall_seconds=wall,
        engine=engine,
    )


#: Less free space than this where the output goes explains a failed write.
_LOW_SPACE_BYTES = 1 << 20


def _write_failure(out_path: str, reason: str) -> str:
    """libsndfile reports a failed write as "System error.": name the likely cause, a full
    disk, when the output's file system has (almost) no space left."""
    if reason.rstrip(".") != "System error" and "permission" not in reason:
        return reason
    parent = os.path.dirname(os.path.abspath(out_path))
    try:
        free = shutil.disk_usage(parent).free
    except OSError:
        return reason
    if free < _LOW_SPACE_BYTES:
        return (
            f"writing {out_path} failed: no space left on the device ({free} bytes free in "
            f"{parent})"
        )
    return f"writing {out_path} failed ({reason.rstrip('.')}): check permissions and space"


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def demo_clip() -> Traversable:
    """The speech clip shipped for ``livekit-audio demo``.

    Returns
    -------
    Traversable
        ``livekit_audio/data/allison_demo-echotest_16k.flac`` (22 s, 16 kHz, mono; voice
        Allison Smith, CC-BY-SA-3.0, see ``livekit_audio/data/NOTICE``). Use
        :func:`importlib.resources.as_file` to get a filesystem path.

    Raises
    ------
    CLIError
        If the clip is not installed with the package.
    """
    clip = importlib.resources.files("livekit_audio") / "data" / DEMO_CLIP
    if not clip.is_file():
        raise CLIError(f"the demo clip {DEMO_CLIP} is not installed with livekit_audio")
    return clip


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``livekit-audio`` command.

    Returns
    -------
    argparse.ArgumentParser
        With the ``process`` and ``demo`` sub-commands. Its usage errors print one line
        ``livekit-audio: error: ...`` and exit with status 2.
    """
    parser = _ArgumentParser(
        prog=PROG,
        description="Cython-accelerated audio DSP for real-time voice, on audio files.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    process = commands.add_parser(
        "process",
        help="stream an audio file through the processing stages into another file",
        description="Read IN frame by frame, convert channels and sample rate, write OUT "
        "(format from its extension: 16-bit PCM, or .ogg Vorbis, .opus, .mp3).",
    )
    process.add_argument(
        "input", metavar="IN",
        help="input audio file: WAV (PCM, float, mu-law, A-law), MP3, AAC, Ogg Opus/Vorbis, "
        "FLAC, WebM, MP4, or any other format libsndfile reads",
    )
    process.add_argument(
        "-o", "--output", metavar="OUT", required=True,
        help="output file; the format follows the extension: .wav, .flac, ... (16-bit PCM), "
        ".ogg (Vorbis), .opus (Opus), .mp3",
    )
    process.add_argument(
        "--sample-rate", metavar="HZ", type=int, default=None,
        help=f"output sample rate in Hz, {MIN_RATE_HZ}..{MAX_RATE_HZ} (default: the input's)",
    )
    process.add_argument(
        "--channels", metavar="N", type=int, default=None,
        help="output channels, 1..8: fewer average the input channels (input channel j goes "
        "to output j mod N), more repeat them (output j is input j mod n_in); default: the "
        "input's",
    )
    process.add_argument(
        "--quality", metavar="Q", default="medium",
        help=f"resampler quality: {', '.join(_QUALITIES)} (default: medium)",
    )
    process.add_argument(
        "--frame-ms", metavar="MS", type=float, default=10.0,
        help="frame length in milliseconds, > 0 and <= 1000 (default: 10)",
    )
    process.add_argument(
        "--hpf", action="store_true", help="high-pass filter at 100 Hz (hum, rumble)"
    )
    process.add_argument(
        "--ns", metavar="LEVEL", nargs="?", const="high", default=None,
        help="noise suppression; LEVEL low, moderate, high or very_high (default: high). "
        "Write --ns=LEVEL before IN, or put --ns after IN",
    )
    process.add_argument(
        "--agc", metavar="TARGET_DBFS", nargs="?", type=float, const=-18.0, default=None,
        help="automatic gain control toward TARGET_DBFS active speech level (default: -18)",
    )
    process.add_argument(
        "--aec-reference", metavar="FAR", default=None,
        help="echo cancellation: FAR is what was played out while IN was recorded (any rate "
        "and channel count; resampled and down-mixed), fed 10 ms at a time in step with IN",
    )
    process.add_argument(
        "--stream-delay-ms", metavar="MS", type=int, default=None,
        help="with --aec-reference: where FAR's echo starts in IN, 0..500 ms (a hint; the "
        "delay is estimated anyway)",
    )
    process.add_argument(
        "--engine", choices=ENGINES, default="direct",
        help="direct (default): the synchronous stage pipeline. stream: through the async "
        "layer, AudioSource(realtime=False) -> LocalAudioTrack -> AudioStream (rate/channel "
        "conversion, --hpf/--ns/--agc as an ApmProcessor); medium resampler quality only; the "
        "processor's 10 ms delay is compensated by capturing silence after the input and "
        "trimming, so the output has the direct engine's length and timing",
    )

    demo = commands.add_parser(
        "demo",
        help="resample a short speech clip shipped with the package to 48 kHz",
        description=f"Resample the bundled speech clip {DEMO_CLIP} to {DEMO_RATE_HZ} Hz and "
        "write it to the current directory.",
    )
    demo.add_argument(
        "-o", "--output", metavar="OUT", default=DEMO_OUTPUT,
        help=f"output file (default: {DEMO_OUTPUT} in the current directory)",
    )
    add_device_commands(commands)
    return parser


def _apm_options(args: argparse.Namespace) -> dict[str, object] | None:
    options: dict[str, object] = {}
    if args.hpf:
        options["high_pass_filter"] = True
    if args.ns is not None:
        level = str(args.ns).strip().lower().replace("-", "_")
        choices = [x.value for x in NoiseSuppressionLevel]
        if level not in choices:
            raise CLIError(f"invalid --ns level {args.ns!r}: choose from {', '.join(choices)}")
        options.update(noise_suppression=True, noise_suppression_level=level)
    if args.agc is not None:
        options.update(auto_gain_control=True, agc_target_level_dbfs=args.agc)
    return options or None


def _run(args: argparse.Namespace) -> int:
    handler = getattr(args, "handler", None)
    if handler is not None:  # devices, record, play (livekit_audio/cli_devices.py)
        return int(handler(args))
    if args.command == "process":
        result = process_file(
            args.input,
            args.output,
            sample_rate=args.sample_rate,
            channels=args.channels,
            quality=args.quality,
            frame_ms=args.frame_ms,
            apm_options=_apm_options(args),
            engine=args.engine,
            aec_reference=args.aec_reference,
            stream_delay_ms=args.stream_delay_ms,
        )
        name = args.input
    else:
        clip = demo_clip()
        with importlib.resources.as_file(clip) as clip_path:
            result = process_file(clip_path, args.output, sample_rate=DEMO_RATE_HZ)
        name = DEMO_CLIP
    print(format_summary(name, result), flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``livekit-audio`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: 0 on success, 2 on any error (one ``livekit-audio: error: ...`` line
        on stderr), 130 when interrupted.

    Raises
    ------
    Exception
        Only on a bug: every expected failure is reported and turned into status 2.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already reported
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        return _run(args)
    except (CLIError, DeviceCommandError) as exc:
        _print_error(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr, flush=True)
        return 130
