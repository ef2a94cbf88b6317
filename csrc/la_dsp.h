/*
 * la_dsp.h - public C API of livekit_audio's DSP kernels.
 *
 * Pure C11, no Python.h. Every function that can fail returns an la_status.
 * State lives in structs the caller allocates once; nothing here allocates memory.
 */
#ifndef LA_DSP_H
#define LA_DSP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Named status codes returned by every kernel entry point. */
typedef enum la_status {
    LA_OK = 0,
    LA_ERR_NULL_POINTER = 1,       /* a required pointer argument was NULL */
    LA_ERR_INVALID_RATE = 2,       /* a sample rate outside [LA_MIN_RATE_HZ, LA_MAX_RATE_HZ] */
    LA_ERR_INVALID_CHANNELS = 3,   /* num_channels outside [1, LA_MAX_CHANNELS] */
    LA_ERR_INVALID_ARGUMENT = 4,   /* a design parameter out of its documented range */
    LA_ERR_BUFFER_TOO_SMALL = 5,   /* an output or work buffer cannot hold the result */
    LA_ERR_TOO_MANY_PHASES = 6,    /* reduced up-sampling factor above LA_MAX_PHASES */
    LA_ERR_FILTER_TOO_LONG = 7     /* the requested filter needs more than LA_MAX_TAPS taps/phase */
} la_status;

/* Sample formats for kernel I/O. Internally everything is float32. */
typedef enum la_sample_format {
    LA_FORMAT_S16 = 0, /* int16 interleaved; output rounded to nearest and saturated */
    LA_FORMAT_F32 = 1  /* float32 interleaved; passed through unscaled, unclipped */
} la_sample_format;

#define LA_MIN_RATE_HZ 1000
#define LA_MAX_RATE_HZ 768000
#define LA_MAX_CHANNELS 8
#define LA_MAX_PHASES 4096
#define LA_MAX_TAPS 16384
#define LA_TAP_MULTIPLE 8 /* taps per phase are a multiple of this (SIMD width) */

/* ------------------------------------------------------------------------------------------ */
/* Polyphase windowed-sinc filter design (Kaiser window).                                      */
/* ------------------------------------------------------------------------------------------ */

/* Design request. Edges are fractions of the lower of the two Nyquist frequencies. */
typedef struct la_filter_params {
    double passband_edge;     /* e.g. 0.9: response flat to 0.9 x lower Nyquist */
    double stopband_edge;     /* e.g. 1.1: attenuation >= stopband_atten_db from here up */
    double stopband_atten_db; /* Kaiser design attenuation, dB (> 20) */
} la_filter_params;

/* Design result: the shape of the polyphase bank and the Kaiser parameters. */
typedef struct la_filter_shape {
    int64_t up;            /* L: output_rate / gcd */
    int64_t down;          /* M: input_rate / gcd */
    int32_t taps;          /* K: taps per phase, a multiple of LA_TAP_MULTIPLE, even */
    double cutoff;         /* -6 dB cutoff in cycles per input sample */
    double kaiser_beta;    /* Kaiser window beta */
} la_filter_shape;

/* Computes the bank shape for input_rate -> output_rate. No allocation. */
la_status la_filter_design(int64_t input_rate, int64_t output_rate, const la_filter_params *params,
                           la_filter_shape *shape);

/* Modified Bessel function of the first kind, order 0 (la_window.c). */
double la_bessel_i0(double x);
/* Kaiser window at r in [-1, 1] (0 outside), shape beta (la_window.c). */
double la_kaiser(double r, double beta);

/* Fills coefs[up * taps] (phase-major) for a shape from la_filter_design. Each phase is
 * normalised to unit DC gain. May take milliseconds; call once per (ratio, quality). */
la_status la_filter_fill(const la_filter_shape *shape, float *coefs, size_t coefs_len);

/* ------------------------------------------------------------------------------------------ */
/* Streaming polyphase resampler.                                                              */
/* ------------------------------------------------------------------------------------------ */

struct la_resampler;
/* The output loop, specialised per instruction set and chosen at init. */
typedef int64_t (*la_produce_fn)(struct la_resampler *r, void *out, int64_t max_out,
                                 la_sample_format fmt);

