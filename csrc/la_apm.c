/*
 * la_apm.c - the audio processing module: 10 ms framing and the stage chain
 * HPF -> echo canceller -> noise suppressor (+ residual echo) -> AGC + limiter, in WebRTC
 * APM's order. At 32 and 48 kHz the echo canceller runs at 16 kHz on a band split (la_band.c).
 *
 * int16 interleaved frames are processed in place, 10 ms at a time, on planar float32 blocks;
 * output is rounded to nearest and saturated.
 */
#include <math.h>
#include <string.h>

#include "la_dsp.h"
#include "la_simd.h"

#define LA_HPF_CUTOFF_HZ 100.0

static float la_level_dbfs(double sum_squares, int64_t count) {
    if (count <= 0) {
        return -120.0f;
    }
    double p = sum_squares / (double)count / (32768.0 * 32768.0);
    return p > 1e-12 ? (float)(10.0 * log10(p)) : -120.0f;
}

const int32_t la_apm_native_rates_hz[LA_APM_NUM_NATIVE_RATES] = {8000, 16000, 32000, 48000};

static la_status la_apm_init_impl(la_apm *apm, const la_apm_config *config) {
    if (apm == NULL || config == NULL) {
        return LA_ERR_NULL_POINTER;
    }
    int32_t rate = config->sample_rate_hz;
    int native = 0;
    for (int i = 0; i < LA_APM_NUM_NATIVE_RATES; i++) {
        native |= rate == la_apm_native_rates_hz[i];
    }
    if (!native) {
        return LA_ERR_INVALID_RATE;
    }
    if (config->num_channels < 1 || config->num_channels > LA_APM_MAX_CHANNELS) {
        return LA_ERR_INVALID_CHANNELS;
    }
    memset(apm, 0, sizeof(*apm));
    apm->config = *config;
    apm->hop = rate / 100;
    la_status rc = la_hpf_design(&apm->hpf, (double)rate, LA_HPF_CUTOFF_HZ);
    if (rc == LA_OK && (config->noise_suppression || config->echo_cancellation)) {
        /* the spectral stage also suppresses residual echo, so it runs for either feature */
        rc = la_ns_init(&apm->ns, rate, config->num_channels, config->ns_floor_db);
        apm->ns.suppress_noise = config->noise_suppression;
    }
    if (rc == LA_OK && config->echo_cancellation) {
        int32_t aec_rate = rate;
        if (rate > LA_BAND_RATE) {
            apm->split = 1;
            rc = la_band_split_init(&apm->band, rate);
            aec_rate = LA_BAND_RATE;
        }
        if (rc == LA_OK) {
            rc = la_aec_init(&apm->aec, aec_rate, config->num_channels, config->aec_tail_ms);
        }
    }
    if (rc == LA_OK && config->auto_gain_control) {
        rc = la_agc_init(&apm->agc, rate, config->num_channels, config->agc_target_dbfs,
                         config->agc_max_gain_db, config->agc_max_noise_out_dbfs);
    }
    if (rc != LA_OK) {
        return rc;
    }
    la_apm_reset(apm);
    return LA_OK;
}

/* In the kernels' floating-point environment too: the windows, filter designs and constants
 * computed here then do not depend on the caller's rounding mode (a last-bit difference in
 * them could flip the echo canceller's detector decisions and change the output). */
la_status la_apm_init(la_apm *apm, const la_apm_config *config) {
    la_fpenv env = la_fpenv_enter();
    la_status rc = la_apm_init_impl(apm, config);
    la_fpenv_leave(env);
    return rc;
}

void la_apm_reset(la_apm *apm) {
    la_hpf_reset(&apm->hpf);
    if (apm->config.noise_suppression || apm->config.echo_cancellation) {
        la_ns_reset(&apm->ns);
    }
    if (apm->config.echo_cancellation) {
        la_aec_reset(&apm->aec);
    }
    memset(&apm->render_down, 0, sizeof(apm->render_down));
    memset(apm->capture_down, 0, sizeof(apm->capture_down));
    memset(apm->echo_up, 0, sizeof(apm->echo_up));
    memset(apm->capture_delay, 0, sizeof(apm->capture_delay));
    if (apm->config.auto_gain_control) {
        la_agc_reset(&apm->agc);
    }
    memset(&apm->stats, 0, sizeof(apm->stats));
    apm->stats.noise_floor_dbfs = -120.0f;
    apm->stats.input_level_dbfs = -120.0f;
    apm->stats.output_level_dbfs = -120.0f;
    apm->stats.render_level_dbfs = -120.0f;
    apm->stats.echo_delay_ms = -1.0f;
}

