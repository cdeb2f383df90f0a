/* reconcile - compare a group's node records with the machines its provider
 * lists for it: orphans (machines without a record, which the 2015 original
 * leaked), ghosts (records without a machine) and nodes stuck building.
 * Reports them; with fix, destroys orphans (or adopts them) and drops ghosts
 * and stuck nodes. Without a name, every group (rules/reconcile_timer.yaml
 * runs it so, without fix: docs/lb.md, "Keeping itself in order"). */
#include "compute_params.h"
#include "runner_open.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"fix", AS_T_BOOLEAN, 0, "false", NULL, AS_NAMED},
    {"adopt", AS_T_BOOLEAN, 0, "false", NULL, AS_NAMED},
    {"stuck_after", AS_T_INTEGER, 0, "1800", NULL, AS_NAMED},
    COMPUTE_PARAMS(AS_PARAM_ROW)
    SETTINGS_ALLOW_PARAM
    AS_PARAM_END,
};

static int reconcile_one(struct as_ctx *ctx, const char *name, struct json_object **out,
                         struct as_error *err)
{
    long long stuck = as_arg_int(ctx->args, "stuck_after", 1800);
    struct group g;
    struct node_ctx nc;
    if (as_node_open_group(ctx, name, 600, true, &nc, &g, err) < 0)
        return -1;
    int rc = node_reconcile(&nc, as_arg_bool(ctx->args, "fix"),
                            as_arg_bool(ctx->args, "adopt"), stuck, out, err);
    as_node_close(&nc, &g);
    return rc;
}

static int cmd_reconcile(struct as_ctx *ctx, struct json_object **out,
                         struct as_error *err)
{
    long long stuck = as_arg_int(ctx->args, "stuck_after", 1800);
    if (stuck < 60 || stuck > 7 * 86400)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'stuck_after' must be between 60 and 604800 seconds");
    const char *name = as_arg_str(ctx->args, "name");
    /* fix destroys machines: a person names the group it may touch */
    if (!name && as_arg_bool(ctx->args, "fix"))
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'fix' needs a group 'name': every group is reported only");
    if (!name)
        return as_each_group(ctx, reconcile_one, out, err);
    return reconcile_one(ctx, name, out, err);
}

AS_ACTION(reconcile, params, cmd_reconcile);
