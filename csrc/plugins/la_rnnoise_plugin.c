/*
 * la_rnnoise_plugin.c - RNNoise as a livekit_audio filter plug-in (filter_plugin.h, ABI 1).
 *
 * RNNoise: J.-M. Valin, "A Hybrid DSP/Deep Learning Approach to Real-Time Full-Band Speech
 * Enhancement", IEEE MMSP 2018 (arXiv:1709.08243); library xiph/rnnoise (BSD-3-Clause),
 * here the librnnoise shipped by the PyPI package pyrnnoise (the "[rnnoise]" extra).
 *
 * The vendor functions and their signatures are those of xiph/rnnoise include/rnnoise.h
 * (v0.2): rnnoise_get_frame_size(void) -> int, rnnoise_create(RNNModel *) -> DenoiseState *
 * (NULL model: the built-in one), rnnoise_init(DenoiseState *, RNNModel *) -> int (0 on
 * success), rnnoise_process_frame(DenoiseState *, float *out, const float *in) -> float (the
 * voice probability) and rnnoise_destroy(DenoiseState *). They are resolved when an instance
 * is created (la_plugin_dl.h), so this library links against nothing of the vendor's.
 *
 * Engine facts (xiph/rnnoise v0.2 src/denoise.c) the shim relies on:
 * - 48 kHz mono, FRAME_SIZE = 480 samples (10 ms) per call; checked at create().
 * - Samples are int16-scaled floats (the library's demo feeds int16 values; its features
 *   take log10(1e-2 + band energy) on that scale), so full scale 1.0 here is 32768 there.
 * - Latency: rnnoise_process_frame() analyses the new frame with the previous one (a
 *   2 x FRAME_SIZE window), but synthesises the spectrum it analysed one call earlier
 *   (st->delayed_X, kept for its pitch filter) and overlap-adds it with half a window of
 *   memory (frame_synthesis): input sample n comes out 2 x FRAME_SIZE = 960 samples later
 *   (20 ms). tests/test_filter_adapters.py measures it on speech by cross-correlation.
 * - rnnoise_init() with a NULL model clears the state and points it at the built-in weights
 *   without allocating (rnnoise_create() is malloc + rnnoise_init), so reset() uses it.
 * - NaN, infinity or values far beyond int16 poison the recurrent state for good (measured:
 *   a 10 ms burst of NaN, inf or 1e30 leaves every later output NaN), so the input is
 *   clamped to the int16 range, NaN mapped to 0.
 */
#define _GNU_SOURCE /* RTLD_DEFAULT (la_plugin_dl.h) */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "la_plugin_dl.h"
#include "la_plugin_options.h"
#include "livekit_audio/filter_plugin.h"

#define RNN_RATE_HZ 48000u
#define RNN_FRAME 480u
#define RNN_LATENCY (2u * RNN_FRAME)
#define RNN_SCALE 32768.0f
#define RNN_PATH_MAX 4096u

/* The vendor's opaque types, by our own names. */
typedef struct rnn_state rnn_state;
typedef struct rnn_model rnn_model;

typedef int (*rnn_get_frame_size_fn)(void);
typedef rnn_state *(*rnn_create_fn)(rnn_model *model);
typedef int (*rnn_init_fn)(rnn_state *st, rnn_model *model);
typedef float (*rnn_process_frame_fn)(rnn_state *st, float *out, const float *in);
typedef void (*rnn_destroy_fn)(rnn_state *st);

enum { FN_GET_FRAME_SIZE, FN_CREATE, FN_INIT, FN_PROCESS_FRAME, FN_DESTROY, FN_COUNT };

static const char *const rnn_names[FN_COUNT] = {
    "rnnoise_get_frame_size", "rnnoise_create", "rnnoise_init", "rnnoise_process_frame",
    "rnnoise_destroy",
};

