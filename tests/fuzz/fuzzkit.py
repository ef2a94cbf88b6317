"""The fuzz suite's machinery: one checker for every call, its tallies, and the strategies.

:func:`check` (and :func:`acheck` for coroutines) calls an entry point and asserts the suite's
properties on that one call:

(a) it returns, or raises an instance of ``allowed`` (``ValueError`` and ``TypeError`` always,
    plus what the entry point documents, e.g. ``AudioProcessingError``), or ``MemoryError``
    when the case asks for a size past a limit (``huge=True``);
(b) a ``ValueError``/``TypeError`` message names the parameter at fault: one of ``names``
    (case-insensitive substrings; the field for a bad frame field, e.g.
    ``samples_per_channel``), or a documented phrase for a failure no one parameter causes;
(c) every object in ``untouched`` (frames, arrays, buffers) is byte-identical afterwards;

and it counts the outcome in :data:`STATS` for the session summary (``conftest.py``).
Defects that cannot be fixed in this change are listed in :data:`KNOWN_DEFECTS`: a matching
exception is counted as ``known:<id>`` instead of failing the case, and each one has a
strict-xfail reproduction in ``test_fuzz_known_defects.py`` (so fixing it turns that test
into an XPASS failure that says to drop the entry here).
"""

from __future__ import annotations

import array
import math
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

import numpy as np
from hypothesis import strategies as st

from livekit_audio import AudioFrame
from livekit_audio.audio_frame import MAX_NUM_CHANNELS, MAX_SAMPLES_PER_CHANNEL, wrap_samples

#: Outcome tallies of every checked call in this process: "cases", "ok", one key per
#: exception type name, "known:<id>" per tolerated known defect, "subprocess cases".
STATS: Counter[str] = Counter()

#: Always allowed: the package's validation errors (their subclasses included).
BASE_ALLOWED: tuple[type[BaseException], ...] = (ValueError, TypeError)


@dataclass(frozen=True)
class KnownDefect:
    """A defect in a file this change may not edit: tolerated by :func:`check`, reproduced
    by a strict xfail in ``test_fuzz_known_defects.py``."""

    entry: str  # the ``entry`` label given to check()
    exc: type[BaseException]
    message: str  # regex searched in str(exc)
    what: str


#: Keyed by the id used in the summary and the xfail reasons.
KNOWN_DEFECTS: dict[str, KnownDefect] = {}


def known_defect(key: str) -> bool:
    """Count a hit of a known defect found by a property rather than an exception (e.g. an
    object accepted that should have been refused); returns True."""
    assert key in KNOWN_DEFECTS, key
    STATS[f"known:{key}"] += 1
    return True


def _known(entry: str, exc: BaseException) -> str | None:
    for key, defect in KNOWN_DEFECTS.items():
        if (
            entry in defect.entry.split("|")
            and isinstance(exc, defect.exc)
            and re.search(defect.message, str(exc))
        ):
            return key
    return None


# -- snapshots (property c) ------------------------------------------------------------------


def snapshot(obj: Any) -> Any:
    """A comparable copy of what ``obj`` holds: bytes and layout of a buffer, array or frame
    (duck-typed frames included, field by field); identity for anything else."""
    if isinstance(obj, AudioFrame):
        return (
            "frame",
            obj.sample_rate,
            obj.num_channels,
            obj.samples_per_channel,
            obj.to_ndarray().tobytes(),
        )
    if isinstance(obj, np.ndarray):
        return ("ndarray", obj.dtype.str, obj.shape, obj.strides, obj.tobytes(order="A"))
    if isinstance(obj, (bytes, bytearray, array.array)):
        return (type(obj).__name__, bytes(obj))
    if isinstance(obj, memoryview):
        return ("memoryview", obj.format, obj.shape, obj.tobytes())
    if isinstance(obj, SimpleNamespace):
        return ("duck", tuple((k, snapshot(v)) for k, v in sorted(vars(obj).items())))
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, tuple(snapshot(x) for x in obj))
    return ("id", id(obj))


# -- the checker -----------------------------------------------------------------------------


def _names_ok(message: str, names: Iterable[str]) -> bool:
    names = list(names)
    low = message.lower()
    return not names or any(n.lower() in low for n in names)


