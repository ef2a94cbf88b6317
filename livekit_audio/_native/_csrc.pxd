# The only `cdef extern` block for csrc/la_dsp.h. Every function is noexcept nogil: the C side
# never touches Python and reports failure through la_status.
from libc.stdint cimport int16_t, int32_t, int64_t


cdef extern from "la_dsp.h" nogil:
    ctypedef enum la_status:
        LA_OK
        LA_ERR_NULL_POINTER
        LA_ERR_INVALID_RATE
        LA_ERR_INVALID_CHANNELS
        LA_ERR_INVALID_ARGUMENT
        LA_ERR_BUFFER_TOO_SMALL
        LA_ERR_TOO_MANY_PHASES
        LA_ERR_FILTER_TOO_LONG

    ctypedef enum la_sample_format:
        LA_FORMAT_S16
        LA_FORMAT_F32

    int LA_MIN_RATE_HZ
    int LA_MAX_RATE_HZ
    int LA_MAX_CHANNELS
    int LA_MAX_PHASES
    int LA_MAX_TAPS

    ctypedef struct la_filter_params:
        double passband_edge
        double stopband_edge
        double stopband_atten_db

    ctypedef struct la_filter_shape:
        int64_t up
        int64_t down
        int32_t taps
        double cutoff
        double kaiser_beta

    la_status la_filter_design(int64_t input_rate, int64_t output_rate,
                               const la_filter_params *params, la_filter_shape *shape) noexcept
    la_status la_filter_fill(const la_filter_shape *shape, float *coefs, size_t coefs_len) noexcept

    ctypedef struct la_resampler:
        int64_t total_in
        int64_t total_out
        int32_t taps
        int32_t num_channels

    int64_t la_resampler_min_capacity(int32_t taps) noexcept
    la_status la_resampler_init(la_resampler *r, const float *coefs, const la_filter_shape *shape,
                                int32_t num_channels, float *buf, int64_t buf_capacity) noexcept
    void la_resampler_reset(la_resampler *r) noexcept
    int64_t la_resampler_output_count(const la_resampler *r, int64_t in_frames) noexcept
    int64_t la_resampler_flush_count(const la_resampler *r) noexcept
    la_status la_resampler_process(la_resampler *r, const void *inp, int64_t in_frames, void *out,
                                   int64_t out_capacity, la_sample_format fmt,
                                   int64_t *out_written) noexcept
    la_status la_resampler_flush(la_resampler *r, void *out, int64_t out_capacity,
                                 la_sample_format fmt, int64_t *out_written) noexcept

    int la_cpu_has_avx2_fma() noexcept
    const char *la_dot_kernel_name() noexcept
    float la_dot_generic(const float *h, const float *x, int32_t n) noexcept
