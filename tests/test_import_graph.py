"""The package's modules depend on each other one way: no import cycle, each importable alone.

The graph is read from the source with ``ast``: every ``import livekit_audio...`` /
``from livekit_audio... import`` at module level or inside a function (a function-level
import is still a dependency), except those under ``if TYPE_CHECKING:`` (annotations only,
never executed).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import livekit_audio

PACKAGE_DIR = Path(livekit_audio.__file__).parent
PACKAGE = "livekit_audio"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST, known: set[str], this: str) -> set[str]:
    """Package modules imported outside ``if TYPE_CHECKING:`` blocks."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE):
                    found.add(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith(PACKAGE):
                found.add(node.module)
                for alias in node.names:  # ``from package import submodule``
                    if f"{node.module}.{alias.name}" in known:
                        found.add(f"{node.module}.{alias.name}")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    # a module depends on the modules it names, not on the package __init__ of each parent
    return {m for m in found if m in known and m != this and m != PACKAGE}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {
        name: _runtime_imports(ast.parse(path.read_text(), str(path)), known, name)
        for name, path in modules.items()
        if name != PACKAGE  # the root re-exports everything: it sits above the graph
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as a path that returns to its start, or None."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep) :] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_graph_reader_sees_function_level_imports_and_skips_type_checking():
    source = (
        "from typing import TYPE_CHECKING\n"
        "from livekit_audio import audio_frame\n"
        "if TYPE_CHECKING:\n"
        "    from livekit_audio.mixer import AudioMixer\n"
        "def f():\n"
        "    from livekit_audio.resampler import AudioResampler\n"
    )
    known = set(_modules())
    found = _runtime_imports(ast.parse(source), known, "x")
    assert found == {"livekit_audio.audio_frame", "livekit_audio.resampler"}


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_package_has_no_import_cycle():
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


RTC_MODULES = sorted(m for m in _modules() if m.startswith(f"{PACKAGE}.rtc"))


@pytest.mark.parametrize("module", RTC_MODULES)
def test_each_rtc_module_imports_alone(module, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=tmp_path,  # outside the checkout: the installed package, not the source tree
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
