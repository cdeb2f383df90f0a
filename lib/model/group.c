/* group.c - the group spec: one list of fields (GROUP_FIELDS in group.h)
 * drives defaults, the typed parameters, JSON and validation. */
#include "group.h"
#include "datastore.h"
#include "jsonx.h"
#include "keys.h"
#include "utf8.h"
#include "xalloc.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*field_check)(const char *field, const char *v, struct as_error *err);

struct field {
    const char *name;
    bool is_int;
    size_t off;
    const char *def;
    long long lo, hi;
    field_check check;
};

static int one_of(const char *field, const char *v, const char *const *ok,
                  struct as_error *err)
{
    char list[128] = "";
    for (int i = 0; ok[i]; i++) {
        if (strcmp(v, ok[i]) == 0)
            return 0;
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, ok[i], sizeof list - strlen(list) - 1);
    }
    return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                   "parameter '%s' must be one of %s", field, list);
}

static int check_compute(const char *f, const char *v, struct as_error *err)
{
    static const char *const ok[] = {"local", "openstack", "digitalocean", NULL};
    return one_of(f, v, ok, err);
}

static int check_dns_provider(const char *f, const char *v, struct as_error *err)
{
    static const char *const ok[] = {"none", "powerdns", "digitalocean", NULL};
    return one_of(f, v, ok, err);
}

static int check_lb_provider(const char *f, const char *v, struct as_error *err)
{
    static const char *const ok[] = {"none", "haproxy", "digitalocean", NULL};
    return one_of(f, v, ok, err);
}

/* Every character of v in the allowed set, length within [1, max]. */
static int charset(const char *f, const char *v, const char *extra, size_t max,
                   const char *what, struct as_error *err)
{
    size_t n = strlen(v);
    bool ok = n >= 1 && n <= max;
    for (size_t i = 0; ok && i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             (c >= '0' && c <= '9') || (c && strchr(extra, c));
    }
    if (!ok)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter '%s' must be %s (at most %zu characters)", f,
                       what, max);
    return 0;
}

/* Cloud flavor/image/network/key names: real ones contain spaces and
 * parentheses ("Ubuntu 22.04 (LTS)"), never quotes, ';', '$' or control
 * characters, which only an injection attempt would carry. */
static int check_cloud_name(const char *f, const char *v, struct as_error *err)
{
    if (!*v || v[0] == ' ' || v[strlen(v) - 1] == ' ')
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter '%s' must not start or end with a space", f);
    return charset(f, v, " ._:/@+-()=", 255,
                   "letters, digits, spaces and ._:/@+-()=", err);
}

static int check_user_data(const char *f, const char *v, struct as_error *err)
{
    size_t n = strlen(v);
    if (n > 65536 || !utf8_valid(v, n))
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter '%s' must be UTF-8 text of at most 64 KiB", f);
    return 0;
}

/* A DNS zone in lowercase: labels of [a-z0-9-], not starting or ending with
 * '-', 1 to 63 characters, joined by dots, optional final dot. */
static int check_zone(const char *f, const char *v, struct as_error *err)
{
    size_t n = strlen(v);
    bool ok = n <= 254;
    if (n > 0 && v[n - 1] == '.')
        n--;
    if (!ok || key_dns_labels(v, n) < 2)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter '%s' must be a lowercase DNS zone such as "
                       "example.com",
                       f);
    return 0;
}

static int check_lb_backend(const char *f, const char *v, struct as_error *err)
{
    return charset(f, v, "._:-", 64, "letters, digits and ._:-", err);
}

static int check_run_list(const char *f, const char *v, struct as_error *err)
{
    return charset(f, v, "_:,[]@.-", 1024,
                   "a Chef run list such as recipe[web],role[base]", err);
}

static int check_channel(const char *f, const char *v, struct as_error *err)
{
    const char *rest = (v[0] == '#' || v[0] == '@') ? v + 1 : v;
    return charset(f, rest, "._-", 80, "a channel such as #ops", err);
}

/* Monitor names are free text ("Web p95 > 2s"), but never control
 * characters; commas separate the entries. */
