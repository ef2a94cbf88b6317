"""MediaDevices: list PortAudio devices, capture from an input, play tracks on an output.

Mirrors ``livekit.rtc.MediaDevices`` (sounddevice on PortAudio) with what it lacks:

- its callbacks run the processing module and build frames on PortAudio's thread, and check
  ``queue.full()`` across threads, dropping the newest frame without counting it. Ours only
  copy (the input's into the capture's bounded queue with ``RingQueue.put_threadsafe``, the
  output's out of a preallocated ring) and wake the loop with at most one
  ``call_soon_threadsafe`` pending; everything else runs on the event loop, and a full queue
  drops the oldest block and counts it;
- it calls the module's capture and render sides from two PortAudio threads at once; ours
  only from the loop;
- its echo reference only works if the input is opened before the output, and its delay
  is the last callback's latencies, with render and capture never put on one timeline. Ours
  wires the echo path in either order and keeps the far end on the capture's timeline by
  PortAudio's timestamps (see :mod:`livekit_audio.devices.echo`);
- it ignores ``input_channel_index``, drops a block's tail that is not a whole 10 ms, and
  plays only channel 0. Ours selects the channel, re-chunks without loss, and plays every
  channel.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from livekit_audio._aio import resolve_loop, spawn
from livekit_audio.apm import MAX_SAMPLE_RATE_HZ as APM_MAX_RATE_HZ
from livekit_audio.apm import MIN_SAMPLE_RATE_HZ as APM_MIN_RATE_HZ
from livekit_audio.apm import AudioProcessingModule
from livekit_audio.audio_frame import _check_positive_int
from livekit_audio.devices._portaudio import (
    close_stream,
    default_device,
    device_info,
    list_devices,
    open_stream,
    start_stream,
)
from livekit_audio.devices.capture import (
    InputCapture,
    _CaptureEngine,
    queue_duration_s,
    queue_slots,
)
from livekit_audio.devices.echo import EchoDelayEstimator, EchoReference
from livekit_audio.devices.playback import OutputPlayer, PlayedBlock
from livekit_audio.resampler import _check_channels, _check_rate
from livekit_audio.rtc.audio_source import AudioSource

__all__ = ["DEFAULT_BLOCKSIZE", "DEFAULT_CHANNELS", "DEFAULT_SAMPLE_RATE", "MediaDevices"]

DEFAULT_SAMPLE_RATE = 48000
DEFAULT_CHANNELS = 1
#: Samples per channel per PortAudio callback: 50 ms at 48 kHz.
DEFAULT_BLOCKSIZE = 2400
#: The processing module takes mono or stereo capture.
_APM_MAX_CHANNELS = 2


def _check_flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return value


class MediaDevices:
    """Audio input and output devices through PortAudio (the ``sounddevice`` package).

    Parameters
    ----------
    loop : asyncio.AbstractEventLoop or None, keyword-only
        The loop inputs and outputs run on. Default: the loop running when
        :meth:`open_input` / :meth:`open_output` is called.
    input_sample_rate, output_sample_rate : int, keyword-only
        Device rates in Hz (default 48000). The device must support them (PortAudio does not
        convert). With processing, the input rate must be 8-96 kHz.
    num_channels : int, keyword-only
        Channels of the captured frames and of the output, 1 to 8 (1 or 2 with processing;
        default 1).
    blocksize : int, keyword-only
        Samples per channel per PortAudio callback, > 0 (default 2400, 50 ms at 48 kHz).
        Captured audio is re-chunked into 10 ms frames whatever the block size.

    Raises
    ------
    TypeError, ValueError
        On bad arguments. (Devices are looked up only when listed or opened.)

    Notes
    -----
    Needs the ``devices`` extra (``pip install "livekit-audio[devices]"``) and the system
    PortAudio library; methods that touch a device raise ``ImportError`` without them.

    Echo cancellation: an input opened with ``enable_aec=True`` takes as its far end what the
    most recently opened, still open and started :class:`OutputPlayer` of this object plays.
    That is exactly the samples handed to the device, silence included, at their DAC times.
    Open them in either order. What other programs play is not cancelled.

    Examples
    --------
    >>> devices = MediaDevices()                                     # doctest: +SKIP
    >>> mic = devices.open_input()                                    # doctest: +SKIP
    >>> track = LocalAudioTrack.create_audio_track("mic", mic.source)  # doctest: +SKIP
    >>> player = devices.open_output()                                # doctest: +SKIP
    >>> await player.add_track(remote_track); await player.start()    # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        input_sample_rate: int = DEFAULT_SAMPLE_RATE,
        output_sample_rate: int = DEFAULT_SAMPLE_RATE,
        num_channels: int = DEFAULT_CHANNELS,
        blocksize: int = DEFAULT_BLOCKSIZE,
    ) -> None:
        self._loop = resolve_loop(loop, "MediaDevices")
        self._in_rate = _check_rate("input_sample_rate", input_sample_rate)
        self._out_rate = _check_rate("output_sample_rate", output_sample_rate)
        self._channels = _check_channels(num_channels)
        self._blocksize = _check_positive_int("blocksize", blocksize)
        self._captures: list[InputCapture] = []
        self._players: list[OutputPlayer] = []
        self._echo_refs: list[EchoReference] = []

    @property
    def input_sample_rate(self) -> int:
        """Input rate in Hz."""
        return self._in_rate

    @property
    def output_sample_rate(self) -> int:
        """Output rate in Hz."""
        return self._out_rate

    @property
    def num_channels(self) -> int:
        """Channels of inputs and outputs."""
        return self._channels

    @property
    def blocksize(self) -> int:
        """Samples per channel per PortAudio callback."""
        return self._blocksize

    # -- enumeration ---------------------------------------------------------------------

    def list_input_devices(self) -> list[dict[str, Any]]:
        """Devices with input channels.

        Returns
        -------
        list of dict
            ``index``, ``name``, ``channels`` (input channels), ``sample_rate`` (default, Hz),
            ``host_api``, and sounddevice's keys, as ``livekit.rtc`` lists them
            (``max_input_channels``, ``default_samplerate``, ...).

        Raises
        ------
        ImportError
            Without sounddevice or PortAudio.
        """
        return list_devices("input")

    def list_output_devices(self) -> list[dict[str, Any]]:
        """Devices with output channels; the keys of :meth:`list_input_devices`
        (``channels`` counts output channels).

        Raises
        ------
        ImportError
            Without sounddevice or PortAudio.
        """
        return list_devices("output")

    def default_input_device(self) -> int | None:
        """Index of the default input device, or None if there is none.

        ``livekit.rtc`` returns ``sounddevice.default.device[0]``, which is -1 (not a
        device) unless the application set it; this asks PortAudio.

        Raises
        ------
        ImportError
            Without sounddevice or PortAudio.
        """
        return default_device("input")

    def default_output_device(self) -> int | None:
        """Index of the default output device, or None if there is none.

        Raises
        ------
        ImportError
            Without sounddevice or PortAudio.
        """
        return default_device("output")

    # -- capture and playback -------------------------------------------------------------

    def _running_loop(self, what: str) -> asyncio.AbstractEventLoop:
        loop = resolve_loop(self._loop, "MediaDevices") or self._loop
        if loop is None:
            raise RuntimeError(
                f"MediaDevices.{what} must be called from a coroutine running in an event "
                "loop (or MediaDevices be given loop=)"
            )
        return loop

    def open_input(
        self,
        *,
        enable_aec: bool = True,
        noise_suppression: bool = True,
        high_pass_filter: bool = True,
        auto_gain_control: bool = True,
        input_device: int | str | None = None,
        queue_capacity: int = 50,
        input_channel_index: int | None = None,
    ) -> InputCapture:
        """Open an input device and start capturing into a new :class:`AudioSource`.

        Parameters
        ----------
        enable_aec : bool, keyword-only
            Echo cancellation, against what this object's :class:`OutputPlayer` plays.
        noise_suppression, high_pass_filter, auto_gain_control : bool, keyword-only
            The other processing stages. With all four off there is no module.
        input_device : int, str or None, keyword-only
            PortAudio index, name substring, or None for the default input device.
        queue_capacity : int, keyword-only
            Most 10 ms frames of captured audio that may wait for the source's playout, in
            the hand-off queue from PortAudio's thread and in the source's own queue
            (default 50: 500 ms). Beyond that the oldest block is dropped
            (``stats.dropped_blocks``), so the microphone's latency stays bounded. The
            hand-off queue holds that many frames in whole blocks, at least 2.
        input_channel_index : int or None, keyword-only
            Capture only this zero-based device channel, as mono (duplicated when
            ``num_channels`` > 1). Default: the first ``num_channels`` channels.

        Returns
        -------
        InputCapture
            ``source`` gets 10 ms frames (int16, input rate, ``num_channels``).

        Raises
        ------
        TypeError
            On arguments of the wrong type.
        ValueError
            On an unknown device, a channel the device does not have, more than 2 channels
            or a rate outside 8-96 kHz with processing, ``queue_capacity`` < 1, or a rate
            or channel count PortAudio refuses.
        DeviceError
            If PortAudio cannot open or start the device.
        RuntimeError
            If no event loop is running and none was given.
        ImportError
            Without sounddevice or PortAudio.
        """
        enable_aec = _check_flag("enable_aec", enable_aec)
        noise_suppression = _check_flag("noise_suppression", noise_suppression)
        high_pass_filter = _check_flag("high_pass_filter", high_pass_filter)
        auto_gain_control = _check_flag("auto_gain_control", auto_gain_control)
        queue_capacity = _check_positive_int("queue_capacity", queue_capacity)
        if input_channel_index is not None:
            if isinstance(input_channel_index, bool) or not isinstance(input_channel_index, int):
                raise TypeError(
                    "input_channel_index must be an int or None, got "
                    f"{type(input_channel_index).__name__}"
                )
            if input_channel_index < 0:
                raise ValueError(f"input_channel_index must be >= 0, got {input_channel_index}")
        processing = enable_aec or noise_suppression or high_pass_filter or auto_gain_control
        if processing and self._channels > _APM_MAX_CHANNELS:
            raise ValueError(
                f"processing takes 1 or 2 channels, num_channels={self._channels}; turn the "
                "processing off or capture fewer channels"
            )
        if processing and not APM_MIN_RATE_HZ <= self._in_rate <= APM_MAX_RATE_HZ:
            raise ValueError(
                f"processing takes {APM_MIN_RATE_HZ}-{APM_MAX_RATE_HZ} Hz, "
                f"input_sample_rate={self._in_rate}"
            )
        loop = self._running_loop("open_input")
        device = device_info(input_device, "input")
        if input_channel_index is not None:
            if input_channel_index >= device["channels"]:
                raise ValueError(
                    f"input device {device['index']} ({device['name']!r}) has "
                    f"{device['channels']} input channels, input_channel_index="
                    f"{input_channel_index}"
                )
            device_channels = input_channel_index + 1
        else:
            device_channels = self._channels
            if device_channels > device["channels"]:
                raise ValueError(
                    f"input device {device['index']} ({device['name']!r}) has "
                    f"{device['channels']} input channels, num_channels={self._channels}"
                )
        apm = (
            AudioProcessingModule(
                echo_cancellation=enable_aec,
                noise_suppression=noise_suppression,
                high_pass_filter=high_pass_filter,
                auto_gain_control=auto_gain_control,
            )
            if processing
            else None
        )
        estimator = EchoDelayEstimator(apm)
        echo = EchoReference(apm, estimator) if apm is not None and enable_aec else None
        source = AudioSource(self._in_rate, self._channels, loop=loop)
        engine = _CaptureEngine(
            loop=loop,
            source=source,
            apm=apm,
            estimator=estimator,
            echo=echo,
            blocksize=self._blocksize,
            device_channels=device_channels,
            channel_index=input_channel_index,
            queue_slots=queue_slots(queue_capacity, self._blocksize, self._in_rate),
            max_waiting_s=queue_duration_s(queue_capacity, self._in_rate),
        )
        stream = open_stream(
            "input",
            device=device,
            sample_rate=self._in_rate,
            channels=device_channels,
            blocksize=self._blocksize,
            callback=engine.callback,
        )
        engine.reported_latency_s = float(stream.latency)
        task = spawn(engine.run(), name=f"InputCapture {device['name']!r}", loop=loop)
        try:
            start_stream(stream, "input")
        except BaseException:
            engine.closed = True
            close_stream(stream)
            task.cancel()
            raise
        capture = InputCapture(
            source=source,
            input_stream=stream,
            task=task,
            apm=apm,
            delay_estimator=estimator,
            stats=engine.stats,
            device=device,
            _engine=engine,
        )
        self._captures = [c for c in self._captures if not c.closed] + [capture]
        if echo is not None:
            self._echo_refs = [r for r in self._echo_refs if not r.closed] + [echo]
        return capture

    def open_output(self, *, output_device: int | str | None = None) -> OutputPlayer:
        """Open an output device; returns a player to add tracks to and :meth:`start`.

        What the player plays becomes the far end of this object's inputs opened with echo
        cancellation (before or after this call).

        Parameters
        ----------
        output_device : int, str or None, keyword-only
            PortAudio index, name substring, or None for the default output device.

        Returns
        -------
        OutputPlayer
            At ``output_sample_rate``, ``num_channels``, ``blocksize``.

        Raises
        ------
        ValueError
            On an unknown device, or a rate or channel count it refuses.
        DeviceError
            If PortAudio cannot open the device.
        RuntimeError
            If no event loop is running and none was given.
        ImportError
            Without sounddevice or PortAudio.
        """
        loop = self._running_loop("open_output")
        player = OutputPlayer(
            sample_rate=self._out_rate,
            num_channels=self._channels,
            blocksize=self._blocksize,
            output_device=output_device,
            loop=loop,
        )
        self._players = [p for p in self._players if not p.closed] + [player]
        player.add_playout_listener(functools.partial(self._route_played, player))
        return player

    async def aclose(self) -> None:
        """Close every input and output this object opened (convenience; idempotent)."""
        for capture in self._captures:
            await capture.aclose()
        self._captures.clear()
        for player in self._players:
            await player.aclose()
        self._players.clear()
        self._echo_refs.clear()

    # -- the echo path ------------------------------------------------------------------

    def _reference_player(self) -> OutputPlayer | None:
        """The newest open, started player: the far end of the echo cancellers."""
        for player in reversed(self._players):
            if player.started and not player.closed:
                return player
        return None

    def _route_played(self, player: OutputPlayer, block: PlayedBlock) -> None:
        if player is not self._reference_player():
            return
        for echo in self._echo_refs:
            if not echo.closed:
                echo.on_played(block)

    def __repr__(self) -> str:
        return (
            f"MediaDevices(input_sample_rate={self._in_rate}, "
            f"output_sample_rate={self._out_rate}, num_channels={self._channels}, "
            f"blocksize={self._blocksize})"
        )