typedef struct la_resampler {
    const float *coefs;     /* caller-owned bank, up * taps floats, outlives the state */
    float *buf;             /* caller-owned planar history, num_channels * buf_capacity floats */
    la_produce_fn produce;  /* output loop chosen for this CPU at init */
    int64_t up, down;       /* L, M */
    int64_t step_int;       /* M / L */
    int64_t step_frac;      /* M % L */
    int64_t buf_capacity;   /* frames per channel in buf */
    int64_t buf_fill;       /* valid frames per channel in buf */
    int64_t buf_pos;        /* buffer index of the next output's window start */
    int64_t phase;          /* phase of the next output, in [0, up) */
    int64_t total_in;       /* frames consumed since reset */
    int64_t total_out;      /* frames produced since reset */
    int32_t taps;           /* K */
    int32_t num_channels;
} la_resampler;

/* Smallest buf_capacity (frames per channel) accepted by la_resampler_init. */
int64_t la_resampler_min_capacity(int32_t taps);

la_status la_resampler_init(la_resampler *r, const float *coefs, const la_filter_shape *shape,
                            int32_t num_channels, float *buf, int64_t buf_capacity);

/* Forgets all history: the next frame starts a new stream. */
void la_resampler_reset(la_resampler *r);

/* Frames la_resampler_process will write if given in_frames more input frames. */
int64_t la_resampler_output_count(const la_resampler *r, int64_t in_frames);

/* Frames la_resampler_flush will write: round(total_in * up / down) - total_out. */
int64_t la_resampler_flush_count(const la_resampler *r);

/* Consumes all in_frames interleaved frames of `fmt` and writes every output frame they make
 * available. out_capacity (frames) must be >= la_resampler_output_count(r, in_frames), else
 * LA_ERR_BUFFER_TOO_SMALL is returned and the state is left untouched. */
la_status la_resampler_process(la_resampler *r, const void *in, int64_t in_frames, void *out,
                               int64_t out_capacity, la_sample_format fmt, int64_t *out_written);

/* Writes the held-back tail (input padded with zeros) and resets the state. */
la_status la_resampler_flush(la_resampler *r, void *out, int64_t out_capacity,
                             la_sample_format fmt, int64_t *out_written);

/* ------------------------------------------------------------------------------------------ */
/* Real FFT of power-of-two size (la_fft.c).                                                  */
/* ------------------------------------------------------------------------------------------ */

#define LA_FFT_MIN_SIZE 8
#define LA_FFT_MAX_SIZE 8192

/* Plan and scratch for one size. All arrays point into caller-owned work memory. */
typedef struct la_fft {
    int32_t n;         /* real transform size */
    int32_t m;         /* n / 2, the complex transform size */
    float *tw_re, *tw_im; /* per-stage twiddles */
    float *sp_re, *sp_im; /* split-step twiddles exp(-2 pi i k / n), k <= m/2 */
    float *z_re, *z_im;   /* complex scratch */
    int32_t *bitrev;      /* bit-reversal permutation of m */
    int32_t use_avx2;     /* transforms: AVX2 copy (chosen at init) */
} la_fft;

/* Floats of work memory la_fft_init needs for size n. */
size_t la_fft_work_floats(int32_t n);

/* Plans a size-n real FFT (n a power of two in [LA_FFT_MIN_SIZE, LA_FFT_MAX_SIZE]). */
la_status la_fft_init(la_fft *f, int32_t n, float *work, size_t work_floats);

/* X = rfft(x): n real samples in, n/2 + 1 bins out (unnormalised, numpy's convention). */
void la_rfft(const la_fft *f, const float *x, float *out_re, float *out_im);

/* x = irfft(X): n/2 + 1 bins in (imaginary parts of bins 0 and n/2 ignored), n samples out,
 * scaled by 1/n so that la_irfft(la_rfft(x)) == x. */
void la_irfft(const la_fft *f, const float *in_re, const float *in_im, float *x);

/* ------------------------------------------------------------------------------------------ */
/* Audio processing module: HPF -> (echo canceller) -> noise suppressor -> AGC (la_apm*.c).     */
/* ------------------------------------------------------------------------------------------ */

#define LA_APM_MAX_CHANNELS 2
/* The rates the module runs at natively (others are resampled to one of them by the Python
 * layer), and how many there are. */
