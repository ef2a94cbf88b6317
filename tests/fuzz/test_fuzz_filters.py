"""Filter plug-ins: AudioFilter (loading), AudioFilter.create and FilterInstance (process,
process_into, reset, close), AudioFilter.processor and FilterProcessor (_process,
delay_samples), FilterStage (push, flush), get_filter, NoiseCancellationOptions in
AudioStream, and the shipped adapters ``filters.rnnoise()`` / ``filters.deepfilternet()``.

The plug-ins are the example (gain + one-pole high-pass, options gain_db/highpass_hz) and the
misbehaving fixture (options fail_at/nan_at only: its crash_at and sleep_ms are not for this
process), built once per session with ``helpers.build_plugin``. With ``gain_db=0`` and the
high-pass off the example is the identity, which gives exact oracles: a FilterInstance
returns its input, and a FilterStage at a plug-in rate returns exactly its accepted input.
"""

from __future__ import annotations

import asyncio
import math
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from fuzzkit import (
    JUNK,
    FrameCase,
    arguments,
    assert_valid_frame,
    check,
    failed,
    frames,
    ints,
    reals,
    snapshot,
)
from helpers import EXAMPLE_PLUGIN, MISBEHAVING_PLUGIN, build_plugin
from hypothesis import example, given, settings
from hypothesis import strategies as st

import livekit_audio as la
from livekit_audio import AudioFilter, AudioFrame, FilterError, filters
from livekit_audio.audio_filter import get_filter
from livekit_audio.filter_processor import FilterProcessor, FilterStage

#: Module ids this file loads under (unique in the process's registry).
EXAMPLE_ID = "fuzz_gain_highpass"
MISBEHAVING_ID = "fuzz_misbehaving"
#: The example's rates (its table) and some it does not take.
EXAMPLE_RATES = (8000, 16000, 24000, 32000, 44100, 48000)
OTHER_RATES = (11025, 22050, 96000, 1000, 7999, 768000)


