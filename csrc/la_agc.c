/*
 * la_agc.c - adaptive digital gain toward a speech level target, with a look-ahead limiter.
 *
 * Level: frame power against a tracked noise floor (minimum following with a slow rise,
 * as in R. Martin, "Noise power spectral density estimation based on optimal smoothing and
 * minimum statistics", IEEE TSAP 9(5), 2001, reduced to one band) decides speech activity
 * with a 40 ms hangover. The speech level is the mean power of active frames (the active
 * speech level of ITU-T P.56, tracked with a 1 s time constant after the first second).
 *
 * Gain: target - speech level, clamped to [-max_gain_db, max_gain_db], slewed quickly toward
 * speech onsets and slowly otherwise. In pauses the gain is capped so the noise floor comes out
 * no louder than max_noise_out_dbfs (never below unity unless speech itself is attenuated): the
 * pause noise is not pumped up, as in WebRTC AGC2's noise-level cap.
 *
 * Limiter: ten sub-blocks per 10 ms frame; each sub-block boundary takes the smaller of the
 * gains its two neighbours need to stay below -1 dBFS, with a 20 dB/s release; the gain is
 * interpolated linearly between boundaries, so no sample exceeds the ceiling and output never
 * reaches full scale.
 */
#include <math.h>
#include <string.h>

#include "la_dsp.h"
#include "la_simd.h"

#define LA_FULL_SCALE 32768.0f
#define LA_LIMIT_CEILING 29204.65f /* -1 dBFS */
#define LA_SUBBLOCKS 10
#define LA_HANGOVER_FRAMES 4
#define LA_MAX_ATTEN_DB 30.0f

static float la_db_of_power(float mean_square) {
    float p = mean_square / (LA_FULL_SCALE * LA_FULL_SCALE);
    return p > 1e-12f ? 10.0f * log10f(p) : -120.0f;
}

la_status la_agc_init(la_agc *agc, int32_t sample_rate_hz, int32_t num_channels,
                      float target_dbfs, float max_gain_db, float max_noise_out_dbfs) {
    if (agc == NULL) {
        return LA_ERR_NULL_POINTER;
    }
    if (sample_rate_hz % 100 != 0 || sample_rate_hz / 100 > LA_APM_MAX_HOP ||
        (sample_rate_hz / 100) % LA_SUBBLOCKS != 0) {
        return LA_ERR_INVALID_RATE;
    }
    if (num_channels < 1 || num_channels > LA_APM_MAX_CHANNELS) {
        return LA_ERR_INVALID_CHANNELS;
    }
    if (!(target_dbfs < 0.0f && target_dbfs > -60.0f) || !(max_gain_db >= 0.0f && max_gain_db <= 60.0f) ||
        !(max_noise_out_dbfs < 0.0f && max_noise_out_dbfs > -120.0f)) {
        return LA_ERR_INVALID_ARGUMENT;
    }
    agc->target_dbfs = target_dbfs;
    agc->max_gain_db = max_gain_db;
    agc->max_noise_out_dbfs = max_noise_out_dbfs;
    agc->hop = sample_rate_hz / 100;
    agc->num_channels = num_channels;
    la_agc_reset(agc);
    return LA_OK;
}

void la_agc_reset(la_agc *agc) {
    for (int32_t w = 0; w < LA_AGC_FLOOR_WINDOWS; ++w) {
        agc->window_min[w] = 0.0f;
    }
    agc->current_min = 0.0f;
    agc->window_frames = 0;
    agc->window_index = 0;
    agc->smoothed_power = 0.0f;
    agc->speech_level_db = -120.0f;
    agc->floor_db = -120.0f;
    agc->frame_level_db = -120.0f;
    agc->gain_db = 0.0f;
    agc->applied_gain = 1.0f;
    agc->limiter_gain = 1.0f;
    agc->speech_frames = 0;
    agc->hangover = 0;
    agc->frames_seen = 0;
    agc->is_speech = 0;
}

static float la_clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* Noise floor: the minimum of the smoothed frame level over the last 1.6 s (8 windows of
 * 200 ms), so it follows a louder noise within 1.6 s and ignores speech peaks. Digital
 * silence (below -100 dBFS) is not noise and leaves the floor alone. */
static void la_agc_track_floor(la_agc *agc, float mean_square) {
    agc->smoothed_power = agc->frames_seen == 0
                              ? mean_square
                              : 0.7f * agc->smoothed_power + 0.3f * mean_square;
    float level = la_db_of_power(agc->smoothed_power);
    if (level < -100.0f) {
        return;
    }
    if (agc->window_frames == 0 || level < agc->current_min) {
        agc->current_min = level;
    }
    if (++agc->window_frames == 20) {
        agc->window_min[agc->window_index] = agc->current_min;
        agc->window_index = (agc->window_index + 1) % LA_AGC_FLOOR_WINDOWS;
        agc->window_frames = 0;
    }
    float floor = agc->current_min;
    for (int32_t w = 0; w < LA_AGC_FLOOR_WINDOWS; ++w) {
        /* unfilled windows hold 0 dB and never win */
        floor = agc->window_min[w] < floor ? agc->window_min[w] : floor;
    }
    agc->floor_db = floor;
}

