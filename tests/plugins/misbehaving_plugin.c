/*
 * misbehaving_plugin.c - a filter plug-in for the loader's tests, built by
 * tests/test_audio_filter.py in several variants (-D flags), each breaking one rule:
 *
 *   (none)            pass-through at 48 kHz mono, 480-sample frames; misbehaves on request,
 *                     by options: {"fail_at": k} process() returns LA_FILTER_ERR_PROCESSING on
 *                     the k-th call (0-based), {"nan_at": k} writes a NaN instead,
 *                     {"crash_at": k} dereferences NULL, {"sleep_ms": t} sleeps in process(),
 *                     {"need_dependency": 1} resolves la_test_dependency_gain() from a library
 *                     loaded beforehand with RTLD_GLOBAL (an AudioFilter dependency), and
 *                     multiplies by it.
 *   -DBAD_ABI         reports ABI version 99
 *   -DNULL_PROCESS    leaves the table's process NULL
 *   -DBAD_RATES       lists its rates out of order
 *   -DNO_ENTRY        exports no entry point
 *   -DDEPENDENCY_LIB  is the dependency itself: exports la_test_dependency_gain() = 0.5
 *
 * Options are read with strstr/strtol: a test fixture, not an example (see
 * examples/filter_plugin/ for one).
 */
#define _POSIX_C_SOURCE 200809L
#include <livekit_audio/filter_plugin.h>

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef DEPENDENCY_LIB
LA_FILTER_EXPORT float la_test_dependency_gain(void) { return 0.5f; }
#else

struct la_filter_handle {
    long calls;
    long fail_at, nan_at, crash_at, sleep_ms;
    float gain;
    char error[LA_FILTER_ERROR_SIZE];
};

static long option(const char *json, const char *key) {
    char quoted[64];
    snprintf(quoted, sizeof(quoted), "\"%s\":", key);
    const char *at = strstr(json, quoted);
    return at == NULL ? -1 : strtol(at + strlen(quoted), NULL, 10);
}

#ifdef BAD_RATES
static const uint32_t RATES_HZ[] = {48000, 16000};
#else
static const uint32_t RATES_HZ[] = {48000};
#endif

static int32_t mb_create(uint32_t rate, uint32_t channels, const char *json,
                         la_filter_handle **filter, char *error, size_t error_size) {
    *filter = NULL;
    if (rate != 48000) {
        snprintf(error, error_size, "only 48000 Hz, got %u", (unsigned)rate);
        return LA_FILTER_ERR_UNSUPPORTED_RATE;
    }
    if (channels != 1) {
        snprintf(error, error_size, "mono only, got %u channels", (unsigned)channels);
        return LA_FILTER_ERR_UNSUPPORTED_CHANNELS;
    }
    float gain = 1.0f;
    if (option(json, "need_dependency") == 1) {
        float (*dep)(void) = (float (*)(void))dlsym(RTLD_DEFAULT, "la_test_dependency_gain");
        if (dep == NULL) {
            snprintf(error, error_size, "la_test_dependency_gain not found: load the dependency");
            return LA_FILTER_ERR_DEPENDENCY;
        }
        gain = dep();
    }
    la_filter_handle *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        return LA_FILTER_ERR_OUT_OF_MEMORY;
    }
    h->fail_at = option(json, "fail_at");
    h->nan_at = option(json, "nan_at");
    h->crash_at = option(json, "crash_at");
    h->sleep_ms = option(json, "sleep_ms");
    h->gain = gain;
    *filter = h;
    return LA_FILTER_OK;
}

static uint32_t mb_frame_size(const la_filter_handle *h) {
    (void)h;
    return 480;
}

static uint32_t mb_latency(const la_filter_handle *h) {
    (void)h;
    return 0;
}

static int32_t mb_process(la_filter_handle *h, const float *in, float *out, uint32_t n) {
    long call = h->calls++;
    if (h->sleep_ms > 0) {
        struct timespec ts = {h->sleep_ms / 1000, (h->sleep_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (call == h->crash_at) {
        volatile int *nowhere = NULL;
        *nowhere = 1;
    }
    if (call == h->fail_at) {
        snprintf(h->error, sizeof(h->error), "engine failed on call %ld", call);
        return LA_FILTER_ERR_PROCESSING;
    }
    for (uint32_t i = 0; i < n; i++) {
        out[i] = in[i] * h->gain;
    }
    if (call == h->nan_at) {
        out[n / 2] = NAN;
    }
    return LA_FILTER_OK;
}

static int32_t mb_reset(la_filter_handle *h) {
    h->calls = 0;
    return LA_FILTER_OK;
}

static void mb_destroy(la_filter_handle *h) { free(h); }

static const char *mb_last_error(const la_filter_handle *h) { return h->error; }

static const la_filter_plugin PLUGIN = {
#ifdef BAD_ABI
    .abi_version = 99,
#else
    .abi_version = LA_FILTER_ABI_VERSION,
#endif
    .struct_size = sizeof(la_filter_plugin),
    .name = "misbehaving",
    .description = "test fixture",
    .sample_rates_hz = RATES_HZ,
    .num_sample_rates = sizeof(RATES_HZ) / sizeof(RATES_HZ[0]),
    .max_channels = 1,
    .create = mb_create,
    .frame_size = mb_frame_size,
    .latency_samples = mb_latency,
#ifdef NULL_PROCESS
    .process = NULL,
#else
    .process = mb_process,
#endif
    .reset = mb_reset,
    .destroy = mb_destroy,
    .last_error = mb_last_error,
};

#ifdef NO_ENTRY
LA_FILTER_EXPORT const la_filter_plugin *not_the_entry_point(void) { return &PLUGIN; }
#else
LA_FILTER_EXPORT const la_filter_plugin *la_filter_plugin_entry(void) { return &PLUGIN; }
#endif
#endif /* DEPENDENCY_LIB */
