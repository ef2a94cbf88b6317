"""Channel-count conversion of int16 interleaved audio (one convention for the whole package)."""

from __future__ import annotations

import numpy as np

__all__ = ["remix_channels"]


def remix_channels(x: np.ndarray, out_channels: int) -> np.ndarray:
    """Map int16 samples of shape ``(n, c_in)`` to ``(n, out_channels)``.

    Down-mixing averages input channels ``j, j + out, j + 2*out, ...`` into output channel ``j``
    (so every channel into mono), rounding to nearest with ties to even; the mean of int16
    values always fits int16. Up-mixing copies input channel ``j % c_in`` into output ``j``
    (mono into every channel). Equal counts return ``x`` itself.

    Parameters
    ----------
    x : numpy.ndarray, int16
        Shape ``(n, c_in)``, c_in >= 1.
    out_channels : int
        >= 1.

    Returns
    -------
    numpy.ndarray
        int16 of shape ``(n, out_channels)`` (C-contiguous unless it is ``x``).

    Raises
    ------
    ValueError
        If ``x`` is not 2-D or ``out_channels`` < 1.
    """
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"expected samples of shape (n, channels), got {x.shape}")
    if out_channels < 1:
        raise ValueError(f"out_channels must be >= 1, got {out_channels}")
    n, c_in = x.shape
    if c_in == out_channels:
        return x
    if c_in < out_channels:
        return np.ascontiguousarray(x[:, [j % c_in for j in range(out_channels)]])
    acc = np.zeros((n, out_channels), dtype=np.int32)
    counts = np.zeros(out_channels, dtype=np.int32)
    for j in range(c_in):
        acc[:, j % out_channels] += x[:, j]
        counts[j % out_channels] += 1
    return np.rint(acc / counts).astype(np.int16)
