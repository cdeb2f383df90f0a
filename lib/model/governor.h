/* governor.h - the scaling decision: given a group's spec, its nodes (with
 * their health and protection), its alert and its history, scale out, scale
 * in, replace unhealthy nodes, or do nothing, and say why.
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
 * capacity = building + active healthy: draining and failed nodes are
 * leaving or dead, and an active node whose health record says "unhealthy"
 * (health.h) is counted in `unhealthy`, not capacity, so the ordinary rules
 * below already add capacity for it. protected_capacity is the capacity
 * nodes protected from scale-in (controls.h). The rules, in the order they
 * are applied; each decision carries `code`, the one word naming the rule
 * (and edge) that decided:
 *
 *  1. no spec: none (no_spec). lease held: none (lease_held). This wins even
 *     below min: the operation in flight may have ordered nodes it has not
 *     recorded yet, and ordering them again is exactly the race of 2015. A
 *     dead operation cannot block the group for ever because the lease has
 *     a TTL. min < 0 or min > max: none (invalid_spec).
 *  2. forced resize pending - spec.forced_at > 0, later than the last
 *     scale-out, scale-in and replace (event or lease start: no operation
 *     has started since the operator asked) and now - forced_at < 3600 -
 *     and capacity is not at the floor (rule 7): scale straight to the
 *     floor, ignoring cooldowns, alerts and steps (forced). Once: the
 *     operation it starts is later than forced_at. A forced scale-in is
 *     clamped like rule 7's (protection); clamped to nothing, or its
 *     process suspended (rule 8), rules 3-7 decide instead and the force
 *     stays pending, so an hour of pending force never freezes the group.
 *  3. capacity > max (max was lowered): scale in to max now, no cooldown,
 *     alert or not: max is a promise about cost (above_max). Clamped to the
 *     unprotected capacity, since node_pick would not pick a protected node
 *     anyway; all protected: none (protected).
 *  4. replacement - unhealthy > 0, health_replace 1, suspend_replace 0 -
 *     with mh = min_healthy (-1: min), the fewest healthy nodes the group
 *     may have when a replacement takes an unhealthy node down:
 *       mh > max: no replacement can ever take one down, so none is
 *         started; the rules below decide, their "rest" coded
 *         replace_blocked;
 *       else GOV_REPLACE, with s = scale_out_step:
 *         count  k = min(unhealthy, s); raised to min - capacity when below
 *                    min (rule 5 folded in: at once, as rule 5 would);
 *                    raised toward mh - capacity when below mh, by at most
 *                    s in all; then clamped to max - capacity (>= 0);
 *         remove r = min(unhealthy, s) when capacity + k >= mh, else 0;
 *     i.e. remove > 0 is planned only when the healthy capacity once the k
 *     new nodes are up is at least mh, and a group short of mh healthy
 *     first grows toward it, s nodes a tick, taking nothing down (k >= 1
 *     then, since capacity + k < mh <= max: every such tick adds, so the
 *     unhealthy nodes do go in the end). The replace workflow brings the
 *     new nodes up first, and node_pick --strategy unhealthy applies the
 *     min_healthy guard again to what is really up (new nodes may fail).
 *     No cooldown: the lease serialises replacements, and a dead node
 *     costs more than a hasty one. code replace (k > 0), or replace_at_max
 *     (k = 0: capacity is at max, only the unhealthy nodes go). With health_replace 0, or
 *     replace suspended, the rules below decide instead (unhealthy nodes
 *     are not capacity, so they scale out for them), and their "rest" is
 *     coded unhealthy_reported, or suspended.
 *  5. capacity < min (nodes lost): scale out to min now, no cooldown. If an
 *     alert is also on and its scale-out cooldown has passed, the alert's
 *     step is taken instead when it is larger (never past max) (below_min).
 *  6. alert (critical: scale_out_step, warning: warning_step): scale out
 *     once scale_out_cooldown has passed since the last scale-out
 *     (alert_out); the step is clamped to max (alert_clamped); at max
 *     nothing (alert_at_max); cooling down nothing (alert_cooldown).
 *  7. no alert: the group rests at its floor, which is `desired` when set
 *     (>= 0; clamped into [min, max] should a bad spec slip through) and
 *     min otherwise.
 *     - above the floor: scale in by scale_in_step, clamped to the floor
 *       and to capacity - protected_capacity (scale_in, scale_in_clamped;
 *       nothing unprotected: protected), once scale_in_cooldown has passed
 *       since the latest of the last scale-out, the last scale-in and the
 *       moment the alert cleared (scale_in_cooldown): capacity added for an
 *       incident stays a while after it ends;
 *     - below the floor (only possible with desired set, after failures
 *       or when desired was raised): scale out to it, respecting
 *       scale_out_cooldown (below_desired, below_desired_cooldown); desired
 *       is a resting size, not a hard bound like min, so it is restored at
 *       the pace of ordinary scale-outs;
 *     - at the floor: none (rest).
 *  7m. target tracking instead of rule 7, when the spec has target_value >
 *     0 (group.h: a metric source and a target; the samples come in as
 *     data, in->samples, oldest first). No alert is on, so the metric
 *     decides between the floor and max:
 *     - the newest sample failed, is older than metric_max_age, or there is
 *       none: hold (metric_hold); below the floor rule 7 restores it. A
 *       missing reading never sheds capacity;
 *     - each ok sample recommends, as Kubernetes' HPA: its nodes when
 *       |value / target - 1| <= target_tolerance percent, else
 *       ceil(nodes x value / target); clamped to [floor, max];
 *     - scale out when the LOWEST recommendation of the last
 *       scale_out_window seconds (0: the newest) is above capacity, by at
 *       most scale_out_step, after scale_out_cooldown (metric_out,
 *       metric_out_cooldown);
 *     - else scale in when the HIGHEST of the last scale_in_window seconds
 *       is below capacity, by at most scale_in_step, after
 *       scale_in_cooldown as rule 7 measures it, never a protected node
 *       (metric_in, metric_in_cooldown, protected);
 *     - else none: metric_out_window when the newest sample alone wants
 *       more (the scale-out window holds it back), metric_in_window when
 *       it alone wants fewer, metric_on_target when it wants what there is.
 *       A metric that settles inside the tolerance therefore changes
 *       nothing: no flapping.
 *     The decision carries the numbers (gov_decision.metric) and the tick
 *     prints them with the formula.
 *
 * Schedules: a scheduled action in force (in->schedule, schedule.h) sets
 * min, max and/or desired for as long as it is active; every rule above
 * then reads those instead of the spec's, and the spec is not rewritten.
 * Where a scheduled value and the spec's conflict (a scheduled min above
 * the spec's max), the scheduled one wins. The decision names it.
 *  8. suspension, over all of the above: a scale-out (rules 2, 5, 6, 7)
 *     while suspend_scale_out, a scale-in (2, 3, 7) while
 *     suspend_scale_in, a replacement while suspend_replace (4 is skipped
 *     then) becomes none (suspended), its reason saying what it would have
 *     done. Suspension wins over force: the operator who paused a process
 *     resumes it, and a force still pending (within its hour) then applies.
 *
 * Bounds: from within [min, max] capacity_after stays within it (a
 * replacement adds at most max - capacity); from outside it moves toward
 * the bounds, except that protected nodes are never planned away (and
 * that suspension stops the move). A replacement's min restoration is the
 * replacement's, suspended by suspend_replace alone.
 * Times are epoch seconds; 0 means "never". A record stamped ahead of `now`
 * (clock skew) makes the governor wait the whole cooldown from that stamp.
 * Every decision, "none" included, carries a reason a person can read;
 * a cooldown says how many seconds remain. */
