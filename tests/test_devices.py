"""MediaDevices on a real PortAudio backend: a JACK server on its dummy driver.

No mocks: PortAudio (Debian ``libportaudio2``) lists the JACK server's ``system`` device,
streams run on JACK's process thread, and ``jack_connect`` loops what an
:class:`OutputPlayer` plays into an input. Without a JACK server these tests skip (or fail
when ``LIVEKIT_AUDIO_REQUIRE_JACK`` is set, as in CI); see ``tests/jack_helpers.py``.
Bounds are generous: the dummy driver's timing jitters on a loaded 2-core machine.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import math
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
import soundfile as sf  # type: ignore[import-untyped]
from jack_helpers import NewPorts, disconnect, jack_ports, loop_back, require_jack

from livekit_audio import AudioFrame, AudioSource, LocalAudioTrack
from livekit_audio.devices import InputCapture, MediaDevices, OutputPlayer
from livekit_audio.resampler import resample

RATE_HZ = 48000
FULL_SCALE = 32768.0
#: The speech clip shipped with the package (CC-BY-SA-3.0, see livekit_audio/data/NOTICE).
SPEECH_CLIP = "allison_demo-echotest_16k.flac"


@pytest.fixture(scope="module")
def jack() -> int:
    """The JACK device's PortAudio index; skips (or fails in CI) without a JACK server."""
    return require_jack()


def level_dbfs(x: np.ndarray) -> float:
    """RMS level in dBFS (full-scale square wave = 0 dB)."""
    power = float(np.mean(np.asarray(x, np.float64) ** 2)) / FULL_SCALE**2
    return 10 * math.log10(max(power, 1e-12))


def native_threads() -> int:
    """Threads of this process, native ones (PortAudio's, JACK's) included."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:  # not Linux
        return threading.active_count()


def speech_16k() -> np.ndarray:
    """The packaged speech clip, int16 mono at 16 kHz."""
    clip = importlib.resources.files("livekit_audio") / "data" / SPEECH_CLIP
    with importlib.resources.as_file(clip) as path:
        data, rate = sf.read(path, dtype="int16", always_2d=False)
    assert rate == 16000
    return np.asarray(data)


def tone(freq_hz: float, seconds: float, rate: int, level_dbfs_: float) -> np.ndarray:
    """A sine at ``level_dbfs_`` (RMS, so the peak is 3 dB higher), int16."""
    t = np.arange(int(seconds * rate)) / rate
    amplitude = FULL_SCALE * 10 ** (level_dbfs_ / 20) * math.sqrt(2)
    return np.round(amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.int16)


async def play_into(source: AudioSource, samples: np.ndarray, frame_ms: int = 50) -> None:
    """Capture ``samples`` into a real-time ``source`` (paced by its queue), in frames of
    ``frame_ms``: long enough that the source's pacing error per frame stays small, short
    enough that the player's mixer never waits 100 ms for the next one."""
    rate = source.sample_rate
    step = rate * frame_ms // 1000
    for i in range(0, len(samples), step):
        await source.capture_frame(AudioFrame.from_ndarray(samples[i : i + step], rate))


class Recorder:
    """Collects what a capture's source plays out (its frames, in order) while ``recording``."""

    def __init__(self, capture: InputCapture) -> None:
        self.recording = False
        self.frames: list[np.ndarray] = []
        capture.source.add_playout_listener(self._on_frame)

    def _on_frame(self, frame: AudioFrame) -> None:
        if self.recording:
            self.frames.append(frame.to_ndarray().copy())

    def samples(self) -> np.ndarray:
        """Everything recorded, int16 of shape (n, channels)."""
        return np.concatenate(self.frames) if self.frames else np.zeros((0, 1), np.int16)


async def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


