/* governor_record.c - see governor_record.h.
 *
 * The scanner accepts one JSON object whose values are all
 *   strings of printable ASCII without escapes (a spec's string values
 *   may also hold the escapes \" \\ \/ \b \f \n \r \t and \u0020 to
 *   \u007e: the governor only asks that they are strings, and a PromQL
 *   metric_query has quotes; a spec whose name or status has one goes to
 *   json-c, which alone decodes them),
 *   integers of at most 18 digits without a leading zero (no "-0"),
 *   true, false or null,
 * with only " \t\r\n" as whitespace and nothing after the object but
 * whitespace. json-c reads every such text, to the same values, and
 * jx_parse_record takes it as a record (it is valid UTF-8 and an object).
 * Everything else is declined (0), never judged: json-c decides. Keys
 * repeated keep their last value, as in json-c. */
#include "governor_record.h"
#include "jsonx.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum rec_kind { REC_ABSENT, REC_NULL, REC_BOOL, REC_INT, REC_STR };

struct rec_val {
    enum rec_kind kind;
    bool escaped;  /* REC_STR: it holds an escape (rec_scan's escapes only) */
    long long i;   /* REC_INT */
    const char *s; /* REC_STR: len bytes, not NUL-terminated */
    size_t len;
};

/* Called for each key and value of the object in turn, before the scanner
 * knows whether the rest of the text is in the subset: only note them. */
typedef void (*rec_pair_fn)(void *arg, const char *key, size_t klen,
                            const struct rec_val *v);

/* ---- the scanner ---- */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* The bytes a string of the subset may hold: printable ASCII but the quote
 * and the backslash. Looked up, one test a byte (filled by tables_init). */
static bool plain[256];

/* p at the opening quote; past the closing one, or NULL. The NUL that ends
 * the text is not plain, so an unterminated string is declined too. */
static const char *scan_string(const char *p, const char **s, size_t *len)
{
    const char *start = ++p;
    while (plain[(unsigned char)*p])
        p++;
    if (*p != '"')
        return NULL;
    *s = start;
    *len = (size_t)(p - start);
    return p + 1;
}

/* At most 18 digits, so the value cannot overflow; a fraction or an
 * exponent after them is declined by the caller, which then finds neither
 * ',' nor '}'. */
static const char *scan_int(const char *p, long long *out)
{
    bool neg = *p == '-';
    const char *digits = p + neg;
    long long v = 0;
    for (p = digits; *p >= '0' && *p <= '9'; p++) {
        if (p - digits == 18)
            return NULL;
        v = v * 10 + (*p - '0');
    }
    if (p == digits || (*digits == '0' && (p - digits > 1 || neg)))
        return NULL;
    *out = neg ? -v : v;
    return p;
}

static const char *scan_word(const char *p, const char *word, size_t n)
{
    return strncmp(p, word, n) == 0 ? p + n : NULL;
}

static bool hex4_ascii(const char *p)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d == 16)
            return false;
        v = v * 16 + d;
    }
    return v >= 0x20 && v <= 0x7e;
}

/* scan_string, with the escapes the header allows a spec's strings. */
static const char *scan_escaped(const char *p, const char **s, size_t *len, bool *escaped)
{
    const char *start = ++p;
    *escaped = false;
    for (;;) {
        while (plain[(unsigned char)*p])
            p++;
        if (*p != '\\')
            break;
        *escaped = true;
        if (p[1] && strchr("\"\\/bfnrt", p[1]))
            p += 2;
        else if (p[1] == 'u' && hex4_ascii(p + 2))
            p += 6;
        else
            return NULL;
    }
    if (*p != '"')
        return NULL;
    *s = start;
    *len = (size_t)(p - start);
    return p + 1;
}

static const char *scan_value(const char *p, struct rec_val *v, bool escapes)
{
    switch (*p) {
    case '"':
        v->kind = REC_STR;
        return escapes ? scan_escaped(p, &v->s, &v->len, &v->escaped)
                       : scan_string(p, &v->s, &v->len);
    case 't': v->kind = REC_BOOL; return scan_word(p, "true", 4);
    case 'f': v->kind = REC_BOOL; return scan_word(p, "false", 5);
    case 'n': v->kind = REC_NULL; return scan_word(p, "null", 4);
    default: v->kind = REC_INT; return scan_int(p, &v->i);
    }
}

/* 1: text is one object of the subset, and fn saw each of its pairs;
 * 0: declined. */
static int rec_scan(const char *text, rec_pair_fn fn, void *arg, bool escapes)
{
    const char *p = skip_ws(text);
    if (*p != '{')
        return 0;
    p = skip_ws(p + 1);
    while (*p != '}') {
        const char *key;
        size_t klen;
        struct rec_val v = {0};
        if (*p != '"' || !(p = scan_string(p, &key, &klen)))
            return 0;
        p = skip_ws(p);
        if (*p != ':' || !(p = scan_value(skip_ws(p + 1), &v, escapes)))
            return 0;
        fn(arg, key, klen, &v);
        p = skip_ws(p);
        if (*p == '}')
            break;
        if (*p != ',')
            return 0;
        p = skip_ws(p + 1);
        if (*p == '}')
            return 0; /* a comma before the end: not JSON */
    }
    return *skip_ws(p + 1) == '\0';
}

