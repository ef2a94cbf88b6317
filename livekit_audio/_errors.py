"""Exception hierarchy and the status-code table shared by every native module."""

from __future__ import annotations

__all__ = ["LivekitAudioError", "DSPError", "STATUS_NAMES"]


class LivekitAudioError(Exception):
    """Base class of every error raised by livekit_audio."""


class DSPError(LivekitAudioError, RuntimeError):
    """A native kernel returned a failure status.

    Attributes
    ----------
    code : int
        The ``la_status`` value the C kernel returned.
    status : str
        Its name, e.g. ``"LA_ERR_BUFFER_TOO_SMALL"``.
    """

    def __init__(self, message: str, code: int) -> None:
        self.code = code
        self.status = STATUS_NAMES.get(code, f"LA_STATUS_{code}")
        super().__init__(f"{message}: {self.status} ({code})")


#: ``la_status`` codes from ``csrc/la_dsp.h`` by value.
STATUS_NAMES: dict[int, str] = {
    0: "LA_OK",
    1: "LA_ERR_NULL_POINTER",
    2: "LA_ERR_INVALID_RATE",
    3: "LA_ERR_INVALID_CHANNELS",
    4: "LA_ERR_INVALID_ARGUMENT",
    5: "LA_ERR_BUFFER_TOO_SMALL",
    6: "LA_ERR_TOO_MANY_PHASES",
    7: "LA_ERR_FILTER_TOO_LONG",
}

#: Codes that mean the caller passed a bad value; they surface as ValueError.
VALUE_ERROR_CODES = frozenset({2, 3, 4, 6, 7})
