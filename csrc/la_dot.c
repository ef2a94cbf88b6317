/*
 * la_dot.c - float32 dot products for the FIR kernels, with runtime CPU dispatch.
 *
 * The summation order of each kernel is fixed by its source (independent accumulators,
 * combined in a fixed tree), so a result never depends on the alignment of the inputs.
 * No -ffast-math is needed: the vectorisation is explicit (AVX2) or across independent
 * accumulators, which the compiler may vectorise without reassociating.
 */
#include "la_dsp.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define LA_HAVE_X86_DISPATCH 1
#include <immintrin.h>
#endif

float la_dot_generic(const float *restrict h, const float *restrict x, int32_t n) {
    float acc[LA_TAP_MULTIPLE] = {0.0f};
    for (int32_t i = 0; i < n; i += LA_TAP_MULTIPLE) {
        for (int32_t j = 0; j < LA_TAP_MULTIPLE; ++j) {
            acc[j] += h[i + j] * x[i + j];
        }
    }
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

void la_dot4_generic(const float *const h[4], const float *const x[4], int32_t n, float out[4]) {
    for (int j = 0; j < 4; ++j) {
        out[j] = la_dot_generic(h[j], x[j], n);
    }
}

#ifdef LA_HAVE_X86_DISPATCH
/* Four independent dot products at once: eight FMA chains in flight, one shared transpose-
 * reduction. Each product's arithmetic (two accumulators, then a fixed hadd tree) is the same
 * whichever of the four slots it occupies, so grouping never changes a result. */
__attribute__((target("avx2,fma"))) static void la_dot4_avx2(const float *const h[4],
                                                              const float *const x[4], int32_t n,
                                                              float out[4]) {
    const float *restrict h0 = h[0], *restrict h1 = h[1], *restrict h2 = h[2], *restrict h3 = h[3];
    const float *restrict x0 = x[0], *restrict x1 = x[1], *restrict x2 = x[2], *restrict x3 = x[3];
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

__attribute__((target("avx2,fma"))) static float la_dot_avx2(const float *restrict h,
                                                              const float *restrict x,
                                                              int32_t n) {
    __m256 a0 = _mm256_setzero_ps();
    __m256 a1 = _mm256_setzero_ps();
    __m256 a2 = _mm256_setzero_ps();
    __m256 a3 = _mm256_setzero_ps();
    int32_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(h + i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(h + i + 8), _mm256_loadu_ps(x + i + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(h + i + 16), _mm256_loadu_ps(x + i + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(h + i + 24), _mm256_loadu_ps(x + i + 24), a3);
    }
    for (; i < n; i += 8) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(h + i), _mm256_loadu_ps(x + i), a0);
    }
    __m256 s8 = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 0x55));
    return _mm_cvtss_f32(s1);
}

static int la_cpu_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

la_dot4_fn la_dot4_select(void) {
#ifdef LA_HAVE_X86_DISPATCH
    if (la_cpu_has_avx2_fma()) {
        return la_dot4_avx2;
    }
#endif
    return la_dot4_generic;
}

la_dot_fn la_dot_select(void) {
#ifdef LA_HAVE_X86_DISPATCH
    if (la_cpu_has_avx2_fma()) {
        return la_dot_avx2;
    }
#endif
    return la_dot_generic;
}

const char *la_dot_kernel_name(void) {
#ifdef LA_HAVE_X86_DISPATCH
    if (la_cpu_has_avx2_fma()) {
        return "avx2-fma";
    }
#endif
    return "generic";
}
