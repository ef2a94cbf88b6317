# The only `cdef extern` blocks for the filter plug-in ABI (livekit_audio/include/livekit_audio/
# filter_plugin.h) and its host side (csrc/la_filter_host.h). The table's function pointers are
# plug-in code: _filter.pyx calls process/reset without the GIL, create/destroy with it released
# too (they may load models), never from two threads on one handle.
from libc.stdint cimport int16_t, int32_t, uint32_t


cdef extern from "livekit_audio/filter_plugin.h" nogil:
    unsigned int LA_FILTER_ABI_VERSION
    const char *LA_FILTER_ENTRY_SYMBOL
    unsigned int LA_FILTER_ERROR_SIZE

    ctypedef enum la_filter_status:
        LA_FILTER_OK
        LA_FILTER_ERR_INVALID_ARGUMENT
        LA_FILTER_ERR_UNSUPPORTED_RATE
        LA_FILTER_ERR_UNSUPPORTED_CHANNELS
        LA_FILTER_ERR_BAD_OPTIONS
        LA_FILTER_ERR_OUT_OF_MEMORY
        LA_FILTER_ERR_DEPENDENCY
        LA_FILTER_ERR_PROCESSING

    ctypedef struct la_filter_handle:
        pass

    ctypedef struct la_filter_plugin:
        uint32_t abi_version
        uint32_t struct_size
        const char *name
        const char *description
        const uint32_t *sample_rates_hz
        uint32_t num_sample_rates
        uint32_t max_channels
        int32_t (*create)(uint32_t, uint32_t, const char *, la_filter_handle **, char *,
                          size_t) noexcept nogil
        uint32_t (*frame_size)(const la_filter_handle *) noexcept nogil
        uint32_t (*latency_samples)(const la_filter_handle *) noexcept nogil
        int32_t (*process)(la_filter_handle *, const float *, float *, uint32_t) noexcept nogil
        int32_t (*reset)(la_filter_handle *) noexcept nogil
        void (*destroy)(la_filter_handle *) noexcept nogil
        const char *(*last_error)(const la_filter_handle *) noexcept nogil

    ctypedef const la_filter_plugin *(*la_filter_plugin_entry_fn)() noexcept nogil


cdef extern from "la_filter_host.h" nogil:
    ctypedef enum la_host_status:
        LA_HOST_OK
        LA_HOST_ERR_NULL_TABLE
        LA_HOST_ERR_ABI_VERSION
        LA_HOST_ERR_STRUCT_SIZE
        LA_HOST_ERR_MISSING_FIELD
        LA_HOST_ERR_BAD_RATES
        LA_HOST_ERR_BAD_CHANNELS
        LA_HOST_ERR_PLUGIN
        LA_HOST_ERR_NON_FINITE
        LA_HOST_ERR_INVALID_ARGUMENT

    unsigned int LA_HOST_MAX_CHANNELS
    unsigned int LA_HOST_MAX_RATE_HZ

    la_host_status la_filter_check_table(const la_filter_plugin *table, const char **field)
    la_host_status la_filter_run_s16(const la_filter_plugin *table, la_filter_handle *filter,
                                     const int16_t *inp, int16_t *out, float *work_in,
                                     float *work_out, uint32_t samples_per_channel,
                                     uint32_t num_channels, int32_t *plugin_status)
    la_host_status la_filter_run_f32(const la_filter_plugin *table, la_filter_handle *filter,
                                     const float *inp, float *out, float *work_out,
                                     uint32_t samples_per_channel, uint32_t num_channels,
                                     int32_t *plugin_status)
    int la_all_finite(const float *x, size_t n)
