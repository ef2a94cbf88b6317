# cython: language_level=3
"""Thin wrappers over csrc/la_g711.c: buffer acquisition, GIL release, status mapping.

Validation (dtypes, shapes, allocation of the output) happens in ``livekit_audio.codecs.g711``.
The only check here keeps the kernel inside its buffers: ``out`` must hold as many samples as
``inp``.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from libc.stdint cimport int16_t, int64_t

from livekit_audio._native._csrc cimport (
    la_alaw_decode,
    la_alaw_encode,
    la_status,
    la_ulaw_decode,
    la_ulaw_encode,
)
from livekit_audio._native._debug cimport check_whole_frames
from livekit_audio._native._status cimport check_status


cdef enum Law:
    ULAW = 0
    ALAW = 1


cdef int _encode(Law law, object inp, object out) except -1:
    cdef Py_buffer ib
    cdef Py_buffer ob
    cdef la_status rc
    cdef int64_t n
    PyObject_GetBuffer(inp, &ib, PyBUF_SIMPLE)
    try:
        PyObject_GetBuffer(out, &ob, PyBUF_SIMPLE | PyBUF_WRITABLE)
        try:
            check_whole_frames(ib.len, 2, "G.711 encode: inp")
            n = ib.len // 2
            if ob.len < n:
                raise ValueError(f"output holds {ob.len} codes, expected at least {n}")
            with nogil:
                if law == ULAW:
                    rc = la_ulaw_encode(<const int16_t *>ib.buf, <unsigned char *>ob.buf, n)
                else:
                    rc = la_alaw_encode(<const int16_t *>ib.buf, <unsigned char *>ob.buf, n)
        finally:
            PyBuffer_Release(&ob)
    finally:
        PyBuffer_Release(&ib)
    check_status(rc, "G.711 encode failed")
    return 0


cdef int _decode(Law law, object inp, object out) except -1:
    cdef Py_buffer ib
    cdef Py_buffer ob
    cdef la_status rc
    cdef int64_t n
    PyObject_GetBuffer(inp, &ib, PyBUF_SIMPLE)
    try:
        PyObject_GetBuffer(out, &ob, PyBUF_SIMPLE | PyBUF_WRITABLE)
        try:
            n = ib.len
            if ob.len // 2 < n:
                raise ValueError(f"output holds {ob.len // 2} samples, expected at least {n}")
            with nogil:
                if law == ULAW:
                    rc = la_ulaw_decode(<const unsigned char *>ib.buf, <int16_t *>ob.buf, n)
                else:
                    rc = la_alaw_decode(<const unsigned char *>ib.buf, <int16_t *>ob.buf, n)
        finally:
            PyBuffer_Release(&ob)
    finally:
        PyBuffer_Release(&ib)
    check_status(rc, "G.711 decode failed")
    return 0


def ulaw_encode(inp, out):
    """Encode the native int16 samples of C-contiguous buffer ``inp`` into ``out`` (uint8)."""
    _encode(ULAW, inp, out)


def alaw_encode(inp, out):
    """Encode the native int16 samples of C-contiguous buffer ``inp`` into ``out`` (uint8)."""
    _encode(ALAW, inp, out)


def ulaw_decode(inp, out):
    """Decode the mu-law codes of byte buffer ``inp`` into int16 buffer ``out``."""
    _decode(ULAW, inp, out)


def alaw_decode(inp, out):
    """Decode the A-law codes of byte buffer ``inp`` into int16 buffer ``out``."""
    _decode(ALAW, inp, out)
