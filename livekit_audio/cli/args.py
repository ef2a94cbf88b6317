"""The command line: the ``livekit-audio`` argument parser and what its options turn into."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from livekit_audio import __version__
from livekit_audio.apm import NoiseSuppressionLevel
from livekit_audio.cli.demo import DEMO_CLIP, DEMO_OUTPUT, DEMO_RATE_HZ
from livekit_audio.cli.devices import add_device_commands
from livekit_audio.cli.errors import EXIT_ERROR, PROG, CLIError, print_error
from livekit_audio.cli.options import DENOISERS, ENGINES, MAX_RATE_HZ, MIN_RATE_HZ, QUALITIES

__all__ = ["apm_options_from_args", "build_parser"]


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
        print_error(f"{message} (see '{self.prog} --help')")
        raise SystemExit(EXIT_ERROR)


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
        "input",
        metavar="IN",
        help="input audio file: WAV (PCM, float, mu-law, A-law), MP3, AAC, Ogg Opus/Vorbis, "
        "FLAC, WebM, MP4, or any other format libsndfile reads",
    )
    process.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        required=True,
        help="output file; the format follows the extension: .wav, .flac, ... (16-bit PCM), "
        ".ogg (Vorbis), .opus (Opus), .mp3",
    )
    process.add_argument(
        "--sample-rate",
        metavar="HZ",
        type=int,
        default=None,
        help=f"output sample rate in Hz, {MIN_RATE_HZ}..{MAX_RATE_HZ} (default: the input's)",
    )
    process.add_argument(
        "--channels",
        metavar="N",
        type=int,
        default=None,
        help="output channels, 1..8: fewer average the input channels (input channel j goes "
        "to output j mod N), more repeat them (output j is input j mod n_in); default: the "
        "input's",
    )
    process.add_argument(
        "--quality",
        metavar="Q",
        default="medium",
        help=f"resampler quality: {', '.join(QUALITIES)} (default: medium)",
    )
    process.add_argument(
        "--frame-ms",
        metavar="MS",
        type=float,
        default=10.0,
        help="frame length in milliseconds, > 0 and <= 1000 (default: 10)",
    )
    process.add_argument(
        "--hpf", action="store_true", help="high-pass filter at 100 Hz (hum, rumble)"
    )
    process.add_argument(
        "--ns",
        metavar="LEVEL",
        nargs="?",
        const="high",
        default=None,
        help="noise suppression; LEVEL low, moderate, high or very_high (default: high). "
        "Write --ns=LEVEL before IN, or put --ns after IN",
    )
    process.add_argument(
        "--agc",
        metavar="TARGET_DBFS",
        nargs="?",
        type=float,
        const=-18.0,
        default=None,
        help="automatic gain control toward TARGET_DBFS active speech level (default: -18)",
    )
    process.add_argument(
        "--denoise",
        metavar="MODEL",
        choices=DENOISERS,
        default=None,
        help="neural noise suppression through a filter plug-in, before --hpf/--ns/--agc: "
        "deepfilternet (DeepFilterNet3; pip install 'livekit-audio[deepfilternet]') or rnnoise "
        "(pip install 'livekit-audio[rnnoise]'); mono output only, --engine direct",
    )
    process.add_argument(
        "--aec-reference",
        metavar="FAR",
        default=None,
        help="echo cancellation: FAR is what was played out while IN was recorded (any rate "
        "and channel count; resampled and down-mixed), fed 10 ms at a time in step with IN",
    )
    process.add_argument(
        "--stream-delay-ms",
        metavar="MS",
        type=int,
        default=None,
        help="with --aec-reference: where FAR's echo starts in IN, 0..500 ms (a hint; the "
        "delay is estimated anyway)",
    )
    process.add_argument(
        "--engine",
        choices=ENGINES,
        default="direct",
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
        "-o",
        "--output",
        metavar="OUT",
        default=DEMO_OUTPUT,
        help=f"output file (default: {DEMO_OUTPUT} in the current directory)",
    )
    add_device_commands(commands)
    return parser


def apm_options_from_args(args: argparse.Namespace) -> dict[str, Any] | None:
    """The :class:`~livekit_audio.AudioProcessingModule` options ``--hpf/--ns/--agc`` ask for.

    Returns
    -------
    dict or None
        Keyword options for the APM, or None when none of those options was given.

    Raises
    ------
    CLIError
        On an unknown ``--ns`` level.
    """
    options: dict[str, Any] = {}
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