class JackDevices(MediaDevices):
    """MediaDevices whose inputs and outputs default to the JACK device (a machine with a
    sound card may have another default)."""

    def __init__(self, jack_index: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.jack_index = jack_index

    def open_input(self, **kwargs: Any) -> InputCapture:
        kwargs.setdefault("input_device", self.jack_index)
        return super().open_input(**kwargs)

    def open_output(self, **kwargs: Any) -> OutputPlayer:
        kwargs.setdefault("output_device", self.jack_index)
        return super().open_output(**kwargs)


@pytest_asyncio.fixture
async def devices(jack: int) -> AsyncIterator[JackDevices]:
    """MediaDevices on the JACK device and the running loop; everything it opened is
    closed afterwards."""
    media = JackDevices(jack)
    yield media
    await media.aclose()


NO_PROCESSING: dict[str, Any] = dict(
    enable_aec=False, noise_suppression=False, high_pass_filter=False, auto_gain_control=False
)


# -- listing -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_jack_system_device_is_listed_and_default(devices: JackDevices) -> None:
    inputs = devices.list_input_devices()
    outputs = devices.list_output_devices()
    jack_in = [d for d in inputs if d["host_api"].startswith("JACK")]
    jack_out = [d for d in outputs if d["host_api"].startswith("JACK")]
    assert jack_in and jack_out, (inputs, outputs)
    system = jack_in[0]
    assert system["name"] == "system"
    assert system["channels"] == 2 and system["max_input_channels"] == 2
    assert system["sample_rate"] == RATE_HZ and system["default_samplerate"] == RATE_HZ
    assert jack_out[0]["channels"] == 2 and jack_out[0]["max_output_channels"] == 2
    # defaults are device indices from the lists (livekit.rtc's are -1 unless set by hand)
    default_in = devices.default_input_device()
    default_out = devices.default_output_device()
    assert default_in in {d["index"] for d in inputs}
    assert default_out in {d["index"] for d in outputs}
    assert all(isinstance(d["index"], int) and d["channels"] > 0 for d in inputs + outputs)


# -- capture -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_capture_for_one_second_delivers_100_frames(jack: int) -> None:
    media = JackDevices(jack, blocksize=480)  # 10 ms blocks: the count is not quantised
    capture = media.open_input(**NO_PROCESSING)
    try:
        frames: list[AudioFrame] = []
        capture.source.add_playout_listener(frames.append)
        await wait_until(lambda: capture.stats.frames > 0)
        first = capture.stats.frames
        await asyncio.sleep(1.0)
        delivered = capture.stats.frames - first
        assert 98 <= delivered <= 102, delivered
        assert capture.stats.dropped_blocks == 0 and capture.stats.overflows <= 2
        assert capture.apm is None and capture.task is not None and not capture.task.done()
        assert frames and all(
            (f.sample_rate, f.num_channels, f.samples_per_channel) == (RATE_HZ, 1, 480)
            for f in frames
        )
    finally:
        await capture.aclose()


def peak_frequency_hz(x: np.ndarray, rate: int) -> float:
    """Frequency of the strongest component of ``x`` (Hann window, 8192-point FFT)."""
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64) * np.hanning(len(x)), 8192))
    return float(np.argmax(spectrum) * rate / 8192)


