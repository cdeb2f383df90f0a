/* samples.c - see samples.h. */
#include "samples.h"
#include "jsonx.h"
#include "xalloc.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* One entry, as samples_read reads it: 1 with *s filled, 0 when skipped. */
static int entry(struct json_object *e, struct gov_sample *s)
{
    struct json_object *v = NULL;
    if (!json_object_is_type(e, json_type_object))
        return 0;
    s->at = jx_int(e, "at", 0);
    if (s->at <= 0)
        return 0;
    s->nodes = (int)jx_int(e, "nodes", 0);
    s->ok = !json_object_object_get_ex(e, "error", NULL) &&
            json_object_object_get_ex(e, "value", &v) &&
            (json_object_is_type(v, json_type_double) ||
             json_object_is_type(v, json_type_int));
    s->value = s->ok ? json_object_get_double(v) : 0;
    if (s->ok && !isfinite(s->value))
        s->ok = false, s->value = 0;
    return 1;
}

static int read_array(struct json_object *rec, struct gov_sample **out, int *n)
{
    struct json_object *arr = NULL;
    *out = NULL;
    *n = 0;
    if (!rec || !json_object_object_get_ex(rec, "samples", &arr) ||
        !json_object_is_type(arr, json_type_array))
        return 0;
    size_t len = json_object_array_length(arr);
    if (len == 0)
        return 0;
    *out = xcalloc(len, sizeof **out);
    for (size_t i = 0; i < len; i++)
        *n += entry(json_object_array_get_idx(arr, i), &(*out)[*n]);
    if (*n == 0) {
        free(*out);
        *out = NULL;
    }
    return *n;
}

/* ---- the fast path ----
 *
 * A tick over every tracking group reads every samples record, and json-c
 * spent ~175,000 instructions on one of 20 samples: more than deciding.
 * The records samples_append writes are plain, so a strict scanner reads
 * exactly that shape - {"group":"..","source":"..","samples":[{"at":N,
 * "value":X,"nodes":N} or {"at":N,"error":".."}, ...]}, strings without
 * escapes, no other keys, no whitespace - and declines anything else, which
 * json-c then reads as above (governor_record.h does the same for the
 * other records). */

struct scan {
    const char *p;
};

static bool lit(struct scan *c, const char *s)
{
    size_t n = strlen(s);
    if (strncmp(c->p, s, n) != 0)
        return false;
    c->p += n;
    return true;
}

/* A string of printable ASCII without escapes, its closing quote passed. */
static bool plain_string(struct scan *c)
{
    if (*c->p != '"')
        return false;
    const char *q = c->p + 1;
    while (*q >= 0x20 && *q < 0x7f && *q != '"' && *q != '\\')
        q++;
    if (*q != '"')
        return false;
    c->p = q + 1;
    return true;
}

/* A JSON integer of at most 18 digits (no leading zero). */
static bool integer(struct scan *c, long long *v)
{
    const char *q = c->p;
    bool neg = *q == '-';
    q += neg;
    if (*q < '0' || *q > '9' || (*q == '0' && q[1] >= '0' && q[1] <= '9'))
        return false;
    long long x = 0;
    int digits = 0;
    for (; *q >= '0' && *q <= '9'; q++, digits++)
        x = x * 10 + (*q - '0');
    if (digits > 18 || *q == '.' || *q == 'e' || *q == 'E')
        return false;
    *v = neg ? -x : x;
    c->p = q;
    return true;
}

/* A JSON number (an integer or not): JSON's grammar checked, strtod reads. */
static bool number(struct scan *c, double *v)
{
    const char *q = c->p, *start = q;
    q += *q == '-';
    if (*q == '0')
        q++;
    else if (*q >= '1' && *q <= '9')
        while (*q >= '0' && *q <= '9')
            q++;
    else
        return false;
    if (*q == '.') {
        if (*++q < '0' || *q > '9')
            return false;
        while (*q >= '0' && *q <= '9')
            q++;
    }
    if (*q == 'e' || *q == 'E') {
        q += (q[1] == '+' || q[1] == '-') + 1;
        if (*q < '0' || *q > '9')
            return false;
        while (*q >= '0' && *q <= '9')
            q++;
    }
    char *end;
    *v = strtod(start, &end);
    if (end != q)
        return false;
    c->p = q;
    return true;
}

