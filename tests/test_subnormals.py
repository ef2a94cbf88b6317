"""Digital silence after speech: no subnormal float survives in any kernel (csrc/la_fpenv.c).

Recursive states fed exact zeros decay through the subnormal range, where many x86 cores run
10-100x slower. Every processing call runs with flush-to-zero / denormals-are-zero and restores
the caller's floating-point control word. These tests check the states (through a test hook
that classifies every float of the APM's state by bit pattern), the outputs, and the caller's
environment; ``LIVEKIT_AUDIO_IEEE_SUBNORMALS=1`` switches the flush off, which shows what it
prevents. No timing is asserted here (see benchmarks/bench_apm_silence.py).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from helpers import load_speech

from livekit_audio import (
    AudioFrame,
    AudioProcessingModule,
    AudioResampler,
    mix_frames,
    resample,
)
from livekit_audio._native import _mix
from livekit_audio._native import _resample as _native

FLT_MIN = np.finfo(np.float32).tiny

#: The configurations of issue 15's table (plus the echo canceller alone).
CONFIGS = {
    "hpf": dict(high_pass_filter=True),
    "hpf+ns": dict(high_pass_filter=True, noise_suppression=True),
    "aec": dict(echo_cancellation=True),
    "all": dict(
        high_pass_filter=True,
        noise_suppression=True,
        auto_gain_control=True,
        echo_cancellation=True,
    ),
}

ARCH = platform.machine().lower()
X86 = ARCH in ("x86_64", "amd64")
FLUSHES = not _native.fpenv_kind().startswith("none")
#: Control-word bits a call must give back unchanged. x86 MXCSR bits 0-5 are sticky
#: exception flags, which numpy clears between our calls; arm64 keeps flags out of FPCR.
CONTROL_BITS = ~0x3F if X86 else ~0
#: Rounding control toward +inf (x86 MXCSR RC = 10; arm64 FPCR RMode = 01).
ROUND_UP = (0x2 << 13) if X86 else (0x1 << 22)

needs_flush = pytest.mark.skipif(
    not FLUSHES, reason=f"no flush-to-zero control on this build ({_native.fpenv_kind()})"
)


def subnormal_count(x: np.ndarray) -> int:
    """Subnormal float32 values in ``x``, by bit pattern (immune to the caller's DAZ)."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    return int(np.count_nonzero(((bits & 0x7F800000) == 0) & ((bits & 0x007FFFFF) != 0)))


def speech_then_silence(
    speech_dir, rate: int, num_channels: int, speech_s: float, silence_s: float, voice: str
) -> np.ndarray:
    """Real speech at ``rate`` (channel c delayed by c ms), then exact digital silence."""
    x, r = load_speech(speech_dir, voice)
    x = x[: int(speech_s * r)]
    x = x if r == rate else resample(x, r, rate)
    shift = rate // 1000
    chans = [
        np.r_[np.zeros(c * shift, np.int16), x[: len(x) - c * shift]] for c in range(num_channels)
    ]
    speech = np.stack(chans, axis=1)
    silence = np.zeros((int(silence_s * rate), num_channels), np.int16)
    return np.concatenate([speech, silence])


def process(
    apm: AudioProcessingModule, capture: np.ndarray, rate: int, render: np.ndarray | None = None
) -> np.ndarray:
    """Capture (and render) through the module 10 ms at a time; the processed capture."""
    hop = rate // 100
    out = capture.copy()
    for i in range(0, len(out) - hop + 1, hop):
        if render is not None:
            apm.process_reverse_stream(
                AudioFrame.from_ndarray(render[i : i + hop], sample_rate=rate)
            )
        frame = AudioFrame.from_ndarray(out[i : i + hop], sample_rate=rate)
        apm.process_stream(frame)
        out[i : i + hop] = frame.to_ndarray()
    return out


@pytest.fixture
def caller_word():
    """The test's control word, restored whatever the test does to it."""
    saved = _native.fp_control_word()
    yield saved
    _native.set_fp_control_word(saved)


# --------------------------------------------------------------------------- APM states


@needs_flush
@pytest.mark.parametrize("rate", [8000, 16000, 32000, 48000])
@pytest.mark.parametrize("num_channels", [1, 2])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_apm_state_holds_no_subnormal_after_speech_then_silence(
    speech_dir, rate, num_channels, config
):
    """Speech, then 10 s of exact zeros (and a silent far end): every float of every stage's
    state is normal or zero, and the output is exactly zero once the stages have drained."""
    capture = speech_then_silence(
        speech_dir, rate, num_channels, 2.0, 10.0, "allison_demo-congrats_16k.wav"
    )
    render = np.zeros((len(capture), 1), np.int16)
    apm = AudioProcessingModule(**CONFIGS[config])
    out = process(apm, capture, rate, render if "echo_cancellation" in CONFIGS[config] else None)
    assert apm._core.subnormal_count() == 0
    silence_start = int(2.0 * rate)
    assert np.any(out[:silence_start] != 0), "speech must come through"
    assert not np.any(out[silence_start + rate :]), "output after 1 s of silence must be 0"


@needs_flush
@pytest.mark.parametrize("rate", [16000, 48000])
def test_echo_canceller_state_after_both_ends_fall_silent(speech_dir, rate):
    """Far end and near end both talk (echo and double talk), then both fall silent: the
    render-driven residual echo tail, the adaptive filters, the delay estimator and the band
    split drain to zeros or normal floats."""
    far = speech_then_silence(speech_dir, rate, 1, 4.0, 10.0, "june_fr-CA_female_16k.wav")
    near = speech_then_silence(speech_dir, rate, 1, 4.0, 10.0, "carlo_it-IT_male_16k.wav")
    delay = rate // 20  # a 50 ms acoustic path at -12 dB
    echo = np.r_[np.zeros(delay), far[: len(far) - delay, 0].astype(np.float64) * 0.25]
    capture = np.clip(near[:, 0] // 2 + echo, -32768, 32767).astype(np.int16)[:, None]
    apm = AudioProcessingModule(**CONFIGS["all"])
    out = process(apm, capture, rate, far)
    assert apm._core.subnormal_count() == 0
    assert not np.any(out[int(5.0 * rate) :])


def run_isolated(code: str, **env: str) -> str:
    """Run ``code`` in a fresh interpreter (an environment variable read once per process),
    from a directory outside the source tree so the installed package is the one imported."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=Path(__file__).parent,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


HPF_SILENCE_PROBE = """
    import numpy as np
    from livekit_audio import AudioFrame, AudioProcessingModule
    rng = np.random.default_rng(5)
    apm = AudioProcessingModule(high_pass_filter=True)
    noise = (rng.standard_normal((300, 480)) * 3000).astype(np.int16)
    for block in list(noise) + [np.zeros(480, np.int16)] * 500:
        apm.process_stream(AudioFrame.from_ndarray(block[:, None].copy(), sample_rate=48000))
    print(apm._core.subnormal_count())
"""


@needs_flush
def test_without_the_flush_the_high_pass_state_is_left_subnormal():
    """The hazard is real: with IEEE gradual underflow (LIVEKIT_AUDIO_IEEE_SUBNORMALS=1), the
    high-pass filter's state after 3 s of noise and 5 s of zeros holds subnormals (it settles
    in a limit cycle a few subnormal ulps wide); with the default flush it holds none."""
    assert int(run_isolated(HPF_SILENCE_PROBE, LIVEKIT_AUDIO_IEEE_SUBNORMALS="1")) > 0
    assert int(run_isolated(HPF_SILENCE_PROBE, LIVEKIT_AUDIO_IEEE_SUBNORMALS="0")) == 0


# --------------------------------------------------------------------------- other kernels


def decaying_tone(rate: int, seconds: float) -> np.ndarray:
    """A 440 Hz tone decaying from 0 dBFS through -300 dBFS and the whole subnormal range to
    exact zero (about -3000 dB per second), float32 in [-1, 1]."""
    t = np.arange(int(seconds * rate)) / rate
    x = np.sin(2 * np.pi * 440 * t) * 10.0 ** (-3000.0 * t / 20)
    return x.astype(np.float32)


@needs_flush
@pytest.mark.parametrize(
    ("in_rate", "out_rate"), [(48000, 16000), (16000, 48000), (44100, 48000), (8000, 48000)]
)
def test_resampler_float_path_through_the_subnormal_range(in_rate, out_rate):
    """A float32 signal decaying through -300 dBFS and FLT_MIN comes out with no subnormal
    value, exactly zero once the input is, and unchanged where it is far above FLT_MIN: there
    it equals the output for the same input scaled by 2^64 (exact in float32) and scaled back."""
    x = decaying_tone(in_rate, 1.0)
    assert subnormal_count(x) > 0 and x[-1] == 0.0
    y = resample(x, in_rate, out_rate)
    assert subnormal_count(y) == 0
    zero_from = np.flatnonzero(np.abs(x) >= FLT_MIN)[-1] / in_rate + 0.02
    assert not np.any(y[int(zero_from * out_rate) :])
    scaled = resample(x * np.float32(2.0**64), in_rate, out_rate) / np.float32(2.0**64)
    loud = np.abs(scaled) > 1e-30
    np.testing.assert_array_equal(y[loud], scaled[loud])


# --------------------------------------------------------------------------- caller's FP env


def kernel_calls(rng: np.random.Generator) -> dict[str, object]:
    """One call of every processing entry point, each returning what it computed. Inputs are
    made here, before the test changes the control word, and gains are exact in float32, so
    only the kernels' own arithmetic could depend on the caller's rounding mode."""
    speech = (rng.standard_normal(4800) * 4000).astype(np.int16)
    speech_f32 = speech.astype(np.float32) / np.float32(7.0)

    def apm() -> np.ndarray:
        m = AudioProcessingModule(
            echo_cancellation=True,
            noise_suppression=True,
            high_pass_filter=True,
            auto_gain_control=True,
        )
        out = []
        for i in range(0, 4800, 480):
            m.process_reverse_stream(
                AudioFrame.from_ndarray(speech[i : i + 480, None].copy(), sample_rate=48000)
            )
            f = AudioFrame.from_ndarray(speech[i : i + 480, None][::-1].copy(), sample_rate=48000)
            m.process_stream(f)
            out.append(f.to_ndarray().copy())
        return np.concatenate(out)

    def stream() -> np.ndarray:
        rs = AudioResampler(48000, 16000)
        frames = rs.push(AudioFrame.from_ndarray(speech[:, None].copy(), sample_rate=48000))
        frames += rs.flush()
        return np.concatenate([f.to_ndarray() for f in frames])

    def mix() -> np.ndarray:
        a = AudioFrame.from_ndarray(speech[:480, None].copy(), sample_rate=48000)
        b = AudioFrame.from_ndarray(speech[480:960, None].copy(), sample_rate=48000)
        return mix_frames([a, b], gains=[0.3125, 0.6875]).to_ndarray().copy()

    def gain() -> np.ndarray:
        buf = speech[:960].copy()
        _mix.gain(buf, 2, 0.375, 0.875)
        return buf

    return {
        "apm": apm,
        "resampler": stream,
        "resample float32": lambda: resample(speech_f32, 48000, 44100),
        "mix": mix,
        "gain ramp": gain,
    }


@needs_flush
@pytest.mark.parametrize("kernel", ["apm", "resampler", "resample float32", "mix", "gain ramp"])
@pytest.mark.parametrize("caller", ["default", "round up", "ftz already on"])
def test_caller_environment_untouched_and_results_independent_of_it(caller_word, kernel, caller):
    """A call leaves the caller's control word as it was (rounding mode, masks, FTZ/DAZ), and
    computes the same result whatever that word says: the kernels round to nearest."""
    reference = kernel_calls(np.random.default_rng(9))[kernel]()
    word = caller_word
    if caller == "round up":
        word |= ROUND_UP
    elif caller == "ftz already on":
        word |= 0x8040 if X86 else 1 << 24
    call = kernel_calls(np.random.default_rng(9))[kernel]
    _native.set_fp_control_word(word)
    try:
        got = call()
        after = _native.fp_control_word()
    finally:
        _native.set_fp_control_word(caller_word)
    assert after & CONTROL_BITS == word & CONTROL_BITS, (hex(after), hex(word))
    np.testing.assert_array_equal(got, reference)
