/*
 * la_resample.c - Kaiser-windowed-sinc polyphase design and a streaming rational resampler.
 *
 * Design: J. F. Kaiser, "Nonrecursive digital filter design using the I0-sinh window
 * function", Proc. IEEE ISCAS 1974 (beta and length formulas as given in Oppenheim & Schafer,
 * Discrete-Time Signal Processing, 3rd ed., sec. 7.6). Structure: the polyphase decomposition
 * of an interpolate-by-L / filter / decimate-by-M chain (Crochiere & Rabiner, Multirate
 * Digital Signal Processing, 1983, ch. 3), evaluated directly at each output instant.
 *
 * Time alignment: output sample k is the band-limited input evaluated at input time
 * t_k = k * M / L (input samples), so the streams are aligned at t = 0. With n0 = floor(t_k)
 * and phase p = (k * M) mod L, output k is
 *     y[k] = sum_{m=0}^{K-1} c[p][m] * x[n0 - K/2 + 1 + m],
 *     c[p][m] = g(p / L + K/2 - 1 - m),
 * with g the windowed sinc in units of input samples. x[n] = 0 for n < 0 (the history starts
 * silent) and, on flush, for n >= the number of input frames.
 */
#include <math.h>
#include <string.h>

#include "la_dsp.h"
#include "la_simd.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static int64_t la_gcd(int64_t a, int64_t b) {
    while (b != 0) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static double la_kaiser_beta(double atten_db) {
    if (atten_db > 50.0) {
        return 0.1102 * (atten_db - 8.7);
    }
    if (atten_db >= 21.0) {
        return 0.5842 * pow(atten_db - 21.0, 0.4) + 0.07886 * (atten_db - 21.0);
    }
    return 0.0;
}

la_status la_filter_design(int64_t input_rate, int64_t output_rate, const la_filter_params *params,
                           la_filter_shape *shape) {
    if (params == NULL || shape == NULL) {
        return LA_ERR_NULL_POINTER;
    }
    if (input_rate < LA_MIN_RATE_HZ || input_rate > LA_MAX_RATE_HZ || output_rate < LA_MIN_RATE_HZ ||
        output_rate > LA_MAX_RATE_HZ) {
        return LA_ERR_INVALID_RATE;
    }
    double pass = params->passband_edge;
    double stop = params->stopband_edge;
    double atten = params->stopband_atten_db;
    if (!(pass > 0.0 && pass < stop && stop <= 2.0 - pass && atten > 20.0 && atten < 200.0)) {
        return LA_ERR_INVALID_ARGUMENT;
    }
    int64_t g = la_gcd(input_rate, output_rate);
    int64_t up = output_rate / g;
    int64_t down = input_rate / g;
    if (up > LA_MAX_PHASES) {
        return LA_ERR_TOO_MANY_PHASES;
    }
    double nyquist_low = 0.5 * (double)(input_rate < output_rate ? input_rate : output_rate);
    /* Transition width and cutoff in cycles per input sample. */
    double transition = (stop - pass) * nyquist_low / (double)input_rate;
    double length = (atten - 7.95) / (2.285 * 2.0 * M_PI * transition) + 1.0;
    double taps = ceil(length / LA_TAP_MULTIPLE) * LA_TAP_MULTIPLE;
    if (taps > LA_MAX_TAPS) {
        return LA_ERR_FILTER_TOO_LONG;
    }
    int32_t k = (int32_t)taps;
    /* The window must span more than one decimation step so outputs never skip input. */
    int64_t step = (down + up - 1) / up;
    while (k <= step) {
        k += LA_TAP_MULTIPLE;
    }
    shape->up = up;
    shape->down = down;
    shape->taps = k;
    shape->cutoff = 0.5 * (pass + stop) * nyquist_low / (double)input_rate;
    shape->kaiser_beta = la_kaiser_beta(atten);
    return LA_OK;
}

