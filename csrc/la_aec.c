/*
 * la_aec.c - acoustic echo canceller: render buffer, delay estimator, adaptive filter.
 *
 * Filter: a partitioned-block frequency-domain adaptive filter - the multidelay block filter
 * of J.-S. Soo and K. K. Pang, "Multidelay block frequency domain adaptive filter", IEEE
 * TASSP 38(2), 1990 - with 10 ms partitions, overlap-save on a power-of-two FFT, the gradient
 * constraint applied to one partition per block in rotation (alternating MDF) and a step
 * normalised per bin by the render power, its size set by Valin's learning rate (below).
 * Double talk is handled by two filters
 * (K. Ochiai, T. Araseki, T. Ogihara, "Echo canceler with two echo path models", IEEE Trans.
 * Commun. 25(6), 1977, as in the Speex MDF echo canceller): the background adapts on every
 * block with far-end activity; the foreground produces the output and copies the background
 * only after it has had 3 dB less error for three blocks running, and a background that
 * diverges (near-end speech) is restored from the foreground. The leakage coefficient of
 * J.-M. Valin ("On adjusting the learning rate in frequency domain echo cancellation with
 * double-talk", IEEE TASLP 15(3), 2007) - the regression of the error power spectrum on the
 * echo estimate's - sets the background's learning rate and drives the residual echo
 * suppressor (la_ns), together with a render-driven residual echo estimate (a residual echo
 * path gain times the aligned render power, as in WebRTC AEC3's suppressor) that covers the
 * first seconds, loudspeaker non-linearity and an echo path change.
 *
 * Double-talk detector: the coherence between the microphone D and the foreground's echo
 * estimate Yf, per bin, from recursively smoothed auto- and cross-spectra - in the spirit of
 * the cross-correlation detectors of J. Benesty, D. R. Morgan and J. H. Cho ("A new class of
 * doubletalk detectors based on cross-correlation", IEEE TSAP 8(2), 2000) and the coherence
 * detector of T. Gaensler, M. Hansson, C.-J. Ivarsson and G. Salomonsson ("A double-talk
 * detector based on coherence", IEEE Trans. Commun. 44(11), 1996), which need no silent near
 * end. The power of D that is coherent with Yf, sum_k |S_dy|^2 / S_yy, is compared with both
 * the power of D and the power of Yf: near-end speech makes D hold more than the estimate
 * explains (the first ratio falls) while the estimate is still found in D (the second stays
 * high); an echo path change or an unconverged filter lowers the second too, and is not
 * double talk - nor is an error whose power follows the echo estimate's (Valin's leakage
 * above -13 dB: a path change, or a render-path shift, that leaves the coherence high). While the near end talks the background does not adapt, the foreground does
 * not copy it, and the delay estimator (whose envelopes the near end disturbs) moves nothing.
 *
 * At 32 and 48 kHz the module runs this canceller at 16 kHz on a band split (la_band.c); the
 * upper band's echo is left to the residual echo suppressor (la_ns), so the cost does not grow
 * with the rate.
 *
 * Delay: the render and capture log-energy envelopes (2 ms blocks) are cross-correlated over
 * 1 s for lags of 0-500 ms; a lag that wins twice in a row moves the filter's bulk delay by
 * whole blocks, shifting the learnt partitions along. The reported delay is refined by the
 * foreground filter's strongest tap.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "la_dsp.h"
#include "la_simd.h"

#define LA_AEC_MU 1.0f          /* largest background NLMS step */
#define LA_AEC_MU_START 1.0f    /* fixed step until adapted */
#define LA_AEC_ADAPTED_STEPS 1.0f /* adapted after this many filter lengths of unit steps */
#define LA_AEC_VALIN_SCALE 4.0f
#define LA_AEC_REG_REL 1e-3f    /* step regularisation re the mean render power */
#define LA_AEC_COPY_RATIO 0.5f  /* foreground adopts a background 3 dB better */
#define LA_AEC_MAX_DELAY_MS LA_APM_MAX_STREAM_DELAY_MS /* the hint's range is the search range */
#define LA_AEC_TAIL_DECAY 0.8f  /* render power tail: -1 dB per block */
#define LA_AEC_PATH_GAIN_START 1.0f
#define LA_AEC_SILENT_POWER 1e4f /* render bin power below which the far end is silent */
#define LA_AEC_PATH_GAIN_DOWN 0.05f /* smoothing of the residual path gain, per block */
#define LA_AEC_PATH_GAIN_UP 0.1f
#define LA_AEC_ECHO_SHARE 0.5f
#define LA_AEC_LEAK_AVG 0.05f  /* running mean of each bin's power, for the leakage */
#define LA_AEC_LEAK_SMOOTH 0.05f /* the per-bin regression's sums, per block */
#define LA_AEC_LEAK_GLOBAL_SMOOTH 0.2f /* the across-bin regression's sums, per block */
#define LA_AEC_DTD_SMOOTH 0.1f  /* cross-spectra of the double-talk detector, per block */
#define LA_AEC_DTD_MIC_SHARE 0.6f /* near end: the echo estimate explains less of the mic ... */
#define LA_AEC_DTD_EST_SHARE 0.75f /* ... while the mic still holds most of the estimate */
#define LA_AEC_DTD_HANG 10      /* blocks the decision is held after the last detection */
#define LA_AEC_DTD_MAX_LEAK 0.05f /* ... and Valin's leakage is low (-13 dB): a path change raises it */
#define LA_AEC_PC_KEEP 0.5f     /* foreground error above this share of the mic ... */
#define LA_AEC_PC_QUIET 100     /* ... 1 s after the last double talk: the error is echo */
#define LA_AEC_LOST_BLOCKS 5    /* blocks of a foreground worse than none: the path changed */
#define LA_AEC_DTD_CONVERGED_DB 12.0f /* the detector runs once the filter has cancelled this */
#define LA_AEC_ESTIMATE_EVERY 25 /* frames between delay estimates */
#define LA_AEC_WINDOW_BLOCKS 500 /* 1 s of 2 ms envelope blocks */

