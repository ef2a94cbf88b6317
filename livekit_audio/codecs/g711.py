"""ITU-T G.711 mu-law and A-law companding on numpy arrays (int16 <-> uint8).

The kernels are in ``csrc/la_g711.c``: the segment/quantisation rules of ITU-T G.711 (11/88)
as the ITU's G.191 Software Tool Library applies them to 16-bit samples. Codes are as sent on
the wire (mu-law bit-inverted, A-law with its even bits inverted), so ``ulaw_encode(x).tobytes()``
is an ``audio/PCMU`` payload and ``ulaw_decode(payload)`` reads one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from livekit_audio._native import _g711

__all__ = ["alaw_decode", "alaw_encode", "ulaw_decode", "ulaw_encode"]


def _samples(x: Any, name: str) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} expects a numpy.ndarray of int16 samples, got {type(x).__name__}")
    if x.dtype != np.int16:
        raise TypeError(
            f"{name} expects int16 samples, got dtype {x.dtype}; convert explicitly, e.g. "
            "np.clip(np.rint(x * 32768), -32768, 32767).astype(np.int16)"
        )
    return np.ascontiguousarray(x).reshape(x.shape)  # (a 0-d array stays 0-d)


def _codes(x: Any, name: str) -> np.ndarray:
    if isinstance(x, (bytes, bytearray, memoryview)):
        if isinstance(x, memoryview) and not x.c_contiguous:
            x = x.tobytes()  # a strided view: its bytes in order (numpy needs contiguous)
        return np.frombuffer(x, dtype=np.uint8)
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"{name} expects a numpy.ndarray of uint8 codes or bytes, got {type(x).__name__}"
        )
    if x.dtype != np.uint8:
        raise TypeError(f"{name} expects uint8 codes, got dtype {x.dtype}")
    return np.ascontiguousarray(x).reshape(x.shape)  # (a 0-d array stays 0-d)


def ulaw_encode(samples: npt.NDArray[np.int16]) -> npt.NDArray[np.uint8]:
    """Encode int16 PCM to G.711 mu-law codes.

    Parameters
    ----------
    samples : numpy.ndarray, int16
        Any shape (e.g. ``(frames,)`` or ``(frames, channels)`` interleaved); any layout.

    Returns
    -------
    numpy.ndarray, uint8
        One code per sample, same shape, C-contiguous.

    Raises
    ------
    TypeError
        If ``samples`` is not a numpy array of dtype int16.

    Notes
    -----
    ITU-T G.711 mu-law: the 14-bit magnitude (one's complement for negative samples, as in
    the ITU G.191 reference code) is biased by 33 and clipped to 8191, then coded as a 3-bit
    segment and a 4-bit step, inverted, with bit 7 set for samples >= 0.
    """
    x = _samples(samples, "ulaw_encode")
    out = np.empty(x.shape, dtype=np.uint8)
    _g711.ulaw_encode(x.reshape(-1), out.reshape(-1))
    return out


def alaw_encode(samples: npt.NDArray[np.int16]) -> npt.NDArray[np.uint8]:
    """Encode int16 PCM to G.711 A-law codes.

    Parameters
    ----------
    samples : numpy.ndarray, int16
        Any shape; any layout.

    Returns
    -------
    numpy.ndarray, uint8
        One code per sample (even bits inverted, as transmitted), same shape.

    Raises
    ------
    TypeError
        If ``samples`` is not a numpy array of dtype int16.

    Notes
    -----
    ITU-T G.711 A-law: the 12-bit magnitude (one's complement for negative samples, as in
    the ITU G.191 reference code) is coded as a 3-bit segment and a 4-bit step (segments 0
    and 1 share a step of 16 in 16-bit units), bit 7 set for samples >= 0, XOR 0x55.
    """
    x = _samples(samples, "alaw_encode")
    out = np.empty(x.shape, dtype=np.uint8)
    _g711.alaw_encode(x.reshape(-1), out.reshape(-1))
    return out


def ulaw_decode(codes: npt.NDArray[np.uint8] | bytes | bytearray | memoryview) -> np.ndarray:
    """Decode G.711 mu-law codes to int16 PCM.

    Parameters
    ----------
    codes : numpy.ndarray of uint8 (any shape), or bytes-like (read as 1-D)
        Codes as transmitted.

    Returns
    -------
    numpy.ndarray, int16
        The ITU reconstruction value of each code, left-justified to 16 bits
        (``+-4 * ((2q + 33) * 2**s - 33)``: 0 to 32124), same shape as ``codes``.

    Raises
    ------
    TypeError
        If ``codes`` is neither a uint8 array nor bytes-like.
    """
    c = _codes(codes, "ulaw_decode")
    out = np.empty(c.shape, dtype=np.int16)
    _g711.ulaw_decode(c.reshape(-1), out.reshape(-1))
    return out


def alaw_decode(codes: npt.NDArray[np.uint8] | bytes | bytearray | memoryview) -> np.ndarray:
    """Decode G.711 A-law codes to int16 PCM.

    Parameters
    ----------
    codes : numpy.ndarray of uint8 (any shape), or bytes-like (read as 1-D)
        Codes as transmitted (even bits inverted).

    Returns
    -------
    numpy.ndarray, int16
        The ITU reconstruction value of each code, left-justified to 16 bits (8 to 32256 in
        magnitude), same shape as ``codes``.

    Raises
    ------
    TypeError
        If ``codes`` is neither a uint8 array nor bytes-like.
    """
    c = _codes(codes, "alaw_decode")
    out = np.empty(c.shape, dtype=np.int16)
    _g711.alaw_decode(c.reshape(-1), out.reshape(-1))
    return out
