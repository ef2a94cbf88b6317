"""What all of the ``livekit-audio`` command shares: its name, its error, how errors print."""

from __future__ import annotations

import sys

__all__ = ["EXIT_ERROR", "PROG", "CLIError", "print_error"]

PROG = "livekit-audio"

#: Exit status of every error the command reports itself (argparse uses the same).
EXIT_ERROR = 2


class CLIError(Exception):
    """An error the command reports as one ``livekit-audio: error: ...`` line, exit status 2."""


def print_error(message: str) -> None:
    """Print ``livekit-audio: error: MESSAGE`` on stderr, with MESSAGE's whitespace on one line."""
    one_line = " ".join(str(message).split())
    print(f"{PROG}: error: {one_line}", file=sys.stderr, flush=True)
