"""AudioFilter: the plug-in loader, FilterInstance and FilterProcessor.

Plug-ins are real shared libraries compiled here with the system C compiler: the example
plug-in of ``examples/filter_plugin/`` (gain + one-pole high-pass, checked against its
closed-form response) and the variants of ``tests/plugins/misbehaving_plugin.c``, each
breaking one rule of the ABI.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soxr
from helpers import EXAMPLE_PLUGIN, MISBEHAVING_PLUGIN, build_plugin

import livekit_audio as la
from livekit_audio.audio_filter import AudioFilter, FilterError, get_filter, get_include
from livekit_audio.filter_processor import FilterProcessor


@pytest.fixture(scope="module")
def plugins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("plugins")
    built = {"example": build_plugin(EXAMPLE_PLUGIN, d / "libgain_highpass.so")}
    for name, flag in [
        ("misbehaving", None),
        ("bad_abi", "-DBAD_ABI"),
        ("null_process", "-DNULL_PROCESS"),
        ("bad_rates", "-DBAD_RATES"),
        ("no_entry", "-DNO_ENTRY"),
        ("dependency", "-DDEPENDENCY_LIB"),
    ]:
        flags = [flag] if flag else []
        if flag == "-DNULL_PROCESS":
            flags.append("-Wno-unused-function")
        built[name] = build_plugin(MISBEHAVING_PLUGIN, d / f"lib{name}.so", *flags)
    return built


@pytest.fixture(scope="module")
def example(plugins: dict[str, Path]) -> AudioFilter:
    return AudioFilter("test_gain_highpass", plugins["example"])


@pytest.fixture(scope="module")
def misbehaving(plugins: dict[str, Path]) -> AudioFilter:
    return AudioFilter("test_misbehaving", plugins["misbehaving"])


def _speechlike(n: int, rate: int, seed: int = 1, top_hz: float | None = None) -> np.ndarray:
    """Seeded noise band-limited to 100 Hz .. ``top_hz`` (default 0.4 x rate) with a
    speech-like envelope, int16, peak about -6 dBFS."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(n, 1 / rate)
    spec[(f < 100) | (f > (top_hz or 0.4 * rate))] = 0
    x = np.fft.irfft(spec, n)
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 3.0 * np.arange(n) / rate)
    x = x * envelope
    return np.round(x / np.max(np.abs(x)) * 16000).astype(np.int16)


def _run(proc: FilterProcessor, x: np.ndarray, rate: int, size: int) -> np.ndarray:
    out = []
    for i in range(0, len(x) - size + 1, size):
        frame = la.AudioFrame.from_ndarray(x[i : i + size], rate)
        y = proc._process(frame)
        assert y.samples_per_channel == size
        out.append(y.to_ndarray()[:, 0])
    return np.concatenate(out)


# -- loading ---------------------------------------------------------------------------------


def test_get_include_holds_the_header() -> None:
    header = Path(get_include()) / "livekit_audio" / "filter_plugin.h"
    assert header.is_file()
    assert "LA_FILTER_ABI_VERSION 1u" in header.read_text()
    assert la.PLUGIN_ABI_VERSION == 1


def test_example_table(example: AudioFilter) -> None:
    assert example.name == "gain_highpass"
    assert example.sample_rates_hz == (8000, 16000, 24000, 32000, 44100, 48000)
    assert example.max_channels == 8
    assert "high-pass" in example.description
    assert get_filter("test_gain_highpass") is example


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.so"):
        AudioFilter("x", tmp_path / "nope.so")


