/* test_governor_metric_sim.c - target tracking (governor.h, rule 7m) and
 * scheduled bounds in a simulated world, many random histories at a time.
 *
 * Each sequence draws a random spec that tracks a target (target, tolerance,
 * both windows, steps, cooldowns, min, max, sometimes desired, sometimes a
 * schedule in force that moves min, max or desired) and plays a random load:
 * a total L that the nodes share, so each sample reads L / capacity per node
 * on `capacity` nodes, as the collector writes it. Phase one is rough: noisy
 * and spiky loads, failed samples, a collector that stops (stale samples),
 * the schedule coming and going, ticks at random intervals. Phase two holds
 * the load constant with every sample good. Decisions apply at once (the
 * operation finishes before the next tick), stamping the cooldowns.
 *
 * Checked at every tick, against the world's own numbers (the oracle below
 * recomputes each recommendation from the samples, not from the decision):
 *  - bounds: from within [min, max] (the schedule's, when one is in force)
 *    a decision stays within them; never past max, never below min;
 *  - hold: the newest sample failed, stale or missing: never a scale-in
 *    (except above max, rule 3) and never a metric scale-out;
 *  - stabilisation: a metric scale-out only when every good sample of the
 *    scale-out window recommends more than capacity; a metric scale-in only
 *    when every good sample of the scale-in window recommends less;
 *  - steps and cooldowns bound each metric move;
 *  - no flapping: when every good sample of both windows sits inside the
 *    tolerance and was taken on the present capacity, nothing changes;
 *  - phase two: capacity moves one way only (never out then in, or in then
 *    out) and ends where the formula says: ceil(L / target) within the
 *    bounds, or anywhere inside the tolerance band.
 *
 * Deterministic (AUTOSCALE_SIM_SEED, AUTOSCALE_SIM_SEQUENCES as in
 * test_governor_sim.c); a failure prints the sequence's seed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "governor.h"
#include "group.h"
#include "samples.h"

#define DEFAULT_SEED 0x7a26e7c0ffeeULL
#define DEFAULT_SEQUENCES 10000
#define T0 1700000000LL
#define RING SAMPLES_MAX

static uint64_t rng;

static uint64_t next_u64(void) /* xorshift64* */
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dULL;
}

static long long between(long long lo, long long hi)
{
    return lo + (long long)(next_u64() % (uint64_t)(hi - lo + 1));
}

static bool chance(int percent) { return between(1, 100) <= percent; }

static long long pick(const long long *v, int n) { return v[between(0, n - 1)]; }

struct world {
    struct group g;
    struct gov_schedule sched;
    long long now, last_out, last_in;
    int cap;
    double load;
    struct gov_sample ring[RING];
    int n;
    uint64_t seed;
};

struct stats {
    long long sequences, ticks, outs, ins, holds, on_target, failed_samples, stale,
        scheduled, settled_band, settled_formula;
};

static void die(const struct world *w, const char *what, const struct gov_decision *d)
{
    fail_msg("sequence seed %" PRIu64 " at t+%lld: %s (cap %d, min %lld, max %lld, "
             "target %lld tol %lld, windows %lld/%lld, load %.2f, schedule %s): %s %d "
             "[%s] %s",
             w->seed, w->now - T0, what, w->cap, w->g.min, w->g.max, w->g.target_value,
             w->g.target_tolerance, w->g.scale_out_window, w->g.scale_in_window, w->load,
             w->sched.active ? w->sched.name : "-", gov_action_name(d->action), d->count,
             d->code, d->reason);
}

