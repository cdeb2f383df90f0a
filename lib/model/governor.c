/* governor.c - see governor.h. */
#include "governor.h"
#include "asg.h"
#include "controls.h"
#include "group.h"
#include "jsonx.h"
#include "node.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *gov_action_name(enum gov_action a)
{
    switch (a) {
    case GOV_SCALE_OUT: return "scale_out";
    case GOV_SCALE_IN: return "scale_in";
    case GOV_REPLACE: return "replace";
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

/* buf (24 bytes) holding v in decimal, as "%lld" prints it. */
static const char *decimal(char *buf, long long v)
{
    char *p = buf + 23;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    *p = '\0';
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--p = '-';
    return p;
}

/* The next piece of the format at *f, moving *f past it: a run of the
 * format's own text, or what one conversion prints (into num when a
 * number); *n its length. NULL for a conversion say() leaves to vsnprintf. */
static const char *piece(const char **f, va_list *ap, char num[24], size_t *n)
{
    const char *p = *f, *s;
    if (*p != '%') {
        *n = strcspn(p, "%");
        *f = p + *n;
        return p;
    }
    if (p[1] == 's')
        s = va_arg(*ap, const char *), *f = p + 2;
    else if (p[1] == 'd')
        s = decimal(num, va_arg(*ap, int)), *f = p + 2;
    else if (strncmp(p + 1, "lld", 3) == 0)
        s = decimal(num, va_arg(*ap, long long)), *f = p + 4;
    else
        return NULL;
    *n = strlen(s);
    return s;
}

/* vsnprintf into out->reason, done by hand for the only conversions the
 * reasons use (%s, %d, %lld): vsnprintf was a tenth of a tick over 10,000
 * groups. Any other conversion hands the whole format to vsnprintf, so a
 * new reason cannot come out wrong; the format attribute has the compiler
 * check the arguments either way. */
static void say(struct gov_decision *out, const char *fmt, ...)
{
    char *w = out->reason, *end = out->reason + sizeof out->reason - 1, num[24];
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    for (const char *f = fmt; *f && w < end;) {
        size_t n;
        const char *s = piece(&f, &ap, num, &n);
        if (!s) {
            vsnprintf(out->reason, sizeof out->reason, fmt, again);
            w = NULL;
            break;
        }
        n = n < (size_t)(end - w) ? n : (size_t)(end - w);
        memcpy(w, s, n);
        w += n;
    }
    if (w)
        *w = '\0';
    va_end(again);
    va_end(ap);
}

static void act(struct gov_decision *out, enum gov_action a, long long count)
{
    out->action = a;
    out->count = (int)count;
    out->capacity_after = out->capacity_before + (a == GOV_SCALE_IN ? -out->count
                                                                     : out->count);
}

/* The rule's word (governor.h): a literal, checked to fit at compile time;
 * copied rather than printed, since snprintf costs a tick over 10,000
 * groups noticeably. */
#define code(out, word)                                                             \
    do {                                                                            \
        _Static_assert(sizeof(word) <= sizeof((struct gov_decision *)0)->code,     \
                       "a code fits gov_decision.code");                            \
        memcpy((out)->code, word, sizeof(word));                                    \
    } while (0)

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

/* Capacity node_pick may take for scale-in: protected nodes are skipped. */
static long long unprotected(const struct gov_input *in, long long cap)
{
    long long p = in->protected_capacity < 0 ? 0 : in->protected_capacity;
    return cap > p ? cap - p : 0;
}

/* Rule 5: nodes were lost below min. Restoring min needs no cooldown: the
 * cooldown guards against overreacting to load, and min is not load. */
static void below_min(const struct gov_input *in, struct gov_decision *out)
{
    const struct group *g = in->spec;
    long long cap = out->capacity_before, count = g->min - cap;

    code(out, "below_min");
    if (in->alert != GOV_SEV_NONE &&
        cooldown_left(in->now, in->last_scale_out_at, g->scale_out_cooldown) == 0) {
        long long step = alert_step(in);
        if (cap + step > g->max)
            step = g->max - cap;
        if (step > count) {
            act(out, GOV_SCALE_OUT, step);
            say(out, "capacity %lld is below min %lld (%d draining, %d failed, %d "
                "unhealthy) during a %s alert: scaling out by %lld, the alert's step "
                "within max %lld, to %d", cap, g->min, in->draining, in->failed,
                in->unhealthy, gov_severity_name(in->alert), step, g->max,
                out->capacity_after);
            return;
        }
    }
    act(out, GOV_SCALE_OUT, count);
    say(out, "capacity %lld is below min %lld (%d draining, %d failed, %d unhealthy): "
        "scaling out by %lld to restore the minimum now, without waiting for a "
        "cooldown", cap, g->min, in->draining, in->failed, in->unhealthy, count);
}

/* Rule 6: an alert is on. */
static void alert_out(const struct gov_input *in, struct gov_decision *out)
{
    const struct group *g = in->spec;
    const char *sev = gov_severity_name(in->alert);
    long long cap = out->capacity_before, step = alert_step(in);

    if (cap >= g->max) {
        code(out, "alert_at_max");
        say(out, "%s alert, but capacity %lld is at max %lld: nothing more to add", sev,
            cap, g->max);
        return;
    }
    long long left = cooldown_left(in->now, in->last_scale_out_at, g->scale_out_cooldown);
    if (left > 0) {
        code(out, "alert_cooldown");
        say(out, "%s alert, but scale-out is cooling down: %lld s of %lld s remain since "
            "the last scale-out at %lld", sev, left, g->scale_out_cooldown,
            in->last_scale_out_at);
        return;
    }
    if (cap + step > g->max) {
        code(out, "alert_clamped");
        act(out, GOV_SCALE_OUT, g->max - cap);
        say(out, "%s alert: scaling out by %d (step %lld clamped so capacity stops at "
            "max %lld), capacity %lld -> %d", sev, out->count, step, g->max, cap,
            out->capacity_after);
        return;
    }
    code(out, "alert_out");
    act(out, GOV_SCALE_OUT, step);
    say(out, "%s alert: scaling out by %lld, capacity %lld -> %d", sev, step, cap,
        out->capacity_after);
}

/* Rule 7's scale-in, by `want` toward `target`, clamped to the unprotected
 * capacity. */
static void scale_in(const struct gov_input *in, struct gov_decision *out, long long want,
                     long long step, const char *target, long long target_size)
{
    long long cap = out->capacity_before, free_cap = unprotected(in, cap);
    if (free_cap == 0) {
        code(out, "protected");
        say(out, "no alert and capacity %lld is above %s %lld, but all %lld of it is "
            "protected from scale-in", cap, target, target_size, cap);
        return;
    }
    if (want > free_cap) {
        code(out, "scale_in_clamped");
        act(out, GOV_SCALE_IN, free_cap);
        say(out, "no alert: scaling in by %d (clamped: %d of capacity %lld protected), "
            "capacity %lld -> %d", out->count, in->protected_capacity, cap, cap,
            out->capacity_after);
    } else if (want < step) {
        code(out, "scale_in_clamped");
        act(out, GOV_SCALE_IN, want);
        say(out, "no alert: scaling in by %d (step %lld clamped so capacity stops at %s "
            "%lld), capacity %lld -> %d", out->count, step, target, target_size, cap,
            out->capacity_after);
    } else {
        code(out, "scale_in");
        act(out, GOV_SCALE_IN, want);
        say(out, "no alert: scaling in by %lld, capacity %lld -> %d", want, cap,
            out->capacity_after);
    }
}

/* Rule 7: no alert; drift back to the floor. */
static void quiet(const struct gov_input *in, struct gov_decision *out)
{
    const struct group *g = in->spec;
    long long cap = out->capacity_before, floor = floor_of(g);
    const char *what = g->desired >= 0 ? "desired" : "min";

    if (cap == floor) {
        code(out, "rest");
        say(out, "no alert and capacity %lld is at %s %lld: resting", cap, what, floor);
        return;
    }
    if (cap < floor) {
        long long left =
            cooldown_left(in->now, in->last_scale_out_at, g->scale_out_cooldown);
        if (left > 0) {
            code(out, "below_desired_cooldown");
            say(out, "no alert and capacity %lld is below desired %lld, but scale-out "
                "is cooling down: %lld s of %lld s remain", cap, floor, left,
                g->scale_out_cooldown);
            return;
        }
        code(out, "below_desired");
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
        code(out, "scale_in_cooldown");
        say(out, "no alert, but scale-in is cooling down: %lld s of %lld s remain since "
            "%s at %lld", left, g->scale_in_cooldown, which, since);
        return;
    }
    long long step = g->scale_in_step < 1 ? 1 : g->scale_in_step;
    scale_in(in, out, cap - step < floor ? cap - floor : step, step, what, floor);
}

/* The newest sample's arithmetic, "ceil(3 x 84.2 / 50) = 6", into buf;
 * then what the tolerance or the bounds made of it, when they changed it:
 * "ceil(4 x 0.5 / 5) = 1, raised to the floor 2". */
int gov_formula(const struct gov_decision *d, char *buf, size_t size)
{
    return snprintf(buf, size, "ceil(%d x %.6g / %lld) = %lld", d->metric.nodes,
                    d->metric.value, d->metric.target, d->metric.raw);
}

static const char *formula(const struct gov_decision *out, char *buf, size_t size)
{
    int n = gov_formula(out, buf, size);
    long long rec = out->metric.recommended, raw = out->metric.raw;
    if (n < 0 || (size_t)n >= size || rec == raw)
        return buf;
    snprintf(buf + n, size - (size_t)n, "%s %lld",
             out->metric.in_tolerance ? ", within the tolerance: stays at"
             : rec > raw              ? ", raised to the floor"
                                      : ", capped at max",
             rec);
    return buf;
}

/* Rule 7m's scale-out toward want, a step at most, after the cooldown. */
static void metric_out(const struct gov_input *in, struct gov_decision *out, long long want)
{
    const struct group *g = in->spec;
    long long cap = out->capacity_before, step = g->scale_out_step < 1 ? 1 : g->scale_out_step;
    char f[96];
    long long left = cooldown_left(in->now, in->last_scale_out_at, g->scale_out_cooldown);
    if (left > 0) {
        code(out, "metric_out_cooldown");
        say(out, "metric above target: %s, want %lld, but scale-out is cooling down: "
            "%lld s of %lld s remain", formula(out, f, sizeof f), want, left,
            g->scale_out_cooldown);
        return;
    }
    code(out, "metric_out");
    act(out, GOV_SCALE_OUT, want - cap < step ? want - cap : step);
    say(out, "metric above target: %s; the lowest of the last %lld s wants %lld: scaling "
        "out by %d, capacity %lld -> %d", formula(out, f, sizeof f), g->scale_out_window,
        want, out->count, cap, out->capacity_after);
}

/* Rule 7m's scale-in toward want (>= the floor), a step at most, after the
 * scale-in cooldown measured as rule 7 measures it, never a protected node. */
static void metric_in(const struct gov_input *in, struct gov_decision *out, long long want)
{
    const struct group *g = in->spec;
    long long cap = out->capacity_before, step = g->scale_in_step < 1 ? 1 : g->scale_in_step;
    long long since = max3(in->last_scale_out_at, in->last_scale_in_at, in->alert_cleared_at);
    long long left = cooldown_left(in->now, since, g->scale_in_cooldown);
    long long free_cap = unprotected(in, cap), n = cap - want < step ? cap - want : step;
    char f[96];
    if (left > 0) {
        code(out, "metric_in_cooldown");
        say(out, "metric below target: %s, the highest of the last %lld s wants %lld, but "
            "scale-in is cooling down: %lld s of %lld s remain", formula(out, f, sizeof f),
            g->scale_in_window, want, left, g->scale_in_cooldown);
        return;
    }
    if (free_cap == 0) {
        code(out, "protected");
        say(out, "metric below target (%s), but all %lld of capacity is protected from "
            "scale-in", formula(out, f, sizeof f), cap);
        return;
    }
    code(out, "metric_in");
    act(out, GOV_SCALE_IN, n < free_cap ? n : free_cap);
    say(out, "metric below target: %s; the highest of the last %lld s wants %lld: "
        "scaling in by %d, capacity %lld -> %d", formula(out, f, sizeof f),
        g->scale_in_window, want, out->count, cap, out->capacity_after);
}

/* Rule 7m: one sample's recommendation, as Kubernetes' HPA makes it:
 * within the tolerance, the nodes it was taken with (no change); else
 * ceil(nodes x value / target). Clamped to [floor, max]. A sample taken
 * with no nodes counts as one node's worth. The epsilon keeps 2 x 75 / 50
 * at 3 although the division rounds it to 3.0000000000000004. */
static bool in_tolerance(const struct group *g, const struct gov_sample *s)
{
    return fabs(s->value / (double)g->target_value - 1.0) * 100.0 <=
           (double)g->target_tolerance;
}

/* ceil(nodes x value / target) itself, within [0, GOV_RAW_MAX]. */
#define GOV_RAW_MAX 1000000000LL
static long long raw_recommendation(const struct group *g, const struct gov_sample *s)
{
    double nodes = s->nodes > 0 ? s->nodes : 1;
    double want = ceil(nodes * (s->value / (double)g->target_value) - 1e-9);
    if (!(want < (double)GOV_RAW_MAX)) /* NaN included */
        return GOV_RAW_MAX;
    return want < 0 ? 0 : (long long)want;
}

static long long recommend(const struct group *g, const struct gov_sample *s,
                           long long floor)
{
    long long want = in_tolerance(g, s) ? (s->nodes > 0 ? s->nodes : 1)
                                        : raw_recommendation(g, s);
    return want > g->max ? g->max : want < floor ? floor : want;
}

/* The stabilised recommendations: the lowest over the scale-out window and
 * the highest over the scale-in one, both ending at the newest sample
 * (which is ok: the caller checked). Failed samples inside a window count
 * for nothing; the newest one's failure already held the group. */
static void stabilise(const struct gov_input *in, long long floor, struct gov_decision *out)
{
    const struct group *g = in->spec;
    const struct gov_sample *newest = &in->samples[in->n_samples - 1];
    long long span = g->scale_out_window > g->scale_in_window ? g->scale_out_window
                                                              : g->scale_in_window;
    out->metric.recommended = out->metric.out_rec = out->metric.in_rec =
        recommend(g, newest, floor);
    out->metric.raw = raw_recommendation(g, newest);
    out->metric.in_tolerance = in_tolerance(g, newest);
    for (int i = 0; i < in->n_samples; i++) {
        const struct gov_sample *s = &in->samples[i];
        long long age = newest->at - s->at;
        if (!s->ok || age < 0 || age > span)
            continue;
        out->metric.samples++;
        long long r = recommend(g, s, floor);
        if (age <= g->scale_out_window && r < out->metric.out_rec)
            out->metric.out_rec = r;
        if (age <= g->scale_in_window && r > out->metric.in_rec)
            out->metric.in_rec = r;
    }
}

/* Rule 7m's hold: why there is no fresh reading, into buf. */
static bool metric_stale(const struct gov_input *in, char *buf, size_t size)
{
    const struct gov_sample *s = in->n_samples ? &in->samples[in->n_samples - 1] : NULL;
    if (!s)
        snprintf(buf, size, "no metric sample yet");
    else if (!s->ok)
        snprintf(buf, size, "the newest metric sample (at %lld) failed", s->at);
    else if (in->now - s->at > in->spec->metric_max_age)
        snprintf(buf, size, "the newest metric sample is %lld s old (metric_max_age %lld)",
                 in->now - s->at, in->spec->metric_max_age);
    else
        return false;
    return true;
}

/* Rule 7m: target tracking, when no alert is on (governor.h). */
static void track(const struct gov_input *in, struct gov_decision *out)
{
    const struct group *g = in->spec;
    long long cap = out->capacity_before, floor = floor_of(g);
    char why[96];

    out->metric.used = true;
    out->metric.target = g->target_value;
    if (metric_stale(in, why, sizeof why)) {
        out->metric.held = true;
        if (cap < floor) {
            quiet(in, out); /* desired is restored whatever the metric says */
            return;
        }
        code(out, "metric_hold");
        say(out, "%s: holding at capacity %lld, never scaling in on a missing reading",
            why, cap);
        return;
    }
    const struct gov_sample *newest = &in->samples[in->n_samples - 1];
    out->metric.value = newest->value;
    out->metric.nodes = newest->nodes;
    stabilise(in, floor, out);
    long long out_rec = out->metric.out_rec, in_rec = out->metric.in_rec;
    if (out_rec > cap)
        metric_out(in, out, out_rec);
    else if (in_rec < cap)
        metric_in(in, out, in_rec);
    else if (out->metric.recommended > cap) {
        code(out, "metric_out_window");
        say(out, "metric above target now (%s), but not throughout the last %lld s "
            "(lowest %lld): capacity %lld stays", formula(out, why, sizeof why),
            g->scale_out_window, out_rec, cap);
    } else if (out->metric.recommended < cap) {
        code(out, "metric_in_window");
        say(out, "metric below target now (%s), but not throughout the last %lld s "
            "(highest %lld): capacity %lld stays", formula(out, why, sizeof why),
            g->scale_in_window, in_rec, cap);
    } else {
        code(out, "metric_on_target");
        say(out, "metric on target: %s, capacity %lld stays", formula(out, why, sizeof why),
            cap);
    }
}

/* Rule 3: above max, toward it at once, protection allowing. */
static void above_max(const struct gov_input *in, struct gov_decision *out)
{
    const struct group *g = in->spec;
    long long cap = out->capacity_before, want = cap - g->max,
              free_cap = unprotected(in, cap);
    if (free_cap == 0) {
        code(out, "protected");
        say(out, "capacity %lld is above max %lld, but all of it is protected from "
            "scale-in", cap, g->max);
        return;
    }
    code(out, "above_max");
    act(out, GOV_SCALE_IN, want < free_cap ? want : free_cap);
    say(out, "capacity %lld is above max %lld: scaling in by %d toward the maximum now, "
        "without waiting for a cooldown (%d protected)", cap, g->max, out->count,
        in->protected_capacity);
}

/* Rule 2: pending when no operation started since the operator forced
 * (controls.h, which asg_get shows by the same rule). */
static bool force_pending(const struct gov_input *in)
{
    return controls_force_pending(
        in->spec->forced_at,
        max3(in->last_scale_out_at, in->last_scale_in_at, in->last_replace_at), in->now);
}

/* Rule 2: true when it decided. A force its suspension or protection
 * stops is left pending, and the other rules decide meanwhile. */
static bool forced(const struct gov_input *in, struct gov_decision *out)
{
    long long cap = out->capacity_before, floor = floor_of(in->spec);
    if (!force_pending(in) || cap == floor)
        return false;
    if (cap < floor) {
        if (in->spec->suspend_scale_out)
            return false;
        act(out, GOV_SCALE_OUT, floor - cap);
    } else {
        long long want = cap - floor, free_cap = unprotected(in, cap);
        if (free_cap == 0 || in->spec->suspend_scale_in)
            return false;
        act(out, GOV_SCALE_IN, want < free_cap ? want : free_cap);
    }
    code(out, "forced");
    say(out, "forced resize to %lld (asked at %lld): %s by %d now, capacity %lld -> %d, "
        "without cooldowns or alerts", floor, in->spec->forced_at,
        out->action == GOV_SCALE_OUT ? "scaling out" : "scaling in", out->count, cap,
        out->capacity_after);
    return true;
}

/* Rule 4's min_healthy: -1 is min. */
static long long min_healthy_of(const struct group *g)
{
    return g->min_healthy < 0 ? g->min : g->min_healthy;
}

/* Rule 4: true when it decided. */
static bool replace(const struct gov_input *in, struct gov_decision *out)
{
    const struct group *g = in->spec;
    long long cap = out->capacity_before, mh = min_healthy_of(g);
    long long step = g->scale_out_step < 1 ? 1 : g->scale_out_step;
    long long r = in->unhealthy < step ? in->unhealthy : step, k = r;

    if (mh > g->max)
        return false; /* never enough healthy to take one down: suspend() says so */
    if (cap + k < g->min)
        k = g->min - cap;
    if (cap + k < mh) { /* toward mh, s nodes a tick (or the min's more) */
        long long most = step > k ? step : k;
        k = mh - cap < most ? mh - cap : most;
    }
    if (k > g->max - cap)
        k = g->max - cap > 0 ? g->max - cap : 0;
    if (cap + k < mh)
        r = 0; /* the healthy must reach mh first: a later tick takes them down */
    act(out, GOV_REPLACE, k);
    out->remove = (int)r;
    if (k == 0) {
        code(out, "replace_at_max");
        say(out, "%d unhealthy node(s), capacity %lld at max %lld: taking %lld of them "
            "down without adding any (min_healthy %lld)", in->unhealthy, cap, g->max, r,
            mh);
    } else if (r == 0) {
        code(out, "replace");
        say(out, "%d unhealthy node(s): adding %lld first, capacity %lld -> %d, and "
            "taking none down until %lld are healthy (min_healthy)", in->unhealthy, k,
            cap, out->capacity_after, mh);
    } else {
        code(out, "replace");
        say(out, "%d unhealthy node(s): adding %lld, capacity %lld -> %d, then taking "
            "%lld unhealthy down (min_healthy %lld)", in->unhealthy, k, cap,
            out->capacity_after, r, mh);
    }
    return true;
}

/* Rules 2-7. */
static void rules(const struct gov_input *in, struct gov_decision *out)
{
    const struct group *g = in->spec;
    long long cap = out->capacity_before;

    if (forced(in, out))
        return;
    if (cap > g->max) {
        above_max(in, out);
        return;
    }
    if (in->unhealthy > 0 && g->health_replace && !g->suspend_replace &&
        replace(in, out))
        return;
    if (cap < g->min)
        below_min(in, out);
    else if (in->alert != GOV_SEV_NONE)
        alert_out(in, out);
    else if (g->target_value > 0)
        track(in, out);
    else
        quiet(in, out);
}

/* Rule 8 (a suspended replacement never reached rule 4: rules() skips it),
 * and the "rest" of rule 4's fall-through. */
static void suspend(const struct gov_input *in, struct gov_decision *out)
{
    const struct group *g = in->spec;
    char was[sizeof out->reason];
    const char *process = NULL;

    if (out->action == GOV_SCALE_OUT && g->suspend_scale_out)
        process = "scale-out";
    else if (out->action == GOV_SCALE_IN && g->suspend_scale_in)
        process = "scale-in";
    if (process) {
        memcpy(was, out->reason, sizeof was);
        say(out, "%s is suspended: nothing done, though %s would have decided: %s",
            process, out->code, was);
        code(out, "suspended");
        act(out, GOV_NONE, 0);
        out->remove = 0;
        return;
    }
    /* Only a group otherwise at rest says so: any other "none" has news of
     * its own (alert_at_max is what capacity_exhausted is told from). */
    if (out->action != GOV_NONE || in->unhealthy <= 0 || strcmp(out->code, "rest") != 0)
        return;
    memcpy(was, out->reason, sizeof was);
    if (!g->health_replace) {
        code(out, "unhealthy_reported");
        say(out, "%d unhealthy node(s), reported only (health_replace 0); %s",
            in->unhealthy, was);
    } else if (g->suspend_replace) {
        code(out, "suspended");
        say(out, "replacement of %d unhealthy node(s) is suspended; %s", in->unhealthy,
            was);
    } else if (min_healthy_of(g) > g->max) {
        code(out, "replace_blocked");
        say(out, "%d unhealthy node(s) left in place: min_healthy %lld is above max "
            "%lld, so a replacement could never take one down; %s", in->unhealthy,
            min_healthy_of(g), g->max, was);
    }
}

/* The spec with the schedule's bounds (governor.h, "Schedules"): each value
 * it sets replaces the spec's; where the two then conflict, the schedule's
 * own value wins (a scheduled min above the spec's max raises max too). */
static void scheduled_spec(const struct group *g, const struct gov_schedule *s,
                           struct group *eff)
{
    *eff = *g;
    if (s->min >= 0)
        eff->min = s->min;
    if (s->max >= 0)
        eff->max = s->max;
    if (s->desired >= 0)
        eff->desired = s->desired;
    if (eff->min > eff->max) {
        if (s->min >= 0 && s->max < 0)
            eff->max = eff->min;
        else
            eff->min = eff->max;
    }
}

static void decide(const struct gov_input *in, struct gov_decision *out);

void governor_decide(const struct gov_input *in, struct gov_decision *out)
{
    if (!in->spec || !in->schedule.active) {
        decide(in, out);
        return;
    }
    struct group eff;
    struct gov_input with = *in;
    scheduled_spec(in->spec, &in->schedule, &eff);
    with.spec = &eff;
    decide(&with, out);
    snprintf(out->schedule, sizeof out->schedule, "%s", in->schedule.name);
}

static void decide(const struct gov_input *in, struct gov_decision *out)
{
    memset(out, 0, sizeof *out);
    out->capacity_before = in->building + in->active;
    out->capacity_after = out->capacity_before;

    const struct group *g = in->spec;
    if (!g) {
        code(out, "no_spec");
        say(out, "no group spec: nothing to decide");
    } else if (in->lease_held) {
        code(out, "lease_held");
        say(out, "an operation is in flight (lease held): waiting for it to finish, "
            "since nodes it ordered may not be recorded yet");
    } else if (g->min < 0 || g->min > g->max) {
        code(out, "invalid_spec");
        say(out, "the spec is invalid (min %lld, max %lld): refusing to scale", g->min,
            g->max);
    } else {
        rules(in, out);
        suspend(in, out);
    }
}

/* ---- building the input, record by record ---- */

void gov_input_init(struct gov_input *in, const struct group *spec, long long now)
{
    memset(in, 0, sizeof *in);
    in->spec = spec;
    in->now = now;
}

/* Deleting and unknown nodes are neither capacity nor a problem. */
void gov_input_add_node_health(struct gov_input *in, enum node_state s, bool unhealthy,
                               bool protected_node)
{
    switch (s) {
    case NODE_BUILDING:
        in->building++;
        in->protected_capacity += protected_node;
        break;
    case NODE_ACTIVE:
        if (unhealthy) {
            in->unhealthy++;
        } else {
            in->active++;
            in->protected_capacity += protected_node;
        }
        break;
    case NODE_DRAINING: in->draining++; break;
    case NODE_FAILED: in->failed++; break;
    default: break;
    }
}

void gov_input_add_node(struct gov_input *in, enum node_state s)
{
    gov_input_add_node_health(in, s, false, false);
}

/* One incident is in alert over [opened, min(closed, opened + max_age)).
 * Everything the governor needs follows from that interval, and it is the
 * same whatever order the incidents come in. */
void gov_input_add_incident(struct gov_input *in, const struct gov_incident *inc,
                            long long incident_max_age)
{
    long long max_age = incident_max_age > 0 ? incident_max_age : 0;
    long long opened = inc->opened_at;

    if (inc->open && opened == 0)
        return; /* cannot age, so cannot count: see governor.h */
    long long end = opened == 0                    ? LLONG_MAX
                    : opened > LLONG_MAX - max_age ? LLONG_MAX
                                                   : opened + max_age;
    if (inc->open && in->now < end) {
        enum gov_severity s = inc->critical ? GOV_SEV_CRITICAL : GOV_SEV_WARNING;
        if (s > in->alert)
            in->alert = s;
        return;
    }
    if (!inc->open) {
        long long closed = inc->closed_at;
        if (closed == 0)
            closed = opened; /* closed, time lost: it ended no later than it began */
        if (closed < end)
            end = closed;
    }
    if (end > in->alert_cleared_at)
        in->alert_cleared_at = end;
}

void gov_input_add_event(struct gov_input *in, const struct gov_op *ev)
{
    if (ev->op == GOV_SCALE_OUT && ev->at > in->last_scale_out_at)
        in->last_scale_out_at = ev->at;
    else if (ev->op == GOV_SCALE_IN && ev->at > in->last_scale_in_at)
        in->last_scale_in_at = ev->at;
    else if (ev->op == GOV_REPLACE && ev->at > in->last_replace_at)
        in->last_replace_at = ev->at;
}

/* A lease's start counts as its op's latest, held or expired. */
void gov_input_set_lease(struct gov_input *in, const struct gov_op *lease)
{
    gov_input_add_event(in, lease);
    in->lease_held = lease->expires_at <= 0 || lease->expires_at > in->now;
}

/* ---- the same from parsed records ---- */

static long long time_field(struct json_object *o, const char *key)
{
    long long t = jx_int(o, key, 0);
    return t > 0 ? t : 0;
}

static enum gov_action op_named(const char *op)
{
    return strcmp(op, "scale_out") == 0 ? GOV_SCALE_OUT
           : strcmp(op, "scale_in") == 0 ? GOV_SCALE_IN
           : strcmp(op, "replace") == 0  ? GOV_REPLACE
                                          : GOV_NONE;
}

void gov_incident_from_json(struct json_object *rec, struct gov_incident *out)
{
    out->open = strcmp(jx_str(rec, "state", ""), "open") == 0;
    out->critical = strcmp(jx_str(rec, "severity", ""), "critical") == 0;
    out->opened_at = time_field(rec, "opened_at");
    out->closed_at = time_field(rec, "closed_at");
}

void gov_op_from_json(struct json_object *rec, struct gov_op *out)
{
    out->op = op_named(jx_str(rec, "op", ""));
    out->at = time_field(rec, "at");
    out->expires_at = jx_int(rec, "expires_at", 0);
}

/* The record under the node's name in an object of records (borrowed), or
 * NULL. */
static struct json_object *record_of(struct json_object *by_node, const char *node)
{
    struct json_object *v = NULL;
    if (!by_node || !node || !json_object_object_get_ex(by_node, node, &v) ||
        !json_object_is_type(v, json_type_object))
        return NULL;
    return v;
}

/* Each node with its health and protection (governor.h): with every group
 * loaded (nodes NULL) only the counts by state are known. */
static void count_nodes(const struct asg_state *st, struct gov_input *in)
{
    if (!st->nodes) {
        long long c[NODE_UNKNOWN + 1];
        asg_state_node_counts(st, c);
        in->building = (int)c[NODE_BUILDING];
        in->active = (int)c[NODE_ACTIVE];
        in->draining = (int)c[NODE_DRAINING];
        in->failed = (int)c[NODE_FAILED];
        return;
    }
    size_t n = json_object_array_length(st->nodes);
    for (size_t i = 0; i < n; i++) {
        struct json_object *node = json_object_array_get_idx(st->nodes, i);
        const char *name = jx_str(node, "name", NULL);
        struct json_object *health = record_of(st->health, name);
        bool unhealthy = health && strcmp(jx_str(health, "status", ""), "unhealthy") == 0;
        gov_input_add_node_health(in, node_record_state(node), unhealthy,
                                  record_of(st->protect, name) != NULL);
    }
}
void governor_input_from_state(const struct asg_state *st, long long now,
                               struct gov_input *in)
{
    gov_input_init(in, &st->spec, now);
    count_nodes(st, in);

    size_t n = json_object_array_length(st->incidents);
    for (size_t i = 0; i < n; i++) {
        struct gov_incident inc;
        gov_incident_from_json(json_object_array_get_idx(st->incidents, i), &inc);
        gov_input_add_incident(in, &inc, st->spec.incident_max_age);
    }
    n = json_object_array_length(st->events);
    for (size_t i = 0; i < n; i++) {
        struct gov_op ev;
        gov_op_from_json(json_object_array_get_idx(st->events, i), &ev);
        gov_input_add_event(in, &ev);
    }
    if (st->lease) {
        struct gov_op lease;
        gov_op_from_json(st->lease, &lease);
        gov_input_set_lease(in, &lease);
    }
}
