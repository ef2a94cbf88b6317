"""The package logger. Handlers are the application's business; none are added here."""

import logging

logger = logging.getLogger("livekit_audio")
