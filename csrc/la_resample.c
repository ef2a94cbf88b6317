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

/* Modified Bessel function of the first kind, order 0, by its power series. */
static double la_bessel_i0(double x) {
    double sum = 1.0;
    double term = 1.0;
    double half = 0.5 * x;
    for (int k = 1; k < 500; ++k) {
        double r = half / (double)k;
        term *= r * r;
        sum += term;
        if (term < sum * 1e-17) {
            break;
        }
    }
    return sum;
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
    const double i0_beta = la_bessel_i0(beta);
    for (int64_t p = 0; p < shape->up; ++p) {
        float *row = coefs + p * taps;
        double sum = 0.0;
        int32_t centre = 0;
        double best = -1.0;
        for (int32_t m = 0; m < taps; ++m) {
            double tau = (double)p / (double)shape->up + half - 1.0 - (double)m;
            double r = tau / half;
            double w = (r * r < 1.0) ? la_bessel_i0(beta * sqrt(1.0 - r * r)) / i0_beta : 0.0;
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
    r->dot4 = la_dot4_select();
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

/* Number of outputs k >= 0 whose window lies within `total` input frames:
 * floor(k M / L) + K/2 < total  <=>  k < (total - K/2) L / M. */
static int64_t la_outputs_ready(const la_resampler *r, int64_t total) {
    int64_t lead = total - r->taps / 2;
    if (lead <= 0) {
        return 0;
    }
    return (lead * r->up + r->down - 1) / r->down;
}

int64_t la_resampler_output_count(const la_resampler *r, int64_t in_frames) {
    if (in_frames < 0) {
        return 0;
    }
    return la_outputs_ready(r, r->total_in + in_frames) - r->total_out;
}

int64_t la_resampler_flush_count(const la_resampler *r) {
    /* round-half-up of total_in * L / M */
    int64_t target = (2 * r->total_in * r->up + r->down) / (2 * r->down);
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

/* Dot products are computed four (output, channel) jobs at a time; a job's result does not
 * depend on which slot it occupies, so output is independent of how input was chunked. */
typedef struct la_jobs {
    const float *h[4];
    const float *x[4];
    int64_t index[4]; /* interleaved output sample index */
    int count;
} la_jobs;

static void la_jobs_run(const la_resampler *r, la_jobs *jobs, void *out, la_sample_format fmt) {
    float result[4];
    for (int j = jobs->count; j < 4; ++j) { /* idle slots repeat the last job */
        jobs->h[j] = jobs->h[jobs->count - 1];
        jobs->x[j] = jobs->x[jobs->count - 1];
    }
    r->dot4(jobs->h, jobs->x, r->taps, result);
    if (fmt == LA_FORMAT_S16) {
        for (int j = 0; j < jobs->count; ++j) {
            ((int16_t *)out)[jobs->index[j]] = la_to_s16(result[j]);
        }
    } else {
        for (int j = 0; j < jobs->count; ++j) {
            ((float *)out)[jobs->index[j]] = result[j];
        }
    }
    jobs->count = 0;
}

/* Writes up to max_out outputs whose windows are complete in the history. */
static int64_t la_produce(la_resampler *r, void *out, int64_t max_out, la_sample_format fmt) {
    const int32_t nch = r->num_channels;
    const int32_t taps = r->taps;
    const int64_t capacity = r->buf_capacity;
    const int64_t up = r->up;
    const int64_t step_int = r->step_int;
    const int64_t step_frac = r->step_frac;
    const int64_t last_start = r->buf_fill - taps; /* last window start that fits */
    const float *const coefs = r->coefs;
    const float *const buf = r->buf;
    int64_t pos = r->buf_pos;
    int64_t phase = r->phase;
    la_jobs jobs;
    jobs.count = 0;
    int64_t n = 0;
    while (n < max_out && pos <= last_start) {
        const float *h = coefs + phase * taps;
        for (int32_t c = 0; c < nch; ++c) {
            jobs.h[jobs.count] = h;
            jobs.x[jobs.count] = buf + c * capacity + pos;
            jobs.index[jobs.count] = n * nch + c;
            if (++jobs.count == 4) {
                la_jobs_run(r, &jobs, out, fmt);
            }
        }
        pos += step_int;
        phase += step_frac;
        if (phase >= up) {
            phase -= up;
            pos += 1;
        }
        ++n;
    }
    if (jobs.count > 0) {
        la_jobs_run(r, &jobs, out, fmt);
    }
    r->buf_pos = pos;
    r->phase = phase;
    r->total_out += n;
    return n;
}

static size_t la_frame_bytes(const la_resampler *r, la_sample_format fmt) {
    return (size_t)r->num_channels * (fmt == LA_FORMAT_S16 ? sizeof(int16_t) : sizeof(float));
}

la_status la_resampler_process(la_resampler *r, const void *in, int64_t in_frames, void *out,
                               int64_t out_capacity, la_sample_format fmt, int64_t *out_written) {
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
    const size_t in_frame_bytes = la_frame_bytes(r, fmt);
    const size_t out_frame_bytes = in_frame_bytes;
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
        src += (size_t)take * in_frame_bytes;
        in_frames -= take;
        int64_t n = la_produce(r, dst + (size_t)written * out_frame_bytes, out_capacity - written, fmt);
        written += n;
    }
    *out_written = written;
    return LA_OK;
}

la_status la_resampler_flush(la_resampler *r, void *out, int64_t out_capacity,
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
        written += la_produce(r, dst + (size_t)written * frame_bytes, remaining - written, fmt);
    }
    *out_written = written;
    la_resampler_reset(r);
    return LA_OK;
}
