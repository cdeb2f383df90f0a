/* nodes.c - see nodes.h. */
#include "nodes.h"
#include "node_life.h"
#include "build_spec.h"
#include "clock.h"
#include "controls.h"
#include "jsonx.h"
#include "keys.h"
#include "log.h"
#include "node.h"
#include "signals.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static unsigned long long fnv1a(const char *s)
{
    unsigned long long h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

void node_name_for(const char *group, const char *execution_id, char *out)
{
    unsigned long long h;
    if (execution_id && *execution_id) {
        h = fnv1a(execution_id);
    } else {
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, &h, sizeof h) != (ssize_t)sizeof h)
            h = fnv1a(group) ^ (unsigned long long)getpid() ^ (unsigned long long)as_now();
        if (fd >= 0)
            close(fd);
    }
    snprintf(out, 64, "%s-%08llx", group, h & 0xffffffffULL);
}

/* ---- records ---- */

int node_save_record(struct node_ctx *nc, struct json_object *rec, struct as_error *err)
{
    char key[KEY_MAX];
    jx_add_int(rec, "updated_at", as_now());
    return ds_put(nc->ds, key_node(key, nc->group->name, jx_str(rec, "name", "")),
                  json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN), 0, err);
}

static int drop_record(struct node_ctx *nc, const char *node, struct as_error *err)
{
    char key[KEY_MAX];
    return ds_del(nc->ds, key_node(key, nc->group->name, node), err);
}

static struct json_object *new_record(struct node_ctx *nc, const char *node,
                                      const char *execution_id, enum node_state state)
{
    struct json_object *r = jx_new_object();
    jx_add_str(r, "name", node);
    jx_add_str(r, "group", nc->group->name);
    jx_add_str(r, "state", node_state_name(state));
    jx_add_str(r, "provider", compute_provider(nc->compute));
    json_object_object_add(r, "provider_id", NULL);
    json_object_object_add(r, "address", NULL);
    jx_add_int(r, "port", 0);
    jx_add_int(r, "created_at", as_now());
    jx_add_str(r, "execution_id", execution_id);
    /* What it is built from, before the cloud is asked: a rolling refresh
     * (lib/model/refresh.h) replaces the nodes whose spec_id differs. */
    char spec_id[BUILD_SPEC_ID_LEN + 1];
    build_spec_id(nc->group, spec_id);
    jx_add_str(r, "spec_id", spec_id);
    json_object_object_add(r, "built_from", build_spec_json(nc->group));
    return r;
}

void node_record_machine(struct json_object *rec, const struct machine *m)
{
    jx_add_str(rec, "provider_id", m->id);
    if (m->address[0])
        jx_add_str(rec, "address", m->address);
    jx_add_int(rec, "port", m->port);
}

/* ---- waiting on the provider ---- */

int node_wait_machine(struct node_ctx *nc, const char *id, long long deadline,
                      unsigned until, bool known, struct machine *m, struct as_error *err)
{
    struct as_backoff b;
    as_backoff_init(&b, compute_poll_first_ms(nc->compute), nc->poll_ms);
    for (;; known = false) {
        if (!known && compute_get(nc->compute, id, m, err) < 0)
            return -1;
        if (m->state == MACHINE_GONE || (until & MACHINE_BIT(m->state)))
            return 0;
        long long now = as_now();
        if (now >= deadline)
            return 1;
        if (as_sleep_ms(as_backoff_next(&b, (deadline - now) * 1000)) < 0)
            return as_fail(err, AS_EXIT_FAILURE, "interrupted",
                           "interrupted while waiting for machine %s", id);
    }
}

/* m: what the provider has just said of the machine. Stopped is settled
 * too: a machine that stops while being built will not start by itself. */
static int wait_settled(struct node_ctx *nc, const char *id, long long deadline,
                        struct machine *m, struct as_error *err)
{
    return node_wait_machine(nc, id, deadline,
                             MACHINE_BIT(MACHINE_ACTIVE) | MACHINE_BIT(MACHINE_ERROR) |
                                 MACHINE_BIT(MACHINE_STOPPED),
                             true, m, err);
}

