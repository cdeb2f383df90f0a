/* test_governor.c - the scaling decision (lib/model/governor.c): one table row per
 * rule and per edge of a rule for governor_decide() (with its code: health,
 * replacement and min_healthy, protection, suspension, forced resize
 * included), then governor_input_from_state() on literal datastore records
 * (node states joined with health and protection, incident expiry and
 * closes, overlapping incidents, events and the lease), and the 2015
 * failure end to end: a recovery that never arrives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "asg.h"
#include "governor.h"
#include "group.h"
#include "jsonx.h"

#define NOW 1700000000LL

/* ---- governor_decide: the table ---- */

/* Spec fields left 0 take group_init's defaults (min 3, max 20, out by 5
 * every 600 s, in by 2 every 1800 s, warning by 1); desired 0 means unset,
 * so a row wanting desired 0 cannot say so (none needs to). */
struct decide_case {
    const char *name;
    long long min, max, desired, out_step, warn_step, out_cool, in_cool;
    bool zero_out_cool;
    int building, active, draining, failed;
    enum gov_severity alert;
    long long cleared, last_out, last_in; /* relative to NOW; 0: never */
    bool lease;
    /* health and controls (governor.h rules 2, 4, 8) */
    int unhealthy, protected_cap;
    bool report_only;        /* health_replace 0 */
    long long min_healthy;   /* 0: left at -1 (min); else the value - 1 */
    bool susp_out, susp_in, susp_rep;
    long long forced, last_rep; /* relative to NOW as above; 0: never */
    enum gov_action want;
    int count;
    int remove;
    const char *code;   /* when set, the decision's code */
    const char *reason; /* must appear in the reason */
    const char *reason2;
};

#define MH(n) ((n) + 1) /* a min_healthy of n in a row */

#define AGO(s) (NOW - (s))

