/* chef_cleanup - forget a node leaving its group for good: delete its node
 * and client on the Chef server (404 counts as already gone; without a
 * server configured there is nothing to do, and it says so) and its entry
 * in the SSH known-hosts file. See docs/chef.md. */
#include "chef.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"node", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    CHEF_SERVER_PARAMS(AS_PARAM_ROW)
    AS_PARAM_END,
};

static int cmd_chef_cleanup(struct as_ctx *ctx, struct json_object **out,
                            struct as_error *err)
{
    struct chef_cleanup_request rq = {
        .group = as_arg_str(ctx->args, "name"),
        .node = as_arg_str(ctx->args, "node"),
    };
    as_args_fill(ctx->args, chef_server_param_desc, chef_server_param_count, &rq.server);
    struct ds *ds = as_ctx_ds(ctx, err);
    return ds ? chef_cleanup(ds, &rq, out, err) : -1;
}

AS_ACTION(chef_cleanup, params, cmd_chef_cleanup);
