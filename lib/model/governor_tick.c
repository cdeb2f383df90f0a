/* governor_tick.c - see governor_tick.h.
 *
 * The decisions are written out as JSON text as they are made, not built
 * into a json-c tree first: a tree of 100,000 decisions (eight members
 * each, each member an allocation) and its serialisation cost more than
 * reading and deciding. The text is exactly what json-c prints for that
 * tree (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, the front
 * end's flags), and *out is a json-c object that prints as it. */
#include "governor_tick.h"
#include "asg.h"
#include "governor.h"
#include "governor_load.h"
#include "group.h"
#include "history.h"
#include "jsonx.h"
#include "lease.h"
#include "log.h"
#include "signals.h"
#include "xalloc.h"

#include <json-c/printbuf.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gov_tick_check(const struct gov_tick *t, struct as_error *err)
{
    if (t->lease_ttl < GOV_TICK_TTL_MIN || t->lease_ttl > GOV_TICK_TTL_MAX)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'lease_ttl' must be between %d and %d seconds",
                       GOV_TICK_TTL_MIN, GOV_TICK_TTL_MAX);
    return t->name ? group_check_name(t->name, err) : 0;
}

/* ---- the text ---- */

struct text {
    char *p; /* not NUL-terminated: len counts */
    size_t len, cap;
};

/* Where to write up to n more bytes; then done() says where writing
 * stopped. One check per decision instead of one per piece. */
static char *room(struct text *t, size_t n)
{
    if (t->cap - t->len < n)
        t->p = xgrow(t->p, t->len + n, &t->cap, 1);
    return t->p + t->len;
}

static void done(struct text *t, const char *w)
{
    t->len = (size_t)(w - t->p);
}

static char *w_mem(char *w, const char *s, size_t n)
{
    memcpy(w, s, n);
    return w + n;
}

#define W_LIT(w, lit) w_mem((w), (lit), sizeof(lit) - 1)

/* As "%lld" prints it; snprintf was a tenth of a tick. */
static char *w_int(char *w, long long v)
{
    char buf[24], *p = buf + sizeof buf;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--p = '-';
    return w_mem(w, p, (size_t)(buf + sizeof buf - p));
}

/* What json-c escapes: the control characters, the quote and the
 * backslash; and NUL, where a string ends. */
#define CTL4(c) [c] = 1, [c + 1] = 1, [c + 2] = 1, [c + 3] = 1
static const bool escaped[256] = {
    CTL4(0), CTL4(4), CTL4(8), CTL4(12), CTL4(16), CTL4(20), CTL4(24), CTL4(28),
    ['"'] = 1, ['\\'] = 1,
};

/* A JSON string as json-c writes it with JSON_C_TO_STRING_NOSLASHESCAPE:
 * the five short escapes, \u00xx (lower-case hex) for the other control
 * characters, every other byte as it is; at most 6 bytes a byte, plus 2.
 * NULL is null. */
static char *w_str(char *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (!s)
        return W_LIT(w, "null");
    *w++ = '"';
    for (unsigned char c;; s++) {
        while (!escaped[(unsigned char)*s])
            *w++ = *s++;
        if (!(c = (unsigned char)*s))
            break;
        *w++ = '\\';
        switch (c) {
        case '\b': *w++ = 'b'; break;
        case '\n': *w++ = 'n'; break;
        case '\r': *w++ = 'r'; break;
        case '\t': *w++ = 't'; break;
        case '\f': *w++ = 'f'; break;
        case '"': case '\\': *w++ = (char)c; break;
        default:
            w = W_LIT(w, "u00");
            *w++ = hex[c >> 4];
            *w++ = hex[c & 0xf];
        }
    }
    *w++ = '"';
    return w;
}

/* The most one decision takes: its strings escaped (6 bytes a byte at
 * most: a group name, "scale_out", a code, "critical", a reason and a lease
 * id), four numbers and the rest, under 200 bytes. */
#define DECISION_MAX                                                                    \
    (6 * (GROUP_NAME_MAX + 9 + sizeof((struct gov_decision *)0)->code + 8 +              \
          sizeof((struct gov_decision *)0)->reason + LEASE_ID_MAX) +                     \
     4 * 24 + 200 + 6 * sizeof((struct gov_decision *)0)->schedule + METRIC_MAX)

