"""RingQueue, the one queue every frame waits in: loop-side semantics and the other threads'
side (``put_threadsafe``, ``close_threadsafe``)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from livekit_audio._aio import QueueClosed, RingQueue


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# -- the loop's side ---------------------------------------------------------------------


def test_bounded_put_drops_the_oldest_and_counts_it() -> None:
    async def go() -> None:
        q: RingQueue[int] = RingQueue(3)
        dropped = [q.put(i) for i in range(5)]
        assert dropped == [False, False, False, True, True]
        assert (len(q), q.dropped, q.put_count) == (3, 2, 5)
        assert [q.get_nowait() for _ in range(3)] == [2, 3, 4]
        with pytest.raises(IndexError):
            q.get_nowait()
        assert q.put(9, force=True) is False
        q.close()
        assert q.put(10) is False and q.put_count == 6
        assert await q.get() == 9
        with pytest.raises(QueueClosed):
            await q.get()

    run(go())


def test_put_wait_applies_back_pressure_and_close_releases_it() -> None:
    async def go() -> None:
        q: RingQueue[int] = RingQueue(2)
        assert await q.put_wait(1) and await q.put_wait(2)
        third = asyncio.ensure_future(q.put_wait(3))
        await asyncio.sleep(0)
        assert not third.done() and len(q) == 2
        assert await q.get() == 1
        assert await third is True and q.dropped == 0
        fourth = asyncio.ensure_future(q.put_wait(4))
        await asyncio.sleep(0)
        q.close(discard=True)
        assert await fourth is False and len(q) == 0

    run(go())


def test_close_wakes_a_waiting_getter() -> None:
    async def go() -> None:
        q: RingQueue[int] = RingQueue()
        getter = asyncio.ensure_future(q.get())
        await asyncio.sleep(0)
        q.close()
        with pytest.raises(QueueClosed):
            await getter

    run(go())


# -- other threads -----------------------------------------------------------------------


def test_items_from_a_thread_reach_a_waiting_getter_in_order() -> None:
    n = 2000

    async def go() -> list[int]:
        q: RingQueue[int] = RingQueue()

        def produce() -> None:
            for i in range(n):
                q.put_threadsafe(i)
            q.close_threadsafe()

        thread = threading.Thread(target=produce)
        got: list[int] = []
        getter = asyncio.ensure_future(q.get())  # waits first: the queue learns its loop
        await asyncio.sleep(0)
        thread.start()
        got.append(await getter)
        try:
            while True:
                got.append(await q.get())
        except QueueClosed:
            pass
        thread.join()
        assert q.put_count == n and q.dropped == 0
        return got

    assert run(go()) == list(range(n))


def test_items_put_before_the_loop_is_known_wait_for_the_first_get() -> None:
    q: RingQueue[str] = RingQueue()
    thread = threading.Thread(target=lambda: [q.put_threadsafe(x) for x in "abc"])
    thread.start()
    thread.join()
    assert len(q) == 3

    async def go() -> list[str]:
        out = [await q.get(), q.get_nowait(), await q.get()]
        assert len(q) == 0
        return out

    assert run(go()) == ["a", "b", "c"]


def test_a_stalled_loop_keeps_the_newest_items_and_counts_the_rest() -> None:
    async def go() -> None:
        loop = asyncio.get_running_loop()
        q: RingQueue[int] = RingQueue(3, loop=loop)
        scheduled = []
        real = loop.call_soon_threadsafe

        def counting(callback: Any, *args: Any) -> Any:
            scheduled.append(callback)
            return real(callback, *args)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        try:
            q.put(-1)  # already on the loop's side
            thread = threading.Thread(target=lambda: [q.put_threadsafe(i) for i in range(10)])
            thread.start()
            thread.join()  # the loop is stalled meanwhile: the inbox holds the newest 3
            assert len(scheduled) == 1  # one wake-up for the whole burst
            assert len(q) == 4
            await asyncio.sleep(0)  # the wake-up runs: the inbox moves into the queue
            assert [q.get_nowait() for _ in range(3)] == [7, 8, 9]
            assert q.dropped == 8 and q.put_count == 4
        finally:
            del loop.call_soon_threadsafe

    run(go())


def test_close_threadsafe_from_a_thread_comes_after_the_items() -> None:
    async def go() -> None:
        q: RingQueue[int] = RingQueue(loop=asyncio.get_running_loop())

        def produce() -> None:
            q.put_threadsafe(1)
            q.put_threadsafe(2)
            q.close_threadsafe()
            q.put_threadsafe(3)  # after the close: ignored

        await asyncio.to_thread(produce)
        assert len(q) == 2  # closed (or about to be), still holding what came before
        assert [await q.get(), await q.get()] == [1, 2]
        with pytest.raises(QueueClosed):
            await q.get()
        assert q.closed and q.put_count == 2

    run(go())


def test_close_threadsafe_discard_from_a_thread_drops_everything() -> None:
    async def go() -> None:
        q: RingQueue[int] = RingQueue(loop=asyncio.get_running_loop())
        q.put(0)

        def produce() -> None:
            q.put_threadsafe(1)
            q.close_threadsafe(discard=True)

        await asyncio.to_thread(produce)
        await asyncio.sleep(0)
        with pytest.raises(QueueClosed):
            q.get_nowait()

    run(go())


def test_close_threadsafe_on_the_loop_closes_at_once() -> None:
    async def go() -> None:
        q: RingQueue[int] = RingQueue()
        q.put(1)
        q.put_threadsafe(2)
        q.close_threadsafe(discard=True)
        assert q.closed and len(q) == 0
        with pytest.raises(QueueClosed):
            q.get_nowait()
        q.put_threadsafe(3)
        assert len(q) == 0

    run(go())


def test_clear_drops_the_inbox_too() -> None:
    async def go() -> None:
        q: RingQueue[int] = RingQueue()
        q.put(1)
        await asyncio.to_thread(q.put_threadsafe, 2)
        assert q.clear() == 2 and len(q) == 0 and q.dropped == 0

    run(go())


def test_a_closed_loop_is_not_an_error_for_the_producer() -> None:
    loop = asyncio.new_event_loop()
    q: RingQueue[int] = RingQueue(loop=loop)
    loop.close()
    q.put_threadsafe(1)  # the wake-up cannot be scheduled: nobody reads any more
    assert len(q) == 1


def test_loop_argument_is_checked() -> None:
    with pytest.raises(TypeError, match="loop="):
        RingQueue(loop="loop")  # type: ignore[arg-type]
