# cython: language_level=3
"""Thin wrappers over csrc/la_apm.c and its stages: type conversion, GIL release, status mapping.

Validation of frames (rate, size, writability) happens in ``livekit_audio.apm``.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int16_t, int64_t
from libc.string cimport memset

import numpy as np

from livekit_audio._native._csrc cimport (
    la_apm,
    la_apm_config,
    la_apm_delay_samples,
    la_apm_init,
    la_apm_process_capture,
    la_apm_process_capture_batch,
    la_apm_process_render,
    la_apm_reset,
    la_apm_set_stream_delay_ms,
    la_apm_subnormal_count,
    la_band_decimate,
    la_band_decimator,
    la_band_interpolate,
    la_band_interpolator,
    la_band_split,
    la_band_split_init,
    la_fft,
    la_fft_init,
    la_fft_work_floats,
    la_hpf,
    la_hpf_design,
    la_hpf_process,
    la_irfft,
    la_rfft,
    la_status,
    LA_OK,
    LA_APM_MAX_CHANNELS,
    LA_APM_MAX_STREAM_DELAY_MS,
    LA_APM_NUM_NATIVE_RATES,
    la_apm_native_rates_hz,
)
from livekit_audio._native._debug cimport check_whole_frames
from livekit_audio._native._status cimport check_status


#: The limits of csrc/la_apm.c, defined once in csrc/la_dsp.h.
NATIVE_RATES_HZ = tuple(la_apm_native_rates_hz[i] for i in range(LA_APM_NUM_NATIVE_RATES))
MAX_CHANNELS = LA_APM_MAX_CHANNELS
MAX_STREAM_DELAY_MS = LA_APM_MAX_STREAM_DELAY_MS

cdef class ApmCore:
    """One configured processing module. Not reentrant: overlapping calls raise RuntimeError."""

    cdef la_apm *apm
    cdef bint _busy
    cdef readonly int sample_rate
    cdef readonly int num_channels
    cdef readonly int hop

    def __cinit__(self, int sample_rate, int num_channels, bint high_pass_filter,
                  bint noise_suppression, bint auto_gain_control, float ns_floor_db,
                  float agc_target_dbfs, float agc_max_gain_db, float agc_max_noise_out_dbfs,
                  bint echo_cancellation=False, int aec_tail_ms=250):
        cdef la_apm_config config
        cdef la_status rc
        self.apm = <la_apm *>PyMem_Malloc(sizeof(la_apm))
        if self.apm == NULL:
            raise MemoryError("cannot allocate the audio processing module state")
        memset(self.apm, 0, sizeof(la_apm))
        config.sample_rate_hz = sample_rate
        config.num_channels = num_channels
        config.high_pass_filter = high_pass_filter
        config.noise_suppression = noise_suppression
        config.auto_gain_control = auto_gain_control
        config.echo_cancellation = echo_cancellation
        config.aec_tail_ms = aec_tail_ms
        config.ns_floor_db = ns_floor_db
        config.agc_target_dbfs = agc_target_dbfs
        config.agc_max_gain_db = agc_max_gain_db
        config.agc_max_noise_out_dbfs = agc_max_noise_out_dbfs
        with nogil:
            rc = la_apm_init(self.apm, &config)
        check_status(rc, "cannot configure the audio processing module")
        self.sample_rate = sample_rate
        self.num_channels = num_channels
        self.hop = sample_rate // 100

    def __dealloc__(self):
        PyMem_Free(self.apm)
        self.apm = NULL

    cdef int _enter(self) except -1:
        if self._busy:
            raise RuntimeError("this AudioProcessingModule is already in use by another thread; "
                               "use one instance per stream")
        self._busy = True
        return 0

    @property
    def delay_samples(self):
        """Samples of delay the enabled stages add."""
        return la_apm_delay_samples(self.apm)

    def process_capture(self, data):
        """Process a writable C-contiguous buffer of int16 interleaved frames in place."""
        cdef Py_buffer view
        cdef la_status rc
        cdef int64_t n_frames
        self._enter()
        try:
            PyObject_GetBuffer(data, &view, PyBUF_SIMPLE | PyBUF_WRITABLE)
            try:
                check_whole_frames(view.len, 2 * self.num_channels, "process_capture")
                n_frames = view.len // (2 * self.num_channels)
                with nogil:
                    rc = la_apm_process_capture(self.apm, <int16_t *>view.buf, n_frames)
            finally:
                PyBuffer_Release(&view)
        finally:
            self._busy = False
        check_status(rc, "audio processing failed")

    def process_render(self, data, int num_channels):
        """Accept a C-contiguous buffer of int16 interleaved far-end frames."""
        cdef Py_buffer view
        cdef la_status rc
        cdef int64_t n_frames
        self._enter()
        try:
            PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
            try:
                check_whole_frames(view.len, 2 * num_channels, "process_render")
                n_frames = view.len // (2 * num_channels)
                with nogil:
                    rc = la_apm_process_render(self.apm, <const int16_t *>view.buf, n_frames,
                                               num_channels)
            finally:
                PyBuffer_Release(&view)
        finally:
            self._busy = False
        check_status(rc, "reverse-stream processing failed")

    def set_stream_delay_ms(self, int delay_ms):
        """Where the far end's echo is expected in the capture, ms after the render call."""
        self._enter()
        try:
            la_apm_set_stream_delay_ms(self.apm, delay_ms)
        finally:
            self._busy = False

    def reset(self):
        """Forget all adaptive state (noise estimate, AGC level, filter memories)."""
        self._enter()
        try:
            la_apm_reset(self.apm)
        finally:
            self._busy = False

    def subnormal_count(self):
        """Test hook: how many subnormal floats the module's state holds (every stage)."""
        return la_apm_subnormal_count(self.apm)

    def stats(self):
        """The last frame's statistics as a dict."""
        s = self.apm.stats
        return {
            "speech_probability": s.speech_probability,
            "noise_floor_dbfs": s.noise_floor_dbfs,
            "agc_gain_db": s.agc_gain_db,
            "input_level_dbfs": s.input_level_dbfs,
            "output_level_dbfs": s.output_level_dbfs,
            "render_level_dbfs": s.render_level_dbfs,
            "frames_processed": s.frames_processed,
            "render_frames": s.render_frames,
            "echo_delay_ms": s.echo_delay_ms,
            "erle_db": s.erle_db,
            "render_overruns": s.render_overruns,
            "render_underruns": s.render_underruns,
            "delay_changes": s.delay_changes,
            "divergences": s.divergences,
            "render_buffer_ms": s.render_buffer_ms,
        }