#define LA_APM_NUM_NATIVE_RATES 4
extern const int32_t la_apm_native_rates_hz[LA_APM_NUM_NATIVE_RATES];
/* Largest stream delay hint (la_apm_set_stream_delay_ms), ms: the delay estimator's range. */
#define LA_APM_MAX_STREAM_DELAY_MS 500
#define LA_APM_MAX_HOP 480   /* 10 ms at 48 kHz */
#define LA_APM_MAX_FFT 1024  /* next power of two >= 2 * hop */
#define LA_APM_MAX_BINS (LA_APM_MAX_FFT / 2 + 1)

/* Fourth-order Butterworth high-pass as two biquads (transposed direct form II, double). */
typedef struct la_biquad {
    double b0, b1, b2, a1, a2;
} la_biquad;

#define LA_HPF_BLOCK 8 /* samples per state-space step */

/* The cascade as a 4-state system s' = A s + B x, y = C s + D x, evaluated LA_HPF_BLOCK
 * samples at a time: y = O s + T x and s' = P s + Q x (matrices precomputed in double). */
typedef struct la_hpf {
    la_biquad section[2];
    float out_state[4][LA_HPF_BLOCK];            /* O, column c: C A^k */
    float out_input[LA_HPF_BLOCK][LA_HPF_BLOCK]; /* T, column j: h[k - j] (0 for k < j) */
    float next_state[4][4];                      /* P = A^L, column c */
    float next_input[LA_HPF_BLOCK][4];           /* Q, column j: A^(L-1-j) B */
    float a[4][4], b[4], c[4], d;                /* one-sample step, for tails */
    float s[LA_APM_MAX_CHANNELS][4];             /* state per channel */
    int32_t use_avx2;                            /* chosen once, at design */
} la_hpf;

la_status la_hpf_design(la_hpf *h, double sample_rate_hz, double cutoff_hz);
void la_hpf_reset(la_hpf *h);
/* Filters n samples of one channel in place. */
void la_hpf_process(la_hpf *h, int32_t channel, float *x, int32_t n);

/* Noise suppressor: STFT (sqrt-Hann, window 2 x hop, zero-padded to a power of two), SPP-based
 * MMSE noise estimate, decision-directed a-priori SNR, OM-LSA gain with a floor. */
#define LA_NS_MAX_GLOBAL_HALF 24 /* bins: 470 Hz at >= 25 Hz per bin, 2 kHz >= rate / 100 */

typedef struct la_ns {
    la_fft fft;
    float fft_work[2 * LA_APM_MAX_FFT + 3 * LA_APM_MAX_FFT / 2 + 64];
    float window[2 * LA_APM_MAX_HOP];                      /* sqrt periodic Hann, length 2 hop */
    float analysis[LA_APM_MAX_CHANNELS][2 * LA_APM_MAX_HOP]; /* last 2 hop input samples */
    float overlap[LA_APM_MAX_CHANNELS][LA_APM_MAX_HOP];     /* synthesis tail to add next hop */
    float spec_re[LA_APM_MAX_CHANNELS][LA_APM_MAX_BINS];
    float spec_im[LA_APM_MAX_CHANNELS][LA_APM_MAX_BINS];
    float frame[LA_APM_MAX_FFT];
    float power[LA_APM_MAX_BINS];       /* channel-mean |Y|^2 of the current frame */
    float noise_psd[LA_APM_MAX_BINS];   /* noise power estimate per bin */
    float spp_smoothed[LA_APM_MAX_BINS];
    float clean_snr_prev[LA_APM_MAX_BINS]; /* |G Y|^2 / noise of the previous frame */
    float gain[LA_APM_MAX_BINS];
    int32_t hop, window_len, nfft, bins, num_channels;
    int32_t frames_seen;
    float echo_analysis[LA_APM_MAX_CHANNELS][2 * LA_APM_MAX_HOP]; /* echo estimate input */
    float echo_power[LA_APM_MAX_BINS];  /* channel-mean |Yhat|^2 of the echo estimate */
    float echo_re[LA_APM_MAX_BINS], echo_im[LA_APM_MAX_BINS];
    float res_gain[LA_APM_MAX_BINS];    /* residual echo suppression gain, smoothed */
    float res_leakage;                  /* residual / echo-estimate power ratio (from the AEC) */
    const float *res_ratio;             /* the AEC's render-driven residual-to-error ratio */
    float res_ratio_bin_hz;             /* ... per bin of this width (0: none) */
    int32_t res_double_talk;            /* the AEC's double-talk detector fires */
    int32_t suppress_noise;             /* 0: the stage only suppresses residual echo */
    int32_t band_4k, band_8k;           /* bins of 4 and 8 kHz (upper band follows 4-8 kHz) */
    float gain_floor;           /* linear */
    float speech_probability;   /* mean a-posteriori speech presence, 300 Hz - 4 kHz */
    float noise_power;          /* mean square of the noise estimate, int16 units^2 */
    int32_t band_lo, band_hi;   /* bins of 300 Hz and 4 kHz */
    /* Speech absence probability (Cohen & Berdugo 2001) */
    float zeta[LA_APM_MAX_BINS];        /* recursive average of the a-priori SNR */
    float absence[LA_APM_MAX_BINS];     /* a-priori speech absence probability q */
    /* scratch: running sums of zeta over frequency, global_half entries of padding each side */
    double prefix[LA_APM_MAX_BINS + 2 * LA_NS_MAX_GLOBAL_HALF + 1];
    float inv_local[LA_APM_MAX_BINS], inv_global[LA_APM_MAX_BINS]; /* 1 / bins per window */
    float zeta_frame_prev, zeta_peak;   /* frame mean of zeta (last frame), its recent peak */
    int32_t global_half;                /* half width of the global window, bins */
    int32_t use_avx2;                   /* per-bin loops: AVX2 copy (chosen at init) */
    /* Babble detector: dips of the noise estimate below its running median */
    float noise_median[LA_APM_MAX_BINS]; /* log2 of the noise estimate, running median */
    float noise_dip[LA_APM_MAX_BINS];    /* smoothed depth of the dips below it, log2 units */
    float band_peak;            /* decaying peak of the 300 Hz - 4 kHz input power */
    float babble;               /* 0 (stationary noise) .. 1 (babble), smoothed */
    float floor_db;             /* configured gain floor, dB */
    float peak_db;              /* band peak over the noise estimate, dB (last frame) */
} la_ns;

