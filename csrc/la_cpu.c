/*
 * la_cpu.c - runtime CPU feature detection for kernel dispatch, and out-of-line copies of
 * the dot-product kernels for tests that compare code paths.
 */
#include <stdlib.h>

#include "la_dsp.h"
#include "la_simd.h"

/* LIVEKIT_AUDIO_NO_SIMD=1 forces the portable kernels (read when a kernel is selected), so
 * tests and users on exotic CPUs can exercise the path arm64 and pre-AVX2 x86 take. */
static int la_simd_disabled(void) {
    const char *value = getenv("LIVEKIT_AUDIO_NO_SIMD");
    return value != NULL && value[0] != '\0' && value[0] != '0';
}

int la_cpu_has_avx2_fma(void) {
    if (la_simd_disabled()) {
        return 0;
    }
#ifdef LA_HAVE_X86_DISPATCH
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

const char *la_dot_kernel_name(void) { return la_cpu_has_avx2_fma() ? "avx2-fma" : "generic"; }

float la_dot_generic(const float *h, const float *x, int32_t n) {
    return la_dot_generic_inline(h, x, n);
}
