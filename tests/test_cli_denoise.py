"""``livekit-audio process --denoise``: a neural suppressor plug-in in the direct pipeline,
with its delay removed (FilterStage), on real speech in seeded white noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from helpers import load_speech

from livekit_audio import cli

SPEECH = "june_fr-CA_female_16k.wav"


def _run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def noisy(speech_dir: Path, tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    clean, rate = load_speech(speech_dir, SPEECH)
    clean = clean[: 6 * rate].astype(np.float64)
    rng = np.random.default_rng(14)
    noise = rng.standard_normal(len(clean))
    noise *= np.sqrt(np.mean(clean**2) / np.mean(noise**2)) / 10 ** (5 / 20)  # 5 dB SNR
    mix = np.clip(np.round(clean + noise), -32768, 32767).astype(np.int16)
    path = tmp_path / "noisy.wav"
    sf.write(path, mix, rate, subtype="PCM_16")
    return path, clean, noise


@pytest.mark.parametrize("model", ["rnnoise", "deepfilternet"])
def test_denoise_raises_snr_and_keeps_alignment_and_length(
    model: str,
    noisy: tuple[Path, np.ndarray, np.ndarray],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, clean, noise = noisy
    out = tmp_path / "out.wav"
    status, stdout, _ = _run(capsys, "process", path, "-o", out, "--denoise", model)
    assert status == 0, stdout
    y, rate = sf.read(out, dtype="int16")
    assert rate == 16000 and len(y) == len(clean)  # exactly as long as the input
    y = y.astype(np.float64)
    # Aligned to the sample: the clean speech correlates best with the output at lag 0.
    lags = range(-40, 41)
    body = slice(rate, len(y) - rate)
    corr = [np.dot(np.roll(y, -lag)[body], clean[body]) for lag in lags]
    assert list(lags)[int(np.argmax(corr))] == 0
    # SNR of the output against the clean speech (the best scaling of clean removed):
    # the input's is 5 dB; the suppressor must improve it by a wide margin.
    g = np.dot(y[body], clean[body]) / np.dot(clean[body], clean[body])
    residual = y[body] - g * clean[body]
    snr_out = 10 * np.log10(np.sum((g * clean[body]) ** 2) / np.sum(residual**2))
    assert snr_out > 9.0, f"{model}: output SNR {snr_out:.1f} dB"


def test_denoise_errors_are_one_line(
    noisy: tuple[Path, np.ndarray, np.ndarray], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = noisy[0]
    status, _, err = _run(
        capsys, "process", path, "-o", tmp_path / "o.wav", "--denoise", "rnnoise", "--channels", "2"
    )
    assert status == 2 and "runs on mono audio: add --channels 1" in err
    status, _, err = _run(
        capsys,
        "process",
        path,
        "-o",
        tmp_path / "o.wav",
        "--denoise",
        "rnnoise",
        "--engine",
        "stream",
    )
    assert status == 2 and "--denoise needs --engine direct" in err
    status, _, err = _run(capsys, "process", path, "-o", tmp_path / "o.wav", "--denoise", "krisp")
    assert status == 2 and "invalid choice: 'krisp'" in err