void la_apm_set_stream_delay_ms(la_apm *apm, int32_t delay_ms) {
    if (apm->config.echo_cancellation) {
        la_aec_set_delay_hint(&apm->aec, (int64_t)delay_ms * apm->aec.rate / 1000);
    }
}

int32_t la_apm_delay_samples(const la_apm *apm) {
    int32_t spectral = (apm->config.noise_suppression || apm->config.echo_cancellation) ? apm->hop : 0;
    return spectral + (apm->split ? 2 * apm->band.half : 0);
}

/* Blocks after the AEC's last double-talk detection that the suppressor treats as double talk. */
#define LA_RES_DT_HOLD 50

/* The echo canceller on one hop of planar capture: in place at 8/16 kHz; at 32/48 kHz on the
 * 16 kHz band, its estimate interpolated back and subtracted from the capture delayed by the
 * split's 2 half samples. Leaves the echo estimate in apm->echo. */
static void la_apm_cancel_echo(la_apm *apm, float *const *planar) {
    const int32_t nch = apm->config.num_channels;
    float *echo[LA_APM_MAX_CHANNELS];
    for (int32_t c = 0; c < nch; ++c) {
        echo[c] = apm->echo[c];
    }
    if (!apm->split) {
        la_aec_process(&apm->aec, planar, echo);
        return;
    }
    const int32_t hop = apm->hop;
    const int32_t low_hop = apm->aec.hop;
    const int32_t lag = 2 * apm->band.half;
    float *low[LA_APM_MAX_CHANNELS], *low_echo[LA_APM_MAX_CHANNELS];
    for (int32_t c = 0; c < nch; ++c) {
        low[c] = apm->low[c];
        low_echo[c] = apm->low_echo[c];
        la_band_decimate(&apm->band, &apm->capture_down[c], planar[c], hop, low[c]);
    }
    la_aec_process(&apm->aec, low, low_echo);
    for (int32_t c = 0; c < nch; ++c) {
        la_band_interpolate(&apm->band, &apm->echo_up[c], low_echo[c], low_hop, echo[c]);
        float *restrict line = apm->capture_delay[c]; /* lag past samples, then this hop */
        memcpy(line + lag, planar[c], sizeof(float) * (size_t)hop);
        float *restrict x = planar[c];
        for (int32_t i = 0; i < hop; ++i) {
            x[i] = line[i] - echo[c][i];
        }
        memmove(line, line + hop, sizeof(float) * (size_t)lag);
    }
}

static inline int16_t la_apm_to_s16(float v) {
    v = v < -32768.0f ? -32768.0f : v;
    v = v > 32767.0f ? 32767.0f : v;
    return (int16_t)lrintf(v);
}

