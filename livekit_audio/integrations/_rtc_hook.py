"""Makes every ``livekit_audio.FrameProcessor`` a ``livekit.rtc.FrameProcessor``, whichever of
the two packages is imported first, without importing ``livekit`` ourselves.

``rtc.AudioStream`` runs a ``noise_cancellation`` processor only if it is an instance of
``rtc.FrameProcessor`` and silently ignores anything else. That class is an ABC, so our
``FrameProcessor`` is registered as a virtual subclass of it (``ABCMeta.register``). When
``livekit.rtc`` is already imported this happens in :func:`install` (called by ``import
livekit_audio``); otherwise a one-shot finder on ``sys.meta_path`` does it right after
``livekit.rtc.frame_processor`` is executed, then removes itself. Importing ``livekit`` eagerly
would cost every user of ours about 0.1 s; a wrapper function (``as_rtc_processor(p)``) would
leave an unwrapped processor silently ignored.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Any

_TARGET = "livekit.rtc.frame_processor"


def _register(module: ModuleType) -> None:
    from livekit_audio.frame_processor import FrameProcessor

    base = getattr(module, "FrameProcessor", None)
    if base is not None and hasattr(base, "register"):
        base.register(FrameProcessor)


class _RegisterAfterImport(importlib.abc.MetaPathFinder):
    """Finds ``livekit.rtc.frame_processor`` as usual and registers ours once it has run."""

    def find_spec(
        self, fullname: str, path: Any = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader = spec.loader
        exec_module = loader.exec_module

        def exec_and_register(module: ModuleType) -> None:
            exec_module(module)
            _register(module)
            uninstall()

        loader.exec_module = exec_and_register  # type: ignore[method-assign]
        return spec


_FINDER = _RegisterAfterImport()


def install() -> None:
    """Register now if ``livekit.rtc`` is imported, else when it is (idempotent)."""
    module = sys.modules.get(_TARGET)
    if module is not None:
        _register(module)
    elif _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def uninstall() -> None:
    """Remove the finder (registration, once done, stays)."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
