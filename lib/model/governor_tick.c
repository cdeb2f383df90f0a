/* governor_tick.c - see governor_tick.h. */
#include "governor_tick.h"
#include "asg.h"
#include "governor.h"
#include "group.h"
#include "jsonx.h"
#include "lease.h"
#include "signals.h"

#include <stdio.h>
#include <string.h>

int gov_tick_check(const struct gov_tick *t, struct as_error *err)
{
    if (t->lease_ttl < GOV_TICK_TTL_MIN || t->lease_ttl > GOV_TICK_TTL_MAX)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'lease_ttl' must be between %d and %d seconds",
                       GOV_TICK_TTL_MIN, GOV_TICK_TTL_MAX);
    return t->name ? group_check_name(t->name, err) : 0;
}

static struct json_object *decision_json(const struct asg_state *st,
                                         const struct gov_input *in,
                                         const struct gov_decision *d, const char *lease)
{
    struct json_object *o = jx_new_object();
    jx_add_str(o, "group", st->spec.name);
    jx_add_str(o, "action", gov_action_name(d->action));
    jx_add_int(o, "count", d->count);
    jx_add_int(o, "capacity_before", d->capacity_before);
    jx_add_int(o, "capacity_after", d->capacity_after);
    jx_add_str(o, "alert", gov_severity_name(in->alert));
    jx_add_str(o, "reason", d->reason);
    jx_add_str(o, "lease_id", lease);
    return o;
}

/* Decide for one group and, when acting, take the lease. A lease another
 * tick (or asg_create's own tick) took between our reading the group and
 * our claim is that group's "none", not a failure of the whole tick.
 * 1: acting, 0: not, -1: failed. */
static int tick_one(struct ds *ds, const struct asg_state *st, long long now, bool act,
                    long ttl, struct json_object *list, struct as_error *err)
{
    struct gov_input in;
    struct gov_decision d;
    char lease[LEASE_ID_MAX] = "";

    if (strcmp(st->spec.status, "active") != 0)
        return 0; /* being deleted: the governor keeps its hands off */
    governor_input_from_state(st, now, &in);
    governor_decide(&in, &d);
    if (d.action != GOV_NONE && act) {
        int rc = lease_take(ds, st->spec.name, gov_action_name(d.action), d.count,
                            d.reason, now, ttl, lease, err);
        if (rc < 0)
            return -1;
        if (rc == LEASE_TAKEN) {
            d.action = GOV_NONE;
            d.count = 0;
            d.capacity_after = d.capacity_before;
            snprintf(d.reason, sizeof d.reason, "%s",
                     "another operation took the group's lease first: it is in "
                     "flight, so nothing more is decided now");
        }
    }
    json_object_array_add(list, decision_json(st, &in, &d, lease[0] ? lease : NULL));
    return d.action != GOV_NONE;
}

/* A tick that fails part-way prints no decisions, so nobody would dispatch
 * the leases it already took: give them back (best effort; what cannot be
 * released expires with lease_ttl) so the next tick decides those groups
 * again instead of leaving them frozen. */
static void release_taken(struct ds *ds, struct json_object *list)
{
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        struct json_object *d = json_object_array_get_idx(list, i), *out = NULL;
        const char *lease = jx_str(d, "lease_id", NULL);
        struct as_error ignored;
        if (lease && lease_release(ds, jx_str(d, "group", ""), lease, &out, &ignored) == 0)
            json_object_put(out);
    }
}

int gov_tick_run(struct ds *ds, const struct gov_tick *t, long long now,
                 struct json_object **out, struct as_error *err)
{
    struct asg_state one, *st = &one;
    size_t n = 1;
    long long acting = 0;
    int rc = 0;

    if ((t->name ? asg_state_load(ds, t->name, &one, err)
                 : asg_state_load_all(ds, &st, &n, err)) < 0)
        return -1;
    struct json_object *list = jx_new_array();
    for (size_t i = 0; i < n && rc >= 0 && !as_interrupted(); i++) {
        rc = tick_one(ds, &st[i], now, t->act, (long)t->lease_ttl, list, err);
        acting += rc > 0;
    }
    if (t->name)
        asg_state_clear(&one);
    else
        asg_state_free_all(st, n);
    if (rc < 0) {
        release_taken(ds, list);
        json_object_put(list);
        return -1;
    }
    *out = jx_new_object();
    jx_add_int(*out, "evaluated", (long long)n);
    jx_add_int(*out, "acting", acting);
    jx_add_bool(*out, "dry_run", !t->act);
    jx_add_int(*out, "now", now);
    json_object_object_add(*out, "decisions", list);
    return 0;
}