static la_status la_apm_process_capture_impl(la_apm *apm, int16_t *data, int64_t n_frames) {
    if (apm == NULL || (data == NULL && n_frames > 0)) {
        return LA_ERR_NULL_POINTER;
    }
    const int32_t hop = apm->hop;
    const int32_t nch = apm->config.num_channels;
    if (n_frames < 0 || n_frames % hop != 0) {
        return LA_ERR_INVALID_ARGUMENT;
    }
    float *planar[LA_APM_MAX_CHANNELS];
    for (int32_t c = 0; c < nch; ++c) {
        planar[c] = apm->planar[c];
    }
    for (int64_t start = 0; start < n_frames; start += hop) {
        int16_t *block = data + start * nch;
        double in_sum = 0.0;
        for (int32_t c = 0; c < nch; ++c) {
            float *restrict p = planar[c];
            if (nch == 1) { /* contiguous: vectorises */
                for (int32_t i = 0; i < hop; ++i) {
                    p[i] = (float)block[i];
                }
            } else {
                for (int32_t i = 0; i < hop; ++i) {
                    p[i] = (float)block[i * nch + c];
                }
            }
            in_sum += (double)la_sum_squares(p, hop);
        }
        if (apm->config.high_pass_filter) {
            for (int32_t c = 0; c < nch; ++c) {
                la_hpf_process(&apm->hpf, c, planar[c], hop);
            }
        }
        float *echo[LA_APM_MAX_CHANNELS];
        if (apm->config.echo_cancellation) {
            for (int32_t c = 0; c < nch; ++c) {
                echo[c] = apm->echo[c];
            }
            la_apm_cancel_echo(apm, planar);
            apm->ns.res_leakage = apm->aec.leakage[0];
            apm->ns.res_ratio = apm->aec.res_ratio;
            apm->ns.res_double_talk = apm->aec.since_near < LA_RES_DT_HOLD;
            apm->ns.res_ratio_bin_hz = apm->aec.bin_hz;
        }
        if (apm->config.noise_suppression || apm->config.echo_cancellation) {
            la_ns_process(&apm->ns, planar, apm->config.echo_cancellation ? echo : NULL);
        }
        if (apm->config.auto_gain_control) {
            float hint = apm->config.noise_suppression ? apm->ns.speech_probability : -1.0f;
            la_agc_process(&apm->agc, planar, hint);
        }
        double out_sum = 0.0;
        for (int32_t c = 0; c < nch; ++c) {
            float *restrict p = planar[c];
            for (int32_t i = 0; i < hop; ++i) {
                p[i] = (float)la_apm_to_s16(p[i]); /* what is stored, for the level */
            }
            if (nch == 1) {
                for (int32_t i = 0; i < hop; ++i) {
                    block[i] = (int16_t)p[i];
                }
            } else {
                for (int32_t i = 0; i < hop; ++i) {
                    block[i * nch + c] = (int16_t)p[i];
                }
            }
            out_sum += (double)la_sum_squares(p, hop);
        }
        la_apm_stats *st = &apm->stats;
        st->input_level_dbfs = la_level_dbfs(in_sum, (int64_t)hop * nch);
        st->output_level_dbfs = la_level_dbfs(out_sum, (int64_t)hop * nch);
        st->frames_processed++;
        if (apm->config.noise_suppression) {
            st->speech_probability = apm->ns.speech_probability;
            st->noise_floor_dbfs = la_level_dbfs((double)apm->ns.noise_power, 1);
        } else if (apm->config.auto_gain_control) {
            st->speech_probability = apm->agc.is_speech ? 1.0f : 0.0f;
            st->noise_floor_dbfs = apm->agc.floor_db;
        }
        st->agc_gain_db = apm->config.auto_gain_control ? apm->agc.gain_db : 0.0f;
        if (apm->config.echo_cancellation) {
            const la_aec *a = &apm->aec;
            st->echo_delay_ms = a->echo_delay_ms;
            st->erle_db = a->erle_db;
            st->render_overruns = a->render_overruns;
            st->render_underruns = a->render_underruns;
            st->delay_changes = a->delay_changes;
            st->divergences = a->divergences;
            st->render_buffer_ms =
                1000.0f * (float)(a->render_written - a->capture_done) / (float)a->rate;
        }
    }
    return LA_OK;
}

/* In the kernels' floating-point environment (la_fpenv.c): no subnormal, caller's restored. */
la_status la_apm_process_capture(la_apm *apm, int16_t *data, int64_t n_frames) {
    la_fpenv env = la_fpenv_enter();
    la_status rc = la_apm_process_capture_impl(apm, data, n_frames);
    la_fpenv_leave(env);
    return rc;
}

/* Many modules' capture frames in one call: one floating-point bracket, no return to the
 * caller between streams. Every item is attempted; status[i] is item i's result. */
la_status la_apm_process_capture_batch(la_apm *const *apms, int16_t *const *data,
                                       const int64_t *n_frames, la_status *status, int64_t n) {
    if (n < 0 || (n > 0 && (apms == NULL || data == NULL || n_frames == NULL || status == NULL))) {
        return LA_ERR_NULL_POINTER;
    }
    la_status first = LA_OK;
    la_fpenv env = la_fpenv_enter();
    for (int64_t i = 0; i < n; i++) {
        status[i] = la_apm_process_capture_impl(apms[i], data[i], n_frames[i]);
        if (status[i] != LA_OK && first == LA_OK) {
            first = status[i];
        }
    }
    la_fpenv_leave(env);
    return first;
}

