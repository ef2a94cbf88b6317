/*
 * la_ns.c - single-microphone noise suppressor on a short-time Fourier transform.
 *
 * Analysis/synthesis: sqrt periodic Hann windows of length 2 x hop at 50 % overlap (weighted
 * overlap-add, perfect reconstruction at unit gain), zero-padded to a power-of-two FFT; the
 * output lags the input by one hop (10 ms).
 *
 * Noise power: the speech-presence-probability based MMSE estimator of T. Gerkmann and
 * R. C. Hendriks, "Unbiased MMSE-based noise power estimation with low complexity and low
 * tracking delay", IEEE TASLP 20(4), 2012 (fixed a-priori SNR of 15 dB under speech presence,
 * smoothing 0.8, stagnation guard at 0.99) - an equivalent of Cohen's IMCRA at a fraction of
 * its cost, tracking non-stationary noise (babble) within about a second.
 *
 * Gain: decision-directed a-priori SNR (Y. Ephraim and D. Malah, IEEE TASSP 32(6), 1984,
 * alpha 0.98, floor -25 dB) into the log-spectral-amplitude estimator (Ephraim and Malah,
 * IEEE TASSP 33(2), 1985), combined with the speech presence probability as in the optimally
 * modified LSA of I. Cohen and B. Berdugo, Signal Processing 81(11), 2001:
 *     G = G_LSA^p * G_min^(1 - p).
 * Gains are computed once from the channel-averaged power and applied to every channel.
 * E1 uses Abramowitz & Stegun 5.1.53 (x <= 1) and 5.1.56 (x > 1); exp and log are the
 * polynomial approximations of la_fastmath.h, so the per-bin loops vectorise.
 */
#include <math.h>
#include <string.h>

#include "la_dsp.h"
#include "la_fastmath.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define LA_NS_XI_H1 31.622777f        /* 15 dB a-priori SNR assumed under speech presence */
#define LA_NS_NOISE_SMOOTH 0.8f
#define LA_NS_SPP_SMOOTH 0.9f
#define LA_NS_DD_ALPHA 0.98f
#define LA_NS_XI_MIN 0.0031623f       /* -25 dB */
#define LA_RES_LEAK_FLOOR 0.01f       /* least leakage the suppressor assumes (-20 dB) */
#define LA_RES_OVER 2.0f              /* over-subtraction of both residual estimates */
#define LA_RES_DT_LEAK 0.5f           /* ... of the leakage estimate around double talk */
#define LA_RES_DT_RHO 0.5f            /* ... of the render-driven estimate around double talk */
#define LA_RES_RELEASE 0.5f           /* gain release per block */
#define LA_NS_INIT_FRAMES 10          /* noise estimate starts as the mean of these frames */

static int32_t la_next_pow2(int32_t n) {
    int32_t p = 1;
    while (p < n) {
        p *= 2;
    }
    return p;
}

la_status la_ns_init(la_ns *ns, int32_t sample_rate_hz, int32_t num_channels, float floor_db) {
    if (ns == NULL) {
        return LA_ERR_NULL_POINTER;
    }
    if (sample_rate_hz % 100 != 0 || sample_rate_hz / 100 > LA_APM_MAX_HOP) {
        return LA_ERR_INVALID_RATE;
    }
    if (num_channels < 1 || num_channels > LA_APM_MAX_CHANNELS) {
        return LA_ERR_INVALID_CHANNELS;
    }
    if (!(floor_db < 0.0f && floor_db > -80.0f)) {
        return LA_ERR_INVALID_ARGUMENT;
    }
    ns->hop = sample_rate_hz / 100;
    ns->window_len = 2 * ns->hop;
    ns->nfft = la_next_pow2(ns->window_len);
    ns->bins = ns->nfft / 2 + 1;
    ns->num_channels = num_channels;
    ns->gain_floor = powf(10.0f, floor_db / 20.0f);
    la_status rc = la_fft_init(&ns->fft, ns->nfft, ns->fft_work,
                               sizeof(ns->fft_work) / sizeof(ns->fft_work[0]));
    if (rc != LA_OK) {
        return rc;
    }
    for (int32_t i = 0; i < ns->window_len; ++i) {
        double hann = 0.5 - 0.5 * cos(2.0 * M_PI * (double)i / (double)ns->window_len);
        ns->window[i] = (float)sqrt(hann);
    }
    double bin_hz = (double)sample_rate_hz / (double)ns->nfft;
    ns->band_4k = (int32_t)floor(4000.0 / bin_hz);
    ns->band_8k = (int32_t)floor(8000.0 / bin_hz);
    if (ns->band_8k >= ns->bins) {
        ns->band_8k = ns->bins - 1;
    }
    ns->suppress_noise = 1;
    ns->res_leakage = 0.0f;
    ns->res_double_talk = 0;
    ns->band_lo = (int32_t)ceil(300.0 / bin_hz);
    ns->band_hi = (int32_t)floor(4000.0 / bin_hz);
    if (ns->band_hi >= ns->bins) {
        ns->band_hi = ns->bins - 1;
    }
    la_ns_reset(ns);
    return LA_OK;
}

