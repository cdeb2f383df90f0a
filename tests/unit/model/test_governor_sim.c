/* test_governor_sim.c - the governor in a simulated world, 100,000 random
 * histories at a time.
 *
 * Each sequence draws a small random group spec and plays a random history
 * against it: incidents opening and closing (some never close: the lost
 * recovery of 2015), ticks advancing time by random amounts (often faster
 * than operations finish), node failures and max being lowered; health
 * events (active nodes going unhealthy, recovering, dying); and operators
 * suspending and resuming processes, protecting and unprotecting nodes,
 * forcing a resize, switching replacement to report-only and moving
 * min_healthy. A model of the world applies every decision the way the
 * pack does: the governor's dispatch takes the lease; the operation records
 * its nodes after a random delay (a scale-out's or a replacement's nodes
 * appear as building, a scale-in's as draining, taken from unprotected
 * nodes only, as node_pick does), then completes (building -> active,
 * draining -> gone; a replacement then takes its unhealthy nodes down only
 * while the healthy count is at least min_healthy, the workflow's guard;
 * an event written, lease released) or dies (its nodes fail, the lease is
 * left to expire). The history ends with a quiet phase, in which the
 * operators resume everything and the group must come back to its floor
 * (or its protected nodes) with every replaceable unhealthy node replaced.
 *
 * Checked at every step, against the world's own bookkeeping rather than
 * the governor's input:
 *  - bounds: a decision from within [min, max] stays within it; from
 *    outside, it moves toward the bounds, never away, never past the other;
 *    and the world never holds more capacity (building + active healthy)
 *    than max unless max was lowered under it, an unhealthy node recovered
 *    at max, or protected nodes hold it there;
 *  - no double dispatch: no decision while an operation's lease is held;
 *  - suspended processes are never dispatched; scale-in never plans more
 *    than the unprotected capacity, and the world's scale-in never takes a
 *    protected node;
 *  - replacement: only of unhealthy nodes, only with health_replace on;
 *    remove > 0 only when capacity + count >= min_healthy; and the world
 *    never takes an unhealthy node down while fewer than min_healthy are
 *    healthy;
 *  - scale-out cooldown, except below min or forced; scale-in cooldown
 *    since the latest of scale-out, scale-in and the alert clearing,
 *    except above max or forced; no scale-in in alert, no scale-out
 *    without an alert or a lack of capacity; a forced resize goes straight
 *    to the floor, once;
 *  - liveness: when a rule says act, the governor acts;
 *  - eventual return: once quiet, the group rests at its floor;
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
#include "controls.h"
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
    int count, remove;
    long long at, record_at, end_at;
    bool dies, recorded, forced;
};

struct world {
    struct group spec;
    long long now, ttl;
    /* active: healthy active nodes; unhealthy: active nodes reported so */
    int building, active, unhealthy, draining, failed;
    int pb, pa, pu; /* the protected among building, active, unhealthy */
    struct incident inc[MAX_INC];
    int ninc;
    struct event ev[MAX_EV];
    int nev;
    bool lease; /* visible in the datastore: taken, not released nor expired */
    long long lease_at, lease_expires;
    struct op op;
    /* the world's own bookkeeping, for the invariants */
    long long out_done, in_done, rep_done; /* completion of the last of each op */
    bool max_breach;        /* max was lowered under the group, or a node recovered */
    long long forced_spent; /* the forced_at a forced operation was dispatched for */
};

