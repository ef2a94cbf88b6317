/*
 * la_fft.c - real FFT of power-of-two sizes in float32, for the STFT stages.
 *
 * A size-N real transform runs as one complex transform of size M = N/2 on the even/odd
 * packed signal z[n] = x[2n] + i x[2n+1], followed by the split step
 *     X[k] = Fe[k] + W^k Fo[k],  Fe[k] = (Z[k] + Z*[M-k]) / 2,  Fo[k] = (Z[k] - Z*[M-k]) / 2i,
 * W = exp(-2 pi i / N) (Cooley & Tukey 1965; the real-signal packing as in Oppenheim & Schafer,
 * Discrete-Time Signal Processing, 3rd ed., problem 9.52). The complex transform is an iterative
 * radix-2 decimation in time over split real/imaginary arrays, with per-stage contiguous
 * twiddles so the butterfly loops vectorise. Conventions match numpy: la_rfft is unnormalised,
 * la_irfft scales by 1/N, so la_irfft(la_rfft(x)) == x.
 */
#include <math.h>
#include <string.h>

#include "la_dsp.h"
#include "la_simd.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

size_t la_fft_work_floats(int32_t n) {
    /* stage twiddles (2(M-1)), split twiddles (2(M/2+1)), scratch re/im (2M), bit-reverse (M) */
    size_t m = (size_t)n / 2;
    return 2 * (m - 1) + 2 * (m / 2 + 1) + 2 * m + m + 8;
}

static int la_is_pow2(int32_t n) { return n > 0 && (n & (n - 1)) == 0; }

la_status la_fft_init(la_fft *f, int32_t n, float *work, size_t work_floats) {
    if (f == NULL || work == NULL) {
        return LA_ERR_NULL_POINTER;
    }
    if (!la_is_pow2(n) || n < LA_FFT_MIN_SIZE || n > LA_FFT_MAX_SIZE) {
        return LA_ERR_INVALID_ARGUMENT;
    }
    if (work_floats < la_fft_work_floats(n)) {
        return LA_ERR_BUFFER_TOO_SMALL;
    }
    const int32_t m = n / 2;
    f->use_avx2 = la_cpu_has_avx2_fma();
    f->n = n;
    f->m = m;
    f->tw_re = work;
    f->tw_im = f->tw_re + (m - 1);
    f->sp_re = f->tw_im + (m - 1);
    f->sp_im = f->sp_re + (m / 2 + 1);
    f->z_re = f->sp_im + (m / 2 + 1);
    f->z_im = f->z_re + m;
    f->bitrev = (int32_t *)(void *)(f->z_im + m); /* int32 and float share size and alignment */
    int32_t bits = 0;
    while ((1 << bits) < m) {
        ++bits;
    }
    for (int32_t i = 0; i < m; ++i) {
        int32_t r = 0;
        for (int32_t b = 0; b < bits; ++b) {
            r |= ((i >> b) & 1) << (bits - 1 - b);
        }
        f->bitrev[i] = r;
    }
    /* Stage with half-size h stores w_j = exp(-2 pi i j / (2h)), j < h, at offset h - 1. */
    for (int32_t h = 1; h < m; h *= 2) {
        for (int32_t j = 0; j < h; ++j) {
            double a = -M_PI * (double)j / (double)h;
            f->tw_re[h - 1 + j] = (float)cos(a);
            f->tw_im[h - 1 + j] = (float)sin(a);
        }
    }
    for (int32_t k = 0; k <= m / 2; ++k) {
        double a = -2.0 * M_PI * (double)k / (double)n;
        f->sp_re[k] = (float)cos(a);
        f->sp_im[k] = (float)sin(a);
    }
    return LA_OK;
}