def type_name(exc: BaseException) -> str:
    """``ValueError``, ``AudioProcessingError``; ``struct.error`` for other modules' types."""
    cls = type(exc)
    module = cls.__module__.split(".")[0]
    if module in {"builtins", "livekit_audio"}:
        return cls.__name__
    return f"{module}.{cls.__name__}"


def _judge(
    exc: BaseException,
    entry: str,
    allowed: tuple[type[BaseException], ...],
    names: Iterable[str],
    huge: bool,
) -> None:
    known = _known(entry, exc)
    if known is not None:
        STATS[f"known:{known}"] += 1
        return
    STATS[type_name(exc)] += 1
    if huge and isinstance(exc, MemoryError):
        return
    if not isinstance(exc, BASE_ALLOWED + allowed):
        raise AssertionError(
            f"{entry}: undocumented {type(exc).__name__} escaped: {exc!r}"
        ) from exc
    if isinstance(exc, BASE_ALLOWED) and not _names_ok(str(exc), names):
        raise AssertionError(
            f"{entry}: {type(exc).__name__} message names none of {sorted(set(names))}: {exc}"
        ) from exc


def _compare(entry: str, before: list[Any], untouched: list[Any]) -> None:
    for i, (old, obj) in enumerate(zip(before, untouched, strict=True)):
        new = snapshot(obj)
        assert new == old, f"{entry}: input {i} ({type(obj).__name__}) was modified"


def check(
    fn: Callable[..., Any],
    *args: Any,
    entry: str,
    allowed: tuple[type[BaseException], ...] = (),
    names: Iterable[str] = (),
    untouched: Iterable[Any] = (),
    huge: bool = False,
    **kwargs: Any,
) -> Any:
    """``fn(*args, **kwargs)`` under properties (a)-(c); returns its result, or the exception
    it raised (an instance of an allowed type)."""
    untouched = list(untouched)
    before = [snapshot(x) for x in untouched]
    STATS["cases"] += 1
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:  # MemoryError, struct.error, ... are judged too
        _judge(exc, entry, allowed, names, huge)
        _compare(entry, before, untouched)
        return exc
    STATS["ok"] += 1
    _compare(entry, before, untouched)
    return result


async def acheck(
    fn: Callable[..., Awaitable[Any]],
    *args: Any,
    entry: str,
    allowed: tuple[type[BaseException], ...] = (),
    names: Iterable[str] = (),
    untouched: Iterable[Any] = (),
    **kwargs: Any,
) -> Any:
    """:func:`check` for a coroutine function."""
    untouched = list(untouched)
    before = [snapshot(x) for x in untouched]
    STATS["cases"] += 1
    try:
        result = await fn(*args, **kwargs)
    except Exception as exc:
        _judge(exc, entry, allowed, names, False)
        _compare(entry, before, untouched)
        return exc
    STATS["ok"] += 1
    _compare(entry, before, untouched)
    return result


def failed(result: Any) -> bool:
    """Whether a :func:`check` result is an exception."""
    return isinstance(result, BaseException)


def assert_valid_frame(
    frame: Any, rate: int | None = None, channels: int | None = None, any_type: bool = False
) -> None:
    """An output frame keeps AudioFrame's invariants: ours, fields ints in range, a buffer of
    exactly ``num_channels * samples_per_channel`` int16 samples. ``any_type``: a frame-like
    object handed back (e.g. the input itself), numpy ints and a longer buffer allowed."""
    integer = (int, np.integer) if any_type else int
    if not any_type:
        assert type(frame) is AudioFrame, type(frame)
    sr, nc, n = frame.sample_rate, frame.num_channels, frame.samples_per_channel
    assert isinstance(sr, integer) and not isinstance(sr, bool) and sr > 0, sr
    assert isinstance(nc, integer) and 1 <= nc <= MAX_NUM_CHANNELS, nc
    assert isinstance(n, integer) and 0 <= n <= MAX_SAMPLES_PER_CHANNEL, n
    data = memoryview(frame.data)
    if any_type:
        assert data.nbytes >= 2 * nc * n, (data.nbytes, nc, n)
    else:
        assert data.nbytes == 2 * nc * n, (data.nbytes, nc, n)
    if rate is not None:
        assert sr == rate, (sr, rate)
    if channels is not None:
        assert nc == channels, (nc, channels)