struct stats {
    long long sequences, steps, ticks, decisions, outs, ins, replaces, deaths, failures,
        max_lowered, crosschecks, quiet_ticks, quiet_max, lost_recoveries, sick, recovered,
        sick_died, replaced, guard_blocked, suspended, protected_blocks, forced, forces,
        protects, at_max_replaces, grow_replaces, reported_only, blocked;
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
                "  health_replace %lld min_healthy %lld suspend out/in/replace "
                "%lld/%lld/%lld forced_at %lld\n"
                "  nodes building %d active %d unhealthy %d draining %d failed %d, "
                "protected %d/%d/%d, lease %d, op live %d (%s %d remove %d)\n",
                what, s->seq, s->seq_seed, s->step, w->now - T0, g->min, g->max,
                g->desired, g->scale_out_step, g->scale_out_cooldown, g->warning_step,
                g->scale_in_step, g->scale_in_cooldown, g->incident_max_age, w->ttl,
                g->health_replace, g->min_healthy, g->suspend_scale_out,
                g->suspend_scale_in, g->suspend_replace,
                g->forced_at ? g->forced_at - T0 : 0, w->building, w->active,
                w->unhealthy, w->draining, w->failed, w->pb, w->pa, w->pu, w->lease,
                w->op.live, gov_action_name(w->op.action), w->op.count, w->op.remove);
    if (d)
        print_error("  decision %s %d remove %d (%d -> %d) [%s]: %s\n",
                    gov_action_name(d->action), d->count, d->remove, d->capacity_before,
                    d->capacity_after, d->code, d->reason);
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

static int protected_capacity(const struct world *w)
{
    return w->pb + w->pa;
}

static long long floor_of(const struct group *g)
{
    return g->desired >= 0 ? g->desired : g->min;
}

static long long min_healthy(const struct group *g)
{
    return g->min_healthy < 0 ? g->min : g->min_healthy;
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
    if (w->op.live && !w->op.recorded && w->op.action != GOV_SCALE_IN)
        c += w->op.count;
    return c;
}

static void check_world(struct sim *s)
{
    struct world *w = &s->w;
    if (w->max_breach && !w->lease && !w->op.live && capacity(w) <= w->spec.max)
        w->max_breach = false;
    CHECK(s, w->max_breach || projected(w) <= w->spec.max, NULL);
    CHECK(s, w->building >= 0 && w->active >= 0 && w->draining >= 0 && w->failed >= 0 &&
                 w->unhealthy >= 0, NULL);
    CHECK(s, w->pb >= 0 && w->pb <= w->building && w->pa >= 0 && w->pa <= w->active &&
                 w->pu >= 0 && w->pu <= w->unhealthy, NULL);
}

/* One node of a class of n, p of them protected, leaves it: 1 when the one
 * that left was protected. */
static int take_one(int *n, int *p)
{
    int was = between(1, *n) <= *p;
    (*n)--;
    *p -= was;
    return was;
}

static void op_record(struct world *w)
{
    struct op *op = &w->op;
    op->recorded = true;
    if (op->action != GOV_SCALE_IN) {
        w->building += op->count;
    } else { /* node_pick skips protected nodes */
        int free = w->active - w->pa;
        int n = op->count < free ? op->count : free;
        w->active -= n;
        w->draining += n;
    }
}

/* The replace workflow, its new nodes up: node_pick --strategy unhealthy
 * takes the unhealthy nodes down only while min_healthy are healthy. */
static void replace_remove(struct sim *s)
{
    struct world *w = &s->w;
    if (w->op.remove == 0)
        return; /* it only added: the group was short of min_healthy */
    if (w->active < min_healthy(&w->spec)) {
        s->st.guard_blocked++;
        return;
    }
    int r = w->op.remove < w->unhealthy ? w->op.remove : w->unhealthy;
    for (int i = 0; i < r; i++) /* protection is from scale-in only */
        take_one(&w->unhealthy, &w->pu);
    s->st.replaced += r;
    CHECK(s, w->active >= min_healthy(&w->spec), NULL);
}