static bool is(const struct rec_val *v, const char *s, size_t n)
{
    return v->kind == REC_STR && v->len == n && memcmp(v->s, s, n) == 0;
}

/* jx_int's reading of an integer field, then time_field's: not an integer
 * is 0, and so is a time <= 0. */
static long long int_of(const struct rec_val *v)
{
    return v->kind == REC_INT ? v->i : 0;
}

static long long time_of(const struct rec_val *v)
{
    return v->kind == REC_INT && v->i > 0 ? v->i : 0;
}

static bool key_is(const char *key, size_t klen, const char *name, size_t n)
{
    return klen == n && memcmp(key, name, n) == 0;
}

/* ---- incidents, events, leases ---- */

enum { I_STATE, I_SEVERITY, I_OPENED, I_CLOSED, I_COUNT };

static void incident_pair(void *arg, const char *key, size_t klen,
                          const struct rec_val *v)
{
    struct rec_val *f = arg;
    if (key_is(key, klen, "state", 5))
        f[I_STATE] = *v;
    else if (key_is(key, klen, "severity", 8))
        f[I_SEVERITY] = *v;
    else if (key_is(key, klen, "opened_at", 9))
        f[I_OPENED] = *v;
    else if (key_is(key, klen, "closed_at", 9))
        f[I_CLOSED] = *v;
}

static void tables_init(void);

int gov_incident_read(const char *text, struct gov_incident *out)
{
    struct rec_val f[I_COUNT] = {{0}};
    tables_init();
    if (rec_scan(text, incident_pair, f, false)) {
        out->open = is(&f[I_STATE], "open", 4);
        out->critical = is(&f[I_SEVERITY], "critical", 8);
        out->opened_at = time_of(&f[I_OPENED]);
        out->closed_at = time_of(&f[I_CLOSED]);
        return 1;
    }
    struct json_object *o = jx_parse_record(text);
    if (!o)
        return 0;
    gov_incident_from_json(o, out);
    json_object_put(o);
    return 1;
}

enum { O_OP, O_AT, O_EXPIRES, O_COUNT };

static void op_pair(void *arg, const char *key, size_t klen, const struct rec_val *v)
{
    struct rec_val *f = arg;
    if (key_is(key, klen, "op", 2))
        f[O_OP] = *v;
    else if (key_is(key, klen, "at", 2))
        f[O_AT] = *v;
    else if (key_is(key, klen, "expires_at", 10))
        f[O_EXPIRES] = *v;
}

int gov_op_read(const char *text, struct gov_op *out)
{
    struct rec_val f[O_COUNT] = {{0}};
    tables_init();
    if (rec_scan(text, op_pair, f, false)) {
        out->op = is(&f[O_OP], "scale_out", 9)  ? GOV_SCALE_OUT
                  : is(&f[O_OP], "scale_in", 8) ? GOV_SCALE_IN
                  : is(&f[O_OP], "replace", 7)  ? GOV_REPLACE
                                                : GOV_NONE;
        out->at = time_of(&f[O_AT]);
        out->expires_at = int_of(&f[O_EXPIRES]);
        return 1;
    }
    struct json_object *o = jx_parse_record(text);
    if (!o)
        return 0;
    gov_op_from_json(o, out);
    json_object_put(o);
    return 1;
}

/* ---- group specs ---- */

/* The keys group_from_json judges a spec by: its name, its status and every
 * spec field (an integer field must hold an integer, a string field a
 * string; null is as good as absent). Its "settings" need no row: the
 * scanner declines an object, and any other value is ignored. */
enum spec_key_kind { K_NAME, K_STATUS, K_INT, K_STR, K_FORCED };

struct spec_key {
    const char *name;
    size_t len;
    enum spec_key_kind kind;
    size_t offset; /* of a K_INT field in struct gov_spec */
};

#define SPEC_KEY_INT(n) {#n, sizeof #n - 1, K_INT, offsetof(struct gov_spec, n)},
#define SPEC_KEY_STR(n) {#n, sizeof #n - 1, K_STR, 0},
#define SPEC_KEY(n, kind, def, cfg, lo, hi, check) SPEC_KEY_##kind(n)

static const struct spec_key spec_keys[] = {
    {"name", 4, K_NAME, 0},
    {"status", 6, K_STATUS, 0},
    {"forced_at", 9, K_FORCED, 0},
    GROUP_FIELDS(SPEC_KEY)
};

#define NKEYS (sizeof spec_keys / sizeof spec_keys[0])

/* spec_keys found by a hash of a key's length and end bytes (open
 * addressing, 1 + the row's index; 0: empty), built on first use: a stored
 * spec has 27 keys, and comparing each with every row cost more than
 * scanning the text. */
#define KEY_SLOTS 64
static unsigned char key_slot[KEY_SLOTS];

static size_t key_hash(const char *key, size_t klen)
{
    return (klen * 7 + (unsigned char)key[0] * 3 + (unsigned char)key[klen - 1]) %
           KEY_SLOTS;
}

