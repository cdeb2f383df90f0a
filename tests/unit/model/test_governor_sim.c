/* test_governor_sim.c - the governor in a simulated world, 100,000 random
 * histories at a time.
 *
 * Each sequence draws a small random group spec and plays a random history
 * against it: incidents opening and closing (some never close: the lost
 * recovery of 2015), ticks advancing time by random amounts (often faster
 * than operations finish), node failures and max being lowered. A model of
 * the world applies every decision the way the pack does: the governor's
 * dispatch takes the lease; the operation records its nodes after a random
 * delay (a scale-out's nodes appear as building, a scale-in's as draining),
 * then completes (building -> active, draining -> gone, an event written,
 * lease released) or dies (its nodes fail, the lease is left to expire).
 * The history ends with a quiet phase, in which the group must come back to
 * its floor.
 *
 * Checked at every step, against the world's own bookkeeping rather than
 * the governor's input:
 *  - bounds: a decision from within [min, max] stays within it; from
 *    outside, it moves toward the bounds, never away, never past the other;
 *    and the world never holds more than max unless max was lowered under it;
 *  - no double dispatch: no decision while an operation's lease is held;
 *  - scale-out cooldown, except below min; scale-in cooldown since the
 *    latest of scale-out, scale-in and the alert clearing; no scale-in in
 *    alert, no scale-out without an alert or a lack of capacity;
 *  - liveness: when a rule says act, the governor acts;
 *  - eventual return: once quiet, the group rests at min (or desired);
 *  - one tick in 128 on average, governor_input_from_state() on the world
 *    written out as datastore JSON gives exactly the model's input.
 *
 * Deterministic: xorshift64* seeded from a fixed seed (AUTOSCALE_SIM_SEED
 * overrides; AUTOSCALE_SIM_SEQUENCES the count), one derived seed per
 * sequence, printed on failure, so one failing history replays alone.
 * The work is counted in events, never timed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asg.h"
#include "governor.h"
#include "group.h"

#define DEFAULT_SEED 0x5eed2015c0ffeeULL
#define DEFAULT_SEQUENCES 100000
#define T0 1700000000LL
#define MAX_INC 48
#define MAX_EV 128
#define QUIET_TICK_LIMIT 5000

/* ---- the PRNG ---- */

static uint64_t rng;

static uint64_t next_u64(void) /* xorshift64* */
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ULL;
}

static uint64_t splitmix(uint64_t x) /* to derive well-mixed per-sequence seeds */
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static long long between(long long lo, long long hi) /* inclusive */
{
    return lo + (long long)(next_u64() % (uint64_t)(hi - lo + 1));
}

static bool chance(int percent)
{
    return between(0, 99) < percent;
}

/* ---- the world ---- */

struct incident {
    long long opened, closed; /* closed 0 while open */
    enum gov_severity sev;
};

struct event {
    enum gov_action op;
    long long at;
    int count;
};

/* The one operation that may be in flight (the lease allows no other). */
struct op {
    bool live; /* dispatched, neither completed nor dead */
    enum gov_action action;
    int count;
    long long at, record_at, end_at;
    bool dies, recorded;
};

struct world {
    struct group spec;
    long long now, ttl;
    int building, active, draining, failed;
    struct incident inc[MAX_INC];
    int ninc;
    struct event ev[MAX_EV];
    int nev;
    bool lease; /* visible in the datastore: taken, not released nor expired */
    long long lease_at, lease_expires;
    struct op op;
    /* the world's own bookkeeping, for the invariants */
    long long out_done, in_done; /* completion of the last scale-out / scale-in */
    bool max_breach;             /* max was lowered under the group */
};

struct stats {
    long long sequences, steps, ticks, decisions, outs, ins, deaths, failures,
        max_lowered, crosschecks, quiet_ticks, quiet_max, lost_recoveries;
    uint64_t digest; /* of every decision, for the reproducibility check */
};

struct sim {
    struct world w;
    struct stats st;
    uint64_t seq_seed;
    long long seq, step;
};

static void die(const struct sim *s, const char *what, const struct gov_decision *d)
    __attribute__((noreturn));

