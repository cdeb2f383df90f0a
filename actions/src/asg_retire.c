/* asg_retire - the asg_delete workflow's first step: mark a group
 * "deleting" and list its nodes. From then on the governor leaves it alone,
 * add_node and lb_add refuse it, asg_define and asg_update refuse it; the
 * workflow takes each listed node out of service, then asg_forget removes
 * the records. Retiring again succeeds (changed=false); an absent group is
 * success with existed=false and no nodes. */
#include "asg.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    AS_PARAM_END,
};

static int cmd_asg_retire(struct as_ctx *ctx, struct json_object **out,
                          struct as_error *err)
{
    if (group_check_name(as_arg_str(ctx->args, "name"), err) < 0)
        return -1;
    struct ds *ds = as_ctx_ds(ctx, err);
    return ds ? asg_retire(ds, as_arg_str(ctx->args, "name"), out, err) : -1;
}

AS_ACTION(asg_retire, params, cmd_asg_retire);
