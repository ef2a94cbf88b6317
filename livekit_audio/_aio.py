"""Private asyncio helpers of the async layer: the ``loop=`` rule, owned background tasks and the
one bounded queue every frame waits in (:class:`RingQueue`)."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Coroutine
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
    mixer's output, a decoder's output, a microphone's blocks. When a bounded queue is full,
    :meth:`put` drops the oldest item (a real-time consumer wants the newest audio; counted
    in :attr:`dropped`), while :meth:`put_wait` waits for room instead (back-pressure, for
    producers that may wait). A producer may also wait for the queue to drain below a level
    (:meth:`wait_below`).

    Other threads (an audio callback, a decoder's worker) put with :meth:`put_threadsafe` and
    close with :meth:`close_threadsafe`; every other method belongs to the loop's thread.

    Parameters
    ----------
    capacity : int
        Maximum number of items held; ``0`` means unbounded.
    loop : asyncio.AbstractEventLoop or None, keyword-only
        The loop the consumer runs on, which :meth:`put_threadsafe` wakes. None (default):
        the loop of the first :meth:`get` that waits (items put from other threads before
        that wait for it).

    Notes
    -----
    Items from other threads wait in a small inbox guarded by a lock (held for a few
    bytecodes, never while calling out) until the loop moves them into the queue, in order:
    at the next :meth:`get`/:meth:`get_nowait` that finds the queue empty, or from a callback
    scheduled with ``call_soon_threadsafe``, at most one pending however many items are put.
    The inbox holds at most ``capacity`` items (dropping its oldest), so a stalled loop
    never lets it grow; its drops reach :attr:`dropped` when the loop moves the inbox.
    """

    __slots__ = (
        "_items",
        "_capacity",
        "_getters",
        "_putters",
        "_closed",
        "dropped",
        "put_count",
        "_loop",
        "_lock",
        "_inbox",
        "_inbox_dropped",
        "_close_pending",
        "_discard_pending",
        "_drain_pending",
    )

    def __init__(self, capacity: int = 0, *, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if loop is not None and not isinstance(loop, asyncio.AbstractEventLoop):
            raise TypeError(
                f"RingQueue loop= must be an asyncio.AbstractEventLoop or None, "
                f"got {type(loop).__name__}"
            )
        self._items: deque[T] = deque()
        self._capacity = capacity
        self._getters: deque[asyncio.Future[None]] = deque()
        self._putters: deque[asyncio.Future[None]] = deque()  # waiting for room
        self._closed = False
        #: Items dropped because the queue was full.
        self.dropped = 0
        #: Items accepted (put and not refused because the queue was closed).
        self.put_count = 0
        # -- the other threads' side, guarded by _lock
        self._loop = loop
        self._lock = threading.Lock()
        self._inbox: deque[T] = deque()  # put_threadsafe items the loop has not moved yet
        self._inbox_dropped = 0  # inbox items dropped (full), not yet added to `dropped`
        self._close_pending = False  # close_threadsafe called, not yet run on the loop
        self._discard_pending = False  # ... with discard=True
        self._drain_pending = False  # a _drain callback is scheduled on the loop

    def __len__(self) -> int:
        """Items queued, those put from other threads and not yet moved included."""
        return len(self._items) + len(self._inbox)

    @property
    def capacity(self) -> int:
        """The bound (0: unbounded)."""
        return self._capacity

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` ran (a :meth:`close_threadsafe` counts once the loop ran it)."""
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
        capacity = self._capacity
        if capacity and len(self._items) + len(self._inbox) >= capacity:
            await self.wait_below(capacity)  # (no coroutine on the fast path: there is room)
        if self._closed:
            return False
        self._items.append(item)  # there is room: nothing to drop
        self.put_count += 1
        if self._getters:
            _wake_one(self._getters)
        return True

    async def wait_below(self, limit: int) -> None:
        """Return once fewer than ``limit`` items are queued, or the queue is closed."""
        while len(self._items) + len(self._inbox) >= limit and not self._closed:
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
        if self._inbox or self._close_pending:
            self._absorb(None)
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
            if self._loop is None or self._inbox or self._close_pending:
                # items from other threads, a pending close, or the loop to learn (under the
                # lock: a put_threadsafe after this sees the loop and schedules a wake-up)
                self._absorb(asyncio.get_running_loop())
                if self._items:
                    break
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
        if self._putters:
            _wake_one(self._putters)
        return item

    def clear(self) -> int:
        """Drop every queued item; returns how many were dropped (not counted in ``dropped``)."""
        with self._lock:
            n = len(self._inbox)
            self._inbox.clear()
        n += len(self._items)
        self._items.clear()
        _wake_all(self._putters)
        return n

    def close(self, *, discard: bool = False) -> None:
        """Refuse further items; getters drain what is queued (or nothing if ``discard``).

        Items already put from other threads count as queued.
        """
        with self._lock:
            self._closed = True
            inbox = self._take_inbox_locked()
            self._close_pending = self._discard_pending = False
        if discard:
            self._items.clear()
        elif inbox:
            self._extend(inbox)
        _wake_all(self._getters)
        _wake_all(self._putters)

    # -- other threads -------------------------------------------------------------------

    def put_threadsafe(self, item: T) -> None:
        """Queue ``item`` from any thread (an audio callback, a worker); never waits.

        The item reaches the queue when the loop next runs (see the class Notes), after the
        items this thread put before it, with :meth:`put`'s rule: the oldest goes when the
        queue is full. Ignored once the queue is closed (or a close is pending).
        """
        with self._lock:
            if self._closed or self._close_pending:
                return
            inbox = self._inbox
            if self._capacity and len(inbox) >= self._capacity:
                inbox.popleft()
                self._inbox_dropped += 1
            inbox.append(item)
            loop = self._loop
            if loop is None or self._drain_pending:
                return
            self._drain_pending = True
        _schedule(loop, self._drain)

    def close_threadsafe(self, *, discard: bool = False) -> None:
        """:meth:`close` from any thread, after the items put so far.

        Called in the thread running the queue's loop (or, before the queue knows its loop,
        in any thread running a loop), it closes at once. Otherwise the loop closes it when
        it next runs, and items put later are ignored meanwhile; with ``discard``, items
        not yet moved are dropped now and the others when the loop runs the close.
        """
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        with self._lock:
            if self._closed:
                return
            here = running is not None and self._loop in (None, running)
            if not here:
                self._close_pending = True
                if discard:
                    self._discard_pending = True
                    self._inbox.clear()
                loop = self._loop
                if loop is None or self._drain_pending:
                    return
                self._drain_pending = True
        if here:
            self.close(discard=discard)
        elif loop is not None:  # (no loop bound yet: the first get() drains the inbox)
            _schedule(loop, self._drain)

    # -- the loop's side of the inbox ------------------------------------------------------

    def _take_inbox_locked(self) -> deque[T] | None:
        """The inbox's items (None if empty), the inbox emptied; its drops counted."""
        if self._inbox_dropped:
            self.dropped += self._inbox_dropped
            self._inbox_dropped = 0
        inbox = self._inbox
        if not inbox:
            return None
        self._inbox = deque()
        return inbox

    def _absorb(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Move the inbox into the queue and run a pending close; learn ``loop`` if the queue
        has none yet (on the loop's thread)."""
        with self._lock:
            if self._loop is None:
                self._loop = loop
            inbox = self._take_inbox_locked()
            close, discard = self._close_pending, self._discard_pending
        if inbox and not self._closed:
            self._extend(inbox)
        if close:
            self.close(discard=discard)

    def _drain(self) -> None:
        """The callback :meth:`put_threadsafe` schedules on the loop."""
        with self._lock:
            self._drain_pending = False
        self._absorb(None)

    def _extend(self, items: deque[T]) -> None:
        """Append items moved from the inbox, dropping the oldest beyond the capacity."""
        queue = self._items
        queue.extend(items)
        self.put_count += len(items)
        excess = len(queue) - self._capacity if self._capacity else 0
        if excess > 0:
            for _ in range(excess):
                queue.popleft()
            self.dropped += excess
        if self._getters:
            _wake_one(self._getters)


def _schedule(loop: asyncio.AbstractEventLoop, callback: Callable[[], object]) -> None:
    try:
        loop.call_soon_threadsafe(callback)
    except RuntimeError:  # the loop is closed: nobody reads any more
        pass


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
