"""Smoke test of benchmarks/bench_apm_silence.py: it runs end to end and writes sane JSON.

Only the shape of the results is checked; timings are never asserted in tests.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_apm_silence.py"


def test_bench_apm_silence_quick_writes_json_and_plot(tmp_path: Path) -> None:
    out, png = tmp_path / "silence.json", tmp_path / "silence.png"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--json", str(out), "--plot", str(png)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "silence/speech" in proc.stdout
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["config"]["quick"] is True
    rows = results["rows"]
    assert {(r["rate"], r["config"]) for r in rows} == {
        (rate, name) for rate in (16000, 48000) for name in ("HPF", "HPF+NS", "all four")
    }
    for r in rows:
        assert r["windows"][0] == "speech" and r["windows"][-1].startswith("noise")
        us = r["us"]["ours"]
        assert len(us) == len(r["windows"]) == 5
        assert all(isinstance(u, float) and math.isfinite(u) and u > 0 for u in us), r
    assert png.stat().st_size > 10_000
