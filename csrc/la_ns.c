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
 * The speech presence probability p uses the a-priori speech absence probability q of
 * Cohen and Berdugo (2001, section 3): the recursive average zeta of the a-priori SNR
 * (beta 0.7), smoothed over frequency in a local (3 bins) and a global (about 940 Hz)
 * window - rectangular here, Hann in the paper - and averaged over 300 Hz - 4 kHz for the
 * frame term with its peak rule; each maps to [0, 1] linearly in zeta between two thresholds,
 * q = 1 - P_local P_global P_frame, at most 0.95, and
 *     p = 1 / (1 + q / (1 - q) (1 + xi) e^-v).
 * The thresholds are the paper's -10 and -5 dB with babble (see below) but -20 and -15 dB
 * with stationary noise (moving with the babble detector's output): there the a-priori SNR
 * of noise alone sits near its -25 dB floor, and the paper's thresholds declare the weak
 * parts of speech (onsets, decays, the upper band) absent and take them to the gain floor
 * (pink noise at 0 dB SNR: STOI drop 0.031 -> -0.003, PESQ-WB 1.050 -> 1.066 at 16 kHz).
 * Gains are computed once from the channel-averaged power and applied to every channel.
 * E1 uses Abramowitz & Stegun 5.1.53 (x <= 1) and 5.1.56 (x > 1); exp and log are the
 * polynomial approximations of la_fastmath.h, so the per-bin loops vectorise.
 *
 * Babble. Noise made of many talkers is not stationary: its short-time power has a heavier tail
 * than the exponential law the estimator above assumes, so the estimate dips into the lulls
 * between syllables and sits several dB below the noise's mean; the noise's bursts then pass as
 * speech. R. Martin (IEEE TSAP 9(5), 2001, minimum statistics) makes the same point for the
 * minimum of a noisy periodogram: its bias grows with the periodogram's variance and has to be
 * compensated by a factor that grows with it. Here a detector measures that non-stationarity on
 * the noise estimate itself: per bin a running median of log2(noise) (steps of 0.1 dB per
 * frame) and the smoothed depth of the estimate's dips below it (time constant 1 s),
 * power-weighted over 300 Hz - 4 kHz. Stationary noise dips about 0.2 dB, babble 0.4-0.6 dB;
 * target speech leaking into the estimate raises it above its median rather than below, so it
 * barely counts. The detector is faded out when the input's decaying band peak is more than
 * 19-22 dB above the noise (there the estimate holds speech and a low noise matters little; a
 * clean target's long vowels leaking into the estimate of hum or pink noise at 10 dB SNR can
 * still dip it 0.3-0.5 dB). Its output b in [0, 1] (smoothed, ~0.2 s) moves the suppressor
 * towards a babble setting: the estimator's a-priori SNR under speech presence 15 -> 25 dB
 * (fewer bursts taken for speech), the noise used for the gain scaled by 1 + 3 b (the bias
 * compensation, an over-estimate as in Berouti, Schwartz and Makhoul, ICASSP 1979), the
 * decision-directed smoothing 0.98 -> 0.96 (the a-priori SNR follows the target's syllables
 * faster) and the gain floor raised to 0.6 of its depth in dB (-21 -> -12.6 dB): with
 * speech-like noise, deeper suppression removes target speech as well (STOI falls). Both move
 * further as the target comes to dominate, judged by the band peak over the noise: the
 * smoothing to 0.92 between 8 and 14 dB (the a-priori SNR then tracks the target's onsets and
 * decays within a few frames - Cappe, IEEE TSAP 2(2), 1994, shows how the smoothing constant
 * trades the residual's musical character against this lag) and the floor to 0.45 of its depth
 * (-9.5 dB) between 12 and 18 dB: there the babble left in the pauses matters less than the
 * target's weak parts a deep floor takes.
 */
#include <math.h>
#include <string.h>

#include "la_dsp.h"
#include "la_fastmath.h"
#include "la_simd.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define LA_NS_XI_H1_DB 15.0f         /* a-priori SNR assumed under speech presence */
#define LA_NS_XI_H1_BABBLE_DB 25.0f  /* ... with babble */
#define LA_NS_NOISE_SMOOTH 0.9f
/* Cohen & Berdugo 2001: speech absence probability */
#define LA_NS_ZETA_BETA 0.7f
#define LA_NS_ZETA_MIN 0.01f             /* -20 dB: stationary noise ... */
#define LA_NS_ZETA_MAX 0.031622777f      /* -15 dB */
#define LA_NS_ZETA_MIN_BABBLE 0.1f       /* -10 dB: ... babble (Cohen & Berdugo's values) */
#define LA_NS_ZETA_MAX_BABBLE 0.31622777f /* -5 dB */
#define LA_NS_ZETA_PEAK_MIN 1.0f          /* 0 dB */
#define LA_NS_ZETA_PEAK_MAX 10.0f         /* 10 dB */
#define LA_NS_Q_MIN 0.001f
#define LA_NS_Q_MAX 0.95f
#define LA_NS_GLOBAL_HALF_HZ 470.0
/* Babble detector and setting */
#define LA_NS_MEDIAN_STEP 0.033219281f   /* 0.1 dB in log2 units */
#define LA_NS_DIP_SMOOTH 0.99f
#define LA_NS_DIP_LO_DB 0.25f
#define LA_NS_DIP_HI_DB 0.35f
#define LA_NS_PEAK_DECAY 0.995f
#define LA_NS_PEAK_FADE_DB 19.0f         /* fade the detector out from 19 ... */
#define LA_NS_PEAK_OFF_DB 22.0f          /* ... to 22 dB band peak over noise */
#define LA_NS_BABBLE_SMOOTH 0.95f
#define LA_NS_BABBLE_OVER 3.0f           /* noise for the gain x (1 + 3 b) */
#define LA_NS_BABBLE_FLOOR_SCALE 0.6f    /* floor depth in dB x (1 - b (1 - 0.6)) ... */
#define LA_NS_BABBLE_FLOOR_SCALE_HI 0.45f /* ... 0.45 at a high band peak over the noise, */
#define LA_NS_FLOOR_PEAK_LO_DB 12.0f     /* ... moving from 12 ... */
#define LA_NS_FLOOR_PEAK_HI_DB 18.0f     /* ... to 18 dB */
#define LA_NS_DD_ALPHA_BABBLE 0.96f      /* decision-directed smoothing with babble ... */
#define LA_NS_DD_ALPHA_BABBLE_HI 0.92f   /* ... at a high band peak over the noise, */
#define LA_NS_DD_PEAK_LO_DB 8.0f         /* ... moving from 8 ... */
#define LA_NS_DD_PEAK_HI_DB 14.0f        /* ... to 14 dB */
#define LA_NS_DB_PER_LOG2 3.0103000f
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
    int32_t hg = (int32_t)floor(LA_NS_GLOBAL_HALF_HZ / bin_hz + 0.5);
    hg = hg < 1 ? 1 : (hg > LA_NS_MAX_GLOBAL_HALF ? LA_NS_MAX_GLOBAL_HALF : hg);
    ns->global_half = hg;
    for (int32_t k = 0; k < ns->bins; ++k) {
        int32_t l0 = k - 1 > 0 ? k - 1 : 0, l1 = k + 2 < ns->bins ? k + 2 : ns->bins;
        int32_t g0 = k - hg > 0 ? k - hg : 0, g1 = k + hg + 1 < ns->bins ? k + hg + 1 : ns->bins;
        ns->inv_local[k] = 1.0f / (float)(l1 - l0);
        ns->inv_global[k] = 1.0f / (float)(g1 - g0);
    }
    ns->floor_db = floor_db;
    ns->use_avx2 = la_cpu_has_avx2_fma();
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
        ns->zeta[k] = 0.0f;
        ns->absence[k] = 0.5f;
        ns->noise_median[k] = 0.0f;
        ns->noise_dip[k] = 0.0f;
    }
    memset(ns->prefix, 0, sizeof(ns->prefix)); /* all-zero bits: 0.0 */
    ns->zeta_frame_prev = 0.0f;
    ns->zeta_peak = LA_NS_ZETA_PEAK_MIN;
    ns->band_peak = 0.0f;
    ns->babble = 0.0f;
    ns->peak_db = 0.0f;
    ns->frames_seen = 0;
    ns->speech_probability = 0.0f;
    ns->noise_power = 0.0f;
}