@pytest.mark.asyncio
async def test_full_queue_drops_the_oldest_block_and_counts_it(devices: JackDevices) -> None:
    """The event loop stalls for 0.6 s while a chirp (its frequency tells the time) plays
    into the input from PortAudio's own thread. With room for two blocks, the capture loses
    most of the stall, counts it, and goes on with the newest audio, not the oldest."""
    import sounddevice as sd  # type: ignore[import-untyped]

    chirp_hz_per_s = 400.0
    played = [0]

    def chirp(outdata: np.ndarray, frames: int, time_info: object, status: object) -> None:
        t = (played[0] + np.arange(frames)) / RATE_HZ
        phase = 2 * np.pi * (200.0 * t + 0.5 * chirp_hz_per_s * t * t)
        outdata[:, 0] = np.round(8000 * np.sin(phase)).astype(np.int16)
        played[0] += frames

    with NewPorts() as opened:
        capture = devices.open_input(queue_capacity=10, **NO_PROCESSING)  # 2 blocks of 50 ms
    recorder = Recorder(capture)
    recorder.recording = True
    with NewPorts() as generator:
        out = sd.OutputStream(
            device=devices.jack_index,
            samplerate=RATE_HZ,
            channels=1,
            dtype="int16",
            blocksize=480,
            callback=chirp,
        )
    loop_back(generator.outputs[0], opened.inputs[0])
    out.start()
    try:
        await wait_until(lambda: capture.stats.processed_blocks > 6)
        before = capture.stats.frames  # the frames captured before the stall
        time.sleep(0.6)  # the event loop stalls for 12 blocks; the callback keeps filling
        await wait_until(lambda: capture.stats.frames > before + 10)
        await wait_until(lambda: len(recorder.frames) > before + 10)
    finally:
        out.close()
    await capture.aclose()
    stats = capture.stats
    assert stats.dropped_blocks >= 6, stats
    # every block the device delivered is accounted for: processed, dropped, skipped as
    # stale at start, or still queued when the stream closed (at most the two slots)
    accounted = stats.processed_blocks + stats.dropped_blocks + stats.stale_blocks
    assert stats.blocks - 2 <= accounted <= stats.blocks, stats
    assert stats.frames == 5 * stats.processed_blocks
    # the block captured last before the stall and the first one after: the newest audio
    # was kept, so the chirp jumped by most of the stall (0.6 s, less the two kept blocks)
    x = recorder.samples()[:, 0]
    frame = RATE_HZ // 100
    last = x[(before - 5) * frame : before * frame]
    first = x[before * frame : (before + 5) * frame]
    jump_s = (peak_frequency_hz(first, RATE_HZ) - peak_frequency_hz(last, RATE_HZ)) / (
        chirp_hz_per_s
    )
    assert 0.3 < jump_s < 0.8, jump_s  # keeping the oldest instead would give 0.05 s


@pytest.mark.asyncio
async def test_input_channel_index_selects_that_channel(devices: JackDevices) -> None:
    with NewPorts() as opened:
        capture = devices.open_input(input_channel_index=1, **NO_PROCESSING)
    with NewPorts() as played:
        player = devices.open_output()
    assert len(opened.inputs) == 2  # device channels 0 and 1 are open; 1 is captured
    channel_0, channel_1 = opened.inputs
    source = AudioSource(RATE_HZ, 1)
    await player.add_track(LocalAudioTrack.create_audio_track("tone", source))
    await player.start()
    recorder = Recorder(capture)
    levels = []
    for heard, silent in ((channel_1, channel_0), (channel_0, channel_1)):
        loop_back(played.outputs[0], heard)
        disconnect(played.outputs[0], silent)
        await asyncio.sleep(0.3)  # what was in flight before the switch
        recorder.frames.clear()
        recorder.recording = True
        await play_into(source, tone(440.0, 0.6, RATE_HZ, -20.0))
        await source.wait_for_playout()
        recorder.recording = False
        levels.append(level_dbfs(recorder.samples()[:, 0]))
    assert capture.source.num_channels == 1
    assert levels[0] > -23.0, levels  # the tone on channel 1 is captured
    assert levels[1] < -80.0, levels  # the same tone on channel 0 is not
    await source.aclose()


# -- playback ------------------------------------------------------------------------------


def spectrum_level_db(x: np.ndarray, freq_hz: float, rate: int) -> float:
    """Level (dBFS RMS) of the sine at ``freq_hz`` in ``x`` (Hann-windowed FFT peak)."""
    window = np.hanning(len(x))
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64) * window))
    k = int(round(freq_hz * len(x) / rate))
    peak = spectrum[k - 2 : k + 3].max()
    amplitude = 2 * peak / window.sum()
    return 20 * math.log10(max(amplitude / math.sqrt(2) / FULL_SCALE, 1e-9))


