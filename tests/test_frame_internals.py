"""AudioFrame's internals are touched only by ``audio_frame.py`` and the Cython layer.

Every other module reads frames through the public properties (``data``, ``sample_rate``,
...), :func:`~livekit_audio.audio_frame.frame_layout` / ``frame_samples``, or the
package-internal fast path :func:`~livekit_audio.audio_frame.own_frame_view`, and builds
them with :func:`~livekit_audio.audio_frame.wrap_samples` (not ``AudioFrame._trusted``).

The check reads the source with ``ast`` and flags an attribute named like one of
AudioFrame's internals (:data:`FRAME_INTERNALS`) whose receiver is anything but the bare
name ``self`` or ``cls``, plus ``getattr``/``setattr``/``hasattr``/``delattr`` with such a
name as a literal string. It is a heuristic, by name only, with no type inference:

- it passes another class's own ``self._sample_rate`` (AudioResampler, AudioMixer, ...), as
  it should, but also ``self._samples`` in a frame subclass defined elsewhere, and misses
  ``getattr(frame, name)`` with a computed name, ``vars(frame)`` and the like;
- it flags ``other._sample_rate`` on an instance of some other class of ours (say, comparing
  two resamplers) although that is no frame: read a public property there, or rename.

Exempt: ``audio_frame.py`` itself and ``livekit_audio/_native/`` (the Cython layer);
:data:`NOT_YET_CONVERTED` lists directories still being converted (none now).
"""

from __future__ import annotations

import ast
from pathlib import Path

import livekit_audio

PACKAGE_DIR = Path(livekit_audio.__file__).parent

#: AudioFrame's private attributes and its private constructor.
FRAME_INTERNALS = frozenset(
    {
        "_samples",
        "_sample_rate",
        "_num_channels",
        "_samples_per_channel",
        "_data",
        "_userdata",
        "_bytes",
        "_trusted",
    }
)

#: Modules allowed to touch the internals: the owner and the Cython layer.
OWNERS = ("audio_frame.py", "_native/")

#: Folders being converted right now (package-relative); delete the entry once done.
NOT_YET_CONVERTED: tuple[str, ...] = ()

_RECEIVERS_ALLOWED = frozenset({"self", "cls"})
_ATTR_FUNCTIONS = frozenset({"getattr", "setattr", "hasattr", "delattr"})


def internal_accesses(source: str) -> list[tuple[int, str]]:
    """``(line, expression)`` of every access to a frame internal in ``source`` (see the
    module docstring for what counts)."""
    hits: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in FRAME_INTERNALS:
            receiver = node.value
            if isinstance(receiver, ast.Name) and receiver.id in _RECEIVERS_ALLOWED:
                continue
            hits.append((node.lineno, ast.unparse(node)))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _ATTR_FUNCTIONS
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in FRAME_INTERNALS
        ):
            hits.append((node.lineno, ast.unparse(node)))
    return sorted(hits)


def _exempt(relative: str) -> bool:
    return any(
        relative == prefix or relative.startswith(prefix)
        for prefix in (*OWNERS, *NOT_YET_CONVERTED)
    )


def test_no_module_reaches_into_audio_frame_internals() -> None:
    offenders = []
    scanned = 0
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        relative = path.relative_to(PACKAGE_DIR).as_posix()
        if _exempt(relative):
            continue
        scanned += 1
        for line, expr in internal_accesses(path.read_text(encoding="utf-8")):
            offenders.append(f"livekit_audio/{relative}:{line}: {expr}")
    assert scanned > 20, f"scanned only {scanned} modules under {PACKAGE_DIR}"
    assert not offenders, (
        "AudioFrame internals used outside audio_frame.py (use the public properties, "
        "frame_layout/frame_samples, own_frame_view or wrap_samples):\n" + "\n".join(offenders)
    )


def test_the_check_sees_what_it_should() -> None:
    source = """
class Resampler:
    def push(self, frame):
        a = self._sample_rate            # its own attribute: fine
        b = cls._trusted                 # fine (classmethod receiver)
        c = frame._samples               # flagged
        d = frame.data._data             # flagged (receiver is not a bare name)
        e = AudioFrame._trusted(x, 1, 1, 1)  # flagged
        f = getattr(frame, "_userdata")  # flagged
        g = frame.sample_rate            # public: fine
        h = self.other._num_channels     # flagged: the receiver is self.other, not self
"""
    hits = internal_accesses(source)
    assert [line for line, _ in hits] == [6, 7, 8, 9, 11], hits


def test_exemptions() -> None:
    assert _exempt("audio_frame.py")
    assert _exempt("_native/__init__.py")
    assert not _exempt("mixer.py")
    assert not _exempt("integrations/livekit.py")
    for prefix in NOT_YET_CONVERTED:
        assert (PACKAGE_DIR / prefix).is_dir(), f"{prefix} in NOT_YET_CONVERTED does not exist"
