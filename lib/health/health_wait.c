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

static bool lb_ok(const char *s)
{
    return strcmp(s, "none") == 0 || strcmp(s, "no check") == 0 ||
           (strncmp(s, "UP", 2) == 0 && (s[2] == '\0' || s[2] == ' '));
}

static bool http_ok(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    return strcmp(s, "none") == 0 || (*s && !*end && v >= 200 && v < 400);
}

/* The probe's entry of a node: healthy by every source that can say. */
static bool node_ready(struct json_object *entry)
{
    struct json_object *c = jx_obj(entry, "checks");
    return c && strcmp(jx_str(c, "provider", ""), "active") == 0 &&
           lb_ok(jx_str(c, "lb", "")) && http_ok(jx_str(c, "http", ""));
}

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

/* A node that no more waiting can make healthy: its machine is gone or
 * failed by the provider's word, or it has no node record that is (or may
 * still become) active. Waiting out the timeout for it only delays the
 * workflow's decision. */
static int hopeless(struct node_ctx *nc, const char *node, struct json_object *entry,
                    bool *out, struct as_error *err)
{
    struct json_object *rec = NULL;
    if (entry) {
        const char *p = jx_str(jx_obj(entry, "checks"), "provider", "");
        *out = strncmp(p, "gone", 4) == 0 || strncmp(p, "error", 5) == 0;
        return 0;
    }
    int rc = node_record_load(nc->ds, nc->group->name, node, &rec, err);
    if (rc < 0)
        return -1;
    enum node_state st = rc == 1 ? node_record_state(rec) : NODE_UNKNOWN;
    *out = st != NODE_BUILDING && st != NODE_ACTIVE;
    json_object_put(rec);
    return 0;
}

/* One look: *settled when every node is healthy or never can be; *last
 * replaced by this look's verdicts {healthy, unhealthy, checks}. */
static int look(struct node_ctx *nc, struct lb_ctx *lb, struct json_object *want,
                struct json_object **last, bool *settled, struct as_error *err)
{
    struct health_probe_opts opts = {.write = false};
    struct json_object *probe = NULL;
    if (health_probe_group(nc->ds, nc, lb, as_now(), &opts, &probe, err) < 0)
        return -1;
    struct json_object *o = jx_new_object(), *ok = jx_new_array(), *bad = jx_new_array(),
                       *checks = jx_new_object();
    *settled = true;
    for (size_t i = 0; i < json_object_array_length(want); i++) {
        const char *node = json_object_get_string(json_object_array_get_idx(want, i));
        struct json_object *e = entry_of(probe, node);
        bool good = e && node_ready(e), lost = false;
        if (!good && hopeless(nc, node, e, &lost, err) < 0) {
            json_object_put(probe);
            json_object_put(o);
            json_object_put(ok);
            json_object_put(bad);
            json_object_put(checks);
            return -1;
        }
        *settled = *settled && (good || lost);
        json_object_array_add(good ? ok : bad, jx_new_string(node));
        json_object_object_add(checks, node,
                               e && jx_obj(e, "checks")
                                   ? json_object_get(jx_obj(e, "checks"))
                                   : jx_new_string("not an active node of the group"));
    }
    json_object_object_add(o, "healthy", ok);
    json_object_object_add(o, "unhealthy", bad);
    json_object_object_add(o, "checks", checks);
    json_object_put(probe);
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