static const struct decide_case cases[] = {
    {.name = "below min: out to min at once, cooldown not waited for",
     .active = 1, .failed = 2, .last_out = AGO(10), .want = GOV_SCALE_OUT, .count = 2,
     .reason = "below min 3", .reason2 = "2 failed"},
    {.name = "empty group: out to min",
     .want = GOV_SCALE_OUT, .count = 3, .reason = "below min"},
    {.name = "below min in a critical alert past cooldown: the larger step",
     .active = 1, .alert = GOV_SEV_CRITICAL, .want = GOV_SCALE_OUT, .count = 5,
     .reason = "alert's step"},
    {.name = "below min in a critical alert cooling down: just to min",
     .active = 1, .alert = GOV_SEV_CRITICAL, .last_out = AGO(10),
     .want = GOV_SCALE_OUT, .count = 2, .reason = "below min"},
    {.name = "below min in alert near max: the step is clamped",
     .min = 3, .max = 4, .active = 1, .alert = GOV_SEV_CRITICAL,
     .want = GOV_SCALE_OUT, .count = 3},
    {.name = "above max: in to max at once, cooldown not waited for",
     .active = 25, .last_in = AGO(10), .last_out = AGO(10), .want = GOV_SCALE_IN,
     .count = 5, .reason = "above max 20"},
    {.name = "above max during a critical alert: still in to max",
     .active = 22, .alert = GOV_SEV_CRITICAL, .want = GOV_SCALE_IN, .count = 2},
    {.name = "critical, cooldown passed: out by the step",
     .active = 8, .alert = GOV_SEV_CRITICAL, .last_out = AGO(600),
     .want = GOV_SCALE_OUT, .count = 5, .reason = "critical alert"},
    {.name = "critical, never scaled: out by the step",
     .active = 8, .alert = GOV_SEV_CRITICAL, .want = GOV_SCALE_OUT, .count = 5},
    {.name = "critical, cooldown not passed: none, seconds remaining",
     .active = 8, .alert = GOV_SEV_CRITICAL, .last_out = AGO(500), .want = GOV_NONE,
     .reason = "100 s", .reason2 = "cooling down"},
    {.name = "critical, zero cooldown: out again at once",
     .zero_out_cool = true, .active = 8, .alert = GOV_SEV_CRITICAL, .last_out = AGO(0),
     .want = GOV_SCALE_OUT, .count = 5},
    {.name = "warning: out by warning_step",
     .warn_step = 2, .active = 8, .alert = GOV_SEV_WARNING, .want = GOV_SCALE_OUT,
     .count = 2, .reason = "warning alert"},
    {.name = "clamp at max: capacity 18, max 20, step 5 gives 2",
     .active = 18, .alert = GOV_SEV_CRITICAL, .want = GOV_SCALE_OUT, .count = 2,
     .reason = "clamped"},
    {.name = "clamp at max counts building nodes",
     .building = 3, .active = 15, .alert = GOV_SEV_CRITICAL, .want = GOV_SCALE_OUT,
     .count = 2},
    {.name = "at max: none",
     .active = 20, .alert = GOV_SEV_CRITICAL, .want = GOV_NONE, .reason = "at max"},
    {.name = "at max while cooling down: at max is the reason",
     .active = 20, .alert = GOV_SEV_WARNING, .last_out = AGO(5), .want = GOV_NONE,
     .reason = "at max"},
    {.name = "recovery, cooldown not passed: none, seconds remaining",
     .active = 10, .cleared = AGO(1500), .last_out = AGO(2000), .want = GOV_NONE,
     .reason = "300 s", .reason2 = "alert cleared"},
    {.name = "recovery cooldown counts from the clearing, not the old scale-out",
     .active = 10, .cleared = AGO(100), .last_out = AGO(5000), .want = GOV_NONE,
     .reason = "1700 s", .reason2 = "alert cleared"},
    {.name = "recovery cooldown counts from the last scale-out when later",
     .active = 10, .cleared = AGO(5000), .last_out = AGO(1000), .want = GOV_NONE,
     .reason = "800 s", .reason2 = "last scale-out"},
    {.name = "recovery cooldown counts from the last scale-in when later",
     .active = 10, .cleared = AGO(5000), .last_out = AGO(5000), .last_in = AGO(1790),
     .want = GOV_NONE, .reason = "10 s", .reason2 = "last scale-in"},
    {.name = "recovery, cooldown passed: in by the step",
     .active = 10, .cleared = AGO(1800), .last_out = AGO(5000), .want = GOV_SCALE_IN,
     .count = 2, .reason = "scaling in by 2"},
    {.name = "no alert ever, above min: in by the step",
     .active = 10, .want = GOV_SCALE_IN, .count = 2},
    {.name = "clamp at min: capacity 4, min 3, step 2 gives 1",
     .active = 4, .want = GOV_SCALE_IN, .count = 1, .reason = "clamped",
     .reason2 = "min 3"},
    {.name = "at min: none",
     .active = 3, .want = GOV_NONE, .reason = "at min"},
    {.name = "lease held below min: none (its nodes may be unrecorded)",
     .active = 0, .lease = true, .want = GOV_NONE, .reason = "in flight"},
    {.name = "lease held above max: none",
     .active = 30, .lease = true, .want = GOV_NONE, .reason = "in flight"},
    {.name = "lease held in a critical alert: none",
     .active = 8, .alert = GOV_SEV_CRITICAL, .lease = true, .want = GOV_NONE,
     .reason = "in flight"},
    {.name = "draining and failed nodes are not capacity",
     .active = 2, .draining = 3, .failed = 4, .want = GOV_SCALE_OUT, .count = 1},
    {.name = "building nodes are capacity",
     .building = 2, .active = 1, .failed = 5, .want = GOV_NONE, .reason = "at min"},
    {.name = "draining nodes do not hold back a step at max",
     .active = 18, .draining = 5, .alert = GOV_SEV_CRITICAL, .want = GOV_SCALE_OUT,
     .count = 2},
    {.name = "desired is the floor for scale-in",
     .desired = 6, .active = 10, .want = GOV_SCALE_IN, .count = 2},
    {.name = "desired floor clamps the step",
     .desired = 6, .active = 7, .want = GOV_SCALE_IN, .count = 1,
     .reason = "desired 6"},
    {.name = "at desired: none",
     .desired = 6, .active = 6, .want = GOV_NONE, .reason = "at desired 6"},
    {.name = "below desired, no alert: back out to desired",
     .desired = 6, .active = 4, .want = GOV_SCALE_OUT, .count = 2,
     .reason = "below desired"},
    {.name = "below desired, scale-out cooling down: none",
     .desired = 6, .active = 4, .last_out = AGO(60), .want = GOV_NONE,
     .reason = "540 s"},
    {.name = "desired does not cap an alert",
     .desired = 6, .active = 6, .alert = GOV_SEV_CRITICAL, .want = GOV_SCALE_OUT,
     .count = 5},
    {.name = "a stamp ahead of the clock waits the whole cooldown from it",
     .active = 8, .alert = GOV_SEV_CRITICAL, .last_out = NOW + 100, .want = GOV_NONE,
     .reason = "700 s"},
    {.name = "min above max: refuse",
     .min = 9, .max = 5, .active = 1, .want = GOV_NONE, .reason = "invalid",
     .code = "invalid_spec"},

    /* codes of the old rules */
    {.name = "code: lease held", .active = 3, .lease = true, .want = GOV_NONE,
     .code = "lease_held"},
    {.name = "code: below min", .active = 1, .want = GOV_SCALE_OUT, .count = 2,
     .code = "below_min"},
    {.name = "code: above max", .active = 22, .want = GOV_SCALE_IN, .count = 2,
     .code = "above_max"},
    {.name = "code: alert out", .active = 8, .alert = GOV_SEV_CRITICAL,
     .want = GOV_SCALE_OUT, .count = 5, .code = "alert_out"},
    {.name = "code: alert clamped", .active = 18, .alert = GOV_SEV_CRITICAL,
     .want = GOV_SCALE_OUT, .count = 2, .code = "alert_clamped"},
    {.name = "code: alert at max", .active = 20, .alert = GOV_SEV_WARNING,
     .want = GOV_NONE, .code = "alert_at_max"},
    {.name = "code: alert cooldown", .active = 8, .alert = GOV_SEV_CRITICAL,
     .last_out = AGO(5), .want = GOV_NONE, .code = "alert_cooldown"},
    {.name = "code: rest", .active = 3, .want = GOV_NONE, .code = "rest"},
    {.name = "code: below desired", .desired = 6, .active = 4, .want = GOV_SCALE_OUT,
     .count = 2, .code = "below_desired"},
    {.name = "code: below desired cooldown", .desired = 6, .active = 4,
     .last_out = AGO(5), .want = GOV_NONE, .code = "below_desired_cooldown"},
    {.name = "code: scale in", .active = 10, .want = GOV_SCALE_IN, .count = 2,
     .code = "scale_in"},
    {.name = "code: scale in clamped at the floor", .active = 4, .want = GOV_SCALE_IN,
     .count = 1, .code = "scale_in_clamped"},
    {.name = "code: scale in cooldown", .active = 10, .last_in = AGO(5),
     .want = GOV_NONE, .code = "scale_in_cooldown"},

    /* unhealthy nodes are not capacity */
    {.name = "unhealthy: replaced one for one, new first",
     .active = 4, .unhealthy = 2, .want = GOV_REPLACE, .count = 2, .remove = 2,
     .code = "replace", .reason = "2 unhealthy", .reason2 = "min_healthy 3"},
    {.name = "unhealthy: bounded by scale_out_step",
     .max = 30, .min = 3, .out_step = 2, .active = 10, .unhealthy = 5,
     .want = GOV_REPLACE, .count = 2, .remove = 2, .code = "replace"},
    {.name = "unhealthy: below min the replacement restores min too",
     .active = 0, .unhealthy = 1, .want = GOV_REPLACE, .count = 3, .remove = 1,
     .code = "replace"},
    {.name = "unhealthy: no cooldown for a replacement",
     .active = 5, .unhealthy = 1, .last_out = AGO(1), .last_rep = AGO(1),
     .want = GOV_REPLACE, .count = 1, .remove = 1},
    {.name = "unhealthy: raised so healthy reaches min_healthy before removal",
     .active = 3, .unhealthy = 1, .min_healthy = MH(6), .want = GOV_REPLACE,
     .count = 3, .remove = 1, .reason = "min_healthy 6"},
    {.name = "unhealthy, far below min_healthy: grows by the step, takes none down",
     .max = 30, .min = 3, .out_step = 2, .active = 3, .unhealthy = 1,
     .min_healthy = MH(8), .want = GOV_REPLACE, .count = 2, .remove = 0,
     .code = "replace", .reason = "taking none down until 8 are healthy"},
    {.name = "unhealthy, the last step to min_healthy: then taken down",
     .max = 30, .min = 3, .out_step = 2, .active = 7, .unhealthy = 1,
     .min_healthy = MH(8), .want = GOV_REPLACE, .count = 1, .remove = 1},
    {.name = "unhealthy below min: min at once, even past the step toward min_healthy",
     .max = 30, .min = 6, .out_step = 2, .active = 1, .unhealthy = 1,
     .min_healthy = MH(20), .want = GOV_REPLACE, .count = 5, .remove = 0},
    {.name = "unhealthy: min_healthy 0 is one for one",
     .active = 3, .unhealthy = 1, .min_healthy = MH(0), .want = GOV_REPLACE,
     .count = 1, .remove = 1},
    {.name = "unhealthy: clamped at max, capacity + count = max >= min_healthy",
     .min = 1, .max = 6, .active = 5, .unhealthy = 3, .min_healthy = MH(6),
     .want = GOV_REPLACE, .count = 1, .remove = 3},
    {.name = "unhealthy at max: only taken down",
     .min = 1, .max = 6, .active = 6, .unhealthy = 2, .want = GOV_REPLACE,
     .count = 0, .remove = 2, .code = "replace_at_max"},
    {.name = "unhealthy, min_healthy above max: never replaced, said so",
     .min = 1, .max = 6, .active = 1, .unhealthy = 2, .min_healthy = MH(7),
     .want = GOV_NONE, .code = "replace_blocked", .reason = "min_healthy 7"},
    {.name = "unhealthy, min_healthy above max: the ordinary rules still run",
     .min = 3, .max = 6, .active = 1, .unhealthy = 2, .min_healthy = MH(7),
     .want = GOV_SCALE_OUT, .count = 2, .code = "below_min"},
    {.name = "unhealthy, report only: not replaced, capacity added by the rules",
     .active = 2, .unhealthy = 1, .report_only = true, .want = GOV_SCALE_OUT,
     .count = 1, .code = "below_min", .reason = "1 unhealthy"},
    {.name = "unhealthy, report only, at rest: reported",
     .active = 3, .unhealthy = 1, .report_only = true, .want = GOV_NONE,
     .code = "unhealthy_reported", .reason = "reported only"},
    {.name = "unhealthy, report only, in alert at max: alert_at_max stays",
     .active = 20, .unhealthy = 1, .report_only = true, .alert = GOV_SEV_CRITICAL,
     .want = GOV_NONE, .code = "alert_at_max"},
    {.name = "unhealthy above max: max first",
     .active = 21, .unhealthy = 1, .want = GOV_SCALE_IN, .count = 1,
     .code = "above_max"},
    {.name = "unhealthy in a critical alert: replaced first",
     .active = 8, .unhealthy = 1, .alert = GOV_SEV_CRITICAL, .want = GOV_REPLACE,
     .count = 1, .remove = 1},
    {.name = "lease held with unhealthy nodes: none",
     .active = 3, .unhealthy = 2, .lease = true, .want = GOV_NONE,
     .code = "lease_held"},

    /* protection */
    {.name = "protected: scale-in clamped to the unprotected",
     .active = 10, .protected_cap = 9, .want = GOV_SCALE_IN, .count = 1,
     .code = "scale_in_clamped", .reason = "9 of capacity 10 protected"},
    {.name = "protected: all of it, none",
     .active = 10, .protected_cap = 10, .want = GOV_NONE, .code = "protected"},
    {.name = "protected: the floor still clamps first",
     .active = 4, .protected_cap = 1, .want = GOV_SCALE_IN, .count = 1},
    {.name = "protected above max: toward max as far as protection allows",
     .active = 22, .protected_cap = 21, .want = GOV_SCALE_IN, .count = 1,
     .code = "above_max"},
    {.name = "protected above max, all of it: none",
     .active = 22, .protected_cap = 22, .want = GOV_NONE, .code = "protected"},
    {.name = "protection does not hold back a scale-out",
     .active = 8, .protected_cap = 8, .alert = GOV_SEV_CRITICAL,
     .want = GOV_SCALE_OUT, .count = 5},

    /* suspension */
    {.name = "suspended scale-out: alert does nothing",
     .active = 8, .alert = GOV_SEV_CRITICAL, .susp_out = true, .want = GOV_NONE,
     .code = "suspended", .reason = "scale-out is suspended", .reason2 = "alert_out"},
    {.name = "suspended scale-out: below min too",
     .active = 1, .susp_out = true, .want = GOV_NONE, .code = "suspended"},
    {.name = "suspended scale-in: no scale-in",
     .active = 10, .susp_in = true, .want = GOV_NONE, .code = "suspended",
     .reason = "scale-in is suspended"},
    {.name = "suspended scale-in: above max too",
     .active = 22, .susp_in = true, .want = GOV_NONE, .code = "suspended"},
    {.name = "suspended scale-in does not stop a scale-out",
     .active = 8, .alert = GOV_SEV_CRITICAL, .susp_in = true, .want = GOV_SCALE_OUT,
     .count = 5},
    {.name = "suspended replacement: the ordinary rules add capacity",
     .active = 2, .unhealthy = 1, .susp_rep = true, .want = GOV_SCALE_OUT,
     .count = 1, .code = "below_min"},
    {.name = "suspended replacement at rest: suspended",
     .active = 3, .unhealthy = 1, .susp_rep = true, .want = GOV_NONE,
     .code = "suspended", .reason = "replacement of 1 unhealthy"},
    {.name = "suspended scale-out does not stop a replacement",
     .active = 3, .unhealthy = 1, .susp_out = true, .want = GOV_REPLACE, .count = 1,
     .remove = 1},

    /* forced resize */
    {.name = "forced: straight out to desired, cooldown and step ignored",
     .desired = 15, .active = 5, .last_out = AGO(100), .forced = AGO(10),
     .want = GOV_SCALE_OUT, .count = 10, .code = "forced"},
    {.name = "forced: straight in to desired, during an alert",
     .desired = 4, .active = 12, .alert = GOV_SEV_CRITICAL, .last_in = AGO(100),
     .forced = AGO(10), .want = GOV_SCALE_IN, .count = 8, .code = "forced"},
    {.name = "forced scale-in clamped by protection",
     .desired = 4, .active = 12, .protected_cap = 10, .forced = AGO(10),
     .want = GOV_SCALE_IN, .count = 2, .code = "forced"},
    {.name = "forced, all protected: the ordinary rules decide",
     .desired = 4, .active = 12, .protected_cap = 12, .forced = AGO(10),
     .alert = GOV_SEV_CRITICAL, .want = GOV_SCALE_OUT, .count = 5,
     .code = "alert_out"},
    {.name = "forced once: an operation started since",
     .desired = 15, .active = 10, .last_out = AGO(5), .forced = AGO(10),
     .want = GOV_NONE, .code = "below_desired_cooldown"},
    {.name = "forced once: a replacement started since counts too",
     .desired = 15, .active = 10, .last_rep = AGO(5), .last_out = AGO(50),
     .forced = AGO(10), .want = GOV_NONE, .code = "below_desired_cooldown"},
    {.name = "forced an hour ago: expired",
     .desired = 15, .active = 10, .last_out = AGO(3700), .forced = AGO(3600),
     .out_cool = 86400, .want = GOV_NONE, .code = "below_desired_cooldown"},
    {.name = "forced a second short of the hour: still pending",
     .desired = 15, .active = 10, .last_out = AGO(3700), .forced = AGO(3599),
     .out_cool = 86400, .want = GOV_SCALE_OUT, .count = 5, .code = "forced"},
    {.name = "forced at desired already: the ordinary rules",
     .desired = 10, .active = 10, .forced = AGO(10), .want = GOV_NONE, .code = "rest"},
    {.name = "forced, scale-out suspended: waits, the rest decide",
     .desired = 15, .active = 10, .forced = AGO(10), .susp_out = true,
     .want = GOV_NONE, .code = "suspended"},
    {.name = "forced, scale-out suspended: a replacement goes on",
     .desired = 15, .active = 10, .unhealthy = 1, .forced = AGO(10), .susp_out = true,
     .want = GOV_REPLACE, .count = 1, .remove = 1},
    {.name = "forced before the unhealthy are replaced",
     .desired = 15, .active = 10, .unhealthy = 1, .forced = AGO(10),
     .want = GOV_SCALE_OUT, .count = 5, .code = "forced"},
    {.name = "forced does not override a held lease",
     .desired = 15, .active = 10, .forced = AGO(10), .lease = true, .want = GOV_NONE,
     .code = "lease_held"},
    {.name = "forced within bounds: desired above max is clamped",
     .min = 2, .max = 8, .desired = 12, .active = 3, .forced = AGO(10),
     .want = GOV_SCALE_OUT, .count = 5, .code = "forced"},
};

