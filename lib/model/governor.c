/* governor.c - see governor.h. */
#include "governor.h"
#include "asg.h"
#include "group.h"
#include "jsonx.h"
#include "node.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *gov_action_name(enum gov_action a)
{
    switch (a) {
    case GOV_SCALE_OUT: return "scale_out";
    case GOV_SCALE_IN: return "scale_in";
    default: return "none";
    }
}

const char *gov_severity_name(enum gov_severity s)
{
    switch (s) {
    case GOV_SEV_CRITICAL: return "critical";
    case GOV_SEV_WARNING: return "warning";
    default: return "none";
    }
}

static void say(struct gov_decision *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(struct gov_decision *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof out->reason, fmt, ap);
    va_end(ap);
}

static void act(struct gov_decision *out, enum gov_action a, long long count)
{
    out->action = a;
    out->count = (int)count;
    out->capacity_after = out->capacity_before + (a == GOV_SCALE_OUT ? out->count
                                                                      : -out->count);
}

/* Seconds still to wait before `cooldown` has passed since `since`; 0 when it
 * has (or `since` never happened). A stamp ahead of `now` is clock skew
 * between writers: wait the whole cooldown from the stamp, saturating rather
 * than overflowing on a corrupt one. */
static long long cooldown_left(long long now, long long since, long long cooldown)
{
    if (since <= 0 || cooldown <= 0)
        return 0;
    if (now >= since)
        return now - since >= cooldown ? 0 : cooldown - (now - since);
    long long left;
    if (__builtin_sub_overflow(since, now, &left) ||
        __builtin_add_overflow(left, cooldown, &left))
        return LLONG_MAX;
    return left;
}

static long long max3(long long a, long long b, long long c)
{
    long long m = a > b ? a : b;
    return m > c ? m : c;
}

/* The size the group rests at with no alert: desired when set, else min. */
static long long floor_of(const struct group *g)
{
    if (g->desired < 0)
        return g->min;
    return g->desired < g->min ? g->min : g->desired > g->max ? g->max : g->desired;
}

static long long alert_step(const struct gov_input *in)
{
    long long step = in->alert == GOV_SEV_CRITICAL ? in->spec->scale_out_step
                                                   : in->spec->warning_step;
    return step < 1 ? 1 : step;
}

/* Rule 2: nodes were lost below min. Restoring min needs no cooldown: the
 * cooldown guards against overreacting to load, and min is not load. */
static void below_min(const struct gov_input *in, struct gov_decision *out)
{
    const struct group *g = in->spec;
    long long cap = out->capacity_before, count = g->min - cap;

    if (in->alert != GOV_SEV_NONE &&
        cooldown_left(in->now, in->last_scale_out_at, g->scale_out_cooldown) == 0) {
        long long step = alert_step(in);
        if (cap + step > g->max)
            step = g->max - cap;
        if (step > count) {
            act(out, GOV_SCALE_OUT, step);
            say(out, "capacity %lld is below min %lld (%d draining, %d failed) during a "
                "%s alert: scaling out by %lld, the alert's step within max %lld, to %d",
                cap, g->min, in->draining, in->failed, gov_severity_name(in->alert),
                step, g->max, out->capacity_after);
            return;
        }
    }
    act(out, GOV_SCALE_OUT, count);
    say(out, "capacity %lld is below min %lld (%d draining, %d failed): scaling out "
        "by %lld to restore the minimum now, without waiting for a cooldown",
        cap, g->min, in->draining, in->failed, count);
}

/* Rule 4: an alert is on. */
static void alert_out(const struct gov_input *in, struct gov_decision *out)
{
    const struct group *g = in->spec;
    const char *sev = gov_severity_name(in->alert);
    long long cap = out->capacity_before, step = alert_step(in);

    if (cap >= g->max) {
        say(out, "%s alert, but capacity %lld is at max %lld: nothing more to add", sev,
            cap, g->max);
        return;
    }
    long long left = cooldown_left(in->now, in->last_scale_out_at, g->scale_out_cooldown);
    if (left > 0) {
        say(out, "%s alert, but scale-out is cooling down: %lld s of %lld s remain since "
            "the last scale-out at %lld", sev, left, g->scale_out_cooldown,
            in->last_scale_out_at);
        return;
    }
    if (cap + step > g->max) {
        act(out, GOV_SCALE_OUT, g->max - cap);
        say(out, "%s alert: scaling out by %d (step %lld clamped so capacity stops at "
            "max %lld), capacity %lld -> %d", sev, out->count, step, g->max, cap,
            out->capacity_after);
        return;
    }
    act(out, GOV_SCALE_OUT, step);
    say(out, "%s alert: scaling out by %lld, capacity %lld -> %d", sev, step, cap,
        out->capacity_after);
}