/* The "metric" object: eight numbers and a formula of the same numbers. */
#define METRIC_MAX 512

/* Target tracking's numbers (governor.h, gov_decision.metric) as a JSON
 * object, with the formula a dry run shows people: its length. */
static int metric_text(const struct gov_decision *d, char *buf, size_t size)
{
    char f[128];
    if (d->metric.held)
        return snprintf(buf, size, "{\"held\":true,\"target\":%lld}", d->metric.target);
    gov_formula(d, f, sizeof f);
    return snprintf(buf, size,
                    "{\"held\":false,\"value\":%.6g,\"nodes\":%d,\"target\":%lld,"
                    "\"within_tolerance\":%s,\"recommended\":%lld,"
                    "\"scale_out_recommendation\":%lld,\"scale_in_recommendation\":%lld,"
                    "\"samples\":%d,\"formula\":\"%s\"}",
                    d->metric.value, d->metric.nodes, d->metric.target,
                    d->metric.in_tolerance ? "true" : "false", d->metric.recommended,
                    d->metric.out_rec, d->metric.in_rec, d->metric.samples, f);
}

/* One decision, after those before it. */
static void put_decision(struct text *t, const char *group, const struct gov_input *in,
                         const struct gov_decision *d, const char *lease)
{
    const char *action = gov_action_name(d->action), *alert = gov_severity_name(in->alert);
    char *w = room(t, DECISION_MAX);

    if (t->len)
        *w++ = ',';
    w = W_LIT(w, "{\"group\":");
    w = w_str(w, group);
    w = W_LIT(w, ",\"action\":");
    w = w_str(w, action);
    w = W_LIT(w, ",\"code\":");
    w = w_str(w, d->code);
    w = W_LIT(w, ",\"count\":");
    w = w_int(w, d->count);
    w = W_LIT(w, ",\"remove\":");
    w = w_int(w, d->remove);
    w = W_LIT(w, ",\"capacity_before\":");
    w = w_int(w, d->capacity_before);
    w = W_LIT(w, ",\"capacity_after\":");
    w = w_int(w, d->capacity_after);
    w = W_LIT(w, ",\"alert\":");
    w = w_str(w, alert);
    w = W_LIT(w, ",\"reason\":");
    w = w_str(w, d->reason);
    w = W_LIT(w, ",\"lease_id\":");
    w = w_str(w, lease);
    if (d->schedule[0]) {
        w = W_LIT(w, ",\"schedule\":");
        w = w_str(w, d->schedule);
    }
    if (d->metric.used) {
        char m[METRIC_MAX];
        int n = metric_text(d, m, sizeof m);
        w = W_LIT(w, ",\"metric\":");
        w = w_mem(w, m, n > 0 && (size_t)n < sizeof m ? (size_t)n : 0);
    }
    w = W_LIT(w, "}");
    done(t, w);
}

/* ---- the document ---- */

/* {evaluated, acting, dry_run, now, decisions, notices}: the head is known
 * only once every decision is made, so it is written apart and printed
 * first; the notices (history.h) come after the decisions. */
struct doc {
    struct text head, decisions, notices;
};

static int doc_print(struct json_object *o, struct printbuf *pb, int level, int flags)
{
    const struct doc *d = json_object_get_userdata(o);
    const struct text mid = {.p = "],\"notices\":[", .len = 13},
                      end = {.p = "]}", .len = 2};
    const struct text *parts[] = {&d->head, &d->decisions, &mid, &d->notices, &end};
    (void)level, (void)flags;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        for (size_t at = 0; at < parts[i]->len;) { /* printbuf counts in int */
            int n = parts[i]->len - at > INT_MAX / 2 ? INT_MAX / 2
                                                    : (int)(parts[i]->len - at);
            if (printbuf_memappend(pb, parts[i]->p + at, n) < 0)
                return -1;
            at += (size_t)n;
        }
    return 0;
}

static void doc_free(struct json_object *o, void *userdata)
{
    struct doc *d = userdata;
    (void)o;
    free(d->head.p);
    free(d->decisions.p);
    free(d->notices.p);
    free(d);
}