static void spec_for(const struct decide_case *c, struct group *g)
{
    group_init(g, "web");
    if (c->min || c->max) {
        g->min = c->min;
        g->max = c->max;
    }
    g->desired = c->desired ? c->desired : -1;
    if (c->out_step)
        g->scale_out_step = c->out_step;
    if (c->warn_step)
        g->warning_step = c->warn_step;
    if (c->out_cool || c->zero_out_cool)
        g->scale_out_cooldown = c->out_cool;
    if (c->in_cool)
        g->scale_in_cooldown = c->in_cool;
    g->health_replace = !c->report_only;
    if (c->min_healthy)
        g->min_healthy = c->min_healthy - 1;
    g->suspend_scale_out = c->susp_out;
    g->suspend_scale_in = c->susp_in;
    g->suspend_replace = c->susp_rep;
    g->forced_at = c->forced;
}

/* What holds of every decision, whatever the input. */
static void assert_well_formed(const struct gov_input *in, const struct gov_decision *d)
{
    assert_int_equal(d->capacity_before, in->building + in->active);
    assert_true(d->reason[0] != '\0');
    assert_true(d->code[0] != '\0' && strspn(d->code, "abcdefghijklmnopqrstuvwxyz_") ==
                                          strlen(d->code));
    if (d->action == GOV_NONE) {
        assert_int_equal(d->count, 0);
        assert_int_equal(d->remove, 0);
        assert_int_equal(d->capacity_after, d->capacity_before);
    } else if (d->action == GOV_REPLACE) {
        assert_true(d->count >= 0 && d->remove >= 0 && d->count + d->remove > 0);
        assert_true(d->remove <= in->unhealthy);
        assert_int_equal(d->capacity_after, d->capacity_before + d->count);
    } else {
        assert_true(d->count > 0);
        assert_int_equal(d->remove, 0);
        int sign = d->action == GOV_SCALE_OUT ? 1 : -1;
        assert_int_equal(d->capacity_after, d->capacity_before + sign * d->count);
    }
}

