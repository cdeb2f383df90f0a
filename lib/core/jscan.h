/* jscan.h - strict scanning of the flat JSON the pack writes itself, for
 * the readers that run on every record of a governor tick: the group
 * records (lib/model/governor_record.h) and the metric samples
 * (lib/model/samples.h).
 *
 * Why a scanner of our own beside json-c: a tick reads every record of the
 * store (111,000 for 10,000 groups), and building a json-c document for
 * each - a tokener run, a hash table, a string per field, all freed again -
 * cost more than deciding (bench/RESULTS.md, "Governor tick over many
 * groups": with its metric samples read by json-c a tick with target
 * tracking cost 8.4x one without, read here 2.58x, schedules too). The pack
 * writes its records as flat objects of plain strings and integers, so
 * most are read here and json-c (jx_parse_record) reads the rest.
 *
 * Each primitive takes p where its token must start and returns the
 * position just past it, or NULL: declined. Declined is never a verdict on
 * the text: the caller then reads the whole record with json-c, which alone
 * judges it. Within what is accepted json-c reads the same values, so a
 * result never depends on the path a record took. Declined:
 *   - whitespace other than " \t\r\n" (json-c also skips others, \f);
 *   - in a string, any byte outside printable ASCII (a control character,
 *     UTF-8), any escape (jscan_string), or an escape other than \" \\ \/
 *     \b \f \n \r \t and \u0020 to \u007e (jscan_string_esc): the caller
 *     gets the raw bytes, which only json-c decodes;
 *   - an integer of more than 18 digits (it could overflow), with a leading
 *     zero, "-0", or a fraction or exponent after it (jscan_int);
 *   - a number outside JSON's grammar, strtod disagreeing, or one without
 *     a fraction or exponent that jscan_int declines (jscan_number);
 *   - in jscan_object: a nested object or array, a number with a fraction,
 *     a trailing comma, anything but whitespace after the object.
 * Texts are NUL-terminated; the NUL ends every run, so nothing reads past
 * it. The hot primitives are inline: they replaced loops that were static
 * in each reader, and a call per byte run would cost what they save. */
#ifndef AS_JSCAN_H
#define AS_JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* The bytes a string may hold unescaped here: printable ASCII but the
 * quote and the backslash. Looked up, one test a byte. */
extern const bool jscan_plain[256];

/* Past the whitespace JSON allows (" \t\r\n"). Never NULL. */
static inline const char *jscan_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* Past the literal s (a key with its colon, "true", "]}"), or NULL. */
static inline const char *jscan_lit(const char *p, const char *s)
{
    size_t n = strlen(s);
    return strncmp(p, s, n) == 0 ? p + n : NULL;
}

/* p at the opening quote of a string without escapes: past the closing
 * quote, with *s and *len its bytes (borrowed from the text, not
 * NUL-terminated); NULL if it is not one. */
static inline const char *jscan_string(const char *p, const char **s, size_t *len)
{
    if (*p != '"')
        return NULL;
    const char *start = ++p;
    while (jscan_plain[(unsigned char)*p])
        p++;
    if (*p != '"')
        return NULL;
    *s = start;
    *len = (size_t)(p - start);
    return p + 1;
}

/* p at a backslash: past the escape if it is one jscan_string_esc takes
 * (\" \\ \/ \b \f \n \r \t, \u0020 to \u007e), else NULL. */
const char *jscan_escape(const char *p);

/* jscan_string, with the escapes above too: *s and *len are the raw bytes
 * (escapes undecoded), *escaped whether any was there, so a caller that
 * needs the decoded text leaves that string to json-c. */
static inline const char *jscan_string_esc(const char *p, const char **s, size_t *len,
                                           bool *escaped)
{
    if (*p != '"')
        return NULL;
    const char *start = ++p;
    *escaped = false;
    for (;;) {
        while (jscan_plain[(unsigned char)*p])
            p++;
        if (*p != '\\')
            break;
        *escaped = true;
        if (!(p = jscan_escape(p)))
            return NULL;
    }
    if (*p != '"')
        return NULL;
    *s = start;
    *len = (size_t)(p - start);
    return p + 1;
}

/* An integer of 1 to 18 digits, optionally negative, without a leading
 * zero or "-0", and not followed by a fraction or an exponent: past it,
 * with *v; else NULL (*v untouched). */
static inline const char *jscan_int(const char *p, long long *v)
{
    bool neg = *p == '-';
    const char *digits = p + neg;
    long long x = 0;
    for (p = digits; *p >= '0' && *p <= '9'; p++) {
        if (p - digits == 18)
            return NULL;
        x = x * 10 + (*p - '0');
    }
    if (p == digits || (*digits == '0' && (p - digits > 1 || neg)) || *p == '.' ||
        *p == 'e' || *p == 'E')
        return NULL;
    *v = neg ? -x : x;
    return p;
}

/* A JSON number: with a fraction or an exponent, JSON's grammar checked
 * and strtod's value; without, jscan_int's integer as a double (json-c's
 * reading of both). Past it, with *v; else NULL (*v untouched). */
const char *jscan_number(const char *p, double *v);

/* A value of jscan_object's subset. */
enum jscan_kind { JSCAN_ABSENT, JSCAN_NULL, JSCAN_BOOL, JSCAN_INT, JSCAN_STR };

struct jscan_val {
    enum jscan_kind kind;
    bool b;       /* JSCAN_BOOL */
    bool escaped; /* JSCAN_STR: it holds an escape (jscan_string_esc's only) */
    long long i;  /* JSCAN_INT */
    const char *s; /* JSCAN_STR: len raw bytes, borrowed, not NUL-terminated */
    size_t len;
};

/* One value: a string (with escapes when escapes is true), an integer,
 * true, false or null. Past it with *v filled, or NULL. */
const char *jscan_value(const char *p, struct jscan_val *v, bool escapes);

/* Called for each key (raw bytes: keys take no escapes) and value of an
 * object in turn, before the scanner knows whether the rest of the text is
 * in the subset: only note them. */
typedef void (*jscan_pair_fn)(void *arg, const char *key, size_t klen,
                              const struct jscan_val *v);

/* 1: text is one flat object of the subset (whitespace around it), and fn
 * saw each of its pairs in order (a repeated key twice: keep the last, as
 * json-c does); 0: declined. */
int jscan_object(const char *text, jscan_pair_fn fn, void *arg, bool escapes);

#endif