#define CHECK(w, cond, d)                 \
    do {                                  \
        if (!(cond))                      \
            die((w), #cond, (d));         \
    } while (0)

/* The bounds in force: the schedule's values over the spec's, as the
 * governor's scheduled_spec() takes them. */
static void bounds(const struct world *w, long long *min, long long *max, long long *floor)
{
    const struct gov_schedule *s = &w->sched;
    long long lo = s->active && s->min >= 0 ? s->min : w->g.min;
    long long hi = s->active && s->max >= 0 ? s->max : w->g.max;
    long long desired = s->active && s->desired >= 0 ? s->desired : w->g.desired;
    if (lo > hi) {
        if (s->active && s->min >= 0 && s->max < 0)
            hi = lo;
        else
            lo = hi;
    }
    *min = lo;
    *max = hi;
    *floor = desired < 0 ? lo : desired < lo ? lo : desired > hi ? hi : desired;
}

/* The oracle: one sample's recommendation, from governor.h's words. */
static long long rec_of(const struct world *w, const struct gov_sample *s, long long floor,
                        long long max)
{
    double nodes = s->nodes > 0 ? s->nodes : 1, ratio = s->value / (double)w->g.target_value;
    double want = fabs(ratio - 1) * 100 <= (double)w->g.target_tolerance
                      ? nodes
                      : ceil(nodes * ratio - 1e-9);
    long long r = want >= (double)max ? max : (long long)want;
    return r < floor ? floor : r;
}

static bool in_band(const struct world *w, const struct gov_sample *s)
{
    return fabs(s->value / (double)w->g.target_value - 1) * 100 <=
           (double)w->g.target_tolerance;
}

static void record(struct world *w, bool ok)
{
    if (w->n == RING) {
        memmove(w->ring, w->ring + 1, (RING - 1) * sizeof *w->ring);
        w->n--;
    }
    struct gov_sample *s = &w->ring[w->n++];
    s->at = w->now;
    s->ok = ok;
    s->nodes = w->cap;
    s->value = ok ? w->load / (w->cap > 0 ? w->cap : 1) : 0;
}

static void check(struct world *w, const struct gov_input *in, const struct gov_decision *d,
                  struct stats *st)
{
    long long min, max, floor;
    bounds(w, &min, &max, &floor);
    long long cap = w->cap, after = d->capacity_after;
    const struct gov_sample *newest = w->n ? &w->ring[w->n - 1] : NULL;
    bool fresh = newest && newest->ok && w->now - newest->at <= w->g.metric_max_age;

    CHECK(w, d->capacity_before == cap, d);
    if (cap >= min && cap <= max)
        CHECK(w, after >= min && after <= max, d);
    CHECK(w, after <= (cap > max ? cap : max), d);
    if (d->action == GOV_SCALE_IN)
        CHECK(w, after >= min, d);
    if (w->sched.active)
        CHECK(w, strcmp(d->schedule, w->sched.name) == 0, d);
    if (!fresh && cap <= max) {
        CHECK(w, d->action != GOV_SCALE_IN, d);
        CHECK(w, strncmp(d->code, "metric_out", 10) != 0, d);
        st->holds += strcmp(d->code, "metric_hold") == 0;
    }
    bool metric_out = strcmp(d->code, "metric_out") == 0,
         metric_in = strcmp(d->code, "metric_in") == 0;
    bool settled = fresh, any = false;
    for (int i = 0; fresh && i < w->n; i++) {
        const struct gov_sample *s = &w->ring[i];
        long long age = newest->at - s->at;
        if (!s->ok)
            continue;
        long long r = rec_of(w, s, floor, max);
        if (age <= w->g.scale_out_window && metric_out)
            CHECK(w, r > cap, d);
        if (age <= w->g.scale_in_window && metric_in)
            CHECK(w, r < cap, d);
        if (age <= w->g.scale_out_window || age <= w->g.scale_in_window) {
            any = true;
            /* a sample on no nodes counts as one node's (governor.c) */
            settled = settled && in_band(w, s) && (s->nodes > 0 ? s->nodes : 1) == cap;
        }
    }
    if (metric_out) {
        CHECK(w, d->count >= 1 && d->count <= w->g.scale_out_step, d);
        CHECK(w, w->last_out == 0 || w->now - w->last_out >= w->g.scale_out_cooldown, d);
    }
    if (metric_in) {
        CHECK(w, d->count >= 1 && d->count <= w->g.scale_in_step, d);
        CHECK(w, w->last_out == 0 || w->now - w->last_out >= w->g.scale_in_cooldown, d);
        CHECK(w, w->last_in == 0 || w->now - w->last_in >= w->g.scale_in_cooldown, d);
    }
    if (settled && any && cap >= floor && cap <= max) {
        CHECK(w, d->action == GOV_NONE, d);
        st->on_target++;
    }
    (void)in;
}

static void apply(struct world *w, const struct gov_decision *d, struct stats *st)
{
    if (d->action == GOV_SCALE_OUT) {
        w->cap += d->count;
        w->last_out = w->now;
        st->outs++;
    } else if (d->action == GOV_SCALE_IN) {
        w->cap -= d->count;
        w->last_in = w->now;
        st->ins++;
    }
}

static struct gov_decision tick(struct world *w, struct stats *st)
{
    struct gov_input in;
    struct gov_decision d;
    gov_input_init(&in, &w->g, w->now);
    for (int i = 0; i < w->cap; i++)
        gov_input_add_node(&in, NODE_ACTIVE);
    in.last_scale_out_at = w->last_out;
    in.last_scale_in_at = w->last_in;
    in.samples = w->n ? w->ring : NULL;
    in.n_samples = w->n;
    in.schedule = w->sched;
    governor_decide(&in, &d);
    check(w, &in, &d, st);
    apply(w, &d, st);
    st->ticks++;
    return d;
}

static void random_spec(struct world *w)
{
    static const long long targets[] = {10, 50, 100}, tols[] = {0, 5, 10, 20},
                           outw[] = {0, 30, 120}, inw[] = {0, 60, 300},
                           cools[] = {0, 30, 60, 300}, ages[] = {60, 120};
    group_init(&w->g, "sim");
    w->g.min = between(0, 3);
    w->g.max = w->g.min + between(1, 15);
    w->g.desired = chance(30) ? between(w->g.min, w->g.max) : -1;
    w->g.scale_out_step = between(1, 5);
    w->g.scale_in_step = between(1, 5);
    w->g.scale_out_cooldown = pick(cools, 4);
    w->g.scale_in_cooldown = pick(cools, 4);
    w->g.target_value = pick(targets, 3);
    w->g.target_tolerance = pick(tols, 4);
    w->g.scale_out_window = pick(outw, 3);
    w->g.scale_in_window = pick(inw, 3);
    w->g.metric_max_age = pick(ages, 2);
}

static void random_schedule(struct world *w)
{
    struct gov_schedule *s = &w->sched;
    memset(s, 0, sizeof *s);
    if (!chance(50))
        return;
    s->active = true;
    snprintf(s->name, sizeof s->name, "peak");
    s->since = w->now;
    s->min = chance(50) ? between(0, 6) : -1;
    s->max = chance(50) ? between(s->min > 0 ? s->min : 1, 20) : -1;
    s->desired = chance(30) ? between(0, 20) : -1;
    if (s->desired >= 0 && ((s->min >= 0 && s->desired < s->min) ||
                            (s->max >= 0 && s->desired > s->max)))
        s->desired = -1; /* schedule_validate refuses it */
}

/* Phase one: rough weather. */
static void rough(struct world *w, struct stats *st)
{
    int ticks = (int)between(20, 80);
    double base = (double)between(0, 20) * (double)w->g.target_value;
    bool stopped = false;
    for (int i = 0; i < ticks; i++) {
        w->now += pick((const long long[]){5, 10, 15, 30, 45}, 5);
        w->load = base * (1 + ((double)between(-30, 30)) / 100);
        if (chance(5))
            w->load *= 3; /* a spike */
        if (chance(3))
            stopped = !stopped; /* the collector stops, or comes back */
        if (chance(4))
            random_schedule(w);
        st->scheduled += w->sched.active;
        if (!stopped) {
            bool ok = !chance(10);
            st->failed_samples += !ok;
            record(w, ok);
        } else {
            st->stale++;
        }
        tick(w, st);
    }
}

/* Phase two: one load, held; capacity must move one way and settle. */
static void steady(struct world *w, struct stats *st)
{
    w->load = (double)between(0, 25) * (double)w->g.target_value * (0.5 + (double)between(0, 100) / 100);
    int dir = 0;
    struct gov_decision d = {0};
    for (int i = 0; i < 300; i++) {
        w->now += 30;
        record(w, true);
        d = tick(w, st);
        int moved = d.action == GOV_SCALE_OUT ? 1 : d.action == GOV_SCALE_IN ? -1 : 0;
        if (moved && dir && moved != dir)
            die(w, "steady load: capacity reversed", &d);
        if (moved)
            dir = moved;
    }
    CHECK(w, d.action == GOV_NONE, &d);
    long long min, max, floor;
    bounds(w, &min, &max, &floor);
    long long want = (long long)ceil(w->load / (double)w->g.target_value - 1e-9);
    want = want < floor ? floor : want > max ? max : want;
    bool band = w->cap > 0 && in_band(w, &w->ring[w->n - 1]);
    CHECK(w, w->cap == want || band || (w->cap == floor && want <= floor), &d);
    st->settled_band += band && w->cap != want;
    st->settled_formula += w->cap == want;
}

static struct stats simulate(uint64_t seed, long long sequences)
{
    struct stats st = {0};
    for (long long k = 0; k < sequences; k++) {
        struct world w;
        memset(&w, 0, sizeof w);
        w.seed = rng = seed + (uint64_t)k * 0x9e3779b97f4a7c15ULL + 1;
        next_u64();
        w.now = T0;
        random_spec(&w);
        w.cap = (int)between(w.g.min, w.g.max);
        if (chance(50))
            random_schedule(&w);
        rough(&w, &st);
        steady(&w, &st);
        group_clear(&w.g);
        st.sequences++;
    }
    return st;
}

static void test_metric_simulation(void **state)
{
    (void)state;
    const char *e = getenv("AUTOSCALE_SIM_SEED"), *n = getenv("AUTOSCALE_SIM_SEQUENCES");
    uint64_t seed = e ? strtoull(e, NULL, 0) : DEFAULT_SEED;
    long long count = n ? atoll(n) : DEFAULT_SEQUENCES;
    struct stats st = simulate(seed, count);
    print_message("metric simulation: %lld sequences, %lld ticks, %lld scale-outs, %lld "
                  "scale-ins, %lld holds, %lld settled ticks unchanged, %lld failed and "
                  "%lld missed samples, %lld ticks under a schedule; settled at the "
                  "formula %lld times, inside the band elsewhere %lld times\n",
                  st.sequences, st.ticks, st.outs, st.ins, st.holds, st.on_target,
                  st.failed_samples, st.stale, st.scheduled, st.settled_formula,
                  st.settled_band);
    assert_int_equal(st.sequences, count);
    if (count >= 1000) { /* the world really did all of it */
        assert_true(st.outs > 0 && st.ins > 0 && st.holds > 0 && st.on_target > 0);
        assert_true(st.failed_samples > 0 && st.stale > 0 && st.scheduled > 0);
        assert_true(st.settled_formula > 0 && st.settled_band > 0);
    }
}

/* The rules the simulation leans on, one case each. */
static void test_metric_cases(void **state)
{
    (void)state;
    struct group g;
    group_init(&g, "m");
    g.min = 1, g.max = 10, g.target_value = 50, g.target_tolerance = 10;
    g.scale_out_step = 10, g.scale_in_step = 10, g.scale_out_cooldown = 0;
    g.scale_in_cooldown = 0, g.scale_out_window = 0, g.scale_in_window = 300;
    struct gov_sample s[3] = {{T0, 30, 4, true}, {T0 + 100, 52, 4, true},
                              {T0 + 200, 20, 4, true}};
    struct gov_input in;
    struct gov_decision d;

    /* 52 on 4 nodes is 4% over: inside 10%, nothing */
    gov_input_init(&in, &g, T0 + 110);
    for (int i = 0; i < 4; i++)
        gov_input_add_node(&in, NODE_ACTIVE);
    in.samples = s, in.n_samples = 2;
    governor_decide(&in, &d);
    assert_string_equal(d.code, "metric_on_target");
    /* then 20 on 4: ceil(4 x 20 / 50) = 2, but the highest of the last 300 s
     * is the 52's 4: a dip sheds nothing */
    in.now = T0 + 210, in.n_samples = 3;
    governor_decide(&in, &d);
    assert_string_equal(d.code, "metric_in_window");
    assert_int_equal(d.metric.recommended, 2);
    assert_int_equal(d.metric.raw, 2);
    assert_int_equal(d.metric.in_rec, 4);
    assert_non_null(strstr(d.reason, "ceil(4 x 20 / 50) = 2"));
    /* the floor raises a recommendation, and the reason says so */
    g.min = 3;
    governor_decide(&in, &d);
    assert_int_equal(d.metric.raw, 2);
    assert_int_equal(d.metric.recommended, 3);
    assert_non_null(strstr(d.reason, "ceil(4 x 20 / 50) = 2, raised to the floor 3"));
    g.min = 1;
    /* with a 60 s window it goes: to 2 */
    g.scale_in_window = 60;
    governor_decide(&in, &d);
    assert_string_equal(d.code, "metric_in");
    assert_int_equal(d.capacity_after, 2);
    /* 2 x 75 / 50 is 3 exactly, though the division says 3.0000000000000004 */
    struct gov_sample exact = {T0 + 300, 75, 2, true};
    gov_input_init(&in, &g, T0 + 300);
    gov_input_add_node(&in, NODE_ACTIVE);
    gov_input_add_node(&in, NODE_ACTIVE);
    in.samples = &exact, in.n_samples = 1;
    governor_decide(&in, &d);
    assert_string_equal(d.code, "metric_out");
    assert_int_equal(d.capacity_after, 3);
    /* a spike the scale-out window has not seen throughout: held back */
    g.scale_out_window = 60;
    struct gov_sample spike[2] = {{T0 + 270, 50, 2, true}, {T0 + 300, 150, 2, true}};
    in.samples = spike, in.n_samples = 2;
    governor_decide(&in, &d);
    assert_string_equal(d.code, "metric_out_window");
    assert_int_equal(d.metric.raw, 6);
    assert_int_equal(d.metric.out_rec, 2);
    g.scale_out_window = 0;
    /* the newest failed: hold, even far above the floor */
    struct gov_sample failed[2] = {{T0, 1, 8, true}, {T0 + 30, 0, 8, false}};
    gov_input_init(&in, &g, T0 + 40);
    for (int i = 0; i < 8; i++)
        gov_input_add_node(&in, NODE_ACTIVE);
    in.samples = failed, in.n_samples = 2;
    governor_decide(&in, &d);
    assert_string_equal(d.code, "metric_hold");
    /* stale: older than metric_max_age */
    in.samples = failed, in.n_samples = 1, in.now = T0 + g.metric_max_age + 1;
    governor_decide(&in, &d);
    assert_string_equal(d.code, "metric_hold");
    /* an alert wins over a metric that says shrink */
    in.now = T0 + 10;
    in.alert = GOV_SEV_CRITICAL;
    governor_decide(&in, &d);
    assert_int_equal(d.action, GOV_SCALE_OUT);
    assert_string_equal(d.code, "alert_clamped");
    group_clear(&g);
}

/* Samples through their record: appended, bounded, read back. */
static void test_samples_record(void **state)
{
    (void)state;
    struct json_object *rec = NULL;
    for (int i = 0; i < SAMPLES_MAX + 10; i++) {
        struct gov_sample s = {T0 + i * 10, i * 1.5, 3, i % 7 != 3};
        struct json_object *next = samples_append(rec, "web", "prometheus", &s,
                                                  s.ok ? NULL : "metric_unavailable", T0 + i * 10);
        json_object_put(rec);
        rec = next;
    }
    /* every failed sample kept keeps its own code, not only the newest */
    int failed = 0;
    for (int i = 10; i < SAMPLES_MAX + 10; i++)
        failed += i % 7 == 3;
    const char *text = json_object_to_json_string(rec);
    int codes = 0;
    for (const char *p = text; (p = strstr(p, "metric_unavailable")); p++)
        codes++;
    assert_int_equal(codes, failed);
    /* a late writer's older sample is dropped */
    struct gov_sample late = {T0, 99, 3, true};
    struct json_object *same = samples_append(rec, "web", "prometheus", &late, NULL, T0 + 1000);
    struct gov_sample *v;
    int n;
    samples_read(json_object_to_json_string(same), &v, &n);
    assert_int_equal(n, SAMPLES_MAX);
    assert_int_equal(v[n - 1].at, T0 + (SAMPLES_MAX + 9) * 10);
    assert_true(v[0].at == T0 + 100);
    for (int i = 0; i < n; i++)
        assert_true(v[i].ok == ((v[i].at - T0) / 10 % 7 != 3));
    free(v);
    json_object_put(same);
    /* kept no longer than SAMPLES_KEEP */
    struct gov_sample fresh = {T0 + SAMPLES_KEEP + 5000, 1, 1, true};
    struct json_object *aged = samples_append(rec, "web", "prometheus", &fresh, NULL,
                                              T0 + SAMPLES_KEEP + 5000);
    samples_read(json_object_to_json_string(aged), &v, &n);
    assert_int_equal(n, 1);
    free(v);
    json_object_put(aged);
    json_object_put(rec);
    /* what is not a record reads as none */
    assert_int_equal(samples_read("not json", &v, &n), 0);
    assert_null(v);
    assert_int_equal(samples_read("{\"samples\":[{\"at\":-1,\"value\":1}]}", &v, &n), 0);
}

/* samples_read on text and on " " + text (declined by the fast reader,
 * read by json-c) agree: the same samples, in order. */
static int readers_agree(const char *text, const char *what, size_t t)
{
    char spaced[8192];
    if ((size_t)snprintf(spaced, sizeof spaced, " %s", text) >= sizeof spaced)
        fail_msg("record %zu too long for the test", t);
    struct gov_sample *a, *b;
    int na, nb;
    samples_read(text, &a, &na);
    samples_read(spaced, &b, &nb);
    if (na != nb)
        fail_msg("%s %zu: %d samples against json-c's %d: %s", what, t, na, nb, text);
    for (int i = 0; i < na; i++)
        if (a[i].at != b[i].at || a[i].ok != b[i].ok || a[i].nodes != b[i].nodes ||
            a[i].value != b[i].value || signbit(a[i].value) != signbit(b[i].value))
            fail_msg("%s %zu sample %d differs: %s", what, t, i, text);
    free(a);
    free(b);
    return na;
}

/* The fast reader and json-c agree: each record read as written, and again
 * after a leading space, which the fast reader declines (json-c reads it). */
static void test_samples_both_readers(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "{\"group\":\"web\",\"source\":\"prometheus\",\"samples\":[]}",
        "{\"group\":\"web\",\"source\":\"prometheus\",\"samples\":[{\"at\":1700000000,"
        "\"value\":42.5,\"nodes\":3},{\"at\":1700000015,\"error\":\"metric_no_data\"},"
        "{\"at\":1700000030,\"value\":7,\"nodes\":0},{\"at\":1700000045,\"value\":-1.5e-3,"
        "\"nodes\":12},{\"at\":0,\"value\":1,\"nodes\":1},{\"at\":1700000060,"
        "\"value\":1E+300,\"nodes\":2}]}",
        "{\"group\":\"web\",\"source\":\"\",\"samples\":[{\"at\":1700000000,\"value\":0.1,"
        "\"nodes\":1000000}]}",
        /* declined by both the fast reader's shape and never read as a sample */
        "{\"group\":\"web\",\"source\":\"x\",\"samples\":[{\"at\":-5,\"value\":1,\"nodes\":1}]}",
        "{\"group\":\"w\\u0065b\",\"source\":\"x\",\"samples\":[{\"at\":1,\"value\":2,\"nodes\":3}]}",
        "{\"group\":\"web\",\"source\":\"x\",\"samples\":[{\"at\":1,\"value\":2.5,\"nodes\":3,"
        "\"extra\":1}]}",
        "{\"group\":\"web\",\"source\":\"x\",\"samples\":[{\"at\":1,\"value\":\"2\",\"nodes\":3}]}",
        /* no comma after a skipped entry: not JSON, json-c reads none */
        "{\"group\":\"web\",\"source\":\"x\",\"samples\":[{\"at\":0,\"value\":1,\"nodes\":1}"
        "{\"at\":5,\"value\":2,\"nodes\":3}]}",
        /* with the comma: read, the first skipped */
        "{\"group\":\"web\",\"source\":\"x\",\"samples\":[{\"at\":0,\"value\":1,\"nodes\":1},"
        "{\"at\":5,\"value\":2,\"nodes\":3}]}",
        /* an integer past int64: json-c's (clamped) integer, not strtod's */
        "{\"group\":\"web\",\"source\":\"x\",\"samples\":[{\"at\":5,"
        "\"value\":123456789012345678901234567890,\"nodes\":3}]}",
        "{\"group\":\"web\",\"source\":\"x\",\"samples\":[{\"at\":5,\"value\":-0,\"nodes\":3},"
        "{\"at\":6,\"value\":-0.0,\"nodes\":3},{\"at\":7,\"value\":1e999,\"nodes\":3}]}",
    };
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++)
        readers_agree(texts[t], "record", t);
}

