/*
 * la_mix.c - saturating mix of int16 interleaved streams, and in-place gain.
 *
 * Arithmetic (the contract tests/test_mix_kernel.py checks against a numpy oracle):
 *
 *   unity gains (gains == NULL, or every gain exactly 1.0f):
 *       out[j] = clamp(sum_i x_i[j], -32768, 32767), summed in int32: an exact integer
 *       saturating sum. Saturation is applied once, to the total, so the result does not
 *       depend on input order (a pairwise-saturating sum would).
 *   otherwise, float32 accumulation in input order:
 *       acc = g_0 * x_0[j]; acc = acc + g_i * x_i[j] for i = 1 .. n-1 (each product and sum
 *       rounded to float32, no fused multiply-add), then clamped to [-32768, 32767] and rounded
 *       to nearest, ties to even. A unity-gain term is exact (an int16 times 1.0f), and so is
 *       every partial sum of integers below 2^24, so a mix of unity and non-unity inputs is
 *       exact in its unity part.
 *
 * Loops run over blocks of LA_MIX_BLOCK samples with the accumulator in a local array, one
 * input per pass, so each inner loop is a plain element-wise operation that the compiler
 * vectorizes at -O3 without -ffast-math (int16 widen + add, or multiply + add in float32).
 * Rounding uses the 1.5 * 2^23 trick on the already-clamped value: exact IEEE arithmetic, no
 * libm call, so it vectorizes as well.
 */
#include <math.h>
#include <string.h>

#include "la_dsp.h"
#include "la_simd.h"

#if !defined(__STDC_NO_ATOMICS__)
#include <stdatomic.h>
#endif

/* Bit-exactness against the oracle needs separate multiply and add roundings. GCC keeps them
 * separate under -std=c11; clang honours this pragma. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* Two GCC-only switches for this file, neither of which changes a single result:
 * - no-trapping-math: GCC will not if-convert the float clamp (two compares and selects) while
 *   it must preserve floating-point trap semantics, which leaves the rounding loops scalar.
 *   Nothing here reads or enables FP exception flags and the clamp never sees a NaN (gains
 *   are checked), so the clamp may become min/max instructions.
 * - no-loop-unroll-and-jam: at -O3 GCC jams two passes of the weighted loop (two inputs per
 *   sample) into a scalar loop instead of vectorizing one pass: 6x slower at 16 inputs.
 * Clang vectorizes these loops as written. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "no-loop-unroll-and-jam")
#endif

#define LA_MIX_BLOCK 256

/* 1.5 * 2^23: adding and subtracting it rounds any |v| <= 2^22 to an integer, ties to even. */
#define LA_ROUND_MAGIC 12582912.0f

LA_INLINE int16_t la_sat_i32(int32_t v) {
    v = v < -32768 ? -32768 : v;
    v = v > 32767 ? 32767 : v;
    return (int16_t)v;
}

LA_INLINE int16_t la_round_sat_f32(float v) {
    v = v < -32768.0f ? -32768.0f : v;
    v = v > 32767.0f ? 32767.0f : v;
    float r = v + LA_ROUND_MAGIC;
    r = r - LA_ROUND_MAGIC;
    return (int16_t)(int32_t)r;
}

static inline int la_gain_ok(float g) {
    return g >= -LA_MAX_GAIN && g <= LA_MAX_GAIN; /* false for NaN */
}

/* Exact saturating sum of n >= 1 inputs. `out` may be one of the inputs (the same pointer):
 * each block is read completely before it is written. */
LA_INLINE void la_mix_unity_impl(const int16_t *const *inputs, int32_t n, int16_t *out,
                                 int64_t len) {
    int32_t acc[LA_MIX_BLOCK];
    for (int64_t base = 0; base < len; base += LA_MIX_BLOCK) {
        const int m = (int)(len - base < LA_MIX_BLOCK ? len - base : LA_MIX_BLOCK);
        const int16_t *x0 = inputs[0] + base;
        int32_t i = 1;
        if (n >= 2) {
            const int16_t *x1 = inputs[1] + base;
            for (int j = 0; j < m; ++j) {
                acc[j] = (int32_t)x0[j] + (int32_t)x1[j];
            }
            i = 2;
        } else {
            for (int j = 0; j < m; ++j) {
                acc[j] = (int32_t)x0[j];
            }
        }
        /* Two inputs per pass halve the accumulator traffic; integer addition is exact, so
         * the grouping cannot change the result. */
        for (; i + 1 < n; i += 2) {
            const int16_t *xa = inputs[i] + base;
            const int16_t *xb = inputs[i + 1] + base;
            for (int j = 0; j < m; ++j) {
                acc[j] += (int32_t)xa[j] + (int32_t)xb[j];
            }
        }
        if (i < n) {
            const int16_t *xa = inputs[i] + base;
            for (int j = 0; j < m; ++j) {
                acc[j] += (int32_t)xa[j];
            }
        }
        int16_t *o = out + base;
        for (int j = 0; j < m; ++j) {
            o[j] = la_sat_i32(acc[j]);
        }
    }
}

