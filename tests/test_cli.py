"""The ``livekit-audio`` command: process, demo, and one-line errors with exit status 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from helpers import load_speech

import livekit_audio
from livekit_audio import cli
from livekit_audio.channels import remix_channels

SPEECH = "allison_demo-instruct_16k.wav"


def _run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def _read(path: Path) -> tuple[np.ndarray, int]:
    data, rate = sf.read(path, dtype="int16", always_2d=True)
    return data, rate


def _write(path: Path, data: np.ndarray, rate: int) -> Path:
    sf.write(path, data, rate, subtype="PCM_16")
    return path


def _rms_db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(np.asarray(x, dtype=np.float64) ** 2))


def _assert_error(status: int, out: str, err: str, *fragments: str) -> None:
    assert status == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("livekit-audio: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], err
    assert "Traceback" not in out + err


@pytest.fixture
def noise_wav(tmp_path: Path, rng: np.random.Generator) -> Path:
    """One second of mono noise at 16 kHz."""
    data = rng.integers(-8000, 8000, size=16000, dtype=np.int16)
    return _write(tmp_path / "noise.wav", data, 16000)


# --- process ---------------------------------------------------------------------------------


def test_process_speech_to_48k_sounds_like_input(
    speech_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x, rate = load_speech(speech_dir, SPEECH)
    assert rate == 16000
    out_path = tmp_path / "out48.wav"
    status, out, err = _run(
        capsys, "process", speech_dir / SPEECH, "-o", out_path, "--sample-rate", 48000
    )
    assert status == 0, err
    assert err == ""
    y, out_rate = _read(out_path)
    assert out_rate == 48000
    assert y.shape == (round(len(x) * 3), 1)
    assert sf.info(out_path).subtype == "PCM_16"

    back = livekit_audio.resample(y[:, 0], 48000, 16000)
    assert back.shape == x.shape
    corr = np.corrcoef(back.astype(np.float64), x.astype(np.float64))[0, 1]
    assert corr > 0.99
    assert abs(_rms_db(back) - _rms_db(x)) < 0.5

    lines = out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{speech_dir / SPEECH}: 16000 Hz -> 48000 Hz, 1 ch, ")
    assert f"{len(x) / 16000:.2f} s in " in lines[0]
    assert "(real-time factor " in lines[0]


def test_process_same_rate_is_bit_identical(
    speech_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x, _ = load_speech(speech_dir, SPEECH)
    out_path = tmp_path / "same.wav"
    status, out, err = _run(
        capsys, "process", speech_dir / SPEECH, "-o", out_path, "--sample-rate", 16000
    )
    assert status == 0, err
    y, rate = _read(out_path)
    assert rate == 16000
    np.testing.assert_array_equal(y[:, 0], x)
    assert "16000 Hz -> 16000 Hz" in out


def test_process_default_rate_keeps_input(
    noise_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_path = tmp_path / "keep.flac"
    status, _, err = _run(capsys, "process", noise_wav, "-o", out_path)
    assert status == 0, err
    y, rate = _read(out_path)
    x, _ = _read(noise_wav)
    assert rate == 16000
    assert sf.info(out_path).format == "FLAC"
    np.testing.assert_array_equal(y, x)


@pytest.mark.parametrize("frame_ms", ["20", "7", "1000", "2.5"])
def test_frame_length_does_not_change_output(
    speech_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], frame_ms: str
) -> None:
    src = speech_dir / SPEECH
    ref, other = tmp_path / "ref.wav", tmp_path / "other.wav"
    assert _run(capsys, "process", src, "-o", ref, "--sample-rate", 48000)[0] == 0
    status, _, err = _run(
        capsys, "process", src, "-o", other, "--sample-rate", 48000, "--frame-ms", frame_ms
    )
    assert status == 0, err
    a, _ = _read(ref)
    b, _ = _read(other)
    np.testing.assert_array_equal(a, b)


def test_process_matches_one_shot_resample(
    noise_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_path = tmp_path / "q.wav"
    status, _, err = _run(
        capsys, "process", noise_wav, "-o", out_path, "--sample-rate", 8000, "--quality", "HIGH"
    )
    assert status == 0, err
    x, _ = _read(noise_wav)
    y, rate = _read(out_path)
    assert rate == 8000
    expected = livekit_audio.resample(x[:, 0], 16000, 8000, quality="high")
    np.testing.assert_array_equal(y[:, 0], expected)


def test_upmix_to_stereo_duplicates(
    speech_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x, _ = load_speech(speech_dir, SPEECH)
    out_path = tmp_path / "stereo.wav"
    status, out, err = _run(
        capsys,
        "process",
        speech_dir / SPEECH,
        "-o",
        out_path,
        "--channels",
        2,
        "--sample-rate",
        48000,
    )
    assert status == 0, err
    y, rate = _read(out_path)
    assert rate == 48000
    assert y.shape == (len(x) * 3, 2)
    np.testing.assert_array_equal(y[:, 0], y[:, 1])
    np.testing.assert_array_equal(y[:, 0], livekit_audio.resample(x, 16000, 48000))
    assert ", 2 ch, " in out


def test_downmix_stereo_averages(
    speech_dir: Path, tmp_path: Path, rng: np.random.Generator, capsys: pytest.CaptureFixture[str]
) -> None:
    x, _ = load_speech(speech_dir, SPEECH)
    x = x[: 16000 * 3]
    right = rng.integers(-5000, 5000, size=len(x), dtype=np.int16)
    stereo = np.stack([x, right], axis=1)
    src = _write(tmp_path / "stereo_in.wav", stereo, 16000)
    out_path = tmp_path / "mono.wav"
    status, out, err = _run(capsys, "process", src, "-o", out_path, "--channels", 1)
    assert status == 0, err
    y, rate = _read(out_path)
    assert rate == 16000
    assert y.shape == (len(x), 1)
    expected = np.rint((x.astype(np.int32) + right.astype(np.int32)) / 2).astype(np.int16)
    np.testing.assert_array_equal(y[:, 0], expected)
    assert ", 1 ch, " in out


def test_downmix_extremes_stay_in_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = np.array([[32767, 32767], [-32768, -32768], [32767, -32768], [1, 2], [-1, -2]], np.int16)
    src = _write(tmp_path / "ext.wav", data, 8000)
    out_path = tmp_path / "ext_mono.wav"
    assert _run(capsys, "process", src, "-o", out_path, "--channels", 1)[0] == 0
    y, _ = _read(out_path)
    np.testing.assert_array_equal(y[:, 0], [32767, -32768, 0, 2, -2])  # ties to even


def test_empty_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write(tmp_path / "empty.wav", np.zeros(0, np.int16), 16000)
    out_path = tmp_path / "empty_out.wav"
    status, out, err = _run(capsys, "process", src, "-o", out_path, "--sample-rate", 48000)
    assert status == 0, err
    assert sf.info(out_path).frames == 0
    assert "0.00 s in" in out and "real-time factor n/a" in out


def test_subprocess_python_m(noise_wav: Path, tmp_path: Path) -> None:
    out_path = tmp_path / "sub.wav"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "livekit_audio",
            "process",
            str(noise_wav),
            "-o",
            str(out_path),
            "--sample-rate",
            "48000",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,  # not the checkout: `-m` would import the uncompiled source tree first
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # stderr is not a TTY: no progress bar
    assert proc.stdout.count("\n") == 1
    assert "16000 Hz -> 48000 Hz, 1 ch, 1.00 s in " in proc.stdout
    y, rate = _read(out_path)
    assert rate == 48000 and y.shape == (48000, 1)


# --- demo ------------------------------------------------------------------------------------


def test_demo_writes_48k_file_in_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    status, out, err = _run(capsys, "demo")
    assert status == 0, err
    written = tmp_path / cli.DEMO_OUTPUT
    assert written.is_file()
    clip = sf.info(str(cli.demo_clip()))
    assert clip.samplerate == 16000 and clip.channels == 1
    y, rate = _read(written)
    assert rate == 48000
    assert y.shape == (clip.frames * 3, 1)
    assert out.startswith(f"{cli.DEMO_CLIP}: 16000 Hz -> 48000 Hz, 1 ch, 21.98 s in ")
    assert out.count("\n") == 1


def test_demo_output_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    status, _, err = _run(capsys, "demo", "-o", "d.flac")
    assert status == 0, err
    assert sf.info(tmp_path / "d.flac").samplerate == 48000
    assert not (tmp_path / cli.DEMO_OUTPUT).exists()


def test_demo_clip_is_the_shared_recording(speech_dir: Path) -> None:
    shipped, rate = sf.read(str(cli.demo_clip()), dtype="int16")
    original, original_rate = load_speech(speech_dir, "allison_demo-echotest_16k.wav")
    assert rate == original_rate
    np.testing.assert_array_equal(shipped, original)
    notice = (cli.demo_clip().parent / "NOTICE").read_text()
    assert "CC-BY-SA-3.0" in notice and "Allison Smith" in notice


# --- errors ----------------------------------------------------------------------------------


def test_missing_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(capsys, "process", tmp_path / "nope.wav", "-o", tmp_path / "o.wav")
    _assert_error(status, out, err, "nope.wav", "no such file")
    assert not (tmp_path / "o.wav").exists()


def test_corrupt_input(
    tmp_path: Path, rng: np.random.Generator, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "x.wav"
    bad.write_bytes(rng.bytes(4096))
    status, out, err = _run(capsys, "process", bad, "-o", tmp_path / "o.wav")
    _assert_error(status, out, err, "cannot read", "x.wav")
    assert not (tmp_path / "o.wav").exists()


def test_directory_as_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _assert_error(*_run(capsys, "process", tmp_path, "-o", tmp_path / "o.wav"), "directory")


@pytest.mark.parametrize("rate", ["999", "768001", "0", "-16000"])
def test_output_rate_out_of_range(
    noise_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], rate: str
) -> None:
    status, out, err = _run(
        capsys, "process", noise_wav, "-o", tmp_path / "o.wav", "--sample-rate", rate
    )
    _assert_error(status, out, err, rate)
    assert not (tmp_path / "o.wav").exists()


def test_input_rate_out_of_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write(tmp_path / "slow.wav", np.zeros(500, np.int16), 500)
    status, out, err = _run(capsys, "process", src, "-o", tmp_path / "o.wav")
    _assert_error(status, out, err, "500 Hz")


def test_ratio_rejected_by_resampler(
    noise_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ValueError):
        livekit_audio.AudioResampler(16000, 44101)
    status, out, err = _run(
        capsys, "process", noise_wav, "-o", tmp_path / "o.wav", "--sample-rate", 44101
    )
    _assert_error(status, out, err, "16000 Hz -> 44101 Hz")
    assert not (tmp_path / "o.wav").exists()


@pytest.mark.parametrize("channels", ["0", "-1", "9", "two"])
def test_bad_channel_count(
    noise_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], channels: str
) -> None:
    status, out, err = _run(
        capsys, "process", noise_wav, "-o", tmp_path / "o.wav", "--channels", channels
    )
    _assert_error(status, out, err, "channels")


@pytest.mark.parametrize(("c_in", "c_out", "rate"), [(2, 3, None), (6, 2, 16000), (3, 2, None)])
def test_every_remix_conversion_is_accepted(
    c_in: int,
    c_out: int,
    rate: int | None,
    tmp_path: Path,
    rng: np.random.Generator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Conversions that are neither n -> 1 nor 1 -> n (2 -> 3 used to be refused): the output
    is remix_channels of the input (down-mixed before the resampler), as in AudioStream."""
    x = rng.integers(-8000, 8000, (8000, c_in), dtype=np.int16)
    src = _write(tmp_path / "multi.wav", x, 8000)
    out_path = tmp_path / "o.wav"
    argv = ["process", src, "-o", out_path, "--channels", c_out, "--frame-ms", 7]
    if rate is not None:
        argv += ["--sample-rate", rate]
    status, out, err = _run(capsys, *argv)
    assert status == 0, err
    assert f", {c_out} ch, " in out
    y, out_rate = _read(out_path)
    expected = remix_channels(x, c_out)
    if rate is not None:
        expected = livekit_audio.resample(remix_channels(x, min(c_in, c_out)), 8000, rate)
        expected = remix_channels(expected, c_out)
    assert out_rate == (rate or 8000)
    np.testing.assert_array_equal(y, expected)


