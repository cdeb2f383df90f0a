/* scaling_record - the last step of the scale_out, scale_in and replace
 * workflows: record the scaling event (time, count, result, the reason and
 * the nodes touched) and release the governor's lease. Retrying it rewrites
 * the same event. */
#include "clock.h"
#include "group.h"
#include "history.h"
#include "lease.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"lease_id", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"requested", AS_T_INTEGER, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"succeeded", AS_T_INTEGER, 0, "0", NULL, AS_NAMED},
    {"failed", AS_T_INTEGER, 0, "0", NULL, AS_NAMED},
    {"reason", AS_T_STRING, 0, "", NULL, AS_NAMED},
    {"nodes", AS_T_STRING, 0, "", NULL, AS_NAMED},
    AS_PARAM_END,
};

static int count_param(const struct as_ctx *ctx, const char *name, int *out,
                       struct as_error *err)
{
    long long v = as_arg_int(ctx->args, name, 0);
    if (v < 0 || v > 1000)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter '%s' must be between 0 and 1000", name);
    *out = (int)v;
    return 0;
}

static int cmd_scaling_record(struct as_ctx *ctx, struct json_object **out,
                              struct as_error *err)
{
    int requested = 0, succeeded = 0, failed = 0;
    const char *name = as_arg_str(ctx->args, "name"), *lease_id = as_arg_str(ctx->args, "lease_id");
    char op[16];
    long long at;

    if (group_check_name(name, err) < 0 ||
        lease_id_parse(lease_id, &at, op, sizeof op, err) < 0 ||
        count_param(ctx, "requested", &requested, err) < 0 ||
        count_param(ctx, "succeeded", &succeeded, err) < 0 ||
        count_param(ctx, "failed", &failed, err) < 0)
        return -1;
    if (succeeded + failed > requested)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "succeeded + failed (%d) exceeds requested (%d)",
                       succeeded + failed, requested);
    struct scaling_outcome o = {requested, succeeded, failed, as_arg_str(ctx->args, "reason"),
                                NULL};
    if (history_outcome_parse(o.reason, as_arg_str(ctx->args, "nodes"), &o.nodes, err) < 0)
        return -1;
    struct ds *ds = as_ctx_ds(ctx, err);
    int rc = ds ? history_record_outcome(ds, name, lease_id, &o, as_now(), out, err) : -1;
    json_object_put(o.nodes);
    return rc;
}

AS_ACTION(scaling_record, params, cmd_scaling_record);