/* In-place complex FFT of f->z (already in bit-reversed order). sign = -1 forward, +1 inverse. */
LA_INLINE void la_cfft(const la_fft *f, float *restrict re, float *restrict im, float sign) {
    const int32_t m = f->m;
    /* First two stages as one radix-4 pass: butterflies without multiplications. */
    if (m >= 4) {
        for (int32_t g = 0; g < m; g += 4) {
            float a0r = re[g] + re[g + 1], a0i = im[g] + im[g + 1];
            float a1r = re[g] - re[g + 1], a1i = im[g] - im[g + 1];
            float b0r = re[g + 2] + re[g + 3], b0i = im[g + 2] + im[g + 3];
            float b1r = re[g + 2] - re[g + 3], b1i = im[g + 2] - im[g + 3];
            /* t1 = w1 * b1 with w1 = -i forward, +i inverse */
            float t1r = -sign * b1i, t1i = sign * b1r;
            re[g] = a0r + b0r;
            im[g] = a0i + b0i;
            re[g + 2] = a0r - b0r;
            im[g + 2] = a0i - b0i;
            re[g + 1] = a1r + t1r;
            im[g + 1] = a1i + t1i;
            re[g + 3] = a1r - t1r;
            im[g + 3] = a1i - t1i;
        }
    } else if (m == 2) {
        float r0 = re[0], i0 = im[0];
        re[0] = r0 + re[1];
        im[0] = i0 + im[1];
        re[1] = r0 - re[1];
        im[1] = i0 - im[1];
        return;
    }
    int32_t h = 4;
    /* Stages h and 2h fused into one pass over groups of 4h: the same butterflies with the
     * same twiddles in the same order as two radix-2 passes (so the same bits), with half the
     * loads and stores. For j < h the group's four points a, b, c, d at j, h + j, 2h + j,
     * 3h + j go through (a, b) and (c, d) with w_h[j], then (a, c) with w_2h[j] and (b, d)
     * with w_2h[h + j]. */
    for (; 4 * h <= m; h *= 4) {
        const float *restrict w1r = f->tw_re + (h - 1);
        const float *restrict w1i = f->tw_im + (h - 1);
        const float *restrict w2r = f->tw_re + (2 * h - 1);
        const float *restrict w2i = f->tw_im + (2 * h - 1);
        for (int32_t g = 0; g < m; g += 4 * h) {
            float *restrict ar = re + g;
            float *restrict ai = im + g;
            float *restrict br = re + g + h;
            float *restrict bi = im + g + h;
            float *restrict cr = re + g + 2 * h;
            float *restrict ci = im + g + 2 * h;
            float *restrict dr = re + g + 3 * h;
            float *restrict di = im + g + 3 * h;
            LA_IVDEP
            for (int32_t j = 0; j < h; ++j) {
                float u_r = w1r[j], u_i = sign * -w1i[j]; /* forward: w; inverse: conj */
                float tr = br[j] * u_r - bi[j] * u_i;
                float ti = br[j] * u_i + bi[j] * u_r;
                float a1r = ar[j] + tr, a1i = ai[j] + ti;
                float b1r = ar[j] - tr, b1i = ai[j] - ti;
                float sr = dr[j] * u_r - di[j] * u_i;
                float si = dr[j] * u_i + di[j] * u_r;
                float c1r = cr[j] + sr, c1i = ci[j] + si;
                float d1r = cr[j] - sr, d1i = ci[j] - si;
                float v_r = w2r[j], v_i = sign * -w2i[j];
                float pr = c1r * v_r - c1i * v_i;
                float pi = c1r * v_i + c1i * v_r;
                float x_r = w2r[h + j], x_i = sign * -w2i[h + j];
                float qr = d1r * x_r - d1i * x_i;
                float qi = d1r * x_i + d1i * x_r;
                ar[j] = a1r + pr;
                ai[j] = a1i + pi;
                cr[j] = a1r - pr;
                ci[j] = a1i - pi;
                br[j] = b1r + qr;
                bi[j] = b1i + qi;
                dr[j] = b1r - qr;
                di[j] = b1i - qi;
            }
        }
    }
    for (; h < m; h *= 2) { /* a last radix-2 stage when the count is odd */
        const float *restrict wr = f->tw_re + (h - 1);
        const float *restrict wi = f->tw_im + (h - 1);
        for (int32_t g = 0; g < m; g += 2 * h) {
            float *restrict ar = re + g;
            float *restrict ai = im + g;
            float *restrict br = re + g + h;
            float *restrict bi = im + g + h;
            for (int32_t j = 0; j < h; ++j) {
                float w_i = sign * -wi[j]; /* forward: wi; inverse: conj */
                float tr = br[j] * wr[j] - bi[j] * w_i;
                float ti = br[j] * w_i + bi[j] * wr[j];
                br[j] = ar[j] - tr;
                bi[j] = ai[j] - ti;
                ar[j] = ar[j] + tr;
                ai[j] = ai[j] + ti;
            }
        }
    }
}