static void die(const struct sim *s, const char *what, const struct gov_decision *d)
{
    const struct world *w = &s->w;
    const struct group *g = &w->spec;
    print_error("invariant broken: %s\n"
                "  sequence %lld (seed 0x%016" PRIx64 "), step %lld, t=%lld\n"
                "  spec min %lld max %lld desired %lld out %lld/%lld s warn %lld "
                "in %lld/%lld s max_age %lld ttl %lld\n"
                "  nodes building %d active %d draining %d failed %d, lease %d, "
                "op live %d\n",
                what, s->seq, s->seq_seed, s->step, w->now - T0, g->min, g->max,
                g->desired, g->scale_out_step, g->scale_out_cooldown, g->warning_step,
                g->scale_in_step, g->scale_in_cooldown, g->incident_max_age, w->ttl,
                w->building, w->active, w->draining, w->failed, w->lease, w->op.live);
    if (d)
        print_error("  decision %s %d (%d -> %d): %s\n", gov_action_name(d->action),
                    d->count, d->capacity_before, d->capacity_after, d->reason);
    fail();
    abort(); /* not reached: fail() longjmps out of the test */
}

#define CHECK(s, cond, d)                 \
    do {                                  \
        if (!(cond))                      \
            die((s), #cond, (d));         \
    } while (0)

static int capacity(const struct world *w)
{
    return w->building + w->active;
}

static long long floor_of(const struct group *g)
{
    return g->desired >= 0 ? g->desired : g->min;
}

static long long incident_end(const struct world *w, const struct incident *i)
{
    long long expiry = i->opened + w->spec.incident_max_age;
    return i->closed && i->closed < expiry ? i->closed : expiry;
}

static bool incident_active(const struct world *w, const struct incident *i)
{
    return w->now < incident_end(w, i);
}

static void add_event(struct world *w, enum gov_action op, long long at, int count)
{
    if (w->nev == MAX_EV) { /* history ages out, oldest first (the key TTL) */
        memmove(w->ev, w->ev + 1, sizeof w->ev[0] * (MAX_EV - 1));
        w->nev--;
    }
    w->ev[w->nev++] = (struct event){op, at, count};
}

/* Capacity the world will hold once the op in flight has recorded. */
static int projected(const struct world *w)
{
    int c = capacity(w);
    if (w->op.live && !w->op.recorded && w->op.action == GOV_SCALE_OUT)
        c += w->op.count;
    return c;
}

static void check_world(struct sim *s)
{
    struct world *w = &s->w;
    if (w->max_breach && !w->lease && !w->op.live && capacity(w) <= w->spec.max)
        w->max_breach = false;
    CHECK(s, w->max_breach || projected(w) <= w->spec.max, NULL);
    CHECK(s, w->building >= 0 && w->active >= 0 && w->draining >= 0 && w->failed >= 0,
          NULL);
}

static void op_record(struct world *w)
{
    struct op *op = &w->op;
    op->recorded = true;
    if (op->action == GOV_SCALE_OUT) {
        w->building += op->count;
    } else {
        int n = op->count < w->active ? op->count : w->active;
        w->active -= n;
        w->draining += n;
    }
}

static void op_end(struct sim *s)
{
    struct world *w = &s->w;
    struct op *op = &w->op;
    op->live = false;
    if (op->dies) { /* what it left behind is found dead by reconcile */
        s->st.deaths++;
        w->failed += w->building + w->draining;
        w->building = w->draining = 0;
        return; /* the lease stays until its TTL */
    }
    if (op->action == GOV_SCALE_OUT) {
        w->active += w->building;
        w->building = 0;
        w->out_done = op->end_at;
    } else {
        w->draining = 0;
        w->in_done = op->end_at;
    }
    add_event(w, op->action, op->end_at, op->count);
    w->lease = false;
}

/* Move time to t, playing the op's milestones and the lease's expiry in
 * order (record, end, expiry on ties). */
static void advance(struct sim *s, long long t)
{
    struct world *w = &s->w;
    for (;;) {
        struct op *op = &w->op;
        long long rec = op->live && !op->recorded && op->record_at <= op->end_at
                            ? op->record_at : LLONG_MAX;
        long long end = op->live ? op->end_at : LLONG_MAX;
        long long exp = w->lease && !op->live ? w->lease_expires : LLONG_MAX;
        if (rec <= t && rec <= end) {
            w->now = rec;
            op_record(w);
        } else if (end <= t) {
            w->now = end;
            op_end(s);
        } else if (exp <= t) {
            w->now = exp;
            w->lease = false;
        } else {
            break;
        }
        check_world(s);
    }
    w->now = t;
}

static void dispatch(struct sim *s, const struct gov_decision *d)
{
    struct world *w = &s->w;
    /* No double dispatch: nothing may be in flight or leased. */
    CHECK(s, !w->lease && !w->op.live, d);
    w->lease = true;
    w->lease_at = w->now;
    w->lease_expires = w->now + w->ttl;
    long long delay = between(0, w->ttl - 1); /* ends before its lease expires */
    w->op = (struct op){
        .live = true, .action = d->action, .count = d->count, .at = w->now,
        .end_at = w->now + delay, .dies = chance(12),
    };
    /* A dying op may die before it records anything. */
    w->op.record_at = w->op.dies && chance(40) ? LLONG_MAX : w->now + between(0, delay);
    if (d->action == GOV_SCALE_OUT)
        s->st.outs++;
    else
        s->st.ins++;
}

/* ---- the governor's input: from the model, and from datastore JSON ---- */

static void model_input(const struct world *w, struct gov_input *in)
{
    memset(in, 0, sizeof *in);
    in->spec = &w->spec;
    in->now = w->now;
    in->building = w->building;
    in->active = w->active;
    in->draining = w->draining;
    in->failed = w->failed;
    for (int i = 0; i < w->ninc; i++) {
        const struct incident *inc = &w->inc[i];
        if (incident_active(w, inc)) {
            if (inc->sev > in->alert)
                in->alert = inc->sev;
        } else if (incident_end(w, inc) > in->alert_cleared_at) {
            in->alert_cleared_at = incident_end(w, inc);
        }
    }
    for (int i = 0; i < w->nev; i++) {
        long long *last = w->ev[i].op == GOV_SCALE_OUT ? &in->last_scale_out_at
                                                      : &in->last_scale_in_at;
        if (w->ev[i].at > *last)
            *last = w->ev[i].at;
    }
    if (w->lease) {
        long long *last = w->op.action == GOV_SCALE_OUT ? &in->last_scale_out_at
                                                        : &in->last_scale_in_at;
        if (w->lease_at > *last)
            *last = w->lease_at;
    }
    in->lease_held = w->lease;
}

static void add_nodes(struct json_object *arr, int n, const char *state, int *id)
{
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "web-%d", (*id)++);
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(name));
        json_object_object_add(o, "state", json_object_new_string(state));
        json_object_array_add(arr, o);
    }
}

