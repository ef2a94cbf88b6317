"""benchmarks/bench_calls.py --quick runs and writes sane JSON and a plot (no timing asserts)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_calls.py"


def test_bench_calls_quick(tmp_path):
    out, png = tmp_path / "calls.json", tmp_path / "calls.png"
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--json", str(out), "--plot", str(png)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "calls per core" in done.stdout
    result = json.loads(out.read_text())
    ours = result["ours"]
    assert ours["cpu_us_per_call_frame"] > 0 and ours["frames_read"] > 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
