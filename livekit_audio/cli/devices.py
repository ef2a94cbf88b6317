"""The ``livekit-audio devices``, ``record`` and ``play`` commands: audio devices from the shell.

Sub-commands (added to the ``livekit-audio`` parser by :func:`add_device_commands`)
-----------------------------------------------------------------------------------
``livekit-audio devices``
    List PortAudio's input and output devices: index, name, channels, default rate, host
    API; ``*`` marks the defaults.
``livekit-audio record OUT --seconds S [--ns] [--aec] [--play IN] [--device N] ...``
    Capture ``S`` seconds from an input device through
    :meth:`MediaDevices.open_input <livekit_audio.devices.MediaDevices.open_input>` (noise
    suppression with ``--ns``; echo cancellation with ``--aec``, of what ``--play IN`` plays
    meanwhile through the same MediaDevices) and write them to ``OUT`` (16-bit PCM, format
    from the extension).
``livekit-audio play IN [--device N]``
    Play a file (any format soundfile reads, any rate and channel count) on an output
    device through :meth:`MediaDevices.open_output
    <livekit_audio.devices.MediaDevices.open_output>`: file -> AudioSource -> LocalAudioTrack
    -> OutputPlayer.

Each prints one summary line on stdout, with a tqdm progress bar on stderr when it is a
terminal. Failures raise :class:`DeviceCommandError`, which the ``livekit-audio`` command
reports as one ``livekit-audio: error: ...`` line with exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
from dataclasses import dataclass
from typing import Any

import soundfile

from livekit_audio.audio_frame import AudioFrame
from livekit_audio.devices import DeviceError, MediaDevices, OutputPlayer
from livekit_audio.rtc.audio_source import AudioSource
from livekit_audio.rtc.track import LocalAudioTrack

__all__ = [
    "DEVICE_COMMANDS",
    "DeviceCommandError",
    "PlayResult",
    "RecordResult",
    "add_device_commands",
    "format_device_list",
    "play_file",
    "record_file",
    "run_devices",
    "run_play",
    "run_record",
]

#: The sub-commands this module adds.
DEVICE_COMMANDS = ("devices", "record", "play")

#: Audio given to the player's source per call when playing a file, in ms: long enough that
#: the source's pacing error per frame is small, short enough that the mixer never waits.
_PLAY_FRAME_MS = 50

#: Errors of the device layer and of files that become one-line command errors.
_EXPECTED_ERRORS = (DeviceError, ImportError, ValueError, TypeError, soundfile.LibsndfileError)


class DeviceCommandError(Exception):
    """A device command failed for an expected reason (no device, bad argument, unreadable
    file). The ``livekit-audio`` command prints it as ``livekit-audio: error: MESSAGE`` and
    exits with status 2."""


@dataclass(frozen=True)
class RecordResult:
    """What :func:`record_file` wrote.

    Attributes
    ----------
    path : str
        The output file.
    sample_rate : int
        Hz.
    num_channels : int
        Channels written.
    frames : int
        Samples per channel written (``seconds * sample_rate``, rounded).
    device : dict
        The input device, as :meth:`MediaDevices.list_input_devices` describes it.
    dropped_blocks, overflows : int
        Blocks lost on the way (see :class:`~livekit_audio.devices.CaptureStats`); 0 on a
        healthy system.
    echo_delay_ms : float or None
        With echo cancellation: the echo path delay (measured by the canceller, else
        estimated from PortAudio's latencies).
    """

    path: str
    sample_rate: int
    num_channels: int
    frames: int
    device: dict[str, Any]
    dropped_blocks: int
    overflows: int
    echo_delay_ms: float | None

    @property
    def duration_s(self) -> float:
        """Seconds written."""
        return self.frames / self.sample_rate


@dataclass(frozen=True)
class PlayResult:
    """What :func:`play_file` played.

    Attributes
    ----------
    path : str
        The input file.
    duration_s : float
        Seconds of audio in the file, all played.
    device : dict
        The output device, as :meth:`MediaDevices.list_output_devices` describes it.
    sample_rate : int
        The device's rate in Hz (the file was resampled to it when they differ).
    underflows, starved_blocks : int
        Gaps heard (see :class:`~livekit_audio.devices.PlaybackStats`); 0 on a healthy
        system.
    """

    path: str
    duration_s: float
    device: dict[str, Any]
    sample_rate: int
    underflows: int
    starved_blocks: int


# -- argument parsing ---------------------------------------------------------------------


def _device_arg(text: str) -> int | str:
    """``--device``: an index, or a substring of a device name."""
    text = text.strip()
    return int(text) if text.lstrip("-").isdigit() else text


def add_device_commands(subparsers: Any) -> None:
    """Add the ``devices``, ``record`` and ``play`` sub-commands to a parser.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What ``parser.add_subparsers()`` returned. Each sub-command sets ``handler`` in its
        namespace: call ``args.handler(args)``, which returns the exit status (0) or raises
        :class:`DeviceCommandError`.
    """
    devices = subparsers.add_parser(
        "devices",
        help="list audio input and output devices (PortAudio)",
        description="List PortAudio's input and output devices; * marks the defaults.",
    )
    devices.set_defaults(handler=run_devices)

    record = subparsers.add_parser(
        "record",
        help="record from an input device into a file",
        description="Capture from an input device for --seconds and write OUT (16-bit PCM, "
        "format from its extension).",
    )
    record.add_argument("output", metavar="OUT", help="file to write (.wav, .flac, ...)")
    record.add_argument(
        "--seconds", metavar="S", type=float, required=True, help="how long to record, > 0"
    )
    record.add_argument("--ns", action="store_true", help="noise suppression")
    record.add_argument(
        "--aec",
        action="store_true",
        help="echo cancellation of what is played meanwhile through --play",
    )
    record.add_argument(
        "--play",
        metavar="IN",
        default=None,
        help="play IN on the output device while recording (the far end --aec cancels)",
    )
    record.add_argument(
        "--device",
        metavar="N",
        type=_device_arg,
        default=None,
        help="input device: index or name (default: the default input; see 'devices')",
    )
    record.add_argument(
        "--output-device",
        metavar="N",
        type=_device_arg,
        default=None,
        help="with --play: output device, index or name (default: the default output)",
    )
    record.add_argument(
        "--sample-rate",
        metavar="HZ",
        type=int,
        default=48000,
        help="device rate in Hz (default: 48000)",
    )
    record.add_argument(
        "--channels", metavar="N", type=int, default=1, help="channels to record (default: 1)"
    )
    record.set_defaults(handler=run_record)

    play = subparsers.add_parser(
        "play",
        help="play a file on an output device",
        description="Play IN (any format soundfile reads, any rate and channel count) on an "
        "output device.",
    )
    play.add_argument("input", metavar="IN", help="audio file to play")
    play.add_argument(
        "--device",
        metavar="N",
        type=_device_arg,
        default=None,
        help="output device: index or name (default: the default output; see 'devices')",
    )
    play.add_argument(
        "--sample-rate",
        metavar="HZ",
        type=int,
        default=48000,
        help="device rate in Hz (default: 48000); the file is resampled to it",
    )
    play.set_defaults(handler=run_play)


def _progress_default() -> bool:
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):  # closed or detached stream
        return False


# -- devices ------------------------------------------------------------------------------


def format_device_list(media: MediaDevices | None = None) -> str:
    """The ``devices`` listing: one line per device, inputs then outputs.

    Raises
    ------
    ImportError
        Without sounddevice or PortAudio.
    """
    media = media or MediaDevices()
    lines = []
    for kind, devices, default in (
        ("input", media.list_input_devices(), media.default_input_device()),
        ("output", media.list_output_devices(), media.default_output_device()),
    ):
        lines.append(f"{kind} devices (* default):")
        if not devices:
            lines.append("  (none)")
        for d in devices:
            mark = "*" if d["index"] == default else " "
            lines.append(
                f"{mark} {d['index']:>3}  {d['name']}  {d['channels']} ch  "
                f"{d['sample_rate']} Hz  {d['host_api']}"
            )
    return "\n".join(lines)


def run_devices(args: argparse.Namespace) -> int:
    """``livekit-audio devices``: print the device list; returns 0.

    Raises
    ------
    DeviceCommandError
        Without sounddevice or PortAudio.
    """
    try:
        print(format_device_list(), flush=True)
    except _EXPECTED_ERRORS as exc:
        raise DeviceCommandError(str(exc)) from exc
    return 0


# -- play ---------------------------------------------------------------------------------


async def _feed_file(source: AudioSource, sound: soundfile.SoundFile, frame_ms: int) -> None:
    """Capture the whole file into ``source`` (real time: its queue paces us)."""
    step = max(1, sound.samplerate * frame_ms // 1000)
    while True:
        block = sound.read(step, dtype="int16", always_2d=True)
        if not len(block):
            return
        await source.capture_frame(AudioFrame.from_ndarray(block, sound.samplerate))


async def _play(
    player: OutputPlayer, sound: soundfile.SoundFile, progress: Any
) -> tuple[AudioSource, asyncio.Task[None]]:
    """Start playing ``sound`` on ``player``; returns its source and the feeding task."""
    source = AudioSource(sound.samplerate, sound.channels)
    source.add_playout_listener(lambda frame: progress.update(frame.duration))
    await player.add_track(LocalAudioTrack.create_audio_track(sound.name, source))
    if not player.started:
        await player.start()
    task = asyncio.ensure_future(_feed_file(source, sound, _PLAY_FRAME_MS))
    return source, task


async def _finish_playing(player: OutputPlayer, source: AudioSource, task: Any) -> None:
    """Wait until the file has been played through the device, then end its track."""
    await task
    await source.wait_for_playout()
    await source.aclose()  # the track ends once its stream delivered everything
    await player.wait_for_playout()


def _open_sound(path: str) -> soundfile.SoundFile:
    try:
        return soundfile.SoundFile(path)
    except (soundfile.LibsndfileError, OSError) as exc:
        raise DeviceCommandError(f"cannot read {path}: {exc}") from None


def _tqdm(total: float, desc: str, show: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=round(total, 2),
        unit="s",
        desc=desc,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s [{elapsed}]",
        disable=not show,
        leave=False,
        file=sys.stderr,
    )


def play_file(
    path: str | os.PathLike[str],
    *,
    output_device: int | str | None = None,
    sample_rate: int = 48000,
    progress: bool | None = None,
) -> PlayResult:
    """Play an audio file on an output device, to the end (blocking; runs its own loop).

    Parameters
    ----------
    path : str or path-like
        Any format soundfile reads; any rate and 1-8 channels (resampled and remixed to the
        device's ``sample_rate`` and one channel per file channel, at most 2).
    output_device : int, str or None
        PortAudio index or name; None: the default output.
    sample_rate : int
        Device rate in Hz.
    progress : bool or None
        tqdm bar on stderr; default: when stderr is a terminal.

    Returns
    -------
    PlayResult

    Raises
    ------
    DeviceCommandError
        Unreadable file, no such device, a rate the device refuses, no PortAudio.
    """
    in_path = os.fspath(path)
    show = _progress_default() if progress is None else progress
    sound = _open_sound(in_path)

    async def run() -> PlayResult:
        with sound:
            duration = sound.frames / sound.samplerate
            media = MediaDevices(
                output_sample_rate=sample_rate, num_channels=min(sound.channels, 2)
            )
            player = media.open_output(output_device=output_device)
            try:
                with _tqdm(duration, os.path.basename(in_path), show) as bar:
                    source, task = await _play(player, sound, bar)
                    await _finish_playing(player, source, task)
            finally:
                await media.aclose()
            return PlayResult(
                in_path,
                duration,
                player.device,
                sample_rate,
                player.stats.underflows,
                player.stats.starved_blocks,
            )

    try:
        return asyncio.run(run())
    except _EXPECTED_ERRORS as exc:
        raise DeviceCommandError(str(exc)) from exc


def run_play(args: argparse.Namespace) -> int:
    """``livekit-audio play IN``: play the file, print a summary; returns 0.

    Raises
    ------
    DeviceCommandError
        See :func:`play_file`.
    """
    result = play_file(args.input, output_device=args.device, sample_rate=args.sample_rate)
    d = result.device
    print(
        f"{result.path}: {result.duration_s:.2f} s played on output device {d['index']} "
        f"({d['name']!r}) at {result.sample_rate} Hz; {result.underflows} underflows, "
        f"{result.starved_blocks} starved blocks",
        flush=True,
    )
    return 0


# -- record -------------------------------------------------------------------------------


def record_file(
    path: str | os.PathLike[str],
    seconds: float,
    *,
    noise_suppression: bool = False,
    echo_cancellation: bool = False,
    play: str | os.PathLike[str] | None = None,
    input_device: int | str | None = None,
    output_device: int | str | None = None,
    sample_rate: int = 48000,
    num_channels: int = 1,
    progress: bool | None = None,
) -> RecordResult:
    """Record ``seconds`` from an input device into a 16-bit PCM file (blocking).

    Parameters
    ----------
    path : str or path-like
        Output file; the format follows the extension.
    seconds : float
        Duration, > 0: exactly ``round(seconds * sample_rate)`` samples per channel are
        written.
    noise_suppression, echo_cancellation : bool
        Processing of the capture (high-pass filter and AGC stay off: the file keeps the
        input's level).
    play : str, path-like or None
        A file played on the output device meanwhile, through the same MediaDevices: the
        far end that echo cancellation removes.
    input_device, output_device : int, str or None
        PortAudio indices or names; None: the defaults.
    sample_rate : int
        Device rate in Hz (input and output).
    num_channels : int
        Channels recorded (1 or 2 with processing).
    progress : bool or None
        tqdm bar on stderr; default: when stderr is a terminal.

    Returns
    -------
    RecordResult

    Raises
    ------
    DeviceCommandError
        A bad duration, unwritable or unreadable file, no such device, a rate or channel
        count the device refuses, no PortAudio.
    """
    out_path = os.fspath(path)
    if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0):
        raise DeviceCommandError(f"--seconds must be a number > 0, got {seconds!r}")
    show = _progress_default() if progress is None else progress
    total = max(1, round(seconds * sample_rate))
    far = _open_sound(os.fspath(play)) if play is not None else None

    async def run() -> RecordResult:
        far_source: AudioSource | None = None
        far_task: asyncio.Task[None] | None = None
        media = MediaDevices(
            input_sample_rate=sample_rate,
            output_sample_rate=sample_rate,
            num_channels=num_channels,
        )
        try:
            capture = media.open_input(
                enable_aec=echo_cancellation,
                noise_suppression=noise_suppression,
                high_pass_filter=False,
                auto_gain_control=False,
                input_device=input_device,
            )
            try:
                sink = soundfile.SoundFile(
                    out_path, "w", sample_rate, num_channels, subtype="PCM_16"
                )
            except (soundfile.LibsndfileError, OSError, TypeError, ValueError) as exc:
                raise DeviceCommandError(f"cannot write {out_path}: {exc}") from None
            written = 0
            done = asyncio.Event()  # set once `total` samples are written
            with sink, _tqdm(total / sample_rate, os.path.basename(out_path), show) as bar:

                def on_frame(frame: AudioFrame) -> None:
                    nonlocal written
                    if written >= total:
                        return
                    samples = frame.to_ndarray()[: total - written]
                    sink.write(samples)
                    written += len(samples)
                    bar.update(len(samples) / sample_rate)
                    if written >= total:
                        done.set()

                capture.source.add_playout_listener(on_frame)
                if far is not None:
                    player = media.open_output(output_device=output_device)
                    far_source, far_task = await _play(player, far, _NoProgress())
                await done.wait()
            return RecordResult(
                out_path,
                sample_rate,
                num_channels,
                written,
                capture.device,
                capture.stats.dropped_blocks,
                capture.stats.overflows,
                capture.delay_estimator.delay_ms if echo_cancellation else None,
            )
        finally:
            if far_task is not None:
                far_task.cancel()
                await asyncio.gather(far_task, return_exceptions=True)
            if far_source is not None:
                await far_source.aclose()
            await media.aclose()
            if far is not None:
                far.close()

    try:
        return asyncio.run(run())
    except _EXPECTED_ERRORS as exc:
        raise DeviceCommandError(str(exc)) from exc


class _NoProgress:
    """A progress bar that shows nothing (the far end of ``record --play``)."""

    def update(self, n: float) -> None:
        """Ignore progress."""


def run_record(args: argparse.Namespace) -> int:
    """``livekit-audio record OUT --seconds S``: record, print a summary; returns 0.

    Raises
    ------
    DeviceCommandError
        See :func:`record_file`.
    """
    result = record_file(
        args.output,
        args.seconds,
        noise_suppression=args.ns,
        echo_cancellation=args.aec,
        play=args.play,
        input_device=args.device,
        output_device=args.output_device,
        sample_rate=args.sample_rate,
        num_channels=args.channels,
    )
    d = result.device
    stages = "".join(
        [", noise suppression" if args.ns else "", ", echo cancellation" if args.aec else ""]
    )
    delay = (
        f"; echo delay {result.echo_delay_ms:.1f} ms" if result.echo_delay_ms is not None else ""
    )
    print(
        f"{result.path}: {result.duration_s:.2f} s from input device {d['index']} "
        f"({d['name']!r}) at {result.sample_rate} Hz, {result.num_channels} ch{stages}"
        f"{delay}; {result.dropped_blocks} dropped blocks, {result.overflows} overflows",
        flush=True,
    )
    return 0