static void put_int(struct json_object *o, const char *k, long long v)
{
    json_object_object_add(o, k, json_object_new_int64(v));
}

static void put_str(struct json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, json_object_new_string(v));
}

/* The world written the way the datastore holds it, read back through
 * governor_input_from_state, must be the model's input exactly. */
static void crosscheck(struct sim *s, const struct gov_input *want)
{
    const struct world *w = &s->w;
    struct asg_state st = {.spec = w->spec}; /* borrowed: not freed here */
    int id = 0;

    st.nodes = json_object_new_array();
    add_nodes(st.nodes, w->building, "building", &id);
    add_nodes(st.nodes, w->active, "active", &id);
    add_nodes(st.nodes, w->draining, "draining", &id);
    add_nodes(st.nodes, w->failed, "failed", &id);
    add_nodes(st.nodes, (int)between(0, 1), "deleting", &id);

    st.incidents = json_object_new_array();
    for (int i = 0; i < w->ninc; i++) {
        const struct incident *inc = &w->inc[i];
        struct json_object *o = json_object_new_object();
        char iid[16];
        snprintf(iid, sizeof iid, "p%d", i);
        put_str(o, "id", iid);
        put_str(o, "state", inc->closed ? "closed" : "open");
        put_str(o, "severity", gov_severity_name(inc->sev));
        put_int(o, "opened_at", inc->opened);
        if (inc->closed)
            put_int(o, "closed_at", inc->closed);
        json_object_array_add(st.incidents, o);
    }

    st.events = json_object_new_array();
    for (int i = 0; i < w->nev; i++) {
        struct json_object *o = json_object_new_object();
        put_str(o, "op", gov_action_name(w->ev[i].op));
        put_int(o, "at", w->ev[i].at);
        put_int(o, "count", w->ev[i].count);
        put_str(o, "result", "ok");
        json_object_array_add(st.events, o);
    }

    if (w->lease) {
        st.lease = json_object_new_object();
        put_str(st.lease, "op", gov_action_name(w->op.action));
        put_int(st.lease, "count", w->op.count);
        put_int(st.lease, "at", w->lease_at);
        put_int(st.lease, "expires_at", w->lease_expires);
    }

    struct gov_input got;
    governor_input_from_state(&st, w->now, &got);
    json_object_put(st.nodes);
    json_object_put(st.incidents);
    json_object_put(st.events);
    json_object_put(st.lease);

    CHECK(s, got.spec == &st.spec, NULL);
    CHECK(s, got.now == want->now, NULL);
    CHECK(s, got.building == want->building && got.active == want->active, NULL);
    CHECK(s, got.draining == want->draining && got.failed == want->failed, NULL);
    CHECK(s, got.alert == want->alert, NULL);
    CHECK(s, got.alert_cleared_at == want->alert_cleared_at, NULL);
    CHECK(s, got.last_scale_out_at == want->last_scale_out_at, NULL);
    CHECK(s, got.last_scale_in_at == want->last_scale_in_at, NULL);
    CHECK(s, got.lease_held == want->lease_held, NULL);
    s->st.crosschecks++;
}

