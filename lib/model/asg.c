/* asg.c - see asg.h. */
#include "asg.h"
#include "claim.h"
#include "clock.h"
#include "controls.h"
#include "health.h"
#include "history.h"
#include "jsonx.h"
#include "keys.h"
#include "lease.h"
#include "log.h"
#include "node.h"
#include "settings.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int asg_load_spec(struct ds *ds, const char *name, struct group *g,
                  struct as_error *err)
{
    char key[KEY_MAX], *text = NULL;

    if (group_check_name(name, err) < 0)
        return -1;
    int rc = ds_get(ds, key_spec(key, name), &text, err);
    if (rc < 0)
        return -1;
    if (rc == DS_ABSENT)
        return as_fail(err, AS_EXIT_BADINPUT, "unknown_group", "no group named '%s'",
                       name);
    struct json_object *o = jx_parse(text, strlen(text), "stored group spec",
                                     "corrupt_record", AS_EXIT_FAILURE, err);
    free(text);
    if (!o)
        return -1;
    rc = group_from_json(g, o, err);
    json_object_put(o);
    if (rc == 0 && strcmp(g->name, name) != 0) {
        /* Saving it back would write another group's key. */
        group_clear(g);
        return as_fail(err, AS_EXIT_FAILURE, "corrupt_record",
                       "the spec stored for group '%s' names another group", name);
    }
    return rc;
}

/* ---- the spec lock ----
 *
 * Every writer of autoscale.spec.<g> reads, changes and writes it back, and
 * st2 has no compare-and-swap: two at once lose one's change. So each holds
 * the group's spec lock (a claim, lib/store/claim.h) from its read to its write.
 * Waiting is bounded well inside st2's 60 s action timeout; the lock's TTL
 * (CLAIM_TTL) frees the group if a holder is killed. */

#define SPEC_LOCK_WAIT_MS 20000

static int spec_lock(struct ds *ds, const char *name, const char *op, struct claim *c,
                     struct as_error *err)
{
    char key[KEY_MAX], value[96];
    snprintf(value, sizeof value, "{\"op\":\"%s\",\"at\":%lld}", op, as_now());
    int rc = claim_take(ds, key_spec_lock(key, name), value, CLAIM_TTL, CLAIM_WAIT,
                        SPEC_LOCK_WAIT_MS, c, err);
    if (rc == CLAIM_TAKEN)
        return as_fail(err, AS_EXIT_FAILURE, "group_busy",
                       "another change to group '%s' kept it locked for %d s; try again",
                       name, SPEC_LOCK_WAIT_MS / 1000);
    return rc;
}

/* The write at the end of a locked read-modify-write, refused if the lock
 * may have lapsed meanwhile (then another writer may hold it now). */
static int save_locked(struct ds *ds, const struct claim *lock, const struct group *g,
                       struct as_error *err)
{
    if (claim_check(lock, err) < 0)
        return -1;
    return asg_save_spec(ds, g, err);
}

int asg_save_spec(struct ds *ds, const struct group *g, struct as_error *err)
{
    char key[KEY_MAX];
    struct json_object *o = group_to_json(g);
    int rc = ds_put(ds, key_spec(key, g->name), json_object_to_json_string_ext(
                                                     o, JSON_C_TO_STRING_PLAIN),
                    0, err);
    json_object_put(o);
    return rc;
}

/* Parse every value of a listing into a JSON array; a corrupt record is
 * logged and skipped rather than hiding the rest of the group. */
static struct json_object *records(const struct ds_list *l, size_t from, size_t to)
{
    struct json_object *arr = jx_new_array();
    for (size_t i = from; i < to; i++) {
        struct json_object *o = jx_parse_record(l->items[i].value);
        if (!o) {
            log_warn("skipping corrupt record %s", l->items[i].name);
            continue;
        }
        json_object_array_add(arr, o);
    }
    return arr;
}

static void state_init(struct asg_state *st, bool with_nodes)
{
    memset(st, 0, sizeof *st);
    st->nodes = with_nodes ? jx_new_array() : NULL;
    st->incidents = jx_new_array();
    st->events = jx_new_array();
}