@pytest.mark.parametrize("frame_ms", ["0", "-10", "1000.5", "1e9", "nan", "abc"])
def test_bad_frame_ms(
    noise_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], frame_ms: str
) -> None:
    status, out, err = _run(
        capsys, "process", noise_wav, "-o", tmp_path / "o.wav", f"--frame-ms={frame_ms}"
    )
    _assert_error(status, out, err, "frame-ms")


def test_frame_ms_too_short_for_rate(
    noise_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = _run(
        capsys, "process", noise_wav, "-o", tmp_path / "o.wav", "--frame-ms", "0.01"
    )
    _assert_error(status, out, err, "0 samples")


@pytest.mark.parametrize("quality", ["ultra", "", "med"])
def test_bad_quality(
    noise_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], quality: str
) -> None:
    status, out, err = _run(
        capsys, "process", noise_wav, "-o", tmp_path / "o.wav", f"--quality={quality}"
    )
    _assert_error(status, out, err, "quality")


@pytest.mark.parametrize("quality", ["quick", "LOW", "Medium", "high", "VERY_HIGH"])
def test_quality_case_insensitive(
    noise_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], quality: str
) -> None:
    status, _, err = _run(
        capsys,
        "process",
        noise_wav,
        "-o",
        tmp_path / "o.wav",
        "--sample-rate",
        48000,
        "--quality",
        quality,
    )
    assert status == 0, err


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("missing_dir/o.wav", "does not exist"),
        ("o.xyz", "unknown output format"),
        ("o", "unknown output format"),
    ],
)
def test_unwritable_output(
    noise_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, fragment: str
) -> None:
    status, out, err = _run(capsys, "process", noise_wav, "-o", tmp_path / name)
    _assert_error(status, out, err, "cannot write", fragment)
    assert not (tmp_path / name).exists()