#ifndef AS_GOVERNOR_H
#define AS_GOVERNOR_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "node.h"

struct group;
struct asg_state;

enum gov_action { GOV_NONE, GOV_SCALE_OUT, GOV_SCALE_IN, GOV_REPLACE };
enum gov_severity { GOV_SEV_NONE, GOV_SEV_WARNING, GOV_SEV_CRITICAL };

/* One metric sample of a group (lib/model/samples.h): what the metric read
 * at `at`, when `nodes` nodes were capacity; ok false when the source could
 * not answer (a failed sample: the governor holds, never scales in). */
struct gov_sample {
    long long at;
    double value;
    int nodes;
    bool ok;
};

#define GOV_SCHEDULE_NAME_MAX 31

/* The scheduled action in force for a group (lib/model/schedule.h), if
 * any: its min, max and desired replace the spec's (-1: the spec's own)
 * while it is active, without the spec being rewritten. */
struct gov_schedule {
    bool active;
    char name[GOV_SCHEDULE_NAME_MAX + 1];
    long long min, max, desired; /* -1: not set by the schedule */
    long long since;             /* the start occurrence that made it active */
};

struct gov_input {
    const struct group *spec;
    long long now;
    int building, active, draining, failed; /* node counts by state */
    /* active nodes whose health record says unhealthy (health.h): counted
     * here and NOT in active, so they are not capacity */
    int unhealthy;
    /* capacity nodes protected from scale-in (controls.h) */
    int protected_capacity;
    /* worst severity among incidents open and younger than
     * spec->incident_max_age; NONE when none */
    enum gov_severity alert;
    /* when the group last left alert (the latest close, or
     * opened_at + max_age for an incident that expired), 0 if never */
    long long alert_cleared_at;
    long long last_scale_out_at; /* latest scale-out event or lease start, 0 if never */
    long long last_scale_in_at;  /* latest scale-in event or lease start, 0 if never */
    long long last_replace_at;   /* latest replace event or lease start, 0 if never */
    bool lease_held; /* an operation is in flight (lease present, not expired) */
    /* the group's metric samples, oldest first (borrowed; NULL when none) */
    const struct gov_sample *samples;
    int n_samples;
    struct gov_schedule schedule; /* active false: none in force */
};

