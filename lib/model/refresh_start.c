/* refresh_start.c - what the refresh_start action does: start a refresh
 * (changing the spec first when asked, and noting what a rollback would
 * restore), resume a paused one, or cancel the one in progress. It writes
 * the record only when no workflow drives the refresh, or, to cancel, under
 * the lease it takes itself (refresh.h: one writer). */
#include "refresh_int.h"

#include "build_spec.h"
#include "claim.h"
#include "group.h"
#include "jsonx.h"
#include "lease.h"
#include "log.h"
#include "node.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A refresh some workflow may still drive (or resume). */
static bool in_progress(struct json_object *rec)
{
    return rec && (refresh_state_is(rec, "running") || refresh_state_is(rec, "paused") ||
                   refresh_state_is(rec, "rolling_back"));
}

/* The built_from of the oldest node that has one among names: what a
 * refresh that changed nothing itself would roll back to (new, or NULL). */
static int oldest_built_from(struct ds *ds, const char *group, struct json_object *names,
                             struct json_object **out, struct as_error *err)
{
    *out = NULL;
    for (size_t i = 0; i < json_object_array_length(names) && !*out; i++) {
        struct json_object *rec;
        const char *node = json_object_get_string(json_object_array_get_idx(names, i));
        int rc = node_record_load(ds, group, node, &rec, err);
        if (rc < 0)
            return -1;
        if (rc == 1 && jx_obj(rec, "built_from"))
            *out = json_object_get(jx_obj(rec, "built_from"));
        json_object_put(rec);
    }
    return 0;
}

static bool str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

int refresh_start_check(const struct refresh_request *r, struct as_error *err)
{
    struct group_params p;
    struct json_object *cp = NULL;
    refresh_params_absent(&p);
    p.image = r->image;
    p.flavor = r->flavor;
    p.run_list = r->run_list;
    if (group_check_name(r->group, err) < 0 || group_check_given(&p, err) < 0 ||
        refresh_parse_checkpoints(r->checkpoints, &cp, err) < 0)
        return -1;
    json_object_put(cp);
    if (r->min_healthy_percentage < 0 || r->min_healthy_percentage > 100)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'min_healthy_percentage' must be 0-100");
    if (r->batch < 0 || r->batch > REFRESH_BATCH_MAX)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'batch' must be 0 (computed) to %d", REFRESH_BATCH_MAX);
    if (r->health_timeout < 1 || r->health_timeout > 86400)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'health_timeout' must be 1-86400 seconds");
    if (!r->on_failure ||
        (strcmp(r->on_failure, "rollback") != 0 && strcmp(r->on_failure, "stop") != 0))
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'on_failure' must be rollback or stop");
    return 0;
}

static struct json_object *start_out(struct json_object *rec, bool started, bool resumed,
                                     bool cancelled, long long to_replace)
{
    struct json_object *o = jx_new_object();
    json_object_object_add(o, "refresh", json_object_get(rec));
    jx_add_bool(o, "started", started);
    jx_add_bool(o, "resumed", resumed);
    jx_add_bool(o, "cancelled", cancelled);
    jx_add_int(o, "to_replace", to_replace);
    return o;
}

static int busy(const char *group, struct as_error *err)
{
    return as_fail(err, AS_EXIT_FAILURE, "group_busy",
                   "another operation (or the refresh's own batch) holds the lease of group "
                   "'%s'; try again when it ends", group);
}