/* ---- one tick: decide, check, apply ---- */

static long long since_last(long long now, long long t)
{
    return t ? now - t : LLONG_MAX;
}

static void check_decision(struct sim *s, const struct gov_input *in,
                           const struct gov_decision *d)
{
    const struct world *w = &s->w;
    const struct group *g = &w->spec;
    long long cap = capacity(w), fl = floor_of(g), now = w->now;
    bool alert = in->alert != GOV_SEV_NONE;
    long long quiet_since = w->out_done > w->in_done ? w->out_done : w->in_done;
    if (in->alert_cleared_at > quiet_since)
        quiet_since = in->alert_cleared_at;

    /* Well formed. */
    CHECK(s, d->capacity_before == cap && d->reason[0], d);
    CHECK(s, (d->action == GOV_NONE) == (d->count == 0) && d->count >= 0, d);
    CHECK(s, d->capacity_after == cap + (d->action == GOV_SCALE_OUT ? d->count
                                         : -d->count), d);
    /* The model's history and the governor's input agree when it matters. */
    if (!w->lease)
        CHECK(s, in->last_scale_out_at == w->out_done &&
                 in->last_scale_in_at == w->in_done, d);

    /* No decision while a lease is held. */
    if (w->lease) {
        CHECK(s, d->action == GOV_NONE, d);
        return;
    }
    /* Bounds: toward them from outside, never out from inside. */
    if (cap < g->min) {
        CHECK(s, d->action == GOV_SCALE_OUT, d);
        CHECK(s, d->capacity_after >= g->min && d->capacity_after <= g->max, d);
        return;
    }
    if (cap > g->max) {
        CHECK(s, d->action == GOV_SCALE_IN && d->capacity_after == g->max, d);
        return;
    }
    CHECK(s, d->capacity_after >= g->min && d->capacity_after <= g->max, d);

    bool out_cool = since_last(now, w->out_done) >= g->scale_out_cooldown;
    bool in_cool = since_last(now, quiet_since) >= g->scale_in_cooldown;
    if (d->action == GOV_SCALE_OUT) {
        CHECK(s, alert || cap < fl, d);
        CHECK(s, out_cool, d);
        if (!alert)
            CHECK(s, d->capacity_after == fl, d);
    } else if (d->action == GOV_SCALE_IN) {
        CHECK(s, !alert, d);
        CHECK(s, in_cool, d);
        CHECK(s, d->capacity_after >= fl, d);
    } else {
        /* Liveness: nothing is done only when nothing may be. */
        if (alert)
            CHECK(s, cap == g->max || !out_cool, d);
        else if (cap < fl)
            CHECK(s, !out_cool, d);
        else
            CHECK(s, cap == fl || !in_cool, d);
    }
}

