/* node_list - a group's node records, each with its machine's state as the
 * provider reports it now. */
#include "compute_params.h"
#include "runner_open.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    COMPUTE_PARAMS(AS_PARAM_ROW)
    SETTINGS_ALLOW_PARAM
    AS_PARAM_END,
};

static int cmd_node_list(struct as_ctx *ctx, struct json_object **out,
                         struct as_error *err)
{
    struct group g;
    struct node_ctx nc;
    if (as_node_open(ctx, 600, true, &nc, &g, err) < 0)
        return -1;
    int rc = node_list(&nc, out, err);
    as_node_close(&nc, &g);
    return rc;
}

AS_ACTION(node_list, params, cmd_node_list);
