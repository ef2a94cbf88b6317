/*
 * la_g711.c - ITU-T G.711 mu-law and A-law companding of int16 PCM.
 *
 * The segment/quantisation rules are those of ITU-T Recommendation G.711 (11/88), sections 2
 * and 3 (Tables 1a/1b for A-law, 2a/2b for mu-law), as implemented by the ITU's own software
 * reference, the G.191 Software Tool Library (STL 2009, g711/g711.c): the input is the 16-bit
 * left-justified form of the 13-bit (A-law) or 14-bit (mu-law) uniform PCM code, negative
 * values are taken in one's complement before the shift (so -1 encodes like 0, with the sign
 * bit clear), and decoding returns the middle of each quantisation interval, left-justified.
 *
 *   mu-law, 14-bit magnitude u = (x >= 0 ? x : ~x) >> 2, biased v = min(u + 33, 8191):
 *       segment s = floor(log2(v)) - 5 (0..7), step q = (v >> (s + 1)) & 15,
 *       code = ~(s << 4 | q) & 0x7F, bit 7 set for x >= 0.
 *       decode: +-4 * ((2q + 33) * 2^s - 33): 0 .. 32124.
 *   A-law, 12-bit magnitude a = (x >= 0 ? x : ~x) >> 4:
 *       a <= 31: code = a (segments 0 and 1 share the step); else s = floor(log2(a)) - 3
 *       (2..7), code = s << 4 | (a >> (s - 1)) & 15; bit 7 set for x >= 0; then the even
 *       bits are inverted (XOR 0x55), as transmitted.
 *       decode: +-(((q [+ 16 if s > 0]) << 4) + 8) << max(s - 1, 0): 8 .. 32256.
 *
 * Decoding is a 256-entry table lookup (the tables below are those formulas evaluated; the
 * tests check all 256 entries against the formulas and against ITU reference values).
 * Encoding is branch-light integer arithmetic. Nothing allocates; every entry point runs in
 * the kernels' floating-point environment like every other processing call (la_fpenv.c),
 * although these use integers only.
 */
#include "la_dsp.h"

static const int16_t la_ulaw_table[256] = {
    -32124, -31100, -30076, -29052, -28028, -27004, -25980, -24956,
    -23932, -22908, -21884, -20860, -19836, -18812, -17788, -16764,
    -15996, -15484, -14972, -14460, -13948, -13436, -12924, -12412,
    -11900, -11388, -10876, -10364,  -9852,  -9340,  -8828,  -8316,
     -7932,  -7676,  -7420,  -7164,  -6908,  -6652,  -6396,  -6140,
     -5884,  -5628,  -5372,  -5116,  -4860,  -4604,  -4348,  -4092,
     -3900,  -3772,  -3644,  -3516,  -3388,  -3260,  -3132,  -3004,
     -2876,  -2748,  -2620,  -2492,  -2364,  -2236,  -2108,  -1980,
     -1884,  -1820,  -1756,  -1692,  -1628,  -1564,  -1500,  -1436,
     -1372,  -1308,  -1244,  -1180,  -1116,  -1052,   -988,   -924,
      -876,   -844,   -812,   -780,   -748,   -716,   -684,   -652,
      -620,   -588,   -556,   -524,   -492,   -460,   -428,   -396,
      -372,   -356,   -340,   -324,   -308,   -292,   -276,   -260,
      -244,   -228,   -212,   -196,   -180,   -164,   -148,   -132,
      -120,   -112,   -104,    -96,    -88,    -80,    -72,    -64,
       -56,    -48,    -40,    -32,    -24,    -16,     -8,      0,
     32124,  31100,  30076,  29052,  28028,  27004,  25980,  24956,
     23932,  22908,  21884,  20860,  19836,  18812,  17788,  16764,
     15996,  15484,  14972,  14460,  13948,  13436,  12924,  12412,
     11900,  11388,  10876,  10364,   9852,   9340,   8828,   8316,
      7932,   7676,   7420,   7164,   6908,   6652,   6396,   6140,
      5884,   5628,   5372,   5116,   4860,   4604,   4348,   4092,
      3900,   3772,   3644,   3516,   3388,   3260,   3132,   3004,
      2876,   2748,   2620,   2492,   2364,   2236,   2108,   1980,
      1884,   1820,   1756,   1692,   1628,   1564,   1500,   1436,
      1372,   1308,   1244,   1180,   1116,   1052,    988,    924,
       876,    844,    812,    780,    748,    716,    684,    652,
       620,    588,    556,    524,    492,    460,    428,    396,
       372,    356,    340,    324,    308,    292,    276,    260,
       244,    228,    212,    196,    180,    164,    148,    132,
       120,    112,    104,     96,     88,     80,     72,     64,
        56,     48,     40,     32,     24,     16,      8,      0,
};