static int wait_gone(struct node_ctx *nc, const char *id, long long deadline,
                     struct as_error *err)
{
    struct machine m;
    return node_wait_machine(nc, id, deadline, 0, false, &m, err);
}

/* ---- add ---- */

static struct json_object *result(struct json_object *rec, bool changed)
{
    struct json_object *o = jx_new_object();
    json_object_object_add(o, "node", json_object_get(rec));
    jx_add_bool(o, "changed", changed);
    return o;
}

/* The machine this record stands for: the one it names, the one a previous
 * try created under its name (found: 1 when node_add already looked and m
 * holds it, 0 when it looked and there was none, -1 when it did not look),
 * or a new one. */
static int obtain_machine(struct node_ctx *nc, struct json_object *rec, int found,
                          struct machine *m, struct as_error *err)
{
    const char *name = jx_str(rec, "name", "");
    const char *id = jx_str(rec, "provider_id", NULL);
    if (id)
        return compute_get(nc->compute, id, m, err);
    if (found < 0 && (found = compute_find(nc->compute, nc->group->name, name, m, err)) < 0)
        return -1;
    if (found) {
        log_info("node %s: found the machine a previous try created (%s)", name, m->id);
    } else {
        const struct group *g = nc->group;
        struct machine_spec spec = {g->name, name, g->flavor, g->image, g->network,
                                    g->key_pair, g->user_data};
        if (compute_create(nc->compute, &spec, m, err) < 0)
            return -1;
        log_info("node %s: %s created machine %s", name, compute_provider(nc->compute), m->id);
    }
    node_record_machine(rec, m);
    return node_save_record(nc, rec, err);
}

/* A machine that failed or never came up: delete it and the record, then
 * report the failure (the original leaked exactly these). */
static int abandon(struct node_ctx *nc, struct json_object *rec, const struct machine *m,
                   const char *why, struct as_error *err)
{
    const char *name = jx_str(rec, "name", "");
    char cleanup[256] = "deleted the machine and its record";
    struct as_error cerr;
    as_error_clear(&cerr);
    if (m->id[0] && m->state != MACHINE_GONE &&
        (compute_destroy(nc->compute, m->id, &cerr) < 0 ||
         wait_gone(nc, m->id, as_now() + NODE_CLEANUP_WAIT_S, &cerr) != 0)) {
        snprintf(cleanup, sizeof cleanup,
                 "could not delete machine %s (%s): its record is kept for reconcile",
                 m->id, cerr.code[0] ? cerr.code : "timeout");
        jx_add_str(rec, "state", node_state_name(NODE_FAILED));
        node_save_record(nc, rec, &cerr);
    } else if (drop_record(nc, name, &cerr) < 0) {
        snprintf(cleanup, sizeof cleanup, "deleted the machine; its record remains");
    }
    return as_fail(err, AS_EXIT_FAILURE, "node_failed", "node %s %s; %s", name, why,
                   cleanup);
}

/* How node_add and node_remove end: rec put, rc returned. A failure after
 * this run's first write (a record written or marked 'deleting', a machine
 * made) is AS_EXIT_FAILURE even when its cause was bad input, such as a
 * provider refusing a stored id: exit 2 promises that nothing changed. */
static int node_done(struct json_object *rec, int rc, bool changed, struct as_error *err)
{
    if (rc < 0 && changed && err->exit == AS_EXIT_BADINPUT)
        err->exit = AS_EXIT_FAILURE;
    json_object_put(rec);
    return rc;
}

int node_add(struct node_ctx *nc, const char *node, const char *execution_id, bool warm,
             struct json_object **out, struct as_error *err)
{
    /* A pool node is recorded warming from the start, so that nothing
     * (governor, LB, scale-in) ever counts it as capacity; it stays warming
     * once its machine is up, until node_park. */
    enum node_state adding = warm ? NODE_WARMING : NODE_BUILDING;
    enum node_state done = warm ? NODE_WARM : NODE_ACTIVE;
    char name[64], why[320];
    struct json_object *rec = NULL;
    struct machine m;
    int rc;

