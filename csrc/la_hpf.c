/*
 * la_hpf.c - fourth-order Butterworth high-pass, cutoff fixed in Hz at every sample rate.
 *
 * Two second-order sections with the Butterworth pole Q values 1/(2 cos(pi/8)) and
 * 1/(2 cos(3 pi/8)), each mapped by the bilinear transform with the cutoff prewarped
 * (R. Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter coefficients"; Butterworth
 * pole placement as in Oppenheim & Schafer, Discrete-Time Signal Processing, sec. 7.3). With the
 * cutoff prewarped, the magnitude response is the analog one at the cutoff and below, so it is
 * the same at 8, 16, 32 and 48 kHz. Transposed direct form II in double precision: the poles
 * sit within 2 pi fc / fs of z = 1, where float32 state would add audible roundoff.
 */
#include <math.h>
#include <string.h>

#include "la_dsp.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

la_status la_hpf_design(la_hpf *h, double sample_rate_hz, double cutoff_hz) {
    if (h == NULL) {
        return LA_ERR_NULL_POINTER;
    }
    if (!(sample_rate_hz > 0.0) || !(cutoff_hz > 0.0) || cutoff_hz >= 0.45 * sample_rate_hz) {
        return LA_ERR_INVALID_ARGUMENT;
    }
    static const double q[2] = {0.54119610014619698, 1.3065629648763766};
    double w0 = 2.0 * M_PI * cutoff_hz / sample_rate_hz;
    double cw = cos(w0);
    double sw = sin(w0);
    for (int s = 0; s < 2; ++s) {
        double alpha = sw / (2.0 * q[s]);
        double a0 = 1.0 + alpha;
        h->section[s].b0 = 0.5 * (1.0 + cw) / a0;
        h->section[s].b1 = -(1.0 + cw) / a0;
        h->section[s].b2 = 0.5 * (1.0 + cw) / a0;
        h->section[s].a1 = -2.0 * cw / a0;
        h->section[s].a2 = (1.0 - alpha) / a0;
    }
    la_hpf_reset(h);
    return LA_OK;
}

void la_hpf_reset(la_hpf *h) { memset(h->z, 0, sizeof(h->z)); }

void la_hpf_process(la_hpf *h, int32_t channel, float *x, int32_t n) {
    const la_biquad s0 = h->section[0];
    const la_biquad s1 = h->section[1];
    double z01 = h->z[channel][0][0], z02 = h->z[channel][0][1];
    double z11 = h->z[channel][1][0], z12 = h->z[channel][1][1];
    for (int32_t i = 0; i < n; ++i) {
        double in = (double)x[i];
        double y0 = s0.b0 * in + z01;
        z01 = s0.b1 * in - s0.a1 * y0 + z02;
        z02 = s0.b2 * in - s0.a2 * y0;
        double y1 = s1.b0 * y0 + z11;
        z11 = s1.b1 * y0 - s1.a1 * y1 + z12;
        z12 = s1.b2 * y0 - s1.a2 * y1;
        x[i] = (float)y1;
    }
    h->z[channel][0][0] = z01;
    h->z[channel][0][1] = z02;
    h->z[channel][1][0] = z11;
    h->z[channel][1][1] = z12;
}
