/*
 * la_filter_host.c - host side of the filter plug-in ABI (see la_filter_host.h).
 */
#include "la_filter_host.h"

#include <math.h>

#include "la_dsp.h" /* la_fpenv_enter/leave */

la_host_status la_filter_check_table(const la_filter_plugin *table, const char **field) {
    const char *missing = "";
    if (field != NULL) {
        *field = "";
    }
    if (table == NULL) {
        return LA_HOST_ERR_NULL_TABLE;
    }
    /* abi_version and struct_size are the first two fields of every ABI version's table, so
     * they can be read before anything else is known. */
    if (table->abi_version != LA_FILTER_ABI_VERSION) {
        return LA_HOST_ERR_ABI_VERSION;
    }
    if (table->struct_size < sizeof(la_filter_plugin)) {
        return LA_HOST_ERR_STRUCT_SIZE;
    }
    if (table->name == NULL) {
        missing = "name";
    } else if (table->description == NULL) {
        missing = "description";
    } else if (table->sample_rates_hz == NULL) {
        missing = "sample_rates_hz";
    } else if (table->create == NULL) {
        missing = "create";
    } else if (table->frame_size == NULL) {
        missing = "frame_size";
    } else if (table->latency_samples == NULL) {
        missing = "latency_samples";
    } else if (table->process == NULL) {
        missing = "process";
    } else if (table->reset == NULL) {
        missing = "reset";
    } else if (table->destroy == NULL) {
        missing = "destroy";
    } else if (table->last_error == NULL) {
        missing = "last_error";
    }
    if (missing[0] != '\0') {
        if (field != NULL) {
            *field = missing;
        }
        return LA_HOST_ERR_MISSING_FIELD;
    }
    if (table->num_sample_rates == 0 || table->num_sample_rates > LA_HOST_MAX_RATES) {
        return LA_HOST_ERR_BAD_RATES;
    }
    for (uint32_t i = 0; i < table->num_sample_rates; i++) {
        uint32_t rate = table->sample_rates_hz[i];
        if (rate == 0 || rate > LA_HOST_MAX_RATE_HZ ||
            (i > 0 && rate <= table->sample_rates_hz[i - 1])) {
            return LA_HOST_ERR_BAD_RATES;
        }
    }
    if (table->max_channels == 0 || table->max_channels > LA_HOST_MAX_CHANNELS) {
        return LA_HOST_ERR_BAD_CHANNELS;
    }
    return LA_HOST_OK;
}

int la_all_finite(const float *x, size_t n) {
    /* x - x is 0 for a finite x and NaN for NaN or infinity; the sum stays 0 only if every
     * sample is finite. One pass, no branch per sample, so it vectorises. */
    float acc = 0.0f;
    for (size_t i = 0; i < n; i++) {
        acc += x[i] - x[i];
    }
    return acc == 0.0f;
}

static la_host_status la_filter_call(const la_filter_plugin *table, la_filter_handle *filter,
                                     const float *in, float *out, uint32_t samples_per_channel,
                                     uint32_t num_channels, int32_t *plugin_status) {
    /* As every kernel of the package: FTZ/DAZ and round-to-nearest for the call (a plug-in
     * fed silence must not crawl through subnormals), the caller's control word back after. */
    la_fpenv saved = la_fpenv_enter();
    int32_t rc = table->process(filter, in, out, samples_per_channel);
    la_fpenv_leave(saved);
    if (plugin_status != NULL) {
        *plugin_status = rc;
    }
    if (rc != LA_FILTER_OK) {
        return LA_HOST_ERR_PLUGIN;
    }
    if (!la_all_finite(out, (size_t)samples_per_channel * num_channels)) {
        return LA_HOST_ERR_NON_FINITE;
    }
    return LA_HOST_OK;
}

la_host_status la_filter_run_s16(const la_filter_plugin *table, la_filter_handle *filter,
                                 const int16_t *in, int16_t *out, float *work_in,
                                 float *work_out, uint32_t samples_per_channel,
                                 uint32_t num_channels, int32_t *plugin_status) {
    if (plugin_status != NULL) {
        *plugin_status = LA_FILTER_OK;
    }
    if (table == NULL || filter == NULL || in == NULL || out == NULL || work_in == NULL ||
        work_out == NULL || samples_per_channel == 0 || num_channels == 0) {
        return LA_HOST_ERR_INVALID_ARGUMENT;
    }
    size_t n = (size_t)samples_per_channel * num_channels;
    for (size_t i = 0; i < n; i++) {
        work_in[i] = (float)in[i] * (1.0f / 32768.0f);
    }
    la_host_status st = la_filter_call(table, filter, work_in, work_out, samples_per_channel,
                                       num_channels, plugin_status);
    if (st != LA_HOST_OK) {
        return st;
    }
    for (size_t i = 0; i < n; i++) {
        /* finite (checked above); clamp before the conversion so it is always in range */
        float y = work_out[i] * 32768.0f;
        y = y > 32767.0f ? 32767.0f : (y < -32768.0f ? -32768.0f : y);
        out[i] = (int16_t)lrintf(y);
    }
    return LA_HOST_OK;
}

la_host_status la_filter_run_f32(const la_filter_plugin *table, la_filter_handle *filter,
                                 const float *in, float *out, float *work_out,
                                 uint32_t samples_per_channel, uint32_t num_channels,
                                 int32_t *plugin_status) {
    if (plugin_status != NULL) {
        *plugin_status = LA_FILTER_OK;
    }
    if (table == NULL || filter == NULL || in == NULL || out == NULL || work_out == NULL ||
        samples_per_channel == 0 || num_channels == 0) {
        return LA_HOST_ERR_INVALID_ARGUMENT;
    }
    la_host_status st = la_filter_call(table, filter, in, work_out, samples_per_channel,
                                       num_channels, plugin_status);
    if (st != LA_HOST_OK) {
        return st;
    }
    size_t n = (size_t)samples_per_channel * num_channels;
    for (size_t i = 0; i < n; i++) {
        out[i] = work_out[i];
    }
    return LA_HOST_OK;
}
