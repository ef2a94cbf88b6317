/*
 * la_window.c - the Kaiser window, shared by the resampler's and the band split's designs.
 *
 * J. F. Kaiser, "Nonrecursive digital filter design using the I0-sinh window function",
 * Proc. IEEE ISCAS, 1974.
 */
#include <math.h>

#include "la_dsp.h"

double la_bessel_i0(double x) {
    /* modified Bessel function of the first kind, order 0, by its power series */
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

double la_kaiser(double r, double beta) {
    return (r * r < 1.0) ? la_bessel_i0(beta * sqrt(1.0 - r * r)) / la_bessel_i0(beta) : 0.0;
}
