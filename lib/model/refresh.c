/* refresh.c - see refresh.h. The record is read-modify-written by one
 * action at a time (the lease, or no workflow driving it); every decision
 * is made on what the store holds when the lease is ours, not on what the
 * workflow remembers, so a retried or crashed step never replaces a node
 * twice. */
#include "refresh.h"

#include "asg.h"
#include "build_spec.h"
#include "claim.h"
#include "group.h"
#include "jsonx.h"
#include "keys.h"
#include "lease.h"
#include "log.h"
#include "node.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- pure -- */

long long refresh_batch_size(long long capacity, long long pct)
{
    if (pct < 0)
        pct = 0;
    if (pct > 100)
        pct = 100;
    if (capacity < 0)
        capacity = 0;
    long long keep = (capacity * pct + 99) / 100;
    return capacity - keep < 1 ? 1 : capacity - keep;
}

int refresh_parse_checkpoints(const char *s, struct json_object **out, struct as_error *err)
{
    struct json_object *a = jx_new_array();
    long long prev = 0;
    size_t n = 0;
    for (const char *p = s ? s : ""; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        long long v = 0;
        bool ok = len >= 1 && len <= 3;
        for (size_t i = 0; ok && i < len; i++) {
            ok = isdigit((unsigned char)p[i]) != 0;
            v = v * 10 + (p[i] - '0');
        }
        if (!ok || v < 1 || v > 100 || v <= prev || ++n > REFRESH_CHECKPOINTS_MAX) {
            json_object_put(a);
            return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                           "parameter 'checkpoints' must be at most %d comma-separated "
                           "percentages 1-100 in ascending order, such as 25,50",
                           REFRESH_CHECKPOINTS_MAX);
        }
        json_object_array_add(a, jx_new_int(v));
        prev = v;
        p += len;
        if (*p == ',' && !*++p) { /* a trailing comma */
            json_object_put(a);
            return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                           "parameter 'checkpoints' ends with a comma");
        }
    }
    *out = a;
    return 0;
}

int refresh_parse_nodes(const char *s, const char *what, struct json_object **out,
                        struct as_error *err)
{
    struct json_object *a = jx_new_array();
    for (const char *p = s ? s : ""; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char name[64];
        if (len == 0 || len >= sizeof name || !key_label_ok(p, len)) {
            json_object_put(a);
            return as_fail(err, AS_EXIT_BADINPUT, "invalid_node_name",
                           "parameter '%s' must be comma-separated node names (DNS labels)",
                           what);
        }
        memcpy(name, p, len);
        name[len] = '\0';
        json_object_array_add(a, jx_new_string(name));
        p += len;
        if (*p == ',' && !*++p) {
            json_object_put(a);
            return as_fail(err, AS_EXIT_BADINPUT, "invalid_node_name",
                           "parameter '%s' ends with a comma", what);
        }
    }
    *out = a;
    return 0;
}

int refresh_check_id(const char *id, struct as_error *err)
{
    size_t n = id ? strlen(id) : 0, digits = strspn(id ? id : "", "0123456789");
    bool ok = digits >= 1 && digits <= 12 && n == digits + 9 && id[digits] == '-' &&
              strspn(id + digits + 1, "0123456789abcdef") == 8;
    return ok ? 0
              : as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                        "refresh_id must be the id refresh_start answered "
                        "(<epoch>-<8 hex digits>)");
}

static bool in_array(struct json_object *a, const char *s)
{
    for (size_t i = 0; i < json_object_array_length(a); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(a, i)), s) == 0)
            return true;
    return false;
}

/* ----------------------------------------------------------- record -- */