static int check_alert_match(const char *f, const char *v, struct as_error *err)
{
    size_t n = strlen(v);
    bool ok = n <= 2048 && utf8_valid(v, n);
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)v[i] >= 0x20 && v[i] != 0x7f;
    if (!ok)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter '%s' must be comma-separated names without "
                       "control characters (at most 2048 bytes)",
                       f);
    return 0;
}

/* An HTTP path checked on each node: starts with '/', no spaces, quotes or
 * control characters (it goes into a request line). */
static int check_health_path(const char *f, const char *v, struct as_error *err)
{
    if (v[0] != '/')
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter '%s' must be a path starting with '/'", f);
    return charset(f, v, "/._~-?=&%+", 255, "a URL path such as /health", err);
}

static int check_metric_source(const char *f, const char *v, struct as_error *err)
{
    static const char *const ok[] = {"none", "prometheus", "haproxy", "newrelic", NULL};
    return one_of(f, v, ok, err);
}

/* PromQL and NRQL need quotes, brackets, operators, spaces and (in a
 * regular expression) backslashes; neither needs a control character, ';'
 * or '`', which only an injection attempt would carry. The query is sent
 * URL-encoded or as an escaped JSON string in any case. */
static int check_metric_query(const char *f, const char *v, struct as_error *err)
{
    size_t n = strlen(v);
    bool ok = n >= 1 && n <= 1000;
    for (size_t i = 0; ok && i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        ok = c >= 0x20 && c < 0x7f && c != ';' && c != '`';
    }
    if (!ok)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter '%s' must be a query of 1 to 1000 printable ASCII "
                       "characters without ';' or '`'", f);
    return 0;
}

#define FIELD_INT(n, def, lo, hi, check) {#n, true, offsetof(struct group, n), def, lo, hi, NULL},
#define FIELD_STR(n, def, lo, hi, check) {#n, false, offsetof(struct group, n), def, 0, 0, check},
#define FIELD(n, kind, def, cfg, lo, hi, check) FIELD_##kind(n, def, lo, hi, check)

static const struct field fields[] = {GROUP_FIELDS(FIELD)};
#define NFIELDS (sizeof fields / sizeof fields[0])

/* Row i of group_param_desc describes the same field as fields[i]. */
#define PARAM_ROW(n, kind, def, cfg, lo, hi, check) PARAM_DESC(struct group_params, n, kind)
const struct param_desc group_param_desc[] = {GROUP_FIELDS(PARAM_ROW)};
const size_t group_param_count = sizeof group_param_desc / sizeof group_param_desc[0];
_Static_assert(sizeof group_param_desc / sizeof group_param_desc[0] == NFIELDS,
               "group_param_desc and fields differ");

static long long *int_at(struct group *g, const struct field *f)
{
    return (long long *)((char *)g + f->off);
}

static char **str_at(struct group *g, const struct field *f)
{
    return (char **)((char *)g + f->off);
}

int group_check_name(const char *name, struct as_error *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > GROUP_NAME_MAX || name[0] < 'a' || name[0] > 'z' ||
        !key_label_ok(name, n))
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_name",
                       "group name must be a DNS label: a lowercase letter, then up "
                       "to 30 lowercase letters, digits or '-', not ending in '-'");
    return 0;
}

static void set_str(char **slot, const char *v)
{
    free(*slot);
    *slot = v && *v ? xstrdup(v) : NULL;
}

void group_init(struct group *g, const char *name)
{
    memset(g, 0, sizeof *g);
    /* A name too long is left empty, so validation refuses it instead of
     * silently accepting its truncation as another group. */
    if (name && strlen(name) <= GROUP_NAME_MAX)
        strcpy(g->name, name);
    snprintf(g->status, sizeof g->status, "active");
    for (size_t i = 0; i < NFIELDS; i++) {
        const struct field *f = &fields[i];
        if (f->is_int)
            *int_at(g, f) = f->def ? strtoll(f->def, NULL, 10) : -1;
        else
            set_str(str_at(g, f), f->def);
    }
}

