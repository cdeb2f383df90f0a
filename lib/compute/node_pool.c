/* node_pool.c - see node_pool.h. */
#include "node_pool.h"
#include "asg.h"
#include "build_spec.h"
#include "claim.h"
#include "clock.h"
#include "group.h"
#include "jsonx.h"
#include "keys.h"
#include "lease.h"
#include "log.h"
#include "node.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- pool_plan ---- */

/* One pool node a plan looked at: its record (owned) and the times it is
 * ordered by. */
struct pnode {
    const char *name; /* borrowed from the view's records */
    long long created;
    struct json_object *rec;
};

/* A group's pool as its node records show it. Up to date: built from the
 * group's spec as it is now (build_spec.h); a warm node built from another
 * (a rolling refresh replaced the active nodes, asg_refresh skips the
 * pool) would hand a scale-out the old image, so it is no pool node. */
struct pview {
    struct node_records all;
    struct pnode *fresh, *old, *removing; /* warm up to date, warm outdated,
                                             marked for removal before */
    size_t nfresh, nold, nremoving;
    long long warming;
};

static void pview_clear(struct pview *v)
{
    struct pnode *sets[] = {v->fresh, v->old, v->removing};
    size_t ns[] = {v->nfresh, v->nold, v->nremoving};
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < ns[k]; i++)
            json_object_put(sets[k][i].rec);
        free(sets[k]);
    }
    node_records_clear(&v->all);
    memset(v, 0, sizeof *v);
}

/* Newest first: the last one built is the one least waited for, so the
 * pool keeps the nodes that have been ready longest, as AWS's warm pool
 * scales in its newest instances first. */
