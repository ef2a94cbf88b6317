/*
 * la_fastmath.h - branch-free float32 exp2/log2 for per-bin gain loops, so they vectorise.
 *
 * exp2: split x = i + f with f in [0, 1), 2^f by a degree-5 least-squares polynomial
 * (relative error < 1e-7), 2^i by building the exponent bits. log2: exponent bits plus a
 * degree-6 polynomial t q(t) for log2(1 + t), t in [0, 1) (absolute error < 3e-6).
 * Coefficients fitted with numpy on Chebyshev nodes for this project. Inputs are clamped to
 * the normal float range, so no NaN or Inf comes out of finite input.
 */
#ifndef LA_FASTMATH_H
#define LA_FASTMATH_H

#include <stdint.h>
#include <string.h>

static inline float la_bits_to_float(int32_t i) {
    float f;
    memcpy(&f, &i, sizeof f);
    return f;
}

static inline int32_t la_float_to_bits(float f) {
    int32_t i;
    memcpy(&i, &f, sizeof i);
    return i;
}

static inline float la_exp2_fast(float x) {
    x = x < -126.0f ? -126.0f : (x > 126.0f ? 126.0f : x);
    /* floor via truncation of a positive shift: x + 127 is in [1, 253] */
    int32_t shifted = (int32_t)(x + 127.0f);
    float f = x - (float)(shifted - 127);
    float p = 1.8762329e-3f;
    p = p * f + 8.9925844e-3f;
    p = p * f + 5.5823606e-2f;
    p = p * f + 2.4015453e-1f;
    p = p * f + 6.9315296e-1f;
    p = p * f + 9.9999994e-1f;
    return p * la_bits_to_float(shifted << 23);
}

static inline float la_log2_fast(float x) {
    x = x < 1.17549435e-38f ? 1.17549435e-38f : x; /* smallest normal: log2 = -126 */
    int32_t bits = la_float_to_bits(x);
    float exponent = (float)((bits >> 23) - 127);
    float t = la_bits_to_float((bits & 0x007FFFFF) | 0x3F800000) - 1.0f;
    float q = -2.5792345e-2f;
    q = q * t + 1.2147295e-1f;
    q = q * t - 2.7734163e-1f;
    q = q * t + 4.5715812e-1f;
    q = q * t - 7.1803361e-1f;
    q = q * t + 1.4425348f;
    return exponent + t * q;
}

#define LA_LOG2E 1.44269504f
#define LA_LN2 0.69314718f

static inline float la_exp_fast(float x) { return la_exp2_fast(x * LA_LOG2E); }
static inline float la_log_fast(float x) { return la_log2_fast(x) * LA_LN2; }

#endif /* LA_FASTMATH_H */
