"""Smoke test of benchmarks/bench_decoder.py: it runs end to end and writes sane JSON and a plot.

Only the shape of the results is checked; timings are never asserted in tests. ``--quick``
keeps the run to a few seconds; the subprocess timeout guards against a hang.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_decoder.py"


def _positive_finite(x: object) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_bench_decoder_quick_writes_json_and_plot(tmp_path: Path, speech_dir: Path) -> None:
    pytest.importorskip("av")
    out, png = tmp_path / "decoder.json", tmp_path / "decoder.png"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--json", str(out), "--plot", str(png)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "PASS" in proc.stdout or "MISS" in proc.stdout
    assert "WARNING" not in proc.stdout  # every contender decoded the whole input
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and png.stat().st_size > 1000
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["config"]["quick"] is True
    assert "ours" in results["contenders"] and "peer" in results["contenders"]
    assert [r["format"] for r in results["formats"]] == ["mp3", "opus", "aac"]
    for row in results["formats"]:
        assert _positive_finite(row["wall_s"]["ours"]) and _positive_finite(row["cpu_s"]["ours"])
        assert row["first_frame"]["chunks"]["ours"] >= 1
    conc = results["concurrency"]
    assert conc["all_decoded"]["ours"] is True
    assert 0 <= conc["threads"]["ours"] <= 100
