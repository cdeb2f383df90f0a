/* node_pick.c - choose the nodes a scale-in removes and mark them draining
 * (see nodes.h). Nothing here touches a machine, the load balancer (it is
 * only asked for its session counts) or DNS: node_down does that for each
 * node picked.
 *
 * Idempotence per lease: the chosen records remember the lease id
 * (drain_lease), so a retried scale-in gets the same nodes back instead of
 * choosing more; the governor counts draining nodes apart from capacity, so
 * marking them is also what keeps the next decision honest.
 *
 * Scale-in strategies never choose a node protected from scale-in
 * (controls.h). The replace workflow's strategy, unhealthy, chooses the
 * active nodes judged unhealthy (health.h) - protection is from scale-in
 * only, as with AWS's instance protection, and suspend_replace is the
 * control that stops replacement - and only while the group keeps its
 * min_healthy healthy active nodes. */
#include "asg.h"
#include "build_spec.h"
#include "clock.h"
#include "controls.h"
#include "health.h"
#include "jsonx.h"
#include "keys.h"
#include "lb.h"
#include "lease.h"
#include "log.h"
#include "node.h"
#include "nodes.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum strategy { PICK_NEWEST, PICK_OLDEST, PICK_LEAST_LOADED, PICK_UNHEALTHY };
static const char *const strategy_names[] = {"newest", "oldest", "least_loaded", "unhealthy"};
#define NSTRATEGIES (int)(sizeof strategy_names / sizeof strategy_names[0])

static int strategy_of(const char *s)
{
    for (int i = 0; s && i < NSTRATEGIES; i++)
        if (strcmp(s, strategy_names[i]) == 0)
            return i;
    return -1;
}

int node_pick_check(const struct node_pick_req *req, struct as_error *err)
{
    long long at;
    char op[16];
    if (group_check_name(req->group, err) < 0)
        return -1;
    if (req->count < 1 || req->count > NODE_PICK_MAX)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'count' must be between 1 and %d", NODE_PICK_MAX);
    if (strategy_of(req->strategy) < 0)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'strategy' must be newest, oldest, least_loaded or "
                       "unhealthy");
    if (req->lease_id && lease_id_parse(req->lease_id, &at, op, sizeof op, err) < 0)
        return -1;
    return 0;
}

/* ---- candidates ---- */

struct cand {
    struct json_object *rec; /* borrowed from the pool's records */
    const char *name;        /* the key's leaf: the node's name (the same) */
    long long created_at;
    long long sessions;      /* least_loaded only */
    long long since;         /* unhealthy only: when it became unhealthy */
};

static int by_newest(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->created_at != y->created_at)
        return x->created_at > y->created_at ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int by_oldest(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->created_at != y->created_at)
        return x->created_at < y->created_at ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Longest unhealthy first: the node failing longest is the surest dead. */
static int by_since(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->since != y->since)
        return x->since < y->since ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int by_load(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->sessions != y->sessions)
        return x->sessions < y->sessions ? -1 : 1;
    return by_newest(a, b);
}

/* A scale-in takes first the nodes not built from the group's spec as it
 * is now (build_spec.h), keeping the strategy's order within each part:
 * between the batches of a rolling refresh, or after an image change, the
 * old nodes go before the new ones, as AWS terminates instances of an old
 * launch template first. A replacement's order (unhealthy) is left alone. */
static void outdated_first(struct cand *v, size_t n, const char *spec_id)
{
    struct cand *tmp = xcalloc(n ? n : 1, sizeof *tmp);
    size_t k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++)
            if (build_spec_matches(v[i].rec, spec_id) == (pass == 1))
                tmp[k++] = v[i];
    memcpy(v, tmp, n * sizeof *v);
    free(tmp);
}

struct pool {
    struct node_records all; /* owns the names and records */
    struct cand *cands;      /* the active records the strategy may choose */
    size_t n;
    long long active;        /* every active node, candidate or not */
    long long unhealthy;     /* active nodes judged unhealthy */
    struct json_object *reused; /* names already marked for this lease */
    struct json_object *protected_skipped; /* scale-in: active, protected */
    struct json_object *protect, *health;  /* node -> record (controls, health) */
};

static void pool_clear(struct pool *p)
{
    free(p->cands);
    json_object_put(p->reused);
    json_object_put(p->protected_skipped);
    json_object_put(p->protect);
    json_object_put(p->health);
    node_records_clear(&p->all);
    memset(p, 0, sizeof *p);
}

