"""Smoke test of benchmarks/bench_mixer.py: it runs end to end and writes sane JSON and a plot.

Only the shape of the results is checked; timings are never asserted in tests. ``--quick``
keeps the run to a few seconds; the subprocess timeout guards against a hang.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_mixer.py"


def _positive_finite(x: object) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_bench_mixer_quick_writes_json_and_plot(tmp_path: Path) -> None:
    out, png = tmp_path / "mixer.json", tmp_path / "mixer.png"
    args = ["--quick", "--frames", "20", "--json", str(out), "--plot", str(png)]
    proc = subprocess.run(
        [sys.executable, str(BENCH), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "PASS" in proc.stdout or "MISS" in proc.stdout or "peer missing" in proc.stdout
    assert "WARNING" not in proc.stdout  # every contender returned all the audio it was given
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and png.stat().st_size > 1000
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["config"]["quick"] is True
    assert [e["n_streams"] for e in results["end_to_end"]] == [2, 4, 8, 16]
    for entry in results["end_to_end"]:
        assert _positive_finite(entry["us_per_10ms"]["ours"]), entry
        assert entry["received_samples"]["ours"] == entry["expected_samples"]
    for entry in results["kernel"]:
        assert all(_positive_finite(v) for v in entry["us"].values()), entry
