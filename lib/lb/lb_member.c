/* lb_member.c - what lb_add, lb_remove and lb_sync (and node_pick's
 * least_loaded, and health_check) do with a group's load balancer, once for every provider
 * (lb.h; the providers are lb_int.h's, opened by lb.c).
 *
 * Order of work, and why:
 *  - everything a command will carry (backend, node name, address, port,
 *    droplet id) is validated before the first byte is sent;
 *  - adding: look first (a retry finds its own work done and changes
 *    nothing), add, enable; a member we added that then fails to enable is
 *    removed again, so a failed lb_add never leaves a disabled server behind;
 *  - removing: drain, wait for the member's sessions to end or for the
 *    deadline, then remove. Past the deadline the remaining sessions are cut
 *    (like a cloud load balancer's deregistration delay) and the output says
 *    so: an operator's timeout is a promise that the node goes;
 *  - syncing: new capacity first (adds and enables), then the removals, so a
 *    backend never has fewer servers than needed in between. */
#include "lb_int.h"

#include "asg.h"
#include "clock.h"
#include "datastore.h"
#include "jsonx.h"
#include "log.h"
#include "node.h"
#include "signals.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Once the drain is over (or cut), how long removal may keep retrying a
 * member the provider still finds busy. */
#define LB_DELETE_GRACE_MS 10000
/* Removing a half-added member: it never took traffic, so this is short. */
#define LB_UNDO_MS 5000

/* ------------------------------------------------------------- context -- */

int lb_ctx_open(struct lb_ctx *c, struct ds *ds, const char *name, const struct lb_params *p,
                const char *allowed, struct as_error *err)
{
    memset(c, 0, sizeof *c);
    if (group_check_name(name, err) < 0)
        return -1;
    c->ds = ds;
    if (asg_load_spec(ds, name, &c->group, err) < 0)
        return -1;

    const char *be = c->group.lb_backend && *c->group.lb_backend ? c->group.lb_backend
                                                                 : c->group.name;
    if (!lb_name_ok(be)) {
        as_fail(err, AS_EXIT_BADINPUT, "invalid_backend",
                "group %s: lb_backend must be 1 to 63 of letters, digits and _.:-",
                c->group.name);
        goto fail;
    }
    snprintf(c->backend, sizeof c->backend, "%s", be);
    if (lb_open(c, p, allowed, err) < 0)
        goto fail;
    return 0;

fail:
    group_clear(&c->group);
    c->ops = NULL;
    return -1;
}

void lb_ctx_close(struct lb_ctx *c)
{
    if (c->lb)
        c->ops->close(c->lb);
    c->lb = NULL;
    c->ops = NULL;
    group_clear(&c->group);
}

const char *lb_ctx_provider(const struct lb_ctx *c)
{
    return c->ops->name;
}

/* --------------------------------------------------------------- nodes -- */

/* A node as the load balancer should hold it, with its own copies. */
struct target {
    char name[64];
    char address[64];
    char provider_id[128];
    struct lb_target t;
    const char *key; /* t.name or t.provider_id, per the provider */
};

static bool ipv4_ok(const char *s)
{
    struct in_addr a;
    return s && strlen(s) < 16 && inet_pton(AF_INET, s, &a) == 1;
}

/* Fill *tg from a node record. need_address: the node is to be added, so
 * its address and port must be usable; removal only needs the key. */
static int make_target(const struct lb_ctx *c, struct json_object *rec, const char *node,
                       bool need_address, struct target *tg, struct as_error *err)
{
    const char *addr = jx_str(rec, "address", NULL);
    const char *pid = jx_str(rec, "provider_id", NULL);
    long long port = jx_int(rec, "port", 0);

    memset(tg, 0, sizeof *tg);
    snprintf(tg->name, sizeof tg->name, "%s", node);
    if (need_address && (!addr || !*addr))
        return as_fail(err, AS_EXIT_BADINPUT, "node_not_ready",
                       "node %s has no address yet", node);
    if (need_address && !ipv4_ok(addr))
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_address",
                       "node %s: its recorded address is not an IPv4 address", node);
    if (port == 0)
        port = c->server_port;
    if (need_address && (port < 1 || port > 65535))
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_address",
                       "node %s: its recorded port is not a port number", node);
    snprintf(tg->address, sizeof tg->address, "%s", addr && ipv4_ok(addr) ? addr : "");
    snprintf(tg->provider_id, sizeof tg->provider_id, "%s", pid ? pid : "");
    tg->t.name = tg->name;
    tg->t.address = tg->address;
    tg->t.port = (int)port;
    tg->t.provider_id = tg->provider_id[0] ? tg->provider_id : NULL;
    tg->key = c->ops->by_id ? tg->provider_id : tg->name;
    if (c->ops->by_id && !lb_name_ok(tg->key))
        return as_fail(err, AS_EXIT_BADINPUT, "node_no_provider_id",
                       "node %s has no usable %s id in its record", node, c->ops->name);
    return 0;
}