/* ---- generated samples records ----
 * Mostly samples_append's shape, each part now and then just outside it
 * (the fast reader's every decline), or not JSON at all. Its own generator
 * state: the simulation's sequences keep their seeds. */

static uint64_t gen_state = 0x2545f4914f6cdd1dULL;

static unsigned gen_pick(unsigned n)
{
    gen_state ^= gen_state >> 12;
    gen_state ^= gen_state << 25;
    gen_state ^= gen_state >> 27;
    return (unsigned)((gen_state * 0x9e3779b97f4a7c15ULL) >> 33) % n;
}

#define ODD(list) list[gen_pick(sizeof list / sizeof list[0])]

static const char *const odd_strings[] = {
    "\"metric_no_data\"", "\"\"", "\"caf\xc3\xa9\"", "\"a\\\"b\"", "\"w\\u0065b\"",
    "\"tab\there\"", "\"\\u0000\"", "5", "null", "\"x\\/y\"", "\"\xff\"",
};
static const char *const odd_ints[] = {
    "0", "-5", "-0", "007", "1e3", "1.0", "999999999999999999", "1234567890123456789",
    "-999999999999999999", "\"3\"", "null", "true", "-", "1000000", "1000001", "-1",
};
static const char *const odd_values[] = {
    "42.5", "7", "0", "-0", "-0.0", "-1.5e-3", "1E+300", "1e999", "-1e999", "0.1",
    "1e-400", "01", "1.", ".5", "1e", "1e+", "\"2\"", "null", "true", "false", "-",
    "123456789012345678901234567890", "2E-2", "0e0", "[1]", "{}", "NaN", "Infinity",
};
static const char *const odd_spaces[] = {" ", "\n", "\t", "\r", "\f"};