int refresh_load(struct ds *ds, const char *group, struct json_object **rec,
                 struct as_error *err)
{
    char key[KEY_MAX], *v = NULL;
    int rc = ds_get(ds, key_refresh(key, group), &v, err);
    *rec = NULL;
    if (rc < 0)
        return -1;
    if (rc == DS_ABSENT)
        return 0;
    *rec = jx_parse_record(v);
    free(v);
    if (!*rec)
        return as_fail(err, AS_EXIT_FAILURE, "corrupt_record",
                       "the refresh record of group '%s' is not a JSON object", group);
    return 1;
}

static int refresh_save(struct ds *ds, const char *group, struct json_object *rec,
                        long long now, struct as_error *err)
{
    char key[KEY_MAX];
    jx_add_int(rec, "updated_at", now);
    return ds_put(ds, key_refresh(key, group),
                  json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN), 0, err);
}

static bool state_is(struct json_object *rec, const char *state)
{
    return strcmp(jx_str(rec, "state", ""), state) == 0;
}

/* A refresh some workflow may still drive (or resume). */
static bool in_progress(struct json_object *rec)
{
    return rec && (state_is(rec, "running") || state_is(rec, "paused") ||
                   state_is(rec, "rolling_back"));
}

static void finish(struct json_object *rec, const char *state, const char *reason,
                   long long now)
{
    jx_add_str(rec, "state", state);
    jx_add_int(rec, "finished_at", now);
    jx_add_str(rec, "reason", reason);
}

/* ------------------------------------------------------------ nodes -- */

struct old_node {
    char name[64];
    long long created_at;
};

static int cmp_old(const void *a, const void *b)
{
    const struct old_node *x = a, *y = b;
    if (x->created_at != y->created_at)
        return x->created_at < y->created_at ? -1 : 1;
    return strcmp(x->name, y->name);
}