void la_ns_reset(la_ns *ns) {
    memset(ns->analysis, 0, sizeof(ns->analysis));
    memset(ns->echo_analysis, 0, sizeof(ns->echo_analysis));
    memset(ns->echo_power, 0, sizeof(ns->echo_power));
    memset(ns->overlap, 0, sizeof(ns->overlap));
    memset(ns->frame, 0, sizeof(ns->frame));
    for (int32_t k = 0; k < LA_APM_MAX_BINS; ++k) {
        ns->noise_psd[k] = 0.0f;
        ns->spp_smoothed[k] = 0.5f;
        ns->clean_snr_prev[k] = 1.0f;
        ns->gain[k] = 1.0f;
        ns->res_gain[k] = 1.0f;
    }
    ns->frames_seen = 0;
    ns->speech_probability = 0.0f;
    ns->noise_power = 0.0f;
}

/* Updates noise_psd from power (Gerkmann & Hendriks 2012). Branch-free so it vectorises. */
static void la_ns_update_noise(la_ns *ns) {
    const int32_t bins = ns->bins;
    float *restrict noise = ns->noise_psd;
    float *restrict smoothed = ns->spp_smoothed;
    const float *restrict power = ns->power;
    if (ns->frames_seen < LA_NS_INIT_FRAMES) {
        float w = 1.0f / (float)(ns->frames_seen + 1);
        for (int32_t k = 0; k < bins; ++k) {
            noise[k] += w * (power[k] - noise[k]);
        }
        ns->speech_probability = 0.0f;
        return;
    }
    const float xi_ratio = LA_NS_XI_H1 / (1.0f + LA_NS_XI_H1);
    float *restrict spp_out = ns->gain; /* scratch: gains are recomputed after this */
    for (int32_t k = 0; k < bins; ++k) {
        float n = noise[k] > 1e-6f ? noise[k] : 1e-6f;
        float post = power[k] / n;
        float spp = 1.0f / (1.0f + (1.0f + LA_NS_XI_H1) * la_exp_fast(-post * xi_ratio));
        float bar = LA_NS_SPP_SMOOTH * smoothed[k] + (1.0f - LA_NS_SPP_SMOOTH) * spp;
        smoothed[k] = bar;
        /* never freeze the estimate under persistent "speech" */
        float cap = bar > 0.99f ? 0.99f : 1.0f;
        spp = spp < cap ? spp : cap;
        float expected = (1.0f - spp) * power[k] + spp * n;
        noise[k] = LA_NS_NOISE_SMOOTH * n + (1.0f - LA_NS_NOISE_SMOOTH) * expected;
        spp_out[k] = spp;
    }
    /* Under noise alone about 3 % of bins pass 0.5; speech lifts the mean well above. */
    float presence_sum = 0.0f;
    for (int32_t k = ns->band_lo; k <= ns->band_hi; ++k) {
        presence_sum += spp_out[k];
    }
    ns->speech_probability = presence_sum / (float)(ns->band_hi - ns->band_lo + 1);
}

/* OM-LSA gain per bin from the decision-directed a-priori SNR. Both branches of the E1
 * approximation are computed and selected, so the loop vectorises. */
