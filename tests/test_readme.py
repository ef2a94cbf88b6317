"""Every Python block of README.md runs as written (each in a fresh interpreter, no network).

Blocks run from a scratch directory outside the checkout (the source tree would shadow the
installed package) with ``../shared`` beside it, as in a checkout. The devices block needs a
sound card: it runs when a JACK server is reachable (CI starts one), else it is skipped.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SHARED = ROOT.parent / "shared"


def python_blocks() -> list[tuple[int, str]]:
    """(line number, code) of each ```python block."""
    text = README.read_text()
    blocks = []
    for match in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
        line = text.count("\n", 0, match.start()) + 2
        blocks.append((line, match.group(1)))
    return blocks


BLOCKS = python_blocks()


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize(("line", "code"), BLOCKS, ids=[f"line{line}" for line, _ in BLOCKS])
def test_readme_block_runs(line, code, tmp_path):
    if "livekit_audio.devices" in code:
        from jack_helpers import require_jack

        require_jack()  # skips without a JACK server (fails in CI, which requires one)
    if "from livekit import rtc" in code:
        pytest.importorskip("livekit.rtc")
    if "../shared" in code and not SHARED.is_dir():
        pytest.skip(f"README block at line {line} reads ../shared, absent here")
    work = tmp_path / "work"
    work.mkdir()
    if SHARED.is_dir():
        (tmp_path / "shared").symlink_to(SHARED)
    script = work / "block.py"
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, str(script)], cwd=work, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"README.md block at line {line} failed:\n{done.stderr}"