@pytest.mark.asyncio
async def test_playback_of_two_tracks_mixes_them(devices: JackDevices) -> None:
    with NewPorts() as opened:
        capture = devices.open_input(**NO_PROCESSING)
    with NewPorts() as played:
        player = devices.open_output()
    loop_back(played.outputs[0], opened.inputs[0])
    low, high = AudioSource(RATE_HZ, 1), AudioSource(24000, 1)  # the mixer resamples 24 kHz
    low_track = LocalAudioTrack.create_audio_track("low", low)
    await player.add_track(low_track)
    await player.add_track(LocalAudioTrack.create_audio_track("high", high))
    with pytest.raises(ValueError, match="already added"):
        await player.add_track(low_track)
    await player.start()
    recorder = Recorder(capture)
    recorder.recording = True
    await asyncio.gather(
        play_into(low, tone(440.0, 1.5, RATE_HZ, -20.0)),
        play_into(high, tone(1000.0, 1.5, 24000, -26.0)),
    )
    await asyncio.gather(low.wait_for_playout(), high.wait_for_playout())
    await asyncio.sleep(0.3)
    recorder.recording = False
    x = recorder.samples()[:, 0]
    loud = np.flatnonzero(np.abs(x) > 1000)
    assert len(loud) > RATE_HZ, len(loud)  # more than a second of the mix came back
    # tone levels in 100 ms windows across the mix; medians, so that a window holding a gap
    # (a late block on a loaded machine) does not decide
    step = RATE_HZ // 10
    windows = [x[i : i + step] for i in range(loud[0] + step, loud[-1] - 2 * step, step)]
    assert len(windows) >= 8, len(windows)

    def median_level(freq_hz: float) -> float:
        return float(np.median([spectrum_level_db(w, freq_hz, RATE_HZ) for w in windows]))

    assert median_level(440.0) == pytest.approx(-20.0, abs=1.0)
    assert median_level(1000.0) == pytest.approx(-26.0, abs=1.0)
    assert median_level(700.0) < -50.0  # nothing else
    # the mix never ran dry; device underflows (late callbacks on a loaded machine) are the
    # system's, and the medians above already tolerate the gap one leaves
    assert player.stats.samples_played > 1.5 * RATE_HZ and player.stats.starved_blocks == 0
    await low.aclose()
    await high.aclose()


# -- the device loop -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_device_loop_cancels_the_echo_of_played_speech(devices: JackDevices) -> None:
    """Speech played by an OutputPlayer comes back through a JACK loopback into an input
    with echo cancellation; a second input without processing hears the raw echo.

    The player is opened before the inputs (livekit.rtc wires the echo reference only in
    the other order)."""
    with NewPorts() as played:
        player = devices.open_output()
    with NewPorts() as opened_aec:
        aec = devices.open_input(
            enable_aec=True,
            noise_suppression=False,
            high_pass_filter=False,
            auto_gain_control=False,
        )
    with NewPorts() as opened_raw:
        raw = devices.open_input(**NO_PROCESSING)
    loop_back(played.outputs[0], opened_aec.inputs[0])
    loop_back(played.outputs[0], opened_raw.inputs[0])
    speech = speech_16k()[: 16000 * 6]
    source = AudioSource(16000, 1)
    await player.add_track(LocalAudioTrack.create_audio_track("speech", source))
    await player.start()
    rec_aec, rec_raw = Recorder(aec), Recorder(raw)
    await wait_until(lambda: aec.stats.frames > 5 and raw.stats.frames > 5)
    rec_aec.recording = rec_raw.recording = True  # both from the same moment
    await play_into(source, speech)
    await source.wait_for_playout()
    await asyncio.sleep(0.4)  # the echo of the last block comes back
    rec_aec.recording = rec_raw.recording = False

    echo = rec_raw.samples()[:, 0]
    out = rec_aec.samples()[:, 0]
    n = min(len(echo), len(out))
    echo, out = echo[:n], out[:n]
    # the loopback carried the speech at the level it was played
    played_48k = resample(speech.astype(np.float32), 16000, RATE_HZ)
    energy_ratio_db = 10 * math.log10(
        np.sum(echo.astype(np.float64) ** 2) / np.sum(played_48k.astype(np.float64) ** 2)
    )
    assert abs(energy_ratio_db) < 1.0, energy_ratio_db
    onset = int(np.flatnonzero(np.abs(echo) > 300)[0])
    window = slice(onset + RATE_HZ, n)  # after 1 s of echo: converged
    erle_db = level_dbfs(echo[window]) - level_dbfs(out[window])
    print(
        f"device loop: ERLE {erle_db:.1f} dB after 1 s; {aec.delay_estimator}; {aec.echo_reference}"
    )
    assert erle_db >= 20.0, erle_db
    estimator = aec.delay_estimator
    assert estimator.input_latency_s > 0 and estimator.output_latency_s > 0
    measured = estimator.measured_delay_ms
    assert measured is not None and abs(measured - estimator.estimated_delay_ms) < 100.0
    assert aec.stats.dropped_blocks == 0
    await source.aclose()