/* The health record of node, when it says unhealthy (else NULL). */
static struct json_object *unhealthy_record(const struct pool *p, const char *node)
{
    struct json_object *h = NULL;
    if (!json_object_object_get_ex(p->health, node, &h) || !h)
        return NULL;
    return health_status_parse(jx_str(h, "status", NULL)) == HEALTH_UNHEALTHY ? h : NULL;
}

/* Whether the active node rec is a candidate of strategy (c filled). */
static bool candidate(struct pool *p, enum strategy strategy, const char *name,
                      struct json_object *rec, struct cand *c)
{
    struct json_object *h = unhealthy_record(p, name);
    p->active++;
    p->unhealthy += h != NULL;
    if (strategy == PICK_UNHEALTHY && !h)
        return false;
    if (strategy != PICK_UNHEALTHY && json_object_object_get_ex(p->protect, name, NULL)) {
        json_object_array_add(p->protected_skipped, jx_new_string(name));
        return false;
    }
    c->rec = rec;
    c->name = name;
    c->created_at = jx_int(rec, "created_at", 0);
    c->since = h ? jx_int(h, "since", 0) : 0;
    return true;
}

static int pool_load(struct ds *ds, const char *group, const char *lease,
                     enum strategy strategy, struct pool *p, struct as_error *err)
{
    char prefix[KEY_MAX];
    memset(p, 0, sizeof *p);
    p->reused = jx_new_array();
    p->protected_skipped = jx_new_array();
    if (controls_load_protected(ds, group, &p->protect, err) < 0 ||
        health_load(ds, group, &p->health, err) < 0 ||
        node_records_load(ds, group, &p->all, err) < 0)
        return -1;
    p->cands = xcalloc(p->all.count + 1, sizeof *p->cands);
    for (size_t i = 0; i < p->all.count; i++) {
        const struct node_entry *e = &p->all.items[i];
        if (!node_entry_ok(e)) {
            log_warn("skipping unreadable node record %s%s", key_node_prefix(prefix, group),
                     e->name);
            continue;
        }
        enum node_state st = e->state;
        if (st == NODE_ACTIVE && candidate(p, strategy, e->name, e->rec, &p->cands[p->n])) {
            p->n++;
            continue;
        }
        if (lease && (st == NODE_DRAINING || st == NODE_DELETING) &&
            strcmp(jx_str(e->rec, "drain_lease", ""), lease) == 0)
            json_object_array_add(p->reused, jx_new_string(e->name));
    }
    return 0;
}

/* least_loaded: each candidate's sessions from the group's load balancer.
 * 0 with sessions filled, or 1 with why it cannot be used in why. */
static int ask_load(struct ds *ds, const struct node_pick_req *req, struct pool *p, char *why,
                    size_t size)
{
    struct lb_ctx lc;
    struct as_error e;
    memset(&e, 0, sizeof e);
    if (lb_ctx_open(&lc, ds, req->group, req->lb, req->allowed, &e) < 0) {
        snprintf(why, size, "the load balancer could not be opened (%.40s: %.300s)", e.code,
                 e.message);
        return 1;
    }
    int rc = 0;
    struct json_object **recs = xcalloc(p->n + 1, sizeof *recs);
    long long *sessions = xcalloc(p->n + 1, sizeof *sessions);
    if (!lc.lb) {
        snprintf(why, size, "the group has no load balancer (lb_provider none)");
        rc = 1;
    } else {
        for (size_t i = 0; i < p->n; i++)
            recs[i] = p->cands[i].rec;
        if (lb_node_sessions(&lc, recs, p->n, sessions, &e) < 0) {
            snprintf(why, size, "the load balancer could not be asked (%.40s: %.300s)", e.code,
                     e.message);
            rc = 1;
        }
        for (size_t i = 0; rc == 0 && i < p->n; i++) {
            if (sessions[i] < 0) {
                snprintf(why, size, "the %s load balancer does not report the sessions "
                         "of node %s", lb_ctx_provider(&lc), p->cands[i].name);
                rc = 1;
            }
            p->cands[i].sessions = sessions[i];
        }
    }
    free(recs);
    free(sessions);
    lb_ctx_close(&lc);
    return rc;
}

static int mark_draining(struct ds *ds, const char *group, struct cand *c, const char *lease,
                         struct as_error *err)
{
    char key[KEY_MAX];
    jx_add_str(c->rec, "state", node_state_name(NODE_DRAINING));
    jx_add_str(c->rec, "drain_lease", lease);
    jx_add_int(c->rec, "updated_at", as_now());
    return ds_put(ds, key_node(key, group, c->name),
                  json_object_to_json_string_ext(c->rec, JSON_C_TO_STRING_PLAIN), 0, err);
}

int node_pick(struct ds *ds, const struct node_pick_req *req, struct json_object **out,
              struct as_error *err)
{
    struct group g;
    struct pool p;
    char why[400] = "";