static void gen_sample(char *buf, size_t *n, size_t size, long long at)
{
#define ADD(...) (*n += (size_t)snprintf(buf + *n, *n < size ? size - *n : 0, __VA_ARGS__))
    bool odd = gen_pick(8) == 0;
    ADD("{\"at\":");
    if (odd && gen_pick(3) == 0)
        ADD("%s", ODD(odd_ints));
    else
        ADD("%lld", at);
    if (gen_pick(5) == 0) {
        ADD(",\"error\":%s}", odd && gen_pick(2) ? ODD(odd_strings) : "\"metric_no_data\"");
        return;
    }
    switch (odd ? gen_pick(6) : 5) {
    case 0: ADD(",\"value\":%s,\"nodes\":%u}", ODD(odd_values), gen_pick(20)); break;
    case 1: ADD(",\"value\":%u.5,\"nodes\":%s}", gen_pick(100), ODD(odd_ints)); break;
    case 2: ADD(",\"nodes\":3,\"value\":1.5}"); break;             /* keys swapped */
    case 3: ADD(",\"value\":2,\"nodes\":3,\"error\":\"x\"}"); break; /* both */
    case 4: ADD(",\"value\":2%s,\"nodes\":3}", ODD(odd_spaces)); break;
    default: ADD(",\"value\":%u.%u,\"nodes\":%u}", gen_pick(1000), gen_pick(100), gen_pick(30));
    }
}