/* *out: takes d. */
static struct json_object *doc_object(struct doc *d, size_t evaluated, long long acting,
                                      bool dry_run, long long now)
{
    char *w = room(&d->head, 160);
    w = W_LIT(w, "{\"evaluated\":");
    w = w_int(w, (long long)evaluated);
    w = W_LIT(w, ",\"acting\":");
    w = w_int(w, acting);
    if (dry_run)
        w = W_LIT(w, ",\"dry_run\":true,\"now\":");
    else
        w = W_LIT(w, ",\"dry_run\":false,\"now\":");
    w = w_int(w, now);
    w = W_LIT(w, ",\"decisions\":[");
    done(&d->head, w);
    struct json_object *o = jx_new_object();
    json_object_set_serializer(o, doc_print, d, doc_free);
    return o;
}

/* ---- deciding ---- */

/* The leases this tick took, to give back if it fails part-way. */
struct taken {
    struct lease_held {
        char group[GROUP_NAME_MAX + 1];
        char id[LEASE_ID_MAX];
    } *v;
    size_t n, cap;
};

struct tick {
    struct ds *ds;
    const struct gov_tick *t;
    long long now, acting;
    struct doc *doc;
    struct taken taken;
};

/* The decision as put_decision prints it, as a tree for history_note. */
static struct json_object *decision_json(const char *group, const struct gov_input *in,
                                         const struct gov_decision *d, const char *lease)
{
    struct json_object *o = jx_new_object();
    jx_add_str(o, "group", group);
    jx_add_str(o, "action", gov_action_name(d->action));
    jx_add_str(o, "code", d->code);
    jx_add_int(o, "count", d->count);
    jx_add_int(o, "remove", d->remove);
    jx_add_int(o, "capacity_before", d->capacity_before);
    jx_add_int(o, "capacity_after", d->capacity_after);
    jx_add_str(o, "alert", gov_severity_name(in->alert));
    jx_add_str(o, "reason", d->reason);
    jx_add_str(o, "lease_id", lease);
    if (d->schedule[0])
        jx_add_str(o, "schedule", d->schedule);
    /* metric_text is the one writer of the metric object: the history's
     * tree parses its text back (only for a decision that is recorded, a
     * change) rather than build the same ten fields a second way. */
    if (d->metric.used) {
        char m[METRIC_MAX];
        int n = metric_text(d, m, sizeof m);
        struct json_object *mo = n > 0 && (size_t)n < sizeof m ? json_tokener_parse(m) : NULL;
        if (mo)
            json_object_object_add(o, "metric", mo);
    }
    return o;
}

/* Acting: keep the decision in the group's history (history.h decides
 * whether it repeats the last) and add what people should hear about to
 * the notices. 0, or -1 with err. */
