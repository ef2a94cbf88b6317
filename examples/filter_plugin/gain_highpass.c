/*
 * gain_highpass.c - an example livekit_audio filter plug-in: a gain and an optional
 * first-order (one-pole) high-pass filter, per channel.
 *
 * Build (Linux/macOS):
 *     cc -O2 -shared -fPIC -fvisibility=hidden \
 *        -I"$(python -c 'import livekit_audio; print(livekit_audio.get_include())')" \
 *        gain_highpass.c -o libgain_highpass.so -lm
 * Load:
 *     f = livekit_audio.AudioFilter("gain_highpass", "./libgain_highpass.so")
 *     stream = livekit_audio.AudioStream(track, noise_cancellation=f.processor(gain_db=-6))
 *
 * Options (a flat JSON object; every key optional, unknown keys rejected):
 *     "gain_db"     : number in [-60, 20], default 0
 *     "highpass_hz" : number, 0 (off, the default) or in (0, sample_rate / 4]
 *
 * The high-pass is the bilinear-transform-free "RC" one-pole/one-zero section
 *     y[n] = a * (y[n-1] + x[n] - x[n-1]),   a = 1 / (1 + 2*pi*fc/fs)
 * (the discretised RC high-pass, e.g. J. O. Smith, "Introduction to Digital Filters",
 * DC-blocker section): a zero at DC, a pole at z = a, |H| = 1/sqrt(2) near fc for fc << fs.
 * Frames are 10 ms; latency 0 (the filter is causal and adds no delay beyond its phase).
 *
 * It is deliberately small: the option reader below understands only numbers, which is all
 * this plug-in needs. Everything a plug-in must do is here: validate, report errors as
 * status codes with text, never allocate in process(), keep output finite.
 */
#include <livekit_audio/filter_plugin.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHANNELS 8

struct la_filter_handle {
    uint32_t sample_rate_hz;
    uint32_t num_channels;
    uint32_t frame_size;
    float gain;            /* linear */
    int highpass;          /* 0 = off */
    float a;               /* the pole */
    float x1[MAX_CHANNELS];
    float y1[MAX_CHANNELS];
    char error[LA_FILTER_ERROR_SIZE];
};

static const uint32_t RATES_HZ[] = {8000, 16000, 24000, 32000, 44100, 48000};

/* Skips JSON whitespace. */
static const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
        p++;
    }
    return p;
}

/* Reads {"key": number, ...} with keys gain_db and highpass_hz. Returns 0 or writes an error. */
static int read_options(const char *json, double *gain_db, double *highpass_hz, char *error,
                        size_t error_size) {
    const char *p = skip_ws(json);
    if (*p != '{') {
        snprintf(error, error_size, "options must be a JSON object, got '%.20s'", p);
        return -1;
    }
    p = skip_ws(p + 1);
    if (*p == '}') {
        return 0;
    }
    for (;;) {
        char key[32];
        size_t len = 0;
        if (*p != '"') {
            snprintf(error, error_size, "expected a quoted key at '%.20s'", p);
            return -1;
        }
        p++;
        while (*p != '"' && *p != '\0' && len + 1 < sizeof(key)) {
            key[len++] = *p++;
        }
        key[len] = '\0';
        if (*p != '"') {
            snprintf(error, error_size, "option name too long or unterminated: '%s'", key);
            return -1;
        }
        p = skip_ws(p + 1);
        if (*p != ':') {
            snprintf(error, error_size, "expected ':' after \"%s\"", key);
            return -1;
        }
        p = skip_ws(p + 1);
        char *end = NULL;
        double value = strtod(p, &end);
        if (end == p || !isfinite(value)) {
            snprintf(error, error_size, "option \"%s\" must be a finite number, got '%.20s'",
                     key, p);
            return -1;
        }
        if (strcmp(key, "gain_db") == 0) {
            *gain_db = value;
        } else if (strcmp(key, "highpass_hz") == 0) {
            *highpass_hz = value;
        } else {
            snprintf(error, error_size,
                     "unknown option \"%s\" (this plug-in takes gain_db and highpass_hz)", key);
            return -1;
        }
        p = skip_ws(end);
        if (*p == '}') {
            return 0;
        }
        if (*p != ',') {
            snprintf(error, error_size, "expected ',' or '}' at '%.20s'", p);
            return -1;
        }
        p = skip_ws(p + 1);
    }
}

