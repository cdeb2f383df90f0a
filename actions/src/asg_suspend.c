/* asg_suspend - stop some of the governor's processes for one group:
 * scale_out, scale_in, replace, or all. The group keeps its nodes; the
 * governor decides "none" (code "suspended") for what is suspended until
 * asg_resume. Suspending what is already suspended changes nothing. See
 * lib/model/controls.h. */
#include "controls.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"processes", AS_T_STRING, 0, "all", NULL, AS_NAMED},
    AS_PARAM_END,
};

static int cmd_asg_suspend(struct as_ctx *ctx, struct json_object **out,
                           struct as_error *err)
{
    const char *name = as_arg_str(ctx->args, "name");
    unsigned mask;
    if (controls_suspend_check(name, as_arg_str(ctx->args, "processes"), &mask, err) < 0)
        return -1;
    struct ds *ds = as_ctx_ds(ctx, err);
    return ds ? controls_suspend(ds, name, mask, true, out, err) : -1;
}

AS_ACTION(asg_suspend, params, cmd_asg_suspend);