static void test_decide_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct decide_case *c = &cases[i];
        struct group g;
        spec_for(c, &g);
        struct gov_input in = {
            .spec = &g, .now = NOW, .building = c->building, .active = c->active,
            .draining = c->draining, .failed = c->failed, .alert = c->alert,
            .alert_cleared_at = c->cleared, .last_scale_out_at = c->last_out,
            .last_scale_in_at = c->last_in, .lease_held = c->lease,
            .unhealthy = c->unhealthy, .protected_capacity = c->protected_cap,
            .last_replace_at = c->last_rep,
        };
        struct gov_decision d;
        governor_decide(&in, &d);
        print_message("  %-70s %s %d/%d [%s]: %s\n", c->name, gov_action_name(d.action),
                      d.count, d.remove, d.code, d.reason);
        if (d.action != c->want || d.count != c->count || d.remove != c->remove)
            fail_msg("%s: want %s %d remove %d, got %s %d remove %d (%s)", c->name,
                     gov_action_name(c->want), c->count, c->remove,
                     gov_action_name(d.action), d.count, d.remove, d.reason);
        if (c->code && strcmp(d.code, c->code) != 0)
            fail_msg("%s: want code %s, got %s (%s)", c->name, c->code, d.code, d.reason);
        assert_well_formed(&in, &d);
        if (c->reason && !strstr(d.reason, c->reason))
            fail_msg("%s: reason lacks \"%s\": %s", c->name, c->reason, d.reason);
        if (c->reason2 && !strstr(d.reason, c->reason2))
            fail_msg("%s: reason lacks \"%s\": %s", c->name, c->reason2, d.reason);
        group_clear(&g);
    }
}