# -- value strategies ------------------------------------------------------------------------

#: Sample rates every component supports, and some it may not.
COMMON_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 96000)
ODD_RATES = (1, 99, 100, 999, 1000, 7999, 8001, 47999, 96001, 768000, 768001)


class _Weird:
    """An object that is nothing the package expects."""

    def __repr__(self) -> str:
        return "<weird>"


#: Values of the wrong type for any int or real parameter (a few are valid for some).
JUNK = (
    None,
    "48000",
    b"1",
    "",
    [],
    [1],
    {},
    (),
    1j,
    _Weird(),
    Decimal("1"),
    Decimal("NaN"),
    Fraction(1, 3),
    object,
    np.array([48000, 16000]),
    np.array(480),
)

_BIG_INTS = (
    -(2**63),
    -(2**31),
    -1,
    0,
    2**15,
    2**16 + 1,
    2**31 - 1,
    2**31,
    2**32,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64,
    10**30,
    10**400,
    -(10**400),
)


def ints(low: int = -(2**70), high: int = 2**70) -> st.SearchStrategy[Any]:
    """Ints, edge ints, numpy ints, bools, floats and junk: for an int parameter."""
    return st.one_of(
        st.integers(low, high),
        st.sampled_from(_BIG_INTS),
        st.sampled_from(
            [np.int8(-1), np.int16(480), np.int32(48000), np.int64(-5), np.uint64(2**64 - 1)]
        ),
        st.sampled_from([True, False]),
        st.sampled_from([48000.0, 1.5, math.nan, math.inf, -math.inf, np.float64(480.0)]),
        st.sampled_from(JUNK),
    )


def reals(low: float = -1e6, high: float = 1e6) -> st.SearchStrategy[Any]:
    """Floats, non-finite numbers, huge ints, numpy scalars and junk: for a real parameter."""
    return st.one_of(
        st.floats(low, high),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-(10**6), 10**6),
        st.sampled_from(_BIG_INTS),
        st.sampled_from(
            [
                np.float32(math.inf),
                np.float64(math.nan),
                np.float16(1.0),
                np.longdouble(1.5),
                np.int64(3),
                np.float64(-1e308),
            ]
        ),
        st.sampled_from([True, False]),
        st.sampled_from(JUNK),
    )


def sample_rates(common: float = 0.8) -> st.SearchStrategy[int]:
    """Valid-looking ints: mostly common rates, sometimes odd or random ones."""
    return st.one_of(
        st.sampled_from(COMMON_RATES),
        st.sampled_from(ODD_RATES),
        st.integers(1, 200_000),
    )


# -- buffers and frames ----------------------------------------------------------------------

BUFFER_KINDS = (
    "bytearray",
    "bytes",
    "memoryview",
    "memoryview_ro",
    "memoryview_h",
    "memoryview_strided",
    "nd",
    "nd_2d",
    "nd_fortran",
    "nd_strided",
    "nd_readonly",
    "nd_float32",
    "nd_int32",
    "nd_swapped",
    "nd_0d",
    "array_h",
    "array_f",
    "odd_bytes",
    "list",
    "str",
    "none",
)
#: Kinds AudioFrame takes as ``data`` (a C-contiguous buffer of int16 or raw bytes).
GOOD_BUFFER_KINDS = frozenset(
    {"bytearray", "bytes", "memoryview", "memoryview_ro", "memoryview_h", "nd", "nd_2d"}
    | {"nd_readonly", "array_h", "odd_bytes"}
)