la_status la_ns_init(la_ns *ns, int32_t sample_rate_hz, int32_t num_channels, float floor_db);
void la_ns_reset(la_ns *ns);
/* Processes one hop per channel in place (planar x[c] of hop samples); output lags by hop.
 * echo: planar echo estimates aligned with x (residual echo suppression), or NULL. */
void la_ns_process(la_ns *ns, float *const *x, float *const *echo);

/* Automatic gain control: VAD-gated speech level, capped gain in pauses, look-ahead limiter. */
#define LA_AGC_FLOOR_WINDOWS 8 /* noise floor: minimum over 8 windows of 20 frames (1.6 s) */

typedef struct la_agc {
    float target_dbfs, max_gain_db, max_noise_out_dbfs;
    float speech_level_db, floor_db, frame_level_db;
    float smoothed_power;                     /* frame power, smoothed over ~30 ms */
    float window_min[LA_AGC_FLOOR_WINDOWS];   /* minima of past windows, dB */
    float current_min;                        /* minimum of the window being filled, dB */
    int32_t window_frames, window_index;
    float gain_db;       /* gain heading for, dB */
    float applied_gain;  /* linear gain at the end of the previous frame */
    float limiter_gain;  /* limiter gain at the end of the previous frame */
    int32_t speech_frames, hangover, frames_seen, hop, num_channels;
    int32_t is_speech;
} la_agc;

la_status la_agc_init(la_agc *agc, int32_t sample_rate_hz, int32_t num_channels,
                      float target_dbfs, float max_gain_db, float max_noise_out_dbfs);
void la_agc_reset(la_agc *agc);
/* speech_hint: the noise suppressor's speech presence in [0, 1], or < 0 when it is off. */
void la_agc_process(la_agc *agc, float *const *x, float speech_hint);

/* Band split for the echo canceller at 32 and 48 kHz (la_band.c): a linear-phase FIR
 * decimator to 16 kHz and the matching interpolator back. Down then up is a pure delay of
 * 2 * half samples (at the high rate) for content below ~7.5 kHz. */
#define LA_BAND_RATE 16000                 /* the rate the adaptive filter runs at */
#define LA_BAND_MAX_TAPS 136               /* prototype taps (2 half + 1), padded to 8 */
#define LA_BAND_MAX_PHASE 48               /* interpolator taps per phase, padded to 8 */