/* The record of a node named by a parameter: 0 with *rec, or -1. */
static int load_node(const struct lb_ctx *c, const char *node, struct json_object **rec,
                     struct as_error *err)
{
    if (node_check_name(node, err) < 0)
        return -1;
    int rc = node_record_load(c->ds, c->group.name, node, rec, err);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return as_fail(err, AS_EXIT_BADINPUT, "unknown_node", "group %s has no node %s",
                       c->group.name, node);
    return 0;
}

/* -------------------------------------------------------------- output -- */

static const char *admin_name(enum lb_admin a)
{
    static const char *const names[] = {"ready", "drain", "maint"};
    return a <= LB_MAINT ? names[a] : "unknown";
}

static struct json_object *member_json(const struct lb_member *m)
{
    struct json_object *o = jx_new_object();
    jx_add_str(o, "member", m->key);
    jx_add_str(o, "address", m->address[0] ? m->address : NULL);
    if (m->port > 0)
        jx_add_int(o, "port", m->port);
    jx_add_str(o, "state", admin_name(m->admin));
    jx_add_str(o, "status", m->status);
    if (m->sessions >= 0)
        jx_add_int(o, "sessions", m->sessions);
    return o;
}

static struct json_object *result_head(const struct lb_ctx *c, const char *node)
{
    struct json_object *o = jx_new_object();
    jx_add_str(o, "group", c->group.name);
    if (node)
        jx_add_str(o, "node", node);
    jx_add_str(o, "provider", c->ops->name);
    jx_add_str(o, "backend", c->backend);
    return o;
}

/* What an action says when the group has no load balancer. */
static struct json_object *nothing_to_do(const struct lb_ctx *c, const char *node)
{
    struct json_object *o = result_head(c, node);
    jx_add_bool(o, "changed", false);
    jx_add_str(o, "message", "the group has no load balancer (lb_provider none): "
                             "nothing to do");
    return o;
}

