/* alert_route.h - which group(s) a normalised alert event belongs to.
 *
 * In order: the group the caller named (alert_event's `asg` parameter); else
 * the event's own `asg` label or tag; else every group whose alert_match
 * list names one of the event's policy, condition, application or entity
 * names (case-insensitive, whole names). A named group must exist. */
#ifndef AS_ALERT_ROUTE_H
#define AS_ALERT_ROUTE_H

#include <stddef.h>

#include "alert.h"
#include "datastore.h"
#include "error.h"
#include "group.h"

struct alert_router {
    struct ds *ds;
    struct group *groups; /* every spec, loaded on first need */
    size_t n;
    int loaded;
};

void alert_router_init(struct alert_router *r, struct ds *ds);
void alert_router_clear(struct alert_router *r);

/* The spec of a known group, or NULL. */
const struct group *alert_router_find(struct alert_router *r, const char *name,
                                      struct as_error *err);

/* Fill out[0..*n) (at most max) with the groups for e. No group at all is
 * AS_EXIT_BADINPUT "unknown_group", its message listing what was looked at. */
int alert_route(struct alert_router *r, const char *explicit_group,
                const struct alert_event *e, const struct group **out, size_t max,
                size_t *n, struct as_error *err);

#endif
