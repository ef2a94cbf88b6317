"""A small synchronous event emitter with ``livekit.rtc``'s handler conventions.

Handlers are plain callables run in registration order. A handler may accept fewer positional
arguments than the event carries (``def on_subscribed(track): ...`` works for
``track_subscribed(track, publication, participant)``); the surplus is not passed. An exception
in a handler is logged and does not stop the other handlers, except a ``TypeError``, which
propagates out of :meth:`EventEmitter.emit` (so a handler called with the wrong arguments is
not silently swallowed) and skips the handlers after it: exactly what ``livekit.rtc``'s
``EventEmitter`` does (livekit 1.2; ``tests/test_event_emitter.py`` checks both).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from livekit_audio._log import logger

__all__ = ["EventEmitter"]

E = TypeVar("E", bound=str)

_UNLIMITED = -1


def _positional_capacity(callback: Callable[..., Any]) -> int:
    """How many positional arguments ``callback`` takes (-1: any number)."""
    try:
        params = inspect.signature(callback).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature: pass everything
        return _UNLIMITED
    count = 0
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            return _UNLIMITED
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


class EventEmitter(Generic[E]):
    """Register handlers with :meth:`on` / :meth:`once`, remove with :meth:`off`; call them
    with :meth:`emit`. Same behaviour as ``livekit.rtc.EventEmitter`` (see the module notes);
    ``Room`` and ``Participant`` objects are emitters."""

    def __init__(self) -> None:
        # event -> {callback: positional capacity}; dicts keep registration order
        self._handlers: dict[str, dict[Callable[..., Any], int]] = {}

    def on(self, event: E, callback: Callable[..., Any] | None = None) -> Callable[..., Any]:
        """Call ``callback`` every time ``event`` is emitted; usable as a decorator.

        Raises
        ------
        ValueError
            If ``callback`` is a coroutine function (start a task from a plain handler
            instead, as with ``livekit.rtc``).
        TypeError
            If ``callback`` is not callable.
        """
        if callback is None:

            def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
                self.on(event, fn)
                return fn

            return decorator
        if inspect.iscoroutinefunction(callback):
            raise ValueError(
                f"cannot register the coroutine function {callback!r} for {event!r}; register "
                "a plain function that calls asyncio.create_task(...) instead"
            )
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}")
        self._handlers.setdefault(event, {})[callback] = _positional_capacity(callback)
        return callback

    def once(self, event: E, callback: Callable[..., Any] | None = None) -> Callable[..., Any]:
        """Like :meth:`on`, but the handler is removed after its first call."""
        if callback is None:

            def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
                self.once(event, fn)
                return fn

            return decorator
        capacity = _positional_capacity(callback)

        def once_wrapper(*args: Any) -> None:
            self.off(event, once_wrapper)
            callback(*(args if capacity == _UNLIMITED else args[:capacity]))

        self.on(event, once_wrapper)
        return callback

    def off(self, event: E, callback: Callable[..., Any]) -> None:
        """Remove ``callback`` from ``event`` (no error if it was not registered)."""
        handlers = self._handlers.get(event)
        if handlers is not None:
            handlers.pop(callback, None)

    def emit(self, event: E, *args: Any) -> None:
        """Call every handler of ``event`` with ``args`` (truncated to what each accepts).

        Raises
        ------
        TypeError
            Raised by a handler: it propagates and the later handlers are not called (as in
            ``livekit.rtc``). Any other exception is logged and the next handler runs.
        """
        handlers = self._handlers.get(event)
        if not handlers:
            return
        for callback, capacity in list(handlers.items()):
            try:
                callback(*(args if capacity == _UNLIMITED else args[:capacity]))
            except TypeError:
                raise
            except Exception:
                logger.exception("handler %r for event %r failed", callback, event)
