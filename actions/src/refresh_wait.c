/* refresh_wait - wait until the new nodes of a refresh batch are ready
 * (lib/health/health_wait.h), or until health_timeout: the asg_refresh
 * workflow takes old nodes down only after this says every new one is.
 * Writes nothing. Exit 0 either way: the workflow decides. */
#include "compute_params.h"
#include "health_wait.h"
#include "refresh.h"
#include "runner_open.h"
#include "st2.h"

/* The provider calls of one look end well within this. */
#define WAIT_SLACK_S 60

static const struct as_param params[] = {
    {"name", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"nodes", AS_T_STRING, AS_P_REQUIRED, NULL, NULL, AS_NAMED},
    {"health_timeout", AS_T_INTEGER, 0, "300", NULL, AS_NAMED},
    COMPUTE_PARAMS(AS_PARAM_ROW)
    LB_PARAMS_NOT_COMPUTE(AS_PARAM_ROW)
    SETTINGS_ALLOW_PARAM
    AS_PARAM_END,
};

static int cmd_refresh_wait(struct as_ctx *ctx, struct json_object **out, struct as_error *err)
{
    const char *name = as_arg_str(ctx->args, "name");
    long long timeout = as_arg_int(ctx->args, "health_timeout", 300);
    struct json_object *want = NULL;
    struct group g;
    struct node_ctx nc;
    struct lb_ctx lb;
    if (group_check_name(name, err) < 0 ||
        refresh_parse_nodes(as_arg_str(ctx->args, "nodes"), "nodes", &want, err) < 0)
        return -1;
    if (timeout < 1 || timeout > 86400) {
        json_object_put(want);
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'health_timeout' must be 1-86400 seconds");
    }
    long long deadline = timeout + WAIT_SLACK_S > 86400 ? 86400 : timeout + WAIT_SLACK_S;
    if (as_node_open_group(ctx, name, deadline, false, &nc, &g, err) < 0) {
        json_object_put(want);
        return -1;
    }
    if (as_lb_open_group(ctx, name, &lb, err) < 0) {
        as_node_close(&nc, &g);
        json_object_put(want);
        return -1;
    }
    int rc = health_wait_ready(&nc, &lb, want, timeout, out, err);
    lb_ctx_close(&lb);
    as_node_close(&nc, &g);
    json_object_put(want);
    return rc;
}

AS_ACTION(refresh_wait, params, cmd_refresh_wait);