/* plain[] and key_slot[], once: every reader calls this first. */
static void tables_init(void)
{
    static bool ready;
    if (ready)
        return;
    for (int c = 0x20; c <= 0x7e; c++)
        plain[c] = c != '"' && c != '\\';
    for (size_t i = 0; i < NKEYS; i++) {
        size_t h = key_hash(spec_keys[i].name, spec_keys[i].len);
        while (key_slot[h])
            h = (h + 1) % KEY_SLOTS;
        key_slot[h] = (unsigned char)(i + 1);
    }
    ready = true;
}

/* What the scanner saw of a spec: the last value of each row's key, and
 * which rows it saw (bit i: spec_keys[i]), so only those are judged. */
struct spec_fields {
    struct rec_val v[NKEYS];
    uint64_t seen;
};

_Static_assert(NKEYS <= 64, "spec_fields.seen has a bit a row");

static void spec_pair(void *arg, const char *key, size_t klen, const struct rec_val *v)
{
    struct spec_fields *f = arg;
    if (klen == 0)
        return;
    for (size_t h = key_hash(key, klen); key_slot[h]; h = (h + 1) % KEY_SLOTS) {
        size_t i = key_slot[h] - 1u;
        if (key_is(key, klen, spec_keys[i].name, spec_keys[i].len)) {
            f->v[i] = *v;
            f->seen |= 1ull << i;
            return;
        }
    }
}

static long long *int_at(struct gov_spec *s, size_t offset)
{
    return (long long *)((char *)s + offset);
}

#define SPEC_COPY_INT(n) to->n = from->n;
#define SPEC_COPY_STR(n)
#define SPEC_COPY(n, kind, def, cfg, lo, hi, check) SPEC_COPY_##kind(n)

static void spec_from_group(const struct group *from, struct gov_spec *to)
{
    memcpy(to->name, from->name, sizeof to->name);
    to->active = strcmp(from->status, "active") == 0;
    to->forced_at = from->forced_at;
    GROUP_FIELDS(SPEC_COPY)
}

void gov_spec_to_group(const struct gov_spec *from, struct group *to)
{
    memset(to, 0, sizeof *to);
    memcpy(to->name, from->name, sizeof to->name);
    strcpy(to->status, from->active ? "active" : "deleting");
    to->forced_at = from->forced_at;
    GROUP_FIELDS(SPEC_COPY)
}

/* group_init's defaults, read once. */
static const struct gov_spec *spec_defaults(void)
{
    static struct gov_spec d;
    static bool ready;
    if (!ready) {
        struct group g;
        group_init(&g, "");
        spec_from_group(&g, &d);
        group_clear(&g);
        ready = true;
    }
    return &d;
}

/* group_from_json's verdict and reading, on the scanned fields: a row not
 * seen keeps its default, and a spec without a name is none. */
static int spec_from_fields(const struct spec_fields *f, struct gov_spec *out)
{
    *out = *spec_defaults();
    if (!(f->seen & 1u)) /* spec_keys[0]: "name" */
        return 0;
    for (uint64_t seen = f->seen; seen; seen &= seen - 1) {
        size_t i = (size_t)__builtin_ctzll(seen);
        const struct rec_val *v = &f->v[i];
        bool set = v->kind != REC_NULL;
        switch (spec_keys[i].kind) {
        case K_NAME: /* a name too long is no name */
            if (v->kind != REC_STR || v->len > GROUP_NAME_MAX)
                return 0;
            memcpy(out->name, v->s, v->len);
            out->name[v->len] = '\0';
            if (group_check_name(out->name, NULL) < 0)
                return 0;
            break;
        case K_STATUS: /* not a string: "active" */
            if (v->kind == REC_STR && v->len >= sizeof((struct group *)0)->status)
                return 0;
            out->active = v->kind != REC_STR || is(v, "active", 6);
            break;
        case K_INT:
            if (set && v->kind != REC_INT)
                return 0;
            if (set)
                *int_at(out, spec_keys[i].offset) = v->i;
            break;
        case K_STR:
            if (set && v->kind != REC_STR)
                return 0;
            break;
        case K_FORCED: /* jx_int: anything but an integer is 0, never refused */
            out->forced_at = int_of(v);
            break;
        }
    }
    return 1;
}

int gov_spec_read(const char *text, struct gov_spec *out)
{
    struct spec_fields f;
    f.seen = 0; /* the values are read only where seen */
    tables_init();
    /* spec_keys[0] and [1]: "name" and "status", which are read, not only
     * typed: an escape in either is json-c's to decode */
    if (rec_scan(text, spec_pair, &f, true) &&
        !((f.seen & 1u) && f.v[0].escaped) && !((f.seen & 2u) && f.v[1].escaped))
        return spec_from_fields(&f, out);

    struct json_object *o = jx_parse_record(text);
    struct group g;
    int ok = o && group_from_json(&g, o, NULL) == 0;
    if (ok) {
        spec_from_group(&g, out);
        group_clear(&g);
    }
    json_object_put(o);
    return ok;
}
