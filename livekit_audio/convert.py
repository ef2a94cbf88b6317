"""StreamConverter: sample-rate, channel-count and frame-size conversion of one int16 stream.

The package's one stream conversion: :class:`~livekit_audio.AudioStream`,
:class:`~livekit_audio.AudioMixer`, the ``livekit-audio`` command, the decoders
(:mod:`livekit_audio.codecs`) and the LiveKit bridge all convert through it. Rates go through
:class:`~livekit_audio.AudioResampler` (the polyphase kernel of ``csrc/la_resample.c``),
channels through :func:`~livekit_audio.channels.remix_channels` and framing through the
package's re-chunking buffer (the one :class:`~livekit_audio.FrameChunker` uses).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from livekit_audio.audio_frame import (
    MAX_NUM_CHANNELS,
    MAX_SAMPLES_PER_CHANNEL,
    AudioFrame,
    _check_positive_int,
    frame_layout,
    frame_samples,
    wrap_samples,
)
from livekit_audio.channels import remix_channels
from livekit_audio.frame_chunker import _FrameRing
from livekit_audio.resampler import (
    AudioResampler,
    AudioResamplerQuality,
    _check_channels,
    _check_rate,
    _coerce_quality,
)

__all__ = ["StreamConverter"]


def _check_channel_count(name: str, channels: object) -> int:
    """1 to ``MAX_NUM_CHANNELS`` (any frame's channel count). Only ``min(input_channels,
    output_channels)`` channels are ever resampled; that count is checked against the
    resampler's limit when the rates differ (:meth:`StreamConverter._new_resampler`)."""
    count = _check_positive_int(name, channels)
    if count > MAX_NUM_CHANNELS:
        raise ValueError(f"{name} must be <= {MAX_NUM_CHANNELS}, got {count}")
    return count