/* The default spec with every reachable input, exhaustively over a small
 * range: the well-formedness and the bounds hold everywhere. */
static void test_decide_bounds_exhaustive(void **state)
{
    (void)state;
    struct group g;
    group_init(&g, "web");
    g.min = 2;
    g.max = 6;
    g.scale_out_step = 3;
    g.scale_in_step = 3;
    for (int desired = -1; desired <= 6; desired += desired < 0 ? 3 : 1)
        for (int cap = 0; cap <= 9; cap++)
            for (int sev = GOV_SEV_NONE; sev <= GOV_SEV_CRITICAL; sev++)
                for (int t = 0; t < 4; t++) {
                    g.desired = desired;
                    struct gov_input in = {
                        .spec = &g, .now = NOW, .building = cap / 2,
                        .active = cap - cap / 2, .alert = (enum gov_severity)sev,
                        .last_scale_out_at = t & 1 ? AGO(1) : 0,
                        .last_scale_in_at = t & 2 ? AGO(1) : 0,
                    };
                    struct gov_decision d;
                    governor_decide(&in, &d);
                    assert_well_formed(&in, &d);
                    if (cap >= g.min && cap <= g.max) {
                        assert_true(d.capacity_after >= g.min);
                        assert_true(d.capacity_after <= g.max);
                    } else if (cap < g.min) {
                        assert_int_equal(d.action, GOV_SCALE_OUT);
                        assert_true(d.capacity_after >= g.min &&
                                    d.capacity_after <= g.max);
                    } else {
                        assert_int_equal(d.action, GOV_SCALE_IN);
                        assert_int_equal(d.capacity_after, g.max);
                    }
                }
    group_clear(&g);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(gov_action_name(GOV_NONE), "none");
    assert_string_equal(gov_action_name(GOV_SCALE_OUT), "scale_out");
    assert_string_equal(gov_action_name(GOV_SCALE_IN), "scale_in");
    assert_string_equal(gov_action_name(GOV_REPLACE), "replace");
    assert_string_equal(gov_action_name((enum gov_action)42), "none");
    assert_string_equal(gov_severity_name(GOV_SEV_CRITICAL), "critical");
    assert_string_equal(gov_severity_name(GOV_SEV_WARNING), "warning");
    assert_string_equal(gov_severity_name(GOV_SEV_NONE), "none");
}

static void test_no_spec(void **state)
{
    (void)state;
    struct gov_input in = {.now = NOW, .active = 1};
    struct gov_decision d;
    governor_decide(&in, &d);
    assert_int_equal(d.action, GOV_NONE);
    assert_true(d.reason[0] != '\0');
}

/* ---- governor_input_from_state ---- */

static struct json_object *parse(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static struct json_object *parse(const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof buf);
    struct json_object *o = json_tokener_parse(buf);
    if (!o)
        fail_msg("bad test JSON: %s", buf);
    return o;
}

/* A state with the default spec and no records; callers replace arrays. */
static void state_init(struct asg_state *st)
{
    memset(st, 0, sizeof *st);
    group_init(&st->spec, "web");
    st->nodes = json_object_new_array();
    st->incidents = json_object_new_array();
    st->events = json_object_new_array();
}

static void set_incidents(struct asg_state *st, struct json_object *arr)
{
    json_object_put(st->incidents);
    st->incidents = arr;
}

static void test_state_counts_nodes(void **state)
{
    (void)state;
    struct asg_state st;
    state_init(&st);
    json_object_put(st.nodes);
    st.nodes = parse("[{\"name\":\"a\",\"state\":\"building\"},"
                     "{\"name\":\"b\",\"state\":\"active\"},"
                     "{\"name\":\"c\",\"state\":\"active\"},"
                     "{\"name\":\"d\",\"state\":\"draining\"},"
                     "{\"name\":\"e\",\"state\":\"failed\"},"
                     "{\"name\":\"f\",\"state\":\"failed\"},"
                     "{\"name\":\"g\",\"state\":\"deleting\"},"
                     "{\"name\":\"h\",\"state\":\"exploded\"},"
                     "{\"name\":\"i\"}]");
    struct gov_input in;
    governor_input_from_state(&st, NOW, &in);
    assert_ptr_equal(in.spec, &st.spec);
    assert_int_equal(in.now, NOW);
    assert_int_equal(in.building, 1);
    assert_int_equal(in.active, 2);
    assert_int_equal(in.draining, 1);
    assert_int_equal(in.failed, 2);
    assert_int_equal(in.alert, GOV_SEV_NONE);
    assert_int_equal(in.alert_cleared_at, 0);
    assert_int_equal(in.last_scale_out_at, 0);
    assert_int_equal(in.last_scale_in_at, 0);
    assert_false(in.lease_held);
    asg_state_clear(&st);
}

/* The warm pool (issue 17): warming and warm nodes are neither capacity
 * nor a problem, and count toward neither min nor max, whichever way the
 * input is built. With them counted, 1 active + 4 pool nodes would be above
 * max 3 (a scale-in); without, it is below min 2 (a scale-out of 1). */