/* Cancel under the lease, so no batch_done in flight can write over it. */
static int start_cancel(struct ds *ds, const char *group, long long now,
                        struct json_object **out, struct as_error *err)
{
    char lid[LEASE_ID_MAX];
    struct json_object *rec = NULL, *rel = NULL;
    int rc = lease_take(ds, group, "refresh", 0, "refresh cancel", now, REFRESH_CANCEL_TTL,
                        lid, err);
    if (rc == LEASE_TAKEN)
        return busy(group, err);
    if (rc < 0)
        return -1;
    bool cancelled = false;
    rc = refresh_load(ds, group, &rec, err);
    if (rc == 1 && in_progress(rec)) {
        refresh_finish(rec, "cancelled", "cancelled by request", now);
        jx_add_str(rec, "lease_id", NULL);
        rc = refresh_save(ds, group, rec, now, err);
        cancelled = rc == 0;
        if (cancelled)
            log_info("group %s: refresh %s cancelled", group, jx_str(rec, "id", ""));
    }
    struct as_error rerr;
    memset(&rerr, 0, sizeof rerr);
    if (lease_release(ds, group, lid, &rel, &rerr) < 0)
        log_warn("group %s: the cancel's lease stays until its TTL (%s)", group, rerr.message);
    json_object_put(rel);
    if (rc >= 0)
        *out = start_out(rec, false, false, cancelled, 0);
    json_object_put(rec);
    return rc < 0 ? -1 : 0;
}

static void new_id(long long now, char out[REFRESH_ID_MAX])
{
    snprintf(out, REFRESH_ID_MAX, "%lld-%08x", now,
             (unsigned)(claim_random64() & 0xffffffffu));
}

/* What a rollback restores: the spec before this refresh changed it, or,
 * when it changed nothing, what the oldest node to replace was built from. */
static int previous_of(struct ds *ds, const char *group, struct json_object *before,
                       const char *before_id, const char *target, struct json_object *old,
                       struct json_object *rec, struct as_error *err)
{
    struct json_object *prev = NULL;
    char id[BUILD_SPEC_ID_LEN + 1] = "";
    if (strcmp(before_id, target) != 0)
        prev = json_object_get(before);
    else if (oldest_built_from(ds, group, old, &prev, err) < 0)
        return -1;
    build_spec_id_json(prev, id);
    json_object_object_add(rec, "previous", prev);
    jx_add_str(rec, "previous_spec_id", *id ? id : NULL);
    return 0;
}

static int start_new(struct ds *ds, const struct refresh_request *r, struct group *g,
                     long long now, struct json_object **out, struct as_error *err)
{
    char before_id[BUILD_SPEC_ID_LEN + 1], target[BUILD_SPEC_ID_LEN + 1], id[REFRESH_ID_MAX];
    struct json_object *before = build_spec_json(g), *old = NULL, *rec = NULL, *cp = NULL;
    struct json_object *changed = jx_new_array();
    long long capacity = 0;
    int rc = -1;
    build_spec_id(g, before_id);
    char *img = g->image ? xstrdup(g->image) : NULL, *fl = g->flavor ? xstrdup(g->flavor) : NULL,
         *rl = g->run_list ? xstrdup(g->run_list) : NULL;
    if ((r->image || r->flavor || r->run_list) &&
        refresh_spec_set(ds, r->group, r->image, r->flavor, r->run_list, g, err) < 0)
        goto out;
    if (!str_eq(img, g->image))
        json_object_array_add(changed, jx_new_string("image"));
    if (!str_eq(fl, g->flavor))
        json_object_array_add(changed, jx_new_string("flavor"));
    if (!str_eq(rl, g->run_list))
        json_object_array_add(changed, jx_new_string("run_list"));
    build_spec_id(g, target);
    if (refresh_remaining(ds, r->group, target, &old, &capacity, err) < 0 ||
        refresh_parse_checkpoints(r->checkpoints, &cp, err) < 0)
        goto out;
    new_id(now, id);
    rec = jx_new_object();
    jx_add_str(rec, "id", id);
    jx_add_str(rec, "group", r->group);
    jx_add_str(rec, "state", "running");
    jx_add_str(rec, "target", target);
    if (previous_of(ds, r->group, before, before_id, target, old, rec, err) < 0)
        goto out;
    json_object_object_add(rec, "changed", json_object_get(changed));
    jx_add_int(rec, "min_healthy_percentage", r->min_healthy_percentage);
    jx_add_int(rec, "batch", r->batch > 0 ? r->batch
                                          : refresh_batch_size(capacity,
                                                               r->min_healthy_percentage));
    json_object_object_add(rec, "next_checkpoint",
                           json_object_array_length(cp)
                               ? json_object_get(json_object_array_get_idx(cp, 0))
                               : NULL);
    json_object_object_add(rec, "checkpoints", json_object_get(cp));
    jx_add_str(rec, "on_failure", r->on_failure);
    jx_add_int(rec, "health_timeout", r->health_timeout);
    jx_add_int(rec, "replaced", 0);
    jx_add_int(rec, "to_replace", (long long)json_object_array_length(old));
    json_object_object_add(rec, "failed_nodes", jx_new_array());
    jx_add_str(rec, "lease_id", NULL);
    jx_add_str(rec, "last_lease_id", NULL);
    jx_add_int(rec, "started_at", now);
    jx_add_str(rec, "finished_at", NULL);
    jx_add_str(rec, "reason", "started");
    if (json_object_array_length(old) == 0)
        refresh_finish(rec, "succeeded", "every node is already built from the group's spec",
                       now);
    if (refresh_save(ds, r->group, rec, now, err) < 0)
        goto out;
    log_info("group %s: refresh %s to spec %s: %zu of %lld nodes to replace", r->group, id,
             target, json_object_array_length(old), capacity);
    *out = start_out(rec, true, false, false, (long long)json_object_array_length(old));
    rc = 0;
out:
    free(img);
    free(fl);
    free(rl);
    json_object_put(before);
    json_object_put(changed);
    json_object_put(old);
    json_object_put(cp);
    json_object_put(rec);
    return rc;
}

