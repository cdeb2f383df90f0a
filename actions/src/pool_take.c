/* pool_take - a scale-out's first step: take up to count warm nodes for
 * its lease (the same lease again gets the same nodes). See
 * lib/compute/node_pool.c. */
#include "node_pool.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"count", AS_T_INTEGER, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"lease_id", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    AS_PARAM_END,
};

static int cmd_pool_take(struct as_ctx *ctx, struct json_object **out, struct as_error *err)
{
    const struct as_args *a = ctx->args;
    const char *name = as_arg_str(a, "name"), *lease = as_arg_str(a, "lease_id");
    long long count = as_arg_int(a, "count", 0);
    struct ds *ds;
    if (pool_take_check(name, count, lease, err) < 0 || !(ds = as_ctx_ds(ctx, err)))
        return -1;
    return pool_take(ds, name, count, lease, out, err);
}

AS_ACTION(pool_take, params, cmd_pool_take);
