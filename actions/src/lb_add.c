/* lb_add - put an active node into its group's load balancer and make it
 * take traffic: HAProxy "add server" (health checks on), "enable health",
 * ready once its own check has passed (waited for, up to check_timeout); a
 * DigitalOcean load balancer gets the node's droplet.
 * A retry changes nothing (changed=false); a failure after the add removes
 * the half-added server again. */
#include "lb.h"
#include "runner_open.h"
#include "settings.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"node", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    LB_CHECK_PARAM
    LB_PARAMS(AS_PARAM_ROW)
    SETTINGS_ALLOW_PARAM
    AS_PARAM_END,
};

static int cmd_lb_add(struct as_ctx *ctx, struct json_object **out, struct as_error *err)
{
    const struct as_args *a = ctx->args;
    struct lb_ctx c;
    if (as_lb_open(ctx, &c, err) < 0)
        return -1;
    int rc = lb_add_node(&c, as_arg_str(a, "node"), as_arg_int(a, "check_timeout", 60),
                         out, err);
    lb_ctx_close(&c);
    return rc;
}

AS_ACTION(lb_add, params, cmd_lb_add);