static void tick(struct sim *s, long long dt)
{
    struct world *w = &s->w;
    advance(s, w->now + dt);

    struct gov_input in;
    model_input(w, &in);
    if (next_u64() % 128 == 0)
        crosscheck(s, &in);

    struct gov_decision d;
    governor_decide(&in, &d);
    s->st.ticks++;
    s->st.decisions += d.action != GOV_NONE;
    s->st.digest = splitmix(s->st.digest ^ ((uint64_t)d.action << 32 | (uint32_t)d.count));
    check_decision(s, &in, &d);
    if (d.action != GOV_NONE)
        dispatch(s, &d);
    check_world(s);
}

/* ---- one history ---- */

static void random_spec(struct world *w)
{
    struct group *g = &w->spec;
    g->min = between(0, 4);
    g->max = between(g->min > 1 ? g->min : 1, g->min + 10);
    g->desired = chance(30) ? between(g->min, g->max) : -1;
    g->scale_out_step = between(1, 5);
    g->warning_step = between(1, 3);
    g->scale_in_step = between(1, 4);
    g->scale_out_cooldown = chance(10) ? 0 : between(1, 300);
    g->scale_in_cooldown = chance(10) ? 0 : between(1, 600);
    g->incident_max_age = between(60, 900);
    w->ttl = between(30, 400);
}

static void open_incident(struct world *w)
{
    if (w->ninc == MAX_INC)
        return;
    w->inc[w->ninc++] = (struct incident){
        .opened = w->now,
        .sev = chance(50) ? GOV_SEV_CRITICAL : GOV_SEV_WARNING,
    };
}

/* Close a random open incident, expired or not: a recovery may come late. */
static void close_incident(struct world *w)
{
    int open[MAX_INC], n = 0;
    for (int i = 0; i < w->ninc; i++)
        if (!w->inc[i].closed)
            open[n++] = i;
    if (n)
        w->inc[open[between(0, n - 1)]].closed = w->now;
}

static void fail_node(struct sim *s)
{
    struct world *w = &s->w;
    int cap = capacity(w);
    if (!cap)
        return;
    if (between(1, cap) <= w->building)
        w->building--;
    else
        w->active--;
    w->failed++;
    s->st.failures++;
}

static void lower_max(struct sim *s)
{
    struct group *g = &s->w.spec;
    long long lo = g->min > 1 ? g->min : 1;
    if (g->desired > lo)
        lo = g->desired;
    if (g->max <= lo)
        return;
    g->max = between(lo, g->max - 1);
    if (projected(&s->w) > g->max)
        s->w.max_breach = true;
    s->st.max_lowered++;
}

static long long random_dt(const struct world *w)
{
    long long slow = w->spec.scale_in_cooldown > w->ttl ? w->spec.scale_in_cooldown
                                                         : w->ttl;
    int r = (int)between(0, 99);
    return r < 30 ? between(0, 5) : r < 70 ? between(0, 60) : between(0, 2 * slow);
}

/* Nothing happens any more but time: every alert ends (half are closed, the
 * others' recovery is lost and they must expire), and the group must come
 * back to its floor and stay there. */