static int32_t la_pow2_at_least(int32_t n) {
    int32_t p = 1;
    while (p < n) {
        p *= 2;
    }
    return p;
}

la_status la_aec_init(la_aec *aec, int32_t sample_rate_hz, int32_t num_channels, int32_t tail_ms) {
    if (aec == NULL) {
        return LA_ERR_NULL_POINTER;
    }
    if (sample_rate_hz % 100 != 0 || sample_rate_hz > LA_BAND_RATE || sample_rate_hz < 8000) {
        return LA_ERR_INVALID_RATE;
    }
    if (num_channels < 1 || num_channels > LA_APM_MAX_CHANNELS) {
        return LA_ERR_INVALID_CHANNELS;
    }
    if (tail_ms < 50 || tail_ms > 10 * LA_AEC_MAX_PARTITIONS) {
        return LA_ERR_INVALID_ARGUMENT;
    }
    aec->rate = sample_rate_hz;
    aec->hop = sample_rate_hz / 100;
    aec->nfft = la_pow2_at_least(2 * aec->hop);
    aec->bins = aec->nfft / 2 + 1;
    aec->bin_hz = (float)sample_rate_hz / (float)aec->nfft;
    aec->partitions = (tail_ms + 9) / 10;
    aec->num_channels = num_channels;
    aec->env_block = sample_rate_hz * LA_AEC_ENV_BLOCK_MS / 1000;
    aec->ring_len = 2 * (int64_t)sample_rate_hz + 2 * aec->nfft; /* 2 s of render history */
    aec->bulk_delay = 0;
    aec->use_avx2 = la_cpu_has_avx2_fma();
    la_status rc = la_fft_init(&aec->fft, aec->nfft, aec->fft_work,
                               sizeof(aec->fft_work) / sizeof(aec->fft_work[0]));
    if (rc != LA_OK) {
        return rc;
    }
    la_aec_reset(aec);
    return LA_OK;
}

static void la_aec_clear_filters(la_aec *aec) {
    memset(aec->wb_re, 0, sizeof(aec->wb_re));
    memset(aec->wb_im, 0, sizeof(aec->wb_im));
    memset(aec->wf_re, 0, sizeof(aec->wf_re));
    memset(aec->wf_im, 0, sizeof(aec->wf_im));
    for (int32_t c = 0; c < LA_APM_MAX_CHANNELS; ++c) {
        aec->leak_ey[c] = 0.0f;
        aec->leak_yy[c] = 0.0f;
        aec->leakage[c] = 0.5f;
        aec->leak_gey[c] = 0.0f;
        aec->leak_gyy[c] = 0.0f;
        memset(aec->leak_pe_avg[c], 0, sizeof(aec->leak_pe_avg[c]));
        memset(aec->leak_py_avg[c], 0, sizeof(aec->leak_py_avg[c]));
        aec->better_frames[c] = 0;
        aec->worse_frames[c] = 0;
        aec->lost_frames[c] = 0;
        aec->sum_adapt[c] = 0.0f;
        aec->adapted[c] = 0;
    }
    memset(aec->dtd_dd, 0, sizeof(aec->dtd_dd));
    memset(aec->dtd_yy, 0, sizeof(aec->dtd_yy));
    memset(aec->dtd_yd_re, 0, sizeof(aec->dtd_yd_re));
    memset(aec->dtd_yd_im, 0, sizeof(aec->dtd_yd_im));
    aec->dtd_hang = 0;
    aec->near_active = 0;
    aec->since_near = 1000;
    aec->converged = 0;
    aec->dtd_share = 0.0f;
    aec->dtd_ee = 0.0f;
    aec->ever_converged = 0;
    for (int32_t f = 0; f < LA_AEC_MAX_BINS; ++f) {
        aec->render_tail[f] = 0.0f;
        aec->path_gain[f] = LA_AEC_PATH_GAIN_START;
        aec->res_ratio[f] = 0.0f;
    }
}

void la_aec_reset(la_aec *aec) {
    int64_t delay = aec->bulk_delay;
    memset(aec->ring, 0, sizeof(aec->ring));
    memset(aec->x_re, 0, sizeof(aec->x_re));
    memset(aec->x_im, 0, sizeof(aec->x_im));
    memset(aec->x_power, 0, sizeof(aec->x_power));
    memset(aec->render_env, 0, sizeof(aec->render_env));
    memset(aec->capture_env, 0, sizeof(aec->capture_env));
    la_aec_clear_filters(aec);
    aec->render_written = 0;
    aec->capture_done = 0;
    aec->bulk_delay = delay;
    aec->head = 0;
    aec->constrain_next = 0;
    aec->render_env_count = aec->capture_env_count = 0;
    aec->render_env_acc = aec->capture_env_acc = 0.0f;
    aec->render_env_fill = aec->capture_env_fill = 0;
    aec->frames_since_estimate = 0;
    aec->delay_votes = 0;
    aec->delay_candidate = -1;
    aec->erle_db = 0.0f;
    aec->echo_power = aec->residual_power = 0.0f;
    aec->echo_delay_ms = -1.0f;
    aec->render_overruns = aec->render_underruns = 0;
    aec->delay_changes = aec->divergences = 0;
}

static void la_aec_move_bulk_delay(la_aec *aec, int64_t target);

/* The filter sees the echo onset this far into its first partitions. */
static int64_t la_aec_margin(const la_aec *aec) { return 2 * (int64_t)aec->hop; }

void la_aec_set_delay_hint(la_aec *aec, int64_t delay_samples) {
    la_aec_move_bulk_delay(aec, delay_samples - la_aec_margin(aec));
}