/* Rule 5: no alert; drift back to the floor. */
static void quiet(const struct gov_input *in, struct gov_decision *out)
{
    const struct group *g = in->spec;
    long long cap = out->capacity_before, floor = floor_of(g);
    const char *what = g->desired >= 0 ? "desired" : "min";

    if (cap == floor) {
        say(out, "no alert and capacity %lld is at %s %lld: resting", cap, what, floor);
        return;
    }
    if (cap < floor) {
        long long left =
            cooldown_left(in->now, in->last_scale_out_at, g->scale_out_cooldown);
        if (left > 0) {
            say(out, "no alert and capacity %lld is below desired %lld, but scale-out "
                "is cooling down: %lld s of %lld s remain", cap, floor, left,
                g->scale_out_cooldown);
            return;
        }
        act(out, GOV_SCALE_OUT, floor - cap);
        say(out, "no alert and capacity %lld is below desired %lld: scaling out by %d "
            "to rest there", cap, floor, out->count);
        return;
    }
    /* Measured from the latest of three: capacity just added, capacity just
     * removed, and the end of the incident that wanted the capacity. */
    long long since = max3(in->last_scale_out_at, in->last_scale_in_at,
                           in->alert_cleared_at);
    long long left = cooldown_left(in->now, since, g->scale_in_cooldown);
    if (left > 0) {
        const char *which = since == in->alert_cleared_at ? "the alert cleared"
                            : since == in->last_scale_out_at ? "the last scale-out"
                                                             : "the last scale-in";
        say(out, "no alert, but scale-in is cooling down: %lld s of %lld s remain since "
            "%s at %lld", left, g->scale_in_cooldown, which, since);
        return;
    }
    long long step = g->scale_in_step < 1 ? 1 : g->scale_in_step;
    if (cap - step < floor) {
        act(out, GOV_SCALE_IN, cap - floor);
        say(out, "no alert: scaling in by %d (step %lld clamped so capacity stops at %s "
            "%lld), capacity %lld -> %d", out->count, step, what, floor, cap,
            out->capacity_after);
        return;
    }
    act(out, GOV_SCALE_IN, step);
    say(out, "no alert: scaling in by %lld, capacity %lld -> %d", step, cap,
        out->capacity_after);
}

void governor_decide(const struct gov_input *in, struct gov_decision *out)
{
    memset(out, 0, sizeof *out);
    out->capacity_before = in->building + in->active;
    out->capacity_after = out->capacity_before;

    const struct group *g = in->spec;
    long long cap = out->capacity_before;
    if (!g) {
        say(out, "no group spec: nothing to decide");
    } else if (in->lease_held) {
        say(out, "an operation is in flight (lease held): waiting for it to finish, "
            "since nodes it ordered may not be recorded yet");
    } else if (g->min < 0 || g->min > g->max) {
        say(out, "the spec is invalid (min %lld, max %lld): refusing to scale", g->min,
            g->max);
    } else if (cap < g->min) {
        below_min(in, out);
    } else if (cap > g->max) {
        act(out, GOV_SCALE_IN, cap - g->max);
        say(out, "capacity %lld is above max %lld: scaling in by %d to the maximum now, "
            "without waiting for a cooldown", cap, g->max, out->count);
    } else if (in->alert != GOV_SEV_NONE) {
        alert_out(in, out);
    } else {
        quiet(in, out);
    }
}

/* ---- building the input from the datastore's records ---- */

static long long time_field(struct json_object *o, const char *key)
{
    long long t = jx_int(o, key, 0);
    return t > 0 ? t : 0;
}

/* Deleting and unknown nodes are neither capacity nor a problem. */
static void count_nodes(const struct asg_state *st, struct gov_input *in)
{
    long long c[NODE_UNKNOWN + 1];
    asg_state_node_counts(st, c);
    in->building = (int)c[NODE_BUILDING];
    in->active = (int)c[NODE_ACTIVE];
    in->draining = (int)c[NODE_DRAINING];
    in->failed = (int)c[NODE_FAILED];
}

/* One incident is in alert over [opened, min(closed, opened + max_age)).
 * Everything the governor needs follows from that interval. */
static void add_incident(struct json_object *inc, long long now, long long max_age,
                         struct gov_input *in)
{
    long long opened = time_field(inc, "opened_at");
    bool open = strcmp(jx_str(inc, "state", ""), "open") == 0;

    if (open && opened == 0)
        return; /* cannot age, so cannot count: see governor.h */
    long long end = opened == 0                    ? LLONG_MAX
                    : opened > LLONG_MAX - max_age ? LLONG_MAX
                                                   : opened + max_age;
    if (open && now < end) {
        enum gov_severity s = strcmp(jx_str(inc, "severity", ""), "critical") == 0
                                  ? GOV_SEV_CRITICAL
                                  : GOV_SEV_WARNING;
        if (s > in->alert)
            in->alert = s;
        return;
    }
    if (!open) {
        long long closed = time_field(inc, "closed_at");
        if (closed == 0)
            closed = opened; /* closed, time lost: it ended no later than it began */
        if (closed < end)
            end = closed;
    }
    if (end > in->alert_cleared_at)
        in->alert_cleared_at = end;
}

static void note_op(const char *op, long long at, struct gov_input *in)
{
    if (strcmp(op, "scale_out") == 0 && at > in->last_scale_out_at)
        in->last_scale_out_at = at;
    else if (strcmp(op, "scale_in") == 0 && at > in->last_scale_in_at)
        in->last_scale_in_at = at;
}

void governor_input_from_state(const struct asg_state *st, long long now,
                               struct gov_input *in)
{
    memset(in, 0, sizeof *in);
    in->spec = &st->spec;
    in->now = now;
    count_nodes(st, in);

    long long max_age = st->spec.incident_max_age > 0 ? st->spec.incident_max_age : 0;
    size_t n = json_object_array_length(st->incidents);
    for (size_t i = 0; i < n; i++)
        add_incident(json_object_array_get_idx(st->incidents, i), now, max_age, in);

    n = json_object_array_length(st->events);
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(st->events, i);
        note_op(jx_str(e, "op", ""), time_field(e, "at"), in);
    }

    if (st->lease) {
        long long expires = jx_int(st->lease, "expires_at", 0);
        note_op(jx_str(st->lease, "op", ""), time_field(st->lease, "at"), in);
        in->lease_held = expires <= 0 || expires > now;
    }
}
