/* node_list - a group's node records, each with its machine's state as the
 * provider reports it now. */
#include "compute_params.h"
#include "nodes.h"
#include "settings.h"
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
    if (node_ctx_open(&nc, ctx, &g, 600, true, err) < 0)
        return -1;
    int rc = node_list(&nc, out, err);
    node_ctx_close(&nc);
    group_free(&g);
    return rc;
}

AS_ACTION(node_list, params, cmd_node_list);
