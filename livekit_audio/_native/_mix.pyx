# cython: language_level=3
"""Thin wrappers over csrc/la_mix.c: buffer acquisition, GIL release, status mapping.

Validation of user input (frame layouts, gain ranges) happens in ``livekit_audio.mixer`` and
``livekit_audio.processors``. The only checks here keep the C kernel inside the buffers it is
given: every input must hold at least as many samples as ``out``.
"""

from cpython.buffer cimport (
    PyBUF_SIMPLE,
    PyBUF_WRITABLE,
    PyBuffer_Release,
    PyObject_GetBuffer,
)
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int16_t, int32_t, int64_t

from livekit_audio._native._csrc cimport (
    LA_MAX_GAIN,
    LA_OK,
    LA_MAX_MIX_INPUTS,
    la_gain_s16,
    la_mix_kernel_name,
    la_mix_s16,
    la_status,
)
from livekit_audio._native._debug cimport check_whole_frames
from livekit_audio._native._status cimport check_status

MAX_INPUTS = LA_MAX_MIX_INPUTS
MAX_GAIN = LA_MAX_GAIN



def kernel_name():
    """Loops the mix runs on this CPU: ``"avx2"`` or ``"generic"`` (identical results)."""
    return la_mix_kernel_name().decode("ascii")


# Inputs handled with stack storage; more than this borrow heap scratch for the call.
cdef enum:
    STACK_INPUTS = 32


def mix(inputs, gains, out):
    """Write the saturating mix of ``inputs`` into ``out``.

    ``inputs`` is a sequence of C-contiguous buffers of native int16 samples (interleaved),
    each at least as long as ``out``; ``gains`` is ``None`` (all unity: exact integer sum) or
    a sequence of floats, one per input; ``out`` is a writable C-contiguous int16 buffer whose
    length sets the number of samples mixed. ``out`` may be one of the inputs.
    """
    cdef list seq = inputs if type(inputs) is list else list(inputs)
    cdef Py_ssize_t n = len(seq)
    cdef Py_ssize_t acquired = 0
    cdef Py_ssize_t i
    cdef Py_buffer ob
    cdef Py_buffer stack_bufs[STACK_INPUTS]
    cdef const int16_t *stack_ptrs[STACK_INPUTS]
    cdef float stack_gains[STACK_INPUTS]
    cdef Py_buffer *bufs = stack_bufs
    cdef const int16_t **ptrs = stack_ptrs
    cdef float *g = NULL
    cdef float *gp = NULL
    cdef la_status rc = LA_OK
    cdef int64_t n_samples
    if n > LA_MAX_MIX_INPUTS:
        raise ValueError(f"at most {LA_MAX_MIX_INPUTS} inputs can be mixed at once, got {n}")
    if gains is not None and len(gains) != n:
        raise ValueError(f"got {len(gains)} gains for {n} inputs")
    if n > STACK_INPUTS:
        bufs = <Py_buffer *>PyMem_Malloc(n * sizeof(Py_buffer))
        ptrs = <const int16_t **>PyMem_Malloc(n * sizeof(int16_t *))
        g = <float *>PyMem_Malloc(n * sizeof(float))
        if bufs == NULL or ptrs == NULL or g == NULL:
            PyMem_Free(bufs)
            PyMem_Free(ptrs)
            PyMem_Free(g)
            raise MemoryError()
    else:
        g = stack_gains
    try:
        if gains is not None:
            for i in range(n):
                g[i] = <float>gains[i]
            gp = g
        PyObject_GetBuffer(out, &ob, PyBUF_SIMPLE | PyBUF_WRITABLE)
        try:
            check_whole_frames(ob.len, 2, "mix: out")
            n_samples = ob.len // 2
            for i in range(n):
                PyObject_GetBuffer(seq[i], &bufs[i], PyBUF_SIMPLE)
                acquired += 1
                if bufs[i].len // 2 < n_samples:
                    raise ValueError(
                        f"input {i} holds {bufs[i].len // 2} samples, expected at least {n_samples}"
                    )
                ptrs[i] = <const int16_t *>bufs[i].buf
            with nogil:
                rc = la_mix_s16(ptrs, gp, <int32_t>n,
                                <int16_t *>ob.buf, n_samples)
        finally:
            for i in range(acquired):
                PyBuffer_Release(&bufs[i])
            PyBuffer_Release(&ob)
    finally:
        if n > STACK_INPUTS:
            PyMem_Free(bufs)
            PyMem_Free(ptrs)
            PyMem_Free(g)
    check_status(rc, "mix failed")


def gain(buf, int num_channels, float gain_start, float gain_end):
    """Apply a gain in place to a writable C-contiguous int16 interleaved buffer.

    Constant when ``gain_start == gain_end``; otherwise a per-frame linear ramp that ends
    exactly at ``gain_end`` (see ``la_gain_s16``). Trailing samples that do not fill a whole
    frame are left untouched.
    """
    cdef Py_buffer b
    cdef la_status rc
    if num_channels < 1:
        raise ValueError(f"num_channels must be >= 1, got {num_channels}")
    PyObject_GetBuffer(buf, &b, PyBUF_SIMPLE | PyBUF_WRITABLE)
    try:
        with nogil:
            rc = la_gain_s16(<int16_t *>b.buf, b.len // (2 * num_channels), num_channels,
                             gain_start, gain_end)
    finally:
        PyBuffer_Release(&b)
    check_status(rc, "gain failed")
