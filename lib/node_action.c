/* node_action.c - what add_node, remove_node, reconcile and node_list do
 * before their own work (see node_ctx_open in nodes.h). */
#include "asg.h"
#include "compute_params.h"
#include "nodes.h"
#include "jsonx.h"
#include "st2.h"

#include <string.h>

int node_ctx_open(struct node_ctx *nc, struct as_ctx *ctx, struct group *g,
                  long long deadline, bool any_status, struct as_error *err)
{
    memset(nc, 0, sizeof *nc);
    const char *name = as_arg_str(ctx->args, "name");
    if (group_check_name(name, err) < 0)
        return -1;
    if (deadline < 1 || deadline > 86400)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'deadline' must be between 1 and 86400 seconds");
    struct ds *ds = as_ctx_ds(ctx, err);
    if (!ds || asg_load_spec(ds, name, g, err) < 0)
        return -1;
    if (!any_status && strcmp(g->status, "active") != 0) {
        group_free(g);
        return as_fail(err, AS_EXIT_BADINPUT, "group_conflict",
                       "group '%s' is being deleted: no new nodes", name);
    }
    struct json_object *settings = NULL;
    struct compute_params cp;
    as_args_fill(ctx->args, compute_param_desc, compute_param_count, &cp);
    if (compute_settings(&cp, g->compute_provider, g, as_arg_str(ctx->args, SETTINGS_ALLOW_NAME),
                         &settings, err) < 0) {
        group_free(g);
        return -1;
    }
    /* The parameter's range is checked with argv; a group's own settings
     * may set it too, and must not make a poll outlast the deadline. */
    long long poll = jx_int(settings, "poll_interval_ms", -1);
    if (poll > NODE_POLL_MAX_MS) {
        json_object_put(settings);
        group_free(g);
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_setting",
                       "poll_interval_ms must be between 0 and %d", NODE_POLL_MAX_MS);
    }
    nc->compute = compute_open(g->compute_provider, settings, &nc->ops, err);
    json_object_put(settings);
    if (!nc->compute) {
        group_free(g);
        return -1;
    }
    /* Every provider call (HTTP retries included) ends by the time the
     * action's waits and their clean-up could: nothing outlasts them. */
    as_deadline_set_ms((deadline + NODE_CLEANUP_WAIT_S) * 1000);
    nc->ds = ds;
    nc->group = g;
    nc->deadline = deadline;
    nc->poll_ms = poll > 0 ? (long)poll : nc->ops->poll_ms;
    return 0;
}

void node_ctx_close(struct node_ctx *nc)
{
    if (nc->compute)
        nc->ops->close(nc->compute);
    nc->compute = NULL;
}
