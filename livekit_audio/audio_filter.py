"""AudioFilter: native audio filter plug-ins (noise cancellation) loaded through a C ABI.

Follows ``livekit.rtc.AudioFilter(module_id, path, dependencies)``, which loads LiveKit
Cloud's vendor plug-ins; ours loads any shared library that exports the entry point of
``livekit_audio/include/livekit_audio/filter_plugin.h`` (guide: ``docs/filter-plugins.md``).
A loaded filter is registered under its ``module_id``, so
``AudioStream(track, noise_cancellation=NoiseCancellationOptions(module_id, options))`` runs
it, as in LiveKit; :meth:`AudioFilter.processor` gives the same as a
:class:`~livekit_audio.FrameProcessor` directly. The package's own adapters
(DeepFilterNet3, RNNoise) are in :mod:`livekit_audio.filters`.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from livekit_audio._errors import FilterError
from livekit_audio._native import _filter
from livekit_audio.filter_processor import FilterProcessor

__all__ = [
    "AudioFilter",
    "FilterError",
    "FilterInstance",
    "get_filter",
    "get_include",
    "PLUGIN_ABI_VERSION",
]

#: The plug-in ABI version this build hosts (``LA_FILTER_ABI_VERSION``).
PLUGIN_ABI_VERSION: int = int(_filter.ABI_VERSION)

_registry: dict[str, AudioFilter] = {}
_registry_lock = threading.Lock()


def get_include() -> str:
    """The directory to add to a C compiler's include path to build a filter plug-in
    (``#include <livekit_audio/filter_plugin.h>``), as ``numpy.get_include()``.

    Returns
    -------
    str
        An absolute path inside the installed package.
    """
    return str(Path(__file__).resolve().parent / "include")


def get_filter(module_id: str) -> AudioFilter:
    """The filter loaded under ``module_id`` (what ``NoiseCancellationOptions`` names).

    Raises
    ------
    TypeError
        If ``module_id`` is not a str.
    KeyError
        If no AudioFilter was loaded under that id (the message lists the loaded ones).
    """
    if not isinstance(module_id, str):
        raise TypeError(f"module_id must be a str, got {type(module_id).__name__}")
    with _registry_lock:
        found = _registry.get(module_id)
        loaded = sorted(_registry)
    if found is None:
        raise KeyError(
            f"no audio filter is loaded under module_id {module_id!r} (loaded: "
            f"{', '.join(loaded) or 'none'}); load it first with "
            "livekit_audio.AudioFilter(module_id, path)"
        )
    return found


def _options_json(options: dict[str, Any]) -> bytes:
    try:
        text = json.dumps(options, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"filter options must be JSON-serialisable with finite numbers, got {options!r}: {e}"
        ) from None
    return text.encode()


def _check_path(what: str, path: object) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{what} must be a str or os.PathLike, got {type(path).__name__}")
    text = os.fsdecode(path)
    if not os.path.isfile(text):
        raise FileNotFoundError(f"{what} not found: {text!r}")
    return text


class AudioFilter:
    """A loaded filter plug-in, registered under ``module_id``.

    Parameters
    ----------
    module_id : str
        The name ``NoiseCancellationOptions(module_id, ...)`` refers to it by. Loading the
        same path under the same id again returns an equivalent filter; another path under
        an id already taken is an error.
    path : str or os.PathLike
        The plug-in shared library (``.so``/``.dylib``), exporting ``la_filter_plugin_entry``.
    dependencies : list of str or os.PathLike, optional
        Libraries to load first, with their symbols made global (``RTLD_GLOBAL``), in order:
        the vendor runtime a plug-in resolves at run time (e.g. ``libdeepfilter.so``).

    Raises
    ------
    TypeError
        If ``module_id`` is not a str, a path is not a str/PathLike, or ``dependencies`` is
        not a list (or tuple) of them.
    FileNotFoundError
        If ``path`` or a dependency does not exist.
    OSError
        If the dynamic loader refuses a library (its message is included).
    ValueError
        If ``module_id`` is empty or taken by another path, or the library is not a plug-in
        this build can host: no entry point, another ABI version, or a malformed table (the
        message says which).

    Notes
    -----
    Libraries stay loaded for the life of the process (as LiveKit's plug-ins do): instances
    hold raw pointers into them, and vendor runtimes are not generally safe to unload.
    Loading is POSIX ``dlopen``; Windows is not supported yet.
    """

    def __init__(
        self,
        module_id: str,
        path: str | os.PathLike[str],
        dependencies: list[str] | list[os.PathLike[str]] | None = None,
    ) -> None:
        if not isinstance(module_id, str):
            raise TypeError(f"module_id must be a str, got {type(module_id).__name__}")
        if not module_id:
            raise ValueError("module_id must not be empty")
        plugin_path = os.path.realpath(_check_path("filter plug-in", path))
        if dependencies is None:
            deps: list[Any] = []
        elif isinstance(dependencies, (list, tuple)):
            deps = list(dependencies)
        else:  # a str would otherwise be taken as a list of one-character paths
            raise TypeError(
                "dependencies must be a list of library paths or None, got "
                f"{type(dependencies).__name__}"
            )
        for dep in deps:
            _filter.load_dependency(_check_path("filter dependency", dep))
        with _registry_lock:
            taken = _registry.get(module_id)
            if taken is not None and taken.path != plugin_path:
                raise ValueError(
                    f"module_id {module_id!r} is already loaded from {taken.path!r}; "
                    f"choose another id for {plugin_path!r}"
                )
            self._library: _filter.PluginLibrary = (
                taken._library if taken is not None else _filter.PluginLibrary(plugin_path)
            )
            self._module_id = module_id
            _registry[module_id] = self

    @property
    def module_id(self) -> str:
        """The id the filter is registered under."""
        return self._module_id

    @property
    def path(self) -> str:
        """The plug-in library's resolved path."""
        return str(self._library.path)

    @property
    def name(self) -> str:
        """The plug-in's own short name (its table's ``name``)."""
        return str(self._library.name)

    @property
    def description(self) -> str:
        """The plug-in's one-line description."""
        return str(self._library.description)

    @property
    def sample_rates_hz(self) -> tuple[int, ...]:
        """The rates the plug-in runs at, ascending."""
        return tuple(int(r) for r in self._library.sample_rates_hz)

    @property
    def max_channels(self) -> int:
        """The most interleaved channels one instance takes."""
        return int(self._library.max_channels)

    def create(self, sample_rate_hz: int, num_channels: int, **options: Any) -> FilterInstance:
        """A new instance at one of :attr:`sample_rates_hz` (no resampling, exact frames).

        Parameters
        ----------
        sample_rate_hz : int
            One of :attr:`sample_rates_hz`.
        num_channels : int
            1 to :attr:`max_channels`.
        **options
            The plug-in's options, passed to it as a JSON object.

        Raises
        ------
        TypeError
            If the rate or channel count is not an int.
        ValueError
            If the plug-in rejects the rate, channel count or options (its message says
            why), or the options are not JSON-serialisable.
        FilterError
            If the plug-in cannot build the instance (a vendor library or model missing).
        MemoryError
            If the plug-in is out of memory.
        """
        for name, value in (("sample_rate_hz", sample_rate_hz), ("num_channels", num_channels)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if not 0 < int(sample_rate_hz) <= 768000:
            raise ValueError(f"sample_rate_hz must be in 1..768000, got {sample_rate_hz}")
        if not 0 < int(num_channels) <= 8:
            raise ValueError(f"num_channels must be in 1..8, got {num_channels}")
        native = _filter.FilterInstance(
            self._library, int(sample_rate_hz), int(num_channels), _options_json(options)
        )
        return FilterInstance(native, self.name)

    def processor(self, **options: Any) -> FilterProcessor:
        """The filter as a :class:`~livekit_audio.FrameProcessor` for
        ``AudioStream(noise_cancellation=...)``: any frame size, rate and channel count in
        (up to :attr:`max_channels`), frames of the same size out. See
        :class:`~livekit_audio.FilterProcessor`.

        One instance is created here, at the plug-in's highest rate and one channel (the
        instance a mono stream at that rate, or at any rate a single-rate plug-in such as
        DeepFilterNet3 supports, will use): the options are checked now, and a slow
        ``create`` (DeepFilterNet3 loads its model: 0.3-0.5 s) happens here rather than on
        the first frame, in the middle of a stream.

        Parameters
        ----------
        **options
            The plug-in's options.

        Raises
        ------
        ValueError
            If the options are not JSON-serialisable or the plug-in refuses them.
        FilterError, MemoryError
            As :meth:`create`.
        """

        def create(rate: int, channels: int) -> FilterInstance:
            return self.create(rate, channels, **options)

        first = create(self.sample_rates_hz[-1], 1)
        return FilterProcessor(
            create,
            name=self.name,
            sample_rates_hz=self.sample_rates_hz,
            max_channels=self.max_channels,
            spare=first,
        )

    def __repr__(self) -> str:
        rates = ", ".join(str(r) for r in self.sample_rates_hz)
        return (
            f"AudioFilter(module_id={self._module_id!r}, name={self.name!r}, "
            f"rates_hz=({rates}), max_channels={self.max_channels})"
        )


class FilterInstance:
    """One plug-in instance at a fixed rate and channel count: exact frames, float32 or int16.

    Made by :meth:`AudioFilter.create`. One instance is used by one thread at a time (a call
    from a second thread while one runs raises ``RuntimeError``); ``process`` releases the
    GIL, so instances on different threads run in parallel.
    """

    def __init__(self, native: Any, plugin: str) -> None:
        self._native = native
        self._plugin = plugin

    @property
    def sample_rate_hz(self) -> int:
        return int(self._native.sample_rate_hz)

    @property
    def num_channels(self) -> int:
        return int(self._native.num_channels)

    @property
    def frame_size(self) -> int:
        """Samples per channel every :meth:`process` call takes."""
        return int(self._native.frame_size)

    @property
    def latency_samples(self) -> int:
        """The plug-in's algorithmic latency in samples per channel at its rate."""
        return int(self._native.latency_samples)

    @property
    def latency_ms(self) -> float:
        """:attr:`latency_samples` in milliseconds."""
        return 1000.0 * self.latency_samples / self.sample_rate_hz

    @property
    def closed(self) -> bool:
        return bool(self._native.closed)

    def process(self, samples: Any) -> np.ndarray:
        """Filter one frame.

        Parameters
        ----------
        samples : numpy.ndarray, float32 or int16
            Shape ``(frame_size, num_channels)`` (or ``(frame_size,)`` for mono),
            float32 at full scale 1.0 and finite, or int16.

        Returns
        -------
        numpy.ndarray
            A new array of the input's dtype and shape.

        Raises
        ------
        TypeError
            If ``samples`` is not float32 or int16.
        ValueError
            If its shape is not one frame, or a float input holds NaN or infinity.
        FilterError
            If the plug-in fails on this frame or returns NaN/infinity (nothing is returned;
            the instance keeps its state).
        RuntimeError
            If the instance is closed or in use by another thread.
        """
        x = np.asarray(samples)
        if x.dtype not in (np.float32, np.int16):
            raise TypeError(f"samples must be float32 or int16, got {x.dtype}")
        expected = (self.frame_size, self.num_channels)
        if x.shape != expected and not (self.num_channels == 1 and x.shape == expected[:1]):
            raise ValueError(f"samples must have shape {expected}, got {x.shape}")
        x = np.ascontiguousarray(x)
        out = np.empty_like(x)
        if x.dtype == np.float32:
            self._native.process_f32(x, out)
        else:
            self._native.process_s16(x, out)
        return out

    def process_into(self, samples: Any, out: Any) -> None:
        """Filter one int16 frame from ``samples`` into ``out``, without allocating (the
        processors' path).

        Parameters
        ----------
        samples : buffer of int16 (or of bytes holding them)
            C-contiguous, exactly ``frame_size * num_channels`` samples, interleaved.
        out : writable buffer of int16 (or of bytes)
            The same size; may be ``samples`` itself (filtered in place).

        Raises
        ------
        TypeError
            If either is not a buffer of int16 samples or bytes.
        ValueError
            If either is not C-contiguous or not one frame long, or ``out`` is read-only.
        FilterError, RuntimeError
            As :meth:`process`.
        """
        n = self.frame_size * self.num_channels
        for name, buffer in (("samples", samples), ("out", out)):
            try:
                view = memoryview(buffer)
            except TypeError:
                raise TypeError(
                    f"{name} must be a buffer of int16 samples, got {type(buffer).__name__}"
                ) from None
            if view.format not in ("h", "<h", "=h", "B", "b", "c"):  # int16, or raw bytes
                raise TypeError(f"{name} must hold int16 samples, got format {view.format!r}")
            if not view.c_contiguous:
                raise ValueError(f"{name} must be C-contiguous")
            if view.nbytes != 2 * n:
                raise ValueError(
                    f"{name} must hold one frame, {n} int16 samples, got {view.nbytes // 2}"
                )
            if name == "out" and view.readonly:
                raise ValueError("out must be writable")
        self._native.process_s16(samples, out)

    def _process_in_place(self, samples: memoryview) -> None:
        """The processors' path: ``samples`` is a frame this package made (int16,
        C-contiguous, one frame, writable), so only the native size check runs."""
        self._native.process_s16(samples, samples)

    def reset(self) -> None:
        """Clear the filter's history (as just created).

        Raises
        ------
        FilterError
            If the plug-in's reset fails.
        RuntimeError
            If the instance is closed or in use.
        """
        self._native.reset()

    def close(self) -> None:
        """Destroy the instance (idempotent)."""
        self._native.close()

    def __repr__(self) -> str:
        return (
            f"FilterInstance({self._plugin!r}, {self.sample_rate_hz} Hz, "
            f"{self.num_channels} ch, frame_size={self.frame_size}, "
            f"latency={self.latency_ms:.1f} ms)"
        )
