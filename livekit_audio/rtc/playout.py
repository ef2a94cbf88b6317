"""Real-time playout of a track to its streams: a 10 ms frame every 10 ms, as LiveKit's do.

A ``livekit.rtc`` remote ``AudioStream`` sits behind a WebRTC jitter buffer and audio device
that play out continuously: while subscribed it delivers a 10 ms frame every 10 ms, digital
silence when the publisher sends nothing. Real-time tracks (every remote track, and local
tracks of a real-time AudioSource) hand audio to their streams through a :class:`Playout`
that does the same: the audio that arrives is re-cut into 10 ms slots and delivered as soon as
a slot is whole; a slot that goes by without audio is delivered as silence. One playout per
track (not per stream); all the playouts of an event loop are paced by one shared timer
(:class:`_Ticker`) on a fixed 10 ms grid of the loop's clock, so nothing drifts.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from typing import TYPE_CHECKING, Any

from livekit_audio.audio_frame import AudioFrame, frame_samples, wrap_samples
from livekit_audio.rtc._dispatch import run_batched

if TYPE_CHECKING:
    from livekit_audio.rtc.audio_stream import AudioStream

__all__ = [
    "PLAYOUT_GRACE_S",
    "PLAYOUT_MAX_BURST",
    "PLAYOUT_MAX_LAG_S",
    "PLAYOUT_SLOT_MS",
    "Playout",
]


#: Length of a playout slot: real-time tracks deliver 10 ms frames, as ``livekit.rtc`` does.
PLAYOUT_SLOT_MS = 10
#: While audio flows, how long (in seconds of loop time, counted from when the playout sees a
#: slot go by without audio) it waits for a late frame before filling that slot with silence.
PLAYOUT_GRACE_S = 0.020
#: Most a talkspurt may fall behind the loop's clock through late frames (as a jitter buffer
#: grows its delay); beyond that a missing slot is filled with silence at once.
PLAYOUT_MAX_LAG_S = 0.200
#: Most silence frames a playout delivers at once when the event loop was late; silence owed
#: for longer than that is skipped (counted in ``Playout.skipped``), never delivered late.
PLAYOUT_MAX_BURST = 5

_TICK_S = PLAYOUT_SLOT_MS / 1000
_EPSILON_S = 1e-6  # timer tolerance: asyncio may run a timer a clock tick early


@functools.lru_cache(maxsize=64)
def _silence(sample_rate: int, num_channels: int, samples_per_channel: int) -> AudioFrame:
    """One immutable frame of digital silence per layout, shared by every playout."""
    data = memoryview(bytes(2 * num_channels * samples_per_channel)).cast("h")
    return wrap_samples(data, sample_rate, num_channels, samples_per_channel)


class _Ticker:
    """The one timer of an event loop, driving every running playout on that loop.

    It fires at each multiple of 10 ms of the loop's clock, scheduled against that grid (no
    drift; a late loop skips the instants it missed, and each playout catches up on its own,
    bounded), and only while some playout runs. One wake-up of the loop per 10 ms serves
    every track: no timer per track, none per stream. Holds its loop and its playouts
    weakly, so it keeps neither alive.
    """

    __slots__ = ("_loop", "_playouts", "_handle", "__weakref__")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = weakref.ref(loop)
        self._playouts: weakref.WeakSet[Playout] = weakref.WeakSet()
        self._handle: asyncio.TimerHandle | None = None

    def add(self, playout: Playout) -> None:
        self._playouts.add(playout)
        if self._handle is None:
            self._arm()

    def remove(self, playout: Playout) -> None:
        self._playouts.discard(playout)
        if not self._playouts and self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _arm(self) -> None:
        loop = self._loop()
        if loop is not None and not loop.is_closed():
            now = loop.time()
            when = (now // _TICK_S + 1) * _TICK_S
            if when <= now:  # float floor division: 0.03 // 0.01 == 2.0, so 0.03 -> 0.03
                when += _TICK_S
            self._handle = loop.call_at(when, self._tick)

    def _tick(self) -> None:
        self._handle = None
        loop = self._loop()
        if loop is None:
            return
        now = loop.time()
        run_batched(lambda: self._run(now))  # streams' frames of this tick: one batch
        if self._playouts:
            self._arm()

    def _run(self, now: float) -> None:
        for playout in list(self._playouts):
            playout._on_tick(now)


_TICKERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Ticker] = (
    weakref.WeakKeyDictionary()
)


def _ticker_for(loop: asyncio.AbstractEventLoop) -> _Ticker:
    """The loop's ticker (a loop that cannot be weakly referenced gets one per playout)."""
    try:
        ticker = _TICKERS.get(loop)
        if ticker is None:
            ticker = _TICKERS[loop] = _Ticker(loop)
        return ticker
    except TypeError:
        return _Ticker(loop)


