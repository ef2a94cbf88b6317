"""FrameProcessor: the per-frame processing hook an AudioStream runs (noise cancellation etc.).

Follows ``livekit.rtc.FrameProcessor``: an abstract ``enabled`` flag, ``_process`` and
``_close``, plus optional hooks through which the stream tells the processor which room,
participant and publication it serves and which credentials are current.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = ["FrameProcessor", "NoiseCancellationOptions"]

T = TypeVar("T")


class FrameProcessor(ABC, Generic[T]):
    """Processes frames of type ``T`` one at a time (``T`` is ``AudioFrame`` for audio).

    Subclasses implement :attr:`enabled`, :meth:`_process` and :meth:`_close`. The stream
    calls the ``_on_*`` hooks when its track joins or leaves a room or the room's token is
    refreshed; their defaults do nothing.

    Contract kept by ``AudioStream``: a disabled processor is not called; an exception from
    ``_process`` is logged and the original frame passes through; ``_close`` is called at most
    once, only after the stream's reading task has finished, and only when the stream owns the
    processor (``auto_close_noise_cancellation=True``); the clear hooks are idempotent and
    credentials are never pushed as empty strings.
    """

    @property
    @abstractmethod
    def enabled(self) -> bool:
        """Whether the stream should call :meth:`_process`."""

    @enabled.setter
    @abstractmethod
    def enabled(self, value: bool) -> None: ...

    @abstractmethod
    def _process(self, frame: T) -> T:
        """Return the processed frame (may be ``frame`` itself, modified in place)."""

    @abstractmethod
    def _close(self) -> None:
        """Release resources. Called once, after the last ``_process``."""

    def _on_stream_info_updated(
        self, *, room_name: str, participant_identity: str, publication_sid: str
    ) -> None:
        """The stream's track is now in ``room_name``, published by ``participant_identity``."""

    def _on_stream_info_cleared(self) -> None:
        """The stream's track left its room."""

    def _on_credentials_updated(self, *, token: str, url: str) -> None:
        """Current access token and server URL for the stream's room."""

    def _on_credentials_cleared(self) -> None:
        """Credentials no longer apply (the track left its room)."""


@dataclass
class NoiseCancellationOptions:
    """A noise-cancellation filter named by module id, with its options, as
    ``livekit.rtc.NoiseCancellationOptions`` (LiveKit Cloud's filters are loaded this way).

    Attributes
    ----------
    module_id : str
        The filter module's id.
    options : dict
        Options passed to the filter.

    Notes
    -----
    Passed as ``AudioStream(..., noise_cancellation=NoiseCancellationOptions(module_id,
    options))``, it runs the :class:`~livekit_audio.AudioFilter` loaded under ``module_id``
    (``AudioFilter.processor(**options)``); the stream raises ``KeyError`` if none is.
    ``livekit.rtc.NoiseCancellationOptions`` is accepted the same way.
    """

    module_id: str
    options: dict[str, Any] = field(default_factory=dict)