static la_status la_apm_process_render_impl(la_apm *apm, const int16_t *data, int64_t n_frames,
                                            int32_t num_channels) {
    if (apm == NULL || (data == NULL && n_frames > 0)) {
        return LA_ERR_NULL_POINTER;
    }
    if (num_channels < 1 || num_channels > LA_MAX_CHANNELS) {
        return LA_ERR_INVALID_CHANNELS;
    }
    if (n_frames < 0 || n_frames % apm->hop != 0) {
        return LA_ERR_INVALID_ARGUMENT;
    }
    if (n_frames == 0) {
        return LA_OK;
    }
    const int64_t n = n_frames * num_channels;
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        sum += (double)data[i] * (double)data[i];
    }
    apm->stats.render_level_dbfs = la_level_dbfs(sum, n);
    if (apm->config.echo_cancellation) {
        const int32_t hop = apm->hop;
        const float inv = 1.0f / (float)num_channels;
        for (int64_t start = 0; start < n_frames; start += hop) {
            const int16_t *block = data + start * num_channels;
            float *restrict mono = apm->render_mono;
            for (int32_t i = 0; i < hop; ++i) { /* down-mix */
                float v = 0.0f;
                for (int32_t c = 0; c < num_channels; ++c) {
                    v += (float)block[i * num_channels + c];
                }
                mono[i] = v * inv;
            }
            if (apm->split) {
                la_band_decimate(&apm->band, &apm->render_down, mono, hop, apm->low[0]);
                la_aec_push_render(&apm->aec, apm->low[0], apm->aec.hop);
            } else {
                la_aec_push_render(&apm->aec, mono, hop);
            }
        }
    }
    apm->stats.render_frames += n_frames / apm->hop;
    return LA_OK;
}

