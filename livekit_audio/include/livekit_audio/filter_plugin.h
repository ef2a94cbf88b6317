/*
 * filter_plugin.h - the C ABI of livekit_audio's audio filter plug-ins (ABI version 1).
 *
 * A plug-in is a shared library that exports one function, la_filter_plugin_entry(), which
 * returns a pointer to a static, immutable la_filter_plugin table: what the filter accepts
 * (sample rates, channels) and the functions that create, run and destroy filter instances.
 * livekit_audio.AudioFilter(module_id, path) loads it; docs/filter-plugins.md is the guide.
 *
 * Plain C99: no Python, no livekit_audio headers. Every fallible call returns an
 * la_filter_status; nothing may abort the host process or write outside the buffers given.
 *
 * Samples are float32, interleaved (frame-major: s[i * num_channels + c]), full scale 1.0
 * (the host maps int16 by 1/32768). A plug-in whose engine wants another scale converts.
 */
#ifndef LIVEKIT_AUDIO_FILTER_PLUGIN_H
#define LIVEKIT_AUDIO_FILTER_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI this header describes. A host refuses a table with another abi_version. */
#define LA_FILTER_ABI_VERSION 1u

/* The name of the one exported entry point. */
#define LA_FILTER_ENTRY_SYMBOL "la_filter_plugin_entry"

/* Longest text create() writes into its error buffer, terminating NUL included. */
#define LA_FILTER_ERROR_SIZE 256u

#if defined(_WIN32)
#define LA_FILTER_EXPORT __declspec(dllexport)
#else
#define LA_FILTER_EXPORT __attribute__((visibility("default")))
#endif

/* Status codes (int32_t on the wire; new codes may be added in later ABI versions). */
typedef enum la_filter_status {
    LA_FILTER_OK = 0,
    LA_FILTER_ERR_INVALID_ARGUMENT = 1,    /* a NULL pointer, or samples_per_channel other than
                                              frame_size() */
    LA_FILTER_ERR_UNSUPPORTED_RATE = 2,    /* create(): a rate not in sample_rates_hz */
    LA_FILTER_ERR_UNSUPPORTED_CHANNELS = 3,/* create(): 0 or more than max_channels */
    LA_FILTER_ERR_BAD_OPTIONS = 4,         /* create(): options_json unparsable, or an option
                                              unknown, of the wrong type or out of range */
    LA_FILTER_ERR_OUT_OF_MEMORY = 5,       /* create(): an allocation failed */
    LA_FILTER_ERR_DEPENDENCY = 6,          /* create(): a vendor library, symbol or model file
                                              could not be found or loaded */
    LA_FILTER_ERR_PROCESSING = 7           /* process()/reset(): the engine failed */
} la_filter_status;

/* One filter instance; its layout is the plug-in's own. */
typedef struct la_filter_handle la_filter_handle;

/*
 * The plug-in's table. All pointers are non-NULL and stay valid while the library is loaded.
 *
 * Threading: the host calls a handle's functions from one thread at a time (not always the
 * same thread); different handles may run at once on different threads. The host calls
 * process() without holding Python's GIL, so it must not call into Python.
 *
 * Real time: process() should not allocate, lock or do I/O; create() and destroy() may, and
 * so may reset() when the engine has no cheaper way back to its initial state (the host
 * never calls reset() on a stream's processing path). The host calls process() with
 * flush-to-zero / denormals-are-zero and round-to-nearest set, and restores the caller's
 * floating-point control word afterwards.
 */
typedef struct la_filter_plugin {
    /* LA_FILTER_ABI_VERSION of the header the plug-in was built with. */
    uint32_t abi_version;
    /* sizeof(la_filter_plugin) as the plug-in saw it (later versions only append fields). */
    uint32_t struct_size;
    /* Short identifier, ASCII, e.g. "rnnoise". */
    const char *name;
    /* One line for people, e.g. "RNNoise 0.2 (Valin 2018), 48 kHz mono". */
    const char *description;
    /* The sample rates (Hz) create() accepts, ascending, num_sample_rates >= 1 of them. The
     * host resamples streams at other rates to the nearest rate at or above theirs. */
    const uint32_t *sample_rates_hz;
    uint32_t num_sample_rates;
    /* The most interleaved channels one instance processes (>= 1). */
    uint32_t max_channels;

    /* Creates an instance for sample_rate_hz and num_channels, configured by options_json, a
     * UTF-8 JSON object ("{}" for defaults; never NULL). On success stores the instance in
     * *filter and returns LA_FILTER_OK. On failure stores NULL, writes a NUL-terminated
     * message of at most error_size bytes (error_size >= LA_FILTER_ERROR_SIZE) into error,
     * and returns the status naming the cause. */
    int32_t (*create)(uint32_t sample_rate_hz, uint32_t num_channels, const char *options_json,
                      la_filter_handle **filter, char *error, size_t error_size);

    /* Samples per channel every process() call takes and gives (e.g. 480 for 10 ms at
     * 48 kHz). Fixed for the instance's life. */
    uint32_t (*frame_size)(const la_filter_handle *filter);

    /* Algorithmic latency in samples per channel: input sample n comes out as output sample
     * n + latency. The host reports it and removes it where output must line up. */
    uint32_t (*latency_samples)(const la_filter_handle *filter);

    /* Filters one frame: in and out each hold samples_per_channel * num_channels floats and
     * do not overlap. samples_per_channel must equal frame_size(). On LA_FILTER_OK, out holds
     * finite samples; on an error, the host discards out and last_error() says why. */
    int32_t (*process)(la_filter_handle *filter, const float *in, float *out,
                       uint32_t samples_per_channel);

    /* Returns the instance to its state just after create() (history cleared). May be as
     * slow as create(). On failure the instance keeps its previous state. */
    int32_t (*reset)(la_filter_handle *filter);

    /* Frees the instance. filter may be NULL (nothing happens). */
    void (*destroy)(la_filter_handle *filter);

    /* The last error of this instance as NUL-terminated text ("" if none). The pointer
     * stays valid until the next call on the same instance. */
    const char *(*last_error)(const la_filter_handle *filter);
} la_filter_plugin;

/* The entry point every plug-in exports. Returns the same table on every call. */
typedef const la_filter_plugin *(*la_filter_plugin_entry_fn)(void);
LA_FILTER_EXPORT const la_filter_plugin *la_filter_plugin_entry(void);

#ifdef __cplusplus
}
#endif

#endif /* LIVEKIT_AUDIO_FILTER_PLUGIN_H */