static int list_records(struct ds *ds, const char *prefix, struct json_object **arr,
                        struct as_error *err)
{
    struct ds_list l = {0};
    if (ds_list(ds, prefix, &l, err) < 0)
        return -1;
    json_object_put(*arr);
    *arr = records(&l, 0, l.count);
    ds_list_clear(&l);
    return 0;
}

/* Keep only the entries of by_node (node name -> record) whose node has a
 * record: a health or protection record can outlive its node for a moment
 * (remove_node deletes it after the node), and must not show as a node. */
static void only_known_nodes(struct json_object *by_node, struct json_object *nodes)
{
    struct json_object *known = jx_new_object();
    size_t n = json_object_array_length(nodes);
    for (size_t i = 0; i < n; i++)
        json_object_object_add(known, jx_str(json_object_array_get_idx(nodes, i), "name", ""),
                               NULL);
    char **gone = xcalloc((size_t)json_object_object_length(by_node) + 1, sizeof *gone);
    size_t ngone = 0;
    json_object_object_foreach(by_node, node, rec) {
        (void)rec;
        if (!json_object_object_get_ex(known, node, NULL))
            gone[ngone++] = xstrdup(node);
    }
    for (size_t i = 0; i < ngone; i++) {
        json_object_object_del(by_node, gone[i]);
        free(gone[i]);
    }
    free(gone);
    json_object_put(known);
}

int asg_state_load(struct ds *ds, const char *name, struct asg_state *st,
                   struct as_error *err)
{
    char key[KEY_MAX];

    state_init(st, true);
    if (asg_load_spec(ds, name, &st->spec, err) < 0 ||
        list_records(ds, key_node_prefix(key, name), &st->nodes, err) < 0 ||
        list_records(ds, key_incident_prefix(key, name), &st->incidents, err) < 0 ||
        list_records(ds, key_event_prefix(key, name), &st->events, err) < 0 ||
        lease_get(ds, name, &st->lease, err) < 0 ||
        health_load(ds, name, &st->health, err) < 0 ||
        controls_load_protected(ds, name, &st->protect, err) < 0 ||
        history_last(ds, name, &st->last_decision, err) < 0)
        goto fail;
    only_known_nodes(st->health, st->nodes);
    only_known_nodes(st->protect, st->nodes);
    return 0;
fail:
    asg_state_clear(st);
    return -1;
}

static int by_group_name(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const struct asg_state *)elem)->spec.name);
}

/* Hand each listed record to its group. Groups are found by binary search:
 * key order ("web-2." < "web.") differs from name order ("web" < "web-2"),
 * so a merge walk would misassign. */
static void distribute(const struct ds_list *l, struct asg_state *st, size_t n,
                       size_t field)
{
    char g[GROUP_NAME_MAX + 1];
    for (size_t i = 0; i < l->count; i++) {
        if (key_group(l->items[i].name, g, sizeof g) < 0)
            continue;
        struct asg_state *s = bsearch(g, st, n, sizeof *st, by_group_name);
        if (!s)
            continue; /* records of a group without a spec: reconcile's business */
        if (field == 0) { /* nodes: only their state is kept */
            char state[16];
            bool ok = jx_peek_str(l->items[i].value, "state", state, sizeof state) == 0;
            s->node_counts[ok ? node_state_parse(state) : NODE_UNKNOWN]++;
            continue;
        }
        struct json_object *o = jx_parse_record(l->items[i].value);
        if (!o)
            continue;
        if (field == 3) {
            json_object_put(s->lease);
            s->lease = o;
        } else {
            struct json_object *arr = field == 1 ? s->incidents : s->events;
            json_object_array_add(arr, o);
        }
    }
}

int asg_state_load_all(struct ds *ds, struct asg_state **out, size_t *n,
                       struct as_error *err)
{
    char key[KEY_MAX];
    struct ds_list specs = {0}, l = {0};
    const char *prefixes[4];
    char bufs[4][KEY_MAX];

