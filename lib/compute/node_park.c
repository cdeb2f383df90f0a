/* node_park.c - the warm pool's two machine steps (see nodes.h): park a
 * warming node (stop its machine where the provider parks stopped) and
 * activate a node taken from the pool (start its machine, record it
 * active). Idempotent both: a retry finds the record already there. The
 * record is written last, once the provider has answered, so a failure
 * leaves the record where reconcile and the workflow's undo find it. */
#include "clock.h"
#include "controls.h"
#include "jsonx.h"
#include "log.h"
#include "node.h"
#include "nodes.h"
#include "node_life.h"

#include <stdio.h>
#include <string.h>

static struct json_object *result(struct json_object *rec, bool changed)
{
    struct json_object *o = jx_new_object();
    json_object_object_add(o, "node", json_object_get(rec));
    jx_add_bool(o, "changed", changed);
    return o;
}

/* The node's record, which must exist and have a machine: 0 with *rec
 * (new), -1 with err (AS_EXIT_BADINPUT: nothing was changed). */
static int load(struct node_ctx *nc, const char *node, struct json_object **rec,
                struct as_error *err)
{
    int rc;
    if (node_check_name(node, err) < 0 ||
        (rc = node_record_load(nc->ds, nc->group->name, node, rec, err)) < 0)
        return -1;
    if (rc == 0)
        return as_fail(err, AS_EXIT_BADINPUT, "unknown_node", "group %s has no node %s",
                       nc->group->name, node);
    return 0;
}

static int no_machine(struct json_object *rec, const char *node, struct as_error *err)
{
    json_object_put(rec);
    return as_fail(err, AS_EXIT_BADINPUT, "node_no_machine",
                   "node %s has no machine yet (add_node has not finished)", node);
}

int node_park(struct node_ctx *nc, const char *node, struct json_object **out,
              struct as_error *err)
{
    struct json_object *rec = NULL;
    if (load(nc, node, &rec, err) < 0)
        return -1;
    enum node_state st = node_record_state(rec);
    if (st == NODE_WARM) {
        *out = result(rec, false);
        json_object_put(rec);
        return 0;
    }
    if (st != NODE_WARMING) {
        as_fail(err, AS_EXIT_BADINPUT, "node_busy",
                "node %s is %s: only a warming node is parked", node, node_state_name(st));
        json_object_put(rec);
        return -1;
    }
    char id[128];
    snprintf(id, sizeof id, "%s", jx_str(rec, "provider_id", ""));
    if (!id[0])
        return no_machine(rec, node, err);

    struct machine m;
    int rc;
    bool stop = compute_parks_stopped(nc->compute);
    if (stop && compute_stop(nc->compute, id, err) < 0)
        goto fail;
    /* Stopped, or (parked running) up: one look settles the latter. */
    unsigned until = stop ? MACHINE_BIT(MACHINE_STOPPED) | MACHINE_BIT(MACHINE_ERROR)
                          : ~0u;
    if ((rc = node_wait_machine(nc, id, as_now() + nc->deadline, until, false, &m, err)) < 0)
        goto fail;
    if (rc == 1 || m.state != (stop ? MACHINE_STOPPED : MACHINE_ACTIVE)) {
        as_fail(err, AS_EXIT_FAILURE, "node_park_failed",
                "node %s: machine %s is %s%s (%.200s), not %s; the record stays warming",
                node, id, rc == 1 ? "at the deadline still " : "",
                machine_state_name(m.state), m.detail[0] ? m.detail : "no detail",
                stop ? "stopped" : "running");
        goto fail;
    }
    jx_add_str(rec, "state", node_state_name(NODE_WARM));
    jx_add_int(rec, "parked_at", as_now());
    if (node_save_record(nc, rec, err) < 0)
        goto fail;
    log_info("node %s: warm (%s)", node, stop ? "stopped" : "running");
    *out = result(rec, true);
    json_object_put(rec);
    return 0;
fail:
    json_object_put(rec);
    return -1;
}

/* The machine did not come up: the record says so for the workflow's
 * clean-up (node_down) and the governor (a failed node is replaced). */
static int activate_failed(struct node_ctx *nc, struct json_object *rec, const char *node,
                           const char *why, struct as_error *err)
{
    struct as_error serr;
    as_error_clear(&serr);
    jx_add_str(rec, "state", node_state_name(NODE_FAILED));
    const char *kept = node_save_record(nc, rec, &serr) == 0
                           ? "recorded failed"
                           : "its record could not be marked failed";
    json_object_put(rec);
    return as_fail(err, AS_EXIT_FAILURE, "node_failed", "node %s %s; %s", node, why, kept);
}

int node_activate(struct node_ctx *nc, const char *node, struct json_object **out,
                  struct as_error *err)
{
    struct json_object *rec = NULL;
    if (load(nc, node, &rec, err) < 0)
        return -1;
    enum node_state st = node_record_state(rec);
    if (st == NODE_ACTIVE) {
        *out = result(rec, false);
        json_object_put(rec);
        return 0;
    }
    if (st != NODE_BUILDING || !jx_str(rec, "take_lease", NULL)) {
        as_fail(err, AS_EXIT_BADINPUT,
                st == NODE_WARM || st == NODE_WARMING ? "node_not_taken" : "node_busy",
                "node %s is %s: only a node taken from the warm pool (pool_take) is "
                "activated", node, node_state_name(st));
        json_object_put(rec);
        return -1;
    }
    char id[128], why[400];
    snprintf(id, sizeof id, "%s", jx_str(rec, "provider_id", ""));
    if (!id[0])
        return no_machine(rec, node, err);

    struct machine m;
    struct as_error serr;
    as_error_clear(&serr);
    if (compute_start(nc->compute, id, &serr) < 0) {
        snprintf(why, sizeof why, "could not be started (%.300s)", serr.message);
        return activate_failed(nc, rec, node, why, err);
    }
    /* Stopped is no answer here: Nova shows SHUTOFF (task powering-on) for
     * a moment after accepting the start. Error and gone are. */
    int rc = node_wait_machine(nc, id, as_now() + nc->deadline,
                               MACHINE_BIT(MACHINE_ACTIVE) | MACHINE_BIT(MACHINE_ERROR),
                               false, &m, err);
    if (rc < 0) {
        json_object_put(rec);
        return -1;
    }
    if (rc == 1 || m.state != MACHINE_ACTIVE) {
        snprintf(why, sizeof why, "did not start: machine %s %s%s", id,
                 rc == 1 ? "was not active before the deadline, it is " : "is ",
                 machine_state_name(m.state));
        if (m.detail[0])
            snprintf(why + strlen(why), sizeof why - strlen(why), " (%.200s)", m.detail);
        return activate_failed(nc, rec, node, why, err);
    }
    node_record_machine(rec, &m);
    if (nc->group->protect_new == 1) { /* as add_node's end does */
        struct json_object *p = NULL;
        if (controls_protect(nc->ds, nc->group->name, node, true, CONTROL_REASON_NEW,
                             as_now(), &p, err) < 0) {
            json_object_put(rec);
            return -1;
        }
        json_object_put(p);
    }
    jx_add_str(rec, "state", node_state_name(NODE_ACTIVE));
    if (node_save_record(nc, rec, err) < 0) {
        json_object_put(rec);
        return -1;
    }
    log_info("node %s: active at %s (from the warm pool)", node, m.address);
    *out = result(rec, true);
    json_object_put(rec);
    return 0;
}