la_status la_filter_fill(const la_filter_shape *shape, float *coefs, size_t coefs_len) {
    if (shape == NULL || coefs == NULL) {
        return LA_ERR_NULL_POINTER;
    }
    if (shape->up < 1 || shape->taps < LA_TAP_MULTIPLE || shape->taps % LA_TAP_MULTIPLE != 0) {
        return LA_ERR_INVALID_ARGUMENT;
    }
    if (coefs_len < (size_t)shape->up * (size_t)shape->taps) {
        return LA_ERR_BUFFER_TOO_SMALL;
    }
    const int32_t taps = shape->taps;
    const double half = 0.5 * taps;
    const double fc2 = 2.0 * shape->cutoff;
    const double beta = shape->kaiser_beta;
    for (int64_t p = 0; p < shape->up; ++p) {
        float *row = coefs + p * taps;
        double sum = 0.0;
        int32_t centre = 0;
        double best = -1.0;
        for (int32_t m = 0; m < taps; ++m) {
            double tau = (double)p / (double)shape->up + half - 1.0 - (double)m;
            double r = tau / half;
            double w = la_kaiser(r, beta);
            double arg = M_PI * fc2 * tau;
            double s = (tau == 0.0) ? fc2 : fc2 * sin(arg) / arg;
            double v = s * w;
            row[m] = (float)v;
            sum += v;
            if (fabs(tau) < best || best < 0.0) {
                best = fabs(tau);
                centre = m;
            }
        }
        /* Unit DC gain per phase, then fold the float rounding residue into the centre tap so
         * that a constant input comes out as that constant. */
        double fsum = 0.0;
        for (int32_t m = 0; m < taps; ++m) {
            row[m] = (float)((double)row[m] / sum);
            fsum += (double)row[m];
        }
        row[centre] = (float)((double)row[centre] + (1.0 - fsum));
    }
    return LA_OK;
}

static la_produce_fn la_produce_select(void);

int64_t la_resampler_min_capacity(int32_t taps) { return (int64_t)taps * 2 + 64; }

la_status la_resampler_init(la_resampler *r, const float *coefs, const la_filter_shape *shape,
                            int32_t num_channels, float *buf, int64_t buf_capacity) {
    if (r == NULL || coefs == NULL || shape == NULL || buf == NULL) {
        return LA_ERR_NULL_POINTER;
    }
    if (num_channels < 1 || num_channels > LA_MAX_CHANNELS) {
        return LA_ERR_INVALID_CHANNELS;
    }
    if (shape->up < 1 || shape->down < 1 || shape->taps < LA_TAP_MULTIPLE ||
        shape->taps % LA_TAP_MULTIPLE != 0 || shape->taps <= (shape->down + shape->up - 1) / shape->up) {
        return LA_ERR_INVALID_ARGUMENT;
    }
    if (buf_capacity < la_resampler_min_capacity(shape->taps)) {
        return LA_ERR_BUFFER_TOO_SMALL;
    }
    r->coefs = coefs;
    r->buf = buf;
    r->produce = la_produce_select();
    r->up = shape->up;
    r->down = shape->down;
    r->step_int = shape->down / shape->up;
    r->step_frac = shape->down % shape->up;
    r->buf_capacity = buf_capacity;
    r->taps = shape->taps;
    r->num_channels = num_channels;
    la_resampler_reset(r);
    return LA_OK;
}

void la_resampler_reset(la_resampler *r) {
    /* K/2 - 1 frames of silent history put input 0 at the right place in the first window. */
    int64_t history = r->taps / 2 - 1;
    for (int32_t c = 0; c < r->num_channels; ++c) {
        memset(r->buf + c * r->buf_capacity, 0, (size_t)history * sizeof(float));
    }
    r->buf_fill = history;
    r->buf_pos = 0;
    r->phase = 0;
    r->total_in = 0;
    r->total_out = 0;
}

/* n * L / M for n >= 0 with the quotient's rounding chosen by `bias` (0: floor, M - 1:
 * ceiling), without overflowing int64: the whole multiples of M are scaled first, and the
 * remainder times L stays below M L <= 768000 * 4096. Saturates at INT64_MAX. */
static int64_t la_scale(int64_t n, int64_t up, int64_t down, int64_t bias) {
    int64_t whole = n / down;
    int64_t rest = ((n % down) * up + bias) / down;
    if (whole > (INT64_MAX - rest) / up) {
        return INT64_MAX;
    }
    return whole * up + rest;
}

/* Number of outputs k >= 0 whose window lies within `total` input frames:
 * floor(k M / L) + K/2 < total  <=>  k < (total - K/2) L / M. */
static int64_t la_outputs_ready(const la_resampler *r, int64_t total) {
    int64_t lead = total - r->taps / 2;
    if (lead <= 0) {
        return 0;
    }
    return la_scale(lead, r->up, r->down, r->down - 1);
}

int64_t la_resampler_output_count(const la_resampler *r, int64_t in_frames) {
    if (in_frames < 0) {
        return 0;
    }
    /* saturate: a count this large can never be allocated, and must not wrap around */
    int64_t total = in_frames > INT64_MAX - r->total_in ? INT64_MAX : r->total_in + in_frames;
    return la_outputs_ready(r, total) - r->total_out;
}