def process_capture_batch(cores, buffers):
    """Process ``buffers[i]`` in place with ``cores[i]`` for every i, in one GIL-released call.

    ``cores`` and ``buffers`` are equal-length sequences; each buffer is a writable
    C-contiguous int16 buffer of whole 10 ms frames at its core's layout (validated by the
    caller, ``livekit_audio.apm.process_batch``). A core may appear once. Every item is
    attempted; the first failure is raised after all have run (the failing item's buffer is
    untouched: the C side validates before it writes). Returns the number of items.
    """
    cdef Py_ssize_t n = len(cores)
    cdef Py_ssize_t i
    cdef Py_ssize_t entered = 0
    cdef Py_ssize_t acquired = 0
    cdef la_status rc = LA_OK
    cdef ApmCore core
    if len(buffers) != n:
        raise ValueError(f"process_capture_batch: {n} cores but {len(buffers)} buffers")
    if n == 0:
        return 0
    cdef Py_buffer *views = <Py_buffer *>PyMem_Malloc(n * sizeof(Py_buffer))
    cdef la_apm **apms = <la_apm **>PyMem_Malloc(n * sizeof(la_apm *))
    cdef int16_t **data = <int16_t **>PyMem_Malloc(n * sizeof(int16_t *))
    cdef int64_t *counts = <int64_t *>PyMem_Malloc(n * sizeof(int64_t))
    cdef la_status *status = <la_status *>PyMem_Malloc(n * sizeof(la_status))
    core_list = list(cores)
    try:
        if views == NULL or apms == NULL or data == NULL or counts == NULL or status == NULL:
            raise MemoryError("cannot allocate the batch tables")
        for i in range(n):
            core = <ApmCore?>core_list[i]
            core._enter()
            entered += 1
            PyObject_GetBuffer(buffers[i], &views[i], PyBUF_SIMPLE | PyBUF_WRITABLE)
            acquired += 1
            check_whole_frames(views[i].len, 2 * core.num_channels, "process_capture_batch")
            apms[i] = core.apm
            data[i] = <int16_t *>views[i].buf
            counts[i] = views[i].len // (2 * core.num_channels)
        with nogil:
            rc = la_apm_process_capture_batch(apms, data, counts, status, n)
    finally:
        for i in range(acquired):
            PyBuffer_Release(&views[i])
        for i in range(entered):
            (<ApmCore>core_list[i])._busy = False
        PyMem_Free(views)
        PyMem_Free(apms)
        PyMem_Free(data)
        PyMem_Free(counts)
        PyMem_Free(status)
    check_status(rc, "audio processing failed")
    return n

