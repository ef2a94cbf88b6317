"""EventEmitter behaves as livekit.rtc's: each check runs on ours and, where the livekit
extra is installed, on ``livekit.rtc.EventEmitter`` too, so a change in LiveKit shows up."""

from __future__ import annotations

import logging

import pytest

import livekit_audio


def emitters() -> list[type]:
    kinds: list[type] = [livekit_audio.EventEmitter]
    try:
        from livekit import rtc
    except ImportError:
        return kinds
    return [*kinds, rtc.EventEmitter]


@pytest.fixture(params=emitters(), ids=lambda cls: cls.__module__.split(".")[0])
def emitter(request):
    return request.param()


def test_handlers_run_in_registration_order_with_the_arguments_they_accept(emitter):
    calls = []
    emitter.on("track_subscribed", lambda track: calls.append(("one", track)))
    emitter.on("track_subscribed", lambda track, pub, who: calls.append(("three", pub, who)))
    emitter.on("track_subscribed", lambda *args: calls.append(("all", args)))
    emitter.emit("track_subscribed", "t", "p", "alice")
    assert calls == [("one", "t"), ("three", "p", "alice"), ("all", ("t", "p", "alice"))]


def test_a_failing_handler_is_logged_and_the_next_one_still_runs(emitter, caplog):
    calls = []

    def broken(_):
        raise RuntimeError("handler bug")

    emitter.on("e", broken)
    emitter.on("e", calls.append)
    with caplog.at_level(logging.ERROR):
        emitter.emit("e", 1)
    assert calls == [1]
    assert "handler bug" in caplog.text


def test_a_type_error_in_a_handler_propagates_and_skips_the_rest(emitter):
    """LiveKit re-raises TypeError from a handler (a handler called with the wrong
    arguments must not be swallowed); the handlers after it do not run."""
    calls = []

    def wrong(x):
        raise TypeError("wrong arguments")

    emitter.on("e", wrong)
    emitter.on("e", calls.append)
    with pytest.raises(TypeError, match="wrong arguments"):
        emitter.emit("e", 1)
    assert calls == []


def test_once_off_and_decorators(emitter):
    calls = []

    @emitter.once("e")
    def first(x):
        calls.append(("once", x))

    @emitter.on("e")
    def every(x):
        calls.append(("on", x))

    emitter.emit("e", 1)
    emitter.emit("e", 2)
    emitter.off("e", every)
    emitter.emit("e", 3)
    emitter.off("never-registered", every)  # no error
    assert calls == [("once", 1), ("on", 1), ("on", 2)]


def test_coroutine_handlers_are_refused(emitter):
    async def handler() -> None:
        pass

    with pytest.raises(ValueError):
        emitter.on("e", handler)


def test_event_emitter_is_exported_and_rooms_are_emitters():
    assert isinstance(livekit_audio.Room(), livekit_audio.EventEmitter)
