/* asg_update - change a group's limits, steps, cooldowns or provider
 * settings; only the parameters given change, and the result is validated
 * as on create. */
#include "asg.h"
#include "settings.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    GROUP_FIELDS(GROUP_PARAM_NODEF)
    {"settings", AS_T_OBJECT, 0, NULL, NULL, 0},
    SETTINGS_ALLOW_PARAM
    AS_PARAM_END,
};

static int cmd_asg_update(struct as_ctx *ctx, struct json_object **out,
                          struct as_error *err)
{
    /* Before anything is read or stored: a group's settings may not
     * redirect the pack's credentials or run commands (lib/settings.h). */
    if (settings_check(as_arg_obj(ctx->args, "settings"),
                       as_arg_str(ctx->args, SETTINGS_ALLOW_NAME), err) < 0)
        return -1;
    struct ds *ds = as_ctx_ds(ctx, err);
    return ds ? asg_update(ds, as_arg_str(ctx->args, "name"), ctx->args,
                           as_arg_obj(ctx->args, "settings"), out, err)
              : -1;
}

AS_ACTION(asg_update, params, cmd_asg_update);
