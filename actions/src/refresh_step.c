/* refresh_step - the asg_refresh workflow's loop head: what to do next for
 * the group's refresh (a batch under the group's lease, wait for another
 * operation's lease, pause at a checkpoint, done, failed). Only the refresh
 * the group currently has may be driven, so two workflows cannot drive one
 * refresh twice over. See lib/model/refresh.h. */
#include "clock.h"
#include "group.h"
#include "refresh.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"refresh_id", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    AS_PARAM_END,
};

static int cmd_refresh_step(struct as_ctx *ctx, struct json_object **out, struct as_error *err)
{
    const char *name = as_arg_str(ctx->args, "name"), *id = as_arg_str(ctx->args, "refresh_id");
    struct ds *ds;
    if (group_check_name(name, err) < 0 || refresh_check_id(id, err) < 0 ||
        !(ds = as_ctx_ds(ctx, err)))
        return -1;
    return refresh_step(ds, name, id, as_now(), out, err);
}

AS_ACTION(refresh_step, params, cmd_refresh_step);
