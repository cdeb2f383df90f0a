/* asg_schedule_delete - delete one scheduled action of a group
 * (lib/model/schedule.h); the governor goes back to the spec's bounds, or
 * to another schedule in force, at its next tick. Deleting one that is not
 * there succeeds with deleted false, so a retry is harmless. */
#include "schedule.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"schedule", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    AS_PARAM_END,
};

static int cmd_asg_schedule_delete(struct as_ctx *ctx, struct json_object **out,
                                   struct as_error *err)
{
    const char *group = as_arg_str(ctx->args, "name");
    const char *name = as_arg_str(ctx->args, "schedule");
    if (schedule_check_names(group, name, err) < 0)
        return -1;
    struct ds *ds = as_ctx_ds(ctx, err);
    return ds ? schedule_delete(ds, group, name, out, err) : -1;
}

AS_ACTION(asg_schedule_delete, params, cmd_asg_schedule_delete);