typedef struct la_band_split {
    int32_t factor;                        /* high rate / 16 kHz: 2 or 3 */
    int32_t half;                          /* prototype centre tap; taps = 2 half + 1 */
    int32_t taps_padded, phase_len;        /* multiples of 8 */
    int32_t use_avx2;                      /* kernel chosen at init */
    float h[LA_BAND_MAX_TAPS];             /* lowpass prototype at the high rate, DC gain 1 */
    float phase[3][LA_BAND_MAX_PHASE];     /* factor * h[factor i + r], reversed, per phase r */
} la_band_split;

typedef struct la_band_decimator {
    float hist[LA_BAND_MAX_TAPS + LA_APM_MAX_HOP]; /* taps_padded - 1 past samples, then the hop */
} la_band_decimator;

typedef struct la_band_interpolator {
    float hist[LA_BAND_MAX_PHASE + LA_APM_MAX_HOP]; /* phase_len - 1 past samples, then the hop */
} la_band_interpolator;

la_status la_band_split_init(la_band_split *b, int32_t sample_rate_hz);
/* n_high samples at the high rate -> n_high / factor at 16 kHz (a multiple of 4). */
void la_band_decimate(const la_band_split *b, la_band_decimator *d, const float *x,
                      int32_t n_high, float *out);
/* n_low samples at 16 kHz -> n_low * factor at the high rate (a multiple of 4). */
void la_band_interpolate(const la_band_split *b, la_band_interpolator *u, const float *x,
                         int32_t n_low, float *out);

/* Echo canceller: bounded render buffer, envelope-correlation delay estimator, and a
 * partitioned-block frequency-domain adaptive filter (foreground/background pair), at 8 or
 * 16 kHz (the module band-splits 32/48 kHz). It writes the linear error into the capture and its echo estimate alongside;
 * the spectral stage (la_ns) suppresses the residual. */
#define LA_AEC_MAX_PARTITIONS 64           /* 10 ms each: up to 640 ms of echo tail */
#define LA_AEC_MAX_BINS 257                /* FFT bins at 16 kHz (the highest rate it runs at) */
#define LA_AEC_RING (2 * 16000 + 1024)     /* render history, samples (2 s at 16 kHz) */
#define LA_AEC_ENV_BLOCK_MS 2              /* delay estimator resolution */
#define LA_AEC_ENV_LEN 1024                /* envelope history, blocks (2 s) */

