/*
 * la_plugin_options.c - strict reader of the flat JSON object a filter plug-in gets as
 * options_json (see la_plugin_options.h), and the plug-ins' error-message helper.
 *
 * Grammar: RFC 8259 (The JavaScript Object Notation Data Interchange Format), restricted to
 * one object whose values are strings, numbers, true, false or null; whitespace is the four
 * characters of its section 2; strings follow its section 7 (escapes \" \\ \/ \b \f \n \r \t
 * and \uXXXX with UTF-16 surrogate pairs), numbers its section 6 (no leading zeros, no '+',
 * no leading or trailing '.', no NaN or Infinity). UTF-8 is checked as RFC 3629 section 4
 * defines it (no overlong forms, no surrogates, nothing above U+10FFFF).
 *
 * Numbers: the decimal significand (its first 19 significant digits, trailing zeros dropped)
 * and exponent are read as integers. When the significand is at most 2^53 and the exponent
 * within +-22, the value is one correctly rounded IEEE multiplication or division of two
 * exact doubles (Clinger, "How to read floating point numbers accurately", PLDI 1990, the
 * fast path); that covers every value Python's json.dumps writes for the usual option values
 * (e.g. 100.0, 0.02, 1e-05). Longer significands with such exponents are rounded once more
 * (within one unit in the last place); exponents beyond go through pow() and may be a few
 * units off, which no option's meaning depends on.
 */
#include "la_plugin_options.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ----------------------------------------------------------------------------- messages */

/* Cuts a trailing incomplete UTF-8 sequence off s (NUL-terminated). */
static void utf8_trim_tail(char *s)
{
    size_t end = strlen(s);
    size_t i = end;
    size_t cont = 0;
    while (i > 0 && cont < 3 && ((unsigned char)s[i - 1] & 0xC0u) == 0x80u) {
        i--;
        cont++;
    }
    if (i == 0) {
        return;
    }
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead >= 0xF0u ? 4 : lead >= 0xE0u ? 3 : lead >= 0xC0u ? 2 : 1;
    if (need > cont + 1) {
        s[i - 1] = '\0';
    }
}

void la_plugin_error(char *error, size_t error_size, const char *format, ...)
{
    if (error == NULL || error_size == 0) {
        return;
    }
    va_list args;
    va_start(args, format);
    int n = vsnprintf(error, error_size, format, args);
    va_end(args);
    if (n < 0) {
        error[0] = '\0';
    } else if ((size_t)n >= error_size) {
        utf8_trim_tail(error);
    }
}

/* Copies src[0 .. len - 1] (UTF-8) into dst[dst_size] for quoting in a message: control
 * characters become '?', and text that does not fit (or was cut before, when cut is set) ends
 * in "..." at a character boundary. */
static void quote_text(char *dst, size_t dst_size, const char *src, size_t len, int cut)
{
    if (dst_size < 4) {
        if (dst_size > 0) {
            dst[0] = '\0';
        }
        return;
    }
    size_t room = dst_size - 4; /* keep space for "..." and the NUL */
    size_t o = 0;
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)src[i];
        size_t k = c < 0x80u ? 1 : c >= 0xF0u ? 4 : c >= 0xE0u ? 3 : 2;
        if (i + k > len || o + k > room) {
            cut = 1;
            break;
        }
        for (size_t j = 0; j < k; j++) {
            unsigned char b = (unsigned char)src[i + j];
            dst[o + j] = (k == 1 && (b < 0x20u || b == 0x7Fu)) ? '?' : (char)b;
        }
        o += k;
        i += k;
    }
    if (cut) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
}

/* ------------------------------------------------------------------------------- parser */

typedef struct parser {
    const char *s;
    size_t len; /* bytes before the terminating NUL */
    size_t pos;
    char *error;
    size_t error_size;
} parser;

/* The byte at the read position, or -1 at the end of the text. */
static int peek(const parser *p)
{
    return p->pos < p->len ? (int)(unsigned char)p->s[p->pos] : -1;
}

static void skip_ws(parser *p)
{
    int c = peek(p);
    while (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        p->pos++;
        c = peek(p);
    }
}

/* "'x'", "byte 0xNN" or "the end of the text", for what the parser found at its position. */
static void describe_here(const parser *p, char *buf, size_t size)
{
    int c = peek(p);
    if (c < 0) {
        snprintf(buf, size, "the end of the text");
    } else if (c >= 0x20 && c < 0x7F) {
        snprintf(buf, size, "'%c'", c);
    } else {
        snprintf(buf, size, "byte 0x%02X", (unsigned)c);
    }
}

