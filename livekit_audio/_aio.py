"""Private asyncio helpers of the async layer: owned background tasks and a drop-oldest queue."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Coroutine, Generic, TypeVar, Any

from livekit_audio._log import logger

__all__ = ["spawn", "RingQueue", "QueueClosed"]

T = TypeVar("T")

#: Strong references to running background tasks: the event loop keeps only weak ones, and a
#: task collected while pending would be destroyed mid-flight ("Task was destroyed but it is
#: pending"). Tasks leave the set when they finish.
_RUNNING: set[asyncio.Task[Any]] = set()


def _log_task_result(task: asyncio.Task[Any]) -> None:
    _RUNNING.discard(task)
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        logger.error("background task %s failed", task.get_name(), exc_info=exc)


def spawn(coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
    """Start ``coro`` as a background task on the running loop.

    The task is kept alive until it finishes, and a done-callback logs any exception it
    raised through the package logger (a failure never passes silently).

    Raises
    ------
    RuntimeError
        If no event loop is running in this thread.
    """
    task = asyncio.get_running_loop().create_task(coro, name=name)
    _RUNNING.add(task)
    task.add_done_callback(_log_task_result)
    return task


class QueueClosed(Exception):
    """Raised by :meth:`RingQueue.get` once the queue is closed and drained."""


class RingQueue(Generic[T]):
    """FIFO queue for one event loop; bounded queues drop their oldest item when full.

    Parameters
    ----------
    capacity : int
        Maximum number of items held; ``0`` means unbounded.
    """

    __slots__ = ("_items", "_capacity", "_waiters", "_closed", "dropped")

    def __init__(self, capacity: int = 0) -> None:
        self._items: deque[T] = deque()
        self._capacity = capacity
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False
        #: Items dropped because the queue was full.
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def closed(self) -> bool:
        return self._closed

    def put(self, item: T) -> bool:
        """Append ``item`` without waiting; returns True if the oldest item was dropped.

        Items put after :meth:`close` are ignored (returns False).
        """
        if self._closed:
            return False
        dropped = False
        if self._capacity and len(self._items) >= self._capacity:
            self._items.popleft()
            self.dropped += 1
            dropped = True
        self._items.append(item)
        self._wake_one()
        return dropped

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def get_nowait(self) -> T:
        """The oldest item. Raises IndexError if empty, QueueClosed if closed and drained."""
        if self._items:
            return self._items.popleft()
        if self._closed:
            raise QueueClosed
        raise IndexError("queue is empty")

    async def get(self) -> T:
        """Wait for and return the oldest item.

        Raises
        ------
        QueueClosed
            Once the queue is closed and holds nothing more.
        """
        while not self._items:
            if self._closed:
                raise QueueClosed
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                # pass the wake-up on if we were woken and then cancelled
                if waiter.done() and not waiter.cancelled() and self._items:
                    self._wake_one()
                raise
        item = self._items.popleft()
        if self._items:
            self._wake_one()
        return item

    def clear(self) -> int:
        """Drop every queued item; returns how many were dropped (not counted in ``dropped``)."""
        n = len(self._items)
        self._items.clear()
        return n

    def close(self, *, discard: bool = False) -> None:
        """Refuse further items; getters drain what is queued (or nothing if ``discard``)."""
        self._closed = True
        if discard:
            self._items.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