static int by_newest_pnode(const void *a, const void *b)
{
    const struct pnode *x = a, *y = b;
    if (x->created != y->created)
        return x->created > y->created ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int pview_load(struct ds *ds, const char *group, const char *spec_id, struct pview *v,
                      struct as_error *err)
{
    memset(v, 0, sizeof *v);
    if (node_records_load(ds, group, &v->all, err) < 0)
        return -1;
    size_t n = v->all.count + 1;
    v->fresh = xcalloc(n, sizeof *v->fresh);
    v->old = xcalloc(n, sizeof *v->old);
    v->removing = xcalloc(n, sizeof *v->removing);
    for (size_t i = 0; i < v->all.count; i++) {
        const struct node_entry *e = &v->all.items[i];
        if (!node_entry_ok(e))
            continue;
        struct json_object *rec = e->rec;
        /* A set takes its own reference: pview_clear puts it. */
        struct pnode pn = {e->name, jx_int(rec, "created_at", 0), rec};
        if (e->state == NODE_WARMING) {
            v->warming++;
        } else if (e->state == NODE_WARM) {
            pn.rec = json_object_get(rec);
            if (build_spec_matches(rec, spec_id))
                v->fresh[v->nfresh++] = pn;
            else
                v->old[v->nold++] = pn;
        } else if (e->state == NODE_DRAINING && jx_bool(rec, "pool_remove", false)) {
            pn.rec = json_object_get(rec);
            v->removing[v->nremoving++] = pn;
        }
    }
    qsort(v->fresh, v->nfresh, sizeof *v->fresh, by_newest_pnode);
    qsort(v->old, v->nold, sizeof *v->old, by_newest_pnode);
    return 0;
}

/* Out of the pool for good: "draining" (node.h's leaving state) with
 * pool_remove, so that pool_take (warm nodes only) never hands it out and
 * the next plan counts it as being removed, not as surplus again. */
static int mark_removing(struct ds *ds, const char *group, struct pnode *pn, const char *why,
                         struct as_error *err)
{
    char key[KEY_MAX];
    jx_add_str(pn->rec, "state", node_state_name(NODE_DRAINING));
    jx_add_bool(pn->rec, "pool_remove", true);
    jx_add_str(pn->rec, "drain_reason", why);
    jx_add_int(pn->rec, "updated_at", as_now());
    return ds_put(ds, key_node(key, group, pn->name),
                  json_object_to_json_string_ext(pn->rec, JSON_C_TO_STRING_PLAIN), 0, err);
}

/* The plan of one group from its spec and view; with cl (the pool's claim
 * held), the nodes newly chosen for removal are marked. */
static int plan_group(struct ds *ds, const struct group *g, struct pview *v,
                      const struct claim *cl, struct json_object **out, struct as_error *err)
{
    bool active = strcmp(g->status, "active") == 0;
    long long want = g->warm_pool > 0 ? g->warm_pool : 0;
    long long have = (long long)v->nfresh + v->warming;
    long long need = want > have ? want - have : 0;
    long long extra = have > want ? have - want : 0;
    if (!active || g->suspend_scale_out == 1)
        need = 0;
    struct json_object *remove = jx_new_array();
    /* Outdated ones all go, then the newest up-to-date ones beyond
     * warm_pool. Warming ones are left to be parked first: their node_up
     * is still running, and a later plan removes them once warm. A group
     * being deleted: asg_delete takes every node down itself. */
    for (size_t i = 0; active && i < v->nremoving; i++)
        json_object_array_add(remove, jx_new_string(v->removing[i].name));
    for (size_t k = 0; active && k < v->nold + v->nfresh; k++) {
        bool outdated = k < v->nold;
        struct pnode *pn = outdated ? &v->old[k] : &v->fresh[k - v->nold];
        if (!outdated && (long long)(k - v->nold) >= extra)
            break;
        if (cl && (claim_check(cl, err) < 0 ||
                   mark_removing(ds, g->name, pn, outdated ? "outdated" : "surplus", err) < 0)) {
            json_object_put(remove);
            return -1;
        }
        if (cl)
            log_info("node %s: leaving the warm pool (%s)", pn->name,
                     outdated ? "built from an older spec" : "beyond warm_pool");
        json_object_array_add(remove, jx_new_string(pn->name));
    }
    *out = jx_new_object();
    jx_add_str(*out, "group", g->name);
    jx_add_int(*out, "warm_pool", want);
    jx_add_int(*out, "warm", (long long)v->nfresh);
    jx_add_int(*out, "warming", v->warming);
    jx_add_int(*out, "outdated", (long long)v->nold);
    jx_add_int(*out, "need", need);
    jx_add_int(*out, "surplus", extra + (long long)v->nold);
    json_object_object_add(*out, "remove", remove);
    jx_add_bool(*out, "marked", cl != NULL);
    return 0;
}

static int plan_one(struct ds *ds, const char *group, bool mark, struct json_object **out,
                    struct as_error *err)
{
    struct group g;
    struct pview v;
    struct claim cl;
    char spec_id[BUILD_SPEC_ID_LEN + 1], base[KEY_MAX], holder[64];
    if (asg_load_spec(ds, group, &g, err) < 0)
        return -1;
    build_spec_id(&g, spec_id);
    int rc = 0;
    bool held = false;
    if (mark) {
        /* pool_take's claim: nothing is taken while the plan chooses, and
         * two plans never choose the same surplus twice. */
        snprintf(holder, sizeof holder, "pool_plan-%d", (int)getpid());
        rc = claim_take(ds, key_pool_lock(base, group), holder, CLAIM_TTL, CLAIM_WAIT,
                        POOL_LOCK_WAIT_MS, &cl, err);
        if (rc == CLAIM_TAKEN)
            rc = as_fail(err, AS_EXIT_FAILURE, "pool_busy",
                         "the warm pool of group %s stayed busy for %d ms", group,
                         POOL_LOCK_WAIT_MS);
        held = rc == CLAIM_WON;
    }
    if (rc == 0) {
        rc = pview_load(ds, group, spec_id, &v, err);
        if (rc == 0)
            rc = plan_group(ds, &g, &v, mark ? &cl : NULL, out, err);
        pview_clear(&v);
    }
    if (held)
        claim_drop(ds, &cl);
    group_clear(&g);
    return rc < 0 ? -1 : 0;
}

int pool_plan(struct ds *ds, const char *group, bool mark, struct json_object **out,
              struct as_error *err)
{
    if (group)
        return group_check_name(group, err) < 0 ? -1 : plan_one(ds, group, mark, out, err);
    if (mark)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'mark' needs a group name: each pool_fill marks its own");
    struct asg_state *all = NULL;
    size_t n = 0;
    if (asg_state_load_all(ds, &all, &n, err) < 0)
        return -1;
    struct json_object *groups = jx_new_array();
    long long need = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        long long c[NODE_UNKNOWN + 1];
        asg_state_node_counts(&all[i], c);
        if (all[i].spec.warm_pool <= 0 && c[NODE_WARM] == 0 && c[NODE_WARMING] == 0 &&
            c[NODE_DRAINING] == 0)
            continue;
        /* Only these groups' records are read: whether a warm node is up
         * to date needs its record, not a count. */
        struct json_object *p = NULL;
        struct pview v;
        char spec_id[BUILD_SPEC_ID_LEN + 1];
        build_spec_id(&all[i].spec, spec_id);
        rc = pview_load(ds, all[i].spec.name, spec_id, &v, err);
        if (rc == 0)
            rc = plan_group(ds, &all[i].spec, &v, NULL, &p, err);
        pview_clear(&v);
        if (rc < 0)
            break;
        if (jx_int(p, "warm_pool", 0) == 0 && jx_int(p, "warm", 0) == 0 &&
            jx_int(p, "warming", 0) == 0 && jx_int(p, "outdated", 0) == 0 &&
            json_object_array_length(jx_arr(p, "remove")) == 0) {
            json_object_put(p);
            continue;
        }
        need += jx_int(p, "need", 0);
        json_object_array_add(groups, p);
    }
    asg_state_free_all(all, n);
    if (rc < 0) {
        json_object_put(groups);
        return -1;
    }
    *out = jx_new_object();
    json_object_object_add(*out, "groups", groups);
    jx_add_int(*out, "need", need);
    return 0;
}

