"""Smoke test of benchmarks/bench_resample.py: it runs end to end and writes sane JSON and a plot.

Only the shape of the results is checked; timings are never asserted in tests. ``--quick``
(100 frames, 3 repeats) keeps the whole run to a few seconds; the subprocess timeout is a
guard against a hang, not a performance bound.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_resample.py"
CONVERSIONS = [(48000, 16000), (16000, 48000), (44100, 48000), (8000, 48000), (24000, 48000)]


def _positive_finite(x: object) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_bench_resample_quick_writes_json_and_plot(tmp_path: Path) -> None:
    out, png = tmp_path / "x.json", tmp_path / "x.png"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--json", str(out), "--plot", str(png)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "PASS" in proc.stdout or "MISS" in proc.stdout or "peer missing" in proc.stdout
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and png.stat().st_size > 1000

    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["config"]["quick"] is True
    per_frame = {
        (e["input_rate"], e["output_rate"], e["channels"]): e for e in results["per_frame"]
    }
    for in_rate, out_rate in CONVERSIONS:
        for channels in (1, 2):
            entry = per_frame[(in_rate, out_rate, channels)]
            assert _positive_finite(entry["us_per_frame"]["ours"]), entry
            assert all(_positive_finite(x) for x in entry["samples_us"]["ours"]), entry
    for section in ("latency", "bulk"):
        assert {(e["input_rate"], e["output_rate"]) for e in results[section]} == set(CONVERSIONS)
    for entry in results["bulk"]:
        assert _positive_finite(entry["results"]["ours"]["x_realtime_cpu"]), entry
