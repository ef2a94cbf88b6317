"""PortAudio through sounddevice: loading it, describing devices, opening int16 streams.

The only module of the package that imports ``sounddevice``, and only when a device is used:
``import livekit_audio.devices`` works without it. PortAudio's errors become exceptions that
name the device, the rate and the channel count asked for.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

from livekit_audio._errors import LivekitAudioError

__all__ = [
    "DeviceError",
    "Kind",
    "StreamClock",
    "close_stream",
    "default_device",
    "device_info",
    "list_devices",
    "open_stream",
    "sounddevice",
    "start_stream",
]

Kind = Literal["input", "output"]

#: PortAudio error codes that mean the request itself was wrong (ValueError, not DeviceError).
_INVALID_REQUEST_CODES = {
    -9996: "invalid device",  # paInvalidDevice
    -9997: "invalid sample rate",  # paInvalidSampleRate
    -9998: "invalid channel count",  # paInvalidChannelCount
    -9993: "invalid device combination",  # paBadIODeviceCombination
}


class DeviceError(LivekitAudioError, RuntimeError):
    """PortAudio could not open, start or list an audio device (it is busy, gone, or the host
    audio system failed). The message names the device and what was asked of it."""


def sounddevice() -> Any:
    """The ``sounddevice`` module, imported on first use.

    Returns
    -------
    module
        ``sounddevice`` (which loaded the system PortAudio library).

    Raises
    ------
    ImportError
        If ``sounddevice`` is not installed (``pip install "livekit-audio[devices]"``) or
        cannot load the PortAudio library (Debian: ``apt-get install libportaudio2``).
    """
    try:
        import sounddevice as sd
    except ImportError as exc:
        raise ImportError(
            "livekit_audio.devices needs the sounddevice package: "
            'pip install "livekit-audio[devices]"'
        ) from exc
    except OSError as exc:  # sounddevice raises OSError when libportaudio is missing
        raise ImportError(
            f"sounddevice could not load the PortAudio library ({exc}); install it "
            "(Debian/Ubuntu: apt-get install libportaudio2, macOS: brew install portaudio)"
        ) from exc
    return sd


def _channels_key(kind: Kind) -> str:
    return "max_input_channels" if kind == "input" else "max_output_channels"


def _describe(sd: Any, index: int, dev: Any, kind: Kind) -> dict[str, Any]:
    """One device as ``livekit.rtc.MediaDevices`` lists it, plus our short keys."""
    hostapis = sd.query_hostapis()
    host = int(dev["hostapi"])
    return {
        **dict(dev),
        "index": index,
        "name": str(dev["name"]),
        "channels": int(dev[_channels_key(kind)]),
        "sample_rate": int(round(float(dev["default_samplerate"]))),
        "host_api": str(hostapis[host]["name"]) if 0 <= host < len(hostapis) else "",
    }


def list_devices(kind: Kind) -> list[dict[str, Any]]:
    """Every PortAudio device with at least one channel of ``kind``.

    Parameters
    ----------
    kind : {"input", "output"}

    Returns
    -------
    list of dict
        Per device, in PortAudio's index order: ``index`` (int, what ``input_device=`` /
        ``output_device=`` take), ``name`` (str), ``channels`` (int, the most channels of
        that direction), ``sample_rate`` (int, the device's default rate in Hz), ``host_api``
        (str, e.g. ``"JACK Audio Connection Kit"``), and sounddevice's own keys
        (``max_input_channels``, ``max_output_channels``, ``default_samplerate``,
        ``default_low_input_latency``, ...), as ``livekit.rtc.MediaDevices`` returns them.

    Raises
    ------
    ImportError
        See :func:`sounddevice`.
    """
    sd = sounddevice()
    key = _channels_key(kind)
    return [
        _describe(sd, index, dev, kind)
        for index, dev in enumerate(sd.query_devices())
        if int(dev[key]) > 0
    ]


def default_device(kind: Kind) -> int | None:
    """Index of the default device of ``kind`` (``sounddevice.default.device`` if the
    application set it, else PortAudio's default), or None when there is none.

    Raises
    ------
    ImportError
        See :func:`sounddevice`.
    """
    sd = sounddevice()
    try:
        info = sd.query_devices(kind=kind)
    except (sd.PortAudioError, ValueError):
        return None
    index = info.get("index")
    if index is None:  # sounddevice < 0.4.2 has no "index" key: find the device by name
        for i, dev in enumerate(sd.query_devices()):
            if dev["name"] == info["name"] and dev["hostapi"] == info["hostapi"]:
                return i
        return None
    return int(index)


def device_info(device: int | str | None, kind: Kind) -> dict[str, Any]:
    """The device ``device`` names, described as by :func:`list_devices`.

    Parameters
    ----------
    device : int, str or None
        A PortAudio index, a substring of a device name (as sounddevice matches it), or None
        for the default device of ``kind``.
    kind : {"input", "output"}

    Raises
    ------
    TypeError
        If ``device`` is not an int, str or None.
    ValueError
        If no such device exists or it has no ``kind`` channels.
    DeviceError
        If ``device`` is None and there is no default ``kind`` device.
    ImportError
        See :func:`sounddevice`.
    """
    if device is not None and (isinstance(device, bool) or not isinstance(device, (int, str))):
        raise TypeError(
            f"{kind}_device must be a device index (int), a name (str) or None, "
            f"got {type(device).__name__}"
        )
    sd = sounddevice()
    if device is None:
        index = default_device(kind)
        if index is None:
            names = ", ".join(f"{d['index']}: {d['name']}" for d in list_devices(kind))
            raise DeviceError(
                f"there is no default {kind} device (PortAudio lists {names or 'none'}); "
                f"pass {kind}_device="
            )
        device = index
    try:
        dev = sd.query_devices(device)
    except (sd.PortAudioError, ValueError) as exc:
        raise ValueError(f"no {kind} device {device!r}: {exc}") from None
    index = int(dev.get("index", device)) if isinstance(device, str) else int(device)
    described = _describe(sd, index, dev, kind)
    if described["channels"] < 1:
        raise ValueError(f"device {index} ({described['name']!r}) has no {kind} channels")
    return described


def open_stream(
    kind: Kind,
    *,
    device: dict[str, Any],
    sample_rate: int,
    channels: int,
    blocksize: int,
    callback: Callable[..., None],
) -> Any:
    """Open (not start) an int16 ``sounddevice.InputStream`` or ``OutputStream``.

    Parameters
    ----------
    kind : {"input", "output"}
    device : dict
        From :func:`device_info`.
    sample_rate : int
        Hz.
    channels : int
        Channels to open, at most ``device["channels"]``.
    blocksize : int
        Frames per callback, > 0 (PortAudio adapts the host's buffer size to it).
    callback : callable
        sounddevice's callback for ``kind``, run on PortAudio's thread.

    Returns
    -------
    sounddevice.InputStream or sounddevice.OutputStream

    Raises
    ------
    ValueError
        If PortAudio refuses the rate, the channel count or the device (the message names
        the device and its default rate and channel count).
    DeviceError
        If PortAudio fails otherwise (device busy or gone, host error).
    """
    sd = sounddevice()
    cls = sd.InputStream if kind == "input" else sd.OutputStream
    try:
        return cls(
            device=device["index"],
            samplerate=sample_rate,
            channels=channels,
            dtype="int16",
            blocksize=blocksize,
            callback=callback,
        )
    except sd.PortAudioError as exc:
        what = (
            f"{kind} device {device['index']} ({device['name']!r}, {device['channels']} ch, "
            f"default {device['sample_rate']} Hz) at {sample_rate} Hz, {channels} ch, "
            f"blocks of {blocksize}"
        )
        code = exc.args[1] if len(exc.args) > 1 else None
        if code in _INVALID_REQUEST_CODES:
            raise ValueError(f"PortAudio refuses {what}: {exc.args[0]}") from exc
        raise DeviceError(f"cannot open {what}: {exc}") from exc


def start_stream(stream: Any, kind: Kind) -> None:
    """Start an opened stream; PortAudio's failure becomes :class:`DeviceError`."""
    sd = sounddevice()
    try:
        stream.start()
    except sd.PortAudioError as exc:
        raise DeviceError(
            f"cannot start the {kind} stream on device {stream.device}: {exc}"
        ) from exc


def close_stream(stream: Any) -> None:
    """Abort (discard pending buffers) and close ``stream``; idempotent, never raises.

    After it returns PortAudio calls the stream's callback no more.
    """
    if stream.closed:
        return
    try:
        stream.abort(ignore_errors=True)
    finally:
        stream.close(ignore_errors=True)


class StreamClock:
    """Maps one PortAudio stream's time onto ``time.monotonic()``.

    PortAudio stamps each callback with the stream's current time and the ADC/DAC time of
    the block, but the stream time's origin is the host API's business: with JACK every
    stream has its own (two streams opened together differ by tens of ms). The callback
    therefore also reads ``time.monotonic()``. Since the callback runs at or after the
    stream time it is given, ``monotonic - stream_time`` is the clock offset plus a
    scheduling delay of zero or more. The smallest difference seen over the last one or two
    windows of ``WINDOW`` callbacks estimates the offset, and follows slow drift.
    """

    #: Callbacks per window of the running minimum.
    WINDOW = 64

    def __init__(self) -> None:
        self._current = math.inf
        self._previous = math.inf
        self._count = 0

    def update(self, stream_time_s: float, monotonic_s: float) -> None:
        """Take one callback's stream time and ``time.monotonic()`` (ignored when the host
        API gives no stream time, 0)."""
        if stream_time_s <= 0.0:
            return
        offset = monotonic_s - stream_time_s
        if offset < self._current:
            self._current = offset
        self._count += 1
        if self._count >= self.WINDOW:
            self._previous, self._current, self._count = self._current, math.inf, 0

    @property
    def offset_s(self) -> float | None:
        """``time.monotonic()`` minus stream time, or None before the first update."""
        offset = min(self._current, self._previous)
        return None if offset == math.inf else offset

    def to_monotonic(self, stream_time_s: float, fallback_s: float) -> float:
        """``stream_time_s`` on the ``time.monotonic()`` clock, or ``fallback_s`` (a
        monotonic time the caller estimated) when the stream gives no times."""
        offset = self.offset_s
        if stream_time_s <= 0.0 or offset is None:
            return fallback_s
        return stream_time_s + offset