    memset(&m, 0, sizeof m);
    if (node) {
        if (node_check_name(node, err) < 0)
            return -1;
        snprintf(name, sizeof name, "%s", node);
    } else {
        node_name_for(nc->group->name, execution_id, name);
    }
    if ((rc = node_record_load(nc->ds, nc->group->name, name, &rec, err)) < 0)
        return -1;
    if (rc == 1 && node_record_state(rec) == done) {
        *out = result(rec, false); /* a retry of a finished add */
        json_object_put(rec);
        return 0;
    }
    if (rc == 1 && node_record_state(rec) != adding) {
        as_fail(err, AS_EXIT_BADINPUT, "node_busy", "node %s is %s, not being added%s",
                name, jx_str(rec, "state", "?"), warm ? " to the warm pool" : "");
        json_object_put(rec);
        return -1;
    }
    int found = -1;
    bool changed = false;
    if (!rec) {
        /* Ask the provider first what needs no write: find() signs in and
         * resolves the endpoints, so bad settings and credentials are
         * refused before anything is recorded (a refusal changes nothing). */
        if ((found = compute_find(nc->compute, nc->group->name, name, &m, err)) < 0)
            return -1;
        rec = new_record(nc, name, execution_id, adding);
        if (node_save_record(nc, rec, err) < 0)
            goto fail;
        changed = true;
    }
    if (obtain_machine(nc, rec, found, &m, err) < 0) {
        /* A refused create made no machine: take back the record this run
         * wrote, so that exit 2 still means "nothing changed". Any other
         * failure keeps it "building" for reconcile. */
        if (err->exit == AS_EXIT_BADINPUT && changed && !jx_str(rec, "provider_id", NULL)) {
            struct as_error derr;
            as_error_clear(&derr);
            if (drop_record(nc, name, &derr) == 0)
                changed = false;
        }
        goto fail;
    }
    changed = true; /* from here on a machine exists */
    if ((rc = wait_settled(nc, m.id, as_now() + nc->deadline, &m, err)) < 0)
        goto fail;
    if (rc == 1 || m.state != MACHINE_ACTIVE) {
        snprintf(why, sizeof why, "%s",
                 rc == 1 ? "was not active before the deadline"
                 : m.state == MACHINE_GONE ? "vanished while building"
                                           : "failed to build");
        if (m.detail[0])
            snprintf(why + strlen(why), sizeof why - strlen(why), " (%s)", m.detail);
        abandon(nc, rec, &m, why, err);
        goto fail;
    }
    node_record_machine(rec, &m);
    if (warm) { /* node_park finishes it; node_activate protects it */
        if (node_save_record(nc, rec, err) < 0)
            goto fail;
        log_info("node %s: up at %s for the warm pool", name, m.address);
        *out = result(rec, true);
        return node_done(rec, 0, changed, err);
    }
    /* Protected before it is active, so no scale-in ever sees it bare; a
     * retry after a crash between the two protects again, which is a
     * no-op (controls_protect writes only what differs). */
    if (nc->group->protect_new == 1) {
        struct json_object *p = NULL;
        if (controls_protect(nc->ds, nc->group->name, name, true, CONTROL_REASON_NEW,
                             as_now(), &p, err) < 0)
            goto fail;
        json_object_put(p);
    }
    jx_add_str(rec, "state", node_state_name(NODE_ACTIVE));
    if (node_save_record(nc, rec, err) < 0)
        goto fail;
    log_info("node %s: active at %s", name, m.address);
    *out = result(rec, true);
    return node_done(rec, 0, changed, err);
fail:
    return node_done(rec, -1, changed, err);
}

/* ---- remove ---- */

/* What only a node had: its protection and its health record. Deleted once
 * the node is gone, and again by a retry that finds nothing of it (a crash
 * between the node's record and these leaves them for that retry). */
static int forget_extras(struct node_ctx *nc, const char *node, struct as_error *err)
{
    char key[KEY_MAX];
    if (controls_forget_node(nc->ds, nc->group->name, node, err) < 0)
        return -1;
    return ds_del(nc->ds, key_health(key, nc->group->name, node), err);
}

int node_remove(struct node_ctx *nc, const char *node, struct json_object **out,
                struct as_error *err)
{
    struct json_object *rec = NULL;
    struct machine m;
    bool changed = false;
    int rc;