    *out = NULL;
    *n = 0;
    if (ds_list(ds, key_spec_prefix(key), &specs, err) < 0)
        return -1;
    struct asg_state *st = xcalloc(specs.count ? specs.count : 1, sizeof *st);
    size_t count = 0;
    for (size_t i = 0; i < specs.count; i++) {
        struct json_object *o = jx_parse_record(specs.items[i].value);
        state_init(&st[count], false);
        if (o && group_from_json(&st[count].spec, o, err) == 0)
            count++;
        else
            asg_state_clear(&st[count]);
        json_object_put(o);
    }
    ds_list_clear(&specs);
    /* ds_list sorted the specs by key, which for one prefix is name order */

    prefixes[0] = key_node_prefix(bufs[0], NULL);
    prefixes[1] = key_incident_prefix(bufs[1], NULL);
    prefixes[2] = key_event_prefix(bufs[2], NULL);
    prefixes[3] = key_lease_prefix(bufs[3]);
    for (size_t f = 0; f < 4; f++) {
        if (ds_list(ds, prefixes[f], &l, err) < 0) {
            asg_state_free_all(st, count);
            return -1;
        }
        distribute(&l, st, count, f);
        ds_list_clear(&l);
    }
    *out = st;
    *n = count;
    return 0;
}

void asg_state_clear(struct asg_state *st)
{
    group_clear(&st->spec);
    json_object_put(st->nodes);
    json_object_put(st->incidents);
    json_object_put(st->events);
    json_object_put(st->lease);
    json_object_put(st->health);
    json_object_put(st->protect);
    json_object_put(st->last_decision);
    memset(st, 0, sizeof *st);
}

void asg_state_free_all(struct asg_state *st, size_t n)
{
    for (size_t i = 0; i < n; i++)
        asg_state_clear(&st[i]);
    free(st);
}

void asg_state_node_counts(const struct asg_state *st,
                           long long counts[NODE_UNKNOWN + 1])
{
    if (!st->nodes) {
        memcpy(counts, st->node_counts, sizeof st->node_counts);
        return;
    }
    memset(counts, 0, sizeof st->node_counts);
    size_t n = json_object_array_length(st->nodes);
    for (size_t i = 0; i < n; i++)
        counts[node_record_state(json_object_array_get_idx(st->nodes, i))]++;
}

struct json_object *asg_state_counts(const struct asg_state *st)
{
    long long by_state[NODE_UNKNOWN + 1], capacity = 0, total = 0;
    asg_state_node_counts(st, by_state);
    for (int s = 0; s <= NODE_UNKNOWN; s++) {
        total += by_state[s];
        capacity += node_state_is_capacity((enum node_state)s) ? by_state[s] : 0;
    }
    struct json_object *o = jx_new_object();
    jx_add_int(o, "total", total);
    jx_add_int(o, "capacity", capacity);
    for (int s = 0; s <= NODE_UNKNOWN; s++)
        jx_add_int(o, node_state_name((enum node_state)s), by_state[s]);
    return o;
}

bool asg_state_in_alert(const struct asg_state *st)
{
    size_t n = json_object_array_length(st->incidents);
    for (size_t i = 0; i < n; i++) {
        const char *state = jx_str(json_object_array_get_idx(st->incidents, i), "state", "");
        if (strcmp(state, "open") == 0)
            return true;
    }
    return false;
}

static int define_locked(struct ds *ds, const struct claim *lock, struct group *g,
                         struct json_object **out, struct as_error *err)
{
    struct group old;
    struct as_error lookup;
    char diff[256];

    if (asg_load_spec(ds, g->name, &old, &lookup) == 0) {
        int n = group_diff(&old, g, diff, sizeof diff);
        bool deleting = strcmp(old.status, "active") != 0;
        struct json_object *spec = group_to_json(&old);
        group_clear(&old);
        if (deleting || n > 0) {
            json_object_put(spec);
            if (deleting)
                return as_fail(err, AS_EXIT_BADINPUT, "group_conflict",
                               "group '%s' exists and is being deleted", g->name);
            return as_fail(err, AS_EXIT_BADINPUT, "group_conflict",
                           "group '%s' exists with a different spec (%s); use "
                           "asg_update to change it",
                           g->name, diff);
        }
        *out = jx_new_object();
        json_object_object_add(*out, "group", spec);
        jx_add_bool(*out, "created", false);
        return 0;
    }
    if (!as_error_is(&lookup, "unknown_group")) {
        *err = lookup;
        return -1;
    }
    g->created_at = g->updated_at = as_now();
    if (save_locked(ds, lock, g, err) < 0)
        return -1;
    log_info("created group %s (min %lld, max %lld)", g->name, g->min, g->max);
    *out = jx_new_object();
    json_object_object_add(*out, "group", group_to_json(g));
    jx_add_bool(*out, "created", true);
    return 0;
}

