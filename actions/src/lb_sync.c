/* lb_sync - bring a group's load balancer backend in line with its node
 * records: every active node present and enabled (HAProxy forgets dynamic
 * servers on a reload: run this after one), every other member drained and
 * removed. Reports added/enabled/replaced/removed/kept; dry_run only says.
 * Without a name, every group (rules/lb_sync_timer.yaml runs it so after an
 * HAProxy restart members come back without a person), leaving alone a group
 * whose lease is held: its scale workflow is putting nodes in or taking them
 * out (node_up runs lb_add only after Chef), and a group being deleted. */
#include "jsonx.h"
#include "lb.h"
#include "lease.h"
#include "runner_open.h"
#include "settings.h"
#include "st2.h"

static const struct as_param params[] = {
    {"name", AS_T_STRING, 0, NULL, NULL, AS_NAMED},
    {"dry_run", AS_T_BOOLEAN, 0, "false", NULL, AS_NAMED},
    LB_DRAIN_PARAM
    LB_PARAMS(AS_PARAM_ROW)
    SETTINGS_ALLOW_PARAM
    AS_PARAM_END,
};

static struct json_object *skipped(const char *reason, struct json_object *lease)
{
    struct json_object *o = jx_new_object();
    jx_add_str(o, "reason", reason);
    if (lease)
        json_object_object_add(o, "lease", lease);
    return o;
}

/* One group of an every-group sync (as_group_fn). */
static int sync_each(struct as_ctx *ctx, const char *name, struct json_object **out,
                     struct as_error *err)
{
    const struct as_args *a = ctx->args;
    struct json_object *lease = NULL;
    struct lb_ctx c;
    struct ds *ds = as_ctx_ds(ctx, err);
    if (!ds || lease_get(ds, name, &lease, err) < 0)
        return -1;
    if (lease) {
        *out = skipped("an operation holds the group's lease", lease);
        return 1;
    }
    if (as_lb_open_group(ctx, name, &c, err) < 0)
        return -1;
    int rc = lb_sync_group(&c, as_arg_int(a, "drain_timeout", 60), as_arg_bool(a, "dry_run"),
                           out, err);
    lb_ctx_close(&c);
    if (rc < 0 && as_error_is(err, "group_conflict")) {
        *out = skipped(err->message, NULL);
        return 1;
    }
    return rc;
}

static int cmd_lb_sync(struct as_ctx *ctx, struct json_object **out, struct as_error *err)
{
    const struct as_args *a = ctx->args;
    struct lb_ctx c;
    if (!as_arg_str(a, "name"))
        return as_each_group(ctx, sync_each, out, err);
    if (as_lb_open(ctx, &c, err) < 0)
        return -1;
    int rc = lb_sync_group(&c, as_arg_int(a, "drain_timeout", 60), as_arg_bool(a, "dry_run"),
                           out, err);
    lb_ctx_close(&c);
    return rc;
}

AS_ACTION(lb_sync, params, cmd_lb_sync);
