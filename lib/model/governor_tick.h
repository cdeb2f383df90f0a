/* governor_tick.h - one tick of the governor: load every group (or one),
 * decide for each (governor.h) and, when acting, take the lease of each
 * group that is to scale or replace (lease.h, op as the action's name), so
 * the next tick does not decide it again while the workflow runs. What the
 * governor_tick action runs; the action only reads its parameters into
 * struct gov_tick and prints. */
#ifndef AS_GOVERNOR_TICK_H
#define AS_GOVERNOR_TICK_H

#include <json-c/json.h>
#include <stdbool.h>

#include "datastore.h"
#include "error.h"

#define GOV_TICK_TTL_MIN 60    /* lease_ttl's range, seconds */
#define GOV_TICK_TTL_MAX 86400

struct gov_tick {
    const char *name;    /* one group, or NULL: every group */
    bool act;            /* take leases; false: a dry run, nothing written */
    bool react;          /* with act: an alert's own tick (alert_respond), see
                            gov_tick_run */
    long long lease_ttl; /* seconds the leases taken live */
};

/* The request's own checks, before any datastore is opened: lease_ttl in
 * range, a valid group name. AS_EXIT_BADINPUT. */
int gov_tick_check(const struct gov_tick *t, struct as_error *err);

/* Run the tick at `now` (epoch seconds). *out (new) prints as {evaluated,
 * acting, dry_run, now, decisions: [{group, action, code, count, remove,
 * capacity_before, capacity_after, alert, reason, lease_id}], notices:
 * [{group, event, reason, count}]}: its text was
 * written as the tick decided (governor_tick.c), so it is a json-c object
 * with nothing inside to look up; parse what json_object_to_json_string
 * gives to read it. Every group is read through governor_load.h, one group
 * (name) through asg_state_load(). Groups not "active" (being deleted) are
 * skipped. A lease another tick took first makes that group's decision
 * "none" (code lease_held), not a failure. Acting, every decision ("none"
 * included) goes to the group's history (history_note, at now * 1000 ms)
 * and the notices are history_notices() of each; a dry run writes nothing
 * and its notices are empty. A signal (as_interrupted) stops the tick between
 * groups, with the decisions made so far. A tick that fails part-way
 * returns -1 and gives back the leases it took, best effort, since nobody
 * would dispatch them.
 *
 * react (with act) is the tick an alert runs at once (the alert_respond
 * workflow), beside the sensor's: it decides exactly as any tick, but takes
 * a lease only for scale_out and replace, the decisions an alert may hasten.
 * Any other decision (scale_in, which a recovery must not trigger at once;
 * none, lease_held included) is printed with lease_id null and not written
 * to history, so the sensor's next tick records, notices and dispatches it
 * as it always has; only a decision with a lease_id is ever dispatched. A
 * react decision that did take its lease is written and noticed as any
 * acting tick's, so its caller must send those notices itself. */
int gov_tick_run(struct ds *ds, const struct gov_tick *t, long long now,
                 struct json_object **out, struct as_error *err);

#endif