static void test_warm_nodes_counted_nowhere(void **state)
{
    (void)state;
    struct gov_input in;
    gov_input_init(&in, NULL, NOW);
    gov_input_add_node_health(&in, NODE_WARM, true, true);
    gov_input_add_node_health(&in, NODE_WARMING, true, true);
    gov_input_add_node(&in, NODE_WARM);
    assert_int_equal(in.active + in.building + in.unhealthy + in.draining + in.failed +
                         in.protected_capacity,
                     0);

    struct asg_state st;
    state_init(&st);
    st.spec.min = 2;
    st.spec.max = 3;
    st.spec.warm_pool = 4;
    json_object_put(st.nodes);
    st.nodes = parse("[{\"name\":\"a\",\"state\":\"active\"},"
                     "{\"name\":\"b\",\"state\":\"warm\"},"
                     "{\"name\":\"c\",\"state\":\"warm\"},"
                     "{\"name\":\"d\",\"state\":\"warm\"},"
                     "{\"name\":\"e\",\"state\":\"warming\"}]");
    struct gov_decision d;
    governor_input_from_state(&st, NOW, &in);
    assert_int_equal(in.active, 1);
    assert_int_equal(in.building + in.draining + in.failed + in.unhealthy, 0);
    governor_decide(&in, &d);
    assert_int_equal(d.action, GOV_SCALE_OUT);
    assert_int_equal(d.count, 1);
    assert_string_equal(d.code, "below_min");

    /* every group at once: the counts by state, not the records */
    long long c[NODE_UNKNOWN + 1];
    asg_state_node_counts(&st, c);
    assert_int_equal(c[NODE_WARM], 3);
    assert_int_equal(c[NODE_WARMING], 1);
    struct json_object *counts = asg_state_counts(&st);
    assert_int_equal(jx_int(counts, "capacity", -1), 1);
    assert_int_equal(jx_int(counts, "warm", -1), 3);
    json_object_put(counts);
    json_object_put(st.nodes);
    st.nodes = NULL;
    memcpy(st.node_counts, c, sizeof c);
    governor_input_from_state(&st, NOW, &in);
    governor_decide(&in, &d);
    assert_int_equal(in.active, 1);
    assert_int_equal(d.count, 1);
    assert_string_equal(d.code, "below_min");
    asg_state_clear(&st);
}

/* Table rows over incidents alone: the JSON array with $0 $1 $2 standing
 * for the row's times, then what it means. */
struct incident_case {
    const char *name;
    const char *incidents;
    long long t[3];
    enum gov_severity alert;
    long long cleared; /* 0: never */
};

#define MAXAGE 21600LL /* group_init's incident_max_age */

static const struct incident_case incident_cases[] = {
    {"open and young: in alert",
     "[{\"id\":\"1\",\"state\":\"open\",\"severity\":\"critical\",\"opened_at\":$0}]",
     {AGO(60)}, GOV_SEV_CRITICAL, 0},
    {"open and older than max age: expired, cleared at opened + max age",
     "[{\"id\":\"1\",\"state\":\"open\",\"severity\":\"critical\",\"opened_at\":$0}]",
     {AGO(MAXAGE + 1)}, GOV_SEV_NONE, AGO(1)},
    {"a close remembered",
     "[{\"id\":\"1\",\"state\":\"closed\",\"severity\":\"critical\","
     "\"opened_at\":$0,\"closed_at\":$1}]",
     {AGO(4000), AGO(100)}, GOV_SEV_NONE, AGO(100)},
    {"one closed, one open: still in alert, the open one's severity",
     "[{\"id\":\"1\",\"state\":\"closed\",\"severity\":\"critical\","
     "\"opened_at\":$0,\"closed_at\":$1},"
     "{\"id\":\"2\",\"state\":\"open\",\"severity\":\"warning\",\"opened_at\":$2}]",
     {AGO(4000), AGO(100), AGO(50)}, GOV_SEV_WARNING, AGO(100)},
    {"two open: the worst severity wins",
     "[{\"id\":\"1\",\"state\":\"open\",\"severity\":\"warning\",\"opened_at\":$0},"
     "{\"id\":\"2\",\"state\":\"open\",\"severity\":\"critical\",\"opened_at\":$1},"
     "{\"id\":\"3\",\"state\":\"open\",\"severity\":\"warning\",\"opened_at\":$2}]",
     {AGO(10), AGO(20), AGO(30)}, GOV_SEV_CRITICAL, 0},
    {"an expired critical and a young warning: the warning",
     "[{\"id\":\"1\",\"state\":\"open\",\"severity\":\"critical\",\"opened_at\":$0},"
     "{\"id\":\"2\",\"state\":\"open\",\"severity\":\"warning\",\"opened_at\":$1}]",
     {AGO(MAXAGE + 100), AGO(10)}, GOV_SEV_WARNING, AGO(100)},
    {"a close after expiry: cleared at the expiry, not the late close",
     "[{\"id\":\"1\",\"state\":\"closed\",\"severity\":\"critical\","
     "\"opened_at\":$0,\"closed_at\":$1}]",
     {AGO(30000), AGO(10)}, GOV_SEV_NONE, AGO(30000) + MAXAGE},
    {"two closes: the later one",
     "[{\"id\":\"1\",\"state\":\"closed\",\"severity\":\"warning\","
     "\"opened_at\":$0,\"closed_at\":$1},"
     "{\"id\":\"2\",\"state\":\"closed\",\"severity\":\"critical\","
     "\"opened_at\":$0,\"closed_at\":$2}]",
     {AGO(5000), AGO(300), AGO(400)}, GOV_SEV_NONE, AGO(300)},
    {"unknown severity: a warning",
     "[{\"id\":\"1\",\"state\":\"open\",\"severity\":\"major\",\"opened_at\":$0}]",
     {AGO(5)}, GOV_SEV_WARNING, 0},
    {"open without opened_at: counts for nothing",
     "[{\"id\":\"1\",\"state\":\"open\",\"severity\":\"critical\"}]", {0},
     GOV_SEV_NONE, 0},
};