int64_t la_resampler_flush_count(const la_resampler *r) {
    /* round-half-up of total_in * L / M: floor((2 total_in L + M) / 2M), by parts */
    int64_t whole = r->total_in / r->down;
    int64_t rest = (2 * (r->total_in % r->down) * r->up + r->down) / (2 * r->down);
    int64_t target = whole > (INT64_MAX - rest) / r->up ? INT64_MAX : whole * r->up + rest;
    return target > r->total_out ? target - r->total_out : 0;
}

/* Drops frames before the next window so that new input has room. */
static void la_compact(la_resampler *r) {
    int64_t drop = r->buf_pos;
    if (drop <= 0) {
        return;
    }
    int64_t keep = r->buf_fill - drop;
    for (int32_t c = 0; c < r->num_channels; ++c) {
        float *ch = r->buf + c * r->buf_capacity;
        memmove(ch, ch + drop, (size_t)keep * sizeof(float));
    }
    r->buf_fill = keep;
    r->buf_pos = 0;
}

/* Appends n frames (interleaved, or zeros when in == NULL) to the planar history. */
static void la_append(la_resampler *r, const void *in, int64_t n, la_sample_format fmt) {
    const int32_t nch = r->num_channels;
    for (int32_t c = 0; c < nch; ++c) {
        float *restrict dst = r->buf + c * r->buf_capacity + r->buf_fill;
        if (in == NULL) {
            memset(dst, 0, (size_t)n * sizeof(float));
        } else if (fmt == LA_FORMAT_S16) {
            const int16_t *restrict src = (const int16_t *)in + c;
            for (int64_t i = 0; i < n; ++i) {
                dst[i] = (float)src[i * nch];
            }
        } else {
            const float *restrict src = (const float *)in + c;
            for (int64_t i = 0; i < n; ++i) {
                dst[i] = src[i * nch];
            }
        }
    }
    r->buf_fill += n;
}

static inline int16_t la_to_s16(float v) {
    /* Saturate, then round to nearest (ties to even, the default FP environment). */
    v = v < -32768.0f ? -32768.0f : v;
    v = v > 32767.0f ? 32767.0f : v;
    return (int16_t)lrintf(v);
}

typedef void (*la_dot4_fn)(LA_DOT4_ARGS);

/* Stores `count` results at consecutive interleaved positions out[first..first+count). */
LA_INLINE void la_store(void *out, int64_t first, const float *result, int count,
                        la_sample_format fmt) {
    if (fmt == LA_FORMAT_S16) {
        int16_t *o = (int16_t *)out + first;
        for (int j = 0; j < count; ++j) {
            o[j] = la_to_s16(result[j]);
        }
    } else {
        float *o = (float *)out + first;
        for (int j = 0; j < count; ++j) {
            o[j] = result[j];
        }
    }
}

/* Stores `count` results at out[first], out[first + stride], ... (mono blocks). */
LA_INLINE void la_store_strided(void *out, int64_t first, int64_t stride, const float *result,
                                int count, la_sample_format fmt) {
    if (fmt == LA_FORMAT_S16) {
        int16_t *o = (int16_t *)out + first;
        for (int j = 0; j < count; ++j) {
            o[j * stride] = la_to_s16(result[j]);
        }
    } else {
        float *o = (float *)out + first;
        for (int j = 0; j < count; ++j) {
            o[j * stride] = result[j];
        }
    }
}

/* Walks (output, channel) jobs in interleaved output order. */
typedef struct la_job_cursor {
    const float *coefs;
    const float *buf;
    int64_t capacity, up, step_int, step_frac, pos, phase;
    int32_t taps, nch, channel;
} la_job_cursor;

LA_INLINE void la_next_job(la_job_cursor *j, const float **h, const float **x) {
    *h = j->coefs + j->phase * j->taps;
    *x = j->buf + j->channel * j->capacity + j->pos;
    if (++j->channel == j->nch) {
        j->channel = 0;
        j->pos += j->step_int;
        j->phase += j->step_frac;
        if (j->phase >= j->up) {
            j->phase -= j->up;
            j->pos += 1;
        }
    }
}

/* Writes up to max_out outputs whose windows are complete in the history.
 *
 * Dot products run four jobs (output, channel) at a time. A job's result depends only on its
 * row and window (idle slots repeat a job), never on its slot or on which of the loops below
 * computed it, so output never depends on how the input was chunked. Outputs k and k + L use
 * the same row with windows M input samples apart, which the block loops exploit so that one
 * row load serves several products: mono in blocks of 4L (one row, four windows) or 2L (two
 * rows, two windows each), stereo in blocks of 2L (one row, two channels x two windows). */
