/* refresh_batch.c - what the refresh_batch_done action does: record the
 * end of a batch (which new nodes came up healthy), decide whether the
 * refresh continues, rolls back or stops, and end the batch's operation
 * (the event, the lease released). A retry with the same lease answers the
 * same decision and writes nothing new. */
#include "refresh_int.h"

#include "build_spec.h"
#include "group.h"
#include "jsonx.h"
#include "lease.h"

#include <stdio.h>
#include <string.h>

static bool in_array(struct json_object *a, const char *s)
{
    for (size_t i = 0; i < json_object_array_length(a); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(a, i)), s) == 0)
            return true;
    return false;
}

int refresh_report_check(const struct refresh_report *r, struct as_error *err)
{
    long long at;
    char op[16];
    struct json_object *a = NULL, *h = NULL, *d = NULL;
    if (group_check_name(r->group, err) < 0 || refresh_check_id(r->refresh_id, err) < 0 ||
        lease_id_parse(r->lease_id, &at, op, sizeof op, err) < 0)
        return -1;
    if (strcmp(op, "refresh") != 0)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "lease_id must be the lease refresh_step answered");
    int rc = refresh_parse_nodes(r->added, "added", &a, err) < 0 ||
                     refresh_parse_nodes(r->healthy, "healthy", &h, err) < 0 ||
                     refresh_parse_nodes(r->removed, "removed", &d, err) < 0
                 ? -1
                 : 0;
    json_object_put(a);
    json_object_put(h);
    json_object_put(d);
    return rc;
}

static struct json_object *done_out(struct json_object *rec, const char *do_next)
{
    struct json_object *o = jx_new_object();
    jx_add_str(o, "state", jx_str(rec, "state", ""));
    jx_add_str(o, "do_next", do_next);
    jx_add_int(o, "replaced", jx_int(rec, "replaced", 0));
    jx_add_int(o, "to_replace", jx_int(rec, "to_replace", 0));
    jx_add_str(o, "refresh_id", jx_str(rec, "id", ""));
    return o;
}

/* A failed batch: roll back when asked and possible, else stop. Returns
 * the do_next word. */
static const char *on_failure(struct ds *ds, struct group *g, struct json_object *rec,
                              struct json_object *added, const char *why, long long now,
                              struct as_error *err, int *rc)
{
    struct json_object *prev = jx_obj(rec, "previous");
    char msg[256], target[BUILD_SPEC_ID_LEN + 1];
    *rc = 0;
    if (strcmp(jx_str(rec, "on_failure", "rollback"), "rollback") != 0 ||
        refresh_state_is(rec, "rolling_back") || !prev) {
        snprintf(msg, sizeof msg, "%s%s", why,
                 refresh_state_is(rec, "rolling_back") ? " (while rolling back)"
                 : !prev && strcmp(jx_str(rec, "on_failure", ""), "rollback") == 0
                     ? " (nothing recorded to roll back to)"
                     : "");
        refresh_finish(rec, "failed", msg, now);
        return "stop";
    }
    /* "" clears a field the previous spec did not set. */
    const char *img = jx_str(prev, "image", ""), *fl = jx_str(prev, "flavor", ""),
               *rl = jx_str(prev, "run_list", "");
    if (refresh_spec_set(ds, g->name, img, fl, rl, g, err) < 0) {
        *rc = -1;
        return NULL;
    }
    struct json_object *left = NULL;
    long long capacity, n = 0;
    build_spec_id(g, target);
    if (strcmp(target, jx_str(rec, "target", "")) == 0) {
        /* The previous image, flavor and run list are the target's: rolling
         * "back" would only carry on forward. */
        snprintf(msg, sizeof msg, "%s (the previous spec is the target: nothing to roll "
                                  "back to)", why);
        refresh_finish(rec, "failed", msg, now);
        return "stop";
    }
    if (refresh_remaining(ds, g->name, target, &left, &capacity, err) < 0) {
        *rc = -1;
        return NULL;
    }
    for (size_t i = 0; i < json_object_array_length(left); i++)
        n += !in_array(added, json_object_get_string(json_object_array_get_idx(left, i)));
    json_object_put(left);
    snprintf(msg, sizeof msg, "rolling back: %s", why);
    jx_add_str(rec, "state", "rolling_back");
    jx_add_str(rec, "reason", msg);
    jx_add_str(rec, "target", target);
    jx_add_int(rec, "replaced", 0);
    jx_add_int(rec, "to_replace", n);
    return "rollback";
}