/* A string that is well-formed JSON but cannot be passed on, starting at byte at. */
static la_opt_status string_error(parser *p, size_t at, const char *what)
{
    la_plugin_error(p->error, p->error_size,
                    "options_json: the string escape or text at byte %zu is %s", at, what);
    return LA_OPT_ERR_SYNTAX;
}

static la_opt_status syntax_error(parser *p, const char *expected)
{
    char got[24];
    describe_here(p, got, sizeof got);
    la_plugin_error(p->error, p->error_size,
                    "options_json is not a flat JSON object: expected %s at byte %zu, got %s",
                    expected, p->pos, got);
    return LA_OPT_ERR_SYNTAX;
}

/* A sink for decoded string bytes: writes whole characters while they fit. */
typedef struct sink {
    char *dst;       /* NULL: count only */
    size_t size;     /* capacity including the NUL */
    size_t written;  /* bytes stored */
    size_t total;    /* bytes the whole string decodes to */
    int overflow;    /* a character did not fit */
} sink;

static void sink_put(sink *k, const unsigned char *bytes, size_t n)
{
    if (k->dst != NULL && !k->overflow) {
        if (k->written + n < k->size) {
            memcpy(k->dst + k->written, bytes, n);
            k->written += n;
        } else {
            k->overflow = 1;
        }
    }
    k->total += n;
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Reads the 4 hex digits after "\u" into *unit. */
static la_opt_status read_hex4(parser *p, unsigned *unit)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value(peek(p));
        if (h < 0) {
            return syntax_error(p, "a hex digit of a \\u escape");
        }
        v = (v << 4) | (unsigned)h;
        p->pos++;
    }
    *unit = v;
    return LA_OPT_OK;
}

static size_t utf8_encode(uint32_t cp, unsigned char out[4])
{
    if (cp < 0x80u) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800u) {
        out[0] = (unsigned char)(0xC0u | (cp >> 6));
        out[1] = (unsigned char)(0x80u | (cp & 0x3Fu));
        return 2;
    }
    if (cp < 0x10000u) {
        out[0] = (unsigned char)(0xE0u | (cp >> 12));
        out[1] = (unsigned char)(0x80u | ((cp >> 6) & 0x3Fu));
        out[2] = (unsigned char)(0x80u | (cp & 0x3Fu));
        return 3;
    }
    out[0] = (unsigned char)(0xF0u | (cp >> 18));
    out[1] = (unsigned char)(0x80u | ((cp >> 12) & 0x3Fu));
    out[2] = (unsigned char)(0x80u | ((cp >> 6) & 0x3Fu));
    out[3] = (unsigned char)(0x80u | (cp & 0x3Fu));
    return 4;
}

/* Length of the well-formed UTF-8 character at the read position (RFC 3629, section 4), or
 * 0 when the bytes there are not one. The lead byte is >= 0x80. */
static size_t utf8_char_len(const parser *p)
{
    const unsigned char *s = (const unsigned char *)p->s + p->pos;
    size_t avail = p->len - p->pos;
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80u, hi = 0xBFu; /* the range of the second byte */
    if (c >= 0xC2u && c <= 0xDFu) {
        n = 2;
    } else if (c >= 0xE0u && c <= 0xEFu) {
        n = 3;
        if (c == 0xE0u) {
            lo = 0xA0u; /* no overlong 3-byte forms */
        } else if (c == 0xEDu) {
            hi = 0x9Fu; /* no UTF-16 surrogates */
        }
    } else if (c >= 0xF0u && c <= 0xF4u) {
        n = 4;
        if (c == 0xF0u) {
            lo = 0x90u; /* no overlong 4-byte forms */
        } else if (c == 0xF4u) {
            hi = 0x8Fu; /* nothing above U+10FFFF */
        }
    } else {
        return 0;
    }
    if (avail < n || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < n; i++) {
        if ((s[i] & 0xC0u) != 0x80u) {
            return 0;
        }
    }
    return n;
}