    if (node_pick_check(req, err) < 0)
        return -1;
    if (asg_load_spec(ds, req->group, &g, err) < 0)
        return -1;
    bool deleting = strcmp(g.status, "active") != 0;
    long long min = g.min;
    long long min_healthy = g.min_healthy >= 0 ? g.min_healthy : g.min;
    char spec_id[BUILD_SPEC_ID_LEN + 1];
    build_spec_id(&g, spec_id);
    group_clear(&g);
    if (deleting)
        return as_fail(err, AS_EXIT_BADINPUT, "group_conflict",
                       "group '%s' is being deleted: the asg_delete workflow removes its "
                       "nodes, not a scale-in", req->group);
    enum strategy used = (enum strategy)strategy_of(req->strategy);
    if (pool_load(ds, req->group, req->lease_id, used, &p, err) < 0) {
        pool_clear(&p);
        return -1;
    }

    long long active_before = p.active;
    long long healthy = p.active - p.unhealthy; /* grace counts as healthy */
    long long reused = (long long)json_object_array_length(p.reused);
    long long want = req->count > reused ? req->count - reused : 0;
    /* Scale-in: never below min active nodes. Replacement: taking an
     * unhealthy node down leaves the healthy count as it is, but while it
     * is under min_healthy the unhealthy ones may still be serving some of
     * the load, so none goes until the new ones are up and healthy. */
    long long allowed = used == PICK_UNHEALTHY ? (healthy >= min_healthy ? (long long)p.n : 0)
                        : active_before > min ? active_before - min
                                              : 0;
    if (allowed > (long long)p.n)
        allowed = (long long)p.n; /* protected nodes are no candidates */
    long long take = want < allowed ? want : allowed;

    if (take > 0 && used == PICK_LEAST_LOADED && ask_load(ds, req, &p, why, sizeof why) != 0) {
        log_warn("least_loaded: %s; choosing the newest nodes instead", why);
        used = PICK_NEWEST;
    }
    int (*order)(const void *, const void *) = used == PICK_NEWEST       ? by_newest
                                               : used == PICK_OLDEST     ? by_oldest
                                               : used == PICK_UNHEALTHY ? by_since
                                                                         : by_load;
    if (p.n > 1)
        qsort(p.cands, p.n, sizeof *p.cands, order);
    if (p.n > 1 && used != PICK_UNHEALTHY)
        outdated_first(p.cands, p.n, spec_id);

    struct json_object *nodes = jx_new_array();
    for (size_t i = 0; i < json_object_array_length(p.reused); i++)
        json_object_array_add(nodes, json_object_get(json_object_array_get_idx(p.reused, i)));
    for (long long i = 0; i < take; i++) {
        if (mark_draining(ds, req->group, &p.cands[i], req->lease_id, err) < 0) {
            as_error_prefix(err, "%lld of %lld chosen node(s) marked draining", i, take);
            json_object_put(nodes);
            pool_clear(&p);
            return -1;
        }
        log_info("node %s: draining (%s, %s)", p.cands[i].name,
                 used == PICK_UNHEALTHY ? "replacement" : "scale-in", strategy_names[used]);
        json_object_array_add(nodes, jx_new_string(p.cands[i].name));
    }

    *out = jx_new_object();
    jx_add_str(*out, "group", req->group);
    jx_add_int(*out, "requested", req->count);
    jx_add_str(*out, "strategy", req->strategy);
    jx_add_str(*out, "strategy_used", take > 0 ? strategy_names[used] : req->strategy);
    json_object_object_add(*out, "nodes", nodes);
    jx_add_int(*out, "active_before", active_before);
    jx_add_int(*out, "min", min);
    jx_add_str(*out, "lease_id", req->lease_id);
    json_object_object_add(*out, "reused", json_object_get(p.reused));
    jx_add_bool(*out, "capped", take < want);
    if (used == PICK_UNHEALTHY) {
        jx_add_int(*out, "healthy", healthy);
        jx_add_int(*out, "unhealthy", p.unhealthy);
        jx_add_int(*out, "min_healthy", min_healthy);
    } else {
        json_object_object_add(*out, "protected", json_object_get(p.protected_skipped));
    }
    if (why[0])
        jx_add_str(*out, "fallback_reason", why);
    if (take > 0 && used == PICK_LEAST_LOADED) {
        struct json_object *s = jx_new_object();
        for (size_t i = 0; i < p.n; i++)
            jx_add_int(s, p.cands[i].name, p.cands[i].sessions);
        json_object_object_add(*out, "sessions", s);
    }
    pool_clear(&p);
    return 0;
}