int refresh_start(struct ds *ds, const struct refresh_request *r, long long now,
                  struct json_object **out, struct as_error *err)
{
    struct group g;
    struct json_object *rec = NULL;
    int rc;
    if (refresh_start_check(r, err) < 0 || refresh_load_group(ds, r->group, &g, err) < 0)
        return -1;
    if ((rc = refresh_load(ds, r->group, &rec, err)) < 0) {
        group_clear(&g);
        return -1;
    }
    if (r->cancel) {
        rc = in_progress(rec) ? start_cancel(ds, r->group, now, out, err) : 0;
        if (rc == 0 && !in_progress(rec))
            *out = start_out(rec, false, false, false, 0);
    } else if (rec && refresh_state_is(rec, "paused") &&
               ((r->image && !str_eq(r->image, g.image)) ||
                (r->flavor && !str_eq(r->flavor, g.flavor)) ||
                (r->run_list && !str_eq(r->run_list, g.run_list)))) {
        rc = as_fail(err, AS_EXIT_BADINPUT, "refresh_running",
                     "group '%s' has paused refresh %s to another spec: resume it without "
                     "a new image, flavor or run list, or cancel it first",
                     r->group, jx_str(rec, "id", ""));
    } else if (rec && refresh_state_is(rec, "paused")) {
        jx_add_str(rec, "state", "running");
        jx_add_str(rec, "reason", "resumed");
        rc = refresh_save(ds, r->group, rec, now, err);
        if (rc == 0) {
            log_info("group %s: refresh %s resumed", r->group, jx_str(rec, "id", ""));
            *out = start_out(rec, false, true, false, jx_int(rec, "to_replace", 0));
        }
    } else if (in_progress(rec)) {
        rc = as_fail(err, AS_EXIT_BADINPUT, "refresh_running",
                     "group '%s' has refresh %s %s: resume it when paused, or cancel it",
                     r->group, jx_str(rec, "id", ""), jx_str(rec, "state", ""));
    } else {
        rc = start_new(ds, r, &g, now, out, err);
    }
    json_object_put(rec);
    group_clear(&g);
    return rc < 0 ? -1 : 0;
}