int asg_spec_build(const struct asg_request *r, struct group *g, struct as_error *err)
{
    group_init(g, r->name);
    group_apply(g, &r->p);
    if (r->settings)
        g->settings = json_object_get(r->settings);
    /* A group's settings may not redirect the pack's credentials or run
     * commands (settings.h). */
    if (settings_check(g->settings, r->allowed, err) < 0 || group_validate(g, err) < 0) {
        group_clear(g);
        return -1;
    }
    return 0;
}

/* Validated before the lock is taken: a refusal writes nothing at all. */
int asg_define(struct ds *ds, struct group *g, struct json_object **out,
               struct as_error *err)
{
    struct claim lock;
    if (group_validate(g, err) < 0)
        return -1;
    if (!g->compute_provider)
        return as_fail(err, AS_EXIT_BADINPUT, "no_compute_provider",
                       "no compute provider: pass compute_provider (local, openstack or "
                       "digitalocean) or set it in the pack config");
    if (spec_lock(ds, g->name, "asg_define", &lock, err) < 0)
        return -1;
    int rc = define_locked(ds, &lock, g, out, err);
    claim_drop(ds, &lock);
    return rc;
}

/* ---- changing a stored spec ----
 *
 * asg_update, asg_suspend/asg_resume and asg_resize (controls.h) are one
 * read-modify-write under the spec lock: load, edit, validate whole,
 * refuse a group being deleted, write only when something changed. */

typedef void (*spec_edit_fn)(struct group *g, const void *arg);

struct spec_change {
    struct group old, g; /* as stored, and as edited (both filled on success) */
    int changed;         /* spec fields that differ (group_diff) */
    char diff[512];      /* their names, comma-separated: room for every field */
    bool written;
};

static int change_locked(struct ds *ds, const struct claim *lock, const char *name,
                         spec_edit_fn edit, const void *arg, struct spec_change *c,
                         struct as_error *err)
{
    long long now = as_now();
    if (asg_load_spec(ds, name, &c->old, err) < 0)
        return -1;
    if (asg_load_spec(ds, name, &c->g, err) < 0) {
        group_clear(&c->old);
        return -1;
    }
    edit(&c->g, arg);
    int rc = group_validate(&c->g, err);
    c->changed = rc == 0 ? group_diff(&c->old, &c->g, c->diff, sizeof c->diff) : 0;
    if (rc == 0 && strcmp(c->old.status, "active") != 0)
        rc = as_fail(err, AS_EXIT_BADINPUT, "group_conflict",
                     "group '%s' is being deleted", name);
    /* forced_at is no spec field (group_diff leaves it out) but is kept */
    if (rc == 0 && (c->changed > 0 || c->g.forced_at != c->old.forced_at)) {
        c->g.updated_at = now;
        rc = save_locked(ds, lock, &c->g, err);
        c->written = rc == 0;
    }
    if (rc < 0) {
        group_clear(&c->old);
        group_clear(&c->g);
    }
    return rc;
}

/* Refusals the stored spec alone decides (an unknown group, a size outside
 * its limits) are made on a read before the lock, since taking the lock is
 * a write; the locked change checks them again on what it reads. */
static int spec_precheck(struct ds *ds, const char *name, spec_edit_fn edit, const void *arg,
                         struct as_error *err)
{
    struct group g;
    if (asg_load_spec(ds, name, &g, err) < 0)
        return -1;
    edit(&g, arg);
    int rc = group_validate(&g, err);
    group_clear(&g);
    return rc;
}