/* Reads the string at the read position (which is '"') into the sink. */
static la_opt_status parse_string(parser *p, sink *k)
{
    p->pos++; /* the opening quote */
    for (;;) {
        int c = peek(p);
        if (c < 0) {
            return syntax_error(p, "the closing '\"' of a string");
        }
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20) {
            return syntax_error(p, "a string character (control characters must be escaped)");
        }
        if (c == '\\') {
            p->pos++;
            int e = peek(p);
            unsigned char byte;
            switch (e) {
            case '"': byte = '"'; break;
            case '\\': byte = '\\'; break;
            case '/': byte = '/'; break;
            case 'b': byte = '\b'; break;
            case 'f': byte = '\f'; break;
            case 'n': byte = '\n'; break;
            case 'r': byte = '\r'; break;
            case 't': byte = '\t'; break;
            case 'u': {
                size_t at = p->pos - 1;
                p->pos++;
                unsigned unit;
                la_opt_status st = read_hex4(p, &unit);
                if (st != LA_OPT_OK) {
                    return st;
                }
                uint32_t cp = unit;
                if (unit >= 0xDC00u && unit <= 0xDFFFu) {
                    return string_error(p, at, "a lone low surrogate (not a character)");
                }
                if (unit >= 0xD800u && unit <= 0xDBFFu) {
                    unsigned low = 0;
                    if (peek(p) != '\\' || p->pos + 1 >= p->len || p->s[p->pos + 1] != 'u') {
                        return string_error(p, at, "a high surrogate without a low one after it");
                    }
                    p->pos += 2;
                    st = read_hex4(p, &low);
                    if (st != LA_OPT_OK) {
                        return st;
                    }
                    if (low < 0xDC00u || low > 0xDFFFu) {
                        return string_error(p, at, "a high surrogate without a low one after it");
                    }
                    cp = 0x10000u + ((unit - 0xD800u) << 10) + (low - 0xDC00u);
                }
                if (cp == 0) {
                    return string_error(p, at, "\\u0000 (C text cannot hold a NUL character)");
                }
                unsigned char enc[4];
                sink_put(k, enc, utf8_encode(cp, enc));
                continue;
            }
            default:
                return syntax_error(p, "an escape character (one of \"\\/bfnrtu)");
            }
            p->pos++;
            sink_put(k, &byte, 1);
            continue;
        }
        if (c < 0x80) {
            unsigned char byte = (unsigned char)c;
            p->pos++;
            sink_put(k, &byte, 1);
            continue;
        }
        size_t n = utf8_char_len(p);
        if (n == 0) {
            return string_error(p, p->pos, "not UTF-8");
        }
        sink_put(k, (const unsigned char *)p->s + p->pos, n);
        p->pos += n;
    }
    if (k->dst != NULL) {
        k->dst[k->written] = '\0';
    }
    return LA_OPT_OK;
}

static const double pow10_exact[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* significand * 10^exp10 as a double (see the file comment for the accuracy). */
static double decimal_to_double(uint64_t significand, long exp10)
{
    if (significand == 0) {
        return 0.0;
    }
    while (significand % 10 == 0) { /* "1.000" -> 1e0: more values take the exact path */
        significand /= 10;
        exp10++;
    }
    if (exp10 >= -22 && exp10 <= 22) {
        /* exact when significand <= 2^53 (one rounding); else it is rounded to a double
         * first, two roundings in all */
        double m = (double)significand;
        return exp10 >= 0 ? m * pow10_exact[exp10] : m / pow10_exact[-exp10];
    }
    if (exp10 > 400) {
        return HUGE_VAL;
    }
    if (exp10 < -400) {
        return 0.0;
    }
    double m = (double)significand;
    if (exp10 < -300) {
        /* 10^exp10 alone would be subnormal or zero while the product may not be */
        return m * pow(10.0, (double)(exp10 + 300)) * 1e-300;
    }
    return m * pow(10.0, (double)exp10);
}

/* Reads the number at the read position ('-' or a digit) into *value; *start is where its
 * text begins. */
static la_opt_status parse_number(parser *p, double *value, size_t *start)
{
    *start = p->pos;
    int negative = 0;
    if (peek(p) == '-') {
        negative = 1;
        p->pos++;
    }
    uint64_t sig = 0;
    int sig_digits = 0; /* significant digits kept in sig (at most 19) */
    long exp10 = 0;
    int c = peek(p);
    if (c == '0') {
        p->pos++;
        c = peek(p);
        if (c >= '0' && c <= '9') {
            return syntax_error(p, "no digit after a leading 0 (JSON numbers have none)");
        }
    } else if (c >= '1' && c <= '9') {
        while (c >= '0' && c <= '9') {
            if (sig_digits < 19) {
                sig = sig * 10 + (uint64_t)(c - '0');
                sig_digits++;
            } else {
                exp10++; /* a dropped integer digit still scales the value */
            }
            p->pos++;
            c = peek(p);
        }
    } else {
        return syntax_error(p, "a digit");
    }
    if (c == '.') {
        p->pos++;
        c = peek(p);
        if (c < '0' || c > '9') {
            return syntax_error(p, "a digit after the decimal point");
        }
        while (c >= '0' && c <= '9') {
            if (sig_digits < 19) {
                sig = sig * 10 + (uint64_t)(c - '0');
                exp10--;
                if (sig != 0) {
                    sig_digits++;
                }
            }
            p->pos++;
            c = peek(p);
        }
    }
    if (c == 'e' || c == 'E') {
        p->pos++;
        c = peek(p);
        int exp_negative = 0;
        if (c == '+' || c == '-') {
            exp_negative = c == '-';
            p->pos++;
            c = peek(p);
        }
        if (c < '0' || c > '9') {
            return syntax_error(p, "a digit of the exponent");
        }
        long e = 0;
        while (c >= '0' && c <= '9') {
            if (e < 100000) {
                e = e * 10 + (c - '0');
            }
            p->pos++;
            c = peek(p);
        }
        exp10 += exp_negative ? -e : e;
    }
    double v = decimal_to_double(sig, exp10);
    *value = negative ? -v : v;
    return LA_OPT_OK;
}

/* Reads the literal word (true, false or null) at the read position. */
static la_opt_status parse_word(parser *p, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i < n; i++) {
        if (peek(p) != (unsigned char)word[i]) {
            return syntax_error(p, word[0] == 'n' ? "null" : "true or false (JSON literals)");
        }
        p->pos++;
    }
    return LA_OPT_OK;
}