LA_INLINE int64_t la_produce_impl(la_resampler *r, void *out, int64_t max_out,
                                  la_sample_format fmt, la_dot4_fn dot4) {
    /* Output k (k = 0, 1, ...) from here starts at pos + floor((phase + k M) / L); it is ready
     * while that is <= buf_fill - taps, i.e. for k < ((room + 1) L - phase) / M. */
    int64_t room = r->buf_fill - r->taps - r->buf_pos;
    if (room < 0 || max_out <= 0) {
        return 0;
    }
    int64_t ready = ((room + 1) * r->up - r->phase + r->down - 1) / r->down;
    const int64_t n = ready < max_out ? ready : max_out;
    la_job_cursor j = {r->coefs, r->buf, r->buf_capacity, r->up, r->step_int, r->step_frac,
                       r->buf_pos, r->phase, r->taps, r->num_channels, 0};
    const int32_t taps = r->taps;
    const int32_t nch = r->num_channels;
    const int64_t up = r->up;
    const int64_t m = r->down;
    float res[4];
    int64_t done = 0; /* outputs written */
    const float *h0, *h1, *h2, *h3, *x0, *x1, *x2, *x3;
    if (nch == 1) {
        while (n - done >= 4 * up) {
            for (int64_t i = 0; i < up; ++i) {
                la_next_job(&j, &h0, &x0);
                dot4(h0, h0, h0, h0, x0, x0 + m, x0 + 2 * m, x0 + 3 * m, taps, res);
                la_store_strided(out, done + i, up, res, 4, fmt);
            }
            j.pos += 3 * m; /* L outputs advance M input samples: skip the rows just done */
            done += 4 * up;
        }
        while (n - done >= 2 * up) {
            for (int64_t i = 0; i < up; i += 2) {
                la_next_job(&j, &h0, &x0);
                if (i + 1 < up) {
                    la_next_job(&j, &h1, &x1);
                } else { /* odd L: the last row pairs with itself */
                    h1 = h0;
                    x1 = x0;
                }
                dot4(h0, h0, h1, h1, x0, x0 + m, x1, x1 + m, taps, res);
                la_store_strided(out, done + i, up, res, 2, fmt);
                if (i + 1 < up) {
                    la_store_strided(out, done + i + 1, up, res + 2, 2, fmt);
                }
            }
            j.pos += m;
            done += 2 * up;
        }
    } else if (nch == 2) {
        while (n - done >= 2 * up) {
            for (int64_t i = 0; i < up; ++i) {
                la_next_job(&j, &h0, &x0); /* left */
                la_next_job(&j, &h1, &x1); /* right: same row */
                dot4(h0, h0, h0, h0, x0, x1, x0 + m, x1 + m, taps, res);
                la_store(out, 2 * (done + i), res, 2, fmt);
                la_store(out, 2 * (done + i + up), res + 2, 2, fmt);
            }
            j.pos += m;
            done += 2 * up;
        }
    }
    /* Whatever remains, four interleaved jobs at a time. */
    const int64_t jobs = (n - done) * nch;
    int64_t first = done * nch;
    int64_t job = 0;
    for (; job + 4 <= jobs; job += 4, first += 4) {
        la_next_job(&j, &h0, &x0);
        la_next_job(&j, &h1, &x1);
        la_next_job(&j, &h2, &x2);
        la_next_job(&j, &h3, &x3);
        dot4(h0, h1, h2, h3, x0, x1, x2, x3, taps, res);
        la_store(out, first, res, 4, fmt);
    }
    int tail = (int)(jobs - job);
    if (tail > 0) {
        la_next_job(&j, &h0, &x0);
        h1 = h2 = h3 = h0;
        x1 = x2 = x3 = x0;
        if (tail > 1) {
            la_next_job(&j, &h1, &x1);
            h2 = h3 = h1;
            x2 = x3 = x1;
        }
        if (tail > 2) {
            la_next_job(&j, &h2, &x2);
            h3 = h2;
            x3 = x2;
        }
        dot4(h0, h1, h2, h3, x0, x1, x2, x3, taps, res);
        la_store(out, first, res, tail, fmt);
    }
    r->buf_pos = j.pos;
    r->phase = j.phase;
    r->total_out += n;
    return n;
}

static int64_t la_produce_generic(la_resampler *r, void *out, int64_t max_out,
                                  la_sample_format fmt) {
    return la_produce_impl(r, out, max_out, fmt, la_dot4_generic_inline);
}

#ifdef LA_HAVE_X86_DISPATCH
LA_TARGET_AVX2 static int64_t la_produce_avx2(la_resampler *r, void *out, int64_t max_out,
                                              la_sample_format fmt) {
    return la_produce_impl(r, out, max_out, fmt, la_dot4_avx2_inline);
}
#endif

