/* governor_record.c - see governor_record.h.
 *
 * Each record is first walked by jscan_object (lib/core/jscan.h, which
 * says what it declines): one flat object of plain strings, integers of at
 * most 18 digits, true, false and null. A spec's string values may also
 * hold jscan_string_esc's escapes: the governor only asks that they are
 * strings, and a PromQL metric_query has quotes; a spec whose name or
 * status has one goes to json-c, which alone decodes them. json-c reads
 * every such text to the same values, and jx_parse_record takes it as a
 * record (it is valid UTF-8 and an object). Everything else is declined,
 * never judged: json-c decides. Keys repeated keep their last value, as
 * in json-c. */
#include "governor_record.h"
#include "jscan.h"
#include "jsonx.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static bool is(const struct jscan_val *v, const char *s, size_t n)
{
    return v->kind == JSCAN_STR && v->len == n && memcmp(v->s, s, n) == 0;
}

/* jx_int's reading of an integer field, then time_field's: not an integer
 * is 0, and so is a time <= 0. */
static long long int_of(const struct jscan_val *v)
{
    return v->kind == JSCAN_INT ? v->i : 0;
}

static long long time_of(const struct jscan_val *v)
{
    return v->kind == JSCAN_INT && v->i > 0 ? v->i : 0;
}

static bool key_is(const char *key, size_t klen, const char *name, size_t n)
{
    return klen == n && memcmp(key, name, n) == 0;
}

/* ---- incidents, events, leases ---- */

enum { I_STATE, I_SEVERITY, I_OPENED, I_CLOSED, I_COUNT };

static void incident_pair(void *arg, const char *key, size_t klen,
                          const struct jscan_val *v)
{
    struct jscan_val *f = arg;
    if (key_is(key, klen, "state", 5))
        f[I_STATE] = *v;
    else if (key_is(key, klen, "severity", 8))
        f[I_SEVERITY] = *v;
    else if (key_is(key, klen, "opened_at", 9))
        f[I_OPENED] = *v;
    else if (key_is(key, klen, "closed_at", 9))
        f[I_CLOSED] = *v;
}

int gov_incident_read(const char *text, struct gov_incident *out)
{
    struct jscan_val f[I_COUNT] = {{0}};
    if (jscan_object(text, incident_pair, f, false)) {
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

static void op_pair(void *arg, const char *key, size_t klen, const struct jscan_val *v)
{
    struct jscan_val *f = arg;
    if (key_is(key, klen, "op", 2))
        f[O_OP] = *v;
    else if (key_is(key, klen, "at", 2))
        f[O_AT] = *v;
    else if (key_is(key, klen, "expires_at", 10))
        f[O_EXPIRES] = *v;
}

int gov_op_read(const char *text, struct gov_op *out)
{
    struct jscan_val f[O_COUNT] = {{0}};
    if (jscan_object(text, op_pair, f, false)) {
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

/* key_slot[], once: gov_spec_read calls this first. */
static void key_slots_init(void)
{
    static bool ready;
    if (ready)
        return;
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
    struct jscan_val v[NKEYS];
    uint64_t seen;
};

_Static_assert(NKEYS <= 64, "spec_fields.seen has a bit a row");

static void spec_pair(void *arg, const char *key, size_t klen, const struct jscan_val *v)
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
        const struct jscan_val *v = &f->v[i];
        bool set = v->kind != JSCAN_NULL;
        switch (spec_keys[i].kind) {
        case K_NAME: /* a name too long is no name */
            if (v->kind != JSCAN_STR || v->len > GROUP_NAME_MAX)
                return 0;
            memcpy(out->name, v->s, v->len);
            out->name[v->len] = '\0';
            if (group_check_name(out->name, NULL) < 0)
                return 0;
            break;
        case K_STATUS: /* not a string: "active" */
            if (v->kind == JSCAN_STR && v->len >= sizeof((struct group *)0)->status)
                return 0;
            out->active = v->kind != JSCAN_STR || is(v, "active", 6);
            break;
        case K_INT:
            if (set && v->kind != JSCAN_INT)
                return 0;
            if (set)
                *int_at(out, spec_keys[i].offset) = v->i;
            break;
        case K_STR:
            if (set && v->kind != JSCAN_STR)
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
    key_slots_init();
    /* spec_keys[0] and [1]: "name" and "status", which are read, not only
     * typed: an escape in either is json-c's to decode */
    if (jscan_object(text, spec_pair, &f, true) &&
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
