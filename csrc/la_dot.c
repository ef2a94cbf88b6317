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

#ifdef LA_HAVE_X86_DISPATCH
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
