# cython: language_level=3
"""Thin wrappers over csrc/la_resample.c: type conversion, GIL release, status mapping.

Validation of user input happens in ``livekit_audio.resampler``; this module trusts that the
buffers it gets are C-contiguous and hold whole frames of the declared format.
"""

from cpython.buffer cimport (
    PyBUF_SIMPLE,
    PyBUF_WRITABLE,
    PyBuffer_Release,
    PyObject_GetBuffer,
)
from libc.stdint cimport int64_t, uint64_t

import numpy as np

from livekit_audio._native._csrc cimport (
    LA_FORMAT_F32,
    LA_FORMAT_S16,
    LA_MAX_CHANNELS,
    LA_MAX_PHASES,
    LA_MAX_RATE_HZ,
    LA_MAX_TAPS,
    LA_MIN_RATE_HZ,
    la_dot_generic,
    la_dot_kernel_name,
    la_filter_design,
    la_filter_fill,
    la_filter_params,
    la_filter_shape,
    la_fpenv_control_word,
    la_fpenv_kind,
    la_fpenv_set_control_word,
    la_resampler,
    la_resampler_flush,
    la_resampler_flush_count,
    la_resampler_init,
    la_resampler_min_capacity,
    la_resampler_output_count,
    la_resampler_process,
    la_resampler_reset,
    la_sample_format,
    la_status,
)
from livekit_audio._native._debug cimport check_whole_frames
from livekit_audio._native._status cimport check_status

FORMAT_S16 = <int>LA_FORMAT_S16
FORMAT_F32 = <int>LA_FORMAT_F32
MIN_RATE_HZ = LA_MIN_RATE_HZ
MAX_RATE_HZ = LA_MAX_RATE_HZ
MAX_CHANNELS = LA_MAX_CHANNELS
MAX_PHASES = LA_MAX_PHASES
MAX_TAPS = LA_MAX_TAPS


def dot_kernel_name():
    """Name of the dot-product kernel this CPU runs (``"avx2-fma"`` or ``"generic"``)."""
    return la_dot_kernel_name().decode("ascii")


def fpenv_kind():
    """What every processing call does to the floating-point environment on this build
    (csrc/la_fpenv.c): e.g. ``"x86-64 MXCSR: FTZ+DAZ, ..."``, or ``"none: ..."``."""
    return la_fpenv_kind().decode("ascii")


def fp_control_word():
    """Test hook: this thread's floating-point control word (x86-64 MXCSR, arm64 FPCR; else 0)."""
    return la_fpenv_control_word()


def set_fp_control_word(uint64_t word):
    """Test hook: set this thread's floating-point control word (see ``fp_control_word``)."""
    la_fpenv_set_control_word(word)


def dot_generic(const float[::1] h, const float[::1] x):
    """Portable dot-product kernel (for tests); len(h) == len(x), a multiple of 8."""
    return la_dot_generic(&h[0], &x[0], <int>h.shape[0])


cdef class PolyphaseFilter:
    """Kaiser-windowed-sinc polyphase filter bank for one (ratio, quality).

    ``coefficients`` is a read-only float32 array of shape ``(up, taps)``.
    """

    cdef la_filter_shape shape
    cdef readonly object coefficients
    cdef readonly double passband_edge
    cdef readonly double stopband_edge
    cdef readonly double stopband_atten_db

    def __init__(self, int64_t input_rate, int64_t output_rate, double passband_edge,
                 double stopband_edge, double stopband_atten_db):
        cdef la_filter_params params
        cdef la_status rc
        cdef float[:, ::1] view
        cdef size_t n_coefs
        params.passband_edge = passband_edge
        params.stopband_edge = stopband_edge
        params.stopband_atten_db = stopband_atten_db
        rc = la_filter_design(input_rate, output_rate, &params, &self.shape)
        check_status(rc, f"cannot design a {input_rate} -> {output_rate} Hz filter")
        coefs = np.empty((self.shape.up, self.shape.taps), dtype=np.float32)
        view = coefs
        n_coefs = coefs.size
        with nogil:
            rc = la_filter_fill(&self.shape, &view[0, 0], n_coefs)
        check_status(rc, "filter design failed")
        coefs.flags.writeable = False
        self.coefficients = coefs
        self.passband_edge = passband_edge
        self.stopband_edge = stopband_edge
        self.stopband_atten_db = stopband_atten_db

    @property
    def up(self):
        """Interpolation factor L (output_rate / gcd)."""
        return self.shape.up

    @property
    def down(self):
        """Decimation factor M (input_rate / gcd)."""
        return self.shape.down

    @property
    def taps(self):
        """Taps per polyphase branch, in input samples."""
        return self.shape.taps

    @property
    def cutoff(self):
        """-6 dB cutoff in cycles per input sample."""
        return self.shape.cutoff

    @property
    def kaiser_beta(self):
        """Kaiser window beta."""
        return self.shape.kaiser_beta