def make_buffer(kind: str, samples: np.ndarray, channels: int = 1) -> Any:
    """``samples`` (flat int16, interleaved) in a buffer of the given kind."""
    raw = samples.astype(np.int16).tobytes()
    if kind == "bytearray":
        return bytearray(raw)
    if kind == "bytes":
        return raw
    if kind == "memoryview":
        return memoryview(bytearray(raw))
    if kind == "memoryview_ro":
        return memoryview(raw)
    if kind == "memoryview_h":
        return memoryview(bytearray(raw)).cast("h")
    if kind == "memoryview_strided":
        return memoryview(bytearray(raw + raw)).cast("h")[::2]
    if kind == "nd":
        return samples.astype(np.int16).copy()
    if kind == "nd_2d":
        n = len(samples) // max(channels, 1)
        return samples[: n * channels].astype(np.int16).reshape(n, channels).copy()
    if kind == "nd_fortran":
        n = len(samples) // max(channels, 1)
        return np.asfortranarray(samples[: n * channels].astype(np.int16).reshape(n, channels))
    if kind == "nd_strided":
        return np.repeat(samples.astype(np.int16), 2)[::2]
    if kind == "nd_readonly":
        out = samples.astype(np.int16).copy()
        out.flags.writeable = False
        return out
    if kind == "nd_float32":
        return samples.astype(np.float32) / 32768
    if kind == "nd_int32":
        return samples.astype(np.int32)
    if kind == "nd_swapped":
        return samples.astype(">i2")
    if kind == "nd_0d":
        return np.array(samples[0] if len(samples) else 0, np.int16)
    if kind == "array_h":
        return array.array("h", samples.astype(np.int16).tolist())
    if kind == "array_f":
        return array.array("f", samples.astype(np.float32).tolist())
    if kind == "odd_bytes":
        return raw + b"\x7f"
    if kind == "list":
        return samples.astype(int).tolist()
    if kind == "str":
        return "pcm"
    if kind == "none":
        return None
    raise AssertionError(kind)


@st.composite
def pcm(draw: st.DrawFn, count: int) -> np.ndarray:
    """``count`` int16 samples: silence, full-scale edges or noise."""
    kind = draw(st.sampled_from(["zeros", "extremes", "noise"]))
    if kind == "zeros" or count == 0:
        return np.zeros(count, np.int16)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if kind == "extremes":
        return rng.choice(np.array([-32768, -1, 0, 1, 32767], np.int16), count)
    return rng.integers(-32768, 32768, count, dtype=np.int16)


@dataclass
class FrameCase:
    """A frame-like object for an entry point, and what is wrong with it.

    ``faults`` names the fields at fault (``{"sample_rate"}``, ``{"data"}``...), empty for a
    well-formed frame (which may still have another rate or layout than the consumer wants:
    compare ``rate``/``channels``/``size``, the declared layout, when it is an int).
    ``ours``: an :class:`AudioFrame` (``frame`` is valid by construction).
    """

    frame: Any
    faults: frozenset[str]
    rate: Any
    channels: Any
    size: Any
    ours: bool

    @property
    def wellformed(self) -> bool:
        return not self.faults


#: Words a message may use for an object that is not a frame at all.
NOT_A_FRAME_WORDS = ("frame", "AudioFrame", "data", "buffer", "array")

_FIELDS = ("sample_rate", "num_channels", "samples_per_channel")