/* Updates noise_psd from power (Gerkmann & Hendriks 2012). Branch-free so it vectorises. */
LA_INLINE void la_ns_update_noise(la_ns *ns) {
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
    const float xi_h1_db = LA_NS_XI_H1_DB + ns->babble * (LA_NS_XI_H1_BABBLE_DB - LA_NS_XI_H1_DB);
    const float xi_h1 = powf(10.0f, xi_h1_db / 10.0f);
    const float xi_ratio = xi_h1 / (1.0f + xi_h1);
    float *restrict spp_out = ns->gain; /* scratch: gains are recomputed after this */
    for (int32_t k = 0; k < bins; ++k) {
        float n = noise[k] > 1e-6f ? noise[k] : 1e-6f;
        float post = power[k] / n;
        float spp = 1.0f / (1.0f + (1.0f + xi_h1) * la_exp_fast(-post * xi_ratio));
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

/* Babble detector (see the top of the file): updates ns->babble from the noise estimate's
 * dips below its running median and the input's band peak over the noise. */
LA_INLINE void la_ns_update_babble(la_ns *ns) {
    const int32_t lo = ns->band_lo;
    const int32_t end = ns->band_hi + 1; /* exclusive bounds: countable loops even with -fwrapv */
    const float *restrict noise = ns->noise_psd;
    const float *restrict power = ns->power;
    float *restrict median = ns->noise_median;
    float *restrict dip = ns->noise_dip;
    if (ns->frames_seen < LA_NS_INIT_FRAMES) {
        for (int32_t k = lo; k < end; ++k) {
            float n = noise[k] > 1e-6f ? noise[k] : 1e-6f;
            median[k] = la_log2_fast(n);
            dip[k] = 0.0f;
        }
        return;
    }
    for (int32_t k = lo; k < end; ++k) {
        float n = noise[k] > 1e-6f ? noise[k] : 1e-6f;
        float l = la_log2_fast(n);
        float m = median[k];
        m += (l > m ? LA_NS_MEDIAN_STEP : 0.0f) - (l < m ? LA_NS_MEDIAN_STEP : 0.0f);
        median[k] = m;
        float below = m > l ? m - l : 0.0f;
        float d = LA_NS_DIP_SMOOTH * dip[k] + (1.0f - LA_NS_DIP_SMOOTH) * below;
        d = d > 1e-12f ? d : 0.0f; /* no subnormal tail */
        dip[k] = d;
    }
    /* the three sums in eight lanes each, so the loop vectorises (no reassociation needed) */
    float acc_dip[8] = {0.0f}, acc_weight[8] = {0.0f}, acc_power[8] = {0.0f};
    const int32_t blocks = (end - lo) / 8;
    for (int32_t b = 0; b < blocks; ++b) {
        const int32_t k = lo + 8 * b;
        for (int32_t j = 0; j < 8; ++j) {
            float n = noise[k + j] > 1e-6f ? noise[k + j] : 1e-6f;
            acc_dip[j] += n * dip[k + j];
            acc_weight[j] += n;
            acc_power[j] += power[k + j];
        }
    }
    for (int32_t k = lo + 8 * blocks; k < end; ++k) {
        float n = noise[k] > 1e-6f ? noise[k] : 1e-6f;
        acc_dip[0] += n * dip[k];
        acc_weight[0] += n;
        acc_power[0] += power[k];
    }
    float dip_sum = 0.0f, weight = 0.0f, band_power = 0.0f;
    for (int32_t j = 0; j < 8; ++j) {
        dip_sum += acc_dip[j];
        weight += acc_weight[j];
        band_power += acc_power[j];
    }
    float depth_db = LA_NS_DB_PER_LOG2 * dip_sum / weight;
    float peak = LA_NS_PEAK_DECAY * ns->band_peak;
    peak = band_power > peak ? band_power : peak;
    peak = peak > 1e-3f ? peak : 1e-3f;
    ns->band_peak = peak;
    float peak_db = LA_NS_DB_PER_LOG2 * (la_log2_fast(peak) - la_log2_fast(weight));
    ns->peak_db = peak_db;
    float fade = (LA_NS_PEAK_OFF_DB - peak_db) / (LA_NS_PEAK_OFF_DB - LA_NS_PEAK_FADE_DB);
    fade = fade < 0.0f ? 0.0f : (fade > 1.0f ? 1.0f : fade);
    float target = (depth_db - LA_NS_DIP_LO_DB) / (LA_NS_DIP_HI_DB - LA_NS_DIP_LO_DB);
    target = target < 0.0f ? 0.0f : (target > 1.0f ? 1.0f : target);
    ns->babble = LA_NS_BABBLE_SMOOTH * ns->babble + (1.0f - LA_NS_BABBLE_SMOOTH) * target * fade;
    ns->babble = ns->babble > 1e-6f ? ns->babble : 0.0f;
}

/* Maps zeta to [0, 1] between zmin and zmin + 1 / inv. Cohen & Berdugo (2001, eq. 19)
 * interpolate in log(zeta); linear in zeta here (two logarithms per bin fewer; the ramp spans
 * only 5 dB). */
static inline float la_ns_presence_map(float zeta, float zmin, float inv) {
    float t = (zeta - zmin) * inv;
    return t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t);
}

/* A-priori speech absence probability per bin from zeta, which holds the a-priori SNR up to
 * the previous frame (Cohen & Berdugo 2001, eqs. 17-24). */
LA_INLINE void la_ns_update_absence(la_ns *ns) {
    const int32_t bins = ns->bins;
    const int32_t hg = ns->global_half;
    const float *restrict zeta = ns->zeta;
    double *restrict prefix = ns->prefix;
    const float *restrict inv_local = ns->inv_local;
    const float *restrict inv_global = ns->inv_global;
    float *restrict q = ns->absence;
    /* prefix[hg + j] = zeta[0] + ... + zeta[j - 1], 0 below j = 0 and the total above j = bins,
     * so every window is one difference of contiguous entries. In double: zeta spans many
     * decades, and differences of float sums would lose the small ones. */
    for (int32_t j = 0; j < hg + 1; ++j) {
        prefix[j] = 0.0;
    }
    for (int32_t k = 0; k < bins; ++k) {
        prefix[hg + k + 1] = prefix[hg + k] + (double)zeta[k];
    }
    for (int32_t j = hg + bins + 1; j < 2 * hg + bins + 1; ++j) {
        prefix[j] = prefix[hg + bins];
    }
    float frame = 0.0f;
    for (int32_t k = ns->band_lo; k <= ns->band_hi; ++k) {
        frame += zeta[k];
    }
    frame /= (float)(ns->band_hi - ns->band_lo + 1);
    /* the thresholds: stationary noise's, moving to the paper's with babble */
    const float zmin = LA_NS_ZETA_MIN + ns->babble * (LA_NS_ZETA_MIN_BABBLE - LA_NS_ZETA_MIN);
    const float zmax = LA_NS_ZETA_MAX + ns->babble * (LA_NS_ZETA_MAX_BABBLE - LA_NS_ZETA_MAX);
    const float inv = 1.0f / (zmax - zmin);
    float p_frame;
    if (frame > zmin) {
        if (frame > ns->zeta_frame_prev) {
            p_frame = 1.0f;
            float pk = frame < LA_NS_ZETA_PEAK_MIN ? LA_NS_ZETA_PEAK_MIN : frame;
            ns->zeta_peak = pk > LA_NS_ZETA_PEAK_MAX ? LA_NS_ZETA_PEAK_MAX : pk;
        } else {
            p_frame = la_ns_presence_map(frame / ns->zeta_peak, zmin, inv);
        }
    } else {
        p_frame = 0.0f;
    }
    ns->zeta_frame_prev = frame;
    for (int32_t k = 0; k < bins; ++k) {
        float local = (float)(prefix[hg + k + 2] - prefix[hg + k - 1]) * inv_local[k];
        float global = (float)(prefix[2 * hg + k + 1] - prefix[k]) * inv_global[k];
        float p = la_ns_presence_map(local, zmin, inv) * la_ns_presence_map(global, zmin, inv) *
                  p_frame;
        float a = 1.0f - p;
        a = a < LA_NS_Q_MIN ? LA_NS_Q_MIN : (a > LA_NS_Q_MAX ? LA_NS_Q_MAX : a);
        q[k] = a;
    }
}

/* OM-LSA gain per bin from the decision-directed a-priori SNR. Both branches of the E1
 * approximation are computed and selected, so the loop vectorises. */
LA_INLINE void la_ns_update_gain(la_ns *ns) {
    const int32_t bins = ns->bins;
    const float b = ns->babble;
    /* the babble floor's scale: 0.6 up to a band peak of 12 dB over the noise, 0.45 from 18 */
    float high = (ns->peak_db - LA_NS_FLOOR_PEAK_LO_DB) /
                 (LA_NS_FLOOR_PEAK_HI_DB - LA_NS_FLOOR_PEAK_LO_DB);
    high = high < 0.0f ? 0.0f : (high > 1.0f ? 1.0f : high);
    const float scale = LA_NS_BABBLE_FLOOR_SCALE +
                        high * (LA_NS_BABBLE_FLOOR_SCALE_HI - LA_NS_BABBLE_FLOOR_SCALE);
    const float floor_db = ns->floor_db * (1.0f - b * (1.0f - scale));
    const float floor = b > 0.0f ? powf(10.0f, floor_db / 20.0f) : ns->gain_floor;
    const float log2_floor = la_log2_fast(floor);
    const float over = 1.0f + LA_NS_BABBLE_OVER * b;
    /* the babble smoothing: 0.96 up to a band peak of 8 dB over the noise, 0.92 from 14 */
    float fast =
        (ns->peak_db - LA_NS_DD_PEAK_LO_DB) / (LA_NS_DD_PEAK_HI_DB - LA_NS_DD_PEAK_LO_DB);
    fast = fast < 0.0f ? 0.0f : (fast > 1.0f ? 1.0f : fast);
    const float alpha_babble =
        LA_NS_DD_ALPHA_BABBLE + fast * (LA_NS_DD_ALPHA_BABBLE_HI - LA_NS_DD_ALPHA_BABBLE);
    const float alpha = LA_NS_DD_ALPHA + b * (alpha_babble - LA_NS_DD_ALPHA);
    const float *restrict power = ns->power;
    const float *restrict noise = ns->noise_psd;
    const float *restrict absence = ns->absence;
    float *restrict zeta = ns->zeta;
    float *restrict prev = ns->clean_snr_prev;
    float *restrict gain = ns->gain;
    for (int32_t k = 0; k < bins; ++k) {
        float n = over * noise[k];
        n = n > 1e-6f ? n : 1e-6f;
        float post = power[k] / n;
        post = post > 1e4f ? 1e4f : post;
        float excess = post > 1.0f ? post - 1.0f : 0.0f;
        float xi = alpha * prev[k] + (1.0f - alpha) * excess;
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
        /* speech presence given the observation and the absence probability q */
        float q = absence[k];
        float p = 1.0f / (1.0f + q / (1.0f - q) * (1.0f + xi) * exp_neg_v);
        float g = la_exp2_fast(p * la_log2_fast(g_lsa) + (1.0f - p) * log2_floor);
        gain[k] = g;
        prev[k] = g * g * post;
        zeta[k] = LA_NS_ZETA_BETA * zeta[k] + (1.0f - LA_NS_ZETA_BETA) * xi;
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
LA_INLINE void la_ns_update_res_gain(la_ns *ns) {
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

/* The per-frame work; inlined into a portable and an AVX2 copy below (the per-bin loops are
 * the same C, vectorised 4 or 8 wide; without contraction or reassociation both give the same
 * bits). */
LA_INLINE void la_ns_process_impl(la_ns *ns, float *const *x, float *const *echo) {
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
        la_ns_update_babble(ns);
        if (ns->frames_seen < LA_NS_INIT_FRAMES) {
            ns->frames_seen++;
        }
        la_ns_update_absence(ns);
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

static void la_ns_process_generic(la_ns *ns, float *const *x, float *const *echo) {
    la_ns_process_impl(ns, x, echo);
}

#ifdef LA_HAVE_X86_DISPATCH
LA_TARGET_AVX2 static void la_ns_process_avx2(la_ns *ns, float *const *x, float *const *echo) {
    la_ns_process_impl(ns, x, echo);
}
#endif

void la_ns_process(la_ns *ns, float *const *x, float *const *echo) {
#ifdef LA_HAVE_X86_DISPATCH
    if (ns->use_avx2) {
        la_ns_process_avx2(ns, x, echo);
        return;
    }
#endif
    la_ns_process_generic(ns, x, echo);
}