static la_produce_fn la_produce_select(void) {
#ifdef LA_HAVE_X86_DISPATCH
    if (la_cpu_has_avx2_fma()) {
        return la_produce_avx2;
    }
#endif
    return la_produce_generic;
}

static size_t la_frame_bytes(const la_resampler *r, la_sample_format fmt) {
    return (size_t)r->num_channels * (fmt == LA_FORMAT_S16 ? sizeof(int16_t) : sizeof(float));
}

static la_status la_resampler_process_impl(la_resampler *r, const void *in, int64_t in_frames,
                                           void *out, int64_t out_capacity, la_sample_format fmt,
                                           int64_t *out_written) {
    if (r == NULL || out_written == NULL || (in == NULL && in_frames > 0) ||
        (out == NULL && out_capacity > 0)) {
        return LA_ERR_NULL_POINTER;
    }
    if (in_frames < 0 || (fmt != LA_FORMAT_S16 && fmt != LA_FORMAT_F32)) {
        return LA_ERR_INVALID_ARGUMENT;
    }
    *out_written = 0;
    if (la_resampler_output_count(r, in_frames) > out_capacity) {
        return LA_ERR_BUFFER_TOO_SMALL;
    }
    const size_t frame_bytes = la_frame_bytes(r, fmt); /* input and output share the format */
    const unsigned char *src = (const unsigned char *)in;
    unsigned char *dst = (unsigned char *)out;
    int64_t written = 0;
    while (in_frames > 0) {
        if (r->buf_fill + in_frames > r->buf_capacity) {
            la_compact(r);
        }
        int64_t room = r->buf_capacity - r->buf_fill;
        int64_t take = in_frames < room ? in_frames : room;
        la_append(r, src, take, fmt);
        r->total_in += take;
        src += (size_t)take * frame_bytes;
        in_frames -= take;
        int64_t n = r->produce(r, dst + (size_t)written * frame_bytes, out_capacity - written, fmt);
        written += n;
    }
    *out_written = written;
    return LA_OK;
}

/* In the kernels' floating-point environment (la_fpenv.c): no subnormal, caller's restored. */
la_status la_resampler_process(la_resampler *r, const void *in, int64_t in_frames, void *out,
                               int64_t out_capacity, la_sample_format fmt, int64_t *out_written) {
    la_fpenv env = la_fpenv_enter();
    la_status rc = la_resampler_process_impl(r, in, in_frames, out, out_capacity, fmt, out_written);
    la_fpenv_leave(env);
    return rc;
}

static la_status la_resampler_flush_impl(la_resampler *r, void *out, int64_t out_capacity,
                                         la_sample_format fmt, int64_t *out_written) {
    if (r == NULL || out_written == NULL || (out == NULL && out_capacity > 0)) {
        return LA_ERR_NULL_POINTER;
    }
    if (fmt != LA_FORMAT_S16 && fmt != LA_FORMAT_F32) {
        return LA_ERR_INVALID_ARGUMENT;
    }
    *out_written = 0;
    int64_t remaining = la_resampler_flush_count(r);
    if (remaining > out_capacity) {
        return LA_ERR_BUFFER_TOO_SMALL;
    }
    const size_t frame_bytes = la_frame_bytes(r, fmt);
    unsigned char *dst = (unsigned char *)out;
    int64_t written = 0;
    while (written < remaining) {
        /* Pad with the silence the remaining outputs' windows still lack, bounded by room. */
        int64_t need = r->buf_pos + r->taps + ((remaining - written) * r->down) / r->up + 1 -
                       r->buf_fill;
        if (need > r->buf_capacity - r->buf_fill) {
            la_compact(r);
            need = r->buf_pos + r->taps + ((remaining - written) * r->down) / r->up + 1 - r->buf_fill;
        }
        int64_t room = r->buf_capacity - r->buf_fill;
        if (need > 0) {
            la_append(r, NULL, need < room ? need : room, fmt);
        }
        written += r->produce(r, dst + (size_t)written * frame_bytes, remaining - written, fmt);
    }
    *out_written = written;
    la_resampler_reset(r);
    return LA_OK;
}

/* In the kernels' floating-point environment (la_fpenv.c): no subnormal, caller's restored. */
la_status la_resampler_flush(la_resampler *r, void *out, int64_t out_capacity,
                             la_sample_format fmt, int64_t *out_written) {
    la_fpenv env = la_fpenv_enter();
    la_status rc = la_resampler_flush_impl(r, out, out_capacity, fmt, out_written);
    la_fpenv_leave(env);
    return rc;
}
