"""Smoke test of benchmarks/soak.py: a 10 s soak passes and prints its RSS table.

The full soak (120 s) runs in CI on its own; this only checks that a short run of the same
workload loses no sample, leaves no object alive and reports what the script promises. A
run that fails prints its verdicts, which the assertion message shows.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOAK = ROOT / "benchmarks" / "soak.py"
SPEECH_DIR = ROOT.parent / "shared" / "data" / "speech"


@pytest.mark.skipif(not SPEECH_DIR.is_dir(), reason=f"no speech recordings at {SPEECH_DIR}")
def test_soak_10s_passes_and_prints_rss_table(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    proc = subprocess.run(
        [sys.executable, str(SOAK), "--seconds", "10", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,  # not the checkout: it would import the uncompiled source tree
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "soak: PASS" in proc.stdout
    header = next(line for line in proc.stdout.splitlines() if line.startswith("time s"))
    assert header.split()[:4] == ["time", "s", "RSS", "MB"]
    assert "room cycles" in header and "stream cycles" in header
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["config"]["seconds"] == 10
    assert len(results["samples"]) >= 10
    assert all(v["pass"] for v in results["verdicts"].values()), results["verdicts"]
    last = results["samples"][-1]["cycles"]
    assert all(last[kind] > 0 for kind in ("resampler", "apm", "stream", "room")), last
    assert len(results["links"]) == 16  # 8 publishers x 2 listeners
    for link in results["links"]:
        assert link["audit_intact"] and link["captured_audio_frames"] > 0, link
        assert link["heard_samples"] == 160 * link["frames_received"], link
    assert results["alive"] == {}