static float la_env_value(float mean_square) { return log10f(mean_square + 1.0f); }

void la_aec_push_render(la_aec *aec, const float *mono, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        float v = mono[i];
        aec->ring[aec->render_written % aec->ring_len] = v;
        aec->render_written++;
        aec->render_env_acc += v * v;
        if (++aec->render_env_fill == aec->env_block) {
            aec->render_env[aec->render_env_count % LA_AEC_ENV_LEN] =
                la_env_value(aec->render_env_acc / (float)aec->env_block);
            aec->render_env_count++;
            aec->render_env_acc = 0.0f;
            aec->render_env_fill = 0;
        }
    }
}

/* Render sample `index` (absolute), or 0 if it is not (or no longer) in the buffer. */
static inline float la_aec_render_at(const la_aec *aec, int64_t index) {
    if (index < 0 || index >= aec->render_written || index < aec->render_written - aec->ring_len) {
        return 0.0f;
    }
    return aec->ring[index % aec->ring_len];
}

static void la_aec_capture_envelope(la_aec *aec, const float *x) {
    for (int32_t i = 0; i < aec->hop; ++i) {
        aec->capture_env_acc += x[i] * x[i];
        if (++aec->capture_env_fill == aec->env_block) {
            aec->capture_env[aec->capture_env_count % LA_AEC_ENV_LEN] =
                la_env_value(aec->capture_env_acc / (float)aec->env_block);
            aec->capture_env_count++;
            aec->capture_env_acc = 0.0f;
            aec->capture_env_fill = 0;
        }
    }
}

/* Moves the bulk delay by whole blocks and shifts the filters' partitions to match, so what
 * has been learnt about the echo path is kept (partitions shifted out are dropped, new ones
 * start at zero). The render spectra history is re-aligned by clearing it. */
static void la_aec_move_bulk_delay(la_aec *aec, int64_t target) {
    target = target > 0 ? target : 0;
    const int64_t hop = aec->hop;
    int64_t blocks = (target - aec->bulk_delay) / hop; /* towards the current delay */
    if (blocks == 0) {
        return;
    }
    aec->bulk_delay += blocks * hop;
    const int32_t p = aec->partitions;
    const size_t row = sizeof(float) * LA_AEC_MAX_BINS;
    for (int32_t c = 0; c < aec->num_channels; ++c) {
        float(*arrays[4])[LA_AEC_MAX_BINS] = {aec->wb_re[c], aec->wb_im[c], aec->wf_re[c],
                                               aec->wf_im[c]};
        for (int a = 0; a < 4; ++a) {
            float(*w)[LA_AEC_MAX_BINS] = arrays[a];
            if (blocks > 0) { /* echo arrives later than thought: taps move to earlier partitions */
                for (int32_t k = 0; k < p; ++k) {
                    if (k + blocks < p) {
                        memcpy(w[k], w[k + blocks], row);
                    } else {
                        memset(w[k], 0, row);
                    }
                }
            } else {
                for (int32_t k = p - 1; k >= 0; --k) {
                    if (k + blocks >= 0) {
                        memcpy(w[k], w[k + blocks], row);
                    } else {
                        memset(w[k], 0, row);
                    }
                }
            }
        }
    }
    memset(aec->x_re, 0, sizeof(aec->x_re));
    memset(aec->x_im, 0, sizeof(aec->x_im));
    memset(aec->x_power, 0, sizeof(aec->x_power));
    aec->converged = 0;
    for (int32_t c = 0; c < aec->num_channels; ++c) { /* learn at the fixed rate again */
        aec->adapted[c] = 0;
        aec->sum_adapt[c] = 0.0f;
    }
}