def n(examples: int) -> int:
    """``examples`` scaled like the profile's max_examples (LIVEKIT_AUDIO_FUZZ_EXAMPLES)."""
    return max(1, examples * settings.default.max_examples // 600)


@pytest.fixture(scope="session")
def plugins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The plug-ins (and not-quite plug-ins) this file loads, built once."""
    out = tmp_path_factory.mktemp("fuzz_plugins")
    paths = {
        "example": build_plugin(EXAMPLE_PLUGIN, out / "libexample.so"),
        "misbehaving": build_plugin(MISBEHAVING_PLUGIN, out / "libmisbehaving.so"),
        "bad_abi": build_plugin(MISBEHAVING_PLUGIN, out / "libbadabi.so", "-DBAD_ABI"),
        "no_entry": build_plugin(MISBEHAVING_PLUGIN, out / "libnoentry.so", "-DNO_ENTRY"),
        "dependency": build_plugin(MISBEHAVING_PLUGIN, out / "libdep.so", "-DDEPENDENCY_LIB"),
    }
    text = out / "not_a_library.so"
    text.write_text("not an ELF file\n")
    paths["text"] = text
    paths["directory"] = out
    paths["missing"] = out / "missing.so"
    AudioFilter(EXAMPLE_ID, paths["example"])
    AudioFilter(MISBEHAVING_ID, paths["misbehaving"])
    return paths


# -- strategies ------------------------------------------------------------------------------

_OPTION_KEYS = st.one_of(
    st.sampled_from(["gain_db", "highpass_hz"]),
    st.text(max_size=12),
    st.sampled_from(["ü" * 40, "x" * 5000, "", "gain_db ", "GAIN_DB", "\x00", "🎧", 'a"b']),
)
_OPTION_VALUES = st.one_of(
    st.floats(-70, 30),
    reals(),
    st.text(max_size=8),
    st.sampled_from(
        [None, "x" * 20000, [1, [2, [3]]], {"a": {"b": math.nan}}, {"a": [1e308]}, b"\x00"]
    ),
    st.sampled_from([np.float32(1.0), np.int64(3), Decimal("1"), 10**400, -(10**400), 1e308]),
)
#: Option dicts with junk: unknown, unicode and very long keys, nested, NaN, huge values.
JUNK_OPTIONS = st.dictionaries(_OPTION_KEYS, _OPTION_VALUES, max_size=3)


def valid_options(rate: int) -> st.SearchStrategy[dict[str, float]]:
    """Options the example accepts at ``rate`` (any subset)."""
    return st.fixed_dictionaries(
        {},
        optional={
            "gain_db": st.one_of(st.just(0.0), st.floats(-60, 20)),
            "highpass_hz": st.one_of(st.just(0.0), st.floats(0, rate / 4)),
        },
    )


def _identity(options: dict[str, object]) -> bool:
    return options.get("gain_db", 0.0) == 0.0 and options.get("highpass_hz", 0.0) == 0.0


#: Words a refusal of options may use (the host's JSON check, or the plug-in's own text).
OPTION_NAMES = frozenset({"option", "gain_db", "highpass_hz"})
_INSTANCE_ERRORS = (FilterError, RuntimeError)


# -- AudioFilter (loading) and get_filter ----------------------------------------------------

_PATH_KINDS = ("example", "example", "misbehaving", "bad_abi", "no_entry", "dependency")
_PATH_KINDS += ("text", "directory", "missing")


@settings(max_examples=n(120))
@given(
    st.one_of(
        st.sampled_from([EXAMPLE_ID, MISBEHAVING_ID, "fuzz_other", "", "ü" * 300, "x" * 10000]),
        st.text(max_size=10).map(lambda s: "fuzz_" + s),
        st.sampled_from(JUNK),
    ),
    st.one_of(
        st.sampled_from(_PATH_KINDS).map(lambda k: ("kind", k)),
        st.sampled_from([("str", "example"), ("bytes", "example"), ("junk", None)]),
    ),
    st.one_of(
        st.none(),
        st.lists(st.sampled_from(["dependency", "missing", "text", "example"]), max_size=2),
        st.sampled_from([5, "dependency_as_str", [5], [None], b"x"]),
    ),
)
def test_audio_filter_loading(plugins, module_id, path_spec, dependencies):
    """Only the documented errors, naming the id, the plug-in or the dependency; a
    filter that loads reports its table and is what get_filter returns."""
    how, what = path_spec
    if how == "kind":
        path = plugins[what]
    elif how == "str":
        path = str(plugins[what])
    elif how == "bytes":
        path = str(plugins[what]).encode()
    else:
        path = JUNK[len(str(module_id)) % len(JUNK)]
    deps = dependencies
    if isinstance(dependencies, list):
        deps = [plugins[d] if isinstance(d, str) else d for d in dependencies]
    elif dependencies == "dependency_as_str":
        deps = str(plugins["dependency"])  # a str is not a list: its characters are paths
    names = {"module_id", "plug-in", "dependency", "path"}
    out = check(
        AudioFilter,
        module_id,
        path,
        deps,
        entry="AudioFilter",
        allowed=(OSError,),  # FileNotFoundError included
        names=names,
    )
    if failed(out):
        return
    assert out.module_id == module_id
    assert out.sample_rates_hz == tuple(sorted(set(out.sample_rates_hz)))
    assert 1 <= out.max_channels <= 8
    assert get_filter(module_id) is out
    repr(out)


@settings(max_examples=n(60))
@given(st.one_of(st.sampled_from([EXAMPLE_ID, "never_loaded", ""]), st.sampled_from(JUNK)))
def test_get_filter(plugins, module_id):
    out = check(get_filter, module_id, entry="get_filter", allowed=(KeyError,), names={"module_id"})
    if not failed(out):
        assert out.module_id == module_id


# -- AudioFilter.create and FilterInstance ---------------------------------------------------

_ARRAY_SHAPES = ("frame", "frame", "mono_1d", "transposed", "short", "long", "empty", "0d", "3d")
_ARRAY_DTYPES = ("float32", "float32", "int16", "int16", "float64", "int32", ">i2", ">f4")
_ARRAY_DTYPES += ("bool", "complex64", "object", "uint16")
_ARRAY_LAYOUTS = ("c", "c", "fortran", "strided", "readonly")


@st.composite
def sample_arrays(draw, frame_size: int, channels: int) -> tuple[np.ndarray, bool, bool]:
    """(array, whether its dtype and shape are one frame, whether its values are finite)."""
    shape_kind = draw(st.sampled_from(_ARRAY_SHAPES))
    dtype = np.dtype(draw(st.sampled_from(_ARRAY_DTYPES)))
    layout = draw(st.sampled_from(_ARRAY_LAYOUTS))
    values = draw(st.sampled_from(["zeros", "noise", "extremes", "nonfinite", "huge"]))
    shape = {
        "frame": (frame_size, channels),
        "mono_1d": (frame_size,),
        "transposed": (channels, frame_size),
        "short": (frame_size - 1, channels),
        "long": (frame_size + 1, channels),
        "empty": (0, channels),
        "0d": (),
        "3d": (frame_size, channels, 1),
    }[shape_kind]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    count = int(np.prod(shape))
    if values == "zeros":
        flat = np.zeros(count)
    elif values == "noise":
        flat = rng.uniform(-1, 1, count)
    elif values == "extremes":
        flat = rng.choice(np.array([-1.0, -1 / 32768, 0.0, 1 / 32768, 1.0]), count)
    elif values == "huge":
        flat = rng.choice(np.array([-3e38, 3e38, 1e30, -1.0]), count)
    else:
        flat = rng.choice(np.array([np.nan, np.inf, -np.inf, 0.5]), count)
    with np.errstate(all="ignore"):
        if dtype.kind in "iu":
            flat = np.nan_to_num(flat * 32767, posinf=32767, neginf=-32768).clip(-32768, 32767)
        arr = flat.astype(dtype).reshape(shape)
    if layout == "fortran":
        arr = np.asfortranarray(arr)
    elif layout == "strided":
        arr = np.repeat(arr, 2, axis=0)[::2] if arr.ndim else arr
    elif layout == "readonly":
        arr.flags.writeable = False
    one_frame = dtype in (np.dtype(np.float32), np.dtype(np.int16)) and (
        shape == (frame_size, channels) or (channels == 1 and shape == (frame_size,))
    )
    finite = dtype.kind not in "fc" or values not in ("nonfinite",)
    if dtype == np.float32 and values == "huge":
        finite = True  # finite in float32 (3e38 < max); the gain may overflow it
    return arr, one_frame, finite


@settings(max_examples=n(300))
@given(
    st.data(),
    arguments(
        valid={
            "sample_rate_hz": st.sampled_from(EXAMPLE_RATES),
            "num_channels": st.integers(1, 8),
        },
        bad={
            "sample_rate_hz": st.one_of(st.sampled_from(OTHER_RATES), ints()),
            "num_channels": st.one_of(st.sampled_from([0, 9, 2**32 + 1]), ints()),
            "options": JUNK_OPTIONS,
        },
    ),
)
def test_create_and_process(plugins, data, args):
    """create: documented errors naming the rate, channels or option at fault; a valid
    combination always succeeds. An instance: process returns a new array of the input's
    dtype and shape (the input itself for the identity), never modifying the input;
    refusals leave it usable; after close, RuntimeError."""
    values, mutated = args
    rate, channels = values["sample_rate_hz"], values["num_channels"]
    options = values.get("options")
    if options is None:
        ok_rate = type(rate) is int and rate in EXAMPLE_RATES
        options = data.draw(valid_options(rate if ok_rate else 48000))
    names: set[str] = set()
    if "sample_rate_hz" in mutated:
        names |= {"sample_rate_hz", "sample rate", "Hz"}
    if "num_channels" in mutated:
        names |= {"num_channels", "channels"}
    if "options" in mutated:
        names |= OPTION_NAMES | {"sample_rate_hz", "num_channels"}  # (keys may clash)
    filt = get_filter(EXAMPLE_ID)
    inst = check(
        filt.create,
        rate,
        channels,
        **options,
        entry="AudioFilter.create",
        allowed=(FilterError, MemoryError),
        names=names,
    )
    if failed(inst):
        assert mutated, f"a valid create was refused: {inst!r}"
        return
    assert (inst.sample_rate_hz, inst.num_channels) == (int(rate), int(channels))
    assert inst.frame_size == int(rate) // 100 and inst.latency_samples == 0
    repr(inst)
    identity = _identity(options)
    for _ in range(data.draw(st.integers(1, 3))):
        arr, one_frame, finite = data.draw(sample_arrays(inst.frame_size, inst.num_channels))
        out = check(
            inst.process,
            arr,
            entry="FilterInstance.process",
            allowed=_INSTANCE_ERRORS,
            names={"samples", "input"},  # "the input holds NaN"
            untouched=[arr],
        )
        if failed(out):
            assert not (one_frame and finite and identity), f"refused: {out!r}"
            assert isinstance(out, FilterError) or not isinstance(out, RuntimeError), out
            continue
        assert one_frame and finite, (arr.dtype, arr.shape)
        assert out.dtype == arr.dtype and out.shape == arr.shape and out is not arr
        if out.dtype == np.float32:
            assert np.isfinite(out).all()
        if identity:
            assert np.array_equal(out, arr)
    check(inst.reset, entry="FilterInstance.reset", allowed=_INSTANCE_ERRORS)
    inst.close()
    inst.close()  # idempotent
    assert inst.closed
    good = np.zeros((inst.frame_size, inst.num_channels), np.int16)
    out = check(inst.process, good, entry="FilterInstance.process", allowed=_INSTANCE_ERRORS)
    assert isinstance(out, RuntimeError) and not isinstance(out, FilterError), out
    out = check(inst.reset, entry="FilterInstance.reset", allowed=_INSTANCE_ERRORS)
    assert isinstance(out, RuntimeError), out


_INTO_KINDS = ("nd", "nd", "same", "bytearray", "bytes", "memoryview_ro", "strided", "fortran")
_INTO_KINDS += ("list", "short", "long", "float32_same_bytes", "none", "2d")


def _into_buffer(kind: str, samples: np.ndarray, channels: int):
    """A buffer for process_into and whether it is acceptable as one frame (and writable)."""
    if kind in ("nd", "same"):
        return samples.copy(), True, True
    if kind == "2d":
        return samples.reshape(-1, channels).copy(), True, True
    if kind == "bytearray":
        return bytearray(samples.tobytes()), True, True
    if kind == "bytes":
        return samples.tobytes(), True, False
    if kind == "memoryview_ro":
        return memoryview(samples.tobytes()), True, False
    if kind == "strided":
        return np.repeat(samples, 2)[::2], False, True
    if kind == "fortran":  # 2-D over 2+ channels and frames: not C-contiguous
        arr = np.asfortranarray(samples.reshape(-1, channels))
        return arr, arr.flags.c_contiguous, True
    if kind == "list":
        return samples.tolist(), False, False
    if kind == "short":
        return samples[:-1].copy(), False, True
    if kind == "long":
        return np.concatenate([samples, samples[:1]]), False, True
    if kind == "float32_same_bytes":  # the right byte count, but not int16: refused
        if len(samples) % 2:
            return samples.astype(np.float32), False, True
        return np.frombuffer(samples.tobytes(), np.float32).copy(), False, True
    return None, False, False


@settings(max_examples=n(200))
@given(
    st.sampled_from(EXAMPLE_RATES),
    st.integers(1, 3),
    st.sampled_from(_INTO_KINDS),
    st.sampled_from(_INTO_KINDS),
    st.integers(0, 2**32 - 1),
)
def test_process_into(plugins, rate, channels, in_kind, out_kind, seed):
    """process_into: int16 frame in, into ``out`` (may be the same array); a wrong buffer
    (another dtype, size or layout, read-only ``out``) is refused with the documented errors,
    and ``samples`` is not modified unless it is ``out``."""
    inst = get_filter(EXAMPLE_ID).create(rate, channels)
    n_samples = inst.frame_size * channels
    samples = np.random.default_rng(seed).integers(-32768, 32768, n_samples, dtype=np.int16)
    src, src_ok, _ = _into_buffer(in_kind, samples, channels)
    if out_kind == "same":
        dst, dst_ok, writable = src, src_ok, isinstance(src, (np.ndarray, bytearray))
        if isinstance(src, np.ndarray):
            writable = writable and src.flags.writeable
        untouched = []
    else:
        dst, dst_ok, writable = _into_buffer(out_kind, samples, channels)
        untouched = [src]
    result = check(
        inst.process_into,
        src,
        dst,
        entry="FilterInstance.process_into",
        allowed=_INSTANCE_ERRORS,
        names={"samples", "out"},
        untouched=untouched,
    )
    if failed(result):
        assert not (src_ok and dst_ok and writable), f"refused: {result!r}"
        return
    assert src_ok and dst_ok and writable, (in_kind, out_kind)
    if src is not dst:
        assert bytes(memoryview(dst).cast("B")) == bytes(memoryview(src).cast("B"))
    inst.close()


# -- FilterProcessor -------------------------------------------------------------------------


def _processor_frames(max_size: int = 1200) -> st.SearchStrategy[FrameCase]:
    return frames(
        rate=st.sampled_from(EXAMPLE_RATES + (11025, 22050, 96000, 768000, 999, 1)),
        channels=st.sampled_from([1, 1, 2, 3, 8, 9]),
        max_size=max_size,
    )


def _frame_names(case: FrameCase) -> set[str]:
    # the frame's fault, or its layout (past max_channels, a rate the resampler refuses)
    return set(case.faults) | {"channel", "Hz"}


def _run_processor(proc: FilterProcessor, cases: list[FrameCase], entry: str, names=()) -> int:
    """Every call: a frame of the input's layout and size back, our frames never modified,
    a refused frame untouched, delay_samples an int >= 0. Returns the frames accepted."""
    accepted = 0
    for case in cases:
        frame = case.frame
        before = snapshot(frame)
        out = check(
            proc._process,
            frame,
            entry=entry,
            allowed=(FilterError,),
            names=_frame_names(case) | set(names),
        )
        if failed(out) or case.ours:  # (a writable frame-like one is written in place)
            assert snapshot(frame) == before, f"{entry}: input modified"
        delay = proc.delay_samples
        assert isinstance(delay, int) and delay >= 0, delay
        if failed(out):
            continue
        accepted += 1
        if case.ours:
            assert type(out) is AudioFrame and out is not frame
        assert_valid_frame(out, rate=case.rate, channels=case.channels, any_type=not case.ours)
        assert out.samples_per_channel == case.size
    return accepted


@settings(max_examples=n(250))
@given(
    st.one_of(valid_options(8000), JUNK_OPTIONS),
    st.lists(_processor_frames(), min_size=1, max_size=4),
)
@example({}, [FrameCase(None, frozenset({"frame"}), None, None, None, False)])
def test_filter_processor(plugins, options, cases):
    """processor(**options): a ValueError naming the options if they are not JSON;
    otherwise every frame comes back at its own size (or is refused, untouched, naming the
    layout, the frame's fault, or the plug-in's option), and after _close RuntimeError."""
    proc = check(
        get_filter(EXAMPLE_ID).processor,
        **options,
        entry="AudioFilter.processor",
        names={"options"},
    )
    if failed(proc):
        return
    repr(proc)
    assert proc.delay_samples == 0 and proc.instance is None
    _run_processor(proc, cases, "FilterProcessor._process", names=OPTION_NAMES)
    proc._close()
    out = check(
        proc._process,
        AudioFrame.create(48000, 1, 480),
        entry="FilterProcessor._process",
        allowed=(RuntimeError,),
    )
    assert isinstance(out, RuntimeError), out


@settings(max_examples=n(120))
@given(
    st.sampled_from(["fail_at", "nan_at"]),
    st.integers(0, 4),
    st.lists(
        frames(rate=st.sampled_from([48000, 16000, 44100]), channels=1, max_size=1000, bad=0.1),
        min_size=1,
        max_size=6,
    ),
)
def test_filter_processor_plugin_failures(plugins, fault, at, cases):
    """A plug-in failing or returning NaN on its k-th call: FilterError, the frame
    untouched, and the processor goes on with frames of the right size afterwards."""
    proc = get_filter(MISBEHAVING_ID).processor(**{fault: at})
    entry = "FilterProcessor._process (misbehaving)"
    _run_processor(proc, cases, entry)
    # each new instance fails on its k-th call again (the processor restarts one after a
    # failure): one 480-sample frame is one plug-in call, so k + 1 frames in a row hold one
    # failure
    results = [
        check(proc._process, AudioFrame.create(48000, 1, 480), entry=entry, allowed=(FilterError,))
        for _ in range(at + 2)
    ]
    assert any(failed(r) for r in results)
    for r in results:
        assert failed(r) or r.samples_per_channel == 480
    proc._close()


# -- FilterStage -----------------------------------------------------------------------------


#: What a FilterStage does with each kind of push (see test_filter_stage).
_STAGE_PUSHES = {
    "ok": "accept",
    "duck_readonly": "accept",  # a frame-like object over bytes
    "duck": "accept",  # a frame-like object over a bytearray
    "other_layout": "accept_other",  # another valid rate: a new instance
    "bad_rate": "refuse_layout",  # 999 Hz: the resampler refuses it
    "nine_channels": "refuse_layout",  # past the plug-in's max_channels
    "short_duck": "refuse",  # a buffer shorter than its declared size
    "not_a_frame": "refuse",
}


def _stage_frame(kind: str, block: np.ndarray, rate: int) -> object:
    size, channels = block.shape
    if kind == "other_layout":
        return AudioFrame.create(16000 if rate != 16000 else 8000, channels, size)
    if kind == "bad_rate":
        return AudioFrame.create(999, channels, size)
    if kind == "nine_channels":
        return AudioFrame.create(rate, 9, size)
    if kind in ("duck", "duck_readonly", "short_duck"):
        raw = block.tobytes()
        data = bytearray(raw) if kind == "duck" else raw[:-1] if kind == "short_duck" else raw
        return SimpleNamespace(
            data=data, sample_rate=rate, num_channels=channels, samples_per_channel=size
        )
    if kind == "not_a_frame":
        return block
    return AudioFrame.from_ndarray(block, rate)


@settings(max_examples=n(250))
@given(
    st.sampled_from(EXAMPLE_RATES + (22050, 96000)),
    st.sampled_from([1, 2]),
    st.lists(
        st.one_of(
            st.tuples(st.just("ok"), st.integers(0, 1500)),
            st.tuples(st.just("ok"), st.sampled_from([1, 160, 441, 480])),
            st.tuples(st.sampled_from(sorted(_STAGE_PUSHES)), st.integers(1, 500)),
        ),
        max_size=6,
    ),
    st.integers(0, 2**32 - 1),
    st.booleans(),
)
def test_filter_stage(plugins, rate, channels, pushes, seed, twice):
    """FilterStage over the identity plug-in: after flush the output is exactly as long as
    the accepted input, and equal to it when the stream stayed at one plug-in rate (the
    delay is removed exactly); refused frames are untouched; flush makes the stage ready
    for a new stream."""
    rng = np.random.default_rng(seed)
    stage = FilterStage(get_filter(EXAMPLE_ID).processor())
    for _ in range(2 if twice else 1):
        accepted: list[np.ndarray] = []
        got: list[np.ndarray] = []
        exact = rate in EXAMPLE_RATES  # the output should equal the input
        for kind, size in pushes:
            block = rng.integers(-32768, 32768, (size, channels), dtype=np.int16)
            frame = _stage_frame(kind, block, rate)
            before = snapshot(frame)
            out = check(
                stage.push,
                frame,
                entry="FilterStage.push",
                allowed=(FilterError,),
                names={"AudioFrame", "channel", "Hz", "rate", "data"},
            )
            expected = _STAGE_PUSHES[kind]
            if failed(out):
                assert expected.startswith("refuse"), (kind, out)
                assert snapshot(frame) == before, "a refused frame was modified"
                continue
            assert expected.startswith("accept"), kind
            assert snapshot(frame) == before, "an accepted frame was modified"
            if expected == "accept_other":
                exact = False
            accepted.append(block)
            for f in out:
                assert_valid_frame(f, channels=channels)
                got.append(f.to_ndarray())
        out = check(stage.flush, entry="FilterStage.flush")
        assert not failed(out), out
        for f in out:
            assert_valid_frame(f, channels=channels)
            got.append(f.to_ndarray())
        total_in = sum(len(b) for b in accepted)
        total_out = sum(len(b) for b in got)
        assert total_out == total_in, (total_out, total_in)
        if exact and total_in:
            assert np.array_equal(np.concatenate(got), np.concatenate(accepted)), (
                "the stage's output is not its input"
            )
    stage.close()


@settings(max_examples=n(30))
@given(st.sampled_from([None, 5, "processor", object(), "gain"]))
def test_filter_stage_constructor(value):
    proc = la.GainProcessor(-6.0) if value == "gain" else value
    check(FilterStage, proc, entry="FilterStage", names={"processor"})


# -- NoiseCancellationOptions in AudioStream -------------------------------------------------


class _ForeignOptions:
    """Duck-typed as ``livekit.rtc.NoiseCancellationOptions`` (recognised by type name)."""

    def __init__(self, module_id, options):
        self.module_id = module_id
        self.options = options


_ForeignOptions.__name__ = "NoiseCancellationOptions"


@pytest.mark.asyncio
@settings(max_examples=n(120))
@given(
    st.one_of(st.sampled_from([EXAMPLE_ID, "fuzz_never_loaded", ""]), st.sampled_from(JUNK)),
    st.one_of(
        valid_options(16000),
        JUNK_OPTIONS,
        st.sampled_from([None, 5, [("gain_db", 1.0)], "gain_db", {1: 2}, {None: 1}]),
    ),
    st.booleans(),
    st.lists(frames(rate=16000, channels=1, max_size=400, bad=0.2), max_size=3),
)
async def test_noise_cancellation_options(plugins, module_id, options, foreign, cases):
    """AudioStream(noise_cancellation=NoiseCancellationOptions(...)): KeyError for an id
    never loaded, TypeError/ValueError naming the id or the options; a stream that starts
    delivers valid frames of every accepted frame's size."""
    nco = (_ForeignOptions if foreign else la.NoiseCancellationOptions)(module_id, options)
    items = [c.frame for c in cases]

    async def source():
        for item in items:
            yield item

    stream = check(
        la.AudioStream.from_frames,
        source(),
        sample_rate=16000,
        num_channels=1,
        noise_cancellation=nco,
        entry="AudioStream.from_frames",
        allowed=(KeyError, RuntimeError),
        names={"module_id", "options", "noise_cancellation"},
    )
    if failed(stream):
        return

    async def read():
        async for event in stream:
            assert_valid_frame(event.frame, rate=16000, channels=1)

    try:
        await asyncio.wait_for(read(), 10)
    except (ValueError, TypeError):
        pass  # a bad item ends the stream (test_fuzz_rtc covers that)
    finally:
        await stream.aclose()


# -- the shipped adapters --------------------------------------------------------------------


@settings(max_examples=n(120))
@given(
    arguments(
        valid={"atten_lim_db": st.floats(0, 200), "post_filter_beta": st.floats(0, 1)},
        bad={"atten_lim_db": reals(), "post_filter_beta": reals()},
    )
)
@example(({"atten_lim_db": 10**400, "post_filter_beta": 0.0}, {"atten_lim_db"}))
def test_deepfilternet_options(args):
    values, mutated = args
    proc = check(
        filters.deepfilternet,
        **values,
        entry="filters.deepfilternet",
        names=mutated or {"atten_lim_db", "post_filter_beta"},
    )
    if not failed(proc):
        assert isinstance(proc, FilterProcessor)
        proc._close()


@pytest.fixture(scope="module")
def deepfilternet_processor():
    proc = filters.deepfilternet(atten_lim_db=12.0)
    yield proc
    proc._close()


@settings(max_examples=n(8))
@given(
    st.lists(
        frames(rate=st.sampled_from([48000, 16000]), channels=st.sampled_from([1, 1, 2])),
        min_size=1,
        max_size=3,
    )
)
def test_deepfilternet_frames(deepfilternet_processor, cases):
    """A few frames through one DeepFilterNet3 processor (its engine costs ~0.4 s to make
    and ~1 ms per 10 ms): sizes kept, stereo refused naming the channels."""
    _run_processor(deepfilternet_processor, cases, "deepfilternet()._process")


@settings(max_examples=n(40))
@given(
    st.lists(
        frames(
            rate=st.sampled_from([48000, 16000, 8000, 44100]),
            channels=st.sampled_from([1, 1, 1, 2]),
            max_size=1000,
        ),
        min_size=1,
        max_size=4,
    ),
    st.data(),
)
def test_rnnoise(cases, data):
    """rnnoise(): frames of their own size back; the instance (48 kHz mono, 480) takes any
    finite float32 (beyond full scale clipped, never NaN out) and int16 frame."""
    proc = filters.rnnoise()
    _run_processor(proc, cases, "rnnoise()._process")
    proc._close()
    inst = filters.rnnoise_filter().create(48000, 1)
    arr, one_frame, finite = data.draw(sample_arrays(inst.frame_size, 1))
    out = check(
        inst.process,
        arr,
        entry="FilterInstance.process (rnnoise)",
        allowed=_INSTANCE_ERRORS,
        names={"samples", "input"},  # "the input holds NaN"
        untouched=[arr],
    )
    if failed(out):
        assert not (one_frame and finite), f"refused: {out!r}"
    else:
        assert one_frame and out.shape == arr.shape and out.dtype == arr.dtype
        if out.dtype == np.float32:
            assert np.isfinite(out).all()
    inst.close()


@settings(max_examples=n(30))
@given(
    st.one_of(st.sampled_from(["rnnoise", "deepfilternet", "", "RNNoise"]), st.sampled_from(JUNK))
)
def test_plugin_path(name):
    out = check(
        filters.plugin_path,
        name,
        entry="filters.plugin_path",
        allowed=(FileNotFoundError,),
        names={"name", "plug-in"},
    )
    if not failed(out):
        assert out.is_file()