struct gov_decision {
    enum gov_action action;
    int count;  /* nodes to add (scale_out, replace) or remove (scale_in); 0 for none;
                   a replace may add 0 (replace_at_max) */
    /* replace: unhealthy nodes to take down once the new ones are up (0
     * while the healthy are short of min_healthy: rule 4) */
    int remove;
    /* the rule that decided, one word (the rules above): no_spec,
     * lease_held, invalid_spec, forced, above_max, protected, replace,
     * replace_at_max, replace_blocked, below_min, alert_out, alert_clamped,
     * alert_at_max, alert_cooldown, scale_in, scale_in_clamped,
     * scale_in_cooldown, below_desired, below_desired_cooldown, rest,
     * suspended, unhealthy_reported, metric_hold, metric_out,
     * metric_out_cooldown, metric_in, metric_in_cooldown, metric_out_window,
     * metric_in_window, metric_on_target; and from governor_tick, which
     * decides again once it holds the lease: decision_changed (the same
     * action of another size: the next tick), deleting */
    char code[24];
    /* building + active healthy, and what it will be (a replacement's
     * removed nodes are unhealthy: not capacity) */
    int capacity_before, capacity_after;
    char reason[256];                    /* why, or why not */
    /* the scheduled action in force (its name; "" when none): its min, max
     * and desired were the bounds of this decision */
    char schedule[GOV_SCHEDULE_NAME_MAX + 1];
    /* target tracking, when the rules reached it (used): the newest
     * sample's reading and its recommendation ceil(nodes x value / target),
     * and the stabilised ones of the two windows (rule 7m) */
    struct {
        bool used, held;    /* held: no fresh sample, nothing done */
        double value;       /* the newest sample */
        int nodes;          /* capacity when it was taken */
        long long target;   /* spec target_value */
        long long raw;         /* ceil(nodes x value / target) of the newest sample */
        bool in_tolerance;     /* its value is within target_tolerance of the target */
        long long recommended; /* its recommendation: raw, or its nodes within the
                                  tolerance, then within [floor, max] */
        long long out_rec, in_rec; /* lowest over the scale-out window, highest over the scale-in one */
        int samples;        /* ok samples inside the longer window */
    } metric;
};

void governor_decide(const struct gov_input *in, struct gov_decision *out);

/* A target-tracking decision's arithmetic, "ceil(3 x 84.2 / 50) = 6"
 * (d->metric: nodes, value, target, raw), as the reasons and the tick's
 * "formula" both print it: snprintf's return. */
int gov_formula(const struct gov_decision *d, char *buf, size_t size);

const char *gov_action_name(enum gov_action a); /* "none" "scale_out" "scale_in" "replace" */
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
 * health:    st->health, node name -> record: a node whose record has
 *            "status" "unhealthy" counts as unhealthy when it is active;
 * protect:   st->protect, node name -> record: present = protected, counted
 *            when the node is capacity. Either NULL: none. A record naming
 *            no node of st->nodes is ignored (st->nodes NULL, loaded with
 *            every group: neither is read).
 * events:    {"op":"scale_out|scale_in|replace","at",...}: the latest `at` per op,
 *            whatever its result (a failed attempt backs off too).
 * lease:     {"op","count","at","expires_at"}: its `at` counts as the
 *            latest scale-out/in/replace of its op, even once expired; it is held
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
    enum gov_action op;   /* scale_out, scale_in, replace; anything else GOV_NONE */
    long long at;         /* <= 0 or not an integer: 0 */
    long long expires_at; /* as stored (<= 0: none); not an integer: 0 */
};

/* Empty: no nodes, no alert, nothing ever happened. */
void gov_input_init(struct gov_input *in, const struct group *spec, long long now);
void gov_input_add_node(struct gov_input *in, enum node_state s);
/* The same, with what the node's health and protection records say: an
 * active node reported unhealthy counts in `unhealthy` (not capacity; for
 * other states the report is ignored: only active nodes are judged), and a
 * protected node counts in protected_capacity only when it is capacity
 * (building, or active and not unhealthy). */
void gov_input_add_node_health(struct gov_input *in, enum node_state s, bool unhealthy,
                               bool protected_node);

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