@st.composite
def frames(
    draw: st.DrawFn,
    rate: int | st.SearchStrategy[int] | None = None,
    channels: int | st.SearchStrategy[int] | None = None,
    size: int | st.SearchStrategy[int] | None = None,
    max_size: int = 2000,
    bad: float = 0.4,
) -> FrameCase:
    """A frame near the given layout (values or strategies; None: anything plausible).

    Well-formed (ours over writable or read-only memory, or duck-typed over any good buffer)
    with probability about ``1 - bad``; otherwise duck-typed with one bad field (wrong type,
    out of range, declared size past its buffer, a strided or float buffer), a missing
    attribute, or not a frame at all.
    """

    def pick(value: Any, default: st.SearchStrategy[Any]) -> Any:
        if value is None:
            return draw(default)
        if isinstance(value, st.SearchStrategy):
            return draw(value)
        return value

    sr = pick(rate, sample_rates())
    nc = pick(channels, st.one_of(st.integers(1, 2), st.integers(1, 10)))
    n = pick(size, st.one_of(st.integers(0, max_size), st.sampled_from([0, 1, 160, 441, 480])))
    samples = draw(pcm(n * nc))
    if draw(st.floats(0, 1)) >= bad:  # well-formed
        kind = draw(st.sampled_from(["ours", "ours_readonly", "duck"]))
        if kind == "ours":
            return FrameCase(
                AudioFrame(bytearray(samples.tobytes()), sr, nc, n), frozenset(), sr, nc, n, True
            )
        if kind == "ours_readonly":  # the package makes these (AudioSource copies)
            view = memoryview(samples.tobytes()).cast("h")
            return FrameCase(wrap_samples(view, sr, nc, n), frozenset(), sr, nc, n, True)
        buf_kind = draw(st.sampled_from(["bytearray", "bytes", "memoryview_h", "nd", "array_h"]))
        data = make_buffer(buf_kind, samples, nc)
        duck = SimpleNamespace(data=data, sample_rate=sr, num_channels=nc, samples_per_channel=n)
        return FrameCase(duck, frozenset(), sr, nc, n, False)
    fault = draw(
        st.sampled_from(
            ["sample_rate", "num_channels", "samples_per_channel", "data", "short", "missing"]
            + ["not_a_frame"]
        )
    )
    fields: dict[str, Any] = {
        "data": bytearray(samples.tobytes()),
        "sample_rate": sr,
        "num_channels": nc,
        "samples_per_channel": n,
    }
    if fault in _FIELDS:
        fields[fault] = draw(st.one_of(ints(), st.sampled_from(JUNK)))
        # a valid but larger size or channel count makes the buffer too short: "data"
        faults = frozenset({fault} if fault == "sample_rate" else {fault, "data"})
    elif fault == "data":
        kind = draw(st.sampled_from(sorted(set(BUFFER_KINDS) - GOOD_BUFFER_KINDS)))
        fields["data"] = make_buffer(kind, samples, nc)
        faults = frozenset({"data"})
    elif fault == "short":  # declares more samples than its buffer holds
        extra = draw(st.sampled_from([1, 2, 1000, 2**31 - 1 - n, 2**31, 2**40]))
        fields["samples_per_channel"] = n + extra
        faults = frozenset({"data", "samples_per_channel"})
    elif fault == "missing":
        del fields[draw(st.sampled_from(["data", *_FIELDS]))]
        faults = frozenset(NOT_A_FRAME_WORDS) | frozenset(_FIELDS)
    else:
        obj = draw(st.sampled_from([None, 5, "frame", b"\x00\x00", [1, 2], {"data": b""}]))
        return FrameCase(obj, frozenset(NOT_A_FRAME_WORDS), None, None, None, False)
    duck = SimpleNamespace(**fields)
    return FrameCase(
        duck,
        faults,
        fields.get("sample_rate"),
        fields.get("num_channels"),
        fields.get("samples_per_channel"),
        False,
    )


def _same(value: Any, expected: int) -> bool:
    """Whether a declared field (anything) is the int ``expected``."""
    return (
        isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value == expected
    )


def mismatch_names(case: FrameCase, rate: Any, channels: Any) -> set[str]:
    """Names a message may use when a well-formed frame's layout differs from the
    consumer's (its rate, its channel count)."""
    names: set[str] = set(case.faults)
    if not _same(case.rate, rate):
        names |= {"sample_rate", "Hz"}
    if not _same(case.channels, channels):
        names |= {"num_channels", "ch", "channels"}
    return names


@st.composite
def arguments(
    draw: st.DrawFn,
    valid: dict[str, st.SearchStrategy[Any]],
    bad: dict[str, st.SearchStrategy[Any]],
    max_bad: int = 2,
    mutate: bool = True,
) -> tuple[dict[str, Any], set[str]]:
    """Keyword arguments drawn from ``valid``, then up to ``max_bad`` of them replaced by a
    draw from ``bad``; returns them and the names replaced (the parameters a rejection must
    name, unless a combination of valid values is at fault)."""
    values = {name: draw(strategy) for name, strategy in valid.items()}
    mutated: set[str] = set()
    if mutate:
        mutated = set(draw(st.sets(st.sampled_from(sorted(bad)), max_size=max_bad)))
    for name in mutated:
        values[name] = draw(bad[name])
    return values, mutated


def pushed_count(item: Any, channels: int) -> int:
    """Samples per channel an accepted push of ``item`` carried."""
    if hasattr(item, "samples_per_channel"):
        return int(item.samples_per_channel)
    if isinstance(item, np.ndarray):
        return item.size // channels
    return memoryview(item).nbytes // (2 * channels)


def rounded(n: int, input_rate: int, output_rate: int) -> int:
    """``round(n * output_rate / input_rate)``, half up: the resampler's documented count."""
    return (2 * n * output_rate + input_rate) // (2 * input_rate)
