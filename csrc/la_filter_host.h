/*
 * la_filter_host.h - the host side of the filter plug-in ABI
 * (livekit_audio/include/livekit_audio/filter_plugin.h): checks a plug-in's table and runs
 * one frame through an instance with sample conversion and output checks.
 *
 * Plain C11, no Python.h, no allocation: the caller owns every buffer.
 */
#ifndef LA_FILTER_HOST_H
#define LA_FILTER_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "livekit_audio/filter_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Named results of the host functions. */
typedef enum la_host_status {
    LA_HOST_OK = 0,
    LA_HOST_ERR_NULL_TABLE = 1,        /* the entry point returned NULL */
    LA_HOST_ERR_ABI_VERSION = 2,       /* table->abi_version is not LA_FILTER_ABI_VERSION */
    LA_HOST_ERR_STRUCT_SIZE = 3,       /* table->struct_size smaller than this ABI's table */
    LA_HOST_ERR_MISSING_FIELD = 4,     /* a required pointer in the table is NULL */
    LA_HOST_ERR_BAD_RATES = 5,         /* no rates, a rate of 0 or above 768 kHz, or unsorted */
    LA_HOST_ERR_BAD_CHANNELS = 6,      /* max_channels is 0 or above LA_HOST_MAX_CHANNELS */
    LA_HOST_ERR_PLUGIN = 7,            /* process() returned a status other than OK */
    LA_HOST_ERR_NON_FINITE = 8,        /* process() returned OK with NaN or infinity in out */
    LA_HOST_ERR_INVALID_ARGUMENT = 9   /* a NULL buffer or handle, or a zero-sized frame */
} la_host_status;

#define LA_HOST_MAX_CHANNELS 8u
#define LA_HOST_MAX_RATE_HZ 768000u
#define LA_HOST_MAX_RATES 64u

/* Checks a table just returned by a plug-in's entry point. On LA_HOST_ERR_MISSING_FIELD,
 * *field names the NULL member (a static string); otherwise *field is set to "". */
la_host_status la_filter_check_table(const la_filter_plugin *table, const char **field);

/* Runs one int16 frame through an instance: converts in (interleaved, n * channels samples)
 * to float at full scale 1.0 (x / 32768) into work_in, calls table->process into work_out,
 * checks that every output sample is finite, then rounds work_out * 32768 to nearest and
 * saturates into out. in and out may be the same buffer; out is untouched on any error.
 * work_in and work_out each hold n * channels floats. On LA_HOST_ERR_PLUGIN, *plugin_status
 * holds the plug-in's status. */
la_host_status la_filter_run_s16(const la_filter_plugin *table, la_filter_handle *filter,
                                 const int16_t *in, int16_t *out, float *work_in,
                                 float *work_out, uint32_t samples_per_channel,
                                 uint32_t num_channels, int32_t *plugin_status);

/* Runs one float32 frame: in (not modified) to work_out through table->process, checks the
 * output is finite, then copies work_out to out. in and out may be the same buffer; out is
 * untouched on any error. The input must be finite (the caller checks). */
la_host_status la_filter_run_f32(const la_filter_plugin *table, la_filter_handle *filter,
                                 const float *in, float *out, float *work_out,
                                 uint32_t samples_per_channel, uint32_t num_channels,
                                 int32_t *plugin_status);

/* 1 if all n floats are finite, else 0. */
int la_all_finite(const float *x, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* LA_FILTER_HOST_H */