    if (node_check_name(node, err) < 0 ||
        (rc = node_record_load(nc->ds, nc->group->name, node, &rec, err)) < 0)
        return -1;
    memset(&m, 0, sizeof m);
    const char *id = rec ? jx_str(rec, "provider_id", NULL) : NULL;
    if (!id) { /* no record, or the create never got an id: look by name */
        int found = compute_find(nc->compute, nc->group->name, node, &m, err);
        if (found < 0)
            goto fail;
        id = found ? m.id : NULL;
    }
    if (!rec && !id) { /* nothing of it anywhere: already removed */
        if (forget_extras(nc, node, err) < 0)
            goto fail;
        *out = jx_new_object();
        jx_add_str(*out, "node", node);
        jx_add_bool(*out, "changed", false);
        return 0;
    }
    if (rec) {
        jx_add_str(rec, "state", node_state_name(NODE_DELETING));
        if (node_save_record(nc, rec, err) < 0)
            goto fail;
        changed = true;
    }
    char idbuf[128];
    snprintf(idbuf, sizeof idbuf, "%s", id ? id : "");
    if (idbuf[0] && (compute_destroy(nc->compute, idbuf, err) < 0 ||
                     (rc = wait_gone(nc, idbuf, as_now() + nc->deadline, err)) < 0))
        goto fail;
    if (idbuf[0] && rc == 1) {
        as_fail(err, AS_EXIT_FAILURE, "node_remove_timeout",
                "machine %s of node %s was still there at the deadline; the record "
                "stays 'deleting' for a retry or reconcile",
                idbuf, node);
        goto fail;
    }
    if (drop_record(nc, node, err) < 0 || forget_extras(nc, node, err) < 0)
        goto fail;
    log_info("node %s: removed", node);
    *out = jx_new_object();
    jx_add_str(*out, "node", node);
    jx_add_str(*out, "provider_id", idbuf[0] ? idbuf : NULL);
    jx_add_bool(*out, "changed", true);
    return node_done(rec, 0, changed, err);
fail:
    return node_done(rec, -1, changed, err);
}

/* ---- reconcile and list ---- */

struct inventory {
    struct node_records records;
    struct machine *machines;
    size_t nmachines;
};

static int take_inventory(struct node_ctx *nc, struct inventory *inv, struct as_error *err)
{
    memset(inv, 0, sizeof *inv);
    if (node_records_load(nc->ds, nc->group->name, &inv->records, err) < 0)
        return -1;
    if (compute_list(nc->compute, nc->group->name, &inv->machines, &inv->nmachines,
                      err) < 0) {
        node_records_clear(&inv->records);
        return -1;
    }
    return 0;
}

static void free_inventory(struct inventory *inv)
{
    node_records_clear(&inv->records);
    free(inv->machines);
}

static const struct machine *machine_named(const struct inventory *inv, const char *name)
{
    for (size_t i = 0; i < inv->nmachines; i++)
        if (strcmp(inv->machines[i].name, name) == 0)
            return &inv->machines[i];
    return NULL;
}

static bool has_record(const struct inventory *inv, const char *name)
{
    for (size_t i = 0; i < inv->records.count; i++)
        if (strcmp(inv->records.items[i].name, name) == 0)
            return true;
    return false;
}

static struct json_object *finding(const char *node, const char *id, const char *what,
                                   const char *action)
{
    struct json_object *o = jx_new_object();
    jx_add_str(o, "node", node);
    jx_add_str(o, "provider_id", id);
    jx_add_str(o, "problem", what);
    jx_add_str(o, "action", action);
    return o;
}

/* Machines of the group that no record knows: destroyed, or adopted. */
static int orphans(struct node_ctx *nc, struct inventory *inv, bool fix, bool adopt,
                   struct json_object *list, struct as_error *err)
{
    for (size_t i = 0; i < inv->nmachines; i++) {
        const struct machine *m = &inv->machines[i];
        if (m->state == MACHINE_GONE || has_record(inv, m->name))
            continue;
        const char *action = !fix ? "none" : adopt ? "adopted" : "destroyed";
        if (fix && adopt && node_check_name(m->name, NULL) == 0) {
            struct json_object *rec = new_record(nc, m->name, NULL, NODE_BUILDING);
            node_record_machine(rec, m);
            jx_add_str(rec, "state", node_state_name(m->state == MACHINE_ACTIVE
                                                         ? NODE_ACTIVE : NODE_BUILDING));
            int rc = node_save_record(nc, rec, err);
            json_object_put(rec);
            if (rc < 0)
                return -1;
        } else if (fix && compute_destroy(nc->compute, m->id, err) < 0) {
            return -1;
        }
        json_object_array_add(list, finding(m->name, m->id, "orphan", action));
    }
    return 0;
}

