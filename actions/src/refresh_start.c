/* refresh_start - the asg_refresh workflow's first step: start a rolling
 * refresh of a group (setting its image, flavor or run list first when
 * given), resume a paused one, or cancel the one in progress. It replaces
 * nothing itself: refresh_step plans each batch. See lib/model/refresh.h
 * and docs/refresh.md. */
#include "clock.h"
#include "refresh.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"image", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"flavor", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"run_list", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"min_healthy_percentage", AS_T_INTEGER, 0, "90", NULL, AS_NAMED},
    {"batch", AS_T_INTEGER, 0, "0", NULL, AS_NAMED},
    {"checkpoints", AS_T_STRING, 0, "", NULL, AS_NAMED},
    {"on_failure", AS_T_STRING, 0, "rollback", NULL, AS_NAMED},
    {"health_timeout", AS_T_INTEGER, 0, "300", NULL, AS_NAMED},
    {"cancel", AS_T_BOOLEAN, 0, "false", NULL, AS_NAMED},
    AS_PARAM_END,
};

static int cmd_refresh_start(struct as_ctx *ctx, struct json_object **out,
                             struct as_error *err)
{
    const struct as_args *a = ctx->args;
    struct refresh_request r = {
        .group = as_arg_str(a, "name"),
        .image = as_arg_str(a, "image"),
        .flavor = as_arg_str(a, "flavor"),
        .run_list = as_arg_str(a, "run_list"),
        .min_healthy_percentage = as_arg_int(a, "min_healthy_percentage", 90),
        .batch = as_arg_int(a, "batch", 0),
        .checkpoints = as_arg_str(a, "checkpoints"),
        .on_failure = as_arg_str(a, "on_failure"),
        .health_timeout = as_arg_int(a, "health_timeout", 300),
        .cancel = as_arg_bool(a, "cancel"),
    };
    struct ds *ds;
    if (refresh_start_check(&r, err) < 0 || !(ds = as_ctx_ds(ctx, err)))
        return -1;
    return refresh_start(ds, &r, as_now(), out, err);
}

AS_ACTION(refresh_start, params, cmd_refresh_start);