static struct json_object *expand(const char *tmpl, const long long *t)
{
    char buf[2048];
    size_t n = 0;
    for (const char *p = tmpl; *p; p++) {
        int w;
        if (p[0] == '$' && p[1] >= '0' && p[1] <= '2')
            w = snprintf(buf + n, sizeof buf - n, "%lld", t[*++p - '0']);
        else
            w = snprintf(buf + n, sizeof buf - n, "%c", *p);
        assert_true(w > 0 && (size_t)w < sizeof buf - n);
        n += (size_t)w;
    }
    struct json_object *o = json_tokener_parse(buf);
    if (!o)
        fail_msg("bad test JSON: %s", buf);
    return o;
}

static void test_state_incidents(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof incident_cases / sizeof incident_cases[0]; i++) {
        const struct incident_case *c = &incident_cases[i];
        struct asg_state st;
        state_init(&st);
        set_incidents(&st, expand(c->incidents, c->t));
        struct gov_input in;
        governor_input_from_state(&st, NOW, &in);
        print_message("  %-66s alert %s, cleared %lld\n", c->name,
                      gov_severity_name(in.alert), in.alert_cleared_at);
        if (in.alert != c->alert || in.alert_cleared_at != c->cleared)
            fail_msg("%s: want alert %s cleared %lld, got %s %lld", c->name,
                     gov_severity_name(c->alert), c->cleared,
                     gov_severity_name(in.alert), in.alert_cleared_at);
        asg_state_clear(&st);
    }
}

/* The edge of max age is exact: younger than max age counts, max age
 * itself does not. */
static void test_state_incident_age_edge(void **state)
{
    (void)state;
    struct asg_state st;
    state_init(&st);
    set_incidents(&st, parse("[{\"id\":\"1\",\"state\":\"open\",\"severity\":\"critical\","
                             "\"opened_at\":%lld}]", NOW - MAXAGE));
    struct gov_input in;
    governor_input_from_state(&st, NOW - 1, &in);
    assert_int_equal(in.alert, GOV_SEV_CRITICAL);
    governor_input_from_state(&st, NOW, &in);
    assert_int_equal(in.alert, GOV_SEV_NONE);
    assert_int_equal(in.alert_cleared_at, NOW);

    /* A shorter max age applies to an incident already open. */
    st.spec.incident_max_age = 60;
    governor_input_from_state(&st, NOW - MAXAGE + 59, &in);
    assert_int_equal(in.alert, GOV_SEV_CRITICAL);
    governor_input_from_state(&st, NOW - MAXAGE + 60, &in);
    assert_int_equal(in.alert, GOV_SEV_NONE);
    assert_int_equal(in.alert_cleared_at, NOW - MAXAGE + 60);
    asg_state_clear(&st);
}

/* Health and protection joined to the node records: an unhealthy report
 * counts for an active node only, protection for a capacity node only, and
 * a record of a node that is not there for nothing. */
static void test_state_health_and_protection(void **state)
{
    (void)state;
    struct asg_state st;
    state_init(&st);
    json_object_put(st.nodes);
    st.nodes = parse("[{\"name\":\"a\",\"state\":\"building\"},"
                     "{\"name\":\"b\",\"state\":\"active\"},"
                     "{\"name\":\"c\",\"state\":\"active\"},"
                     "{\"name\":\"d\",\"state\":\"active\"},"
                     "{\"name\":\"e\",\"state\":\"active\"},"
                     "{\"name\":\"f\",\"state\":\"draining\"},"
                     "{\"name\":\"g\",\"state\":\"failed\"},"
                     "{\"name\":\"h\",\"state\":\"building\"}]");
    st.health = parse("{\"b\":{\"status\":\"unhealthy\"},"
                      "\"c\":{\"status\":\"healthy\"},"
                      "\"d\":{\"status\":\"grace\"},"
                      "\"e\":{\"status\":\"unhealthy\"},"
                      "\"f\":{\"status\":\"unhealthy\"},"
                      "\"g\":{\"status\":\"unhealthy\"},"
                      "\"h\":{\"status\":\"unhealthy\"},"
                      "\"zz\":{\"status\":\"unhealthy\"}}");
    st.protect = parse("{\"a\":{\"at\":1},\"b\":{\"at\":1},\"c\":{\"at\":1},"
                       "\"f\":{\"at\":1},\"g\":{\"at\":1},\"zz\":{\"at\":1}}");
    struct gov_input in;
    governor_input_from_state(&st, NOW, &in);
    assert_int_equal(in.building, 2);          /* a, h: a building node is not judged */
    assert_int_equal(in.active, 2);            /* c, d */
    assert_int_equal(in.unhealthy, 2);         /* b, e */
    assert_int_equal(in.draining, 1);
    assert_int_equal(in.failed, 1);
    assert_int_equal(in.protected_capacity, 2); /* a, c; not b (unhealthy), f, g */
    struct gov_decision d;
    governor_decide(&in, &d);
    assert_int_equal(d.capacity_before, 4);

    /* Not loaded (NULL): nobody unhealthy, nobody protected. */
    json_object_put(st.health);
    json_object_put(st.protect);
    st.health = st.protect = NULL;
    governor_input_from_state(&st, NOW, &in);
    assert_int_equal(in.active, 4);
    assert_int_equal(in.unhealthy, 0);
    assert_int_equal(in.protected_capacity, 0);
    asg_state_clear(&st);
}

/* A replacement's event and lease: the latest replace, which a forced
 * resize is compared with. */
static void test_state_replace_events(void **state)
{
    (void)state;
    struct asg_state st;
    state_init(&st);
    json_object_put(st.events);
    st.events = parse("[{\"op\":\"replace\",\"at\":%lld,\"count\":1},"
                      "{\"op\":\"replace\",\"at\":%lld,\"count\":1},"
                      "{\"op\":\"scale_out\",\"at\":%lld}]",
                      AGO(900), AGO(500), AGO(700));
    struct gov_input in;
    governor_input_from_state(&st, NOW, &in);
    assert_int_equal(in.last_replace_at, AGO(500));
    assert_int_equal(in.last_scale_out_at, AGO(700));
    st.lease = parse("{\"op\":\"replace\",\"count\":1,\"at\":%lld,\"expires_at\":%lld}",
                     AGO(30), NOW + 100);
    governor_input_from_state(&st, NOW, &in);
    assert_true(in.lease_held);
    assert_int_equal(in.last_replace_at, AGO(30));
    assert_int_equal(in.last_scale_out_at, AGO(700));

    /* a force asked before the replacement started is spent */
    st.spec.desired = 10;
    st.spec.forced_at = AGO(40);
    governor_input_from_state(&st, NOW + 200, &in);
    struct gov_decision d;
    governor_decide(&in, &d);
    assert_string_not_equal(d.code, "forced");
    st.spec.forced_at = AGO(20);
    governor_decide(&in, &d);
    assert_string_equal(d.code, "forced");
    assert_int_equal(d.action, GOV_SCALE_OUT);
    assert_int_equal(d.count, 10);
    asg_state_clear(&st);
}