static int32_t gh_create(uint32_t sample_rate_hz, uint32_t num_channels,
                         const char *options_json, la_filter_handle **filter, char *error,
                         size_t error_size) {
    *filter = NULL;
    int rate_ok = 0;
    for (size_t i = 0; i < sizeof(RATES_HZ) / sizeof(RATES_HZ[0]); i++) {
        rate_ok |= RATES_HZ[i] == sample_rate_hz;
    }
    if (!rate_ok) {
        snprintf(error, error_size, "sample rate %u Hz not supported (8, 16, 24, 32, 44.1 or 48 kHz)",
                 (unsigned)sample_rate_hz);
        return LA_FILTER_ERR_UNSUPPORTED_RATE;
    }
    if (num_channels < 1 || num_channels > MAX_CHANNELS) {
        snprintf(error, error_size, "%u channels not supported (1 to %d)",
                 (unsigned)num_channels, MAX_CHANNELS);
        return LA_FILTER_ERR_UNSUPPORTED_CHANNELS;
    }
    double gain_db = 0.0;
    double highpass_hz = 0.0;
    if (read_options(options_json, &gain_db, &highpass_hz, error, error_size) != 0) {
        return LA_FILTER_ERR_BAD_OPTIONS;
    }
    if (gain_db < -60.0 || gain_db > 20.0) {
        snprintf(error, error_size, "gain_db must be in [-60, 20], got %g", gain_db);
        return LA_FILTER_ERR_BAD_OPTIONS;
    }
    if (highpass_hz < 0.0 || highpass_hz > sample_rate_hz / 4.0) {
        snprintf(error, error_size, "highpass_hz must be 0 (off) or in (0, %g], got %g",
                 sample_rate_hz / 4.0, highpass_hz);
        return LA_FILTER_ERR_BAD_OPTIONS;
    }
    la_filter_handle *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        snprintf(error, error_size, "out of memory");
        return LA_FILTER_ERR_OUT_OF_MEMORY;
    }
    h->sample_rate_hz = sample_rate_hz;
    h->num_channels = num_channels;
    h->frame_size = sample_rate_hz / 100;
    h->gain = (float)pow(10.0, gain_db / 20.0);
    h->highpass = highpass_hz > 0.0;
    h->a = (float)(1.0 / (1.0 + 2.0 * 3.14159265358979323846 * highpass_hz / sample_rate_hz));
    *filter = h;
    return LA_FILTER_OK;
}

static uint32_t gh_frame_size(const la_filter_handle *h) { return h->frame_size; }

static uint32_t gh_latency(const la_filter_handle *h) {
    (void)h;
    return 0;
}

static int32_t gh_process(la_filter_handle *h, const float *in, float *out, uint32_t n) {
    if (h == NULL || in == NULL || out == NULL) {
        return LA_FILTER_ERR_INVALID_ARGUMENT;
    }
    if (n != h->frame_size) {
        snprintf(h->error, sizeof(h->error), "expected %u samples per channel, got %u",
                 (unsigned)h->frame_size, (unsigned)n);
        return LA_FILTER_ERR_INVALID_ARGUMENT;
    }
    uint32_t ch = h->num_channels;
    for (uint32_t c = 0; c < ch; c++) {
        float x1 = h->x1[c];
        float y1 = h->y1[c];
        for (uint32_t i = 0; i < n; i++) {
            float x = in[i * ch + c];
            float y = x;
            if (h->highpass) {
                y = h->a * (y1 + x - x1);
                x1 = x;
                y1 = y;
            }
            out[i * ch + c] = y * h->gain;
        }
        h->x1[c] = x1;
        h->y1[c] = y1;
    }
    h->error[0] = '\0';
    return LA_FILTER_OK;
}

static int32_t gh_reset(la_filter_handle *h) {
    memset(h->x1, 0, sizeof(h->x1));
    memset(h->y1, 0, sizeof(h->y1));
    return LA_FILTER_OK;
}

static void gh_destroy(la_filter_handle *h) { free(h); }

static const char *gh_last_error(const la_filter_handle *h) { return h->error; }

static const la_filter_plugin PLUGIN = {
    .abi_version = LA_FILTER_ABI_VERSION,
    .struct_size = sizeof(la_filter_plugin),
    .name = "gain_highpass",
    .description = "example: gain and one-pole high-pass, 8-48 kHz, 1-8 channels",
    .sample_rates_hz = RATES_HZ,
    .num_sample_rates = sizeof(RATES_HZ) / sizeof(RATES_HZ[0]),
    .max_channels = MAX_CHANNELS,
    .create = gh_create,
    .frame_size = gh_frame_size,
    .latency_samples = gh_latency,
    .process = gh_process,
    .reset = gh_reset,
    .destroy = gh_destroy,
    .last_error = gh_last_error,
};

LA_FILTER_EXPORT const la_filter_plugin *la_filter_plugin_entry(void) { return &PLUGIN; }