/* ------------------------------------------------------------------------------ checking */

static const char *type_name(la_opt_type t)
{
    switch (t) {
    case LA_OPT_STRING: return "a string";
    case LA_OPT_NUMBER: return "a number";
    case LA_OPT_INTEGER: return "an integer";
    }
    return "a value";
}

/* " >= 0", " in [0, 1]", ... for the range of a number option ("" for any finite value). */
static void range_text(char *buf, size_t size, const la_opt_spec *spec)
{
    int lo = isfinite(spec->min);
    int hi = isfinite(spec->max);
    if (lo && hi) {
        snprintf(buf, size, " in [%.17g, %.17g]", spec->min, spec->max);
    } else if (lo) {
        snprintf(buf, size, " >= %.17g", spec->min);
    } else if (hi) {
        snprintf(buf, size, " <= %.17g", spec->max);
    } else {
        buf[0] = '\0';
    }
}

/* What the value at the read position is, for "got ..." in a type error. */
static void describe_value(parser *p, char *buf, size_t size)
{
    int c = peek(p);
    if (c == '"') {
        char text[48];
        sink k = {text, sizeof text, 0, 0, 0};
        size_t at = p->pos;
        if (parse_string(p, &k) != LA_OPT_OK) {
            snprintf(buf, size, "a malformed string");
        } else {
            char quoted[56];
            quote_text(quoted, sizeof quoted, text, k.written, k.overflow);
            snprintf(buf, size, "the string \"%s\"", quoted);
        }
        p->pos = at;
    } else if (c == '{') {
        snprintf(buf, size, "an object (nested values are not accepted)");
    } else if (c == '[') {
        snprintf(buf, size, "an array (nested values are not accepted)");
    } else if (c == 't') {
        snprintf(buf, size, "true");
    } else if (c == 'f') {
        snprintf(buf, size, "false");
    } else if (c == 'n') {
        snprintf(buf, size, "null");
    } else {
        /* a number: its text, as written */
        size_t end = p->pos;
        while (end < p->len && end - p->pos < 32 &&
               strchr("+-.0123456789eE", p->s[end]) != NULL) {
            end++;
        }
        char quoted[40];
        quote_text(quoted, sizeof quoted, p->s + p->pos, end - p->pos, 0);
        snprintf(buf, size, "%s", quoted[0] != '\0' ? quoted : "something else");
    }
}

