/* lb_remove - take a node out of its group's load balancer gently: drain
 * it, wait until its sessions end (or drain_timeout passes: then they are
 * cut, and the output says so), then remove it. A node already out is
 * success with changed=false. */
#include "lb.h"
#include "runner_open.h"
#include "settings.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"node", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    LB_DRAIN_PARAM
    LB_PARAMS(AS_PARAM_ROW)
    SETTINGS_ALLOW_PARAM
    AS_PARAM_END,
};

static int cmd_lb_remove(struct as_ctx *ctx, struct json_object **out, struct as_error *err)
{
    const struct as_args *a = ctx->args;
    struct lb_ctx c;
    if (as_lb_open(ctx, &c, err) < 0)
        return -1;
    int rc = lb_remove_node(&c, as_arg_str(a, "node"), as_arg_int(a, "drain_timeout", 60), out,
                            err);
    lb_ctx_close(&c);
    return rc;
}

AS_ACTION(lb_remove, params, cmd_lb_remove);