static void la_ns_update_gain(la_ns *ns) {
    const int32_t bins = ns->bins;
    const float log2_floor = la_log2_fast(ns->gain_floor);
    const float floor = ns->gain_floor;
    const float *restrict power = ns->power;
    const float *restrict noise = ns->noise_psd;
    float *restrict prev = ns->clean_snr_prev;
    float *restrict gain = ns->gain;
    for (int32_t k = 0; k < bins; ++k) {
        float n = noise[k] > 1e-6f ? noise[k] : 1e-6f;
        float post = power[k] / n;
        post = post > 1e4f ? 1e4f : post;
        float excess = post > 1.0f ? post - 1.0f : 0.0f;
        float xi = LA_NS_DD_ALPHA * prev[k] + (1.0f - LA_NS_DD_ALPHA) * excess;
        xi = xi < LA_NS_XI_MIN ? LA_NS_XI_MIN : xi;
        float ratio = xi / (1.0f + xi);
        float v = ratio * post;
        v = v < 1e-6f ? 1e-6f : v;
        float exp_neg_v = la_exp_fast(-v);
        /* E1(v): A&S 5.1.53 for v <= 1, 5.1.56 for v > 1 (~0 beyond 30) */
        float small = -la_log_fast(v) - 0.57721566f +
                      v * (0.99999193f + v * (-0.24991055f + v * (0.05519968f +
                                                                  v * (-0.00976004f +
                                                                       v * 0.00107857f))));
        float num = v * v + 2.334733f * v + 0.250621f;
        float den = v * v + 3.330657f * v + 1.681534f;
        float large = num / (den * v) * exp_neg_v;
        float e1 = v <= 1.0f ? small : large;
        float g_lsa = ratio * la_exp_fast(0.5f * e1);
        g_lsa = g_lsa > 1.0f ? 1.0f : g_lsa;
        g_lsa = g_lsa < floor ? floor : g_lsa;
        /* speech presence given the observation (equal priors): 1 / (1 + (1 + xi) e^-v) */
        float p = 1.0f / (1.0f + (1.0f + xi) * exp_neg_v);
        float g = la_exp2_fast(p * la_log2_fast(g_lsa) + (1.0f - p) * log2_floor);
        gain[k] = g;
        prev[k] = g * g * post;
    }
}

/* Residual echo suppression gain. The residual's share of the error power is the larger of
 * two estimates: 2 x leakage x |Yhat|^2 / |E|^2 (the AEC's leakage estimate, at least -20 dB,
 * oversubtracted 2x) and 2 x the AEC's render-driven ratio (residual echo path gain x aligned
 * render power / error power, mapped from its 16 kHz bins). While the AEC's double-talk
 * detector says the near end talks (and 0.5 s after), the over-subtraction falls to 0.5 x for
 * both: the near end then fills the error, and an over-estimated residual is what crushed it
 * (double-talk PESQ-WB 2.53 -> 2.86 at 16 kHz on the benchmark; the linear canceller alone
 * scores 2.67). Gain = 1 - share, floor -30 dB;
 * attack at once, release at half per block so the tail of an echo burst does not come back
 * between words. Above 8 kHz, where the adaptive filter does not run, the gain follows the
 * 4-8 kHz mean. Where near-end speech dominates the error the share is small and the speech
 * is kept. */
static void la_ns_update_res_gain(la_ns *ns) {
    const int32_t bins = ns->bins;
    const float leak = ns->res_leakage > LA_RES_LEAK_FLOOR ? ns->res_leakage : LA_RES_LEAK_FLOOR;
    /* around double talk (the AEC's detector fired within the last 0.5 s) the estimates are
     * trusted as they are: over-subtracting them there takes the near end with the echo */
    const float over_leak = ns->res_double_talk ? LA_RES_DT_LEAK : LA_RES_OVER;
    const float over_rho = ns->res_double_talk ? LA_RES_DT_RHO : LA_RES_OVER;
    const float *restrict pe = ns->power;
    const float *restrict py = ns->echo_power;
    float *restrict g = ns->res_gain;
    const int32_t top = ns->band_8k;
    const float bin_hz = (float)(ns->hop * 100) / (float)ns->nfft;
    for (int32_t k = 0; k <= top; ++k) {
        float residual = over_leak * leak * py[k] / (pe[k] + 1e-3f);
        if (ns->res_ratio != NULL && ns->res_ratio_bin_hz > 0.0f) {
            int32_t j = (int32_t)((float)k * bin_hz / ns->res_ratio_bin_hz + 0.5f);
            j = j < LA_AEC_MAX_BINS ? j : LA_AEC_MAX_BINS - 1;
            float rho = over_rho * ns->res_ratio[j];
            residual = rho > residual ? rho : residual;
        }
        float target = 1.0f - residual;
        target = target < 0.0316f ? 0.0316f : target;
        float released = LA_RES_RELEASE * g[k] + (1.0f - LA_RES_RELEASE) * target;
        g[k] = target < g[k] ? target : released;
    }
    if (top + 1 < bins) {
        float mean = 0.0f;
        int32_t lo = ns->band_4k < top ? ns->band_4k : top;
        for (int32_t k = lo; k <= top; ++k) {
            mean += g[k];
        }
        mean /= (float)(top - lo + 1);
        for (int32_t k = top + 1; k < bins; ++k) {
            g[k] = mean;
        }
    }
}