/* 0 with c filled (the caller clears c->old and c->g), or -1 with err. */
static int spec_change(struct ds *ds, const char *name, const char *op, spec_edit_fn edit,
                       const void *arg, struct spec_change *c, struct as_error *err)
{
    struct claim lock;
    memset(c, 0, sizeof *c);
    if (group_check_name(name, err) < 0 || spec_precheck(ds, name, edit, arg, err) < 0 ||
        spec_lock(ds, name, op, &lock, err) < 0)
        return -1;
    int rc = change_locked(ds, &lock, name, edit, arg, c, err);
    claim_drop(ds, &lock);
    return rc;
}

static void spec_change_clear(struct spec_change *c)
{
    group_clear(&c->old);
    group_clear(&c->g);
}

static void apply_request(struct group *g, const void *arg)
{
    const struct asg_request *r = arg;
    group_apply(g, &r->p);
    if (r->settings) {
        json_object_put(g->settings);
        g->settings = json_object_get(r->settings);
    }
}

int asg_update(struct ds *ds, const struct asg_request *r, struct json_object **out,
               struct as_error *err)
{
    struct spec_change c;
    if (group_check_name(r->name, err) < 0 || group_check_given(&r->p, err) < 0 ||
        spec_change(ds, r->name, "asg_update", apply_request, r, &c, err) < 0)
        return -1;
    struct json_object *list = jx_new_array();
    for (char *tok = c.changed ? strtok(c.diff, ",") : NULL; tok; tok = strtok(NULL, ","))
        json_object_array_add(list, jx_new_string(tok));
    *out = jx_new_object();
    json_object_object_add(*out, "group", group_to_json(&c.g));
    jx_add_bool(*out, "updated", c.changed > 0);
    json_object_object_add(*out, "changed", list);
    spec_change_clear(&c);
    return 0;
}

static unsigned suspended_mask(const struct group *g)
{
    return (g->suspend_scale_out == 1 ? CONTROL_SCALE_OUT : 0) |
           (g->suspend_scale_in == 1 ? CONTROL_SCALE_IN : 0) |
           (g->suspend_replace == 1 ? CONTROL_REPLACE : 0);
}

struct suspend_arg {
    unsigned mask;
    bool suspend;
};

static void apply_suspend(struct group *g, const void *arg)
{
    const struct suspend_arg *a = arg;
    long long v = a->suspend ? 1 : 0;
    if (a->mask & CONTROL_SCALE_OUT)
        g->suspend_scale_out = v;
    if (a->mask & CONTROL_SCALE_IN)
        g->suspend_scale_in = v;
    if (a->mask & CONTROL_REPLACE)
        g->suspend_replace = v;
}

int controls_suspend(struct ds *ds, const char *group, unsigned mask, bool suspend,
                     struct json_object **out, struct as_error *err)
{
    struct suspend_arg a = {mask, suspend};
    struct spec_change c;
    if (mask == 0 || (mask & ~CONTROL_ALL))
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'processes' must name at least one of %s",
                       CONTROL_PROCESSES);
    if (spec_change(ds, group, suspend ? "asg_suspend" : "asg_resume", apply_suspend, &a,
                    &c, err) < 0)
        return -1;
    if (c.written)
        log_info("group %s: %s %s", group, suspend ? "suspended" : "resumed", c.diff);
    *out = jx_new_object();
    jx_add_str(*out, "group", group);
    json_object_object_add(*out, "suspended", controls_suspended_list(suspended_mask(&c.g)));
    jx_add_bool(*out, "changed", c.written);
    spec_change_clear(&c);
    return 0;
}

struct resize_arg {
    long long size, now;
    bool force;
};

static void apply_resize(struct group *g, const void *arg)
{
    const struct resize_arg *a = arg;
    g->desired = a->size;
    if (a->force)
        g->forced_at = a->now;
}

