/*
 * la_plugin_options.h - the filter plug-ins' reader of options_json, and their shared helpers.
 *
 * options_json (livekit_audio/include/livekit_audio/filter_plugin.h, create()) is a flat JSON
 * object (RFC 8259): each value a string, a number, true, false or null. The reader checks it
 * against a table of the options a plug-in knows (strings, numbers, integers; no option is a
 * boolean yet, so true and false are read and refused as the wrong type) and stores each
 * value given where that table says. It is strict: anything that is not such an object is an error, and so is an
 * unknown key, a key given twice, a nested object or array, a value of the wrong type or out
 * of range, a string that does not fit its destination, text that is not UTF-8 and a string
 * holding U+0000 (it could not reach the engine as C text). null means "not given" (the
 * default). Every error writes one line naming the key, what was expected and what came.
 *
 * Bounded and allocation-free: the text is read in linear time, never past its terminating
 * NUL nor past LA_OPTIONS_MAX_BYTES, with no recursion and nothing on the heap. Numbers are
 * converted without strtod, so the process's LC_NUMERIC cannot change them.
 */
#ifndef LA_PLUGIN_OPTIONS_H
#define LA_PLUGIN_OPTIONS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The longest options_json accepted, in bytes (terminating NUL not counted). */
#define LA_OPTIONS_MAX_BYTES 65536u
/* The most options one table may describe. */
#define LA_OPTIONS_MAX_SPECS 32u
/* Keys are compared in full up to this many bytes; a longer key cannot be a known one. */
#define LA_OPTIONS_MAX_KEY 64u

/* What one option holds. */
typedef enum la_opt_type {
    LA_OPT_STRING = 0,  /* a JSON string, stored UTF-8 and NUL-terminated in str[str_size] */
    LA_OPT_NUMBER = 1,  /* a JSON number in [min, max], stored in *number */
    LA_OPT_INTEGER = 2  /* a JSON number with an integral value in [min, max], in *number */
} la_opt_type;

/* Why la_options_parse() failed. */
typedef enum la_opt_status {
    LA_OPT_OK = 0,
    LA_OPT_ERR_ARGUMENT = 1,      /* a NULL argument or a bad table: the plug-in's mistake */
    LA_OPT_ERR_SYNTAX = 2,        /* not a JSON object, malformed, not UTF-8 or too long */
    LA_OPT_ERR_UNKNOWN_KEY = 3,   /* a key the table does not list */
    LA_OPT_ERR_DUPLICATE_KEY = 4, /* a key given twice */
    LA_OPT_ERR_TYPE = 5,          /* a value of another type, or a nested object or array */
    LA_OPT_ERR_RANGE = 6,         /* a number out of range or not integral, a string too long */
    LA_OPT_ERR_MISSING = 7        /* a required option absent or null */
} la_opt_status;

/* One known option. The destination of its type must be set; the others are ignored. A
 * destination keeps its value unless the key comes with a non-null value, so the caller
 * stores the defaults first. */
typedef struct la_opt_spec {
    const char *key;   /* ASCII, at most LA_OPTIONS_MAX_KEY - 1 bytes */
    la_opt_type type;
    int required;      /* non-zero: absent or null is LA_OPT_ERR_MISSING */
    double min, max;   /* NUMBER, INTEGER: the closed range accepted (only finite values are) */
    char *str;         /* STRING: where the value goes ... */
    size_t str_size;   /* ... and its capacity in bytes, terminating NUL included (>= 1) */
    double *number;    /* NUMBER, INTEGER */
    int *given;        /* optional: set to 1 when the key came with a non-null value, else 0 */
} la_opt_spec;

/* Parses json against specs[0 .. num_specs - 1]. On LA_OPT_OK every given value is stored and
 * error is left untouched; otherwise a NUL-terminated message of at most error_size bytes is
 * written into error (when error is not NULL and error_size > 0) and destinations may hold
 * some of the values read before the error. */
la_opt_status la_options_parse(const char *json, const la_opt_spec *specs, size_t num_specs,
                               char *error, size_t error_size);

/* printf-style message into error[error_size], always NUL-terminated (nothing happens when
 * error is NULL or error_size is 0). Text cut to fit is cut at a UTF-8 character boundary, so
 * the message stays valid UTF-8 when its parts are. */
void la_plugin_error(char *error, size_t error_size, const char *format, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#ifdef __cplusplus
}
#endif

#endif /* LA_PLUGIN_OPTIONS_H */