/* Cross-correlates the envelopes; moves the bulk delay when a new lag wins twice. */
static void la_aec_estimate_delay(la_aec *aec) {
    const int64_t w = LA_AEC_WINDOW_BLOCKS;
    if (aec->dtd_share > 0.1f) { /* the near end talked in the window: its envelope misleads */
        aec->delay_votes = 0;
        return;
    }
    const int64_t max_lag = LA_AEC_MAX_DELAY_MS / LA_AEC_ENV_BLOCK_MS;
    const int64_t end = aec->capture_env_count; /* blocks [end - w, end) of the capture */
    if (end < w + 10 || aec->render_env_count < end - max_lag) {
        return;
    }
    /* The windows, unwrapped from the rings into contiguous scratch so the sums below run in
     * eight lanes (vectorised; the scalar ring walk was a cost spike every 25th frame). */
    float cap[LA_AEC_WINDOW_BLOCKS];
    float ren[LA_AEC_WINDOW_BLOCKS + LA_AEC_MAX_DELAY_MS / LA_AEC_ENV_BLOCK_MS];
    for (int64_t j = 0; j < w; ++j) {
        cap[j] = aec->capture_env[(end - w + j) % LA_AEC_ENV_LEN];
    }
    const float cap_mean = la_sum8(cap, w) / (float)w;
    for (int64_t j = 0; j < w; ++j) {
        cap[j] -= cap_mean;
    }
    const float cap_var = la_sum_squares(cap, (int32_t)w);
    if (cap_var < 1e-3f * (float)w) { /* a flat capture envelope (silence) matches no lag */
        aec->delay_votes = 0;
        return;
    }
    const int64_t ren_start = end - w - max_lag; /* ren[t] is render block ren_start + t */
    for (int64_t t = 0; t < w + max_lag; ++t) {
        int64_t j = ren_start + t;
        ren[t] = j >= 0 ? aec->render_env[j % LA_AEC_ENV_LEN] : 0.0f;
    }
    float best = 0.0f;
    int64_t best_lag = -1;
    for (int64_t lag = 0; lag <= max_lag; ++lag) {
        int64_t first = end - w - lag;
        if (first < 0 || end - lag > aec->render_env_count ||
            aec->render_env_count - first > LA_AEC_ENV_LEN) {
            continue;
        }
        const float *restrict r = ren + (first - ren_start);
        float ren_mean = la_sum8(r, w) / (float)w;
        float acc_cross[8] = {0.0f}, acc_var[8] = {0.0f};
        int64_t j = 0;
        for (; j + 8 <= w; j += 8) {
            for (int32_t q = 0; q < 8; ++q) {
                float d = r[j + q] - ren_mean;
                acc_cross[q] += d * cap[j + q];
                acc_var[q] += d * d;
            }
        }
        for (; j < w; ++j) {
            float d = r[j] - ren_mean;
            acc_cross[0] += d * cap[j];
            acc_var[0] += d * d;
        }
        float cross = la_lanes8(acc_cross), ren_var = la_lanes8(acc_var);
        if (ren_var < 1e-3f * (float)w) {
            continue;
        }
        float rho = cross / sqrtf(ren_var * cap_var);
        if (rho > best) {
            best = rho;
            best_lag = lag;
        }
    }
    if (best_lag < 0 || best < 0.4f) {
        aec->delay_votes = 0;
        return;
    }
    int64_t delay = best_lag * aec->env_block;
    int64_t current = aec->bulk_delay + la_aec_margin(aec);
    int64_t off = delay - current;
    if (off < 0) {
        off = -off;
    }
    /* the filter covers the echo anyway while it is within its first partitions */
    int within = delay >= aec->bulk_delay && delay <= aec->bulk_delay + 4 * (int64_t)aec->hop;
    if (within) {
        aec->delay_votes = 0;
        return;
    }
    if (aec->delay_candidate >= 0 && llabs(delay - aec->delay_candidate) <= aec->env_block) {
        aec->delay_votes++;
    } else {
        aec->delay_candidate = delay;
        aec->delay_votes = 1;
    }
    if (aec->delay_votes >= 2 && off > aec->hop) {
        la_aec_move_bulk_delay(aec, delay - la_aec_margin(aec));
        aec->delay_changes++;
        aec->delay_votes = 0;
    }
}

/* Strongest tap of the foreground filter (channel 0): the echo delay, in ms. */
static void la_aec_measure_delay(la_aec *aec) {
    const int32_t ab = aec->bins;
    int32_t best_k = -1;
    float best_e = 0.0f;
    for (int32_t k = 0; k < aec->partitions; ++k) {
        float e = 0.0f;
        for (int32_t f = 0; f < ab; ++f) {
            e += aec->wf_re[0][k][f] * aec->wf_re[0][k][f] + aec->wf_im[0][k][f] * aec->wf_im[0][k][f];
        }
        if (e > best_e) {
            best_e = e;
            best_k = k;
        }
    }
    if (best_k < 0 || best_e <= 0.0f) {
        return;
    }
    memset(aec->spec_re, 0, sizeof(float) * (size_t)aec->bins);
    memset(aec->spec_im, 0, sizeof(float) * (size_t)aec->bins);
    memcpy(aec->spec_re, aec->wf_re[0][best_k], sizeof(float) * (size_t)ab);
    memcpy(aec->spec_im, aec->wf_im[0][best_k], sizeof(float) * (size_t)ab);
    la_irfft(&aec->fft, aec->spec_re, aec->spec_im, aec->frame);
    int32_t tap = 0;
    float peak = 0.0f;
    for (int32_t i = 0; i < aec->hop; ++i) {
        float a = fabsf(aec->frame[i]);
        if (a > peak) {
            peak = a;
            tap = i;
        }
    }
    int64_t delay = aec->bulk_delay + (int64_t)best_k * aec->hop + tap;
    aec->echo_delay_ms = 1000.0f * (float)delay / (float)aec->rate;
}

/* Y = sum_k X_k W_k over the active bins, as a time-domain block (last hop of the IFFT).
 * Inlined into a portable and an AVX2 copy (same C, same bits). */
LA_INLINE void la_aec_filter_impl(la_aec *aec, const float (*w_re)[LA_AEC_MAX_BINS],
                                  const float (*w_im)[LA_AEC_MAX_BINS], float *y) {
    const int32_t ab = aec->bins;
    float *restrict yr = aec->spec_re;
    float *restrict yi = aec->spec_im;
    memset(yr, 0, sizeof(float) * (size_t)aec->bins);
    memset(yi, 0, sizeof(float) * (size_t)aec->bins);
    for (int32_t k = 0; k < aec->partitions; ++k) {
        int32_t slot = (aec->head - k + LA_AEC_MAX_PARTITIONS) % LA_AEC_MAX_PARTITIONS;
        const float *restrict xr = aec->x_re[slot];
        const float *restrict xi = aec->x_im[slot];
        const float *restrict wr = w_re[k];
        const float *restrict wi = w_im[k];
        for (int32_t f = 0; f < ab; ++f) {
            yr[f] += xr[f] * wr[f] - xi[f] * wi[f];
            yi[f] += xr[f] * wi[f] + xi[f] * wr[f];
        }
    }
    la_irfft(&aec->fft, yr, yi, aec->frame);
    memcpy(y, aec->frame + (aec->nfft - aec->hop), sizeof(float) * (size_t)aec->hop);
}

static void la_aec_filter_generic(la_aec *aec, const float (*w_re)[LA_AEC_MAX_BINS],
                                  const float (*w_im)[LA_AEC_MAX_BINS], float *y) {
    la_aec_filter_impl(aec, w_re, w_im, y);
}

#ifdef LA_HAVE_X86_DISPATCH
LA_TARGET_AVX2 static void la_aec_filter_avx2(la_aec *aec, const float (*w_re)[LA_AEC_MAX_BINS],
                                              const float (*w_im)[LA_AEC_MAX_BINS], float *y) {
    la_aec_filter_impl(aec, w_re, w_im, y);
}
#endif