/* Append to an error's message (as_error_prefix only prepends). */
static void error_append(struct as_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void error_append(struct as_error *err, const char *fmt, ...)
{
    size_t n = strlen(err->message);
    va_list ap;
    va_start(ap, fmt);
    if (n < sizeof err->message - 1)
        vsnprintf(err->message + n, sizeof err->message - n, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- add -- */

static bool same_place(const struct lb_member *m, const struct lb_target *t)
{
    if (!m->address[0]) /* the provider does not say: the key is the identity */
        return true;
    return strcmp(m->address, t->address) == 0 && (m->port == 0 || m->port == t->port);
}

static int conflict(const struct lb_ctx *c, const struct lb_member *m,
                    const struct lb_target *t, struct as_error *err)
{
    return as_fail(err, AS_EXIT_BADINPUT, "lb_conflict",
                   "%s/%s already exists with address %s:%d, not %s:%d (lb_sync replaces it)",
                   c->backend, m->key, m->address, m->port, t->address, t->port);
}

/* Remove a member we added but could not enable; the outcome goes into the
 * message of the error that made us do it. */
static void undo_add(const struct lb_ctx *c, const char *key, struct as_error *err)
{
    struct as_error e;
    memset(&e, 0, sizeof e);
    if (c->ops->remove(c->lb, key, as_mono_ms() + LB_UNDO_MS, true, &e) < 0) {
        log_error("%s/%s was added but not enabled, and could not be removed: %s",
                  c->backend, key, e.message);
        error_append(err, "; the half-added member could not be removed: %s", e.message);
        return;
    }
    log_warn("%s/%s was added but not enabled: removed it again", c->backend, key);
    error_append(err, "%s", "; the half-added member was removed again");
}

/* The target in the backend and ready: 1 changed, 0 it already was, -1
 * error. *m is the member afterwards. */
static int add_target(const struct lb_ctx *c, const struct target *tg, struct lb_member *m,
                      struct as_error *err)
{
    const struct lb_ops *ops = c->ops;
    int rc = ops->get(c->lb, tg->key, m, err), added = 0;

    if (rc < 0)
        return -1;
    if (rc == 1 && !same_place(m, &tg->t))
        return conflict(c, m, &tg->t, err);
    if (rc == 1 && (m->admin == LB_READY || !ops->enable))
        return 0; /* a retry, or someone else's identical work */
    if (rc == 0) {
        if ((added = ops->add(c->lb, &tg->t, err)) < 0)
            return -1;
        m->admin = LB_MAINT; /* where a new member starts */
        if (!added) { /* appeared between get and add */
            if (ops->get(c->lb, tg->key, m, err) < 0)
                return -1;
            if (!same_place(m, &tg->t))
                return conflict(c, m, &tg->t, err);
        }
    }
    if (ops->enable && ops->enable(c->lb, tg->key, m->admin, err) < 0) {
        if (added)
            undo_add(c, tg->key, err);
        return -1;
    }
    if ((rc = ops->get(c->lb, tg->key, m, err)) < 0)
        return -1;
    if (rc == 0)
        return as_fail(err, AS_EXIT_FAILURE, "lb_error",
                       "%s/%s vanished right after it was added (a reload?)", c->backend,
                       tg->key);
    log_info("%s/%s %s (%s:%d)", c->backend, tg->key, added ? "added" : "enabled",
             tg->address, tg->t.port);
    return 1;
}

static enum lb_health health_of(const struct lb_member *m);

/* lb_add's last step: wait while the provider's check says DOWN. HAProxy
 * sends a new server nothing until its check passes (lb_haproxy.c), so
 * returning at once would report a node "in" that serves nothing yet, and a
 * node that never passes would sit DOWN unnoticed instead of failing its
 * node_up. A member without a verdict (checks off, DigitalOcean) is not
 * waited for. The check passes ~0.2 s after the node answers (two checks
 * 100 ms apart); looks back off from 10 ms to 50 ms, so the workflow's next
 * step starts at most half a check after it. */
#define LB_CHECK_LOOK_MAX_MS 50
static int wait_healthy(const struct lb_ctx *c, const char *key, struct lb_member *m,
                        long long timeout_s, struct as_error *err)
{
    long long deadline = as_mono_ms() + timeout_s * 1000;
    struct as_backoff b;
    as_backoff_init(&b, 10, LB_CHECK_LOOK_MAX_MS);
    while (timeout_s > 0 && health_of(m) == LB_HEALTH_DOWN) {
        long long left = deadline - as_mono_ms();
        if (left <= 0)
            return as_fail(err, AS_EXIT_FAILURE, "lb_unhealthy",
                           "%s/%s is still %s after %llds: its health check has not passed "
                           "(it takes traffic once it does; lb_remove takes it out)",
                           c->backend, key, m->status, timeout_s);
        if (as_sleep_ms(as_backoff_next(&b, left)) < 0)
            return as_fail(err, AS_EXIT_FAILURE, "interrupted",
                           "interrupted while %s/%s waited for its health check (it is "
                           "in, and takes traffic once the check passes)",
                           c->backend, key);
        int rc = c->ops->get(c->lb, key, m, err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return as_fail(err, AS_EXIT_FAILURE, "lb_error",
                           "%s/%s vanished while waiting for its health check", c->backend,
                           key);
        if (m->admin != LB_READY)
            return as_fail(err, AS_EXIT_FAILURE, "lb_error",
                           "%s/%s was taken out of rotation (%s) while waiting for its "
                           "health check",
                           c->backend, key, m->status);
    }
    return 0;
}

int lb_add_node(struct lb_ctx *c, const char *node, long long check_timeout_s,
                struct json_object **out, struct as_error *err)
{
    struct json_object *rec = NULL;
    struct target tg;
    struct lb_member m;

    if (load_node(c, node, &rec, err) < 0)
        return -1;
    enum node_state st = node_record_state(rec);
    int rc = -1;
    if (st != NODE_ACTIVE) {
        as_fail(err, AS_EXIT_BADINPUT, "node_not_active",
                "node %s is %s: only active nodes join the load balancer", node,
                node_state_name(st));
        goto done;
    }
    if (strcmp(c->group.status, "active") != 0) {
        as_fail(err, AS_EXIT_BADINPUT, "group_conflict",
                "group %s is being deleted: no new load balancer members", c->group.name);
        goto done;
    }
    if (make_target(c, rec, node, true, &tg, err) < 0)
        goto done;
    if (!c->lb) {
        *out = nothing_to_do(c, node);
        rc = 0;
        goto done;
    }
    memset(&m, 0, sizeof m);
    if ((rc = add_target(c, &tg, &m, err)) < 0)
        goto done;
    /* A retry waits too: "in and ready" is only true once checked. */
    long long started = as_mono_ms();
    bool changed = rc == 1;
    if ((rc = wait_healthy(c, tg.key, &m, check_timeout_s, err)) < 0)
        goto done;
    *out = result_head(c, node);
    jx_add_bool(*out, "changed", changed);
    json_object_object_add(*out, "server", member_json(&m));
    jx_add_int(*out, "health_wait_ms", as_mono_ms() - started);
    rc = 0;
done:
    json_object_put(rec);
    return rc;
}

/* ------------------------------------------------------------- remove -- */

/* One member on its way out. */
struct removal {
    char key[64];
    bool present;   /* found at the start */
    bool draining;  /* drained, waiting for its sessions */
    bool drained;   /* its sessions reached zero before the deadline */
    long long sessions_left;
    bool cut;       /* sessions were cut at the deadline */
    int removed;    /* 1 removed, 0 found absent, -1 failed */
    struct as_error err;
};

/* Phase 1: look, and drain what the provider can drain. */
static void removal_start(const struct lb_ctx *c, struct removal *r)
{
    struct lb_member m;
    int rc = c->ops->get(c->lb, r->key, &m, &r->err);
    if (rc <= 0) {
        r->removed = rc;
        return;
    }
    r->present = true;
    r->sessions_left = m.sessions;
    if (!c->ops->drain)
        return;
    if ((rc = c->ops->drain(c->lb, r->key, &r->err)) <= 0) {
        r->removed = rc; /* 0: someone removed it meanwhile */
        r->present = rc == 0 ? false : r->present;
        return;
    }
    r->draining = true;
    log_info("%s/%s draining (%lld sessions)", c->backend, r->key, m.sessions);
}

/* Phase 2: wait until no draining member has sessions, or the deadline.
 * The looks back off from an eighth of the provider's interval up to it: a
 * member idle already (the usual scale-in) is gone after one short wait
 * instead of a whole interval, and a busy one costs the provider no more
 * requests than before. -1 only when interrupted. */
static int removal_wait(const struct lb_ctx *c, struct removal *r, size_t n,
                        long long deadline, struct as_error *err)
{
    struct as_backoff b;
    as_backoff_init(&b, c->ops->poll_ms / 8 > 10 ? c->ops->poll_ms / 8 : 10, c->ops->poll_ms);
    for (;;) {
        size_t pending = 0;
        for (size_t i = 0; i < n; i++) {
            struct lb_member m;
            if (!r[i].draining || r[i].drained || r[i].removed < 0)
                continue;
            int rc = c->ops->get(c->lb, r[i].key, &m, &r[i].err);
            if (rc <= 0) {
                r[i].removed = rc;
                r[i].draining = false;
                continue;
            }
            r[i].sessions_left = m.sessions;
            if (m.sessions <= 0)
                r[i].drained = true;
            else
                pending++;
        }
        long long left = deadline - as_mono_ms();
        if (!pending || left <= 0)
            return 0;
        if (as_sleep_ms(as_backoff_next(&b, left)) < 0)
            return as_fail(err, AS_EXIT_FAILURE, "interrupted",
                           "interrupted while draining: the member stays in drain "
                           "(no new traffic); run lb_remove again");
    }
}

/* Phase 3: remove each member still there, cutting the sessions of one
 * that did not drain in time. */
static void removal_finish(const struct lb_ctx *c, struct removal *r, long long deadline)
{
    if (r->removed < 0 || (!r->present && r->removed == 0))
        return;
    if (r->present && !r->draining && c->ops->drain) { /* vanished while waiting */
        r->removed = 0;
        return;
    }
    r->cut = r->draining && !r->drained;
    if (r->cut)
        log_warn("%s/%s still has %lld sessions at the drain deadline: cutting them",
                 c->backend, r->key, r->sessions_left);
    r->removed = c->ops->remove(c->lb, r->key, deadline, r->cut, &r->err);
    if (r->removed > 0)
        log_info("%s/%s removed", c->backend, r->key);
}

/* Drain all of them at once, wait for all, remove each. Per-member
 * failures land in r[i].err (removed -1); -1 only when interrupted. */
static int remove_members(const struct lb_ctx *c, struct removal *r, size_t n,
                          long long drain_s, struct as_error *err)
{
    long long deadline = as_mono_ms() + drain_s * 1000;
    for (size_t i = 0; i < n; i++)
        removal_start(c, &r[i]);
    if (c->ops->drain && removal_wait(c, r, n, deadline, err) < 0)
        return -1;
    long long now = as_mono_ms();
    long long rm_deadline = (now > deadline ? now : deadline) + LB_DELETE_GRACE_MS;
    for (size_t i = 0; i < n && !as_interrupted(); i++)
        removal_finish(c, &r[i], rm_deadline);
    if (as_interrupted())
        return as_fail(err, AS_EXIT_FAILURE, "interrupted", "interrupted while removing");
    return 0;
}

static long long check_drain(long long drain_s, struct as_error *err)
{
    if (drain_s < 0 || drain_s > LB_DRAIN_MAX_S)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'drain_timeout' must be between 0 and %d seconds",
                       LB_DRAIN_MAX_S);
    return 0;
}

int lb_remove_node(struct lb_ctx *c, const char *node, long long drain_s,
                   struct json_object **out, struct as_error *err)
{
    struct json_object *rec = NULL;
    struct target tg;
    struct removal r;
    int rc = -1;

    if (check_drain(drain_s, err) < 0 || node_check_name(node, err) < 0)
        return -1;
    int found = node_record_load(c->ds, c->group.name, node, &rec, err);
    if (found < 0)
        return -1;
    if (!c->lb) {
        *out = nothing_to_do(c, node);
        rc = 0;
        goto done;
    }
    if (!found && c->ops->by_id) {
        /* Without the record there is no droplet id to look for. */
        *out = result_head(c, node);
        json_object_object_add(*out, "member", NULL);
        jx_add_bool(*out, "changed", false);
        jx_add_bool(*out, "existed", false);
        jx_add_str(*out, "message", "the node has no record any more: its member cannot be "
                                    "identified (lb_sync removes members no active node "
                                    "claims)");
        rc = 0;
        goto done;
    }
    if (!found) { /* the record is gone: the member, if any, has the node's name */
        log_info("node %s has no record: looking for member %s/%s by name", node, c->backend,
                 node);
        rec = jx_new_object();
    }
    if (make_target(c, rec, node, false, &tg, err) < 0)
        goto done;
    long long started = as_mono_ms();
    memset(&r, 0, sizeof r);
    snprintf(r.key, sizeof r.key, "%s", tg.key);
    if (remove_members(c, &r, 1, drain_s, err) < 0)
        goto done;
    if (r.removed < 0) {
        *err = r.err;
        goto done;
    }
    *out = result_head(c, node);
    jx_add_str(*out, "member", r.key);
    jx_add_bool(*out, "changed", r.removed > 0);
    jx_add_bool(*out, "existed", r.present);
    if (c->ops->drain && r.present) {
        jx_add_bool(*out, "drained", r.drained);
        jx_add_bool(*out, "sessions_cut", r.cut);
        jx_add_int(*out, "sessions_left", r.cut && r.sessions_left > 0 ? r.sessions_left : 0);
    }
    jx_add_int(*out, "waited_ms", as_mono_ms() - started);
    if (r.cut)
        jx_add_str(*out, "message", "the drain timed out: the remaining sessions were cut");
    rc = 0;
done:
    json_object_put(rec);
    return rc;
}

/* --------------------------------------------------------------- sync -- */

struct plan {
    struct target *targets; /* active nodes */
    size_t ntargets;
    int *action;            /* per target: what to do (enum below) */
    struct lb_member *members;
    size_t nmembers;
    bool *claimed;          /* per member: an active node's */
    struct json_object *skipped;
};

enum { DO_KEEP, DO_ADD, DO_ENABLE, DO_REPLACE };

static void plan_clear(struct plan *p)
{
    free(p->targets);
    free(p->action);
    free(p->members);
    free(p->claimed);
    json_object_put(p->skipped);
    memset(p, 0, sizeof *p);
}

static void skip(struct plan *p, const char *what, const char *reason)
{
    struct json_object *o = jx_new_object();
    jx_add_str(o, "name", what);
    jx_add_str(o, "reason", reason);
    json_object_array_add(p->skipped, o);
}

/* Every active node of the group, as targets. An active record that cannot
 * be one (no address, a bad one) is skipped and reported, not fatal: one
 * broken record must not keep every other node out of the backend. */
static int plan_targets(const struct lb_ctx *c, struct plan *p, struct as_error *err)
{
    struct node_records all;
    if (node_records_load(c->ds, c->group.name, &all, err) < 0)
        return -1;
    p->targets = xcalloc(all.count ? all.count : 1, sizeof *p->targets);
    for (size_t i = 0; i < all.count; i++) {
        const struct node_entry *e = &all.items[i];
        struct as_error ee;
        if (!node_entry_ok(e)) {
            skip(p, e->name, "unreadable record");
        } else if (e->state == NODE_ACTIVE) {
            if (make_target(c, e->rec, e->name, true, &p->targets[p->ntargets], &ee) == 0)
                p->ntargets++;
            else
                skip(p, e->name, ee.message);
        }
    }
    node_records_clear(&all);
    return 0;
}

static int plan_make(const struct lb_ctx *c, struct plan *p, struct as_error *err)
{
    memset(p, 0, sizeof *p);
    p->skipped = jx_new_array();
    if (plan_targets(c, p, err) < 0 ||
        c->ops->list(c->lb, &p->members, &p->nmembers, err) < 0)
        return -1;
    p->action = xcalloc(p->ntargets + 1, sizeof *p->action);
    p->claimed = xcalloc(p->nmembers + 1, sizeof *p->claimed);
    for (size_t i = 0; i < p->ntargets; i++) {
        const struct target *tg = &p->targets[i];
        p->action[i] = DO_ADD;
        for (size_t j = 0; j < p->nmembers; j++) {
            const struct lb_member *m = &p->members[j];
            if (p->claimed[j] || strcmp(m->key, tg->key) != 0)
                continue;
            p->claimed[j] = true;
            if (!same_place(m, &tg->t))
                p->action[i] = DO_REPLACE;
            else if (m->admin != LB_READY && c->ops->enable)
                p->action[i] = DO_ENABLE;
            else
                p->action[i] = DO_KEEP;
            break;
        }
    }
    for (size_t j = 0; j < p->nmembers; j++)
        if (!p->claimed[j] && !lb_name_ok(p->members[j].key)) {
            p->claimed[j] = true; /* never put an unsafe name into a command */
            skip(p, p->members[j].key, "member name unsafe to send in a command");
        }
    return 0;
}

/* Results and failures of a sync, collected as it goes. */
struct tally {
    struct json_object *added, *enabled, *replaced, *removed, *kept, *cut;
    int failures;
    struct as_error first;
    char summary[400];
};

static void tally_fail(struct tally *t, const char *what, const struct as_error *e)
{
    if (!t->failures++)
        t->first = *e;
    size_t n = strlen(t->summary);
    if (n < sizeof t->summary - 1)
        snprintf(t->summary + n, sizeof t->summary - n, "%s%.63s: %.160s", n ? "; " : "", what,
                 e->message);
    log_error("lb_sync: %s: %s", what, e->message);
}

static void sync_adds(const struct lb_ctx *c, const struct plan *p, struct tally *t,
                      bool dry)
{
    for (size_t i = 0; i < p->ntargets && !as_interrupted(); i++) {
        const struct target *tg = &p->targets[i];
        struct json_object *list = p->action[i] == DO_ADD      ? t->added
                                   : p->action[i] == DO_ENABLE ? t->enabled
                                                               : t->kept;
        if (p->action[i] == DO_REPLACE)
            continue;
        if (p->action[i] != DO_KEEP && !dry) {
            struct lb_member m;
            struct as_error e;
            memset(&e, 0, sizeof e);
            if (add_target(c, tg, &m, &e) < 0) {
                tally_fail(t, tg->name, &e);
                continue;
            }
        }
        json_object_array_add(list, jx_new_string(tg->name));
    }
}

/* Strangers and misplaced members out (drained together), then the
 * misplaced ones back at their right address. */
static int sync_removals(const struct lb_ctx *c, const struct plan *p, long long drain_s,
                         bool dry, struct tally *t, struct as_error *err)
{
    struct removal *r = xcalloc(p->nmembers + 1, sizeof *r);
    size_t n = 0;
    for (size_t j = 0; j < p->nmembers; j++)
        if (!p->claimed[j])
            snprintf(r[n++].key, sizeof r[0].key, "%s", p->members[j].key);
    for (size_t i = 0; i < p->ntargets; i++)
        if (p->action[i] == DO_REPLACE)
            snprintf(r[n++].key, sizeof r[0].key, "%s", p->targets[i].key);
    if (!dry && n && remove_members(c, r, n, drain_s, err) < 0) {
        free(r);
        return -1;
    }
    for (size_t k = 0; k < n; k++) {
        if (!dry && r[k].removed < 0) {
            tally_fail(t, r[k].key, &r[k].err);
            continue;
        }
        if (r[k].cut)
            json_object_array_add(t->cut, jx_new_string(r[k].key));
        bool stranger = true;
        for (size_t i = 0; i < p->ntargets && stranger; i++)
            if (p->action[i] == DO_REPLACE && strcmp(p->targets[i].key, r[k].key) == 0) {
                struct lb_member m;
                struct as_error e;
                stranger = false;
                if (!dry && add_target(c, &p->targets[i], &m, &e) < 0)
                    tally_fail(t, p->targets[i].name, &e);
                else
                    json_object_array_add(t->replaced,
                                          jx_new_string(p->targets[i].name));
            }
        if (stranger)
            json_object_array_add(t->removed, jx_new_string(r[k].key));
    }
    free(r);
    return 0;
}

static void tally_clear(struct tally *t)
{
    json_object_put(t->added);
    json_object_put(t->enabled);
    json_object_put(t->replaced);
    json_object_put(t->removed);
    json_object_put(t->kept);
    json_object_put(t->cut);
    memset(t, 0, sizeof *t);
}

static struct json_object *take(struct json_object **o)
{
    struct json_object *v = *o;
    *o = NULL;
    return v;
}

int lb_sync_group(struct lb_ctx *c, long long drain_s, bool dry_run,
                  struct json_object **out, struct as_error *err)
{
    struct plan p;
    struct tally t;
    int rc = -1;

    if (check_drain(drain_s, err) < 0)
        return -1;
    /* Syncing would put back nodes that asg_delete is about to destroy. */
    if (strcmp(c->group.status, "active") != 0)
        return as_fail(err, AS_EXIT_BADINPUT, "group_conflict",
                       "group %s is being deleted: asg_delete takes its members out",
                       c->group.name);
    if (!c->lb) {
        *out = nothing_to_do(c, NULL);
        return 0;
    }
    memset(&t, 0, sizeof t);
    t.added = jx_new_array();
    t.enabled = jx_new_array();
    t.replaced = jx_new_array();
    t.removed = jx_new_array();
    t.kept = jx_new_array();
    t.cut = jx_new_array();
    if (plan_make(c, &p, err) < 0)
        goto done;
    sync_adds(c, &p, &t, dry_run);
    if (sync_removals(c, &p, drain_s, dry_run, &t, err) < 0)
        goto done;
    if (as_interrupted()) {
        as_fail(err, AS_EXIT_FAILURE, "interrupted", "interrupted during lb_sync");
        goto done;
    }
    if (t.failures) {
        *err = t.first;
        snprintf(err->message, sizeof err->message, "%d change(s) failed: %s", t.failures,
                 t.summary);
        goto done;
    }
    bool changed = json_object_array_length(t.added) + json_object_array_length(t.enabled) +
                       json_object_array_length(t.replaced) +
                       json_object_array_length(t.removed) > 0;
    *out = result_head(c, NULL);
    jx_add_bool(*out, "dry_run", dry_run);
    jx_add_bool(*out, "changed", changed && !dry_run);
    json_object_object_add(*out, "added", take(&t.added));
    json_object_object_add(*out, "enabled", take(&t.enabled));
    json_object_object_add(*out, "replaced", take(&t.replaced));
    json_object_object_add(*out, "removed", take(&t.removed));
    json_object_object_add(*out, "kept", take(&t.kept));
    json_object_object_add(*out, "sessions_cut", take(&t.cut));
    json_object_object_add(*out, "skipped", take(&p.skipped));
    rc = 0;
done:
    plan_clear(&p);
    tally_clear(&t);
    return rc;
}

/* ------------------------------------------------------------ sessions -- */

int lb_node_sessions(const struct lb_ctx *c, struct json_object *const *recs, size_t n,
                     long long *sessions, struct as_error *err)
{
    struct lb_member *members = NULL;
    size_t nmembers = 0;
    if (c->ops->list(c->lb, &members, &nmembers, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *key = jx_str(recs[i], c->ops->by_id ? "provider_id" : "name", NULL);
        sessions[i] = key && *key ? 0 : -1;
        for (size_t j = 0; key && j < nmembers; j++)
            if (strcmp(members[j].key, key) == 0) {
                sessions[i] = members[j].sessions;
                break;
            }
    }
    free(members);
    return 0;
}

/* -------------------------------------------------------------- health -- */

/* HAProxy's status words begin with the check's verdict ("no check": none
 * runs); a provider whose members carry no such word (DigitalOcean:
 * "active", the balancer's own state) is never read as a failing node. */
static enum lb_health health_of(const struct lb_member *m)
{
    if (strcmp(m->status, "no check") == 0)
        return LB_HEALTH_NO_CHECK;
    if (strncmp(m->status, "UP", 2) == 0 && (m->status[2] == '\0' || m->status[2] == ' '))
        return LB_HEALTH_UP;
    if (strncmp(m->status, "DOWN", 4) == 0 && (m->status[4] == '\0' || m->status[4] == ' '))
        return LB_HEALTH_DOWN;
    return LB_HEALTH_UNKNOWN;
}

int lb_stat_lookup(const char *name, enum lb_stat *out)
{
    static const char *const names[] = {
#define LB_STAT_NAME(n) #n,
        LB_STATS(LB_STAT_NAME)
#undef LB_STAT_NAME
    };
    for (int i = 0; name && i < LB_STAT_COUNT; i++)
        if (strcmp(names[i], name) == 0) {
            *out = (enum lb_stat)i;
            return 1;
        }
    return 0;
}

int lb_node_health(const struct lb_ctx *c, struct json_object *const *recs, size_t n,
                   struct lb_node_health *out, struct as_error *err)
{
    struct lb_member *members = NULL;
    size_t nmembers = 0;
    if (c->ops->list(c->lb, &members, &nmembers, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *key = jx_str(recs[i], c->ops->by_id ? "provider_id" : "name", NULL);
        memset(&out[i], 0, sizeof out[i]);
        for (size_t j = 0; key && *key && j < nmembers; j++)
            if (strcmp(members[j].key, key) == 0) {
                out[i].health = c->ops->member_checks ? health_of(&members[j])
                                                      : LB_HEALTH_NO_CHECK;
                snprintf(out[i].status, sizeof out[i].status, "%s", members[j].status);
                out[i].stats_known = members[j].stats_known;
                memcpy(out[i].stats, members[j].stats, sizeof out[i].stats);
                break;
            }
    }
    free(members);
    return 0;
}