/* One sample as samples_append writes it; entry()'s reading of it. */
static bool fast_entry(struct scan *c, struct gov_sample *s)
{
    long long at, nodes;
    double value;
    if (!lit(c, "{\"at\":") || !integer(c, &at))
        return false;
    if (lit(c, ",\"error\":")) {
        if (!plain_string(c) || !lit(c, "}"))
            return false;
        *s = (struct gov_sample){.at = at, .ok = false};
    } else {
        if (!lit(c, ",\"value\":") || !number(c, &value) || !lit(c, ",\"nodes\":") ||
            !integer(c, &nodes) || !lit(c, "}") || nodes < 0 || nodes > 1000000)
            return false;
        *s = (struct gov_sample){.at = at, .value = value, .nodes = (int)nodes, .ok = true};
        if (!isfinite(value))
            s->ok = false, s->value = 0;
    }
    return true;
}

/* 1 read (*out, *n as samples_read leaves them), 0 declined. */
static int fast_read(const char *text, struct gov_sample **out, int *n)
{
    struct scan c = {text};
    struct gov_sample v[SAMPLES_MAX + 1];
    int k = 0;
    if (!lit(&c, "{\"group\":") || !plain_string(&c) || !lit(&c, ",\"source\":") ||
        !plain_string(&c) || !lit(&c, ",\"samples\":["))
        return 0;
    while (*c.p != ']') {
        if (k == SAMPLES_MAX + 1 || (k > 0 && !lit(&c, ",")))
            return 0;
        struct gov_sample s;
        if (!fast_entry(&c, &s))
            return 0;
        if (s.at > 0)
            v[k++] = s;
    }
    if (!lit(&c, "]}") || *c.p != '\0')
        return 0;
    *out = NULL;
    *n = k;
    if (k) {
        *out = xcalloc((size_t)k, sizeof **out);
        memcpy(*out, v, (size_t)k * sizeof *v);
    }
    return 1;
}

int samples_read(const char *text, struct gov_sample **out, int *n)
{
    if (text && fast_read(text, out, n))
        return *n;
    struct json_object *rec = text ? jx_parse_record(text) : NULL;
    read_array(rec, out, n);
    json_object_put(rec);
    return *n;
}

static struct json_object *sample_json(const struct gov_sample *s, const char *error_code)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "at", json_object_new_int64(s->at));
    if (s->ok) {
        json_object_object_add(o, "value", json_object_new_double(s->value));
        json_object_object_add(o, "nodes", json_object_new_int(s->nodes));
    } else {
        json_object_object_add(o, "error",
                               json_object_new_string(error_code ? error_code : "failed"));
    }
    return o;
}

struct json_object *samples_append(struct json_object *record, const char *group,
                                   const char *source, const struct gov_sample *s,
                                   const char *error_code, long long now)
{
    struct json_object *arr = NULL;
    size_t len = record && json_object_object_get_ex(record, "samples", &arr) &&
                         json_object_is_type(arr, json_type_array)
                     ? json_object_array_length(arr)
                     : 0;
    /* the readable entries kept as they are (a failed one keeps its code) */
    struct json_object **kept = xcalloc(len + 1, sizeof *kept);
    long long *at = xcalloc(len + 1, sizeof *at);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        struct gov_sample old;
        struct json_object *e = json_object_array_get_idx(arr, i);
        if (entry(e, &old)) {
            kept[n] = e;
            at[n++] = old.at;
        }
    }
    struct gov_sample fresh = *s;
    if (fresh.ok && !isfinite(fresh.value))
        fresh.ok = false, error_code = "not_a_number";
    bool add = n == 0 || fresh.at > at[n - 1];
    size_t first = 0, total = n + add;
    while (first < n && at[first] < now - SAMPLES_KEEP)
        first++;
    if (total - first > SAMPLES_MAX)
        first = total - SAMPLES_MAX;

    struct json_object *out = json_object_new_object(), *list = json_object_new_array();
    json_object_object_add(out, "group", json_object_new_string(group));
    json_object_object_add(out, "source", json_object_new_string(source ? source : ""));
    for (size_t i = first; i < n; i++)
        json_object_array_add(list, json_object_get(kept[i]));
    if (add)
        json_object_array_add(list, sample_json(&fresh, error_code));
    json_object_object_add(out, "samples", list);
    free(kept);
    free(at);
    return out;
}
