/* asg_resize - set a group's desired size (within its min and max, else
 * invalid_limits); with force, the governor goes straight there once,
 * skipping cooldowns and alerts (the 2015 pack's force=true). The same size
 * again without force changes nothing; each force is a new request. See
 * lib/model/controls.h. */
#include "clock.h"
#include "controls.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"size", AS_T_INTEGER, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"force", AS_T_BOOLEAN, 0, "false", NULL, AS_NAMED},
    AS_PARAM_END,
};

static int cmd_asg_resize(struct as_ctx *ctx, struct json_object **out,
                          struct as_error *err)
{
    const char *name = as_arg_str(ctx->args, "name");
    long long size = as_arg_int(ctx->args, "size", -1);
    if (controls_resize_check(name, size, err) < 0)
        return -1;
    struct ds *ds = as_ctx_ds(ctx, err);
    return ds ? controls_resize(ds, name, size, as_arg_bool(ctx->args, "force"), as_now(), out,
                                err)
              : -1;
}

AS_ACTION(asg_resize, params, cmd_asg_resize);
