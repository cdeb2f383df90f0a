/* health_wait.c - see health_wait.h. */
#include "health_wait.h"
#include "clock.h"
#include "health_probe.h"
#include "jsonx.h"
#include "node.h"
#include "signals.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Between two looks: soon at first (a node often comes UP within seconds),
 * then doubling up to HAProxy's own check interval order. */
#define WAIT_FIRST_MS 250
#define WAIT_MAX_MS 4000

/* A source that is not configured has nothing to wait for; UNKNOWN is
 * not a pass (the load balancer unreadable, no usable address): waiting
 * on is the safe answer, since the old nodes go once this says ready. */
static bool passes(enum health_check c)
{
    return c == HEALTH_CHECK_PASS || c == HEALTH_CHECK_NOT_CONFIGURED;
}

enum health_wait_node health_wait_node_of(const struct health_node_checks *c)
{
    const enum health_check *k = c->check;
    if (k[HEALTH_SOURCE_PROVIDER] == HEALTH_CHECK_LOST)
        return HEALTH_WAIT_LOST;
    return k[HEALTH_SOURCE_PROVIDER] == HEALTH_CHECK_PASS && passes(k[HEALTH_SOURCE_LB]) &&
                   passes(k[HEALTH_SOURCE_HTTP])
               ? HEALTH_WAIT_READY
               : HEALTH_WAIT_NOT_YET;
}

/* The probe's entry of a node, for its words only. */
static struct json_object *entry_of(struct json_object *probe, const char *node)
{
    struct json_object *nodes = jx_arr(probe, "nodes");
    for (size_t i = 0; nodes && i < json_object_array_length(nodes); i++) {
        struct json_object *e = json_object_array_get_idx(nodes, i);
        if (strcmp(jx_str(e, "node", ""), node) == 0)
            return e;
    }
    return NULL;
}

/* A node the probe did not judge: lost unless it has a node record that
 * is (or may still become) active. Waiting out the timeout for it only
 * delays the workflow's decision. */
static int unjudged_lost(struct node_ctx *nc, const char *node, bool *out,
                         struct as_error *err)
{
    struct json_object *rec = NULL;
    int rc = node_record_load(nc->ds, nc->group->name, node, &rec, err);
    if (rc < 0)
        return -1;
    enum node_state st = rc == 1 ? node_record_state(rec) : NODE_UNKNOWN;
    *out = st != NODE_BUILDING && st != NODE_ACTIVE;
    json_object_put(rec);
    return 0;
}

int health_wait_sort(struct node_ctx *nc, struct json_object *want, struct json_object *probe,
                     const struct health_checks *checks, struct json_object **out,
                     bool *settled, struct as_error *err)
{
    struct json_object *o = jx_new_object(), *ok = jx_new_array(), *bad = jx_new_array(),
                       *words = jx_new_object();
    json_object_object_add(o, "healthy", ok);
    json_object_object_add(o, "unhealthy", bad);
    json_object_object_add(o, "checks", words);
    *settled = true;
    for (size_t i = 0; i < json_object_array_length(want); i++) {
        const char *node = json_object_get_string(json_object_array_get_idx(want, i));
        const struct health_node_checks *c = health_checks_find(checks, node);
        struct json_object *e = entry_of(probe, node), *w = e ? jx_obj(e, "checks") : NULL;
        enum health_wait_node v = c ? health_wait_node_of(c) : HEALTH_WAIT_NOT_YET;
        bool lost = v == HEALTH_WAIT_LOST;
        if (!c && unjudged_lost(nc, node, &lost, err) < 0) {
            json_object_put(o);
            return -1;
        }
        *settled = *settled && (v == HEALTH_WAIT_READY || lost);
        json_object_array_add(v == HEALTH_WAIT_READY ? ok : bad, jx_new_string(node));
        json_object_object_add(words, node,
                               w ? json_object_get(w)
                                 : jx_new_string("not an active node of the group"));
    }
    *out = o;
    return 0;
}

/* One look: *last replaced by its verdicts. */
static int look(struct node_ctx *nc, struct lb_ctx *lb, struct json_object *want,
                struct json_object **last, bool *settled, struct as_error *err)
{
    struct health_probe_opts opts = {.write = false};
    struct json_object *probe = NULL, *o = NULL;
    struct health_checks checks;
    memset(&checks, 0, sizeof checks);
    if (health_probe_group_checks(nc->ds, nc, lb, as_now(), &opts, &probe, &checks, err) < 0)
        return -1;
    int rc = health_wait_sort(nc, want, probe, &checks, &o, settled, err);
    health_checks_clear(&checks);
    json_object_put(probe);
    if (rc < 0)
        return -1;
    json_object_put(*last);
    *last = o;
    return 0;
}

int health_wait_ready(struct node_ctx *nc, struct lb_ctx *lb, struct json_object *nodes,
                      long long timeout_s, struct json_object **out, struct as_error *err)
{
    long long end = as_mono_ms() + timeout_s * 1000;
    struct json_object *last = NULL;
    struct as_backoff b;
    bool settled = false;
    int rc;
    as_backoff_init(&b, WAIT_FIRST_MS, WAIT_MAX_MS);
    while ((rc = look(nc, lb, nodes, &last, &settled, err)) == 0 && !settled) {
        long long left = end - as_mono_ms();
        if (left <= 0)
            break;
        if (as_sleep_ms(as_backoff_next(&b, left)) < 0 || as_interrupted()) {
            rc = as_fail(err, AS_EXIT_FAILURE, "interrupted",
                         "interrupted while waiting for the new nodes' health");
            break;
        }
    }
    if (rc < 0) {
        json_object_put(last);
        return -1;
    }
    *out = last;
    return 0;
}
