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
/* CPU dispatch (la_cpu.c).                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Non-zero when this CPU runs the AVX2+FMA kernels (0 when LIVEKIT_AUDIO_NO_SIMD is set). */
int la_cpu_has_avx2_fma(void);

/* Name of the dot-product kernels the FIR loops use on this CPU ("avx2-fma", "generic"). */
const char *la_dot_kernel_name(void);

/* The portable dot product (n a multiple of LA_TAP_MULTIPLE), for tests. */
float la_dot_generic(const float *h, const float *x, int32_t n);

#ifdef __cplusplus
}
#endif
#endif /* LA_DSP_H */