static la_opt_status check_specs(const la_opt_spec *specs, size_t num_specs, char *error,
                                 size_t error_size)
{
    if (specs == NULL && num_specs > 0) {
        la_plugin_error(error, error_size, "options: no table of known options");
        return LA_OPT_ERR_ARGUMENT;
    }
    if (num_specs > LA_OPTIONS_MAX_SPECS) {
        la_plugin_error(error, error_size, "options: %zu known options, the limit is %u",
                        num_specs, LA_OPTIONS_MAX_SPECS);
        return LA_OPT_ERR_ARGUMENT;
    }
    for (size_t i = 0; i < num_specs; i++) {
        const la_opt_spec *s = &specs[i];
        int ok = s->key != NULL && strlen(s->key) < LA_OPTIONS_MAX_KEY;
        switch (s->type) {
        case LA_OPT_STRING: ok = ok && s->str != NULL && s->str_size > 0; break;
        case LA_OPT_NUMBER:
        case LA_OPT_INTEGER: ok = ok && s->number != NULL && !(s->min > s->max); break;
        default: ok = 0;
        }
        for (size_t j = 0; ok && j < i; j++) {
            ok = strcmp(specs[j].key, s->key) != 0;
        }
        if (!ok) {
            la_plugin_error(error, error_size, "options: entry %zu of the table is invalid", i);
            return LA_OPT_ERR_ARGUMENT;
        }
    }
    return LA_OPT_OK;
}

static void list_keys(char *buf, size_t size, const la_opt_spec *specs, size_t num_specs)
{
    size_t o = 0;
    buf[0] = '\0';
    if (num_specs == 0) {
        snprintf(buf, size, "this filter takes no options");
        return;
    }
    int n = snprintf(buf, size, "known options:");
    o = n > 0 ? (size_t)n : 0;
    for (size_t i = 0; i < num_specs && o < size; i++) {
        n = snprintf(buf + o, size - o, "%s \"%s\"", i == 0 ? "" : ",", specs[i].key);
        if (n < 0) {
            break;
        }
        o += (size_t)n;
    }
}

/* Reads the value at the read position into spec's destination; *null is set for null. */
static la_opt_status parse_value(parser *p, const la_opt_spec *spec, int *null)
{
    char got[96];
    int c = peek(p);
    *null = 0;
    if (c == 'n') {
        *null = 1;
        return parse_word(p, "null");
    }
    if (c != '"' && c != '-' && !(c >= '0' && c <= '9') && c != 't' && c != 'f' && c != '{' &&
        c != '[') {
        return syntax_error(p, "a value");
    }
    if (c == 't' || c == 'f') {
        /* no option is a boolean: a well-formed one is a type error, anything else syntax */
        size_t at = p->pos;
        la_opt_status st = parse_word(p, c == 't' ? "true" : "false");
        p->pos = at;
        if (st != LA_OPT_OK) {
            return st;
        }
    }
    int is_type = (spec->type == LA_OPT_STRING && c == '"') ||
                  (spec->type != LA_OPT_STRING && (c == '-' || (c >= '0' && c <= '9')));
    if (!is_type) {
        char range[96] = "";
        if (spec->type == LA_OPT_NUMBER || spec->type == LA_OPT_INTEGER) {
            range_text(range, sizeof range, spec);
        }
        describe_value(p, got, sizeof got);
        la_plugin_error(p->error, p->error_size, "option \"%s\": expected %s%s, got %s",
                        spec->key, type_name(spec->type), range, got);
        return LA_OPT_ERR_TYPE;
    }
    if (spec->type == LA_OPT_STRING) {
        sink k = {spec->str, spec->str_size, 0, 0, 0};
        la_opt_status st = parse_string(p, &k);
        if (st == LA_OPT_OK && k.overflow) {
            la_plugin_error(p->error, p->error_size,
                            "option \"%s\": expected a string of at most %zu bytes (UTF-8), "
                            "got one of %zu bytes",
                            spec->key, spec->str_size - 1, k.total);
            return LA_OPT_ERR_RANGE;
        }
        return st;
    }
    double v = 0.0;
    size_t start = 0;
    la_opt_status st = parse_number(p, &v, &start);
    if (st != LA_OPT_OK) {
        return st;
    }
    int integral = spec->type != LA_OPT_INTEGER || (isfinite(v) && v == floor(v));
    if (!isfinite(v) || !integral || v < spec->min || v > spec->max) {
        char range[96];
        char text[40];
        range_text(range, sizeof range, spec);
        quote_text(text, sizeof text, p->s + start, p->pos - start, 0);
        la_plugin_error(p->error, p->error_size, "option \"%s\": expected %s%s%s, got %s",
                        spec->key, spec->type == LA_OPT_INTEGER ? "an integer" : "a number",
                        isfinite(v) ? "" : " that fits a double", range, text);
        return LA_OPT_ERR_RANGE;
    }
    *spec->number = v;
    return LA_OPT_OK;
}