int controls_resize(struct ds *ds, const char *group, long long size, bool force,
                    long long now, struct json_object **out, struct as_error *err)
{
    struct resize_arg a = {size, now, force};
    struct spec_change c;
    if (controls_resize_check(group, size, err) < 0)
        return -1;
    if (spec_change(ds, group, "asg_resize", apply_resize, &a, &c, err) < 0)
        return -1;
    if (c.written)
        log_info("group %s: desired %lld -> %lld%s", group, c.old.desired, c.g.desired,
                 force ? " (forced: cooldowns skipped once)" : "");
    *out = jx_new_object();
    jx_add_str(*out, "group", group);
    jx_add_int(*out, "desired", c.g.desired);
    if (c.old.desired >= 0)
        jx_add_int(*out, "previous_desired", c.old.desired);
    else
        json_object_object_add(*out, "previous_desired", NULL);
    jx_add_bool(*out, "forced", force);
    if (c.g.forced_at > 0)
        jx_add_int(*out, "forced_at", c.g.forced_at);
    else
        json_object_object_add(*out, "forced_at", NULL);
    jx_add_bool(*out, "changed", c.written);
    spec_change_clear(&c);
    return 0;
}

/* The last `keep` elements of arr, as a new array. */
static struct json_object *tail(struct json_object *arr, int keep)
{
    size_t n = json_object_array_length(arr);
    size_t from = keep >= 0 && n > (size_t)keep ? n - (size_t)keep : 0;
    struct json_object *t = jx_new_array();
    for (size_t i = from; i < n; i++)
        json_object_array_add(t, json_object_get(json_object_array_get_idx(arr, i)));
    return t;
}

/* The latest start of a scaling operation: each event's `at` and the
 * lease's (an operation in flight started one). */
static long long last_operation_at(const struct asg_state *st)
{
    long long last = st->lease ? jx_int(st->lease, "at", 0) : 0;
    size_t n = json_object_array_length(st->events);
    for (size_t i = 0; i < n; i++) {
        long long at = jx_int(json_object_array_get_idx(st->events, i), "at", 0);
        last = at > last ? at : last;
    }
    return last;
}

/* What an operator set by hand (controls.h): suspended processes,
 * protect_new, and a forced resize not yet acted on - stamped after the
 * latest operation began and still inside its window (governor.h). */
static struct json_object *controls_view(const struct asg_state *st, long long now)
{
    const struct group *g = &st->spec;
    struct json_object *c = jx_new_object();
    json_object_object_add(c, "suspended", controls_suspended_list(suspended_mask(g)));
    jx_add_bool(c, "protect_new", g->protect_new == 1);
    if (g->forced_at > 0)
        jx_add_int(c, "forced_at", g->forced_at);
    else
        json_object_object_add(c, "forced_at", NULL);
    jx_add_bool(c, "force_pending", controls_force_pending(g->forced_at, last_operation_at(st),
                                                           now));
    return c;
}

/* Each node record with its health (status, failures, reason; null when
 * never judged) and whether it is protected from scale-in. */
static void annotate_nodes(const struct asg_state *st)
{
    size_t n = json_object_array_length(st->nodes);
    for (size_t i = 0; i < n; i++) {
        struct json_object *rec = json_object_array_get_idx(st->nodes, i);
        const char *name = jx_str(rec, "name", "");
        struct json_object *h = NULL, *view = NULL;
        if (json_object_object_get_ex(st->health, name, &h) && h) {
            view = jx_new_object();
            jx_add_str(view, "status", jx_str(h, "status", health_status_name(HEALTH_GRACE)));
            jx_add_int(view, "failures", jx_int(h, "failures", 0));
            jx_add_str(view, "reason", jx_str(h, "reason", NULL));
            jx_add_int(view, "checked_at", jx_int(h, "checked_at", 0));
        }
        json_object_object_add(rec, "health", view);
        jx_add_bool(rec, "protected", json_object_object_get_ex(st->protect, name, NULL));
    }
}

int asg_status(struct ds *ds, const char *name, int events, struct json_object **out,
               struct as_error *err)
{
    struct asg_state st;
    if (asg_state_load(ds, name, &st, err) < 0)
        return -1;
    annotate_nodes(&st);
    struct json_object *alert = jx_new_object();
    jx_add_bool(alert, "in_alert", asg_state_in_alert(&st));
    json_object_object_add(alert, "incidents", json_object_get(st.incidents));

    *out = jx_new_object();
    json_object_object_add(*out, "group", group_to_json(&st.spec));
    json_object_object_add(*out, "counts", asg_state_counts(&st));
    json_object_object_add(*out, "nodes", json_object_get(st.nodes));
    json_object_object_add(*out, "alert", alert);
    json_object_object_add(*out, "events", tail(st.events, events));
    json_object_object_add(*out, "lease", json_object_get(st.lease));
    json_object_object_add(*out, "controls", controls_view(&st, as_now()));
    json_object_object_add(*out, "last_decision", json_object_get(st.last_decision));
    asg_state_clear(&st);
    return 0;
}

