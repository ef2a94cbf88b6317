"""AudioProcessingModule at rates the core does not run (44.1, 22.05, 24, 96 kHz, ...) and far
ends at another rate and channel count than the capture."""

from __future__ import annotations

import functools
import math
from types import SimpleNamespace

import numpy as np
import pytest
from helpers import load_speech
from test_aec import far_speech, room_echo

from livekit_audio import AudioFrame, AudioProcessingError, AudioProcessingModule, resample

FULL_SCALE = 32768.0
SPEECH = "allison_demo-instruct_16k.wav"


def level_dbfs(x: np.ndarray) -> float:
    p = np.mean(np.asarray(x, dtype=np.float64) ** 2) / FULL_SCALE**2
    return 10 * math.log10(max(p, 1e-12))


def frame_power(x: np.ndarray, rate: int) -> np.ndarray:
    """Mean square of consecutive 20 ms frames."""
    size = rate // 50
    n = len(x) // size
    return np.mean(x[: n * size].astype(np.float64).reshape(n, size) ** 2, axis=1)


def process(apm: AudioProcessingModule, x: np.ndarray, rate: int, sizes=None) -> np.ndarray:
    """Run int16 ``x`` ((n,) or (n, ch)) through ``apm`` in place, in frames of ``sizes``
    samples (cycled; default 10 ms), and return the processed copy (whole frames only)."""
    sizes = sizes or [rate // 100]
    out = x.copy()
    i = k = 0
    while i + sizes[k % len(sizes)] <= len(out):
        size = sizes[k % len(sizes)]
        apm.process_stream(AudioFrame.from_ndarray(out[i : i + size], rate))
        i += size
        k += 1
    return out[:i]


def aligned(y: np.ndarray, delay: int) -> np.ndarray:
    """``y`` advanced by ``delay`` samples (zeros at the end), as float64."""
    return np.concatenate([y[delay:], np.zeros((delay, *y.shape[1:]), y.dtype)]).astype(np.float64)


def lag_by_cross_correlation(y: np.ndarray, x: np.ndarray, max_lag: int) -> int:
    """The lag in [0, max_lag] at which ``y`` best matches ``x`` delayed."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    scores = [np.dot(y[lag:], x[: len(x) - lag]) for lag in range(max_lag + 1)]
    return int(np.argmax(scores))


def noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    white = rng.standard_normal(n)
    if kind == "white":
        return white
    spectrum = np.fft.rfft(white)
    bins = np.arange(len(spectrum), dtype=np.float64)
    bins[0] = 1.0
    return np.fft.irfft(spectrum / np.sqrt(bins), n)  # pink: power falls 3 dB per octave


@functools.lru_cache(maxsize=4)
def noisy_speech(kind: str, speech_dir) -> tuple[np.ndarray, np.ndarray]:
    """10 s of real speech plus seeded noise at 5 dB SNR (active speech level over noise
    power), at 16 kHz: (clean float64, noisy int16)."""
    x, rate = load_speech(speech_dir, SPEECH)
    clean = x[: 10 * rate].astype(np.float64)
    power = frame_power(clean, rate)
    speech_db = 10 * math.log10(np.mean(power[power > power.max() * 1e-3]))
    n = noise(kind, len(clean), np.random.default_rng(20261121))
    n *= 10 ** ((speech_db - 5.0 - 10 * math.log10(np.mean(n**2))) / 20)
    return clean, np.clip(np.round(clean + n), -32768, 32767).astype(np.int16)


def suppress_at(rate: int, kind: str, speech_dir) -> tuple[float, float]:
    """The same noisy content, resampled to ``rate`` and noise-suppressed there: (median noise
    reduction over the 20 ms frames of the speech pauses, output level during speech), both
    dB, after 2 s. (The median: a mean over pause frames is dominated by the few next to
    speech onsets.)"""
    clean16, noisy16 = noisy_speech(kind, speech_dir)
    clean = clean16 if rate == 16000 else resample(clean16.astype(np.float32), 16000, rate)
    noisy = noisy16 if rate == 16000 else resample(noisy16, 16000, rate)
    apm = AudioProcessingModule(noise_suppression=True)
    y = aligned(process(apm, noisy, rate), apm.delay_samples)
    p_clean, p_in, p_out = (frame_power(v, rate) for v in (clean, noisy, y))
    n = min(len(p_clean), len(p_out)) - 2  # the tail was padded by `aligned`
    pause = p_clean[:n] < p_clean.max() * 1e-4
    speech = p_clean[:n] > p_clean.max() * 1e-3
    pause[:100] = speech[:100] = False  # 2 s for the noise estimate to settle
    assert pause.sum() >= 20 and speech.sum() >= 100
    reduction = float(np.median(10 * np.log10(p_in[:n][pause] / p_out[:n][pause])))
    speech_level = 10 * math.log10(np.mean(p_out[:n][speech]) / FULL_SCALE**2)
    return reduction, speech_level


# ------------------------------------------------------------------------- noise suppression


@pytest.mark.parametrize("kind", ["white", "pink"])
@pytest.mark.parametrize("rate", [44100, 22050, 24000, 96000])
def test_noise_suppression_at_any_rate_matches_the_native_rates(rate, kind, speech_dir):
    """Real speech in noise at 5 dB SNR, the same content at every rate. At 44.1/22.05/24/96
    kHz the noise in the speech pauses is reduced by >= 15 dB (measured 19.7-20.3) and both
    that reduction and the speech's output level are within 1 dB of what the same content
    gets at 16 and 48 kHz, where the core runs directly."""
    reduction, speech_level = suppress_at(rate, kind, speech_dir)
    assert reduction >= 15.0
    for native in (16000, 48000):
        native_reduction, native_level = suppress_at(native, kind, speech_dir)
        assert abs(speech_level - native_level) <= 1.0, (native, speech_level, native_level)
        assert abs(reduction - native_reduction) <= 1.0, (native, reduction, native_reduction)


# ------------------------------------------------------------------------- delay and framing


def band_limited_speech(speech_dir, rate: int, seconds: float = 3.0) -> np.ndarray:
    """Real speech low-passed to 3.6 kHz (through 8 kHz), at ``rate``: inside the round
    trip's passband (0.9 x the lower Nyquist) at every rate from 8 kHz up."""
    x, r = load_speech(speech_dir, SPEECH)
    x = resample(x[int(1.0 * r) : int((1.0 + seconds) * r)], r, 8000)
    return resample(x, 8000, rate)


@pytest.mark.parametrize("rate", [44100, 22050, 11025, 24000, 12000, 88200, 96000])
@pytest.mark.parametrize("channels", [1, 2])
def test_delay_samples_is_the_measured_lag_of_a_transparent_module(rate, channels, speech_dir):
    """All stages off: the output is the input delayed by exactly ``delay_samples`` (the
    resamplers' latency), found by cross-correlation, and matches it to within the
    resampling round trip's error (>= 60 dB SNR on speech band-limited to 3.6 kHz)."""
    x = band_limited_speech(speech_dir, rate)
    if channels == 2:
        x = np.stack([x, x // 2], axis=1)
    apm = AudioProcessingModule()
    y = process(apm, x, rate)
    d = apm.delay_samples
    assert 0 < d < rate // 50  # resampling only: under 20 ms
    for c in range(channels):
        xc = x[: len(y)].reshape(len(y), -1)[:, c]
        yc = y.reshape(len(y), -1)[:, c]
        assert lag_by_cross_correlation(yc, xc, 2 * d) == d
        err = yc[d:].astype(np.float64) - xc[: len(xc) - d]
        assert 10 * math.log10(np.sum(xc[: len(xc) - d].astype(float) ** 2) / np.sum(err**2)) >= 60


@pytest.mark.parametrize("rate", [44100, 22050, 24000])
def test_delay_samples_is_the_measured_lag_with_noise_suppression(rate, speech_dir):
    """Noise suppression adds 10 ms of the internal rate: the lag found on clean speech is
    ``delay_samples`` (to the nearest sample at 22.05 kHz, where 10 ms is 220.5 samples)."""
    x = band_limited_speech(speech_dir, rate)
    apm = AudioProcessingModule(noise_suppression=True)
    y = process(apm, x, rate)
    d = apm.delay_samples
    tolerance = 0 if rate % 100 == 0 else 1
    assert abs(lag_by_cross_correlation(y, x[: len(y)], 2 * d) - d) <= tolerance
    transparent = AudioProcessingModule()
    process(transparent, x[: rate // 100], rate)
    assert d == transparent.delay_samples + math.floor(rate / 100 + 0.5)  # + 10 ms


@pytest.mark.parametrize("rate", [44100, 22050, 96000])
def test_frames_of_several_blocks_give_the_same_output_as_10_ms_frames(rate, rng):
    """Any multiple of ``rate // 100`` samples per frame, mixed freely, gives bit-identical
    output to 10 ms frames: every call returns exactly its frame, the lag never moves."""
    step = rate // 100
    x = (rng.standard_normal((step * 120, 2)) * 3000).astype(np.int16)
    options = dict(noise_suppression=True, high_pass_filter=True, auto_gain_control=True)
    ten_ms = process(AudioProcessingModule(**options), x, rate)
    apm = AudioProcessingModule(**options)
    mixed = process(apm, x, rate, sizes=[step, 3 * step, 2 * step, 5 * step])
    np.testing.assert_array_equal(mixed, ten_ms[: len(mixed)])


def test_native_rates_take_no_resampler(rng):
    """At 8/16/32/48 kHz nothing changes: no resampling, no added delay, and the output of
    noise suppression equals the C core's on the same blocks."""
    from livekit_audio._native import _apm

    for rate in (8000, 16000, 32000, 48000):
        x = (rng.standard_normal(rate // 100 * 20) * 2000).astype(np.int16)
        apm = AudioProcessingModule(noise_suppression=True)
        y = process(apm, x, rate)
        assert apm._capture is None and apm.delay_samples == rate // 100
        core = _apm.ApmCore(rate, 1, False, True, False, -21.0, -18.0, 30.0, -60.0)
        ref = x.copy()
        core.process_capture(ref)
        np.testing.assert_array_equal(y, ref)


def test_reset_at_a_resampled_rate_starts_over_exactly(rng):
    """After reset() the module (and its resamplers) behaves as a new one: same output for
    the same input, same delay."""
    x = (rng.standard_normal(441 * 50) * 2000).astype(np.int16)
    options = dict(noise_suppression=True, auto_gain_control=True)
    apm = AudioProcessingModule(**options)
    process(apm, x, 44100)
    apm.reset()
    np.testing.assert_array_equal(
        process(apm, x, 44100), process(AudioProcessingModule(**options), x, 44100)
    )


def test_stereo_with_identical_channels_stays_identical_at_44_1_khz(rng):
    mono = (rng.standard_normal(44100) * 2000).astype(np.int16)
    options = dict(noise_suppression=True, high_pass_filter=True, auto_gain_control=True)
    y = process(AudioProcessingModule(**options), np.stack([mono, mono], axis=1), 44100)
    np.testing.assert_array_equal(y[:, 0], y[:, 1])


def test_rate_changes_reconfigure_and_the_lag_follows(rng):
    """Each new layout restarts the module: its delay is a fresh module's at that layout."""
    apm = AudioProcessingModule(noise_suppression=True)
    for rate, channels in [(44100, 1), (48000, 1), (22050, 2), (48000, 1), (44100, 1)]:
        x = (rng.standard_normal((rate // 100 * 5, channels)) * 1000).astype(np.int16)
        process(apm, x, rate)
        fresh = AudioProcessingModule(noise_suppression=True)
        process(fresh, x, rate)
        assert apm.delay_samples == fresh.delay_samples
        assert apm.stats.frames_processed == fresh.stats.frames_processed


# ------------------------------------------------------------------------- error contract


@pytest.mark.parametrize(
    "rate,channels,size,match",
    [
        (7000, 1, 70, r"sample_rate must be an int within \[8000, 96000\] Hz, got 7000"),
        (200000, 1, 2000, r"sample_rate must be an int within \[8000, 96000\] Hz, got 200000"),
        (44100, 1, 440, r"multiple of 441 samples \(10 ms at 44100 Hz\), got 440"),
        (22050, 1, 221, r"multiple of 220 samples .*22050 Hz, rounded down.*got 221"),
        (22050, 1, 441, r"multiple of 220 samples .*got 441 \(20 ms\)"),
        (11025, 1, 111, r"multiple of 110 samples"),
        (8001, 1, 80, r"unsupported sample_rate 8001: .*interpolation factor"),
        (44100, 3, 441, r"num_channels must be within \[1, 2\], got 3"),
    ],
)
def test_bad_frames_raise_and_stay_untouched(rate, channels, size, match, rng):
    """Where livekit.rtc's APM aborts the process (a Rust panic on 221 samples at 22.05 kHz),
    this one raises AudioProcessingError naming what it expected; the frame is untouched."""
    frame = AudioFrame.create(rate, channels, size)
    view = frame.to_ndarray()
    view[:] = rng.integers(-1000, 1000, size=view.shape)
    before = bytes(frame.data)
    apm = AudioProcessingModule(noise_suppression=True)
    apm.process_stream(AudioFrame.create(44100, 1, 441))  # also from a configured module
    with pytest.raises(AudioProcessingError, match=match):
        apm.process_stream(frame)
    assert bytes(frame.data) == before
    if channels <= 2:
        with pytest.raises(AudioProcessingError, match=match):
            apm.process_reverse_stream(frame)
    assert bytes(frame.data) == before


def test_render_channel_limit_and_read_only_capture():
    apm = AudioProcessingModule(echo_cancellation=True)
    with pytest.raises(AudioProcessingError, match=r"num_channels must be within \[1, 8\], got 9"):
        apm.process_reverse_stream(AudioFrame.create(24000, 9, 240))
    read_only = SimpleNamespace(
        data=memoryview(bytes(882)).cast("h"),
        sample_rate=44100,
        num_channels=1,
        samples_per_channel=441,
    )
    with pytest.raises(ValueError, match="read-only"):
        apm.process_stream(read_only)
    apm.process_reverse_stream(read_only)  # the far end is only read


# ------------------------------------------------------------------------- far end, any layout


def echo_scenario(speech_dir, rng, *, far_rate: int, near_rate: int, seconds: float = 12.0):
    """A far end (real speech, stereo with the right channel at half amplitude) at
    ``far_rate``, and the near-end microphone at ``near_rate`` picking up what is played (the
    channels' mean) through a room: 60 ms bulk delay, decaying random tail, -30 dBFS."""
    far = far_speech(speech_dir, far_rate, seconds)
    far_stereo = np.round(np.stack([far, 0.5 * far], axis=1)).astype(np.int16)
    played = resample(far_stereo.mean(axis=1).astype(np.float32), far_rate, near_rate)
    mic = room_echo(played.astype(np.float64), near_rate, rng, delay_ms=60.0)
    mic += rng.standard_normal(len(mic)) * FULL_SCALE * 10 ** (-70 / 20)
    return far_stereo, mic


def run_echo(apm, far, mic, far_rate, near_rate, *, early_ms=0, send_early=True, channels=1):
    """10 ms render then 10 ms capture, the render ``early_ms`` ahead (sent before the first
    capture frame when ``send_early``, dropped otherwise); the output aligned with the mic."""
    fh, nh = far_rate // 100, near_rate // 100
    early = early_ms // 10
    if send_early:
        for j in range(early):
            apm.process_reverse_stream(
                AudioFrame.from_ndarray(far[j * fh : (j + 1) * fh], far_rate)
            )
    out = np.round(mic).astype(np.int16)
    out = np.stack([out] * channels, axis=1) if channels > 1 else out
    for i in range(len(out) // nh):
        j = i + early
        if (j + 1) * fh <= len(far):
            apm.process_reverse_stream(
                AudioFrame.from_ndarray(far[j * fh : (j + 1) * fh], far_rate)
            )
        apm.process_stream(AudioFrame.from_ndarray(out[i * nh : (i + 1) * nh], near_rate))
    y = aligned(out, apm.delay_samples)
    return y if channels == 1 else y[:, 0]


@pytest.mark.parametrize(
    "far_rate,near_rate", [(24000, 16000), (48000, 44100), (16000, 22050), (44100, 48000)]
)
def test_echo_of_a_far_end_at_another_rate_and_channel_count_is_cancelled(
    far_rate, near_rate, speech_dir, rng
):
    """A stereo far end at one rate, a mono near end at another: no error, and the echo is
    down by >= 25 dB after convergence (8-12 s) (ERLE measured 40 dB for 24k -> 16k)."""
    far, mic = echo_scenario(speech_dir, rng, far_rate=far_rate, near_rate=near_rate)
    apm = AudioProcessingModule(echo_cancellation=True)
    y = run_echo(apm, far, mic, far_rate, near_rate)
    r = near_rate
    tail = slice(8 * r, 12 * r - r // 10)
    assert level_dbfs(mic[tail]) - level_dbfs(y[tail]) >= 25.0
    assert apm.stats.render_overruns == 0


def test_far_end_before_the_first_capture_is_kept(speech_dir, rng):
    """300 ms of far end (24 kHz stereo) arrives before the first capture frame (16 kHz
    stereo, a layout that used to rebuild the module and drop it). It is kept and lined up:
    the first second's echo is down >= 20 dB, where dropping it leaves it at < 12 dB."""
    far, mic = echo_scenario(speech_dir, rng, far_rate=24000, near_rate=16000, seconds=3.0)
    apm = AudioProcessingModule(echo_cancellation=True)
    for j in range(30):
        apm.process_reverse_stream(AudioFrame.from_ndarray(far[j * 240 : (j + 1) * 240], 24000))
    assert apm.stats.render_buffer_ms == pytest.approx(300.0)
    assert apm.stats.render_frames == 30
    assert apm.stats.render_level_dbfs == pytest.approx(
        level_dbfs(far[29 * 240 : 30 * 240]), abs=0.01
    )

    def first_second_erle(send_early: bool) -> float:
        apm = AudioProcessingModule(echo_cancellation=True)
        y = run_echo(apm, far, mic, 24000, 16000, early_ms=300, send_early=send_early, channels=2)
        first = slice(16000 // 5, 16000)
        return level_dbfs(mic[first]) - level_dbfs(y[first])

    kept, dropped = first_second_erle(True), first_second_erle(False)
    assert kept >= 20.0
    assert dropped < 12.0


def test_far_end_kept_before_the_first_capture_is_bounded_to_2_s(rng, caplog):
    apm = AudioProcessingModule(echo_cancellation=True)
    block = AudioFrame.from_ndarray((rng.standard_normal(480) * 3000).astype(np.int16), 48000)
    for _ in range(300):  # 3 s
        apm.process_reverse_stream(block)
    assert apm.stats.render_buffer_ms == pytest.approx(2000.0)
    assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 1
    apm.process_stream(AudioFrame.create(16000, 1, 160))
    assert 1900.0 <= apm.stats.render_buffer_ms <= 2000.0  # fed to the module, resampled


def test_far_end_layout_changes_mid_stream(speech_dir, rng):
    """The far end switches from 24 kHz stereo to 48 kHz mono to 16 kHz (the capture's rate)
    mid-call: no error, and the echo is still cancelled at the end."""
    far, mic = echo_scenario(speech_dir, rng, far_rate=48000, near_rate=16000)
    far48 = far.mean(axis=1).round().astype(np.int16)
    far24 = resample(far, 48000, 24000)
    far16 = resample(far48, 48000, 16000)
    apm = AudioProcessingModule(echo_cancellation=True)
    out = np.round(mic).astype(np.int16)
    for i in range(len(out) // 160):
        if i < 300:
            apm.process_reverse_stream(
                AudioFrame.from_ndarray(far24[i * 240 : (i + 1) * 240], 24000)
            )
        elif i < 600:
            apm.process_reverse_stream(
                AudioFrame.from_ndarray(far48[i * 480 : (i + 1) * 480], 48000)
            )
        else:
            apm.process_reverse_stream(
                AudioFrame.from_ndarray(far16[i * 160 : (i + 1) * 160], 16000)
            )
        apm.process_stream(AudioFrame.from_ndarray(out[i * 160 : (i + 1) * 160], 16000))
    y = aligned(out, apm.delay_samples)
    tail = slice(9 * 16000, 12 * 16000 - 1600)
    assert level_dbfs(mic[tail]) - level_dbfs(y[tail]) >= 20.0
