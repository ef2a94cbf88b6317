"""Private asyncio helpers of the async layer: the ``loop=`` rule, owned background tasks and a
drop-oldest queue."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Coroutine
from typing import Any, Generic, TypeVar

from livekit_audio._log import logger

__all__ = ["QueueClosed", "RingQueue", "resolve_loop", "spawn"]

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


def resolve_loop(
    loop: asyncio.AbstractEventLoop | None, owner: str
) -> asyncio.AbstractEventLoop | None:
    """The event loop an object's tasks run on, following ``livekit.rtc``'s ``loop=`` argument.

    ``loop=None`` means the loop running in this thread (None if there is none: the caller
    decides whether that is an error). A given loop is used as is when no loop is running in
    this thread (e.g. an object built before ``loop.run_until_complete``), and must be the
    running loop otherwise: every object of the async layer belongs to one loop.

    Parameters
    ----------
    loop : asyncio.AbstractEventLoop or None
        The ``loop=`` argument as given.
    owner : str
        Names the object in error messages (e.g. ``"AudioStream"``).

    Returns
    -------
    asyncio.AbstractEventLoop or None

    Raises
    ------
    TypeError
        If ``loop`` is neither None nor an ``asyncio.AbstractEventLoop``.
    ValueError
        If ``loop`` is closed, is not the loop running in this thread, or (no loop running
        here) is running in another thread: create the object from that loop's thread
        (``asyncio.run_coroutine_threadsafe``).
    """
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if loop is None:
        return running
    if not isinstance(loop, asyncio.AbstractEventLoop):
        raise TypeError(
            f"{owner} loop= must be an asyncio.AbstractEventLoop or None, got {type(loop).__name__}"
        )
    if loop.is_closed():
        raise ValueError(f"{owner} loop= is closed")
    if running is not None and loop is not running:
        raise ValueError(
            f"{owner} loop= must be the event loop running in this thread (or None); "
            "objects of one room, track and stream share one loop"
        )
    if running is None and loop.is_running():
        raise ValueError(
            f"{owner} loop= is running in another thread; create the {owner} in that "
            "thread (e.g. with asyncio.run_coroutine_threadsafe)"
        )
    return loop


def spawn(
    coro: Coroutine[Any, Any, T], name: str, *, loop: asyncio.AbstractEventLoop | None = None
) -> asyncio.Task[T]:
    """Start ``coro`` as a background task on ``loop`` (default: the running loop).

    The task is kept alive until it finishes, and a done-callback logs any exception it
    raised through the package logger (a failure never passes silently). A task started on
    a loop that is not running yet begins when that loop runs.

    Raises
    ------
    RuntimeError
        If ``loop`` is None and no event loop is running in this thread.
    """
    if loop is None:
        loop = asyncio.get_running_loop()
    task = loop.create_task(coro, name=name)
    _RUNNING.add(task)
    task.add_done_callback(_log_task_result)
    return task


class QueueClosed(Exception):
    """Raised by :meth:`RingQueue.get` once the queue is closed and drained."""


class RingQueue(Generic[T]):
    """The async layer's one queue: FIFO for one event loop, bounded or not.

    Every place a frame waits uses it: a stream's output, a subscription in transit, the
    mixer's output. When a bounded queue is full, :meth:`put` drops the oldest item (a
    real-time consumer wants the newest audio; counted in :attr:`dropped`), while
    :meth:`put_wait` waits for room instead (back-pressure, for producers that may wait).
    A producer may also wait for the queue to drain below a level (:meth:`wait_below`).

    Parameters
    ----------
    capacity : int
        Maximum number of items held; ``0`` means unbounded.
    """

    __slots__ = ("_items", "_capacity", "_getters", "_putters", "_closed", "dropped", "put_count")

    def __init__(self, capacity: int = 0) -> None:
        self._items: deque[T] = deque()
        self._capacity = capacity
        self._getters: deque[asyncio.Future[None]] = deque()
        self._putters: deque[asyncio.Future[None]] = deque()  # waiting for room
        self._closed = False
        #: Items dropped because the queue was full.
        self.dropped = 0
        #: Items accepted (put and not refused because the queue was closed).
        self.put_count = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def capacity(self) -> int:
        """The bound (0: unbounded)."""
        return self._capacity

    @property
    def closed(self) -> bool:
        return self._closed

    def put(self, item: T, *, force: bool = False) -> bool:
        """Append ``item`` without waiting; returns True if the oldest item was dropped.

        Items put after :meth:`close` are ignored (returns False). ``force``: never drop
        (an end-of-stream marker must not push out audio nor be pushed out).
        """
        if self._closed:
            return False
        dropped = False
        if self._capacity and len(self._items) >= self._capacity and not force:
            self._items.popleft()
            self.dropped += 1
            dropped = True
        self._items.append(item)
        self.put_count += 1
        if self._getters:
            _wake_one(self._getters)
        return dropped

    async def put_wait(self, item: T) -> bool:
        """Append ``item``, waiting while a bounded queue is full (back-pressure).

        Returns False if the queue is (or gets) closed: the item was not queued.
        """
        if self._capacity:
            await self.wait_below(self._capacity)
        if self._closed:
            return False
        self.put(item)
        return True

    async def wait_below(self, limit: int) -> None:
        """Return once fewer than ``limit`` items are queued, or the queue is closed."""
        while len(self._items) >= limit and not self._closed:
            waiter = asyncio.get_running_loop().create_future()
            self._putters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    _wake_one(self._putters)  # pass the wake-up on
                raise

    def get_nowait(self) -> T:
        """The oldest item. Raises IndexError if empty, QueueClosed if closed and drained."""
        if self._items:
            return self._taken(self._items.popleft())
        if self._closed:
            raise QueueClosed
        raise IndexError("queue is empty")

    def _taken(self, item: T) -> T:
        if self._putters:
            _wake_one(self._putters)
        return item

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
            self._getters.append(waiter)
            try:
                await waiter
            except BaseException:
                # pass the wake-up on if we were woken and then cancelled
                if waiter.done() and not waiter.cancelled() and self._items:
                    _wake_one(self._getters)
                raise
        item = self._items.popleft()
        if self._items and self._getters:
            _wake_one(self._getters)
        return self._taken(item)

    def clear(self) -> int:
        """Drop every queued item; returns how many were dropped (not counted in ``dropped``)."""
        n = len(self._items)
        self._items.clear()
        _wake_all(self._putters)
        return n

    def close(self, *, discard: bool = False) -> None:
        """Refuse further items; getters drain what is queued (or nothing if ``discard``)."""
        self._closed = True
        if discard:
            self._items.clear()
        _wake_all(self._getters)
        _wake_all(self._putters)


def _wake_one(waiters: deque[asyncio.Future[None]]) -> None:
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return


def _wake_all(waiters: deque[asyncio.Future[None]]) -> None:
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