/* Speech activity, noise floor and speech level from this frame's mean square. */
static void la_agc_analyse(la_agc *agc, float mean_square, float speech_hint) {
    float level = la_db_of_power(mean_square);
    agc->frame_level_db = level;
    la_agc_track_floor(agc, mean_square);
    agc->frames_seen++;
    int speech_now;
    if (speech_hint >= 0.0f) {
        speech_now = speech_hint > 0.25f && level > -70.0f;
    } else {
        speech_now = level > agc->floor_db + 10.0f && level > -70.0f;
    }
    agc->hangover = speech_now ? LA_HANGOVER_FRAMES : (agc->hangover > 0 ? agc->hangover - 1 : 0);
    agc->is_speech = speech_now || agc->hangover > 0;
    if (speech_now) {
        agc->speech_frames++;
        float w = agc->speech_frames < 100 ? 1.0f / (float)agc->speech_frames : 0.01f;
        float current = agc->speech_frames == 1
                            ? 0.0f
                            : powf(10.0f, agc->speech_level_db / 10.0f) * LA_FULL_SCALE * LA_FULL_SCALE;
        agc->speech_level_db = la_db_of_power(current + w * (mean_square - current));
    }
}

/* Moves gain_db toward the gain this frame calls for. */
static void la_agc_steer(la_agc *agc) {
    if (agc->speech_frames == 0) {
        return; /* no speech heard yet: unity */
    }
    float speech_gain =
        la_clampf(agc->target_dbfs - agc->speech_level_db, -LA_MAX_ATTEN_DB, agc->max_gain_db);
    float desired = speech_gain;
    if (!agc->is_speech) {
        float noise_cap = agc->max_noise_out_dbfs - agc->floor_db;
        float lowest = speech_gain < 0.0f ? speech_gain : 0.0f;
        desired = speech_gain < noise_cap ? speech_gain : noise_cap;
        desired = desired > lowest ? desired : lowest;
    }
    float delta = desired - agc->gain_db;
    float up = agc->is_speech ? 4.0f : 0.5f;   /* dB per 10 ms frame */
    float down = agc->is_speech ? 1.0f : 3.0f; /* pauses: back to the noise cap in ~40 ms */
    agc->gain_db += la_clampf(delta, -down, up);
}

void la_agc_process(la_agc *agc, float *const *x, float speech_hint) {
    const int32_t hop = agc->hop;
    const int32_t nch = agc->num_channels;
    double sum = 0.0;
    for (int32_t c = 0; c < nch; ++c) {
        sum += (double)la_sum_squares(x[c], hop);
    }
    la_agc_analyse(agc, (float)(sum / (double)(hop * nch)), speech_hint);
    la_agc_steer(agc);
    /* Gain ramp across the frame, then the limiter's per-sub-block ceiling. */
    const float g0 = agc->applied_gain;
    const float g1 = powf(10.0f, agc->gain_db / 20.0f);
    const float step = (g1 - g0) / (float)hop;
    for (int32_t c = 0; c < nch; ++c) {
        float *restrict y = x[c];
        for (int32_t i = 0; i < hop; ++i) {
            y[i] *= g0 + step * (float)(i + 1);
        }
    }
    agc->applied_gain = g1;
    const int32_t sub = hop / LA_SUBBLOCKS;
    float need[LA_SUBBLOCKS];
    for (int32_t b = 0; b < LA_SUBBLOCKS; ++b) {
        float peak = 0.0f;
        for (int32_t c = 0; c < nch; ++c) {
            for (int32_t i = b * sub; i < (b + 1) * sub; ++i) {
                float a = fabsf(x[c][i]);
                peak = a > peak ? a : peak;
            }
        }
        need[b] = peak > LA_LIMIT_CEILING ? LA_LIMIT_CEILING / peak : 1.0f;
    }
    const float release = 1.0023052f; /* +0.02 dB per 1 ms sub-block: 20 dB/s */
    float boundary[LA_SUBBLOCKS + 1];
    boundary[0] = agc->limiter_gain < need[0] ? agc->limiter_gain : need[0];
    for (int32_t b = 1; b <= LA_SUBBLOCKS; ++b) {
        float cap = need[b - 1];
        if (b < LA_SUBBLOCKS && need[b] < cap) {
            cap = need[b];
        }
        float rise = boundary[b - 1] * release;
        boundary[b] = rise < cap ? rise : cap;
    }
    agc->limiter_gain = boundary[LA_SUBBLOCKS];
    for (int32_t b = 0; b < LA_SUBBLOCKS; ++b) {
        const float a = boundary[b];
        const float d = (boundary[b + 1] - a) / (float)sub;
        if (a == 1.0f && d == 0.0f) {
            continue;
        }
        for (int32_t c = 0; c < nch; ++c) {
            float *restrict y = x[c] + b * sub;
            for (int32_t i = 0; i < sub; ++i) {
                float v = y[i] * (a + d * (float)(i + 1));
                y[i] = la_clampf(v, -LA_LIMIT_CEILING, LA_LIMIT_CEILING);
            }
        }
    }
}