class StreamConverter:
    """Convert a stream of int16 frames to another sample rate, channel count and frame size.

    Parameters
    ----------
    input_rate : int
        Sample rate in Hz of the frames pushed, > 0.
    input_channels : int
        Interleaved channels of the frames pushed, 1 to 1024.
    output_rate : int
        Sample rate in Hz of the frames returned, > 0. When it differs from ``input_rate``
        both must be within [1000, 768000] and form a pair the resampler supports (see
        :class:`~livekit_audio.AudioResampler`); equal rates are not resampled, whatever they
        are.
    output_channels : int
        Interleaved channels of the frames returned, 1 to 1024. Down-mixing happens before
        the resampler, up-mixing after it, so it resamples ``min(input_channels,
        output_channels)`` channels, at most 8 when the rates differ.
    samples_per_frame : int, optional
        Samples per channel of every frame returned, > 0; the remainder is held until more
        input arrives or :meth:`flush`. None (default): one frame per :meth:`push` with
        everything the push made available (none when the resampler holds it all back).
    quality : AudioResamplerQuality or str, keyword-only
        Resampler preset, default MEDIUM (as :class:`~livekit_audio.AudioStream`).

    Notes
    -----
    Algorithm, per push: down-mix (fewer channels to resample), resample, up-mix, cut into
    frames. Down-mixing averages input channels ``j, j + out, j + 2*out, ...`` into output
    channel ``j`` (every channel into mono), rounding to nearest with ties to even;
    up-mixing copies input channel ``j % in`` into output channel ``j``
    (:func:`~livekit_audio.channels.remix_channels`). Resampling is the streaming polyphase
    FIR of :class:`~livekit_audio.AudioResampler` (Crochiere & Rabiner 1983, ch. 3), so the
    output is bit-identical to ``AudioResampler`` + ``remix_channels`` + re-chunking done
    by hand, for any split of the input into pushes, and after :meth:`flush` exactly
    ``round(n_in * output_rate / input_rate)`` samples per channel have come out.

    Every frame returned is a new int16 :class:`~livekit_audio.AudioFrame` at
    ``output_rate`` / ``output_channels``, writable and owned by the caller: it never
    aliases the input or a buffer the converter writes again. With equal rates and channel
    counts and no ``samples_per_frame`` (pass-through) the input is still copied.

    The input format is fixed per converter (a frame at another rate or channel count is a
    ``ValueError``). A stream whose format changes mid-way either flushes this converter and
    starts a new one (the flush ends with a short frame), or calls :meth:`set_input_format`,
    which releases the old resampler's tail and keeps the framing going, so every frame but
    the last stays exactly ``samples_per_frame`` long.

    One converter serves one stream, called from one thread at a time: it is not reentrant
    (overlapping calls are detected only inside the resampler, which raises
    ``RuntimeError``).

    Cost: the kernel writes straight into the framing buffer when no up-mix is needed, so a
    48 kHz -> 16 kHz mono push of 10 ms with ``samples_per_frame=160`` costs about as much as
    a bare :meth:`AudioResampler.push` (one frame copy more, no intermediate frame).

    Raises
    ------
    TypeError
        If a rate, channel count or ``samples_per_frame`` is not an int.
    ValueError
        If one is out of range, ``quality`` is unknown, or the resampler does not support the
        rate pair (the message says why).

    Examples
    --------
    >>> from livekit_audio import AudioFrame, StreamConverter
    >>> conv = StreamConverter(48000, 2, 16000, 1, samples_per_frame=160)
    >>> frames = conv.push(AudioFrame.create(48000, 2, 480))  # 10 ms in
    >>> [f.samples_per_channel for f in frames + conv.flush()]
    [160]
    """

    __slots__ = (
        "_direct",
        "_in_channels",
        "_in_rate",
        "_out_channels",
        "_out_rate",
        "_quality",
        "_resampler",
        "_ring",
        "_size",
    )

    def __init__(
        self,
        input_rate: int,
        input_channels: int,
        output_rate: int,
        output_channels: int,
        samples_per_frame: int | None = None,
        *,
        quality: AudioResamplerQuality | str = AudioResamplerQuality.MEDIUM,
    ) -> None:
        self._out_rate = _check_positive_int("output_rate", output_rate)
        self._out_channels = _check_channel_count("output_channels", output_channels)
        if samples_per_frame is None:
            self._size: int | None = None
        else:
            self._size = _check_positive_int("samples_per_frame", samples_per_frame)
            if self._size > MAX_SAMPLES_PER_CHANNEL:
                raise ValueError(
                    f"samples_per_frame must be <= {MAX_SAMPLES_PER_CHANNEL}, got {self._size}"
                )
        self._quality = _coerce_quality(quality)
        self._ring = (
            None
            if self._size is None
            else _FrameRing(self._out_rate, self._out_channels, self._size)
        )
        in_rate = _check_positive_int("input_rate", input_rate)
        in_channels = _check_channel_count("input_channels", input_channels)
        self._set_input(in_rate, in_channels, self._new_resampler(in_rate, in_channels))

    def _new_resampler(self, rate: int, channels: int) -> AudioResampler | None:
        """The resampler for input at ``rate`` with ``channels`` (None for equal rates).

        Raises
        ------
        ValueError
            If a rate is outside the resampler's range, more than 8 channels would have to
            be resampled, or the resampler does not support the rate pair.
        """
        if rate == self._out_rate:
            return None
        _check_rate("input_rate", rate)
        _check_rate("output_rate", self._out_rate)
        work = _check_channels(
            min(channels, self._out_channels), "min(input_channels, output_channels)"
        )
        return AudioResampler(rate, self._out_rate, num_channels=work, quality=self._quality)

    def _set_input(self, rate: int, channels: int, resampler: AudioResampler | None) -> None:
        self._in_rate = rate
        self._in_channels = channels
        self._resampler = resampler
        # resampled straight into the framing buffer: no channel change, framing on
        self._direct = (
            resampler is not None and self._ring is not None and channels == self._out_channels
        )

    # -- properties -----------------------------------------------------------------------

    @property
    def input_rate(self) -> int:
        """Sample rate in Hz of the frames pushed."""
        return self._in_rate

    @property
    def input_channels(self) -> int:
        """Channels of the frames pushed."""
        return self._in_channels

    @property
    def output_rate(self) -> int:
        """Sample rate in Hz of the frames returned."""
        return self._out_rate

    @property
    def output_channels(self) -> int:
        """Channels of the frames returned."""
        return self._out_channels

    @property
    def samples_per_frame(self) -> int | None:
        """Samples per channel of every frame returned (the last one of a flush may be
        shorter), or None: one frame per push, of whatever size."""
        return self._size

    @property
    def quality(self) -> AudioResamplerQuality:
        """The resampler preset."""
        return self._quality

    @property
    def latency(self) -> int:
        """Output samples per channel the resampler holds back in steady state (its group
        delay at ``output_rate``, :attr:`AudioResampler.latency`); 0 when the rates are
        equal. Framing holds up to ``samples_per_frame - 1`` more (:attr:`pending_samples`).
        """
        resampler = self._resampler
        return 0 if resampler is None else resampler.latency

    @property
    def latency_ms(self) -> float:
        """:attr:`latency` in milliseconds."""
        return 1000.0 * self.latency / self._out_rate

    @property
    def pending_samples(self) -> int:
        """Output samples per channel converted but held until they make a whole frame
        (always 0 without ``samples_per_frame``)."""
        ring = self._ring
        return 0 if ring is None else ring.held

    def __repr__(self) -> str:
        return (
            f"StreamConverter(input_rate={self._in_rate}, input_channels={self._in_channels}, "
            f"output_rate={self._out_rate}, output_channels={self._out_channels}, "
            f"samples_per_frame={self._size}, quality={self._quality.name}, "
            f"latency={self.latency})"
        )

    # -- input --------------------------------------------------------------------------

    def _check_format(self, rate: int, channels: int) -> None:
        if rate != self._in_rate:
            raise ValueError(
                f"frame sample_rate mismatch: expected input_rate={self._in_rate}, got {rate} "
                "(use set_input_format, or a new converter, for another input format)"
            )
        if channels != self._in_channels:
            raise ValueError(
                f"frame num_channels mismatch: expected input_channels={self._in_channels}, "
                f"got {channels} (use set_input_format, or a new converter, for another "
                "input format)"
            )

    def _input(self, frame: Any) -> tuple[Any, int]:
        """The validated samples of a frame-like object or array (flat, C-contiguous int16)
        and their count per channel."""
        if isinstance(frame, np.ndarray):
            if frame.dtype != np.int16:
                raise TypeError(
                    f"frame array must have dtype int16, got {frame.dtype}; convert "
                    "explicitly, e.g. np.clip(x * 32768, -32768, 32767).astype(np.int16)"
                )
            if frame.ndim == 1:
                if self._in_channels != 1:
                    raise ValueError(
                        f"a 1-D frame array is mono, but input_channels is "
                        f"{self._in_channels}: pass shape (samples, {self._in_channels})"
                    )
            elif frame.ndim != 2:
                raise ValueError(
                    f"frame array must be 1-D (mono) or 2-D (samples, channels), got shape "
                    f"{frame.shape}"
                )
            elif frame.shape[1] != self._in_channels:
                raise ValueError(
                    f"frame array has {frame.shape[1]} channels (shape {frame.shape}), "
                    f"expected input_channels={self._in_channels}"
                )
            return np.ascontiguousarray(frame).reshape(-1), frame.shape[0]
        if not hasattr(frame, "samples_per_channel"):
            raise TypeError(
                "push expects an AudioFrame (or any object with data, sample_rate, "
                "num_channels, samples_per_channel) or an int16 numpy array, got "
                f"{type(frame).__name__}"
            )
        rate, channels, n = frame_layout(frame)
        self._check_format(rate, channels)
        return frame_samples(frame), n

    def push(self, frame: Any) -> list[AudioFrame]:
        """Convert the next piece of the stream.

        Parameters
        ----------
        frame : AudioFrame, frame-like or numpy.ndarray
            A frame at ``input_rate`` with ``input_channels`` channels, any size (ours, or
            any object with ``data``, ``sample_rate``, ``num_channels``,
            ``samples_per_channel``, e.g. ``livekit.rtc.AudioFrame``), or int16 samples at
            ``input_rate``: an array of shape ``(samples, input_channels)`` in any memory
            order, or 1-D ``(samples,)`` when ``input_channels`` is 1. Not modified.

        Returns
        -------
        list of AudioFrame
            With ``samples_per_frame``: every whole frame now available (possibly none).
            Without: at most one frame, with every output sample the push made available.
            int16 at ``output_rate`` / ``output_channels``, new writable memory.

        Raises
        ------
        TypeError
            If ``frame`` is neither a frame nor an int16 array, or a field of it is not an int.
        ValueError
            If its sample rate or channel count differs from the converter's input (the
            message gives both), or an array has the wrong shape.
        RuntimeError
            If another thread is inside this converter's resampler.
        """
        if type(frame) is AudioFrame:  # the per-frame fast path: our frames are valid
            rate, channels, n = frame_layout(frame)
            if rate != self._in_rate or channels != self._in_channels:
                self._check_format(rate, channels)
            samples = frame_samples(frame)
        else:
            samples, n = self._input(frame)
        if n == 0:
            return []
        if self._direct:  # the hot path: the kernel writes straight into the framing buffer
            resampler, ring, channels = self._resampler, self._ring, self._out_channels
            count = resampler._output_count(n) * channels  # type: ignore[union-attr]
            fill = ring.fill  # type: ignore[union-attr]
            if fill + count > len(ring.samples):  # type: ignore[union-attr]
                ring.make_room(count)  # type: ignore[union-attr]
                fill = ring.fill  # type: ignore[union-attr]
            view = ring.samples[fill : fill + count]  # type: ignore[union-attr]
            ring.fill = fill + resampler._process_into(samples, view) * channels  # type: ignore
            return ring.cut()  # type: ignore[union-attr]
        return self._convert(samples, n)

    def _convert(self, samples: Any, n: int) -> list[AudioFrame]:
        """Down-mix, resample, up-mix and cut ``n`` validated input frames (every case but
        the hot path of :meth:`push`)."""
        c_in, c_out = self._in_channels, self._out_channels
        if c_in > c_out:  # down-mix first: fewer channels to resample
            x = np.frombuffer(samples, dtype=np.int16).reshape(n, c_in)
            samples = remix_channels(x, c_out).reshape(-1)  # a new array
        ring = self._ring
        resampler = self._resampler
        if resampler is None:
            if c_in < c_out:
                x = np.frombuffer(samples, dtype=np.int16).reshape(n, c_in)
                return self._emit(remix_channels(x, c_out).reshape(-1))
            if c_in == c_out and ring is None:
                return self._emit(bytearray(samples))  # pass-through: still the caller's copy
            return self._emit(samples)  # down-mixed (new), or copied by the framing buffer
        work = min(c_in, c_out)
        count = resampler._output_count(n)
        if work < c_out:  # up-mix after resampling
            out = np.empty(count * work, dtype=np.int16)
            return self._emit_resampled(out, resampler._process_into(samples, out), work)
        if ring is not None:
            view = ring.reserve(count * work)  # (may move what is held: before reading fill)
            ring.fill += resampler._process_into(samples, view) * work
            return ring.cut()
        buf = bytearray(2 * count * work)  # one frame over the kernel's output
        written = resampler._process_into(samples, buf)
        if not written:
            return []
        view = memoryview(buf).cast("h")
        if written != count:
            view = view[: written * work]
        return [wrap_samples(view, self._out_rate, work, written)]

    def _emit_resampled(self, out: np.ndarray, written: int, work: int) -> list[AudioFrame]:
        """Resampler output (``written`` frames of ``work`` channels in ``out``) on to the
        caller: up-mixed when ``work`` < ``output_channels``, then framed."""
        if not written:
            return []
        y = out[: written * work]
        if work < self._out_channels:
            y = remix_channels(y.reshape(written, work), self._out_channels).reshape(-1)
        return self._emit(y)

    def _emit(self, y: Any) -> list[AudioFrame]:
        """Output-format samples as frames. Without framing, ``y`` (a new flat int16 array or
        bytearray nobody else holds) becomes one frame; with it, ``y`` (also an ``'h'``
        memoryview of the input) is copied into the framing buffer."""
        ring = self._ring
        if ring is None:
            view = memoryview(y).cast("B").cast("h")
            n = len(view) // self._out_channels
            if not n:
                return []
            return [wrap_samples(view, self._out_rate, self._out_channels, n)]
        ring.append(y)
        return ring.cut()

    # -- end of stream -------------------------------------------------------------------

    def _drain_resampler(self) -> list[AudioFrame]:
        """The resampler's held-back tail, through up-mixing into the output (whole frames
        only when framing); the resampler is reset."""
        resampler = self._resampler
        if resampler is None:
            return []
        work = min(self._in_channels, self._out_channels)
        count = resampler._flush_count()
        ring = self._ring
        if ring is not None and work == self._out_channels:
            view = ring.reserve(count * work)  # (may move what is held: before reading fill)
            ring.fill += resampler._flush_into(view) * work
            return ring.cut()
        out = np.empty(count * work, dtype=np.int16)
        return self._emit_resampled(out, resampler._flush_into(out), work)

    def flush(self, *, pad: bool = False) -> list[AudioFrame]:
        """End the stream: everything held back comes out.

        Parameters
        ----------
        pad : bool, keyword-only
            With ``samples_per_frame``: zero-pad the last frame to full size (for consumers
            that take only whole frames, such as the APM's 10 ms blocks). Default False.

        Returns
        -------
        list of AudioFrame
            The resampler's tail (the input is taken as followed by silence), then, with
            ``samples_per_frame``, the last frame, shorter than the others (unless ``pad``)
            when the stream did not end on a frame boundary. Empty if nothing was held.

        Notes
        -----
        The converter is reset and ready for a new stream in the same format.
        """
        frames = self._drain_resampler()
        ring = self._ring
        if ring is not None:
            last = ring.rest(pad=pad)
            if last is not None:
                frames.append(last)
        return frames

    def set_input_format(self, input_rate: int, input_channels: int) -> list[AudioFrame]:
        """Continue the stream with frames of another rate or channel count.

        The old resampler's tail is released (the old input is taken as followed by silence,
        as by :meth:`flush`); with ``samples_per_frame`` the incomplete frame stays held and
        the new input completes it, so frame sizes stay exact across the change. Nothing
        happens if the format is the current one.

        Parameters
        ----------
        input_rate : int
            New input sample rate in Hz.
        input_channels : int
            New input channel count.

        Returns
        -------
        list of AudioFrame
            The whole frames the old tail completed (without ``samples_per_frame``: at most
            one frame holding the tail).

        Raises
        ------
        TypeError, ValueError
            As for the constructor; the converter is unchanged then.
        """
        rate = _check_positive_int("input_rate", input_rate)
        channels = _check_channel_count("input_channels", input_channels)
        if (rate, channels) == (self._in_rate, self._in_channels):
            return []
        resampler = self._new_resampler(rate, channels)  # raises before anything changed
        tail = self._drain_resampler()  # in the old format
        self._set_input(rate, channels, resampler)
        return tail

    def reset(self) -> None:
        """Drop everything held (resampler history and partial frame) without returning it."""
        if self._resampler is not None:
            self._resampler.reset()
        if self._ring is not None:
            self._ring.clear()
