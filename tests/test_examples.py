"""Smoke tests of examples/: they run as documented and write what they say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / "agent_worker.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,  # not the checkout: it would import the uncompiled source tree
    )


def test_agent_worker_default_clip(tmp_path: Path) -> None:
    proc = _run(tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "agent_heard.wav"
    assert out.is_file()
    info = sf.info(out)
    assert info.samplerate == 16000 and info.channels == 1 and info.subtype == "PCM_16"
    assert info.frames > 20 * 16000  # the shipped clip is 21.98 s
    assert "agent: heard 21.98 s at 16000 Hz" in proc.stdout
    assert "0 dropped, 0 processor errors" in proc.stdout
    assert "participant 'speaker'" in proc.stdout


def test_agent_worker_input_and_output_arguments(speech_dir: Path, tmp_path: Path) -> None:
    src = speech_dir / "alsa_front_left_48k.wav"
    proc = _run(tmp_path, str(src), "-o", "heard.wav")
    assert proc.returncode == 0, proc.stderr
    info = sf.info(tmp_path / "heard.wav")
    assert info.samplerate == 16000
    assert abs(info.frames - sf.info(src).frames / 3) <= 1


def test_agent_worker_missing_input(tmp_path: Path) -> None:
    proc = _run(tmp_path, "nope.wav")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "agent_worker: error: nope.wav: no such file"
    assert not (tmp_path / "agent_heard.wav").exists()


def test_livekit_agent_noise_cancellation(tmp_path: Path) -> None:
    """Our processor inside LiveKit's rtc.AudioStream, no server: the printed echo + noise
    reduction while the agent talks and the noise reduction in the caller's pauses are real
    measurements of the written audio; both must exceed 10 dB."""
    import re

    pytest.importorskip("livekit.rtc")
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "livekit_agent_noise_cancellation.py"), "--seconds", "4"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    info = sf.info(tmp_path / "agent_heard_livekit.wav")
    assert info.samplerate == 16000 and info.frames > 3 * 16000
    talking = re.search(r"echo \+ noise reduced by ([\d.]+) dB", proc.stdout)
    pauses = re.search(r"pauses: noise reduced by ([\d.]+) dB", proc.stdout)
    assert talking and pauses, proc.stdout
    assert float(talking.group(1)) >= 10.0 and float(pauses.group(1)) >= 10.0, proc.stdout
