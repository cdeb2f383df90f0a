/* node_activate - the warm pool's scale-out step: start a node pool_take
 * took, and record it active. See lib/compute/node_park.c. */
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

static int cmd_node_activate(struct as_ctx *ctx, struct json_object **out, struct as_error *err)
{
    struct group g;
    struct node_ctx nc;
    /* An activation adds capacity: the group must be active. */
    if (as_node_open(ctx, as_arg_int(ctx->args, "deadline", 600), false, &nc, &g, err) < 0)
        return -1;
    int rc = node_activate(&nc, as_arg_str(ctx->args, "node"), out, err);
    as_node_close(&nc, &g);
    return rc;
}

AS_ACTION(node_activate, params, cmd_node_activate);