typedef struct la_aec {
    la_fft fft;
    float fft_work[2 * LA_APM_MAX_FFT + 3 * LA_APM_MAX_FFT / 2 + 64];
    int32_t rate, hop, nfft, bins, partitions, num_channels;
    int32_t use_avx2; /* filter sum: AVX2 copy (chosen at init) */
    /* render history (mono, down-mixed) indexed by absolute render sample */
    float ring[LA_AEC_RING];
    int64_t render_written, capture_done;
    int64_t ring_len;                     /* samples of ring in use: 2 s at this rate */
    int64_t bulk_delay;                   /* samples between render index and filter input */
    /* render spectra, partitions deep (ring index `head` is the newest) */
    float x_re[LA_AEC_MAX_PARTITIONS][LA_AEC_MAX_BINS];
    float x_im[LA_AEC_MAX_PARTITIONS][LA_AEC_MAX_BINS];
    int32_t head;
    float x_power[LA_AEC_MAX_BINS];       /* smoothed sum over partitions of |X|^2 */
    /* filters per capture channel: background (adapts) and foreground (used) */
    float wb_re[LA_APM_MAX_CHANNELS][LA_AEC_MAX_PARTITIONS][LA_AEC_MAX_BINS];
    float wb_im[LA_APM_MAX_CHANNELS][LA_AEC_MAX_PARTITIONS][LA_AEC_MAX_BINS];
    float wf_re[LA_APM_MAX_CHANNELS][LA_AEC_MAX_PARTITIONS][LA_AEC_MAX_BINS];
    float wf_im[LA_APM_MAX_CHANNELS][LA_AEC_MAX_PARTITIONS][LA_AEC_MAX_BINS];
    float frame[LA_APM_MAX_FFT];
    float spec_re[LA_APM_MAX_BINS], spec_im[LA_APM_MAX_BINS];     /* FFT scratch */
    float e_re[LA_APM_MAX_BINS], e_im[LA_APM_MAX_BINS];
    float yb[LA_APM_MAX_HOP], yf[LA_APM_MAX_HOP], eb[LA_APM_MAX_HOP];
    float leak_ey[LA_APM_MAX_CHANNELS], leak_yy[LA_APM_MAX_CHANNELS], leakage[LA_APM_MAX_CHANNELS];
    /* double-talk detector (channel 0): D's spectrum, smoothed |D|^2, |Yf|^2, conj(Yf) D */
    float d_re[LA_AEC_MAX_BINS], d_im[LA_AEC_MAX_BINS];
    float dtd_dd[LA_AEC_MAX_BINS], dtd_yy[LA_AEC_MAX_BINS];
    float dtd_yd_re[LA_AEC_MAX_BINS], dtd_yd_im[LA_AEC_MAX_BINS];
    float dtd_share;                      /* share of recent far-active blocks in double talk */
    float dtd_ee;                         /* smoothed foreground error energy */
    int32_t dtd_hang, near_active;        /* near_active: double talk detected */
    int32_t since_near;                   /* far-active blocks since the last detection (before
                                           * the leakage test), for the suppressor */
    int32_t converged;                    /* the filter has cancelled 12 dB: the detector runs */
    int32_t ever_converged;               /* ... at least once since the reset */
    float leak_pe_avg[LA_APM_MAX_CHANNELS][LA_AEC_MAX_BINS]; /* running means of |E|^2, |Y|^2 */
    float leak_gey[LA_APM_MAX_CHANNELS], leak_gyy[LA_APM_MAX_CHANNELS]; /* across-bin regression */
    float leak_py_avg[LA_APM_MAX_CHANNELS][LA_AEC_MAX_BINS];
    int32_t better_frames[LA_APM_MAX_CHANNELS], worse_frames[LA_APM_MAX_CHANNELS];
    int32_t lost_frames[LA_APM_MAX_CHANNELS]; /* blocks the foreground's error exceeded the mic */
    int32_t constrain_next;
    /* render-driven residual echo estimate: the aligned render power with a decaying tail,
     * the linear residual's gain over it, and the residual-to-error ratio it implies */
    float render_tail[LA_AEC_MAX_BINS], path_gain[LA_AEC_MAX_BINS], res_ratio[LA_AEC_MAX_BINS];
    float bin_hz;
    float sum_adapt[LA_APM_MAX_CHANNELS];  /* step taken so far, while not yet adapted */
    int32_t adapted[LA_APM_MAX_CHANNELS];  /* the learning rate follows Valin's estimate */
    /* delay estimator: log-energy envelopes in 2 ms blocks */
    float render_env[LA_AEC_ENV_LEN], capture_env[LA_AEC_ENV_LEN];
    int64_t render_env_count, capture_env_count;
    float render_env_acc, capture_env_acc;
    int32_t render_env_fill, capture_env_fill, env_block;
    int32_t frames_since_estimate, delay_votes;
    int64_t delay_candidate;
    /* statistics */
    float erle_db, echo_power, residual_power, echo_delay_ms;
    int64_t render_overruns, render_underruns, delay_changes, divergences;
} la_aec;

la_status la_aec_init(la_aec *aec, int32_t sample_rate_hz, int32_t num_channels, int32_t tail_ms);
void la_aec_reset(la_aec *aec);
/* Where the echo of render sample i is expected in the capture: i + delay_samples. */
void la_aec_set_delay_hint(la_aec *aec, int64_t delay_samples);
/* Appends n mono render samples at the canceller's rate. */
void la_aec_push_render(la_aec *aec, const float *mono, int64_t n);
/* Cancels the echo in one hop of planar capture (in place) and writes the echo estimate. */
void la_aec_process(la_aec *aec, float *const *capture, float *const *echo);

/* The module. */
typedef struct la_apm_config {
    int32_t sample_rate_hz;       /* 8000, 16000, 32000 or 48000 */
    int32_t num_channels;         /* 1 or 2 */
    int32_t high_pass_filter;     /* booleans */
    int32_t noise_suppression;
    int32_t auto_gain_control;
    int32_t echo_cancellation;
    int32_t aec_tail_ms;          /* echo tail the adaptive filter covers, ms */
    float ns_floor_db;            /* noise suppressor gain floor, dB (< 0) */
    float agc_target_dbfs;        /* speech level target, dBFS (RMS re full-scale square) */
    float agc_max_gain_db;        /* most gain the AGC applies to speech */
    float agc_max_noise_out_dbfs; /* pauses: noise is not raised above this */
} la_apm_config;

