"""Helpers for the async-layer tests (import as ``from rtc_helpers import ...``)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

import livekit_audio as la

#: A test API secret (HS256 needs >= 32 bytes).
SECRET = "test-secret-0123456789abcdefghijklmnop"
API_KEY = "APItest"


def mono(values: Any, rate: int = 48000) -> la.AudioFrame:
    """An int16 mono frame of ``values``."""
    return la.AudioFrame.from_ndarray(np.asarray(values, dtype=np.int16), rate)


def ramp_frames(
    n_frames: int, size: int = 480, rate: int = 48000, start: int = 0
) -> list[la.AudioFrame]:
    """Consecutive frames of a counting ramp (sample i of the whole stream = start + i)."""
    x = (np.arange(n_frames * size) + start).astype(np.int16)
    return [mono(x[i * size : (i + 1) * size], rate) for i in range(n_frames)]


def samples(frames: list[la.AudioFrame]) -> np.ndarray:
    """All frames concatenated as ``(n, channels)`` int16."""
    if not frames:
        return np.zeros((0, 1), dtype=np.int16)
    return np.concatenate([f.to_ndarray() for f in frames])


async def until(predicate: Callable[[], bool], timeout: float = 2.0) -> None:
    """Yield to the loop until ``predicate()`` holds (fails the test after ``timeout`` s)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.001)


async def read_all(stream: la.AudioStream, timeout: float = 2.0) -> list[la.AudioFrame]:
    """Every frame until the stream ends."""

    async def run() -> list[la.AudioFrame]:
        return [event.frame async for event in stream]

    return await asyncio.wait_for(run(), timeout)


async def read_n(stream: la.AudioStream, n: int, timeout: float = 2.0) -> list[la.AudioFrame]:
    """The next ``n`` frames."""

    async def run() -> list[la.AudioFrame]:
        return [(await stream.__anext__()).frame for _ in range(n)]

    return await asyncio.wait_for(run(), timeout)


async def connect(
    server: la.LocalRoomServer, identity: str, room: str = "demo", **token_kw: Any
) -> la.Room:
    r = la.Room()
    await r.connect(server.url, server.create_token(identity, room, **token_kw))
    return r


class RecordingProcessor(la.FrameProcessor[la.AudioFrame]):
    """Records every hook call and every processed frame; notes contract violations.

    ``events`` holds tuples: ``("info", room, identity, sid)``, ``("info_cleared",)``,
    ``("cred", token, url)``, ``("cred_cleared",)``, ``("close",)``.
    """

    def __init__(
        self,
        *,
        fail: Callable[[la.AudioFrame], bool] | None = None,
        gain: int | None = None,
        gate: threading.Event | None = None,
    ) -> None:
        self._enabled = True
        self.fail = fail
        self.gain = gain
        self.gate = gate
        self.events: list[tuple[Any, ...]] = []
        self.processed: list[tuple[int, int, int]] = []  # (thread id, first sample, length)
        self.violations: list[str] = []
        self.closed = False
        self.lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._enabled = value

    def _process(self, frame: la.AudioFrame) -> la.AudioFrame:
        if self.closed:
            self.violations.append("_process after _close")
        x = frame.to_ndarray()
        with self.lock:
            self.processed.append(
                (threading.get_ident(), int(x[0, 0]) if x.size else 0, frame.samples_per_channel)
            )
        if self.gate is not None:
            self.gate.wait(5.0)
        if self.gain is not None:
            x *= self.gain  # in place
        if self.fail is not None and self.fail(frame):
            raise RuntimeError("processor failure (test)")
        return frame

    def _close(self) -> None:
        if self.closed:
            self.violations.append("_close twice")
        self.closed = True
        self.events.append(("close",))

    def _on_stream_info_updated(
        self, *, room_name: str, participant_identity: str, publication_sid: str
    ) -> None:
        if self.closed:
            self.violations.append("hook after _close")
        self.events.append(("info", room_name, participant_identity, publication_sid))

    def _on_stream_info_cleared(self) -> None:
        self.events.append(("info_cleared",))

    def _on_credentials_updated(self, *, token: str, url: str) -> None:
        if not token or not url:
            self.violations.append(f"empty credentials token={token!r} url={url!r}")
        self.events.append(("cred", token, url))

    def _on_credentials_cleared(self) -> None:
        self.events.append(("cred_cleared",))

    def kinds(self) -> list[str]:
        return [e[0] for e in self.events]

    def count(self, kind: str) -> int:
        return sum(1 for e in self.events if e[0] == kind)
