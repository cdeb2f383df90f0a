/* refresh_step.c - what the refresh_step action does: take the group's
 * lease and plan the next batch (the nodes to add and to take down), or
 * answer that the refresh is done, paused at a checkpoint, failed, or must
 * wait for another operation. A retried step answers the batch in flight
 * again, so a node is never replaced twice. */
#include "refresh_int.h"

#include "build_spec.h"
#include "group.h"
#include "jsonx.h"
#include "lease.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

static struct json_object *step_out(const char *what, struct json_object *rec, long long add,
                                    struct json_object *remove, const char *lease_id)
{
    struct json_object *o = jx_new_object();
    jx_add_str(o, "do", what);
    jx_add_int(o, "add", add);
    json_object_object_add(o, "remove", remove ? json_object_get(remove) : jx_new_array());
    jx_add_str(o, "lease_id", lease_id);
    jx_add_str(o, "state", jx_str(rec, "state", ""));
    jx_add_int(o, "replaced", jx_int(rec, "replaced", 0));
    jx_add_int(o, "to_replace", jx_int(rec, "to_replace", 0));
    jx_add_str(o, "refresh_id", jx_str(rec, "id", ""));
    return o;
}

/* A checkpoint reached at this progress: pause there, once. */
static bool checkpoint_due(struct json_object *rec)
{
    struct json_object *next = NULL;
    long long to = jx_int(rec, "to_replace", 0), done = jx_int(rec, "replaced", 0);
    if (!refresh_state_is(rec, "running") || to <= 0 ||
        !json_object_object_get_ex(rec, "next_checkpoint", &next) ||
        !json_object_is_type(next, json_type_int))
        return false;
    long long pct = done * 100 / to;
    if (pct < json_object_get_int64(next))
        return false;
    struct json_object *cps = jx_arr(rec, "checkpoints"), *after = NULL;
    for (size_t i = 0; cps && i < json_object_array_length(cps) && !after; i++)
        if (json_object_get_int64(json_object_array_get_idx(cps, i)) > pct)
            after = json_object_array_get_idx(cps, i);
    json_object_object_add(rec, "next_checkpoint", after ? json_object_get(after) : NULL);
    return true;
}

/* Under the lease: decide and write. 0 with *what set ("batch" keeps the
 * lease, with *remove the nodes it takes down), or -1. */
static int step_locked(struct ds *ds, const struct group *g, struct json_object *rec,
                       const char *lid, long long now, const char **what,
                       struct json_object **remove, struct as_error *err)
{
    char cur[BUILD_SPEC_ID_LEN + 1], msg[160];
    const char *target = jx_str(rec, "target", "");
    struct json_object *left = NULL;
    long long capacity;
    build_spec_id(g, cur);
    if (strcmp(cur, target) != 0) {
        snprintf(msg, sizeof msg,
                 "the group's spec changed during the refresh (now %s, target %s)", cur,
                 target);
        refresh_finish(rec, "failed", msg, now);
        *what = "failed";
        return refresh_save(ds, g->name, rec, now, err);
    }
    if (refresh_remaining(ds, g->name, target, &left, &capacity, err) < 0)
        return -1;
    size_t n = json_object_array_length(left);
    if (n == 0) {
        bool back = refresh_state_is(rec, "rolling_back");
        refresh_finish(rec, back ? "rolled_back" : "succeeded",
                       back ? "every node is back on the previous spec"
                            : "every node is built from the target spec",
                       now);
        *what = "done";
    } else if (checkpoint_due(rec)) {
        jx_add_str(rec, "state", "paused");
        snprintf(msg, sizeof msg, "paused at %lld%% (a checkpoint): refresh_start resumes",
                 jx_int(rec, "replaced", 0) * 100 / jx_int(rec, "to_replace", 1));
        jx_add_str(rec, "reason", msg);
        *what = "paused";
    } else {
        long long k = jx_int(rec, "batch", 1);
        if (k < 1)
            k = 1;
        if ((size_t)k > n)
            k = (long long)n;
        *remove = jx_new_array();
        for (long long i = 0; i < k; i++)
            json_object_array_add(*remove,
                                  json_object_get(json_object_array_get_idx(left, (size_t)i)));
        jx_add_str(rec, "lease_id", lid);
        jx_add_int(rec, "batch_add", k);
        json_object_object_add(rec, "batch_remove", json_object_get(*remove));
        *what = "batch";
    }
    json_object_put(left);
    return refresh_save(ds, g->name, rec, now, err);
}