int refresh_remaining(struct ds *ds, const char *group, const char *target,
                      struct json_object **remaining, long long *capacity,
                      struct as_error *err)
{
    char prefix[KEY_MAX];
    struct ds_list l;
    memset(&l, 0, sizeof l);
    if (ds_list(ds, key_node_prefix(prefix, group), &l, err) < 0)
        return -1;
    struct old_node *old = xcalloc(l.count ? l.count : 1, sizeof *old);
    size_t n = 0;
    *capacity = 0;
    for (size_t i = 0; i < l.count; i++) {
        const char *name = key_leaf(l.items[i].name);
        struct json_object *rec = jx_parse_record(l.items[i].value);
        if (rec && node_check_name(name, NULL) == 0 &&
            node_state_is_capacity(node_record_state(rec))) {
            ++*capacity;
            if (!build_spec_matches(rec, target)) {
                snprintf(old[n].name, sizeof old[n].name, "%s", name);
                old[n++].created_at = jx_int(rec, "created_at", 0);
            }
        }
        json_object_put(rec);
    }
    ds_list_clear(&l);
    qsort(old, n, sizeof *old, cmp_old);
    *remaining = jx_new_array();
    for (size_t i = 0; i < n; i++)
        json_object_array_add(*remaining, jx_new_string(old[i].name));
    free(old);
    return 0;
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

/* -------------------------------------------------------- the spec -- */

#define ABSENT_STR(n) p->n = NULL;
#define ABSENT_INT(n) p->n = PARAM_ABSENT;
#define ABSENT(n, kind, def, cfg, lo, hi, check) ABSENT_##kind(n)
static void params_absent(struct group_params *p)
{
    GROUP_FIELDS(ABSENT)
}

/* Set image, flavor and run_list (those non-NULL; "" clears) through
 * asg_update, under the spec lock, and read the spec back into *g. */
static int spec_set(struct ds *ds, const char *group, const char *image, const char *flavor,
                    const char *run_list, struct group *g, struct as_error *err)
{
    struct asg_request req;
    struct json_object *o = NULL;
    char name[GROUP_NAME_MAX + 1];
    snprintf(name, sizeof name, "%s", group); /* group may be g->name, cleared below */
    memset(&req, 0, sizeof req);
    params_absent(&req.p);
    req.name = name;
    req.p.image = image;
    req.p.flavor = flavor;
    req.p.run_list = run_list;
    if (asg_update(ds, &req, &o, err) < 0)
        return -1;
    json_object_put(o);
    group_clear(g);
    return asg_load_spec(ds, name, g, err);
}

static bool str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The spec loaded, refused when it is being deleted. */
static int load_group(struct ds *ds, const char *group, struct group *g, struct as_error *err)
{
    if (group_check_name(group, err) < 0 || asg_load_spec(ds, group, g, err) < 0)
        return -1;
    if (strcmp(g->status, "active") != 0) {
        group_clear(g);
        return as_fail(err, AS_EXIT_BADINPUT, "group_conflict",
                       "group '%s' is being deleted: no refresh", group);
    }
    return 0;
}

/* ------------------------------------------------------------ start -- */

int refresh_start_check(const struct refresh_request *r, struct as_error *err)
{
    struct group_params p;
    struct json_object *cp = NULL;
    params_absent(&p);
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
        finish(rec, "cancelled", "cancelled by request", now);
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
        spec_set(ds, r->group, r->image, r->flavor, r->run_list, g, err) < 0)
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
        finish(rec, "succeeded", "every node is already built from the group's spec", now);
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
    if (refresh_start_check(r, err) < 0 || load_group(ds, r->group, &g, err) < 0)
        return -1;
    if ((rc = refresh_load(ds, r->group, &rec, err)) < 0) {
        group_clear(&g);
        return -1;
    }
    if (r->cancel) {
        rc = in_progress(rec) ? start_cancel(ds, r->group, now, out, err) : 0;
        if (rc == 0 && !in_progress(rec))
            *out = start_out(rec, false, false, false, 0);
    } else if (rec && state_is(rec, "paused") &&
               ((r->image && !str_eq(r->image, g.image)) ||
                (r->flavor && !str_eq(r->flavor, g.flavor)) ||
                (r->run_list && !str_eq(r->run_list, g.run_list)))) {
        rc = as_fail(err, AS_EXIT_BADINPUT, "refresh_running",
                     "group '%s' has paused refresh %s to another spec: resume it without "
                     "a new image, flavor or run list, or cancel it first",
                     r->group, jx_str(rec, "id", ""));
    } else if (rec && state_is(rec, "paused")) {
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

/* ------------------------------------------------------------- step -- */

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

/* The record of refresh id: 0 with *rec (new), or -1 ("refresh_mismatch"
 * when the group's current refresh is another, or none). */
static int load_current(struct ds *ds, const char *group, const char *id,
                        struct json_object **rec, struct as_error *err)
{
    int rc = refresh_load(ds, group, rec, err);
    if (rc < 0)
        return -1;
    if (rc == 0 || strcmp(jx_str(*rec, "id", ""), id) != 0) {
        const char *cur = rc ? jx_str(*rec, "id", "") : "none";
        rc = as_fail(err, AS_EXIT_BADINPUT, "refresh_mismatch",
                     "refresh %s is not the current refresh of group '%s' (%s)", id, group,
                     cur);
        json_object_put(*rec);
        *rec = NULL;
        return rc;
    }
    return 0;
}

/* Whether the lease the record's batch took is still the group's. */
static int batch_lease_held(struct ds *ds, const char *group, struct json_object *rec,
                            bool *held, struct as_error *err)
{
    struct json_object *lease = NULL;
    const char *mine = jx_str(rec, "lease_id", NULL);
    *held = false;
    if (!mine)
        return 0;
    if (lease_get(ds, group, &lease, err) < 0)
        return -1;
    *held = lease && strcmp(jx_str(lease, "id", ""), mine) == 0;
    json_object_put(lease);
    return 0;
}

/* A checkpoint reached at this progress: pause there, once. */
static bool checkpoint_due(struct json_object *rec)
{
    struct json_object *next = NULL;
    long long to = jx_int(rec, "to_replace", 0), done = jx_int(rec, "replaced", 0);
    if (!state_is(rec, "running") || to <= 0 ||
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
        finish(rec, "failed", msg, now);
        *what = "failed";
        return refresh_save(ds, g->name, rec, now, err);
    }
    if (refresh_remaining(ds, g->name, target, &left, &capacity, err) < 0)
        return -1;
    size_t n = json_object_array_length(left);
    if (n == 0) {
        bool back = state_is(rec, "rolling_back");
        finish(rec, back ? "rolled_back" : "succeeded",
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
        if (load_current(ds, g->name, id, &rec, err) < 0)
            return -1;
        *out = step_out("wait", rec, 0, NULL, NULL);
        json_object_put(rec);
        return 0;
    }
    /* Read again under the lease: a cancel may have come in between. */
    rc = load_current(ds, g->name, id, &rec, err);
    if (rc == 0 && !(state_is(rec, "running") || state_is(rec, "rolling_back")))
        what = state_is(rec, "paused") ? "paused"
               : state_is(rec, "succeeded") || state_is(rec, "rolled_back") ? "done"
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
        load_group(ds, group, &g, err) < 0)
        return -1;
    if (load_current(ds, group, id, &rec, err) < 0) {
        group_clear(&g);
        return -1;
    }
    if (state_is(rec, "running") || state_is(rec, "rolling_back")) {
        rc = batch_lease_held(ds, group, rec, &held, err);
        if (rc == 0 && held) /* a retried step: the same batch again */
            *out = step_out("batch", rec, jx_int(rec, "batch_add", 0),
                            jx_arr(rec, "batch_remove"), jx_str(rec, "lease_id", NULL));
        else if (rc == 0)
            rc = step_take(ds, &g, id, now, out, err);
    } else {
        rc = 0;
        *out = step_out(state_is(rec, "paused")                                    ? "paused"
                        : state_is(rec, "succeeded") || state_is(rec, "rolled_back") ? "done"
                                                                                     : "failed",
                        rec, 0, NULL, NULL);
    }
    json_object_put(rec);
    group_clear(&g);
    return rc;
}

/* ------------------------------------------------------- batch done -- */

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
        state_is(rec, "rolling_back") || !prev) {
        snprintf(msg, sizeof msg, "%s%s", why,
                 state_is(rec, "rolling_back") ? " (while rolling back)"
                 : !prev && strcmp(jx_str(rec, "on_failure", ""), "rollback") == 0
                     ? " (nothing recorded to roll back to)"
                     : "");
        finish(rec, "failed", msg, now);
        return "stop";
    }
    /* "" clears a field the previous spec did not set. */
    const char *img = jx_str(prev, "image", ""), *fl = jx_str(prev, "flavor", ""),
               *rl = jx_str(prev, "run_list", "");
    if (spec_set(ds, g->name, img, fl, rl, g, err) < 0) {
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
        finish(rec, "failed", msg, now);
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
    if (refresh_report_check(r, err) < 0 || load_group(ds, r->group, &g, err) < 0)
        return -1;
    refresh_parse_nodes(r->added, "added", &added, NULL);
    refresh_parse_nodes(r->healthy, "healthy", &healthy, NULL);
    refresh_parse_nodes(r->removed, "removed", &removed, NULL);
    if (load_current(ds, r->group, r->refresh_id, &rec, err) < 0)
        goto out;
    retry = strcmp(jx_str(rec, "last_lease_id", ""), r->lease_id) == 0;
    if (!retry && strcmp(jx_str(rec, "lease_id", ""), r->lease_id) != 0) {
        as_fail(err, AS_EXIT_BADINPUT, "lease_mismatch",
                "lease %s is not the batch in flight of refresh %s", r->lease_id,
                r->refresh_id);
        goto out;
    }
    if (!retry) {
        if (batch_lease_held(ds, r->group, rec, &held, err) < 0)
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
