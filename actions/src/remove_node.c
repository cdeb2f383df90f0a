/* remove_node - destroy a node's machine, wait until it is gone, delete its
 * record. A machine already gone is success. */
#include "compute_params.h"
#include "runner_open.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"node", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"deadline", AS_T_INTEGER, 0, "600", NULL, AS_NAMED},
    COMPUTE_PARAMS(AS_PARAM_ROW)
    SETTINGS_ALLOW_PARAM
    AS_PARAM_END,
};

static int cmd_remove_node(struct as_ctx *ctx, struct json_object **out,
                           struct as_error *err)
{
    struct group g;
    struct node_ctx nc;
    if (as_node_open(ctx, as_arg_int(ctx->args, "deadline", 600), true, &nc, &g, err) < 0)
        return -1;
    int rc = node_remove(&nc, as_arg_str(ctx->args, "node"), out, err);
    as_node_close(&nc, &g);
    return rc;
}

AS_ACTION(remove_node, params, cmd_remove_node);
