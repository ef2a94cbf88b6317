"""AudioStreamDecoder: encoded bytes in (pushed in any pieces), converted AudioFrames out.

Follows ``livekit.agents.utils.codecs.AudioStreamDecoder`` (same constructor, ``push``,
``end_input``, ``async for``, ``aclose``), and differs where that one loses information or
resources: errors reach the reader, concatenated files keep decoding, decoders share a pool
of at most 4 threads instead of starting one each, ``aclose`` is prompt at any moment, and
consumed input is released.
"""

from __future__ import annotations

import threading
from collections import deque

from livekit_audio._aio import QueueClosed, RingQueue
from livekit_audio.audio_frame import AudioFrame, _check_positive_int
from livekit_audio.codecs._base import DecodeError, Demuxer
from livekit_audio.codecs._formats import AutoDemuxer, demuxer_for
from livekit_audio.codecs._pool import FairPool, shared_pool
from livekit_audio.convert import StreamConverter
from livekit_audio.resampler import _check_channels, _check_rate

__all__ = ["AudioStreamDecoder", "DecodeError"]

#: Input bytes one pool step feeds the parser at most (bigger pushes take several steps).
STEP_BYTES = 32 * 1024
#: Decoding pauses while this many frames wait for the reader, and resumes at half of it.
OUTPUT_HIGH_WATER = 256