static int note(struct tick *k, const char *group, const struct gov_input *in,
                const struct gov_decision *d, const char *lease,
                const struct history_mark *last, struct as_error *err)
{
    struct json_object *o = decision_json(group, in, d, lease), *prev = NULL;
    bool recorded = false;
    int rc = last ? history_note_after(k->ds, group, o, last, k->now * 1000, &recorded, &prev,
                                       err)
                  : history_note(k->ds, group, o, k->now * 1000, &recorded, &prev, err);
    if (rc == 0) {
        struct json_object *notices = history_notices(prev, o);
        size_t n = json_object_array_length(notices);
        for (size_t i = 0; i < n; i++) {
            const char *s = json_object_to_json_string_ext(
                json_object_array_get_idx(notices, i),
                JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
            size_t len = strlen(s);
            struct text *t = &k->doc->notices;
            char *w = room(t, len + 1);
            if (t->len)
                *w++ = ',';
            done(t, w_mem(w, s, len));
        }
        json_object_put(notices);
    }
    json_object_put(prev);
    json_object_put(o);
    return rc;
}

/* What an alert's own tick (react) may lease: the decisions that add
 * capacity. A scale_in waits for the sensor's tick, so a recovery never
 * sheds nodes at once. */
static bool reacts(const struct gov_decision *d)
{
    return d->action == GOV_SCALE_OUT || d->action == GOV_REPLACE;
}

/* Tests only, as AUTOSCALE_TEST_NOW: stop between reading the group and
 * claiming its lease, so a test can end another operation in exactly that
 * window (tests/e2e/test_react.c), then let this tick go on (SIGCONT). */
static void test_stop_before_lease(void)
{
    const char *v = getenv("AUTOSCALE_TEST_STOP_BEFORE_LEASE");
    if (v && strcmp(v, "1") == 0)
        raise(SIGSTOP);
}

/* The decision rests on what was read before the claim, and an operation
 * that ended in between is not in it: its workflow writes its scaling
 * event (its nodes, its cooldown) before it releases the lease, so the
 * claim succeeds only after that event, and a fresh read once we hold the
 * lease sees it. So the test is "a scaling event newer than the reading":
 * none, the decision stands (the usual case, and the only one a race among
 * ticks alone can give); one, decide again on the fresh read and keep the
 * lease for nothing (two alerts' ticks, or an alert and the sensor, would
 * otherwise each lease a scale-out from one stale reading). The fresh read
 * leaves every lease record out: we hold the lease, so what the store shows
 * is ours or a losing candidate's (st2's claims), and either would count
 * as an operation in flight or starting now.
 * 1 nothing ended, 0 something did (*fresh: the new decision), -1 error. */
static int confirm(struct tick *k, const char *group, const struct gov_input *read,
                   struct gov_decision *fresh, struct as_error *err)
{
    struct asg_state st;
    struct gov_input in;
    struct gov_sample *samples = NULL;
    if (asg_state_load(k->ds, group, &st, err) < 0)
        return -1;
    json_object_put(st.lease);
    st.lease = NULL;
    int rc = -1;
    if (strcmp(st.spec.status, "active") != 0) {
        memset(fresh, 0, sizeof *fresh);
        fresh->action = GOV_NONE;
        snprintf(fresh->code, sizeof fresh->code, "%s", "deleting");
        snprintf(fresh->reason, sizeof fresh->reason, "%s",
                 "the group's deletion began while this tick took its lease");
        rc = 0;
    } else {
        governor_input_from_state(&st, k->now, &in);
        bool ended = in.last_scale_out_at > read->last_scale_out_at ||
                     in.last_scale_in_at > read->last_scale_in_at ||
                     in.last_replace_at > read->last_replace_at;
        if (!ended)
            rc = 1;
        else if (gov_input_load_extras(k->ds, &in, &samples, err) == 0) {
            governor_decide(&in, fresh);
            rc = 0;
        }
        free(samples);
    }
    asg_state_clear(&st);
    return rc;
}

/* After the claim: keep the lease for the same decision (0), else give it
 * back and take the fresh decision, not acted on (0 too: the group's
 * "none" for this tick, the next decides again). -1 error, the lease given
 * back. */
static int recheck(struct tick *k, const struct gov_input *read, char *lease,
                   struct gov_decision *d, struct as_error *err)
{
    const char *group = read->spec->name;
    struct gov_decision fresh;
    int same = confirm(k, group, read, &fresh, err);
    if (same == 0 && fresh.action == d->action && fresh.count == d->count &&
        fresh.remove == d->remove)
        same = 1; /* decided again, the same: the lease serves it */
    if (same == 1)
        return 0;
    struct json_object *out = NULL;
    struct as_error e = {0};
    if (lease_release(k->ds, group, lease, &out, &e) == 0)
        json_object_put(out); /* else its TTL ends it */
    lease[0] = '\0';
    if (same < 0)
        return -1;
    log_info("group %s: %s %d decided on a reading older than the lease; decided again: "
             "%s (%s)",
             group, gov_action_name(d->action), d->count, gov_action_name(fresh.action),
             fresh.code);
    if (fresh.action != GOV_NONE) { /* the same action, another size: next tick */
        fresh.action = GOV_NONE;
        fresh.count = 0;
        fresh.remove = 0;
        fresh.capacity_after = fresh.capacity_before;
        snprintf(fresh.code, sizeof fresh.code, "%s", "decision_changed");
        snprintf(fresh.reason, sizeof fresh.reason, "%s",
                 "the group changed while this tick took its lease (another operation "
                 "ended): the next tick decides again");
    }
    *d = fresh;
    return 0;
}

/* Decide for one group and, when acting, take the lease and keep the
 * decision (note). A lease another tick (or asg_create's own tick) took
 * between our reading the group and our claim is that group's "none", not a
 * failure of the whole tick. 0, or -1 with err. */
static int decide(struct tick *k, const struct gov_input *in,
                  const struct history_mark *last, struct as_error *err)
{
    const char *group = in->spec->name;
    struct gov_decision d;
    char lease[LEASE_ID_MAX] = "";

    governor_decide(in, &d);
    bool lease_it = d.action != GOV_NONE && k->t->act && (!k->t->react || reacts(&d));
    if (lease_it) {
        test_stop_before_lease();
        int rc = lease_take(k->ds, group, gov_action_name(d.action), d.count, d.reason,
                            k->now, (long)k->t->lease_ttl, lease, err);
        if (rc < 0)
            return -1;
        if (rc == 0 && (rc = recheck(k, in, lease, &d, err)) < 0)
            return -1;
        if (rc == LEASE_TAKEN) {
            d.action = GOV_NONE;
            d.count = 0;
            d.remove = 0;
            d.capacity_after = d.capacity_before;
            snprintf(d.code, sizeof d.code, "%s", "lease_held");
            snprintf(d.reason, sizeof d.reason, "%s",
                     "another operation took the group's lease first: it is in "
                     "flight, so nothing more is decided now");
        }
    }
    if (lease[0]) {
        struct taken *tk = &k->taken;
        tk->v = xgrow(tk->v, tk->n + 1, &tk->cap, sizeof *tk->v);
        snprintf(tk->v[tk->n].group, sizeof tk->v[tk->n].group, "%s", group);
        memcpy(tk->v[tk->n++].id, lease, sizeof lease);
    }
    /* A react tick writes only what it leased: the rest is the sensor's. */
    bool keep = k->t->act && (!k->t->react || lease[0]);
    if (keep && note(k, group, in, &d, lease[0] ? lease : NULL, last, err) < 0)
        return -1;
    put_decision(&k->doc->decisions, group, in, &d, lease[0] ? lease : NULL);
    k->acting += d.action != GOV_NONE;
    return 0;
}

/* A tick that fails part-way prints no decisions, so nobody would dispatch
 * the leases it already took: give them back (best effort; what cannot be
 * released expires with lease_ttl) so the next tick decides those groups
 * again instead of leaving them frozen. */
static void release_taken(struct tick *k)
{
    for (size_t i = 0; i < k->taken.n; i++) {
        struct json_object *out = NULL;
        struct as_error ignored;
        if (lease_release(k->ds, k->taken.v[i].group, k->taken.v[i].id, &out,
                          &ignored) == 0)
            json_object_put(out);
    }
}

/* Groups not "active" are being deleted: the governor keeps its hands off. */
static int tick_one(struct tick *k, size_t *evaluated, struct as_error *err)
{
    struct asg_state st;
    struct gov_input in;
    int rc = 0;

    if (asg_state_load(k->ds, k->t->name, &st, err) < 0)
        return -1;
    if (strcmp(st.spec.status, "active") == 0) {
        struct gov_sample *samples = NULL;
        governor_input_from_state(&st, k->now, &in);
        rc = gov_input_load_extras(k->ds, &in, &samples, err);
        if (rc == 0)
            rc = decide(k, &in, NULL, err);
        free(samples);
    }
    asg_state_clear(&st);
    *evaluated = 1;
    return rc;
}

static int tick_all(struct tick *k, size_t *evaluated, struct as_error *err)
{
    struct gov_groups gs;
    int rc = 0;

    if (gov_groups_load_marked(k->ds, k->now, k->t->act, &gs, err) < 0)
        return -1;
    for (size_t i = 0; i < gs.n && rc == 0 && !as_interrupted(); i++) {
        struct group spec;
        struct gov_input in;
        if (!gs.v[i].spec.active)
            continue;
        gov_group_input(&gs.v[i], &spec, &in);
        rc = decide(k, &in, gs.marks ? &gs.marks[i] : NULL, err);
    }
    *evaluated = gs.n;
    gov_groups_clear(&gs);
    return rc;
}

int gov_tick_run(struct ds *ds, const struct gov_tick *t, long long now,
                 struct json_object **out, struct as_error *err)
{
    struct tick k = {.ds = ds, .t = t, .now = now, .doc = xcalloc(1, sizeof *k.doc)};
    size_t evaluated = 0;

    int rc = t->name ? tick_one(&k, &evaluated, err) : tick_all(&k, &evaluated, err);
    if (rc < 0) {
        release_taken(&k);
        doc_free(NULL, k.doc);
    } else {
        *out = doc_object(k.doc, evaluated, k.acting, !t->act, now);
    }
    free(k.taken.v);
    return rc;
}
