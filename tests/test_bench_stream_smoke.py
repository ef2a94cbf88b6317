"""Smoke test of benchmarks/bench_stream.py: it runs end to end and writes sane JSON and a plot.

Only the shape of the results is checked; timings are never asserted in tests. ``--quick``
keeps the run to a few seconds (the real-time table runs in real time); the subprocess
timeout guards against a hang.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_stream.py"


def _positive_finite(x: object) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_bench_stream_quick_writes_json_and_plot(tmp_path: Path) -> None:
    out, png = tmp_path / "stream.json", tmp_path / "stream.png"
    args = ["--quick", "--frames", "20", "--json", str(out), "--plot", str(png)]
    proc = subprocess.run(
        [sys.executable, str(BENCH), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,  # not the checkout: it would import the uncompiled source tree
    )
    assert proc.returncode == 0, proc.stderr
    assert "AudioStream pipeline benchmark" in proc.stdout
    assert "ours/livekit" in proc.stdout or "peer missing" in proc.stdout
    assert "WARNING: ours" not in proc.stdout  # our pipeline delivered all it was given
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and png.stat().st_size > 1000
    results = json.loads(out.read_text(encoding="utf-8"))
    cfg = results["config"]
    assert cfg["quick"] is True and cfg["frames"] == 20
    assert [e["row"] for e in results["realtime"]] == ["source", "stream", "stream_ns"]
    for entry in results["realtime"]:
        assert _positive_finite(entry["cpu_us_per_frame"]["ours"]), entry
        assert entry["received_samples"]["ours"] >= entry["expected_samples"]
    assert _positive_finite(results["tick"]["cpu_us_per_tick"])
    for entry in results["offline"]:
        assert _positive_finite(entry["wall_us_per_frame"]), entry
        assert entry["received_samples"] == entry["expected_samples"] == 20 * 160
    assert _positive_finite(results["by_hand"]["us_per_frame"]["ours"])
    assert results["by_hand"]["blocks"]["ours"] > 0
