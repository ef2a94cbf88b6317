"""``python -m livekit_audio``: the ``livekit-audio`` command (see :mod:`livekit_audio.cli`)."""

from livekit_audio.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