int asg_list(struct ds *ds, struct json_object **out, struct as_error *err)
{
    struct asg_state *st;
    size_t n;
    if (asg_state_load_all(ds, &st, &n, err) < 0)
        return -1;
    struct json_object *groups = jx_new_array();
    for (size_t i = 0; i < n; i++) {
        struct json_object *g = jx_new_object();
        jx_add_str(g, "name", st[i].spec.name);
        jx_add_str(g, "status", st[i].spec.status);
        jx_add_int(g, "min", st[i].spec.min);
        jx_add_int(g, "max", st[i].spec.max);
        json_object_object_add(g, "counts", asg_state_counts(&st[i]));
        jx_add_bool(g, "in_alert", asg_state_in_alert(&st[i]));
        jx_add_bool(g, "busy", st[i].lease != NULL);
        json_object_array_add(groups, g);
    }
    asg_state_free_all(st, n);
    *out = jx_new_object();
    jx_add_int(*out, "count", (long long)n);
    json_object_object_add(*out, "groups", groups);
    return 0;
}

/* Delete every key under prefix. */
static int delete_prefix(struct ds *ds, const char *prefix, long long *count,
                         struct as_error *err)
{
    struct ds_list l = {0};
    if (ds_list(ds, prefix, &l, err) < 0)
        return -1;
    int rc = ds_del_list(ds, &l, err);
    if (rc == 0 && count)
        *count += (long long)l.count;
    ds_list_clear(&l);
    return rc;
}

static int refuse_nodes(const char *name, struct ds_list *nodes, struct as_error *err)
{
    char names[256] = "";
    size_t shown = 0;
    for (; shown < nodes->count && shown < 8; shown++) {
        strncat(names, shown ? ", " : "", sizeof names - strlen(names) - 1);
        strncat(names, key_leaf(nodes->items[shown].name),
                sizeof names - strlen(names) - 1);
    }
    return as_fail(err, AS_EXIT_BADINPUT, "nodes_remain",
                   "group '%s' still has %zu node(s): %s%s; remove them first "
                   "(the asg_delete workflow does) or pass forget_nodes",
                   name, nodes->count, names, nodes->count > shown ? ", ..." : "");
}

static int forget_locked(struct ds *ds, const struct claim *lock, const char *name,
                         bool forget_nodes, struct json_object **out,
                         struct as_error *err)
{
    struct group g;
    struct ds_list nodes = {0};
    char key[KEY_MAX];
    long long removed = 0;

    if (asg_load_spec(ds, name, &g, err) < 0) {
        if (!as_error_is(err, "unknown_group"))
            return -1;
        /* Already gone: a retried delete is a success that did nothing. */
        *out = jx_new_object();
        jx_add_str(*out, "group", name);
        jx_add_bool(*out, "deleted", false);
        jx_add_bool(*out, "existed", false);
        return 0;
    }
    group_clear(&g);
    if (ds_list(ds, key_node_prefix(key, name), &nodes, err) < 0)
        return -1;
    if (nodes.count > 0 && !forget_nodes) {
        refuse_nodes(name, &nodes, err);
        ds_list_clear(&nodes);
        return -1;
    }
    long long forgotten = (long long)nodes.count;
    ds_list_clear(&nodes);

