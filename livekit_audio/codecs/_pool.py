"""The decoders' shared worker pool: at most 4 threads, round-robin over decoders.

A decoder never owns a thread. When it has work (input pushed, end of input) it is queued
here; a worker takes the decoder at the head of the queue, runs one bounded *step* of it (a
few pushed chunks, or one slice of the end-of-input work) and, if the decoder still has work,
puts it at the back of the queue. So 100 decoders share at most ``max_workers`` threads, one
long stream cannot starve the others, and a decoder is never stepped by two threads at once.
Workers start on demand and exit after ``idle_timeout`` seconds without work, so an idle
process holds no decoder thread.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Protocol

from livekit_audio._log import logger

__all__ = ["FairPool", "Steppable", "shared_pool"]

#: Most worker threads the shared pool runs.
MAX_WORKERS = 4


class Steppable(Protocol):
    """What the pool runs: ``step()`` does a bounded amount of work and says whether more
    is ready now."""

    def step(self) -> bool: ...


_IDLE, _QUEUED, _RUNNING, _RERUN = range(4)


class FairPool:
    """Runs steps of many jobs on at most ``max_workers`` threads, in round-robin order.

    Parameters
    ----------
    max_workers : int
        Upper bound on worker threads, >= 1.
    idle_timeout : float
        Seconds a worker waits for work before it exits.
    name : str
        Prefix of the worker thread names.
    """

    def __init__(
        self, max_workers: int = MAX_WORKERS, idle_timeout: float = 2.0, name: str = "pool"
    ) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be >= 1, got {max_workers}")
        self.max_workers = max_workers
        self.idle_timeout = idle_timeout
        self._name = name
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._ready: deque[Steppable] = deque()
        self._state: dict[int, int] = {}  # id(job) -> _QUEUED / _RUNNING / _RERUN
        self._workers: set[threading.Thread] = set()
        self._idle = 0
        self._serial = 0
        #: Most worker threads alive at once since creation (or the last reset_peak()).
        self.peak_workers = 0

    @property
    def workers(self) -> int:
        """Worker threads alive now."""
        with self._lock:
            return len(self._workers)

    def reset_peak(self) -> None:
        """Start counting ``peak_workers`` again from the current number of workers."""
        with self._lock:
            self.peak_workers = len(self._workers)

    def submit(self, job: Steppable) -> None:
        """Queue ``job`` for a step (no-op if it is queued already; if it is running, it is
        queued again when that step ends)."""
        key = id(job)
        with self._lock:
            state = self._state.get(key, _IDLE)
            if state == _QUEUED or state == _RERUN:
                return
            if state == _RUNNING:
                self._state[key] = _RERUN
                return
            self._state[key] = _QUEUED
            self._ready.append(job)
            if self._idle == 0 and len(self._workers) < self.max_workers:
                self._serial += 1
                worker = threading.Thread(
                    target=self._work, name=f"{self._name}-{self._serial}", daemon=True
                )
                self._workers.add(worker)
                self.peak_workers = max(self.peak_workers, len(self._workers))
                worker.start()
            else:
                self._cond.notify()

    def _work(self) -> None:
        me = threading.current_thread()
        while True:
            with self._lock:
                while not self._ready:
                    self._idle += 1
                    woke = self._cond.wait(self.idle_timeout)
                    self._idle -= 1
                    if not woke and not self._ready:
                        self._workers.discard(me)
                        return
                job = self._ready.popleft()
                self._state[id(job)] = _RUNNING
            try:
                more = job.step()
            except BaseException:  # a step must not kill the worker
                logger.exception("decoder step failed")
                more = False
            with self._lock:
                key = id(job)
                if more or self._state.get(key) == _RERUN:
                    self._state[key] = _QUEUED
                    self._ready.append(job)
                else:
                    del self._state[key]


_SHARED: FairPool | None = None
_SHARED_LOCK = threading.Lock()


def shared_pool() -> FairPool:
    """The process-wide pool every :class:`~livekit_audio.codecs.AudioStreamDecoder` uses."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = FairPool(MAX_WORKERS, name="livekit_audio-decode")
        return _SHARED
