"""``livekit-audio process`` reads what the decoder reads and writes compressed outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf  # type: ignore[import-untyped]
from helpers import load_speech
from test_decoder import encode

from livekit_audio import cli

pytest.importorskip("av")

SPEECH = "allison_demo-instruct_16k.wav"


def _run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def _corr_aligned(y: np.ndarray, x: np.ndarray, rate: int) -> float:
    y = y.astype(np.float64)
    lag = int(np.argmax(np.correlate(y[: 2 * rate], x[:rate].astype(np.float64), "valid")))
    m = min(len(y) - lag, len(x))
    return float(np.corrcoef(y[lag : lag + m], x[:m])[0, 1])


@pytest.fixture(scope="module")
def speech(speech_dir: Path) -> tuple[np.ndarray, int]:
    x, rate = load_speech(speech_dir, SPEECH)
    return np.ascontiguousarray(x[: 4 * rate]), rate


@pytest.mark.parametrize(
    ("name", "container", "codec", "rate"),
    [
        ("in.mp3", "mp3", "libmp3lame", 16000),
        ("in.opus", "ogg", "libopus", 48000),
        ("in.aac", "adts", "aac", 16000),
        ("in.webm", "webm", "libopus", 48000),
    ],
)
def test_reads_compressed_inputs(
    name: str,
    container: str,
    codec: str,
    rate: int,
    speech: tuple[np.ndarray, int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    x, x_rate = speech
    src = tmp_path / name
    src.write_bytes(encode(x, x_rate, container, codec, rate))
    out = tmp_path / "out.wav"
    status, stdout, err = _run(capsys, "process", src, "-o", out, "--sample-rate", 16000)
    assert status == 0, err
    assert f"{rate} Hz -> 16000 Hz" in stdout
    y, y_rate = sf.read(out, dtype="int16")
    assert y_rate == 16000
    assert abs(len(y) - len(x)) < 0.1 * len(x)
    assert _corr_aligned(y, x, 16000) > 0.95


def test_reads_mulaw_wav(
    speech: tuple[np.ndarray, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x, rate = speech
    src = tmp_path / "trunk.wav"
    sf.write(src, x, rate, subtype="ULAW")
    out = tmp_path / "out.wav"
    assert _run(capsys, "process", src, "-o", out)[0] == 0
    np.testing.assert_array_equal(sf.read(out, dtype="int16")[0], sf.read(src, dtype="int16")[0])


@pytest.mark.parametrize(
    ("ext", "subtype"),
    [("flac", "PCM_16"), ("ogg", "VORBIS"), ("opus", "OPUS"), ("mp3", "MPEG_LAYER_III")],
)
def test_writes_by_extension(
    ext: str,
    subtype: str,
    speech: tuple[np.ndarray, int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    x, rate = speech
    src = tmp_path / "in.wav"
    sf.write(src, x, rate, subtype="PCM_16")
    out = tmp_path / f"out.{ext}"
    status, _, err = _run(capsys, "process", src, "-o", out, "--sample-rate", 48000)
    assert status == 0, err
    info = sf.info(out)
    assert info.subtype == subtype and info.samplerate == 48000
    y, _ = sf.read(out, dtype="int16")
    if ext == "flac":
        assert len(y) == 3 * len(x)
    assert _corr_aligned(y[::3], x, rate) > 0.9


@pytest.mark.parametrize(
    ("name", "args", "fragment"),
    [
        ("o.xyz", [], "supported extensions: "),
        ("o.opus", ["--sample-rate", "44100"], "8000, 12000, 16000, 24000, 48000"),
    ],
)
def test_unsupported_outputs_name_what_is_supported(
    name: str,
    args: list[str],
    fragment: str,
    speech: tuple[np.ndarray, int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    x, rate = speech
    src = tmp_path / "in.wav"
    sf.write(src, x[:1600], rate, subtype="PCM_16")
    status, out, err = _run(capsys, "process", src, "-o", tmp_path / name, *args)
    assert status == 2 and out == ""
    assert err.startswith("livekit-audio: error: cannot write") and fragment in err
    assert ".mp3" in err or "Hz" in err
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize("name", ["in.mp3", "in.wav"])
def test_truncated_input_is_an_error_not_a_shorter_output(
    name: str, speech: tuple[np.ndarray, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x, rate = speech
    src = tmp_path / name
    if name.endswith(".mp3"):
        data = encode(x, rate, "mp3", "libmp3lame", 16000)
    else:
        sf.write(src, x, rate, subtype="PCM_16")
        data = src.read_bytes()
    src.write_bytes(data[: len(data) * 2 // 3 + 1])
    out = tmp_path / "out.wav"
    status, stdout, err = _run(capsys, "process", src, "-o", out)
    assert status == 2 and stdout == ""
    assert len(err.splitlines()) == 1 and "truncated" in err and "at byte" in err
    assert not out.exists()
