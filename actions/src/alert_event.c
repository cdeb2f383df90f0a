/* alert_event - one entry for every monitor's webhook: New Relic (three
 * generations), Prometheus Alertmanager, and a generic form. Normalises the
 * body into incident events, finds each event's group, and records the
 * incident's new state. Validates everything before writing anything, so a
 * body with one bad alert changes no group. */
#include "alert.h"
#include "alert_route.h"
#include "clock.h"
#include "incident.h"
#include "jsonx.h"
#include "st2.h"

#include <string.h>

#define BODY_MAX (4L << 20)
#define ROUTES_MAX 16

static const struct as_param params[] = {
    {"body", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"asg", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"source", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    AS_PARAM_END,
};

/* The body is JSON text (a rule passes trigger.body | to_json_string); a
 * body that is not JSON may be a raw form post, handed on as a string. */
static struct json_object *parse_body(const char *text, struct as_error *err)
{
    size_t len = strlen(text);
    if (len > (size_t)BODY_MAX) {
        as_fail(err, AS_EXIT_BADINPUT, "payload_too_large",
                "the body is %zu bytes; at most %ld are accepted", len, BODY_MAX);
        return NULL;
    }
    struct json_object *o = jx_parse(text, len, "body", "invalid_payload",
                                     AS_EXIT_BADINPUT, err);
    return o ? o : json_object_new_string(text);
}

struct routed {
    const struct alert_event *event;
    const struct group *group;
};

static struct json_object *describe(const struct routed *r, enum incident_change c)
{
    struct json_object *o = json_object_new_object();
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

static int apply_all(struct ds *ds, struct routed *rt, size_t n, struct json_object *list,
                     struct as_error *err)
{
    long long now = as_now(), changed = 0;
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

static int route_all(struct alert_router *router, const char *asg,
                     const struct alert_event *ev, size_t nev, struct routed **out,
                     size_t *nout, struct as_error *err)
{
    size_t cap = nev * ROUTES_MAX, n = 0;
    struct routed *rt = calloc(cap ? cap : 1, sizeof *rt);
    const struct group *groups[ROUTES_MAX];

    for (size_t i = 0; rt && i < nev; i++) {
        size_t ng = 0;
        if (ev[i].state == ALERT_IGNORE) { /* nothing to route: report it */
            rt[n++] = (struct routed){&ev[i], NULL};
            continue;
        }
        if (alert_route(router, asg, &ev[i], groups, ROUTES_MAX, &ng, err) < 0) {
            free(rt);
            return -1;
        }
        for (size_t g = 0; g < ng; g++)
            rt[n++] = (struct routed){&ev[i], groups[g]};
    }
    *out = rt;
    *nout = n;
    return rt ? 0 : as_fail(err, AS_EXIT_FAILURE, "out_of_memory", "out of memory");
}

static int cmd_alert_event(struct as_ctx *ctx, struct json_object **out,
                           struct as_error *err)
{
    struct alert_event *ev = NULL;
    struct routed *rt = NULL;
    struct alert_router router;
    size_t nev = 0, nrt = 0;
    struct ds *ds;
    int rc = -1;

    struct json_object *body = parse_body(as_arg_str(ctx->args, "body"), err);
    if (!body || alert_normalise(body, as_arg_str(ctx->args, "source"), &ev, &nev,
                                 err) < 0) {
        json_object_put(body);
        return -1;
    }
    if (!(ds = as_ctx_ds(ctx, err)))
        goto out;
    alert_router_init(&router, ds);
    if (route_all(&router, as_arg_str(ctx->args, "asg"), ev, nev, &rt, &nrt, err) == 0) {
        struct json_object *list = json_object_new_array();
        int changed = apply_all(ds, rt, nrt, list, err);
        if (changed >= 0) {
            *out = json_object_new_object();
            jx_add_int(*out, "changed", changed);
            json_object_object_add(*out, "events", list);
            rc = 0;
        } else {
            json_object_put(list);
        }
    }
    free(rt);
    alert_router_free(&router);
out:
    alert_events_free(ev, nev);
    json_object_put(body);
    return rc;
}

AS_ACTION(alert_event, params, cmd_alert_event);