void group_clear(struct group *g)
{
    for (size_t i = 0; i < NFIELDS; i++)
        if (!fields[i].is_int)
            set_str(str_at(g, &fields[i]), NULL);
    json_object_put(g->settings);
    g->settings = NULL;
}

static bool present(const struct group_params *p, size_t i)
{
    const struct param_desc *d = &group_param_desc[i];
    return d->kind == PARAM_INT ? PARAM_INT_AT(p, d) != PARAM_ABSENT
                                : PARAM_STR_AT(p, d) != NULL;
}

void group_apply(struct group *g, const struct group_params *p)
{
    for (size_t i = 0; i < NFIELDS; i++) {
        const struct field *f = &fields[i];
        if (!present(p, i))
            continue;
        if (f->is_int)
            *int_at(g, f) = PARAM_INT_AT(p, &group_param_desc[i]);
        else
            set_str(str_at(g, f), PARAM_STR_AT(p, &group_param_desc[i]));
    }
}

/* One field's own rule: its range, or its check function. */
static int check_field(const struct group *g, const struct field *f, struct as_error *err)
{
    if (f->is_int) {
        long long v = *int_at((struct group *)g, f);
        if (v < f->lo || v > f->hi)
            return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                           "parameter '%s' must be between %lld and %lld, got %lld",
                           f->name, f->lo, f->hi, v);
        return 0;
    }
    const char *v = *str_at((struct group *)g, f);
    return v && f->check(f->name, v, err) < 0 ? -1 : 0;
}

int group_check_given(const struct group_params *p, struct as_error *err)
{
    struct group g;
    int rc = 0;
    group_init(&g, "scratch");
    group_apply(&g, p);
    for (size_t i = 0; i < NFIELDS && rc == 0; i++)
        if (present(p, i))
            rc = check_field(&g, &fields[i], err);
    group_clear(&g);
    return rc;
}

bool group_tracks_target(const struct group *g)
{
    return g->metric_source && strcmp(g->metric_source, "none") != 0 &&
           g->target_value > 0;
}

/* A metric source with nothing to read or nothing to aim at would sample
 * for nobody; a target without a source would never be met. HAProxy's
 * statistics are read by name: the per-server fields worth tracking. */
static int check_target(const struct group *g, struct as_error *err)
{
    bool source = g->metric_source && strcmp(g->metric_source, "none") != 0;
#define STAT_NAME(n) #n,
    static const char *const stats[] = {GROUP_LB_STATS(STAT_NAME) NULL};
#undef STAT_NAME
    if (!source && g->target_value > 0)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_target",
                       "target_value needs a metric_source");
    if (!source)
        return 0;
    if (g->target_value <= 0 || !g->metric_query)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_target",
                       "metric_source %s needs a metric_query and a target_value above 0",
                       g->metric_source);
    if (strcmp(g->metric_source, "haproxy") == 0)
        return one_of("metric_query", g->metric_query, stats, err);
    return 0;
}

int group_validate(const struct group *g, struct as_error *err)
{
    if (group_check_name(g->name, err) < 0)
        return -1;
    for (size_t i = 0; i < NFIELDS; i++)
        if (check_field(g, &fields[i], err) < 0)
            return -1;
    if (g->min > g->max)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_limits",
                       "min (%lld) must not exceed max (%lld)", g->min, g->max);
    if (g->desired >= 0 && (g->desired < g->min || g->desired > g->max))
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_limits",
                       "desired (%lld) must lie between min (%lld) and max (%lld)",
                       g->desired, g->min, g->max);
    if (g->min_healthy > g->max)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_limits",
                       "min_healthy (%lld) must not exceed max (%lld)", g->min_healthy,
                       g->max);
    return check_target(g, err);
}