static void op_end(struct sim *s)
{
    struct world *w = &s->w;
    struct op *op = &w->op;
    op->live = false;
    if (op->dies) { /* what it left behind is found dead by reconcile */
        s->st.deaths++;
        w->failed += w->building + w->draining;
        w->building = w->draining = w->pb = 0;
        /* it leaves no event and its lease expires: nothing says a forced
         * resize started, so it is still pending (a retry, within the hour) */
        if (op->forced)
            w->forced_spent = 0;
        return; /* the lease stays until its TTL */
    }
    if (op->action == GOV_SCALE_IN) {
        w->draining = 0;
        w->in_done = op->end_at;
    } else {
        w->active += w->building;
        w->pa += w->pb;
        w->building = w->pb = 0;
        if (op->action == GOV_SCALE_OUT) {
            w->out_done = op->end_at;
        } else {
            replace_remove(s);
            w->rep_done = op->end_at;
        }
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

static bool suspended_for(const struct group *g, enum gov_action a)
{
    return (a == GOV_SCALE_OUT && g->suspend_scale_out) ||
           (a == GOV_SCALE_IN && g->suspend_scale_in) ||
           (a == GOV_REPLACE && g->suspend_replace);
}

static void dispatch(struct sim *s, const struct gov_decision *d)
{
    struct world *w = &s->w;
    /* No double dispatch: nothing may be in flight or leased. */
    CHECK(s, !w->lease && !w->op.live, d);
    /* Never a suspended process. */
    CHECK(s, !suspended_for(&w->spec, d->action), d);
    w->lease = true;
    w->lease_at = w->now;
    w->lease_expires = w->now + w->ttl;
    long long delay = between(0, w->ttl - 1); /* ends before its lease expires */
    w->op = (struct op){
        .live = true, .action = d->action, .count = d->count, .remove = d->remove,
        .at = w->now, .end_at = w->now + delay, .dies = chance(12),
    };
    /* A dying op may die before it records anything. */
    w->op.record_at = w->op.dies && chance(40) ? LLONG_MAX : w->now + between(0, delay);
    if (d->action == GOV_SCALE_OUT)
        s->st.outs++;
    else if (d->action == GOV_SCALE_IN)
        s->st.ins++;
    else
        s->st.replaces++;
    if (strcmp(d->code, "forced") == 0) {
        /* once: the operation started is later than forced_at */
        CHECK(s, w->forced_spent != w->spec.forced_at, d);
        w->forced_spent = w->spec.forced_at;
        w->op.forced = true;
        s->st.forced++;
    }
}

/* ---- the governor's input: from the model, and from datastore JSON ---- */

static void model_input(const struct world *w, struct gov_input *in)
{
    memset(in, 0, sizeof *in);
    in->spec = &w->spec;
    in->now = w->now;
    in->building = w->building;
    in->active = w->active;
    in->unhealthy = w->unhealthy;
    in->draining = w->draining;
    in->failed = w->failed;
    in->protected_capacity = protected_capacity(w);
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
                          : w->ev[i].op == GOV_SCALE_IN ? &in->last_scale_in_at
                                                        : &in->last_replace_at;
        if (w->ev[i].at > *last)
            *last = w->ev[i].at;
    }
    if (w->lease) {
        long long *last = w->op.action == GOV_SCALE_OUT ? &in->last_scale_out_at
                          : w->op.action == GOV_SCALE_IN ? &in->last_scale_in_at
                                                         : &in->last_replace_at;
        if (w->lease_at > *last)
            *last = w->lease_at;
    }
    in->lease_held = w->lease;
}

static void put_int(struct json_object *o, const char *k, long long v)
{
    json_object_object_add(o, k, json_object_new_int64(v));
}

static void put_str(struct json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, json_object_new_string(v));
}

/* n node records in one state, p of them protected; with a health record
 * saying `health` (NULL: none, or a random harmless one). */
static void add_nodes(struct sim *s, struct asg_state *st, int n, int p, const char *state,
                      const char *health, int *id)
{
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "web-%d", (*id)++);
        struct json_object *o = json_object_new_object();
        put_str(o, "name", name);
        put_str(o, "state", state);
        json_object_array_add(st->nodes, o);
        const char *h = health ? health : chance(50) ? NULL : chance(50) ? "healthy" : "grace";
        if (h) {
            struct json_object *r = json_object_new_object();
            put_str(r, "node", name);
            put_str(r, "status", h);
            json_object_object_add(st->health, name, r);
        }
        if (i < p) {
            struct json_object *r = json_object_new_object();
            put_str(r, "node", name);
            put_int(r, "at", s->w.now);
            json_object_object_add(st->protect, name, r);
        }
    }
}

/* The world written the way the datastore holds it, read back through
 * governor_input_from_state, must be the model's input exactly. Records
 * that must not count are mixed in: a leaving node reported unhealthy or
 * protected, health and protection of nodes that are not there. */
