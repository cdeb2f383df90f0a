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
    struct node_request req = {.group = as_arg_str(ctx->args, "name"),
                               .deadline = 600,
                               .any_status = true,
                               .allowed = as_arg_str(ctx->args, SETTINGS_ALLOW_NAME)};
    as_args_fill(ctx->args, compute_param_desc, compute_param_count, &req.params);
    struct group g;
    struct node_ctx nc;
    struct ds *ds;
    if (node_request_check(&req, err) < 0 || !(ds = as_ctx_ds(ctx, err)) ||
        node_ctx_open(&nc, ds, &req, &g, err) < 0)
        return -1;
    int rc = node_list(&nc, out, err);
    node_ctx_close(&nc);
    group_clear(&g);
    return rc;
}

AS_ACTION(node_list, params, cmd_node_list);
