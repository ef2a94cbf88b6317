"""Smoke test of benchmarks/bench_worker.py: it runs end to end and writes sane JSON and a plot.

Only the shape of the results is checked; timings are never asserted in tests (not even the
latency targets the benchmark judges). ``--quick`` (N = 1 and 4, a 1 s window after 1 s of
warm-up, in real time) keeps the run to about 15 s; the subprocess timeout guards against a
hang.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_worker.py"


def _positive_finite(x: object) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_bench_worker_quick_writes_json_and_plot(tmp_path: Path) -> None:
    out, png = tmp_path / "worker.json", tmp_path / "worker.png"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--json", str(out), "--plot", str(png)],
        check=False,
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,  # not the checkout: it would import the uncompiled source tree
    )
    assert proc.returncode == 0, proc.stderr
    assert "worker density benchmark" in proc.stdout
    assert "N = 4 calls" in proc.stdout and "Summary" in proc.stdout
    assert "ours/livekit" in proc.stdout or "peer missing" in proc.stdout
    assert "frame matching failed" not in proc.stdout
    assert png.stat().st_size > 0

    results = json.loads(out.read_text(encoding="utf-8"))
    cfg = results["config"]
    assert cfg["quick"] is True and cfg["ns"] == [1, 4] and cfg["seconds"] == 1.0
    assert [e["n"] for e in results["per_n"]] == [1, 4]
    completed = 0
    for entry in results["per_n"]:
        for key in results["contenders"]:
            r = entry[key]
            if r is None:  # stopped, killed or failed here or at a smaller N: said why
                assert key in results["gave_up"], (key, entry)
                continue
            assert r["frames_expected"] == entry["n"] * 100
            # every window frame is delivered (with a latency), lost, or never captured
            assert r["frames_delivered"] + r["lost"] + r["not_captured"] == r["frames_expected"]
            if r["stopped_at_s"] is not None:  # a stall of the shared machine; reported
                assert "could not keep up" in proc.stdout
                continue
            completed += key == "ours"
            assert r["not_captured"] == 0
            assert _positive_finite(r["cpu_us_per_call_frame"]), r
            assert _positive_finite(r["calls_per_core"]), r
            assert r["frames_delivered"] > 0
            lat = r["latency_ms"]
            assert 0 < lat["min"] <= lat["p50"] <= lat["p99"] <= lat["max"], lat
            assert 0 <= r["late_pct"] <= 100
    assert completed >= 1  # ours ran to the end at N = 1 or 4 (a handful of calls)
    dsp = results["dsp"]
    assert _positive_finite(dsp["cpu_us_per_frame"]["ours"])
    assert dsp["blocks"]["ours"] > 0
