/* governor.h - the scaling decision: given a group's spec, its nodes, its
 * alert and its history, scale out, scale in, or do nothing, and say why.
 *
 * governor_decide() is pure: no I/O, no clock. The tick (governor_tick.h)
 * builds the input from the stored records (governor_input_from_state()
 * for one group, governor_load.h for every group; its caller owns the clock
 * reading and passes `now`), decides, and takes the lease. The 2015
 * original failed three ways, and each rule below answers one:
 *
 *  - its recovery webhook was lost, so groups grew to max and never shrank:
 *    an incident stops counting incident_max_age after it opened, even if
 *    nobody ever closes it;
 *  - its node count raced: while a lease is held nothing is decided at all,
 *    so one operation is in flight per group;
 *  - its steps overshot max: every step is clamped to the bounds (clamped,
 *    not skipped, so the last few nodes still come).
 *
 * The rules, in the order they are applied (capacity = building + active;
 * draining and failed nodes are leaving or dead, so they do not count):
 *
 *  1. lease held: none. This wins even below min: the operation in flight
 *     may have ordered nodes it has not recorded yet, and ordering them
 *     again is exactly the race of 2015. A dead operation cannot block the
 *     group for ever because the lease has a TTL.
 *  2. capacity < min (nodes lost): scale out to min now, no cooldown. If an
 *     alert is also on and its scale-out cooldown has passed, the alert's
 *     step is taken instead when it is larger (never past max).
 *  3. capacity > max (max was lowered): scale in to max now, no cooldown,
 *     alert or not: max is a promise about cost.
 *  4. alert (critical: scale_out_step, warning: warning_step): scale out
 *     once scale_out_cooldown has passed since the last scale-out; the step
 *     is clamped to max; at max nothing ("at max").
 *  5. no alert: the group rests at its floor, which is `desired` when set
 *     (>= 0; clamped into [min, max] should a bad spec slip through) and
 *     min otherwise.
 *     - above the floor: scale in by scale_in_step, clamped to the floor,
 *       once scale_in_cooldown has passed since the latest of the last
 *       scale-out, the last scale-in and the moment the alert cleared
 *       (capacity added for an incident stays a while after it ends);
 *     - below the floor (only possible with desired set, after failures
 *       or when desired was raised): scale out to it, respecting
 *       scale_out_cooldown; desired is a resting size, not a hard bound
 *       like min, so it is restored at the pace of ordinary scale-outs;
 *     - at the floor: none ("at min" or "at desired").
 *
 * Times are epoch seconds; 0 means "never". A record stamped ahead of `now`
 * (clock skew) makes the governor wait the whole cooldown from that stamp.
 * Every decision, "none" included, carries a reason a person can read;
 * a cooldown says how many seconds remain. */
#ifndef AS_GOVERNOR_H
#define AS_GOVERNOR_H

#include <json-c/json.h>
#include <stdbool.h>

#include "node.h"

struct group;
struct asg_state;

enum gov_action { GOV_NONE, GOV_SCALE_OUT, GOV_SCALE_IN };
enum gov_severity { GOV_SEV_NONE, GOV_SEV_WARNING, GOV_SEV_CRITICAL };

struct gov_input {
    const struct group *spec;
    long long now;
    int building, active, draining, failed; /* node counts by state */
    /* worst severity among incidents open and younger than
     * spec->incident_max_age; NONE when none */
    enum gov_severity alert;
    /* when the group last left alert (the latest close, or
     * opened_at + max_age for an incident that expired), 0 if never */
    long long alert_cleared_at;
    long long last_scale_out_at; /* latest scale-out event or lease start, 0 if never */
    long long last_scale_in_at;  /* latest scale-in event or lease start, 0 if never */
    bool lease_held; /* an operation is in flight (lease present, not expired) */
};

struct gov_decision {
    enum gov_action action;
    int count;                           /* > 0 when action != GOV_NONE, else 0 */
    int capacity_before, capacity_after; /* building + active, and what it will be */
    char reason[256];                    /* why, or why not */
};

void governor_decide(const struct gov_input *in, struct gov_decision *out);

const char *gov_action_name(enum gov_action a);     /* "none" "scale_out" "scale_in" */
const char *gov_severity_name(enum gov_severity s); /* "none" "warning" "critical" */

/* Build the input from a loaded group state, for the tick (governor_tick.h).
 *
 * nodes:     {"state": building|active|draining|failed|...}; other states
 *            (deleting, unknown) are counted nowhere.
 * incidents: {"id","state":"open|closed","severity":"critical|warning",
 *            "opened_at","closed_at"}. An incident is in alert over
 *            [opened_at, min(closed_at, opened_at + max_age)): a close that
 *            arrives after the incident already expired does not put the
 *            group back into cooldown. An open incident without opened_at
 *            counts for nothing (a record that cannot age must not pin
 *            the group at max). A severity other than "critical" counts as a
 *            warning: still an alert, grown at the gentler pace.
 * events:    {"op":"scale_out|scale_in","at",...}: the latest `at` per op,
 *            whatever its result (a failed attempt backs off too).
 * lease:     {"op","count","at","expires_at"}: its `at` counts as the
 *            latest scale-out/in of its op, even once expired; it is held
 *            when it has no expires_at (<= 0 or absent) or expires_at > now.
 * Negative times are treated as absent. in->spec points into st. */
void governor_input_from_state(const struct asg_state *st, long long now,
                               struct gov_input *in);

/* ---- the input, record by record ----
 *
 * governor_input_from_state() and the tick's reader of every group
 * (governor_load.h, which reads most records without json-c) both build
 * the input through these, so each rule above lives in one place. */

/* What the rules read of an incident record. */
struct gov_incident {
    bool open;                      /* "state" is "open" */
    bool critical;                  /* "severity" is "critical"; else a warning */
    long long opened_at, closed_at; /* <= 0 or not an integer: 0 */
};

/* What they read of a scaling event ({"op","at"}) or a lease ({"op","at",
 * "expires_at"}). */
struct gov_op {
    enum gov_action op;   /* scale_out, scale_in; anything else GOV_NONE */
    long long at;         /* <= 0 or not an integer: 0 */
    long long expires_at; /* as stored (<= 0: none); not an integer: 0 */
};

/* Empty: no nodes, no alert, nothing ever happened. */
void gov_input_init(struct gov_input *in, const struct group *spec, long long now);
void gov_input_add_node(struct gov_input *in, enum node_state s);
/* incident_max_age as the spec says (<= 0 counts as 0). */
void gov_input_add_incident(struct gov_input *in, const struct gov_incident *inc,
                            long long incident_max_age);
void gov_input_add_event(struct gov_input *in, const struct gov_op *ev);
/* The group's lease (one; in->now is when it is judged held). */
void gov_input_set_lease(struct gov_input *in, const struct gov_op *lease);

/* The same fields from a parsed record (borrowed); a missing or mistyped
 * field reads as above. */
void gov_incident_from_json(struct json_object *rec, struct gov_incident *out);
void gov_op_from_json(struct json_object *rec, struct gov_op *out);

#endif
