"""The event loop's dispatcher: one turn of the loop delivers every due frame, as one batch.

Frames move through the async layer without a task per source, link or stream: a source
whose frame is due, a subscription with frames in transit and the 10 ms playout ticker ask
the loop's :class:`Dispatcher` to run them (:meth:`Dispatcher.soon`), and the dispatcher runs
everything asked for in one callback of the loop. Whatever those deliveries make ready for
processing in place by an :class:`~livekit_audio.AudioProcessingModule` (every
``AudioStream`` with an ``ApmProcessor`` whose frame is due in that turn) is collected in a
:class:`DeliveryBatch` and processed in one native call (:func:`~livekit_audio.process_batch`)
before the readers are woken. One loop wake-up per 10 ms serves every call.
"""

from __future__ import annotations

import asyncio
import math
import threading
import weakref
from collections.abc import Callable
from typing import Any, Protocol

from livekit_audio._log import logger
from livekit_audio.apm import AudioProcessingModule, process_batch
from livekit_audio.audio_frame import AudioFrame

__all__ = [
    "DeliveryBatch",
    "Dispatcher",
    "TimedCall",
    "dispatcher_for",
    "open_batch",
    "run_batched",
]


class BatchClient(Protocol):
    """What a batch calls back once an item's frame was processed (or failed)."""

    def _batched_done(self, frame: AudioFrame, module: AudioProcessingModule, ok: bool) -> None:
        """``ok``: processed in place; otherwise the frame is untouched (the module raised)."""


class DeliveryBatch:
    """Frames to process in place, each with its module, collected during one dispatch.

    A module appears at most once per round: a second frame for a module already in the
    batch (a stream that got two frames in one turn) first runs the round, so every stream
    sees its frames processed in order.
    """

    __slots__ = ("_items", "_modules")

    def __init__(self) -> None:
        self._items: list[tuple[BatchClient, AudioFrame, AudioProcessingModule]] = []
        self._modules: set[int] = set()

    def add(self, client: BatchClient, frame: AudioFrame, module: AudioProcessingModule) -> None:
        """Process ``frame`` in place with ``module`` when the round runs, then call back."""
        if id(module) in self._modules:
            self.run()
        self._modules.add(id(module))
        self._items.append((client, frame, module))

    def __len__(self) -> int:
        return len(self._items)

    def run(self) -> None:
        """Process every collected frame (one native call) and call each client back."""
        items, self._items = self._items, []
        self._modules.clear()
        if not items:
            return
        ok = True
        try:
            process_batch([m for _, _, m in items], [f for _, f, _ in items])
        except Exception:
            ok = False  # e.g. a module shared with another thread: one at a time, below
        for client, frame, module in items:
            done = ok
            if not ok:
                try:
                    module.process_stream(frame)
                    done = True
                except Exception:
                    done = False
            try:
                client._batched_done(frame, module, done)
            except Exception:
                logger.exception("delivering a processed frame to %r failed", client)


#: Timed dispatches are rounded up to this grid of the loop's clock (seconds).
TIMER_GRAIN_S = 0.001


class TimedCall:
    """A callback :meth:`Dispatcher.at` will run; :meth:`cancel` stops it."""

    __slots__ = ("callback",)

    def __init__(self, callback: Callable[[], Any]) -> None:
        self.callback: Callable[[], Any] | None = callback

    def cancel(self) -> None:
        self.callback = None


_LOCAL = threading.local()


def open_batch() -> DeliveryBatch | None:
    """The batch being collected in this thread, or None outside a dispatch."""
    batch: DeliveryBatch | None = getattr(_LOCAL, "batch", None)
    return batch


class Dispatcher:
    """Runs the callbacks asked for since the last turn, in one callback of the loop.

    Callbacks run in the order asked, inside one :class:`DeliveryBatch` (run at the end, and
    whenever a callback needs it flushed); callbacks asked for while the dispatch runs join
    it. An exception from a callback is logged and does not stop the others.
    """

    __slots__ = ("_loop", "_pending", "_armed", "_timed", "__weakref__")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = weakref.ref(loop)  # the loop's registry holds us: never keep it alive
        self._pending: list[Callable[[], Any]] = []
        self._armed = False
        self._timed: dict[float, list[TimedCall]] = {}  # due time -> calls

    def soon(self, callback: Callable[[], Any]) -> None:
        """Run ``callback()`` in the loop's next dispatch (loop thread only)."""
        self._pending.append(callback)
        if not self._armed:
            loop = self._loop()
            if loop is not None:
                self._armed = True
                loop.call_soon(self.dispatch)

    def at(self, when: float, callback: Callable[[], Any]) -> TimedCall:
        """Run ``callback()`` in a dispatch at loop time ``when`` (rounded up to the next
        :data:`TIMER_GRAIN_S`, so that callbacks due at nearly the same time, e.g. every
        source's next frame, run in one dispatch and one batch)."""
        loop = self._loop()
        if loop is None:
            raise RuntimeError("the dispatcher's event loop is gone")
        due = math.ceil(when / TIMER_GRAIN_S) * TIMER_GRAIN_S
        call = TimedCall(callback)
        calls = self._timed.get(due)
        if calls is None:
            calls = self._timed[due] = []
            loop.call_at(due, self._fire, due)
        calls.append(call)
        return call

    def _fire(self, due: float) -> None:
        for call in self._timed.pop(due, ()):
            if call.callback is not None:
                self._pending.append(call.callback)
        if self._pending and not self._armed:
            self.dispatch()  # already in a callback of the loop: no need to wait a turn

    def dispatch(self) -> None:
        """Run everything pending (and what that asks for) in one batch."""
        self._armed = False
        run_batched(self._drain)

    def _drain(self) -> None:
        pending = self._pending
        i = 0
        while i < len(pending):  # callbacks may ask for more: they join this dispatch
            try:
                pending[i]()
            except Exception:
                logger.exception("dispatching %r failed", pending[i])
            i += 1
        pending.clear()


def run_batched(body: Callable[[], Any]) -> None:
    """Run ``body()`` collecting a delivery batch (unless one is open), then run the batch."""
    if getattr(_LOCAL, "batch", None) is not None:
        body()
        return
    batch = _LOCAL.batch = DeliveryBatch()
    try:
        body()
        batch.run()
    finally:
        _LOCAL.batch = None
    if len(batch):  # callbacks of the last round added more (rare): run them unbatched
        batch.run()


_DISPATCHERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Dispatcher] = (
    weakref.WeakKeyDictionary()
)


def dispatcher_for(loop: asyncio.AbstractEventLoop) -> Dispatcher:
    """The loop's dispatcher (created on first use; a loop that cannot be weakly referenced
    gets a new one each time, which is correct but does not batch)."""
    try:
        dispatcher = _DISPATCHERS.get(loop)
        if dispatcher is None:
            dispatcher = _DISPATCHERS[loop] = Dispatcher(loop)
        return dispatcher
    except TypeError:
        return Dispatcher(loop)
