"""GainProcessor: the C gain kernel behind the FrameProcessor interface."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from livekit_audio import AudioFrame, FrameProcessor, GainProcessor
from livekit_audio.processors import MAX_GAIN_DB

RATE = 48000


def oracle(x: np.ndarray, g: float) -> np.ndarray:
    return np.rint(np.clip(np.float32(g) * x.astype(np.float32), -32768, 32767)).astype(np.int16)


def frame_of(x: np.ndarray) -> AudioFrame:
    return AudioFrame.from_ndarray(np.ascontiguousarray(x), RATE)


def test_is_a_frame_processor_with_defaults():
    p = GainProcessor()
    assert isinstance(p, FrameProcessor)
    assert (p.gain_db, p.gain, p.enabled, p.closed) == (0.0, 1.0, True, False)
    assert "gain_db=0" in repr(p)
    assert GainProcessor(enabled=False).enabled is False
    assert MAX_GAIN_DB == pytest.approx(60.0)


def test_unity_gain_returns_the_frame_untouched(rng):
    x = rng.integers(-32768, 32768, size=480, dtype=np.int16)
    f = frame_of(x.copy())
    assert GainProcessor(0.0)._process(f) is f
    np.testing.assert_array_equal(f.to_ndarray()[:, 0], x)


@pytest.mark.parametrize("gain_db", [-6.0, -20.0, 3.5, 20.0, 60.0])
def test_constant_gain_in_place_matches_oracle(rng, gain_db):
    x = rng.integers(-32768, 32768, size=(480, 2), dtype=np.int16)
    f = frame_of(x.copy())
    p = GainProcessor(gain_db)
    assert p._process(f) is f  # writable: processed in place
    np.testing.assert_array_equal(f.to_ndarray(), oracle(x, 10 ** (gain_db / 20)))


def test_saturation_and_mute():
    x = np.array([30000, -30000, 100, -100], dtype=np.int16)
    loud = GainProcessor(20.0)._process(frame_of(x.copy()))
    np.testing.assert_array_equal(loud.to_ndarray()[:, 0], [32767, -32768, 1000, -1000])
    muted = GainProcessor(-math.inf)
    assert muted.gain == 0.0
    np.testing.assert_array_equal(muted._process(frame_of(x.copy())).to_ndarray(), 0)


def test_frames_made_from_bytes_are_processed_in_place_and_the_bytes_kept(rng):
    x = rng.integers(-20000, 20000, size=480, dtype=np.int16)
    raw = x.tobytes()
    f = AudioFrame(raw, RATE, 1, 480)  # immutable input: the frame holds a writable copy
    out = GainProcessor(-6.0)._process(f)
    assert out is f
    np.testing.assert_array_equal(out.to_ndarray()[:, 0], oracle(x, 10 ** (-6 / 20)))
    assert raw == x.tobytes()


def test_read_only_duck_typed_frames_get_a_processed_copy(rng):
    x = rng.integers(-20000, 20000, size=480, dtype=np.int16)
    f = SimpleNamespace(
        data=memoryview(x.tobytes()).cast("h"),
        sample_rate=RATE,
        num_channels=1,
        samples_per_channel=480,
    )
    out = GainProcessor(-6.0)._process(f)
    assert out is not f
    np.testing.assert_array_equal(np.frombuffer(f.data, np.int16), x)
    np.testing.assert_array_equal(out.to_ndarray()[:, 0], oracle(x, 10 ** (-6 / 20)))
    assert (out.sample_rate, out.num_channels, out.samples_per_channel) == (RATE, 1, 480)


def test_foreign_frames_are_processed_in_place(rng):
    from livekit import rtc

    x = rng.integers(-20000, 20000, size=480, dtype=np.int16)
    f = rtc.AudioFrame(bytearray(x.tobytes()), RATE, 1, 480)
    assert GainProcessor(-12.0)._process(f) is f
    got = np.frombuffer(f.data, dtype=np.int16)
    np.testing.assert_array_equal(got, oracle(x, 10 ** (-12 / 20)))


def test_gain_change_ramps_over_one_frame():
    p = GainProcessor(0.0)
    x = np.full((480, 2), 10000, dtype=np.int16)
    p._process(frame_of(x.copy()))
    p.gain_db = -20.0
    ramped = p._process(frame_of(x.copy())).to_ndarray()
    assert ramped[0, 0] == ramped[0, 1]  # one gain per frame, both channels
    assert 9900 <= ramped[0, 0] < 10000  # starts at the old gain
    assert ramped[-1, 0] == round(np.float32(0.1) * 10000)  # ends exactly at the new one
    assert np.all(np.diff(ramped[:, 0].astype(np.int32)) <= 0)  # no step
    steady = p._process(frame_of(x.copy())).to_ndarray()
    np.testing.assert_array_equal(steady, oracle(x, 0.1))


def test_without_smoothing_a_change_applies_at_once():
    p = GainProcessor(0.0, smooth=False)
    x = np.full(480, 10000, dtype=np.int16)
    p._process(frame_of(x.copy()))
    p.gain_db = -20.0
    np.testing.assert_array_equal(p._process(frame_of(x.copy())).to_ndarray()[:, 0], oracle(x, 0.1))


def test_validation():
    p = GainProcessor(-3)
    for bad in (float("nan"), 60.5, math.inf):
        with pytest.raises(ValueError, match="gain_db"):
            GainProcessor(bad)
        with pytest.raises(ValueError, match="gain_db"):
            p.gain_db = bad
    for bad in ("6", None, True):
        with pytest.raises(TypeError, match="gain_db"):
            GainProcessor(bad)  # type: ignore[arg-type]
    assert p.gain_db == -3.0  # unchanged by the rejected assignments
    p.enabled = False
    assert p.enabled is False
    with pytest.raises(TypeError):
        p._process(object())


def test_close_is_idempotent_and_final(rng):
    p = GainProcessor(-6.0)
    p._close()
    p._close()
    assert p.closed
    with pytest.raises(RuntimeError, match="after _close"):
        p._process(frame_of(np.zeros(480, dtype=np.int16)))


def test_empty_frame():
    f = AudioFrame.create(RATE, 1, 0)
    assert GainProcessor(-6.0)._process(f).samples_per_channel == 0


@pytest.mark.asyncio
async def test_usable_as_noise_cancellation_on_an_audio_stream(rng):
    import asyncio

    import livekit_audio as la

    x = rng.integers(-20000, 20000, size=4800, dtype=np.int16)
    source = la.AudioSource(RATE, 1, realtime=False)
    track = la.LocalAudioTrack.create_audio_track("mic", source)
    proc = GainProcessor(-6.0)
    stream = la.AudioStream(track, noise_cancellation=proc)  # auto-closes the processor

    async def read() -> np.ndarray:
        out = []
        async for event in stream:
            out.append(event.frame.to_ndarray()[:, 0].copy())
            if sum(len(o) for o in out) >= len(x):
                break
        return np.concatenate(out)

    reader = asyncio.ensure_future(read())
    for i in range(0, len(x), 480):
        await source.capture_frame(frame_of(x[i : i + 480].copy()))
    got = await asyncio.wait_for(reader, 30)  # a guard against a hang, not a timing check
    await stream.aclose()
    await source.aclose()
    np.testing.assert_array_equal(got, oracle(x, 10 ** (-6 / 20)))
    assert proc.closed
