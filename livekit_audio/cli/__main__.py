"""``python -m livekit_audio.cli``: runs the ``livekit-audio`` command (see ``__init__``)."""

from livekit_audio.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