typedef struct la_apm_stats {
    float speech_probability;
    float noise_floor_dbfs;
    float agc_gain_db;
    float input_level_dbfs;
    float output_level_dbfs;
    float render_level_dbfs;
    float echo_delay_ms;          /* -1 until measured */
    float erle_db;
    int64_t frames_processed;
    int64_t render_frames;
    int64_t render_overruns, render_underruns, delay_changes, divergences;
    float render_buffer_ms;       /* render audio buffered ahead of the capture */
} la_apm_stats;

typedef struct la_apm {
    la_apm_config config;
    la_hpf hpf;
    la_ns ns;
    la_agc agc;
    la_aec aec;
    float echo[LA_APM_MAX_CHANNELS][LA_APM_MAX_HOP];
    /* band split at 32/48 kHz: the canceller runs at 16 kHz (split = 1) */
    int32_t split;
    la_band_split band;
    la_band_decimator render_down, capture_down[LA_APM_MAX_CHANNELS];
    la_band_interpolator echo_up[LA_APM_MAX_CHANNELS];
    float capture_delay[LA_APM_MAX_CHANNELS][LA_BAND_MAX_TAPS + LA_APM_MAX_HOP];
    float low[LA_APM_MAX_CHANNELS][LA_APM_MAX_HOP], low_echo[LA_APM_MAX_CHANNELS][LA_APM_MAX_HOP];
    float render_mono[LA_APM_MAX_HOP];
    la_apm_stats stats;
    float planar[LA_APM_MAX_CHANNELS][LA_APM_MAX_HOP];
    int32_t hop;
} la_apm;

la_status la_apm_init(la_apm *apm, const la_apm_config *config);
void la_apm_reset(la_apm *apm);
/* Samples of delay the enabled stages add: the spectral stage's hop, plus the band split's
 * delay when the echo canceller runs on it (32/48 kHz). */
int32_t la_apm_delay_samples(const la_apm *apm);
/* Processes n_frames interleaved int16 frames in place; n_frames must be a multiple of the
 * 10 ms hop (LA_ERR_INVALID_ARGUMENT otherwise, and nothing is touched). */
la_status la_apm_process_capture(la_apm *apm, int16_t *data, int64_t n_frames);
/* la_apm_process_capture for n modules, each on its own buffer (apms[i] on data[i], n_frames[i]
 * frames), in one call: every item is attempted and status[i] gets its result; returns the
 * first failure (LA_OK if none). The modules must be distinct. */
la_status la_apm_process_capture_batch(la_apm *const *apms, int16_t *const *data,
                                       const int64_t *n_frames, la_status *status, int64_t n);
/* Subnormal floats held anywhere in the module's state (HPF, NS, AEC, AGC, band split,
 * buffers), classified by bit pattern: an inspection hook for tests. Stage structs above that
 * gain a float field must add it to the count in la_apm.c. */
int64_t la_apm_subnormal_count(const la_apm *apm);
/* Where the far end's echo is expected in the capture, ms after the render call. */
void la_apm_set_stream_delay_ms(la_apm *apm, int32_t delay_ms);
/* Accepts the far-end (render) stream: the echo canceller's reference (and measured). */
la_status la_apm_process_render(la_apm *apm, const int16_t *data, int64_t n_frames,
                                int32_t num_channels);

/* ------------------------------------------------------------------------------------------ */
/* Mixing and gain of int16 interleaved PCM (la_mix.c).                                        */
/* ------------------------------------------------------------------------------------------ */

#define LA_MAX_MIX_INPUTS 4096 /* int32 accumulation cannot overflow: 4096 * 32768 < 2^31 */
#define LA_MAX_GAIN 1000.0f    /* largest |linear gain| (+60 dB): keeps every float sum finite */

/* out[j] = saturate(sum_i gains[i] * inputs[i][j]) for j < n_samples (samples, not frames:
 * mixing is channel-agnostic on interleaved data). gains == NULL, or all gains exactly 1.0f,
 * takes the exact integer path (int32 sum, saturated once); otherwise float32 accumulation in
 * input order, clamped, rounded to nearest (ties to even). n_inputs == 0 writes silence.
 * `out` must not partially overlap an input; it may be one of them (the same pointer).
 * LA_ERR_INVALID_ARGUMENT: n_inputs outside [0, LA_MAX_MIX_INPUTS], n_samples < 0, or a gain
 * that is NaN or beyond +-LA_MAX_GAIN. LA_ERR_NULL_POINTER: a NULL buffer with n_samples > 0. */