def test_not_a_shared_library(tmp_path: Path) -> None:
    junk = tmp_path / "junk.so"
    junk.write_bytes(b"not an ELF file")
    with pytest.raises(OSError, match="cannot load filter plug-in"):
        AudioFilter("junk", junk)


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        ("no_entry", "does not export la_filter_plugin_entry"),
        ("bad_abi", "built for plug-in ABI version 99, this livekit_audio hosts version 1"),
        ("null_process", "table's process is NULL"),
        ("bad_rates", "strictly ascending"),
    ],
)
def test_rejected_plugins(plugins: dict[str, Path], variant: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AudioFilter(f"bad_{variant}", plugins[variant])
    with pytest.raises(KeyError, match=f"bad_{variant}"):
        get_filter(f"bad_{variant}")  # a rejected plug-in is not registered


def test_registry_rules(plugins: dict[str, Path], example: AudioFilter) -> None:
    again = AudioFilter("test_gain_highpass", plugins["example"])
    assert again.path == example.path
    with pytest.raises(ValueError, match="already loaded from"):
        AudioFilter("test_gain_highpass", plugins["misbehaving"])
    with pytest.raises(KeyError, match="load it first"):
        get_filter("never_loaded")
    with pytest.raises(TypeError, match="module_id must be a str"):
        AudioFilter(3, plugins["example"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must not be empty"):
        AudioFilter("", plugins["example"])


def test_dependencies_are_loaded_first_and_global(plugins: dict[str, Path]) -> None:
    # Before its dependency is loaded the plug-in cannot resolve the vendor symbol (unless
    # another test of this process loaded a copy of the dependency already) ...
    alone = AudioFilter("test_dep_alone", plugins["misbehaving"])
    if not hasattr(ctypes.CDLL(None), "la_test_dependency_gain"):
        with pytest.raises(FilterError, match="LA_FILTER_ERR_DEPENDENCY.*load the dependency"):
            alone.create(48000, 1, need_dependency=1)
    with pytest.raises(FileNotFoundError, match="filter dependency"):
        AudioFilter("test_dep", plugins["misbehaving"], dependencies=["/no/such/lib.so"])
    # ... with it, the plug-in finds it (RTLD_GLOBAL) and uses it: gain 0.5.
    f = AudioFilter("test_dep", plugins["misbehaving"], dependencies=[str(plugins["dependency"])])
    inst = f.create(48000, 1, need_dependency=1)
    x = np.full(480, 0.25, np.float32)
    np.testing.assert_array_equal(inst.process(x), np.full(480, 0.125, np.float32))


# -- instances -------------------------------------------------------------------------------


def test_create_rejects_what_the_plugin_refuses(example: AudioFilter) -> None:
    with pytest.raises(ValueError, match="12345 Hz not supported.*UNSUPPORTED_RATE"):
        example.create(12345, 1)
    with pytest.raises(ValueError, match="num_channels must be in 1..8"):
        example.create(48000, 9)
    with pytest.raises(ValueError, match='unknown option "gain".*BAD_OPTIONS'):
        example.create(48000, 1, gain=3)
    with pytest.raises(ValueError, match="gain_db must be in"):
        example.create(48000, 1, gain_db=40)
    with pytest.raises(ValueError, match="JSON-serialisable"):
        example.create(48000, 1, gain_db=float("nan"))
    with pytest.raises(TypeError, match="sample_rate_hz must be an int"):
        example.create(48000.0, 1)  # type: ignore[arg-type]


def test_gain_is_exact(example: AudioFilter) -> None:
    inst = example.create(16000, 2, gain_db=-6.0)
    assert (inst.frame_size, inst.latency_samples) == (160, 0)
    rng = np.random.default_rng(3)
    x = rng.integers(-30000, 30000, size=(160, 2)).astype(np.int16)
    expected = np.clip(np.rint(x * np.float32(10 ** (-6 / 20))), -32768, 32767)
    got = inst.process(x)
    assert got.dtype == np.int16 and got.shape == (160, 2)
    assert np.max(np.abs(got.astype(int) - expected)) <= 1
    f = rng.uniform(-0.9, 0.9, size=(160, 2)).astype(np.float32)
    np.testing.assert_allclose(inst.process(f), f * 10 ** (-6 / 20), rtol=1e-6)


@pytest.mark.parametrize("freq_hz", [50.0, 100.0, 400.0, 2000.0])
def test_highpass_matches_closed_form(example: AudioFilter, freq_hz: float) -> None:
    rate, fc = 16000, 100.0
    inst = example.create(rate, 1, highpass_hz=fc)
    n = rate  # 1 s: the transient of a pole at 0.96 is gone after 0.1 s
    t = np.arange(n) / rate
    x = (0.5 * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)
    y = np.concatenate([inst.process(x[i : i + 160]) for i in range(0, n, 160)])
    a = 1.0 / (1.0 + 2 * np.pi * fc / rate)
    z = np.exp(-1j * 2 * np.pi * freq_hz / rate)
    expected_db = 20 * np.log10(abs(a * (1 - z) / (1 - a * z)))
    steady = slice(rate // 2, n)
    got_db = 20 * np.log10(np.std(y[steady]) / np.std(x[steady]))
    assert got_db == pytest.approx(expected_db, abs=0.05)


def test_float_input_must_be_finite_and_one_frame(misbehaving: AudioFilter) -> None:
    inst = misbehaving.create(48000, 1)
    bad = np.zeros(480, np.float32)
    bad[7] = np.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        inst.process(bad)
    with pytest.raises(ValueError, match=r"shape \(480, 1\)"):
        inst.process(np.zeros(479, np.float32))
    with pytest.raises(TypeError, match="float32 or int16"):
        inst.process(np.zeros(480, np.float64))
    inst.close()
    inst.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        inst.process(np.zeros(480, np.float32))


def test_plugin_error_and_nan_are_exceptions(misbehaving: AudioFilter) -> None:
    inst = misbehaving.create(48000, 1, fail_at=1, nan_at=2)
    x = np.full(480, 1000, np.int16)
    np.testing.assert_array_equal(inst.process(x), x)
    with pytest.raises(FilterError, match="LA_FILTER_ERR_PROCESSING.*engine failed on call 1"):
        inst.process(x)
    with pytest.raises(FilterError, match="NON_FINITE_OUTPUT") as info:
        inst.process(x)
    assert info.value.plugin == "misbehaving"
    np.testing.assert_array_equal(inst.process(x), x)  # the instance carries on


def test_one_thread_at_a_time_and_gil_released(misbehaving: AudioFilter) -> None:
    inst = misbehaving.create(48000, 1, sleep_ms=400)
    x = np.zeros(480, np.float32)
    started = threading.Event()
    ticks = []

    def worker() -> None:
        started.set()
        inst.process(x)

    t = threading.Thread(target=worker)
    t.start()
    started.wait()
    time.sleep(0.1)  # the worker is inside process(), sleeping without the GIL
    ticks.append(time.monotonic())  # this thread runs meanwhile: the GIL is free
    with pytest.raises(RuntimeError, match="in use by another thread"):
        inst.process(x)
    with pytest.raises(RuntimeError, match="in use by another thread"):
        inst.close()
    t.join()
    assert ticks
    inst.close()


# -- the frame processor ---------------------------------------------------------------------


@pytest.mark.parametrize(("rate", "size"), [(48000, 480), (48000, 1024), (16000, 320), (8000, 77)])
def test_processor_same_rate_is_delayed_gain(example: AudioFilter, rate: int, size: int) -> None:
    proc = example.processor(gain_db=-6.0)
    x = _speechlike(rate, rate)
    y = _run(proc, x, rate, size)
    d = proc.delay_samples
    n = rate // 100
    assert d == n - np.gcd(size, n)  # the framing lead, exactly
    assert np.all(y[:d] == 0)
    expected = np.clip(np.rint(x[: len(y) - d] * np.float32(10 ** (-6 / 20))), -32768, 32767)
    assert np.max(np.abs(y[d:].astype(int) - expected)) <= 1


@pytest.mark.parametrize(("rate", "size"), [(22050, 441), (11025, 256), (96000, 960)])
def test_processor_resamples_to_the_plugin_rate(example: AudioFilter, rate: int, size: int) -> None:
    # 22.05 kHz runs the plug-in at 24 kHz, 11.025 at 16 kHz, 96 kHz at 48 kHz (highest).
    proc = example.processor(gain_db=0.0)
    x = _speechlike(2 * rate, rate, top_hz=0.4 * min(rate, 48000))  # in both passbands
    y = _run(proc, x, rate, size)
    inst = proc.instance
    assert inst is not None
    assert inst.sample_rate_hz == {22050: 24000, 11025: 16000, 96000: 48000}[rate]
    d = proc.delay_samples
    # The reported delay is where the output lines up with the input: the cross-correlation
    # peaks there, and the aligned signals agree to the resampler's accuracy (soxr's round
    # trip, an independent resampler, as the reference).
    lags = np.arange(0, d + 50)
    seg = x[: len(y) - lags[-1]].astype(float)
    corr = [np.dot(y[lag : lag + len(seg)].astype(float), seg) for lag in lags]
    assert int(lags[int(np.argmax(corr))]) == d
    inner = inst.sample_rate_hz
    if inner != rate:
        ref = soxr.resample(soxr.resample(x.astype(np.float32), rate, inner), inner, rate)
    else:
        ref = x.astype(np.float32)
    m = min(len(y) - d, len(ref)) - rate // 10
    body = slice(rate // 10, m)
    err = y[d:][body].astype(float) - ref[body]
    snr_db = 10 * np.log10(np.sum(ref[body].astype(float) ** 2) / np.sum(err**2))
    assert snr_db > 30.0


def test_processor_rejects_too_many_channels(misbehaving: AudioFilter) -> None:
    proc = misbehaving.processor()
    frame = la.AudioFrame.create(48000, 2, 480)
    with pytest.raises(ValueError, match="at most 1 channel.*2-channel frame"):
        proc._process(frame)


def test_processor_error_leaves_frame_untouched_and_restarts(misbehaving: AudioFilter) -> None:
    proc = misbehaving.processor(fail_at=3)
    x = _speechlike(48000, 48000)
    frames = [la.AudioFrame.from_ndarray(x[i : i + 480].copy(), 48000) for i in range(0, 4800, 480)]
    before = [f.to_ndarray().copy() for f in frames]
    outs = []
    for f in frames[:3]:
        outs.append(proc._process(f))
    with pytest.raises(FilterError, match="engine failed on call 3"):
        proc._process(frames[3])
    for f, b in zip(frames, before, strict=True):
        np.testing.assert_array_equal(f.to_ndarray(), b)  # inputs never written
    # The next frame starts a fresh instance: its output is the input (pass-through, no lead).
    y = proc._process(frames[4])
    np.testing.assert_array_equal(y.to_ndarray(), before[4])
    proc._close()
    with pytest.raises(RuntimeError, match="closed"):
        proc._process(frames[5])


def test_processor_nan_output_is_an_error(misbehaving: AudioFilter) -> None:
    proc = misbehaving.processor(nan_at=0)
    with pytest.raises(FilterError, match="NON_FINITE_OUTPUT"):
        proc._process(la.AudioFrame.create(48000, 1, 480))


def test_processor_options_checked_up_front(example: AudioFilter) -> None:
    with pytest.raises(ValueError, match="JSON-serialisable"):
        example.processor(gain_db=object())
    with pytest.raises(ValueError, match="gain_db must be in"):
        example.processor(gain_db=99)  # checked when the processor is made


def test_processor_writes_livekit_frames_in_place(example: AudioFilter) -> None:
    rtc = pytest.importorskip("livekit.rtc")
    proc = example.processor(gain_db=-20.0)
    frame = rtc.AudioFrame.create(48000, 1, 480)
    np.frombuffer(frame.data, np.int16)[:] = 10000
    out = proc._process(frame)
    assert out is frame
    assert set(np.frombuffer(frame.data, np.int16).tolist()) == {1000}


# -- in an AudioStream -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_stream_with_noise_cancellation_options(example: AudioFilter) -> None:
    source = la.AudioSource(16000, 1, realtime=False)
    track = la.LocalAudioTrack.create_audio_track("mic", source)
    options = la.NoiseCancellationOptions("test_gain_highpass", {"gain_db": -20.0})
    stream = la.AudioStream(track, sample_rate=16000, noise_cancellation=options)
    for _ in range(3):
        await source.capture_frame(la.AudioFrame.from_ndarray(np.full(160, 10000, np.int16), 16000))
    await source.wait_for_playout()
    got = [(await stream.__anext__()).frame.to_ndarray() for _ in range(3)]
    await stream.aclose()
    await source.aclose()
    assert {int(v) for v in np.concatenate(got).ravel()} == {1000}
    assert stream.stats.processor_errors == 0
    with pytest.raises(KeyError, match="no_such_filter"):
        la.AudioStream(track, noise_cancellation=la.NoiseCancellationOptions("no_such_filter"))


@pytest.mark.asyncio
async def test_stream_accepts_livekit_noise_cancellation_options(example: AudioFilter) -> None:
    rtc = pytest.importorskip("livekit.rtc")
    source = la.AudioSource(48000, 1, realtime=False)
    track = la.LocalAudioTrack.create_audio_track("mic", source)
    options = rtc.NoiseCancellationOptions(module_id="test_gain_highpass", options={})
    stream = la.AudioStream(track, noise_cancellation=options)
    assert isinstance(stream._processor, FilterProcessor)
    await stream.aclose()
    await source.aclose()


# -- a crashing plug-in ----------------------------------------------------------------------


def test_crashing_plugin_takes_the_process_down_with_a_traceback(
    plugins: dict[str, Path], tmp_path: Path
) -> None:
    # A plug-in runs in the host process: a segfault in it cannot be caught. What a user sees
    # (with faulthandler on) is the Python stack that called into the plug-in.
    script = tmp_path / "crash.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import numpy as np
            import livekit_audio as la
            f = la.AudioFilter("crashy", {str(plugins["misbehaving"])!r})
            proc = f.processor(crash_at=1)
            for _ in range(3):
                proc._process(la.AudioFrame.create(48000, 1, 480))
            print("survived")
            """
        )
    )
    run = subprocess.run(
        [sys.executable, "-X", "faulthandler", str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert run.returncode != 0
    assert "survived" not in run.stdout
    if "asan" in os.environ.get("LD_PRELOAD", ""):  # .ci/sanitize: ASan may report it first
        assert "SEGV" in run.stderr or "Segmentation fault" in run.stderr
    else:
        assert "Segmentation fault" in run.stderr
        assert "filter_processor.py" in run.stderr  # the Python frame that called the plug-in


def test_loop_is_not_needed_for_processing(example: AudioFilter) -> None:
    # Plain synchronous use (no event loop): offline processing with the processor.
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()
    proc = example.processor()
    out = proc._process(la.AudioFrame.create(48000, 1, 480))
    assert out.samples_per_channel == 480


@pytest.mark.parametrize(("rate", "size"), [(48000, 480), (22050, 441), (16000, 512)])
def test_stage_output_is_aligned_and_exactly_as_long(
    example: AudioFilter, rate: int, size: int
) -> None:
    from livekit_audio.filter_processor import FilterStage

    stage = FilterStage(example.processor(gain_db=0.0))
    x = _speechlike(rate + 123, rate, top_hz=0.4 * min(rate, 24000))
    out = []
    for i in range(0, len(x), size):
        out += stage.push(la.AudioFrame.from_ndarray(x[i : i + size], rate))
    out += stage.flush()
    y = np.concatenate([f.to_ndarray()[:, 0] for f in out])
    assert len(y) == len(x)
    if rate in example.sample_rates_hz:
        np.testing.assert_array_equal(y, x)  # gain 0 dB at a native rate: the identity
    else:
        err = y.astype(float) - x
        body = slice(rate // 10, len(x) - rate // 10)
        snr_db = 10 * np.log10(np.sum(x[body].astype(float) ** 2) / np.sum(err[body] ** 2))
        assert snr_db > 30.0  # aligned to the sample: a one-sample slip would be ~10 dB
    with pytest.raises(TypeError, match="FilterProcessor"):
        FilterStage(object())  # type: ignore[arg-type]
    stage.close()


def test_direct_path_equals_the_framed_path(
    example: AudioFilter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whole plug-in frames at the plug-in's rate skip the framing buffer and the re-aligner;
    # the output must be bit-identical to the general path's (a stateful high-pass shows
    # any slip).
    from livekit_audio import filter_processor

    x = _speechlike(48000, 48000, seed=7)
    fast = example.processor(gain_db=-3.0, highpass_hz=120)
    y_fast = _run(fast, x, 48000, 480)
    monkeypatch.setattr(filter_processor._Pipeline, "direct", lambda self, frame, size: False)
    slow = example.processor(gain_db=-3.0, highpass_hz=120)
    y_slow = _run(slow, x, 48000, 480)
    np.testing.assert_array_equal(y_fast, y_slow)
    assert fast.delay_samples == slow.delay_samples == 0