static void la_aec_filter(la_aec *aec, const float (*w_re)[LA_AEC_MAX_BINS],
                          const float (*w_im)[LA_AEC_MAX_BINS], float *y) {
#ifdef LA_HAVE_X86_DISPATCH
    if (aec->use_avx2) {
        la_aec_filter_avx2(aec, w_re, w_im, y);
        return;
    }
#endif
    la_aec_filter_generic(aec, w_re, w_im, y);
}

/* Spectrum of a block placed at the end of an otherwise zero frame (overlap-save error). */
LA_INLINE void la_aec_block_spectrum(la_aec *aec, const float *block, float *re, float *im) {
    memset(aec->frame, 0, sizeof(float) * (size_t)(aec->nfft - aec->hop));
    memcpy(aec->frame + (aec->nfft - aec->hop), block, sizeof(float) * (size_t)aec->hop);
    la_rfft(&aec->fft, aec->frame, re, im);
}

/* Block energies of one channel, for the learning rate. */
typedef struct la_aec_block_energy {
    float sxx, see, syy; /* render, background error, its echo estimate */
} la_aec_block_energy;

/* One normalised step of the background filter of channel c; py is |Y|^2 of its echo
 * estimate (for the leakage regression). The step follows Valin (2007): mu = leakage x
 * |Y|^2 / |E|^2, the share of the error that is residual echo, so near-end speech (large
 * |E|^2, uncorrelated with |Y|^2) slows adaptation. Until the filter has taken a filter's
 * worth of steps (and again after the bulk delay moves) the rate is a fixed LA_AEC_MU_START,
 * as in Speex's MDF. */
LA_INLINE void la_aec_adapt_impl(la_aec *aec, int32_t c, const float *e, const float *py,
                                 const la_aec_block_energy *en) {
    const int32_t ab = aec->bins;
    la_aec_block_spectrum(aec, e, aec->e_re, aec->e_im);
    /* Leakage (Valin 2007, sec. III): the regression of the error power on the echo
     * estimate's power, over each bin's fluctuations about its own running mean in time.
     * (Deviations from the mean across bins let near-end speech - whose spectrum tilts like
     * the echo's - pass for echo and raised the step in double talk.) */
    float *restrict pe_avg = aec->leak_pe_avg[c];
    float *restrict py_avg = aec->leak_py_avg[c];
    float pe[LA_AEC_MAX_BINS];
    float ey = 0.0f, yy = 0.0f, mean_e = 0.0f, mean_y = 0.0f;
    for (int32_t f = 0; f < ab; ++f) {
        pe[f] = aec->e_re[f] * aec->e_re[f] + aec->e_im[f] * aec->e_im[f];
        pe_avg[f] += LA_AEC_LEAK_AVG * (pe[f] - pe_avg[f]);
        py_avg[f] += LA_AEC_LEAK_AVG * (py[f] - py_avg[f]);
        float de = pe[f] - pe_avg[f], dy = py[f] - py_avg[f];
        ey += de * dy;
        yy += dy * dy;
        mean_e += pe[f];
        mean_y += py[f];
    }
    const float beta = LA_AEC_LEAK_SMOOTH;
    aec->leak_ey[c] = (1.0f - beta) * aec->leak_ey[c] + beta * ey;
    aec->leak_yy[c] = (1.0f - beta) * aec->leak_yy[c] + beta * yy;
    float leak = aec->leak_yy[c] > 1e-9f ? aec->leak_ey[c] / aec->leak_yy[c] : 0.5f;
    leak = leak < 0.005f ? 0.005f : (leak > 1.0f ? 1.0f : leak);
    /* While the filter (re)converges - from the start, after a bulk delay move or an echo
     * path change, until it cancels LA_AEC_DTD_CONVERGED_DB - the per-bin regression is
     * biased low: each bin's error power falls and its estimate's power rises faster than
     * their running means follow, and the trends correlate negatively. Then the leakage is at
     * least the regression across the spectrum of one block's deviations from its mean
     * power (the form of the Speex MDF canceller, after Valin 2007), which needs no history;
     * the double-talk detector is off then anyway, and once the filter has converged the
     * per-bin estimate alone is used (wrong delay hint at 48 kHz: 20 dB ERLE in 3.18 ->
     * 1.50 s). */
    mean_e /= (float)ab;
    mean_y /= (float)ab;
    float gey = 0.0f, gyy = 0.0f;
    for (int32_t f = 0; f < ab; ++f) {
        float de = pe[f] - mean_e, dy = py[f] - mean_y;
        gey += de * dy;
        gyy += dy * dy;
    }
    const float gbeta = LA_AEC_LEAK_GLOBAL_SMOOTH;
    aec->leak_gey[c] = (1.0f - gbeta) * aec->leak_gey[c] + gbeta * gey;
    aec->leak_gyy[c] = (1.0f - gbeta) * aec->leak_gyy[c] + gbeta * gyy;
    if (!aec->converged) {
        float g = aec->leak_gyy[c] > 1e-9f ? aec->leak_gey[c] / aec->leak_gyy[c] : 0.5f;
        g = g < 0.005f ? 0.005f : (g > 1.0f ? 1.0f : g);
        leak = g > leak ? g : leak;
    }
    aec->leakage[c] = leak;
    if (aec->near_active) { /* double talk: the background keeps what it has */
        return;
    }
    float step[LA_AEC_MAX_BINS];
    /* regularised by -30 dB of the mean render power too: bins the render hardly reaches (a
     * band edge, a decimated 48 kHz stream's top) would otherwise take huge steps on noise */
    float mean_x = 0.0f;
    for (int32_t f = 0; f < ab; ++f) {
        mean_x += aec->x_power[f];
    }
    const float reg = 1e2f * (float)aec->partitions + LA_AEC_REG_REL * mean_x / (float)ab;
    if (aec->adapted[c]) {
        /* Valin's step, mu = leakage x echo estimate energy / error energy, over the block
         * (per-bin steps were noisier here), scaled by LA_AEC_VALIN_SCALE: our leakage
         * regression underestimates the residual, and a scale of 4 keeps single-talk
         * convergence at the fixed step's pace while double talk still slows it */
        float mu = LA_AEC_VALIN_SCALE * leak * en->syy / (en->see + 1.0f);
        mu = mu > LA_AEC_MU ? LA_AEC_MU : mu;
        for (int32_t f = 0; f < ab; ++f) {
            step[f] = mu / (aec->x_power[f] + reg);
        }
    } else {
        float rate = en->see > 0.0f ? LA_AEC_MU_START * en->sxx / en->see : LA_AEC_MU_START;
        rate = rate > LA_AEC_MU_START ? LA_AEC_MU_START : rate;
        aec->sum_adapt[c] += rate;
        if (aec->sum_adapt[c] > LA_AEC_ADAPTED_STEPS * (float)aec->partitions && leak > 0.03f) {
            aec->adapted[c] = 1;
        }
        for (int32_t f = 0; f < ab; ++f) {
            step[f] = rate / (aec->x_power[f] + reg);
        }
    }
    const int32_t constrain = aec->constrain_next;
    for (int32_t k = 0; k < aec->partitions; ++k) {
        int32_t slot = (aec->head - k + LA_AEC_MAX_PARTITIONS) % LA_AEC_MAX_PARTITIONS;
        const float *restrict xr = aec->x_re[slot];
        const float *restrict xi = aec->x_im[slot];
        float *restrict wr = aec->wb_re[c][k];
        float *restrict wi = aec->wb_im[c][k];
        const float *restrict er = aec->e_re;
        const float *restrict ei = aec->e_im;
        for (int32_t f = 0; f < ab; ++f) {
            /* conj(X) E */
            float gr = xr[f] * er[f] + xi[f] * ei[f];
            float gi = xr[f] * ei[f] - xi[f] * er[f];
            wr[f] += step[f] * gr;
            wi[f] += step[f] * gi;
        }
        if (k == constrain) {
            /* gradient constraint: keep the partition's impulse response to hop taps */
            memset(aec->spec_re, 0, sizeof(float) * (size_t)aec->bins);
            memset(aec->spec_im, 0, sizeof(float) * (size_t)aec->bins);
            memcpy(aec->spec_re, wr, sizeof(float) * (size_t)ab);
            memcpy(aec->spec_im, wi, sizeof(float) * (size_t)ab);
            la_irfft(&aec->fft, aec->spec_re, aec->spec_im, aec->frame);
            memset(aec->frame + aec->hop, 0, sizeof(float) * (size_t)(aec->nfft - aec->hop));
            la_rfft(&aec->fft, aec->frame, aec->spec_re, aec->spec_im);
            memcpy(wr, aec->spec_re, sizeof(float) * (size_t)ab);
            memcpy(wi, aec->spec_im, sizeof(float) * (size_t)ab);
        }
    }
}

