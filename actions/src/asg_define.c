/* asg_define - validate and record an autoscaling group's spec (phase 0's
 * first step; the asg_create workflow then scales it out to its minimum).
 * Defining an identical group again succeeds with created=false; a different
 * one is a group_conflict error, and so is a group being deleted. */
#include "asg.h"
#include "settings.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    GROUP_FIELDS(GROUP_PARAM_DEF)
    {"settings", AS_T_OBJECT, 0, NULL, NULL, 0},
    SETTINGS_ALLOW_PARAM
    AS_PARAM_END,
};

static int cmd_asg_define(struct as_ctx *ctx, struct json_object **out,
                          struct as_error *err)
{
    struct group g;
    struct ds *ds;

    group_init(&g, as_arg_str(ctx->args, "name"));
    group_apply_args(&g, ctx->args, false, err);
    if (as_arg_obj(ctx->args, "settings"))
        g.settings = json_object_get(as_arg_obj(ctx->args, "settings"));
    /* Before anything is stored: a group's settings may not redirect the
     * pack's credentials or run commands (lib/settings.h). */
    int rc = settings_check(g.settings, as_arg_str(ctx->args, SETTINGS_ALLOW_NAME), err);
    if (rc == 0)
        rc = group_validate(&g, err);
    if (rc == 0)
        rc = (ds = as_ctx_ds(ctx, err)) ? asg_define(ds, &g, out, err) : -1;
    group_free(&g);
    return rc;
}

AS_ACTION(asg_define, params, cmd_asg_define);
