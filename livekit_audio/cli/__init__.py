"""The ``livekit-audio`` command: stream an audio file through livekit_audio's DSP stages.

Sub-commands
------------
``livekit-audio process IN -o OUT [OPTIONS]``
    Options: ``[--sample-rate HZ] [--channels N] [--quality Q] [--frame-ms MS] [--hpf]
    [--ns[=LEVEL]] [--agc [DBFS]] [--aec-reference FAR [--stream-delay-ms MS]]
    [--engine {direct,stream}]``.

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
``livekit-audio devices``, ``record``, ``play``
    Sound-card commands, from :mod:`livekit_audio.cli.devices`.

``process`` and ``demo`` print one summary line on stdout. Errors print one line starting
``livekit-audio: error:`` on stderr and exit with status 2.

The processing is a list of *stages* (see :class:`Stage`) run by :func:`run_pipeline`, so
further stages (high-pass filter, noise suppression, gain control, echo cancellation) slot
in without touching the file I/O.

Modules
-------
Each imports only the ones listed before it (and this package imports them all):

``errors``
    :class:`CLIError`, the program name, the exit status, the one-line error format.
``options``
    The values ``--sample-rate``, ``--quality``, ``--frame-ms`` and ``--engine`` accept.
``files``
    Opening the input and the output, output formats, why a write failed, reading frames.
``pipeline``
    The :class:`Stage` protocol, :func:`build_stages`, :func:`run_pipeline`.
``stream``
    ``--engine stream``: :func:`stream_file_frames`.
``process``
    ``livekit-audio process``: :func:`process_file`, :class:`ProcessResult`,
    :func:`format_summary`.
``demo``
    ``livekit-audio demo``: :func:`demo_clip`.
``args``
    The argument parser (:func:`build_parser`) and the APM options it yields.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from livekit_audio.cli.args import apm_options_from_args, build_parser
from livekit_audio.cli.demo import DEMO_CLIP, DEMO_OUTPUT, demo_clip, run_demo
from livekit_audio.cli.demo import DEMO_RATE_HZ as DEMO_RATE_HZ
from livekit_audio.cli.devices import DeviceCommandError
from livekit_audio.cli.errors import EXIT_ERROR, PROG, CLIError, print_error
from livekit_audio.cli.files import read_frames
from livekit_audio.cli.options import ENGINES
from livekit_audio.cli.options import MAX_FRAME_MS as MAX_FRAME_MS
from livekit_audio.cli.options import MAX_RATE_HZ as MAX_RATE_HZ
from livekit_audio.cli.options import MIN_RATE_HZ as MIN_RATE_HZ
from livekit_audio.cli.pipeline import Stage, build_stages, run_pipeline
from livekit_audio.cli.pipeline import reference_frames as reference_frames
from livekit_audio.cli.process import PROGRESS_MIN_SECONDS as PROGRESS_MIN_SECONDS
from livekit_audio.cli.process import ProcessResult, format_summary, process_file
from livekit_audio.cli.stream import stream_file_frames

# Also importable from here, as from the single-file cli.py (public names outside __all__):
# PROG, EXIT_ERROR, MIN_RATE_HZ, MAX_RATE_HZ, MAX_FRAME_MS, DEMO_RATE_HZ, PROGRESS_MIN_SECONDS,
# reference_frames.
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


def _run(args: argparse.Namespace) -> int:
    handler = getattr(args, "handler", None)
    if handler is not None:  # devices, record, play (livekit_audio/cli/devices.py)
        return int(handler(args))
    if args.command == "process":
        result = process_file(
            args.input,
            args.output,
            sample_rate=args.sample_rate,
            channels=args.channels,
            quality=args.quality,
            frame_ms=args.frame_ms,
            apm_options=apm_options_from_args(args),
            engine=args.engine,
            aec_reference=args.aec_reference,
            stream_delay_ms=args.stream_delay_ms,
            denoise=args.denoise,
        )
        name = args.input
    else:
        result = run_demo(args.output)
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
        print_error(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr, flush=True)
        return 130
