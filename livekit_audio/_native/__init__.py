"""Private Cython wrappers around the C kernels in ``csrc/``. Not a public API.

If the compiled extensions are missing from this directory, say why in the error rather than
with Python's bare ``cannot import name '_apm'``: the usual cause is running from a source
checkout (its ``livekit_audio/`` directory shadows the installed package) or a checkout
that was never built.
"""

from __future__ import annotations

import importlib.machinery
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_MODULES = ("_apm", "_filter", "_g711", "_mix", "_resample")


def _missing() -> list[str]:
    suffixes = importlib.machinery.EXTENSION_SUFFIXES
    return [name for name in _MODULES if not any((_HERE / f"{name}{s}").exists() for s in suffixes)]


def _explain(missing: list[str]) -> str:
    here = _HERE.parent.parent
    in_checkout = (here / "setup.py").exists() and (here / "csrc").is_dir()
    lines = [
        f"livekit_audio's compiled extensions ({', '.join(missing)}) are not in "
        f"{_HERE}, so the package cannot load."
    ]
    if in_checkout and Path.cwd().resolve() == here:
        lines.append(
            "You are running Python from the root of a source checkout: its livekit_audio/ "
            "directory shadows the installed package. Run from another directory (e.g. "
            "`cd /tmp`), or build in place with `pip install -e .`."
        )
    elif in_checkout:
        lines.append("This is a source checkout that was not built: run `pip install -e .`.")
    else:
        lines.append("Reinstall the package: `pip install --force-reinstall livekit-audio`.")
    return " ".join(lines)


_absent = _missing()
if _absent:
    raise ImportError(_explain(_absent))