la_status la_mix_s16(const int16_t *const *inputs, const float *gains, int32_t n_inputs,
                     int16_t *out, int64_t n_samples);

/* Loops la_mix_s16 runs on this CPU: "avx2" or "generic" (identical results). Chosen on first
 * use, honouring LIVEKIT_AUDIO_NO_SIMD. */
const char *la_mix_kernel_name(void);

/* In-place gain with rounding (ties to even) and saturation. gain_start == gain_end: constant
 * gain (1.0f leaves buf untouched, 0.0f writes silence). Otherwise a linear ramp, one gain per
 * frame, g_k = gain_start * (1 - t) + gain_end * t with t = (k + 1) / n_frames (float32), so
 * the last frame gets gain_end exactly. LA_ERR_INVALID_CHANNELS: num_channels < 1.
 * LA_ERR_INVALID_ARGUMENT: n_frames < 0, a gain that is NaN or beyond +-LA_MAX_GAIN, or a
 * ramp over more than INT32_MAX frames. */
la_status la_gain_s16(int16_t *buf, int64_t n_frames, int32_t num_channels, float gain_start,
                      float gain_end);

/* ------------------------------------------------------------------------------------------ */
/* Floating-point environment of processing calls (la_fpenv.c).                                */
/* ------------------------------------------------------------------------------------------ */

/* The caller's floating-point control word, as la_fpenv_enter read it. */
typedef uint64_t la_fpenv;

/* Saves the control word and switches this thread to the kernels' environment: subnormals
 * flushed to zero (inputs and results), round to nearest even, exceptions masked. Every public
 * processing entry point runs between la_fpenv_enter and la_fpenv_leave (see la_fpenv.c). */
la_fpenv la_fpenv_enter(void);
/* Restores the control word la_fpenv_enter returned. */
void la_fpenv_leave(la_fpenv saved);
/* The raw control word of this thread (x86-64: MXCSR; arm64: FPCR; elsewhere 0), and its
 * setter: test hooks for checking that a call leaves the caller's environment untouched. */
uint64_t la_fpenv_control_word(void);
void la_fpenv_set_control_word(uint64_t word);
/* What la_fpenv_enter does on this build, e.g. "x86-64 MXCSR: FTZ+DAZ, ...", or "none: ...". */
const char *la_fpenv_kind(void);

/* ------------------------------------------------------------------------------------------ */
/* CPU dispatch (la_cpu.c).                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Non-zero when this CPU runs the AVX2+FMA kernels (0 when LIVEKIT_AUDIO_NO_SIMD is set). */
int la_cpu_has_avx2_fma(void);

/* Name of the dot-product kernels the FIR loops use on this CPU ("avx2-fma", "generic"). */
const char *la_dot_kernel_name(void);

/* The portable dot product (n a multiple of LA_TAP_MULTIPLE), for tests. */
float la_dot_generic(const float *h, const float *x, int32_t n);

/* ------------------------------------------------------------------------------------------ */
/* ITU-T G.711 mu-law / A-law companding (la_g711.c).                                          */
/* ------------------------------------------------------------------------------------------ */

/* n int16 samples -> n G.711 codes (as transmitted: mu-law bit-inverted, A-law even bits
 * inverted), by the segment/quantisation rules of G.711 as the ITU's G.191 STL applies them
 * to 16-bit input (negative values in one's complement). in and out must not overlap.
 * LA_ERR_INVALID_ARGUMENT: n < 0. LA_ERR_NULL_POINTER: a NULL buffer with n > 0. */
la_status la_ulaw_encode(const int16_t *in, uint8_t *out, int64_t n);
la_status la_alaw_encode(const int16_t *in, uint8_t *out, int64_t n);
/* n G.711 codes -> n int16 samples: the reconstruction value of each code (the middle of its
 * quantisation interval), left-justified to 16 bits: mu-law +-0..32124, A-law +-8..32256. */
la_status la_ulaw_decode(const uint8_t *in, int16_t *out, int64_t n);
la_status la_alaw_decode(const uint8_t *in, int16_t *out, int64_t n);

#ifdef __cplusplus
}
#endif
#endif /* LA_DSP_H */