static void gen_samples_record(char *buf, size_t size)
{
    size_t len = 0, *n = &len; /* as gen_sample's, for ADD */
    bool odd = gen_pick(6) == 0;
    unsigned part = odd ? gen_pick(8) : 99;
    if (part == 0)
        ADD("%s", ODD(odd_spaces));
    ADD("{\"group\":%s,\"source\":%s,\"samples\":[", part == 1 ? ODD(odd_strings) : "\"web\"",
        part == 2 ? ODD(odd_strings) : "\"prometheus\"");
    /* now and then more than SAMPLES_MAX + 1, the fast reader's bound */
    unsigned count = gen_pick(10) == 0 ? SAMPLES_MAX - 2 + gen_pick(6) : gen_pick(24);
    long long at = T0;
    for (unsigned i = 0; i < count; i++) {
        if (i && !(part == 3 && i == count / 2)) /* 3: one comma missing */
            ADD(",");
        gen_sample(buf, n, size, at += (long long)gen_pick(40) - 5); /* sometimes not later */
    }
    if (part == 4)
        ADD(","); /* a trailing comma */
    ADD("]");
    if (part == 5)
        ADD(",\"extra\":1");
    ADD("}");
    switch (part) {
    case 6: ADD("%s", ODD(odd_spaces)); break;
    case 7: buf[gen_pick((unsigned)len)] = '\0'; break; /* cut short */
    default: break;
    }
#undef ADD
    assert_true(len < size);
}

/* AUTOSCALE_SAMPLES_RECORDS records (50,000 unless set), each read by both
 * readers, which must agree. */
static void test_samples_generated_agree(void **state)
{
    (void)state;
    const char *env = getenv("AUTOSCALE_SAMPLES_RECORDS");
    long records = env ? strtol(env, NULL, 10) : 50000;
    char buf[6000];
    long with_samples = 0;
    for (long i = 0; i < records; i++) {
        gen_samples_record(buf, sizeof buf);
        with_samples += readers_agree(buf, "generated record", (size_t)i) > 0;
    }
    print_message("  %ld of %ld records read with samples\n", with_samples, records);
    /* most are readable, and not all: the mix means something */
    assert_true(with_samples > records / 2 && with_samples < records);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metric_cases),
        cmocka_unit_test(test_samples_record),
        cmocka_unit_test(test_samples_both_readers),
        cmocka_unit_test(test_samples_generated_agree),
        cmocka_unit_test(test_metric_simulation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