cdef class StreamState:
    """Streaming state of one resampler: history, phase and counters.

    Not reentrant: a call made while another thread is inside this object raises
    ``RuntimeError`` instead of corrupting the history.
    """

    cdef la_resampler st
    cdef readonly PolyphaseFilter filter
    cdef object _history
    cdef bint _busy

    def __init__(self, PolyphaseFilter filter, int num_channels):
        cdef la_status rc
        cdef float[:, ::1] hist
        cdef const float[:, ::1] coefs = filter.coefficients
        cdef int64_t capacity = la_resampler_min_capacity(filter.shape.taps) + 4096
        self.filter = filter
        self._history = np.zeros((max(num_channels, 1), capacity), dtype=np.float32)
        hist = self._history
        rc = la_resampler_init(&self.st, &coefs[0, 0], &filter.shape, num_channels,
                               &hist[0, 0], capacity)
        check_status(rc, "cannot initialise the resampler")

    @property
    def total_in(self):
        """Input frames consumed since the last reset."""
        return self.st.total_in

    @property
    def total_out(self):
        """Output frames produced since the last reset."""
        return self.st.total_out

    def output_count(self, int64_t in_frames):
        """Frames ``process`` will write for ``in_frames`` more input frames."""
        return la_resampler_output_count(&self.st, in_frames)

    def flush_count(self):
        """Frames ``flush`` will write."""
        return la_resampler_flush_count(&self.st)

    cdef int _enter(self) except -1:
        if self._busy:
            raise RuntimeError("this resampler is already in use by another thread; "
                               "use one resampler per stream")
        self._busy = True
        return 0

    def process(self, src, dst, int fmt):
        """Consume every frame of ``src`` and write the available output into ``dst``.

        ``src`` and ``dst`` are C-contiguous buffers of interleaved samples of format ``fmt``
        (``FORMAT_S16`` or ``FORMAT_F32``); ``dst`` must be writable and hold at least
        ``output_count(frames in src)`` frames. Returns the number of frames written.
        """
        cdef Py_buffer sb
        cdef Py_buffer db
        cdef la_status rc
        cdef int64_t written = 0
        cdef int64_t frame_bytes = self.st.num_channels * (2 if fmt == LA_FORMAT_S16 else 4)
        self._enter()
        try:
            PyObject_GetBuffer(src, &sb, PyBUF_SIMPLE)
            try:
                PyObject_GetBuffer(dst, &db, PyBUF_SIMPLE | PyBUF_WRITABLE)
                try:
                    check_whole_frames(sb.len, frame_bytes, "StreamState.process: src")
                    check_whole_frames(db.len, frame_bytes, "StreamState.process: dst")
                    with nogil:
                        rc = la_resampler_process(&self.st, sb.buf, sb.len // frame_bytes, db.buf,
                                                  db.len // frame_bytes, <la_sample_format>fmt,
                                                  &written)
                finally:
                    PyBuffer_Release(&db)
            finally:
                PyBuffer_Release(&sb)
        finally:
            self._busy = False
        check_status(rc, "resampler process failed")
        return written

    def flush(self, dst, int fmt):
        """Write the held-back tail into ``dst`` and reset. Returns frames written."""
        cdef Py_buffer db
        cdef la_status rc
        cdef int64_t written = 0
        cdef int64_t frame_bytes = self.st.num_channels * (2 if fmt == LA_FORMAT_S16 else 4)
        self._enter()
        try:
            PyObject_GetBuffer(dst, &db, PyBUF_SIMPLE | PyBUF_WRITABLE)
            try:
                check_whole_frames(db.len, frame_bytes, "StreamState.flush: dst")
                with nogil:
                    rc = la_resampler_flush(&self.st, db.buf, db.len // frame_bytes,
                                            <la_sample_format>fmt, &written)
            finally:
                PyBuffer_Release(&db)
        finally:
            self._busy = False
        check_status(rc, "resampler flush failed")
        return written

    def reset(self):
        """Forget all history; the next input starts a new stream."""
        self._enter()
        try:
            la_resampler_reset(&self.st)
        finally:
            self._busy = False