/* ---- pool_take ---- */

int pool_take_check(const char *group, long long count, const char *lease_id,
                    struct as_error *err)
{
    long long at;
    char op[16];
    if (group_check_name(group, err) < 0)
        return -1;
    if (count < 1 || count > POOL_TAKE_MAX)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'count' must be between 1 and %d", POOL_TAKE_MAX);
    if (!lease_id)
        return as_fail(err, AS_EXIT_BADINPUT, "missing_parameter",
                       "parameter 'lease_id' is required: a retry returns what it took");
    return lease_id_parse(lease_id, &at, op, sizeof op, err);
}

struct warm {
    const char *name; /* borrowed from the pool's records */
    long long since;
    struct json_object *rec;
};

static int by_parked(const void *a, const void *b)
{
    const struct warm *x = a, *y = b;
    if (x->since != y->since)
        return x->since < y->since ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* The group's node records: the names already taken with lease into
 * reused, the warm ones built from spec_id (the group's spec now) into *w
 * (*nw of them, owning their records). An outdated warm node is never
 * handed out: the scale-out builds a fresh node cold instead, and the next
 * pool_fill replaces it (pool_plan lists it in remove). */
static void sort_pool(const struct node_records *all, const char *lease, const char *spec_id,
                      struct json_object *reused, struct warm **w, size_t *nw)
{
    *w = xcalloc(all->count + 1, sizeof **w);
    *nw = 0;
    for (size_t i = 0; i < all->count; i++) {
        const struct node_entry *e = &all->items[i];
        if (!node_entry_ok(e))
            continue;
        struct json_object *rec = e->rec;
        if (strcmp(jx_str(rec, "take_lease", ""), lease) == 0) {
            json_object_array_add(reused, jx_new_string(e->name));
        } else if (e->state == NODE_WARM && jx_str(rec, "provider_id", NULL) &&
                   build_spec_matches(rec, spec_id)) {
            long long parked = jx_int(rec, "parked_at", 0);
            (*w)[(*nw)++] = (struct warm){e->name,
                                          parked ? parked : jx_int(rec, "created_at", 0),
                                          json_object_get(rec)};
        }
    }
    qsort(*w, *nw, sizeof **w, by_parked);
}

static int mark_taken(struct ds *ds, const char *group, struct warm *w, const char *lease,
                      struct as_error *err)
{
    char key[KEY_MAX];
    long long now = as_now();
    jx_add_str(w->rec, "state", node_state_name(NODE_BUILDING));
    jx_add_str(w->rec, "take_lease", lease);
    jx_add_int(w->rec, "taken_at", now);
    jx_add_int(w->rec, "updated_at", now);
    return ds_put(ds, key_node(key, group, w->name),
                  json_object_to_json_string_ext(w->rec, JSON_C_TO_STRING_PLAIN), 0, err);
}

/* With the pool's claim held: list, choose, mark. */
static int take_locked(struct ds *ds, const char *group, long long count, const char *lease,
                       const char *spec_id, const struct claim *cl, struct json_object *nodes,
                       struct json_object *reused, struct as_error *err)
{
    struct node_records all;
    if (node_records_load(ds, group, &all, err) < 0)
        return -1;
    struct warm *w;
    size_t nw, i;
    sort_pool(&all, lease, spec_id, reused, &w, &nw);
    for (i = 0; i < json_object_array_length(reused); i++)
        json_object_array_add(nodes, json_object_get(json_object_array_get_idx(reused, i)));
    int rc = 0;
    long long more = count - (long long)json_object_array_length(reused);
    for (i = 0; rc == 0 && (long long)i < more && i < nw; i++) {
        /* Past its TTL another may hold the claim: write nothing then. */
        if ((rc = claim_check(cl, err)) == 0 &&
            (rc = mark_taken(ds, group, &w[i], lease, err)) == 0) {
            log_info("node %s: taken from the warm pool (lease %s)", w[i].name, lease);
            json_object_array_add(nodes, jx_new_string(w[i].name));
        }
    }
    for (i = 0; i < nw; i++)
        json_object_put(w[i].rec);
    free(w);
    node_records_clear(&all);
    return rc;
}

int pool_take(struct ds *ds, const char *group, long long count, const char *lease_id,
              struct json_object **out, struct as_error *err)
{
    struct group g;
    if (pool_take_check(group, count, lease_id, err) < 0 ||
        asg_load_spec(ds, group, &g, err) < 0)
        return -1;
    bool deleting = strcmp(g.status, "active") != 0;
    char spec_id[BUILD_SPEC_ID_LEN + 1];
    build_spec_id(&g, spec_id);
    group_clear(&g);
    struct json_object *nodes = jx_new_array(), *reused = jx_new_array();
    if (!deleting) {
        char base[KEY_MAX];
        struct claim cl;
        int rc = claim_take(ds, key_pool_lock(base, group), lease_id, CLAIM_TTL, CLAIM_WAIT,
                            POOL_LOCK_WAIT_MS, &cl, err);
        if (rc == CLAIM_TAKEN)
            rc = as_fail(err, AS_EXIT_FAILURE, "pool_busy",
                         "the warm pool of group %s stayed busy for %d ms", group,
                         POOL_LOCK_WAIT_MS);
        if (rc == 0) {
            rc = take_locked(ds, group, count, lease_id, spec_id, &cl, nodes, reused, err);
            claim_drop(ds, &cl);
        }
        if (rc < 0) {
            json_object_put(nodes);
            json_object_put(reused);
            return -1;
        }
    }
    *out = jx_new_object();
    jx_add_str(*out, "group", group);
    jx_add_str(*out, "lease_id", lease_id);
    jx_add_int(*out, "requested", count);
    jx_add_int(*out, "taken", (long long)json_object_array_length(nodes));
    json_object_object_add(*out, "nodes", nodes);
    json_object_object_add(*out, "reused", reused);
    return 0;
}
