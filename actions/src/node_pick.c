/* node_pick - the scale_in workflow's first step: choose the nodes to
 * remove (newest, oldest, or least loaded on the group's load balancer),
 * never taking the group's active nodes below its min, and mark them
 * draining. With the governor's lease id a retried scale-in gets the same
 * nodes back. See lib/node_pick.c. */
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
    struct node_pick_req req = {
        .group = as_arg_str(ctx->args, "name"),
        .count = as_arg_int(ctx->args, "count", 0),
        .strategy = as_arg_str(ctx->args, "strategy"),
        .lease_id = as_arg_str(ctx->args, "lease_id"),
    };
    return node_pick(ctx, &req, out, err);
}

AS_ACTION(node_pick, params, cmd_node_pick);