    /* The spec goes last: if anything fails midway, the group still exists
     * and the same call can be run again. */
    if (delete_prefix(ds, key_node_prefix(key, name), &removed, err) < 0 ||
        delete_prefix(ds, key_incident_prefix(key, name), &removed, err) < 0 ||
        delete_prefix(ds, key_event_prefix(key, name), &removed, err) < 0 ||
        delete_prefix(ds, key_health_prefix(key, name), &removed, err) < 0 ||
        delete_prefix(ds, key_protect_prefix(key, name), &removed, err) < 0 ||
        delete_prefix(ds, key_history_prefix(key, name), &removed, err) < 0 ||
        ds_del(ds, key_decision(key, name), err) < 0 ||
        delete_prefix(ds, key_schedule_prefix(key, name), &removed, err) < 0 ||
        ds_del(ds, key_samples(key, name), err) < 0 ||
        ds_del(ds, key_refresh(key, name), err) < 0 ||
        claim_clear(ds, key_sample_lock(key, name), err) < 0 ||
        claim_clear(ds, key_pool_lock(key, name), err) < 0 ||
        claim_clear(ds, key_health_lock(key, name), err) < 0 ||
        claim_clear(ds, key_lease(key, name), err) < 0 ||
        claim_check(lock, err) < 0 || ds_del(ds, key_spec(key, name), err) < 0)
        return -1;
    log_info("deleted group %s (%lld records)", name, removed + 1);
    *out = jx_new_object();
    jx_add_str(*out, "group", name);
    jx_add_bool(*out, "deleted", true);
    jx_add_bool(*out, "existed", true);
    jx_add_int(*out, "nodes_forgotten", forgotten);
    return 0;
}

/* Node records left, refused before the spec lock is taken, so the usual
 * refusal writes nothing (a lock is a write); forget_locked checks again
 * under the lock, in case a node was added meanwhile. */
static int refuse_if_nodes(struct ds *ds, const char *name, struct as_error *err)
{
    struct ds_list nodes = {0};
    char key[KEY_MAX];
    if (ds_list(ds, key_node_prefix(key, name), &nodes, err) < 0)
        return -1;
    int rc = nodes.count > 0 ? refuse_nodes(name, &nodes, err) : 0;
    ds_list_clear(&nodes);
    return rc;
}

/* The lock spans the whole forget: an update that read the spec before it
 * was deleted must not write it back after. */
int asg_forget(struct ds *ds, const char *name, bool forget_nodes,
               struct json_object **out, struct as_error *err)
{
    struct claim lock;
    if (group_check_name(name, err) < 0 ||
        (!forget_nodes && refuse_if_nodes(ds, name, err) < 0) ||
        spec_lock(ds, name, "asg_forget", &lock, err) < 0)
        return -1;
    int rc = forget_locked(ds, &lock, name, forget_nodes, out, err);
    claim_drop(ds, &lock);
    return rc;
}

int asg_retire(struct ds *ds, const char *name, struct json_object **out,
               struct as_error *err)
{
    struct group g;
    struct ds_list nodes = {0};
    struct claim lock;
    char key[KEY_MAX];
    bool existed = true, changed = false;

    if (group_check_name(name, err) < 0 ||
        spec_lock(ds, name, "asg_retire", &lock, err) < 0)
        return -1;
    if (asg_load_spec(ds, name, &g, err) < 0) {
        if (!as_error_is(err, "unknown_group")) {
            claim_drop(ds, &lock);
            return -1; /* the store failed */
        }
        existed = false; /* already gone: a retried decommission did its work */
    }
    if (existed && strcmp(g.status, "deleting") != 0) {
        snprintf(g.status, sizeof g.status, "%s", "deleting");
        g.updated_at = as_now();
        int rc = save_locked(ds, &lock, &g, err);
        if (rc < 0) {
            group_clear(&g);
            claim_drop(ds, &lock);
            return -1;
        }
        changed = true;
        log_info("group %s marked for deletion", name);
    }
    claim_drop(ds, &lock);
    if (existed)
        group_clear(&g);
    /* Listed after the mark: a node added meanwhile is listed, and none can
     * be added from now on. */
    if (existed && ds_list(ds, key_node_prefix(key, name), &nodes, err) < 0)
        return -1;
    struct json_object *list = jx_new_array();
    for (size_t i = 0; i < nodes.count; i++) /* ds_list sorts by key: by name */
        json_object_array_add(list, jx_new_string(key_leaf(nodes.items[i].name)));
    ds_list_clear(&nodes);
    *out = jx_new_object();
    jx_add_str(*out, "group", name);
    jx_add_bool(*out, "existed", existed);
    jx_add_str(*out, "status", "deleting");
    jx_add_bool(*out, "changed", changed);
    json_object_object_add(*out, "nodes", list);
    return 0;
}
