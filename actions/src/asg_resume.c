/* asg_resume - let the governor run processes asg_suspend stopped for one
 * group (scale_out, scale_in, replace, or all). Resuming what runs already
 * changes nothing. See lib/model/controls.h. */
#include "controls.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"processes", AS_T_STRING, 0, "all", NULL, AS_NAMED},
    AS_PARAM_END,
};

static int cmd_asg_resume(struct as_ctx *ctx, struct json_object **out,
                          struct as_error *err)
{
    const char *name = as_arg_str(ctx->args, "name");
    unsigned mask;
    if (controls_suspend_check(name, as_arg_str(ctx->args, "processes"), &mask, err) < 0)
        return -1;
    struct ds *ds = as_ctx_ds(ctx, err);
    return ds ? controls_suspend(ds, name, mask, false, out, err) : -1;
}

AS_ACTION(asg_resume, params, cmd_asg_resume);