la_opt_status la_options_parse(const char *json, const la_opt_spec *specs, size_t num_specs,
                               char *error, size_t error_size)
{
    la_opt_status st = check_specs(specs, num_specs, error, error_size);
    if (st != LA_OPT_OK) {
        return st;
    }
    if (json == NULL) {
        la_plugin_error(error, error_size, "options_json is NULL (\"{}\" means the defaults)");
        return LA_OPT_ERR_ARGUMENT;
    }
    /* The length, without reading past the NUL or past the limit. */
    size_t len = 0;
    while (len <= LA_OPTIONS_MAX_BYTES && json[len] != '\0') {
        len++;
    }
    if (len > LA_OPTIONS_MAX_BYTES) {
        la_plugin_error(error, error_size, "options_json is longer than %u bytes",
                        LA_OPTIONS_MAX_BYTES);
        return LA_OPT_ERR_SYNTAX;
    }
    parser p = {json, len, 0, error, error_size};
    unsigned char seen[LA_OPTIONS_MAX_SPECS] = {0};
    unsigned char valued[LA_OPTIONS_MAX_SPECS] = {0};
    for (size_t i = 0; i < num_specs; i++) {
        if (specs[i].given != NULL) {
            *specs[i].given = 0;
        }
    }

    skip_ws(&p);
    if (peek(&p) != '{') {
        return syntax_error(&p, "'{'");
    }
    p.pos++;
    skip_ws(&p);
    if (peek(&p) == '}') {
        p.pos++;
    } else {
        for (;;) {
            if (peek(&p) != '"') {
                return syntax_error(&p, "a key (a string in double quotes)");
            }
            char key[LA_OPTIONS_MAX_KEY];
            sink k = {key, sizeof key, 0, 0, 0};
            st = parse_string(&p, &k);
            if (st != LA_OPT_OK) {
                return st;
            }
            size_t idx = num_specs;
            for (size_t i = 0; i < num_specs && !k.overflow; i++) {
                if (strcmp(specs[i].key, key) == 0) {
                    idx = i;
                    break;
                }
            }
            if (idx == num_specs) {
                char quoted[LA_OPTIONS_MAX_KEY + 8];
                char known[160];
                quote_text(quoted, sizeof quoted, key, k.written, k.overflow);
                list_keys(known, sizeof known, specs, num_specs);
                la_plugin_error(error, error_size, "unknown option \"%s\" (%s)", quoted, known);
                return LA_OPT_ERR_UNKNOWN_KEY;
            }
            if (seen[idx]) {
                la_plugin_error(error, error_size, "option \"%s\" is given twice",
                                specs[idx].key);
                return LA_OPT_ERR_DUPLICATE_KEY;
            }
            seen[idx] = 1;
            skip_ws(&p);
            if (peek(&p) != ':') {
                return syntax_error(&p, "':' after a key");
            }
            p.pos++;
            skip_ws(&p);
            int null = 0;
            st = parse_value(&p, &specs[idx], &null);
            if (st != LA_OPT_OK) {
                return st;
            }
            if (!null) {
                valued[idx] = 1;
                if (specs[idx].given != NULL) {
                    *specs[idx].given = 1;
                }
            }
            skip_ws(&p);
            int c = peek(&p);
            if (c == ',') {
                p.pos++;
                skip_ws(&p);
                continue;
            }
            if (c == '}') {
                p.pos++;
                break;
            }
            return syntax_error(&p, "',' or '}' after a value");
        }
    }
    skip_ws(&p);
    if (p.pos != p.len) {
        return syntax_error(&p, "the end of the text after the object");
    }
    for (size_t i = 0; i < num_specs; i++) {
        if (specs[i].required && !valued[i]) {
            char range[96] = "";
            if (specs[i].type == LA_OPT_NUMBER || specs[i].type == LA_OPT_INTEGER) {
                range_text(range, sizeof range, &specs[i]);
            }
            la_plugin_error(error, error_size, "option \"%s\" is required (%s%s)%s",
                            specs[i].key, type_name(specs[i].type), range,
                            seen[i] ? ", got null" : "");
            return LA_OPT_ERR_MISSING;
        }
    }
    return LA_OPT_OK;
}
