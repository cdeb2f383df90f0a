/* node_pick - the scale_in workflow's first step: choose the nodes to
 * remove (newest, oldest, or least loaded on the group's load balancer),
 * never taking the group's active nodes below its min, and mark them
 * draining. With the governor's lease id a retried scale-in gets the same
 * nodes back. See lib/compute/node_pick.c. */
#include "lb.h"
#include "nodes.h"
#include "settings.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"count", AS_T_INTEGER, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"strategy", AS_T_STRING, 0, "newest", NULL, AS_NAMED},
    {"lease_id", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    LB_PARAMS(AS_PARAM_ROW)
    SETTINGS_ALLOW_PARAM
    AS_PARAM_END,
};

static int cmd_node_pick(struct as_ctx *ctx, struct json_object **out, struct as_error *err)
{
    const struct as_args *a = ctx->args;
    struct lb_params lb;
    as_args_fill(a, lb_param_desc, lb_param_count, &lb);
    struct node_pick_req req = {
        .group = as_arg_str(a, "name"),
        .count = as_arg_int(a, "count", 0),
        .strategy = as_arg_str(a, "strategy"),
        .lease_id = as_arg_str(a, "lease_id"),
        .lb = &lb,
        .allowed = as_arg_str(a, SETTINGS_ALLOW_NAME),
    };
    struct ds *ds;
    if (node_pick_check(&req, err) < 0 || !(ds = as_ctx_ds(ctx, err)))
        return -1;
    return node_pick(ds, &req, out, err);
}

AS_ACTION(node_pick, params, cmd_node_pick);