static const int16_t la_alaw_table[256] = {
     -5504,  -5248,  -6016,  -5760,  -4480,  -4224,  -4992,  -4736,
     -7552,  -7296,  -8064,  -7808,  -6528,  -6272,  -7040,  -6784,
     -2752,  -2624,  -3008,  -2880,  -2240,  -2112,  -2496,  -2368,
     -3776,  -3648,  -4032,  -3904,  -3264,  -3136,  -3520,  -3392,
    -22016, -20992, -24064, -23040, -17920, -16896, -19968, -18944,
    -30208, -29184, -32256, -31232, -26112, -25088, -28160, -27136,
    -11008, -10496, -12032, -11520,  -8960,  -8448,  -9984,  -9472,
    -15104, -14592, -16128, -15616, -13056, -12544, -14080, -13568,
      -344,   -328,   -376,   -360,   -280,   -264,   -312,   -296,
      -472,   -456,   -504,   -488,   -408,   -392,   -440,   -424,
       -88,    -72,   -120,   -104,    -24,     -8,    -56,    -40,
      -216,   -200,   -248,   -232,   -152,   -136,   -184,   -168,
     -1376,  -1312,  -1504,  -1440,  -1120,  -1056,  -1248,  -1184,
     -1888,  -1824,  -2016,  -1952,  -1632,  -1568,  -1760,  -1696,
      -688,   -656,   -752,   -720,   -560,   -528,   -624,   -592,
      -944,   -912,  -1008,   -976,   -816,   -784,   -880,   -848,
      5504,   5248,   6016,   5760,   4480,   4224,   4992,   4736,
      7552,   7296,   8064,   7808,   6528,   6272,   7040,   6784,
      2752,   2624,   3008,   2880,   2240,   2112,   2496,   2368,
      3776,   3648,   4032,   3904,   3264,   3136,   3520,   3392,
     22016,  20992,  24064,  23040,  17920,  16896,  19968,  18944,
     30208,  29184,  32256,  31232,  26112,  25088,  28160,  27136,
     11008,  10496,  12032,  11520,   8960,   8448,   9984,   9472,
     15104,  14592,  16128,  15616,  13056,  12544,  14080,  13568,
       344,    328,    376,    360,    280,    264,    312,    296,
       472,    456,    504,    488,    408,    392,    440,    424,
        88,     72,    120,    104,     24,      8,     56,     40,
       216,    200,    248,    232,    152,    136,    184,    168,
      1376,   1312,   1504,   1440,   1120,   1056,   1248,   1184,
      1888,   1824,   2016,   1952,   1632,   1568,   1760,   1696,
       688,    656,    752,    720,    560,    528,    624,    592,
       944,    912,   1008,    976,    816,    784,    880,    848,
};

/* Index of the highest set bit of v > 0. */
static inline int la_g711_log2(uint32_t v) {
#if defined(__GNUC__) || defined(__clang__)
    return 31 - __builtin_clz(v);
#else
    int r = 0;
    while (v >>= 1) {
        ++r;
    }
    return r;
#endif
}

static inline uint8_t la_ulaw_encode_one(int16_t x) {
    const int32_t xi = x;
    const int32_t mag = (xi >= 0 ? xi : ~xi) >> 2; /* 0 .. 8191 */
    int32_t v = mag + 33;
    v = v > 0x1FFF ? 0x1FFF : v;
    const int seg = la_g711_log2((uint32_t)v) - 5; /* v >= 33: 0 .. 7 */
    const int q = (v >> (seg + 1)) & 0x0F;
    uint8_t code = (uint8_t)(~((seg << 4) | q) & 0x7F);
    if (xi >= 0) {
        code |= 0x80;
    }
    return code;
}

static inline uint8_t la_alaw_encode_one(int16_t x) {
    const int32_t xi = x;
    int32_t a = (xi >= 0 ? xi : ~xi) >> 4; /* 0 .. 2047 */
    int32_t code;
    if (a <= 31) {
        code = a; /* segment 0 (a < 16) and segment 1 (16..31): step 1, code equals a */
    } else {
        const int seg = la_g711_log2((uint32_t)a) - 3; /* 2 .. 7 */
        code = (seg << 4) | ((a >> (seg - 1)) & 0x0F);
    }
    if (xi >= 0) {
        code |= 0x80;
    }
    return (uint8_t)(code ^ 0x55);
}

static la_status la_g711_check(const void *in, const void *out, int64_t n) {
    if (n < 0) {
        return LA_ERR_INVALID_ARGUMENT;
    }
    if (n > 0 && (in == NULL || out == NULL)) {
        return LA_ERR_NULL_POINTER;
    }
    return LA_OK;
}

la_status la_ulaw_encode(const int16_t *in, uint8_t *out, int64_t n) {
    la_fpenv env = la_fpenv_enter();
    la_status rc = la_g711_check(in, out, n);
    if (rc == LA_OK) {
        for (int64_t i = 0; i < n; ++i) {
            out[i] = la_ulaw_encode_one(in[i]);
        }
    }
    la_fpenv_leave(env);
    return rc;
}

la_status la_ulaw_decode(const uint8_t *in, int16_t *out, int64_t n) {
    la_fpenv env = la_fpenv_enter();
    la_status rc = la_g711_check(in, out, n);
    if (rc == LA_OK) {
        for (int64_t i = 0; i < n; ++i) {
            out[i] = la_ulaw_table[in[i]];
        }
    }
    la_fpenv_leave(env);
    return rc;
}

la_status la_alaw_encode(const int16_t *in, uint8_t *out, int64_t n) {
    la_fpenv env = la_fpenv_enter();
    la_status rc = la_g711_check(in, out, n);
    if (rc == LA_OK) {
        for (int64_t i = 0; i < n; ++i) {
            out[i] = la_alaw_encode_one(in[i]);
        }
    }
    la_fpenv_leave(env);
    return rc;
}

la_status la_alaw_decode(const uint8_t *in, int16_t *out, int64_t n) {
    la_fpenv env = la_fpenv_enter();
    la_status rc = la_g711_check(in, out, n);
    if (rc == LA_OK) {
        for (int64_t i = 0; i < n; ++i) {
            out[i] = la_alaw_table[in[i]];
        }
    }
    la_fpenv_leave(env);
    return rc;
}