/* In the kernels' floating-point environment (la_fpenv.c): no subnormal, caller's restored. */
la_status la_apm_process_render(la_apm *apm, const int16_t *data, int64_t n_frames,
                                int32_t num_channels) {
    la_fpenv env = la_fpenv_enter();
    la_status rc = la_apm_process_render_impl(apm, data, n_frames, num_channels);
    la_fpenv_leave(env);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Inspection: subnormal floats held in the module's state.                                    */
/* ------------------------------------------------------------------------------------------ */

/* Classified by bit pattern (zero exponent, non-zero mantissa), so a caller running with
 * denormals-are-zero still sees them. */
static int64_t la_subnormals(const float *x, size_t n) {
    int64_t count = 0;
    for (size_t i = 0; i < n; ++i) {
        uint32_t bits;
        memcpy(&bits, &x[i], sizeof bits);
        count += (bits & 0x7F800000u) == 0 && (bits & 0x007FFFFFu) != 0;
    }
    return count;
}

/* Every float of `field`: a float, an array of floats of any rank, or an array of structs
 * made only of float arrays (the band-split histories). */
#define LA_SUBNORMALS(field) la_subnormals((const float *)&(field), sizeof(field) / (sizeof(float)))

/* The FFT's float work memory: twiddles and scratch (not the int32 bit-reversal table after
 * them, whose small integers would read as subnormal floats). */
static int64_t la_fft_subnormals(const la_fft *f) {
    return f->n == 0 ? 0 : la_subnormals(f->tw_re, (size_t)((const float *)f->bitrev - f->tw_re));
}

static int64_t la_hpf_subnormals(const la_hpf *h) {
    return LA_SUBNORMALS(h->s) + LA_SUBNORMALS(h->out_state) + LA_SUBNORMALS(h->out_input) +
           LA_SUBNORMALS(h->next_state) + LA_SUBNORMALS(h->next_input) + LA_SUBNORMALS(h->a) +
           LA_SUBNORMALS(h->b) + LA_SUBNORMALS(h->c) + LA_SUBNORMALS(h->d);
}

static int64_t la_ns_subnormals(const la_ns *ns) {
    return la_fft_subnormals(&ns->fft) + LA_SUBNORMALS(ns->window) +
           LA_SUBNORMALS(ns->analysis) + LA_SUBNORMALS(ns->overlap) +
           LA_SUBNORMALS(ns->spec_re) + LA_SUBNORMALS(ns->spec_im) + LA_SUBNORMALS(ns->frame) +
           LA_SUBNORMALS(ns->power) + LA_SUBNORMALS(ns->noise_psd) +
           LA_SUBNORMALS(ns->spp_smoothed) + LA_SUBNORMALS(ns->clean_snr_prev) +
           LA_SUBNORMALS(ns->gain) + LA_SUBNORMALS(ns->echo_analysis) +
           LA_SUBNORMALS(ns->echo_power) + LA_SUBNORMALS(ns->echo_re) +
           LA_SUBNORMALS(ns->echo_im) + LA_SUBNORMALS(ns->res_gain) +
           LA_SUBNORMALS(ns->res_leakage) + LA_SUBNORMALS(ns->res_ratio_bin_hz) +
           LA_SUBNORMALS(ns->gain_floor) +
           LA_SUBNORMALS(ns->speech_probability) + LA_SUBNORMALS(ns->noise_power) +
           LA_SUBNORMALS(ns->zeta) + LA_SUBNORMALS(ns->absence) +
           LA_SUBNORMALS(ns->zeta_frame_prev) + LA_SUBNORMALS(ns->zeta_peak) +
           LA_SUBNORMALS(ns->noise_median) + LA_SUBNORMALS(ns->noise_dip) +
           LA_SUBNORMALS(ns->band_peak) + LA_SUBNORMALS(ns->babble) +
           LA_SUBNORMALS(ns->peak_db) +
           LA_SUBNORMALS(ns->floor_db);
}

static int64_t la_agc_subnormals(const la_agc *g) {
    return LA_SUBNORMALS(g->target_dbfs) + LA_SUBNORMALS(g->max_gain_db) +
           LA_SUBNORMALS(g->max_noise_out_dbfs) + LA_SUBNORMALS(g->speech_level_db) +
           LA_SUBNORMALS(g->floor_db) + LA_SUBNORMALS(g->frame_level_db) +
           LA_SUBNORMALS(g->smoothed_power) + LA_SUBNORMALS(g->window_min) +
           LA_SUBNORMALS(g->current_min) + LA_SUBNORMALS(g->gain_db) +
           LA_SUBNORMALS(g->applied_gain) + LA_SUBNORMALS(g->limiter_gain);
}

static int64_t la_aec_subnormals(const la_aec *a) {
    return la_fft_subnormals(&a->fft) + LA_SUBNORMALS(a->ring) + LA_SUBNORMALS(a->x_re) +
           LA_SUBNORMALS(a->x_im) + LA_SUBNORMALS(a->x_power) + LA_SUBNORMALS(a->wb_re) +
           LA_SUBNORMALS(a->wb_im) + LA_SUBNORMALS(a->wf_re) + LA_SUBNORMALS(a->wf_im) +
           LA_SUBNORMALS(a->frame) + LA_SUBNORMALS(a->spec_re) + LA_SUBNORMALS(a->spec_im) +
           LA_SUBNORMALS(a->e_re) + LA_SUBNORMALS(a->e_im) + LA_SUBNORMALS(a->yb) +
           LA_SUBNORMALS(a->yf) + LA_SUBNORMALS(a->eb) + LA_SUBNORMALS(a->leak_ey) +
           LA_SUBNORMALS(a->leak_yy) + LA_SUBNORMALS(a->leakage) +
           LA_SUBNORMALS(a->leak_gey) + LA_SUBNORMALS(a->leak_gyy) +
           LA_SUBNORMALS(a->leak_pe_avg) + LA_SUBNORMALS(a->leak_py_avg) +
           LA_SUBNORMALS(a->d_re) + LA_SUBNORMALS(a->d_im) + LA_SUBNORMALS(a->dtd_dd) +
           LA_SUBNORMALS(a->dtd_yy) + LA_SUBNORMALS(a->dtd_yd_re) + LA_SUBNORMALS(a->dtd_yd_im) +
           LA_SUBNORMALS(a->dtd_share) + LA_SUBNORMALS(a->dtd_ee) +
           LA_SUBNORMALS(a->render_tail) + LA_SUBNORMALS(a->path_gain) +
           LA_SUBNORMALS(a->res_ratio) + LA_SUBNORMALS(a->bin_hz) +
           LA_SUBNORMALS(a->sum_adapt) + LA_SUBNORMALS(a->render_env) +
           LA_SUBNORMALS(a->capture_env) + LA_SUBNORMALS(a->render_env_acc) +
           LA_SUBNORMALS(a->capture_env_acc) + LA_SUBNORMALS(a->erle_db) +
           LA_SUBNORMALS(a->echo_power) + LA_SUBNORMALS(a->residual_power) +
           LA_SUBNORMALS(a->echo_delay_ms);
}

int64_t la_apm_subnormal_count(const la_apm *apm) {
    int64_t n = la_hpf_subnormals(&apm->hpf);
    if (apm->config.noise_suppression || apm->config.echo_cancellation) {
        n += la_ns_subnormals(&apm->ns);
    }
    if (apm->config.echo_cancellation) {
        n += la_aec_subnormals(&apm->aec);
    }
    if (apm->config.auto_gain_control) {
        n += la_agc_subnormals(&apm->agc);
    }
    return n + LA_SUBNORMALS(apm->echo) + LA_SUBNORMALS(apm->band.h) +
           LA_SUBNORMALS(apm->band.phase) + LA_SUBNORMALS(apm->render_down) +
           LA_SUBNORMALS(apm->capture_down) + LA_SUBNORMALS(apm->echo_up) +
           LA_SUBNORMALS(apm->capture_delay) + LA_SUBNORMALS(apm->low) +
           LA_SUBNORMALS(apm->low_echo) + LA_SUBNORMALS(apm->render_mono) +
           LA_SUBNORMALS(apm->planar);
}