#define RNN_MISSING_HINT                                                                     \
    "RNNoise needs the optional extra: pip install 'livekit-audio[rnnoise]' (livekit_audio." \
    "filters.rnnoise() loads its librnnoise), or the \"library_path\" option"

struct la_filter_handle {
    rnn_init_fn init;
    rnn_process_frame_fn process_frame;
    rnn_destroy_fn destroy;
    void *library; /* loaded from library_path, else NULL */
    rnn_state *state;
    float in[RNN_FRAME];
    char error[LA_FILTER_ERROR_SIZE];
};

static const uint32_t rnn_rates[] = {RNN_RATE_HZ};

static int32_t rnn_create(uint32_t sample_rate_hz, uint32_t num_channels, const char *options_json,
                          la_filter_handle **filter, char *error, size_t error_size)
{
    if (filter == NULL) {
        la_plugin_error(error, error_size, "create() got filter = NULL");
        return LA_FILTER_ERR_INVALID_ARGUMENT;
    }
    *filter = NULL;
    if (sample_rate_hz != RNN_RATE_HZ) {
        la_plugin_error(error, error_size,
                        "runs at 48000 Hz only, got %u Hz (the host resamples other "
                        "rates)",
                        (unsigned)sample_rate_hz);
        return LA_FILTER_ERR_UNSUPPORTED_RATE;
    }
    if (num_channels != 1) {
        la_plugin_error(error, error_size,
                        "filters mono audio (1 channel), got %u channels (downmix, or "
                        "use one filter per channel)",
                        (unsigned)num_channels);
        return LA_FILTER_ERR_UNSUPPORTED_CHANNELS;
    }

    char library_path[RNN_PATH_MAX] = "";
    const la_opt_spec specs[] = {
        {.key = "library_path", .type = LA_OPT_STRING, .str = library_path,
         .str_size = sizeof library_path},
    };
    la_opt_status os = la_options_parse(options_json, specs, sizeof specs / sizeof specs[0],
                                        error, error_size);
    if (os != LA_OPT_OK) {
        return os == LA_OPT_ERR_ARGUMENT ? LA_FILTER_ERR_INVALID_ARGUMENT
                                         : LA_FILTER_ERR_BAD_OPTIONS;
    }

    la_dl_fn fns[FN_COUNT];
    void *library = NULL;
    if (la_dl_resolve(rnn_names, FN_COUNT, fns, library_path, "rnnoise.dll", &library,
                      RNN_MISSING_HINT, error, error_size) != (size_t)-1) {
        return LA_FILTER_ERR_DEPENDENCY;
    }
    int frame = ((rnn_get_frame_size_fn)fns[FN_GET_FRAME_SIZE])();
    if (frame != (int)RNN_FRAME) {
        la_plugin_error(error, error_size,
                        "the loaded librnnoise processes %d-sample frames; this plug-in "
                        "is built for RNNoise's %u (xiph/rnnoise 0.2)",
                        frame, RNN_FRAME);
        la_dl_close(library);
        return LA_FILTER_ERR_DEPENDENCY;
    }
    la_filter_handle *h = calloc(1, sizeof *h);
    if (h == NULL) {
        la_plugin_error(error, error_size, "out of memory");
        la_dl_close(library);
        return LA_FILTER_ERR_OUT_OF_MEMORY;
    }
    h->init = (rnn_init_fn)fns[FN_INIT];
    h->process_frame = (rnn_process_frame_fn)fns[FN_PROCESS_FRAME];
    h->destroy = (rnn_destroy_fn)fns[FN_DESTROY];
    h->library = library;
    h->state = ((rnn_create_fn)fns[FN_CREATE])(NULL);
    if (h->state == NULL) {
        la_plugin_error(error, error_size,
                        "rnnoise_create() failed (out of memory, or its built-in model "
                        "did not load)");
        la_dl_close(library);
        free(h);
        return LA_FILTER_ERR_OUT_OF_MEMORY;
    }
    *filter = h;
    return LA_FILTER_OK;
}

