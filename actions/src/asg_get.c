/* asg_get - a group's full status: spec, nodes with states, node counts,
 * alert state, the last scaling events and the operation in flight. */
#include "asg.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"events", AS_T_INTEGER, 0, "10", NULL, AS_NAMED},
    AS_PARAM_END,
};

static int cmd_asg_get(struct as_ctx *ctx, struct json_object **out,
                       struct as_error *err)
{
    long long events = as_arg_int(ctx->args, "events", 10);
    if (events < 0 || events > 1000)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'events' must be between 0 and 1000");
    if (group_check_name(as_arg_str(ctx->args, "name"), err) < 0)
        return -1;
    struct ds *ds = as_ctx_ds_read_only(ctx, err);
    return ds ? asg_status(ds, as_arg_str(ctx->args, "name"), (int)events, out, err)
              : -1;
}

AS_ACTION(asg_get, params, cmd_asg_get);
