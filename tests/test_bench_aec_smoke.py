"""Smoke test of benchmarks/bench_aec.py: ``--quick`` runs end to end, writes sane JSON and a plot.

Only the shape of the results is checked: no timing, ERLE or PESQ figure is asserted (the
quality bar is judged by the benchmark itself, not by tests). It passes whether or not our
echo canceller is available (the report then says "not available yet") and whichever peers
are installed. The subprocess timeout guards against a hang; it is not a performance bound.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_aec.py"


def _finite(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


@pytest.fixture(scope="module")
def quick_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench_aec")


@pytest.fixture(scope="module")
def quick_results(quick_dir: Path) -> tuple[dict, str]:
    tmp = quick_dir
    out = tmp / "aec.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--json", str(out), "--plot", str(tmp / "aec.png")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp,  # not the checkout: it would import the uncompiled source tree
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(out.read_text(encoding="utf-8")), proc.stdout


def test_quick_run_writes_a_plot(quick_results: tuple[dict, str], quick_dir: Path) -> None:
    png = quick_dir / "aec.png"
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and png.stat().st_size > 1000


def test_quick_run_config_and_header(quick_results: tuple[dict, str]) -> None:
    results, stdout = quick_results
    cfg = results["config"]
    assert cfg["quick"] is True
    assert cfg["rates"] == [16000] and cfg["scenarios"] == ["main"]
    assert results["machine_summary"]
    assert stdout.startswith("livekit_audio AEC benchmark")
    assert "Targets (issue 5)" in stdout


def test_ours_is_either_measured_or_reported_unavailable(quick_results: tuple[dict, str]) -> None:
    results, stdout = quick_results
    if "ours" in results["contenders"]:
        assert results["ours_status"] == "available"
    else:
        status = results["ours_status"]
        assert status.startswith(("not available yet", "unavailable")), status
        assert f"ours        {status}" in stdout


def test_main_scenario_rows(quick_results: tuple[dict, str], speech_dir: Path) -> None:
    results, _ = quick_results
    if results["skipped"]:
        pytest.skip(results["skipped"])
    if not results["contenders"]:
        pytest.skip("no echo canceller installed")
    main = results["rates"]["16000"]["main"]
    assert _finite(main["ideal"]["erle_db"])
    for key in results["contenders"]:  # every contender that loaded was scored
        entry = main[key]
        assert _finite(entry["us_per_frame"]) and entry["us_per_frame"] > 0
        assert _finite(entry["erle_db"]), (key, entry)
        for metric in ("t10_s", "t20_s"):
            assert entry[metric] is None or _finite(entry[metric]), (key, metric)
        assert results["delays"]["16000"][key]["method"] in ("apm.delay_samples", "gcc-phat")
        if results["pesq_missing"] is None:
            assert entry["dt_pesq"] is None or _finite(entry["dt_pesq"])
    if results["pesq_missing"] is None:
        assert _finite(main["mic"]["dt_pesq"]) and _finite(main["mic"]["dt_si_sdr_db"])


def test_targets_and_full_apm_section(quick_results: tuple[dict, str]) -> None:
    results, _ = quick_results
    assert results["targets"]
    for t in results["targets"]:
        assert t["ok"] in (True, False, None) and isinstance(t["peers_meeting"], list)
    full = results["full_apm"]
    assert full["rate"] == 48000 and full["frames"] > 0
    for entry in full["results"].values():
        assert _finite(entry["us_per_frame"]) and entry["us_per_frame"] > 0
