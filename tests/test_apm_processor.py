"""ApmProcessor (FrameProcessor) and ApmStage (offline stage), and the CLI's --hpf/--ns/--agc."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf

from livekit_audio import AudioFrame, AudioProcessingError, AudioProcessingModule
from livekit_audio.apm_processor import ApmProcessor, ApmStage
from livekit_audio.cli import main


def stream_through(stage: ApmStage, x: np.ndarray, rate: int, size: int) -> np.ndarray:
    out = []
    for i in range(0, len(x), size):
        out += stage.push(AudioFrame.from_ndarray(x[i : i + size], rate))
    out += stage.flush()
    return np.concatenate([f.to_ndarray() for f in out])


def ten_ms_reference(x: np.ndarray, rate: int, **options) -> np.ndarray:
    """Process in exact 10 ms frames (zero-padded to whole frames plus one for the delay)."""
    apm = AudioProcessingModule(**options)
    hop = rate // 100
    padded = np.concatenate([x, np.zeros((-len(x)) % hop + hop, np.int16)])
    for i in range(0, len(padded), hop):
        apm.process_stream(AudioFrame.from_ndarray(padded[i : i + hop], rate))
    d = apm.delay_samples
    return padded[d : d + len(x)]


@pytest.mark.parametrize("size", [160, 441, 320, 7, 1000])
@pytest.mark.parametrize("options", [dict(noise_suppression=True), dict(high_pass_filter=True)])
def test_stage_output_is_aligned_and_as_long_as_the_input(size, options, rng):
    rate = 16000
    x = (rng.standard_normal(rate + 77) * 2000).astype(np.int16)
    got = stream_through(ApmStage(**options), x, rate, size)
    assert got.shape == (len(x), 1)
    np.testing.assert_array_equal(got[:, 0], ten_ms_reference(x, rate, **options))


def test_stage_is_reusable_after_flush(rng):
    x = (rng.standard_normal(8000) * 2000).astype(np.int16)
    stage = ApmStage(noise_suppression=True)
    first = stream_through(stage, x, 16000, 441)
    assert first.shape[0] == len(x)
    assert stream_through(stage, x, 16000, 441).shape[0] == len(x)


@pytest.mark.parametrize("size", [160, 320, 441, 100])
def test_processor_returns_frames_of_the_input_size(size, rng):
    processor = ApmProcessor(noise_suppression=True, high_pass_filter=True)
    assert processor.enabled
    x = (rng.standard_normal((size * 50, 2)) * 2000).astype(np.int16)
    out = []
    for i in range(0, len(x), size):
        frame = processor._process(AudioFrame.from_ndarray(x[i : i + size], 16000))
        assert (frame.samples_per_channel, frame.num_channels) == (size, 2)
        out.append(frame.to_ndarray())
    # the audio is the 10 ms processed stream, delayed by the re-chunking lead-in
    y = np.concatenate(out)
    lead = 160 - math.gcd(size, 160)
    assert processor.delay_samples == lead + 160  # the re-chunking lead plus the NS hop
    reference = AudioProcessingModule(noise_suppression=True, high_pass_filter=True)
    whole = (len(x) // 160) * 160
    ref = x[:whole].copy()
    for i in range(0, whole, 160):
        reference.process_stream(AudioFrame.from_ndarray(ref[i : i + 160], 16000))
    np.testing.assert_array_equal(y[lead : lead + whole - 160], ref[: whole - 160])


def test_processor_close_and_enabled_flag():
    processor = ApmProcessor(apm=AudioProcessingModule(noise_suppression=True))
    processor.enabled = False
    assert processor.enabled is False
    processor._close()
    with pytest.raises(RuntimeError, match="closed"):
        processor._process(AudioFrame.create(16000, 1, 160))
    with pytest.raises(TypeError, match="either"):
        ApmProcessor(AudioProcessingModule(), noise_suppression=True)


def test_cli_flags_run_the_apm_on_real_speech(speech_dir, tmp_path, capsys):
    src = speech_dir / "allison_demo-echotest_16k.wav"
    x, rate = sf.read(src, dtype="int16")
    out = tmp_path / "clean.wav"
    assert main(["process", str(src), "-o", str(out), "--ns=high", "--agc", "-20"]) == 0
    y, out_rate = sf.read(out, dtype="int16")
    assert (out_rate, len(y)) == (rate, len(x))
    assert np.abs(y.astype(np.int32)).max() < 32767
    assert np.corrcoef(x.astype(float), y.astype(float))[0, 1] > 0.95  # aligned, same speech
    assert "16000 Hz -> 16000 Hz" in capsys.readouterr().out


def test_cli_hpf_matches_scipy_butterworth_on_real_speech(speech_dir, tmp_path):
    signal = pytest.importorskip("scipy.signal")
    src = speech_dir / "allison_demo-echotest_16k.wav"
    x, rate = sf.read(src, dtype="int16")
    out = tmp_path / "hpf.wav"
    assert main(["process", str(src), "-o", str(out), "--hpf"]) == 0
    y, _ = sf.read(out, dtype="int16")
    sos = signal.butter(4, 100.0, btype="highpass", fs=rate, output="sos")
    expected = np.round(signal.sosfilt(sos, x.astype(np.float64)))
    assert np.max(np.abs(y - expected)) <= 1  # int16 rounding only


@pytest.mark.parametrize(
    "args,message",
    [
        (["--ns=loud"], "invalid --ns level"),
        (["--ns", "--sample-rate", "4000"], "run at 8000-96000 Hz"),
        (["--agc", "3"], "--agc target must be within -50..-3 dBFS"),
    ],
)
def test_cli_apm_errors(args, message, tmp_path, capsys, rng):
    src = tmp_path / "in.wav"
    sf.write(src, (rng.standard_normal(1600) * 1000).astype(np.int16), 16000)
    assert main(["process", str(src), "-o", str(tmp_path / "o.wav"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("livekit-audio: error:") and message in err and "Traceback" not in err


# ------------------------------------------------------------------------- far end, any layout


@pytest.mark.asyncio
async def test_agent_playout_at_24_khz_stereo_cancels_echo_in_a_16_khz_capture(
    speech_dir, rng, caplog
):
    """The issue's case: an agent plays 24 kHz stereo through an AudioSource whose playout
    is the echo reference of a 16 kHz mono capture, 20 ms frames both. No exception, no log
    line (it used to raise and log a traceback every 10 ms), and the echo is down by >= 30 dB
    after convergence (measured 40.8 dB at the module level)."""
    from test_apm_any_rate import aligned, echo_scenario, level_dbfs

    from livekit_audio import AudioSource

    far, mic = echo_scenario(speech_dir, rng, far_rate=24000, near_rate=16000)
    mic16 = np.round(mic).astype(np.int16)
    processor = ApmProcessor(echo_cancellation=True)
    source = AudioSource(24000, 2, realtime=False)
    source.add_playout_listener(processor.process_reverse)
    out = []
    with caplog.at_level("WARNING", logger="livekit_audio"):
        for i in range(len(mic16) // 320):
            await source.capture_frame(AudioFrame.from_ndarray(far[i * 480 : (i + 1) * 480], 24000))
            await source.wait_for_playout()
            frame = processor._process(
                AudioFrame.from_ndarray(mic16[i * 320 : (i + 1) * 320], 16000)
            )
            out.append(frame.to_ndarray()[:, 0])
        source.remove_playout_listener(processor.process_reverse)
        await source.aclose()
    assert not caplog.records
    y = aligned(np.concatenate(out), processor.delay_samples)
    tail = slice(8 * 16000, 12 * 16000 - 1600)
    assert level_dbfs(mic[tail]) - level_dbfs(y[tail]) >= 30.0


def test_far_end_held_by_the_processor_is_kept_across_layout_changes(rng):
    """Far end before the first capture frame is kept; a partial 10 ms block held when the
    far end changes rate or channels is padded and fed, not dropped."""
    processor = ApmProcessor(echo_cancellation=True)
    x = (rng.standard_normal((24000, 2)) * 3000).astype(np.int16)
    for i in range(12):  # 25 ms frames at 24 kHz stereo: 300 ms
        processor.process_reverse(AudioFrame.from_ndarray(x[i * 600 : (i + 1) * 600], 24000))
    assert processor.apm.stats.render_buffer_ms == pytest.approx(300.0)
    processor.process_reverse(AudioFrame.from_ndarray(x[:360], 24000))  # 15 ms: 5 ms held
    processor.process_reverse(AudioFrame.from_ndarray(x[:960, 0].copy(), 48000))  # 20 ms
    assert processor.apm.stats.render_buffer_ms == pytest.approx(300.0 + 20.0 + 20.0)
    frame = processor._process(AudioFrame.create(16000, 2, 320))  # stereo capture
    assert (frame.samples_per_channel, frame.num_channels) == (320, 2)
    assert processor.apm.stats.render_buffer_ms >= 300.0


def test_processor_at_44_1_khz_returns_frames_of_the_input_size(rng):
    x = (rng.standard_normal((441 * 40, 2)) * 2000).astype(np.int16)
    processor = ApmProcessor(noise_suppression=True)
    for i in range(0, len(x), 882):
        frame = processor._process(AudioFrame.from_ndarray(x[i : i + 882], 44100))
        assert (frame.sample_rate, frame.samples_per_channel, frame.num_channels) == (44100, 882, 2)
    assert processor.delay_samples == processor.apm.delay_samples  # 20 ms frames: no lead
    with pytest.raises(AudioProcessingError, match=r"within \[8000, 96000\] Hz, got 7000"):
        processor.process_reverse(AudioFrame.create(7000, 1, 70))
    with pytest.raises(AudioProcessingError, match=r"within \[8000, 96000\] Hz, got 4000"):
        processor._process(AudioFrame.create(4000, 1, 40))


@pytest.mark.parametrize("rate", [44100, 22050])
def test_stage_at_a_resampled_rate_stays_aligned_and_as_long_as_the_input(rate):
    """With no stage on, ApmStage at 44.1/22.05 kHz removes the module's resampling delay:
    the output is the input, sample for sample, to within the round trip's error (a 440 Hz
    tone at -21 dBFS: 2 LSB)."""
    t = np.arange(2 * rate) / rate
    x = np.round(3000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    got = stream_through(ApmStage(), x, rate, 1000)
    assert got.shape == (len(x), 1)
    edge = rate // 50  # the resampler's start-up and the zero-padded end
    np.testing.assert_allclose(got[edge:-edge, 0], x[edge:-edge], atol=2)