LA_INLINE void la_rfft_impl(const la_fft *f, const float *restrict x, float *restrict out_re,
                            float *restrict out_im) {
    const int32_t m = f->m;
    float *restrict zr = f->z_re;
    float *restrict zi = f->z_im;
    for (int32_t i = 0; i < m; ++i) {
        int32_t r = f->bitrev[i];
        zr[r] = x[2 * i];
        zi[r] = x[2 * i + 1];
    }
    la_cfft(f, zr, zi, -1.0f);
    out_re[0] = zr[0] + zi[0];
    out_im[0] = 0.0f;
    out_re[m] = zr[0] - zi[0];
    out_im[m] = 0.0f;
    for (int32_t k = 1; k <= m / 2; ++k) {
        /* Z[k] and Z[M-k] give X[k] and X[M-k] together. */
        float ar = zr[k], ai = zi[k];
        float br = zr[m - k], bi = -zi[m - k]; /* conj(Z[M-k]) */
        float er = 0.5f * (ar + br), ei = 0.5f * (ai + bi);
        float dr = 0.5f * (ar - br), di = 0.5f * (ai - bi);
        /* Fo = d / i = (di, -dr); X[k] = e + W^k Fo */
        float or_ = di, oi = -dr;
        float wr = f->sp_re[k], wi = f->sp_im[k];
        float tr = wr * or_ - wi * oi;
        float ti = wr * oi + wi * or_;
        out_re[k] = er + tr;
        out_im[k] = ei + ti;
        /* X[M-k] = conj(e - W^k Fo) */
        out_re[m - k] = er - tr;
        out_im[m - k] = -(ei - ti);
    }
}

LA_INLINE void la_irfft_impl(const la_fft *f, const float *restrict in_re,
                             const float *restrict in_im, float *restrict x) {
    const int32_t m = f->m;
    float *restrict zr = f->z_re;
    float *restrict zi = f->z_im;
    /* Rebuild Z[k] = Fe[k] + i Fo[k] for k = 0..M-1, written in bit-reversed order. */
    for (int32_t k = 0; k <= m / 2; ++k) {
        float ar = in_re[k], ai = in_im[k];
        float br = in_re[m - k], bi = -in_im[m - k]; /* conj(X[M-k]) */
        float er = 0.5f * (ar + br), ei = 0.5f * (ai + bi);
        float dr = 0.5f * (ar - br), di = 0.5f * (ai - bi);
        /* Fo = d / W^k = d * conj(W^k) */
        float wr = f->sp_re[k], wi = -f->sp_im[k];
        float or_ = dr * wr - di * wi;
        float oi = dr * wi + di * wr;
        /* Z[k] = e + i Fo */
        zr[f->bitrev[k]] = er - oi;
        zi[f->bitrev[k]] = ei + or_;
        if (k != 0 && k != m - k) {
            /* Z[M-k] = conj(Fe[k]) + i conj(Fo[k]): e and o are real sequences. */
            zr[f->bitrev[m - k]] = er + oi;
            zi[f->bitrev[m - k]] = -ei + or_;
        }
    }
    la_cfft(f, zr, zi, 1.0f);
    const float scale = 1.0f / (float)m;
    for (int32_t i = 0; i < m; ++i) {
        x[2 * i] = zr[i] * scale;
        x[2 * i + 1] = zi[i] * scale;
    }
}

/* The transforms in a portable and an AVX2 copy of the same C (no contraction under -std=c11:
 * the same bits), chosen at init. */
static void la_rfft_generic(const la_fft *f, const float *x, float *out_re, float *out_im) {
    la_rfft_impl(f, x, out_re, out_im);
}

static void la_irfft_generic(const la_fft *f, const float *in_re, const float *in_im, float *x) {
    la_irfft_impl(f, in_re, in_im, x);
}

#ifdef LA_HAVE_X86_DISPATCH
LA_TARGET_AVX2 static void la_rfft_avx2(const la_fft *f, const float *x, float *out_re,
                                        float *out_im) {
    la_rfft_impl(f, x, out_re, out_im);
}

LA_TARGET_AVX2 static void la_irfft_avx2(const la_fft *f, const float *in_re, const float *in_im,
                                         float *x) {
    la_irfft_impl(f, in_re, in_im, x);
}
#endif

void la_rfft(const la_fft *f, const float *x, float *out_re, float *out_im) {
#ifdef LA_HAVE_X86_DISPATCH
    if (f->use_avx2) {
        la_rfft_avx2(f, x, out_re, out_im);
        return;
    }
#endif
    la_rfft_generic(f, x, out_re, out_im);
}

void la_irfft(const la_fft *f, const float *in_re, const float *in_im, float *x) {
#ifdef LA_HAVE_X86_DISPATCH
    if (f->use_avx2) {
        la_irfft_avx2(f, in_re, in_im, x);
        return;
    }
#endif
    la_irfft_generic(f, in_re, in_im, x);
}
