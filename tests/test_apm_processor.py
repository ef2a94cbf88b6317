"""ApmProcessor (FrameProcessor) and ApmStage (offline stage), and the CLI's --hpf/--ns/--agc."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf

from livekit_audio import AudioFrame, AudioProcessingModule
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
        (["--ns", "--sample-rate", "44100"], "run at 8000, 16000, 32000, 48000 Hz"),
        (["--agc", "3"], "agc_target_level_dbfs"),
    ],
)
def test_cli_apm_errors(args, message, tmp_path, capsys, rng):
    src = tmp_path / "in.wav"
    sf.write(src, (rng.standard_normal(1600) * 1000).astype(np.int16), 16000)
    assert main(["process", str(src), "-o", str(tmp_path / "o.wav"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("livekit-audio: error:") and message in err and "Traceback" not in err