static void crosscheck(struct sim *s, const struct gov_input *want)
{
    const struct world *w = &s->w;
    struct asg_state st = {.spec = w->spec}; /* borrowed: not freed here */
    int id = 0;

    st.nodes = json_object_new_array();
    st.health = json_object_new_object();
    st.protect = json_object_new_object();
    add_nodes(s, &st, w->building, w->pb, "building", NULL, &id);
    add_nodes(s, &st, w->active, w->pa, "active", NULL, &id);
    add_nodes(s, &st, w->unhealthy, w->pu, "active", "unhealthy", &id);
    add_nodes(s, &st, w->draining, (int)between(0, w->draining), "draining",
              chance(50) ? "unhealthy" : NULL, &id);
    add_nodes(s, &st, w->failed, (int)between(0, w->failed), "failed", "unhealthy", &id);
    add_nodes(s, &st, (int)between(0, 1), 1, "deleting", "unhealthy", &id);
    if (chance(50)) { /* a record of a node without a node record */
        struct json_object *r = json_object_new_object();
        put_str(r, "status", "unhealthy");
        json_object_object_add(st.health, "web-gone", r);
        json_object_object_add(st.protect, "web-gone", json_object_new_object());
    }
    if (chance(10)) { /* not loaded (NULL): nothing unhealthy or protected */
        json_object_put(st.health);
        json_object_put(st.protect);
        st.health = st.protect = NULL;
    }

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
    bool loaded = st.health != NULL;
    governor_input_from_state(&st, w->now, &got);
    json_object_put(st.nodes);
    json_object_put(st.health);
    json_object_put(st.protect);
    json_object_put(st.incidents);
    json_object_put(st.events);
    json_object_put(st.lease);

    CHECK(s, got.spec == &st.spec, NULL);
    CHECK(s, got.now == want->now, NULL);
    CHECK(s, got.building == want->building && got.draining == want->draining &&
                 got.failed == want->failed, NULL);
    if (loaded) {
        CHECK(s, got.active == want->active && got.unhealthy == want->unhealthy, NULL);
        CHECK(s, got.protected_capacity == want->protected_capacity, NULL);
    } else {
        CHECK(s, got.active == want->active + want->unhealthy && got.unhealthy == 0 &&
                     got.protected_capacity == 0, NULL);
    }
    CHECK(s, got.alert == want->alert, NULL);
    CHECK(s, got.alert_cleared_at == want->alert_cleared_at, NULL);
    CHECK(s, got.last_scale_out_at == want->last_scale_out_at, NULL);
    CHECK(s, got.last_scale_in_at == want->last_scale_in_at, NULL);
    CHECK(s, got.last_replace_at == want->last_replace_at, NULL);
    CHECK(s, got.lease_held == want->lease_held, NULL);
    s->st.crosschecks++;
}

/* ---- one tick: decide, check, apply ---- */

static long long since_last(long long now, long long t)
{
    return t ? now - t : LLONG_MAX;
}

static long long max3(long long a, long long b, long long c)
{
    long long m = a > b ? a : b;
    return m > c ? m : c;
}

static bool is_code(const struct gov_decision *d, const char *code)
{
    return strcmp(d->code, code) == 0;
}