def test_output_is_a_directory(
    noise_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "dir.wav"
    target.mkdir()
    _assert_error(*_run(capsys, "process", noise_wav, "-o", target), "is a directory")


def test_output_rate_unsupported_by_format(
    noise_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_path = tmp_path / "o.flac"  # FLAC stops at 655350 Hz
    status, out, err = _run(capsys, "process", noise_wav, "-o", out_path, "--sample-rate", 768000)
    _assert_error(status, out, err, "cannot write")
    assert not out_path.exists()


def test_output_same_as_input(noise_wav: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = noise_wav.read_bytes()
    _assert_error(*_run(capsys, "process", noise_wav, "-o", noise_wav), "is the input")
    assert noise_wav.read_bytes() == before


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["bogus"],
        ["process"],
        ["process", "in.wav"],
        ["process", "in.wav", "-o", "o.wav", "--no-such-flag"],
    ],
)
def test_usage_errors_are_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    _assert_error(*_run(capsys, *argv))


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "--help")
    assert status == 0 and "process" in out and "demo" in out
    status, out, _ = _run(capsys, "--version")
    assert status == 0 and out.strip() == f"livekit-audio {livekit_audio.__version__}"


# --- pipeline --------------------------------------------------------------------------------


class _Delay:
    """A stage that holds everything back until flush."""

    def __init__(self) -> None:
        self.held: list[livekit_audio.AudioFrame] = []

    def push(self, frame: livekit_audio.AudioFrame) -> list[livekit_audio.AudioFrame]:
        self.held.append(frame)
        return []

    def flush(self) -> list[livekit_audio.AudioFrame]:
        held, self.held = self.held, []
        return [livekit_audio.combine_audio_frames(held)] if held else []


def test_run_pipeline_flushes_every_stage_in_order(rng: np.random.Generator) -> None:
    x = rng.integers(-1000, 1000, size=1600, dtype=np.int16)
    frames = [
        livekit_audio.AudioFrame.from_ndarray(x[i : i + 160], 16000) for i in range(0, 1600, 160)
    ]
    stages = [_Delay(), livekit_audio.AudioResampler(16000, 48000), _Delay()]
    out = list(cli.run_pipeline(frames, stages))
    assert len(out) == 1
    np.testing.assert_array_equal(
        out[0].to_ndarray()[:, 0], livekit_audio.resample(x, 16000, 48000)
    )
    assert list(cli.run_pipeline(frames, [])) == frames
