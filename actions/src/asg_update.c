/* asg_update - change a group's limits, steps, cooldowns or provider
 * settings; only the parameters given change, and the result is validated
 * as on create. */
#include "asg.h"
#include "settings.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    GROUP_FIELDS(AS_GROUP_ROW_GIVEN)
    {"settings", AS_T_OBJECT, 0, NULL, NULL, 0},
    SETTINGS_ALLOW_PARAM
    AS_PARAM_END,
};

static int cmd_asg_update(struct as_ctx *ctx, struct json_object **out,
                          struct as_error *err)
{
    struct asg_request r = {.name = as_arg_str(ctx->args, "name"),
                            .settings = as_arg_obj(ctx->args, "settings"),
                            .allowed = as_arg_str(ctx->args, SETTINGS_ALLOW_NAME)};

    as_args_fill(ctx->args, group_param_desc, group_param_count, &r.p);
    /* Before anything is read or stored: a group's settings may not
     * redirect the pack's credentials or run commands (lib/model/settings.h). */
    if (settings_check(r.settings, r.allowed, err) < 0)
        return -1;
    struct ds *ds = as_ctx_ds(ctx, err);
    return ds ? asg_update(ds, &r, out, err) : -1;
}

AS_ACTION(asg_update, params, cmd_asg_update);