struct json_object *group_to_json(const struct group *g)
{
    struct json_object *o = jx_new_object();
    jx_add_str(o, "name", g->name);
    for (size_t i = 0; i < NFIELDS; i++) {
        const struct field *f = &fields[i];
        if (f->is_int) {
            long long v = *int_at((struct group *)g, f);
            if (v < 0) /* only desired and min_healthy may be unset */
                json_object_object_add(o, f->name, NULL);
            else
                jx_add_int(o, f->name, v);
        } else {
            jx_add_str(o, f->name, *str_at((struct group *)g, f));
        }
    }
    json_object_object_add(o, "settings",
                           g->settings ? json_object_get(g->settings) : NULL);
    jx_add_str(o, "status", g->status);
    jx_add_int(o, "created_at", g->created_at);
    jx_add_int(o, "updated_at", g->updated_at);
    jx_add_int(o, "forced_at", g->forced_at);
    return o;
}

int group_from_json(struct group *g, struct json_object *o, struct as_error *err)
{
    group_init(g, jx_str(o, "name", ""));
    if (group_check_name(g->name, NULL) < 0) {
        group_clear(g);
        return as_fail(err, AS_EXIT_FAILURE, "corrupt_record",
                       "a stored group spec has no valid name");
    }
    for (size_t i = 0; i < NFIELDS; i++) {
        const struct field *f = &fields[i];
        struct json_object *v = NULL;
        if (!json_object_object_get_ex(o, f->name, &v) || !v)
            continue;
        bool right = f->is_int ? json_object_is_type(v, json_type_int)
                               : json_object_is_type(v, json_type_string) &&
                                     utf8_valid(json_object_get_string(v),
                                                   (size_t)json_object_get_string_len(v));
        if (!right) {
            group_clear(g);
            return as_fail(err, AS_EXIT_FAILURE, "corrupt_record",
                           "stored spec of group %s has a bad '%s'", g->name, f->name);
        }
        if (f->is_int)
            *int_at(g, f) = json_object_get_int64(v);
        else
            set_str(str_at(g, f), json_object_get_string(v));
    }
    /* json-c keeps any bytes in a string; st2 wants UTF-8 output. */
    struct json_object *settings = jx_obj(o, "settings");
    const char *st = settings ? json_object_to_json_string_ext(settings, JSON_C_TO_STRING_PLAIN)
                              : "";
    const char *status = jx_str(o, "status", "active");
    if (!utf8_valid(st, strlen(st)) || !utf8_valid(status, strlen(status)) ||
        strlen(status) >= sizeof g->status) {
        group_clear(g);
        return as_fail(err, AS_EXIT_FAILURE, "corrupt_record",
                       "stored spec of group %s is not valid UTF-8 or has a bad status",
                       g->name);
    }
    g->settings = settings ? json_object_get(settings) : NULL;
    snprintf(g->status, sizeof g->status, "%s", status);
    g->created_at = jx_int(o, "created_at", 0);
    g->updated_at = jx_int(o, "updated_at", 0);
    g->forced_at = jx_int(o, "forced_at", 0);
    return 0;
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void note(char *buf, size_t size, int n, const char *name)
{
    if (size == 0)
        return;
    strncat(buf, n ? "," : "", size - strlen(buf) - 1);
    strncat(buf, name, size - strlen(buf) - 1);
}

int group_diff(const struct group *a, const struct group *b, char *buf,
               size_t size)
{
    int n = 0;
    if (size)
        buf[0] = '\0';
    for (size_t i = 0; i < NFIELDS; i++) {
        const struct field *f = &fields[i];
        bool same = f->is_int
                        ? *int_at((struct group *)a, f) == *int_at((struct group *)b, f)
                        : same_str(*str_at((struct group *)a, f),
                                   *str_at((struct group *)b, f));
        if (!same)
            note(buf, size, n++, f->name);
    }
    bool same_settings = (!a->settings || !b->settings)
                             ? !a->settings == !b->settings
                             : json_object_equal(a->settings, b->settings);
    if (!same_settings)
        note(buf, size, n++, "settings");
    return n;
}

int group_exists(struct ds *ds, const char *name, struct as_error *err)
{
    char key[KEY_MAX], *text = NULL;
    int rc = ds_get(ds, key_spec(key, name), &text, err);
    free(text);
    if (rc < 0)
        return -1;
    if (rc == DS_ABSENT)
        return as_fail(err, AS_EXIT_BADINPUT, "unknown_group", "no group named '%s'", name);
    return 0;
}