/* float32 weighted sum in input order, then clamp and round half to even. */
LA_INLINE void la_mix_weighted_impl(const int16_t *const *inputs, const float *gains, int32_t n,
                                    int16_t *out, int64_t len) {
    float acc[LA_MIX_BLOCK];
    for (int64_t base = 0; base < len; base += LA_MIX_BLOCK) {
        const int m = (int)(len - base < LA_MIX_BLOCK ? len - base : LA_MIX_BLOCK);
        const int16_t *x0 = inputs[0] + base;
        const float g0 = gains[0];
        for (int j = 0; j < m; ++j) {
            acc[j] = g0 * (float)x0[j];
        }
        for (int32_t i = 1; i < n; ++i) {
            const int16_t *xi = inputs[i] + base;
            const float gi = gains[i];
            for (int j = 0; j < m; ++j) {
                float p = gi * (float)xi[j];
                acc[j] = acc[j] + p;
            }
        }
        int16_t *o = out + base;
        for (int j = 0; j < m; ++j) {
            o[j] = la_round_sat_f32(acc[j]);
        }
    }
}

/* The same loops compiled twice: for the baseline ISA (SSE2 on x86-64, NEON on arm64) and, on
 * x86-64, for AVX2 (no FMA: products and sums stay separately rounded), chosen at run time.
 * Both perform the same IEEE operations in the same order, so their output is identical. */
static void la_mix_unity_generic(const int16_t *const *inputs, int32_t n, int16_t *out,
                                 int64_t len) {
    la_mix_unity_impl(inputs, n, out, len);
}

static void la_mix_weighted_generic(const int16_t *const *inputs, const float *gains, int32_t n,
                                    int16_t *out, int64_t len) {
    la_mix_weighted_impl(inputs, gains, n, out, len);
}

#ifdef LA_HAVE_X86_DISPATCH
#define LA_TARGET_AVX2_NOFMA __attribute__((target("avx2")))

LA_TARGET_AVX2_NOFMA static void la_mix_unity_avx2(const int16_t *const *inputs, int32_t n,
                                                   int16_t *out, int64_t len) {
    la_mix_unity_impl(inputs, n, out, len);
}

LA_TARGET_AVX2_NOFMA static void la_mix_weighted_avx2(const int16_t *const *inputs,
                                                      const float *gains, int32_t n,
                                                      int16_t *out, int64_t len) {
    la_mix_weighted_impl(inputs, gains, n, out, len);
}
#endif

/* 1 when the AVX2 loops run. Decided on the first call (CPU features and the
 * LIVEKIT_AUDIO_NO_SIMD variable, see la_cpu.c) and cached: every thread computes the same
 * value, so a race can only repeat the detection. */
static int la_mix_use_avx2(void) {
#ifdef LA_HAVE_X86_DISPATCH
#if !defined(__STDC_NO_ATOMICS__)
    static atomic_int cached = -1;
    int isa = atomic_load_explicit(&cached, memory_order_relaxed);
    if (isa < 0) {
        isa = la_cpu_has_avx2_fma() ? 1 : 0;
        atomic_store_explicit(&cached, isa, memory_order_relaxed);
    }
    return isa;
#else
    return la_cpu_has_avx2_fma();
#endif
#else
    return 0;
#endif
}

const char *la_mix_kernel_name(void) { return la_mix_use_avx2() ? "avx2" : "generic"; }

static void la_mix_unity(const int16_t *const *inputs, int32_t n, int16_t *out, int64_t len) {
#ifdef LA_HAVE_X86_DISPATCH
    if (la_mix_use_avx2()) {
        la_mix_unity_avx2(inputs, n, out, len);
        return;
    }
#endif
    la_mix_unity_generic(inputs, n, out, len);
}

static void la_mix_weighted(const int16_t *const *inputs, const float *gains, int32_t n,
                            int16_t *out, int64_t len) {
#ifdef LA_HAVE_X86_DISPATCH
    if (la_mix_use_avx2()) {
        la_mix_weighted_avx2(inputs, gains, n, out, len);
        return;
    }
#endif
    la_mix_weighted_generic(inputs, gains, n, out, len);
}

