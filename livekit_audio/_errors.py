"""Exception hierarchy and the status-code table shared by every native module."""

from __future__ import annotations

__all__ = ["LivekitAudioError", "DSPError", "FilterError", "STATUS_NAMES", "FILTER_STATUS_NAMES"]


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


class FilterError(LivekitAudioError, RuntimeError):
    """A filter plug-in failed: its ``create`` could not build an instance (a vendor library
    or model missing, memory), its ``process`` or ``reset`` returned an error, or its output
    held NaN or infinity.

    Attributes
    ----------
    plugin : str
        The plug-in's name (its table's ``name``).
    status : str
        The ``la_filter_status`` name the plug-in returned (``"LA_FILTER_ERR_PROCESSING"``),
        or ``"NON_FINITE_OUTPUT"`` when ``process`` returned OK with non-finite samples.
    detail : str
        The plug-in's own error text (``""`` if it gave none).
    """

    def __init__(self, plugin: str, what: str, status: str, detail: str) -> None:
        self.plugin = plugin
        self.status = status
        self.detail = detail
        text = f"filter plug-in {plugin!r}: {what} failed ({status})"
        super().__init__(f"{text}: {detail}" if detail else text)


#: ``la_filter_status`` codes of livekit_audio/include/livekit_audio/filter_plugin.h by value.
FILTER_STATUS_NAMES: dict[int, str] = {
    0: "LA_FILTER_OK",
    1: "LA_FILTER_ERR_INVALID_ARGUMENT",
    2: "LA_FILTER_ERR_UNSUPPORTED_RATE",
    3: "LA_FILTER_ERR_UNSUPPORTED_CHANNELS",
    4: "LA_FILTER_ERR_BAD_OPTIONS",
    5: "LA_FILTER_ERR_OUT_OF_MEMORY",
    6: "LA_FILTER_ERR_DEPENDENCY",
    7: "LA_FILTER_ERR_PROCESSING",
}

#: Plug-in codes from ``create`` that mean the caller asked for something the filter does not
#: accept; they surface as ValueError.
FILTER_VALUE_ERROR_CODES = frozenset({1, 2, 3, 4})