static void check_decision(struct sim *s, const struct gov_input *in,
                           const struct gov_decision *d)
{
    const struct world *w = &s->w;
    const struct group *g = &w->spec;
    long long cap = capacity(w), fl = floor_of(g), now = w->now;
    long long prot = protected_capacity(w), free_cap = cap - prot, mh = min_healthy(g);
    bool alert = in->alert != GOV_SEV_NONE;
    long long quiet_since = w->out_done > w->in_done ? w->out_done : w->in_done;
    if (in->alert_cleared_at > quiet_since)
        quiet_since = in->alert_cleared_at;
    bool forced = g->forced_at > 0 &&
                  g->forced_at > max3(in->last_scale_out_at, in->last_scale_in_at,
                                      in->last_replace_at) &&
                  (now < g->forced_at || now - g->forced_at < CONTROL_FORCE_WINDOW_S);
    bool replaceable = w->unhealthy > 0 && g->health_replace && !g->suspend_replace &&
                       mh <= g->max;

    /* Well formed. */
    CHECK(s, d->capacity_before == cap && d->reason[0] && d->code[0], d);
    CHECK(s, d->count >= 0 && d->remove >= 0, d);
    if (d->action == GOV_NONE)
        CHECK(s, d->count == 0 && d->remove == 0, d);
    else if (d->action == GOV_REPLACE)
        CHECK(s, d->count + d->remove > 0, d);
    else
        CHECK(s, d->count > 0 && d->remove == 0, d);
    CHECK(s, d->capacity_after == cap + (d->action == GOV_SCALE_IN ? -d->count
                                         : d->count), d);
    /* The model's history and the governor's input agree when it matters. */
    CHECK(s, in->unhealthy == w->unhealthy && in->protected_capacity == prot, d);
    if (!w->lease)
        CHECK(s, in->last_scale_out_at == w->out_done &&
                 in->last_scale_in_at == w->in_done &&
                 in->last_replace_at == w->rep_done, d);

    /* No decision while a lease is held. */
    if (w->lease) {
        CHECK(s, d->action == GOV_NONE && is_code(d, "lease_held"), d);
        return;
    }
    /* Never a suspended process; "suspended" only when one is. */
    CHECK(s, !suspended_for(g, d->action), d);
    if (is_code(d, "suspended")) {
        CHECK(s, g->suspend_scale_out || g->suspend_scale_in || g->suspend_replace, d);
        s->st.suspended++;
    }
    /* Scale-in never plans a protected node away. */
    if (d->action == GOV_SCALE_IN)
        CHECK(s, d->count <= free_cap, d);
    if (is_code(d, "protected")) {
        CHECK(s, free_cap == 0, d);
        s->st.protected_blocks++;
    }
    /* Replacement: of unhealthy nodes, when asked, never below min_healthy. */
    if (d->action == GOV_REPLACE) {
        long long step = g->scale_out_step < 1 ? 1 : g->scale_out_step;
        CHECK(s, replaceable && d->remove <= w->unhealthy && d->remove <= step, d);
        /* never planned below min_healthy; short of it, the group grows */
        CHECK(s, d->remove == 0 || cap + d->count >= mh, d);
        CHECK(s, d->remove > 0 || (cap + d->count < mh && d->count > 0), d);
        /* bounded: the step, or what min asks at once */
        CHECK(s, d->count <= step || d->capacity_after <= g->min, d);
        CHECK(s, cap <= g->max && d->capacity_after <= g->max, d);
        s->st.at_max_replaces += d->count == 0;
        s->st.grow_replaces += d->remove == 0;
    }
    if (w->unhealthy > 0 && d->action == GOV_NONE) {
        if (!g->health_replace && !is_code(d, "suspended"))
            s->st.reported_only++;
        if (is_code(d, "replace_blocked")) {
            CHECK(s, mh > g->max, d);
            s->st.blocked++;
        }
    }
    /* A forced resize: straight to the floor, protection allowing. */
    if (is_code(d, "forced")) {
        CHECK(s, forced && cap != fl, d);
        if (d->action == GOV_SCALE_OUT)
            CHECK(s, d->capacity_after == fl, d);
        else
            CHECK(s, d->action == GOV_SCALE_IN &&
                         d->capacity_after == (fl > prot ? fl : prot), d);
    }

    /* Bounds: toward them from outside, never out from inside. */
    if (cap < g->min) {
        if (d->action == GOV_NONE) {
            CHECK(s, is_code(d, "suspended") && g->suspend_scale_out && !replaceable, d);
            return;
        }
        CHECK(s, d->action != GOV_SCALE_IN, d);
        CHECK(s, d->capacity_after >= g->min && d->capacity_after <= g->max, d);
        return;
    }
    if (cap > g->max) {
        if (d->action == GOV_NONE) {
            CHECK(s, (is_code(d, "protected") && free_cap == 0) ||
                         (is_code(d, "suspended") && g->suspend_scale_in), d);
            return;
        }
        CHECK(s, d->action == GOV_SCALE_IN, d);
        CHECK(s, d->capacity_after >= g->min && d->capacity_after >= prot, d);
        CHECK(s, d->capacity_after <= (g->max > prot ? g->max : prot), d);
        if (!is_code(d, "forced"))
            CHECK(s, d->capacity_after == (g->max > prot ? g->max : prot), d);
        return;
    }
    CHECK(s, d->capacity_after >= g->min && d->capacity_after <= g->max, d);

    bool out_cool = since_last(now, w->out_done) >= g->scale_out_cooldown;
    bool in_cool = since_last(now, quiet_since) >= g->scale_in_cooldown;
    if (is_code(d, "forced") || d->action == GOV_REPLACE)
        return; /* checked above */
    /* Liveness of the new rules: a pending force acts unless its direction
     * is suspended or (scale-in) all protected; then a possible replacement
     * acts. Either would have returned above. */
    bool force_acts = forced && ((cap < fl && !g->suspend_scale_out) ||
                                 (cap > fl && free_cap > 0 && !g->suspend_scale_in));
    CHECK(s, !force_acts, d);
    CHECK(s, !replaceable, d);
    if (d->action == GOV_SCALE_OUT) {
        CHECK(s, alert || cap < fl, d);
        CHECK(s, out_cool, d);
        if (!alert)
            CHECK(s, d->capacity_after == fl, d);
    } else if (d->action == GOV_SCALE_IN) {
        CHECK(s, !alert, d);
        CHECK(s, in_cool, d);
        CHECK(s, d->capacity_after >= fl, d);
    } else if (!is_code(d, "suspended") && !is_code(d, "protected")) {
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
    s->st.digest = splitmix(s->st.digest ^ ((uint64_t)d.action << 48 |
                                            (uint64_t)(uint32_t)d.remove << 32 |
                                            (uint32_t)d.count));
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
    g->health_replace = chance(85);
    g->min_healthy = chance(60) ? -1 : between(0, g->max + 1);
    g->suspend_scale_out = g->suspend_scale_in = g->suspend_replace = 0;
    g->forced_at = 0;
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
        take_one(&w->building, &w->pb);
    else
        take_one(&w->active, &w->pa);
    w->failed++;
    s->st.failures++;
}

/* Health: a healthy active node fails its checks health_threshold times. */
static void fall_sick(struct sim *s)
{
    struct world *w = &s->w;
    if (!w->active)
        return;
    w->pu += take_one(&w->active, &w->pa);
    w->unhealthy++;
    s->st.sick++;
}

/* One passing probe makes it healthy again: capacity, maybe past max. */
static void recover(struct sim *s)
{
    struct world *w = &s->w;
    if (!w->unhealthy)
        return;
    w->pa += take_one(&w->unhealthy, &w->pu);
    w->active++;
    if (projected(w) > w->spec.max)
        w->max_breach = true;
    s->st.recovered++;
}

static void sick_dies(struct sim *s)
{
    struct world *w = &s->w;
    if (!w->unhealthy)
        return;
    take_one(&w->unhealthy, &w->pu);
    w->failed++;
    s->st.sick_died++;
}

/* node_protect on a random node of the group, or its undoing. */
static void toggle_protect(struct sim *s)
{
    struct world *w = &s->w;
    int n = w->building + w->active + w->unhealthy;
    if (!n)
        return;
    int pick = (int)between(1, n);
    int *all, *prot;
    if (pick <= w->building)
        all = &w->building, prot = &w->pb;
    else if (pick <= w->building + w->active)
        all = &w->active, prot = &w->pa;
    else
        all = &w->unhealthy, prot = &w->pu;
    if (between(1, *all) <= *prot)
        (*prot)--;
    else
        (*prot)++;
    s->st.protects++;
}

static void toggle_suspend(struct sim *s)
{
    struct group *g = &s->w.spec;
    long long *p[] = {&g->suspend_scale_out, &g->suspend_scale_in, &g->suspend_replace};
    long long *which = p[between(0, 2)];
    *which = !*which;
}

/* asg_resize force: desired within bounds, forced_at now. */
static void force_resize(struct sim *s)
{
    struct group *g = &s->w.spec;
    g->desired = between(g->min, g->max);
    g->forced_at = s->w.now;
    s->st.forces++;
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

/* Where the quiet group must come to rest: its floor, unless protected
 * nodes hold more; and no unhealthy node a replacement could take down. */
static bool at_rest(const struct world *w)
{
    const struct group *g = &w->spec;
    long long fl = floor_of(g), prot = protected_capacity(w);
    long long target = fl > prot ? fl : prot;
    return !w->lease && !w->op.live && capacity(w) == target &&
           (w->unhealthy == 0 || !g->health_replace || min_healthy(g) > g->max);
}

/* Nothing happens any more but time: every alert ends (half are closed, the
 * others' recovery is lost and they must expire), the operators resume
 * every process, and the group must come back to its floor and stay
 * there. */
static void quiet_phase(struct sim *s)
{
    struct world *w = &s->w;
    struct group *g = &w->spec;
    for (int i = 0; i < w->ninc; i++) {
        if (w->inc[i].closed)
            continue;
        if (chance(50))
            w->inc[i].closed = w->now;
        else if (incident_active(w, &w->inc[i]))
            s->st.lost_recoveries++;
    }
    g->suspend_scale_out = g->suspend_scale_in = g->suspend_replace = 0;
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
        if (in.alert == GOV_SEV_NONE && at_rest(w)) {
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
        CHECK(s, at_rest(w), NULL);
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
        if (r < 12)
            open_incident(w);
        else if (r < 21)
            close_incident(w);
        else if (r < 26)
            fail_node(s);
        else if (r < 28)
            lower_max(s);
        else if (r < 30)
            w->failed = 0; /* reconcile deletes the dead */
        else if (r < 35)
            fall_sick(s);
        else if (r < 38)
            recover(s);
        else if (r < 40)
            sick_dies(s);
        else if (r < 43)
            toggle_protect(s);
        else if (r < 45)
            toggle_suspend(s);
        else if (r < 46)
            force_resize(s);
        else if (r < 47)
            w->spec.health_replace = !w->spec.health_replace;
        else if (r < 48)
            w->spec.min_healthy = chance(50) ? -1 : between(0, w->spec.max + 1);
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
                  "%lld dispatches (%lld out, %lld in, %lld replace of which %lld at max, "
                  "%lld growing toward min_healthy), "
                  "%lld died, %lld node failures, max lowered %lld times, %lld lost "
                  "recoveries, %lld JSON cross-checks; back at the floor after %.1f quiet "
                  "ticks on average, %lld at most\n",
                  st.sequences, st.steps, st.ticks, st.decisions, st.outs, st.ins,
                  st.replaces, st.at_max_replaces, st.grow_replaces, st.deaths,
                  st.failures, st.max_lowered, st.lost_recoveries, st.crosschecks,
                  st.sequences ? (double)st.quiet_ticks / (double)st.sequences : 0.0,
                  st.quiet_max);
    print_message("governor simulation: health: %lld went unhealthy, %lld recovered, "
                  "%lld died, %lld replaced, %lld removals held back by min_healthy, "
                  "%lld ticks report-only, %lld replace_blocked; controls: %lld suspended "
                  "decisions, %lld protected, %lld protection changes, %lld forced resizes "
                  "asked, %lld dispatched\n",
                  st.sick, st.recovered, st.sick_died, st.replaced, st.guard_blocked,
                  st.reported_only, st.blocked, st.suspended, st.protected_blocks,
                  st.protects, st.forces, st.forced);
    assert_int_equal(st.sequences, n);
    if (n >= 1000) { /* the world really did all of it */
        assert_true(st.outs > 0 && st.ins > 0 && st.deaths > 0 && st.failures > 0);
        assert_true(st.max_lowered > 0 && st.lost_recoveries > 0 && st.crosschecks > 0);
        assert_true(st.replaces > 0 && st.replaced > 0 && st.at_max_replaces > 0 &&
                    st.grow_replaces > 0);
        assert_true(st.sick > 0 && st.recovered > 0 && st.sick_died > 0);
        assert_true(st.guard_blocked > 0 && st.reported_only > 0 && st.blocked > 0);
        assert_true(st.suspended > 0 && st.protected_blocks > 0 && st.forced > 0);
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
