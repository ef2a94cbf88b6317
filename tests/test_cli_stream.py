"""``livekit-audio process --engine stream``: file -> AudioSource -> LocalAudioTrack -> AudioStream.

The stream engine must give what the direct (stage pipeline) engine gives, on real speech,
and report errors the same way.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from helpers import load_speech

import livekit_audio
from livekit_audio import cli
from livekit_audio.apm_processor import ApmProcessor

SPEECH = "allison_demo-instruct_16k.wav"
MAX_LAG = 4800  # 100 ms at 48 kHz


def _run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def _read(path: Path) -> np.ndarray:
    data, _ = sf.read(path, dtype="int16", always_2d=True)
    return data


def _align(a: np.ndarray, b: np.ndarray, max_lag: int = MAX_LAG) -> tuple[int, float]:
    """Lag of ``b`` behind ``a`` (by FFT cross-correlation) and the correlation once aligned."""
    x = a.astype(np.float64).ravel()
    y = b.astype(np.float64).ravel()
    n = len(x) + len(y)
    size = 1 << (n - 1).bit_length()
    xc = np.fft.irfft(np.fft.rfft(y, size) * np.conj(np.fft.rfft(x, size)), size)
    lags = np.r_[np.arange(0, max_lag + 1), np.arange(-max_lag, 0)]
    lag = int(lags[np.argmax(xc[lags])])
    if lag >= 0:
        x, y = x[: len(x) - lag] if lag else x, y[lag:]
    else:
        x, y = x[-lag:], y[: len(y) + lag]
    m = min(len(x), len(y))
    return lag, float(np.corrcoef(x[:m], y[:m])[0, 1])


def _process(
    capsys: pytest.CaptureFixture[str], src: Path, out: Path, engine: str, *args: object
) -> tuple[np.ndarray, str]:
    status, stdout, err = _run(capsys, "process", src, "-o", out, "--engine", engine, *args)
    assert status == 0, err
    assert err == ""
    return _read(out), stdout


def _assert_error(status: int, out: str, err: str) -> str:
    assert status == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("livekit-audio: error: "), err
    assert "Traceback" not in err
    return lines[0]


# --- the stream engine on real speech ---------------------------------------------------------


def test_stream_to_48k_matches_direct(
    speech_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x, rate = load_speech(speech_dir, SPEECH)
    assert rate == 16000
    src = speech_dir / SPEECH
    direct, _ = _process(capsys, src, tmp_path / "d.wav", "direct", "--sample-rate", 48000)
    stream, out = _process(capsys, src, tmp_path / "s.wav", "stream", "--sample-rate", 48000)
    assert sf.info(tmp_path / "s.wav").samplerate == 48000
    # within a few ms of 3x the input (in fact exactly: the resampler's tail is flushed)
    assert abs(len(stream) - 3 * len(x)) <= 48 * 3
    lag, corr = _align(direct, stream)
    assert corr > 0.999, (lag, corr)
    np.testing.assert_array_equal(stream, direct)  # same resampler, same MEDIUM quality
    lines = out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{src}: 16000 Hz -> 48000 Hz, 1 ch, {len(x) / 16000:.2f} s in ")
    assert lines[0].endswith(", via AudioStream)")


def test_stream_ns_matches_direct_ns(
    speech_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x, _ = load_speech(speech_dir, SPEECH)
    src = speech_dir / SPEECH
    args = ("--sample-rate", 48000, "--ns")
    direct, _ = _process(capsys, src, tmp_path / "d.wav", "direct", *args)
    stream, _ = _process(capsys, src, tmp_path / "s.wav", "stream", *args)
    lag, corr = _align(direct, stream)
    assert corr > 0.95, (lag, corr)
    # the processor's 10 ms delay is compensated: same length, no lag, near-identical
    assert len(stream) == len(direct) == 3 * len(x)
    assert lag == 0 and corr > 0.9999
    # and it is speech: it follows the (resampled) input closely
    plain = livekit_audio.resample(x, 16000, 48000)
    assert _align(plain, stream)[1] > 0.9


def test_stream_ns_cleans_noisy_speech(
    speech_dir: Path, tmp_path: Path, rng: np.random.Generator, capsys: pytest.CaptureFixture[str]
) -> None:
    x, _ = load_speech(speech_dir, SPEECH)
    x = x[: 16000 * 10].astype(np.float64)
    noise = rng.standard_normal(len(x))
    noise *= np.sqrt(np.mean(x**2) / np.mean(noise**2)) / 10 ** (5 / 20)  # 5 dB SNR
    noisy = np.clip(np.rint(x + noise), -32768, 32767).astype(np.int16)
    src = tmp_path / "noisy.wav"
    sf.write(src, noisy, 16000, subtype="PCM_16")
    args = ("--sample-rate", 48000, "--ns=high", "--hpf")
    direct, _ = _process(capsys, src, tmp_path / "d.wav", "direct", *args)
    stream, _ = _process(capsys, src, tmp_path / "s.wav", "stream", *args)
    lag, corr = _align(direct, stream)
    assert corr > 0.95 and lag == 0, (lag, corr)
    # clean speech: the noise in the pauses is down >= 10 dB, the speech kept within 3 dB
    clean48 = livekit_audio.resample(x.astype(np.int16), 16000, 48000)
    noisy48 = livekit_audio.resample(noisy, 16000, 48000)

    def level(s: np.ndarray) -> np.ndarray:  # dB per 10 ms frame
        frames = s.astype(np.float64).ravel().reshape(-1, 480)
        return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-9)

    clean, before, after = level(clean48), level(noisy48), level(stream)
    pauses = clean < np.percentile(clean, 20)
    speech = clean > np.percentile(clean, 70)
    assert before[pauses].mean() - after[pauses].mean() > 10
    assert abs(before[speech].mean() - after[speech].mean()) < 3


def test_stream_upmix_with_processor(
    speech_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x, _ = load_speech(speech_dir, SPEECH)
    x = x[: 16000 * 5]
    src = tmp_path / "short.wav"
    sf.write(src, x, 16000, subtype="PCM_16")
    args = ("--sample-rate", 32000, "--channels", 2, "--hpf", "--agc", "--frame-ms", 7)
    direct, _ = _process(capsys, src, tmp_path / "d.wav", "direct", *args)
    stream, out = _process(capsys, src, tmp_path / "s.wav", "stream", *args)
    assert stream.shape == direct.shape == (2 * len(x), 2)
    np.testing.assert_array_equal(stream[:, 0], stream[:, 1])
    assert _align(direct[:, 0], stream[:, 0]) == (0, pytest.approx(1.0, abs=1e-4))
    assert ", 2 ch, " in out


def test_stream_without_compensation_shows_the_processor_delay(speech_dir: Path) -> None:
    x, _ = load_speech(speech_dir, SPEECH)
    x = x[: 16000 * 5]
    options = {"noise_suppression": True}
    frames = [
        livekit_audio.AudioFrame.from_ndarray(x[i : i + 160], 16000) for i in range(0, len(x), 160)
    ]

    def run(compensate: bool) -> np.ndarray:
        blocks: list[np.ndarray] = []
        n = asyncio.run(
            cli.stream_file_frames(
                frames,
                blocks.append,
                input_rate=16000,
                input_channels=1,
                output_rate=48000,
                output_channels=1,
                apm_options=options,
                compensate_delay=compensate,
            )
        )
        y = np.concatenate(blocks)
        assert len(y) == n
        return y

    aligned, raw = run(True), run(False)
    assert len(aligned) == len(raw) == 3 * len(x)
    delay = livekit_audio.AudioProcessingModule(**options)
    delay.process_stream(livekit_audio.AudioFrame.create(48000, 1, 480))
    lag, corr = _align(aligned, raw)
    assert lag == delay.delay_samples == 480 and corr > 0.999


def test_stream_empty_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "empty.wav"
    sf.write(src, np.zeros(0, np.int16), 16000, subtype="PCM_16")
    out_path = tmp_path / "o.wav"
    status, out, err = _run(
        capsys, "process", src, "-o", out_path, "--sample-rate", 48000, "--ns", "--engine", "stream"
    )
    assert status == 0, err
    assert sf.info(out_path).frames == 0
    assert "real-time factor n/a, via AudioStream" in out


def test_stream_subprocess(speech_dir: Path, tmp_path: Path) -> None:
    out_path = tmp_path / "sub.wav"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "livekit_audio",
            "process",
            str(speech_dir / SPEECH),
            "-o",
            str(out_path),
            "--sample-rate",
            "16000",
            "--ns",
            "--engine",
            "stream",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,  # not the checkout: `-m` would import the uncompiled source tree first
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.count("\n") == 1 and "via AudioStream" in proc.stdout
    assert sf.info(out_path).frames == sf.info(speech_dir / SPEECH).frames


# --- errors: as in the direct engine ----------------------------------------------------------


@pytest.fixture
def noise_wav(tmp_path: Path, rng: np.random.Generator) -> Path:
    path = tmp_path / "noise.wav"
    sf.write(path, rng.integers(-8000, 8000, size=16000, dtype=np.int16), 16000, subtype="PCM_16")
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["{missing}", "-o", "{out}"],
        ["{corrupt}", "-o", "{out}"],
        ["{noise}", "-o", "{out}", "--sample-rate", "44101"],
        ["{noise}", "-o", "{out}", "--sample-rate", "999"],
        ["{noise}", "-o", "{out}", "--channels", "9"],
        ["{stereo}", "-o", "{out}", "--channels", "3", "--sample-rate", "44101"],
        ["{noise}", "-o", "{out}", "--frame-ms", "0"],
        ["{noise}", "-o", "{out}", "--ns", "--sample-rate", "4000"],
        ["{noise}", "-o", "{out}", "--ns=loud"],
        ["{noise}", "-o", "{tmp}/missing/o.wav"],
        ["{noise}", "-o", "{tmp}/o.xyz"],
        ["{noise}", "-o", "{noise}"],
    ],
)
def test_errors_match_the_direct_engine(
    args: list[str],
    noise_wav: Path,
    tmp_path: Path,
    rng: np.random.Generator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(rng.bytes(4096))
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, rng.integers(-100, 100, (800, 2), dtype=np.int16), 8000, subtype="PCM_16")
    names = {
        "missing": tmp_path / "nope.wav",
        "corrupt": corrupt,
        "noise": noise_wav,
        "stereo": stereo,
        "out": tmp_path / "o.wav",
        "tmp": tmp_path,
    }
    argv = [a.format(**names) for a in args]
    before = noise_wav.read_bytes()
    direct = _assert_error(*_run(capsys, "process", *argv, "--engine", "direct"))
    stream = _assert_error(*_run(capsys, "process", *argv, "--engine", "stream"))
    assert stream == direct
    assert not (tmp_path / "o.wav").exists()
    assert noise_wav.read_bytes() == before


def test_quality_other_than_medium_needs_direct(
    noise_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_path = tmp_path / "o.wav"
    line = _assert_error(
        *_run(
            capsys,
            "process",
            noise_wav,
            "-o",
            out_path,
            "--sample-rate",
            48000,
            "--quality",
            "high",
            "--engine",
            "stream",
        )
    )
    assert "--engine direct" in line and "medium" in line
    assert not out_path.exists()
    # no resampling: the quality does not matter
    status, _, err = _run(
        capsys, "process", noise_wav, "-o", out_path, "--quality", "high", "--engine", "stream"
    )
    assert status == 0, err
    np.testing.assert_array_equal(_read(out_path), _read(noise_wav))


def test_bad_engine(noise_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _assert_error(
        *_run(capsys, "process", noise_wav, "-o", tmp_path / "o.wav", "--engine", "fast")
    )
    assert "--engine" in line and "stream" in line
    with pytest.raises(cli.CLIError, match="invalid engine"):
        cli.process_file(noise_wav, tmp_path / "o.wav", engine="fast")


def test_processor_failure_is_one_line_and_removes_output(
    noise_wav: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken(self: ApmProcessor, frame: livekit_audio.AudioFrame) -> livekit_audio.AudioFrame:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(ApmProcessor, "_process", broken)
    out_path = tmp_path / "o.wav"
    line = _assert_error(
        *_run(capsys, "process", noise_wav, "-o", out_path, "--ns", "--engine", "stream")
    )
    assert "processor failed" in line and "kaboom" in line
    assert not out_path.exists()


def test_help_documents_the_engines(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "process", "--help")
    assert status == 0
    text = " ".join(out.split())
    assert "--engine {direct,stream}" in text
    assert "AudioSource(realtime=False) -> LocalAudioTrack -> AudioStream" in text
    assert "compensated" in text
