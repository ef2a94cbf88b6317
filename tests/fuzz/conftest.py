"""Property-based fuzz suite of every public entry point (hypothesis, seeded, bounded).

What it checks
--------------
Every entry point of ``livekit_audio.__all__`` that takes data or parameters (AudioFrame and
``combine_audio_frames``, the resampler, ``resample``, ``StreamConverter``, ``FrameChunker``,
``mix_frames``/``AudioMixer``, the APM, ``process_batch``, ``ApmProcessor``,
``GainProcessor``, ``sine_wave_generator``, ``AudioSource``, ``AudioStream`` and the codecs;
the filter plug-ins: ``AudioFilter``, ``get_filter``, ``AudioFilter.create`` and
``FilterInstance``, ``FilterProcessor``, ``FilterStage``, ``NoiseCancellationOptions`` in
``AudioStream``, ``filters.rnnoise``/``deepfilternet``/``plugin_path``; video and A/V sync:
``VideoFrame``, ``VideoSource``, ``LocalVideoTrack``, ``VideoStream``, ``AVSynchronizer``)
gets wrong types, out-of-range and non-finite numbers, 0 and 9+ channels, odd-length,
read-only, strided and Fortran-ordered buffers, frames whose declared size disagrees with
their buffer, duck-typed frames with bad fields, option dicts with junk (unknown, unicode
and very long keys, nested values, NaN, 10**400), and empty and huge sizes. For every call
(``fuzzkit.check``): (a) only ``ValueError``/``TypeError`` or what its docstring documents
escapes (``MemoryError`` only where a case asks for more memory than the machine has: huge
sizes, run in a subprocess); (b) the message names the parameter or frame field at fault;
(c) inputs the API does not modify are byte-identical afterwards; and outputs keep
AudioFrame's invariants, with the documented sample counts (nothing lost after a rejected
push). The riskiest cases (2**31+ declared sizes, huge zero-stride arrays, 4 TB frames,
misaligned buffers into every C kernel, corrupt encoded input into FFmpeg) run in child
interpreters under a 3 GB address-space limit, which must exit normally (no
SIGSEGV/SIGABRT): ``test_fuzz_subprocess.py``.

Running it
----------
``pytest tests/fuzz`` runs a fixed, derandomized set of examples in about 2 minutes on
2 cores (profile ``livekit_audio_fuzz``: ``derandomize=True``, ``deadline=None``, no example
database). ``LIVEKIT_AUDIO_FUZZ_EXAMPLES=2000 pytest tests/fuzz`` scales every test's
``max_examples`` (default 600) for a long run; ``LIVEKIT_AUDIO_FUZZ_SEED=<int>`` replaces
derandomization with that seed to explore new examples. The session ends with the tallies:
cases run, outcomes by exception type, known defects hit, and subprocess runs (0 crashes).

Known defects in files this suite may not change are listed in ``fuzzkit.KNOWN_DEFECTS``
and reproduced by strict xfails in ``test_fuzz_known_defects.py``.
"""

from __future__ import annotations

import os

import pytest
from fuzzkit import KNOWN_DEFECTS, STATS
from hypothesis import HealthCheck, settings

#: Examples per property test; scale with LIVEKIT_AUDIO_FUZZ_EXAMPLES for long runs.
MAX_EXAMPLES = int(os.environ.get("LIVEKIT_AUDIO_FUZZ_EXAMPLES", "600"))
_SEED = os.environ.get("LIVEKIT_AUDIO_FUZZ_SEED")

settings.register_profile(
    "livekit_audio_fuzz",
    max_examples=MAX_EXAMPLES,
    derandomize=_SEED is None,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)
settings.load_profile("livekit_audio_fuzz")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if _SEED is None:
        return
    from hypothesis import seed

    for item in items:  # a fixed seed instead of derandomization, for exploring runs
        fn = getattr(item, "obj", None)
        if fn is not None and hasattr(fn, "hypothesis"):
            seed(int(_SEED))(fn)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not STATS["cases"] and not STATS["subprocess cases"]:
        return
    tr = terminalreporter
    tr.write_sep("-", "livekit_audio fuzz summary")
    errors = {
        k: v
        for k, v in STATS.items()
        if k not in {"cases", "ok", "subprocess cases", "subprocess runs", "crashes"}
        and not k.startswith("known:")
    }
    tr.write_line(
        f"cases: {STATS['cases']} in-process (examples x calls), "
        f"{STATS['subprocess cases']} in {STATS['subprocess runs']} subprocesses; "
        f"crashes: {STATS['crashes']}"
    )
    tr.write_line(f"returned normally: {STATS['ok']}")
    by_type = ", ".join(f"{k} {v}" for k, v in sorted(errors.items(), key=lambda kv: -kv[1]))
    tr.write_line(f"raised (by type): {by_type or 'none'}")
    known = {k[6:]: v for k, v in STATS.items() if k.startswith("known:")}
    if known:
        tr.write_line(
            "known defects hit (xfailed in test_fuzz_known_defects.py): "
            + ", ".join(f"{k} {v}" for k, v in sorted(known.items()))
        )
    tr.write_line(
        f"max_examples per property: {MAX_EXAMPLES}; known defects listed: {len(KNOWN_DEFECTS)}"
    )