/* The adaptation in a portable and an AVX2 copy of the same C (the per-bin loops 8 wide; the
 * sums stay in order, so both give the same bits). */
static void la_aec_adapt_generic(la_aec *aec, int32_t c, const float *e, const float *py,
                                 const la_aec_block_energy *en) {
    la_aec_adapt_impl(aec, c, e, py, en);
}

#ifdef LA_HAVE_X86_DISPATCH
LA_TARGET_AVX2 static void la_aec_adapt_avx2(la_aec *aec, int32_t c, const float *e,
                                             const float *py, const la_aec_block_energy *en) {
    la_aec_adapt_impl(aec, c, e, py, en);
}
#endif

static void la_aec_adapt(la_aec *aec, int32_t c, const float *e, const float *py,
                         const la_aec_block_energy *en) {
#ifdef LA_HAVE_X86_DISPATCH
    if (aec->use_avx2) {
        la_aec_adapt_avx2(aec, c, e, py, en);
        return;
    }
#endif
    la_aec_adapt_generic(aec, c, e, py, en);
}

static float la_energy(const float *x, int32_t n) { return la_sum_squares(x, n); }

/* The double-talk detector (see the top of the file), on channel 0: D in d_re/d_im, the
 * foreground error Ef in e_re/e_im, so Yf = D - Ef. */
