"""``livekit-audio process``: :func:`process_file`, the :class:`ProcessResult` it returns and
the summary line printed from it (:func:`format_summary`)."""

from __future__ import annotations

import asyncio
import math
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

from livekit_audio.apm import AGC_TARGET_RANGE_DBFS
from livekit_audio.cli.errors import CLIError
from livekit_audio.cli.files import (
    open_input,
    open_output,
    output_format,
    read_frames,
    remove_quietly,
    same_file,
    write_failure,
)
from livekit_audio.cli.options import (
    ENGINES,
    check_frame_ms,
    check_rate,
    parse_quality,
)
from livekit_audio.cli.pipeline import build_stages, run_pipeline
from livekit_audio.cli.stream import stream_file_frames
from livekit_audio.resampler import MAX_CHANNELS, AudioResamplerQuality

__all__ = ["PROGRESS_MIN_SECONDS", "ProcessResult", "format_summary", "process_file"]

#: Files shorter than this (seconds) get no progress bar.
PROGRESS_MIN_SECONDS = 5.0


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


def _stderr_is_tty() -> bool:
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):  # closed or detached stream
        return False


def process_file(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    sample_rate: int | None = None,
    channels: int | None = None,
    quality: AudioResamplerQuality | str = AudioResamplerQuality.MEDIUM,
    frame_ms: float = 10.0,
    progress: bool | None = None,
    apm_options: dict[str, Any] | None = None,
    engine: str = "direct",
    aec_reference: str | os.PathLike[str] | None = None,
    stream_delay_ms: int | None = None,
    denoise: str | None = None,
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
    denoise : {"deepfilternet", "rnnoise"}, optional
        A neural noise suppressor from :mod:`livekit_audio.filters`, run at the output rate
        before the APM with its delay removed (:class:`~livekit_audio.FilterStage`); direct
        engine and mono output only. Its optional extra must be installed.

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
        quality_value = parse_quality(str(quality))
    check_frame_ms(frame_ms)
    if denoise is not None and engine != "direct":
        raise CLIError("--denoise needs --engine direct")
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
        check_rate("output sample rate", sample_rate)
    if channels is not None and not 1 <= channels <= MAX_CHANNELS:
        raise CLIError(f"--channels must be within 1..{MAX_CHANNELS}, got {channels}")
    output_format(out_path)  # fail on a bad extension before reading anything
    if same_file(in_path, out_path):
        raise CLIError(f"output {out_path} is the input file; choose another output path")

    start = time.perf_counter()
    source = open_input(in_path)
    with source:
        in_rate = int(source.samplerate)
        in_channels = int(source.channels)
        total_in = int(source.frames)
        check_rate(f"{in_path}: input sample rate", in_rate)
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
            raise CLIError(f"--frame-ms {frame_ms:g} gives frames of 0 samples at {in_rate} Hz")
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
            denoise=denoise,
        )

        duration = total_in / in_rate
        show = (
            _stderr_is_tty() and duration >= PROGRESS_MIN_SECONDS if progress is None else progress
        )
        sink = open_output(out_path, out_rate, out_channels)
        written = 0
        read = 0
        try:
            with (
                sink,
                tqdm(
                    total=round(duration, 2),
                    unit="s",
                    desc=os.path.basename(in_path),
                    bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s "
                    "[{elapsed}<{remaining}]",
                    disable=not show,
                    leave=False,
                    file=sys.stderr,
                ) as bar,
            ):

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
            remove_quietly(out_path)
            if isinstance(exc, CLIError):
                raise
            from livekit_audio.codecs._base import DecodeError

            if isinstance(exc, DecodeError):  # corrupt or truncated: never a shorter output
                raise CLIError(f"processing {in_path} failed: {exc}") from None
            import soundfile as sf

            if isinstance(exc, sf.LibsndfileError):
                reason = write_failure(out_path, exc.error_string)
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
