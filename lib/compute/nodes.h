/* nodes.h - the compute side of a node's life, for every provider at once:
 * add (record, create, wait, record the address), remove (mark, destroy,
 * wait, forget), reconcile (records against what the provider has), list.
 *
 * The record is written before the cloud is asked, so a crash or SIGTERM
 * always leaves a trace that reconcile can resolve, and its name is decided
 * once (from st2's execution id), so a retried add_node finds the machine
 * the first try created instead of making a second one. */
#ifndef AS_NODES_H
#define AS_NODES_H

#include <json-c/json.h>
#include <stdbool.h>

#include "compute.h"
#include "compute_params.h"
#include "datastore.h"
#include "error.h"
#include "group.h"

/* Cleaning up after a failed add gets its own bounded wait, so a deadline
 * spent on the create still leaves time to delete what was made. The
 * actions' runner timeout (add_node.yaml: 660 s) covers the default deadline
 * (600 s) plus this. */
#define NODE_CLEANUP_WAIT_S 50

struct node_ctx {
    struct ds *ds;
    const struct group *group;
    struct compute *compute; /* the group's provider, open */
    long poll_ms;            /* the longest wait between two provider polls */
    long long deadline;      /* seconds a wait may take */
};

/* "<group>-<8 hex>": from st2's execution id when there is one (the same
 * execution retried gets the same name), else random. out: 64 bytes. */
void node_name_for(const char *group, const char *execution_id, char *out);

/* warm: a warm pool node (node.h): recorded "warming" instead of
 * "building", and left warming once its machine is active (node_park
 * finishes it); a retry of a finished warm add finds it warm. */
int node_add(struct node_ctx *nc, const char *node, const char *execution_id, bool warm,
             struct json_object **out, struct as_error *err);
/* ---- the warm pool (lib/compute/node_park.c) ----
 *
 * node_park: a warming node whose machine is up (and, in the workflow,
 * registered in DNS and configured) becomes warm: on a provider that parks
 * stopped (compute_parks_stopped) the machine is stopped and polled, with
 * backoff, until stopped; elsewhere it must be running. A warm node is
 * success unchanged. Another state is AS_EXIT_BADINPUT "node_busy".
 *
 * node_activate: a node pool_take (node_pool.h) made building, machine parked:
 * started (compute_start) and polled until active, or, on a provider that
 * parks running, looked at once; then recorded as add_node's end does
 * (address, protect_new, "active"). An active node is success unchanged.
 * A machine that does not come up makes the record "failed" (the scale-out
 * then takes it down as any failed node) and is AS_EXIT_FAILURE
 * "node_failed". A node still warm (never taken) is AS_EXIT_BADINPUT
 * "node_not_taken": only pool_take hands pool nodes out. */
int node_park(struct node_ctx *nc, const char *node, struct json_object **out,
              struct as_error *err);
int node_activate(struct node_ctx *nc, const char *node, struct json_object **out,
                  struct as_error *err);
int node_remove(struct node_ctx *nc, const char *node, struct json_object **out,
                struct as_error *err);
/* stuck_after: a record still building after this many seconds is stuck. */
int node_reconcile(struct node_ctx *nc, bool fix, bool adopt, long long stuck_after,
                   struct json_object **out, struct as_error *err);
int node_list(struct node_ctx *nc, struct json_object **out, struct as_error *err);

/* What a node action asks for, as its front end parsed it from argv. */
struct node_request {
    const char *group;     /* the group's name */
    long long deadline;    /* seconds a wait may take: 1..86400 */
    bool any_status;       /* false: the group must be active (add_node) */
    const char *allowed;   /* the operator's allow-list (settings.h), or NULL */
    struct compute_params params; /* the provider settings parameters */
};

/* The checks that need no datastore (the group's name, the deadline):
 * AS_EXIT_BADINPUT errors. node_ctx_open() makes them too; an action makes
 * them first, so that bad input is refused before the datastore opens. */
int node_request_check(const struct node_request *req, struct as_error *err);

/* The common start of every node action: load the group into *g (it must
 * be active unless any_status), build its provider's settings from the
 * parameters and the group's own (compute_settings()), open the provider,
 * and bound every later provider call by the deadline (signals.h). On
 * success the caller closes nc, then frees g; on failure nothing is left
 * to free. */
int node_ctx_open(struct node_ctx *nc, struct ds *ds, const struct node_request *req,
                  struct group *g, struct as_error *err);
void node_ctx_close(struct node_ctx *nc);

/* ---- node_pick (lib/compute/node_pick.c): the nodes a scale-in removes ----
 *
 * Only active nodes are candidates, and never so many that the group's
 * active nodes fall below its min (the count is capped; none is success).
 * Orders: newest (latest created_at first), oldest (earliest first),
 * least_loaded (fewest current sessions on the group's load balancer
 * first, then newest; falls back to newest, saying why, when the group has
 * no load balancer or the provider cannot say). Ties go by name. The
 * chosen records become "draining" with drain_lease = the lease id (null
 * without one); a call with a lease id returns the nodes already marked for
 * that lease (draining or deleting) first and picks more only to make up
 * count.
 *
 * The scale-in orders (newest, oldest, least_loaded) never choose a node
 * protected from scale-in (controls.h; the min is still counted over every
 * active node; the output lists the protected ones under "protected").
 * unhealthy, the replace workflow's: only active nodes whose health record
 * says unhealthy (health.h), longest unhealthy first, protected or not,
 * and none at all while the group's healthy active nodes (active, not
 * unhealthy: grace counts as healthy) are fewer than min_healthy (-1: min);
 * the output adds "healthy", "unhealthy", "min_healthy". */
#define NODE_PICK_MAX 1000

struct lb_params;

struct node_pick_req {
    const char *group;
    long long count;      /* 1..NODE_PICK_MAX */
    const char *strategy; /* newest | oldest | least_loaded | unhealthy */
    const char *lease_id; /* the governor's lease of this scale-in, or NULL */
    /* least_loaded: how to open the group's load balancer (lb.h) */
    const struct lb_params *lb;
    const char *allowed;  /* the operator's group_endpoints_allowed */
};

/* Every check that needs no datastore: AS_EXIT_BADINPUT errors. */
int node_pick_check(const struct node_pick_req *req, struct as_error *err);
/* The whole action (node_pick_check first). */
int node_pick(struct ds *ds, const struct node_pick_req *req, struct json_object **out,
              struct as_error *err);
#endif
