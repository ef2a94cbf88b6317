"""livekit_audio inside LiveKit's SDK, with real ``livekit.rtc`` objects (no mocks).

``rtc.AudioSource`` -> ``rtc.LocalAudioTrack`` -> ``rtc.AudioStream`` runs without a server,
in real time (LiveKit paces the source), so the stream tests take a few seconds each. Calls
that used to abort the process run in a subprocess whose exit code is checked.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from helpers import load_speech

import livekit_audio as la
from livekit_audio import AudioFrame, resample
from livekit_audio.convert import StreamConverter

rtc = pytest.importorskip("livekit.rtc")
bridge = pytest.importorskip("livekit_audio.integrations.livekit")

RATE = 48000
HOP = RATE // 100
GUARD_S = 30.0  # a guard against a hang, never a timing check


def noisy_speech(speech_dir: Path, seconds: float, snr_db: float, seed: int):
    """(clean, noisy) float64 / int16 at 48 kHz: real speech plus seeded white noise."""
    x, r = load_speech(speech_dir, "allison_demo-congrats_16k.wav")
    clean = resample(x[: int(seconds * r)], r, RATE).astype(np.float64)
    noise = np.random.default_rng(seed).standard_normal(len(clean))
    noise *= np.sqrt(np.mean(clean**2) / 10 ** (snr_db / 10))
    noisy = np.clip(np.round(clean + noise), -32768, 32767).astype(np.int16)
    return clean, noisy


def rtc_frames(x: np.ndarray) -> list:
    return [
        rtc.AudioFrame(bytearray(x[i : i + HOP].tobytes()), RATE, 1, HOP)
        for i in range(0, len(x) - HOP + 1, HOP)
    ]


async def through_rtc_stream(frames: list, **stream_kwargs) -> tuple[np.ndarray, list]:
    """Capture ``frames`` into an rtc.AudioSource and read them back from an rtc.AudioStream
    on its local track; returns the samples read and the frame objects the stream yielded."""
    source = rtc.AudioSource(RATE, 1)
    track = rtc.LocalAudioTrack.create_audio_track("mic", source)
    stream = rtc.AudioStream.from_track(
        track=track, sample_rate=RATE, num_channels=1, **stream_kwargs
    )
    need = sum(f.samples_per_channel for f in frames)
    got: list = []

    async def read() -> None:
        total = 0
        async for event in stream:
            got.append(event.frame)
            total += event.frame.samples_per_channel
            if total >= need:
                return

    reader = asyncio.create_task(read())
    for f in frames:
        await source.capture_frame(f)
    await asyncio.wait_for(reader, GUARD_S)
    await stream.aclose()
    await source.aclose()
    samples = np.concatenate([np.frombuffer(bytes(f.data), np.int16) for f in got])
    return samples, got


def pause_noise_reduction_db(clean: np.ndarray, noisy: np.ndarray, out: np.ndarray) -> float:
    """Noise power removed in speech pauses (20 ms frames > 40 dB below the loudest), with the
    output aligned to the input by cross-correlation."""
    n = len(out)
    corr = np.fft.irfft(np.fft.rfft(out, 2 * n) * np.conj(np.fft.rfft(noisy[:n], 2 * n)))
    lag = int(np.argmax(corr[: 10 * HOP]))
    out = out[lag:].astype(np.float64)
    m = len(out) // 960 * 960

    def power(s: np.ndarray) -> np.ndarray:
        return np.mean(s[:m].reshape(-1, 960) ** 2, axis=1)

    p_clean, p_noisy, p_out = power(clean), power(noisy.astype(np.float64)), power(out)
    pause = p_clean < p_clean.max() * 1e-4
    pause[:10] = False  # the noise estimate's first 200 ms
    assert pause.sum() >= 5, "the clip must have pauses"
    return float(10 * np.log10(p_noisy[pause].mean() / p_out[pause].mean()))


class CountingApm(la.ApmProcessor):
    """An ApmProcessor that counts the frames it is given and records their types."""

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.seen = 0
        self.types: set[type] = set()

    def _process(self, frame):
        self.seen += 1
        self.types.add(type(frame))
        return super()._process(frame)


def run_python(code: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter, outside the checkout (which would shadow the build)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
        timeout=120,
        check=False,
    )


# --------------------------------------------------------------------------- processors


@pytest.mark.parametrize("first", ["livekit", "livekit_audio"])
def test_our_processors_are_rtc_frame_processors_in_either_import_order(first):
    second = "livekit_audio" if first == "livekit" else "livekit"
    done = run_python(
        f"""
        import {first}
        import {second}
        from livekit import rtc
        import livekit_audio as la
        assert isinstance(la.ApmProcessor(noise_suppression=True), rtc.FrameProcessor)
        assert isinstance(la.GainProcessor(-6.0), rtc.FrameProcessor)
        assert issubclass(la.FrameProcessor, rtc.FrameProcessor)
        print("ok")
        """
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


@pytest.mark.asyncio
async def test_noise_suppression_inside_an_rtc_audio_stream(speech_dir):
    """Our ApmProcessor handed to rtc.AudioStream runs on every frame, in place on LiveKit's
    frames, and removes >= 10 dB of noise in the pauses of noisy real speech (5 dB SNR)."""
    clean, noisy = noisy_speech(speech_dir, 4.0, 5.0, seed=3)
    processor = CountingApm(noise_suppression=True)
    frames = rtc_frames(noisy)
    out, yielded = await through_rtc_stream(frames, noise_cancellation=processor)
    assert processor.seen == len(yielded) >= len(frames)
    assert processor.types == {rtc.AudioFrame}
    assert {type(f) for f in yielded} == {rtc.AudioFrame}  # processed in place
    assert pause_noise_reduction_db(clean, noisy, out[: len(noisy)]) >= 10.0


@pytest.mark.asyncio
@pytest.mark.parametrize("auto_close", [True, False])
async def test_auto_close_noise_cancellation_is_honoured(auto_close):
    processor = CountingApm(noise_suppression=True)
    frames = rtc_frames(np.zeros(10 * HOP, np.int16))
    await through_rtc_stream(
        frames, noise_cancellation=processor, auto_close_noise_cancellation=auto_close
    )
    assert processor.seen > 0
    if auto_close:
        with pytest.raises(RuntimeError, match="closed"):
            processor._process(AudioFrame.create(RATE, 1, HOP))
    else:
        processor._process(AudioFrame.create(RATE, 1, HOP))  # still usable


# --------------------------------------------------------------------------- frames both ways


def test_rtc_apm_processes_our_frame_in_place_like_its_own():
    """LiveKit's APM used to abort the process on our frames (it read our int16 buffer as
    bytes). Now it processes them in place, exactly as it processes its own frames."""
    done = run_python(
        """
        import numpy as np
        from livekit import rtc
        import livekit_audio as la
        x = (np.random.default_rng(1).standard_normal(480 * 20) * 3000).astype(np.int16)
        a = rtc.AudioProcessingModule(noise_suppression=True, high_pass_filter=True)
        b = rtc.AudioProcessingModule(noise_suppression=True, high_pass_filter=True)
        for i in range(20):
            block = x[i * 480 : (i + 1) * 480]
            ours = la.AudioFrame(block.tobytes(), 48000, 1, 480)  # from bytes, as in LiveKit
            theirs = rtc.AudioFrame(bytearray(block.tobytes()), 48000, 1, 480)
            a.process_reverse_stream(la.AudioFrame.create(48000, 1, 480))
            b.process_reverse_stream(rtc.AudioFrame.create(48000, 1, 480))
            a.process_stream(ours)
            b.process_stream(theirs)
            assert bytes(ours.data) == bytes(theirs.data), i
        assert not np.array_equal(ours.to_ndarray()[:, 0], block)
        print("ok")
        """
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", (done.returncode, done.stderr)


def rtc_resample(frames: list) -> np.ndarray:
    """Frames through a fresh rtc.AudioResampler 48k -> 16k, as one int16 array."""
    resampler = rtc.AudioResampler(RATE, 16000, num_channels=1)
    out = [np.frombuffer(bytes(o.data), np.int16) for f in frames for o in resampler.push(f)]
    return np.concatenate(out).astype(np.float64)


def test_rtc_resampler_and_combine_take_our_frames(rng):
    """LiveKit's resampler takes our frames as its own: same output length and level. (Not
    the same samples: livekit 1.2.1's resampler gives different samples run to run for the
    same input, its own frames included, so the check is on length and power.)"""
    x = rng.integers(-20000, 20000, size=50 * HOP, dtype=np.int16)
    ours = [AudioFrame(x[i : i + HOP].copy(), RATE, 1, HOP) for i in range(0, len(x), HOP)]
    theirs = [rtc.AudioFrame(bytearray(f.data), RATE, 1, HOP) for f in ours]
    got, want = rtc_resample(ours), rtc_resample(theirs)
    assert len(got) == len(want) > 0
    assert abs(10 * np.log10(np.mean(got**2) / np.mean(want**2))) < 0.5
    combined = rtc.combine_audio_frames(ours)
    np.testing.assert_array_equal(np.frombuffer(bytes(combined.data), np.int16), x)


@pytest.mark.asyncio
async def test_rtc_audio_source_captures_our_frames(rng):
    """rtc.AudioSource.capture_frame(our frame) used to raise AttributeError (_proto_info);
    the audio now arrives intact at an rtc.AudioStream on the source's track, including
    from frames that view part of a larger numpy array."""
    x = rng.integers(-20000, 20000, size=30 * HOP, dtype=np.int16)
    frames = [AudioFrame.from_ndarray(x[i : i + HOP], RATE) for i in range(0, len(x), HOP)]
    out, _ = await through_rtc_stream(frames)
    np.testing.assert_array_equal(out[: len(x)], x)


def test_to_and_from_rtc_frame_share_memory_and_userdata():
    ours = AudioFrame.create(RATE, 2, HOP)
    ours.userdata["who"] = "agent"
    theirs = bridge.to_rtc_frame(ours)
    assert isinstance(theirs, rtc.AudioFrame)
    assert (theirs.sample_rate, theirs.num_channels, theirs.samples_per_channel) == (RATE, 2, HOP)
    theirs.data[5] = 1234
    assert ours.to_ndarray().reshape(-1)[5] == 1234  # same memory
    assert theirs.userdata is ours.userdata
    back = bridge.from_rtc_frame(theirs)
    back.to_ndarray()[0, 1] = -77
    assert theirs.data[1] == -77 and ours.to_ndarray()[0, 1] == -77
    assert back.userdata is ours.userdata
    # a frame viewing part of a larger array moves to its own buffer, then shares it
    big = np.arange(3 * HOP, dtype=np.int16)
    part = AudioFrame.from_ndarray(big[HOP : 2 * HOP], RATE)
    shared = bridge.to_rtc_frame(part)
    shared.data[0] = -1
    assert part.to_ndarray()[0, 0] == -1
    np.testing.assert_array_equal(part.to_ndarray()[1:, 0], big[HOP + 1 : 2 * HOP])


# --------------------------------------------------------------------------- tracks and streams


@pytest.mark.asyncio
async def test_our_mixer_mixes_an_rtc_audio_stream(rng):
    x = rng.integers(-8000, 8000, size=40 * HOP, dtype=np.int16)
    source = rtc.AudioSource(RATE, 1)
    track = rtc.LocalAudioTrack.create_audio_track("mic", source)
    stream = rtc.AudioStream.from_track(track=track, sample_rate=RATE, num_channels=1)
    mixer = la.AudioMixer(RATE, 1, stream_timeout_ms=2000)
    mixer.add_stream(stream)
    got: list[np.ndarray] = []

    async def read() -> None:
        async for frame in mixer:
            got.append(frame.to_ndarray()[:, 0].copy())
            if sum(map(len, got)) >= len(x):
                return

    reader = asyncio.create_task(read())
    for f in rtc_frames(x):
        await source.capture_frame(f)
    await asyncio.wait_for(reader, GUARD_S)
    await mixer.aclose()
    await stream.aclose()
    await source.aclose()
    np.testing.assert_array_equal(np.concatenate(got)[: len(x)], x)


@pytest.mark.asyncio
async def test_capture_to_rtc_source_converts_and_paces(speech_dir):
    """Our 16 kHz frames (20 ms each) go into a 48 kHz rtc.AudioSource through our
    resampler; what LiveKit delivers equals our one-shot resample of the same audio."""
    x, r = load_speech(speech_dir, "june_fr-CA_female_16k.wav")
    x = x[:r]  # 1 s

    async def frames():
        for i in range(0, len(x), 320):
            yield AudioFrame(x[i : i + 320].copy(), r, 1, len(x[i : i + 320]))

    source = rtc.AudioSource(RATE, 1)
    track = rtc.LocalAudioTrack.create_audio_track("tts", source)
    stream = rtc.AudioStream.from_track(track=track, sample_rate=RATE, num_channels=1)
    got: list[np.ndarray] = []
    want = resample(x, r, RATE)

    async def read() -> None:
        async for event in stream:
            got.append(np.frombuffer(bytes(event.frame.data), np.int16))
            if sum(map(len, got)) >= len(want):
                return

    reader = asyncio.create_task(read())
    captured = await bridge.capture_to_rtc_source(source, frames())
    await asyncio.wait_for(reader, GUARD_S)
    await stream.aclose()
    await source.aclose()
    assert captured == len(want)
    np.testing.assert_array_equal(np.concatenate(got)[: len(want)], want)


@pytest.mark.asyncio
async def test_capture_to_rtc_source_follows_a_format_change_with_exact_10ms_frames(rng):
    """16 kHz mono, then 44.1 kHz stereo (441-sample frames): every frame captured is 10 ms
    at the source's rate except the last, and nothing is lost (each part converted whole)."""
    a = rng.integers(-9000, 9000, 3333, dtype=np.int16)
    b = rng.integers(-9000, 9000, (4410, 2), dtype=np.int16)

    async def frames():
        for i in range(0, len(a), 320):
            yield AudioFrame.from_ndarray(a[i : i + 320].copy(), 16000)
        for i in range(0, len(b), 441):
            yield AudioFrame.from_ndarray(b[i : i + 441].copy(), 44100)

    captured: list[rtc.AudioFrame] = []

    async def record(frame: rtc.AudioFrame) -> None:
        captured.append(frame)

    source = rtc.AudioSource(RATE, 1)
    source.capture_frame = record  # type: ignore[method-assign]
    total = await bridge.capture_to_rtc_source(source, frames())
    await source.aclose()
    sizes = [f.samples_per_channel for f in captured]
    assert all(n == RATE // 100 for n in sizes[:-1]) and 0 < sizes[-1] <= RATE // 100
    first, second = StreamConverter(16000, 1, RATE, 1), StreamConverter(44100, 2, RATE, 1)
    want = np.concatenate(
        [
            f.to_ndarray()[:, 0]
            for f in first.push(a) + first.flush() + second.push(b) + second.flush()
        ]
    )
    got = np.concatenate([np.frombuffer(bytes(f.data), np.int16) for f in captured])
    assert total == len(got) == len(want)
    np.testing.assert_array_equal(got, want)


@pytest.mark.asyncio
async def test_echo_reference_source_feeds_the_apm_and_stays_a_source(speech_dir):
    x, r = load_speech(speech_dir, "carlo_it-IT_male_16k.wav")
    x = resample(x[: r // 2], r, 24000)  # the agent's TTS at 24 kHz
    processor = la.ApmProcessor(echo_cancellation=True, noise_suppression=True)
    processor._process(AudioFrame.create(16000, 1, 160))  # the microphone runs at 16 kHz
    agent = bridge.EchoReferenceSource(rtc.AudioSource(24000, 1), processor)
    track = rtc.LocalAudioTrack.create_audio_track("agent", agent)  # a source like any other
    assert agent.sample_rate == 24000 and track.name == "agent"
    for i in range(0, len(x) - 240 + 1, 240):
        await agent.capture_frame(AudioFrame(x[i : i + 240].copy(), 24000, 1, 240))
    assert agent.frames_referenced < len(x) // 240  # LiveKit still holds queued audio
    await asyncio.sleep(agent.queued_duration + 0.2)  # ... which is referenced as it plays
    assert agent.frames_referenced == len(x) // 240
    assert processor.apm.stats.render_frames > 0
    await agent.aclose()


def test_bridge_without_livekit_says_which_extra_to_install():
    done = run_python(
        """
        import sys
        sys.modules["livekit"] = None  # as if the extra were not installed
        try:
            import livekit_audio.integrations.livekit
        except ImportError as exc:
            print(exc)
        """
    )
    assert done.returncode == 0, done.stderr
    assert 'pip install "livekit-audio[livekit]"' in done.stdout
