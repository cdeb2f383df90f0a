/* node_pool.c - see node_pool.h. */
#include "node_pool.h"
#include "asg.h"
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

/* ---- pool_plan ---- */

static struct json_object *plan_of(const struct asg_state *st)
{
    long long c[NODE_UNKNOWN + 1];
    asg_state_node_counts(st, c);
    const struct group *g = &st->spec;
    long long want = g->warm_pool > 0 ? g->warm_pool : 0;
    long long have = c[NODE_WARM] + c[NODE_WARMING], need = want - have;
    if (need < 0 || strcmp(g->status, "active") != 0 || g->suspend_scale_out == 1)
        need = 0;
    struct json_object *o = jx_new_object();
    jx_add_str(o, "group", g->name);
    jx_add_int(o, "warm_pool", want);
    jx_add_int(o, "warm", c[NODE_WARM]);
    jx_add_int(o, "warming", c[NODE_WARMING]);
    jx_add_int(o, "need", need);
    jx_add_int(o, "surplus", have > want ? have - want : 0); /* warm_pool lowered */
    return o;
}

int pool_plan(struct ds *ds, const char *group, struct json_object **out,
              struct as_error *err)
{
    if (group) {
        struct asg_state st;
        if (group_check_name(group, err) < 0 || asg_state_load(ds, group, &st, err) < 0)
            return -1;
        *out = plan_of(&st);
        asg_state_clear(&st);
        return 0;
    }
    struct asg_state *all = NULL;
    size_t n = 0;
    if (asg_state_load_all(ds, &all, &n, err) < 0)
        return -1;
    struct json_object *groups = jx_new_array();
    long long need = 0;
    for (size_t i = 0; i < n; i++) {
        struct json_object *p = plan_of(&all[i]);
        if (jx_int(p, "warm_pool", 0) == 0 && jx_int(p, "warm", 0) == 0 &&
            jx_int(p, "warming", 0) == 0) {
            json_object_put(p);
            continue;
        }
        need += jx_int(p, "need", 0);
        json_object_array_add(groups, p);
    }
    asg_state_free_all(all, n);
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
    const char *name; /* into the list's arena */
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
 * reused, the warm ones into *w (*nw of them, owning their records). */
static void sort_pool(const struct ds_list *l, const char *lease, struct json_object *reused,
                      struct warm **w, size_t *nw)
{
    *w = xcalloc(l->count + 1, sizeof **w);
    *nw = 0;
    for (size_t i = 0; i < l->count; i++) {
        const char *name = key_leaf(l->items[i].name);
        struct json_object *rec = jx_parse_record(l->items[i].value);
        if (!rec || node_check_name(name, NULL) < 0) {
            json_object_put(rec);
            continue;
        }
        if (strcmp(jx_str(rec, "take_lease", ""), lease) == 0) {
            json_object_array_add(reused, jx_new_string(name));
        } else if (node_record_state(rec) == NODE_WARM && jx_str(rec, "provider_id", NULL)) {
            long long parked = jx_int(rec, "parked_at", 0);
            (*w)[(*nw)++] = (struct warm){name, parked ? parked : jx_int(rec, "created_at", 0),
                                          json_object_get(rec)};
        }
        json_object_put(rec);
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
                       const struct claim *cl, struct json_object *nodes,
                       struct json_object *reused, struct as_error *err)
{
    char prefix[KEY_MAX];
    struct ds_list l;
    memset(&l, 0, sizeof l);
    if (ds_list(ds, key_node_prefix(prefix, group), &l, err) < 0)
        return -1;
    struct warm *w;
    size_t nw, i;
    sort_pool(&l, lease, reused, &w, &nw);
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
    ds_list_clear(&l);
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
            rc = take_locked(ds, group, count, lease_id, &cl, nodes, reused, err);
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