static uint32_t rnn_frame_size(const la_filter_handle *filter)
{
    (void)filter;
    return RNN_FRAME;
}

static uint32_t rnn_latency_samples(const la_filter_handle *filter)
{
    (void)filter;
    return RNN_LATENCY;
}

static int32_t rnn_process(la_filter_handle *filter, const float *in, float *out,
                           uint32_t samples_per_channel)
{
    if (filter == NULL) {
        return LA_FILTER_ERR_INVALID_ARGUMENT;
    }
    if (in == NULL || out == NULL) {
        la_plugin_error(filter->error, sizeof filter->error, "process() got a NULL buffer");
        return LA_FILTER_ERR_INVALID_ARGUMENT;
    }
    if (samples_per_channel != RNN_FRAME) {
        la_plugin_error(filter->error, sizeof filter->error,
                        "process() takes %u samples per channel, got %u", RNN_FRAME,
                        (unsigned)samples_per_channel);
        return LA_FILTER_ERR_INVALID_ARGUMENT;
    }
    /* To RNNoise's int16 scale, clamped to the int16 range (NaN fails both comparisons and
     * becomes 0; see the file comment). */
    for (uint32_t i = 0; i < RNN_FRAME; i++) {
        float x = in[i] * RNN_SCALE;
        x = x >= -32768.0f ? x : (x < -32768.0f ? -32768.0f : 0.0f);
        x = x <= 32767.0f ? x : 32767.0f;
        filter->in[i] = x;
    }
    (void)filter->process_frame(filter->state, out, filter->in);
    int finite = 1;
    for (uint32_t i = 0; i < RNN_FRAME; i++) {
        out[i] *= 1.0f / RNN_SCALE;
        finite &= isfinite(out[i]) != 0;
    }
    if (!finite) {
        /* Not seen with clamped input; should it happen, a poisoned state would stay so. */
        (void)filter->init(filter->state, NULL);
        la_plugin_error(filter->error, sizeof filter->error,
                        "the engine produced a non-finite sample; its state was reset");
        return LA_FILTER_ERR_PROCESSING;
    }
    filter->error[0] = '\0';
    return LA_FILTER_OK;
}

static int32_t rnn_reset(la_filter_handle *filter)
{
    if (filter == NULL) {
        return LA_FILTER_ERR_INVALID_ARGUMENT;
    }
    if (filter->init(filter->state, NULL) != 0) {
        la_plugin_error(filter->error, sizeof filter->error, "rnnoise_init() failed");
        return LA_FILTER_ERR_PROCESSING;
    }
    filter->error[0] = '\0';
    return LA_FILTER_OK;
}

static void rnn_destroy(la_filter_handle *filter)
{
    if (filter == NULL) {
        return;
    }
    filter->destroy(filter->state);
    la_dl_close(filter->library);
    free(filter);
}

static const char *rnn_last_error(const la_filter_handle *filter)
{
    return filter != NULL ? filter->error : "last_error() got filter = NULL";
}

static const la_filter_plugin rnn_plugin = {
    .abi_version = LA_FILTER_ABI_VERSION,
    .struct_size = (uint32_t)sizeof(la_filter_plugin),
    .name = "rnnoise",
    .description = "RNNoise (Valin 2018) through librnnoise, 48 kHz mono, 10 ms frames, 20 ms "
                   "latency",
    .sample_rates_hz = rnn_rates,
    .num_sample_rates = 1,
    .max_channels = 1,
    .create = rnn_create,
    .frame_size = rnn_frame_size,
    .latency_samples = rnn_latency_samples,
    .process = rnn_process,
    .reset = rnn_reset,
    .destroy = rnn_destroy,
    .last_error = rnn_last_error,
};

LA_FILTER_EXPORT const la_filter_plugin *la_filter_plugin_entry(void)
{
    return &rnn_plugin;
}