class AudioStreamDecoder:
    """Decode an encoded audio stream, pushed as bytes, into int16 AudioFrames.

    Parameters
    ----------
    sample_rate : int or None, keyword-only
        Output rate in Hz (default 48000), converted with the package's resampler (MEDIUM
        quality); None keeps the source's (the first file's, in a concatenated stream).
    num_channels : int or None, keyword-only
        Output channels, 1 to 8 (default 1): down-mixing averages, up-mixing copies. None
        keeps the source's.
    format : str or None, keyword-only
        MIME type of the stream, case-insensitive: ``audio/mpeg``, ``audio/aac`` (ADTS),
        ``audio/ogg`` / ``audio/opus`` (Ogg Opus, Vorbis or FLAC), ``audio/flac``,
        ``audio/wav``, ``audio/webm``, ``audio/mp4``, ``audio/pcmu`` / ``audio/pcma``
        (G.711, 8 kHz mono unless ``;rate=...;channels=...`` says otherwise), ``audio/pcm``
        (16-bit little-endian) and ``audio/L16`` (16-bit big-endian), both with a required
        ``rate`` parameter, e.g. ``"audio/pcm;rate=16000;channels=1"``. None (default)
        detects the format from the first bytes (RIFF/WAVE, ID3 or MPEG sync, ADTS, OggS,
        fLaC, EBML, ftyp); unknown magic bytes are left to FFmpeg's probing.
    frame_size_ms : int or None, keyword-only
        None (default): frames as the codec and the resampler produce them. Otherwise every
        frame holds exactly ``sample_rate * frame_size_ms / 1000`` samples per channel (a
        whole number; with ``sample_rate=None``, rounded at the source's rate), except the
        last one of the stream, which holds what is left (it is shorter, never padded).

    Raises
    ------
    TypeError
        On non-int rates, channels or frame size, or a non-str ``format``.
    ValueError
        On out-of-range values, an unknown MIME type, raw PCM without a rate, or a
        ``frame_size_ms`` that is not a whole number of samples at ``sample_rate``.

    Notes
    -----
    - **Parsing.** WAV, raw PCM and G.711 are parsed by our own code (no PyAV): PCM 8/16/24/32
      bit, float 32/64, mu-law and A-law, any rate and channel count; a ``RIFF`` header after
      the end of a file, or at the start of a push into a WAV of unknown length, starts a new
      file. MP3, ADTS AAC, Ogg and FLAC are cut into packets by our parsers and decoded by
      PyAV (FFmpeg) one packet at a time, so no thread ever waits for input. WebM and MP4 are
      opened by FFmpeg on the whole input once :meth:`end_input` is called (they may need to
      seek): those are not decoded incrementally.
    - **Concatenated files** keep decoding: MP3 after MP3 (ID3 tag or Xing/LAME frame, or a
      change of stream parameters, starts a fresh decoder), chained Ogg streams, FLAC after
      FLAC, WAV after WAV.
    - **Errors.** A corrupt, truncated or unsupported stream ends the iteration with a
      :class:`DecodeError` (a ``ValueError``) naming the format and the byte offset, after
      every frame decoded before it. Bytes pushed after that are ignored.
    - **Threads.** Decoders share one pool of at most 4 worker threads (round-robin, one
      bounded step at a time: no stream starves another). The event loop only moves frames.
    - **Memory.** Pushed bytes are released once parsed; decoding pauses while 256 frames
      wait for the reader.
    - Output conversion is the one :class:`~livekit_audio.AudioStream` uses, a
      :class:`~livekit_audio.convert.StreamConverter` (package resampler, channel mixing,
      exact frame sizes, also across a concatenated file in another format).

    Examples
    --------
    >>> decoder = AudioStreamDecoder(sample_rate=16000, num_channels=1, format="audio/mpeg")
    >>> decoder.push(mp3_bytes)  # doctest: +SKIP
    >>> decoder.end_input()  # doctest: +SKIP
    >>> async for frame in decoder:  # doctest: +SKIP
    ...     ...
    """

    def __init__(
        self,
        *,
        sample_rate: int | None = 48000,
        num_channels: int | None = 1,
        format: str | None = None,
        frame_size_ms: int | None = None,
    ) -> None:
        self._rate = None if sample_rate is None else _check_rate("sample_rate", sample_rate)
        self._channels = None if num_channels is None else _check_channels(num_channels)
        self._frame_ms = (
            None if frame_size_ms is None else _check_positive_int("frame_size_ms", frame_size_ms)
        )
        if self._frame_ms is not None and self._rate is not None:
            if self._rate * self._frame_ms % 1000:
                raise ValueError(
                    f"frame_size_ms={self._frame_ms} is not a whole number of samples at "
                    f"{self._rate} Hz; choose a size that divides evenly"
                )
        if format is not None and not isinstance(format, str):
            raise TypeError(
                f"format must be a MIME type string or None, got {type(format).__name__}"
            )
        self._format = format
        self._demuxer: Demuxer = AutoDemuxer() if format is None else demuxer_for(format)()
        self._converter: StreamConverter | None = None
        self._pool: FairPool = shared_pool()
        self._lock = threading.Lock()
        self._input: deque[tuple[bytes, bool]] = deque()  # (bytes, starts a push)
        self._input_bytes = 0
        self._ended = False  # end_input() called
        self._closed = False  # aclose() called
        self._finished = False  # the parser is done (end of input or error)
        self._busy = False  # a pool step is running
        self._released = False
        # decoded frames waiting for the reader: put by the pool's workers, read on the loop
        # (unbounded: decoding pauses at OUTPUT_HIGH_WATER instead of dropping)
        self._out: RingQueue[AudioFrame] = RingQueue()
        self._error: DecodeError | None = None  # raised to the reader after the last frame

    # -- producer side -----------------------------------------------------------------

    def push(self, chunk: bytes | bytearray | memoryview) -> None:
        """Queue encoded bytes (any size, any split); returns at once.

        Raises
        ------
        TypeError
            If ``chunk`` is not bytes-like.
        RuntimeError
            After :meth:`end_input` or :meth:`aclose`.
        """
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise TypeError(f"push() takes bytes, got {type(chunk).__name__}")
        data = bytes(chunk)
        with self._lock:
            if self._closed:
                raise RuntimeError("push() on a closed AudioStreamDecoder")
            if self._ended:
                raise RuntimeError("push() after end_input()")
            if self._finished or not data:
                return  # after a decode error input is dropped; the reader gets the error
            self._input.append((data, True))
            self._input_bytes += len(data)
        self._pool.submit(self)

    def end_input(self) -> None:
        """No more bytes will be pushed: decode the rest, flush, end the iteration.
        Idempotent; a no-op after :meth:`aclose`."""
        with self._lock:
            if self._ended or self._closed:
                return
            self._ended = True
        self._pool.submit(self)

    @property
    def buffered_input_bytes(self) -> int:
        """Pushed bytes not parsed yet (what the decoder holds of the input)."""
        return self._input_bytes

    # -- the pool step (worker thread) ---------------------------------------------------

    def step(self) -> bool:
        """Run one bounded slice of decoding; called by the pool, never concurrently."""
        with self._lock:
            if self._closed or self._finished:
                self._release_locked()
                return False
            if len(self._out) >= OUTPUT_HIGH_WATER:
                return False  # resumed by the reader
            pieces: list[tuple[bytes, bool]] = []
            size = 0
            while self._input and size < STEP_BYTES:
                piece, first = self._input.popleft()
                room = STEP_BYTES - size
                if len(piece) > room:  # a big push is decoded over several steps
                    self._input.appendleft((piece[room:], False))
                    piece = piece[:room]
                pieces.append((piece, first))
                size += len(piece)
            self._input_bytes -= size
            finishing = not pieces and self._ended
            if not pieces and not finishing:
                return False
            self._busy = True
        frames: list[AudioFrame] = []
        error: DecodeError | None = None
        done = False
        demuxer = self._demuxer
        try:
            if finishing:
                done = demuxer.finish(frames)
            else:
                for piece, first in pieces:
                    demuxer.feed(piece, first, frames)
        except DecodeError as exc:
            error = exc
        except Exception as exc:  # a codec failure we did not map: still the reader's error
            error = DecodeError(demuxer.name, demuxer.offset, f"{type(exc).__name__}: {exc}")
        out: list[AudioFrame] = []
        try:
            out = self._convert(frames)
            if error is not None or done:
                out.extend(self._converter.flush() if self._converter is not None else [])
        except Exception as exc:  # e.g. a source rate the resampler cannot take
            if error is None:
                error = DecodeError(
                    demuxer.name, demuxer.offset, f"cannot convert the decoded audio: {exc}"
                )
        with self._lock:
            self._busy = False
            if self._closed:
                self._release_locked()
                return False
            if error is not None or done:
                self._finished = True
                self._error = error
                self._input.clear()
                self._input_bytes = 0
                self._release_locked()
            for frame in out:
                self._out.put_threadsafe(frame)
            if self._finished:
                self._out.close_threadsafe()  # after the frames: the reader gets them first
            more = (bool(self._input) or (self._ended and not self._finished)) and len(
                self._out
            ) < OUTPUT_HIGH_WATER
        return more

    def _convert(self, frames: list[AudioFrame]) -> list[AudioFrame]:
        out: list[AudioFrame] = []
        for f in frames:
            converter = self._converter
            if converter is None:
                rate = self._rate if self._rate is not None else f.sample_rate
                channels = self._channels if self._channels is not None else f.num_channels
                size = None
                if self._frame_ms is not None:
                    size = max(1, round(rate * self._frame_ms / 1000))
                converter = self._converter = StreamConverter(
                    f.sample_rate, f.num_channels, rate, channels, size
                )
            elif (f.sample_rate, f.num_channels) != (
                converter.input_rate,
                converter.input_channels,
            ):  # a concatenated file in another format: frame sizes stay exact across it
                out.extend(converter.set_input_format(f.sample_rate, f.num_channels))
            out.extend(converter.push(f))
        return out

    def _release_locked(self) -> None:
        if not self._busy and not self._released:
            self._released = True
            self._demuxer.close()
            self._input.clear()
            self._input_bytes = 0

    # -- reader side ---------------------------------------------------------------------

    def __aiter__(self) -> AudioStreamDecoder:
        return self

    async def __anext__(self) -> AudioFrame:
        """The next decoded frame.

        Raises
        ------
        StopAsyncIteration
            After the last frame (end of input, or :meth:`aclose`).
        DecodeError
            Once, after the frames decoded before a corrupt, truncated or unsupported part.
        """
        out = self._out
        try:
            frame = await out.get()
        except QueueClosed:  # finished (end of input or error) or closed, and drained
            frame = None
        if frame is None:
            with self._lock:
                error, self._error = self._error, None
            if error is not None:
                raise error
            raise StopAsyncIteration
        if len(out) == OUTPUT_HIGH_WATER // 2 and not self._finished:
            self._pool.submit(self)  # decoding paused at the high-water mark: resume it
        return frame

    async def aclose(self) -> None:
        """Stop decoding and end the iteration; returns at once, raises nothing.

        Pushed bytes not decoded yet and frames not read are dropped. A step running in the
        pool finishes its slice (milliseconds) and then releases the codec. Idempotent.
        """
        with self._lock:
            self._closed = True
            self._input.clear()
            self._input_bytes = 0
            self._error = None
            self._release_locked()
        self._out.close_threadsafe(discard=True)  # at once on the reader's loop

    async def __aenter__(self) -> AudioStreamDecoder:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"AudioStreamDecoder(sample_rate={self._rate}, num_channels={self._channels}, "
            f"format={self._format!r}, frame_size_ms={self._frame_ms})"
        )
