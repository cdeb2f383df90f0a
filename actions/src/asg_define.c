/* asg_define - validate and record an autoscaling group's spec (phase 0's
 * first step; the asg_create workflow then scales it out to its minimum).
 * Defining an identical group again succeeds with created=false; a different
 * one is a group_conflict error, and so is a group being deleted. */
#include "asg.h"
#include "settings.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    GROUP_FIELDS(AS_GROUP_ROW)
    {"settings", AS_T_OBJECT, 0, NULL, NULL, 0},
    SETTINGS_ALLOW_PARAM
    AS_PARAM_END,
};

static int cmd_asg_define(struct as_ctx *ctx, struct json_object **out,
                          struct as_error *err)
{
    struct asg_request r = {.name = as_arg_str(ctx->args, "name"),
                            .settings = as_arg_obj(ctx->args, "settings"),
                            .allowed = as_arg_str(ctx->args, SETTINGS_ALLOW_NAME)};
    struct group g;
    struct ds *ds;

    as_args_fill(ctx->args, group_param_desc, group_param_count, &r.p);
    if (asg_spec_build(&r, &g, err) < 0)
        return -1;
    int rc = (ds = as_ctx_ds(ctx, err)) ? asg_define(ds, &g, out, err) : -1;
    group_clear(&g);
    return rc;
}

AS_ACTION(asg_define, params, cmd_asg_define);
