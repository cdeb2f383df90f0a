/* samples.c - see samples.h. */
#include "samples.h"
#include "jscan.h"
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
 * The records samples_append writes are plain, so the strict primitives of
 * jscan.h read exactly that shape - {"group":"..","source":"..","samples":
 * [{"at":N,"value":X,"nodes":N} or {"at":N,"error":".."}, ...]}, strings
 * without escapes, no other keys, no whitespace - and anything else is
 * declined, which json-c then reads as above (governor_record.h does the
 * same for the other records). */

/* One sample as samples_append writes it, entry()'s reading of it: past
 * it, or NULL. */
static const char *fast_entry(const char *p, struct gov_sample *s)
{
    long long at, nodes;
    double value;
    const char *str, *q;
    size_t len;
    if (!(p = jscan_lit(p, "{\"at\":")) || !(p = jscan_int(p, &at)))
        return NULL;
    if ((q = jscan_lit(p, ",\"error\":"))) {
        if (!(p = jscan_string(q, &str, &len)) || !(p = jscan_lit(p, "}")))
            return NULL;
        *s = (struct gov_sample){.at = at, .ok = false};
        return p;
    }
    if (!(p = jscan_lit(p, ",\"value\":")) || !(p = jscan_number(p, &value)) ||
        !(p = jscan_lit(p, ",\"nodes\":")) || !(p = jscan_int(p, &nodes)) ||
        !(p = jscan_lit(p, "}")) || nodes < 0 || nodes > 1000000)
        return NULL;
    *s = (struct gov_sample){.at = at, .value = value, .nodes = (int)nodes, .ok = true};
    if (!isfinite(value))
        s->ok = false, s->value = 0;
    return p;
}

/* 1 read (*out, *n as samples_read leaves them), 0 declined. */
static int fast_read(const char *text, struct gov_sample **out, int *n)
{
    const char *p = text, *str;
    size_t len;
    struct gov_sample v[SAMPLES_MAX + 1];
    int k = 0, seen = 0;
    if (!(p = jscan_lit(p, "{\"group\":")) || !(p = jscan_string(p, &str, &len)) ||
        !(p = jscan_lit(p, ",\"source\":")) || !(p = jscan_string(p, &str, &len)) ||
        !(p = jscan_lit(p, ",\"samples\":[")))
        return 0;
    /* a comma after every entry but the last, a skipped one too (seen, not
     * k: [{"at":0,..}{"at":5,..}] is no JSON, and json-c reads none) */
    while (*p != ']') {
        if (k == SAMPLES_MAX + 1 || (seen++ > 0 && !(p = jscan_lit(p, ","))))
            return 0;
        struct gov_sample s;
        if (!(p = fast_entry(p, &s)))
            return 0;
        if (s.at > 0)
            v[k++] = s;
    }
    if (!(p = jscan_lit(p, "]}")) || *p != '\0')
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
