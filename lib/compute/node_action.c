/* node_action.c - what add_node, remove_node, reconcile and node_list do
 * before their own work (see node_ctx_open in nodes.h). */
#include "asg.h"
#include "compute_params.h"
#include "nodes.h"
#include "settings.h"
#include "signals.h"

#include <string.h>

int node_request_check(const struct node_request *req, struct as_error *err)
{
    if (group_check_name(req->group, err) < 0)
        return -1;
    if (req->deadline < 1 || req->deadline > 86400)
        return as_fail(err, AS_EXIT_BADINPUT, "invalid_parameter",
                       "parameter 'deadline' must be between 1 and 86400 seconds");
    return 0;
}

/* The group's provider settings, and the poll interval they ask for: the
 * ceiling of the waits between two polls, which start shorter (as_backoff;
 * PARAM_ABSENT or 0: the provider's own ceiling). */
static int settings_for(const struct node_request *req, const struct group *g,
                        struct json_object **settings, long long *poll, struct as_error *err)
{
    if (compute_settings(&req->params, g->compute_provider, g, req->allowed, settings,
                         err) < 0)
        return -1;
    /* The parameter's range is checked with argv; a group's own settings
     * may set it too, and must not make a poll outlast the deadline. */
    *poll = settings_int(*settings, "poll_interval_ms", PARAM_ABSENT);
    if (*poll > NODE_POLL_MAX_MS) {
        json_object_put(*settings);
        return as_fail(err, AS_EXIT_BADINPUT, "bad_settings",
                       "poll_interval_ms must be between 0 and %d", NODE_POLL_MAX_MS);
    }
    return 0;
}

int node_ctx_open(struct node_ctx *nc, struct ds *ds, const struct node_request *req,
                  struct group *g, struct as_error *err)
{
    memset(nc, 0, sizeof *nc);
    if (node_request_check(req, err) < 0 || asg_load_spec(ds, req->group, g, err) < 0)
        return -1;
    if (!req->any_status && strcmp(g->status, "active") != 0) {
        group_clear(g);
        return as_fail(err, AS_EXIT_BADINPUT, "group_conflict",
                       "group '%s' is being deleted: no new nodes", req->group);
    }
    struct json_object *settings = NULL;
    long long poll;
    if (settings_for(req, g, &settings, &poll, err) < 0) {
        group_clear(g);
        return -1;
    }
    nc->compute = compute_open(g->compute_provider, settings, err);
    json_object_put(settings);
    if (!nc->compute) {
        group_clear(g);
        return -1;
    }
    /* Every provider call (HTTP retries included) ends by the time the
     * action's waits and their clean-up could: nothing outlasts them. */
    as_deadline_set_ms((req->deadline + NODE_CLEANUP_WAIT_S) * 1000);
    nc->ds = ds;
    nc->group = g;
    nc->deadline = req->deadline;
    nc->poll_ms = poll > 0 ? (long)poll : compute_poll_ms(nc->compute);
    return 0;
}

void node_ctx_close(struct node_ctx *nc)
{
    compute_close(nc->compute);
    nc->compute = NULL;
}