/* gov_input_add_node_health, the loader's way in: the same rules. */
static void test_add_node_health(void **state)
{
    (void)state;
    struct gov_input in;
    gov_input_init(&in, NULL, NOW);
    gov_input_add_node_health(&in, NODE_ACTIVE, true, true);    /* unhealthy */
    gov_input_add_node_health(&in, NODE_ACTIVE, false, true);   /* protected */
    gov_input_add_node_health(&in, NODE_BUILDING, true, true);  /* protected */
    gov_input_add_node_health(&in, NODE_DRAINING, true, true);  /* neither */
    gov_input_add_node_health(&in, NODE_FAILED, true, true);    /* neither */
    gov_input_add_node(&in, NODE_ACTIVE);
    assert_int_equal(in.active, 2);
    assert_int_equal(in.building, 1);
    assert_int_equal(in.unhealthy, 1);
    assert_int_equal(in.draining, 1);
    assert_int_equal(in.failed, 1);
    assert_int_equal(in.protected_capacity, 2);
}

static void test_state_events_and_lease(void **state)
{
    (void)state;
    struct asg_state st;
    state_init(&st);
    json_object_put(st.events);
    st.events = parse("[{\"op\":\"scale_out\",\"at\":%lld,\"count\":5},"
                      "{\"op\":\"scale_in\",\"at\":%lld,\"count\":2},"
                      "{\"op\":\"scale_out\",\"at\":%lld,\"count\":5,\"result\":\"failed\"},"
                      "{\"op\":\"scale_in\",\"at\":%lld,\"count\":2},"
                      "{\"op\":\"reconcile\",\"at\":%lld}]",
                      AGO(900), AGO(800), AGO(700), AGO(1000), AGO(1));
    struct gov_input in;
    governor_input_from_state(&st, NOW, &in);
    assert_int_equal(in.last_scale_out_at, AGO(700));
    assert_int_equal(in.last_scale_in_at, AGO(800));
    assert_false(in.lease_held);

    /* A live lease: held, and its start is the latest scale-out. */
    st.lease = parse("{\"op\":\"scale_out\",\"count\":3,\"at\":%lld,\"expires_at\":%lld}",
                     AGO(30), NOW + 1);
    governor_input_from_state(&st, NOW, &in);
    assert_true(in.lease_held);
    assert_int_equal(in.last_scale_out_at, AGO(30));
    assert_int_equal(in.last_scale_in_at, AGO(800));

    /* Expired but not yet purged: not held, its start still remembered. */
    governor_input_from_state(&st, NOW + 1, &in);
    assert_false(in.lease_held);
    assert_int_equal(in.last_scale_out_at, AGO(30));

    /* No expires_at: held (the datastore's TTL is what ends it). */
    json_object_put(st.lease);
    st.lease = parse("{\"op\":\"scale_in\",\"count\":2,\"at\":%lld}", AGO(5));
    governor_input_from_state(&st, NOW + 100000, &in);
    assert_true(in.lease_held);
    assert_int_equal(in.last_scale_in_at, AGO(5));
    assert_int_equal(in.last_scale_out_at, AGO(700));
    asg_state_clear(&st);
}

/* The 2015 failure: a critical incident whose recovery never arrived held
 * the group at max for ever. Here it expires after incident_max_age and the
 * group comes down step by step, each step after the scale-in cooldown. */
static void test_lost_recovery_comes_down(void **state)
{
    (void)state;
    struct asg_state st;
    state_init(&st);
    long long opened = AGO(MAXAGE + 10);
    set_incidents(&st, parse("[{\"id\":\"p1\",\"state\":\"open\",\"severity\":\"critical\","
                             "\"opened_at\":%lld}]", opened));
    json_object_put(st.events);
    st.events = parse("[{\"op\":\"scale_out\",\"at\":%lld,\"count\":5}]", opened + 3600);
    json_object_put(st.nodes);
    st.nodes = json_object_new_array();
    for (int i = 0; i < 20; i++)
        json_object_array_add(st.nodes, parse("{\"name\":\"n%d\",\"state\":\"active\"}", i));

    struct gov_input in;
    struct gov_decision d;
    /* Expired 10 s ago: in the scale-in cooldown, counted from expiry. */
    governor_input_from_state(&st, NOW, &in);
    assert_int_equal(in.alert, GOV_SEV_NONE);
    assert_int_equal(in.alert_cleared_at, opened + MAXAGE);
    governor_decide(&in, &d);
    assert_int_equal(d.action, GOV_NONE);
    assert_non_null(strstr(d.reason, "1790 s"));

    governor_input_from_state(&st, opened + MAXAGE + 1800, &in);
    governor_decide(&in, &d);
    assert_int_equal(d.action, GOV_SCALE_IN);
    assert_int_equal(d.count, 2);
    assert_int_equal(d.capacity_after, 18);
    asg_state_clear(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decide_table),
        cmocka_unit_test(test_decide_bounds_exhaustive),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_no_spec),
        cmocka_unit_test(test_state_counts_nodes),
        cmocka_unit_test(test_warm_nodes_counted_nowhere),
        cmocka_unit_test(test_state_incidents),
        cmocka_unit_test(test_state_incident_age_edge),
        cmocka_unit_test(test_state_events_and_lease),
        cmocka_unit_test(test_state_health_and_protection),
        cmocka_unit_test(test_state_replace_events),
        cmocka_unit_test(test_add_node_health),
        cmocka_unit_test(test_lost_recovery_comes_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
