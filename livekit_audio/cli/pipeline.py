"""The synchronous stage pipeline: the :class:`Stage` protocol, the stages of one job
(:func:`build_stages`), the far-end reference they may need, and :func:`run_pipeline`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from livekit_audio import apm as _apm_limits
from livekit_audio.apm import AudioProcessingModule
from livekit_audio.apm_processor import ApmStage
from livekit_audio.audio_frame import AudioFrame
from livekit_audio.cli.errors import CLIError
from livekit_audio.cli.files import open_input
from livekit_audio.cli.options import check_rate
from livekit_audio.convert import StreamConverter
from livekit_audio.filter_processor import FilterStage
from livekit_audio.resampler import MAX_CHANNELS, AudioResamplerQuality

__all__ = ["Stage", "build_stages", "reference_frames", "run_pipeline"]


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


def build_stages(
    input_rate: int,
    output_rate: int,
    input_channels: int,
    output_channels: int,
    *,
    quality: AudioResamplerQuality | str = AudioResamplerQuality.MEDIUM,
    name: str = "input",
    apm_options: dict[str, Any] | None = None,
    aec_reference: str | None = None,
    stream_delay_ms: int | None = None,
    denoise: str | None = None,
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
    denoise : str, optional
        ``"deepfilternet"`` or ``"rnnoise"``: a :class:`~livekit_audio.FilterStage` over that
        plug-in of :mod:`livekit_audio.filters` runs after the conversion (mono only).

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
    if denoise is not None:
        stages.append(_denoise_stage(denoise, output_channels))
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


def _denoise_stage(model: str, channels: int) -> Stage:
    """The ``--denoise`` stage; a CLIError when the model is unknown, its extra missing or
    the output not mono."""
    from livekit_audio import filters

    if model not in filters.PLUGIN_NAMES:
        raise CLIError(
            f"invalid --denoise model {model!r}: choose from {', '.join(filters.PLUGIN_NAMES)}"
        )
    if channels != 1:
        raise CLIError(f"--denoise {model} runs on mono audio: add --channels 1")
    try:
        processor = filters.deepfilternet() if model == "deepfilternet" else filters.rnnoise()
    except ImportError as exc:
        raise CLIError(str(exc)) from None
    return FilterStage(processor)


def reference_frames(path: str, sample_rate: int) -> Iterator[AudioFrame]:
    """The far-end reference file as mono 10 ms frames at ``sample_rate`` (for --aec-reference).

    The file is read whole and converted by a :class:`~livekit_audio.convert.StreamConverter`
    (down-mixed to mono, resampled at MEDIUM quality); the last frame is zero-padded.

    Raises
    ------
    CLIError
        If the file is missing, unreadable or at an unsupported rate.
    """
    source = open_input(path)
    with source:
        check_rate(f"{path}: reference sample rate", int(source.samplerate))
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
