/* asg_forget - remove a group's records. Refuses, naming them, while node
 * records remain (the asg_delete workflow removes the nodes first) unless
 * forget_nodes is set. Forgetting a group that is already gone succeeds with
 * existed=false, so a retried decommission does no harm. */
#include "asg.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"forget_nodes", AS_T_BOOLEAN, 0, "false", NULL, AS_NAMED},
    AS_PARAM_END,
};

static int cmd_asg_forget(struct as_ctx *ctx, struct json_object **out,
                          struct as_error *err)
{
    if (group_check_name(as_arg_str(ctx->args, "name"), err) < 0)
        return -1;
    struct ds *ds = as_ctx_ds(ctx, err);
    return ds ? asg_forget(ds, as_arg_str(ctx->args, "name"),
                           as_arg_bool(ctx->args, "forget_nodes"), out, err)
              : -1;
}

AS_ACTION(asg_forget, params, cmd_asg_forget);
