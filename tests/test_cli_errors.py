"""The CLI names what is wrong: options that need each other, the option the user typed,
and a full disk."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from livekit_audio import cli


def _run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str]:
    status = cli.main([str(a) for a in argv])
    return status, capsys.readouterr().err


@pytest.fixture
def speech_wav(tmp_path: Path) -> Path:
    rng = np.random.default_rng(20261129)
    path = tmp_path / "in.wav"
    sf.write(path, (rng.normal(0, 3000, 16000 * 3)).astype(np.int16), 16000)
    return path


def test_stream_delay_without_a_reference_is_refused(speech_wav, tmp_path, capsys):
    out = tmp_path / "out.wav"
    status, err = _run(capsys, "process", speech_wav, "-o", out, "--stream-delay-ms", 40)
    assert status == 2 and "--stream-delay-ms" in err and "--aec-reference" in err
    assert not out.exists()


@pytest.mark.parametrize("target", [5, -60])
def test_agc_target_out_of_range_names_the_option(speech_wav, tmp_path, capsys, target):
    status, err = _run(capsys, "process", speech_wav, "-o", tmp_path / "o.wav", "--agc", target)
    assert status == 2 and "--agc" in err and "-50..-3 dBFS" in err
    assert "agc_target_level_dbfs" not in err  # the Python parameter is not what was typed


def test_agc_target_in_range_runs(speech_wav, tmp_path, capsys):
    status, _ = _run(capsys, "process", speech_wav, "-o", tmp_path / "o.wav", "--agc", -20)
    assert status == 0


@pytest.fixture
def full_disk(tmp_path: Path):
    """A 64 KiB tmpfs (root only: CI runs as root); skipped where it cannot be mounted."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


@pytest.mark.parametrize("engine", ["direct", "stream"])
def test_a_full_disk_says_so(speech_wav, full_disk, capsys, engine):
    out = full_disk / "out.wav"
    status, err = _run(capsys, "process", speech_wav, "-o", out, "--engine", engine)
    assert status == 2 and "no space left on the device" in err and str(full_disk) in err
    assert "System error" not in err
    assert not out.exists()  # nothing half-written is left behind


@pytest.mark.parametrize("rate", [44100, 24000])
@pytest.mark.parametrize("engine", ["direct", "stream"])
def test_processing_runs_at_any_apm_rate(speech_wav, tmp_path, capsys, rate, engine):
    """The APM takes 8-96 kHz (resampling internally off 8/16/32/48 kHz): so does the CLI."""
    out = tmp_path / "out.wav"
    status, err = _run(
        capsys,
        "process",
        speech_wav,
        "-o",
        out,
        "--sample-rate",
        rate,
        "--ns",
        "--hpf",
        "--engine",
        engine,
    )
    assert status == 0, err
    info = sf.info(out)
    assert info.samplerate == rate and info.frames == 3 * rate