void la_ns_process(la_ns *ns, float *const *x, float *const *echo) {
    const int32_t hop = ns->hop;
    const int32_t wlen = ns->window_len;
    const int32_t bins = ns->bins;
    const int32_t nch = ns->num_channels;
    for (int32_t k = 0; k < bins; ++k) {
        ns->power[k] = 0.0f;
    }
    for (int32_t c = 0; c < nch; ++c) {
        float *restrict a = ns->analysis[c];
        memmove(a, a + hop, (size_t)hop * sizeof(float));
        memcpy(a + hop, x[c], (size_t)hop * sizeof(float));
        for (int32_t i = 0; i < wlen; ++i) {
            ns->frame[i] = a[i] * ns->window[i];
        }
        /* zero padding: the synthesis IFFT below reuses frame and leaves its tail set */
        memset(ns->frame + wlen, 0, sizeof(float) * (size_t)(ns->nfft - wlen));
        la_rfft(&ns->fft, ns->frame, ns->spec_re[c], ns->spec_im[c]);
        const float *restrict re = ns->spec_re[c];
        const float *restrict im = ns->spec_im[c];
        for (int32_t k = 0; k < bins; ++k) {
            ns->power[k] += re[k] * re[k] + im[k] * im[k];
        }
    }
    if (nch > 1) {
        const float inv = 1.0f / (float)nch;
        for (int32_t k = 0; k < bins; ++k) {
            ns->power[k] *= inv;
        }
    }
    if (echo != NULL) {
        for (int32_t k = 0; k < bins; ++k) {
            ns->echo_power[k] = 0.0f;
        }
        for (int32_t c = 0; c < nch; ++c) {
            float *restrict a = ns->echo_analysis[c];
            memmove(a, a + hop, (size_t)hop * sizeof(float));
            memcpy(a + hop, echo[c], (size_t)hop * sizeof(float));
            for (int32_t i = 0; i < wlen; ++i) {
                ns->frame[i] = a[i] * ns->window[i];
            }
            memset(ns->frame + wlen, 0, sizeof(float) * (size_t)(ns->nfft - wlen));
            la_rfft(&ns->fft, ns->frame, ns->echo_re, ns->echo_im);
            for (int32_t k = 0; k < bins; ++k) {
                ns->echo_power[k] += (ns->echo_re[k] * ns->echo_re[k] + ns->echo_im[k] * ns->echo_im[k]) / (float)nch;
            }
        }
    }
    if (ns->suppress_noise) {
        la_ns_update_noise(ns);
        if (ns->frames_seen < LA_NS_INIT_FRAMES) {
            ns->frames_seen++;
        }
        la_ns_update_gain(ns);
    } else {
        for (int32_t k = 0; k < bins; ++k) {
            ns->gain[k] = 1.0f;
        }
    }
    if (echo != NULL) {
        la_ns_update_res_gain(ns);
        for (int32_t k = 0; k < bins; ++k) {
            ns->gain[k] *= ns->res_gain[k];
        }
    }
    /* Mean square of the noise estimate per sample (Parseval over the windowed frame; the
     * squared window sums to wlen / 2). */
    double total = (double)ns->noise_psd[0] + (double)ns->noise_psd[bins - 1];
    for (int32_t k = 1; k < bins - 1; ++k) {
        total += 2.0 * (double)ns->noise_psd[k];
    }
    ns->noise_power = (float)(total / (double)ns->nfft / (0.5 * (double)wlen));
    for (int32_t c = 0; c < nch; ++c) {
        float *restrict re = ns->spec_re[c];
        float *restrict im = ns->spec_im[c];
        for (int32_t k = 0; k < bins; ++k) {
            re[k] *= ns->gain[k];
            im[k] *= ns->gain[k];
        }
        la_irfft(&ns->fft, re, im, ns->frame);
        float *restrict out = x[c];
        float *restrict ola = ns->overlap[c];
        for (int32_t i = 0; i < hop; ++i) {
            out[i] = ola[i] + ns->frame[i] * ns->window[i];
            ola[i] = ns->frame[hop + i] * ns->window[hop + i];
        }
    }
}
