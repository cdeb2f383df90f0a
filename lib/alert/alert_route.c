/* alert_route.c - see alert_route.h. */
#include "alert_route.h"
#include "jsonx.h"
#include "keys.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void alert_router_init(struct alert_router *r, struct ds *ds)
{
    memset(r, 0, sizeof *r);
    r->ds = ds;
}

void alert_router_clear(struct alert_router *r)
{
    for (size_t i = 0; i < r->n; i++)
        group_clear(&r->groups[i]);
    free(r->groups);
    memset(r, 0, sizeof *r);
}

static int load(struct alert_router *r, struct as_error *err)
{
    char key[KEY_MAX];
    struct ds_list l = {0};

    if (r->loaded)
        return 0;
    if (ds_list(r->ds, key_spec_prefix(key), &l, err) < 0)
        return -1;
    r->groups = xcalloc(l.count ? l.count : 1, sizeof *r->groups);
    for (size_t i = 0; i < l.count; i++) {
        struct json_object *o = jx_parse_record(l.items[i].value);
        struct as_error ignored;
        if (o && group_from_json(&r->groups[r->n], o, &ignored) == 0)
            r->n++;
        json_object_put(o);
    }
    ds_list_clear(&l);
    r->loaded = 1;
    return 0;
}

const struct group *alert_router_find(struct alert_router *r, const char *name,
                                      struct as_error *err)
{
    if (load(r, err) < 0)
        return NULL;
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->groups[i].name, name) == 0)
            return &r->groups[i];
    return NULL;
}

/* Is `name` one of the comma-separated entries of list? */
static int listed(const char *list, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (n == len && n > 0 && strncasecmp(p, name, n) == 0)
            return 1;
        p = end;
    }
    return 0;
}

static int named(struct alert_router *r, const char *name, const char *why,
                 const struct group **out, size_t *n, struct as_error *err)
{
    struct as_error lerr;
    as_error_clear(&lerr);
    const struct group *g = alert_router_find(r, name, &lerr);
    if (!g && lerr.code[0]) { /* the datastore failed, not the lookup */
        *err = lerr;
        return -1;
    }
    if (!g)
        return as_fail(err, AS_EXIT_BADINPUT, "unknown_group",
                       "the event names group '%.40s' (%s), which does not exist",
                       name, why);
    out[0] = g;
    *n = 1;
    return 0;
}

int alert_route(struct alert_router *r, const char *explicit_group,
                const struct alert_event *e, const struct group **out, size_t max,
                size_t *n, struct as_error *err)
{
    char seen[300] = "";

    *n = 0;
    as_error_clear(err);
    if (explicit_group && *explicit_group)
        return named(r, explicit_group, "asg parameter", out, n, err);
    if (e->group[0])
        return named(r, e->group, "its asg label", out, n, err);
    if (load(r, err) < 0)
        return -1;
    for (size_t i = 0; i < r->n && *n < max; i++) {
        const char *list = r->groups[i].alert_match;
        for (char **nm = e->names; list && nm && *nm; nm++) {
            if (listed(list, *nm)) {
                out[(*n)++] = &r->groups[i];
                break;
            }
        }
    }
    if (*n > 0)
        return 0;
    for (char **nm = e->names; nm && *nm; nm++) {
        strncat(seen, nm == e->names ? "" : ", ", sizeof seen - strlen(seen) - 1);
        strncat(seen, *nm, sizeof seen - strlen(seen) - 1);
    }
    return as_fail(err, AS_EXIT_BADINPUT, "unknown_group",
                   "no group for this %s event: no asg parameter, no asg label or "
                   "tag, and no group's alert_match lists any of [%s]",
                   e->source, seen);
}
