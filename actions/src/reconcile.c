/* reconcile - compare a group's node records with the machines its provider
 * lists for it: orphans (machines without a record, which the 2015 original
 * leaked), ghosts (records without a machine) and nodes stuck building.
 * Reports them; with fix, destroys orphans (or adopts them) and drops ghosts
 * and stuck nodes. */
#include "compute_params.h"
#include "runner_open.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"fix", AS_T_BOOLEAN, 0, "false", NULL, AS_NAMED},
    {"adopt", AS_T_BOOLEAN, 0, "false", NULL, AS_NAMED},
    {"stuck_after", AS_T_INTEGER, 0, "1800", NULL, AS_NAMED},
    COMPUTE_PARAMS(AS_PARAM_ROW)
    SETTINGS_ALLOW_PARAM
    AS_PARAM_END,
};

static int cmd_reconcile(struct as_ctx *ctx, struct json_object **out,
                         struct as_error *err)
{
    long long stuck = as_arg_int(ctx->args, "stuck_after", 1800);
    if (stuck < 60 || stuck > 7 * 86400)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'stuck_after' must be between 60 and 604800 seconds");
    struct group g;
    struct node_ctx nc;
    if (as_node_open(ctx, 600, true, &nc, &g, err) < 0)
        return -1;
    int rc = node_reconcile(&nc, as_arg_bool(ctx->args, "fix"),
                            as_arg_bool(ctx->args, "adopt"), stuck, out, err);
    as_node_close(&nc, &g);
    return rc;
}

AS_ACTION(reconcile, params, cmd_reconcile);