class Playout:
    """A real-time track's delivery to its streams: 10 ms slots on the event loop's clock.

    The playout numbers 10 ms slots on the loop's clock from when its first stream
    registers (slot ``k`` spans ``[anchor + k*T, anchor + (k+1)*T)``, ``anchor`` on the
    loop's 10 ms grid) and delivers every slot exactly once, in order, to every registered
    stream:

    - **Audio** is re-cut into slots and delivered as soon as a whole slot has arrived, even
      ahead of the slot's time (no added latency; a faster-than-real-time publisher runs
      ahead). A frame that is exactly one slot is passed on as is, without a copy.
    - **Silence** (a shared, pre-built frame) fills a slot once its end has passed with no
      audio for it. While audio is flowing (the last slot carried audio, or nothing has been
      delivered yet), a missing slot first gets :data:`PLAYOUT_GRACE_S` of loop time for a
      late frame, which then fills it: a talkspurt is not cut by scheduling jitter. The
      stream then runs behind the loop's clock by that much, as a jitter buffer grows its
      delay, at most :data:`PLAYOUT_MAX_LAG_S`; the delay is given back at the next pause
      (its silence covers the time owed). A partial slot left when the audio stops is
      completed with zeros.
    - When audio arrives after silence, the slots that passed before it are filled with
      silence first, then the audio takes the next slot: audio and silence never overlap,
      reorder or leave a gap, and the stream's time stays the loop's time.

    The loop's :class:`_Ticker` calls :meth:`_on_tick` every 10 ms while the playout runs:
    from the registration of its first stream until the track ends or its last stream
    goes (a new stream restarts it with a new anchor). A loop that was late gets at most
    :data:`PLAYOUT_MAX_BURST` silence frames at once; older owed silence is skipped and
    counted in :attr:`skipped`. Cost per idle track: one method call and one delivery of
    the shared silence frame per 10 ms.
    """

    __slots__ = (
        "_streams",
        "_refs",
        "_dirty",
        "_loop",
        "_ticker",
        "_anchor",
        "_pos",
        "_talking",
        "_grace_until",
        "_pending",
        "_rate",
        "_channels",
        "_slot",
        "_slot_bytes",
        "_slot_s",
        "_max_lag",
        "_silence",
        "skipped",
        "__weakref__",
    )

    def __init__(
        self, streams: weakref.WeakSet[AudioStream], sample_rate: int, num_channels: int
    ) -> None:
        self._streams = streams  # the track's own weak set: the playout keeps no stream alive
        # weak references to the same streams, cheaper to walk every 10 ms than the weak set;
        # ``_dirty`` once one of them died (refreshed at the next tick)
        self._refs: tuple[weakref.ref[AudioStream], ...] = ()
        self._dirty = False
        self._loop: asyncio.AbstractEventLoop | None = None  # set while running
        self._ticker: _Ticker | None = None  # set while running
        self._anchor = 0.0  # loop time at which slot 0 starts
        self._pos = 0  # slots delivered since the anchor
        self._talking = True  # the last slot carried audio (or none was delivered yet)
        self._grace_until: float | None = None
        self._pending = bytearray()  # audio received but not yet a whole slot
        #: Silence slots skipped because the loop was late (see :data:`PLAYOUT_MAX_BURST`).
        self.skipped = 0
        self._set_format(sample_rate, num_channels)

    def _set_format(self, sample_rate: int, num_channels: int) -> None:
        self._rate = sample_rate
        self._channels = num_channels
        self._slot = max(1, sample_rate * PLAYOUT_SLOT_MS // 1000)  # samples per channel
        self._slot_bytes = 2 * num_channels * self._slot
        self._slot_s = self._slot / sample_rate
        self._max_lag = max(1, round(PLAYOUT_MAX_LAG_S / self._slot_s))  # in slots
        self._silence = _silence(sample_rate, num_channels, self._slot)

    @property
    def running(self) -> bool:
        """Whether the clock runs (the track has streams and has not ended)."""
        return self._loop is not None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Take in the track's current streams; if not running, start delivering on ``loop``
        with slot 0 being the current 10 ms of the loop's grid."""
        if self._loop is None:
            self._loop = loop
            self._anchor = loop.time() // _TICK_S * _TICK_S  # on the grid the ticker uses
            self._pos = 0
            self._talking = True  # the first audio gets the grace of a late frame
            self._grace_until = None
            self._pending.clear()
            self._ticker = _ticker_for(loop)
            self._ticker.add(self)
        self.streams_changed()

    def streams_changed(self) -> None:
        """The track's streams changed: refresh the delivery list; stop if none is left."""
        self._dirty = False
        self._refs = tuple(weakref.ref(s, self._stream_gone) for s in self._streams)
        if not self._refs:
            self.stop()

    def _stream_gone(self, ref: weakref.ref[AudioStream]) -> None:
        self._dirty = True  # a weakref callback may run in any thread: act at the next tick

    def stop(self) -> None:
        """Stop delivering (idempotent); audio pushed while stopped goes nowhere."""
        if self._ticker is not None:
            self._ticker.remove(self)
            self._ticker = None
        self._loop = None

    def end(self) -> None:
        """The track ended: deliver a held partial slot as a short last frame, then stop."""
        if self._loop is not None and self._pending:
            self._emit(self._take(len(self._pending) // (2 * self._channels)))
        self._pending.clear()
        self.stop()

    def push(self, frame: Any) -> None:
        """Audio arrived for the track: deliver every whole slot it completes, at once."""
        loop = self._loop
        n = int(frame.samples_per_channel)
        if loop is None or n == 0:
            return
        if int(frame.sample_rate) != self._rate or int(frame.num_channels) != self._channels:
            self._change_format(int(frame.sample_rate), int(frame.num_channels))
        if not self._talking:
            self._fill(loop.time())  # silence for the slots that went by before this audio
        self._talking = True
        self._grace_until = None
        if n == self._slot and not self._pending:
            self._pos += 1
            self._emit(frame)  # the common case: exactly one slot, passed on as is
            return
        self._pending += frame_samples(frame)
        while len(self._pending) >= self._slot_bytes:
            self._pos += 1
            self._emit(self._take(self._slot))

    # -- internals ---------------------------------------------------------------------

    def _due(self, now: float) -> int:
        """Slots whose end has passed at loop time ``now``."""
        return int((now - self._anchor + _EPSILON_S) / self._slot_s)

    def _on_tick(self, now: float) -> None:
        """Called by the ticker every 10 ms: fill the slots that went by without audio."""
        if self._dirty:  # a stream was dropped without aclose
            self.streams_changed()
            if self._loop is None:
                return
        owed = self._due(now) - self._pos
        if owed <= 0:
            return
        if self._talking and owed <= self._max_lag:
            if self._grace_until is None:
                self._grace_until = now + PLAYOUT_GRACE_S
            if now + _EPSILON_S < self._grace_until:
                return  # a late frame may still come
        self._fill(now)

    def _fill(self, now: float) -> None:
        """Deliver silence for every slot that has ended without audio (bounded burst)."""
        owed = self._due(now) - self._pos
        if owed <= 0:
            return
        self._talking = False
        self._grace_until = None
        budget = PLAYOUT_MAX_BURST
        if self._pending:  # the audio stopped mid-slot: the rest of that slot is silence
            self._pending += bytes(self._slot_bytes - len(self._pending))
            self._pos += 1
            owed -= 1
            budget -= 1
            self._emit(self._take(self._slot))
        if owed > budget:  # the loop was late: skip the oldest silence instead of a burst
            self.skipped += owed - budget
            self._pos += owed - budget
            owed = budget
        silence = self._silence
        for _ in range(owed):
            self._pos += 1
            self._emit(silence)

    def _take(self, n: int) -> AudioFrame:
        """The first ``n`` samples per channel of the pending audio, as an immutable frame."""
        size = 2 * self._channels * n
        data = bytes(self._pending[:size])
        del self._pending[:size]
        return wrap_samples(memoryview(data).cast("h"), self._rate, self._channels, n)

    def _change_format(self, sample_rate: int, num_channels: int) -> None:
        """Audio of another layout: finish the old one (short frame), re-anchor, switch."""
        if self._pending:
            self._emit(self._take(len(self._pending) // (2 * self._channels)))
        self._anchor += self._pos * self._slot_s
        self._pos = 0
        self._set_format(sample_rate, num_channels)

    def _emit(self, frame: AudioFrame) -> None:
        for ref in self._refs:
            stream = ref()
            if stream is not None:
                stream._feed(frame)
