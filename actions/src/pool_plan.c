/* pool_plan - how many nodes a group's warm pool lacks and which it must
 * lose (or every group's, for the refill timer). Reads only, unless mark:
 * then the nodes to remove are marked so (pool_fill). See
 * lib/compute/node_pool.c. */
#include "group.h"
#include "node_pool.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"mark", AS_T_BOOLEAN, 0, "false", NULL, AS_NAMED},
    AS_PARAM_END,
};

static int cmd_pool_plan(struct as_ctx *ctx, struct json_object **out, struct as_error *err)
{
    const char *name = as_arg_str(ctx->args, "name");
    struct ds *ds;
    if ((name && group_check_name(name, err) < 0) || !(ds = as_ctx_ds(ctx, err)))
        return -1;
    return pool_plan(ds, name, as_arg_bool(ctx->args, "mark"), out, err);
}

AS_ACTION(pool_plan, params, cmd_pool_plan);
