/* asg_schedule_set - create or replace one scheduled action of a group: from
 * each occurrence of `start` (a cron expression in time_zone) until the next
 * of `end`, the governor uses its min, max and/or desired instead of the
 * spec's (lib/model/schedule.h, docs/schedules.md). Everything is checked
 * before anything is written; the same schedule again changes nothing. */
#include "clock.h"
#include "schedule.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"schedule", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"start", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"end", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"time_zone", AS_T_STRING, 0, "UTC", NULL, AS_NAMED},
    {"min", AS_T_INTEGER, 0, "-1", NULL, AS_NAMED},
    {"max", AS_T_INTEGER, 0, "-1", NULL, AS_NAMED},
    {"desired", AS_T_INTEGER, 0, "-1", NULL, AS_NAMED},
    AS_PARAM_END,
};

static int cmd_asg_schedule_set(struct as_ctx *ctx, struct json_object **out,
                                struct as_error *err)
{
    const struct as_args *a = ctx->args;
    struct schedule_spec s = {
        .group = as_arg_str(a, "name"),
        .name = as_arg_str(a, "schedule"),
        .start = as_arg_str(a, "start"),
        .end = as_arg_str(a, "end"),
        .time_zone = as_arg_str(a, "time_zone"),
        .min = as_arg_int(a, "min", -1),
        .max = as_arg_int(a, "max", -1),
        .desired = as_arg_int(a, "desired", -1),
    };
    if (schedule_check(&s, err) < 0)
        return -1;
    struct ds *ds = as_ctx_ds(ctx, err);
    return ds ? schedule_set(ds, &s, as_now(), out, err) : -1;
}

AS_ACTION(asg_schedule_set, params, cmd_asg_schedule_set);
