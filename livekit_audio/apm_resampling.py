"""Resampling around the APM core, so the module runs at any rate from 8 to 96 kHz.

The C core (``csrc/la_apm.c``) runs at 8, 16, 32 and 48 kHz. At any other rate
:class:`~livekit_audio.AudioProcessingModule` processes at the smallest of those at or above
the caller's rate (48 kHz above it), as WebRTC's APM does: the capture goes through
:class:`ResampledCapture` (up to the core's rate, the core, back down, written into the
caller's frame) and the far end through a :class:`ResamplingFifo`, both with the package's
polyphase resampler (MEDIUM, ``csrc/la_resample.c``) at the exact rate ratio.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from livekit_audio._native import _apm
from livekit_audio._native import _resample as _rs
from livekit_audio.resampler import MAX_PHASES, AudioResamplerQuality, _polyphase_filter

__all__ = [
    "SUPPORTED_SAMPLE_RATES",
    "ResampledCapture",
    "ResamplingFifo",
    "internal_rate",
    "render_fifo",
    "unconvertible",
]

#: Sample rates the C core runs at, in Hz: frames at these rates are processed as they are.
SUPPORTED_SAMPLE_RATES: tuple[int, ...] = _apm.NATIVE_RATES_HZ  # csrc/la_dsp.h
_QUALITY = AudioResamplerQuality.MEDIUM


def internal_rate(sample_rate: int) -> int:
    """The core rate a stream at ``sample_rate`` runs at: the smallest supported rate at or
    above it, 48 kHz for anything above 48 kHz."""
    for rate in SUPPORTED_SAMPLE_RATES:
        if rate >= sample_rate:
            return rate
    return SUPPORTED_SAMPLE_RATES[-1]


@functools.lru_cache(maxsize=64)
def unconvertible(sample_rate: int) -> str:
    """Why ``sample_rate`` cannot be resampled to or from every core rate ('' if it can)."""
    for rate in SUPPORTED_SAMPLE_RATES:
        g = math.gcd(sample_rate, rate)
        factor = max(rate // g, sample_rate // g)
        if factor > MAX_PHASES:
            return (
                f"{sample_rate} Hz <-> {rate} Hz needs an interpolation factor of {factor}, "
                f"the resampler supports up to {MAX_PHASES}"
            )
    return ""


class ResamplingFifo:
    """Streaming int16 rate conversion into a FIFO of shape ``(capacity, num_channels)``.

    With ``prime`` the resampler is first fed ``taps // 2`` zeros (:attr:`primed` input
    samples): it then holds nothing back, so after ``n`` input samples it has returned
    ``ceil(n * output_rate / input_rate)`` in all, lagging the input by ``primed`` input
    samples instead. The FIFO starts with ``lead`` zeros. ``buf[:fill]`` is the content.
    """

    __slots__ = ("input_rate", "num_channels", "primed", "buf", "fill", "_state")

    def __init__(
        self, bank: Any, input_rate: int, num_channels: int, *, prime: bool, lead: int = 0
    ) -> None:
        self.input_rate = input_rate
        self.num_channels = num_channels
        self._state = _rs.StreamState(bank, num_channels)
        output_rate = input_rate * bank.up // bank.down
        self.buf = np.zeros((lead + output_rate // 25 + 64, num_channels), np.int16)  # 40 ms
        self.fill = lead
        self.primed = bank.taps // 2 if prime else 0
        if self.primed:
            self.push(np.zeros(self.primed * num_channels, np.int16), self.primed)

    def _reserve(self, count: int) -> None:
        if self.fill + count > len(self.buf):
            grown = np.zeros(
                (max(self.fill + count, 2 * len(self.buf)), self.num_channels), np.int16
            )
            grown[: self.fill] = self.buf[: self.fill]
            self.buf = grown

    def push(self, samples: Any, count: int) -> None:
        """Resample ``count`` interleaved input frames (a C-contiguous int16 buffer)."""
        self._reserve(self._state.output_count(count))
        self.fill += self._state.process(samples, self.buf[self.fill :], _rs.FORMAT_S16)

    def flush(self, multiple: int) -> None:
        """Append the held-back tail, then zeros up to a multiple of ``multiple`` frames."""
        self._reserve(self._state.flush_count() + multiple)
        self.fill += self._state.flush(self.buf[self.fill :], _rs.FORMAT_S16)
        pad = -self.fill % multiple
        self.buf[self.fill : self.fill + pad] = 0
        self.fill += pad

    def pop(self, count: int) -> None:
        """Drop the first ``count`` frames."""
        rest = self.fill - count
        if rest:
            self.buf[:rest] = self.buf[count : self.fill]
        self.fill = rest


def _output_lead(rate: int, internal_rate: int, up: Any, down: Any) -> int:
    """Zeros the output FIFO of a resampled capture must start with so that it holds a whole
    frame after every call.

    After ``n`` caller samples (a multiple of ``rate // 100``) the primed up-converter has made
    ``ceil(n * up.up / up.down)`` internal samples, the core has taken the whole hops of them
    and the down-converter has returned ``ceil((taken - down.taps // 2) * down.up / down.down)``
    (``la_resampler_output_count``). The lead is the largest shortfall ``n - returned``; the
    pattern repeats every ``rate / gcd(rate, 100 * (rate // 100))`` frames and two periods are
    checked.
    """
    step = rate // 100
    hop = internal_rate // 100
    period = rate // math.gcd(rate, 100 * step)
    n = np.arange(1, 2 * period + 1, dtype=np.int64) * step
    made = -(-n * up.up // up.down)
    ahead = made - made % hop - down.taps // 2
    returned = np.where(ahead > 0, -(-ahead * down.up // down.down), 0)
    return max(0, int(np.max(n - returned)))


class ResampledCapture:
    """Capture at a rate the core does not run: caller rate -> internal rate -> core -> caller
    rate, written back into the caller's frame.

    The up-converter is primed, the down-converter's FIFO starts with :func:`_output_lead`
    zeros, so every call returns exactly as many samples as it was given. :attr:`lag` is the
    resulting delay in caller samples, besides the core's own.
    """

    __slots__ = ("_up", "_down", "_hop", "lag", "_busy")

    def __init__(self, rate: int, internal_rate: int, num_channels: int) -> None:
        up = _polyphase_filter(rate, internal_rate, _QUALITY)
        down = _polyphase_filter(internal_rate, rate, _QUALITY)
        lead = _output_lead(rate, internal_rate, up, down)
        self._up = ResamplingFifo(up, rate, num_channels, prime=True)
        self._down = ResamplingFifo(down, internal_rate, num_channels, prime=False, lead=lead)
        self._hop = internal_rate // 100
        self.lag = self._up.primed + lead
        self._busy = False

    def process(self, core: Any, samples: memoryview, count: int) -> None:
        """Process ``count`` frames of the caller's writable int16 ``samples`` in place."""
        if self._busy:
            raise RuntimeError(
                "this AudioProcessingModule is already in use by another thread; "
                "use one module per stream"
            )
        self._busy = True
        try:
            up, down = self._up, self._down
            up.push(samples, count)
            whole = up.fill - up.fill % self._hop
            if whole:
                block = up.buf[:whole]
                core.process_capture(block)
                down.push(block, whole)
                up.pop(whole)
            if down.fill < count:  # not reached with multiples of rate // 100: kept exact anyway
                short = count - down.fill
                down.buf = np.concatenate([np.zeros_like(down.buf[:short]), down.buf])
                down.fill += short
                self.lag += short
            np.frombuffer(samples, np.int16)[:] = down.buf[:count].reshape(-1)
            down.pop(count)
        finally:
            self._busy = False


def render_fifo(input_rate: int, core_rate: int, num_channels: int) -> ResamplingFifo:
    """A primed FIFO taking far-end audio at ``input_rate`` to the core's rate."""
    bank = _polyphase_filter(input_rate, core_rate, _QUALITY)
    return ResamplingFifo(bank, input_rate, num_channels, prime=True)
