"""``livekit-audio demo``: the shipped speech clip resampled to 48 kHz."""

from __future__ import annotations

import importlib.resources
import os
from typing import TYPE_CHECKING

from livekit_audio.cli.errors import CLIError
from livekit_audio.cli.process import ProcessResult, process_file

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = ["DEMO_CLIP", "DEMO_OUTPUT", "DEMO_RATE_HZ", "demo_clip", "run_demo"]

#: The speech clip shipped for ``livekit-audio demo`` (see ``livekit_audio/data/NOTICE``).
DEMO_CLIP = "allison_demo-echotest_16k.flac"

#: Default output file of ``livekit-audio demo``, written in the current directory.
DEMO_OUTPUT = "livekit-audio-demo-48k.wav"

#: Output sample rate of ``livekit-audio demo``.
DEMO_RATE_HZ = 48000


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


def run_demo(output: str | os.PathLike[str] = DEMO_OUTPUT) -> ProcessResult:
    """Resample the demo clip to :data:`DEMO_RATE_HZ` into ``output`` (``livekit-audio demo``).

    Returns
    -------
    ProcessResult
        What :func:`~livekit_audio.cli.process.process_file` did.

    Raises
    ------
    CLIError
        If the clip is not installed, or the output cannot be written.
    """
    clip = demo_clip()
    with importlib.resources.as_file(clip) as clip_path:
        return process_file(clip_path, output, sample_rate=DEMO_RATE_HZ)
