"""AudioMixer (async) and mix_frames (one-shot).

No test asserts a duration. Where a stream must stall, it waits on an event that the test sets
only after the mixer has visibly mixed without it, so the outcome never depends on timing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from livekit_audio import AudioFrame, AudioMixer, mix_frames, resample
from livekit_audio._native import _mix

RATE = 48000
BLOCK = RATE // 100
#: Upper bound on a whole async test body: a guard against a hang, never a timing check.
GUARD_S = 30.0


# --------------------------------------------------------------------------- helpers


def frames_of(x: np.ndarray, rate: int, sizes: Sequence[int] | int) -> list[AudioFrame]:
    """Split (n,) or (n, ch) int16 into writable frames of the given sizes (cycled)."""
    x = x if x.ndim == 2 else x[:, None]
    sizes = [sizes] if isinstance(sizes, int) else list(sizes)
    out, pos, i = [], 0, 0
    while pos < len(x):
        n = min(sizes[i % len(sizes)], len(x) - pos)
        chunk = np.ascontiguousarray(x[pos : pos + n])
        out.append(AudioFrame(bytearray(chunk.tobytes()), rate, x.shape[1], n))
        pos, i = pos + n, i + 1
    return out


async def agen(frames: Sequence[Any]) -> AsyncIterator[Any]:
    for f in frames:
        yield f


async def collect(mixer: AudioMixer) -> np.ndarray:
    """Every mixed sample, as (n, num_channels); checks every block is exactly blocksize."""
    blocks = []

    async def consume() -> None:
        async for frame in mixer:
            assert frame.samples_per_channel == mixer.blocksize
            assert frame.sample_rate == mixer.sample_rate
            assert frame.num_channels == mixer.num_channels
            blocks.append(frame.to_ndarray().copy())

    await asyncio.wait_for(consume(), GUARD_S)
    if not blocks:
        return np.zeros((0, mixer.num_channels), dtype=np.int16)
    return np.concatenate(blocks)


def padded_sum(signals: Sequence[np.ndarray], block: int, gains: Sequence[float] | None = None):
    """The expected mix of streams that all start together: a sum padded to whole blocks."""
    signals = [s if s.ndim == 2 else s[:, None] for s in signals]
    n = max(len(s) for s in signals)
    n = -(-n // block) * block
    ch = signals[0].shape[1]
    if gains is None:
        total = np.zeros((n, ch), dtype=np.int64)
        for s in signals:
            total[: len(s)] += s
        return np.clip(total, -32768, 32767).astype(np.int16)
    acc = None
    for g, s in zip(gains, signals, strict=True):
        p = np.zeros((n, ch), dtype=np.float32)
        p[: len(s)] = s
        term = np.float32(g) * p
        acc = term if acc is None else acc + term
    return np.rint(np.clip(acc, -32768, 32767)).astype(np.int16)


def noise(rng: np.random.Generator, n: int, ch: int = 1, scale: int = 8000) -> np.ndarray:
    x = rng.integers(-scale, scale, size=(n, ch), dtype=np.int16)
    return x if ch > 1 else x[:, 0]


@dataclass
class Event:
    """What an AudioStream yields: an event carrying a frame."""

    frame: Any


class EventStream:
    """An AudioStream-like async iterator of events (not a generator)."""

    def __init__(self, frames: Sequence[AudioFrame]) -> None:
        self._frames = list(frames)

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        if not self._frames:
            raise StopAsyncIteration
        await asyncio.sleep(0)
        return Event(self._frames.pop(0))


# --------------------------------------------------------------------------- construction


def test_defaults_and_validation():
    m = AudioMixer(48000, 2)
    assert (m.blocksize, m.stream_timeout_ms, m.capacity) == (480, 100.0, 100)
    assert AudioMixer(16000, 1).blocksize == 160
    assert AudioMixer(48000, 1, blocksize=4800).blocksize == 4800
    assert "blocksize=480" in repr(m) and "open" in repr(m)
    assert m.streams == ()
    with pytest.raises(ValueError, match="sample_rate"):
        AudioMixer(10, 1)
    with pytest.raises(ValueError, match="num_channels"):
        AudioMixer(48000, 0)
    with pytest.raises(ValueError, match="num_channels"):
        AudioMixer(48000, 9)
    with pytest.raises(TypeError, match="sample_rate"):
        AudioMixer(48000.0, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="blocksize"):
        AudioMixer(48000, 1, blocksize=-1)
    with pytest.raises(ValueError, match="stream_timeout_ms"):
        AudioMixer(48000, 1, stream_timeout_ms=-1)
    with pytest.raises(ValueError, match="stream_timeout_ms"):
        AudioMixer(48000, 1, stream_timeout_ms=float("nan"))
    with pytest.raises(ValueError, match="capacity"):
        AudioMixer(48000, 1, capacity=-1)


# --------------------------------------------------------------------------- mixing


@pytest.mark.asyncio
async def test_blocks_are_exact_and_the_tail_is_padded_not_dropped(rng):
    a = noise(rng, 4800 + 123)
    b = noise(rng, 3001)
    mixer = AudioMixer(RATE, 1)
    mixer.add_stream(agen(frames_of(a, RATE, 480)))
    mixer.add_stream(agen(frames_of(b, RATE, [333, 17, 1000])))
    mixer.end_input()
    got = await collect(mixer)
    np.testing.assert_array_equal(got, padded_sum([a, b], BLOCK))
    assert len(got) == 11 * BLOCK  # 4923 samples -> 10 full blocks + a padded 11th


@pytest.mark.asyncio
@pytest.mark.parametrize("n_streams", [1, 3, 8, 16])
async def test_many_streams_odd_frame_sizes_equal_the_saturating_sum(rng, n_streams):
    signals = [noise(rng, int(rng.integers(1, 3000)), scale=30000) for _ in range(n_streams)]
    mixer = AudioMixer(RATE, 1, blocksize=256)
    for s in signals:
        sizes = [int(v) for v in rng.integers(1, 700, size=5)]
        mixer.add_stream(agen(frames_of(s, RATE, sizes)))
    mixer.end_input()
    np.testing.assert_array_equal(await collect(mixer), padded_sum(signals, 256))


@pytest.mark.asyncio
async def test_gains(rng):
    a, b, c = noise(rng, 2000), noise(rng, 2000), noise(rng, 1500)
    mixer = AudioMixer(RATE, 1)
    mixer.add_stream(agen(frames_of(a, RATE, 480)), gain=0.5)
    mixer.add_stream(agen(frames_of(b, RATE, 480)))
    mixer.add_stream(agen(frames_of(c, RATE, 480)), gain=-2.0)
    mixer.end_input()
    np.testing.assert_array_equal(
        await collect(mixer), padded_sum([a, b, c], BLOCK, gains=[0.5, 1.0, -2.0])
    )


@pytest.mark.asyncio
async def test_adding_a_stream_twice_updates_its_gain(rng):
    a = noise(rng, 960)
    stream = agen(frames_of(a, RATE, 480))
    mixer = AudioMixer(RATE, 1)
    mixer.add_stream(stream)
    mixer.add_stream(stream, gain=0.25)
    assert mixer.streams == (stream,)
    mixer.end_input()
    np.testing.assert_array_equal(await collect(mixer), padded_sum([a], BLOCK, gains=[0.25]))


@pytest.mark.asyncio
async def test_stereo_mixer(rng):
    a, b = noise(rng, 1000, 2), noise(rng, 700, 2)
    mixer = AudioMixer(RATE, 2)
    mixer.add_stream(agen(frames_of(a, RATE, 300)))
    mixer.add_stream(agen(frames_of(b, RATE, 480)))
    mixer.end_input()
    np.testing.assert_array_equal(await collect(mixer), padded_sum([a, b], BLOCK))


@pytest.mark.asyncio
async def test_events_and_foreign_frames_are_accepted(rng):
    from livekit import rtc

    a, b = noise(rng, 1440), noise(rng, 960)
    foreign = [
        rtc.AudioFrame(bytearray(f.to_ndarray().tobytes()), RATE, 1, f.samples_per_channel)
        for f in frames_of(b, RATE, 480)
    ]
    mixer = AudioMixer(RATE, 1)
    mixer.add_stream(EventStream(frames_of(a, RATE, 480)))
    mixer.add_stream(agen(foreign))
    mixer.end_input()
    np.testing.assert_array_equal(await collect(mixer), padded_sum([a, b], BLOCK))


@pytest.mark.asyncio
async def test_audio_streams_on_local_tracks_are_mixed_and_converted(rng):
    """Real AudioStream objects (they yield AudioFrameEvent) at 16 and 48 kHz into 48 kHz."""
    import livekit_audio as la

    x16, x48 = noise(rng, 1600), noise(rng, 4800)
    sources, streams = [], []
    for rate in (16000, 48000):
        source = la.AudioSource(rate, 1, realtime=False)
        track = la.LocalAudioTrack.create_audio_track(f"t{rate}", source)
        sources.append(source)
        streams.append(la.AudioStream(track, sample_rate=rate))
    mixer = AudioMixer(RATE, 1)
    for stream in streams:
        mixer.add_stream(stream)
    mixer.end_input()
    consumer = asyncio.ensure_future(collect(mixer))
    for source, x, rate in zip(sources, (x16, x48), (16000, 48000), strict=True):
        for frame in frames_of(x, rate, rate // 100):
            await source.capture_frame(frame)
        await source.wait_for_playout()
        await source.aclose()
    for stream in streams:
        await stream.aclose()  # the stream ends; the mixer flushes what it holds
    got = await asyncio.wait_for(consumer, GUARD_S)
    np.testing.assert_array_equal(got, padded_sum([resample(x16, 16000, RATE), x48], BLOCK))


@pytest.mark.asyncio
async def test_frames_reused_by_their_producer_do_not_change_the_mix(rng):
    a = noise(rng, 4800)

    async def reusing_producer():
        buf = bytearray(960)
        frame = AudioFrame(buf, RATE, 1, 480)
        for i in range(0, 4800, 480):
            buf[:] = a[i : i + 480].tobytes()
            yield frame  # the same object and buffer every time, overwritten after yield

    mixer = AudioMixer(RATE, 1)
    mixer.add_stream(reusing_producer())
    mixer.end_input()
    np.testing.assert_array_equal((await collect(mixer))[:, 0], a)


# --------------------------------------------------------------------------- slow streams


@pytest.mark.asyncio
async def test_a_stalled_stream_loses_nothing_and_stays_in_order():
    """B stalls mid-stream, then resumes: every sample of A and of B is in the output, in
    order, with B's silence inserted as whole blocks. A = 4096 * a, B in [1, 4095], so each
    output sample splits back into its A and B parts exactly."""
    a_vals = np.arange(1, 61) % 7 + 1  # per-frame levels 1..7, no zeros
    a_frames = [AudioFrame.from_ndarray(np.full(480, 4096 * v, np.int16), RATE) for v in a_vals]
    b_signal = (np.arange(10 * 480) % 4095 + 1).astype(np.int16)
    b_frames = frames_of(b_signal, RATE, 480)
    resume = asyncio.Event()

    async def stalling():
        for i, f in enumerate(b_frames):
            if i == 4:
                await resume.wait()  # stalls far beyond the mixer's timeout
            yield f

    async def fast():
        for f in a_frames:
            yield f
            await asyncio.sleep(0)

    mixer = AudioMixer(RATE, 1, stream_timeout_ms=5)
    mixer.add_stream(fast())
    mixer.add_stream(stalling())
    mixer.end_input()
    blocks = []

    async def consume() -> None:
        async for frame in mixer:
            x = frame.to_ndarray()[:, 0].astype(np.int32)
            blocks.append(x)
            if not resume.is_set() and len(blocks) > 4 and np.all(x % 4096 == 0):
                resume.set()  # the mixer has mixed a block without B: now let B go on

    await asyncio.wait_for(consume(), GUARD_S)
    assert resume.is_set(), "the stalled stream was never mixed as silence"
    y = np.concatenate(blocks)
    a_part, b_part = y // 4096, y % 4096
    np.testing.assert_array_equal(a_part[a_part != 0], np.repeat(a_vals, 480))
    np.testing.assert_array_equal(b_part[b_part != 0], b_signal)
    assert len(y) % BLOCK == 0


@pytest.mark.asyncio
async def test_a_stream_ending_while_stalled_is_flushed(rng):
    a = noise(rng, 4800)
    b = noise(rng, 250)  # less than one block, then a stall, then the end
    go = asyncio.Event()

    async def short_then_end():
        yield AudioFrame.from_ndarray(b, RATE)
        await go.wait()

    mixer = AudioMixer(RATE, 1, stream_timeout_ms=1)
    mixer.add_stream(agen(frames_of(a, RATE, 480)))
    mixer.add_stream(short_then_end())
    mixer.end_input()
    blocks = []

    async def consume() -> None:
        async for frame in mixer:
            blocks.append(frame.to_ndarray()[:, 0].copy())
            if len(blocks) == 10:
                go.set()

    await asyncio.wait_for(consume(), GUARD_S)
    y = np.concatenate(blocks)
    np.testing.assert_array_equal(y[:4800], a)  # B's partial block was held, not mixed early
    np.testing.assert_array_equal(y[4800 : 4800 + 250], b)  # then flushed, padded, not dropped
    assert len(y) == 4800 + BLOCK and not y[4800 + 250 :].any()


@pytest.mark.asyncio
async def test_timeout_zero_never_waits_and_loses_nothing(rng):
    a = noise(rng, 2400)
    gate = asyncio.Event()

    async def late():
        await gate.wait()
        for f in frames_of(a, RATE, 480):
            yield f

    async def tick():
        for _ in range(3):
            yield AudioFrame.create(RATE, 1, 480)

    mixer = AudioMixer(RATE, 1, stream_timeout_ms=0)
    mixer.add_stream(tick())
    mixer.add_stream(late())
    mixer.end_input()
    blocks = []

    async def consume() -> None:
        async for frame in mixer:
            blocks.append(frame.to_ndarray()[:, 0].copy())
            gate.set()

    await asyncio.wait_for(consume(), GUARD_S)
    np.testing.assert_array_equal(np.concatenate(blocks)[-2400:], a)


# --------------------------------------------------------------------------- conversion


@pytest.mark.asyncio
@pytest.mark.parametrize("in_rate", [16000, 44100, 24000])
async def test_other_rates_are_resampled_with_our_resampler(rng, in_rate):
    x = noise(rng, in_rate // 2)  # 0.5 s
    mixer = AudioMixer(RATE, 1)
    mixer.add_stream(agen(frames_of(x, in_rate, [in_rate // 100, 77])))
    mixer.end_input()
    expected = resample(x, in_rate, RATE)  # streaming + flush == one-shot, bit for bit
    np.testing.assert_array_equal(await collect(mixer), padded_sum([expected], BLOCK))


@pytest.mark.asyncio
async def test_channel_down_and_up_mix(rng):
    stereo = noise(rng, 960, 2)
    mono = noise(rng, 960)
    down = AudioMixer(RATE, 1)
    down.add_stream(agen(frames_of(stereo, RATE, 480)))
    down.end_input()
    expected_down = np.rint(stereo.astype(np.int32).sum(axis=1) / 2).astype(np.int16)
    np.testing.assert_array_equal((await collect(down))[:, 0], expected_down)
    up = AudioMixer(RATE, 2)
    up.add_stream(agen(frames_of(mono, RATE, 480)))
    up.end_input()
    np.testing.assert_array_equal(await collect(up), np.stack([mono, mono], axis=1))


@pytest.mark.asyncio
async def test_rate_and_layout_changes_mid_stream(rng):
    part1 = noise(rng, 1600, 2)  # 16 kHz stereo: down-mixed, then resampled (tail flushed)
    part2 = noise(rng, 960)  # then 48 kHz mono as is
    mixer = AudioMixer(RATE, 1)
    mixer.add_stream(agen(frames_of(part1, 16000, 160) + frames_of(part2, RATE, 480)))
    mixer.end_input()
    mono1 = np.rint(part1.astype(np.int32).sum(axis=1) / 2).astype(np.int16)
    expected = np.concatenate([resample(mono1, 16000, RATE), part2])
    np.testing.assert_array_equal((await collect(mixer))[:, 0], padded_sum([expected], BLOCK)[:, 0])


# --------------------------------------------------------------------------- lifecycle, errors


@pytest.mark.asyncio
async def test_add_stream_after_end_input_or_aclose_raises():
    mixer = AudioMixer(RATE, 1)
    mixer.end_input()
    with pytest.raises(RuntimeError, match="end_input"):
        mixer.add_stream(agen([]))
    assert len(await collect(mixer)) == 0  # no streams: iteration simply ends
    closed = AudioMixer(RATE, 1)
    await closed.aclose()
    await closed.aclose()  # idempotent
    with pytest.raises(RuntimeError, match="aclose"):
        closed.add_stream(agen([]))
    with pytest.raises(StopAsyncIteration):
        await closed.__anext__()


@pytest.mark.asyncio
async def test_bad_streams_and_gains():
    mixer = AudioMixer(RATE, 1)
    with pytest.raises(TypeError, match="async iterable"):
        mixer.add_stream([AudioFrame.create(RATE, 1, 480)])  # type: ignore[arg-type]
    for bad in (float("nan"), float("inf"), 1e4):
        with pytest.raises(ValueError, match="gain"):
            mixer.add_stream(agen([]), gain=bad)
    with pytest.raises(TypeError, match="gain"):
        mixer.add_stream(agen([]), gain="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not in this mixer"):
        mixer.remove_stream(agen([]))
    await mixer.aclose()


@pytest.mark.asyncio
async def test_remove_stream_cancels_its_read_and_keeps_mixing(rng):
    a = noise(rng, 2400)
    closed = asyncio.Event()

    async def endless():
        try:
            while True:
                yield AudioFrame.from_ndarray(np.full(480, 1, np.int16), RATE)
                await asyncio.sleep(0)
        finally:
            closed.set()

    mixer = AudioMixer(RATE, 1)
    forever = endless()
    mixer.add_stream(forever)
    mixer.add_stream(agen(frames_of(a, RATE, 480)))
    mixer.end_input()
    got = []

    async def consume() -> None:
        async for frame in mixer:
            got.append(frame.to_ndarray()[:, 0].copy())
            if len(got) == 2:
                mixer.remove_stream(forever)
                with pytest.raises(ValueError):
                    mixer.remove_stream(forever)

    await asyncio.wait_for(consume(), GUARD_S)
    await asyncio.wait_for(closed.wait(), GUARD_S)
    y = np.concatenate(got)
    np.testing.assert_array_equal(y[:960], a[:960] + 1)
    assert len(y) <= 2400  # the endless stream no longer holds the mix open


@pytest.mark.asyncio
async def test_aclose_cancels_pending_reads_and_ends_iteration():
    started, closed = asyncio.Event(), asyncio.Event()

    async def never():
        try:
            started.set()
            await asyncio.Event().wait()
            yield AudioFrame.create(RATE, 1, 480)
        finally:
            closed.set()

    async with AudioMixer(RATE, 1) as mixer:
        mixer.add_stream(never())
        consumer = asyncio.ensure_future(collect(mixer))
        await started.wait()
    assert closed.is_set()
    assert len(await consumer) == 0
    assert "closed" in repr(mixer)


@pytest.mark.asyncio
async def test_a_failing_stream_is_logged_and_ends_without_losing_data(rng, caplog):
    a, b = noise(rng, 2400), noise(rng, 700)

    async def broken():
        yield AudioFrame.from_ndarray(b, RATE)
        raise OSError("device unplugged")

    mixer = AudioMixer(RATE, 1)
    mixer.add_stream(agen(frames_of(a, RATE, 480)))
    mixer.add_stream(broken())
    mixer.end_input()
    with caplog.at_level(logging.WARNING, logger="livekit_audio"):
        got = await collect(mixer)
    np.testing.assert_array_equal(got, padded_sum([a, b], BLOCK))
    assert "device unplugged" in caplog.text or "raised" in caplog.text


@pytest.mark.asyncio
async def test_a_stream_yielding_garbage_is_logged_and_ended(caplog):
    async def garbage():
        yield AudioFrame.create(RATE, 1, 480)
        yield "not a frame"

    mixer = AudioMixer(RATE, 1)
    mixer.add_stream(garbage())
    mixer.end_input()
    with caplog.at_level(logging.WARNING, logger="livekit_audio"):
        got = await collect(mixer)
    assert len(got) == BLOCK and "AudioFrameEvent" in caplog.text


@pytest.mark.asyncio
async def test_back_pressure_bounds_what_is_read_from_a_fast_stream():
    pulled = 0

    async def endless():
        nonlocal pulled
        while True:
            pulled += 1
            yield AudioFrame.create(RATE, 1, 480)

    mixer = AudioMixer(RATE, 1, capacity=3)
    mixer.add_stream(endless())
    for _ in range(200):  # let every task run to its wait point; nobody consumes
        await asyncio.sleep(0)
    # capacity 3 blocks + the mixer's block in hand + a 100 ms read-ahead (10 frames)
    assert 3 <= pulled <= 3 + 1 + 10 + 1
    first = await mixer.__anext__()
    assert first.samples_per_channel == BLOCK
    await mixer.aclose()


# --------------------------------------------------------------------------- mix_frames


def test_mix_frames_equals_the_kernel_contract(rng):
    a, b, c = noise(rng, 480, 2, 30000), noise(rng, 480, 2, 30000), noise(rng, 300, 2, 30000)
    frames = [AudioFrame.from_ndarray(x, RATE) for x in (a, b, c)]
    out = mix_frames(frames)
    assert (out.sample_rate, out.num_channels, out.samples_per_channel) == (RATE, 2, 480)
    np.testing.assert_array_equal(out.to_ndarray(), padded_sum([a, b, c], 480))
    weighted = mix_frames(frames, gains=[0.5, 1.0, 2.0])
    np.testing.assert_array_equal(
        weighted.to_ndarray(), padded_sum([a, b, c], 480, gains=[0.5, 1.0, 2.0])
    )
    np.testing.assert_array_equal(
        mix_frames(iter(frames), gains=[1, 1, 1]).to_ndarray(), out.to_ndarray()
    )
    # inputs untouched, output writable and new
    np.testing.assert_array_equal(frames[0].to_ndarray(), a)
    out.to_ndarray()[0, 0] = 1


def test_mix_frames_accepts_foreign_frames(rng):
    from livekit import rtc

    x = noise(rng, 480)
    f = rtc.AudioFrame(bytearray(x.tobytes()), RATE, 1, 480)
    expected = np.clip(2 * x.astype(np.int32), -32768, 32767)
    np.testing.assert_array_equal(mix_frames([f, f]).to_ndarray()[:, 0], expected)


def test_mix_frames_errors():
    a = AudioFrame.create(RATE, 1, 480)
    with pytest.raises(ValueError, match="at least one"):
        mix_frames([])
    with pytest.raises(ValueError, match="sample rate mismatch at frame 1"):
        mix_frames([a, AudioFrame.create(16000, 1, 160)])
    with pytest.raises(ValueError, match="channel count mismatch at frame 1"):
        mix_frames([a, AudioFrame.create(RATE, 2, 480)])
    with pytest.raises(ValueError, match="2 gains for 1 frames"):
        mix_frames([a], gains=[1.0, 1.0])
    with pytest.raises(ValueError, match="gains\\[0\\]"):
        mix_frames([a], gains=[float("nan")])
    with pytest.raises(TypeError, match="frame 0"):
        mix_frames([object()])
    with pytest.raises(ValueError, match="at most"):
        mix_frames([a] * (_mix.MAX_INPUTS + 1))


def test_package_exports():
    import livekit_audio as la

    for name in ("AudioMixer", "mix_frames", "GainProcessor"):
        assert name in la.__all__ and hasattr(la, name)


@pytest.mark.asyncio
async def test_a_slow_stream_is_logged_once_per_stall_not_once_per_block(caplog):
    """A stream that delivers one frame every 3 mixed blocks stalls again and again: one
    warning when the stall starts and one when it ends (here: the stream ends), giving its
    length, instead of a line per 10 ms block (LiveKit's mixer warns every block). Pacing
    follows the mixer's output, not the clock."""
    fast_frames = [AudioFrame.from_ndarray(np.full(480, 100, np.int16), RATE) for _ in range(90)]
    slow_frames = [AudioFrame.from_ndarray(np.full(480, 7, np.int16), RATE) for _ in range(20)]
    mixed = 0
    progressed = asyncio.Event()

    async def slow():
        for i, f in enumerate(slow_frames):
            while mixed < 3 * (i + 1):
                progressed.clear()
                await progressed.wait()
            yield f

    async def fast():
        for f in fast_frames:
            yield f
            await asyncio.sleep(0)

    mixer = AudioMixer(RATE, 1, stream_timeout_ms=2)
    mixer.add_stream(fast())
    mixer.add_stream(slow())
    mixer.end_input()

    async def consume() -> int:
        nonlocal mixed
        total = 0
        async for frame in mixer:
            total += int(np.count_nonzero(frame.to_ndarray() % 100 == 7))
            mixed += 1
            progressed.set()
        return total

    with caplog.at_level(logging.WARNING, logger="livekit_audio"):
        slow_samples = await asyncio.wait_for(consume(), GUARD_S)
    assert slow_samples == 20 * 480  # nothing of the slow stream lost
    starts = [r for r in caplog.records if "has no data after" in r.getMessage()]
    ends = [r for r in caplog.records if "stall (" in r.getMessage()]
    assert mixed >= 40
    assert len(starts) == 1, [r.getMessage() for r in starts]
    assert len(ends) == 1 and "ended after a" in ends[0].getMessage()
    assert "blocks of 10 ms mixed as silence" in ends[0].getMessage()
