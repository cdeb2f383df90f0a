/* lb_sync - bring a group's load balancer backend in line with its node
 * records: every active node present and enabled (HAProxy forgets dynamic
 * servers on a reload: run this after one), every other member drained and
 * removed. Reports added/enabled/replaced/removed/kept; dry_run only says. */
#include "lb.h"
#include "runner_open.h"
#include "settings.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"dry_run", AS_T_BOOLEAN, 0, "false", NULL, AS_NAMED},
    LB_DRAIN_PARAM
    LB_PARAMS(AS_PARAM_ROW)
    SETTINGS_ALLOW_PARAM
    AS_PARAM_END,
};

static int cmd_lb_sync(struct as_ctx *ctx, struct json_object **out, struct as_error *err)
{
    const struct as_args *a = ctx->args;
    struct lb_ctx c;
    if (as_lb_open(ctx, &c, err) < 0)
        return -1;
    int rc = lb_sync_group(&c, as_arg_int(a, "drain_timeout", 60), as_arg_bool(a, "dry_run"),
                           out, err);
    lb_ctx_close(&c);
    return rc;
}

AS_ACTION(lb_sync, params, cmd_lb_sync);