static void la_aec_detect_double_talk(la_aec *aec) {
    const int32_t ab = aec->bins;
    const float a = LA_AEC_DTD_SMOOTH;
    float coh = 0.0f, dd = 0.0f, yy = 0.0f, ee = 0.0f;
    for (int32_t f = 1; f < ab - 1; ++f) {
        ee += aec->e_re[f] * aec->e_re[f] + aec->e_im[f] * aec->e_im[f];
    }
    aec->dtd_ee += a * (ee - aec->dtd_ee);
    for (int32_t f = 1; f < ab - 1; ++f) {
        float dr = aec->d_re[f], di = aec->d_im[f];
        float yr = dr - aec->e_re[f], yi = di - aec->e_im[f];
        aec->dtd_dd[f] += a * (dr * dr + di * di - aec->dtd_dd[f]);
        aec->dtd_yy[f] += a * (yr * yr + yi * yi - aec->dtd_yy[f]);
        aec->dtd_yd_re[f] += a * (yr * dr + yi * di - aec->dtd_yd_re[f]); /* conj(Y) D */
        aec->dtd_yd_im[f] += a * (yr * di - yi * dr - aec->dtd_yd_im[f]);
        float c2 = aec->dtd_yd_re[f] * aec->dtd_yd_re[f] + aec->dtd_yd_im[f] * aec->dtd_yd_im[f];
        coh += c2 / (aec->dtd_yy[f] + 1.0f);
        dd += aec->dtd_dd[f];
        yy += aec->dtd_yy[f];
    }
    /* the estimate must also be of the echo's size: an unconverged filter, small but of the
     * right shape, explains part of D coherently and would pass for double talk; and the
     * filter must be removing something (an error above the mic is a changed path) */
    int talk = coh < LA_AEC_DTD_MIC_SHARE * dd && coh > LA_AEC_DTD_EST_SHARE * yy &&
               yy > LA_AEC_DTD_EST_SHARE * coh && aec->converged && aec->dtd_ee < dd;
    int near = talk && aec->leakage[0] < LA_AEC_DTD_MAX_LEAK;
    if (near) {
        aec->dtd_hang = LA_AEC_DTD_HANG;
    } else if (aec->dtd_hang > 0) {
        aec->dtd_hang--;
    }
    aec->near_active = aec->dtd_hang > 0;
    /* the suppressor's view (la_ns via la_apm): the near end talks, whatever the leakage */
    aec->since_near = talk ? 0 : (aec->since_near < 1000 ? aec->since_near + 1 : 1000);
    aec->dtd_share += 0.02f * ((float)aec->near_active - aec->dtd_share);
}

/* Render-driven residual echo (after F. Kuech et al. / WebRTC AEC3's echo-path-gain model):
 * the linear error's power per bin is compared with the aligned render power and its decaying
 * tail; the smallest ratio seen while the far end talks (falling fast, rising slowly, so near-end
 * speech does not raise it) is the residual echo path gain, and gain x render power over the
 * error power is the share of the error that is echo. It covers what the linear filter misses:
 * the first seconds, loudspeaker non-linearity, tail beyond the filter. */
static void la_aec_update_residual(la_aec *aec, const float *e, int far_active, float echo_share) {
    const int32_t ab = aec->bins;
    la_aec_block_spectrum(aec, e, aec->e_re, aec->e_im);
    for (int32_t f = 0; f < ab; ++f) {
        float pe = aec->e_re[f] * aec->e_re[f] + aec->e_im[f] * aec->e_im[f] + 1.0f;
        float px = aec->render_tail[f] + 1.0f;
        if (far_active) {
            float r = pe / px;
            float g = aec->path_gain[f];
            /* falls at once towards a smaller ratio; rises only while the error looks like
             * echo (Valin's leakage says at least half of it is), so double talk is kept out */
            float up = echo_share >= LA_AEC_ECHO_SHARE ? LA_AEC_PATH_GAIN_UP : 0.0f;
            g += (r < g ? LA_AEC_PATH_GAIN_DOWN : up) * (r - g);
            aec->path_gain[f] = g;
        }
        float rho = aec->path_gain[f] * px / pe;
        rho = rho > 1.0f ? 1.0f : rho;
        aec->res_ratio[f] = aec->render_tail[f] > LA_AEC_SILENT_POWER ? rho : 0.0f;
    }
    if (far_active) {
        la_aec_detect_double_talk(aec);
    }
}

