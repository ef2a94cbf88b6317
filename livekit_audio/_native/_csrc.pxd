# The only `cdef extern` block for csrc/la_dsp.h. Every function is noexcept nogil: the C side
# never touches Python and reports failure through la_status.
from libc.stdint cimport int16_t, int32_t, int64_t, uint64_t


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
    int LA_APM_MAX_CHANNELS
    int LA_APM_NUM_NATIVE_RATES
    const int32_t la_apm_native_rates_hz[]
    int LA_APM_MAX_STREAM_DELAY_MS
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

    # --- Mixing and gain (la_mix.c) -------------------------------------------------------
    int LA_MAX_MIX_INPUTS
    float LA_MAX_GAIN

    la_status la_mix_s16(const int16_t *const *inputs, const float *gains, int32_t n_inputs,
                         int16_t *out, int64_t n_samples) noexcept
    const char *la_mix_kernel_name() noexcept
    la_status la_gain_s16(int16_t *buf, int64_t n_frames, int32_t num_channels,
                          float gain_start, float gain_end) noexcept

    # --- Real FFT (la_fft.c) and audio processing module (la_apm.c and stages) ---------------
    ctypedef struct la_fft:
        int32_t n
    size_t la_fft_work_floats(int32_t n) noexcept
    la_status la_fft_init(la_fft *f, int32_t n, float *work, size_t work_floats) noexcept
    void la_rfft(const la_fft *f, const float *x, float *out_re, float *out_im) noexcept
    void la_irfft(const la_fft *f, const float *in_re, const float *in_im, float *x) noexcept

    ctypedef struct la_hpf:
        pass
    la_status la_hpf_design(la_hpf *h, double sample_rate_hz, double cutoff_hz) noexcept
    void la_hpf_process(la_hpf *h, int32_t channel, float *x, int32_t n) noexcept

    ctypedef struct la_band_split:
        int32_t factor
        int32_t half
    ctypedef struct la_band_decimator:
        pass
    ctypedef struct la_band_interpolator:
        pass
    la_status la_band_split_init(la_band_split *b, int32_t sample_rate_hz) noexcept
    void la_band_decimate(const la_band_split *b, la_band_decimator *d, const float *x,
                          int32_t n_high, float *out) noexcept
    void la_band_interpolate(const la_band_split *b, la_band_interpolator *u, const float *x,
                             int32_t n_low, float *out) noexcept

    ctypedef struct la_apm_config:
        int32_t sample_rate_hz
        int32_t num_channels
        int32_t high_pass_filter
        int32_t noise_suppression
        int32_t auto_gain_control
        int32_t echo_cancellation
        int32_t aec_tail_ms
        float ns_floor_db
        float agc_target_dbfs
        float agc_max_gain_db
        float agc_max_noise_out_dbfs

    ctypedef struct la_apm_stats:
        float speech_probability
        float noise_floor_dbfs
        float agc_gain_db
        float input_level_dbfs
        float output_level_dbfs
        float render_level_dbfs
        float echo_delay_ms
        float erle_db
        int64_t frames_processed
        int64_t render_frames
        int64_t render_overruns
        int64_t render_underruns
        int64_t delay_changes
        int64_t divergences
        float render_buffer_ms

    ctypedef struct la_apm:
        la_apm_stats stats
        int32_t hop

    la_status la_apm_init(la_apm *apm, const la_apm_config *config) noexcept
    void la_apm_reset(la_apm *apm) noexcept
    int32_t la_apm_delay_samples(const la_apm *apm) noexcept
    la_status la_apm_process_capture(la_apm *apm, int16_t *data, int64_t n_frames) noexcept
    la_status la_apm_process_capture_batch(la_apm *const *apms, int16_t *const *data,
                                           const int64_t *n_frames, la_status *status,
                                           int64_t n) noexcept
    la_status la_apm_process_render(la_apm *apm, const int16_t *data, int64_t n_frames,
                                    int32_t num_channels) noexcept
    void la_apm_set_stream_delay_ms(la_apm *apm, int32_t delay_ms) noexcept
    int64_t la_apm_subnormal_count(const la_apm *apm) noexcept

    int la_cpu_has_avx2_fma() noexcept
    const char *la_dot_kernel_name() noexcept
    float la_dot_generic(const float *h, const float *x, int32_t n) noexcept

    # --- Floating-point environment of processing calls (la_fpenv.c) -------------------------
    uint64_t la_fpenv_control_word() noexcept
    void la_fpenv_set_control_word(uint64_t word) noexcept
    const char *la_fpenv_kind() noexcept

    # --- ITU-T G.711 mu-law / A-law companding (la_g711.c) -----------------------------------
    # uint8_t in C; unsigned char here (identical on every supported platform), so this block
    # needs no further cimport.
    la_status la_ulaw_encode(const int16_t *inp, unsigned char *out, int64_t n) noexcept
    la_status la_alaw_encode(const int16_t *inp, unsigned char *out, int64_t n) noexcept
    la_status la_ulaw_decode(const unsigned char *inp, int16_t *out, int64_t n) noexcept
    la_status la_alaw_decode(const unsigned char *inp, int16_t *out, int64_t n) noexcept
