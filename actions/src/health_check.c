/* health_check - probe every active node of a group (its provider's state,
 * its load balancer's check, and an HTTP GET of the group's
 * health_check_path) and store each node's health, which the governor
 * reads to replace unhealthy nodes (lib/health/health_probe.h,
 * lib/model/health.h). dry_run judges and reports, writing nothing.
 * Without a name, every group (rules/health_check_timer.yaml runs it so),
 * leaving alone a group being deleted. */
#include "clock.h"
#include "compute_params.h"
#include "health_probe.h"
#include "jsonx.h"
#include "runner_open.h"
#include "st2.h"

/* The provider calls of one group's probe (a list, a listing of the
 * backend) end within this; the HTTP checks have their own short timeout. */
#define HEALTH_DEADLINE_S 60

static const struct as_param params[] = {
    {"name", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"dry_run", AS_T_BOOLEAN, 0, "false", NULL, AS_NAMED},
    COMPUTE_PARAMS(AS_PARAM_ROW)
    LB_PARAMS_NOT_COMPUTE(AS_PARAM_ROW)
    SETTINGS_ALLOW_PARAM
    AS_PARAM_END,
};

static int check_one(struct as_ctx *ctx, const char *name, struct json_object **out,
                     struct as_error *err)
{
    struct group g;
    struct node_ctx nc;
    struct lb_ctx lb;
    struct health_probe_opts opts = {.write = !as_arg_bool(ctx->args, "dry_run")};
    if (as_node_open_group(ctx, name, HEALTH_DEADLINE_S, false, &nc, &g, err) < 0)
        return -1;
    if (as_lb_open_group(ctx, name, &lb, err) < 0) {
        as_node_close(&nc, &g);
        return -1;
    }
    int rc = health_probe_group(nc.ds, &nc, &lb, as_now(), &opts, out, err);
    lb_ctx_close(&lb);
    as_node_close(&nc, &g);
    return rc;
}

/* One group of an every-group check (as_group_fn): a group being deleted
 * is left alone, since records written now would outlive its deletion. */
static int check_each(struct as_ctx *ctx, const char *name, struct json_object **out,
                      struct as_error *err)
{
    int rc = check_one(ctx, name, out, err);
    if (rc < 0 && as_error_is(err, "group_conflict")) {
        *out = jx_new_object();
        jx_add_str(*out, "reason", err->message);
        return 1;
    }
    return rc;
}

static int cmd_health_check(struct as_ctx *ctx, struct json_object **out,
                            struct as_error *err)
{
    const char *name = as_arg_str(ctx->args, "name");
    if (!name)
        return as_each_group(ctx, check_each, out, err);
    return check_one(ctx, name, out, err);
}

AS_ACTION(health_check, params, cmd_health_check);
