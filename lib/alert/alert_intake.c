/* alert_intake.c - see alert_intake.h. */
#include "alert_intake.h"
#include "alert_route.h"
#include "incident.h"
#include "jsonx.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

int alert_batch_parse(const char *text, const char *source_hint, struct alert_batch *b,
                      struct as_error *err)
{
    size_t len = strlen(text);
    memset(b, 0, sizeof *b);
    if (len > (size_t)ALERT_BODY_MAX)
        return as_fail(err, AS_EXIT_BADINPUT, "payload_too_large",
                       "the body is %zu bytes; at most %ld are accepted", len,
                       ALERT_BODY_MAX);
    /* Not JSON: maybe a raw form post, which alert_normalise() decodes. */
    b->body = jx_parse(text, len, "body", "invalid_payload", AS_EXIT_BADINPUT, err);
    if (!b->body)
        b->body = jx_new_string(text);
    if (alert_normalise(b->body, source_hint, &b->events, &b->n, err) < 0) {
        alert_batch_clear(b);
        return -1;
    }
    return 0;
}

void alert_batch_clear(struct alert_batch *b)
{
    alert_events_free(b->events, b->n);
    json_object_put(b->body);
    memset(b, 0, sizeof *b);
}

/* One event bound for one group (NULL: ignored, reported only). */
struct routed {
    const struct alert_event *event;
    const struct group *group;
};

static struct json_object *describe(const struct routed *r, enum incident_change c)
{
    struct json_object *o = jx_new_object();
    jx_add_str(o, "group", r->group ? r->group->name : NULL);
    jx_add_str(o, "source", r->event->source);
    jx_add_str(o, "id", r->event->id);
    jx_add_str(o, "state", alert_state_name(r->event->state));
    jx_add_str(o, "severity", alert_severity_name(r->event->severity));
    jx_add_str(o, "title", r->event->title);
    jx_add_str(o, "change", incident_change_name(c));
    if (r->event->state == ALERT_IGNORE)
        jx_add_str(o, "why", r->event->why);
    return o;
}

/* Every route first, so an event that routes nowhere fails the body before
 * any incident is written. */
static int route_all(struct alert_router *router, const char *asg,
                     const struct alert_batch *b, struct routed **out, size_t *nout,
                     struct as_error *err)
{
    size_t cap = b->n * ALERT_ROUTES_MAX, n = 0;
    struct routed *rt = xcalloc(cap ? cap : 1, sizeof *rt);
    const struct group *groups[ALERT_ROUTES_MAX];

    for (size_t i = 0; i < b->n; i++) {
        const struct alert_event *ev = &b->events[i];
        size_t ng = 0;
        if (ev->state == ALERT_IGNORE) { /* nothing to route: report it */
            rt[n++] = (struct routed){ev, NULL};
            continue;
        }
        if (alert_route(router, asg, ev, groups, ALERT_ROUTES_MAX, &ng, err) < 0) {
            free(rt);
            return -1;
        }
        for (size_t g = 0; g < ng; g++)
            rt[n++] = (struct routed){ev, groups[g]};
    }
    *out = rt;
    *nout = n;
    return 0;
}

/* The number of incidents changed, or -1. */
static int apply_all(struct ds *ds, const struct routed *rt, size_t n, long long now,
                     struct json_object *list, struct as_error *err)
{
    long long changed = 0;
    for (size_t i = 0; i < n; i++) {
        enum incident_change c = INC_IGNORED;
        if (rt[i].group && incident_apply(ds, rt[i].group->name, rt[i].event, now,
                                          rt[i].group->incident_max_age, &c, NULL,
                                          err) < 0)
            return -1;
        changed += c != INC_DUPLICATE && c != INC_IGNORED;
        json_object_array_add(list, describe(&rt[i], c));
    }
    return (int)changed;
}

int alert_batch_record(struct ds *ds, const struct alert_batch *b, const char *asg,
                       long long now, struct json_object **out, struct as_error *err)
{
    struct alert_router router;
    struct routed *rt = NULL;
    size_t nrt = 0;
    int rc = -1;

    alert_router_init(&router, ds);
    if (route_all(&router, asg, b, &rt, &nrt, err) == 0) {
        struct json_object *list = jx_new_array();
        int changed = apply_all(ds, rt, nrt, now, list, err);
        if (changed >= 0) {
            *out = jx_new_object();
            jx_add_int(*out, "changed", changed);
            json_object_object_add(*out, "events", list);
            rc = 0;
        } else {
            json_object_put(list);
        }
    }
    free(rt);
    alert_router_clear(&router);
    return rc;
}
