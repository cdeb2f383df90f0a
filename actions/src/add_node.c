/* add_node - provision one machine for a group and record it: the record
 * first (state building, or warming for the warm pool), then the machine,
 * then its address once active.
 * A retry of the same st2 execution finds the machine it already made. */
#include "compute_params.h"
#include "runner_open.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"node", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"deadline", AS_T_INTEGER, 0, "600", NULL, AS_NAMED},
    {"warm", AS_T_BOOLEAN, 0, "false", NULL, AS_NAMED},
    COMPUTE_PARAMS(AS_PARAM_ROW)
    SETTINGS_ALLOW_PARAM
    AS_PARAM_END,
};

static int cmd_add_node(struct as_ctx *ctx, struct json_object **out,
                        struct as_error *err)
{
    struct group g;
    struct node_ctx nc;
    if (as_node_open(ctx, as_arg_int(ctx->args, "deadline", 600), false, &nc, &g, err) < 0)
        return -1;
    int rc = node_add(&nc, as_arg_str(ctx->args, "node"), ctx->execution_id,
                      as_arg_bool(ctx->args, "warm"), out, err);
    as_node_close(&nc, &g);
    return rc;
}

AS_ACTION(add_node, params, cmd_add_node);