static void quiet_phase(struct sim *s)
{
    struct world *w = &s->w;
    const struct group *g = &w->spec;
    for (int i = 0; i < w->ninc; i++) {
        if (w->inc[i].closed)
            continue;
        if (chance(50))
            w->inc[i].closed = w->now;
        else if (incident_active(w, &w->inc[i]))
            s->st.lost_recoveries++;
    }
    long long slow = g->scale_in_cooldown;
    if (g->scale_out_cooldown > slow)
        slow = g->scale_out_cooldown;
    if (w->ttl > slow)
        slow = w->ttl;

    long long n = 0;
    for (;; n++) {
        CHECK(s, n < QUIET_TICK_LIMIT, NULL);
        struct gov_input in;
        model_input(w, &in);
        if (!w->lease && !w->op.live && in.alert == GOV_SEV_NONE &&
            capacity(w) == floor_of(g)) {
            struct gov_decision d;
            governor_decide(&in, &d);
            CHECK(s, d.action == GOV_NONE, &d);
            break;
        }
        s->step++;
        tick(s, between(1, slow));
    }
    s->st.quiet_ticks += n;
    if (n > s->st.quiet_max)
        s->st.quiet_max = n;
    /* and it stays there */
    for (int i = 0; i < 3; i++) {
        s->step++;
        tick(s, between(1, 4 * slow));
        CHECK(s, !w->lease && capacity(w) == floor_of(g), NULL);
    }
}

static void run_sequence(struct sim *s)
{
    struct world *w = &s->w;
    rng = s->seq_seed ? s->seq_seed : 1;
    struct group spec = w->spec; /* keep the allocated strings */
    memset(w, 0, sizeof *w);
    w->spec = spec;
    w->now = T0;
    random_spec(w);

    long long steps = between(10, 60);
    for (s->step = 0; s->step < steps; s->step++) {
        int r = (int)between(0, 99);
        if (r < 15)
            open_incident(w);
        else if (r < 27)
            close_incident(w);
        else if (r < 35)
            fail_node(s);
        else if (r < 38)
            lower_max(s);
        else if (r < 41)
            w->failed = 0; /* reconcile deletes the dead */
        else
            tick(s, random_dt(w));
        check_world(s);
    }
    quiet_phase(s);
    s->st.steps += s->step;
    s->st.sequences++;
}

static long long env_ll(const char *name, long long fallback)
{
    const char *v = getenv(name);
    return v && *v ? strtoll(v, NULL, 0) : fallback;
}

static struct stats simulate(uint64_t seed, long long sequences)
{
    static struct sim s; /* large; kept off the stack */
    memset(&s, 0, sizeof s);
    group_init(&s.w.spec, "sim");
    for (s.seq = 0; s.seq < sequences; s.seq++) {
        s.seq_seed = splitmix(seed + (uint64_t)s.seq);
        run_sequence(&s);
    }
    group_clear(&s.w.spec);
    return s.st;
}

static void test_simulation(void **state)
{
    (void)state;
    uint64_t seed = (uint64_t)env_ll("AUTOSCALE_SIM_SEED", (long long)DEFAULT_SEED);
    long long n = env_ll("AUTOSCALE_SIM_SEQUENCES", DEFAULT_SEQUENCES);
    print_message("governor simulation: seed 0x%016" PRIx64 ", %lld sequences\n", seed, n);
    struct stats st = simulate(seed, n);
    print_message("governor simulation: %lld sequences, %lld steps (%lld ticks), "
                  "%lld dispatches (%lld out, %lld in), %lld died, %lld node failures, "
                  "max lowered %lld times, %lld lost recoveries, %lld JSON cross-checks; "
                  "back at the floor after %.1f quiet ticks on average, %lld at most\n",
                  st.sequences, st.steps, st.ticks, st.decisions, st.outs, st.ins,
                  st.deaths, st.failures, st.max_lowered, st.lost_recoveries,
                  st.crosschecks, st.sequences ? (double)st.quiet_ticks / (double)st.sequences : 0.0,
                  st.quiet_max);
    assert_int_equal(st.sequences, n);
    if (n >= 1000) { /* the world really did all of it */
        assert_true(st.outs > 0 && st.ins > 0 && st.deaths > 0 && st.failures > 0);
        assert_true(st.max_lowered > 0 && st.lost_recoveries > 0 && st.crosschecks > 0);
    }
}

/* Same seed, same history: a failure report can be replayed. */
static void test_simulation_is_deterministic(void **state)
{
    (void)state;
    struct stats a = simulate(42, 500), b = simulate(42, 500), c = simulate(43, 500);
    assert_int_equal(a.steps, b.steps);
    assert_int_equal(a.decisions, b.decisions);
    assert_true(a.digest == b.digest);
    assert_true(a.digest != c.digest);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simulation_is_deterministic),
        cmocka_unit_test(test_simulation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