/* Decide the batch: the record updated, *do_next set. */
static int judge_batch(struct ds *ds, struct group *g, struct json_object *rec,
                       struct json_object *added, struct json_object *healthy,
                       struct json_object *removed, long long now, const char **do_next,
                       struct as_error *err)
{
    long long asked = jx_int(rec, "batch_add", 0);
    size_t n = json_object_array_length(added);
    struct json_object *failed = jx_arr(rec, "failed_nodes");
    char why[192] = "";
    if (!failed) {
        failed = jx_new_array();
        json_object_object_add(rec, "failed_nodes", failed);
    }
    for (size_t i = 0; i < n; i++) {
        const char *node = json_object_get_string(json_object_array_get_idx(added, i));
        if (!in_array(healthy, node)) {
            json_object_array_add(failed, jx_new_string(node));
            if (!*why)
                snprintf(why, sizeof why, "new node %s came up but is not healthy", node);
        }
    }
    if (!*why && (long long)n < asked)
        snprintf(why, sizeof why, "%zu of %lld new nodes came up", n, asked);
    if (!*why) {
        jx_add_int(rec, "replaced",
                   jx_int(rec, "replaced", 0) + (long long)json_object_array_length(removed));
        *do_next = "continue";
        return 0;
    }
    int rc;
    *do_next = on_failure(ds, g, rec, added, why, now, err, &rc);
    return rc;
}

int refresh_batch_done(struct ds *ds, const struct refresh_report *r, long long now,
                       struct json_object **out, struct as_error *err)
{
    struct group g;
    struct json_object *rec = NULL, *added = NULL, *healthy = NULL, *removed = NULL, *ev = NULL;
    const char *do_next = NULL;
    bool held = false, retry;
    int rc = -1;
    if (refresh_report_check(r, err) < 0 || refresh_load_group(ds, r->group, &g, err) < 0)
        return -1;
    refresh_parse_nodes(r->added, "added", &added, NULL);
    refresh_parse_nodes(r->healthy, "healthy", &healthy, NULL);
    refresh_parse_nodes(r->removed, "removed", &removed, NULL);
    if (refresh_load_current(ds, r->group, r->refresh_id, &rec, err) < 0)
        goto out;
    retry = strcmp(jx_str(rec, "last_lease_id", ""), r->lease_id) == 0;
    if (!retry && strcmp(jx_str(rec, "lease_id", ""), r->lease_id) != 0) {
        as_fail(err, AS_EXIT_BADINPUT, "lease_mismatch",
                "lease %s is not the batch in flight of refresh %s", r->lease_id,
                r->refresh_id);
        goto out;
    }
    if (!retry) {
        if (refresh_batch_lease_held(ds, r->group, rec, &held, err) < 0)
            goto out;
        if (!held) {
            as_fail(err, AS_EXIT_FAILURE, "claim_expired",
                    "the batch's lease %s is no longer the group's (expired or released): "
                    "nothing recorded; the next refresh_step plans the batch again",
                    r->lease_id);
            goto out;
        }
        if (judge_batch(ds, &g, rec, added, healthy, removed, now, &do_next, err) < 0)
            goto out;
        jx_add_str(rec, "lease_id", NULL);
        json_object_object_del(rec, "batch_remove");
        jx_add_str(rec, "last_lease_id", r->lease_id);
        jx_add_str(rec, "last_do_next", do_next);
        if (refresh_save(ds, r->group, rec, now, err) < 0)
            goto out;
    } else {
        do_next = jx_str(rec, "last_do_next", "continue");
    }
    /* The event, then the lease released: the same on a retry. */
    struct json_object *nodes = jx_new_array();
    long long asked = jx_int(rec, "batch_add", 0), ok = 0;
    for (size_t i = 0; i < json_object_array_length(added); i++) {
        struct json_object *s = json_object_array_get_idx(added, i);
        ok += in_array(healthy, json_object_get_string(s));
        json_object_array_add(nodes, json_object_get(s));
    }
    for (size_t i = 0; i < json_object_array_length(removed); i++)
        json_object_array_add(nodes, json_object_get(json_object_array_get_idx(removed, i)));
    char reason[160];
    snprintf(reason, sizeof reason, "refresh %s batch: %s", r->refresh_id, do_next);
    struct scaling_outcome o = {
        .requested = (int)asked,
        .succeeded = (int)(ok < asked ? ok : asked),
        .failed = (int)(asked - (ok < asked ? ok : asked)),
        .reason = reason,
        .nodes = nodes,
    };
    rc = scaling_record_outcome(ds, r->group, r->lease_id, &o, now, &ev, err);
    json_object_put(nodes);
    json_object_put(ev);
    if (rc == 0)
        *out = done_out(rec, do_next);
out:
    json_object_put(rec);
    json_object_put(added);
    json_object_put(healthy);
    json_object_put(removed);
    group_clear(&g);
    return rc < 0 ? -1 : 0;
}