/* Being built: for a pool node taken by a scale-out, since it was taken
 * (its created_at is the pool's, long ago). */
static bool stuck(struct json_object *rec, long long now, long long stuck_after)
{
    enum node_state st = node_record_state(rec);
    long long since = jx_int(rec, "taken_at", 0) ? jx_int(rec, "taken_at", 0)
                                                 : jx_int(rec, "created_at", now);
    return (st == NODE_BUILDING || st == NODE_WARMING) && now - since > stuck_after;
}

/* Records whose machine is gone (ghosts) or that stayed building (or
 * warming) too long. */
static int ghosts_and_stuck(struct node_ctx *nc, struct inventory *inv, bool fix,
                            long long stuck_after, struct json_object *list,
                            struct as_error *err)
{
    long long now = as_now();
    for (size_t i = 0; i < inv->records.count; i++) {
        const struct node_entry *e = &inv->records.items[i];
        const char *name = e->name;
        const struct machine *m = machine_named(inv, name);
        const char *problem = NULL;
        if (!e->rec)
            problem = "corrupt";
        else if (stuck(e->rec, now, stuck_after))
            problem = "stuck";
        else if ((!m || m->state == MACHINE_GONE) && e->state != NODE_BUILDING &&
                 e->state != NODE_WARMING)
            problem = "ghost";
        int rc = 0;
        if (problem && fix && m && m->state != MACHINE_GONE)
            rc = compute_destroy(nc->compute, m->id, err);
        if (problem && fix && rc == 0)
            rc = drop_record(nc, name, err);
        if (problem)
            json_object_array_add(list, finding(name, m ? m->id : NULL, problem,
                                                fix ? "dropped" : "none"));
        if (rc < 0)
            return -1;
    }
    return 0;
}

int node_reconcile(struct node_ctx *nc, bool fix, bool adopt, long long stuck_after,
                   struct json_object **out, struct as_error *err)
{
    struct inventory inv;
    if (take_inventory(nc, &inv, err) < 0)
        return -1;
    struct json_object *list = jx_new_array();
    int rc = orphans(nc, &inv, fix, adopt, list, err);
    if (rc == 0)
        rc = ghosts_and_stuck(nc, &inv, fix, stuck_after, list, err);
    if (rc == 0) {
        *out = jx_new_object();
        jx_add_str(*out, "group", nc->group->name);
        jx_add_int(*out, "records", (long long)inv.records.count);
        jx_add_int(*out, "machines", (long long)inv.nmachines);
        jx_add_bool(*out, "fixed", fix);
        json_object_object_add(*out, "findings", list);
    } else {
        json_object_put(list);
    }
    free_inventory(&inv);
    return rc;
}

int node_list(struct node_ctx *nc, struct json_object **out, struct as_error *err)
{
    struct inventory inv;
    if (take_inventory(nc, &inv, err) < 0)
        return -1;
    struct json_object *nodes = jx_new_array();
    for (size_t i = 0; i < inv.records.count; i++) {
        struct json_object *rec = inv.records.items[i].rec;
        if (!rec)
            continue;
        rec = json_object_get(rec); /* the list keeps it past free_inventory */
        const struct machine *m = machine_named(&inv, jx_str(rec, "name", ""));
        jx_add_str(rec, "provider_state", machine_state_name(m ? m->state : MACHINE_GONE));
        json_object_array_add(nodes, rec);
    }
    *out = jx_new_object();
    jx_add_str(*out, "group", nc->group->name);
    jx_add_int(*out, "count", (long long)json_object_array_length(nodes));
    json_object_object_add(*out, "nodes", nodes);
    free_inventory(&inv);
    return 0;
}