# -- closing -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_closing_leaves_no_stream_task_or_thread(jack: int) -> None:
    threads_before = native_threads()
    ports_before = jack_ports()
    tasks_before = asyncio.all_tasks()
    media = JackDevices(jack)
    capture = media.open_input()  # all four stages
    player = media.open_output()
    source = AudioSource(RATE_HZ, 1)
    track = LocalAudioTrack.create_audio_track("tone", source)
    await player.add_track(track)
    await player.start()
    await play_into(source, tone(300.0, 0.3, RATE_HZ, -20.0))
    await wait_until(lambda: capture.stats.frames > 10 and player.stats.blocks > 5)
    assert jack_ports() - ports_before  # the streams have ports while open
    assert capture.input_stream.active and player.output_stream.active

    await player.remove_track(track)
    await capture.aclose()
    await player.aclose()
    await source.aclose()
    await capture.aclose()  # idempotent
    await player.aclose()

    assert capture.input_stream.closed and player.output_stream.closed
    assert capture.task.done() and capture.source.closed
    await asyncio.sleep(0.05)  # let cancelled tasks finish
    assert asyncio.all_tasks() - tasks_before == set()
    assert jack_ports() == ports_before  # PortAudio unregistered every port
    assert native_threads() <= threads_before
    blocks = capture.stats.blocks, player.stats.blocks
    await asyncio.sleep(0.2)
    assert (capture.stats.blocks, player.stats.blocks) == blocks  # no callback runs any more


# -- validation ----------------------------------------------------------------------------


def test_bad_arguments_are_refused_before_any_device_is_touched() -> None:
    with pytest.raises(ValueError, match="blocksize"):
        MediaDevices(blocksize=0)
    with pytest.raises(TypeError, match="input_sample_rate"):
        MediaDevices(input_sample_rate=48000.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="num_channels"):
        MediaDevices(num_channels=9)
    media = MediaDevices(num_channels=3)
    with pytest.raises(ValueError, match="1 or 2 channels"):
        media.open_input()
    with pytest.raises(TypeError, match="enable_aec"):
        MediaDevices().open_input(enable_aec="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="queue_capacity"):
        MediaDevices().open_input(queue_capacity=0)
    with pytest.raises(ValueError, match="input_channel_index"):
        MediaDevices().open_input(input_channel_index=-1)
    with pytest.raises(RuntimeError, match="event loop"):
        MediaDevices().open_input(**NO_PROCESSING)  # no loop running here


@pytest.mark.asyncio
async def test_device_errors_name_the_device(devices: JackDevices) -> None:
    with pytest.raises(ValueError, match="2 input channels, input_channel_index=2"):
        devices.open_input(input_channel_index=2)
    with pytest.raises(ValueError, match="no input device 99"):
        devices.open_input(input_device=99)
    with pytest.raises(ValueError, match=r"refuses input device \d+ \('system'.*44100 Hz"):
        JackDevices(devices.jack_index, input_sample_rate=44100).open_input(**NO_PROCESSING)
    with pytest.raises(TypeError, match="output_device"):
        devices.open_output(output_device=1.5)
    player = devices.open_output()
    await player.start()
    with pytest.raises(RuntimeError, match="already started"):
        await player.start()
    assert isinstance(player, OutputPlayer)
