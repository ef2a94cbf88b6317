"""What machine and software a benchmark ran on, for the header of every benchmark report.

``machine_info()`` gathers the facts as a dict (for JSON); ``machine_summary()`` formats them
as header lines. Nothing here raises: a fact that cannot be read is reported as unknown.
"""

from __future__ import annotations

import datetime
import importlib
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[1]
#: Packages whose versions every report names (distribution name, import name).
_PACKAGES = (("numpy", "numpy"), ("soxr", "soxr"), ("livekit", "livekit.rtc"))
_SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "neon", "asimd")


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields from /proc/cpuinfo (empty off Linux)."""
    fields: dict[str, str] = {}
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return fields
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def _cpu_model(cpuinfo: dict[str, str]) -> str:
    for key in ("model name", "Model", "Hardware", "cpu model"):
        if cpuinfo.get(key):
            return cpuinfo[key]
    return platform.processor() or platform.machine() or "unknown"


def _usable_cores() -> int | None:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def _version(dist: str, module: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        return str(getattr(importlib.import_module(module), "__version__", "unknown"))
    except Exception:  # noqa: BLE001 - a broken peer is reported, never fatal
        return "not installed"


def _livekit_audio() -> tuple[str, str]:
    try:
        import livekit_audio
        from livekit_audio._native import _resample

        return livekit_audio.__version__, _resample.dot_kernel_name()
    except Exception as exc:  # noqa: BLE001
        return f"unavailable ({exc})", "unknown"


def _git_revision() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(_REPO), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine_info() -> dict[str, Any]:
    """Facts about this machine and the software under test, as JSON-ready values."""
    cpuinfo = _cpuinfo()
    flags = set(cpuinfo.get("flags", cpuinfo.get("Features", "")).split())
    la_version, kernel = _livekit_audio()
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        load = None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu_model": _cpu_model(cpuinfo),
        "cpu_simd": [f for f in _SIMD_FLAGS if f in flags],
        "cpu_count": os.cpu_count(),
        "cpu_usable": _usable_cores(),
        "load_average": load,
        "machine": platform.machine(),
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "python_executable": sys.executable,
        "versions": {dist: _version(dist, module) for dist, module in _PACKAGES},
        "livekit_audio": la_version,
        "dot_kernel": kernel,
        "git": _git_revision(),
    }


def machine_summary(info: dict[str, Any] | None = None) -> list[str]:
    """Header lines naming the machine, the Python and package versions, and the date."""
    info = machine_info() if info is None else info
    simd = ", ".join(info["cpu_simd"]) or "none detected"
    load = "unknown" if info["load_average"] is None else " ".join(map(str, info["load_average"]))
    versions = ", ".join(f"{name} {v}" for name, v in info["versions"].items())
    return [
        f"date        {info['date']}",
        f"cpu         {info['cpu_model']} ({info['machine']}; simd: {simd})",
        f"cores       {info['cpu_count']} logical, {info['cpu_usable']} usable; "
        f"load average {load}",
        f"os          {info['os']}",
        f"python      {info['python']}",
        f"packages    {versions}",
        f"under test  livekit_audio {info['livekit_audio']} (git {info['git']}), "
        f"dot kernel {info['dot_kernel']}",
    ]


if __name__ == "__main__":
    print("\n".join(machine_summary()))