static int step_take(struct ds *ds, const struct group *g, const char *id, long long now,
                     struct json_object **out, struct as_error *err)
{
    char lid[LEASE_ID_MAX], reason[96];
    struct json_object *rec = NULL, *remove = NULL, *rel = NULL;
    const char *what = NULL;
    snprintf(reason, sizeof reason, "refresh %s", id);
    int rc = lease_take(ds, g->name, "refresh", 0, reason, now, REFRESH_LEASE_TTL, lid, err);
    if (rc < 0)
        return -1;
    if (rc == LEASE_TAKEN) {
        if (refresh_load_current(ds, g->name, id, &rec, err) < 0)
            return -1;
        *out = step_out("wait", rec, 0, NULL, NULL);
        json_object_put(rec);
        return 0;
    }
    /* Read again under the lease: a cancel may have come in between. */
    rc = refresh_load_current(ds, g->name, id, &rec, err);
    if (rc == 0 &&
        !(refresh_state_is(rec, "running") || refresh_state_is(rec, "rolling_back")))
        what = refresh_state_is(rec, "paused") ? "paused"
               : refresh_state_is(rec, "succeeded") || refresh_state_is(rec, "rolled_back")
                   ? "done"
                   : "failed";
    else if (rc == 0)
        rc = step_locked(ds, g, rec, lid, now, &what, &remove, err);
    if (rc < 0 || strcmp(what, "batch") != 0) {
        struct as_error rerr;
        memset(&rerr, 0, sizeof rerr);
        if (lease_release(ds, g->name, lid, &rel, &rerr) < 0)
            log_warn("group %s: the step's lease stays until its TTL (%s)", g->name,
                     rerr.message);
        json_object_put(rel);
    }
    if (rc == 0) {
        *out = step_out(what, rec, strcmp(what, "batch") ? 0 : jx_int(rec, "batch_add", 0),
                        remove, strcmp(what, "batch") ? NULL : lid);
        log_info("group %s: refresh %s: %s", g->name, id, what);
    }
    json_object_put(remove);
    json_object_put(rec);
    return rc;
}

int refresh_step(struct ds *ds, const char *group, const char *id, long long now,
                 struct json_object **out, struct as_error *err)
{
    struct group g;
    struct json_object *rec = NULL;
    bool held = false;
    int rc;
    if (group_check_name(group, err) < 0 || refresh_check_id(id, err) < 0 ||
        refresh_load_group(ds, group, &g, err) < 0)
        return -1;
    if (refresh_load_current(ds, group, id, &rec, err) < 0) {
        group_clear(&g);
        return -1;
    }
    if (refresh_state_is(rec, "running") || refresh_state_is(rec, "rolling_back")) {
        rc = refresh_batch_lease_held(ds, group, rec, &held, err);
        if (rc == 0 && held) /* a retried step: the same batch again */
            *out = step_out("batch", rec, jx_int(rec, "batch_add", 0),
                            jx_arr(rec, "batch_remove"), jx_str(rec, "lease_id", NULL));
        else if (rc == 0)
            rc = step_take(ds, &g, id, now, out, err);
    } else {
        rc = 0;
        *out = step_out(refresh_state_is(rec, "paused") ? "paused"
                        : refresh_state_is(rec, "succeeded") ||
                                refresh_state_is(rec, "rolled_back")
                            ? "done"
                            : "failed",
                        rec, 0, NULL, NULL);
    }
    json_object_put(rec);
    group_clear(&g);
    return rc;
}
