/*
 * la_simd.h - inline float32 dot-product kernels shared by the FIR loops.
 *
 * Each kernel's summation order is fixed by its source (independent accumulators combined
 * in a fixed tree), so a result never depends on pointer alignment, and the four-way
 * kernels give each slot the same arithmetic, so grouping never changes a result. No
 * -ffast-math is needed: vectorisation is explicit (AVX2) or across independent accumulators.
 */
#ifndef LA_SIMD_H
#define LA_SIMD_H

#include <stdint.h>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define LA_HAVE_X86_DISPATCH 1
#include <immintrin.h>
#define LA_TARGET_AVX2 __attribute__((target("avx2,fma")))
#endif

#define LA_INLINE static inline __attribute__((always_inline))

/* Before a loop whose iterations are independent but whose many pointers the compiler cannot
 * prove apart (more than its run-time alias checks cover): lets it vectorise without them. */
#if defined(__clang__)
#define LA_IVDEP _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define LA_IVDEP _Pragma("GCC ivdep")
#else
#define LA_IVDEP
#endif

/* The eight lanes of an accumulator combined in the fixed tree the kernels here use. */
LA_INLINE float la_lanes8(const float acc[8]) {
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* sum_i h[i] * x[i] for n a multiple of 8: eight scalar accumulators, fixed combine tree. */
LA_INLINE float la_dot_generic_inline(const float *restrict h, const float *restrict x,
                                      int32_t n) {
    float acc[8] = {0.0f};
    for (int32_t i = 0; i < n; i += 8) {
        for (int32_t j = 0; j < 8; ++j) {
            acc[j] += h[i + j] * x[i + j];
        }
    }
    return la_lanes8(acc);
}

/* Four independent dot products out[j] = sum_i hj[i] * xj[i], n a multiple of 8. */
#define LA_DOT4_ARGS                                                                           \
    const float *restrict h0, const float *restrict h1, const float *restrict h2,              \
        const float *restrict h3, const float *restrict x0, const float *restrict x1,          \
        const float *restrict x2, const float *restrict x3, int32_t n, float out[4]

LA_INLINE void la_dot4_generic_inline(LA_DOT4_ARGS) {
    out[0] = la_dot_generic_inline(h0, x0, n);
    out[1] = la_dot_generic_inline(h1, x1, n);
    out[2] = la_dot_generic_inline(h2, x2, n);
    out[3] = la_dot_generic_inline(h3, x3, n);
}

/* sum_i x[i] over any n: eight accumulators, so it vectorises and is not latency-bound. */
LA_INLINE float la_sum8(const float *restrict x, int64_t n) {
    float acc[8] = {0.0f};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int32_t j = 0; j < 8; ++j) {
            acc[j] += x[i + j];
        }
    }
    for (; i < n; ++i) {
        acc[0] += x[i];
    }
    return la_lanes8(acc);
}

/* sum_i x[i]^2 over any n: eight accumulators, so it vectorises and is not latency-bound. */
LA_INLINE float la_sum_squares(const float *restrict x, int32_t n) {
    float acc[8] = {0.0f};
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int32_t j = 0; j < 8; ++j) {
            acc[j] += x[i + j] * x[i + j];
        }
    }
    for (; i < n; ++i) {
        acc[0] += x[i] * x[i];
    }
    return la_lanes8(acc);
}

#ifdef LA_HAVE_X86_DISPATCH
/* Four independent dot products: eight FMA chains in flight, one shared transpose-reduction.
 * Per slot: accumulators a (taps 16i..16i+7) and b (16i+8..), a tail step into a, a+b, then a
 * fixed hadd tree. */
LA_INLINE LA_TARGET_AVX2 void la_dot4_avx2_inline(LA_DOT4_ARGS) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
    __m256 b2 = _mm256_setzero_ps(), b3 = _mm256_setzero_ps();
    int32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(h0 + i), _mm256_loadu_ps(x0 + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(h1 + i), _mm256_loadu_ps(x1 + i), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(h2 + i), _mm256_loadu_ps(x2 + i), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(h3 + i), _mm256_loadu_ps(x3 + i), a3);
        b0 = _mm256_fmadd_ps(_mm256_loadu_ps(h0 + i + 8), _mm256_loadu_ps(x0 + i + 8), b0);
        b1 = _mm256_fmadd_ps(_mm256_loadu_ps(h1 + i + 8), _mm256_loadu_ps(x1 + i + 8), b1);
        b2 = _mm256_fmadd_ps(_mm256_loadu_ps(h2 + i + 8), _mm256_loadu_ps(x2 + i + 8), b2);
        b3 = _mm256_fmadd_ps(_mm256_loadu_ps(h3 + i + 8), _mm256_loadu_ps(x3 + i + 8), b3);
    }
    if (i < n) { /* n is a multiple of 8: at most one 8-wide step remains */
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(h0 + i), _mm256_loadu_ps(x0 + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(h1 + i), _mm256_loadu_ps(x1 + i), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(h2 + i), _mm256_loadu_ps(x2 + i), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(h3 + i), _mm256_loadu_ps(x3 + i), a3);
    }
    a0 = _mm256_add_ps(a0, b0);
    a1 = _mm256_add_ps(a1, b1);
    a2 = _mm256_add_ps(a2, b2);
    a3 = _mm256_add_ps(a3, b3);
    __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1)));
}
#endif

#endif /* LA_SIMD_H */