static la_status la_mix_s16_impl(const int16_t *const *inputs, const float *gains,
                                 int32_t n_inputs, int16_t *out, int64_t n_samples) {
    if (n_inputs < 0 || n_inputs > LA_MAX_MIX_INPUTS || n_samples < 0) {
        return LA_ERR_INVALID_ARGUMENT;
    }
    if ((out == NULL && n_samples > 0) || (inputs == NULL && n_inputs > 0)) {
        return LA_ERR_NULL_POINTER;
    }
    int unity = 1;
    for (int32_t i = 0; i < n_inputs; ++i) {
        if (inputs[i] == NULL && n_samples > 0) {
            return LA_ERR_NULL_POINTER;
        }
        if (gains != NULL) {
            if (!la_gain_ok(gains[i])) {
                return LA_ERR_INVALID_ARGUMENT;
            }
            unity &= gains[i] == 1.0f;
        }
    }
    if (n_samples == 0) {
        return LA_OK;
    }
    if (n_inputs == 0) {
        memset(out, 0, (size_t)n_samples * sizeof(int16_t));
    } else if (unity) {
        if (n_inputs == 1) {
            if (out != inputs[0]) {
                memmove(out, inputs[0], (size_t)n_samples * sizeof(int16_t));
            }
        } else {
            la_mix_unity(inputs, n_inputs, out, n_samples);
        }
    } else {
        la_mix_weighted(inputs, gains, n_inputs, out, n_samples);
    }
    return LA_OK;
}

/* In the kernels' floating-point environment (la_fpenv.c): no subnormal, caller's restored. */
la_status la_mix_s16(const int16_t *const *inputs, const float *gains, int32_t n_inputs,
                     int16_t *out, int64_t n_samples) {
    la_fpenv env = la_fpenv_enter();
    la_status rc = la_mix_s16_impl(inputs, gains, n_inputs, out, n_samples);
    la_fpenv_leave(env);
    return rc;
}

static la_status la_gain_s16_impl(int16_t *buf, int64_t n_frames, int32_t num_channels,
                                  float gain_start, float gain_end) {
    if (n_frames < 0 || !la_gain_ok(gain_start) || !la_gain_ok(gain_end)) {
        return LA_ERR_INVALID_ARGUMENT;
    }
    if (num_channels < 1) {
        return LA_ERR_INVALID_CHANNELS;
    }
    if (buf == NULL && n_frames > 0) {
        return LA_ERR_NULL_POINTER;
    }
    const int64_t n = n_frames * num_channels;
    if (n == 0) {
        return LA_OK;
    }
    if (gain_start == gain_end) {
        const float g = gain_start;
        if (g == 1.0f) {
            return LA_OK;
        }
        if (g == 0.0f) {
            memset(buf, 0, (size_t)n * sizeof(int16_t));
            return LA_OK;
        }
        for (int64_t i = 0; i < n; ++i) {
            float p = g * (float)buf[i];
            buf[i] = la_round_sat_f32(p);
        }
        return LA_OK;
    }
    /* Linear ramp, one gain per frame: g_k = gain_start * (1 - t_k) + gain_end * t_k with
     * t_k = (k + 1) / n_frames, so the ramp leaves gain_start behind from the first frame on
     * and the last frame gets gain_end exactly (t = 1 makes the first term exactly 0). */
    if (n_frames > INT32_MAX) {
        return LA_ERR_INVALID_ARGUMENT; /* a 32-bit frame counter keeps the ramp vectorizable */
    }
    const int32_t frames = (int32_t)n_frames;
    const float nf = (float)frames;
    if (num_channels == 1) {
        for (int32_t k = 0; k < frames; ++k) {
            float t = (float)(k + 1) / nf;
            float a = gain_start * (1.0f - t);
            float b = gain_end * t;
            float g = a + b;
            float p = g * (float)buf[k];
            buf[k] = la_round_sat_f32(p);
        }
        return LA_OK;
    }
    for (int32_t k = 0; k < frames; ++k) {
        float t = (float)(k + 1) / nf;
        float a = gain_start * (1.0f - t);
        float b = gain_end * t;
        float g = a + b;
        int16_t *frame = buf + (int64_t)k * num_channels;
        for (int32_t c = 0; c < num_channels; ++c) {
            float p = g * (float)frame[c];
            frame[c] = la_round_sat_f32(p);
        }
    }
    return LA_OK;
}

/* In the kernels' floating-point environment (la_fpenv.c): no subnormal, caller's restored. */
la_status la_gain_s16(int16_t *buf, int64_t n_frames, int32_t num_channels, float gain_start,
                      float gain_end) {
    la_fpenv env = la_fpenv_enter();
    la_status rc = la_gain_s16_impl(buf, n_frames, num_channels, gain_start, gain_end);
    la_fpenv_leave(env);
    return rc;
}