void la_aec_process(la_aec *aec, float *const *capture, float *const *echo) {
    const int32_t hop = aec->hop;
    const int32_t nfft = aec->nfft;
    const int32_t ab = aec->bins;
    la_aec_capture_envelope(aec, capture[0]);
    if (++aec->frames_since_estimate >= LA_AEC_ESTIMATE_EVERY) {
        aec->frames_since_estimate = 0;
        la_aec_estimate_delay(aec);
        la_aec_measure_delay(aec);
    }
    /* The render block aligned with this capture block, and the window before it. */
    const int64_t last = aec->capture_done + hop - 1 - aec->bulk_delay;
    if (last >= aec->render_written) {
        aec->render_underruns++;
    } else if (last - nfft + 1 < aec->render_written - aec->ring_len) {
        aec->render_overruns++;
    }
    for (int32_t i = 0; i < nfft; ++i) {
        aec->frame[i] = la_aec_render_at(aec, last - nfft + 1 + i);
    }
    float render_energy = la_energy(aec->frame + (nfft - hop), hop);
    aec->head = (aec->head + 1) % LA_AEC_MAX_PARTITIONS;
    int32_t oldest = (aec->head - aec->partitions + LA_AEC_MAX_PARTITIONS) % LA_AEC_MAX_PARTITIONS;
    la_rfft(&aec->fft, aec->frame, aec->spec_re, aec->spec_im);
    /* x_power tracks sum_k |X_k|^2: add the newest partition, drop the one leaving */
    for (int32_t f = 0; f < ab; ++f) {
        float old = aec->x_re[oldest][f] * aec->x_re[oldest][f] + aec->x_im[oldest][f] * aec->x_im[oldest][f];
        aec->x_re[aec->head][f] = aec->spec_re[f];
        aec->x_im[aec->head][f] = aec->spec_im[f];
        float add = aec->spec_re[f] * aec->spec_re[f] + aec->spec_im[f] * aec->spec_im[f];
        float p = aec->x_power[f] + add - old;
        aec->x_power[f] = p > 0.0f ? p : 0.0f;
        float tail = LA_AEC_TAIL_DECAY * aec->render_tail[f];
        aec->render_tail[f] = add > tail ? add : tail;
    }
    /* far end active: above -60 dBFS over the block */
    const int far_active = render_energy > (float)hop * 32768.0f * 32768.0f * 1e-6f;
    float echo_sum = 0.0f, residual_sum = 0.0f;
    float echo_share = 1.0f; /* channel 0: leakage x echo estimate energy / error energy */
    for (int32_t c = 0; c < aec->num_channels; ++c) {
        float *d = capture[c];
        float py[LA_AEC_MAX_BINS];
        float sdd = 0.0f, see = 0.0f;
        if (far_active) { /* the background only matters while it adapts */
            la_aec_filter(aec, (const float(*)[LA_AEC_MAX_BINS])aec->wb_re[c],
                          (const float(*)[LA_AEC_MAX_BINS])aec->wb_im[c], aec->yb);
            la_aec_block_spectrum(aec, aec->yb, aec->spec_re, aec->spec_im);
            for (int32_t f = 0; f < ab; ++f) { /* |Y|^2 of the echo-estimate block */
                py[f] = aec->spec_re[f] * aec->spec_re[f] + aec->spec_im[f] * aec->spec_im[f];
            }
            if (c == 0) { /* D = Eb + Yb after la_aec_adapt: keep Yb's spectrum */
                memcpy(aec->d_re, aec->spec_re, sizeof(float) * (size_t)ab);
                memcpy(aec->d_im, aec->spec_im, sizeof(float) * (size_t)ab);
            }
            for (int32_t i = 0; i < hop; ++i) {
                aec->eb[i] = d[i] - aec->yb[i];
            }
            see = la_energy(aec->eb, hop);
            sdd = la_energy(d, hop);
        }
        la_aec_filter(aec, (const float(*)[LA_AEC_MAX_BINS])aec->wf_re[c],
                      (const float(*)[LA_AEC_MAX_BINS])aec->wf_im[c], aec->yf);
        float sff = 0.0f;
        for (int32_t i = 0; i < hop; ++i) {
            float e = d[i] - aec->yf[i];
            sff += e * e;
        }
        if (far_active) {
            la_aec_block_energy en = {render_energy, see, la_energy(aec->yb, hop)};
            la_aec_adapt(aec, c, aec->eb, py, &en);
            if (c == 0) {
                for (int32_t f = 0; f < ab; ++f) {
                    aec->d_re[f] += aec->e_re[f];
                    aec->d_im[f] += aec->e_im[f];
                }
            }
            /* foreground/background: adopt a clearly better background; restore a diverged one */
            if (see < LA_AEC_COPY_RATIO * sff && see < sdd && !aec->near_active) {
                aec->better_frames[c]++;
            } else {
                aec->better_frames[c] = 0;
            }
            if (aec->better_frames[c] >= 3) {
                memcpy(aec->wf_re[c], aec->wb_re[c], sizeof(aec->wf_re[c]));
                memcpy(aec->wf_im[c], aec->wb_im[c], sizeof(aec->wf_im[c]));
                memcpy(aec->yf, aec->yb, sizeof(float) * (size_t)hop);
                sff = see;
                aec->better_frames[c] = 0;
            }
            if (see > 4.0f * sff + 1e3f * (float)hop && see > sdd) {
                aec->worse_frames[c]++;
            } else {
                aec->worse_frames[c] = 0;
            }
            if (aec->worse_frames[c] >= 5) {
                memcpy(aec->wb_re[c], aec->wf_re[c], sizeof(aec->wb_re[c]));
                memcpy(aec->wb_im[c], aec->wf_im[c], sizeof(aec->wb_im[c]));
                aec->divergences++;
                aec->worse_frames[c] = 0;
            }
            /* a foreground that adds more than it removes (error 3 dB above the microphone,
             * which double talk never causes) models a path that is gone: the echo path
             * changed, so learn at the fixed rate again (as after a bulk delay move) and
             * leave the detector off until the filter converges */
            if (sff > 2.0f * sdd + 1e3f * (float)hop) {
                aec->lost_frames[c]++;
            } else {
                aec->lost_frames[c] = 0;
            }
            if (aec->lost_frames[c] >= LA_AEC_LOST_BLOCKS) {
                aec->adapted[c] = 0;
                aec->sum_adapt[c] = 0.0f;
                aec->converged = 0;
                aec->lost_frames[c] = 0;
                /* what the detector took for a near talker in the blocks before was the
                 * path change (near-end speech never lifts the error above the mic): forget
                 * it, so the suppressor's path gain may rise at once (below) and its
                 * over-subtraction is not lowered for double talk (re-convergence to 20 dB
                 * 1.04 -> 0.58 s at 16 and 48 kHz) */
                if (c == 0) {
                    aec->since_near = 1000;
                }
            }
            echo_sum += sdd;
            residual_sum += sff;
        }
        if (c == 0) {
            float syy = la_energy(aec->yf, hop);
            echo_share = aec->leakage[0] * syy / (sff + 1.0f);
            /* a filter that once converged but removes less than 3 dB from the mic while no near end
             * has been detected for a second: the error is echo, whatever the (slow) leakage
             * says - the echo path changed, so the residual path gain may rise at once */
            if (far_active && aec->ever_converged && sff > LA_AEC_PC_KEEP * sdd &&
                aec->since_near > LA_AEC_PC_QUIET) {
                echo_share = 1.0f;
            }
        }
        for (int32_t i = 0; i < hop; ++i) {
            echo[c][i] = aec->yf[i];
            d[i] -= aec->yf[i];
        }
    }
    la_aec_update_residual(aec, capture[0], far_active, echo_share);
    if (far_active) {
        aec->constrain_next = (aec->constrain_next + 1) % aec->partitions;
        aec->echo_power = 0.95f * aec->echo_power + 0.05f * echo_sum;
        aec->residual_power = 0.95f * aec->residual_power + 0.05f * residual_sum;
        if (aec->residual_power > 0.0f && aec->echo_power > 0.0f) {
            aec->erle_db = 10.0f * log10f(aec->echo_power / aec->residual_power);
        }
        if (aec->erle_db > LA_AEC_DTD_CONVERGED_DB) { /* the detector needs a working filter */
            aec->converged = 1;
            aec->ever_converged = 1;
        }
    }
    aec->capture_done += hop;
}