def rfft(const float[::1] x):
    """Test hook: our real FFT of a power-of-two-length float32 array (numpy's convention)."""
    cdef la_fft plan
    cdef int n = x.shape[0]
    cdef la_status rc
    work = np.empty(la_fft_work_floats(n) if n >= 8 else 1, dtype=np.float32)
    cdef float[::1] w = work
    rc = la_fft_init(&plan, n, &w[0], <size_t>w.shape[0])
    check_status(rc, f"cannot plan a real FFT of size {n}")
    re = np.empty(n // 2 + 1, dtype=np.float32)
    im = np.empty(n // 2 + 1, dtype=np.float32)
    cdef float[::1] vr = re
    cdef float[::1] vi = im
    with nogil:
        la_rfft(&plan, &x[0], &vr[0], &vi[0])
    return re + 1j * im.astype(np.complex64)


def irfft(const float[::1] re, const float[::1] im):
    """Test hook: our inverse real FFT (n = 2 * (len(re) - 1)), scaled like numpy.fft.irfft."""
    cdef la_fft plan
    cdef int n = 2 * (re.shape[0] - 1)
    cdef la_status rc
    work = np.empty(la_fft_work_floats(n) if n >= 8 else 1, dtype=np.float32)
    cdef float[::1] w = work
    rc = la_fft_init(&plan, n, &w[0], <size_t>w.shape[0])
    check_status(rc, f"cannot plan a real FFT of size {n}")
    out = np.empty(n, dtype=np.float32)
    cdef float[::1] vo = out
    with nogil:
        la_irfft(&plan, &re[0], &im[0], &vo[0])
    return out


def hpf(float[::1] x, double sample_rate, double cutoff_hz=100.0):
    """Test hook: run the high-pass filter over a float32 array in place (fresh state)."""
    cdef la_hpf h
    cdef la_status rc = la_hpf_design(&h, sample_rate, cutoff_hz)
    check_status(rc, "cannot design the high-pass filter")
    with nogil:
        la_hpf_process(&h, 0, &x[0], <int>x.shape[0])


def band_split(const float[::1] x, int sample_rate):
    """Test hook: the echo canceller's band split (la_band.c) over a float32 array at 32 or
    48 kHz, fresh state, 10 ms at a time. Returns (low band at 16 kHz, low band interpolated
    back to ``sample_rate``, the split's round-trip delay in samples at ``sample_rate``)."""
    cdef la_band_split b
    cdef la_band_decimator *d = <la_band_decimator *>PyMem_Malloc(sizeof(la_band_decimator))
    cdef la_band_interpolator *u = <la_band_interpolator *>PyMem_Malloc(sizeof(la_band_interpolator))
    if d == NULL or u == NULL:
        PyMem_Free(d)
        PyMem_Free(u)
        raise MemoryError()
    memset(d, 0, sizeof(la_band_decimator))
    memset(u, 0, sizeof(la_band_interpolator))
    cdef int hop = sample_rate // 100
    cdef int blocks = x.shape[0] // hop if hop > 0 else 0
    try:
        check_status(la_band_split_init(&b, sample_rate), f"no band split at {sample_rate} Hz")
        low = np.zeros(blocks * (hop // b.factor), dtype=np.float32)
        back = np.zeros(blocks * hop, dtype=np.float32)
        if blocks == 0:
            return low, back, 2 * b.half
        _band_run(&b, d, u, x, low, back, hop, blocks)
        return low, back, 2 * b.half
    finally:
        PyMem_Free(d)
        PyMem_Free(u)


cdef void _band_run(la_band_split *b, la_band_decimator *d, la_band_interpolator *u,
                    const float[::1] x, float[::1] low, float[::1] back, int hop, int blocks):
    cdef int low_hop = hop // b.factor
    cdef int i
    with nogil:
        for i in range(blocks):
            la_band_decimate(b, d, &x[i * hop], hop, &low[i * low_hop])
            la_band_interpolate(b, u, &low[i * low_hop], low_hop, &back[i * hop])
