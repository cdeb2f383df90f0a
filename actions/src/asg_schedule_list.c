/* asg_schedule_list - a group's scheduled actions as of now: each with
 * whether it is active, since when, its next start and end (UTC), and
 * which one the governor applies (lib/model/schedule.h). Reads only. */
#include "clock.h"
#include "group.h"
#include "schedule.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    AS_PARAM_END,
};

static int cmd_asg_schedule_list(struct as_ctx *ctx, struct json_object **out,
                                 struct as_error *err)
{
    const char *group = as_arg_str(ctx->args, "name");
    if (group_check_name(group, err) < 0)
        return -1;
    struct ds *ds = as_ctx_ds_read_only(ctx, err);
    return ds ? schedule_list(ds, group, as_now(), out, err) : -1;
}

AS_ACTION(asg_schedule_list, params, cmd_asg_schedule_list);
